"""Missing documents and reminders: what a waiting claim still needs, reminders on a schedule, escalation.

A claim routed to `request_documents` has an open document request listing the missing document types.
`run_reminders` (the `document-reminders` deployment, or `claimflow reminders --send`):
- closes requests whose claim no longer waits (the document arrived and the claim was decided again): the
  reminders stop;
- escalates a claim that waited longer than `document_wait_days` to the review queue `documents_overdue`;
- otherwise sends the reminder of the current slot (slot n is due `n * reminder_interval_hours` after the
  request; slot 0 is the first notice). Exactly once per slot: the outbox row's idempotency key
  (request id + slot) is unique, and the row is committed before anything leaves the building.

`escalate_reviews` (the `review-escalation` deployment) sends supervisors one message per review task that is
open longer than `review_sla_hours`, with the same outbox. Each outbox row is rendered to a message file under
CLAIMFLOW_HOME/outbox and sent by SMTP when CLAIMFLOW_SMTP_HOST is set; a failed send stays `failed` and is
retried on the next run. SMTP delivery is at-least-once if the process dies between the send and the commit
that marks it sent; the message id carries the idempotency key so mail systems can drop the repeat.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from claimflow.errors import ReasonCode
from claimflow.models import ClaimStatus, Route
from claimflow.settings import Settings
from claimflow.store.ops_tables import OutboxMessageRow
from claimflow.store.repository import Repository, as_datetime
from claimflow.store.tables import ClaimRow, DocumentRequestRow, ReviewTaskRow, utcnow

OVERDUE_QUEUE = "documents_overdue"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Transport = Callable[[EmailMessage], None]
"""Sends one message or raises OSError / smtplib.SMTPException."""


@dataclass(frozen=True, slots=True)
class WaitingClaim:
    """A claim waiting for documents: what is missing, since when, and the reminders so far."""

    claim_id: str
    request_id: int
    missing: list[str]
    since: datetime
    reminders: int
    next_slot: int
    next_due: datetime
    escalate_at: datetime

    def to_json(self) -> dict[str, Any]:
        """Return the `--json` form (times as ISO text)."""
        return {
            "claim_id": self.claim_id,
            "request_id": self.request_id,
            "missing_documents": self.missing,
            "waiting_since": self.since.isoformat(),
            "reminders_sent": self.reminders,
            "next_reminder_due": self.next_due.isoformat(),
            "escalated_after": self.escalate_at.isoformat(),
        }


@dataclass
class ReminderResult:
    """What one reminder run did (counts only)."""

    rendered: int = 0
    sent: int = 0
    failed: int = 0
    stopped: int = 0
    escalated: int = 0
    not_due: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, int]:
        """Return the counts (no claim ids: this goes to the dashboard)."""
        return {
            "rendered": self.rendered,
            "sent": self.sent,
            "failed": self.failed,
            "stopped": self.stopped,
            "escalated": self.escalated,
            "not_due": self.not_due,
        }


def reminder_key(request_id: int, slot: int, kind: str = "document_reminder") -> str:
    """Return the idempotency key of one reminder slot (or one escalation)."""
    return hashlib.sha256(f"{kind}|{request_id}|{slot}".encode()).hexdigest()


def current_slot(since: datetime, now: datetime, interval_hours: float) -> int:
    """Return the reminder slot due at `now` (0 at the request, 1 after one interval, ...)."""
    elapsed = max((now - since).total_seconds(), 0.0) / 3600.0
    return int(math.floor(elapsed / interval_hours))


def waiting_claims(repo: Repository, settings: Settings, *, now: datetime) -> list[WaitingClaim]:
    """Return the claims waiting for documents with what is missing and when the next reminder is due."""
    out: list[WaitingClaim] = []
    with repo.reading() as s:
        rows = s.exec(
            select(DocumentRequestRow, ClaimRow)
            .join(ClaimRow, col(ClaimRow.claim_id) == col(DocumentRequestRow.claim_id))
            .where(DocumentRequestRow.status == "open", ClaimRow.status == ClaimStatus.PENDING_DOCUMENTS.value)
            .order_by(col(DocumentRequestRow.id))
        ).all()
        for request, claim in rows:
            sent = s.exec(
                select(OutboxMessageRow.slot).where(
                    OutboxMessageRow.request_id == request.id, OutboxMessageRow.kind == "document_reminder"
                )
            ).all()
            since = as_datetime(request.created_at)
            slot = current_slot(since, now, settings.reminder_interval_hours)
            next_slot = slot if slot not in sent else slot + 1
            out.append(
                WaitingClaim(
                    claim_id=claim.claim_id,
                    request_id=request.id or 0,
                    missing=list(json.loads(request.missing_json or "[]")),
                    since=since,
                    reminders=len(sent),
                    next_slot=next_slot,
                    next_due=since + timedelta(hours=settings.reminder_interval_hours * next_slot),
                    escalate_at=since + timedelta(days=settings.document_wait_days),
                )
            )
    return out


def smtp_transport(settings: Settings) -> Transport | None:
    """Return an SMTP sender when CLAIMFLOW_SMTP_HOST is set, else None (messages stay in the outbox folder)."""
    host = settings.smtp_host
    if not host:
        return None

    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    return send


def run_reminders(
    repo: Repository, settings: Settings, *, now: datetime | None = None, transport: Transport | None = None
) -> ReminderResult:
    """Stop, escalate or send the due document reminders; deliver queued outbox messages. Idempotent."""
    now = now or utcnow()
    result = ReminderResult()
    with repo.transaction() as s:
        requests = s.exec(
            select(DocumentRequestRow).where(DocumentRequestRow.status == "open").order_by(col(DocumentRequestRow.id))
        ).all()
        for request in requests:
            claim = s.get(ClaimRow, request.claim_id)
            if claim is None or claim.status != ClaimStatus.PENDING_DOCUMENTS.value:
                _close_request(repo, s, request, "fulfilled", reason="the claim no longer waits for documents")
                result.stopped += 1
                continue
            since = as_datetime(request.created_at)
            if now - since > timedelta(days=settings.document_wait_days):
                _escalate_to_review(repo, s, request, claim, settings)
                result.escalated += 1
                continue
            slot = current_slot(since, now, settings.reminder_interval_hours)
            key = reminder_key(request.id or 0, slot)
            if s.exec(select(OutboxMessageRow.id).where(OutboxMessageRow.idempotency_key == key)).first():
                result.not_due += 1
                continue
            missing = list(json.loads(request.missing_json or "[]"))
            s.add(
                OutboxMessageRow(
                    idempotency_key=key,
                    claim_id=claim.claim_id,
                    request_id=request.id,
                    kind="document_reminder",
                    slot=slot,
                    recipient=settings.reminder_to,
                    subject=f"Claim {claim.claim_id}: documents still needed ({', '.join(missing) or 'see letter'})",
                    status="queued",
                )
            )
            repo.audit(
                s,
                actor="system",
                action="reminder_queued",
                entity="claim",
                entity_id=claim.claim_id,
                data={"request_id": request.id, "slot": slot, "missing": missing},
            )
    deliver_outbox(repo, settings, transport=transport, result=result)
    return result


def _close_request(repo: Repository, s: Any, request: DocumentRequestRow, status: str, *, reason: str) -> None:
    request.status = status
    s.add(request)
    repo.audit(
        s,
        actor="system",
        action=f"document_request_{status}",
        entity="claim",
        entity_id=request.claim_id,
        reason=reason,
        data={"request_id": request.id},
    )


def _escalate_to_review(
    repo: Repository, s: Any, request: DocumentRequestRow, claim: ClaimRow, settings: Settings
) -> None:
    missing = list(json.loads(request.missing_json or "[]"))
    message = (
        f"waited more than {settings.document_wait_days:g} days for {', '.join(missing) or 'documents'}; "
        "a person decides (call the claimant, or decide without them)"
    )
    reasons = [{"code": ReasonCode.DOCUMENTS_OVERDUE.value, "message": message}]
    task = repo.open_review(s, claim.claim_id) or ReviewTaskRow(claim_id=claim.claim_id)
    task.queue = OVERDUE_QUEUE
    task.reasons_json = json.dumps(reasons)
    s.add(task)
    claim.status = ClaimStatus.IN_REVIEW.value
    claim.route = Route.REVIEW.value
    claim.updated_at = utcnow()
    s.add(claim)
    request.status = "escalated"
    s.add(request)
    repo.audit(
        s,
        actor="system",
        action="claim_escalated",
        entity="claim",
        entity_id=claim.claim_id,
        reason=ReasonCode.DOCUMENTS_OVERDUE.value,
        data={"request_id": request.id, "queue": OVERDUE_QUEUE, "missing": missing},
    )


def escalate_reviews(
    repo: Repository, settings: Settings, *, now: datetime | None = None, transport: Transport | None = None
) -> ReminderResult:
    """Send supervisors one message per review task open longer than the SLA (once per task); deliver the outbox."""
    now = now or utcnow()
    result = ReminderResult()
    limit = timedelta(hours=settings.review_sla_hours)
    with repo.transaction() as s:
        tasks = s.exec(
            select(ReviewTaskRow).where(ReviewTaskRow.status == "open").order_by(col(ReviewTaskRow.id))
        ).all()
        for task in tasks:
            age = now - as_datetime(task.created_at)
            if age <= limit:
                result.not_due += 1
                continue
            key = reminder_key(task.id or 0, 0, kind="review_escalation")
            if s.exec(select(OutboxMessageRow.id).where(OutboxMessageRow.idempotency_key == key)).first():
                continue
            s.add(
                OutboxMessageRow(
                    idempotency_key=key,
                    claim_id=task.claim_id,
                    kind="review_escalation",
                    slot=0,
                    recipient=settings.escalation_to,
                    subject=f"Review task {task.id} ({task.queue}) open {age.total_seconds() / 3600:.0f} h: over SLA",
                    status="queued",
                )
            )
            repo.audit(
                s,
                actor="system",
                action="review_escalated",
                entity="claim",
                entity_id=task.claim_id,
                reason=ReasonCode.REVIEW_SLA_BREACHED.value,
                data={"task_id": task.id, "queue": task.queue, "sla_hours": settings.review_sla_hours},
            )
            result.escalated += 1
    deliver_outbox(repo, settings, transport=transport, result=result)
    return result


def render_message(row: OutboxMessageRow, repo: Repository, settings: Settings) -> EmailMessage:
    """Render one outbox row as an e-mail (deterministic: the same row gives the same message)."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = row.recipient or "undisclosed-recipients:;"
    message["Subject"] = row.subject
    message["Message-ID"] = f"<{row.idempotency_key}@claimflow>"
    message["Date"] = format_datetime(as_datetime(row.created_at))
    message["X-ClaimFlow-Key"] = row.idempotency_key
    message.set_content(_body(row, repo))
    return message


def _body(row: OutboxMessageRow, repo: Repository) -> str:
    if row.kind == "review_escalation":
        return (
            f"{row.subject}.\n\nOpen it with: claimflow show {row.claim_id}\n"
            "This message is sent once per task when it passes the review SLA.\n"
        )
    with repo.reading() as s:
        request = s.get(DocumentRequestRow, row.request_id) if row.request_id else None
    missing = list(json.loads(request.missing_json or "[]")) if request else []
    lines = "\n".join(f"  - {name.replace('_', ' ')}" for name in missing) or "  - (see your claim)"
    opening = "We are still waiting" if row.slot else "To decide your claim we need"
    return (
        f"Dear claimant,\n\n{opening} for the following document(s) for claim {row.claim_id}:\n{lines}\n\n"
        "Please send them by reply or upload them as before. If you have already sent them, please ignore "
        "this message.\n\nYour claims team\n"
    )


def deliver_outbox(
    repo: Repository, settings: Settings, *, transport: Transport | None = None, result: ReminderResult | None = None
) -> ReminderResult:
    """Render every queued or failed outbox row to its file and send it when a transport is configured."""
    result = result or ReminderResult()
    transport = transport if transport is not None else smtp_transport(settings)
    with repo.reading() as s:
        pending = s.exec(
            select(OutboxMessageRow)
            .where(col(OutboxMessageRow.status).in_(["queued", "failed"]))
            .order_by(col(OutboxMessageRow.id))
        ).all()
    for row in pending:
        message = render_message(row, repo, settings)
        path = write_message_file(settings.outbox_dir, row.idempotency_key, message)
        status, error = "rendered", None
        if transport is not None and row.recipient and EMAIL_RE.match(row.recipient):
            try:
                transport(message)
                status = "sent"
            except (OSError, smtplib.SMTPException) as exc:
                status, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
                result.errors.append(f"outbox message {row.id}: {error}")
        with repo.transaction() as s:
            stored = s.get(OutboxMessageRow, row.id)
            if stored is None:  # pragma: no cover - rows are never deleted
                continue
            stored.file_path = str(path)
            stored.status = status
            stored.error = error
            stored.sent_at = utcnow() if status == "sent" else None
            s.add(stored)
        result.rendered += 1
        result.sent += status == "sent"
        result.failed += status == "failed"
    return result


def write_message_file(folder: Path, key: str, message: EmailMessage) -> Path:
    """Write the message as an .eml file atomically (named by its idempotency key, so a rerun overwrites it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key[:24]}.eml"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(bytes(message))
    partial.replace(path)
    return path
