"""The inbox watcher (stable files offered once, again after a change) and the inter-process sweep lock."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from claimflow.errors import TransientError
from claimflow.watch import RETRIGGER_SECONDS, InboxWatcher, sweep_lock


def _touch(path: Path, content: bytes, mtime: float) -> None:
    """Land `path` whole with the given mtime: written under a hidden name, then renamed (a running watcher thread
    could otherwise take and delete the file between the write and the utime)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.utime(partial, (mtime, mtime))
    partial.replace(path)


def test_files_are_offered_once_when_stable(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    now = [1_000_000.0]
    batches: list[list[str]] = []
    watcher = InboxWatcher(
        inbox, lambda paths: batches.append(sorted(p.name for p in paths)), stable_seconds=1.0, clock=lambda: now[0]
    )
    _touch(inbox / "a.pdf", b"a", now[0] - 0.2)  # still being written
    _touch(inbox / "sub" / "b.pdf", b"b", now[0] - 5)
    _touch(inbox / ".partial", b"x", now[0] - 5)  # hidden: never offered
    assert [p.name for p in watcher.poll_once()] == ["b.pdf"]
    now[0] += 1.0
    watcher.poll_once()
    assert batches == [["b.pdf"], ["a.pdf"]]
    now[0] += 1.0
    assert watcher.poll_once() == []  # both still there (e.g. waiting): not offered again at once
    now[0] += RETRIGGER_SECONDS
    assert sorted(p.name for p in watcher.poll_once()) == ["a.pdf", "b.pdf"]
    _touch(inbox / "a.pdf", b"changed", now[0] - 2)
    assert [p.name for p in watcher.poll_once()] == ["a.pdf"]  # a changed file is offered again


def test_watcher_thread_survives_a_failing_callback(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _touch(inbox / "a.pdf", b"a", time.time() - 5)
    calls: list[int] = []

    def boom(paths: list[Path]) -> None:
        calls.append(len(paths))
        if len(calls) == 1:
            raise RuntimeError("sweep failed")
        for p in paths:
            p.unlink()

    watcher = InboxWatcher(inbox, boom, poll_seconds=0.01, stable_seconds=0.0).start()
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:  # the first sweep (a.pdf) fails
        time.sleep(0.01)
    _touch(inbox / "b.pdf", b"b", time.time() - 5)
    while (inbox / "b.pdf").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    watcher.stop()
    assert calls[0] == 1 and len(calls) >= 2 and not (inbox / "b.pdf").exists()  # the thread went on


def test_sweep_lock_is_exclusive(tmp_path: Path) -> None:
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with sweep_lock(tmp_path):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    with pytest.raises(TransientError, match="another sweep"), sweep_lock(tmp_path, timeout=0.2):
        pass
    release.set()
    thread.join(10)
    with sweep_lock(tmp_path, timeout=1):
        pass


def test_folder_signature_changes_with_any_file(tmp_path: Path) -> None:
    from claimflow.watch import folder_signature

    _touch(tmp_path / "rules" / "a.yml", b"a", 1000)
    before = folder_signature(tmp_path / "rules")
    assert folder_signature(tmp_path / "rules") == before
    _touch(tmp_path / "rules" / "a.yml", b"a", 2000)
    assert folder_signature(tmp_path / "rules") != before
    assert folder_signature(tmp_path / "missing") == ()


def test_sweep_runner_serves_every_request_with_a_later_sweep() -> None:
    from claimflow.watch import SweepRunner

    started: list[float] = []
    gate = threading.Event()

    def sweep() -> None:
        started.append(time.monotonic())
        gate.wait(5)

    runner = SweepRunner(sweep, workers=2).start()
    runner.request()
    deadline = time.monotonic() + 5
    while len(started) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    asked = time.monotonic()
    runner.request()  # while the first sweep runs: the second worker starts a sweep at once
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    runner.stop()
    assert len(started) == 2 and started[1] >= asked
