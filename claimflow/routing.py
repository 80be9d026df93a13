"""Route decided claims, and record what reviewers decide: settlements, review tasks, document requests.

Every state change and its audit event are written in one transaction. A claim is settled at most once
(unique settlement per claim); a claim that a person holds (in review) or that is final (settled,
rejected) is never re-decided by the machine; a reviewer's payout passes the same guardrail as the rules'.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from claimflow import assemble
from claimflow.decide import CompiledRuleSet, decide_claim, missing_documents
from claimflow.enrich import AmountHistory, EnrichmentConfig, OutlierConfig, enrich_facts, load_enrichment_config
from claimflow.errors import ClaimFlowError, ExitCode, ReasonCode
from claimflow.facts import ClaimFacts
from claimflow.models import (
    ClaimStatus,
    Decision,
    Extraction,
    Field,
    FieldValueType,
    Money,
    Provenance,
    ReadMethod,
    Reason,
    Route,
)
from claimflow.near_duplicates import SIMILAR, PageSignature, similarity
from claimflow.policy_checks import parse_covered_losses
from claimflow.serialise import public_field, stored_extractions
from claimflow.settings import Settings
from claimflow.store.repository import Repository, as_datetime
from claimflow.store.tables import (
    ApprovalRow,
    ClaimRow,
    DecisionRow,
    DocumentRequestRow,
    FieldCorrectionRow,
    PolicyRow,
    ReviewTaskRow,
    SettlementRow,
    utcnow,
)

DEFAULT_AUTHORITY_LIMIT = Decimal("10000")
"""Payouts above this need two reviewers unless the caller passes its own limit (CLAIMFLOW_AUTHORITY_LIMIT)."""
FINAL_OR_HELD = {ClaimStatus.SETTLED.value, ClaimStatus.IN_REVIEW.value, ClaimStatus.REJECTED.value}
STATUS_OF_ROUTE = {
    Route.SETTLE: ClaimStatus.SETTLED,
    Route.REVIEW: ClaimStatus.IN_REVIEW,
    Route.REQUEST_DOCUMENTS: ClaimStatus.PENDING_DOCUMENTS,
}


class ReviewActionError(ClaimFlowError):
    """A reviewer's action cannot be applied (unknown task, closed task, payout outside the policy)."""

    exit_code = ExitCode.USAGE


@dataclass(slots=True)
class ClaimOutcome:
    """A claim after deciding: route, payout, reasons, documents and fields."""

    claim_id: str
    route: str
    status: str
    payout: Decimal | None
    currency: str | None
    reasons: list[Reason]
    recommendation: str | None = None
    missing_documents: list[str] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    pending_approval: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the public `--json` form."""
        return {
            "claim_id": self.claim_id,
            "route": self.route,
            "status": self.status,
            "payout": str(self.payout) if self.payout is not None else None,
            "currency": self.currency,
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "recommendation": self.recommendation,
            "missing_documents": self.missing_documents,
            "documents": self.documents,
            "fields": self.fields,
        }


# ----------------------------------------------------------------------- claims and policies
def ensure_claim(repo: Repository, s: Any, link: assemble.ClaimLink, document_id: int) -> None:
    """Create the claim if new and link the document to it."""
    claim = s.get(ClaimRow, link.claim_id)
    if claim is None:
        claim = ClaimRow(
            claim_id=link.claim_id, claim_type=link.claim_type, source=link.source, status=ClaimStatus.RECEIVED.value
        )
        s.add(claim)
        s.flush()
        repo.audit(
            s,
            actor="system",
            action="claim_opened",
            entity="claim",
            entity_id=link.claim_id,
            data={"source": link.source},
        )
    elif claim.status in FINAL_OR_HELD:
        repo.audit(
            s,
            actor="system",
            action="document_attached",
            entity="claim",
            entity_id=link.claim_id,
            reason="claim is already " + claim.status,
            data={"document_id": document_id},
        )
    repo.link(s, link.claim_id, document_id, link.record)


def load_policies(repo: Repository, s: Any, ex: Extraction, document_id: int) -> int:
    """Upsert the policies of a register document; return how many changed."""
    changed = 0
    for record in ex.records:
        number = record.get("policy_number")
        if number is None or not isinstance(number.value, str) or not number.value.strip():
            continue
        row = PolicyRow(
            policy_number=assemble._key(number.value),
            holder=_str(record, "holder"),
            product=_str(record, "product"),
            start_date=_date(record, "start_date"),
            end_date=_date(record, "end_date"),
            limit_amount=_amount(record, "limit"),
            deductible=_amount(record, "deductible"),
            currency=(_str(record, "currency") or _money_currency(record, "limit") or "").upper() or None,
            status=(_str(record, "status") or "").lower() or None,
            covered_losses=_str(record, "covered_losses") or None,
            waiting_period_days=_int(record, "waiting_period_days"),
            source_document_id=document_id,
        )
        if repo.upsert_policy(s, row):
            changed += 1
    if changed:
        repo.audit(
            s,
            actor="system",
            action="policies_loaded",
            entity="document",
            entity_id=document_id,
            data={"policies": changed},
        )
    return changed


def _str(record: dict[str, Any], name: str) -> str | None:
    f = record.get(name)
    return f.value.strip() if f is not None and isinstance(f.value, str) else None


def _int(record: dict[str, Any], name: str) -> int | None:
    f = record.get(name)
    return f.value if f is not None and isinstance(f.value, int) and not isinstance(f.value, bool) else None


def _date(record: dict[str, Any], name: str) -> date | None:
    f = record.get(name)
    return f.value if f is not None and isinstance(f.value, date) else None


def _amount(record: dict[str, Any], name: str) -> str | None:
    f = record.get(name)
    if f is None:
        return None
    if isinstance(f.value, Money):
        return str(f.value.amount)
    if isinstance(f.value, Decimal | int):
        return str(f.value)
    return None


def _money_currency(record: dict[str, Any], name: str) -> str | None:
    f = record.get(name)
    return f.value.currency if f is not None and isinstance(f.value, Money) else None


def policy_info(row: PolicyRow | None) -> assemble.PolicyInfo | None:
    """Return the register row as PolicyInfo."""
    if row is None:
        return None
    return assemble.PolicyInfo(
        policy_number=row.policy_number,
        status=row.status,
        start_date=row.start_date,
        end_date=row.end_date,
        limit=Decimal(row.limit_amount) if row.limit_amount is not None else None,
        deductible=Decimal(row.deductible) if row.deductible is not None else None,
        currency=row.currency,
        product=row.product,
        covered_losses=parse_covered_losses(row.covered_losses),
        waiting_period_days=row.waiting_period_days,
    )


# ----------------------------------------------------------------------- deciding
def claim_view(
    repo: Repository, s: Any, claim: ClaimRow, cache: dict[int, list[Extraction]] | None = None
) -> tuple[assemble.ClaimView, list[int]]:
    """Rebuild the merged view of a claim from its stored documents (parsed extractions kept in `cache`)."""
    docs = []
    ids = []
    cache = {} if cache is None else cache
    for doc, record in repo.documents_of_claim(s, claim.claim_id):
        if not doc.extraction_json:
            continue
        if doc.id not in cache:  # a bordereau's 500 rows share one document: parse it once per batch
            cache[doc.id or 0] = stored_extractions(json.loads(doc.extraction_json))
        parts = cache[doc.id or 0]
        if len(parts) > 1:  # a split file: the record names the part
            extraction, record = parts[record], -1
        else:
            extraction = parts[0]
        docs.append(assemble.ClaimDocument(doc.id or 0, extraction.document_type, extraction, record))
        ids.append(doc.id or 0)
    view = assemble.build_view(claim.claim_id, claim.claim_type, claim.source, docs)
    for correction in repo.corrections_of_claim(s, claim.claim_id):  # a person's word beats the machine's reading
        view.fields[correction.field] = _corrected_field(correction, view.fields.get(correction.field))
    return view, ids


def _corrected_field(correction: FieldCorrectionRow, old: Field | None) -> Field:
    text = correction.new_value.strip()
    value: FieldValueType = text
    if old is not None and isinstance(old.value, Money):
        value = Money(Decimal(text), old.value.currency)
    elif old is not None and isinstance(old.value, Decimal):
        value = Decimal(text)
    elif old is not None and isinstance(old.value, date):
        value = date.fromisoformat(text)
    bbox = json.loads(correction.bbox_json) if correction.bbox_json else None
    return Field(
        correction.field,
        value,
        1.0,
        Provenance(ReadMethod.REVIEWER, page=correction.page, bbox=tuple(bbox) if bbox else None),
        raw=text,
    )


def parse_corrections(
    repo: Repository, s: Any, claim: ClaimRow, corrections: dict[str, str]
) -> list[FieldCorrectionRow]:
    """Check reviewer corrections (field=value) against the claim's fields; raise ReviewActionError on bad input."""
    view, _ = claim_view(repo, s, claim)
    rows = []
    for name, new_value in corrections.items():
        old = view.fields.get(name)
        try:
            typed = _corrected_field(
                FieldCorrectionRow(claim_id=claim.claim_id, field=name, new_value=new_value, reviewer="-"), old
            )
        except (InvalidOperation, ValueError) as exc:
            raise ReviewActionError(
                f"correction {name}={new_value!r} does not fit the field (amounts like 1234.56, dates like 2026-10-14)"
            ) from exc
        source = _field_source(repo, s, claim.claim_id, name)
        rows.append(
            FieldCorrectionRow(
                claim_id=claim.claim_id,
                document_id=source[0] if source else None,
                document_type=source[1] if source else None,
                field=name,
                old_value=_plain(old.value) if old is not None else None,
                new_value=str(_plain(typed.value)),
                page=old.provenance.page if old is not None else None,
                bbox_json=json.dumps(list(old.provenance.bbox)) if old is not None and old.provenance.bbox else None,
                reviewer="-",
            )
        )
    return rows


def _plain(value: FieldValueType) -> str:
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, date):
        return value.isoformat()
    return json.dumps(value, default=str) if isinstance(value, list) else str(value)


def _field_source(repo: Repository, s: Any, claim_id: str, name: str) -> tuple[int, str] | None:
    for doc, _record in repo.documents_of_claim(s, claim_id):
        if doc.extraction_json and name in doc.extraction_json:
            return doc.id or 0, doc.document_type or ""
    return None


def claim_facts(
    repo: Repository, s: Any, claim: ClaimRow, view: assemble.ClaimView, *, settings: Settings, processing_date: date
) -> ClaimFacts:
    """Enrich a claim view with the policy, duplicates and prior claims."""
    policy_number = view.fields.get("policy_number")
    policy = None
    if policy_number is not None and isinstance(policy_number.value, str):
        policy = policy_info(repo.policy(s, assemble._key(policy_number.value)))
    key = assemble.business_key(view)
    duplicate_of = None
    if key:
        for other in repo.claims_with_business_key(s, key, exclude=claim.claim_id):
            other_row = s.get(ClaimRow, other)
            if other_row is not None and (other_row.created_at, other_row.claim_id) < (
                claim.created_at,
                claim.claim_id,
            ):
                duplicate_of = other
                break
    rescan = near_duplicate(repo, s, claim)
    loss = view.fields.get("date_of_loss")
    prior = 0
    prior_total = Decimal("0")
    if policy is not None and loss is not None and isinstance(loss.value, date):
        amounts = repo.prior_claim_amounts(s, policy.policy_number, loss.value, 365, exclude=claim.claim_id)
        prior = len(amounts)
        prior_total = sum((Decimal(a) for a in amounts if a), Decimal("0"))
    return assemble.build_facts(
        view,
        policy=policy,
        duplicate_of=duplicate_of,
        prior_claims_12m=prior,
        prior_claims_12m_total=prior_total,
        confidence_threshold=settings.confidence_threshold,
        small_claim_limit=settings.small_claim_limit,
        processing_date=processing_date,
        near_duplicate=rescan,
    )


def _earlier(first: ClaimRow, second: ClaimRow) -> bool:
    """Return whether `first` was opened before `second` (the claim id breaks ties)."""
    return (as_datetime(first.created_at), first.claim_id) < (as_datetime(second.created_at), second.claim_id)


def near_duplicate(repo: Repository, s: Any, claim: ClaimRow) -> tuple[str, float] | None:
    """Return (earlier claim, similarity) when a page of this claim re-scans a page of an earlier claim's document.

    Candidates come from shared LSH band keys; the MinHash estimate must reach `near_duplicates.SIMILAR`.
    Documents of this claim itself are never compared with each other.
    """
    own = [doc.id or 0 for doc, _ in repo.documents_of_claim(s, claim.claim_id)]
    found: tuple[str, float] | None = None
    for row in repo.page_signatures(s, own):
        signature = PageSignature(row.page, row.shingles, tuple(json.loads(row.minhash_json)))
        candidates = repo.pages_sharing_bands(s, signature.bands, exclude=own)
        stored = {(r.document_id, r.page): r for r in repo.page_signatures(s, sorted({d for d, _ in candidates}))}
        for key in candidates:
            other_row = stored.get(key)
            if other_row is None:
                continue
            score = similarity(signature.minhash, tuple(json.loads(other_row.minhash_json)))
            if score < SIMILAR or (found is not None and score <= found[1]):
                continue
            for other_id in repo.claim_ids_of_document(s, key[0]):
                other = s.get(ClaimRow, other_id)
                if other is not None and other_id != claim.claim_id and _earlier(other, claim):
                    found = (other_id, round(score, 2))
                    break
    return found


def facts_to_json(facts: ClaimFacts) -> dict[str, Any]:
    """Return facts as plain JSON (Decimal and date as strings, tuples as lists) for replay."""
    out: dict[str, Any] = {}
    for name, value in dataclasses.asdict(facts).items():
        if isinstance(value, Decimal | date):
            out[name] = str(value) if isinstance(value, Decimal) else value.isoformat()
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def decide_and_route(
    repo: Repository,
    claim_id: str,
    compiled: CompiledRuleSet,
    *,
    settings: Settings,
    processing_date: date,
    cache: dict[int, list[Extraction]] | None = None,
    enrichment: EnrichmentConfig | None = None,
    histories: dict[str, AmountHistory] | None = None,
) -> ClaimOutcome:
    """Decide a claim (unless a person holds it or it is final) and write the route.

    `enrichment` defaults to the configured file; `histories` memoises the settled amounts per claim type
    across a batch.
    """
    config = enrichment or load_enrichment_config(settings.enrichment)
    with repo.transaction() as s:
        claim = s.get(ClaimRow, claim_id)
        if claim is None:
            raise ClaimFlowError(f"claim {claim_id} does not exist")
        view, doc_ids = claim_view(repo, s, claim, cache)
        fields = {n: public_field(f) for n, f in sorted(view.fields.items())}
        if claim.status in FINAL_OR_HELD:
            return _current_outcome(repo, s, claim, doc_ids, fields)
        facts = claim_facts(repo, s, claim, view, settings=settings, processing_date=processing_date)
        history = _history(repo, s, facts.claim_type, claim_id, histories)
        facts = enrich_facts(
            facts,
            config,
            missing_documents=missing_documents(facts, compiled.ruleset),
            history=history,
            qa_sample_rate=settings.qa_sample_rate,
        )
        decision = decide_claim(facts, compiled)
        if "unknown" in view.documents and decision.route is not Route.SETTLE:
            decision.reasons.append(
                Reason(ReasonCode.UNKNOWN_DOCUMENT_TYPE.value, "a document could not be classified; a person decides")
            )
        _hold_for_page_problems(decision, view)
        select_for_review(
            decision, facts, authority_limit=settings.authority_limit, queue=config.quality_review.queue,
            history=history, outliers=config.outliers,
        )
        _update_claim(claim, view, facts, decision)
        latest = repo.latest_decision(s, claim_id)
        if latest is None or not _same_decision(latest, decision):
            row = _record_decision(s, claim_id, decision, facts, actor="system")
            _route(repo, s, claim, decision, row.id)
        s.add(claim)
        return ClaimOutcome(
            claim_id,
            decision.route.value,
            claim.status,
            decision.payout,
            decision.currency,
            decision.reasons,
            decision.recommendation,
            list(decision.missing_documents),
            doc_ids,
            fields,
        )


def _hold_for_page_problems(decision: Decision, view: assemble.ClaimView) -> None:
    """Fail closed in code: a page read with uncertain orientation or failed OCR is never paid on unseen."""
    if not view.page_problems:
        return
    for problem in view.page_problems:
        decision.reasons.append(Reason(problem.code.value, problem.message))
    if decision.route is Route.SETTLE:
        decision.trace["overridden"] = {"route": decision.route.value, "payout": str(decision.payout)}
        decision.route, decision.payout = Route.REVIEW, None
        decision.decided_by = view.page_problems[0].code.value


def _history(
    repo: Repository, s: Any, claim_type: str, claim_id: str, memo: dict[str, AmountHistory] | None
) -> AmountHistory:
    """Return the settled-amount history of a claim type (memoised per batch in `memo`)."""
    if memo is not None and claim_type in memo:
        return memo[claim_type]
    amounts = [Decimal(a) for a in repo.settled_amounts(s, claim_type, exclude=claim_id)]
    history = AmountHistory.of(amounts)
    if memo is not None:
        memo[claim_type] = history
    return history


def select_for_review(
    decision: Decision,
    facts: ClaimFacts,
    *,
    authority_limit: Decimal,
    queue: str,
    history: AmountHistory | None = None,
    outliers: OutlierConfig | None = None,
) -> None:
    """Send a settlement the rules allow to quality review instead: QA sample, outlier, above the authority limit.

    Route and reasons depend only on the facts and the limit (the sample is a hash of the claim id), so a replay
    from the stored facts picks the same claims; the outlier's history goes to the trace. The proposed
    settlement is kept in the trace and the reason, for the reviewer to confirm or correct.
    """
    if decision.route is not Route.SETTLE or decision.payout is None:
        return
    proposal = f"the rules would settle {decision.payout} {decision.currency or ''}".rstrip()
    holds: list[Reason] = []
    outlier_history: dict[str, object] | None = None
    if decision.payout > authority_limit:
        holds.append(
            Reason(
                ReasonCode.AUTHORITY_LIMIT,
                f"Payout {decision.payout} is above the authority limit {authority_limit}: two reviewers approve it "
                f"({proposal})",
            )
        )
    if facts.amount_outlier:
        holds.append(
            Reason(
                ReasonCode.AMOUNT_OUTLIER,
                f"Amount {facts.amount_claimed} is far above the settled {facts.claim_type} claims; {proposal}",
            )
        )
        threshold = history.threshold(outliers) if history is not None and outliers is not None else None
        if history is not None and outliers is not None and threshold is not None:
            outlier_history = {
                "claim_type": facts.claim_type,
                "settled_claims": history.count,
                "mean": round(history.mean, 2),
                "sd": round(history.sd, 2),
                "sd_factor": outliers.sd_factor,
                "limit": round(threshold, 2),
            }
    if facts.qa_sample:
        holds.append(Reason(ReasonCode.QA_SAMPLE, f"Picked for quality review (random sample); {proposal}"))
    if not holds:
        return
    # everything written after the rules ran goes under "overridden", which a replay of the rules leaves out
    decision.trace["overridden"] = {
        "route": decision.route.value,
        "payout": str(decision.payout),
        "by": "review_selection",
        "holds": [{"code": str(r.code), "message": r.message} for r in holds],
        "queue": queue,
        "outlier_history": outlier_history,
    }
    decision.reasons.extend(holds)
    decision.route, decision.payout = Route.REVIEW, None
    decision.decided_by = str(holds[0].code)


def _same_decision(row: DecisionRow, decision: Decision) -> bool:
    return (
        row.route == decision.route.value
        and row.payout == (str(decision.payout) if decision.payout is not None else None)
        and row.ruleset_sha256 == decision.ruleset_sha256
        and json.loads(row.reasons_json) == [dataclasses.asdict(r) for r in decision.reasons]
    )


def _update_claim(claim: ClaimRow, view: assemble.ClaimView, facts: ClaimFacts, decision: Decision) -> None:
    claim.claim_type = facts.claim_type
    claim.policy_number = facts.policy_number
    claim.date_of_loss = facts.date_of_loss
    claim.amount_claimed = str(facts.amount_claimed) if facts.amount_claimed is not None else None
    claim.business_key = assemble.business_key(view)
    claim.route = decision.route.value
    claim.status = STATUS_OF_ROUTE[decision.route].value
    claim.payout = str(decision.payout) if decision.payout is not None else None
    claim.currency = decision.currency or facts.currency
    claim.updated_at = utcnow()


def _record_decision(s: Any, claim_id: str, decision: Decision, facts: ClaimFacts | None, *, actor: str) -> DecisionRow:
    row = DecisionRow(
        claim_id=claim_id,
        route=decision.route.value,
        payout=str(decision.payout) if decision.payout is not None else None,
        currency=decision.currency,
        reasons_json=json.dumps([dataclasses.asdict(r) for r in decision.reasons]),
        recommendation=decision.recommendation,
        missing_json=json.dumps(list(decision.missing_documents)),
        decided_by=decision.decided_by,
        ruleset=decision.ruleset,
        ruleset_version=decision.ruleset_version,
        ruleset_sha256=decision.ruleset_sha256,
        engine=decision.engine,
        facts_json=json.dumps(facts_to_json(facts)) if facts else "{}",
        trace_json=json.dumps(decision.trace, default=str),
        actor=actor,
    )
    s.add(row)
    s.flush()
    return row


def _route(repo: Repository, s: Any, claim: ClaimRow, decision: Decision, decision_id: int | None) -> None:
    reason_codes = [r.code for r in decision.reasons]
    if decision.route is Route.SETTLE and decision.payout is not None:
        _settle(repo, s, claim, decision.payout, decision.currency, decision_id, actor="system")
    elif decision.route is Route.REQUEST_DOCUMENTS:
        request = repo.open_document_request(s, claim.claim_id)
        if request is None:
            request = DocumentRequestRow(claim_id=claim.claim_id)
        request.missing_json = json.dumps(list(decision.missing_documents))
        s.add(request)
    else:
        task = repo.open_review(s, claim.claim_id) or ReviewTaskRow(claim_id=claim.claim_id)
        overridden = decision.trace.get("overridden")
        held_queue = overridden.get("queue") if isinstance(overridden, dict) else None
        task.queue = str(held_queue or decision.trace.get("queue") or "claims")
        task.reasons_json = json.dumps([dataclasses.asdict(r) for r in decision.reasons])
        task.recommendation = decision.recommendation
        s.add(task)
    repo.audit(
        s,
        actor="system",
        action=f"claim_{claim.status}",
        entity="claim",
        entity_id=claim.claim_id,
        reason=",".join(reason_codes) or None,
        data={
            "route": decision.route.value,
            "decision_id": decision_id,
            "ruleset": decision.ruleset_version,
            "payout": str(decision.payout) if decision.payout is not None else None,
        },
    )


def _settle(
    repo: Repository,
    s: Any,
    claim: ClaimRow,
    payout: Decimal,
    currency: str | None,
    decision_id: int | None,
    *,
    actor: str,
) -> None:
    if repo.settlement(s, claim.claim_id) is not None:
        raise ClaimFlowError(f"claim {claim.claim_id} is already settled; it is never paid twice")
    key = hashlib.sha256(f"{claim.claim_id}|settlement".encode()).hexdigest()
    s.add(
        SettlementRow(
            claim_id=claim.claim_id,
            amount=str(payout),
            currency=currency,
            decision_id=decision_id,
            idempotency_key=key,
            actor=actor,
        )
    )
    s.flush()


def _current_outcome(
    repo: Repository, s: Any, claim: ClaimRow, doc_ids: list[int], fields: dict[str, Any]
) -> ClaimOutcome:
    latest = repo.latest_decision(s, claim.claim_id)
    reasons = [Reason(**r) for r in json.loads(latest.reasons_json)] if latest else []
    return ClaimOutcome(
        claim.claim_id,
        claim.route or "",
        claim.status,
        Decimal(claim.payout) if claim.payout else None,
        claim.currency,
        reasons,
        latest.recommendation if latest else None,
        json.loads(latest.missing_json) if latest else [],
        doc_ids,
        fields,
    )


# ----------------------------------------------------------------------- reviewers
def review_action(
    repo: Repository,
    task_id: int,
    *,
    reviewer: str,
    action: str,
    payout: str | None = None,
    note: str | None = None,
    documents: list[str] | None = None,
    corrections: dict[str, str] | None = None,
    authority_limit: Decimal = DEFAULT_AUTHORITY_LIMIT,
    may_approve_second: bool = True,
) -> ClaimOutcome:
    """Apply a reviewer's corrections and decision to an open task; audited.

    Actions: approve (with payout), reject, request_documents, or only `correct`. Corrections are kept for the
    learning loop. Four eyes: nobody approves a claim whose fields they corrected; a payout above
    `authority_limit` is settled only when a second, different reviewer approves the same payout (the first
    approval is recorded as pending and the task stays open).
    """
    if not reviewer.strip():
        raise ReviewActionError("a reviewer name is required (--reviewer)")
    with repo.transaction() as s:
        task = s.get(ReviewTaskRow, task_id)
        if task is None or task.status != "open":
            raise ReviewActionError(f"review task {task_id} is not open; run `claimflow review` to list open tasks")
        claim = s.get(ClaimRow, task.claim_id)
        if claim is None:  # pragma: no cover
            raise ReviewActionError(f"claim of task {task_id} is missing")
        if corrections:
            for fix in parse_corrections(repo, s, claim, corrections):
                fix.reviewer = reviewer
                s.add(fix)
            repo.audit(
                s,
                actor=reviewer,
                action="fields_corrected",
                entity="claim",
                entity_id=claim.claim_id,
                data={"task_id": task_id, "fields": sorted(corrections)},
            )
        if action == "correct":
            if not corrections:
                raise ReviewActionError("say what to correct: --correct FIELD=VALUE (repeatable)")
            return _current_outcome(repo, s, claim, [], {})
        amount = None
        reasons = [Reason("reviewer_decision", f"decided by a person: {action}" + (f" ({note})" if note else ""))]
        if action == "approve":
            amount = _checked_payout(repo, s, claim, payout)
            _check_not_own_correction(repo, s, claim.claim_id, reviewer)
            if amount > authority_limit:
                first = _four_eyes(repo, s, task, claim, reviewer, amount, authority_limit, may_approve_second)
                if first is not None:
                    return first
                reasons[0] = Reason(
                    "reviewer_decision",
                    f"decided by two people: approve above the authority limit {authority_limit}"
                    + (f" ({note})" if note else ""),
                )
            route, status = Route.SETTLE, ClaimStatus.SETTLED
        elif action == "reject":
            if not note:
                raise ReviewActionError("a rejection needs a reason (--note)")
            route, status = Route.REVIEW, ClaimStatus.REJECTED
        elif action == "request_documents":
            if not documents:
                raise ReviewActionError("say which documents are missing (--document, repeatable)")
            route, status = Route.REQUEST_DOCUMENTS, ClaimStatus.PENDING_DOCUMENTS
        else:
            raise ReviewActionError(f"unknown action {action!r}: use approve, reject or request_documents")
        decision = Decision(
            route=route,
            payout=amount,
            currency=claim.currency,
            reasons=reasons,
            recommendation="reject" if action == "reject" else None,
            missing_documents=list(documents or []),
            decided_by=f"reviewer:{reviewer}",
            ruleset="manual",
            ruleset_version="-",
            ruleset_sha256="-",
            engine="person",
            trace={"task_id": task_id, "action": action, "note": note},
        )
        row = _record_decision(s, claim.claim_id, decision, None, actor=reviewer)
        if amount is not None:
            _settle(repo, s, claim, amount, claim.currency, row.id, actor=reviewer)
        if route is Route.REQUEST_DOCUMENTS:
            s.add(DocumentRequestRow(claim_id=claim.claim_id, missing_json=json.dumps(documents)))
        task.status = "closed"
        task.closed_at = utcnow()
        task.closed_by = reviewer
        task.resolution = action
        task.payout = str(amount) if amount is not None else None
        task.note = note
        claim.status = status.value
        claim.route = route.value
        claim.payout = str(amount) if amount is not None else None
        claim.updated_at = utcnow()
        s.add(task)
        s.add(claim)
        repo.audit(
            s,
            actor=reviewer,
            action=f"review_{action}",
            entity="claim",
            entity_id=claim.claim_id,
            reason=note,
            data={"task_id": task_id, "payout": task.payout, "documents": documents or []},
        )
        return _current_outcome(repo, s, claim, [], {})


def _check_not_own_correction(repo: Repository, s: Any, claim_id: str, reviewer: str) -> None:
    """Refuse an approval by someone who corrected the claim's fields (four eyes on every correction)."""
    own = sorted({c.field for c in repo.corrections_of_claim(s, claim_id) if c.reviewer == reviewer})
    if own:
        raise ReviewActionError(
            f"{reviewer} corrected {', '.join(own)} on claim {claim_id}; another reviewer approves it (four eyes)"
        )


def _four_eyes(
    repo: Repository,
    s: Any,
    task: ReviewTaskRow,
    claim: ClaimRow,
    reviewer: str,
    amount: Decimal,
    authority_limit: Decimal,
    may_approve_second: bool = True,
) -> ClaimOutcome | None:
    """Record a first approval above the authority limit (returns the outcome), or accept a valid second one (None).

    `may_approve_second` is False for someone whose role may not give the second approval (the workstation's
    reviewers: only a senior or a supervisor completes four eyes).
    """
    pending = repo.pending_approval(s, task.id or 0)
    if pending is None:
        s.add(ApprovalRow(task_id=task.id or 0, claim_id=claim.claim_id, reviewer=reviewer, payout=str(amount)))
        repo.audit(
            s,
            actor=reviewer,
            action="review_approve_pending",
            entity="claim",
            entity_id=claim.claim_id,
            reason=ReasonCode.AUTHORITY_LIMIT.value,
            data={"task_id": task.id, "payout": str(amount), "authority_limit": str(authority_limit)},
        )
        outcome = _current_outcome(repo, s, claim, [], {})
        outcome.pending_approval = (
            f"approval of {amount} by {reviewer} recorded; it is above the authority limit {authority_limit}, "
            "so a second, different reviewer must approve the same payout"
        )
        return outcome
    if pending.reviewer == reviewer:
        raise ReviewActionError(
            f"{reviewer} already approved {pending.payout} on task {task.id}; above the authority limit "
            f"{authority_limit} a second, different reviewer completes it (four eyes)"
        )
    if not may_approve_second:
        raise ReviewActionError(
            f"{pending.reviewer} approved {pending.payout}, above the authority limit {authority_limit}: the second "
            f"approval needs a senior or a supervisor (four eyes); {reviewer} may reject or ask for documents"
        )
    if Decimal(pending.payout) != amount:
        raise ReviewActionError(
            f"the pending approval by {pending.reviewer} is for {pending.payout}, not {amount}: approve the same "
            "payout, or reject / request documents"
        )
    pending.status = "completed"
    pending.completed_by = reviewer
    pending.completed_at = utcnow()
    s.add(pending)
    return None


def _checked_payout(repo: Repository, s: Any, claim: ClaimRow, payout: str | None) -> Decimal:
    if payout is None:
        raise ReviewActionError("approving needs a payout (--payout 1234.56)")
    try:
        amount = Decimal(payout).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ReviewActionError(f"payout {payout!r} is not an amount like 1234.56") from exc
    policy = policy_info(repo.policy(s, claim.policy_number)) if claim.policy_number else None
    if policy is None or policy.limit is None:
        raise ReviewActionError(
            f"claim {claim.claim_id}: no policy with a limit in the register, so no payout can be checked; "
            "load the policy register first or reject / request documents"
        )
    if not Decimal("0") < amount <= policy.limit:
        raise ReviewActionError(
            f"payout {amount} is outside 0..{policy.limit} (the policy limit); {ReasonCode.PAYOUT_GUARDRAIL.value}"
        )
    return amount
