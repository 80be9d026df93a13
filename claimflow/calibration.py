"""Calibration of field confidences: a reliability table and the expected calibration error (ECE).

A field confidence is meant to behave like a probability: of fields read at 0.9, about 9 in 10 are right.
Given (confidence, was_right) pairs measured against ground truth, `reliability_table` sorts them into
equal-width confidence bins and reports each bin's mean confidence and measured accuracy;
`expected_calibration_error` is the share-weighted mean gap between the two.

Raw extraction scores (OCR word confidence x anchor match x validation ...) are ordered well but are not
probabilities: on SROIE receipts a raw 0.9 was right far less often than on a typed claim form. `fit_calibration`
fits, per reading method and per document type, a logistic map from the logit of the raw score to the measured
probability (Platt scaling), each curve shrunk towards its parent's (every pair -> method -> type) by a ridge
penalty, so a type seen on few fields borrows its method's curve instead of following its noise (`fit_logistic`).
The maps are tabulated as monotone knots (`Curve`) and applied to the final fields of each read
(`pipeline.read_and_extract`). A raw score at or below DOUBT_RAW is a value a check capped so that a person looks
at it; no curve lifts it over DOUBT_CEILING, under the auto-accept threshold, whatever its pairs say. The fitted
curves live in extractors/calibration.json, written by bench/fit_calibration.py with what they were fitted on, so a
change to the extractors is followed by a re-fit that a person reviews in the diff. The auto-accept threshold is
chosen on held-out confidences (`choose_threshold_by_type`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
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


def adaptive_calibration_error(pairs: Sequence[tuple[float, bool]], bins: int = DEFAULT_BINS) -> float:
    """Return the ECE over `bins` equal-count bins of the pairs sorted by confidence (for information only).

    Equal-width bins put most pairs of a well-read corpus into 0.9-1.0; equal-count bins look inside it. Pairs with
    equal confidence stay in one bin. The project's target is `expected_calibration_error` (equal width).
    """
    total = len(pairs)
    if total == 0:
        return 0.0
    ordered = sorted((min(max(c, 0.0), 1.0), bool(r)) for c, r in pairs)
    error, start = 0.0, 0
    for index in range(1, bins + 1):
        end = max(start, round(index * total / bins))
        while 0 < end < total and ordered[end][0] == ordered[end - 1][0]:
            end += 1  # keep equal confidences together
        chunk = ordered[start:end]
        if chunk:
            gap = abs(sum(r for _, r in chunk) / len(chunk) - sum(c for c, _ in chunk) / len(chunk))
            error += len(chunk) / total * gap
        start = end
    return error


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


def choose_threshold_by_type(
    scored: Sequence[tuple[str, float, bool]], *, target: float = 0.995, thresholds: Sequence[float] | None = None
) -> float | None:
    """Return the lowest threshold whose accepted fields are at least `target` right overall and in every type.

    `scored` holds (document type, confidence, was right). A type with no field at or above a threshold does not
    stop it. None when no threshold of the grid qualifies.
    """
    grid = sorted(thresholds or [round(0.5 + 0.01 * i, 2) for i in range(50)])
    by_type: dict[str, list[tuple[float, bool]]] = {}
    for kind, confidence, right in scored:
        by_type.setdefault(kind, []).append((confidence, right))
    everything = [(confidence, right) for _, confidence, right in scored]
    for t in grid:
        points = [threshold_sweep(pairs, [t])[0] for pairs in (everything, *by_type.values())]
        if points[0].accuracy is not None and all(p.accuracy is None or p.accuracy >= target for p in points):
            return t
    return None


# --- The fitted map: raw extraction scores -> probabilities -------------------------------------------------

CALIBRATION_FILE = "calibration.json"
"""Name of the fitted calibration in the extractors folder (JSON, so spec loading never mistakes it for a spec)."""

TEXT_METHODS = frozenset({ReadMethod.TEXT_LAYER, ReadMethod.ACROFORM})

RAW_FLOOR = 0.005
"""Raw scores are clipped to [RAW_FLOOR, 1 - RAW_FLOOR] before their logit is taken (a raw 1.0 is finite evidence)."""

ROOT_STRENGTH = 0.01
"""Ridge strength of the curve fitted on every pair, towards the identity (raw score taken as a probability)."""
GROUP_STRENGTH = 10.0
"""Ridge strength pulling a reading method's curve (intercept, slope) towards the curve of every pair."""
TYPE_STRENGTH = 20.0
"""Ridge strength pulling a document type's curve towards its reading method's curve: a type with few pairs keeps
nearly its method's curve, one with many pairs follows its own data. Chosen in the flat part of the held-out ECE
(10, 20, 30 gave a mean of 0.010, 0.009, 0.009 over 7 fold splits of the 2026-11-26 pairs), not at a best split."""

KNOT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(16)) + tuple(
    round(0.8 + 0.01 * i, 2) for i in range(21)
)
"""Raw scores at which a fitted logistic is tabulated into a Curve: every 0.05 up to 0.75, every 0.01 above 0.8."""

DOUBT_RAW = 0.75
"""The highest raw cap that means "a person must look": a second look's doubt (extract_confirm.DOUBT_CAP), a rival
reading (extract_words.RIVAL_CAP), a value only an enlarged label line gave (extract_reread.UNREAD_CAP); the other
such caps (a cut value, disagreeing readings, a repaired total) are lower. tests/unit/test_calibration.py checks it."""
DOUBT_CEILING = 0.97
"""The most a raw score at or below DOUBT_RAW is calibrated to, whatever a curve says: below the auto-accept threshold
(0.98; the test checks the shipped threshold), so a doubt stays a doubt after calibration. Without it a refit on
pairs where every doubted value happened to be right maps raw 0.75 to 0.981-0.985 on four OCR curves (2026-11-27)."""

METHOD = (
    "logistic on logit(raw score), fitted by maximum a posteriori per reading method and per document type, each "
    "shrunk towards its parent (every pair -> method -> type); at most (n + 1) / (n + 2) of the method's n pairs; "
    "tabulated as knots"
)


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

    `knots` are (raw score, probability) points with increasing raw score and non-decreasing probability;
    between knots the map is linear, below the first it falls linearly to 0 at raw 0 (a first knot at raw 0
    holds its probability), above the last it stays at the last probability; a raw score at or below DOUBT_RAW
    (a doubt) maps to at most DOUBT_CEILING. `n` is the number of pairs it was
    fitted on; `logistic` the (intercept, slope) it was tabulated from, when it was (for review; not applied).
    """

    knots: tuple[tuple[float, float], ...]
    n: int
    logistic: tuple[float, float] | None = None

    def __call__(self, raw: float) -> float:
        """Return the calibrated confidence of raw score `raw`; at most DOUBT_CEILING for a raw score <= DOUBT_RAW."""
        x = min(max(raw, 0.0), 1.0)
        value = self._interpolate(x)
        return min(value, DOUBT_CEILING) if x <= DOUBT_RAW else value

    def _interpolate(self, x: float) -> float:
        first_x, first_y = self.knots[0]
        if x <= first_x:
            return round(first_y * x / first_x, 4) if first_x > 0 else round(first_y, 4)
        for (x0, y0), (x1, y1) in zip(self.knots, self.knots[1:], strict=False):
            if x <= x1:
                return round(y0 + (y1 - y0) * (x - x0) / (x1 - x0), 4)
        return round(self.knots[-1][1], 4)


def _logit(raw: float) -> float:
    x = min(max(raw, RAW_FLOOR), 1.0 - RAW_FLOOR)
    return math.log(x / (1.0 - x))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class Logistic:
    """p = sigmoid(intercept + slope x logit(raw)), never above `cap`: one fitted calibration map."""

    intercept: float
    slope: float
    cap: float = 1.0

    def __call__(self, raw: float) -> float:
        """Return the probability of raw score `raw`."""
        return min(_sigmoid(self.intercept + self.slope * _logit(raw)), self.cap)

    def curve(self, n: int) -> Curve:
        """Return this map tabulated at KNOT_GRID, as the Curve the engine applies (doubts kept under DOUBT_CEILING)."""
        knots = tuple((x, round(min(self(x), DOUBT_CEILING) if x <= DOUBT_RAW else self(x), 4)) for x in KNOT_GRID)
        return Curve(knots, n, (round(self.intercept, 4), round(self.slope, 4)))


def _penalised_loss(
    data: Sequence[tuple[float, float]], a: float, b: float, prior: tuple[float, float], strength: float
) -> float:
    loss = 0.5 * strength * ((a - prior[0]) ** 2 + (b - prior[1]) ** 2)
    for x, y in data:
        z = a + b * x
        # log(1 + e^z) - y z, computed without overflow
        loss += (z if z > 0 else 0.0) + math.log1p(math.exp(-abs(z))) - y * z
    return loss


def fit_logistic(
    pairs: Sequence[tuple[float, bool]], *, prior: tuple[float, float] = (0.0, 1.0), strength: float = ROOT_STRENGTH
) -> tuple[float, float]:
    """Fit (intercept, slope) of p = sigmoid(intercept + slope x logit(raw)) to (raw score, was right) pairs.

    Maximum a posteriori: the log-likelihood minus `strength`/2 x the squared distance of (intercept, slope) from
    `prior`, so a fit on few pairs stays near the prior (its parent's curve) and one on many follows its data.
    Damped Newton steps. The slope is kept >= 0 (a higher raw score never means a lower probability): a fit that
    wants a negative slope is refitted with slope 0. Raises ValueError without pairs.
    """
    if not pairs:
        raise ValueError("no pairs to fit a calibration curve on")
    if strength <= 0:
        raise ValueError(f"strength must be positive, got {strength}")
    data = [(_logit(raw), 1.0 if right else 0.0) for raw, right in pairs]
    a, b = _newton(data, prior, strength, fit_slope=True)
    if b < 0:
        a, b = _newton(data, (prior[0], 0.0), strength, fit_slope=False)
    return a, b


def _newton(
    data: Sequence[tuple[float, float]], prior: tuple[float, float], strength: float, *, fit_slope: bool
) -> tuple[float, float]:
    a, b = prior
    loss = _penalised_loss(data, a, b, prior, strength)
    for _ in range(100):
        ga, gb = strength * (a - prior[0]), strength * (b - prior[1])
        haa = hbb = strength
        hab = 0.0
        for x, y in data:
            p = _sigmoid(a + b * x)
            w = p * (1.0 - p)
            ga += p - y
            gb += (p - y) * x
            haa += w
            hab += w * x
            hbb += w * x * x
        if fit_slope:
            det = haa * hbb - hab * hab
            da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        else:
            da, db = ga / haa, 0.0
        step = 1.0
        while True:  # halve the step until the penalised loss does not grow (it is convex: this ends)
            new_a, new_b = a - step * da, b - step * db
            new_loss = _penalised_loss(data, new_a, new_b, prior, strength)
            if new_loss <= loss or step < 1e-6:
                break
            step /= 2
        a, b, moved = new_a, new_b, max(abs(step * da), abs(step * db))
        loss = new_loss
        if moved < 1e-9:
            break
    return a, b


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
        curves: dict[str, object] = {}
        for key, curve in sorted(self.curves.items()):
            entry: dict[str, object] = {"n": curve.n}
            if curve.logistic is not None:
                entry["intercept"], entry["slope"] = curve.logistic
            entry["knots"] = [list(p) for p in curve.knots]
            curves[key] = entry
        return {"format": 1, "method": METHOD, "source": self.source, "threshold": self.threshold, "curves": curves}


def calibration_text(calibration: Calibration) -> str:
    """Return extractors/calibration.json's text: indented, one knot per line, so a re-fit reads well as a diff."""
    text = json.dumps(calibration.to_json(), indent=1, ensure_ascii=False)
    return re.sub(r"\[\s+(-?[\d.e-]+),\s+(-?[\d.e-]+)\s+\]", r"[\1, \2]", text) + "\n"


def fit_calibration(
    pairs: Iterable[tuple[str, str, float, bool]],
    *,
    group_strength: float = GROUP_STRENGTH,
    type_strength: float = TYPE_STRENGTH,
    source: str = "",
) -> Calibration:
    """Fit curves from (method group, document type, raw score, was right) tuples: one per group, one per type.

    A curve on every pair is the prior of each method group's curve, and a group's curve the prior of each of
    its document types' curves (see `fit_logistic`), so a type seen on 30 pairs borrows most of its shape from
    its method and a type seen on 300 has its own. No curve of a group of n pairs claims more than
    (n + 1) / (n + 2): n right of n is not proof of certainty.
    """
    by_key: dict[str, list[tuple[float, bool]]] = {}
    everything: list[tuple[float, bool]] = []
    for group, document_type, raw, right in pairs:
        everything.append((raw, right))
        by_key.setdefault(group, []).append((raw, right))
        by_key.setdefault(f"{group}/{document_type}", []).append((raw, right))
    root = fit_logistic(everything)
    curves: dict[str, Curve] = {}
    for group in sorted(k for k in by_key if "/" not in k):
        cap = (len(by_key[group]) + 1) / (len(by_key[group]) + 2)
        params = fit_logistic(by_key[group], prior=root, strength=group_strength)
        curves[group] = Logistic(*params, cap=cap).curve(len(by_key[group]))
        for key in sorted(k for k in by_key if k.startswith(f"{group}/")):
            own = fit_logistic(by_key[key], prior=params, strength=type_strength)
            curves[key] = Logistic(*own, cap=cap).curve(len(by_key[key]))
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
            logistic = None
            if "intercept" in raw or "slope" in raw:
                logistic = (float(raw["intercept"]), float(raw["slope"]))
            curves[str(key)] = Curve(knots, int(raw["n"]), logistic)
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
