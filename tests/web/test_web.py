"""The review workstation through FastAPI's TestClient: sign-in, CSRF, roles, actions, page images, URLs."""

from __future__ import annotations

import json
import urllib.parse
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select
from web_support import INCONSISTENT_CLAIM, LARGE_CLAIM, PASSWORDS, Desk, csrf_of, links_of

from claimflow.cli import main
from claimflow.errors import ReasonCode
from claimflow.models import Extraction, Field, Money, Problem, Provenance, ReadMethod
from claimflow.serialise import extraction_to_json
from claimflow.store.repository import Repository
from claimflow.store.tables import DocumentRow, FieldCorrectionRow, ReviewTaskRow, SettlementRow, utcnow
from claimflow.store.users import Role, UserError, add_user, hash_password, set_active, verify_password
from claimflow.web.app import FLASH_COOKIE, create_app
from claimflow.web.auth import CSRF_COOKIE, SESSION_COOKIE, Signer
from claimflow.web.case import case_document
from claimflow.web.page_images import PageImageError, render_page
from claimflow.web.queue import QueueFilter, build_queue, priority_of, sla_state


def _client(desk: Desk, **overrides: object) -> TestClient:
    settings = desk.settings.model_copy(update=overrides) if overrides else desk.settings
    return TestClient(create_app(settings, desk.repo), follow_redirects=False)


def _sign_in(client: TestClient, name: str, password: str | None = None) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "name": name, "password": password or PASSWORDS[name]})
    assert response.status_code == 303 and response.headers["location"] == "/queue", response.text


def _post(client: TestClient, task_id: int, data: dict[str, str | list[str]]) -> object:
    token = csrf_of(client.get(f"/tasks/{task_id}").text)
    return client.post(f"/tasks/{task_id}", data={"csrf": token, **data})


def _task(repo: Repository, task_id: int) -> ReviewTaskRow:
    with repo.reading() as s:
        task = s.get(ReviewTaskRow, task_id)
    assert task is not None
    return task


# ---------------------------------------------------------------------------------------------- sign-in
def test_pages_need_a_signed_in_person(desk: Desk) -> None:
    client = _client(desk)
    task = desk.task_of[LARGE_CLAIM]
    for path in ("/queue", f"/tasks/{task}", f"/tasks/{task}/documents/1/pages/1"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


def test_sign_in_sets_a_signed_httponly_strict_cookie_and_a_wrong_password_does_not(desk: Desk) -> None:
    client = _client(desk)
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"csrf": token, "name": "alice", "password": "not-her-password"})
    assert wrong.status_code == 401 and "name or the password is wrong" in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    unknown = client.post("/login", data={"csrf": token, "name": "mallory", "password": "whatever-password"})
    assert unknown.status_code == 401
    right = client.post("/login", data={"csrf": token, "name": "alice", "password": PASSWORDS["alice"]})
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE) and "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/queue").status_code == 200
    events = [e for e in desk.repo.audit_events("user", "alice") if e.action == "signed_in"]
    assert len(events) == 1 and events[0].actor == "alice"


def test_a_tampered_or_expired_session_or_a_deactivated_account_is_refused(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "alice")
    value = client.cookies[SESSION_COOKIE]
    body, mac = value.rsplit(".", 1)
    forged = Signer(b"another key").session_cookie("carol")
    for bad in (forged, f"{body}x.{mac}", Signer(b"test-secret-not-for-use").session_cookie("alice", now=0)):
        other = _client(desk)
        other.cookies.set(SESSION_COOKIE, bad)
        assert other.get("/queue").status_code == 303
    set_active(desk.repo, "alice", False)
    assert client.get("/queue").status_code == 303


def test_passwords_are_salted_scrypt_hashes_and_names_are_checked(desk: Desk) -> None:
    first, second = hash_password("same password"), hash_password("same password")
    assert first != second and first.startswith("scrypt$") and "same password" not in first
    assert verify_password("same password", first) and not verify_password("Same password", first)
    assert not verify_password("x", "plain-text-password")
    with pytest.raises(UserError, match="not valid"):
        add_user(desk.repo, "Robert'); DROP", Role.REVIEWER, "long-enough-password")
    with pytest.raises(UserError, match="at least"):
        add_user(desk.repo, "dave", Role.REVIEWER, "short")
    with pytest.raises(UserError, match="exists already"):
        add_user(desk.repo, "alice", Role.SUPERVISOR, "long-enough-password")


def test_users_cli_reads_the_password_from_stdin(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_HOME", str(desk.settings.home))
    runner = CliRunner()
    added = runner.invoke(main, ["users", "add", "erin", "--role", "senior"], input="erin-password-9\n")
    assert added.exit_code == 0, added.output
    assert "erin-password-9" not in added.output
    bad_role = runner.invoke(main, ["users", "add", "frank", "--role", "boss"], input="frank-password-9\n")
    assert bad_role.exit_code == 1 and "unknown role" in bad_role.output
    listed = runner.invoke(main, ["users", "list", "--json"])
    assert {"name": "erin", "role": "senior", "active": True} in json.loads(listed.stdout)
    client = _client(desk)
    _sign_in(client, "erin", "erin-password-9")


def test_trusted_header_sign_in_uses_the_role_from_the_users_table(desk: Desk) -> None:
    client = _client(desk, web_auth="header")
    assert client.get("/queue").status_code == 403
    assert client.get("/queue", headers={"X-Forwarded-User": "mallory"}).status_code == 403
    page = client.get("/queue", headers={"X-Forwarded-User": "bob"})
    assert page.status_code == 200 and "bob" in page.text and "senior" in page.text
    assert "Sign out" not in page.text  # the proxy signs people out


# ------------------------------------------------------------------------------------------------- CSRF
def test_every_post_needs_the_csrf_token_of_this_browser(desk: Desk) -> None:
    client = _client(desk)
    assert client.post("/login", data={"name": "alice", "password": PASSWORDS["alice"]}).status_code == 403
    _sign_in(client, "alice")
    task = desk.task_of[INCONSISTENT_CLAIM]
    before = len(desk.repo.audit_events())
    missing = client.post(f"/tasks/{task}", data={"action": "reject", "note": "forged"})
    other_browser = _client(desk)
    foreign = csrf_of(other_browser.get("/login").text)
    forged = client.post(f"/tasks/{task}", data={"csrf": foreign, "action": "reject", "note": "forged"})
    assert missing.status_code == forged.status_code == 403
    assert "expired or did not come from this workstation" in forged.text
    assert _task(desk.repo, task).status == "open" and len(desk.repo.audit_events()) == before
    assert CSRF_COOKIE in client.cookies


# ---------------------------------------------------------------------------------------------- actions
def test_reject_needs_a_reason_and_then_is_audited_with_the_person(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "alice")
    task = desk.task_of[INCONSISTENT_CLAIM]
    refused = _post(client, task, {"action": "reject", "note": ""})
    assert refused.status_code == 400 and "needs a reason" in refused.text  # type: ignore[attr-defined]
    assert _task(desk.repo, task).status == "open"
    done = _post(client, task, {"action": "reject", "note": "invoice does not match the claim"})
    assert done.status_code == 303 and done.headers["location"] == "/queue"  # type: ignore[attr-defined]
    closed = _task(desk.repo, task)
    assert (closed.status, closed.resolution, closed.closed_by) == ("closed", "reject", "alice")
    last = desk.repo.audit_events("claim", INCONSISTENT_CLAIM)[-1]
    assert (last.actor, last.action, last.reason) == ("alice", "review_reject", "invoice does not match the claim")
    assert "rejected" in client.get("/queue").text  # the flash message


def test_corrections_are_stored_for_learning_and_approval_settles(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "bob")
    task = desk.task_of[LARGE_CLAIM]
    page = client.get(f"/tasks/{task}").text
    assert 'name="fix.amount_claimed" value="6856.64"' in page
    fixed = _post(client, task, {"action": "correct", "fix.amount_claimed": "6856.00", "fix.claim_number": LARGE_CLAIM})
    assert fixed.status_code == 303 and fixed.headers["location"] == f"/tasks/{task}"  # type: ignore[attr-defined]
    with desk.repo.reading() as s:
        rows = list(s.exec(select(FieldCorrectionRow)))
    assert [(r.field, r.old_value, r.new_value, r.reviewer, r.page) for r in rows] == [
        ("amount_claimed", "6856.64", "6856.00", "bob", 1)
    ]
    bad = _post(client, task, {"action": "approve", "payout": "12,5x"})
    assert bad.status_code == 400 and "is not an amount" in bad.text  # type: ignore[attr-defined]
    approver = _client(desk)
    _sign_in(approver, "carol")
    settled = _post(approver, task, {"action": "approve", "payout": "900.00"})
    assert settled.status_code == 303, settled.text  # type: ignore[attr-defined]
    with desk.repo.reading() as s:
        settlement = s.exec(select(SettlementRow)).one()
    assert (settlement.claim_id, settlement.amount, settlement.actor) == (LARGE_CLAIM, "900.00", "carol")
    actions = [(e.actor, e.action) for e in desk.repo.audit_events("claim", LARGE_CLAIM)]
    assert ("bob", "fields_corrected") in actions and ("carol", "review_approve") in actions
    assert desk.repo.verify_audit() == []


def test_above_the_authority_limit_two_different_people_approve(desk: Desk) -> None:
    task = desk.task_of[LARGE_CLAIM]
    first = _client(desk, authority_limit=Decimal("500"))
    _sign_in(first, "alice")
    pending = _post(first, task, {"action": "approve", "payout": "900.00"})
    assert pending.status_code == 303 and pending.headers["location"] == f"/tasks/{task}"  # type: ignore[attr-defined]
    assert "second, different reviewer" in urllib.parse.unquote(pending.cookies.get(FLASH_COOKIE) or "")  # type: ignore[attr-defined]
    assert _task(desk.repo, task).status == "open"
    again = _post(first, task, {"action": "approve", "payout": "900.00"})
    assert again.status_code == 400 and "second, different reviewer" in again.text  # type: ignore[attr-defined]
    second = _client(desk, authority_limit=Decimal("500"))
    _sign_in(second, "carol")
    settled = _post(second, task, {"action": "approve", "payout": "900.00"})
    assert settled.status_code == 303, settled.text  # type: ignore[attr-defined]
    with desk.repo.reading() as s:
        settlement = s.exec(select(SettlementRow)).one()
    assert (settlement.amount, settlement.actor) == ("900.00", "carol")
    actions = [(e.actor, e.action) for e in desk.repo.audit_events("claim", LARGE_CLAIM)]
    assert ("alice", "review_approve_pending") in actions and ("carol", "review_approve") in actions


def test_request_documents_keeps_only_known_or_typed_documents(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "alice")
    task = desk.task_of[INCONSISTENT_CLAIM]
    done = _post(
        client,
        task,
        {"action": "request_documents", "documents": ["invoice", "not-a-choice"], "other_document": "repair_photos"},
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    last = desk.repo.audit_events("claim", INCONSISTENT_CLAIM)[-1]
    assert last.action == "review_request_documents" and '"invoice","repair_photos"' in last.data_json


# ------------------------------------------------------------------------------------------ page images
def test_page_images_are_pngs_of_the_claims_own_documents_only(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "alice")
    large, other = desk.task_of[LARGE_CLAIM], desk.task_of[INCONSISTENT_CLAIM]
    page = client.get(f"/tasks/{large}").text
    images = [link for link in links_of(page) if "/pages/" in link]
    assert len(images) == 2  # claim form and invoice, one page each
    assert page.count('class="box ') >= 10  # the fields drawn at their boxes
    for link in images:
        response = client.get(link)
        assert response.status_code == 200 and response.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert response.headers["cache-control"].startswith("private")
    foreign = images[0].replace(f"/tasks/{large}/", f"/tasks/{other}/")
    assert client.get(foreign).status_code == 404
    assert client.get(images[0].replace("/pages/1", "/pages/9")).status_code == 404


# ------------------------------------------------------------------------------------------ no PII in URLs
def test_no_personal_data_in_any_url_of_any_page(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "alice")
    assert desk.personal and any(" " in p for p in desk.personal)  # names, policy numbers, IBANs, plates
    seen: set[str] = set()
    todo = ["/queue", "/queue?reason=amount_over_limit", "/queue?age=over_sla&priority=high"]
    locations: list[str] = []
    while todo:
        url = todo.pop()
        if url in seen or not url.startswith("/") or url == "/logout":  # a form action, POST only
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code in (200, 303), url
        if response.headers.get("location"):
            locations.append(response.headers["location"])
        if response.headers.get("content-type", "").startswith("text/html"):
            page_links = links_of(response.text)
            todo.extend(link for link in page_links if not link.startswith("/static/") and "/pages/" not in link)
            seen.update(link for link in page_links if link.startswith("/static/") or "/pages/" in link)
    task = desk.task_of[INCONSISTENT_CLAIM]
    locations.append(_post(client, task, {"action": "reject", "note": "test"}).headers["location"])  # type: ignore[attr-defined]
    assert len(seen) > 5
    for url in seen | set(locations):
        decoded = urllib.parse.unquote_plus(url).lower()
        assert not [p for p in desk.personal if p.lower() in decoded], url


# --------------------------------------------------------------------------------------------- the queue
def test_queue_filters_by_queue_priority_age_and_reason(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "alice")
    every = client.get("/queue").text
    assert f"#{desk.task_of[LARGE_CLAIM]}" in every and f"#{desk.task_of[INCONSISTENT_CLAIM]}" in every
    only = client.get("/queue?reason=amounts_inconsistent").text
    assert f"#{desk.task_of[INCONSISTENT_CLAIM]}<" in only and f"#{desk.task_of[LARGE_CLAIM]}<" not in only
    assert "Nothing to review" in client.get("/queue?age=over_sla").text
    assert "Nothing to review" in client.get("/queue?queue=fraud").text


def test_queue_rows_sla_and_priority() -> None:
    now = utcnow()
    tasks = [
        ReviewTaskRow(id=1, claim_id="A", queue="claims", reasons_json="[]", created_at=now - timedelta(hours=2)),
        ReviewTaskRow(id=2, claim_id="B", queue="fraud", reasons_json="[]", created_at=now - timedelta(hours=1)),
        ReviewTaskRow(
            id=3,
            claim_id="C",
            queue="claims",
            reasons_json='[{"code": "field_missing", "message": "m"}]',
            created_at=now - timedelta(hours=30),
        ),
    ]
    page = build_queue(tasks, QueueFilter(), now=now, sla_hours=24)
    assert [r.task_id for r in page.rows] == [3, 2, 1]  # breached first, then high priority, then the rest
    assert [r.sla_state for r in page.rows] == ["breached", "ok", "ok"] and page.breached == 1
    assert build_queue(tasks, QueueFilter(reason="field_missing"), now=now, sla_hours=24).rows[0].task_id == 3
    assert [r.task_id for r in build_queue(tasks, QueueFilter(priority="high"), now=now, sla_hours=24).rows] == [2]
    assert sla_state(19, 24) == "due_soon" and sla_state(17, 24) == "ok"
    assert priority_of("claims", ["duplicate_claim"]) == "high" and priority_of("claims", []) == "normal"


# ----------------------------------------------------------------------------------------- case documents
def test_case_document_draws_boxes_on_their_page_and_warns_on_turned_pages() -> None:
    fields = {
        "amount_claimed": Field(
            "amount_claimed", Money(Decimal("12.50"), "EUR"), 0.62, Provenance(ReadMethod.OCR, 2, (0.1, 0.2, 0.3, 0.25))
        ),
        "claim_number": Field("claim_number", "CLM-1", 0.99, Provenance(ReadMethod.OCR, 1, (0.5, 0.1, 0.7, 0.12))),
        "no_box": Field("no_box", "x", 0.99, Provenance(ReadMethod.OCR, 1, None)),
    }
    problems = [Problem(ReasonCode.PAGE_ROTATED, "page 2 was read turned 90 degrees clockwise", page=2)]
    extraction = Extraction("motor_claim_form", 0.9, fields, [], problems)
    doc = DocumentRow(
        id=7,
        sha256="0" * 64,
        original_name="scan.pdf",
        source_path="scan.pdf",
        size=1,
        kind="pdf",
        status="processed",
        pages=2,
        extraction_json=json.dumps(extraction_to_json(extraction)),
    )
    shown = case_document(doc, -1, threshold=0.9)
    assert [p.number for p in shown.pages] == [1, 2]
    first, second = shown.pages
    assert [b.name for b in first.boxes] == ["claim_number"] and not first.notes
    [box] = second.boxes
    assert (box.name, box.value, box.low) == ("amount_claimed", "12.50", True)
    assert (box.x, box.y) == (0.1, 0.2) and abs(box.width - 0.2) < 1e-9 and abs(box.height - 0.05) < 1e-9
    assert len(second.notes) == 1 and "may sit off this image" in second.notes[0]
    sheet = DocumentRow(
        id=8,
        sha256="1" * 64,
        original_name="b.xlsx",
        source_path="b.xlsx",
        size=1,
        kind="xlsx",
        status="processed",
        pages=1,
        extraction_json=json.dumps(extraction_to_json(extraction)),
    )
    assert case_document(sheet, -1, threshold=0.9).pages == []


def test_render_page_shows_image_frames_as_png_and_refuses_other_kinds(tmp_path: Path) -> None:
    tiff = tmp_path / "two-pages.tiff"
    frames = [Image.new("L", (400, 300), 255), Image.new("L", (200, 500), 0)]
    frames[0].save(tiff, save_all=True, append_images=frames[1:])
    second = render_page(tiff, "tiff", 2)
    assert second.png[:8] == b"\x89PNG\r\n\x1a\n" and (second.width, second.height) == (200, 500)
    with pytest.raises(PageImageError, match="page 3 does not exist"):
        render_page(tiff, "tiff", 3)
    with pytest.raises(PageImageError, match="no page images"):
        render_page(tiff, "xlsx", 1)
    with pytest.raises(PageImageError, match="is missing"):
        render_page(tmp_path / "gone.pdf", "pdf", 1)


# ------------------------------------------------------------------------------------------------ four eyes
def test_four_eyes_above_the_authority_limit_through_the_web(desk: Desk) -> None:
    add_user(desk.repo, "dave", Role.REVIEWER, "dave-password-44")
    task = desk.task_of[LARGE_CLAIM]
    limit = {"authority_limit": Decimal("5000")}
    alice, dave, bob = _client(desk, **limit), _client(desk, **limit), _client(desk, **limit)
    _sign_in(alice, "alice")
    _sign_in(dave, "dave", "dave-password-44")
    _sign_in(bob, "bob")

    first = _post(alice, task, {"action": "approve", "payout": "6000.00"})
    assert first.status_code == 303 and first.headers["location"] == f"/tasks/{task}"
    page = alice.get(f"/tasks/{task}").text
    assert 'id="pending-approval"' in page and 'value="6000.00"' in page and "second" in page
    assert "awaiting 2nd approval" in alice.get("/queue").text
    assert _task(desk.repo, task).status == "open"

    again = _post(alice, task, {"action": "approve", "payout": "6000.00"})
    assert again.status_code == 400 and "already approved" in again.text
    by_a_reviewer = _post(dave, task, {"action": "approve", "payout": "6000.00"})
    assert by_a_reviewer.status_code == 400 and "senior or a supervisor" in by_a_reviewer.text
    other_amount = _post(bob, task, {"action": "approve", "payout": "5999.00"})
    assert other_amount.status_code == 400
    with desk.repo.reading() as s:
        assert s.exec(select(SettlementRow)).first() is None  # nobody has settled it alone

    second = _post(bob, task, {"action": "approve", "payout": "6000.00"})
    assert second.status_code == 303 and second.headers["location"] == "/queue"
    with desk.repo.reading() as s:
        settlement = s.exec(select(SettlementRow)).one()
    assert (settlement.amount, settlement.actor) == ("6000.00", "bob")
    actions = [(e.actor, e.action) for e in desk.repo.audit_events("claim", LARGE_CLAIM)]
    assert ("alice", "review_approve_pending") in actions and ("bob", "review_approve") in actions


def test_nobody_approves_their_own_correction_through_the_web(desk: Desk) -> None:
    client = _client(desk)
    _sign_in(client, "carol")
    task = desk.task_of[LARGE_CLAIM]
    assert _post(client, task, {"action": "correct", "fix.loss_type": "theft"}).status_code == 303
    refused = _post(client, task, {"action": "approve", "payout": "100.00"})
    assert refused.status_code == 400 and "corrected" in refused.text
    assert _task(desk.repo, task).status == "open"


def test_a_signed_in_person_gets_a_one_time_code_for_the_prefect_ui(desk: Desk) -> None:
    from claimflow.review_desk import redeem_review_code

    client = _client(desk)
    assert client.post("/code", data={"csrf": "forged"}).status_code == 403
    _sign_in(client, "alice")
    token = csrf_of(client.get("/code").text)
    page = client.post("/code", data={"csrf": token})
    assert page.status_code == 200 and "Never type your password into the Prefect UI" in page.text
    code = page.text.split('id="one-time-code" class="code">')[1].split("<")[0]
    assert redeem_review_code(desk.repo, "alice", code, used_for="test").name == "alice"
    actions = [e.action for e in desk.repo.audit_events("user", "alice")]
    assert actions[-2:] == ["review_code_issued", "review_code_used"]
