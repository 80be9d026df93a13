"""Property tests of the enrichments: whatever the facts, a claim whose policy was not in force on the loss date,
whose loss is not covered or falls in the waiting period never settles, and every payout stays within
[0, min(limit, claimed - deductible)], after the rules and after the review selection that follows them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import event, given, settings
from hypothesis import strategies as st

from claimflow.decide import CompiledRuleSet, compile_ruleset, decide_claim
from claimflow.facts import ClaimFacts, parse_facts
from claimflow.models import Decision, Route
from claimflow.routing import select_for_review
from claimflow.rules import load_ruleset

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 10)

# Settles everything, over-pays, and ignores every policy check: the code must still hold.
CARELESS = """\
ruleset: careless
version: 2026.1.1
effective_from: 2026-01-01
owner: t
default: {decision: review, reason: nothing matched}
rules:
  - id: PAY_THE_CLAIM
    priority: 1
    when: "amount_claimed != null"
    then: {decision: settle, payout: "amount_claimed - deductible", reason: pay}
  - id: PAY_THE_LIMIT
    priority: 2
    when: "coverage_limit != null and amount_claimed != null and amount_claimed > 3000"
    then: {decision: settle, payout: "coverage_limit", reason: pay}
"""


@cache
def shipped() -> CompiledRuleSet:
    return compile_ruleset(load_ruleset(ROOT / "rules", on=TODAY))


@cache
def careless() -> CompiledRuleSet:
    with TemporaryDirectory() as tmp:
        directory = Path(tmp) / "rules"
        directory.mkdir()
        (directory / "careless.yml").write_text(CARELESS)
        return compile_ruleset(load_ruleset(directory, on=TODAY))


LOSS_TYPES = ["collision", "theft", "fire", "glass", "Single Vehicle Collision"]


def mostly(clean: object, other: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """The clean value nine times out of ten (so that settlements happen), else anything from `other`."""
    return st.integers(0, 9).flatmap(lambda n: st.just(clean) if n else other)


amount = st.decimals(min_value=-50, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
small = st.decimals(min_value=1, max_value=4000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def enriched_facts(draw: st.DrawFn) -> ClaimFacts:
    start = draw(mostly(date(2026, 1, 1), st.none() | st.dates(min_value=date(2025, 6, 1), max_value=date(2026, 6, 1))))
    assert start is None or isinstance(start, date)
    data: dict[str, object] = {
        "claim_id": draw(st.text("ABC0123456789-", min_size=1, max_size=12)),
        "claim_type": draw(st.sampled_from(["motor", "health"])),
        "source": "bordereau",
        "policy_number": "POL-1",
        "policy_found": draw(mostly(True, st.just(False))),
        "policy_status": draw(mostly("active", st.sampled_from(["lapsed", "cancelled", None]))),
        "policy_start": start,
        "policy_end": draw(mostly(date(2026, 12, 31), st.none() | st.dates(date(2025, 6, 1), date(2027, 6, 1)))),
        "date_of_loss": draw(mostly(date(2026, 5, 1), st.none() | st.dates(date(2025, 6, 1), date(2027, 6, 1)))),
        "loss_type": draw(mostly("collision", st.none() | st.sampled_from(LOSS_TYPES))),
        "covered_losses": draw(mostly(["collision", "theft"], st.none() | st.just(["all risks"]) | st.just(["theft"]))),
        "waiting_period_days": draw(mostly(14, st.none() | st.integers(0, 200))),
        "coverage_limit": draw(mostly(Decimal("3000"), st.none() | amount)),
        "deductible": draw(mostly(Decimal("100"), st.none() | amount)),
        "amount_claimed": draw(st.one_of(small, small, st.none() | amount)),
        "policy_currency": "EUR",
        "currency": draw(mostly("EUR", st.just("USD"))),
        "min_field_confidence": draw(mostly(0.97, st.just(0.5))),
        "qa_sample": draw(mostly(False, st.just(True))),
        "amount_outlier": draw(mostly(False, st.just(True))),
        "risk_score": draw(mostly(0.01, st.just(0.3))),
    }
    return parse_facts(data, processing_date=TODAY)


def final(facts: ClaimFacts, compiled: CompiledRuleSet) -> Decision:
    """The decision as routing writes it: the rules, then the review selection."""
    decision = decide_claim(facts, compiled)
    select_for_review(decision, facts, authority_limit=Decimal("10000"), queue="quality_review")
    return decision


def check(facts: ClaimFacts, decision: Decision, *, nulls_block: bool) -> None:
    known_bad = (
        facts.policy_active_on_loss is False or facts.loss_covered is False or facts.in_waiting_period is True
    )
    unknown = facts.policy_active_on_loss is None or facts.loss_covered is None or facts.in_waiting_period is None
    if known_bad or (nulls_block and unknown) or facts.qa_sample or facts.amount_outlier:
        assert decision.route is not Route.SETTLE, decision.trace
    if decision.route is Route.SETTLE:
        assert decision.payout is not None and facts.payout_due is not None
        assert facts.coverage_limit is not None and facts.amount_claimed is not None and facts.deductible is not None
        ceiling = min(facts.coverage_limit, facts.amount_claimed - facts.deductible)
        assert Decimal(0) <= decision.payout <= ceiling
        assert decision.payout <= Decimal("10000")  # never above the authority limit without two people
        event("settled")
    else:
        assert decision.payout is None


@settings(max_examples=300, deadline=None)
@given(enriched_facts())
def test_shipped_rules_never_settle_a_failed_or_unknown_policy_check(facts: ClaimFacts) -> None:
    decision = final(facts, shipped())
    event(f"route {decision.route}")
    check(facts, decision, nulls_block=True)
    if decision.route is Route.SETTLE:
        assert decision.payout == facts.payout_due  # the shipped rules pay exactly what the policy allows


@settings(max_examples=300, deadline=None)
@given(enriched_facts())
def test_code_holds_even_when_the_rules_ignore_the_policy_checks(facts: ClaimFacts) -> None:
    decision = final(facts, careless())
    event(f"route {decision.route}")
    check(facts, decision, nulls_block=False)
