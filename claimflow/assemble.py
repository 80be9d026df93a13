"""Assemble claims from extracted documents and enrich them into the facts the rules read.

A claim form (motor, CMS-1500) opens a claim keyed by its claim number (or policy number and loss date);
supporting documents (invoices, receipts) join the claim they reference; each bordereau row is a claim of
its own; anything else becomes a claim of its own that a person reviews. Enrichment adds the policy from
the register, duplicates, prior claims and the consistency of amounts. Pure functions: the pipeline
passes in what the database knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from claimflow.errors import ReasonCode
from claimflow.facts import ClaimFacts
from claimflow.models import Extraction, Field, Money, Problem
from claimflow.policy_checks import policy_checks

CLAIM_FORMS: dict[str, str] = {"motor_claim_form": "motor", "cms1500": "health", "claim_application_zh": "motor_cn"}
"""Claim forms and the claim type they open (`motor_cn`: a motor claim filed on the Chinese 理赔申请书, in CNY)."""
SUPPORTING = frozenset({"invoice", "receipt"})
TABULAR_CLAIMS = frozenset({"claims_bordereau"})
REFERENCE_DATA = frozenset({"policy_register"})

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "motor_claim_form": ("policy_number", "claim_number", "date_of_loss", "amount_claimed", "currency", "payee_iban"),
    "cms1500": ("patient_name", "insured_id", "total_charge", "service_lines"),
    "claim_application_zh": (
        "policy_number",
        "claim_number",
        "claimant_name",
        "date_of_loss",
        "amount_claimed",
        "currency",
        "payee_account",
    ),
    "claims_bordereau": ("policy_number", "date_of_loss", "amount_claimed"),
}
"""Fields without which a claim of that source is never settled (fail closed)."""

BORDEREAU_PARTS = ("injury_claim", "property_claim", "vehicle_claim")

PAGE_BLOCKERS = frozenset({ReasonCode.PAGE_ORIENTATION_UNCERTAIN, ReasonCode.OCR_FAILED, ReasonCode.OCR_TIMEOUT})
"""Page problems that mean a person must look at the page before any money moves."""


@dataclass(frozen=True, slots=True)
class ClaimLink:
    """A document's (or bordereau row's) membership in a claim."""

    claim_id: str
    claim_type: str
    source: str
    record: int = -1
    primary: bool = False


@dataclass(slots=True)
class ClaimDocument:
    """One document of a claim as the enrichment sees it."""

    document_id: int
    document_type: str
    extraction: Extraction
    record: int = -1


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """The register's view of a policy."""

    policy_number: str
    status: str | None
    start_date: date | None
    end_date: date | None
    limit: Decimal | None
    deductible: Decimal | None
    currency: str | None
    product: str | None = None
    covered_losses: tuple[str, ...] | None = None
    waiting_period_days: int | None = None


@dataclass(slots=True)
class ClaimView:
    """A claim's merged fields and where they came from, ready to be turned into facts."""

    claim_id: str
    claim_type: str
    source: str
    fields: dict[str, Field] = field(default_factory=dict)
    primary_type: str | None = None
    documents: list[str] = field(default_factory=list)
    amount_problems: list[str] = field(default_factory=list)
    extraction_problems: list[str] = field(default_factory=list)
    page_problems: list[Problem] = field(default_factory=list)


def _text(fields: Mapping[str, Field], name: str) -> str | None:
    f = fields.get(name)
    if f is None or not isinstance(f.value, str):
        return None
    cleaned = f.value.strip()
    return cleaned or None


def _key(value: str) -> str:
    return re.sub(r"[^A-Z0-9-]", "", value.upper().replace(" ", ""))


def claim_links(ex: Extraction, sha256: str) -> list[ClaimLink]:
    """Return the claims a document belongs to (none for reference data such as a policy register)."""
    own = f"DOC-{sha256[:12].upper()}"
    kind = ex.document_type
    if kind in REFERENCE_DATA:
        return []
    if kind in TABULAR_CLAIMS:
        return [
            ClaimLink(f"BDX-{sha256[:8].upper()}-R{_record_row(rec, i)}", "motor", "bordereau", record=i, primary=True)
            for i, rec in enumerate(ex.records)
        ]
    if kind in CLAIM_FORMS:
        claim_number = _text(ex.fields, "claim_number")
        policy = _text(ex.fields, "policy_number") or _text(ex.fields, "insured_id")
        loss = ex.fields.get("date_of_loss")
        if claim_number:
            claim_id = _key(claim_number)
        elif policy and loss is not None and isinstance(loss.value, date):
            claim_id = f"{_key(policy)}-{loss.value.isoformat()}"
        else:
            claim_id = own
        return [ClaimLink(claim_id or own, CLAIM_FORMS[kind], "documents", primary=True)]
    if kind in SUPPORTING:
        reference = _text(ex.fields, "claim_reference")
        if reference and _key(reference):
            return [ClaimLink(_key(reference), "other", "documents")]
    return [ClaimLink(own, "other", "documents", primary=kind not in SUPPORTING)]


def _record_row(record: Mapping[str, Field], index: int) -> int:
    rows = [f.provenance.row for f in record.values() if f.provenance.row is not None]
    return min(rows) if rows else index + 2


def build_view(claim_id: str, claim_type: str, source: str, documents: Sequence[ClaimDocument]) -> ClaimView:
    """Merge a claim's documents: the claim form or bordereau row gives the fields; the others are checked."""
    view = ClaimView(claim_id=claim_id, claim_type=claim_type, source=source)
    supporting: list[ClaimDocument] = []
    for doc in documents:
        view.documents.append(doc.document_type)
        view.extraction_problems.extend(f"{p.code.value}: {p.message}" for p in doc.extraction.problems if p.field)
        view.page_problems.extend(p for p in doc.extraction.problems if p.code in PAGE_BLOCKERS)
        if doc.document_type in TABULAR_CLAIMS and 0 <= doc.record < len(doc.extraction.records):
            view.fields.update(doc.extraction.records[doc.record])
            view.primary_type = doc.document_type
            view.claim_type = "motor"
        elif doc.document_type in CLAIM_FORMS and view.primary_type is None:
            view.fields.update(doc.extraction.fields)
            view.primary_type = doc.document_type
            view.claim_type = CLAIM_FORMS[doc.document_type]
        else:
            supporting.append(doc)
    _normalise_health(view)
    view.amount_problems.extend(_amount_problems(view, supporting))
    return view


def _normalise_health(view: ClaimView) -> None:
    """Give a CMS-1500 claim the generic names the rules read (amount, loss date, policy)."""
    if view.primary_type != "cms1500":
        return
    total = view.fields.get("total_charge")
    if total is not None and "amount_claimed" not in view.fields:
        view.fields["amount_claimed"] = Field(
            "amount_claimed", total.value, total.confidence, total.provenance, total.raw
        )
    insured = view.fields.get("insured_id")
    if insured is not None and "policy_number" not in view.fields:
        view.fields["policy_number"] = Field("policy_number", insured.value, insured.confidence, insured.provenance)
    lines = view.fields.get("service_lines")
    if lines is not None and isinstance(lines.value, list) and "date_of_loss" not in view.fields:
        dates = [row.get("date_from") for row in lines.value if isinstance(row, dict)]
        real = [d for d in dates if isinstance(d, date)]
        if real:
            view.fields["date_of_loss"] = Field("date_of_loss", min(real), lines.confidence, lines.provenance)


def _money(f: Field | None) -> Money | None:
    if f is None:
        return None
    if isinstance(f.value, Money):
        return f.value
    if isinstance(f.value, Decimal):
        return Money(f.value)
    return None


def _amount_problems(view: ClaimView, supporting: Sequence[ClaimDocument]) -> list[str]:
    problems: list[str] = []
    claimed = _money(view.fields.get("amount_claimed"))
    if view.primary_type == "claims_bordereau" and claimed is not None:
        parts = [_money(view.fields.get(name)) for name in BORDEREAU_PARTS]
        if all(p is not None for p in parts):
            total = sum((p.amount for p in parts if p is not None), Decimal("0"))
            if total != claimed.amount:
                problems.append(f"total claim amount {claimed.amount} is not the sum of its parts {total}")
    if view.primary_type == "cms1500":
        lines = view.fields.get("service_lines")
        if claimed is not None and lines is not None and isinstance(lines.value, list):
            charges = [row.get("charge") for row in lines.value if isinstance(row, dict)]
            amounts = [c.amount if isinstance(c, Money) else c for c in charges if isinstance(c, Money | Decimal)]
            if amounts and sum(amounts, Decimal("0")) != claimed.amount:
                problems.append(
                    f"service lines add up to {sum(amounts, Decimal('0'))}, the form total is {claimed.amount}"
                )
    for doc in supporting:
        invoiced = _money(doc.extraction.fields.get("total_amount"))
        if claimed is None or invoiced is None or view.primary_type not in CLAIM_FORMS:
            continue
        if invoiced.amount != claimed.amount:
            problems.append(
                f"{doc.document_type} total {invoiced.amount} does not match the amount claimed {claimed.amount}"
            )
        currency = _text(view.fields, "currency") or claimed.currency
        if invoiced.currency and currency and invoiced.currency != currency:
            problems.append(
                f"{doc.document_type} currency {invoiced.currency} differs from the claim currency {currency}"
            )
    return problems


HEALTH_LOSS_TYPE = "medical"
"""The loss type of a health claim (a CMS-1500 has no loss-type box: every such claim is a medical one)."""


def loss_type_of(view: ClaimView) -> str | None:
    """Return the claim's loss type as read (motor form, bordereau), 'medical' for health claims, else None."""
    text = _text(view.fields, "loss_type")
    if text:
        return text.lower()
    return HEALTH_LOSS_TYPE if view.claim_type == "health" else None


def build_facts(
    view: ClaimView,
    *,
    policy: PolicyInfo | None,
    duplicate_of: str | None,
    prior_claims_12m: int,
    confidence_threshold: float,
    small_claim_limit: Decimal,
    processing_date: date,
    prior_claims_12m_total: Decimal = Decimal("0"),
    near_duplicate: tuple[str, float] | None = None,
) -> ClaimFacts:
    """Turn a claim view plus what the database knows into the facts the rules read (policy checks included)."""
    required = REQUIRED_FIELDS.get(view.primary_type or "", ())
    if view.primary_type is None:
        required = ("claim_form",)  # a claim with no claim form can never be settled
    missing = tuple(name for name in required if name not in view.fields)
    present = [view.fields[name] for name in required if name in view.fields]
    low = tuple(f.name for f in present if f.confidence < confidence_threshold)
    claimed = _money(view.fields.get("amount_claimed"))
    currency = _text(view.fields, "currency") or (claimed.currency if claimed else None)
    loss = view.fields.get("date_of_loss")
    loss_date = loss.value if loss is not None and isinstance(loss.value, date) else None
    loss_type = loss_type_of(view)
    checks = policy_checks(
        status=policy.status if policy else None,
        start=policy.start_date if policy else None,
        end=policy.end_date if policy else None,
        loss=loss_date,
        loss_type=loss_type,
        covered_losses=policy.covered_losses if policy else None,
        waiting_period_days=policy.waiting_period_days if policy else None,
        amount_claimed=claimed.amount if claimed else None,
        deductible=policy.deductible if policy else None,
        limit=policy.limit if policy else None,
    )
    return ClaimFacts(
        claim_id=view.claim_id,
        claim_type=view.claim_type,
        source=view.source,
        policy_number=_text(view.fields, "policy_number"),
        policy_found=policy is not None,
        policy_status=policy.status if policy else None,
        policy_start=policy.start_date if policy else None,
        policy_end=policy.end_date if policy else None,
        coverage_limit=policy.limit if policy else None,
        deductible=policy.deductible if policy else None,
        policy_currency=policy.currency if policy else None,
        date_of_loss=loss_date,
        amount_claimed=claimed.amount if claimed else None,
        currency=currency.upper() if currency else None,
        min_field_confidence=min((f.confidence for f in present), default=1.0 if not missing else 0.0),
        low_confidence_fields=low,
        missing_fields=missing,
        documents=tuple(sorted(set(view.documents))),
        missing_documents=(),
        duplicate_of=duplicate_of,
        amount_problems=tuple(view.amount_problems),
        prior_claims_12m=prior_claims_12m,
        confidence_threshold=confidence_threshold,
        small_claim_limit=small_claim_limit,
        processing_date=processing_date,
        loss_type=loss_type,
        policy_product=policy.product if policy else None,
        covered_losses=policy.covered_losses if policy else None,
        waiting_period_days=policy.waiting_period_days if policy else None,
        policy_active_on_loss=checks.policy_active_on_loss,
        loss_covered=checks.loss_covered,
        in_waiting_period=checks.in_waiting_period,
        payout_due=checks.payout_due,
        prior_claims_12m_total=prior_claims_12m_total,
        near_duplicate_of=near_duplicate[0] if near_duplicate else None,
        near_duplicate_similarity=near_duplicate[1] if near_duplicate else None,
    )


def business_key(view: ClaimView) -> str | None:
    """Return policy + loss date + amount, the key two copies of one claim share."""
    policy = _text(view.fields, "policy_number")
    loss = view.fields.get("date_of_loss")
    claimed = _money(view.fields.get("amount_claimed"))
    if not policy or loss is None or not isinstance(loss.value, date) or claimed is None:
        return None
    return f"{_key(policy)}|{loss.value.isoformat()}|{claimed.amount}"
