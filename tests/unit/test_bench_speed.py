"""bench/extraction.py's speed rounds: per-round ratios, the verdict on issue 4's line, the text caches emptied."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from claimflow.extract_layout import simplify

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("extraction")
    finally:
        sys.path.remove(str(BENCH))


def test_round_ratios_are_bare_seconds_over_the_engines(bench: ModuleType) -> None:
    # the same pages on both sides: pages/s ratio = bare's seconds / the engine's
    r = bench.SpeedRound(2, "bare", engine_wall=50.0, engine_cpu=40.0, bare_wall=40.0, bare_cpu=30.0)
    assert r.wall_ratio == pytest.approx(0.8)
    assert r.cpu_ratio == pytest.approx(0.75)


def test_the_line_is_met_only_when_every_round_holds_it(bench: ModuleType) -> None:
    assert bench.line_verdict(0.81, 0.9, 3).startswith("met")
    assert bench.line_verdict(0.7, 0.79, 3).startswith("not met")
    assert bench.line_verdict(0.75, 0.85, 3).startswith("not decided")
    # one round decides nothing, whichever side it falls on
    assert "does not decide" in bench.line_verdict(0.9, 0.9, 1)


def test_print_rounds_gives_median_min_and_max(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    rounds = [
        bench.SpeedRound(1, "engine", 10.0, 8.0, 7.0, 6.0),
        bench.SpeedRound(2, "bare", 10.0, 8.0, 9.0, 6.3, differ=("a.jpg",)),
        bench.SpeedRound(3, "engine", 10.0, 8.0, 8.0, 6.2),
    ]
    summary = bench.print_rounds(rounds, 20, "api")
    assert summary["wall"]["median"] == pytest.approx(0.8)
    assert (summary["wall"]["min"], summary["wall"]["max"]) == (pytest.approx(0.7), pytest.approx(0.9))
    assert summary["wall"]["verdict"].startswith("not decided")
    assert summary["cpu"]["verdict"].startswith("not met")
    assert summary["differ"] == ["a.jpg"]
    assert "a.jpg" in capsys.readouterr().out


def test_forget_texts_empties_the_text_caches_only(bench: ModuleType) -> None:
    from claimflow import icd10cm

    simplify("Date of loss:")
    icd10cm_cache = [f for f in vars(icd10cm).values() if hasattr(f, "cache_info") and f.cache_info().maxsize == 1]
    before = [f.cache_info().currsize for f in icd10cm_cache]
    assert simplify.cache_info().currsize > 0
    bench.forget_texts()
    assert simplify.cache_info().currsize == 0
    # a data load (a single-entry cache) is kept: a running engine keeps it too
    assert [f.cache_info().currsize for f in icd10cm_cache] == before
