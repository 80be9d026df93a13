"""What a signed-in person asks the workstation to do with a case, turned into one `routing.review_action` call.

The web, the command line and (later) the Prefect UI share that one code path, so every guard (open task,
payout within the policy, four eyes, nobody approves their own correction) and the audit event with the
person's name live there, not here. This module only reads the form: which action, the payout, the note,
the documents asked for, and the fields the reviewer changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from claimflow.routing import ClaimOutcome, ReviewActionError, review_action
from claimflow.store.repository import Repository
from claimflow.store.users import SECOND_APPROVERS
from claimflow.web.auth import Identity

ACTIONS = ("approve", "reject", "request_documents", "correct")
DOCUMENT_CHOICES = ("claim_form", "invoice", "police_report", "photos", "repair_estimate")
FIX_PREFIX = "fix."
MAX_TEXT = 500


@dataclass(slots=True)
class ActionForm:
    """A case form, parsed: nothing here is trusted until review_action has checked it."""

    action: str
    payout: str | None = None
    note: str | None = None
    documents: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)


def _one(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name) or []
    text = values[-1].strip() if values else ""
    if len(text) > MAX_TEXT:
        raise ReviewActionError(f"{name} is longer than {MAX_TEXT} characters")
    return text or None


def parse_action_form(form: Mapping[str, Sequence[str]], current: Mapping[str, str]) -> ActionForm:
    """Return the action a case form asks for; `current` holds the fields' shown values (unchanged ones are dropped)."""
    action = _one(form, "action") or ""
    if action not in ACTIONS:
        raise ReviewActionError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    documents = [d for d in (form.get("documents") or []) if d in DOCUMENT_CHOICES]
    other = _one(form, "other_document")
    if other:
        documents.extend(part.strip() for part in other.split(",") if part.strip())
    corrections: dict[str, str] = {}
    for key, values in form.items():
        if not key.startswith(FIX_PREFIX) or not values:
            continue
        name = key[len(FIX_PREFIX) :]
        if name not in current:
            raise ReviewActionError(f"field {name!r} is not a field of this claim")
        value = values[-1].strip()
        if value != current[name]:
            if not value:
                raise ReviewActionError(f"field {name}: an empty value cannot be a correction")
            corrections[name] = value
    return ActionForm(action, _one(form, "payout"), _one(form, "note"), documents, corrections)


def apply_action(
    repo: Repository, who: Identity, task_id: int, form: ActionForm, *, authority_limit: Decimal
) -> ClaimOutcome:
    """Apply the form through the one code path shared with the command line; audited with the person's name.

    Above the authority limit a payout needs two different people; the second must be a senior or a supervisor.
    """
    if form.action == "correct" and not form.corrections:
        raise ReviewActionError("change at least one field value before saving corrections")
    return review_action(
        repo,
        task_id,
        reviewer=who.name,
        action=form.action,
        payout=form.payout if form.action == "approve" else None,
        note=form.note,
        documents=form.documents if form.action == "request_documents" else None,
        corrections=form.corrections if form.action == "correct" else None,
        authority_limit=authority_limit,
        may_approve_second=who.role in SECOND_APPROVERS,
    )
