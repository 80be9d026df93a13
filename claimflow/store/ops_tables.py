"""SQLModel tables of back-office operations: the reminder outbox and payment instructions.

Unique constraints make each effect happen once: one outbox message per reminder slot (its idempotency key),
one payment per settlement (the settlement id and its idempotency key), one payment file per message id.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from claimflow.store.tables import utcnow


class OutboxMessageRow(SQLModel, table=True):
    """One rendered message to a claimant or the claims team (a document reminder), sent at most once."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=64)
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    request_id: int | None = Field(default=None, foreign_key="document_request.id")
    kind: str = "document_reminder"
    slot: int = 0
    recipient: str | None = None
    subject: str
    file_path: str | None = None
    status: str = Field(default="rendered", index=True)
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class PaymentBatchRow(SQLModel, table=True):
    """One payment file (ISO 20022 pain.001 or CSV) with its message id, transaction count and control sum."""

    __tablename__ = "payment_batch"

    id: int | None = Field(default=None, primary_key=True)
    msg_id: str = Field(unique=True, max_length=35)
    file_format: str
    file_name: str
    status: str = Field(default="prepared", index=True)
    transactions: int
    control_sum: str
    created_at: datetime = Field(default_factory=utcnow)
    written_at: datetime | None = None


class PaymentRow(SQLModel, table=True):
    """One payment instruction for one settlement; the unique settlement id stops a second payment."""

    __tablename__ = "payment"

    id: int | None = Field(default=None, primary_key=True)
    settlement_id: int = Field(unique=True, foreign_key="settlement.id")
    idempotency_key: str = Field(unique=True, max_length=64)
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    batch_id: int = Field(index=True, foreign_key="payment_batch.id")
    end_to_end_id: str = Field(max_length=35)
    amount: str
    currency: str
    creditor_name: str
    creditor_iban: str = Field(max_length=34)
    created_at: datetime = Field(default_factory=utcnow)
