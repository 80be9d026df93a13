"""Supervisors' figures: document states, backlog with SLA, cycle time, trend, reasons, calibration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ops_builders import T0, add_claim, add_review, open_repo

from claimflow import kpi


def test_percentile_interpolates_and_refuses_empty() -> None:
    assert kpi.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert kpi.percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    with pytest.raises(ValueError):
        kpi.percentile([], 95)


def test_document_state_mapping() -> None:
    assert kpi.document_state("quarantined", []) == "quarantined"
    assert kpi.document_state("received", []) == "processing"
    assert kpi.document_state("processed", ["received"]) == "processing"
    assert kpi.document_state("processed", ["settled", "received"]) == "decided"
    assert kpi.document_state("processed", []) == "decided"  # a register has no claim of its own


def test_figures_from_a_small_database(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path)
    add_claim(repo, "C1", decided=T0 + timedelta(hours=1), settled=T0 + timedelta(hours=1))
    add_claim(repo, "C2", decided=T0 + timedelta(hours=3), settled=T0 + timedelta(hours=27), settled_by="alice")
    add_claim(repo, "C3", status="in_review", route="review", decided=T0 + timedelta(days=1, hours=2),
              reasons=("amount_over_limit", "field_low_confidence"))
    add_claim(repo, "C4", status="pending_documents", route="request_documents",
              decided=T0 + timedelta(days=1, hours=2), reasons=("documents_missing",))
    add_claim(repo, "C5", status="received", route=None)
    add_review(repo, "C3", created=T0 + timedelta(days=1, hours=2))
    add_review(repo, "C2", created=T0 + timedelta(hours=3), open_=False)
    now = T0 + timedelta(days=2, hours=4)
    snap = kpi.load_snapshot(repo)

    status = kpi.system_status(snap, now=now, sla_hours=24, waiting_in_inbox=2)
    assert status["documents"] == {"received": 2, "processing": 1, "decided": 4, "quarantined": 0}
    assert status["claims_by_route"] == {"request_documents": 1, "review": 1, "settle": 2, "undecided": 1}
    assert status["review_backlog"] == {"open": 1, "completed": 1, "sla_breaches": 1, "by_queue": {"claims": 1}}

    [queue] = kpi.review_backlog(snap, now=now, sla_hours=24)
    assert queue["1-3d"] == 1 and queue["oldest_hours"] == 26.0 and queue["sla_breaches"] == 1
    assert kpi.review_backlog(snap, now=now, sla_hours=48)[0]["sla_breaches"] == 0

    times = kpi.cycle_times(snap)
    assert times["to_decision"].n == 4 and times["to_decision"].average_hours == pytest.approx((1 + 3 + 26 + 26) / 4)
    assert times["to_settlement"].n == 2 and times["to_settlement"].average_hours == pytest.approx(14.0)
    assert times["to_settlement"].p95_hours == pytest.approx(1 + 0.95 * 26)

    trend = kpi.automation_trend(snap)
    assert trend == [
        {"day": "2026-11-02", "decided": 2, "auto_settled": 1, "stp_rate": 0.5},
        {"day": "2026-11-03", "decided": 2, "auto_settled": 0, "stp_rate": 0.0},
    ]
    assert kpi.stp_rate(snap) == 0.25  # a person's settlement is not straight-through
    pareto = kpi.reasons_pareto(snap)
    assert [r["reason"] for r in pareto] == ["amount_over_limit", "documents_missing", "field_low_confidence"]
    assert pareto[-1]["cumulative_share"] == 1.0


def test_confidence_points_come_only_from_reviewed_claims(tmp_path: Path) -> None:
    from claimflow.store.tables import FieldCorrectionRow

    repo, _ = open_repo(tmp_path)
    add_claim(repo, "C1", status="settled", decided=T0, settled=T0, iban_confidence=0.6)
    add_claim(repo, "C2", status="settled", decided=T0, settled=T0)
    assert kpi.load_confidence_points(repo) == []  # nobody reviewed anything: no data, not 100%
    add_review(repo, "C1", created=T0, open_=False)
    with repo.transaction() as s:
        s.add(FieldCorrectionRow(claim_id="C1", field="payee_iban", new_value="x", reviewer="alice"))
    points = kpi.load_confidence_points(repo)
    assert len(points) == 3
    table = kpi.confidence_calibration(points)
    low = next(row for row in table if row["confidence"] == "0.50-0.70")
    assert low["fields"] == 1 and low["accuracy"] == 0.0
    assert sum(row["fields"] for row in table) == 3


def test_versions_in_force_name_rule_set_and_every_spec() -> None:
    from claimflow.rules import load_ruleset
    from claimflow.settings import load_settings
    from claimflow.specs import load_specs

    settings = load_settings()
    rows = kpi.versions_in_force(load_ruleset(settings.rules), load_specs(settings.extractors))
    assert rows[0]["kind"] == "rule set" and rows[0]["version"]
    assert {"motor_claim_form", "invoice"} <= {r["name"] for r in rows if r["kind"] == "extractor"}
    assert all(len(r["sha256"]) == 12 for r in rows)
