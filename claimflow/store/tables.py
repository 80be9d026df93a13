"""SQLModel tables of the system of record: documents, claims, policies, decisions, reviews, settlements, audit.

Money is stored as a decimal string (exact on every database); unique constraints, not hopes, stop double
work: a document's sha256, a settlement's claim id, an audit event's sequence number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


class DocumentRow(SQLModel, table=True):
    """One distinct file (by content) that entered the system."""

    __tablename__ = "document"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True, unique=True, max_length=64)
    original_name: str
    source_path: str
    size: int
    kind: str | None = None
    archive_path: str | None = None
    status: str = Field(index=True)
    reason_code: str | None = None
    reason: str | None = None
    document_type: str | None = None
    type_confidence: float | None = None
    pages: int | None = None
    extraction_json: str | None = None
    received_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ClaimRow(SQLModel, table=True):
    """One claim: a group of documents (or one bordereau row) decided together."""

    __tablename__ = "claim"

    claim_id: str = Field(primary_key=True, max_length=80)
    claim_type: str
    source: str
    policy_number: str | None = Field(default=None, index=True)
    business_key: str | None = Field(default=None, index=True)
    status: str = Field(index=True)
    route: str | None = None
    payout: str | None = None
    currency: str | None = None
    date_of_loss: date | None = None
    amount_claimed: str | None = None
    fields_json: str = "{}"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ClaimDocumentRow(SQLModel, table=True):
    """Link between a claim and a document.

    `record` is the bordereau row index, or the part of a file that holds several documents, -1 otherwise.
    """

    __tablename__ = "claim_document"

    claim_id: str = Field(primary_key=True, foreign_key="claim.claim_id", max_length=80)
    document_id: int = Field(primary_key=True, foreign_key="document.id")
    record: int = Field(default=-1, primary_key=True)


class PolicyRow(SQLModel, table=True):
    """One policy of the register."""

    __tablename__ = "policy"

    policy_number: str = Field(primary_key=True, max_length=80)
    holder: str | None = None
    product: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    limit_amount: str | None = None
    deductible: str | None = None
    currency: str | None = None
    status: str | None = None
    covered_losses: str | None = None  # "collision; theft" as in the register; None: the register has no column
    waiting_period_days: int | None = None
    source_document_id: int | None = None
    loaded_at: datetime = Field(default_factory=utcnow)


class DecisionRow(SQLModel, table=True):
    """One decision on a claim, with the trace that reproduces it."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    route: str
    payout: str | None = None
    currency: str | None = None
    reasons_json: str = "[]"
    recommendation: str | None = None
    missing_json: str = "[]"
    decided_by: str | None = None
    ruleset: str
    ruleset_version: str
    ruleset_sha256: str
    engine: str
    facts_json: str = "{}"
    trace_json: str = "{}"
    actor: str = "system"
    decided_at: datetime = Field(default_factory=utcnow)


class ReviewTaskRow(SQLModel, table=True):
    """A case waiting for a person, with the reasons in front of them."""

    __tablename__ = "review_task"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    queue: str = "claims"
    status: str = Field(default="open", index=True)
    reasons_json: str = "[]"
    recommendation: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    closed_by: str | None = None
    resolution: str | None = None
    payout: str | None = None
    note: str | None = None


class SettlementRow(SQLModel, table=True):
    """A payment instruction; at most one per claim."""

    __tablename__ = "settlement"
    __table_args__ = (UniqueConstraint("claim_id", name="uq_settlement_claim"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.claim_id", max_length=80)
    amount: str
    currency: str | None = None
    decision_id: int | None = None
    idempotency_key: str = Field(unique=True, max_length=64)
    actor: str = "system"
    created_at: datetime = Field(default_factory=utcnow)


class DocumentRequestRow(SQLModel, table=True):
    """What a claim still needs from the claimant."""

    __tablename__ = "document_request"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    missing_json: str = "[]"
    status: str = Field(default="open", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class AuditEventRow(SQLModel, table=True):
    """An append-only, hash-chained audit event: who, when, what, why."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str
    action: str
    entity: str
    entity_id: str
    reason: str | None = None
    data_json: str = "{}"
    prev_hash: str
    hash: str = Field(unique=True, max_length=64)


class FieldCorrectionRow(SQLModel, table=True):
    """A reviewer's correction of an extracted field, with where the machine read it (for the learning loop)."""

    __tablename__ = "field_correction"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    document_id: int | None = Field(default=None, foreign_key="document.id")
    document_type: str | None = None
    field: str
    old_value: str | None = None
    new_value: str
    page: int | None = None
    bbox_json: str | None = None
    reviewer: str
    created_at: datetime = Field(default_factory=utcnow)


class RulesetArchiveRow(SQLModel, table=True):
    """A rule set version that decided something, by content hash: its texts, so it stays loadable for replay."""

    __tablename__ = "ruleset_archive"

    sha256: str = Field(primary_key=True, max_length=64)
    ruleset: str
    version: str
    source: str
    files_json: str
    archived_at: datetime = Field(default_factory=utcnow)


class ShadowDecisionRow(SQLModel, table=True):
    """What a candidate rule set running in shadow would have decided; stored, shown, never acted on."""

    __tablename__ = "shadow_decision"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    live_decision_id: int | None = Field(default=None, foreign_key="decision.id")
    route: str
    payout: str | None = None
    decided_by: str | None = None
    reasons_json: str = "[]"
    ruleset: str
    ruleset_version: str
    ruleset_sha256: str
    engine: str
    trace_json: str = "{}"
    decided_at: datetime = Field(default_factory=utcnow)


class PageSignatureRow(SQLModel, table=True):
    """The MinHash fingerprint of one read page (claimflow.near_duplicates), to find re-scans of it."""

    __tablename__ = "page_signature"
    __table_args__ = (UniqueConstraint("document_id", "page", name="uq_page_signature"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(index=True, foreign_key="document.id")
    page: int
    shingles: int
    minhash_json: str


class PageBandRow(SQLModel, table=True):
    """One LSH band key of a page signature; pages sharing a key are compared."""

    __tablename__ = "page_band"

    id: int | None = Field(default=None, primary_key=True)
    band_key: str = Field(index=True, max_length=40)
    document_id: int = Field(index=True, foreign_key="document.id")
    page: int


class ApprovalRow(SQLModel, table=True):
    """A reviewer's approval of a payout above the authority limit, waiting for a second, different reviewer."""

    __tablename__ = "approval"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(index=True, foreign_key="review_task.id")
    claim_id: str = Field(index=True, foreign_key="claim.claim_id", max_length=80)
    reviewer: str
    payout: str
    status: str = Field(default="pending", index=True)  # pending | completed | withdrawn
    completed_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None
