"""The `claimflow` command line (up, process, review, show, check, status, reminders, payments, report, web, ...).

Builds settings and resources, calls the engine, prints; decides nothing. Errors become the stable exit
codes of `errors.ExitCode` (docs/cli.md). stdout carries only the requested output; logs go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from claimflow.errors import ClaimFlowError, ExitCode, SpecError
from claimflow.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("claimflow")


def _fail(message: str, code: ExitCode) -> None:
    click.echo(f"claimflow: {message}", err=True)
    sys.exit(int(code))


def handle_errors(func: F) -> F:
    """Turn ClaimFlow errors into a one-line message and their exit code; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            click.echo("claimflow: the specs or rules are invalid; fix these and run `claimflow check`:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(int(exc.exit_code))
        except ClaimFlowError as exc:
            _fail(exc.message, exc.exit_code)
        except click.ClickException:
            raise  # usage errors: shown by the group with ExitCode.USAGE
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.TRANSIENT)
        except Exception as exc:  # noqa: BLE001 - the top boundary: an exit code, never a traceback
            log.debug("unexpected error", exc_info=True)
            _fail(f"unexpected error ({type(exc).__name__}: {exc}); rerun with -v for details", ExitCode.UNEXPECTED)

    return wrapper  # type: ignore[return-value]


def _settings() -> Settings:
    return load_settings()


class _Group(click.Group):
    """A click group whose usage errors exit with ExitCode.USAGE (click's own 2 is our BAD_DOCUMENT)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.UsageError as exc:
            exc.show()
            sys.exit(int(ExitCode.USAGE))
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            sys.exit(int(ExitCode.USAGE))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """ClaimFlow: inbox -> read -> extract -> rules -> settle or review."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--port", default=4200, show_default=True, help="Port of the local Prefect server and dashboard.")
@click.option("--no-samples", is_flag=True, help="Start with an empty inbox instead of the sample packet.")
@click.option("--once", is_flag=True, help="Stop after the first batch (for scripts and CI).")
@handle_errors
def up(port: int, no_samples: bool, once: bool) -> None:
    """Start the local Prefect server, serve the deployments, process the inbox, print the dashboard URL."""
    from claimflow.enrich import load_enrichment_config
    from claimflow.readers.ocr import check_tesseract
    from claimflow.rules import load_ruleset
    from claimflow.specs import load_specs
    from claimflow.up import run_up

    settings = _settings()
    load_specs(settings.extractors)  # a broken spec or rule set stops here with file:line, before any server starts
    load_ruleset(settings.rules)
    load_enrichment_config(settings.enrichment)
    check_tesseract()
    sys.exit(run_up(settings, port=port, samples=not no_samples, once=once))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: documents, claims, summary.")
@click.option("--consume", is_flag=True, help="Remove taken files from PATH (as the inbox sweep does).")
@handle_errors
def process(paths: tuple[Path, ...], as_json: bool, consume: bool) -> None:
    """Run the engine once on files or folders, without the scheduler."""
    from claimflow.pipeline import Engine

    with Engine.open(_settings()) as engine:
        result = engine.run(list(paths), consume=consume)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        _print_batch(result.to_json())
    docs = result.documents
    if any(d.reason_code == "extraction_error" for d in docs) or any(
        any(r.code == "extraction_error" for r in c.reasons) for c in result.claims
    ):
        sys.exit(int(ExitCode.UNEXPECTED))
    if len(paths) == 1 and paths[0].is_file() and docs and docs[-1].status == "quarantined":
        sys.exit(int(ExitCode.BAD_DOCUMENT))


def _print_batch(data: dict[str, Any]) -> None:
    for doc in data["documents"]:
        detail = doc["document_type"] or ""
        if doc["reason"]:
            detail = f"{doc['reason_code']}: {doc['reason']}"
        click.echo(f"{doc['status']:<12} {doc['file']}  {detail}")
    click.echo("")
    for claim in data["claims"]:
        payout = f" payout {claim['payout']} {claim['currency'] or ''}" if claim["payout"] else ""
        reasons = "; ".join(r["code"] for r in claim["reasons"])
        click.echo(f"{claim['route']:<18} {claim['claim_id']}{payout}  {reasons}")
    s = data["summary"]
    click.echo(
        f"\n{s['documents']} documents {s['documents_by_status']}, {s['claims']} claims {s['claims_by_route']}, "
        f"STP rate {s['stp_rate']:.0%}"
    )


@main.command()
@click.argument("task_id", required=False, type=int)
@click.option("--approve", "action", flag_value="approve", help="Settle with --payout.")
@click.option("--reject", "action", flag_value="reject", help="Reject with a reason in --note.")
@click.option("--request-documents", "action", flag_value="request_documents", help="Ask for --document(s).")
@click.option("--payout", help="Payout for --approve, e.g. 1234.56.")
@click.option("--note", help="Reason or note, stored in the audit log.")
@click.option("--document", "documents", multiple=True, help="A missing document type (repeatable).")
@click.option(
    "--correct",
    "corrections",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Correct an extracted field (repeatable); alone, or with a decision.",
)
@click.option(
    "--as",
    "--reviewer",
    "reviewer",
    envvar="CLAIMFLOW_REVIEWER",
    help="The account that decides (or CLAIMFLOW_REVIEWER); its role applies as on the workstation.",
)
@click.option("--queue", help="Only list this queue.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def review(
    task_id: int | None,
    action: str | None,
    payout: str | None,
    note: str | None,
    documents: tuple[str, ...],
    corrections: tuple[str, ...],
    reviewer: str | None,
    queue: str | None,
    as_json: bool,
) -> None:
    """List open review tasks, or decide one: --approve --payout X, --reject --note WHY, --request-documents."""
    from claimflow.review_desk import ActionForm, apply_action, identity_of, outcome_message
    from claimflow.store.repository import Repository

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    repo = Repository.open(settings.db_url)
    click.get_current_context().call_on_close(repo.close)
    if task_id is None:
        tasks = repo.open_reviews(queue)
        pending = repo.pending_approvals()
        rows = [
            {
                "task_id": t.id,
                "claim_id": t.claim_id,
                "queue": t.queue,
                "age_hours": _age_hours(t.created_at),
                "recommendation": t.recommendation,
                "reasons": json.loads(t.reasons_json),
                "pending_approval": (
                    {"reviewer": pending[t.id].reviewer, "payout": pending[t.id].payout} if t.id in pending else None
                ),
            }
            for t in tasks
        ]
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        click.echo(f"{len(rows)} open review task(s)")
        for r in rows:
            codes = ", ".join(x["code"] for x in r["reasons"])
            rec = f" (recommend {r['recommendation']})" if r["recommendation"] else ""
            if r["pending_approval"]:
                first = r["pending_approval"]
                rec += f" (approved {first['payout']} by {first['reviewer']}; needs a second reviewer)"
            click.echo(f"#{r['task_id']:<5} {r['claim_id']:<24} {r['queue']:<12} {codes}{rec}")
        return
    fixes: dict[str, str] = {}
    for item in corrections:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--correct needs FIELD=VALUE, got {item!r}")
        fixes[name.strip()] = value
    if action is None and fixes:
        action = "correct"
    if action is None:
        raise click.UsageError(
            "say what to do: --approve --payout X, --reject --note WHY, --request-documents, or --correct FIELD=VALUE"
        )
    if not reviewer:
        raise click.UsageError("--as NAME (or CLAIMFLOW_REVIEWER) is required: every decision is audited")
    who = identity_of(repo, reviewer)  # an active account; its role decides what the person may do, as on the web
    form = ActionForm(action, payout, note, list(documents), fixes)
    outcome = apply_action(repo, who, task_id, form, authority_limit=settings.authority_limit)
    click.echo(outcome_message(outcome))


def _age_hours(created: Any) -> float:
    from claimflow.store.repository import as_datetime
    from claimflow.store.tables import utcnow

    return round((utcnow() - as_datetime(created)).total_seconds() / 3600, 1)


@main.command()
@click.argument("claim_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--replay", is_flag=True, help="Decide the stored facts again with the recorded rule set version.")
@handle_errors
def show(claim_id: str, as_json: bool, replay: bool) -> None:
    """Explain a claim's decision in plain words: route, reasons, rules fired with their inputs, fields, history."""
    from claimflow.explain import explain_claim, render_explanation
    from claimflow.store.repository import Repository

    settings = _settings()
    repo = Repository.open(settings.db_url)
    click.get_current_context().call_on_close(repo.close)
    data = explain_claim(repo, claim_id, confidence_threshold=settings.confidence_threshold)
    shadows = [_shadow_json(row) for row in repo.shadow_decisions(claim_id)]
    replays: list[dict[str, Any]] = []
    if replay:
        from claimflow.replay import replay_claim

        replays = [r.to_json() for r in replay_claim(repo, settings.rules, claim_id)]
    if as_json:
        data = {**data, "shadow": shadows, **({"replay": replays} if replay else {})}
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        click.echo(render_explanation(data))
        for sh in shadows[-1:]:
            payout = f", payout {sh['payout']}" if sh["payout"] else ""
            click.echo(
                f"\nShadow rule set {sh['ruleset']} {sh['version']} (not acted on) would decide: "
                f"{sh['route']}{payout}, by {sh['decided_by']}"
            )
        if replay:
            _print_replays(replays)
    if replay and not all(r["reproduced"] for r in replays):
        sys.exit(int(ExitCode.UNEXPECTED))


def _shadow_json(row: Any) -> dict[str, Any]:
    return {
        "route": row.route,
        "payout": row.payout,
        "decided_by": row.decided_by,
        "reasons": json.loads(row.reasons_json),
        "ruleset": row.ruleset,
        "version": row.ruleset_version,
        "sha256": row.ruleset_sha256,
        "live_decision_id": row.live_decision_id,
        "decided_at": row.decided_at,
    }


def _print_replays(replays: list[dict[str, Any]]) -> None:
    if not replays:
        click.echo("\nReplay: no machine decision with stored facts to replay")
    for r in replays:
        head = f"\nReplay of decision #{r['decision_id']} with {r['version']} (sha256 {r['sha256'][:12]}): "
        if r["reproduced"]:
            click.echo(head + "reproduced exactly (route, payout, deciding rule, reasons, trace)")
        else:
            click.echo(head + "NOT reproduced")
            for difference in r["differences"]:
                click.echo(f"  {difference}")
        if r["note"]:
            click.echo(f"  note: {r['note']}")


@main.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@handle_errors
def check(directory: Path | None) -> None:
    """Validate the extractor specs and rule sets (DIR/extractors, DIR/rules; default: the configured ones)."""
    from claimflow.enrich import load_enrichment_config
    from claimflow.rules import check_report, version_changes
    from claimflow.specs import load_specs

    settings = _settings()
    extractors = directory / "extractors" if directory else settings.extractors
    rules = directory / "rules" if directory else settings.rules
    problems: list[str] = []
    n_specs = 0
    try:
        n_specs = len(load_specs(extractors).specs)
    except SpecError as exc:
        problems.extend(exc.problems)
    rule_problems, versions = check_report(rules)
    problems.extend(rule_problems)
    enrichment = settings.enrichment
    if directory and (directory / "config" / "enrichment.yml").exists():
        enrichment = directory / "config" / "enrichment.yml"
    try:
        load_enrichment_config(enrichment)
    except SpecError as exc:
        problems.extend(exc.problems)
    if problems:
        for p in problems:
            click.echo(p, err=True)
        click.echo(f"{len(problems)} problem(s); nothing runs until they are fixed", err=True)
        sys.exit(int(ExitCode.BAD_RULESET))
    click.echo(
        f"ok: {n_specs} extractor specs in {extractors}, rules in {rules} load and their examples pass, "
        f"{enrichment.name} is valid"
    )
    for version in versions:
        tables = len({table for table, _policy in version.tables.values()})
        fired = len(version.rules) - len(version.uncovered)
        click.echo(
            f"  {version.source}: {version.name} {version.version} from {version.effective_from}, "
            f"{len(version.rules)} rules" + (f" ({tables} decision table(s))" if tables else "")
            + f", {len(version.tests)} examples; rule coverage {fired}/{len(version.rules)}"
            + (f"; no example fires: {', '.join(version.uncovered)}" if version.uncovered else "")
        )
    for line in version_changes(versions):
        click.echo(f"  {line}")


@main.group(cls=_Group)
def rules() -> None:
    """Rule sets: export workbooks, backtest a candidate, replay stored decisions."""


@rules.command("export")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@handle_errors
def rules_export(directory: Path | None) -> None:
    """Write the text export (x.xlsx.yml) of every decision-table workbook the rule sets include."""
    from claimflow.rules import export_workbooks

    folder = directory or _settings().rules
    written = export_workbooks(folder)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written)} export(s) changed in {folder}" if written else f"exports in {folder} are up to date")


@rules.command("diff")
@click.argument("candidate", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def rules_diff(candidate: Path, as_json: bool) -> None:
    """Backtest CANDIDATE (a rule set file or folder): replay the stored claims through it and the live set."""
    from claimflow.replay import diff_candidate, render_diff
    from claimflow.rules import load_candidate
    from claimflow.store.repository import Repository

    settings = _settings()
    candidate_set = load_candidate(candidate)
    with Repository.open(settings.db_url) as repo:
        report = diff_candidate(repo, settings.rules, candidate_set)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else render_diff(report))


@rules.command("replay")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def rules_replay(as_json: bool) -> None:
    """Replay every stored machine decision with its recorded rule set version; exit 70 if one differs."""
    from claimflow.replay import replay_all
    from claimflow.store.repository import Repository

    settings = _settings()
    with Repository.open(settings.db_url) as repo:
        replays = replay_all(repo, settings.rules)
    failed = [r for r in replays if not r.reproduced]
    if as_json:
        click.echo(json.dumps([r.to_json() for r in replays], indent=2))
    else:
        for r in failed:
            click.echo(f"{r.claim_id} decision #{r.decision_id} ({r.version}): " + "; ".join(r.differences))
        click.echo(f"{len(replays) - len(failed)}/{len(replays)} stored decisions reproduced exactly")
    if failed:
        sys.exit(int(ExitCode.UNEXPECTED))


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=7, show_default=True)
@handle_errors
def samples(directory: Path, seed: int) -> None:
    """Write the sample packet (DIR/packet) and its ground truth (DIR/truth)."""
    from claimflow.samples import write_packet

    summary = write_packet(directory, seed=seed)
    click.echo(
        f"wrote the sample packet to {directory / 'packet'} and ground truth to {directory / 'truth'}: {summary}"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def status(as_json: bool) -> None:
    """Print what is in the system now: documents by state, claims by route and state, review backlog."""
    from claimflow.kpi import count_inbox_files, flatten_counts, load_snapshot, system_status
    from claimflow.store.repository import Repository
    from claimflow.store.tables import utcnow

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    repo = Repository.open(settings.db_url)
    try:
        data = system_status(
            load_snapshot(repo),
            now=utcnow(),
            sla_hours=settings.review_sla_hours,
            waiting_in_inbox=count_inbox_files(settings.inbox),
        )
    finally:
        repo.close()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    backlog = data["review_backlog"]
    click.echo(f"documents: {flatten_counts(data['documents'])}")
    click.echo(f"claims by route: {flatten_counts(data['claims_by_route'])}")
    click.echo(f"claims by state: {flatten_counts(data['claims'])}")
    click.echo(
        f"review backlog: {backlog['open']} to check ({flatten_counts(backlog['by_queue'])}), "
        f"{backlog['completed']} complete, {backlog['sla_breaches']} over the {settings.review_sla_hours:g} h SLA"
    )


@main.command()
@click.option("--send", is_flag=True, help="Send the due reminders now (what the document-reminders deployment does).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def reminders(send: bool, as_json: bool) -> None:
    """List claims waiting for documents (what is missing, reminders sent, next due); --send runs the due ones."""
    from claimflow.reminders import run_reminders, waiting_claims
    from claimflow.store.repository import Repository
    from claimflow.store.tables import utcnow

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    repo = Repository.open(settings.db_url)
    try:
        result = run_reminders(repo, settings) if send else None
        waiting = waiting_claims(repo, settings, now=utcnow())
    finally:
        repo.close()
    if as_json:
        data: dict[str, Any] = {"waiting": [w.to_json() for w in waiting]}
        if result is not None:
            data["run"] = result.to_json()
        click.echo(json.dumps(data, indent=2))
        return
    if result is not None:
        click.echo("reminder run: " + ", ".join(f"{k} {v}" for k, v in result.to_json().items()))
        for error in result.errors:
            click.echo(f"  {error}", err=True)
    click.echo(f"{len(waiting)} claim(s) waiting for documents")
    for w in waiting:
        click.echo(
            f"{w.claim_id:<24} missing {', '.join(w.missing) or '?'}; {w.reminders} reminder(s) sent, "
            f"next {w.next_due:%Y-%m-%d %H:%M} UTC, escalated after {w.escalate_at:%Y-%m-%d}"
        )


@main.command()
@click.option("--reconcile", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only reconcile this day.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def payments(day: Any, as_json: bool) -> None:
    """Write payment instructions for new settlements (exactly once each) and the reconciliation of the day."""
    from claimflow.payments import instruct_payments, reconcile, write_reconciliation
    from claimflow.store.repository import Repository
    from claimflow.store.tables import utcnow

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    repo = Repository.open(settings.db_url)
    try:
        run = None if day is not None else instruct_payments(repo, settings)
        report = reconcile(repo, settings, day.date() if day is not None else utcnow().date())
        files = write_reconciliation(settings, report)
    finally:
        repo.close()
    if as_json:
        data: dict[str, Any] = {"reconciliation": report.to_json(), "reconciliation_files": [str(f) for f in files]}
        if run is not None:
            data["run"] = {**run.to_json(), "files": [str(f) for f in run.files]}
        click.echo(json.dumps(data, indent=2))
        return
    if run is not None:
        written = ", ".join(str(f) for f in run.files) or "no new file"
        click.echo(f"payment run: {run.instructed} instructed, {len(run.held)} held; {written}")
    counts = report.counts()
    click.echo(
        f"reconciliation {report.day}: {counts['settled']} settled, {counts['instructed']} instructed, "
        f"{counts['differences']} difference(s); {files[0]}"
    )


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder (default CLAIMFLOW_HOME/reports).",
)
@click.option("--no-pdf", is_flag=True, help="Write only the HTML report.")
@handle_errors
def report(out_dir: Path | None, no_pdf: bool) -> None:
    """Write an HTML and PDF report with charts: STP by day, routes, reasons, cycle time, confidence vs accuracy."""
    from claimflow.report import write_report

    settings = _settings()
    written = write_report(settings, out_dir or settings.home / "reports", pdf=not no_pdf)
    for path in written:
        click.echo(str(path))


@main.command()
@click.option("--apply", "apply_index", type=int, help="Write proposal N (as listed) into its spec file.")
@handle_errors
def learn(apply_index: int | None) -> None:
    """Propose spec changes from reviewers' corrections, each replayed on the stored documents first."""
    from claimflow.learning import load_learning_inputs, propose_from_corrections
    from claimflow.specs import load_specs
    from claimflow.store.repository import Repository

    settings = _settings()
    repo = Repository.open(settings.db_url)
    click.get_current_context().call_on_close(repo.close)
    specs = load_specs(settings.extractors)
    corrections, documents, reads = load_learning_inputs(repo, settings.reads_dir)
    proposals = propose_from_corrections(corrections, documents, reads, specs)
    if not proposals:
        click.echo(f"no spec change to propose from {len(corrections)} correction(s)")
        return
    if apply_index is not None:
        if not 1 <= apply_index <= len(proposals):
            raise click.UsageError(f"--apply takes 1..{len(proposals)}")
        chosen = proposals[apply_index - 1]
        chosen.spec_path.write_text(chosen.new_text, encoding="utf-8")
        load_specs(settings.extractors)  # the written file must load, like any spec
        click.echo(f"applied: {chosen.spec_path}: {chosen.field_name} anchors += {chosen.label!r}")
        return
    for number, p in enumerate(proposals, start=1):
        click.echo(
            f"[{number}] {p.document_type}.{p.field_name}: add label {p.label!r} to the anchors\n"
            f"    replayed on {p.documents_replayed} stored document(s): corrected fields right "
            f"{p.right_before}/{p.corrections} -> {p.right_after}/{p.corrections}; "
            f"value changes on {p.changed_elsewhere} other document(s)"
        )
        click.echo(p.diff)
    click.echo("accept one with: claimflow learn --apply N   (then review the diff in git)")


@main.command()
@handle_errors
def verify() -> None:
    """Check that the audit log's hash chain is intact (no event edited or deleted)."""
    from claimflow.store.repository import Repository

    with Repository.open(_settings().db_url) as repo:
        problems = repo.verify_audit()
    if problems:
        for p in problems:
            click.echo(p, err=True)
        sys.exit(int(ExitCode.BAD_CONFIG))
    click.echo(f"audit log intact ({date.today().isoformat()})")


@main.command()
@click.option("--port", type=int, help="Port (default CLAIMFLOW_WEB_PORT, 8765).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (127.0.0.1: this machine).")
@handle_errors
def web(port: int | None, host: str) -> None:
    """Serve the review workstation (queue, cases with page images, decisions) until Ctrl-C."""
    from claimflow.web.server import serve_workstation, workstation_url

    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    click.echo(f"Review workstation: {workstation_url(port or settings.web_port, host)}")
    serve_workstation(settings, host=host, port=port)


@main.group(cls=_Group)
def users() -> None:
    """Manage the people who work the review queue: add, list, deactivate, activate, one-time codes."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help="reviewer, senior or supervisor.")
@click.option("--no-password", is_flag=True, help="No password: the person signs in through a trusted proxy only.")
@handle_errors
def users_add(name: str, role: str, no_password: bool) -> None:
    """Add an account; the password is read from the prompt (or one line of stdin), never from the command line."""
    from claimflow.store.repository import Repository
    from claimflow.store.users import add_user, parse_role

    parsed = parse_role(role)
    password = None if no_password else _read_password()
    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    with Repository.open(settings.db_url) as repo:
        add_user(repo, name, parsed, password)
    click.echo(f"added {name} ({parsed.value})")


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@users.command("code")
@click.argument("name")
@handle_errors
def users_code(name: str) -> None:
    """Print a one-time code (15 minutes, one use) to sign a review answered in the Prefect UI; asks the password."""
    from claimflow.review_desk import CODE_MINUTES, Identity, issue_review_code
    from claimflow.routing import ReviewActionError
    from claimflow.store.repository import Repository
    from claimflow.store.users import Role, get_user, verify_password

    if sys.stdin.isatty():
        password = str(click.prompt(f"Password of {name}", hide_input=True))
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    with Repository.open(settings.db_url) as repo:
        user = get_user(repo, name.strip().lower())
        known = user is not None and user.active and bool(user.password_hash)
        if user is None or not known or not verify_password(password, user.password_hash):
            raise ReviewActionError(f"no active account {name!r} with that password: no code issued")
        code = issue_review_code(repo, Identity(user.name, Role(user.role)))
    click.echo(f"{code}  (one use, {CODE_MINUTES} minutes; type it with your account name in the Prefect review form)")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def users_list(as_json: bool) -> None:
    """List the accounts with their role and whether they are active."""
    from claimflow.store.repository import Repository
    from claimflow.store.users import list_users

    with Repository.open(_settings().db_url) as repo:
        accounts = list_users(repo)
    rows = [{"name": u.name, "role": u.role, "active": u.active} for u in accounts]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['name']:<20} {r['role']:<11} {'active' if r['active'] else 'deactivated'}")


@users.command("deactivate")
@click.argument("name")
@handle_errors
def users_deactivate(name: str) -> None:
    """Stop an account from signing in or acting (the name stays in the audit log, never reused)."""
    from claimflow.store.repository import Repository
    from claimflow.store.users import set_active

    with Repository.open(_settings().db_url) as repo:
        set_active(repo, name, False)
    click.echo(f"deactivated {name}")


@users.command("activate")
@click.argument("name")
@handle_errors
def users_activate(name: str) -> None:
    """Allow a deactivated account again."""
    from claimflow.store.repository import Repository
    from claimflow.store.users import set_active

    with Repository.open(_settings().db_url) as repo:
        set_active(repo, name, True)
    click.echo(f"activated {name}")


if __name__ == "__main__":
    main()
