"""The decision runner: every shipped rule hits and near-misses, hit policies, fail-closed paths, guardrail, trace."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from claimflow.decide import ENGINE, CompiledRuleSet, compile_ruleset, decide_claim, to_context
from claimflow.errors import ReasonCode
from claimflow.facts import ClaimFacts, parse_facts
from claimflow.models import Route
from claimflow.rules import load_ruleset

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 10)

CLEAN: dict[str, Any] = {
    "claim_id": "C1",
    "claim_type": "motor",
    "source": "documents",
    "policy_number": "POL-1001",
    "policy_found": True,
    "policy_status": "active",
    "policy_start": date(2026, 1, 1),
    "policy_end": date(2026, 12, 31),
    "coverage_limit": "10000",
    "deductible": "250",
    "policy_currency": "EUR",
    "date_of_loss": date(2026, 3, 2),
    "amount_claimed": "3200.50",
    "currency": "EUR",
    "min_field_confidence": 0.97,
    "documents": ["motor_claim_form", "invoice"],
    "loss_type": "collision",
    "covered_losses": ["collision", "theft"],
    "waiting_period_days": 14,
}


def facts(**changes: Any) -> ClaimFacts:
    return parse_facts({**CLEAN, **changes}, processing_date=TODAY)


@pytest.fixture(scope="module")
def shipped() -> CompiledRuleSet:
    return compile_ruleset(load_ruleset(ROOT / "rules", on=TODAY))


def compile_text(tmp_path: Path, rules: str, hit_policy: str = "priority") -> CompiledRuleSet:
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    (directory / "r.yml").write_text(
        "ruleset: test_rules\nversion: 2026.1.1\neffective_from: 2026-01-01\nowner: t\n"
        f"hit_policy: {hit_policy}\n"
        "default: {decision: review, code: no_rule_matched, reason: nothing matched}\n"
        "required_documents: {documents: {motor: [invoice]}}\n"
        f"rules:\n{rules}"
    )
    return compile_ruleset(load_ruleset(directory, on=TODAY))


def fired(decision: Any) -> list[str]:
    return [item["rule"] for item in decision.trace["fired"]]


# rule id -> (changes that make it fire, changes that come close but must not)
HIT_AND_NEAR_MISS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "POLICY_NOT_FOUND": ({"policy_found": False, "policy_status": None}, {"policy_number": None}),
    "POLICY_INACTIVE": ({"policy_status": "lapsed"}, {"policy_status": "active"}),
    "LOSS_OUTSIDE_COVER": ({"date_of_loss": date(2027, 1, 1)}, {"date_of_loss": date(2026, 12, 31)}),
    "DUPLICATE_CLAIM": ({"duplicate_of": "C0"}, {"duplicate_of": None, "prior_claims_12m": 3}),
    "DOCUMENTS_MISSING": ({"documents": ["invoice"]}, {"documents": ["invoice", "motor_claim_form"]}),
    "AMOUNTS_INCONSISTENT": ({"amount_problems": ["invoice total 10.00 != 3200.50"]}, {"amount_problems": []}),
    "FIELDS_MISSING": ({"missing_fields": ["date_of_loss"]}, {"missing_fields": []}),
    "FIELDS_LOW_CONFIDENCE": ({"min_field_confidence": 0.89}, {"min_field_confidence": 0.90}),
    "BELOW_DEDUCTIBLE": ({"amount_claimed": "250"}, {"amount_claimed": "250.01"}),
    "ABOVE_AUTHORITY": ({"amount_claimed": "5000.01"}, {"amount_claimed": "5000"}),
    "CURRENCY_MISMATCH": ({"currency": "USD"}, {"currency": "EUR"}),
    "SMALL_CLEAN_CLAIM": ({"amount_claimed": "250.01"}, {"amount_claimed": "250"}),
    "LOSS_NOT_COVERED": ({"loss_type": "fire"}, {"loss_type": "rear collision"}),
    "IN_WAITING_PERIOD": ({"date_of_loss": date(2026, 1, 14)}, {"date_of_loss": date(2026, 1, 15)}),
    "POLICY_DATA_MISSING": ({"covered_losses": None}, {"covered_losses": ["all risks"]}),
    "NEAR_DUPLICATE": ({"near_duplicate_of": "C0", "near_duplicate_similarity": 0.9}, {"near_duplicate_of": None}),
    "HIGH_RISK": ({"risk_score": 0.25}, {"risk_score": 0.2499}),
}


def test_every_shipped_rule_has_a_case(shipped: CompiledRuleSet) -> None:
    assert sorted(HIT_AND_NEAR_MISS) == sorted(rule.id for rule in shipped.ruleset.rules)


@pytest.mark.parametrize("rule_id", sorted(HIT_AND_NEAR_MISS))
def test_rule_hits_and_near_misses(shipped: CompiledRuleSet, rule_id: str) -> None:
    hit, near = HIT_AND_NEAR_MISS[rule_id]
    decision = decide_claim(facts(**hit), shipped)
    assert rule_id in fired(decision)
    assert decision.decided_by == rule_id
    assert rule_id not in fired(decide_claim(facts(**near), shipped))


def test_clean_claim_settles_with_payout_and_trace(shipped: CompiledRuleSet) -> None:
    decision = decide_claim(facts(), shipped)
    assert decision.route is Route.SETTLE
    assert decision.payout == Decimal("2950.50")
    assert decision.currency == "EUR"
    assert decision.recommendation is None
    assert [r.message for r in decision.reasons] == [
        "Small clean claim within authority: pay 2950.50 (3200.50 less deductible 250)"
    ]
    trace = decision.trace
    json.dumps(trace)  # JSON-ready, no Decimal/date
    assert trace["ruleset"] == "claims_routing" and trace["engine"] == ENGINE == decision.engine
    assert trace["sha256"] == decision.ruleset_sha256 == shipped.ruleset.sha256
    assert trace["hit_policy"] == "priority"
    assert trace["fired"] == [
        {
            "rule": "SMALL_CLEAN_CLAIM",
            "priority": 10,
            "decision": "settle",
            "reason": "Small clean claim within authority: pay 2950.50 (3200.50 less deductible 250)",
            "inputs": {
                "policy_found": True,
                "policy_status": "active",
                "policy_active_on_loss": True,
                "loss_covered": True,
                "in_waiting_period": False,
                "amount_claimed": 3200.5,
                "coverage_limit": 10000.0,
                "deductible": 250.0,
                "small_claim_limit": 5000.0,
                "payout_due": 2950.5,
            },
        }
    ]
    assert trace["errors"] == [] and trace["payout"] == "2950.50"


def test_missing_documents_are_listed_and_requested(shipped: CompiledRuleSet) -> None:
    decision = decide_claim(facts(documents=[]), shipped)
    assert decision.route is Route.REQUEST_DOCUMENTS
    assert decision.missing_documents == ["motor_claim_form", "invoice"]
    assert decision.reasons[0].code == ReasonCode.DOCUMENTS_MISSING
    assert decision.reasons[0].message == "Documents still needed: motor_claim_form; invoice"
    assert decision.payout is None


def test_review_keeps_every_fired_reason(shipped: CompiledRuleSet) -> None:
    decision = decide_claim(facts(policy_status="cancelled", amount_claimed="100", currency="USD"), shipped)
    assert decision.route is Route.REVIEW
    assert decision.decided_by == "POLICY_INACTIVE"
    assert [r.code for r in decision.reasons] == [
        ReasonCode.POLICY_INACTIVE,
        ReasonCode.AMOUNT_BELOW_DEDUCTIBLE,
        ReasonCode.CURRENCY_MISMATCH,
    ]
    assert decision.recommendation == "reject"
    assert "None" not in " ".join(r.message for r in decision.reasons)


def test_priority_tie_goes_to_review(tmp_path: Path) -> None:
    compiled = compile_text(
        tmp_path,
        "  - {id: PAY, priority: 5, when: 'true', then: {decision: settle, payout: '100', reason: pay}}\n"
        "  - {id: LOOK, priority: 5, when: 'true', then: {decision: review, reason: look}}\n"
        "  - {id: ASK, priority: 5, when: 'true', then: {decision: request_documents, documents: [x], reason: ask}}\n",
    )
    decision = decide_claim(facts(), compiled)
    assert decision.route is Route.REVIEW and decision.decided_by == "LOOK"
    assert [r.message for r in decision.reasons] == ["look", "ask"]
    assert decision.missing_documents == ["x"]


def test_hit_policy_first_takes_file_order(tmp_path: Path) -> None:
    rules = (
        "  - {id: PAY, priority: 1, when: 'true', then: {decision: settle, payout: '100', reason: pay}}\n"
        "  - {id: LOOK, priority: 9, when: 'true', then: {decision: review, reason: look}}\n"
    )
    assert decide_claim(facts(), compile_text(tmp_path, rules, "first")).decided_by == "PAY"
    assert decide_claim(facts(), compile_text(tmp_path, rules, "collect")).decided_by == "LOOK"
    assert decide_claim(facts(), compile_text(tmp_path, rules, "priority")).decided_by == "LOOK"


def test_no_rule_matched_gives_the_default(tmp_path: Path) -> None:
    never = "  - {id: NEVER, priority: 1, when: 'false', then: {decision: review, reason: x}}\n"
    compiled = compile_text(tmp_path, never)
    decision = decide_claim(facts(), compiled)
    assert decision.route is Route.REVIEW and decision.decided_by == "default"
    assert decision.reasons[0].code == ReasonCode.NO_RULE_MATCHED


ALWAYS_SETTLE = "  - {id: PAY, priority: 1, when: 'true', then: {decision: settle, payout: '%s', reason: pay}}\n"


def test_rule_error_fails_closed_with_rule_id_and_inputs(tmp_path: Path) -> None:
    compiled = compile_text(
        tmp_path,
        ALWAYS_SETTLE % "amount_claimed"
        + "  - {id: BIG, priority: 9, when: 'amount_claimed > 100000', then: {decision: review, reason: big}}\n",
    )
    decision = decide_claim(facts(amount_claimed=None), compiled)
    assert decision.route is Route.REVIEW
    assert decision.payout is None
    assert decision.decided_by == "rule_error"
    assert decision.reasons[0].code == ReasonCode.RULE_ERROR
    assert "BIG" in decision.reasons[0].message
    assert decision.trace["errors"] == [
        {"rule": "BIG", "error": "Opcode Compare: Unsupported type", "inputs": {"amount_claimed": None}}
    ]


def test_non_boolean_condition_is_a_rule_error(tmp_path: Path) -> None:
    compiled = compile_text(
        tmp_path,
        ALWAYS_SETTLE % "1"
        + "  - {id: ODD, priority: 9, when: 'amount_claimed', then: {decision: review, reason: odd}}\n",
    )
    decision = decide_claim(facts(), compiled)
    assert decision.route is Route.REVIEW and decision.decided_by == "rule_error"
    assert "not true or false" in decision.reasons[0].message


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"missing_fields": ["date_of_loss"]}, ReasonCode.FIELD_MISSING),
        ({"low_confidence_fields": ["amount_claimed"]}, ReasonCode.FIELD_LOW_CONFIDENCE),
        ({"min_field_confidence": 0.5}, ReasonCode.FIELD_LOW_CONFIDENCE),
        ({"policy_found": False}, ReasonCode.POLICY_NOT_FOUND),
        ({"policy_status": "lapsed"}, ReasonCode.POLICY_INACTIVE),
        ({"policy_status": None}, ReasonCode.POLICY_INACTIVE),
        ({"date_of_loss": date(2027, 1, 1)}, ReasonCode.LOSS_OUTSIDE_COVER),
        ({"loss_type": "fire"}, ReasonCode.LOSS_NOT_COVERED),
        ({"date_of_loss": date(2026, 1, 3)}, ReasonCode.WAITING_PERIOD),
    ],
)
def test_code_never_settles_doubtful_claims_even_if_rules_would(
    tmp_path: Path, changes: dict[str, Any], code: ReasonCode
) -> None:
    compiled = compile_text(tmp_path, ALWAYS_SETTLE % "100")
    assert decide_claim(facts(), compiled).route is Route.SETTLE
    decision = decide_claim(facts(**changes), compiled)
    assert decision.route is Route.REVIEW
    assert decision.payout is None
    assert decision.decided_by == code
    assert [r.code for r in decision.reasons] == [code]


@pytest.mark.parametrize(
    ("payout", "changes", "code"),
    [
        ("10000.01", {}, ReasonCode.PAYOUT_GUARDRAIL),
        ("0", {}, ReasonCode.PAYOUT_GUARDRAIL),
        ("-5", {}, ReasonCode.PAYOUT_GUARDRAIL),
        ("100", {"coverage_limit": None}, ReasonCode.PAYOUT_GUARDRAIL),
        ("100", {"currency": "USD"}, ReasonCode.CURRENCY_MISMATCH),
        ("100", {"currency": None}, ReasonCode.CURRENCY_MISMATCH),
        ("'100'", {}, ReasonCode.RULE_ERROR),
        ("deductible - amount_claimed * null", {}, ReasonCode.RULE_ERROR),
    ],
)
def test_guardrail_forces_review(tmp_path: Path, payout: str, changes: dict[str, Any], code: ReasonCode) -> None:
    compiled = compile_text(tmp_path, ALWAYS_SETTLE.replace("'%s'", '"%s"') % payout)
    decision = decide_claim(facts(**changes), compiled)
    assert decision.route is Route.REVIEW
    assert decision.payout is None
    assert decision.reasons[0].code == code


def test_payout_at_the_limit_is_allowed(tmp_path: Path) -> None:
    decision = decide_claim(facts(coverage_limit="2000"), compile_text(tmp_path, ALWAYS_SETTLE % "coverage_limit"))
    assert decision.route is Route.SETTLE and decision.payout == Decimal("2000.00")


def test_payout_above_claimed_less_deductible_is_never_paid(tmp_path: Path) -> None:
    compiled = compile_text(tmp_path, ALWAYS_SETTLE % "coverage_limit")  # 10000 > 3200.50 - 250
    decision = decide_claim(facts(), compiled)
    assert decision.route is Route.REVIEW and decision.payout is None
    assert [r.code for r in decision.reasons] == [ReasonCode.PAYOUT_GUARDRAIL]
    assert "2950.50" in decision.reasons[0].message


@pytest.mark.parametrize(("amount", "expected"), [("0.05", "0.03"), ("2.01", "1.01"), ("0.01", "0.01")])
def test_payout_is_rounded_half_up_to_cents(tmp_path: Path, amount: str, expected: str) -> None:
    compiled = compile_text(tmp_path, ALWAYS_SETTLE % "amount_claimed * 0.5")
    decision = decide_claim(facts(amount_claimed=amount, deductible="0"), compiled)
    assert decision.payout == Decimal(expected)
    assert decision.payout.as_tuple().exponent == -2


def test_required_documents_follow_source(tmp_path: Path) -> None:
    compiled = compile_text(tmp_path, ALWAYS_SETTLE % "100")
    assert decide_claim(facts(documents=[]), compiled).missing_documents == ["invoice"]
    assert decide_claim(facts(documents=[], source="bordereau"), compiled).missing_documents == []
    caller = facts(documents=[], missing_documents=["police_report"])
    assert decide_claim(caller, compiled).missing_documents == ["police_report", "invoice"]


def test_context_holds_only_json_types() -> None:
    context = to_context(facts(), ("invoice",))
    assert json.loads(json.dumps(context)) == context
    assert context["amount_claimed"] == 3200.5 and context["date_of_loss"] == "2026-03-02"
    assert context["missing_documents"] == ["invoice"]


def test_facts_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts().amount_claimed = Decimal(1)  # type: ignore[misc]


def test_trace_names_the_review_queue_of_the_strongest_rule(shipped: CompiledRuleSet) -> None:
    duplicate = decide_claim(facts(duplicate_of="CLM-1"), shipped)
    assert duplicate.route is Route.REVIEW and duplicate.trace["queue"] == "fraud"
    assert decide_claim(facts(), shipped).trace["queue"] is None


def test_only_the_facts_the_rules_read_go_to_the_engine(tmp_path: Path) -> None:
    compiled = compile_text(
        tmp_path,
        ALWAYS_SETTLE % "amount_claimed - deductible"
        + "  - {id: LATE, priority: 9, when: \"d(date_of_loss) > d('2027-01-01')\", then: {decision: review, "
        "reason: 'late {{policy_number}}'}}\n",
    )
    assert compiled.reads == ("deductible", "date_of_loss", "amount_claimed")
    context = compiled.convert(facts(), ())
    assert context == {"deductible": 250.0, "amount_claimed": 3200.5, "date_of_loss": "2026-03-02"}
    assert compiled.convert(facts(), ()) == {k: v for k, v in to_context(facts(), ()).items() if k in context}


def test_an_expression_reaching_the_input_other_than_by_name_gets_every_fact(tmp_path: Path) -> None:
    compiled = compile_text(
        tmp_path,
        "  - {id: ODD, priority: 1, when: \"$ != null and '$' == '$'\", then: {decision: review, reason: x}}\n"
    )
    assert compiled.reads is None
    assert compiled.convert(facts(), ("invoice",)) == to_context(facts(), ("invoice",))


@pytest.mark.parametrize(
    "amounts",
    [
        ["0", "-0.00", "0.00"],  # equal keys, but -0 is a different float and text
        ["100.0", "100", "100.00", "1E+2"],  # equal Decimals written differently: reasons show each as written
    ],
)
def test_remembered_conversions_keep_every_value_as_written(tmp_path: Path, amounts: list[str]) -> None:
    compiled = compile_text(
        tmp_path,
        "  - {id: SHOW, priority: 1, when: 'amount_claimed == amount_claimed', "
        "then: {decision: review, reason: 'claimed {{amount_claimed}}'}}\n",
    )
    reference = dataclasses.replace(compiled, fused=None, reads=None)
    for amount in amounts:
        claim = facts(amount_claimed=amount)
        fast, slow = decide_claim(claim, compiled), decide_claim(claim, reference)
        assert json.dumps(fast.trace) == json.dumps(slow.trace)
        assert fast.reasons == slow.reasons
        assert fast.reasons[0].message == f"claimed {Decimal(amount)}"
    negative_zero = to_context(facts(amount_claimed="-0.00"), ())["amount_claimed"]
    assert str(negative_zero) == "-0.0"


def test_reason_values_look_up_shows_what_display_shows() -> None:
    from datetime import datetime

    from claimflow.decide import _display, _shown

    values: list[object] = [
        "text", "", None, (), ("a", "b"), ["x"], date(2026, 3, 2), datetime(2026, 3, 2, 10, 30), True, 0, 7,
        0.1, -0.0, 1e22, Decimal("3200.50"), Decimal("-0.00"), Decimal("1E+3"), Decimal("NaN"), Route.SETTLE,
        ReasonCode.RULE_ERROR,
    ]
    for value in values:
        assert _shown(value) == _display(value), value


def test_fast_reason_is_the_frozen_reason() -> None:
    from claimflow.decide import _reason
    from claimflow.models import Reason

    fast, slow = _reason("documents_missing", "Documents still needed: invoice"), Reason(
        "documents_missing", "Documents still needed: invoice"
    )
    assert type(fast) is Reason
    assert (fast, hash(fast), repr(fast)) == (slow, hash(slow), repr(slow))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.message = "changed"  # type: ignore[misc]


ODD_REASONS = """\
  - id: PERCENT
    priority: 9
    when: "amount_claimed > 100"
    then: {decision: review, reason: "100% of {{amount_claimed}} {braces} \\\\ 'quotes' %s %(x)s {{ currency }}"}
  - id: EVERY_KIND
    priority: 8
    when: "amount_claimed > 100 and deductible != null"
    then:
      decision: review
      queue: desk
      reason: "{{policy_start}} {{covered_losses}} {{missing_documents}} {{policy_found}} {{duplicate_of}} {{payout}}"
  - id: FIXED
    priority: 7
    when: "len(missing_documents) > 0"
    then: {decision: request_documents, documents: [police_report, invoice], reason: "Send the rest"}
  - id: PAY
    priority: 1
    when: "true"
    then: {decision: settle, payout: "amount_claimed - deductible", reason: "Pay {{payout}} of {{amount_claimed}}"}
"""


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"amount_claimed": "50"},
        {"amount_claimed": "50", "documents": []},
        {"documents": [], "covered_losses": None, "policy_start": None},
        {"currency": None, "amount_claimed": "-0.00"},
        {"amount_claimed": "1E+3", "missing_fields": ["date_of_loss"]},
    ],
)
def test_generated_reasons_and_trace_are_the_reference_ones(tmp_path: Path, changes: dict[str, Any]) -> None:
    """The generated fire functions and remembered plans against `_decide_reference` (templates, reasons, trace)."""
    from claimflow.decide import _decide_reference

    compiled = compile_text(tmp_path, ODD_REASONS)
    claim = facts(**changes)
    for _ in range(2):  # the second time from the remembered plan
        fast, slow = decide_claim(claim, compiled), _decide_reference(claim, compiled)
        assert as_json(fast) == as_json(slow)
        assert fast.reasons == slow.reasons and fast.trace == slow.trace
    if changes == {}:
        assert fast.reasons[0].message == "100% of 3200.50 {braces} \\ 'quotes' %s %(x)s EUR"


def test_a_remembered_plan_never_takes_1_for_true(tmp_path: Path) -> None:
    """Plans are looked up by the conditions' results, where 1 == True: a 1 must still be a rule error."""
    compiled = compile_text(
        tmp_path,
        "  - {id: ODD, priority: 9, when: 'amount_claimed > 5000 ? 1 : amount_claimed > 3000', "
        "then: {decision: review, reason: odd}}\n",
    )
    assert fired(decide_claim(facts(amount_claimed="4000"), compiled)) == ["ODD"]  # true: its plan is remembered
    decision = decide_claim(facts(amount_claimed="6000"), compiled)  # 1.0, which == True
    assert fired(decision) == [] and decision.route is Route.REVIEW
    assert decision.trace["errors"] == [
        {"rule": "ODD", "error": "condition gave 1.0, not true or false", "inputs": {"amount_claimed": 6000.0}}
    ]
    assert decision.reasons[0].code == ReasonCode.RULE_ERROR


def as_json(decision: Any) -> str:
    return json.dumps(dataclasses.asdict(decision), default=str, sort_keys=True)
