"""People who work the review queue: local accounts with a role and a password hash, and their management.

Roles are ordered: a reviewer works cases up to the authority limit, a senior or supervisor may also give the
second approval a large payout needs. Passwords are kept only as salted scrypt hashes (hashlib; no extra
dependency); an account without a password (`password_hash` empty) can only sign in through a trusted proxy
header. User names are identities for the audit log, so they are never reused for someone else: an account is
deactivated, not deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlmodel import Field, SQLModel, col, select

from claimflow.errors import ClaimFlowError, ExitCode
from claimflow.store.tables import utcnow

if TYPE_CHECKING:
    from claimflow.store.repository import Repository

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
MIN_PASSWORD_LENGTH = 10
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class Role(StrEnum):
    """What a person may do; stored, so never renamed."""

    REVIEWER = "reviewer"
    SENIOR = "senior"
    SUPERVISOR = "supervisor"


SECOND_APPROVERS = frozenset({Role.SENIOR, Role.SUPERVISOR})


class UserError(ClaimFlowError):
    """A user account cannot be created or changed (bad name, role or password, duplicate name)."""

    exit_code = ExitCode.USAGE


class UserRow(SQLModel, table=True):
    """One person with an account on the review workstation."""

    __tablename__ = "app_user"

    name: str = Field(primary_key=True, max_length=40)
    role: str
    password_hash: str = ""
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class ReviewCodeRow(SQLModel, table=True):
    """A one-time code a person uses to sign a review answer given outside the workstation (the Prefect UI).

    Only the code's sha256 is kept; a code is used once (`used_at`), expires, and is revoked after too many
    wrong tries (`failures`).
    """

    __tablename__ = "review_code"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=40)
    code_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    used_for: str | None = None
    failures: int = 0


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return a salted scrypt hash in the self-describing form `scrypt$n$r$p$salt$hash` (base64)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Return whether `password` matches a stored hash (constant-time compare; False for any other form)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


def parse_role(text: str) -> Role:
    """Return the role named by `text` or raise UserError listing the roles."""
    try:
        return Role(text.strip().lower())
    except ValueError as exc:
        raise UserError(f"unknown role {text!r}: use one of {', '.join(r.value for r in Role)}") from exc


def check_name(name: str) -> str:
    """Return the user name if it is a valid login (lower case, 2-40 of a-z 0-9 . _ -), else raise UserError."""
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"user name {name!r} is not valid: 2-40 characters, lower case letters, digits, '.', '_' or '-', "
            "starting with a letter (it is shown in the audit log)"
        )
    return name


def add_user(repo: Repository, name: str, role: Role, password: str | None, *, actor: str = "admin") -> UserRow:
    """Create an account (audited); `password` None makes an account for a trusted proxy only."""
    check_name(name)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with repo.transaction() as s:
        if s.get(UserRow, name) is not None:
            raise UserError(f"user {name!r} exists already; names are never reused (see `claimflow users list`)")
        row = UserRow(name=name, role=role.value, password_hash=hash_password(password) if password else "")
        s.add(row)
        s.flush()
        repo.audit(s, actor=actor, action="user_added", entity="user", entity_id=name, data={"role": role.value})
        return row


def set_active(repo: Repository, name: str, active: bool, *, actor: str = "admin") -> None:
    """Activate or deactivate an account (audited); deactivated people cannot sign in or act."""
    with repo.transaction() as s:
        row = s.get(UserRow, name)
        if row is None:
            raise UserError(f"no user {name!r}; `claimflow users list` shows the accounts")
        row.active = active
        s.add(row)
        repo.audit(
            s, actor=actor, action="user_activated" if active else "user_deactivated", entity="user", entity_id=name
        )


def get_user(repo: Repository, name: str) -> UserRow | None:
    """Return the account of `name`, or None."""
    with repo.reading() as s:
        return s.get(UserRow, name)


def list_users(repo: Repository) -> list[UserRow]:
    """Return every account, by name."""
    with repo.reading() as s:
        return list(s.exec(select(UserRow).order_by(col(UserRow.name))))
