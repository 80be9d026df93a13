"""Reliability table and expected calibration error on synthetic confidence/correctness pairs."""

from __future__ import annotations

import json
import math
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


def test_adaptive_bins_see_inside_the_top_bin() -> None:
    from claimflow.calibration import adaptive_calibration_error

    # Equal-width: one bin 0.9-1.0 at mean 0.95, 95% right, no gap. Equal-count: 0.91 all wrong-ish vs 0.99 all right.
    pairs = [(0.91, i < 45) for i in range(50)] + [(0.99, True)] * 50
    assert expected_calibration_error(pairs) == pytest.approx(0.0, abs=1e-9)
    assert adaptive_calibration_error(pairs, bins=2) == pytest.approx(0.5 * 0.01 + 0.5 * 0.01)
    assert adaptive_calibration_error(_calibrated(50_000)) < 0.01
    assert adaptive_calibration_error([]) == 0.0
    assert adaptive_calibration_error([(0.5, True)] * 10, bins=3) == pytest.approx(0.5)  # equal values, one bin


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


def _logistic_pairs(n: int, intercept: float, slope: float, seed: int) -> list[tuple[float, bool]]:
    """Raw scores uniform in (0, 1), right with probability sigmoid(intercept + slope x logit(raw))."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        raw = rng.uniform(0.01, 0.99)
        p = 1 / (1 + math.exp(-(intercept + slope * math.log(raw / (1 - raw)))))
        pairs.append((raw, rng.random() < p))
    return pairs


def test_fit_logistic_recovers_the_map_that_made_the_data() -> None:
    from claimflow.calibration import fit_logistic

    intercept, slope = fit_logistic(_logistic_pairs(20_000, 1.0, 2.0, seed=5))
    assert intercept == pytest.approx(1.0, abs=0.1)
    assert slope == pytest.approx(2.0, abs=0.1)


def test_fitted_calibration_makes_overconfident_scores_calibrated_on_fresh_data() -> None:
    from claimflow.calibration import fit_calibration
    from claimflow.models import ReadMethod

    calibration = fit_calibration(("ocr", "receipt", s, r) for s, r in _overconfident(20_000, seed=3))
    curve = calibration.curve_for(ReadMethod.OCR, "receipt")
    assert curve is not None
    fresh = _overconfident(20_000, seed=4)
    assert expected_calibration_error(fresh) > 0.15  # the raw scores are far off ...
    assert expected_calibration_error([(curve(s), r) for s, r in fresh]) < 0.03  # ... the fitted map is not


def test_curves_are_monotone_and_never_claim_certainty_they_did_not_measure() -> None:
    from claimflow.calibration import fit_calibration

    pairs = [("text", "invoice", 0.99, True)] * 40 + [("text", "invoice", 0.5, False)] * 40
    calibration = fit_calibration(pairs)
    for curve in calibration.curves.values():
        ys = [y for _, y in curve.knots]
        assert ys == sorted(ys)
        assert curve(1.0) <= 81 / 82  # 80 pairs in the method: 40 of 40 right is not proof of 0.995
        assert curve(1.0) > 0.95
        assert curve(0.5) < 0.1


def test_a_score_that_predicts_the_wrong_way_gets_a_flat_curve_not_a_falling_one() -> None:
    from claimflow.calibration import fit_logistic

    pairs = [(0.9, i % 10 < 3) for i in range(200)] + [(0.3, i % 10 < 7) for i in range(200)]
    intercept, slope = fit_logistic(pairs, prior=(0.0, 0.0), strength=1.0)
    assert slope == 0.0
    assert 1 / (1 + math.exp(-intercept)) == pytest.approx(0.5, abs=0.02)


def test_fit_refuses_no_data_and_a_zero_strength() -> None:
    from claimflow.calibration import fit_logistic

    with pytest.raises(ValueError, match="no pairs"):
        fit_logistic([])
    with pytest.raises(ValueError, match="strength"):
        fit_logistic([(0.5, True)], strength=0.0)


def test_a_thin_type_borrows_its_methods_curve_and_a_thick_type_follows_its_data() -> None:
    from claimflow.calibration import fit_calibration
    from claimflow.models import ReadMethod

    rng = random.Random(6)
    pairs = [("ocr", "claim_form", 0.9, rng.random() < 0.97) for _ in range(1000)]
    pairs += [("ocr", "invoice", 0.9, i < 2) for i in range(10)]  # 2 of 10 right: too few to trust
    pairs += [("ocr", "receipt", 0.9, i % 2 == 0) for i in range(600)]  # 300 of 600: enough to trust
    calibration = fit_calibration(pairs)
    method = calibration.curves["ocr"]
    invoice = calibration.curve_for(ReadMethod.OCR, "invoice")
    receipt = calibration.curve_for(ReadMethod.OCR, "receipt")
    assert invoice is not None and receipt is not None
    assert invoice(0.9) < method(0.9)  # it leans towards its own data ...
    assert invoice(0.9) - 0.2 > method(0.9) - invoice(0.9)  # ... but stays nearer its method's curve than 0.2
    assert receipt(0.9) == pytest.approx(0.5, abs=0.03)
    assert calibration.curve_for(ReadMethod.OCR, "unseen_type") is method
    assert calibration.curve_for(ReadMethod.SPREADSHEET, "claims_bordereau") is None  # sheets are not calibrated


def test_threshold_must_hold_on_every_document_type() -> None:
    from claimflow.calibration import choose_threshold, choose_threshold_by_type

    scored = [("claim_form", 0.99, True)] * 600 + [("receipt", 0.96, True)] * 99 + [("receipt", 0.965, False)]
    scored += [("receipt", 0.9, False)] * 20
    everything = [(c, r) for _, c, r in scored]
    assert choose_threshold(everything, thresholds=[0.9, 0.95, 0.97]) == 0.95  # 1 wrong in 700: 99.86% overall
    assert choose_threshold_by_type(scored, thresholds=[0.9, 0.95, 0.97]) == 0.97  # but receipts are only 99.0%
    assert choose_threshold_by_type([("receipt", 0.9, False)], thresholds=[0.9, 0.95]) is None


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
    from claimflow.calibration import Calibration, Curve, calibration_text, load_calibration

    curve = Curve(((0.5, 0.2), (0.9, 0.95)), n=100, logistic=(0.5, 1.5))
    original = Calibration({"ocr": curve, "text": Curve(((1.0, 0.99),), n=3)}, threshold=0.97, source="test")
    (tmp_path / "calibration.json").write_text(calibration_text(original), encoding="utf-8")
    assert load_calibration(tmp_path) == original
    assert "[0.5, 0.2]," in (tmp_path / "calibration.json").read_text(encoding="utf-8")  # one knot a line
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


def test_a_doubt_stays_below_the_ceiling_whatever_the_curve_says() -> None:
    """A raw score a check capped (at most DOUBT_RAW) is calibrated to at most DOUBT_CEILING, on any curve."""
    from claimflow.calibration import DOUBT_CEILING, DOUBT_RAW, Curve

    lifting = Curve(((0.5, 0.9), (DOUBT_RAW, 0.99), (0.8, 0.995)), n=100)  # every doubted pair was right
    assert lifting(DOUBT_RAW) == DOUBT_CEILING
    assert lifting(0.7) == DOUBT_CEILING  # 0.972 on the knots
    assert lifting(0.5) == 0.9  # already under the ceiling: unchanged
    assert lifting(0.8) == 0.995  # not a doubt
    halve = Curve(((1.0, 0.5),), n=10)
    assert halve(DOUBT_RAW) == pytest.approx(0.375)


def test_a_fit_where_every_doubt_was_right_still_keeps_doubts_under_the_ceiling() -> None:
    """Pairs with every doubted raw score right would lift it over auto-accept; the tabulated knots are capped."""
    from claimflow.calibration import DOUBT_CEILING, DOUBT_RAW, fit_calibration

    pairs = [("ocr", "invoice", DOUBT_RAW, True)] * 300 + [("ocr", "invoice", 0.95, True)] * 600
    pairs += [("ocr", "invoice", 0.3, False)] * 5 + [("ocr", "invoice", 0.3, True)] * 5
    calibration = fit_calibration(pairs)
    for key, curve in calibration.curves.items():
        assert curve(0.95) > DOUBT_CEILING, key  # the fit itself lifts scores: the cap is what holds doubts down
        assert all(y <= DOUBT_CEILING for x, y in curve.knots if x <= DOUBT_RAW), key
        assert curve(DOUBT_RAW) <= DOUBT_CEILING, key


def test_project_curves_keep_a_doubted_field_below_the_threshold() -> None:
    """Every raw cap that means "a person must look" is at most DOUBT_RAW, and DOUBT_CEILING is under auto-accept."""
    from claimflow import extract, extract_checks, extract_confirm, extract_paddle, extract_reread, extract_words
    from claimflow.calibration import DOUBT_CEILING, DOUBT_RAW
    from claimflow.readers import diacritics
    from claimflow.settings import PROJECT_ROOT, Settings
    from claimflow.specs import load_specs

    caps = {
        "DOUBT_CAP": extract_confirm.DOUBT_CAP,
        "LINE_BELOW_CAP": extract_confirm.LINE_BELOW_CAP,
        "CUT_CAP": extract_reread.CUT_CAP,
        "UNREAD_CAP": extract_reread.UNREAD_CAP,
        "RIVAL_CAP": extract_words.RIVAL_CAP,
        "REPAIRED_CAP": extract.REPAIRED_CAP,
        "BELOW_TAX_CAP": extract.BELOW_TAX_CAP,
        "checks DISAGREE_CAP": extract_checks.DISAGREE_CAP,
        "UNREAD_FILL_CONFIDENCE": extract_checks.UNREAD_FILL_CONFIDENCE,
        "paddle DISAGREE_CAP": extract_paddle.DISAGREE_CAP,
        "LOST_MARK_CONFIDENCE": diacritics.LOST_MARK_CONFIDENCE,
    }
    assert {name: cap for name, cap in caps.items() if cap > DOUBT_RAW} == {}
    calibration = load_specs(PROJECT_ROOT / "extractors").calibration
    assert calibration is not None and calibration.threshold is not None
    assert min(calibration.threshold, Settings().confidence_threshold) > DOUBT_CEILING
    for key, curve in calibration.curves.items():
        assert curve(DOUBT_RAW) < calibration.threshold, key
