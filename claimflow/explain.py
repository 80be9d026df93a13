"""Explain a claim's decision in plain words.

Route, reasons, the rules that fired with the values they read, the fields below the confidence threshold
with their page, the documents, and the audit history.
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
        "documents": [{"document_id": i, "file": n, "document_type": t, "status": st} for i, n, t, st in docs],
        "decisions": [
            {"at": d.decided_at.isoformat(), "by": d.actor, "route": d.route, "payout": d.payout} for d in decisions
        ],
        "history": [
            {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "reason": e.reason}
            for e in repo.audit_events("claim", claim_id)
        ],
    }


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
    lines.append("Documents:")
    lines.extend(f"  - #{d['document_id']} {d['document_type']} ({d['file']})" for d in data["documents"])
    lines.append("History:")
    lines.extend(
        f"  {h['at'][:19]} {h['actor']}: {h['action']}" + (f" ({h['reason']})" if h["reason"] else "")
        for h in data["history"]
    )
    return "\n".join(lines)
