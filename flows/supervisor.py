"""Publish what supervisors see as keyed Prefect artifacts; the figures come from `claimflow.kpi`.

Every artifact is an aggregate (counts, rates, hours, versions): no claim ids, names, numbers or amounts.
Keys are stable so the dashboard's Artifacts page shows each one with its history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from claimflow.kpi import collect_figures
from claimflow.settings import Settings

STATUS_KEY = "claims-status"
BACKLOG_KEY = "claims-review-backlog"
CYCLE_TIME_KEY = "claims-cycle-time"
TREND_KEY = "claims-automation-trend"
VERSIONS_KEY = "claims-versions-in-force"
KPI_REPORT_KEY = "claims-kpi-report"
REMINDERS_KEY = "claims-reminders"
PAYMENTS_KEY = "claims-payments"
SUPERVISOR_KEYS = (STATUS_KEY, BACKLOG_KEY, CYCLE_TIME_KEY, TREND_KEY, VERSIONS_KEY)


def status_rows(status: Mapping[str, Any]) -> list[dict[str, str]]:
    """Flatten the system status into (section, item, value) rows."""
    rows: list[dict[str, str]] = []
    for section in ("documents", "claims_by_route", "claims"):
        rows += [{"section": section, "item": str(k), "value": str(v)} for k, v in status[section].items()]
    backlog = status["review_backlog"]
    rows += [
        {"section": "review_backlog", "item": "to check", "value": str(backlog["open"])},
        {"section": "review_backlog", "item": "complete", "value": str(backlog["completed"])},
        {"section": "review_backlog", "item": "over SLA", "value": str(backlog["sla_breaches"])},
    ]
    return rows


def cycle_rows(cycle: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Turn the cycle-time stats into table rows."""
    labels = {"to_decision": "first document to decision", "to_settlement": "first document to settlement"}
    return [{"measure": labels.get(name, name), **dict(stats)} for name, stats in cycle.items()]


def _table(rows: Sequence[Mapping[str, Any]], empty: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows] or [dict(empty)]


def publish_supervisor_artifacts(
    settings: Settings, versions: Sequence[Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """Compute the figures and publish status, review backlog, cycle time, trend and versions; return them."""
    figures = collect_figures(settings)
    create_table_artifact(key=STATUS_KEY, table=status_rows(figures["status"]), description="What is in the system now")
    create_table_artifact(
        key=BACKLOG_KEY,
        table=_table(figures["review_backlog"], {"queue": "(no review tasks)", "open": 0}),
        description=f"Review backlog by queue and age; SLA {settings.review_sla_hours:g} h",
    )
    create_table_artifact(
        key=CYCLE_TIME_KEY,
        table=cycle_rows(figures["cycle_time"]),
        description="Claim cycle time in hours (average and p95)",
    )
    create_table_artifact(
        key=TREND_KEY,
        table=_table(figures["automation_trend"], {"day": "(no decisions yet)", "decided": 0}),
        description="Claims decided per day and the share settled with no person (STP)",
    )
    if versions:
        create_table_artifact(key=VERSIONS_KEY, table=[dict(v) for v in versions], description="Versions in force")
    return figures


def kpi_markdown(figures: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    """Render the daily KPI report as markdown (aggregates only)."""
    status = figures["status"]
    lines = ["# Daily claims KPIs", "", f"- STP rate (all decided claims): {figures['stp_rate']:.1%}"]
    for section in ("documents", "claims_by_route"):
        lines.append(f"- {section.replace('_', ' ')}: " + (", ".join(f"{k} {v}" for k, v in status[section].items())))
    backlog = status["review_backlog"]
    lines.append(f"- review backlog: {backlog['open']} to check, {backlog['sla_breaches']} over SLA")
    for row in cycle_rows(figures["cycle_time"]):
        lines.append(f"- {row['measure']}: n {row['n']}, average {row['average_hours']} h, p95 {row['p95_hours']} h")
    lines += ["", "## Top reasons (claims not settled automatically)", "", "| reason | claims | cumulative |",
              "|---|---|---|"]
    lines += [f"| {r['reason']} | {r['claims']} | {r['cumulative_share']:.0%} |" for r in figures["reasons_pareto"]]
    for title, values in (extra or {}).items():
        lines += ["", f"## {title}", ""] + [f"- {k}: {v}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def publish_kpi_report(figures: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> None:
    """Publish the daily KPI markdown report."""
    create_markdown_artifact(key=KPI_REPORT_KEY, markdown=kpi_markdown(figures, extra), description="Daily KPIs")


def publish_counts(key: str, counts: Mapping[str, Any], description: str) -> None:
    """Publish a small table of counts (reminders, payments)."""
    create_table_artifact(
        key=key, table=[{"item": str(k), "value": str(v)} for k, v in counts.items()], description=description
    )
