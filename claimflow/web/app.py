"""The review workstation: a small FastAPI app with server-rendered pages (Jinja2), local CSS and JS only.

Pages: sign in, the queue (filters by queue, priority, age, reason), a case (page images with the fields at
their boxes, reasons, rule trace, history, and the forms to correct, approve, reject or ask for documents).
URLs carry task and document ids only, never a name, policy number or amount. Every POST needs a valid CSRF
token and a signed-in person; every action goes through `routing.review_action`. Errors are shown as a
sentence on the page, never as a traceback.
"""

from __future__ import annotations

import logging
import secrets
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import RequestResponseEndpoint

from claimflow.errors import ClaimFlowError, NotFoundError
from claimflow.review_desk import CODE_MINUTES, issue_review_code
from claimflow.settings import Settings
from claimflow.store.repository import Repository
from claimflow.store.tables import DocumentRow, ReviewTaskRow, utcnow
from claimflow.web.actions import DOCUMENT_CHOICES, apply_action, parse_action_form
from claimflow.web.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Identity,
    LocalPasswordAuthenticator,
    Signer,
    load_secret,
    make_authenticator,
)
from claimflow.web.case import build_case
from claimflow.web.page_images import PageImageError, render_page
from claimflow.web.queue import AGE_FILTERS, PRIORITIES, QueueFilter, build_queue

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
FLASH_COOKIE = "cf_flash"
MAX_FORM_BYTES = 64 * 1024
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in person when there is none."""


def create_app(
    settings: Settings, repo: Repository | None = None, *, clock: Callable[[], datetime] = utcnow
) -> FastAPI:
    """Return the workstation app on the claims database of `settings` (or the given repository)."""
    repo = repo if repo is not None else Repository.open(settings.db_url)
    signer = Signer(load_secret(settings))
    authenticator = make_authenticator(settings, repo, signer)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app = FastAPI(title="ClaimFlow review", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        nonce = request.state.csrf_nonce
        base = {
            "who": getattr(request.state, "who", None),
            "csrf": signer.csrf_token(nonce),
            "flash": request.cookies.get(FLASH_COOKIE),
            "uses_login_form": authenticator.uses_login_form,
        }
        response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
        if base["flash"]:
            response.delete_cookie(FLASH_COOKIE)
        return response

    def require(request: Request) -> Identity:
        who = authenticator.identify(request)
        if who is None:
            raise SignInRequired
        request.state.who = who
        return who

    async def read_form(request: Request) -> dict[str, list[str]]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise ClaimFlowError("the form is too large")
        form = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        if not signer.csrf_ok(request.cookies.get(CSRF_COOKIE), (form.get("csrf") or [""])[-1]):
            raise CsrfError
        return form

    @app.middleware("http")
    async def security(request: Request, call_next: RequestResponseEndpoint) -> Response:
        nonce = request.cookies.get(CSRF_COOKIE)
        fresh = not nonce
        request.state.csrf_nonce = nonce or secrets.token_urlsafe(24)
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf_nonce, httponly=True, samesite="strict", path="/")
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        if authenticator.uses_login_form:
            return RedirectResponse("/login", status_code=303)
        return page(
            request,
            "error.html",
            {"message": "You are not known here. Ask a supervisor to add your account (claimflow users add)."},
            403,
        )

    @app.exception_handler(CsrfError)
    async def csrf_failed(request: Request, exc: CsrfError) -> Response:
        return page(
            request,
            "error.html",
            {"message": "This form has expired or did not come from this workstation. Reload the page and try again."},
            403,
        )

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return page(request, "error.html", {"message": exc.message}, 404)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("review workstation: unexpected %s on %s", type(exc).__name__, request.url.path)
        log.debug("details", exc_info=exc)
        return page(request, "error.html", {"message": "Something went wrong on the server; the log has details."}, 500)

    @app.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/queue", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        if not authenticator.uses_login_form:
            return RedirectResponse("/queue", status_code=303)
        return page(request, "login.html", {"error": None})

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        if not isinstance(authenticator, LocalPasswordAuthenticator):
            return RedirectResponse("/queue", status_code=303)
        name = (form.get("name") or [""])[-1]
        password = (form.get("password") or [""])[-1]
        who = await run_in_threadpool(authenticator.check_password, name, password)
        if who is None:
            log.warning("review workstation: a sign-in failed")
            return page(request, "login.html", {"error": "The name or the password is wrong."}, 401)
        await run_in_threadpool(_audit_sign_in, repo, who)
        response = RedirectResponse("/queue", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            signer.session_cookie(who.name),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            path="/",
        )
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await read_form(request)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, queue: str = "", priority: str = "", reason: str = "", age: str = "") -> Response:
        require(request)
        wanted = QueueFilter(
            queue, priority if priority in PRIORITIES else "", reason, age if age in AGE_FILTERS else ""
        )
        shown = build_queue(
            repo.open_reviews(),
            wanted,
            now=clock(),
            sla_hours=settings.review_sla_hours,
            awaiting_second=set(repo.pending_approvals()),
        )
        context = {"q": shown, "wanted": wanted, "ages": AGE_FILTERS, "priorities": PRIORITIES}
        context["sla_hours"] = settings.review_sla_hours
        return page(request, "queue.html", context)

    def case_page(request: Request, task_id: int, error: str | None = None, status: int = 200) -> Response:
        case = build_case(
            repo,
            task_id,
            now=clock(),
            sla_hours=settings.review_sla_hours,
            threshold=settings.confidence_threshold,
        )
        context = {"case": case, "error": error, "document_choices": DOCUMENT_CHOICES}
        return page(request, "case.html", context, status)

    @app.get("/tasks/{task_id}", response_class=HTMLResponse)
    def case(request: Request, task_id: int) -> Response:
        require(request)
        return case_page(request, task_id)

    @app.post("/tasks/{task_id}", response_class=HTMLResponse)
    async def act(request: Request, task_id: int) -> Response:
        form = await read_form(request)
        who = require(request)
        try:
            case = await run_in_threadpool(
                build_case,
                repo,
                task_id,
                now=clock(),
                sla_hours=settings.review_sla_hours,
                threshold=settings.confidence_threshold,
            )
            current = {f["name"]: f["value"] for f in case.fields if f["editable"]}
            parsed = parse_action_form(form, current)
            outcome = await run_in_threadpool(
                apply_action, repo, who, task_id, parsed, authority_limit=settings.authority_limit
            )
        except NotFoundError:
            raise
        except ClaimFlowError as exc:
            return await run_in_threadpool(case_page, request, task_id, exc.message, 400)
        message = f"Claim {outcome.claim_id}: {outcome.status.replace('_', ' ')}"
        if outcome.pending_approval:
            message += f"; {outcome.pending_approval}"
        elif outcome.payout is not None:
            message += f", payout {outcome.payout} {outcome.currency or ''}".rstrip()
        still_open = await run_in_threadpool(_task_is_open, repo, task_id)
        target = f"/tasks/{task_id}" if still_open else "/queue"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(FLASH_COOKIE, urllib.parse.quote(message), httponly=True, samesite="strict", path="/")
        return response

    @app.get("/code", response_class=HTMLResponse)
    def code_page(request: Request) -> Response:
        require(request)
        return page(request, "code.html", {"code": None, "minutes": CODE_MINUTES})

    @app.post("/code", response_class=HTMLResponse)
    async def one_time_code(request: Request) -> Response:
        await read_form(request)
        who = require(request)
        code = await run_in_threadpool(issue_review_code, repo, who)
        return page(request, "code.html", {"code": code, "minutes": CODE_MINUTES})

    @app.get("/tasks/{task_id}/documents/{document_id}/pages/{number}")
    def page_image(request: Request, task_id: int, document_id: int, number: int) -> Response:
        require(request)
        document = _document_of_task(repo, task_id, document_id)
        try:
            image = render_page(Path(document.archive_path or ""), document.kind, number)
        except PageImageError as exc:
            raise NotFoundError(exc.message) from exc
        return Response(image.png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    templates.env.filters["unquote"] = urllib.parse.unquote
    return app


class CsrfError(Exception):
    """Raised when a POST carries no valid CSRF token."""


def _audit_sign_in(repo: Repository, who: Identity) -> None:
    with repo.transaction() as s:
        repo.audit(s, actor=who.name, action="signed_in", entity="user", entity_id=who.name, data={"role": who.role})


def _task_is_open(repo: Repository, task_id: int) -> bool:
    with repo.reading() as s:
        task = s.get(ReviewTaskRow, task_id)
        return task is not None and task.status == "open"


def _document_of_task(repo: Repository, task_id: int, document_id: int) -> DocumentRow:
    """Return a document of the task's claim; NotFoundError for anything else (no peeking at other claims)."""
    with repo.reading() as s:
        task = s.get(ReviewTaskRow, task_id)
        linked = repo.documents_of_claim(s, task.claim_id) if task is not None else []
    for document, _record in linked:
        if document.id == document_id:
            return document
    raise NotFoundError(f"no document {document_id} in review task {task_id}")
