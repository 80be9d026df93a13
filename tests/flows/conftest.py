"""Fixtures for the Prefect layer: one session-scoped test harness (tests marked `flow`) and a fake engine."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from claimflow.errors import TransientError
from claimflow.models import Reason
from claimflow.pipeline import DocumentOutcome
from claimflow.routing import ClaimOutcome

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Start one throwaway Prefect API (fresh SQLite) for every `flow` test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    # 240 s like `claimflow up`'s HEALTH_TIMEOUT_SECONDS: a fresh server took over 90 s at load 12-15 on 2 cores, and
    # with several suites at load 20-25 the harness's start timed out (setup errors in test_flows that pass alone)
    with prefect_test_harness(server_startup_timeout=240):
        yield


@pytest.fixture(autouse=True)
def _harness_for_flow_tests(request: pytest.FixtureRequest) -> None:
    """Enter the session harness only for tests marked `flow`, so the others never pay for it."""
    if request.node.get_closest_marker("flow") is not None:
        request.getfixturevalue("prefect_harness")


@pytest.fixture
def claimflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point CLAIMFLOW_HOME and CLAIMFLOW_INBOX at a fresh tmp tree; return the inbox."""
    home = tmp_path / "home"
    inbox = tmp_path / "inbox"
    home.mkdir()
    inbox.mkdir()
    monkeypatch.setenv("CLAIMFLOW_HOME", str(home))
    monkeypatch.setenv("CLAIMFLOW_INBOX", str(inbox))
    monkeypatch.setenv("CLAIMFLOW_OCR_WORKERS", "2")
    return inbox


@dataclass
class FakeEngine:
    """A tiny in-memory engine with the pipeline's API: every file is one processed document of one claim."""

    inbox: Path
    transient_failures: dict[str, int] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    decided: list[list[str]] = field(default_factory=list)
    open_ids: list[str] = field(default_factory=list)
    closed: bool = False

    def discover(self, roots: list[Path]) -> list[Path]:
        return sorted(p for root in roots for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))

    def process_file(self, path: Path, *, consume: bool, roots: object = ()) -> DocumentOutcome:

        name = path.name
        self.calls.append(name)
        if self.transient_failures.get(name, 0) > 0:
            self.transient_failures[name] -= 1
            raise TransientError("database is locked")
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if consume:
            path.unlink()
        return DocumentOutcome(
            file=path.name,
            sha256=sha,
            status="processed",
            document_id=len(self.calls),
            document_type="invoice",
            fields={"claimant_name": {"value": "Zoë Müller"}},  # personal data that must never leave the task
            claim_ids=[f"CLM-{path.stem}"],
        )

    def resume_pending(self) -> list[DocumentOutcome]:
        return []

    def decide_claims(self, claim_ids: list[str]) -> list[ClaimOutcome]:
        self.decided.append(list(claim_ids))
        route = "settle"
        return [
            ClaimOutcome(
                claim_id=c,
                route=route,
                status="settled",
                payout=Decimal("100.00"),
                currency="EUR",
                reasons=[Reason("payout_guardrail", "within limits")],
                fields={"claimant_name": "Zoë Müller"},
            )
            for c in claim_ids
        ]

    def open_claim_ids(self) -> list[str]:
        return list(self.open_ids)

    def close(self) -> None:
        self.closed = True
