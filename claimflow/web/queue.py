"""The review queue as the workstation shows it: open tasks with priority, age, SLA state, and the filters.

Pure functions over review task rows (time is passed in). Filters are by queue, priority, age and reason
code only, so the queue page's links never carry a name, policy number or amount.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime

from claimflow.store.repository import as_datetime
from claimflow.store.tables import ReviewTaskRow

HIGH_PRIORITY_QUEUES = frozenset({"fraud"})
HIGH_PRIORITY_REASONS = frozenset(
    {"duplicate_claim", "payout_guardrail", "rule_error", "extraction_error", "unexpected_error"}
)
DUE_SOON_SHARE = 0.25  # the last quarter of the SLA
AGE_FILTERS = {"": "any age", "over_sla": "SLA breached", "gt24": "older than 24 h", "gt72": "older than 72 h"}
PRIORITIES = ("high", "normal")


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One open task as listed: what a reviewer needs to pick the next case."""

    task_id: int
    claim_id: str
    queue: str
    priority: str
    age_hours: float
    sla_state: str
    due_in_hours: float
    reasons: tuple[str, ...]
    recommendation: str | None
    awaiting_second: bool = False


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The queue page's filters; empty strings mean 'all'."""

    queue: str = ""
    priority: str = ""
    reason: str = ""
    age: str = ""


@dataclass(slots=True)
class QueuePage:
    """The rows to show and the choices of each filter (from all open tasks, not only the filtered ones)."""

    rows: list[QueueRow]
    total: int
    queues: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    breached: int = 0


def priority_of(queue: str, reason_codes: Iterable[str]) -> str:
    """Return 'high' for the fraud queue or a reason that signals a possible loss, else 'normal'."""
    if queue in HIGH_PRIORITY_QUEUES or HIGH_PRIORITY_REASONS & set(reason_codes):
        return "high"
    return "normal"


def sla_state(age_hours: float, sla_hours: float) -> str:
    """Return 'breached' past the SLA, 'due_soon' in its last quarter, else 'ok'."""
    if age_hours >= sla_hours:
        return "breached"
    if age_hours >= sla_hours * (1 - DUE_SOON_SHARE):
        return "due_soon"
    return "ok"


def queue_row(task: ReviewTaskRow, *, now: datetime, sla_hours: float, awaiting_second: bool = False) -> QueueRow:
    """Return the queue row of one open task."""
    age = max((now - as_datetime(task.created_at)).total_seconds() / 3600, 0.0)
    codes = tuple(str(r.get("code", "")) for r in json.loads(task.reasons_json or "[]") if isinstance(r, dict))
    return QueueRow(
        task_id=task.id or 0,
        claim_id=task.claim_id,
        queue=task.queue,
        priority=priority_of(task.queue, codes),
        age_hours=round(age, 1),
        sla_state=sla_state(age, sla_hours),
        due_in_hours=round(sla_hours - age, 1),
        reasons=codes,
        recommendation=task.recommendation,
        awaiting_second=awaiting_second,
    )


def matches(row: QueueRow, wanted: QueueFilter, sla_hours: float) -> bool:
    """Return whether a row passes every filter."""
    if wanted.queue and row.queue != wanted.queue:
        return False
    if wanted.priority and row.priority != wanted.priority:
        return False
    if wanted.reason and wanted.reason not in row.reasons:
        return False
    if wanted.age == "over_sla":
        return row.sla_state == "breached"
    if wanted.age == "gt24":
        return row.age_hours > 24
    if wanted.age == "gt72":
        return row.age_hours > 72
    return True


def build_queue(
    tasks: Sequence[ReviewTaskRow],
    wanted: QueueFilter,
    *,
    now: datetime,
    sla_hours: float,
    awaiting_second: Set[int] = frozenset(),
) -> QueuePage:
    """Return the filtered queue, most urgent first: SLA breached, then high priority, then oldest.

    `awaiting_second` holds the tasks whose payout has a first approval and waits for a second person.
    """
    rows = [queue_row(t, now=now, sla_hours=sla_hours, awaiting_second=t.id in awaiting_second) for t in tasks]
    urgency = {"breached": 0, "due_soon": 1, "ok": 2}
    shown = sorted(
        (r for r in rows if matches(r, wanted, sla_hours)),
        key=lambda r: (urgency[r.sla_state], r.priority != "high", -r.age_hours, r.task_id),
    )
    return QueuePage(
        rows=shown,
        total=len(rows),
        queues=sorted({r.queue for r in rows}),
        reasons=sorted({c for r in rows for c in r.reasons if c}),
        breached=sum(r.sla_state == "breached" for r in rows),
    )
