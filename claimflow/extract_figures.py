"""Weak figures of chi_sim specs (codes, amounts, dates, account and phone numbers) read by the second recognizer.

Added by zh10. On degraded 理赔申请书 scans most misses are not Chinese text but figures chi_sim misread: a yen sign
that swallowed the amount's first digit (`汐` at 0.0 then `5,291.02` for ¥45,291.02), a code with a character
inserted under skew (`PDA4Z2026...` for PDAZ2026...), a phone's last digits wrong, a date or phone the page reading
did not give at all. PP-OCR's Chinese model (readers/paddle_rec.py, as extract_paddle.py uses it for text) reads
those crops right more often than not. Each weak figures field (type code, money or date whose pattern reads
digits, below auto-accept) of a spec reading with chi_sim has its value's line read once: the value's words
widened WIDEN line heights each way, over weak words beside it (`汐`: the value's own ink misread); a field the
page reading did not give is read once right of its label (extract_words.row_right_of_label). The field's pattern
finds the value in that reading and the field's type parses it, as for the page's words.

- **Both read the same value** (every character of the second reading at SURE_CHAR or more), no check or problem
  against the field: the words' OCR part of the raw score is replaced by the second reading's, at most
  AGREE_CAP raw (extract_paddle's rule for text).
- **They differ**: the field is capped at DISAGREE_CAP raw. The second reading's value is taken only when it fits
  the field better: it passes the validators tesseract's value fails (a code's shape, Luhn, GB 11643, an amount
  range), or fails fewer of the spec's cross-field checks (figures against words, date order, sums); on a tie,
  only when each of its characters is sure and tesseract's words were read less surely than they (a phone's
  `...504` read at 0.14 against `...571` read at 0.99). A Problem says so; the field stays below auto-accept.
- **Not read by the page**: the one value the reading right of its label gives that passes the validators and is
  no other code field's value (the row above, on a skewed page) is taken at ALONE raw, with a Problem.

The levels (AGREE_CAP 0.9, DISAGREE_CAP 0.6, ALONE 0.5) are the evidence the calibration refit sees.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from PIL import Image

from claimflow.capital_numerals import unread_fits
from claimflow.errors import ReasonCode
from claimflow.extract import checksum_strength
from claimflow.extract_checks import apply_checks
from claimflow.extract_glyphs import value_words
from claimflow.extract_paddle import (
    AGREE_CAP,
    DISAGREE_CAP,
    LANGUAGE,
    MIN_REST,
    PAD,
    SURE_CHAR,
    WIDEN,
    crop_line,
    inked,
)
from claimflow.extract_reread import calibrated, put_found
from claimflow.extract_values import TypedValue, parse_value, validate_value
from claimflow.extract_words import OTHER_CODE_RATIO, row_right_of_label
from claimflow.models import (
    BBox,
    Extraction,
    Field,
    FieldValueType,
    Money,
    Page,
    Problem,
    Provenance,
    ReadDocument,
    ReadMethod,
    centre_in,
)
from claimflow.readers.paddle_rec import Reading, RecognizerMissing
from claimflow.specs import AgreeCheck, AlikeCheck, FieldSpec, OrderCheck, Spec, SpecSet, SumCheck

FIGURE_TYPES = frozenset({"code", "money", "date"})
"""Field types read in figures (a pattern reading digits: `amount_in_words`' capital numerals are not)."""
WEAK_NEIGHBOUR = 0.5
"""A word beside the value read below this does not stop its crop's widening (its ink may be the value's)."""
ALONE = 0.5
"""The raw score of a value only the second recognizer read (right of its label): a person checks it."""

Recognize = Callable[[Image.Image], Reading]


@dataclass(frozen=True, slots=True)
class Figures:
    """One value the second recognizer's reading gives for a field: typed, as read, and how surely."""

    typed: TypedValue
    raw: str
    sure: bool
    """Every letter and digit of it read at SURE_CHAR or more (signs and separators aside)."""
    ocr: float
    """Its letters' and digits' confidences combined as a field's words' are (half the weakest, half the mean)."""


def reads_figures(field_spec: FieldSpec) -> bool:
    """Return whether the field's value is written in figures (a code, amount or date whose pattern reads digits)."""
    pattern = field_spec.pattern or ""
    return field_spec.type in FIGURE_TYPES and ("\\d" in pattern or "0-9" in pattern)


def weak_figures(part: Extraction, specs: SpecSet, pages: dict[int, Page], threshold: float) -> list[str]:
    """Return the weak figures fields of a chi_sim spec's `part`.

    Those below auto-accept on an OCR'd page, and those not read at all though their label is on one.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None or LANGUAGE not in spec.ocr.languages or not pages:
        return []
    out = []
    for name, field_spec in spec.fields.items():
        if not reads_figures(field_spec):
            continue
        found = part.fields.get(name)
        if found is None:
            if any(row_right_of_label(page, field_spec) is not None for page in _pages_of(part, pages)):
                out.append(name)
            continue
        if found.provenance.page not in pages or found.provenance.bbox is None:
            continue
        if isinstance(found.value, str | Money | date) and calibrated(part, found, specs) < threshold:
            out.append(name)
    return out


def read_figures_again(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    recognize: Callable[[], Recognize],
    *,
    threshold: float,
    only: Sequence[str] = (),
    counted: Callable[[float, float], None] | None = None,
) -> int:
    """Read the weak (or unread) figures fields again with the second recognizer; return the crops read.

    `recognize` returns the recognizer (loaded on first use; RecognizerMissing when it cannot be); `only`, when
    given, limits the fields read; `counted(wall, cpu)` is told each crop's reading time.
    """
    pages = {p.number: p for p in read.pages if p.method is ReadMethod.OCR and isinstance(p.image, Image.Image)}
    crops = 0
    for part in parts:
        spec = specs.specs.get(part.document_type)
        if spec is None:
            continue
        for name in weak_figures(part, specs, pages, threshold):
            if only and name not in only:
                continue
            field_spec = spec.fields[name]
            found = part.fields.get(name)
            where = _where(part, found, field_spec, pages)
            if where is None:
                continue
            page, crop, box = where
            try:
                reader = recognize()
            except RecognizerMissing as err:
                part.problems.append(
                    Problem(ReasonCode.OCR_FAILED, f"second Chinese recognizer unavailable: {err}", field=name)
                )
                return crops
            started, cpu = time.perf_counter(), time.thread_time()
            reading = reader(crop)
            if counted is not None:
                counted(time.perf_counter() - started, time.thread_time() - cpu)
            crops += 1
            second = figures_in(reading, part, name, spec)
            if second is None:
                continue  # nothing (or more than one thing) the field could hold was read: no evidence
            if found is None:
                _take_alone(part, name, second, page, box)
            else:
                judge(part, name, second, spec, page)
    return crops


def _pages_of(part: Extraction, pages: dict[int, Page]) -> list[Page]:
    """Return the OCR'd pages of `part` (another document's page in the same file is not its)."""
    return [page for number, page in sorted(pages.items()) if not part.pages or number in part.pages]


def _where(
    part: Extraction, found: Field | None, field_spec: FieldSpec, pages: dict[int, Page]
) -> tuple[Page, Image.Image, BBox] | None:
    """Return the page, the crop to read and its box: the value's line, or the row right of its label."""
    if found is not None:
        page = pages[found.provenance.page or 0]
        box = found.provenance.bbox
        assert box is not None
        words = list(value_words(found, page)) or [w for w in page.words if centre_in(w.bbox, box)]
        if not words:
            return None
        return page, crop_line(page, words, WIDEN, WIDEN, over=WEAK_NEIGHBOUR), box
    for page in _pages_of(part, pages):
        row = row_right_of_label(page, field_spec)
        if row is not None:
            return page, _crop_box(page, row), row
    return None


def _crop_box(page: Page, box: BBox) -> Image.Image:
    """Return the box cut out of the page image (grey), with PAD of its height above and below."""
    image = page.image
    assert isinstance(image, Image.Image)
    width, height = image.size
    pad = PAD * (box[3] - box[1]) * height
    left, top = max(0, int(box[0] * width)), max(0, int(box[1] * height - pad))
    right, bottom = min(width, int(box[2] * width) + 1), min(height, int(box[3] * height + pad) + 1)
    return inked(image.crop((left, top, max(right, left + 1), max(bottom, top + 1))).convert("L"))


def figures_in(reading: Reading, part: Extraction, name: str, spec: Spec) -> Figures | None:
    """Return the one value the reading gives for the field, None when it gives none or several.

    Values failing the field's validators are dropped when another passes; a code like another code field's value
    (OTHER_CODE_RATIO) is that field's (a row crop reaching into the row above on a skewed page).
    """
    field_spec = spec.fields[name]
    if field_spec.pattern is None:
        return None
    flags = re.IGNORECASE if field_spec.ignore_case else 0
    others = [f.value for n, f in part.fields.items() if n != name and isinstance(f.value, str)]
    found: dict[str, Figures] = {}
    for match in re.finditer(field_spec.pattern, reading.text, flags):
        start, end = match.span(_group(match))
        raw = reading.text[start:end]
        typed = parse_value(raw, field_spec, spec)
        if typed is None or not typed.keep:
            continue
        if isinstance(typed.value, str) and any(
            difflib.SequenceMatcher(None, typed.value, other).ratio() >= OTHER_CODE_RATIO for other in others
        ):
            continue
        # a currency sign or a separator read unsure is no doubt about the figures (`￥` at 0.58 before `27,991.78`)
        confidences = [c for ch, c in zip(raw, reading.confidences[start:end], strict=True) if ch.isalnum()]
        if not confidences:
            continue
        ocr = 0.5 * min(confidences) + 0.5 * sum(confidences) / len(confidences)
        key = repr(_comparable(typed.value))
        found.setdefault(key, Figures(typed, raw, min(confidences) >= SURE_CHAR, ocr))
    valid = [f for f in found.values() if f.typed.error is None]
    chosen = valid or list(found.values())
    return chosen[0] if len(chosen) == 1 else None


def _comparable(value: FieldValueType) -> object:
    return value.amount if isinstance(value, Money) else value


def judge(part: Extraction, name: str, second: Figures, spec: Spec, page: Page) -> None:
    """Lift, cap or correct the field from the second recognizer's value for it."""
    found = part.fields[name]
    field_spec = spec.fields[name]
    words = [w.confidence for w in value_words(found, page)]
    ocr = 0.5 * min(words) + 0.5 * sum(words) / len(words) if words else 0.0
    valid = validate_value(found.value, field_spec.validators) is None
    if valid:
        ocr = 1.0 - (1.0 - ocr) / checksum_strength(field_spec)
    if _comparable(second.typed.value) == _comparable(found.value):
        doubted = any(p.field == name for p in part.problems) or check_failures(part, spec, name, found) > 0
        if not second.sure or doubted or ocr <= 0:
            return
        theirs = second.ocr
        if second.typed.error is None and not second.typed.ambiguous:
            theirs = 1.0 - (1.0 - theirs) / checksum_strength(field_spec)
        rest = found.confidence / ocr
        lifted = min(AGREE_CAP, rest * theirs)
        if rest >= MIN_REST and lifted > found.confidence:
            part.fields[name] = dataclasses.replace(found, confidence=round(lifted, 4))
        return
    capped = dataclasses.replace(found, confidence=min(found.confidence, DISAGREE_CAP))
    # words read in part that cannot say tesseract's amount (extract_checks.fill_unread) are a failed check too
    contradicted = any(p.field == name and p.code is ReasonCode.AMOUNTS_INCONSISTENT for p in part.problems)
    ours = (valid, -max(check_failures(part, spec, name, found), int(contradicted)))
    candidate = Field(name, second.typed.value, capped.confidence, found.provenance, second.raw)
    theirs_fit = (second.typed.error is None, -check_failures(part, spec, name, candidate))
    better = theirs_fit > ours or (theirs_fit == ours and second.sure and second.ocr > ocr)
    shown, other = (candidate, found) if better else (found, candidate)
    problem = Problem(
        ReasonCode.FIELD_AMBIGUOUS,
        f"{name}: the two recognizers read {_plain(shown.value)} and {_plain(other.value)}; "
        f"{_plain(shown.value)} fits the field better; check it",
        page=page.number,
        field=name,
    )
    if better:
        # what was said of tesseract's reading (its words contradicting it too) is not said of this one
        stale = ReasonCode.AMOUNTS_INCONSISTENT
        part.problems[:] = [p for p in part.problems if not (p.field == name and p.code is stale)]
        put_found(part, candidate, [problem])
        _refill(part, spec, name, candidate)
    else:
        part.fields[name] = capped
        part.problems.append(problem)


def _take_alone(part: Extraction, name: str, second: Figures, page: Page, box: BBox) -> None:
    """Put a value only the second recognizer read (right of its label) in, at ALONE raw, flagged."""
    if second.typed.error is not None:
        return
    field = Field(name, second.typed.value, ALONE, Provenance(ReadMethod.OCR, page.number, box), second.raw)
    problem = Problem(
        ReasonCode.FIELD_AMBIGUOUS,
        f"{name}: not read on the page; the second recognizer read {_plain(field.value)} beside its label; check it",
        page=page.number,
        field=name,
    )
    put_found(part, field, [problem])


def _plain(value: FieldValueType) -> str:
    return str(value.amount) if isinstance(value, Money) else str(value)


def _refill(part: Extraction, spec: Spec, name: str, field: Field) -> None:
    """Give the words filled from the figures tesseract read (extract_checks.fill_unread) the new figures.

    Words read in part (`人民币玖万肆仟...` with the first numeral unreadable) were given tesseract's amount
    because they fit it; when they fit the new amount too they take it, else they are capped at DISAGREE_CAP.
    """
    if not isinstance(field.value, Money):
        return
    for check in spec.checks:
        if not isinstance(check, AgreeCheck) or not check.fill_unread or name not in check.fields:
            continue
        for other in check.fields:
            filled = part.fields.get(other)
            if other == name or filled is None or own_reading(part, spec, other):
                continue
            if unread_fits(filled.raw, field.value.amount) is not None:
                part.fields[other] = dataclasses.replace(filled, value=field.value)
            else:
                part.fields[other] = dataclasses.replace(filled, confidence=min(filled.confidence, DISAGREE_CAP))


def own_reading(part: Extraction, spec: Spec, name: str) -> bool:
    """Return whether the field's own text reads as its value (not another field's: extract_checks.fill_unread)."""
    field, field_spec = part.fields[name], spec.fields.get(name)
    if field_spec is None:
        return True
    raw = field.raw
    if field_spec.pattern is not None:
        flags = re.IGNORECASE if field_spec.ignore_case else 0
        match = re.search(field_spec.pattern, raw, flags)
        if match is None:
            return False
        raw = match.group(_group(match))
    typed = parse_value(raw, field_spec, spec)
    return typed is not None and typed.keep and _comparable(typed.value) == _comparable(field.value)


def _group(match: re.Match[str]) -> str | int:
    """Return the group holding the value: `value`, else the first group, else the whole match."""
    return "value" if "value" in match.re.groupindex else (1 if match.re.groups else 0)


def check_failures(part: Extraction, spec: Spec, name: str, field: Field) -> int:
    """Return how many of the spec's cross-field checks naming `name` fail with `field` as its value.

    A field given this field's value because its own words fit it in part (`fill_unread`) is no second reading.
    """
    fields = {n: f for n, f in part.fields.items() if n == name or own_reading(part, spec, n)}
    fields[name] = field
    failures = 0
    for check in spec.checks:
        if name not in _named(check):
            continue
        alone = spec.model_copy(update={"checks": [check]})
        failures += len(apply_checks(dict(fields), alone)) > 0
    return failures


def _named(check: SumCheck | OrderCheck | AgreeCheck | AlikeCheck) -> list[str]:
    if isinstance(check, SumCheck):
        return [ref.partition(".")[0] for ref in (check.total, *check.parts)]
    if isinstance(check, OrderCheck):
        return [check.earlier, check.later]
    return list(check.fields)
