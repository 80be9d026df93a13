"""bench/fit_calibration.py's full-size sample, per-type thresholds and its list of confident wrong fields."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def fit() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("fit_calibration")
    finally:
        sys.path.remove(str(BENCH))


def _truth(file: str, family: str) -> dict[str, object]:
    return {"file": file, "degradation": {"family": family}}


def test_a_full_size_sample_keeps_at_most_n_files_of_each_kind_and_family_by_name(fit: ModuleType) -> None:
    truths = [
        _truth("receipt/receipt_003_scan_degraded.jpg", "degraded"),
        _truth("receipt/receipt_001_scan_degraded.jpg", "degraded"),
        _truth("receipt/receipt_002_scan_degraded.jpg", "degraded"),
        _truth("receipt/receipt_001_scan_clean.png", "clean_scan"),
        _truth("cms1500/cms1500_001_scan_degraded.jpg", "degraded"),
    ]
    files = [t["file"] for t in fit.sampled(truths, 2)]
    assert files == [
        "cms1500/cms1500_001_scan_degraded.jpg",
        "receipt/receipt_001_scan_clean.png",
        "receipt/receipt_001_scan_degraded.jpg",
        "receipt/receipt_002_scan_degraded.jpg",
    ]
    assert len(fit.sampled(truths, None)) == len(truths)  # no sample: every file


def test_a_full_size_sample_holds_forms_filled_by_third_party_software_beside_our_own(fit: ModuleType) -> None:
    truths = [_truth(f"cms1500/cms1500_{n:03d}_scan_degraded.jpg", "degraded") for n in range(1, 6)]
    truths += [
        _truth(f"cms1500/cms1500_{maker}_{n:03d}_scan_degraded.pdf", "degraded")
        for maker in ("acroform", "preprinted")
        for n in (1, 2, 3)
    ]
    files = [t["file"] for t in fit.sampled(truths, 1)]
    assert files == [
        "cms1500/cms1500_001_scan_degraded.jpg",
        "cms1500/cms1500_acroform_001_scan_degraded.pdf",
        "cms1500/cms1500_preprinted_001_scan_degraded.pdf",
    ]


def _pair(fit: ModuleType, kind: str, raw: float, right: bool, name: str = "d") -> object:
    return fit.Pair(name, "src", kind, "total_amount", "ocr", raw, right, "9.45")


def test_thresholds_per_type_and_the_confident_wrong_fields_surest_first(fit: ModuleType) -> None:
    held_out = [(_pair(fit, "receipt", 0.9, True), 0.99) for _ in range(100)]
    held_out += [(_pair(fit, "receipt", 0.6, False, "r-wrong"), 0.95)]  # one wrong at 0.95: receipts need 0.96
    held_out += [(_pair(fit, "invoice", 0.9, True), 0.7) for _ in range(50)]
    held_out += [(_pair(fit, "invoice", 0.5, False, "i-wrong"), 0.55)]
    thresholds = fit.thresholds_by_type(held_out)
    assert thresholds == {"invoice": 0.56, "receipt": 0.96}
    wrong = fit.confident_wrong(held_out, 0.5, nearest=0)
    assert [p.document for p, _ in wrong] == ["r-wrong", "i-wrong"]
    assert fit.confident_wrong(held_out, 0.96, nearest=1)[0][0].document == "r-wrong"  # the nearest under it
    assert fit.confident_wrong(held_out, 0.96, nearest=0) == []


def test_pairs_saved_before_values_were_kept_still_load(fit: ModuleType) -> None:
    old = {"document": "d", "source": "s", "document_type": "receipt", "field": "f", "group": "ocr", "raw": 0.5}
    assert fit.Pair(**old, right=True).value == ""
