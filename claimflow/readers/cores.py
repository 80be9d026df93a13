"""The cores an OCR engine's readers share: a document's independent OCR calls borrow one only while it is idle.

The engine reads one document per worker thread (as many workers as cores). A batch's last, long document (a
CMS-1500 page costs ~9x a receipt: region and row reads after its first pass) leaves the other cores idle while
it finishes. `CoreBudget` counts the documents being read; `CoreBudget.map` runs a list of independent reads
(each box of a form read again, say) on the calling thread and, while fewer documents are being read than there
are cores, on one borrowed helper thread too. The reads and their results are the same either way (each is
one call on its own image, and the results come back in the items' order); only when they run changes.

The helper stops taking reads as soon as the documents being read fill the cores again, so a borrowed core is
given back within one read. Its thread CPU seconds are added to `CoreBudget.map`'s `cpu` list, so the
document's CPU (a bench's thread time) still counts every read.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def core_count() -> int:
    """Return the cores this process may run on (its CPU affinity; the machine's count where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class CoreBudget:
    """Cores shared by the documents an engine reads at once, and the helper threads they borrow (thread-safe)."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = max(1, cores if cores is not None else core_count())
        self._lock = threading.Lock()
        self._reading = 0
        self._lent = 0
        self.borrowed = 0
        """Helper threads lent so far (a bench or test reads it)."""

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Count one document as being read for the block (it holds a core)."""
        with self._lock:
            self._reading += 1
        try:
            yield
        finally:
            with self._lock:
                self._reading -= 1

    def _borrow(self) -> bool:
        with self._lock:
            if self._reading + self._lent >= self.cores:
                return False
            self._lent += 1
            self.borrowed += 1
            return True

    def _full(self) -> bool:
        """True when the documents being read need every core (a lent helper should stop taking reads)."""
        with self._lock:
            return self._reading + self._lent > self.cores

    def _give_back(self) -> None:
        with self._lock:
            self._lent -= 1

    def map(self, read: Callable[[T], R], items: Sequence[T], *, cpu: list[float] | None = None) -> list[R]:
        """Return `[read(item) for item in items]`, reading on a borrowed idle core too when one is free.

        The calling thread always reads; a helper thread joins it only when at least two items are left and a core
        is idle, and stops taking items once the documents being read fill the cores. The first error raised by a
        read is raised here (after both threads stopped). `cpu`, when given, receives the helper's thread CPU
        seconds (the caller's own are its thread's).
        """
        if len(items) < 2 or not self._borrow():
            return [read(item) for item in items]
        results: list[R | None] = [None] * len(items)
        errors: list[BaseException] = []
        taken = iter(range(len(items)))
        lock = threading.Lock()

        def work(helper: bool) -> None:
            while not errors:
                if helper and self._full():
                    return
                with lock:
                    index = next(taken, None)
                if index is None:
                    return
                try:
                    results[index] = read(items[index])
                except BaseException as exc:  # re-raised on the calling thread below
                    errors.append(exc)
                    return

        def helper() -> None:
            started = time.thread_time()
            try:
                work(helper=True)
            finally:
                if cpu is not None:
                    cpu.append(time.thread_time() - started)

        thread = threading.Thread(target=helper, name="claimflow-borrowed-core", daemon=True)
        try:
            thread.start()
        except BaseException:
            self._give_back()
            raise
        try:
            work(helper=False)
        finally:
            thread.join()
            self._give_back()
        if errors:
            raise errors[0]
        return results  # type: ignore[return-value]  # every index was read: no error was raised
