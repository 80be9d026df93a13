"""The CLI as users and schedulers see it: exit codes, JSON shape, messages (in-process with click's runner)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from claimflow.cli import main
from claimflow.errors import ExitCode, ReasonCode
from claimflow.settings import PROJECT_ROOT


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLAIMFLOW_STABLE_SECONDS", "0")
    monkeypatch.delenv("CLAIMFLOW_REVIEWER", raising=False)
    return tmp_path


def _run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_check_passes_on_the_project(env: Path) -> None:
    code, out, _ = _run("check", str(PROJECT_ROOT))
    assert code == 0 and out.startswith("ok:")


def test_check_points_at_the_broken_rule_and_exits_5(env: Path) -> None:
    project = env / "project"
    shutil.copytree(PROJECT_ROOT / "extractors", project / "extractors")
    shutil.copytree(PROJECT_ROOT / "rules", project / "rules")
    rules = project / "rules" / "claims_routing.yml"
    rules.write_text(rules.read_text().replace("amount_claimed", "amount_claimd", 1))
    code, _, err = _run("check", str(project))
    assert code == ExitCode.BAD_RULESET
    assert "claims_routing.yml:" in err and "amount_claimd" in err


def test_broken_rules_stop_process_at_startup(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = env / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    target = rules / "claims_routing.yml"
    target.write_text(target.read_text().replace(" and ", " && ", 1))
    monkeypatch.setenv("CLAIMFLOW_RULES", str(rules))
    doc = env / "a.csv"
    doc.write_text("a,b\n1,2\n")
    code, out, err = _run("process", str(doc))
    assert code == ExitCode.BAD_RULESET and out == ""
    assert "claims_routing.yml:" in err


def test_single_bad_file_exits_2_with_a_reason(env: Path) -> None:
    bad = env / "scan.pdf"
    bad.write_bytes(b"")
    code, out, _ = _run("process", str(bad), "--json")
    data = json.loads(out)
    assert code == ExitCode.BAD_DOCUMENT
    doc = data["documents"][0]
    assert doc["status"] == "quarantined" and doc["reason_code"] == "empty_file" and doc["reason"]
    assert data["summary"]["documents"] == 1


def test_process_json_shape(env: Path) -> None:
    sheet = env / "claims.csv"
    src = PROJECT_ROOT / "claimflow" / "samples" / "data" / "insurance_claims_seed.csv"
    sheet.write_text("\n".join(src.read_text().splitlines()[:6]) + "\n")
    code, out, _ = _run("process", str(sheet), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"documents", "claims", "summary"}
    doc = data["documents"][0]
    assert {"file", "sha256", "status", "reason", "document_type", "pages", "fields", "claim_ids"} <= set(doc)
    assert doc["document_type"] == "claims_bordereau" and len(doc["claim_ids"]) == 5
    claim = data["claims"][0]
    assert {"claim_id", "route", "payout", "reasons", "documents", "fields"} <= set(claim)
    assert all({"code", "message"} == set(r) for r in claim["reasons"])
    amount = claim["fields"]["amount_claimed"]
    assert isinstance(amount["value"], str) and amount["confidence"] <= 1.0 and amount["row"] >= 2
    # and the second time nothing is processed again
    code, out, _ = _run("process", str(sheet), "--json")
    assert [d["status"] for d in json.loads(out)["documents"]] == ["duplicate"]


def test_review_needs_a_reviewer_and_unknown_claims_are_usage_errors(env: Path) -> None:
    code, _, err = _run("review", "1", "--approve", "--payout", "10")
    assert code == ExitCode.USAGE and "--as NAME" in err
    code, _, err = _run("review", "1", "--approve", "--payout", "10", "--reviewer", "alice")
    assert code == ExitCode.USAGE and "account 'alice' does not exist" in err  # only accounts decide
    code, _, err = _run("users", "add", "alice", "--role", "reviewer", input="a long password\n")
    assert code == 0, err
    code, _, err = _run("review", "1", "--approve", "--payout", "10", "--as", "alice")
    assert code == ExitCode.USAGE and "not open" in err
    code, _, err = _run("show", "NOPE")
    assert code == ExitCode.USAGE and "no claim" in err
    code, out, _ = _run("status", "--json")
    assert code == 0 and set(json.loads(out)) == {"documents", "claims", "claims_by_route", "review_backlog"}
    code, out, _ = _run("verify")
    assert code == 0


def test_docs_list_every_reason_code_exit_code_and_command() -> None:
    reasons = (PROJECT_ROOT / "docs" / "reason-codes.md").read_text()
    assert [c.value for c in ReasonCode if f"`{c.value}`" not in reasons] == []
    cli_doc = (PROJECT_ROOT / "docs" / "cli.md").read_text()
    assert [e.name for e in ExitCode if f"| {e.value} | {e.name} |" not in cli_doc] == []
    assert [n for n in main.commands if f"`claimflow {n}" not in cli_doc] == []


def test_up_refuses_to_start_on_a_broken_spec(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extractors = env / "extractors"
    shutil.copytree(PROJECT_ROOT / "extractors", extractors)
    spec = extractors / "invoice.yml"
    spec.write_text(spec.read_text() + "\nnot_a_key: 1\n")
    monkeypatch.setenv("CLAIMFLOW_EXTRACTORS", str(extractors))
    code, out, err = _run("up", "--once", "--no-samples")
    assert code == ExitCode.BAD_RULESET and "invoice.yml:" in err and "not_a_key" in err


@pytest.mark.parametrize(
    "case",
    sorted(p.name for p in (PROJECT_ROOT / "tests" / "fixtures" / "rules").glob("broken_*.yml"))
    + sorted(p.name for p in (PROJECT_ROOT / "tests" / "fixtures" / "rules_broken").iterdir() if p.is_dir()),
)
def test_check_exits_5_with_one_located_message_for_every_broken_fixture(env: Path, case: str) -> None:
    project = env / "project"
    shutil.copytree(PROJECT_ROOT / "extractors", project / "extractors")
    source = PROJECT_ROOT / "tests" / "fixtures"
    if case.endswith(".yml"):
        (project / "rules").mkdir()
        shutil.copy(source / "rules" / case, project / "rules" / case)
    else:
        shutil.copytree(source / "rules_broken" / case, project / "rules")
    code, out, err = _run("check", str(project))
    assert code == ExitCode.BAD_RULESET and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1] == "1 problem(s); nothing runs until they are fixed", lines
    assert lines[0].startswith("rules/") and (":" in lines[0].split(" ")[0] or "!" in lines[0]), lines[0]


def test_check_prints_rule_coverage(env: Path) -> None:
    code, out, _ = _run("check", str(PROJECT_ROOT))
    assert code == 0
    assert "claims_routing 2026.1.3" in out and "rule coverage 17/17" in out


def test_rules_export_rewrites_a_stale_export(env: Path) -> None:
    rules = env / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    export = rules / "small_claims_2027.xlsx.yml"
    good = export.read_text()
    export.write_text(good.replace("<= 5000", "<= 9999"))
    code, out, _ = _run("rules", "export", str(rules))
    assert code == 0 and "wrote" in out and export.read_text() == good
    code, out, _ = _run("rules", "export", str(rules))
    assert code == 0 and "up to date" in out
