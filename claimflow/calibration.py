"""Calibration of field confidences: a reliability table and the expected calibration error (ECE).

A field confidence is meant to behave like a probability: of fields read at 0.9, about 9 in 10 are right.
Given (confidence, was_right) pairs measured against ground truth, `reliability_table` sorts them into
equal-width confidence bins and reports each bin's mean confidence and measured accuracy;
`expected_calibration_error` is the share-weighted mean gap between the two.

Raw extraction scores (OCR word confidence x anchor match x validation ...) are ordered well but are not
probabilities: on SROIE receipts a raw 0.9 was right far less often than on a typed claim form. `fit_curve`
fits a monotone map from raw score to measured accuracy (isotonic regression, smoothed so that no block claims
more certainty than its count supports); `Calibration` holds one curve per reading method and, where there is
enough data, per document type, and is applied to the final fields of each read (`pipeline.read_and_extract`).
The fitted curves live in extractors/calibration.json, written by bench/fit_calibration.py with what they were
fitted on, so a change to the extractors is followed by a re-fit that a person reviews in the diff.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from claimflow.models import Extraction, ReadMethod

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


# --- The fitted map: raw extraction scores -> probabilities -------------------------------------------------

CALIBRATION_FILE = "calibration.json"
"""Name of the fitted calibration in the extractors folder (JSON, so spec loading never mistakes it for a spec)."""

TEXT_METHODS = frozenset({ReadMethod.TEXT_LAYER, ReadMethod.ACROFORM})
MIN_GROUP = 100
"""Pairs a document type needs before it gets a curve of its own; fewer fall back to its reading method's curve."""


def method_group(method: ReadMethod) -> str | None:
    """Return the calibration group of a reading method: 'text', 'ocr', or None (not calibrated: sheets, people)."""
    if method in TEXT_METHODS:
        return "text"
    if method is ReadMethod.OCR:
        return "ocr"
    return None


@dataclass(frozen=True, slots=True)
class Curve:
    """A monotone map from a raw extraction score to the measured probability that the value is right.

    `knots` are (raw score, probability) points with increasing raw score and non-decreasing probability,
    one per block of the isotonic fit; between knots the map is linear, below the first it falls linearly to
    0 at raw 0, above the last it stays at the last probability. `n` is the number of pairs it was fitted on.
    """

    knots: tuple[tuple[float, float], ...]
    n: int

    def __call__(self, raw: float) -> float:
        """Return the calibrated confidence of raw score `raw`."""
        x = min(max(raw, 0.0), 1.0)
        first_x, first_y = self.knots[0]
        if x <= first_x:
            return round(first_y * x / first_x, 4) if first_x > 0 else round(first_y, 4)
        for (x0, y0), (x1, y1) in zip(self.knots, self.knots[1:], strict=False):
            if x <= x1:
                return round(y0 + (y1 - y0) * (x - x0) / (x1 - x0), 4)
        return round(self.knots[-1][1], 4)


def fit_curve(pairs: Sequence[tuple[float, bool]], *, min_block: int = 20) -> Curve:
    """Fit an isotonic curve to (raw score, was right) pairs, with blocks of at least `min_block` pairs.

    Pool-adjacent-violators on the pairs sorted by score gives the most likely non-decreasing accuracy; each
    block's probability is then smoothed as (right + 1) / (n + 2), so a block never claims certainty it did
    not measure (400 right of 400 gives 0.9975, 40 of 40 only 0.976), and pooled again where smoothing broke
    the order. Raises ValueError without pairs.
    """
    if not pairs:
        raise ValueError("no pairs to fit a calibration curve on")
    ordered = sorted((min(max(c, 0.0), 1.0), bool(r)) for c, r in pairs)
    blocks: list[list[float]] = []  # [sum of scores, right, n]; equal scores start as one block
    for score, group in itertools.groupby(ordered, key=lambda pair: pair[0]):
        rights = [right for _, right in group]
        blocks.append([score * len(rights), float(sum(rights)), float(len(rights))])
    _pool_all(blocks, lambda b: b[1] / b[2])
    merged: list[list[float]] = []
    for block in blocks:  # small blocks join their left neighbour (the last one joins leftwards too)
        if merged and merged[-1][2] < min_block:
            merged[-1] = [a + b for a, b in zip(merged[-1], block, strict=True)]
        else:
            merged.append(block)
    if len(merged) > 1 and merged[-1][2] < min_block:
        tail = merged.pop()
        merged[-1] = [a + b for a, b in zip(merged[-1], tail, strict=True)]
    smoothed: list[list[float]] = [list(b) for b in merged]
    _pool_all(smoothed, lambda b: (b[1] + 1) / (b[2] + 2))
    knots = tuple((round(b[0] / b[2], 4), round((b[1] + 1) / (b[2] + 2), 4)) for b in smoothed)
    return Curve(knots, len(ordered))


def _pool(blocks: list[list[float]], rate: Callable[[list[float]], float]) -> None:
    """Merge the last block into its left neighbour while the order of `rate` is violated."""
    while len(blocks) > 1 and rate(blocks[-2]) >= rate(blocks[-1]):
        last = blocks.pop()
        blocks[-1] = [a + b for a, b in zip(blocks[-1], last, strict=True)]


def _pool_all(blocks: list[list[float]], rate: Callable[[list[float]], float]) -> None:
    """Pool adjacent violators over a whole list of blocks in place."""
    out: list[list[float]] = []
    for block in blocks:
        out.append(block)
        _pool(out, rate)
    blocks[:] = out


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted curves by group ('ocr', 'text', or '<group>/<document type>') and the threshold they imply."""

    curves: dict[str, Curve]
    threshold: float | None = None
    source: str = ""

    def curve_for(self, method: ReadMethod, document_type: str) -> Curve | None:
        """Return the curve for a value read by `method` in a document of `document_type`, if one was fitted."""
        group = method_group(method)
        return self.curve_for_group(group, document_type) if group is not None else None

    def curve_for_group(self, group: str, document_type: str) -> Curve | None:
        """Return the document type's own curve in a method group, else the group's curve (None without either)."""
        return self.curves.get(f"{group}/{document_type}") or self.curves.get(group)

    def apply(self, parts: Sequence[Extraction]) -> None:
        """Replace each field's raw score by its calibrated confidence, in place (fields and records)."""
        for part in parts:
            for fields in (part.fields, *part.records):
                for name, f in fields.items():
                    curve = self.curve_for(f.provenance.method, part.document_type)
                    if curve is not None:
                        fields[name] = replace(f, confidence=curve(f.confidence))

    def to_json(self) -> dict[str, object]:
        """Return the calibration as JSON data (the format of extractors/calibration.json)."""
        return {
            "format": 1,
            "source": self.source,
            "threshold": self.threshold,
            "curves": {k: {"n": c.n, "knots": [list(p) for p in c.knots]} for k, c in sorted(self.curves.items())},
        }


def fit_calibration(
    pairs: Iterable[tuple[str, str, float, bool]], *, min_group: int = MIN_GROUP, source: str = ""
) -> Calibration:
    """Fit curves from (method group, document type, raw score, was right) tuples: one per group, one per type."""
    by_group: dict[str, list[tuple[float, bool]]] = {}
    for group, document_type, raw, right in pairs:
        by_group.setdefault(group, []).append((raw, right))
        by_group.setdefault(f"{group}/{document_type}", []).append((raw, right))
    curves = {key: fit_curve(values) for key, values in by_group.items() if "/" not in key or len(values) >= min_group}
    return Calibration(curves, source=source)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def calibration_from_json(data: object, where: str) -> Calibration:
    """Build a Calibration from JSON data; raise ValueError naming `where` and what is wrong."""
    try:
        _require(isinstance(data, dict) and data.get("format") == 1, "format must be 1")
        assert isinstance(data, dict)
        curves: dict[str, Curve] = {}
        for key, raw in dict(data["curves"]).items():
            knots = tuple((float(x), float(y)) for x, y in raw["knots"])
            _require(bool(knots), f"curve {key} has no knots")
            xs = [x for x, _ in knots]
            ys = [y for _, y in knots]
            _require(xs == sorted(xs) and len(set(xs)) == len(xs), f"curve {key}: scores must increase")
            _require(ys == sorted(ys), f"curve {key}: probabilities must not decrease")
            _require(all(0.0 <= v <= 1.0 for v in xs + ys), f"curve {key}: values must be within [0, 1]")
            curves[str(key)] = Curve(knots, int(raw["n"]))
        threshold = data.get("threshold")
        return Calibration(curves, float(threshold) if threshold is not None else None, str(data.get("source", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: not a usable calibration ({exc}); fix: re-run bench/fit_calibration.py") from exc


def load_calibration(directory: Path) -> Calibration | None:
    """Return the calibration in `directory`/calibration.json, or None when there is none."""
    path = directory / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.parent.name}/{path.name}: cannot read it ({exc})") from exc
    return calibration_from_json(data, f"{path.parent.name}/{path.name}")
