"""The shared cores: independent reads borrow an idle core only while one is idle, and read the same."""

from __future__ import annotations

import threading
import time

import pytest
from PIL import Image

from claimflow import form_layers
from claimflow.models import Page, ReadMethod
from claimflow.readers.cores import CoreBudget
from claimflow.second_looks import SharedOcr


def _threads_of(cores: CoreBudget, items: list[int], *, delay: float = 0.02) -> tuple[list[int], set[str]]:
    names: set[str] = set()

    def read(item: int) -> int:
        names.add(threading.current_thread().name)
        time.sleep(delay)  # long enough for the helper to take some items
        return item * item

    return cores.map(read, items), names


def test_reads_run_on_a_borrowed_core_when_one_is_idle_and_come_back_in_order() -> None:
    cores = CoreBudget(2)
    cpu: list[float] = []
    with cores.reading():  # one document read on two cores: one is idle
        results = cores.map(lambda item: item * item, list(range(6)), cpu=cpu)
        squares, names = _threads_of(cores, list(range(8)))
    assert results == [0, 1, 4, 9, 16, 25] and squares == [i * i for i in range(8)]
    assert len(names) == 2 and cores.borrowed == 2 and len(cpu) == 1 and cpu[0] >= 0.0


def test_no_core_is_borrowed_while_every_core_reads_a_document() -> None:
    cores = CoreBudget(2)
    with cores.reading(), cores.reading():
        squares, names = _threads_of(cores, list(range(4)))
    assert squares == [0, 1, 4, 9] and names == {threading.current_thread().name} and cores.borrowed == 0
    one = CoreBudget(1)
    with one.reading():
        _, names = _threads_of(one, [1, 2])  # one core: the caller's
    assert len(names) == 1
    with cores.reading():
        _, names = _threads_of(cores, [3])  # one item: nothing to share
    assert len(names) == 1


def test_the_helper_stops_once_another_document_takes_its_core() -> None:
    cores = CoreBudget(2)
    helper_items: list[int] = []
    started = threading.Event()

    def read(item: int) -> int:
        if "borrowed" in threading.current_thread().name:
            helper_items.append(item)
            started.set()
        time.sleep(0.02)
        return item

    with cores.reading():
        held = cores.reading()  # another document starts once the helper took a read

        def start_other() -> None:
            started.wait(1.0)
            held.__enter__()

        other = threading.Thread(target=start_other)
        other.start()
        assert cores.map(read, list(range(12))) == list(range(12))
        other.join()
        held.__exit__(None, None, None)
    assert 1 <= len(helper_items) <= 3  # it gave the core back within a read or two


def test_an_error_in_a_read_is_raised_to_the_caller_and_the_core_given_back() -> None:
    cores = CoreBudget(2)

    def read(item: int) -> int:
        if item == 3:
            raise ValueError("unreadable")
        return item

    with cores.reading():
        with pytest.raises(ValueError, match="unreadable"):
            cores.map(read, list(range(6)))
        _, names = _threads_of(cores, [1, 2, 3, 4])  # the core was given back: it is borrowed again
    assert len(names) == 2


class SlowOcr:
    """An OCR engine that takes a while per call and counts them (thread-safe), with the engine's shared cores."""

    def __init__(self) -> None:
        self.cores = CoreBudget(2)
        self.calls = 0
        self._lock = threading.Lock()

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        with self._lock:
            self.calls += 1
        time.sleep(0.03)
        return Page(number=page, width=float(image.width), height=float(image.height), method=ReadMethod.OCR)


def test_shared_ocr_map_reads_the_same_pixels_once_across_threads_and_counts_every_call() -> None:
    engine = SlowOcr()
    shared = SharedOcr(engine)
    images = [Image.new("L", (20 + (i % 3), 10), 255) for i in range(9)]  # three distinct images, three times each
    with engine.cores.reading():
        pages = shared.map(lambda image: shared.ocr_image(image, page=1), images)
    assert [p.width for p in pages] == [float(image.width) for image in images]
    assert engine.calls == 3 and shared.calls == {"first": 3} and shared.saved == 6  # as when read in turn
    assert engine.cores.borrowed == 1 and len(shared.helper_cpu) == 1


def test_a_page_form_level_is_measured_once_when_two_threads_ask_for_it_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    measured: list[int] = []

    def slow_level(image: Image.Image) -> float:
        measured.append(1)
        time.sleep(0.05)  # both threads ask while it is being measured
        return 120.0

    monkeypatch.setattr(form_layers, "page_form_level", slow_level)
    monkeypatch.setattr(form_layers, "_LEVELS", {i: (lambda: None, None) for i in range(form_layers.LEVELS_KEPT)})
    page = Page(number=1, width=100.0, height=100.0, method=ReadMethod.OCR, image=Image.new("L", (100, 100), 255))
    cores = CoreBudget(2)
    with cores.reading():
        levels = cores.map(lambda _: form_layers._page_level(page), [0, 1])
    assert levels == [120.0, 120.0] and measured == [1]  # one measure, one entry evicted (none twice)
    assert len(form_layers._LEVELS) == form_layers.LEVELS_KEPT
