"""The inbox watcher in the flow server: a Prefect event per landed file, then an arrival sweep at once.

`claimflow up` starts `python -m flows.serve --watch`, which calls `start_watcher`: the engine is opened once
(loading specs and rules takes seconds; it is opened again when the day or a rule or spec file changes, as
rule sets are effective-dated) and every batch of landed files runs the `inbox-arrival` flow in this
process, so a dropped document is decided within seconds. The `inbox-sweep` deployment keeps running every
30 s as the safety net. Scale-out form: `python -m flows.watch --emit-only` only emits the events, and the
`inbox-sweep` deployment's trigger in prefect.yaml runs the sweep on a worker.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from prefect import Flow, flow, get_run_logger
from prefect.events import emit_event

from claimflow.pipeline import Engine
from claimflow.settings import Settings, load_settings
from claimflow.watch import InboxWatcher, SweepRunner, folder_signature
from flows.supervisor import publish_supervisor_artifacts
from flows.sweep import BATCH_REPORT_KEY, BATCH_SUMMARY_KEY, finish, sweep_once

ARRIVED_EVENT = "claimflow.inbox.document-arrived"
log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str | None:
    """Return the sha256 of a file (the only reference an event carries), or None if it is gone."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def emit_arrivals(paths: Sequence[Path]) -> int:
    """Emit one `claimflow.inbox.document-arrived` event per file (resource = sha256 prefix, no file name)."""
    emitted = 0
    for path in paths:
        sha = file_sha256(path)
        if sha is None:
            continue
        emit_event(
            event=ARRIVED_EVENT,
            resource={"prefect.resource.id": f"claimflow.inbox.{sha[:16]}", "prefect.resource.name": "inbox document"},
            payload={"sha256": sha, "bytes": path.stat().st_size if path.exists() else 0},
        )
        emitted += 1
    return emitted


class EngineHolder:
    """The watcher's engine: opened once, opened again when the day or a rule or spec file changes.

    Rule sets are effective-dated (the version in force is picked when the engine opens), so a long-lived engine
    must not decide tomorrow's claims with today's version, nor keep a rule file that was changed on disk.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._key: object = None

    def _current_key(self) -> object:
        folders = [self.settings.rules, self.settings.extractors]
        return (date.today(), *(folder_signature(folder) for folder in folders))

    def get(self) -> Engine:
        """Return the engine, reopened first if the day or a rule/spec file changed."""
        key = self._current_key()
        if self._engine is None or key != self._key:
            # a broken rule file raises here: nothing is decided until it is fixed; a fresh engine has a fresh
            # OCR reader, whose models load in the background so the next scanned page does not wait for them
            fresh = Engine.open(self.settings, preload=True)
            if self._engine is not None:
                self._engine.close()
            self._engine, self._key = fresh, key
        return self._engine

    def close(self) -> None:
        """Release the engine's database."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def make_arrival_flow(engines: EngineHolder, settings: Settings) -> Flow[[], dict[str, object]]:
    """Return the `inbox-arrival` flow bound to the watcher's engine holder."""

    @flow(name="inbox-arrival", log_prints=False)
    def inbox_arrival() -> dict[str, object]:
        """Process the documents the watcher saw land: the inbox sweep's steps with the watcher's engine."""
        logger = get_run_logger()
        sweep = sweep_once(engines.get(), settings, logger)
        if sweep.batch.documents or sweep.batch.claims:
            publish_supervisor_artifacts(settings)
        return finish(sweep, key=BATCH_SUMMARY_KEY, report_key=BATCH_REPORT_KEY, title="Inbox arrival", logger=logger)

    return inbox_arrival


@dataclass
class RunningWatcher:
    """The watcher thread, the sweep runner and the engine of the flow server; `stop()` ends all three."""

    watcher: InboxWatcher
    runner: SweepRunner | None
    engines: EngineHolder | None

    def stop(self) -> None:
        """Stop watching, let running sweeps finish, close the engine."""
        self.watcher.stop()
        if self.runner is not None:
            self.runner.stop()
        if self.engines is not None:
            self.engines.close()


def start_watcher(settings: Settings, *, poll_seconds: float = 0.2) -> RunningWatcher:
    """Open the engine, start the watcher and two sweep runners; landed files emit events and start a sweep."""
    engines = EngineHolder(settings)
    engines.get()  # open now: a broken spec stops the flow server at start, and the first drop is fast
    runner = SweepRunner(make_arrival_flow(engines, settings)).start()

    def on_files(paths: list[Path]) -> None:
        runner.request(paths)
        emit_arrivals(paths)

    watcher = InboxWatcher(settings.inbox, on_files, poll_seconds=poll_seconds, stable_seconds=settings.stable_seconds)
    return RunningWatcher(watcher.start(), runner, engines)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m flows.watch --emit-only`: emit arrival events for a worker-based deployment (scale-out form)."""
    parser = argparse.ArgumentParser(prog="python -m flows.watch", description=__doc__.splitlines()[0])
    parser.add_argument("--emit-only", action="store_true", help="only emit events (a deployment trigger sweeps)")
    args = parser.parse_args(argv)
    settings = load_settings()
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    if args.emit_only:

        def emit(paths: list[Path]) -> None:
            emit_arrivals(paths)

        running = RunningWatcher(
            InboxWatcher(settings.inbox, emit, stable_seconds=settings.stable_seconds).start(), None, None
        )
    else:
        running = start_watcher(settings)
    while not stop.wait(1.0):
        pass
    running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
