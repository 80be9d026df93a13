"""Calibration of field confidences: a reliability table and the expected calibration error (ECE).

A field confidence is meant to behave like a probability: of fields read at 0.9, about 9 in 10 are right.
Given (confidence, was_right) pairs measured against ground truth, `reliability_table` sorts them into
equal-width confidence bins and reports each bin's mean confidence and measured accuracy;
`expected_calibration_error` is the share-weighted mean gap between the two. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_BINS = 10


@dataclass(frozen=True, slots=True)
class Bin:
    """One confidence bin: its range [low, high), how many pairs fell in it, their mean confidence and accuracy.

    The last bin also holds confidence exactly 1.0. An empty bin has n = 0 and mean confidence and
    accuracy 0.0; it adds nothing to the calibration error.
    """

    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float

    @property
    def gap(self) -> float:
        """Return |accuracy - mean confidence| (0 for an empty bin)."""
        return abs(self.accuracy - self.mean_confidence) if self.n else 0.0


def _bin_index(confidence: float, bins: int) -> int:
    """Return the bin of `confidence`; values are clamped to [0, 1] and 1.0 goes into the last bin."""
    clamped = min(max(confidence, 0.0), 1.0)
    return min(int(clamped * bins), bins - 1)


def reliability_table(pairs: Sequence[tuple[float, bool]], bins: int = DEFAULT_BINS) -> list[Bin]:
    """Return `bins` equal-width bins over [0, 1] with the count, mean confidence and accuracy of each."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    counts = [0] * bins
    confidence_sums = [0.0] * bins
    right = [0] * bins
    for confidence, correct in pairs:
        index = _bin_index(confidence, bins)
        counts[index] += 1
        confidence_sums[index] += confidence
        right[index] += bool(correct)
    table: list[Bin] = []
    for index in range(bins):
        n = counts[index]
        table.append(
            Bin(
                low=index / bins,
                high=(index + 1) / bins,
                n=n,
                mean_confidence=confidence_sums[index] / n if n else 0.0,
                accuracy=right[index] / n if n else 0.0,
            )
        )
    return table


def expected_calibration_error(pairs: Sequence[tuple[float, bool]], bins: int = DEFAULT_BINS) -> float:
    """Return the ECE: the mean over bins of |accuracy - mean confidence|, weighted by each bin's share of pairs.

    An empty input has no evidence of miscalibration and returns 0.0.
    """
    total = len(pairs)
    if total == 0:
        return 0.0
    return sum(b.n / total * b.gap for b in reliability_table(pairs, bins))


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """What an auto-accept threshold would do: share of fields accepted, their accuracy, how many are wrong."""

    threshold: float
    accepted: float
    accuracy: float | None
    wrong: int


def threshold_sweep(pairs: Sequence[tuple[float, bool]], thresholds: Sequence[float]) -> list[ThresholdPoint]:
    """Return, for each threshold, the share of fields at or above it and their measured accuracy."""
    points = []
    for t in thresholds:
        accepted = [right for confidence, right in pairs if confidence >= t]
        points.append(
            ThresholdPoint(
                t,
                len(accepted) / len(pairs) if pairs else 0.0,
                sum(accepted) / len(accepted) if accepted else None,
                sum(1 for right in accepted if not right),
            )
        )
    return points


def choose_threshold(
    pairs: Sequence[tuple[float, bool]], *, target: float = 0.995, thresholds: Sequence[float] | None = None
) -> float | None:
    """Return the lowest threshold whose accepted fields are at least `target` right (None if none is)."""
    grid = thresholds or [round(0.5 + 0.01 * i, 2) for i in range(50)]
    for point in threshold_sweep(pairs, sorted(grid)):
        if point.accuracy is not None and point.accuracy >= target:
            return point.threshold
    return None
