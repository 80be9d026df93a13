"""A review answered in the Prefect UI: the flow waits on a case with a typed form, then decides through our code path.

Start it for one open review task (deployment `review-case/review-in-prefect`, parameter `task_id`; ids only, so
nothing personal is stored with the run). The run pauses with the form `ReviewAnswer`; the flow run's **Resume**
button in the Prefect UI shows it. The answer names the person (account name + a one-time code from the
workstation or `claimflow users code NAME`) and the decision; the flow calls
`claimflow.review_desk.answer_with_code`, the same `apply_action` the workstation and the CLI call, so roles,
the authority limit, four eyes, the audit log and the settlement are exactly theirs.

An answer the engine refuses (wrong code, a reviewer giving the second approval, a payout outside the policy)
does not end the run: it pauses again with the reason above a fresh form, up to MAX_ANSWERS times. A form the
server can already reject (a payout that is not digits with a dot, an unknown decision) is refused by Prefect at
Resume and the run keeps waiting. The run pauses (it holds its process) for at most `wait_minutes`; then it
fails cleanly and the task stays open for the workstation or the CLI.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Failed
from pydantic import Field, ValidationError

from claimflow.errors import ClaimFlowError
from claimflow.review_desk import CODE_MINUTES, ActionForm, answer_with_code, outcome_message
from claimflow.settings import load_settings
from claimflow.store.repository import Repository
from claimflow.store.tables import ReviewTaskRow
from claimflow.store.users import NAME_PATTERN
from claimflow.web.actions import DOCUMENT_CHOICES

POLL_SECONDS = 5
MAX_ANSWERS = 5
PAYOUT_PATTERN = r"^(\d{1,12}(\.\d{1,2})?)?$"


class ReviewAnswer(RunInput):
    """The form a reviewer fills in the Prefect UI (its JSON schema is what the UI renders and the server checks)."""

    reviewer: str = Field(
        description="Your ClaimFlow account name (as on the review workstation).",
        pattern=NAME_PATTERN.pattern,
    )
    one_time_code: str = Field(
        description=(
            f"A one-time code ({CODE_MINUTES} minutes, one use): review workstation > One-time code, or "
            "`claimflow users code NAME`. Never your password: Prefect keeps what this form receives."
        ),
        min_length=10,
        max_length=20,
        json_schema_extra={"format": "password"},
    )
    decision: Literal["approve", "reject", "request_documents"] = Field(
        description="approve (with a payout), reject (with a reason) or request_documents (with the documents)."
    )
    payout: str = Field(
        default="",
        description="For approve: the amount to pay, digits and a dot, e.g. 950.00 (no thousands separators).",
        pattern=PAYOUT_PATTERN,
    )
    reason: str = Field(default="", max_length=500, description="Why; required to reject. Kept in the audit log.")
    documents: list[str] = Field(
        default_factory=list,
        description=f"For request_documents: the missing documents, e.g. {', '.join(DOCUMENT_CHOICES)}.",
    )

    def to_form(self) -> ActionForm:
        """Return the engine's ActionForm for this answer (the payout stays a string until the engine parses it)."""
        documents = [d.strip() for d in self.documents if d.strip()]
        return ActionForm(self.decision, self.payout.strip() or None, self.reason.strip() or None, documents)


@task(name="read-review-task", cache_policy=NO_CACHE)
def read_review_task(task_id: int) -> dict[str, Any]:
    """Return the task's claim id, queue and whether it is open (ids and codes only)."""
    settings = load_settings()
    with Repository.open(settings.db_url) as repo, repo.reading() as s:
        row = s.get(ReviewTaskRow, task_id)
        if row is None:
            return {"found": False, "open": False}
        return {"found": True, "open": row.status == "open", "claim_id": row.claim_id, "queue": row.queue}


@task(name="apply-review-answer", cache_policy=NO_CACHE)
def apply_review_answer(task_id: int, answer: ReviewAnswer, used_for: str) -> dict[str, Any]:
    """Check the person and apply the answer through `answer_with_code`; a refusal is a result, not a failure."""
    settings = load_settings()
    try:
        with Repository.open(settings.db_url) as repo:
            outcome = answer_with_code(
                repo,
                task_id,
                reviewer=answer.reviewer,
                code=answer.one_time_code,
                form=answer.to_form(),
                authority_limit=settings.authority_limit,
                used_for=used_for,
            )
    except ClaimFlowError as exc:  # refused (code, role, four eyes, payout) or the database is busy: ask again
        return {"applied": False, "message": exc.message}
    return {"applied": True, "message": outcome_message(outcome), "status": outcome.status}


def form_description(task_id: int, task: dict[str, Any], authority_limit: object, refusal: str | None) -> str:
    """Markdown above the form: the case reference and how to answer; no personal data (ids and codes only)."""
    lines = [
        f"## Review task #{task_id}, claim {task['claim_id']} (queue {task['queue']})",
        "",
        f"Read the case on the review workstation (`/tasks/{task_id}`): page images, fields, reasons, rule trace.",
        "Answer with your account name and a **one-time code** (workstation > One-time code, or "
        "`claimflow users code NAME`), never your password.",
        f"The same checks as on the workstation apply: your role, the authority limit ({authority_limit}: above it "
        "two different people approve the same payout, the second a senior or supervisor), and nobody approves "
        "a claim whose fields they corrected.",
    ]
    if refusal:
        lines += ["", f"**The previous answer was not applied:** {refusal}"]
    return "\n".join(lines)


def _used_for(task_id: int, attempt: int) -> str:
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else "local"
    return f"prefect flow run {run_id}, review task {task_id}, answer {attempt}"


@flow(name="review-case", flow_run_name="review-task-{task_id}", log_prints=False)
def review_case(task_id: int, wait_minutes: int = 60) -> str | State[Any]:
    """Wait in the Prefect UI for a person's decision on one open review task and apply it through our code path."""
    logger = get_run_logger()
    task_state = read_review_task(task_id)
    if not task_state["open"]:
        what = "is not open" if task_state["found"] else "does not exist"
        return Failed(message=f"review task {task_id} {what}; `claimflow review` lists the open tasks")
    limit = load_settings().authority_limit
    refusal: str | None = None
    for attempt in range(1, MAX_ANSWERS + 1):
        form = ReviewAnswer.with_initial_data(description=form_description(task_id, task_state, limit, refusal))
        try:
            answer = pause_flow_run(
                wait_for_input=form,
                timeout=max(1, wait_minutes) * 60,
                poll_interval=POLL_SECONDS,
                key=f"review-{task_id}-{attempt}",
            )
        except FlowPauseTimeout:
            return Failed(message=f"no answer within {wait_minutes} minutes; task {task_id} stays open")
        except ValidationError as exc:  # the server checks the schema; this is for what only pydantic checks
            refusal = "the form is not valid: " + "; ".join(str(e["msg"]) for e in exc.errors())
            logger.warning("review task %d: answer %d refused: %s", task_id, attempt, refusal)
            continue
        result = apply_review_answer(task_id, answer, _used_for(task_id, attempt))
        if result["applied"]:
            logger.info("review task %d: %s", task_id, result["message"])
            return str(result["message"])
        refusal = result["message"]
        logger.warning("review task %d: answer %d refused: %s", task_id, attempt, refusal)
        if not read_review_task(task_id)["open"]:
            return Failed(message=f"review task {task_id} was closed elsewhere (workstation or CLI)")
    return Failed(message=f"{MAX_ANSWERS} answers were refused; task {task_id} stays open (last: {refusal})")
