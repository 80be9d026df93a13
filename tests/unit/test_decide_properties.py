"""Property tests: whatever the facts, doubtful claims never settle and every payout is within (0, limit]."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import event, given, settings
from hypothesis import strategies as st

from claimflow.decide import CompiledRuleSet, compile_ruleset, decide_claim
from claimflow.facts import ClaimFacts
from claimflow.models import Decision, Route
from claimflow.rules import export_workbooks, load_archived, load_ruleset, load_versions

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 10)

# A rule set that would settle anything and pays odd amounts; the code must still fail closed.
RECKLESS = """\
ruleset: reckless
version: 2026.1.1
effective_from: 2026-01-01
owner: t
default: {decision: review, reason: nothing matched}
rules:
  - id: BIG_ERRORS
    priority: 9
    when: "amount_claimed > 4000"
    then: {decision: review, reason: big}
  - id: PAY_ANYTHING
    priority: 1
    when: "true"
    then: {decision: settle, payout: "amount_claimed * 1.37 - deductible", reason: pay}
"""


@cache
def shipped() -> CompiledRuleSet:
    return compile_ruleset(load_ruleset(ROOT / "rules", on=TODAY))


@cache
def reckless() -> CompiledRuleSet:
    with TemporaryDirectory() as tmp:
        directory = Path(tmp) / "rules"
        directory.mkdir()
        (directory / "reckless.yml").write_text(RECKLESS)
        return compile_ruleset(load_ruleset(directory, on=TODAY))


money = (
    st.none()
    | st.decimals(min_value=-100, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
    | st.sampled_from([Decimal("0"), Decimal("-0.00"), Decimal("100.0"), Decimal("100"), Decimal("1E+3")])
)
days = st.none() | st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
names: st.SearchStrategy[list[str]] = st.just([]) | st.lists(
    st.sampled_from(["amount_claimed", "date_of_loss", "policy_number"]), max_size=2, unique=True
)
documents = st.lists(st.sampled_from(["motor_claim_form", "invoice", "cms1500"]), max_size=3, unique=True)


@st.composite
def claim_facts(draw: st.DrawFn) -> ClaimFacts:
    start = draw(days)
    currency = draw(st.sampled_from(["EUR", "EUR", "USD", None]))
    return ClaimFacts(
        claim_id="P1",
        claim_type=draw(st.sampled_from(["motor", "health", "other"])),
        source=draw(st.sampled_from(["documents", "bordereau"])),
        policy_number=draw(st.sampled_from(["POL-1", None])),
        policy_found=draw(st.sampled_from([True, True, True, False])),
        policy_status=draw(st.sampled_from(["active", "active", "lapsed", "cancelled", None])),
        policy_start=start,
        policy_end=None if start is None else start + timedelta(days=draw(st.integers(-10, 400))),
        coverage_limit=draw(money),
        deductible=draw(money),
        policy_currency=draw(st.sampled_from(["EUR", "EUR", "USD", None])),
        date_of_loss=draw(days),
        amount_claimed=draw(money),
        currency=currency,
        min_field_confidence=draw(st.sampled_from([1.0, 0.95]) | st.floats(0.0, 1.0)),
        low_confidence_fields=tuple(draw(names)),
        missing_fields=tuple(draw(names)),
        documents=tuple(draw(documents)),
        missing_documents=(),
        duplicate_of=draw(st.sampled_from([None, None, "C0"])),
        amount_problems=tuple(draw(st.lists(st.just("invoice total differs"), max_size=1))),
        prior_claims_12m=draw(st.integers(0, 5)),
        confidence_threshold=0.90,
        small_claim_limit=Decimal("5000"),
        processing_date=TODAY,
    )


def check_invariants(facts: ClaimFacts, decision: Decision) -> None:
    doubtful = (
        bool(facts.missing_fields)
        or bool(facts.low_confidence_fields)
        or facts.min_field_confidence < facts.confidence_threshold
        or not facts.policy_found
        or facts.policy_status != "active"
        or bool(decision.trace["errors"])
    )
    if doubtful:
        assert decision.route is not Route.SETTLE, decision.trace
    if decision.trace["errors"]:
        assert decision.route is Route.REVIEW
    if decision.route is Route.SETTLE:
        assert facts.coverage_limit is not None and decision.payout is not None
        assert Decimal(0) < decision.payout <= facts.coverage_limit
        assert decision.payout == decision.payout.quantize(Decimal("0.01"))
        assert facts.currency == facts.policy_currency == decision.currency is not None
    else:
        assert decision.payout is None
    assert decision.recommendation is None or decision.route is Route.REVIEW
    assert decision.reasons


@settings(max_examples=400, deadline=None)
@given(claim_facts())
def test_shipped_rules_fail_closed(facts: ClaimFacts) -> None:
    decision = decide_claim(facts, shipped())
    event(f"route {decision.route}")
    check_invariants(facts, decision)


@settings(max_examples=400, deadline=None)
@given(claim_facts())
def test_code_fails_closed_even_with_reckless_rules(facts: ClaimFacts) -> None:
    decision = decide_claim(facts, reckless())
    event(f"route {decision.route}")
    check_invariants(facts, decision)
    if facts.amount_claimed is None:
        assert decision.route is Route.REVIEW  # BIG_ERRORS cannot compare null


@settings(max_examples=200, deadline=None)
@given(claim_facts())
def test_settled_shipped_claims_pay_the_formula(facts: ClaimFacts) -> None:
    decision = decide_claim(facts, shipped())
    if decision.route is Route.SETTLE:
        assert facts.amount_claimed is not None and facts.coverage_limit is not None and facts.deductible is not None
        expected = min(facts.amount_claimed - facts.deductible, facts.coverage_limit)
        assert decision.payout == expected.quantize(Decimal("0.01"))
        assert facts.amount_claimed <= facts.small_claim_limit
        assert not facts.duplicate_of and not facts.amount_problems


CLEAN = ClaimFacts(
    claim_id="P2", claim_type="motor", source="documents", policy_number="POL-1", policy_found=True,
    policy_status="active", policy_start=date(2026, 1, 1), policy_end=date(2026, 12, 31),
    coverage_limit=Decimal("10000"), deductible=Decimal("250"), policy_currency="EUR",
    date_of_loss=date(2026, 3, 2), amount_claimed=Decimal("1000"), currency="EUR", min_field_confidence=0.97,
    low_confidence_fields=(), missing_fields=(), documents=("motor_claim_form", "invoice"), missing_documents=(),
    duplicate_of=None, amount_problems=(), prior_claims_12m=0, confidence_threshold=0.90,
    small_claim_limit=Decimal("5000"), processing_date=TODAY,
)
def amounts(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(amount=amounts(-50, 7000), limit=amounts(-10, 12000), deductible=amounts(-10, 600))
def test_payout_stays_within_limit_for_clean_claims(amount: Decimal, limit: Decimal, deductible: Decimal) -> None:
    facts = dataclasses.replace(CLEAN, amount_claimed=amount, coverage_limit=limit, deductible=deductible)
    for compiled in (shipped(), reckless()):
        decision = decide_claim(facts, compiled)
        event(f"{compiled.ruleset.name}: route {decision.route}")
        check_invariants(facts, decision)


# ------------------------------------------------- every shipped version, decision tables, fused evaluation


@cache
def shipped_versions() -> tuple[CompiledRuleSet, ...]:
    return tuple(compile_ruleset(version) for version in load_versions(ROOT / "rules"))


@cache
def reckless_table() -> CompiledRuleSet:
    """A table whose rows overlap (hit policy any) and settle with odd payouts; the code must still fail closed."""
    from openpyxl import Workbook

    with TemporaryDirectory() as tmp:
        directory = Path(tmp) / "rules"
        directory.mkdir()
        (directory / "reckless.yml").write_text(
            RECKLESS.replace("rules:\n", "tables: [{workbook: t.xlsx, hit_policy: first}]\nrules:\n", 1)
        )
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in [
            ["id", "priority", "claim_type", "amount_claimed", "decision", "reason", "payout"],
            ["T_SMALL", 5, "motor, health", "< 3000", "settle", "pay {{payout}}", "amount_claimed * 2.5"],
            ["T_ANY", 5, "-", "-", "settle", "pay", "coverage_limit + 1"],
        ]:
            sheet.append(row)
        book.save(directory / "t.xlsx")
        export_workbooks(directory)
        return compile_ruleset(load_ruleset(directory, on=TODAY))


@settings(max_examples=300, deadline=None)
@given(claim_facts())
def test_every_shipped_version_and_a_reckless_table_fail_closed(facts: ClaimFacts) -> None:
    for compiled in (*shipped_versions(), reckless_table()):
        decision = decide_claim(facts, compiled)
        event(f"{compiled.ruleset.version} {compiled.ruleset.name}: route {decision.route}")
        check_invariants(facts, decision)


@settings(max_examples=300, deadline=None)
@given(claim_facts())
def test_fused_evaluation_is_the_per_rule_evaluation(facts: ClaimFacts) -> None:
    """One engine call for all conditions, on only the facts the rules read, must decide byte for byte as one call
    per rule on every fact (the reference path)."""
    for compiled in (*shipped_versions(), reckless(), reckless_table()):
        assert compiled.fused is not None and compiled.reads is not None
        for reference in (dataclasses.replace(compiled, fused=None), dataclasses.replace(compiled, reads=None)):
            fast, slow = decide_claim(facts, compiled), decide_claim(facts, reference)
            assert fast.trace == slow.trace
            assert (fast.route, fast.payout, fast.reasons) == (slow.route, slow.payout, slow.reasons)
            assert as_json(fast) == as_json(slow)


def as_json(decision: Decision) -> str:
    """The decision as stored and compared by the bench: types and float signs count (1 != 1.0, -0.0 != 0.0)."""
    return json.dumps(dataclasses.asdict(decision), default=str, sort_keys=True)


@settings(max_examples=100, deadline=None)
@given(claim_facts())
def test_a_version_reloaded_from_its_archived_texts_decides_the_same(facts: ClaimFacts) -> None:
    for compiled in shipped_versions():
        ruleset = compiled.ruleset
        main = next(name for name in ruleset.files if not name.endswith(".xlsx.yml"))
        again = archived(main, tuple(sorted(ruleset.files.items())))
        assert again.ruleset.sha256 == ruleset.sha256
        assert decide_claim(facts, again).trace == decide_claim(facts, compiled).trace


@cache
def archived(main: str, files: tuple[tuple[str, str], ...]) -> CompiledRuleSet:
    return compile_ruleset(load_archived(dict(files), main))
