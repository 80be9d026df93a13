"""The inbox sweep flow: resume, discover, one task per document, decide the touched claims, report.

This module builds settings and the engine, fans documents out over a thread pool sized by
`settings.ocr_workers`, and publishes aggregate-only artifacts for supervisors. It decides nothing:
every outcome comes from `claimflow.pipeline.Engine`. Task parameters are inbox-relative paths and ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger, unmapped
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import as_completed
from prefect.logging.loggers import LoggingAdapter
from prefect.task_runners import ThreadPoolTaskRunner

from claimflow.errors import ClaimFlowError
from claimflow.pipeline import BatchResult, DocumentOutcome, Engine, summarise_batch
from claimflow.settings import Settings, load_settings
from claimflow.watch import sweep_lock
from flows.supervisor import publish_supervisor_artifacts
from flows.tasks import decide_claims_task, process_document_task, resume_pending_task

BATCH_SUMMARY_KEY = "claims-batch-summary"
BATCH_REPORT_KEY = "claims-batch-report"
PROGRESS_MIN_DOCUMENTS = 20
"""Batches at least this long get a progress artifact, updated every PROGRESS_STEP_PERCENT."""
PROGRESS_STEP_PERCENT = 5.0

RunLogger = logging.Logger | LoggingAdapter


def to_relative(path: Path, inbox: Path) -> str:
    """Return the inbox-relative POSIX path of a discovered file (the only file reference a task gets)."""
    return path.resolve().relative_to(inbox.resolve()).as_posix()


def touched_claim_ids(outcomes: Iterable[DocumentOutcome]) -> list[str]:
    """Return the claim ids the outcomes touched, first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for outcome in outcomes:
        for claim_id in outcome.claim_ids:
            seen.setdefault(claim_id, None)
    return list(seen)


@dataclass
class Sweep:
    """One sweep's batch plus the documents whose task failed unexpectedly (after transient retries)."""

    batch: BatchResult
    failures: list[BaseException] = field(default_factory=list)


def process_documents(
    engine: Engine, settings: Settings, relative_paths: Sequence[str], logger: RunLogger
) -> tuple[list[DocumentOutcome], list[BaseException]]:
    """Run one process-document task per file on a bounded thread pool; report progress on long batches."""
    if not relative_paths:
        return [], []
    total = len(relative_paths)
    progress_id: UUID | None = None
    if total >= PROGRESS_MIN_DOCUMENTS:
        progress_id = cast(UUID, create_progress_artifact(progress=0.0, description=f"Inbox sweep: {total} documents"))
    inbox = settings.inbox
    runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=settings.ocr_workers)
    with runner:
        futures = runner.map(
            process_document_task,
            {"relative_path": list(relative_paths), "engine": unmapped(engine), "inbox": unmapped(inbox)},
        )
        reported = 0.0
        for done, _ in enumerate(as_completed(futures), start=1):
            percent = 100.0 * done / total
            if progress_id is not None and (percent - reported >= PROGRESS_STEP_PERCENT or done == total):
                update_progress_artifact(artifact_id=progress_id, progress=percent)
                reported = percent
        results: list[object] = [future.result(raise_on_failure=False) for future in futures]
    outcomes = [r for r in results if isinstance(r, DocumentOutcome)]
    failures = [r for r in results if isinstance(r, BaseException)]
    logger.info("processed %d documents, %d failed unexpectedly", len(outcomes), len(failures))
    return outcomes, failures


def sweep_once(engine: Engine, settings: Settings, logger: RunLogger) -> Sweep:
    """Resume interrupted documents, process the inbox, decide every touched claim; return the batch.

    One sweep at a time takes the inbox (the watcher's, the scheduled one, the nightly batch): a file lock.
    """
    with sweep_lock(settings.home):
        resumed: list[DocumentOutcome] = resume_pending_task(engine)
        paths = engine.discover([settings.inbox])
        relative_paths = [to_relative(path, settings.inbox) for path in paths]
        logger.info("resumed %d documents, found %d in the inbox", len(resumed), len(relative_paths))
        processed, failures = process_documents(engine, settings, relative_paths, logger)
        documents = [*resumed, *processed]
        claim_ids = touched_claim_ids(d for d in documents if d.status == "processed")
        claims = decide_claims_task(claim_ids, engine) if claim_ids else []
    return Sweep(BatchResult(documents=documents, claims=claims), failures)


def summary_rows(summary: Mapping[str, object]) -> list[dict[str, str]]:
    """Flatten a batch summary into table rows (section, item, value); aggregates only."""
    rows: list[dict[str, str]] = []
    for section, value in summary.items():
        if isinstance(value, Mapping):
            rows.extend({"section": section, "item": str(k), "value": format_value(v)} for k, v in value.items())
        elif isinstance(value, list | tuple) and all(isinstance(v, list | tuple) and len(v) == 2 for v in value):
            rows.extend({"section": section, "item": str(k), "value": format_value(v)} for k, v in value)
        else:
            rows.append({"section": section, "item": "", "value": format_value(value)})
    return rows


def format_value(value: object) -> str:
    """Render one summary value: rates as percentages, Decimals and counts as plain text."""
    if isinstance(value, float):
        return f"{value:.1%}" if 0.0 <= value <= 1.0 else f"{value:.2f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def summary_markdown(title: str, summary: Mapping[str, object]) -> str:
    """Render the summary as a markdown report with one table per section."""
    lines = [f"# {title}", ""]
    current = None
    for row in summary_rows(summary):
        if row["item"] == "":
            lines.append(f"- **{row['section']}**: {row['value']}")
            continue
        if row["section"] != current:
            current = row["section"]
            lines += ["", f"## {current}", "", "| item | value |", "|---|---|"]
        lines.append(f"| {row['item']} | {row['value']} |")
    return "\n".join(lines) + "\n"


def publish_summary(summary: Mapping[str, object], *, key: str, report_key: str, title: str) -> None:
    """Publish the keyed summary table and markdown report (aggregates only, never personal data)."""
    create_table_artifact(key=key, table=summary_rows(summary), description=title)
    create_markdown_artifact(key=report_key, markdown=summary_markdown(title, summary), description=title)


def finish(sweep: Sweep, *, key: str, report_key: str, title: str, logger: RunLogger) -> dict[str, object]:
    """Summarise and publish the batch; raise after publishing if any document failed unexpectedly."""
    summary: dict[str, object] = dict(summarise_batch(sweep.batch))
    if sweep.failures:
        summary["documents_failed_unexpectedly"] = len(sweep.failures)
    publish_summary(summary, key=key, report_key=report_key, title=title)
    logger.info("%s done: %d documents, %d claims", title, len(sweep.batch.documents), len(sweep.batch.claims))
    if sweep.failures:
        raise ClaimFlowError(
            f"{len(sweep.failures)} documents failed with an unexpected error; they stay in the inbox"
        ) from sweep.failures[0]
    return summary


@flow(name="inbox-sweep", log_prints=False)
def inbox_sweep() -> dict[str, object]:
    """Sweep the inbox once: process every new document, decide touched claims, publish the batch summary."""
    logger = get_run_logger()
    settings = load_settings()
    engine = Engine.open(settings)
    try:
        sweep = sweep_once(engine, settings, logger)
    finally:
        engine.close()
    if sweep.batch.documents or sweep.batch.claims:  # an empty sweep changes nothing a supervisor sees
        publish_supervisor_artifacts(settings)
    return finish(sweep, key=BATCH_SUMMARY_KEY, report_key=BATCH_REPORT_KEY, title="Inbox sweep", logger=logger)
