"""A review answered in the Prefect form: the run pauses, is resumed with typed input, our code path decides."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from claimflow.review_desk import Identity, issue_review_code
from claimflow.settings import load_settings
from claimflow.store.repository import Repository
from claimflow.store.tables import ClaimRow, PolicyRow, ReviewTaskRow
from claimflow.store.users import Role, add_user

pytestmark = pytest.mark.flow

WAIT_SECONDS = 90.0


@pytest.fixture
def desk(claimflow_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repository]:
    """A claims database with one claim in review above the authority limit and three accounts."""
    import flows.review

    monkeypatch.setattr(flows.review, "POLL_SECONDS", 1)
    monkeypatch.setenv("CLAIMFLOW_AUTHORITY_LIMIT", "10000")
    settings = load_settings()
    repo = Repository.open(settings.db_url)
    with repo.transaction() as s:
        s.add(PolicyRow(policy_number="POL-9", status="active", limit_amount="50000", deductible="0", currency="EUR"))
        s.add(ClaimRow(claim_id="CLM-BIG", claim_type="motor", source="documents", status="in_review",
                       policy_number="POL-9", currency="EUR", amount_claimed="12000"))
        s.flush()
        s.add(ReviewTaskRow(claim_id="CLM-BIG", queue="claims"))
    add_user(repo, "alice", Role.REVIEWER, None)
    add_user(repo, "dave", Role.REVIEWER, None)
    add_user(repo, "bob", Role.SENIOR, None)
    yield repo
    repo.close()


def _code(repo: Repository, name: str, role: Role) -> str:
    return issue_review_code(repo, Identity(name, role))


def _paused_run(after: set[UUID], key: str) -> Any:
    """Wait until a review-case run (not in `after`) is paused on the form `key`; return the flow run."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    deadline = time.monotonic() + WAIT_SECONDS
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["review-case"])))
            for run in runs:
                details = run.state.state_details if run.state else None
                if run.id not in after and run.state and run.state.is_paused() and details.pause_key == key:
                    return run
            time.sleep(0.5)
    raise AssertionError(f"no review-case run paused on {key} within {WAIT_SECONDS} s")


def _known_runs() -> set[UUID]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return {r.id for r in client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["review-case"])))}


def _start(task_id: int) -> tuple[ThreadPoolExecutor, Future[Any]]:
    from flows.review import review_case

    pool = ThreadPoolExecutor(max_workers=1)
    return pool, pool.submit(review_case, task_id=task_id, wait_minutes=2, return_state=True)


def _answer(**fields: str) -> dict[str, Any]:
    return {"decision": "approve", "payout": "12000.00", "reason": "", "documents": [], **fields}


def test_a_review_answered_in_the_prefect_form_goes_through_four_eyes_and_the_audit(desk: Repository) -> None:
    from prefect.flow_runs import resume_flow_run
    from prefect.input.actions import read_flow_run_input

    before = _known_runs()
    pool, future = _start(1)
    try:
        run = _paused_run(before, "review-1-1")
        description = str(read_flow_run_input("paused-review-1-1-description", run.id))
        assert "Review task #1, claim CLM-BIG" in description and "one-time code" in description
        assert "12000" not in description and "POL-9" not in description  # the case reference only
        assert dict(run.parameters) == {"task_id": 1, "wait_minutes": 2}  # ids only
        assert run.name == "review-task-1"
        # 1) a payout that is not an amount is refused by the server against the form's schema: still waiting
        with pytest.raises(RuntimeError, match="payout"):
            code = _code(desk, "alice", Role.REVIEWER)
            resume_flow_run(run.id, run_input=_answer(reviewer="alice", one_time_code=code, payout="12.000,00"))
        assert _paused_run(before, "review-1-1").id == run.id
        # 2) a first approval by a reviewer: recorded as pending, the run completes (a second person is needed)
        resume_flow_run(run.id, run_input=_answer(reviewer="alice", one_time_code=_code(desk, "alice", Role.REVIEWER)))
        state = future.result(timeout=WAIT_SECONDS)
        assert state.is_completed() and "second, different reviewer" in state.result()
    finally:
        pool.shutdown(wait=False)
    assert desk.claim("CLM-BIG").status == "in_review"  # type: ignore[union-attr]

    before = _known_runs()
    pool, future = _start(1)
    try:
        run = _paused_run(before, "review-1-1")
        # 3) a second reviewer without the role: refused by our code path, the run asks again with the reason
        resume_flow_run(run.id, run_input=_answer(reviewer="dave", one_time_code=_code(desk, "dave", Role.REVIEWER)))
        again = _paused_run(before, "review-1-2")
        assert again.id == run.id
        told = str(read_flow_run_input("paused-review-1-2-description", run.id))
        assert "previous answer was not applied" in told and "needs a senior or a supervisor" in told
        # 4) a wrong one-time code: refused, asked again
        resume_flow_run(run.id, run_input=_answer(reviewer="bob", one_time_code="WRONG-CODE1"))
        _paused_run(before, "review-1-3")
        # 5) the senior's answer settles the claim, audited with both names
        resume_flow_run(run.id, run_input=_answer(reviewer="bob", one_time_code=_code(desk, "bob", Role.SENIOR),
                                                  reason="checked the invoice"))
        state = future.result(timeout=WAIT_SECONDS)
        assert state.is_completed() and "settled, payout 12000.00" in state.result()
    finally:
        pool.shutdown(wait=False)
    claim = desk.claim("CLM-BIG")
    assert claim is not None and (claim.status, claim.payout) == ("settled", "12000.00")
    actions = [(e.actor, e.action) for e in desk.audit_events("claim", "CLM-BIG")]
    assert actions == [("alice", "review_approve_pending"), ("bob", "review_approve")]
    codes = [(e.actor, e.action) for e in desk.audit_events("user") if e.action.startswith("review_code_")]
    assert ("dave", "review_code_used") in codes and ("bob", "review_code_rejected") in codes


def test_a_closed_task_fails_cleanly_without_waiting(desk: Repository) -> None:
    from flows.review import review_case

    state = review_case(task_id=99, wait_minutes=1, return_state=True)
    assert state.is_failed() and "review task 99 does not exist" in str(state.message)


def test_the_form_carries_the_case_reference_only(desk: Repository) -> None:
    from flows.review import ReviewAnswer, form_description

    text = form_description(1, {"claim_id": "CLM-BIG", "queue": "claims"}, "10000", "payout refused")
    assert "CLM-BIG" in text and "one-time code" in text and "payout refused" in text
    schema = ReviewAnswer.model_json_schema()
    assert schema["properties"]["payout"]["pattern"] and set(schema["required"]) >= {"reviewer", "decision"}
    assert schema["properties"]["decision"]["enum"] == ["approve", "reject", "request_documents"]
