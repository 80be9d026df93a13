"""Replay, backtest and shadow on a real run of the text sample packet: stored decisions reproduce exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from claimflow.cli import main
from claimflow.errors import ExitCode
from claimflow.pipeline import Engine
from claimflow.replay import RuleSetFinder, diff_candidate, replay_all, replay_decision
from claimflow.rules import load_candidate
from claimflow.samples import write_packet
from claimflow.settings import load_settings
from claimflow.store.repository import Repository

ROOT = Path(__file__).resolve().parents[2]
CANDIDATE = ROOT / "rules" / "claims_routing_2027.1.yml"


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database after one run of the text packet, with the 2027 version in shadow (copied per test)."""
    out = tmp_path_factory.mktemp("replay")
    write_packet(out, seed=7, scans=False)
    settings = load_settings(home=out / "home", inbox=out / "inbox", stable_seconds=0, shadow_rules=CANDIDATE)
    with Engine.open(settings, check_ocr=False) as engine:
        result = engine.run([out / "packet"], consume=False)
        assert len(result.claims) >= 20
    return out / "home"


@pytest.fixture
def home(processed: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(processed, copy)
    return copy


def _repo(home: Path) -> Repository:
    return Repository.open(f"sqlite:///{home / 'claimflow.db'}")


def test_every_stored_decision_replays_exactly(home: Path) -> None:
    replays = replay_all(_repo(home), ROOT / "rules")
    assert len(replays) >= 20
    assert [r for r in replays if not r.reproduced] == []


def test_a_replay_notices_a_tampered_decision(home: Path) -> None:
    repo = _repo(home)
    row = next(r for r in repo.machine_decisions() if r.route == "settle")
    with repo.transaction() as s:
        stored = s.get(type(row), row.id)
        assert stored is not None
        stored.payout = "1.00"
        s.add(stored)
    tampered = next(r for r in repo.machine_decisions() if r.id == row.id)
    result = replay_decision(tampered, RuleSetFinder(repo, ROOT / "rules"))
    assert not result.reproduced and result.differences[0].startswith("payout: stored 1.00")


def test_an_edited_rule_file_still_replays_from_the_archive(home: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    live = rules / "claims_routing.yml"
    live.write_text(live.read_text().replace("version: 2026.1.3", "version: 2026.1.4"))
    replays = replay_all(_repo(home), rules)
    assert replays and all(r.reproduced for r in replays)
    assert {r.note for r in replays} == {"version loaded from the archive (no longer in the rules folder)"}


def test_shadow_decisions_are_stored_but_never_acted_on(home: Path) -> None:
    repo = _repo(home)
    claims = repo.claims()
    shadowed = [c for c in claims if repo.shadow_decisions(c.claim_id)]
    assert len(shadowed) == len({d.claim_id for d in repo.machine_decisions()})
    for claim in shadowed:
        shadow = repo.shadow_decisions(claim.claim_id)[-1]
        assert shadow.ruleset_version == "2027.1.1"
        live = repo.decisions(claim.claim_id)[-1]
        assert claim.route == live.route and claim.payout == live.payout  # what the claim got is the live decision


def test_backtest_counts_route_changes_by_direction_and_rule(home: Path, tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.yml"  # the live version with a lower authority, without its examples
    text = (ROOT / "rules" / "claims_routing.yml").read_text().split("\ntests:")[0]
    candidate.write_text(text.replace("amount_claimed > small_claim_limit", "amount_claimed > 2000"))
    report = diff_candidate(_repo(home), ROOT / "rules", load_candidate(candidate))
    directions = report.directions()
    assert report.claims >= 20 and directions["settle -> review"] >= 1
    assert set(directions) <= {"settle -> review"}
    moved = directions["settle -> review"]
    assert report.by_rules("settle -> review") == {"SMALL_CLEAN_CLAIM -> ABOVE_AUTHORITY": moved}
    same = diff_candidate(_repo(home), ROOT / "rules", load_candidate(ROOT / "rules" / "claims_routing.yml"))
    assert same.changes == []


def test_cli_show_replay_rules_replay_and_diff(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_HOME", str(home))
    repo = _repo(home)
    claim_id = repo.machine_decisions()[-1].claim_id
    runner = CliRunner()
    shown = runner.invoke(main, ["show", claim_id, "--replay"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.stdout
    assert "reproduced exactly" in shown.stdout and "Shadow rule set claims_routing 2027.1.1" in shown.stdout
    data = json.loads(runner.invoke(main, ["show", claim_id, "--replay", "--json"]).stdout)
    assert data["replay"][0]["reproduced"] is True and data["shadow"][0]["version"] == "2027.1.1"
    replayed = runner.invoke(main, ["rules", "replay"], catch_exceptions=False)
    assert replayed.exit_code == 0 and "stored decisions reproduced exactly" in replayed.stdout
    diffed = runner.invoke(main, ["rules", "diff", str(CANDIDATE)], catch_exceptions=False)
    assert diffed.exit_code == 0 and "stored claim(s) replayed" in diffed.stdout
    with repo.transaction() as s:  # a stored decision that no longer reproduces makes the replay fail loudly
        from claimflow.store.tables import DecisionRow

        row = s.get(DecisionRow, repo.machine_decisions()[-1].id)
        assert row is not None
        row.decided_by = "SOMETHING_ELSE"
        s.add(row)
    failed = runner.invoke(main, ["show", claim_id, "--replay"], catch_exceptions=False)
    assert failed.exit_code == ExitCode.UNEXPECTED and "NOT reproduced" in failed.stdout


def test_archiving_a_version_twice_keeps_one_row(tmp_path: Path) -> None:
    from claimflow.replay import archive_versions
    from claimflow.rules import load_versions

    versions = load_versions(ROOT / "rules")
    first = Repository.open(f"sqlite:///{tmp_path / 'a.db'}")
    second = Repository.open(f"sqlite:///{tmp_path / 'a.db'}")  # another process starting at the same time
    assert archive_versions(first, versions) == len(versions)
    assert archive_versions(second, versions) == 0
    row = second.archived_ruleset(versions[0].sha256)
    assert row is not None and json.loads(row.files_json) == dict(versions[0].files)
