"""Back-office flows on a schedule: document reminders, review escalation, payment run, daily KPI report.

Each flow builds settings, calls one engine function in a task (retried only on TransientError), and
publishes aggregate-only artifacts. Decisions (what is due, what is paid, what is escalated) are made in
`claimflow.reminders`, `claimflow.payments` and `claimflow.kpi`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from claimflow.payments import instruct_payments, reconcile, write_reconciliation
from claimflow.reminders import escalate_reviews, run_reminders
from claimflow.report import write_report
from claimflow.settings import Settings, load_settings
from claimflow.store.repository import Repository
from flows.supervisor import (
    PAYMENTS_KEY,
    REMINDERS_KEY,
    publish_counts,
    publish_kpi_report,
    publish_supervisor_artifacts,
)
from flows.tasks import TRANSIENT_RETRIES, TRANSIENT_RETRY_DELAYS, is_transient_failure


def _open(settings: Settings) -> Repository:
    settings.home.mkdir(parents=True, exist_ok=True)
    return Repository.open(settings.db_url)


@task(
    name="send-reminders",
    retries=TRANSIENT_RETRIES,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=is_transient_failure,
    cache_policy=NO_CACHE,
)
def send_reminders_task() -> dict[str, int]:
    """Stop, escalate or send the due document reminders; return counts."""
    settings = load_settings()
    with _open(settings) as repo:
        return run_reminders(repo, settings).to_json()


@task(
    name="escalate-reviews",
    retries=TRANSIENT_RETRIES,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=is_transient_failure,
    cache_policy=NO_CACHE,
)
def escalate_reviews_task() -> dict[str, int]:
    """Message supervisors about review tasks past the SLA (once per task); return counts."""
    settings = load_settings()
    with _open(settings) as repo:
        return escalate_reviews(repo, settings).to_json()


@task(
    name="instruct-payments",
    retries=TRANSIENT_RETRIES,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=is_transient_failure,
    cache_policy=NO_CACHE,
)
def instruct_payments_task() -> dict[str, Any]:
    """Write the payment file of the new settlements and today's reconciliation; return counts and file names."""
    settings = load_settings()
    with _open(settings) as repo:
        run = instruct_payments(repo, settings)
        report = reconcile(repo, settings, datetime.now(UTC).date())
        files = write_reconciliation(settings, report)
    return {**run.to_json(), **{f"reconciliation_{k}": v for k, v in report.counts().items()},
            "reconciliation_file": files[0].name}


@flow(name="document-reminders", log_prints=False)
def document_reminders() -> dict[str, int]:
    """Send the due document reminders, stop those whose documents arrived, escalate claims that waited too long."""
    counts = send_reminders_task()
    publish_counts(REMINDERS_KEY, counts, "Document reminders of the last run")
    get_run_logger().info("reminders: %s", counts)
    return counts


@flow(name="review-escalation", log_prints=False)
def review_escalation() -> dict[str, int]:
    """Escalate review tasks past the SLA to supervisors and refresh the backlog artifacts."""
    counts = escalate_reviews_task()
    publish_supervisor_artifacts(load_settings())
    get_run_logger().info("review escalation: %s", counts)
    return counts


@flow(name="payment-run", log_prints=False)
def payment_run() -> dict[str, Any]:
    """Write payment instructions for new settlements (exactly once each) and the daily reconciliation."""
    result = instruct_payments_task()
    publish_counts(PAYMENTS_KEY, result, "Payment run: files, counts and reconciliation (no amounts)")
    get_run_logger().info("payment run: %s", result)
    return result


@flow(name="daily-kpi-report", log_prints=False)
def daily_kpi_report() -> dict[str, Any]:
    """Publish every supervisor artifact and the daily KPI report."""
    settings = load_settings()
    figures = publish_supervisor_artifacts(settings, versions_of(settings))
    written = write_report_task(settings)
    publish_kpi_report(figures, {"Report files": {path.suffix.lstrip("."): str(path) for path in written}})
    return {"stp_rate": figures["stp_rate"], "status": figures["status"], "report": [str(p) for p in written]}


@task(
    name="write-report",
    retries=TRANSIENT_RETRIES,
    retry_delay_seconds=TRANSIENT_RETRY_DELAYS,
    retry_condition_fn=is_transient_failure,
    cache_policy=NO_CACHE,
)
def write_report_task(settings: Settings) -> list[Path]:
    """Write the day's HTML and PDF report under CLAIMFLOW_HOME/reports/DATE."""
    return write_report(settings, settings.home / "reports" / datetime.now(UTC).date().isoformat())


def versions_of(settings: Settings) -> list[dict[str, str]]:
    """Return the rule set and extractor spec versions in force (loaded as the engine loads them)."""
    from claimflow.kpi import versions_in_force
    from claimflow.rules import load_ruleset
    from claimflow.specs import load_specs

    return versions_in_force(load_ruleset(settings.rules, on=datetime.now(UTC).date()), load_specs(settings.extractors))
