"""`claimflow report`: an HTML (and PDF) report with charts for people who would rather look than read tables.

Charts: STP rate by day, claims by route, reasons Pareto, cycle-time distribution (first document to decision
and to settlement) and extraction confidence against reviewed accuracy. Every chart is an aggregate from
`claimflow.kpi` (no claim ids, names or amounts). The HTML is one self-contained file with inline SVG (no
plotting library needed); the PDF is drawn with reportlab's graphics from the same chart data. A chart without
data says so instead of drawing an empty axis.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from claimflow import kpi
from claimflow.settings import Settings
from claimflow.store.repository import Repository

WIDTH, HEIGHT = 640, 260
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 56, 70, 20, 20
BAR = "#3b6ea5"
LINE = "#d9822b"


@dataclass
class Chart:
    """One chart: categories on x, one bar series (and optionally a line series) on y."""

    title: str
    categories: list[str]
    bars: list[float]
    y_label: str
    line: list[float] | None = None
    line_label: str = ""
    y_max: float | None = None
    percent: bool = False
    note: str = ""
    empty_message: str = "no data yet"

    @property
    def empty(self) -> bool:
        """Return True when there is nothing to draw."""
        return not self.categories


@dataclass
class Report:
    """The charts and headline figures of one report."""

    generated_at: datetime
    headline: dict[str, str] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)


def histogram(values: Sequence[float], bins: Sequence[float]) -> tuple[list[str], list[float]]:
    """Count values into [bins[i], bins[i+1]) buckets (the last one open-ended); return labels and counts."""
    labels, counts = [], []
    for i, low in enumerate(bins):
        high = bins[i + 1] if i + 1 < len(bins) else math.inf
        labels.append(f"{low:g}-{high:g} h" if high != math.inf else f">{low:g} h")
        counts.append(float(sum(1 for v in values if low <= v < high)))
    return labels, counts


def build_report(snap: kpi.Snapshot, *, now: datetime, sla_hours: float) -> Report:
    """Compute every chart of the report from a snapshot (with confidence points when loaded)."""
    report = Report(generated_at=now)
    status = kpi.system_status(snap, now=now, sla_hours=sla_hours)
    cycle = kpi.cycle_times(snap)
    backlog = status["review_backlog"]
    report.headline = {
        "claims": str(len(snap.claims)),
        "STP rate": f"{kpi.stp_rate(snap):.1%}",
        "review backlog": f"{backlog['open']} open, {backlog['sla_breaches']} over SLA",
        "first document to decision": _stats_text(cycle["to_decision"]),
        "first document to settlement": _stats_text(cycle["to_settlement"]),
    }
    trend = kpi.automation_trend(snap)
    report.charts.append(
        Chart(
            "STP rate by day",
            [row["day"] for row in trend],
            [row["stp_rate"] * 100 for row in trend],
            "% settled with no person",
            y_max=100,
            percent=True,
            note="share of the claims first decided that day that were settled automatically",
        )
    )
    routes = kpi.claims_by_route(snap)
    report.charts.append(Chart("Claims by route", list(routes), [float(v) for v in routes.values()], "claims"))
    pareto = kpi.reasons_pareto(snap)
    report.charts.append(
        Chart(
            "Reasons Pareto (claims not settled automatically)",
            [row["reason"] for row in pareto],
            [float(row["claims"]) for row in pareto],
            "claims",
            line=[row["cumulative_share"] * 100 for row in pareto],
            line_label="cumulative %",
        )
    )
    hours = kpi.cycle_hours(snap)
    bins = [0, 1, 4, 24, 48, 72, 168]
    for name, title in (("to_decision", "decision"), ("to_settlement", "settlement")):
        labels, counts = histogram(hours[name], bins)
        report.charts.append(
            Chart(
                f"Cycle time: first document to {title}",
                labels if hours[name] else [],
                counts,
                "claims",
                note=_stats_text(cycle[name]),
            )
        )
    calibration = kpi.confidence_calibration(snap.confidence)
    report.charts.append(
        Chart(
            "Extraction confidence against accuracy (reviewed claims)",
            [row["confidence"] for row in calibration],
            [row["accuracy"] * 100 for row in calibration],
            "% of fields a reviewer left unchanged",
            line=[row["mean_confidence"] * 100 for row in calibration],
            line_label="mean confidence %",
            y_max=100,
            percent=True,
            note="accuracy = share of fields of reviewed claims that the reviewer did not correct",
            empty_message="no data: no claim has been reviewed yet, so there are no corrections to compare with",
        )
    )
    return report


def _stats_text(stats: kpi.Stats) -> str:
    if stats.n == 0:
        return "no claims yet"
    return f"n {stats.n}, average {stats.average_hours:.1f} h, p95 {stats.p95_hours:.1f} h"


# --------------------------------------------------------------------------------- SVG / HTML
def _nice_max(values: Sequence[float], y_max: float | None) -> float:
    if y_max is not None:
        return y_max
    top = max([*values, 1.0])
    magnitude = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 5, 10):
        if top <= step * magnitude:
            return float(step * magnitude)
    return top  # pragma: no cover


def chart_svg(chart: Chart) -> str:
    """Draw a chart as an inline SVG string (bars, optional line, axes, labels)."""
    if chart.empty:
        return f'<p class="empty">{html.escape(chart.empty_message)}</p>'
    top = _nice_max(chart.bars + (chart.line or []), chart.y_max)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    n = len(chart.categories)
    slot = plot_w / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{html.escape(chart.title)}">']
    for i in range(5):
        value = top * i / 4
        y = MARGIN_TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                     f'{value:.0f}</text>')
    points = []
    for i, (label, value) in enumerate(zip(chart.categories, chart.bars, strict=True)):
        x = MARGIN_LEFT + i * slot
        h = plot_h * min(value, top) / top
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{MARGIN_TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{h:.1f}" fill="{BAR}"><title>{html.escape(label)}: {value:.1f}</title></rect>')
        lx, ly = x + slot / 2, MARGIN_TOP + plot_h + 12
        parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="end" '
                     f'transform="rotate(-35 {lx:.1f} {ly:.1f})">{html.escape(label[:24])}</text>')
        if chart.line is not None:
            points.append(f"{x + slot / 2:.1f},{MARGIN_TOP + plot_h - plot_h * min(chart.line[i], top) / top:.1f}")
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
        parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" fill="{LINE}"/>' for p in points]
    parts.append(f'<text x="14" y="{MARGIN_TOP + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 14 {MARGIN_TOP + plot_h / 2:.1f})">{html.escape(chart.y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: Report) -> str:
    """Render the whole report as one self-contained HTML page."""
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in report.headline.items())
    sections = []
    for chart in report.charts:
        legend = ""
        if chart.line is not None and not chart.empty:
            legend = (f'<p class="legend"><span style="color:{BAR}">&#9632;</span> {html.escape(chart.y_label)} '
                      f'<span style="color:{LINE}">&#9679;</span> {html.escape(chart.line_label)}</p>')
        note = f'<p class="note">{html.escape(chart.note)}</p>' if chart.note else ""
        sections.append(f"<section><h2>{html.escape(chart.title)}</h2>{chart_svg(chart)}{legend}{note}</section>")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ClaimFlow report</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;max-width:720px;color:#222}"
        "table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .8rem;border-bottom:1px solid #eee}"
        ".note,.legend{color:#555;font-size:.9rem}.empty{color:#888;font-style:italic}"
        "</style></head><body>"
        f"<h1>ClaimFlow report</h1><p class=\"note\">generated {report.generated_at:%Y-%m-%d %H:%M} UTC; "
        "aggregates only</p>"
        f"<table>{rows}</table>{''.join(sections)}</body></html>\n"
    )


# --------------------------------------------------------------------------------- PDF
def render_pdf(report: Report, path: Path) -> None:
    """Draw the report as a PDF with reportlab (headline table, then one chart per block)."""
    from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String  # type: ignore[import-untyped]
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table  # type: ignore[import-untyped]

    styles = getSampleStyleSheet()
    story: list[Any] = [
        Paragraph("ClaimFlow report", styles["Title"]),
        Paragraph(f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC; aggregates only", styles["Normal"]),
        Spacer(1, 8),
        Table([[k, v] for k, v in report.headline.items()]),
    ]
    bar, line = colors.HexColor(BAR), colors.HexColor(LINE)
    width, height = 460, 200
    left, bottom = 40, 60
    for chart in report.charts:
        story += [Spacer(1, 10), Paragraph(chart.title, styles["Heading3"])]
        if chart.empty:
            story.append(Paragraph(chart.empty_message, styles["Italic"]))
            continue
        top = _nice_max(chart.bars + (chart.line or []), chart.y_max)
        drawing = Drawing(width, height)
        plot_w, plot_h = width - left - 10, height - bottom - 10
        slot = plot_w / len(chart.categories)
        for i in range(5):
            y = bottom + plot_h * i / 4
            drawing.add(Line(left, y, left + plot_w, y, strokeColor=colors.lightgrey))
            drawing.add(String(left - 4, y - 3, f"{top * i / 4:.0f}", fontSize=7, textAnchor="end"))
        points: list[float] = []
        for i, (label, value) in enumerate(zip(chart.categories, chart.bars, strict=True)):
            x = left + i * slot
            drawing.add(Rect(x + slot * 0.15, bottom, slot * 0.7, plot_h * min(value, top) / top, fillColor=bar,
                             strokeColor=None))
            text = String(x + slot / 2, bottom - 10, label[:18], fontSize=6, textAnchor="middle")
            drawing.add(text)
            if chart.line is not None:
                points += [x + slot / 2, bottom + plot_h * min(chart.line[i], top) / top]
        if points:
            drawing.add(PolyLine(points, strokeColor=line, strokeWidth=1.5))
        story.append(drawing)
        if chart.note:
            story.append(Paragraph(chart.note, styles["Normal"]))
    SimpleDocTemplate(str(path), pagesize=A4, title="ClaimFlow report").build(story)


def write_report(settings: Settings, out_dir: Path, *, now: datetime | None = None, pdf: bool = True) -> list[Path]:
    """Read the claims database, build the report, write report.html (and report.pdf); return the paths."""
    now = now or datetime.now(UTC)
    settings.home.mkdir(parents=True, exist_ok=True)
    repo = Repository.open(settings.db_url)
    try:
        snap = kpi.load_snapshot(repo, with_confidence=True)
    finally:
        repo.close()
    report = build_report(snap, now=now, sla_hours=settings.review_sla_hours)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(report), encoding="utf-8")
    written = [html_path]
    if pdf:
        pdf_path = out_dir / "report.pdf"
        render_pdf(report, pdf_path)
        written.append(pdf_path)
    return written
