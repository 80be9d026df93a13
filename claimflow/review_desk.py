"""The one code path for a person's review decision, whichever door it comes through: workstation, CLI, Prefect UI.

Every door establishes an `Identity` (an active account with its role) and calls `apply_action`, which calls
`routing.review_action` with the person's name and whether their role may give the second approval above the
authority limit. So the guards (open task, payout within the policy, four eyes, nobody approves their own
correction) and the audit event live in one place and apply the same way everywhere:

- workstation: password sign-in (or a trusted single-sign-on header) -> Identity;
- command line: `claimflow review TASK --as NAME` -> the account NAME must exist and be active (the operator's
  shell is trusted like the server itself; the role still comes from the account);
- Prefect UI: a flow waits with a typed form; the form carries the account name and a **one-time code** the
  person got from the workstation or `claimflow users code NAME` (after their password). Not the password
  itself: Prefect stores every resume input verbatim in its database, readable by anyone with dashboard access,
  and a used or expired code is worthless there, a password is not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlmodel import col, select

from claimflow.routing import ClaimOutcome, ReviewActionError, review_action
from claimflow.store.repository import Repository, as_datetime
from claimflow.store.tables import utcnow
from claimflow.store.users import SECOND_APPROVERS, ReviewCodeRow, Role, UserRow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen and typed into a form
CODE_LENGTH = 10
CODE_MINUTES = 15
MAX_CODE_FAILURES = 5


@dataclass(frozen=True, slots=True)
class Identity:
    """A person known to ClaimFlow: the name written to the audit log, and the role."""

    name: str
    role: Role


@dataclass(slots=True)
class ActionForm:
    """What a person asks for, parsed: nothing here is trusted until review_action has checked it."""

    action: str
    payout: str | None = None
    note: str | None = None
    documents: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)


def identity_of(repo: Repository, name: str) -> Identity:
    """Return the identity of an active account, or raise ReviewActionError saying how to get one."""
    clean = name.strip().lower()
    with repo.reading() as s:
        user = s.get(UserRow, clean)
    if user is None or not user.active:
        state = "is deactivated" if user is not None else "does not exist"
        raise ReviewActionError(
            f"account {clean!r} {state}: review decisions are made by active accounts; a supervisor adds one with "
            f"`claimflow users add {clean} --role reviewer` (see `claimflow users list`)"
        )
    return Identity(user.name, Role(user.role))


def apply_action(
    repo: Repository, who: Identity, task_id: int, form: ActionForm, *, authority_limit: Decimal
) -> ClaimOutcome:
    """Apply a person's action through `routing.review_action`, audited with their name.

    Corrections (kept for the learning loop) may come alone (`correct`) or with a decision. Above the
    authority limit a payout needs two different people; the second must be a senior or a supervisor.
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
        corrections=form.corrections or None,
        authority_limit=authority_limit,
        may_approve_second=who.role in SECOND_APPROVERS,
    )


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """Upper-case a typed code and drop spaces and dashes (`abcd-efgh-jk` == `ABCDEFGHJK`)."""
    return "".join(ch for ch in code.upper() if ch not in " -")


def issue_review_code(repo: Repository, who: Identity, *, minutes: int = CODE_MINUTES) -> str:
    """Return a new one-time code for `who` (valid `minutes`, one use); only its hash is stored; audited."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = utcnow()
    with repo.transaction() as s:
        s.add(ReviewCodeRow(name=who.name, code_hash=_code_hash(raw), expires_at=now + timedelta(minutes=minutes)))
        repo.audit(
            s, actor=who.name, action="review_code_issued", entity="user", entity_id=who.name,
            data={"valid_minutes": minutes},
        )
    return f"{raw[:5]}-{raw[5:]}"


def redeem_review_code(repo: Repository, name: str, code: str, *, used_for: str) -> Identity:
    """Check name + one-time code and use the code up; return the identity or raise ReviewActionError.

    A code works once, for its own account, until it expires. After MAX_CODE_FAILURES wrong codes for an
    account its open codes are revoked (a guesser gets nothing), and every failure is audited.
    """
    who = identity_of(repo, name)
    wanted = _code_hash(normalise_code(code))
    now = utcnow()
    with repo.transaction() as s:
        rows = list(
            s.exec(
                select(ReviewCodeRow)
                .where(ReviewCodeRow.name == who.name, col(ReviewCodeRow.used_at).is_(None))
                .order_by(col(ReviewCodeRow.id))
            )
        )
        live = [r for r in rows if as_datetime(r.expires_at) > now]
        match = next((r for r in live if hmac.compare_digest(r.code_hash, wanted)), None)
        if match is not None:
            match.used_at = now
            match.used_for = used_for[:200]
            s.add(match)
            repo.audit(s, actor=who.name, action="review_code_used", entity="user", entity_id=who.name,
                       data={"used_for": match.used_for})
            return who
        for row in live:
            row.failures += 1
            if row.failures >= MAX_CODE_FAILURES:
                row.used_at, row.used_for = now, "revoked after wrong codes"
            s.add(row)
        repo.audit(s, actor=who.name, action="review_code_rejected", entity="user", entity_id=who.name,
                   data={"used_for": used_for[:200]})
    raise ReviewActionError(
        f"the one-time code for {who.name} is wrong, used or expired: get a new one on the review workstation "
        f"(\"One-time code\") or with `claimflow users code {who.name}`; codes last {CODE_MINUTES} minutes, one use"
    )


def answer_with_code(
    repo: Repository,
    task_id: int,
    *,
    reviewer: str,
    code: str,
    form: ActionForm,
    authority_limit: Decimal,
    used_for: str,
) -> ClaimOutcome:
    """The Prefect UI's door: verify the account name and one-time code, then `apply_action` as that person."""
    who = redeem_review_code(repo, reviewer, code, used_for=used_for)
    return apply_action(repo, who, task_id, form, authority_limit=authority_limit)


def outcome_message(outcome: ClaimOutcome) -> str:
    """One line saying what an action did (the CLI, the Prefect flow and its log use it)."""
    if outcome.pending_approval:
        return f"claim {outcome.claim_id}: {outcome.status}; {outcome.pending_approval}"
    return f"claim {outcome.claim_id}: {outcome.status}" + (f", payout {outcome.payout}" if outcome.payout else "")

