"""The repository: opens the claims database and offers the few queries the stages need.

Every write happens in a `Repository.transaction()`; the audit event for a state change is written in the
same transaction as the change, so a crash leaves both or neither. On SQLite the transaction starts with
BEGIN IMMEDIATE (one writer at a time, no upgrade deadlocks); on PostgreSQL an advisory lock orders the
audit chain.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, func, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, create_engine, select

from claimflow.errors import ConfigError, TransientError
from claimflow.store import ops_tables  # noqa: F401 - registers the outbox and payment tables for create_all
from claimflow.store.tables import (
    ApprovalRow,
    AuditEventRow,
    ClaimDocumentRow,
    ClaimRow,
    DecisionRow,
    DocumentRequestRow,
    DocumentRow,
    FieldCorrectionRow,
    PageBandRow,
    PageSignatureRow,
    PolicyRow,
    ReviewTaskRow,
    RulesetArchiveRow,
    SettlementRow,
    ShadowDecisionRow,
    utcnow,
)
from claimflow.store.users import ReviewCodeRow, UserRow  # noqa: F401 - registers the accounts tables for create_all

GENESIS_HASH = "0" * 64


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def _utc_text(at: datetime) -> str:
    """Return a timestamp as naive-UTC ISO text, the same whether the database kept the zone or not."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat()


def _event_hash(prev_hash: str, row: AuditEventRow) -> str:
    body = {
        "seq": row.seq,
        "at": _utc_text(row.at),
        "actor": row.actor,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "reason": row.reason,
        "data": row.data_json,
    }
    return hashlib.sha256((prev_hash + _canonical(body)).encode()).hexdigest()


class Repository:
    """Access to the claims database; create with `Repository.open(url)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._is_sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.RLock()

    @classmethod
    def open(cls, url: str) -> Repository:
        """Connect to `url`, create missing tables, and return the repository."""
        try:
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

                @event.listens_for(engine, "connect")
                def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                    cur = dbapi_conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA foreign_keys=ON")
                    cur.close()

                @event.listens_for(engine, "begin")
                def _sqlite_begin(conn: Any) -> None:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                engine = create_engine(url, pool_pre_ping=True)
            SQLModel.metadata.create_all(engine)
            _add_missing_columns(engine)
        except OperationalError as exc:
            raise TransientError(f"database not reachable ({engine_name(url)}): {exc.orig}") from exc
        except (SQLAlchemyError, ValueError, ModuleNotFoundError) as exc:
            raise ConfigError(
                f"CLAIMFLOW_DATABASE_URL is not usable ({engine_name(url)}): {exc}; "
                "use e.g. sqlite:///path/claimflow.db or postgresql+psycopg://user:pw@host/db"
            ) from exc
        return cls(engine)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Repository:
        """Use the repository in a `with` block; it is closed when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the repository."""
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work commits together, or not at all."""
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            try:
                if not self._is_sqlite:
                    session.execute(text("SELECT pg_advisory_xact_lock(4242)"))
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise TransientError(f"database busy or unreachable: {exc.orig}") from exc
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Yield a session for reads only."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    # ---------------------------------------------------------------- audit
    def audit(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        entity: str,
        entity_id: str | int,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> AuditEventRow:
        """Append one hash-chained audit event inside the caller's transaction."""
        last = session.exec(select(AuditEventRow).order_by(col(AuditEventRow.seq).desc()).limit(1)).first()
        prev_hash = last.hash if last else GENESIS_HASH
        row = AuditEventRow(
            seq=(last.seq + 1) if last else 1,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            reason=reason,
            data_json=_canonical(data or {}),
            prev_hash=prev_hash,
            hash="",
        )
        row.hash = _event_hash(prev_hash, row)
        session.add(row)
        session.flush()
        return row

    def verify_audit(self) -> list[str]:
        """Recompute the audit chain; return one message per broken link ([] when intact)."""
        problems: list[str] = []
        prev = GENESIS_HASH
        expected_seq = 1
        with self.reading() as s:
            for row in s.exec(select(AuditEventRow).order_by(col(AuditEventRow.seq))):
                if row.seq != expected_seq:
                    problems.append(f"audit event {expected_seq} is missing (next is {row.seq})")
                if row.prev_hash != prev:
                    problems.append(f"audit event {row.seq}: previous-hash link broken")
                if _event_hash(row.prev_hash, row) != row.hash:
                    problems.append(f"audit event {row.seq}: content does not match its hash (edited)")
                prev = row.hash
                expected_seq = row.seq + 1
        return problems

    def audit_events(self, entity: str | None = None, entity_id: str | None = None) -> list[AuditEventRow]:
        """Return audit events, optionally for one entity, oldest first."""
        with self.reading() as s:
            query = select(AuditEventRow).order_by(col(AuditEventRow.seq))
            if entity is not None:
                query = query.where(AuditEventRow.entity == entity)
            if entity_id is not None:
                query = query.where(AuditEventRow.entity_id == entity_id)
            return list(s.exec(query))

    # ------------------------------------------------------------ documents
    @staticmethod
    def document_by_sha(session: Session, sha256: str) -> DocumentRow | None:
        """Return the document with this content hash, if any."""
        return session.exec(select(DocumentRow).where(DocumentRow.sha256 == sha256)).first()

    def document(self, document_id: int) -> DocumentRow | None:
        """Return one document by id."""
        with self.reading() as s:
            return s.get(DocumentRow, document_id)

    def documents_in_status(self, status: str) -> list[DocumentRow]:
        """Return documents in one status, oldest first."""
        with self.reading() as s:
            return list(s.exec(select(DocumentRow).where(DocumentRow.status == status).order_by(col(DocumentRow.id))))

    def documents_of_claim(self, session: Session, claim_id: str) -> list[tuple[DocumentRow, int]]:
        """Return (document, record index) pairs linked to a claim."""
        rows = session.exec(
            select(DocumentRow, ClaimDocumentRow.record)
            .join(ClaimDocumentRow, col(ClaimDocumentRow.document_id) == col(DocumentRow.id))
            .where(ClaimDocumentRow.claim_id == claim_id)
            .order_by(col(DocumentRow.id))
        )
        return [(doc, record) for doc, record in rows]

    @staticmethod
    def claim_ids_of_document(session: Session, document_id: int) -> list[str]:
        """Return the ids of the claims a document belongs to."""
        rows = session.exec(select(ClaimDocumentRow.claim_id).where(ClaimDocumentRow.document_id == document_id))
        return sorted(set(rows))

    @staticmethod
    def add_page_signature(
        session: Session, document_id: int, page: int, shingles: int, minhash: Sequence[int], bands: Sequence[str]
    ) -> None:
        """Store a page's fingerprint and its band keys (once per document page)."""
        exists = session.exec(
            select(PageSignatureRow.id).where(
                PageSignatureRow.document_id == document_id, PageSignatureRow.page == page
            )
        ).first()
        if exists is not None:
            return
        session.add(
            PageSignatureRow(
                document_id=document_id, page=page, shingles=shingles, minhash_json=json.dumps(list(minhash))
            )
        )
        for key in bands:
            session.add(PageBandRow(band_key=key, document_id=document_id, page=page))
        session.flush()

    @staticmethod
    def page_signatures(session: Session, document_ids: Sequence[int]) -> list[PageSignatureRow]:
        """Return the stored page fingerprints of some documents."""
        if not document_ids:
            return []
        query = select(PageSignatureRow).where(col(PageSignatureRow.document_id).in_(list(document_ids)))
        return list(session.exec(query.order_by(col(PageSignatureRow.document_id), col(PageSignatureRow.page))))

    @staticmethod
    def pages_sharing_bands(session: Session, bands: Sequence[str], exclude: Sequence[int]) -> list[tuple[int, int]]:
        """Return (document id, page) of pages with at least one of these band keys, other documents only."""
        if not bands:
            return []
        rows = session.exec(
            select(PageBandRow.document_id, PageBandRow.page)
            .where(col(PageBandRow.band_key).in_(list(bands)), col(PageBandRow.document_id).not_in(list(exclude)))
            .distinct()
        )
        return sorted((doc, page) for doc, page in rows)

    # --------------------------------------------------------------- claims
    @staticmethod
    def link(session: Session, claim_id: str, document_id: int, record: int = -1) -> None:
        """Link a document to a claim (idempotent)."""
        if session.get(ClaimDocumentRow, (claim_id, document_id, record)) is None:
            session.add(ClaimDocumentRow(claim_id=claim_id, document_id=document_id, record=record))
            session.flush()

    def claim(self, claim_id: str) -> ClaimRow | None:
        """Return one claim."""
        with self.reading() as s:
            return s.get(ClaimRow, claim_id)

    def claims(self, statuses: Sequence[str] | None = None) -> list[ClaimRow]:
        """Return claims, optionally only those in the given statuses."""
        with self.reading() as s:
            query = select(ClaimRow).order_by(col(ClaimRow.claim_id))
            if statuses:
                query = query.where(col(ClaimRow.status).in_(list(statuses)))
            return list(s.exec(query))

    @staticmethod
    def claims_with_business_key(session: Session, key: str, exclude: str) -> list[str]:
        """Return ids of other claims sharing a business key (policy + loss date + amount)."""
        rows = session.exec(select(ClaimRow.claim_id).where(ClaimRow.business_key == key, ClaimRow.claim_id != exclude))
        return sorted(rows)

    @staticmethod
    def prior_claims(session: Session, policy_number: str, before: date, days: int, exclude: str) -> int:
        """Count other claims on a policy with a loss in the `days` before `before`."""
        start = date.fromordinal(before.toordinal() - days)
        count = session.exec(
            select(func.count())
            .select_from(ClaimRow)
            .where(
                ClaimRow.policy_number == policy_number,
                ClaimRow.claim_id != exclude,
                col(ClaimRow.date_of_loss) >= start,
                col(ClaimRow.date_of_loss) < before,
            )
        ).one()
        return int(count)

    @staticmethod
    def prior_claim_amounts(session: Session, policy_number: str, before: date, days: int, exclude: str) -> list[str]:
        """Return the amounts claimed (decimal text, '' when not read) of other claims on a policy in the window.

        The window is the same as `prior_claims`: a loss in the `days` before `before`.
        """
        start = date.fromordinal(before.toordinal() - days)
        rows = session.exec(
            select(ClaimRow.amount_claimed).where(
                ClaimRow.policy_number == policy_number,
                ClaimRow.claim_id != exclude,
                col(ClaimRow.date_of_loss) >= start,
                col(ClaimRow.date_of_loss) < before,
            )
        )
        return [amount or "" for amount in rows]

    @staticmethod
    def settled_amounts(session: Session, claim_type: str, exclude: str) -> list[str]:
        """Return the amounts claimed (decimal text) of settled claims of one type, other claims only."""
        rows = session.exec(
            select(ClaimRow.amount_claimed).where(
                ClaimRow.claim_type == claim_type,
                ClaimRow.status == "settled",
                ClaimRow.claim_id != exclude,
                col(ClaimRow.amount_claimed).is_not(None),
            )
        )
        return [amount for amount in rows if amount]

    # ------------------------------------------------------------- policies
    @staticmethod
    def policy(session: Session, policy_number: str) -> PolicyRow | None:
        """Return a policy of the register."""
        return session.get(PolicyRow, policy_number)

    @staticmethod
    def upsert_policy(session: Session, row: PolicyRow) -> bool:
        """Insert or replace a policy; return True when something changed."""
        existing = session.get(PolicyRow, row.policy_number)
        if existing is None:
            session.add(row)
            session.flush()
            return True
        fields = (
            "holder", "product", "start_date", "end_date", "limit_amount", "deductible", "currency", "status",
            "covered_losses", "waiting_period_days",
        )
        if all(getattr(existing, f) == getattr(row, f) for f in fields):
            return False
        for f in fields:
            setattr(existing, f, getattr(row, f))
        existing.source_document_id = row.source_document_id
        existing.loaded_at = utcnow()
        session.add(existing)
        session.flush()
        return True

    def policy_count(self) -> int:
        """Return how many policies the register holds."""
        with self.reading() as s:
            return int(s.exec(select(func.count()).select_from(PolicyRow)).one())

    # ------------------------------------------------- decisions and routes
    @staticmethod
    def latest_decision(session: Session, claim_id: str) -> DecisionRow | None:
        """Return the most recent decision on a claim."""
        return session.exec(
            select(DecisionRow).where(DecisionRow.claim_id == claim_id).order_by(col(DecisionRow.id).desc()).limit(1)
        ).first()

    def decisions(self, claim_id: str) -> list[DecisionRow]:
        """Return every decision on a claim, oldest first."""
        with self.reading() as s:
            query = select(DecisionRow).where(DecisionRow.claim_id == claim_id).order_by(col(DecisionRow.id))
            return list(s.exec(query))

    def machine_decisions(self, claim_id: str | None = None) -> list[DecisionRow]:
        """Return the rule engine's decisions that recorded their facts (replayable), oldest first."""
        with self.reading() as s:
            query = select(DecisionRow).where(DecisionRow.actor == "system", DecisionRow.facts_json != "{}")
            if claim_id is not None:
                query = query.where(DecisionRow.claim_id == claim_id)
            return list(s.exec(query.order_by(col(DecisionRow.id))))

    def archive_ruleset(self, sha256: str, *, ruleset: str, version: str, source: str, files: dict[str, str]) -> bool:
        """Keep a rule set version's texts under its hash (once); return True when it was new.

        Two processes starting at once may both try: the second finds the row (or loses the insert) and is fine.
        """
        try:
            with self.transaction() as s:
                if s.get(RulesetArchiveRow, sha256) is not None:
                    return False
                s.add(
                    RulesetArchiveRow(
                        sha256=sha256,
                        ruleset=ruleset,
                        version=version,
                        source=source,
                        files_json=json.dumps(files, sort_keys=True),
                    )
                )
        except IntegrityError:
            return False
        return True

    def archived_ruleset(self, sha256: str) -> RulesetArchiveRow | None:
        """Return an archived rule set version by its content hash."""
        with self.reading() as s:
            return s.get(RulesetArchiveRow, sha256)

    def add_shadow_decision(self, row: ShadowDecisionRow) -> None:
        """Store what the shadow rule set decided (never acted on)."""
        with self.transaction() as s:
            s.add(row)

    def shadow_decisions(self, claim_id: str) -> list[ShadowDecisionRow]:
        """Return the shadow decisions of a claim, oldest first."""
        with self.reading() as s:
            query = select(ShadowDecisionRow).where(ShadowDecisionRow.claim_id == claim_id)
            return list(s.exec(query.order_by(col(ShadowDecisionRow.id))))

    @staticmethod
    def settlement(session: Session, claim_id: str) -> SettlementRow | None:
        """Return the settlement of a claim, if it was settled."""
        return session.exec(select(SettlementRow).where(SettlementRow.claim_id == claim_id)).first()

    @staticmethod
    def open_review(session: Session, claim_id: str) -> ReviewTaskRow | None:
        """Return the open review task of a claim, if any."""
        return session.exec(
            select(ReviewTaskRow).where(ReviewTaskRow.claim_id == claim_id, ReviewTaskRow.status == "open")
        ).first()

    def open_reviews(self, queue: str | None = None) -> list[ReviewTaskRow]:
        """Return open review tasks, oldest first."""
        with self.reading() as s:
            query = select(ReviewTaskRow).where(ReviewTaskRow.status == "open").order_by(col(ReviewTaskRow.id))
            if queue:
                query = query.where(ReviewTaskRow.queue == queue)
            return list(s.exec(query))

    @staticmethod
    def open_document_request(session: Session, claim_id: str) -> DocumentRequestRow | None:
        """Return the open document request of a claim, if any."""
        return session.exec(
            select(DocumentRequestRow).where(
                DocumentRequestRow.claim_id == claim_id, DocumentRequestRow.status == "open"
            )
        ).first()

    @staticmethod
    def pending_approval(session: Session, task_id: int) -> ApprovalRow | None:
        """Return the first approval of a review task that waits for a second reviewer, if any."""
        return session.exec(
            select(ApprovalRow).where(ApprovalRow.task_id == task_id, ApprovalRow.status == "pending")
        ).first()

    def pending_approvals(self) -> dict[int, ApprovalRow]:
        """Return the approvals waiting for a second reviewer, by review task id."""
        with self.reading() as s:
            rows = s.exec(select(ApprovalRow).where(ApprovalRow.status == "pending"))
            return {row.task_id: row for row in rows}

    def approvals(self, claim_id: str) -> list[ApprovalRow]:
        """Return every four-eyes approval of a claim, oldest first."""
        with self.reading() as s:
            query = select(ApprovalRow).where(ApprovalRow.claim_id == claim_id).order_by(col(ApprovalRow.id))
            return list(s.exec(query))

    @staticmethod
    def corrections_of_claim(session: Session, claim_id: str) -> list[FieldCorrectionRow]:
        """Return a claim's field corrections, oldest first (the latest per field wins)."""
        return list(
            session.exec(
                select(FieldCorrectionRow)
                .where(FieldCorrectionRow.claim_id == claim_id)
                .order_by(col(FieldCorrectionRow.id))
            )
        )

    def corrections(self) -> list[FieldCorrectionRow]:
        """Return every field correction, oldest first."""
        with self.reading() as s:
            return list(s.exec(select(FieldCorrectionRow).order_by(col(FieldCorrectionRow.id))))

    def documents_of_type(self, document_type: str) -> list[DocumentRow]:
        """Return processed documents of one type."""
        with self.reading() as s:
            query = select(DocumentRow).where(DocumentRow.document_type == document_type).order_by(col(DocumentRow.id))
            return list(s.exec(query))

    def counts(self) -> dict[str, dict[str, int]]:
        """Return documents by status, claims by status and open reviews by queue."""
        with self.reading() as s:
            docs = dict(s.exec(select(DocumentRow.status, func.count()).group_by(DocumentRow.status)).all())
            claims = dict(s.exec(select(ClaimRow.status, func.count()).group_by(ClaimRow.status)).all())
            reviews = dict(
                s.exec(
                    select(ReviewTaskRow.queue, func.count())
                    .where(ReviewTaskRow.status == "open")
                    .group_by(ReviewTaskRow.queue)
                ).all()
            )
        return {"documents": docs, "claims": claims, "review_backlog": reviews}


def _add_missing_columns(engine: Engine) -> None:
    """Add nullable columns that newer tables declare to a database created by an older version (additive only)."""
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable or column.primary_key:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))


def engine_name(url: str) -> str:
    """Return the scheme of a database URL (never its credentials)."""
    return url.split(":", 1)[0]


def as_datetime(value: datetime) -> datetime:
    """Return a stored timestamp as timezone-aware UTC (SQLite drops the zone)."""
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)
