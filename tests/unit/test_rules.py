"""Rule set loading and validation: the shipped rules are clean, each broken file gives one located message."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from claimflow.errors import ExitCode, RuleSetError
from claimflow.rules import check_rules, load_ruleset, ruleset_schema_text

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
BROKEN = ROOT / "tests" / "fixtures" / "rules"

MINIMAL = """\
ruleset: claims_routing
version: "{version}"
effective_from: {effective}
owner: claims-ops@example.com
default: {{decision: review, code: no_rule_matched, reason: "No rule matched"}}
rules:
  - id: POLICY_NOT_FOUND
    priority: 100
    when: "not policy_found"
    then: {{decision: review, code: policy_not_found, reason: "No policy found"}}
"""


def write_rules(tmp_path: Path, files: dict[str, str]) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_shipped_rules_are_clean_and_load() -> None:
    assert check_rules(RULES) == []
    ruleset = load_ruleset(RULES, on=date(2026, 6, 1))
    assert ruleset.name == "claims_routing"
    assert ruleset.source == "rules/claims_routing.yml"
    assert len(ruleset.tests) >= 8
    assert re.fullmatch(r"[0-9a-f]{64}", ruleset.sha256)


def test_schema_file_is_up_to_date() -> None:
    assert (RULES / "ruleset.schema.json").read_text() == ruleset_schema_text(), (
        "regenerate: uv run python -c 'from claimflow.rules import ruleset_schema_text as s; "
        "open(\"rules/ruleset.schema.json\", \"w\").write(s())'"
    )


BROKEN_CASES = {
    "broken_typo_field.yml": r":14: rules\[1\] LOW_CONFIDENCE: unknown field 'min_field_confidenc' in when.*"
    r"did you mean 'min_field_confidence'",
    "broken_bad_syntax.yml": r":14: rules\[1\] BELOW_DEDUCTIBLE: bad expression in when "
    r"'amount_claimed =< deductible': Unexpected token",
    "broken_js_operators.yml": r":14: rules\[1\] SMALL_CLAIM: '&&' is not an operator.*fix: write 'and'",
    "broken_settle_no_payout.yml": r":16: rules\[1\] SMALL_CLAIM: decision 'settle' requires a payout formula",
    "broken_failing_test.yml": r":17: test 'small claim settles' failed: payout: expected 850.00, got 800.00",
    "broken_unknown_key.yml": r":14: rules\[1\] DUPLICATE_CLAIM: unknown key 'prio'",
    "broken_duplicate_id.yml": r":12: rules\[1\] duplicate rule id 'POLICY_NOT_FOUND' \(first at line 8\)",
    "broken_yaml_syntax.yml": r":15: YAML syntax: expected <block end>",
    "broken_placeholder.yml": r":15: rules\[1\] DUPLICATE_CLAIM: placeholder '\{\{duplicate_claim\}\}' names no fact",
}


def test_every_broken_fixture_has_a_case() -> None:
    assert sorted(p.name for p in BROKEN.glob("broken_*.yml")) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_file_gives_one_located_message(tmp_path: Path, name: str) -> None:
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(BROKEN / name, directory / name)
    problems = check_rules(directory)
    assert len(problems) == 1, problems
    assert re.match(rf"rules/{re.escape(name)}{BROKEN_CASES[name]}", problems[0]), problems[0]
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(directory, on=date(2026, 6, 1))
    assert caught.value.problems == problems
    assert caught.value.exit_code == ExitCode.BAD_RULESET


def test_all_problems_of_all_files_are_reported_at_once(tmp_path: Path) -> None:
    directory = tmp_path / "rules"
    directory.mkdir()
    for name in ("broken_typo_field.yml", "broken_unknown_key.yml", "broken_js_operators.yml"):
        shutil.copy(BROKEN / name, directory / name)
    problems = check_rules(directory)
    assert len(problems) == 3
    assert {p.split(":")[0] for p in problems} == {
        "rules/broken_typo_field.yml",
        "rules/broken_unknown_key.yml",
        "rules/broken_js_operators.yml",
    }


def test_several_problems_in_one_file_are_all_reported(tmp_path: Path) -> None:
    text = MINIMAL.format(version="2026.1.1", effective="2026-01-01") + (
        "  - id: A\n    priority: 5\n    when: \"fraud_scor > 1\"\n    then: {decision: settle, reason: x}\n"
        "  - id: B\n    priority: 5\n    when: \"amount_claimed >\"\n"
        "    then: {decision: review, reason: \"{{nope}}\"}\n"
    )
    problems = check_rules(write_rules(tmp_path, {"r.yml": text}))
    lines = [p.split(": ")[0] for p in problems]
    assert lines == ["rules/r.yml:13", "rules/r.yml:14", "rules/r.yml:17", "rules/r.yml:18"]
    assert "unknown field 'fraud_scor'" in problems[0]
    assert "requires a payout" in problems[1]
    assert "bad expression" in problems[2]
    assert "'{{nope}}' names no fact" in problems[3]


def test_reject_is_not_a_decision_and_says_how(tmp_path: Path) -> None:
    text = MINIMAL.format(version="2026.1.1", effective="2026-01-01").replace(
        "decision: review, code: policy_not_found", "decision: reject, code: policy_not_found"
    )
    [problem] = check_rules(write_rules(tmp_path, {"r.yml": text}))
    assert problem.startswith("rules/r.yml:10: rules[0] POLICY_NOT_FOUND: then.decision:")
    assert "recommendation: reject" in problem


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("decision: review, code: no_rule_matched", "decision: settle, payout: '1', code: no_rule_matched",
         "default may not settle"),
        ("then: {decision: review, code: policy_not_found",
         "then: {decision: request_documents, recommendation: reject, code: policy_not_found",
         "recommendation is only allowed on review"),
        ("code: policy_not_found", "code: policy_gone", "then.code: Input should be"),
        ('version: "2026.1.1"', "version: 2026.1", "version: Input should be a valid string"),
    ],
)
def test_semantic_checks(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = MINIMAL.format(version="2026.1.1", effective="2026-01-01").replace(old, new)
    assert new in text
    problems = check_rules(write_rules(tmp_path, {"r.yml": text}))
    assert len(problems) == 1, problems
    assert message in problems[0]


def test_unknown_fact_in_an_example_is_located(tmp_path: Path) -> None:
    text = MINIMAL.format(version="2026.1.1", effective="2026-01-01") + (
        "tests:\n  - name: t\n    facts:\n      claim_id: T\n      claim_type: motor\n      fraud_score: 0.2\n"
        "    expect: {route: review}\n"
    )
    [problem] = check_rules(write_rules(tmp_path, {"r.yml": text}))
    assert problem.startswith("rules/r.yml:16: test 't': fraud_score: unknown fact 'fraud_score'")


def test_version_in_force_is_picked_by_effective_date(tmp_path: Path) -> None:
    directory = write_rules(
        tmp_path,
        {
            "claims_routing_2026_01.yml": MINIMAL.format(version="2026.1.1", effective="2026-01-01"),
            "claims_routing_2026_07.yml": MINIMAL.format(version="2026.7.1", effective="2026-07-01"),
        },
    )
    assert load_ruleset(directory, on=date(2026, 6, 30)).version == "2026.1.1"
    assert load_ruleset(directory, on=date(2026, 7, 1)).version == "2026.7.1"
    with pytest.raises(RuleSetError, match="no version of rule set 'claims_routing' is in force on 2025-12-31"):
        load_ruleset(directory, on=date(2025, 12, 31))


def test_two_versions_on_the_same_day_are_refused(tmp_path: Path) -> None:
    directory = write_rules(
        tmp_path,
        {
            "a.yml": MINIMAL.format(version="2026.1.1", effective="2026-01-01"),
            "b.yml": MINIMAL.format(version="2026.1.2", effective="2026-01-01"),
        },
    )
    with pytest.raises(RuleSetError, match="several versions take effect on 2026-01-01"):
        load_ruleset(directory, on=date(2026, 2, 1))


def test_a_broken_old_version_still_stops_the_load(tmp_path: Path) -> None:
    directory = write_rules(tmp_path, {"good.yml": MINIMAL.format(version="2026.7.1", effective="2026-07-01")})
    shutil.copy(BROKEN / "broken_typo_field.yml", directory / "old.yml")
    with pytest.raises(RuleSetError, match=r"rules/old.yml:14: .*unknown field"):
        load_ruleset(directory, on=date(2026, 8, 1))


def test_empty_directory_is_a_problem(tmp_path: Path) -> None:
    directory = tmp_path / "rules"
    directory.mkdir()
    assert len(check_rules(directory)) == 1
    with pytest.raises(RuleSetError, match="no rule set files"):
        load_ruleset(directory)


def test_sha256_changes_with_the_file(tmp_path: Path) -> None:
    directory = write_rules(tmp_path, {"r.yml": MINIMAL.format(version="2026.1.1", effective="2026-01-01")})
    first = load_ruleset(directory, on=date(2026, 2, 1)).sha256
    (directory / "r.yml").write_text((directory / "r.yml").read_text() + "# comment\n")
    assert load_ruleset(directory, on=date(2026, 2, 1)).sha256 != first
