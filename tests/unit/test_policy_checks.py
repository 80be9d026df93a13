"""Policy checks: active on the loss date, cover, waiting period, payout due; unknown inputs give None."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from claimflow.assemble import ClaimView, PolicyInfo, build_facts
from claimflow.facts import ClaimFacts
from claimflow.models import Field, Money, Provenance, ReadMethod
from claimflow.policy_checks import (
    compute_payout_due,
    is_active_on,
    is_in_waiting_period,
    is_loss_covered,
    parse_covered_losses,
)
from claimflow.store.repository import Repository

JAN1, DEC31 = date(2026, 1, 1), date(2026, 12, 31)


@pytest.mark.parametrize(
    ("status", "start", "end", "loss", "expected"),
    [
        ("active", JAN1, DEC31, date(2026, 3, 2), True),
        ("Active", JAN1, DEC31, JAN1, True),
        ("active", JAN1, DEC31, DEC31, True),
        ("active", JAN1, DEC31, date(2025, 12, 31), False),
        ("active", JAN1, DEC31, date(2027, 1, 1), False),
        ("lapsed", JAN1, DEC31, date(2026, 3, 2), False),
        ("active", None, DEC31, date(2026, 3, 2), None),
        ("active", JAN1, DEC31, None, None),
        (None, JAN1, DEC31, date(2026, 3, 2), None),
    ],
)
def test_active_on_the_loss_date(
    status: str | None, start: date | None, end: date | None, loss: date | None, expected: bool | None
) -> None:
    assert is_active_on(status, start, end, loss) is expected


def test_cover_lists_are_split_and_matched_by_words() -> None:
    cover = parse_covered_losses("Collision; Theft, Glass / Parked car")
    assert cover == ("collision", "theft", "glass", "parked car")
    assert is_loss_covered("collision", cover) is True
    assert is_loss_covered("Single Vehicle Collision", cover) is True
    assert is_loss_covered("Vehicle Theft", cover) is True
    assert is_loss_covered("Parked Car", cover) is True
    assert is_loss_covered("fire", cover) is False
    assert is_loss_covered("car", cover) is False  # "parked car" needs both words
    assert is_loss_covered("fire", ("all risks",)) is True
    assert is_loss_covered(None, cover) is None
    assert is_loss_covered("fire", None) is None
    assert parse_covered_losses("") is None and parse_covered_losses(None) is None


def test_waiting_period() -> None:
    assert is_in_waiting_period(JAN1, 14, date(2026, 1, 14)) is True
    assert is_in_waiting_period(JAN1, 14, date(2026, 1, 15)) is False
    assert is_in_waiting_period(JAN1, 0, JAN1) is False
    assert is_in_waiting_period(JAN1, None, date(2026, 1, 2)) is None
    assert is_in_waiting_period(None, 14, date(2026, 1, 2)) is None


@pytest.mark.parametrize(
    ("claimed", "deductible", "limit", "due"),
    [
        ("3200.50", "250", "10000", "2950.50"),
        ("2500", "250", "2000", "2000.00"),  # the deductible comes off the claim, then the limit caps
        ("200", "250", "10000", "0.00"),  # never below 0
        ("250", "250", "10000", "0.00"),
        ("100.005", "0", "10000", "100.01"),  # cents, half up
    ],
)
def test_payout_due(claimed: str, deductible: str, limit: str, due: str) -> None:
    assert compute_payout_due(Decimal(claimed), Decimal(deductible), Decimal(limit)) == Decimal(due)


def test_payout_due_is_unknown_without_deductible_or_limit() -> None:
    assert compute_payout_due(Decimal("100"), None, Decimal("1000")) is None
    assert compute_payout_due(Decimal("100"), Decimal("0"), None) is None


def _field(name: str, value: object) -> Field:
    return Field(name, value, 0.99, Provenance(ReadMethod.TEXT_LAYER, page=1))  # type: ignore[arg-type]


def _view(**fields: object) -> ClaimView:
    view = ClaimView("C1", "motor", "documents")
    view.primary_type = "motor_claim_form"
    view.fields = {name: _field(name, value) for name, value in fields.items()}
    return view


POLICY = PolicyInfo("POL1", "active", JAN1, DEC31, Decimal("10000"), Decimal("250"), "EUR", "Motor Private",
                    ("collision", "theft"), 14)


def _facts(view: ClaimView, policy: PolicyInfo | None = POLICY) -> ClaimFacts:
    return build_facts(view, policy=policy, duplicate_of=None, prior_claims_12m=2,
                       prior_claims_12m_total=Decimal("900.10"), confidence_threshold=0.9,
                       small_claim_limit=Decimal("5000"), processing_date=date(2026, 6, 1))


def test_build_facts_runs_the_policy_checks() -> None:
    view = _view(policy_number="POL1", date_of_loss=date(2026, 3, 2), loss_type="Collision",
                 amount_claimed=Money(Decimal("3200.50"), "EUR"))
    facts = _facts(view)
    assert facts.loss_type == "collision" and facts.policy_product == "Motor Private"
    assert facts.policy_active_on_loss is True and facts.loss_covered is True
    assert facts.in_waiting_period is False and facts.payout_due == Decimal("2950.50")
    assert facts.prior_claims_12m == 2 and facts.prior_claims_12m_total == Decimal("900.10")
    fire = _facts(_view(policy_number="POL1", date_of_loss=date(2026, 1, 5), loss_type="fire"))
    assert fire.loss_covered is False and fire.in_waiting_period is True
    unknown = _facts(_view(policy_number="POL1"), policy=None)
    assert unknown.policy_active_on_loss is None and unknown.loss_covered is None
    assert unknown.in_waiting_period is None and unknown.payout_due is None


def test_health_claims_are_medical_losses() -> None:
    view = ClaimView("C2", "health", "documents")
    assert _facts(view, policy=None).loss_type == "medical"


def test_an_older_database_gets_the_new_policy_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    with engine.begin() as conn:  # the policy table as an older ClaimFlow created it
        conn.execute(text("CREATE TABLE policy (policy_number VARCHAR(80) PRIMARY KEY, holder VARCHAR, product "
                          "VARCHAR, start_date DATE, end_date DATE, limit_amount VARCHAR, deductible VARCHAR, "
                          "currency VARCHAR, status VARCHAR, source_document_id INTEGER, loaded_at DATETIME)"))
        conn.execute(text("INSERT INTO policy (policy_number, status) VALUES ('POL1', 'active')"))
    engine.dispose()
    repo = Repository.open(url)
    with repo.reading() as s:
        row = repo.policy(s, "POL1")
    assert row is not None and row.status == "active" and row.covered_losses is None
    assert row.waiting_period_days is None
    repo.close()
