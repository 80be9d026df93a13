"""Document reminders: what is missing, one message per slot, SMTP delivery, stop on arrival, escalation."""

from __future__ import annotations

import asyncio
import email
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ops_builders import T0, add_claim, add_request, add_review, open_repo
from sqlmodel import select

from claimflow.reminders import current_slot, escalate_reviews, run_reminders, waiting_claims
from claimflow.store.ops_tables import OutboxMessageRow
from claimflow.store.tables import ClaimRow, ReviewTaskRow


class TinySmtpServer:
    """A minimal SMTP server on 127.0.0.1 (asyncio, in a thread) that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 tiny ESMTP\r\n")
        data: list[bytes] = []
        in_data = False
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    self.messages.append(b"".join(data))
                    data, in_data = [], False
                    writer.write(b"250 queued\r\n")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250 tiny\r\n")
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def __enter__(self) -> TinySmtpServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def smtp() -> Iterator[TinySmtpServer]:
    with TinySmtpServer() as server:
        yield server


def _outbox(repo: object) -> list[OutboxMessageRow]:
    with repo.reading() as s:  # type: ignore[attr-defined]
        return list(s.exec(select(OutboxMessageRow).order_by(OutboxMessageRow.id)).all())  # type: ignore[arg-type]


def test_slots() -> None:
    assert current_slot(T0, T0, 72) == 0
    assert current_slot(T0, T0 + timedelta(hours=71.9), 72) == 0
    assert current_slot(T0, T0 + timedelta(hours=72), 72) == 1
    assert current_slot(T0, T0 - timedelta(hours=1), 72) == 0


def test_reminders_once_per_slot_by_smtp_and_stop_when_documents_arrive(
    tmp_path: Path, smtp: TinySmtpServer
) -> None:
    repo, settings = open_repo(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, reminder_to="claims-team@example.com"
    )
    add_claim(repo, "CLM-1", status="pending_documents", route="request_documents", decided=T0)
    add_request(repo, "CLM-1", created=T0, missing=["invoice"])

    [waiting] = waiting_claims(repo, settings, now=T0 + timedelta(hours=1))
    assert waiting.missing == ["invoice"] and waiting.reminders == 0 and waiting.next_due == T0

    first = run_reminders(repo, settings, now=T0 + timedelta(hours=1))
    again = run_reminders(repo, settings, now=T0 + timedelta(hours=2))  # same slot: nothing new
    assert (first.sent, again.sent, again.not_due) == (1, 0, 1)
    later = run_reminders(repo, settings, now=T0 + timedelta(hours=73))  # slot 1
    assert later.sent == 1
    assert len(smtp.messages) == 2
    message = email.message_from_bytes(smtp.messages[0])
    assert message["To"] == "claims-team@example.com" and "CLM-1" in message["Subject"]
    assert "invoice" in message.get_payload()  # type: ignore[operator]
    rows = _outbox(repo)
    assert [r.slot for r in rows] == [0, 1] and all(r.status == "sent" for r in rows)
    assert all(Path(r.file_path or "").is_file() for r in rows)
    [waiting] = waiting_claims(repo, settings, now=T0 + timedelta(hours=74))
    assert waiting.reminders == 2 and waiting.next_due == T0 + timedelta(hours=144)

    with repo.transaction() as s:  # the invoice arrived and the claim was decided again
        claim = s.get(ClaimRow, "CLM-1")
        assert claim is not None
        claim.status = "settled"
        s.add(claim)
    stopped = run_reminders(repo, settings, now=T0 + timedelta(hours=150))
    assert stopped.stopped == 1 and stopped.sent == 0 and len(smtp.messages) == 2
    assert waiting_claims(repo, settings, now=T0 + timedelta(hours=150)) == []


def test_smtp_down_keeps_the_message_and_retries(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path, smtp_host="127.0.0.1", smtp_port=1, reminder_to="team@example.com")
    add_claim(repo, "CLM-1", status="pending_documents", route="request_documents", decided=T0)
    add_request(repo, "CLM-1", created=T0, missing=["invoice"])
    result = run_reminders(repo, settings, now=T0)
    assert result.failed == 1 and result.errors
    [row] = _outbox(repo)
    assert row.status == "failed" and Path(row.file_path or "").is_file()
    sent: list[object] = []
    retry = run_reminders(repo, settings, now=T0 + timedelta(hours=1), transport=sent.append)
    assert retry.sent == 1 and len(sent) == 1 and len(_outbox(repo)) == 1


def test_without_smtp_messages_are_rendered_to_the_outbox_folder(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path)
    add_claim(repo, "CLM-1", status="pending_documents", route="request_documents", decided=T0)
    add_request(repo, "CLM-1", created=T0, missing=["invoice", "police_report"])
    result = run_reminders(repo, settings, now=T0)
    assert result.rendered == 1 and result.sent == 0
    [eml] = list(settings.outbox_dir.glob("*.eml"))
    text = eml.read_text()
    assert "police report" in text and "CLM-1" in text


def test_claim_waiting_too_long_is_escalated_to_review(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path, document_wait_days=14)
    add_claim(repo, "CLM-1", status="pending_documents", route="request_documents", decided=T0)
    add_request(repo, "CLM-1", created=T0, missing=["invoice"])
    assert run_reminders(repo, settings, now=T0 + timedelta(days=13)).escalated == 0
    result = run_reminders(repo, settings, now=T0 + timedelta(days=14, hours=1))
    assert result.escalated == 1
    claim = repo.claim("CLM-1")
    assert claim is not None and claim.status == "in_review"
    [task] = repo.open_reviews("documents_overdue")
    assert "documents_overdue" in task.reasons_json
    assert run_reminders(repo, settings, now=T0 + timedelta(days=15)).escalated == 0
    assert [e.action for e in repo.audit_events("claim", "CLM-1")][-1] == "claim_escalated"


def test_review_past_sla_escalates_once(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path, review_sla_hours=24, escalation_to="supervisors@example.com")
    add_claim(repo, "CLM-1", status="in_review", route="review", decided=T0)
    add_review(repo, "CLM-1", created=T0)
    sent: list[object] = []
    assert escalate_reviews(repo, settings, now=T0 + timedelta(hours=23), transport=sent.append).escalated == 0
    assert escalate_reviews(repo, settings, now=T0 + timedelta(hours=25), transport=sent.append).escalated == 1
    assert escalate_reviews(repo, settings, now=T0 + timedelta(hours=30), transport=sent.append).escalated == 0
    assert len(sent) == 1
    with repo.reading() as s:
        assert s.exec(select(ReviewTaskRow)).one().status == "open"
