"""What a signed-in person asks the workstation to do with a case, read from the posted form.

The web, the command line and the Prefect UI share one code path, `claimflow.review_desk.apply_action`, so
every guard (open task, payout within the policy, four eyes, roles, nobody approves their own correction) and
the audit event with the person's name live there, not here. This module only reads the form: which action,
the payout, the note, the documents asked for, and the fields the reviewer changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from claimflow.review_desk import ActionForm, apply_action
from claimflow.routing import ReviewActionError

ACTIONS = ("approve", "reject", "request_documents", "correct")
DOCUMENT_CHOICES = ("claim_form", "invoice", "police_report", "photos", "repair_estimate")
FIX_PREFIX = "fix."
__all__ = ["ACTIONS", "DOCUMENT_CHOICES", "ActionForm", "apply_action", "parse_action_form"]
MAX_TEXT = 500


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

