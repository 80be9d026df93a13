"""Build small claims databases for the operations tests (kpi, reminders, payments) without running the engine."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from claimflow.models import Extraction, Field, Money, Provenance, ReadMethod
from claimflow.serialise import extraction_to_json
from claimflow.settings import Settings, load_settings
from claimflow.store.repository import Repository
from claimflow.store.tables import (
    ClaimDocumentRow,
    ClaimRow,
    DecisionRow,
    DocumentRequestRow,
    DocumentRow,
    ReviewTaskRow,
    SettlementRow,
)

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
GOOD_IBAN = "DE89370400440532013000"
OTHER_IBAN = "GB82WEST12345698765432"


def open_repo(tmp_path: Path, **overrides: object) -> tuple[Repository, Settings]:
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox", **overrides)
    settings.home.mkdir(parents=True, exist_ok=True)
    return Repository.open(settings.db_url), settings


def add_claim(
    repo: Repository,
    claim_id: str,
    *,
    status: str = "settled",
    route: str | None = "settle",
    received: datetime = T0,
    decided: datetime | None = None,
    settled: datetime | None = None,
    amount: str = "100.00",
    currency: str = "EUR",
    settled_by: str = "system",
    reasons: tuple[str, ...] = (),
    iban: str | None = GOOD_IBAN,
    iban_confidence: float = 0.99,
    name: str = "Zoë Müller",
) -> None:
    """Add one claim with a claim-form document, optionally a decision and a settlement."""
    fields = {
        "claimant_name": Field("claimant_name", name, 0.97, Provenance(ReadMethod.TEXT_LAYER, page=1)),
        "amount_claimed": Field(
            "amount_claimed", Money(Decimal(amount), currency), 0.95, Provenance(ReadMethod.TEXT_LAYER, page=1)
        ),
    }
    if iban is not None:
        fields["payee_iban"] = Field("payee_iban", iban, iban_confidence, Provenance(ReadMethod.TEXT_LAYER, page=1))
    extraction = Extraction("motor_claim_form", 0.99, fields=fields)
    with repo.transaction() as s:
        doc = DocumentRow(
            sha256=hashlib.sha256(claim_id.encode()).hexdigest(),
            original_name=f"{claim_id}.pdf",
            source_path=f"{claim_id}.pdf",
            size=1,
            status="processed",
            document_type="motor_claim_form",
            extraction_json=json.dumps(extraction_to_json(extraction)),
            received_at=received,
        )
        s.add(doc)
        s.add(ClaimRow(claim_id=claim_id, claim_type="motor", source="documents", status=status, route=route,
                       currency=currency, created_at=received))
        s.flush()
        s.add(ClaimDocumentRow(claim_id=claim_id, document_id=doc.id or 0))
        if decided is not None:
            s.add(
                DecisionRow(
                    claim_id=claim_id, route=route or "review", payout=amount if route == "settle" else None,
                    currency=currency, reasons_json=json.dumps([{"code": c, "message": c} for c in reasons]),
                    ruleset="claims_routing", ruleset_version="2026.11.1", ruleset_sha256="x", engine="zen",
                    decided_at=decided,
                )
            )
        if settled is not None:
            s.add(
                SettlementRow(
                    claim_id=claim_id, amount=amount, currency=currency,
                    idempotency_key=hashlib.sha256(f"{claim_id}|settlement".encode()).hexdigest(),
                    actor=settled_by, created_at=settled,
                )
            )


def add_review(repo: Repository, claim_id: str, *, created: datetime, queue: str = "claims", open_: bool = True) -> int:
    with repo.transaction() as s:
        task = ReviewTaskRow(claim_id=claim_id, queue=queue, status="open" if open_ else "closed", created_at=created)
        s.add(task)
        s.flush()
        return task.id or 0


def add_request(repo: Repository, claim_id: str, *, created: datetime, missing: list[str]) -> int:
    with repo.transaction() as s:
        request = DocumentRequestRow(claim_id=claim_id, missing_json=json.dumps(missing), created_at=created)
        s.add(request)
        s.flush()
        return request.id or 0
