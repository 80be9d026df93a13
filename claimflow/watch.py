"""Notice documents landing in the inbox within a fraction of a second, and keep two sweeps from overlapping.

`InboxWatcher` polls the inbox (a stat per file every `poll_seconds`: watchfiles/inotify is not installed, and
polling also works on network shares) and calls `on_files` with the files that have been stable for
`stable_seconds`. It never processes anything itself: `claimflow up` gives it a callback that emits a Prefect
event and runs the sweep in the flow server, and the periodic sweep stays the safety net for anything dropped
while the watcher was down. `sweep_lock` is an inter-process file lock: the watcher's sweep, the scheduled sweep
and the nightly batch take the inbox one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from claimflow.errors import TransientError
from claimflow.intake import discover_files

log = logging.getLogger(__name__)

RETRIGGER_SECONDS = 30.0
"""A file still in the inbox after its callback is offered again only after this long (the sweep's interval)."""


@dataclass(frozen=True, slots=True)
class FileState:
    """Size and modification time of a file as last seen."""

    size: int
    mtime_ns: int


def _state(path: Path) -> FileState | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return FileState(stat.st_size, stat.st_mtime_ns)


def folder_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Return (relative name, size, mtime) of every file under a folder: changes when any file changes."""
    if not folder.is_dir():
        return ()
    entries = []
    for path in sorted(folder.rglob("*")):
        state = _state(path) if path.is_file() else None
        if state is not None:
            entries.append((path.relative_to(folder).as_posix(), state.size, state.mtime_ns))
    return tuple(entries)


class InboxWatcher:
    """Poll an inbox and call `on_files` with newly landed files once they stopped changing."""

    def __init__(
        self,
        inbox: Path,
        on_files: Callable[[list[Path]], None],
        *,
        poll_seconds: float = 0.2,
        stable_seconds: float = 1.0,
        discover: Callable[[Sequence[Path]], list[Path]] = discover_files,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inbox = inbox
        self.on_files = on_files
        self.poll_seconds = poll_seconds
        self.stable_seconds = stable_seconds
        self.discover = discover
        self.clock = clock
        self._offered: dict[Path, tuple[FileState, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0

    def poll_once(self) -> list[Path]:
        """Look at the inbox once; call `on_files` with the stable files not yet offered; return them."""
        now = self.clock()
        ready: list[Path] = []
        present = set()
        for path in self.discover([self.inbox]) if self.inbox.is_dir() else []:
            state = _state(path)
            if state is None:
                continue
            present.add(path)
            if now - state.mtime_ns / 1e9 < self.stable_seconds:
                continue  # still being written (or just landed): wait until it stops changing
            offered = self._offered.get(path)
            if offered is not None and offered[0] == state and now - offered[1] < RETRIGGER_SECONDS:
                continue
            ready.append(path)
        for gone in set(self._offered) - present:
            del self._offered[gone]
        if ready:
            for path in ready:
                state = _state(path)
                if state is not None:
                    self._offered[path] = (state, now)
            self.batches += 1
            self.on_files(ready)
        return ready

    def run(self) -> None:
        """Poll until `stop()`; a failing callback is logged and the files are offered again later."""
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad sweep; the periodic sweep retries
                log.exception("inbox watcher: the sweep it started failed; the periodic sweep will retry")
            self._stop.wait(self.poll_seconds)

    def start(self) -> InboxWatcher:
        """Run the watcher in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="inbox-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the watcher to stop and wait for its thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


@contextlib.contextmanager
def sweep_lock(home: Path, *, timeout: float = 600.0, poll: float = 0.05) -> Iterator[None]:
    """Hold the inbox lock (CLAIMFLOW_HOME/run/sweep.lock) across processes; TransientError after `timeout` s."""
    path = home / "run" / "sweep.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TransientError(f"another sweep held the inbox for more than {timeout:.0f} s") from None
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class SweepRunner:
    """Run `sweep` on worker threads when asked; every request is served by a sweep that starts after it.

    With two workers the next sweep starts (and waits for the inbox lock) while the previous one still publishes
    its reports and closes its run, so a file dropped right after another is not held up by that tail.
    """

    def __init__(self, sweep: Callable[[], object], *, workers: int = 2) -> None:
        self.sweep = sweep
        self._cond = threading.Condition()
        self._pending = 0
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"sweep-runner-{i}", daemon=True) for i in range(workers)
        ]

    def start(self) -> SweepRunner:
        """Start the worker threads."""
        for thread in self._threads:
            thread.start()
        return self

    def request(self, _paths: Sequence[Path] = ()) -> None:
        """Ask for a sweep (files landed)."""
        with self._cond:
            self._pending += 1
            self._cond.notify()

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending > 0 or self._stopping)
                if self._stopping:
                    return
                self._pending = 0  # one sweep takes every file that landed up to now
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - a failed sweep must not stop the runner; the periodic sweep retries
                log.exception("inbox watcher: the sweep it started failed; the periodic sweep will retry")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking requests and wait for running sweeps."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
