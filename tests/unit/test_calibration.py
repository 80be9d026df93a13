"""Reliability table and expected calibration error on synthetic confidence/correctness pairs."""

from __future__ import annotations

import random

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
