"""Settlement output: payment instructions (ISO 20022 pain.001.001.09 or a finance CSV) and reconciliation.

Exactly once per settlement. A run works in three committed steps:
1. prepare: in one transaction, every settlement without a payment gets a payment row (unique settlement id,
   idempotency key = the settlement's key) in a new batch with its MsgId, NbOfTxs and CtrlSum, status
   `prepared`;
2. write: the file is built from those stored rows alone (deterministic: same rows, same bytes) and written
   atomically (temporary file, fsync, rename) under CLAIMFLOW_HOME/payments, named by its MsgId;
3. mark: the batch becomes `written`.
A crash after 1 or after 2 leaves a `prepared` batch; the next run writes that same file again (same MsgId,
same content) before preparing anything new, so a settlement is never put into a second payment, and the
bank sees one MsgId. A settlement is held (not instructed, listed in the reconciliation with `payment_held`)
when its payee IBAN is missing, fails mod-97, or was read below the confidence threshold: money is never
sent to a misread account.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from claimflow.errors import ConfigError, ReasonCode
from claimflow.normalise import iban_check_failure
from claimflow.routing import claim_view
from claimflow.settings import Settings
from claimflow.store.ops_tables import PaymentBatchRow, PaymentRow
from claimflow.store.repository import Repository, as_datetime
from claimflow.store.tables import ClaimRow, SettlementRow, utcnow

PAIN_NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
CENT = Decimal("0.01")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_TEXT = 70


@dataclass(frozen=True, slots=True)
class Payee:
    """Who a settlement is paid to, or why it is held."""

    name: str | None
    iban: str | None
    held_reason: str | None


@dataclass
class PaymentRunResult:
    """What one payment run did: the files written, counts and held settlements (ids only for the caller)."""

    files: list[Path] = field(default_factory=list)
    instructed: int = 0
    held: list[tuple[str, str]] = field(default_factory=list)
    recovered_batches: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return counts and file names (no claim ids: this goes to the dashboard)."""
        return {
            "files": [p.name for p in self.files],
            "instructed": self.instructed,
            "held": len(self.held),
            "recovered_batches": self.recovered_batches,
        }


def payment_format(settings: Settings) -> str:
    """Return the file format in force: pain.001 when asked (needs the payer IBAN), else CSV; `auto` picks."""
    if settings.payment_format == "auto":
        return "pain.001" if settings.payer_iban else "csv"
    if settings.payment_format == "pain.001" and not settings.payer_iban:
        raise ConfigError(
            "CLAIMFLOW_PAYMENT_FORMAT=pain.001 needs CLAIMFLOW_PAYER_IBAN (the account payments are made from); "
            "set it, or use CLAIMFLOW_PAYMENT_FORMAT=csv"
        )
    return settings.payment_format


def check_payer(settings: Settings) -> None:
    """Raise ConfigError when a configured payer IBAN fails its checksum (before any file is written)."""
    failure = iban_check_failure(settings.payer_iban) if settings.payer_iban else None
    if failure is not None:
        raise ConfigError(f"CLAIMFLOW_PAYER_IBAN fails the IBAN check ({failure}); correct it")


def payee_of(repo: Repository, s: Any, claim: ClaimRow, threshold: float) -> Payee:
    """Return the payee of a settled claim from its fields, or why the payment is held."""
    view, _ = claim_view(repo, s, claim)
    iban_field = view.fields.get("payee_iban")
    name_field = view.fields.get("claimant_name")
    name = name_field.value.strip() if name_field is not None and isinstance(name_field.value, str) else None
    if iban_field is None or not isinstance(iban_field.value, str) or not iban_field.value.strip():
        return Payee(name, None, "no payee IBAN on the claim")
    iban = re.sub(r"\s", "", iban_field.value).upper()
    failure = iban_check_failure(iban)
    if failure is not None:
        return Payee(name, None, f"payee IBAN fails the IBAN check ({failure})")
    if iban_field.confidence < threshold:
        return Payee(name, None, f"payee IBAN read with confidence {iban_field.confidence:.2f} < {threshold:.2f}")
    return Payee(name, iban, None)


def settlement_amount(row: SettlementRow) -> Decimal | None:
    """Return the settled amount with exactly two decimals, or None when it is not a positive amount in cents."""
    try:
        amount = Decimal(row.amount)
    except InvalidOperation:
        return None
    if amount <= 0 or amount != amount.quantize(CENT):
        return None
    return amount.quantize(CENT)


def _currency(row: SettlementRow, claim: ClaimRow) -> str | None:
    currency = (row.currency or claim.currency or "").upper()
    return currency if CURRENCY_RE.match(currency) else None


def _held_reason(repo: Repository, s: Any, row: SettlementRow, settings: Settings) -> tuple[Payee, str | None]:
    claim = s.get(ClaimRow, row.claim_id)
    if claim is None:  # pragma: no cover - foreign key
        return Payee(None, None, "claim missing"), "claim missing"
    payee = payee_of(repo, s, claim, settings.confidence_threshold)
    if settlement_amount(row) is None:
        return payee, f"settled amount {row.amount!r} is not a positive amount in cents"
    if _currency(row, claim) is None:
        return payee, "no currency on the settlement"
    return payee, payee.held_reason


def instruct_payments(
    repo: Repository,
    settings: Settings,
    *,
    now: datetime | None = None,
    after_file_written: Callable[[Path], None] | None = None,
) -> PaymentRunResult:
    """Write one payment file for the settlements not yet instructed (plus any batch a crash left prepared).

    `after_file_written` is called between writing the file and marking its batch written (tests inject a crash
    there).
    """
    now = now or utcnow()
    check_payer(settings)
    fmt = payment_format(settings)
    result = PaymentRunResult()
    for batch_id in _prepared_batches(repo):
        result.files.append(_write_and_mark(repo, settings, batch_id, after_file_written))
        result.recovered_batches += 1
    new_batch = _prepare_batch(repo, settings, fmt, now, result)
    if new_batch is not None:
        result.files.append(_write_and_mark(repo, settings, new_batch, after_file_written))
    return result


def _prepared_batches(repo: Repository) -> list[int]:
    with repo.reading() as s:
        ids = s.exec(
            select(PaymentBatchRow.id).where(PaymentBatchRow.status == "prepared").order_by(col(PaymentBatchRow.id))
        ).all()
    return [i for i in ids if i is not None]


def _prepare_batch(
    repo: Repository, settings: Settings, fmt: str, now: datetime, result: PaymentRunResult
) -> int | None:
    with repo.transaction() as s:
        instructed = set(s.exec(select(PaymentRow.settlement_id)).all())
        settlements = [
            row
            for row in s.exec(select(SettlementRow).order_by(col(SettlementRow.id))).all()
            if row.id not in instructed
        ]
        ready: list[tuple[SettlementRow, Payee, Decimal, str]] = []
        for row in settlements:
            payee, held = _held_reason(repo, s, row, settings)
            claim = s.get(ClaimRow, row.claim_id)
            amount = settlement_amount(row)
            currency = _currency(row, claim) if claim is not None else None
            if held is not None or payee.iban is None or amount is None or currency is None:
                result.held.append((row.claim_id, held or "not payable"))
                continue
            ready.append((row, payee, amount, currency))
        if not ready:
            return None
        sequence = len(s.exec(select(PaymentBatchRow.id)).all()) + 1
        msg_id = f"CF{now.astimezone(UTC):%Y%m%d%H%M%S}-{sequence:05d}"
        ext = "xml" if fmt == "pain.001" else "csv"
        batch = PaymentBatchRow(
            msg_id=msg_id,
            file_format=fmt,
            file_name=f"{msg_id}.{ext}",
            transactions=len(ready),
            control_sum=str(sum((amount for _, _, amount, _ in ready), Decimal("0.00"))),
            created_at=now,
        )
        s.add(batch)
        s.flush()
        for number, (row, payee, amount, currency) in enumerate(ready, start=1):
            s.add(
                PaymentRow(
                    settlement_id=row.id or 0,
                    idempotency_key=row.idempotency_key,
                    claim_id=row.claim_id,
                    batch_id=batch.id or 0,
                    end_to_end_id=f"{msg_id}-{number:05d}"[:35],
                    amount=str(amount),
                    currency=currency,
                    creditor_name=(payee.name or f"Claimant of {row.claim_id}")[:MAX_TEXT],
                    creditor_iban=payee.iban or "",
                    created_at=now,
                )
            )
        repo.audit(
            s,
            actor="system",
            action="payments_prepared",
            entity="payment_batch",
            entity_id=msg_id,
            data={"transactions": len(ready), "control_sum": batch.control_sum, "format": fmt},
        )
        result.instructed += len(ready)
        return batch.id


def _write_and_mark(
    repo: Repository, settings: Settings, batch_id: int, after_file_written: Callable[[Path], None] | None
) -> Path:
    with repo.reading() as s:
        batch = s.get(PaymentBatchRow, batch_id)
        rows = s.exec(select(PaymentRow).where(PaymentRow.batch_id == batch_id).order_by(col(PaymentRow.id))).all()
    if batch is None:  # pragma: no cover
        raise ConfigError(f"payment batch {batch_id} vanished")
    content = (
        render_pain001(batch, rows, settings) if batch.file_format == "pain.001" else render_csv(batch, rows)
    )
    path = settings.payments_dir / batch.file_name
    write_atomically(path, content)
    if after_file_written is not None:
        after_file_written(path)
    with repo.transaction() as s:
        stored = s.get(PaymentBatchRow, batch_id)
        if stored is not None and stored.status != "written":
            stored.status = "written"
            stored.written_at = utcnow()
            s.add(stored)
            repo.audit(
                s,
                actor="system",
                action="payment_file_written",
                entity="payment_batch",
                entity_id=stored.msg_id,
                data={"file": stored.file_name, "sha256": hashlib.sha256(content).hexdigest()},
            )
    return path


def write_atomically(path: Path, content: bytes) -> None:
    """Write bytes to a temporary file, fsync, and rename it into place (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


# --------------------------------------------------------------------------- file formats
def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def render_pain001(batch: PaymentBatchRow, rows: Sequence[PaymentRow], settings: Settings) -> bytes:
    """Build the ISO 20022 pain.001.001.09 document: one PmtInf per currency, amounts with two decimals."""
    ET.register_namespace("", PAIN_NS)
    created = as_datetime(batch.created_at).astimezone(UTC).replace(microsecond=0)
    root = ET.Element(f"{{{PAIN_NS}}}Document")
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", batch.msg_id)
    _sub(header, "CreDtTm", created.isoformat().replace("+00:00", "Z"))
    _sub(header, "NbOfTxs", str(len(rows)))
    _sub(header, "CtrlSum", _money_text(sum((Decimal(r.amount) for r in rows), Decimal("0"))))
    _sub(_sub(header, "InitgPty"), "Nm", settings.payer_name[:MAX_TEXT])
    by_currency: dict[str, list[PaymentRow]] = defaultdict(list)
    for row in rows:
        by_currency[row.currency].append(row)
    for currency in sorted(by_currency):
        group = by_currency[currency]
        info = _sub(initiation, "PmtInf")
        _sub(info, "PmtInfId", f"{batch.msg_id}-{currency}")
        _sub(info, "PmtMtd", "TRF")
        _sub(info, "NbOfTxs", str(len(group)))
        _sub(info, "CtrlSum", _money_text(sum((Decimal(r.amount) for r in group), Decimal("0"))))
        _sub(_sub(info, "ReqdExctnDt"), "Dt", created.date().isoformat())
        _sub(_sub(info, "Dbtr"), "Nm", settings.payer_name[:MAX_TEXT])
        _sub(_sub(_sub(info, "DbtrAcct"), "Id"), "IBAN", re.sub(r"\s", "", settings.payer_iban or "").upper())
        agent = _sub(_sub(info, "DbtrAgt"), "FinInstnId")
        if settings.payer_bic:
            _sub(agent, "BICFI", settings.payer_bic)
        else:
            _sub(_sub(agent, "Othr"), "Id", "NOTPROVIDED")
        _sub(info, "ChrgBr", "SLEV" if currency == "EUR" else "SHAR")
        for row in group:
            tx = _sub(info, "CdtTrfTxInf")
            _sub(_sub(tx, "PmtId"), "EndToEndId", row.end_to_end_id)
            _sub(_sub(tx, "Amt"), "InstdAmt", _money_text(Decimal(row.amount)), Ccy=row.currency)
            _sub(_sub(tx, "Cdtr"), "Nm", row.creditor_name[:MAX_TEXT])
            _sub(_sub(_sub(tx, "CdtrAcct"), "Id"), "IBAN", row.creditor_iban)
            _sub(_sub(tx, "RmtInf"), "Ustrd", f"Claim {row.claim_id}"[:140])
    ET.indent(root)
    content: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return content


def render_csv(batch: PaymentBatchRow, rows: Sequence[PaymentRow]) -> bytes:
    """Build the finance CSV: one line per payment with the batch MsgId and the idempotency key."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["msg_id", "end_to_end_id", "idempotency_key", "claim_id", "creditor_name", "creditor_iban", "amount",
         "currency", "requested_date"]
    )
    day = as_datetime(batch.created_at).astimezone(UTC).date().isoformat()
    for row in rows:
        writer.writerow(
            [batch.msg_id, row.end_to_end_id, row.idempotency_key, row.claim_id, row.creditor_name, row.creditor_iban,
             _money_text(Decimal(row.amount)), row.currency, day]
        )
    return out.getvalue().encode("utf-8")


def _money_text(amount: Decimal) -> str:
    return f"{amount.quantize(CENT):.2f}"


# --------------------------------------------------------------------------- reconciliation
@dataclass
class Reconciliation:
    """Settled against instructed for one day: counts and sums per currency, differences by claim id."""

    day: date
    settled: dict[str, tuple[int, Decimal]]
    instructed: dict[str, tuple[int, Decimal]]
    differences: list[dict[str, str]]

    def counts(self) -> dict[str, int]:
        """Return counts only (for the dashboard: no claim ids, no amounts)."""
        return {
            "settled": sum(n for n, _ in self.settled.values()),
            "instructed": sum(n for n, _ in self.instructed.values()),
            "differences": len(self.differences),
        }

    def to_json(self) -> dict[str, Any]:
        """Return the full report (claim ids and sums: for finance, not for artifacts)."""
        return {
            "day": self.day.isoformat(),
            "settled": {c: {"count": n, "sum": _money_text(v)} for c, (n, v) in sorted(self.settled.items())},
            "instructed": {c: {"count": n, "sum": _money_text(v)} for c, (n, v) in sorted(self.instructed.items())},
            "differences": self.differences,
        }

    def to_markdown(self) -> str:
        """Render the report for people."""
        lines = [f"# Payment reconciliation {self.day.isoformat()}", "", "| currency | settled | instructed |",
                 "|---|---|---|"]
        for currency in sorted(set(self.settled) | set(self.instructed)):
            n_s, v_s = self.settled.get(currency, (0, Decimal("0")))
            n_i, v_i = self.instructed.get(currency, (0, Decimal("0")))
            lines.append(f"| {currency} | {n_s} / {_money_text(v_s)} | {n_i} / {_money_text(v_i)} |")
        lines += ["", f"## Differences ({len(self.differences)})", ""]
        if not self.differences:
            lines.append("none: every settlement of the day is instructed with its amount")
        for diff in self.differences:
            lines.append(f"- {diff['claim_id']}: {diff['code']}: {diff['detail']}")
        return "\n".join(lines) + "\n"


def reconcile(repo: Repository, settings: Settings, day: date) -> Reconciliation:
    """Compare the settlements made up to the end of `day` with the payments instructed for them.

    The sums cover the settlements of `day`; the differences list every settlement up to that day that is
    not instructed (with why it is held) or whose instructed amount differs.
    """
    end = datetime.combine(day, time.max, tzinfo=UTC)
    settled: dict[str, list[Decimal]] = defaultdict(list)
    instructed: dict[str, list[Decimal]] = defaultdict(list)
    differences: list[dict[str, str]] = []
    with repo.reading() as s:
        payments = {p.settlement_id: p for p in s.exec(select(PaymentRow)).all()}
        for row in s.exec(select(SettlementRow).order_by(col(SettlementRow.id))).all():
            at = as_datetime(row.created_at)
            if at > end:
                continue
            claim = s.get(ClaimRow, row.claim_id)
            currency = (_currency(row, claim) if claim is not None else None) or "???"
            amount = Decimal(row.amount)
            payment = payments.get(row.id or 0)
            if at.date() == day:
                settled[currency].append(amount)
                if payment is not None:
                    instructed[payment.currency].append(Decimal(payment.amount))
            if payment is None:
                _, why = _held_reason(repo, s, row, settings)
                differences.append(
                    {
                        "claim_id": row.claim_id,
                        "code": ReasonCode.PAYMENT_HELD.value if why else "not_yet_instructed",
                        "detail": why or "waiting for the next payment run",
                        "settled_on": at.date().isoformat(),
                    }
                )
            elif Decimal(payment.amount) != amount or payment.currency != currency:
                differences.append(
                    {
                        "claim_id": row.claim_id,
                        "code": "amount_differs",
                        "detail": f"settled {amount} {currency}, instructed {payment.amount} {payment.currency}",
                        "settled_on": at.date().isoformat(),
                    }
                )
    return Reconciliation(
        day=day,
        settled={c: (len(v), sum(v, Decimal("0"))) for c, v in settled.items()},
        instructed={c: (len(v), sum(v, Decimal("0"))) for c, v in instructed.items()},
        differences=differences,
    )


def write_reconciliation(settings: Settings, report: Reconciliation) -> list[Path]:
    """Write the reconciliation as markdown and JSON under CLAIMFLOW_HOME/payments; return both paths."""
    stem = settings.payments_dir / f"reconciliation-{report.day.isoformat()}"
    md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
    write_atomically(md, report.to_markdown().encode("utf-8"))
    write_atomically(js, json.dumps(report.to_json(), indent=2).encode("utf-8"))
    return [md, js]

