"""Shared by the workstation tests: the people, the claims used, sign-in and link helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

from claimflow.settings import Settings
from claimflow.store.repository import Repository
from claimflow.store.users import Role

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22", "carol": "carol-password-3"}
ROLES = {"alice": Role.REVIEWER, "bob": Role.SENIOR, "carol": Role.SUPERVISOR}
# two claims of the sample packet that go to review: a large one (above the auto-settle limit of 5000) and one
# whose invoice disagrees with the claimed amount
LARGE_CLAIM, INCONSISTENT_CLAIM = "CLM-2026-501008", "CLM-2026-733007"
LINK = re.compile(r"""(?:href|src|action)=["']([^"']*)["']""")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Desk:
    """A processed claims database plus what the tests need to know about it."""

    settings: Settings
    repo: Repository
    task_of: dict[str, int]
    personal: list[str]  # names, policy numbers, IBANs, plates of the claimants in this database


def links_of(html: str) -> list[str]:
    """Return every href, src and form action of a page."""
    return [unescape(m) for m in LINK.findall(html)]


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
