"""Prefect tasks that wrap one engine call each; they decide nothing and carry ids only.

Task parameters are inbox-relative paths, claim ids and the engine handle (never names or field values),
results are the engine's outcome records (ids, hashes, statuses, routes), and nothing is cached or
persisted: `cache_policy=NO_CACHE` keeps Prefect from hashing or pickling inputs. Only
`TransientError` (locked database, busy file) is retried; a bad document is a result, not a retry.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from claimflow.errors import TransientError
from claimflow.pipeline import DocumentOutcome, Engine
from claimflow.routing import ClaimOutcome

TRANSIENT_RETRIES = 3
Outcome = TypeVar("Outcome", DocumentOutcome, ClaimOutcome)
TRANSIENT_RETRY_DELAYS: list[float] = [1.0, 4.0, 10.0]


def is_transient_failure(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Return True when the task failed with a TransientError, the only failure worth a retry."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:  # any other failure is final: the document or claim is not retried
        return False
    return False


def without_fields(outcome: Outcome) -> Outcome:
    """Drop extracted field values (personal data) so a task result holds ids, statuses and codes only."""
    return dataclasses.replace(outcome, fields={})


@task(
    name="process-document",
    retries=TRANSIENT_RETRIES,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=is_transient_failure,
    cache_policy=NO_CACHE,
)
def process_document_task(relative_path: str, engine: Engine, inbox: Path) -> DocumentOutcome:
    """Take one inbox document (path relative to the inbox) through the engine; return its outcome, ids only."""
    return without_fields(engine.process_file(inbox / relative_path, consume=True))


@task(
    name="resume-pending",
    retries=TRANSIENT_RETRIES,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=is_transient_failure,
    cache_policy=NO_CACHE,
)
def resume_pending_task(engine: Engine) -> list[DocumentOutcome]:
    """Finish the documents that were taken in before a crash; outcomes carry ids only."""
    return [without_fields(outcome) for outcome in engine.resume_pending()]


@task(
    name="decide-claims",
    retries=TRANSIENT_RETRIES,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=is_transient_failure,
    cache_policy=NO_CACHE,
)
def decide_claims_task(claim_ids: list[str], engine: Engine) -> list[ClaimOutcome]:
    """Decide (or re-decide) the given claims and return their routes, ids only."""
    return [without_fields(outcome) for outcome in engine.decide_claims(claim_ids)]
