"""Explain a claim's decision in plain words.

Route, reasons, the rules that fired with the values they read, the missing documents, the fields below the
confidence threshold with their confidence and page, the enrichments the rules read (policy checks, risk
score with its signals, compliance-risk index, duplicates), holds beyond the rules (quality-review sample,
outlier, authority limit, pending second approval), the documents, and the audit history.
"""

from __future__ import annotations

import json
from typing import Any

from claimflow.errors import NotFoundError
from claimflow.routing import claim_view
from claimflow.serialise import public_field
from claimflow.store.repository import Repository


def explain_claim(repo: Repository, claim_id: str, *, confidence_threshold: float) -> dict[str, Any]:
    """Return everything needed to explain a claim, as plain data."""
    claim = repo.claim(claim_id)
    if claim is None:
        raise NotFoundError(f"no claim {claim_id!r}; `claimflow status` and `claimflow review` list what exists")
    with repo.reading() as s:
        view, doc_ids = claim_view(repo, s, claim)
        docs = [(d.id, d.original_name, d.document_type, d.status) for d, _ in repo.documents_of_claim(s, claim_id)]
    decisions = repo.decisions(claim_id)
    latest = decisions[-1] if decisions else None
    trace = json.loads(latest.trace_json) if latest else {}
    machine = next((d for d in reversed(decisions) if d.actor == "system"), None)
    facts = json.loads(machine.facts_json) if machine else {}
    held = (json.loads(machine.trace_json).get("overridden") or {}) if machine else {}
    fields = {n: public_field(f) for n, f in sorted(view.fields.items())}
    return {
        "claim_id": claim_id,
        "status": claim.status,
        "route": claim.route,
        "payout": claim.payout,
        "currency": claim.currency,
        "reasons": json.loads(latest.reasons_json) if latest else [],
        "recommendation": latest.recommendation if latest else None,
        "missing_documents": json.loads(latest.missing_json) if latest else [],
        "decided_by": latest.decided_by if latest else None,
        "ruleset": {
            "name": latest.ruleset,
            "version": latest.ruleset_version,
            "sha256": latest.ruleset_sha256,
            "engine": latest.engine,
        }
        if latest
        else None,
        "trace": trace,
        "fields": fields,
        "low_confidence": {n: f for n, f in fields.items() if f["confidence"] < confidence_threshold},
        "amount_problems": view.amount_problems,
        "enrichment": {name: facts.get(name) for name in ENRICHMENT_FACTS if name in facts},
        "review_selection": held.get("holds") or [],
        "proposed": held or None,
        "outlier_history": held.get("outlier_history"),
        "approvals": [
            {"reviewer": a.reviewer, "payout": a.payout, "status": a.status, "completed_by": a.completed_by}
            for a in repo.approvals(claim_id)
        ],
        "documents": [{"document_id": i, "file": n, "document_type": t, "status": st} for i, n, t, st in docs],
        "decisions": [
            {"at": d.decided_at.isoformat(), "by": d.actor, "route": d.route, "payout": d.payout} for d in decisions
        ],
        "history": [
            {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "reason": e.reason}
            for e in repo.audit_events("claim", claim_id)
        ],
    }


ENRICHMENT_FACTS = (
    "policy_found", "policy_status", "policy_product", "policy_start", "policy_end", "date_of_loss", "loss_type",
    "covered_losses", "waiting_period_days", "policy_active_on_loss", "loss_covered", "in_waiting_period",
    "amount_claimed", "deductible", "coverage_limit", "payout_due", "prior_claims_12m", "prior_claims_12m_total",
    "duplicate_of", "near_duplicate_of", "near_duplicate_similarity", "risk_probability", "risk_impact", "risk_score",
    "risk_signals", "compliance_risk_index", "compliance_signals", "amount_outlier", "qa_sample",
)
"""Facts shown in the explanation's enrichment section (as the machine's last decision saw them)."""


def _yes_no(value: object, yes: str, no: str, unknown: str) -> str:
    return yes if value is True else no if value is False else unknown


def _enrichment_lines(e: dict[str, Any]) -> list[str]:
    """Plain-words lines for the policy checks, duplicates, prior claims, risk and compliance."""
    if not e:
        return []
    lines = ["Policy checks:"]
    if not e.get("policy_found"):
        lines.append("  - no policy found in the register, so nothing below could be checked")
    else:
        lines.append(
            "  - in force on the loss date: "
            + _yes_no(e.get("policy_active_on_loss"), "yes", "NO", "cannot tell")
            + f" (status {e.get('policy_status')}, cover {e.get('policy_start')} to {e.get('policy_end')}, "
            f"loss {e.get('date_of_loss') or '(not read)'})"
        )
        covered = e.get("covered_losses")
        lines.append(
            f"  - loss type {e.get('loss_type') or '(not read)'} covered: "
            + _yes_no(e.get("loss_covered"), "yes", "NO", "cannot tell")
            + (f" (covers {', '.join(covered)})" if covered else " (the register has no covered losses)")
        )
        waiting = e.get("waiting_period_days")
        lines.append(
            "  - in the waiting period: "
            + _yes_no(e.get("in_waiting_period"), "YES", "no", "cannot tell")
            + (f" ({waiting} days from the start)" if waiting is not None else " (the register has no waiting period)")
        )
        lines.append(
            f"  - payout the policy allows: {e.get('payout_due') or '(cannot compute)'} = min(claimed "
            f"{e.get('amount_claimed')} - deductible {e.get('deductible')}, limit {e.get('coverage_limit')}), "
            "not below 0"
        )
    lines.append(
        f"Prior claims on the policy in the 12 months before the loss: {e.get('prior_claims_12m', 0)} "
        f"(total {e.get('prior_claims_12m_total', '0')})"
    )
    if e.get("duplicate_of"):
        lines.append(f"Duplicate: same policy, loss date and amount as claim {e['duplicate_of']}")
    if e.get("near_duplicate_of"):
        lines.append(
            f"Possible duplicate: a page is a re-scan of a page of claim {e['near_duplicate_of']} "
            f"(similarity {e.get('near_duplicate_similarity')})"
        )
    signals = ", ".join(e.get("risk_signals") or []) or "none"
    lines.append(
        f"Risk score: {e.get('risk_score', 0)} = probability {e.get('risk_probability', 0)} x impact "
        f"{e.get('risk_impact', 0)}; signals: {signals}"
    )
    compliance = ", ".join(e.get("compliance_signals") or []) or "none"
    lines.append(f"Compliance-risk index: {e.get('compliance_risk_index', 0)} (signals: {compliance})")
    return lines


def render_explanation(data: dict[str, Any]) -> str:
    """Render an explanation as plain text for a supervisor."""
    lines = [f"Claim {data['claim_id']}: {data['status']} (route {data['route']})"]
    if data["payout"]:
        lines.append(f"  Payout: {data['payout']} {data['currency'] or ''}")
    if data["recommendation"]:
        lines.append(f"  Recommendation for the reviewer: {data['recommendation']}")
    lines.append("Why:")
    lines.extend(f"  - [{r['code']}] {r['message']}" for r in data["reasons"]) if data["reasons"] else lines.append(
        "  -"
    )
    if data["missing_documents"]:
        lines.append("Missing documents: " + ", ".join(data["missing_documents"]))
    fired = data["trace"].get("fired", []) if isinstance(data["trace"], dict) else []
    if fired:
        lines.append("Rules that fired (with the values they read):")
        for rule in fired:
            inputs = ", ".join(f"{k}={v}" for k, v in (rule.get("inputs") or {}).items())
            lines.append(f"  - {rule.get('rule')} -> {rule.get('decision')}: {inputs}")
    errors = data["trace"].get("errors", []) if isinstance(data["trace"], dict) else []
    for err in errors:
        lines.append(f"  ! rule error: {err}")
    if data["ruleset"]:
        rs = data["ruleset"]
        lines.append(f"Rule set: {rs['name']} {rs['version']} (sha256 {rs['sha256'][:12]}, {rs['engine']})")
    if data["amount_problems"]:
        lines.append("Amounts that do not add up:")
        lines.extend(f"  - {p}" for p in data["amount_problems"])
    if data["low_confidence"]:
        lines.append("Fields below the confidence threshold:")
        for name, f in data["low_confidence"].items():
            lines.append(f"  - {name}: confidence {f['confidence']:.2f} on page {f['page']}")
    lines.extend(_enrichment_lines(data.get("enrichment") or {}))
    if data.get("review_selection"):
        proposed = data.get("proposed") or {}
        lines.append(
            "Held for a person although the rules would settle"
            + (f" (proposed payout {proposed.get('payout')})" if proposed.get("payout") else "")
            + ":"
        )
        lines.extend(f"  - [{h['code']}] {h['message']}" for h in data["review_selection"])
        history = data.get("outlier_history")
        if history:
            lines.append(
                f"    (settled {history['claim_type']} claims: {history['settled_claims']}, mean {history['mean']}, "
                f"sd {history['sd']}; outlier above mean + {history['sd_factor']} sd = {history['limit']})"
            )
    for approval in data.get("approvals") or []:
        if approval["status"] == "pending":
            lines.append(
                f"Approval of {approval['payout']} by {approval['reviewer']} waits for a second, different reviewer"
            )
        else:
            lines.append(
                f"Approval of {approval['payout']} by {approval['reviewer']}, {approval['status']}"
                + (f" by {approval['completed_by']}" if approval["completed_by"] else "")
            )
    lines.append("Documents:")
    lines.extend(f"  - #{d['document_id']} {d['document_type']} ({d['file']})" for d in data["documents"])
    lines.append("History:")
    lines.extend(
        f"  {h['at'][:19]} {h['actor']}: {h['action']}" + (f" ({h['reason']})" if h["reason"] else "")
        for h in data["history"]
    )
    return "\n".join(lines)
