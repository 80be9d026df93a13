"""The nightly batch flow: a full inbox sweep, then a re-decision of every claim still waiting for documents.

Claims that were waiting (pending documents) are decided again so that documents that arrived during the
day, or a rule-set change, take effect. The flow publishes one aggregate-only nightly summary artifact.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from claimflow.pipeline import BatchResult, Engine
from claimflow.settings import load_settings
from flows.ops import versions_of
from flows.supervisor import publish_supervisor_artifacts
from flows.sweep import Sweep, finish, sweep_once
from flows.tasks import decide_claims_task

NIGHTLY_SUMMARY_KEY = "claims-nightly-summary"
NIGHTLY_REPORT_KEY = "claims-nightly-report"


@flow(name="nightly-batch", log_prints=False)
def nightly_batch() -> dict[str, object]:
    """Sweep the inbox, re-decide every open claim, publish the nightly summary."""
    logger = get_run_logger()
    settings = load_settings()
    engine = Engine.open(settings)
    try:
        sweep = sweep_once(engine, settings, logger)
        decided = {claim.claim_id for claim in sweep.batch.claims}
        open_ids = [claim_id for claim_id in engine.open_claim_ids() if claim_id not in decided]
        redecided = decide_claims_task(open_ids, engine) if open_ids else []
    finally:
        engine.close()
    logger.info("re-decided %d open claims", len(redecided))
    publish_supervisor_artifacts(settings, versions_of(settings))
    batch = BatchResult(documents=sweep.batch.documents, claims=[*sweep.batch.claims, *redecided])
    return finish(
        Sweep(batch, sweep.failures),
        key=NIGHTLY_SUMMARY_KEY,
        report_key=NIGHTLY_REPORT_KEY,
        title="Nightly batch",
        logger=logger,
    )
