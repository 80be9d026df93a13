"""Review selection beyond the rules (QA sample, outliers, authority limit) and four eyes on the command line."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from claimflow.cli import main
from claimflow.enrich import DEFAULT_CONFIG, AmountHistory, load_enrichment_config
from claimflow.errors import ExitCode, ReasonCode
from claimflow.facts import ClaimFacts, parse_facts
from claimflow.models import Decision, Reason, Route
from claimflow.routing import facts_to_json, select_for_review
from claimflow.store.repository import Repository
from claimflow.store.tables import ClaimRow, DecisionRow, FieldCorrectionRow, PolicyRow, ReviewTaskRow
from claimflow.store.users import Role, add_user, set_active

CONFIG = load_enrichment_config(DEFAULT_CONFIG)


def _settle(payout: str = "950.00") -> Decision:
    return Decision(Route.SETTLE, Decimal(payout), "EUR", [Reason("SMALL_CLEAN_CLAIM", "ok")], None, [],
                    "SMALL_CLEAN_CLAIM", "r", "1", "h", "zen", {})


def _facts(**changes: object) -> ClaimFacts:
    base: dict[str, object] = {"claim_id": "C1", "claim_type": "motor", "amount_claimed": "1200"}
    return parse_facts({**base, **changes}, processing_date=date(2026, 7, 1))


def test_a_sampled_settlement_goes_to_quality_review_with_the_proposal() -> None:
    decision = _settle()
    select_for_review(decision, _facts(qa_sample=True), authority_limit=Decimal("10000"), queue="quality_review")
    assert decision.route is Route.REVIEW and decision.payout is None
    assert decision.decided_by == ReasonCode.QA_SAMPLE
    held = decision.trace["overridden"]
    assert (held["route"], held["payout"], held["queue"]) == ("settle", "950.00", "quality_review")
    assert [h["code"] for h in held["holds"]] == ["qa_sample"]
    assert "950.00" in decision.reasons[-1].message


def test_an_outlier_names_the_history_it_was_measured_against() -> None:
    history = AmountHistory.of([Decimal(900 + i) for i in range(40)])
    decision = _settle()
    select_for_review(decision, _facts(amount_outlier=True), authority_limit=Decimal("10000"),
                      queue="quality_review", history=history, outliers=CONFIG.outliers)
    assert decision.route is Route.REVIEW and decision.decided_by == ReasonCode.AMOUNT_OUTLIER
    assert "far above the settled motor claims; the rules would settle 950.00 EUR" in decision.reasons[-1].message
    assert decision.trace["overridden"]["outlier_history"]["settled_claims"] == 40


def test_the_machine_never_settles_above_the_authority_limit() -> None:
    decision = _settle("10000.01")
    select_for_review(decision, _facts(), authority_limit=Decimal("10000"), queue="quality_review")
    assert decision.route is Route.REVIEW and decision.decided_by == ReasonCode.AUTHORITY_LIMIT
    at_limit = _settle("10000.00")
    select_for_review(at_limit, _facts(), authority_limit=Decimal("10000"), queue="quality_review")
    assert at_limit.route is Route.SETTLE and at_limit.payout == Decimal("10000.00")


def test_non_settlements_and_clean_settlements_are_left_alone() -> None:
    clean = _settle()
    select_for_review(clean, _facts(), authority_limit=Decimal("10000"), queue="quality_review")
    assert clean.route is Route.SETTLE and "overridden" not in clean.trace
    review = Decision(Route.REVIEW, None, "EUR", [Reason("x", "y")], None, [], "X", "r", "1", "h", "zen", {})
    select_for_review(review, _facts(qa_sample=True), authority_limit=Decimal("1"), queue="quality_review")
    assert review.route is Route.REVIEW and review.reasons == [Reason("x", "y")]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLAIMFLOW_AUTHORITY_LIMIT", "10000")
    monkeypatch.delenv("CLAIMFLOW_REVIEWER", raising=False)
    (tmp_path / "home").mkdir()
    repo = Repository.open(f"sqlite:///{tmp_path / 'home' / 'claimflow.db'}")
    with repo.transaction() as s:
        s.add(PolicyRow(policy_number="POL-9", status="active", limit_amount="50000", deductible="0", currency="EUR"))
        for claim_id in ("BIG", "FIXED"):
            s.add(ClaimRow(claim_id=claim_id, claim_type="motor", source="documents", status="in_review",
                           policy_number="POL-9", currency="EUR", amount_claimed="12000"))
            s.flush()
            s.add(ReviewTaskRow(claim_id=claim_id, queue="claims"))
        s.add(FieldCorrectionRow(claim_id="FIXED", field="amount_claimed", new_value="12000", reviewer="carol"))
    for name, role in (("alice", Role.REVIEWER), ("bob", Role.SENIOR), ("carol", Role.REVIEWER),
                       ("dave", Role.REVIEWER), ("erin", Role.SUPERVISOR)):
        add_user(repo, name, role, None)
    repo.close()
    return tmp_path / "home"


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _repo(home: Path) -> Repository:
    return Repository.open(f"sqlite:///{home / 'claimflow.db'}")


def test_one_person_cannot_settle_above_the_authority_limit(home: Path) -> None:
    code, out, _ = _cli("review", "1", "--approve", "--payout", "12000", "--as", "alice")
    assert code == ExitCode.OK and "second, different reviewer" in out
    repo = _repo(home)
    assert repo.claim("BIG").status == "in_review"  # type: ignore[union-attr]
    with repo.reading() as s:
        assert repo.settlement(s, "BIG") is None
    listing = _cli("review")[1]
    assert "approved 12000.00 by alice; needs a second reviewer" in listing
    code, _, err = _cli("review", "1", "--approve", "--payout", "12000", "--as", "alice")
    assert code == ExitCode.USAGE and "second, different reviewer" in err
    code, _, err = _cli("review", "1", "--approve", "--payout", "11000", "--as", "bob")
    assert code == ExitCode.USAGE and "pending approval by alice is for 12000.00" in err
    with repo.reading() as s:
        assert repo.settlement(s, "BIG") is None
    code, out, _ = _cli("review", "1", "--approve", "--payout", "12000", "--reviewer", "bob")
    assert code == ExitCode.OK and "settled, payout 12000.00" in out
    with repo.reading() as s:
        settlement = repo.settlement(s, "BIG")
    assert settlement is not None and settlement.actor == "bob" and settlement.amount == "12000.00"
    actions = [(e.actor, e.action) for e in repo.audit_events("claim", "BIG")]
    assert actions == [("alice", "review_approve_pending"), ("bob", "review_approve")]
    assert [(a.reviewer, a.status, a.completed_by) for a in repo.approvals("BIG")] == [("alice", "completed", "bob")]
    code, out, _ = _cli("show", "BIG")
    assert code == 0 and "Approval of 12000.00 by alice, completed by bob" in out


def test_on_the_command_line_roles_decide_who_gives_the_second_approval(home: Path) -> None:
    code, out, _ = _cli("review", "1", "--approve", "--payout", "12000", "--as", "alice")
    assert code == ExitCode.OK and "second, different reviewer" in out
    code, _, err = _cli("review", "1", "--approve", "--payout", "12000", "--as", "dave")  # a reviewer, like alice
    assert code == ExitCode.USAGE and "needs a senior or a supervisor" in err
    code, _, err = _cli("review", "1", "--approve", "--payout", "12000", "--as", "mallory")  # no account
    assert code == ExitCode.USAGE and "account 'mallory' does not exist" in err
    with _repo(home) as repo:
        set_active(repo, "erin", False)
    code, _, err = _cli("review", "1", "--approve", "--payout", "12000", "--as", "erin")
    assert code == ExitCode.USAGE and "account 'erin' is deactivated" in err
    with _repo(home) as repo:
        assert repo.claim("BIG").status == "in_review"  # type: ignore[union-attr]
        set_active(repo, "erin", True)
    code, out, _ = _cli("review", "1", "--approve", "--payout", "12000", "--as", "erin")
    assert code == ExitCode.OK and "settled, payout 12000.00" in out
    with _repo(home) as repo:
        actions = [(e.actor, e.action) for e in repo.audit_events("claim", "BIG")]
    assert actions == [("alice", "review_approve_pending"), ("erin", "review_approve")]


def test_nobody_approves_their_own_correction(home: Path) -> None:
    code, _, err = _cli("review", "2", "--approve", "--payout", "900", "--as", "carol")
    assert code == ExitCode.USAGE and "carol corrected amount_claimed" in err and "four eyes" in err
    code, out, _ = _cli("review", "2", "--approve", "--payout", "900", "--as", "dave")
    assert code == ExitCode.OK and "settled" in out


def test_below_the_limit_one_approval_settles(home: Path) -> None:
    code, out, _ = _cli("review", "1", "--approve", "--payout", "10000", "--as", "alice")
    assert code == ExitCode.OK and "settled, payout 10000.00" in out
    assert json.loads(_cli("status", "--json")[1])["claims"] == {"in_review": 1, "settled": 1}


def test_show_explains_enrichments_and_holds_in_plain_words(home: Path) -> None:
    facts = _facts(claim_id="BIG", policy_found=True, policy_status="active", policy_start="2026-01-01",
                   policy_end="2026-12-31", date_of_loss="2026-01-05", loss_type="fire", covered_losses=["collision"],
                   waiting_period_days=14, deductible="0", coverage_limit="50000", near_duplicate_of="CLM-1",
                   near_duplicate_similarity=0.93, risk_probability=0.6, risk_impact=0.24, risk_score=0.144,
                   risk_signals=["early_claim", "near_duplicate"], compliance_risk_index=0.21,
                   compliance_signals=["loss_not_covered", "waiting_period"], qa_sample=True)
    trace = {"fired": [{"rule": "LOSS_NOT_COVERED", "decision": "review", "inputs": {"loss_covered": False}}],
             "overridden": {"route": "settle", "payout": "1200.00", "by": "review_selection", "queue": "quality_review",
                            "holds": [{"code": "qa_sample", "message": "Picked for quality review"}]}}
    repo = _repo(home)
    with repo.transaction() as s:
        s.add(DecisionRow(claim_id="BIG", route="review", ruleset="claims_routing", ruleset_version="1",
                          ruleset_sha256="0" * 64, engine="zen", facts_json=json.dumps(facts_to_json(facts)),
                          trace_json=json.dumps(trace),
                          reasons_json=json.dumps([{"code": "loss_not_covered", "message": "not covered"}])))
    code, out, _ = _cli("show", "BIG")
    assert code == 0
    for expected in (
        "LOSS_NOT_COVERED -> review: loss_covered=False",
        "in force on the loss date: yes (status active, cover 2026-01-01 to 2026-12-31, loss 2026-01-05)",
        "loss type fire covered: NO (covers collision)",
        "in the waiting period: YES (14 days from the start)",
        "payout the policy allows: 1200.00 = min(claimed 1200 - deductible 0, limit 50000), not below 0",
        "a page is a re-scan of a page of claim CLM-1 (similarity 0.93)",
        "Risk score: 0.144 = probability 0.6 x impact 0.24; signals: early_claim, near_duplicate",
        "Compliance-risk index: 0.21 (signals: loss_not_covered, waiting_period)",
        "Held for a person although the rules would settle (proposed payout 1200.00):",
        "[qa_sample] Picked for quality review",
    ):
        assert expected in out, (expected, out)
