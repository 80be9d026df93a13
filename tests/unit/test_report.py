"""Report charts: histogram buckets, charts from a snapshot, SVG drawing and the no-data message."""

from __future__ import annotations

from datetime import timedelta

from claimflow import kpi
from claimflow.report import Chart, build_report, chart_svg, histogram
from tests.unit.ops_builders import T0


def test_histogram_buckets_are_half_open_and_the_last_is_open_ended() -> None:
    labels, counts = histogram([0.0, 0.99, 1.0, 30.0, 500.0], [0, 1, 24])
    assert labels == ["0-1 h", "1-24 h", ">24 h"]
    assert counts == [2.0, 1.0, 2.0]


def test_report_charts_follow_the_snapshot() -> None:
    snap = kpi.Snapshot()
    snap.claims = [
        kpi.ClaimFacts("A", "settled", "settle", T0, T0 + timedelta(hours=2), T0 + timedelta(hours=2), True, ()),
        kpi.ClaimFacts("B", "in_review", "review", T0, T0 + timedelta(hours=30), None, False, ("amount_over_limit",)),
    ]
    snap.confidence = [kpi.ConfidencePoint(0.95, False), kpi.ConfidencePoint(0.97, True)]
    report = build_report(snap, now=T0 + timedelta(days=2), sla_hours=24)
    charts = {c.title: c for c in report.charts}
    assert charts["Claims by route"].categories == ["review", "settle"]
    assert charts["STP rate by day"].bars == [100.0, 0.0]
    assert charts["Reasons Pareto (claims not settled automatically)"].line == [100.0]
    calibration = charts["Extraction confidence against accuracy (reviewed claims)"]
    assert calibration.bars == [50.0] and not calibration.empty
    assert report.headline["STP rate"] == "50.0%"
    svg = chart_svg(charts["Claims by route"])
    assert svg.startswith("<svg") and svg.count("<rect") == 2


def test_empty_chart_says_so() -> None:
    chart = Chart("x", [], [], "claims", empty_message="no data: nothing reviewed")
    assert "no data: nothing reviewed" in chart_svg(chart)
