"""Who is asking: identities, the two ways to establish them, signed session cookies and CSRF tokens.

Identity comes from one small interface, `Authenticator`. `LocalPasswordAuthenticator` signs people in with
their account's password (scrypt hash in the users table) and keeps them signed in with an HMAC-signed,
HttpOnly, SameSite=Strict session cookie. `TrustedHeaderAuthenticator` is for a company single sign-on in
front of the workstation: a reverse proxy authenticates and sets a header with the user name; the role still
comes from the users table, so a person the supervisors did not add cannot act. Only use it when nothing but
the proxy can reach the workstation's port (it listens on 127.0.0.1 by default).

Every form carries a CSRF token: an HMAC of a random nonce kept in its own SameSite=Strict cookie (double
submit), checked on every POST, the login form included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Protocol

from starlette.requests import Request

from claimflow.review_desk import Identity as Identity  # re-exported: the web's name for a signed-in person
from claimflow.settings import Settings
from claimflow.store.repository import Repository
from claimflow.store.users import Role, get_user, hash_password, verify_password

SESSION_COOKIE = "cf_session"
CSRF_COOKIE = "cf_csrf"
SESSION_SECONDS = 12 * 3600
_DUMMY_HASH = hash_password("not a password", salt=b"0" * 16)


class Authenticator(Protocol):
    """Says who sent a request (None: nobody we know); the one seam for local accounts or single sign-on."""

    uses_login_form: bool

    def identify(self, request: Request) -> Identity | None:
        """Return the identity behind the request, or None."""
        ...


def load_secret(settings: Settings) -> bytes:
    """Return the key that signs cookies: CLAIMFLOW_WEB_SECRET, or a random key kept in CLAIMFLOW_HOME/web-secret."""
    if settings.web_secret:
        return settings.web_secret.encode()
    path = settings.home / "web-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(".web-secret.tmp")
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        tmp.replace(path)
    return Path(path).read_text(encoding="utf-8").strip().encode()


class Signer:
    """HMAC-SHA256 signing of small payloads (session cookies, CSRF tokens)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mac(self, purpose: str, value: str) -> str:
        """Return the URL-safe MAC of `value` for one purpose (a token for one purpose is useless for another)."""
        digest = hmac.new(self._secret, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def session_cookie(self, name: str, *, now: float | None = None) -> str:
        """Return a signed session value for `name`, valid SESSION_SECONDS."""
        issued = int(time.time() if now is None else now)
        body = base64.urlsafe_b64encode(json.dumps({"u": name, "t": issued}).encode()).decode().rstrip("=")
        return f"{body}.{self.mac('session', body)}"

    def session_user(self, value: str | None, *, now: float | None = None) -> str | None:
        """Return the user name of a valid, unexpired session value, else None."""
        if not value or "." not in value:
            return None
        body, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self.mac("session", body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            name, issued = str(data["u"]), int(data["t"])
        except (ValueError, KeyError, TypeError):
            return None
        current = time.time() if now is None else now
        return name if 0 <= current - issued <= SESSION_SECONDS else None

    def csrf_token(self, nonce: str) -> str:
        """Return the form token that belongs to a CSRF cookie nonce."""
        return self.mac("csrf", nonce)

    def csrf_ok(self, nonce: str | None, token: str | None) -> bool:
        """Return whether a form's token matches the request's CSRF cookie."""
        return bool(nonce and token) and hmac.compare_digest(self.csrf_token(nonce or ""), token or "")


def _active_identity(repo: Repository, name: str | None) -> Identity | None:
    if not name:
        return None
    user = get_user(repo, name)
    if user is None or not user.active:
        return None
    return Identity(user.name, Role(user.role))


class LocalPasswordAuthenticator:
    """Local accounts: a password sign-in, then a signed session cookie."""

    uses_login_form = True

    def __init__(self, repo: Repository, signer: Signer) -> None:
        self.repo = repo
        self.signer = signer

    def identify(self, request: Request) -> Identity | None:
        """Return the person of a valid session cookie whose account is still active."""
        return _active_identity(self.repo, self.signer.session_user(request.cookies.get(SESSION_COOKIE)))

    def check_password(self, name: str, password: str) -> Identity | None:
        """Return the identity when name and password match an active account (same work when they do not)."""
        user = get_user(self.repo, name.strip().lower())
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        matches = verify_password(password, stored)
        if user is None or not user.active or not user.password_hash or not matches:
            return None
        return Identity(user.name, Role(user.role))


class TrustedHeaderAuthenticator:
    """Single sign-on through a reverse proxy that sets the user name in a header (CLAIMFLOW_WEB_AUTH=header)."""

    uses_login_form = False

    def __init__(self, repo: Repository, header: str) -> None:
        self.repo = repo
        self.header = header

    def identify(self, request: Request) -> Identity | None:
        """Return the person named by the proxy's header, if they have an active account here."""
        return _active_identity(self.repo, (request.headers.get(self.header) or "").strip().lower() or None)


def make_authenticator(settings: Settings, repo: Repository, signer: Signer) -> Authenticator:
    """Return the authenticator the settings ask for."""
    if settings.web_auth == "header":
        return TrustedHeaderAuthenticator(repo, settings.web_user_header)
    return LocalPasswordAuthenticator(repo, signer)
