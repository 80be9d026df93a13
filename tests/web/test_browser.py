"""End to end in headless Chromium: from the queue to a settled claim, with four eyes above the authority limit.

The workstation runs in uvicorn on a free port in this process; Debian's `chromium` is driven over the Chrome
DevTools protocol (tests/web/chromium_cdp.py). Alice (reviewer) approves a payout above the authority limit,
Bob (senior) gives the second approval and the claim is settled. A screenshot of the case page goes to
test-artifacts/review-page.png. The audit log must show who did what.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from chromium_cdp import Browser, chromium_path
from sqlmodel import select
from web_support import LARGE_CLAIM, PASSWORDS, Desk

from claimflow.settings import PROJECT_ROOT
from claimflow.store.tables import ClaimRow, SettlementRow
from claimflow.web.app import create_app

pytestmark = [pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LIMIT = Decimal("5000")  # the claim asks 6856.64: a payout of 6000.00 needs two people


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(desk: Desk) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(desk.settings.model_copy(update={"authority_limit": LIMIT}), desk.repo),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the workstation did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if chromium_path() is None:
        pytest.fail("chromium is not installed: run scripts/setup.sh (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="claimflow-chromium-") as profile:
        opened = Browser(Path(profile))
        try:
            yield opened
        finally:
            opened.close()


def _fill_and_submit(browser: Browser, form_id: str, values: dict[str, str]) -> None:
    assignments = "".join(f"form.querySelector('[name={name}]').value = {value!r};" for name, value in values.items())
    browser.submit(f"(() => {{ const form = document.getElementById({form_id!r}); {assignments} form.submit(); }})()")


def test_a_review_from_the_queue_to_a_settled_claim(desk: Desk, served: str, browser: Browser) -> None:
    started = time.monotonic()
    task = desk.task_of[LARGE_CLAIM]
    browser.open(f"{served}/queue")
    assert browser.evaluate("location.pathname") == "/login"
    _fill_and_submit(browser, "login-form", {"name": "alice", "password": PASSWORDS["alice"]})
    assert browser.evaluate("location.pathname") == "/queue"
    assert browser.evaluate("document.getElementById('who').textContent").startswith("alice")

    links = browser.evaluate("[...document.querySelectorAll('a.open-task')].map(a => a.textContent)")
    assert f"#{task}" in links
    browser.submit(f"[...document.querySelectorAll('a.open-task')].find(a => a.textContent === '#{task}').click()")
    assert browser.evaluate("location.pathname") == f"/tasks/{task}"
    browser.evaluate(
        "Promise.all([...document.images].map(i => i.complete ? 1 : new Promise(r => { i.onload = i.onerror = r; })))"
    )
    widths = browser.evaluate("[...document.querySelectorAll('img.page-image')].map(i => i.naturalWidth)")
    assert len(widths) == 2 and all(w > 300 for w in widths)  # both pages rendered from the archived PDFs
    boxes = browser.evaluate("[...document.querySelectorAll('rect.box')].map(r => r.dataset.field)")
    assert "amount_claimed" in boxes and "policy_number" in boxes
    reasons = browser.evaluate("document.getElementById('reasons').textContent")
    assert "amount_over_limit" in reasons
    ARTIFACTS.mkdir(exist_ok=True)
    browser.screenshot(ARTIFACTS / "review-page.png")
    assert (ARTIFACTS / "review-page.png").stat().st_size > 20_000

    _fill_and_submit(browser, "approve-form", {"payout": "6000.00", "note": "checked against the invoice"})
    assert browser.evaluate("location.pathname") == f"/tasks/{task}"  # one person cannot settle it
    assert "second" in browser.evaluate("document.getElementById('flash').textContent")
    assert "alice" in browser.evaluate("document.getElementById('pending-approval').textContent")

    browser.submit("document.querySelector('form[action=\"/logout\"]').submit()")
    assert browser.evaluate("location.pathname") == "/login"
    _fill_and_submit(browser, "login-form", {"name": "bob", "password": PASSWORDS["bob"]})
    assert "awaiting 2nd approval" in browser.evaluate("document.getElementById('queue').textContent")
    browser.submit(f"[...document.querySelectorAll('a.open-task')].find(a => a.textContent === '#{task}').click()")
    assert browser.evaluate("document.querySelector('#approve-form [name=payout]').value") == "6000.00"
    browser.submit("document.getElementById('approve-form').submit()")
    assert browser.evaluate("location.pathname") == "/queue"
    flash = browser.evaluate("document.getElementById('flash').textContent")
    assert LARGE_CLAIM in flash and "settled" in flash
    assert f"#{task}" not in browser.evaluate("document.getElementById('queue').textContent")

    with desk.repo.reading() as s:
        claim = s.get(ClaimRow, LARGE_CLAIM)
        settlement = s.exec(select(SettlementRow).where(SettlementRow.claim_id == LARGE_CLAIM)).one()
    assert claim is not None and claim.status == "settled"
    assert (settlement.amount, settlement.actor) == ("6000.00", "bob")
    who_did_what = [(e.actor, e.action) for e in desk.repo.audit_events()]
    for expected in (
        ("alice", "signed_in"),
        ("alice", "review_approve_pending"),
        ("bob", "signed_in"),
        ("bob", "review_approve"),
    ):
        assert expected in who_did_what
    assert desk.repo.verify_audit() == []
    assert time.monotonic() - started < 60
