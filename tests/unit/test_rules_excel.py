"""Excel decision tables: cells compile to the same rules as YAML, mistakes are refused at their cell, exports."""

from __future__ import annotations

import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import zen
from openpyxl import Workbook

from claimflow.decide import compile_ruleset, decide_claim, expression_error
from claimflow.errors import ReasonCode, RuleSetError
from claimflow.facts import FACT_FIELDS, ClaimFacts, parse_facts
from claimflow.models import Route
from claimflow.rules import check_report, check_rules, export_workbooks, load_archived, load_ruleset
from claimflow.rules_excel import export_path, read_workbook, unary_test

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
BROKEN = ROOT / "tests" / "fixtures" / "rules_broken"

HEADER = ["id", "priority", "claim_type", "amount_claimed", "decision", "reason", "payout"]
PAY = "round(min([amount_claimed, coverage_limit]) - deductible, 2)"
RULESET = """\
ruleset: small_claims
version: "2026.1.1"
effective_from: 2026-01-01
owner: claims-ops@example.com
hit_policy: {hit_policy}
default: {{decision: review, code: no_rule_matched, reason: "No rule matched"}}
rules:
  - id: POLICY_NOT_FOUND
    priority: 100
    when: "not policy_found"
    then: {{decision: review, code: policy_not_found, reason: "No policy found"}}
tables:
  - workbook: table.xlsx
    hit_policy: {table_policy}
tests:
{tests}"""
CLEAN = (
    "{claim_id: T1, claim_type: motor, policy_found: true, policy_status: active, coverage_limit: '10000', "
    "deductible: '100', currency: EUR, policy_currency: EUR, amount_claimed: '1000', min_field_confidence: 0.99}"
)


def write_case(
    folder: Path,
    rows: list[list[object]],
    *,
    hit_policy: str = "priority",
    table_policy: str = "unique",
    tests: str = "  []\n",
    export: bool = True,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "small_claims.yml").write_text(
        RULESET.format(hit_policy=hit_policy, table_policy=table_policy, tests=tests)
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Table"
    for row in rows:
        sheet.append(row)
    book.save(folder / "table.xlsx")
    if export:
        export_workbooks(folder)
    return folder


def facts(**changes: object) -> ClaimFacts:
    base: dict[str, object] = {
        "claim_id": "T1",
        "claim_type": "motor",
        "policy_found": True,
        "policy_status": "active",
        "coverage_limit": "10000",
        "deductible": "100",
        "currency": "EUR",
        "policy_currency": "EUR",
        "amount_claimed": "1000",
        "min_field_confidence": 0.99,
    }
    base.update(changes)
    return parse_facts(base, processing_date=date(2026, 6, 1))


# ---------------------------------------------------------------- cells


@pytest.mark.parametrize(
    ("cell", "hits", "misses"),
    [
        ("-", [0, 5000, None], []),
        (None, [0, 5000], []),
        ("(0..5000]", [0.01, 5000], [0, 5000.01, None]),
        ("[100..200)", [100, 199.99], [200, 99.99]),
        ("]0..10[", [5], [0, 10]),
        ("< 10", [9.99], [10, None]),
        (">= 3", [3, 4], [2]),
        ("2500", [2500], [2500.01]),
        (2500, [2500], [2499]),
        ("1, 3", [1, 3], [2]),
        ("< 10, > 50", [5, 51], [20]),
        ("= 7", [7], [8]),
    ],
)
def test_numeric_cells(cell: object, hits: list[object], misses: list[object]) -> None:
    compiled = unary_test("amount_claimed", cell)
    assert not isinstance(compiled, str), compiled
    expression = compiled[0] or "true"
    assert expression_error(expression) is None
    check = zen.compile_expression(expression)
    assert [check.evaluate({"amount_claimed": v}) for v in hits] == [True] * len(hits)
    assert [check.evaluate({"amount_claimed": v}) for v in misses] == [False] * len(misses)


@pytest.mark.parametrize(
    ("cell", "hits", "misses"),
    [
        ("motor", ["motor"], ["health", None]),
        ("motor, health", ["motor", "health"], ["other"]),
        ("'motor', \"health\"", ["motor", "health"], ["other"]),
        ("!= 'lapsed'", ["active"], ["lapsed"]),
        ("!= lapsed", ["active"], ["lapsed"]),
        ("null", [None], ["x"]),
    ],
)
def test_word_cells(cell: str, hits: list[object], misses: list[object]) -> None:
    compiled = unary_test("policy_status", cell)
    assert not isinstance(compiled, str), compiled
    check = zen.compile_expression(compiled[0] or "true")
    assert [check.evaluate({"policy_status": v}) for v in hits] == [True] * len(hits)
    assert [check.evaluate({"policy_status": v}) for v in misses] == [False] * len(misses)


@pytest.mark.parametrize("cell", ["(5..1]", "[1..2", "'open"])
def test_unreadable_cells_say_why(cell: str) -> None:
    assert isinstance(unary_test("amount_claimed", cell), str)


# ---------------------------------------------------------------- broken fixtures: one mistake, one message

BROKEN_CASES = {
    "workbook_formula": r"table\.xlsx!Table!D3: formulas are not allowed",
    "workbook_typo_column": r"table\.xlsx!Table!D1: unknown column 'amount_claimd'.*did you mean 'amount_claimed'",
    "workbook_javascript": r"table\.xlsx!Table!H2: JavaScript is not allowed.*write 'and'",
    "workbook_bad_cell": r"table\.xlsx!Table!D3: cannot read condition '<== 2000' on amount_claimed",
    "workbook_settle_no_payout": r"table\.xlsx!Table!E3: SMALL_HEALTH: decision 'settle' requires a payout",
    "workbook_bad_decision": r"table\.xlsx!Table!E3: SMALL_HEALTH: then\.decision: .*got 'deny'.*recommendation",
    "workbook_unique_overlap": r"table\.xlsx!Table!A5: rows 2 \(SMALL_MOTOR\) and 5 \(MID_MOTOR\) both match.*unique",
    "workbook_first_unreachable": r"table\.xlsx!Table!A5: row 5 \(TINY_MOTOR\) can never fire: row 2 \(SMALL_MOTOR\)",
    "workbook_stale_export": r"table\.xlsx\.yml: the text export of table\.xlsx is out of date.*claimflow rules export",
    "workbook_macro": r"table\.xlsx: the workbook contains macros",
}


def test_every_broken_workbook_has_a_case() -> None:
    assert sorted(p.name for p in BROKEN.iterdir() if p.is_dir()) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_workbook_gives_one_message_at_its_cell(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(BROKEN / name, folder)
    problems = check_rules(folder)
    assert len(problems) == 1, problems
    assert re.match(rf"rules/{BROKEN_CASES[name]}", problems[0]), problems[0]
    with pytest.raises(RuleSetError):
        load_ruleset(folder, on=date(2026, 6, 1))


# ---------------------------------------------------------------- the shipped workbook and exports


def test_shipped_workbook_compiles_into_the_2027_version_and_its_export_is_current(tmp_path: Path) -> None:
    problems, versions = check_report(RULES)
    assert problems == []
    v2027 = next(v for v in versions if v.version == "2027.1.1")
    assert v2027.tables["SMALL_MOTOR"] == ("small_claims_2027.xlsx!SmallClaims", "unique")
    assert v2027.uncovered == ()
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    assert export_workbooks(copy) == []  # nothing to write: the committed export is what the workbook gives


def test_a_changed_workbook_makes_the_export_stale_until_exported(tmp_path: Path) -> None:
    row = ["SMALL_MOTOR", 10, "motor", "(0..5000]", "settle", "Small motor claim", PAY]
    folder = write_case(tmp_path / "rules", [HEADER, row])
    assert check_rules(folder) == []
    before = export_path(folder / "table.xlsx").read_text()
    write_case(folder, [HEADER, [*row[:3], "(0..4000]", *row[4:]]], export=False)
    assert [p.split(":")[0] for p in check_rules(folder)] == ["rules/table.xlsx.yml"]
    assert export_workbooks(folder) == [export_path(folder / "table.xlsx")]
    after = export_path(folder / "table.xlsx").read_text()
    assert "amount_claimed <= 5000" in before and "amount_claimed <= 4000" in after
    assert check_rules(folder) == []


def test_table_rows_decide_like_yaml_rules(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["SMALL_MOTOR", 10, "motor", "(0..5000]", "settle", "Pay {{payout}}", PAY],
        ["LARGE_MOTOR", 40, "motor", "> 5000", "review", "Large claim {{amount_claimed}}"],
    ]
    tests = "  - name: small\n    facts: " + CLEAN + "\n    expect: {route: settle, payout: '900.00'}\n"
    compiled = compile_ruleset(load_ruleset(write_case(tmp_path / "rules", rows, tests=tests), on=date(2026, 6, 1)))
    small = decide_claim(facts(), compiled)
    assert (small.route, small.payout, small.decided_by) == (Route.SETTLE, Decimal("900.00"), "SMALL_MOTOR")
    large = decide_claim(facts(amount_claimed="7000"), compiled)
    assert (large.route, large.decided_by) == (Route.REVIEW, "LARGE_MOTOR")
    assert large.reasons[0].message == "Large claim 7000"
    missing = decide_claim(facts(amount_claimed=None), compiled)
    assert missing.route is Route.REVIEW and missing.trace["errors"] == []  # a null never matches, never errors


def test_overlap_the_load_cannot_prove_fails_closed_at_run_time(tmp_path: Path) -> None:
    header = [*HEADER, "when"]
    rows = [
        header,
        ["SMALL_MOTOR", 10, "motor", "(0..5000]", "settle", "x", PAY, "deductible != null"],
        ["CHEAP_MOTOR", 10, "motor", "(0..2000]", "settle", "y", PAY, "policy_found"],
    ]
    compiled = compile_ruleset(load_ruleset(write_case(tmp_path / "rules", rows), on=date(2026, 6, 1)))
    decision = decide_claim(facts(), compiled)
    assert decision.route is Route.REVIEW and decision.payout is None
    assert [r.code for r in decision.reasons] == [ReasonCode.RULE_ERROR]
    assert "SMALL_MOTOR, CHEAP_MOTOR all matched" in decision.reasons[0].message


def test_table_hit_policy_first_keeps_the_first_matching_row(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["TINY_MOTOR", 10, "motor", "(0..500]", "review", "tiny"],
        ["SMALL_MOTOR", 10, "motor", "(0..5000]", "settle", "small", PAY],
    ]
    compiled = compile_ruleset(
        load_ruleset(write_case(tmp_path / "rules", rows, table_policy="first"), on=date(2026, 6, 1))
    )
    tiny = decide_claim(facts(amount_claimed="400"), compiled)
    assert tiny.decided_by == "TINY_MOTOR"
    assert [f["rule"] for f in tiny.trace["fired"]] == ["TINY_MOTOR"]  # type: ignore[attr-defined]
    assert decide_claim(facts(), compiled).decided_by == "SMALL_MOTOR"


def test_rule_set_hit_policy_unique_refuses_two_matches(tmp_path: Path) -> None:
    rows = [HEADER, ["SMALL_MOTOR", 10, "motor", "(0..5000]", "settle", "x", PAY]]
    folder = write_case(tmp_path / "rules", rows, hit_policy="unique", table_policy="any")
    compiled = compile_ruleset(load_ruleset(folder, on=date(2026, 6, 1)))
    assert decide_claim(facts(), compiled).route is Route.SETTLE
    clash = decide_claim(facts(policy_found=False, policy_status=None), compiled)
    assert clash.route is Route.REVIEW and clash.payout is None  # POLICY_NOT_FOUND and SMALL_MOTOR both match
    assert "POLICY_NOT_FOUND, SMALL_MOTOR all matched but the rule set allows only one" in clash.reasons[-1].message


def test_archived_texts_load_without_the_workbook_and_hash_the_same() -> None:
    versions = check_report(RULES)[1]
    for version in versions:
        main = next(name for name in version.files if not name.endswith(".xlsx.yml"))
        again = load_archived(version.files, main)
        assert again.sha256 == version.sha256
        assert again.rules == version.rules and again.tables == version.tables


def test_version_in_force_follows_the_processing_date() -> None:
    assert load_ruleset(RULES, on=date(2026, 12, 31)).version == "2026.1.3"
    assert load_ruleset(RULES, on=date(2027, 1, 1)).version == "2027.1.1"


def test_coverage_names_rules_no_example_fires(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["SMALL_MOTOR", 10, "motor", "(0..5000]", "settle", "x", PAY],
        ["LARGE_MOTOR", 40, "motor", "> 5000", "review", "y"],
    ]
    tests = "  - name: small\n    facts: " + CLEAN + "\n    expect: {route: settle}\n"
    ruleset = load_ruleset(write_case(tmp_path / "rules", rows, tests=tests), on=date(2026, 6, 1))
    assert ruleset.uncovered == ("POLICY_NOT_FOUND", "LARGE_MOTOR")


def test_workbook_reader_refuses_other_formats(tmp_path: Path) -> None:
    bad = tmp_path / "table.xlsm"
    bad.write_bytes(b"")
    assert "only .xlsx" in read_workbook(bad, "rules/table.xlsm", FACT_FIELDS, expression_error).problems[0]
    missing = read_workbook(tmp_path / "no.xlsx", "rules/no.xlsx", FACT_FIELDS, expression_error)
    assert "not found" in missing.problems[0]


def test_check_says_what_a_later_version_adds_and_drops() -> None:
    from claimflow.rules import version_changes

    lines = version_changes(check_report(RULES)[1])
    assert lines == [
        "claims_routing 2027.1.1 against 2026.1.3: adds SMALL_MOTOR, FREQUENT_MOTOR, SMALL_HEALTH, "
        "HEALTH_ABOVE_TABLE, SMALL_OTHER; drops SMALL_CLEAN_CLAIM"
    ]
