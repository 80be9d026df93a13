"""What supervisors see: aggregate figures over the claims database, with no personal data.

`load_snapshot(repo)` reads the few columns the figures need (ids, states, times, reason codes: never names,
numbers or amounts of a claimant); every other function here is pure over that snapshot, so the figures are
tested without a database and published by `flows/` as Prefect artifacts, printed by `claimflow status` and
drawn by `claimflow report`. Times are hours; rates are fractions in [0, 1].
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from claimflow.rules import RuleSet
from claimflow.serialise import stored_extractions
from claimflow.settings import Settings
from claimflow.specs import SpecSet
from claimflow.store.repository import Repository, as_datetime
from claimflow.store.tables import (
    ClaimDocumentRow,
    ClaimRow,
    DecisionRow,
    DocumentRow,
    FieldCorrectionRow,
    ReviewTaskRow,
    SettlementRow,
)

DOCUMENT_STATES = ("received", "processing", "decided", "quarantined")
AGE_BUCKETS: tuple[tuple[str, float], ...] = (("<4h", 4.0), ("4-24h", 24.0), ("1-3d", 72.0), (">3d", math.inf))
CONFIDENCE_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """The times and states of one claim that the figures need (no field values)."""

    claim_id: str
    status: str
    route: str | None
    first_document_at: datetime | None
    first_decision_at: datetime | None
    settled_at: datetime | None
    settled_by_system: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """One review task: queue, state and times."""

    queue: str
    status: str
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConfidencePoint:
    """One extracted field of a claim a person reviewed: its confidence and whether the person corrected it."""

    confidence: float
    corrected: bool


@dataclass
class Snapshot:
    """What the figures are computed from, read once from the repository."""

    documents: Counter[str] = field(default_factory=Counter)
    claims: list[ClaimFacts] = field(default_factory=list)
    reviews: list[ReviewFacts] = field(default_factory=list)
    confidence: list[ConfidencePoint] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Stats:
    """Count, mean and 95th percentile of a duration in hours (None without data)."""

    n: int
    average_hours: float | None
    p95_hours: float | None

    def to_json(self) -> dict[str, Any]:
        """Return a plain dict (hours rounded to 0.01)."""
        return {
            "n": self.n,
            "average_hours": None if self.average_hours is None else round(self.average_hours, 2),
            "p95_hours": None if self.p95_hours is None else round(self.p95_hours, 2),
        }


# ----------------------------------------------------------------------------- loading
def load_snapshot(repo: Repository, *, with_confidence: bool = False) -> Snapshot:
    """Read ids, states, times and reason codes from the repository (never field values)."""
    snap = Snapshot()
    with repo.reading() as s:
        docs = s.exec(select(DocumentRow.id, DocumentRow.status)).all()
        links = s.exec(select(ClaimDocumentRow.claim_id, ClaimDocumentRow.document_id)).all()
        received = dict(s.exec(select(DocumentRow.id, DocumentRow.received_at)).all())
        claim_rows = s.exec(select(ClaimRow.claim_id, ClaimRow.status, ClaimRow.route)).all()
        decisions = s.exec(
            select(DecisionRow.claim_id, DecisionRow.decided_at, DecisionRow.reasons_json).order_by(
                col(DecisionRow.id)
            )
        ).all()
        settlements = s.exec(select(SettlementRow.claim_id, SettlementRow.created_at, SettlementRow.actor)).all()
        reviews = s.exec(
            select(
                ReviewTaskRow.queue,
                ReviewTaskRow.status,
                ReviewTaskRow.created_at,
                col(ReviewTaskRow.closed_at),
            )
        ).all()
    claim_status = {cid: status for cid, status, _route in claim_rows}
    doc_claims: dict[int, list[str]] = defaultdict(list)
    first_doc: dict[str, datetime] = {}
    for claim_id, document_id in links:
        doc_claims[document_id].append(claim_id)
        at = received.get(document_id)
        if at is not None:
            at = as_datetime(at)
            first_doc[claim_id] = min(first_doc.get(claim_id, at), at)
    for doc_id, status in docs:
        statuses = [claim_status.get(c, "") for c in doc_claims.get(doc_id or 0, [])]
        snap.documents[document_state(status, statuses)] += 1
    first_decision: dict[str, datetime] = {}
    last_reasons: dict[str, tuple[str, ...]] = {}
    for claim_id, decided_at, reasons_json in decisions:
        first_decision.setdefault(claim_id, as_datetime(decided_at))
        last_reasons[claim_id] = tuple(sorted({str(r.get("code")) for r in json.loads(reasons_json or "[]")}))
    settled = {claim_id: (as_datetime(at), actor == "system") for claim_id, at, actor in settlements}
    for claim_id, status, route in claim_rows:
        settled_at, by_system = settled.get(claim_id, (None, False))
        snap.claims.append(
            ClaimFacts(
                claim_id=claim_id,
                status=status,
                route=route,
                first_document_at=first_doc.get(claim_id),
                first_decision_at=first_decision.get(claim_id),
                settled_at=settled_at,
                settled_by_system=by_system,
                reasons=last_reasons.get(claim_id, ()),
            )
        )
    snap.reviews = [
        ReviewFacts(queue, status, as_datetime(created), as_datetime(closed) if closed else None)
        for queue, status, created, closed in reviews
    ]
    if with_confidence:
        snap.confidence = load_confidence_points(repo)
    return snap


def document_state(status: str, claim_statuses: Sequence[str]) -> str:
    """Map a stored document status (and its claims' states) onto received / processing / decided / quarantined.

    A document taken in but not yet read is `processing`; a processed document is `decided` once its claims
    have a route (a register or a duplicate has no claim of its own and counts as decided), else `processing`.
    """
    if status == "quarantined":
        return "quarantined"
    if status == "received":
        return "processing"
    if claim_statuses and all(s == "received" for s in claim_statuses):
        return "processing"
    return "decided"


def load_confidence_points(repo: Repository) -> list[ConfidencePoint]:
    """Return the confidence of every field on documents of claims a person reviewed, and whether it was corrected.

    Only reviewed claims count: a person looked at those fields, so an uncorrected field is taken as right. The
    learning loop's corrections are the only ground truth the running system has.
    """
    points: list[ConfidencePoint] = []
    with repo.reading() as s:
        reviewed = set(s.exec(select(ReviewTaskRow.claim_id).where(ReviewTaskRow.status == "closed")).all())
        if not reviewed:
            return points
        corrected = {
            (claim_id, name) for claim_id, name in s.exec(select(FieldCorrectionRow.claim_id, FieldCorrectionRow.field))
        }
        rows = s.exec(
            select(ClaimDocumentRow.claim_id, DocumentRow.extraction_json)
            .join(DocumentRow, col(DocumentRow.id) == col(ClaimDocumentRow.document_id))
            .where(col(ClaimDocumentRow.claim_id).in_(sorted(reviewed)))
        ).all()
    for claim_id, extraction_json in rows:
        if not extraction_json:
            continue
        for extraction in stored_extractions(json.loads(extraction_json)):
            for name, item in extraction.fields.items():
                points.append(ConfidencePoint(float(item.confidence), (claim_id, name) in corrected))
    return points


def count_inbox_files(inbox: Path) -> int:
    """Count files waiting in the inbox (not yet taken), ignoring hidden files and READMEs."""
    if not inbox.is_dir():
        return 0
    return sum(
        1
        for p in inbox.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name.upper() not in {"README.MD", "README.TXT"}
    )


# ----------------------------------------------------------------------------- figures
def document_states(snap: Snapshot, waiting_in_inbox: int = 0) -> dict[str, int]:
    """Return documents by state: received (in the inbox, not taken yet), processing, decided, quarantined."""
    states = {name: int(snap.documents.get(name, 0)) for name in DOCUMENT_STATES}
    states["received"] += waiting_in_inbox
    return states


def claims_by_route(snap: Snapshot) -> dict[str, int]:
    """Return claims per current route ('undecided' for claims without one yet)."""
    return dict(sorted(Counter(c.route or "undecided" for c in snap.claims).items()))


def claims_by_status(snap: Snapshot) -> dict[str, int]:
    """Return claims per case state."""
    return dict(sorted(Counter(c.status for c in snap.claims).items()))


def stp_rate(snap: Snapshot) -> float:
    """Return the share of decided claims settled with no person involved."""
    decided = [c for c in snap.claims if c.first_decision_at is not None]
    if not decided:
        return 0.0
    return round(sum(1 for c in decided if c.settled_by_system) / len(decided), 4)


def review_backlog(snap: Snapshot, *, now: datetime, sla_hours: float) -> list[dict[str, Any]]:
    """Return one row per review queue: open tasks by age bucket, the oldest age, SLA breaches, completed tasks."""
    queues: dict[str, dict[str, Any]] = {}
    for task in snap.reviews:
        row = queues.setdefault(
            task.queue,
            {"queue": task.queue, "open": 0, **{name: 0 for name, _ in AGE_BUCKETS}, "oldest_hours": 0.0,
             "sla_breaches": 0, "completed": 0},
        )
        if task.status != "open":
            row["completed"] += 1
            continue
        age = max((now - task.created_at).total_seconds() / 3600, 0.0)
        row["open"] += 1
        row[next(name for name, limit in AGE_BUCKETS if age < limit)] += 1
        row["oldest_hours"] = round(max(row["oldest_hours"], age), 1)
        if age > sla_hours:
            row["sla_breaches"] += 1
    return [queues[name] for name in sorted(queues)]


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def duration_stats(hours: Sequence[float]) -> Stats:
    """Return count, mean and p95 of durations in hours."""
    if not hours:
        return Stats(0, None, None)
    return Stats(len(hours), sum(hours) / len(hours), percentile(hours, 95))


def cycle_hours(snap: Snapshot) -> dict[str, list[float]]:
    """Return per-claim hours from the first document to the first decision and to the settlement."""
    to_decision: list[float] = []
    to_settlement: list[float] = []
    for c in snap.claims:
        if c.first_document_at is None:
            continue
        if c.first_decision_at is not None:
            to_decision.append(max((c.first_decision_at - c.first_document_at).total_seconds(), 0.0) / 3600)
        if c.settled_at is not None:
            to_settlement.append(max((c.settled_at - c.first_document_at).total_seconds(), 0.0) / 3600)
    return {"to_decision": to_decision, "to_settlement": to_settlement}


def cycle_times(snap: Snapshot) -> dict[str, Stats]:
    """Return the cycle time from first document to decision and to settlement (count, average, p95)."""
    return {name: duration_stats(values) for name, values in cycle_hours(snap).items()}


def automation_trend(snap: Snapshot) -> list[dict[str, Any]]:
    """Return per day (of the first decision): claims decided, settled with no person, STP rate."""
    days: dict[date, list[ClaimFacts]] = defaultdict(list)
    for c in snap.claims:
        if c.first_decision_at is not None:
            days[c.first_decision_at.astimezone(UTC).date()].append(c)
    rows = []
    for day in sorted(days):
        claims = days[day]
        auto = sum(1 for c in claims if c.settled_by_system)
        rate = round(auto / len(claims), 4)
        rows.append({"day": day.isoformat(), "decided": len(claims), "auto_settled": auto, "stp_rate": rate})
    return rows


def reasons_pareto(snap: Snapshot, *, top: int = 15) -> list[dict[str, Any]]:
    """Return reason codes of the current decisions, most frequent first, with the cumulative share."""
    counts = Counter(code for c in snap.claims if c.route and c.route != "settle" for code in c.reasons)
    total = sum(counts.values())
    rows: list[dict[str, Any]] = []
    running = 0
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        running += n
        rows.append({"reason": code, "claims": n, "cumulative_share": round(running / total, 4)})
    return rows


def confidence_calibration(points: Iterable[ConfidencePoint]) -> list[dict[str, Any]]:
    """Return, per confidence bin, how many reviewed fields fell in it and the share a person left uncorrected."""
    bins: list[dict[str, Any]] = []
    items = list(points)
    for low, high in zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:], strict=False):
        inside = [p for p in items if low <= p.confidence < high]
        if not inside:
            continue
        right = sum(1 for p in inside if not p.corrected)
        bins.append(
            {
                "confidence": f"{low:.2f}-{min(high, 1.0):.2f}",
                "mean_confidence": round(sum(p.confidence for p in inside) / len(inside), 4),
                "fields": len(inside),
                "accuracy": round(right / len(inside), 4),
            }
        )
    return bins


def versions_in_force(ruleset: RuleSet, specs: SpecSet) -> list[dict[str, str]]:
    """Return the rule set and every extractor spec in force: name, version, effective date, content hash."""
    rows = [
        {
            "kind": "rule set",
            "name": ruleset.name,
            "version": ruleset.version,
            "effective_from": ruleset.effective_from.isoformat(),
            "sha256": ruleset.sha256[:12],
        }
    ]
    for spec in specs.ordered():
        source = specs.sources.get(spec.document_type)
        digest = ""
        if source is not None and source.is_file():
            digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
        rows.append(
            {"kind": "extractor", "name": spec.document_type, "version": str(spec.version), "effective_from": "",
             "sha256": digest}
        )
    return rows


def system_status(snap: Snapshot, *, now: datetime, sla_hours: float, waiting_in_inbox: int = 0) -> dict[str, Any]:
    """Return what is in the system now: documents by state, claims by route and state, review backlog."""
    backlog = review_backlog(snap, now=now, sla_hours=sla_hours)
    return {
        "documents": document_states(snap, waiting_in_inbox),
        "claims_by_route": claims_by_route(snap),
        "claims": claims_by_status(snap),
        "review_backlog": {
            "open": sum(r["open"] for r in backlog),
            "completed": sum(r["completed"] for r in backlog),
            "sla_breaches": sum(r["sla_breaches"] for r in backlog),
            "by_queue": {r["queue"]: r["open"] for r in backlog},
        },
    }


def supervisor_figures(
    snap: Snapshot, *, now: datetime, sla_hours: float, waiting_in_inbox: int = 0
) -> dict[str, Any]:
    """Return every aggregate the dashboard shows (status, backlog, cycle time, trend, reasons)."""
    return {
        "status": system_status(snap, now=now, sla_hours=sla_hours, waiting_in_inbox=waiting_in_inbox),
        "stp_rate": stp_rate(snap),
        "review_backlog": review_backlog(snap, now=now, sla_hours=sla_hours),
        "cycle_time": {name: stats.to_json() for name, stats in cycle_times(snap).items()},
        "automation_trend": automation_trend(snap),
        "reasons_pareto": reasons_pareto(snap),
    }


def flatten_counts(values: Mapping[str, Any]) -> str:
    """Render a mapping of counts as `a 1, b 2` (or `none`)."""
    return ", ".join(f"{k} {v}" for k, v in values.items()) or "none"


def collect_figures(settings: Settings, *, now: datetime | None = None) -> dict[str, Any]:
    """Open the claims database, read a snapshot and return `supervisor_figures` (aggregates only)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    repo = Repository.open(settings.db_url)
    try:
        snap = load_snapshot(repo)
    finally:
        repo.close()
    return supervisor_figures(
        snap,
        now=now or datetime.now(UTC),
        sla_hours=settings.review_sla_hours,
        waiting_in_inbox=count_inbox_files(settings.inbox),
    )
