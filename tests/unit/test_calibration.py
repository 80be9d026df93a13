"""Reliability table and expected calibration error on synthetic confidence/correctness pairs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from claimflow.calibration import expected_calibration_error, reliability_table


def _calibrated(n: int, seed: int = 1) -> list[tuple[float, bool]]:
    """Pairs whose correctness is drawn with probability equal to the confidence."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        confidence = rng.random()
        pairs.append((confidence, rng.random() < confidence))
    return pairs


def test_perfectly_calibrated_data_has_ece_near_zero() -> None:
    assert expected_calibration_error(_calibrated(50_000)) < 0.01


def test_exactly_calibrated_bins_give_zero() -> None:
    # 10 pairs at 0.75: 7.5 right is impossible, so use 0.8 -> 8 of 10 right, and 0.3 -> 3 of 10 right.
    pairs = [(0.8, i < 8) for i in range(10)] + [(0.3, i < 3) for i in range(10)]
    assert expected_calibration_error(pairs) == pytest.approx(0.0, abs=1e-12)


def test_overconfident_data_has_large_ece() -> None:
    # Everything claims 0.95 but only half is right: the gap is 0.45.
    pairs = [(0.95, i % 2 == 0) for i in range(1000)]
    assert expected_calibration_error(pairs) == pytest.approx(0.45)
    table = reliability_table(pairs)
    assert table[9].n == 1000
    assert table[9].accuracy == pytest.approx(0.5)
    assert table[9].mean_confidence == pytest.approx(0.95)


def test_ece_is_weighted_by_bin_share() -> None:
    # 30 pairs at 0.15, all wrong (gap 0.15); 10 pairs at 0.95, all right (gap 0.05).
    pairs = [(0.15, False)] * 30 + [(0.95, True)] * 10
    assert expected_calibration_error(pairs) == pytest.approx(0.75 * 0.15 + 0.25 * 0.05)


def test_empty_input() -> None:
    table = reliability_table([])
    assert len(table) == 10
    assert all(b.n == 0 and b.accuracy == 0.0 and b.mean_confidence == 0.0 for b in table)
    assert expected_calibration_error([]) == 0.0


def test_boundaries_go_to_the_upper_bin_and_one_goes_into_the_last() -> None:
    table = reliability_table([(1.0, True), (0.0, False), (0.1, True), (0.9, True)])
    assert [b.n for b in table] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table[9].low == pytest.approx(0.9)
    assert table[9].high == pytest.approx(1.0)
    assert table[9].mean_confidence == pytest.approx(0.95)


def test_bin_count_is_respected() -> None:
    table = reliability_table([(0.49, True), (0.51, False)], bins=2)
    assert [(b.n, b.accuracy) for b in table] == [(1, 1.0), (1, 0.0)]
    with pytest.raises(ValueError, match="bins"):
        reliability_table([], bins=0)


def test_threshold_sweep_and_choice() -> None:
    from claimflow.calibration import choose_threshold, threshold_sweep

    pairs = [(0.95, True)] * 199 + [(0.95, False)] + [(0.85, True)] * 90 + [(0.85, False)] * 10 + [(0.6, False)] * 5
    sweep = threshold_sweep(pairs, [0.5, 0.9])
    assert sweep[0].accepted == 1.0 and sweep[0].wrong == 16
    assert sweep[1].accuracy == 0.995 and sweep[1].wrong == 1
    assert choose_threshold(pairs, target=0.995) == 0.86
    assert choose_threshold(pairs, target=0.999) is None


# --- fitted curves ------------------------------------------------------------------------------------------


def _overconfident(n: int, seed: int = 2) -> list[tuple[float, bool]]:
    """Raw scores that claim more than they deliver: right with probability score**3."""
    rng = random.Random(seed)
    return [(s, rng.random() < s**3) for s in (rng.random() for _ in range(n))]


def test_fit_curve_makes_overconfident_scores_calibrated_on_fresh_data() -> None:
    from claimflow.calibration import fit_curve

    curve = fit_curve(_overconfident(20_000, seed=3))
    fresh = _overconfident(20_000, seed=4)
    assert expected_calibration_error(fresh) > 0.15  # the raw scores are far off ...
    assert expected_calibration_error([(curve(s), r) for s, r in fresh]) < 0.03  # ... the fitted map is not


def test_fit_curve_is_monotone_and_never_claims_certainty_it_did_not_measure() -> None:
    from claimflow.calibration import fit_curve

    curve = fit_curve([(0.99, True)] * 40 + [(0.5, False)] * 40)
    ys = [y for _, y in curve.knots]
    assert ys == sorted(ys)
    assert curve(0.99) == pytest.approx(41 / 42, abs=1e-4)  # 40 of 40 right is not proof of 0.995
    assert curve(1.0) < 0.99
    assert curve(0.0) == 0.0
    assert curve(0.5) < 0.05


def test_fit_curve_refuses_no_data() -> None:
    from claimflow.calibration import fit_curve

    with pytest.raises(ValueError, match="no pairs"):
        fit_curve([])


def test_type_curve_needs_enough_data_and_falls_back_to_method_curve() -> None:
    from claimflow.calibration import fit_calibration
    from claimflow.models import ReadMethod

    pairs = [("ocr", "receipt", 0.9, i % 2 == 0) for i in range(150)]
    pairs += [("ocr", "invoice", 0.9, True) for _ in range(30)]
    calibration = fit_calibration(pairs)
    assert "ocr/receipt" in calibration.curves and "ocr/invoice" not in calibration.curves
    receipt = calibration.curve_for(ReadMethod.OCR, "receipt")
    invoice = calibration.curve_for(ReadMethod.OCR, "invoice")
    assert receipt is not None and invoice is not None
    assert receipt(0.9) == pytest.approx(76 / 152, abs=1e-3)
    assert invoice is calibration.curves["ocr"]
    assert calibration.curve_for(ReadMethod.SPREADSHEET, "claims_bordereau") is None  # sheets are not calibrated


def test_apply_replaces_confidences_of_fields_and_records() -> None:
    from claimflow.calibration import Calibration, Curve
    from claimflow.models import Extraction, Field, Provenance, ReadMethod

    halve = Curve(((1.0, 0.5),), n=10)
    calibration = Calibration({"ocr": halve})
    ocr = Field("total_amount", "1.00", 0.8, Provenance(page=1, method=ReadMethod.OCR))
    sheet = Field("claim_number", "C1", 1.0, Provenance(method=ReadMethod.SPREADSHEET))
    part = Extraction("receipt", 1.0, fields={"total_amount": ocr}, records=[{"claim_number": sheet}])
    calibration.apply([part])
    assert part.fields["total_amount"].confidence == pytest.approx(0.4)
    assert part.records[0]["claim_number"].confidence == 1.0


def test_calibration_file_round_trips_and_bad_files_name_the_problem(tmp_path: Path) -> None:
    from claimflow.calibration import Calibration, Curve, load_calibration

    original = Calibration({"ocr": Curve(((0.5, 0.2), (0.9, 0.95)), n=100)}, threshold=0.97, source="test")
    (tmp_path / "calibration.json").write_text(json.dumps(original.to_json()))
    assert load_calibration(tmp_path) == original
    bad = original.to_json()
    bad["curves"] = {"ocr": {"n": 3, "knots": [[0.5, 0.9], [0.9, 0.2]]}}
    (tmp_path / "calibration.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"calibration.json.*probabilities must not decrease"):
        load_calibration(tmp_path)
    assert load_calibration(tmp_path / "none") is None


def test_project_calibration_loads_with_the_specs_and_sets_the_default_threshold() -> None:
    """The shipped curves load, and the settings' default threshold is the one the fit chose."""
    from claimflow.settings import PROJECT_ROOT, Settings
    from claimflow.specs import load_specs

    specs = load_specs(PROJECT_ROOT / "extractors")
    assert specs.calibration is not None, "extractors/calibration.json is missing: run bench/fit_calibration.py"
    assert specs.calibration.threshold is not None
    assert Settings.model_fields["confidence_threshold"].default == specs.calibration.threshold
