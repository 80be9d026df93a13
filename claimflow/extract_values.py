"""Turn the raw text of one field into its typed value by the spec's type, locale and validators.

Used by page extraction (`extract.py`, `extract_tables.py`) and sheet extraction (`extract_sheets.py`)
so that a value means the same thing wherever it was read. A value that cannot be parsed comes back
with `error` set and `keep` False (the field stays absent); one that parses but fails a validator (IBAN
checksum, range) is kept with `error` set, so it is shown with low confidence and a Problem.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from claimflow.icd10cm import check_list
from claimflow.models import FieldValueType, Money
from claimflow.normalise import (
    TWIN_CHANGES,
    fix_iban_country,
    has_cjk,
    iban_check_failure,
    is_valid_gb11643,
    is_valid_luhn,
    normalise_code,
    normalise_currency,
    normalise_text,
    parse_boxed_date,
    parse_date,
    parse_money,
    search_iban_repairs,
)
from claimflow.specs import FieldSpec, Spec, Validator, date_bound

_TRUE = frozenset({"y", "yes", "true", "1", "x", "oui", "ja", "tak"})
_FALSE = frozenset({"n", "no", "false", "0", "non", "nee", "nie"})


@dataclass(frozen=True, slots=True)
class TypedValue:
    """A parsed value with what went wrong or needed a guess."""

    value: FieldValueType
    ambiguous: bool = False
    error: str | None = None
    keep: bool = True
    note: str | None = None

    @property
    def sort_key(self) -> Decimal:
        """Return the amount for `select: largest` (0 for non-money values)."""
        if isinstance(self.value, Money):
            return self.value.amount
        return Decimal(0)


def parse_value(raw: str, field_spec: FieldSpec, spec: Spec) -> TypedValue | None:
    """Parse `raw` as the field's type; None when the text holds no value at all (blank, punctuation)."""
    text = raw.strip()
    if not re.search(r"\w|[€£$₹]", text):
        return None
    if text.lower() in (value.lower() for value in field_spec.missing_values):
        return None
    try:
        typed = _parse(text, field_spec, spec)
    except ValueError as exc:
        return TypedValue(text, error=f"cannot read {field_spec.type} value ({exc.__class__.__name__})", keep=False)
    failure = iban_check_failure(typed.value) if field_spec.type == "iban" and isinstance(typed.value, str) else None
    if failure is not None and isinstance(typed.value, str):
        search = search_iban_repairs(typed.value)
        if search.repaired is None:
            why = (
                f"{len(search.valid)} different corrections of OCR confusions would pass, so none is chosen"
                if search.valid
                else "no single correction of OCR confusions passes"
            )
            return TypedValue(typed.value, error=f"{failure}; {why}")
        note = (
            "IBAN repaired from OCR: the only reading passing mod-97 after undoing likely OCR confusions "
            "(O/0, S/5, a character too many or too few); check it against the document"
        )
        return TypedValue(search.repaired, ambiguous=True, note=note)
    if field_spec.type == "iban" and isinstance(typed.value, str):
        twins = search_iban_repairs(typed.value, max_changes=TWIN_CHANGES)
        if twins.valid or not twins.complete:
            # mod-97 cannot tell S from 5 in a BBAN that allows letters (a letter counts as two digits): a read that
            # passes while another reading of its OCR-confusable characters passes too is not confirmed by it
            note = (
                "IBAN passes mod-97, but so does another reading of its OCR-confusable characters (S/5, O/0, B/8 ...);"
                " check it against the document"
            )
            return TypedValue(typed.value, ambiguous=True, note=note)
    if field_spec.allowed and isinstance(typed.value, str):
        typed = _canonical(typed.value, field_spec.allowed)
    if isinstance(typed.value, list) and any(v.kind == "icd10cm" for v in field_spec.validators):
        typed = _icd10cm_repaired(typed)
    problem = validate_value(typed.value, field_spec.validators)
    if problem is not None:
        return TypedValue(typed.value, typed.ambiguous, problem, True, typed.note)
    return typed


def _icd10cm_repaired(typed: TypedValue) -> TypedValue:
    """Return a diagnosis list with its misread items repaired from the ICD-10-CM code set, flagged for a person.

    An item that is no ICD-10-CM code but one OCR confusion from exactly one takes that code (`S45.909` ->
    J45.909; `icd10cm.check_list`); items left invalid are the validator's to report.
    """
    if not isinstance(typed.value, list):
        return typed
    items = [str(item) for item in typed.value]
    check = check_list(items)
    if not check.repaired:
        return typed
    places = ", ".join(str(items.index(read) + 1) for read, _ in check.repaired)
    note = (
        f"item {places} read as no ICD-10-CM code, taken as the only real code one OCR confusion away; check it"
    )
    return TypedValue(check.items, True, typed.error, typed.keep, note)


ALLOWED_MATCH = 0.8
"""A read word this similar (0..1) to exactly one allowed value is taken as that value, flagged for a person."""
_OCR_LETTERS = str.maketrans({"0": "o", "1": "i", "5": "s", "8": "b", "6": "g", "2": "z", "|": "l"})


def _canonical(value: str, allowed: list[str]) -> TypedValue:
    """Return the allowed value `value` names: same letters in any case, else a close OCR misreading (flagged)."""
    for option in allowed:
        if _allowed_key(option, ocr=False) == _allowed_key(value, ocr=False):
            return TypedValue(option)
    if has_cjk(value):
        return _canonical_cjk(value, allowed)
    key = _allowed_key(value, ocr=True)
    scores = sorted(
        ((difflib.SequenceMatcher(None, key, _allowed_key(option, ocr=True)).ratio(), option) for option in allowed),
        reverse=True,
    )
    best_score, best = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    if best_score >= ALLOWED_MATCH and best_score - runner_up >= 0.1:
        return TypedValue(best, ambiguous=True, note=f"read {value!r}, taken as the allowed value {best!r}; check it")
    return TypedValue(value, error=f"not one of the allowed values ({'|'.join(allowed)})")


CJK_ALLOWED_SHARE = 0.5
"""A CJK value of an allowed value's length with at least this share of its characters in place names it (flagged)."""


def _canonical_cjk(value: str, allowed: list[str]) -> TypedValue:
    """Return the allowed value a CJK reading names when one of its characters was misread (flagged), else invalid.

    One Han character carries a word's worth of meaning, so the Latin rule (0.8 of the letters alike) would never
    take a two-character value with one character misread (`咨抢` for 盗抢: chi_sim reads 盗 as 咨). A value of the
    same length that keeps at least CJK_ALLOWED_SHARE of an allowed value's characters in their places names it
    when no other allowed value keeps as many.
    """
    key = _allowed_key(value, ocr=False)
    scores = sorted(
        (
            (sum(a == b for a, b in zip(key, option_key, strict=True)) / len(key), option)
            for option in allowed
            if len(option_key := _allowed_key(option, ocr=False)) == len(key) and key
        ),
        reverse=True,
    )
    if scores and scores[0][0] >= CJK_ALLOWED_SHARE and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        best = scores[0][1]
        return TypedValue(best, ambiguous=True, note=f"read {value!r}, taken as the allowed value {best!r}; check it")
    return TypedValue(value, error=f"not one of the allowed values ({'|'.join(allowed)})")


def _allowed_key(text: str, *, ocr: bool) -> str:
    """Return text lower-cased without spaces and punctuation; with `ocr`, digits read as the letters they resemble."""
    lowered = text.lower().translate(_OCR_LETTERS) if ocr else text.lower()
    return re.sub(r"[\W_]+", "", lowered)


def _parse(text: str, field_spec: FieldSpec, spec: Spec) -> TypedValue:
    """Parse by type; raise ValueError when the text is not a value of that type."""
    kind = field_spec.type
    if kind == "money":
        money = parse_money(text, decimal_comma=spec.locale.decimal_comma)
        note = "amount like 1.234 could be thousands or decimals" if money.ambiguous else None
        return TypedValue(Money(money.amount, money.currency), money.ambiguous, note=note)
    if kind == "date":
        boxed = parse_boxed_date(text) if spec.locale.month_first_spaced and not BOXLESS.search(text) else None
        if boxed is not None:
            note = "the date's boxes can be read two ways; check it" if boxed.ambiguous else None
            typed = TypedValue(boxed.value, boxed.ambiguous, note=note)
            typed = typed if FOUR_DIGIT_YEAR.search(text) else _century(typed, field_spec.validators)
            return _misread_year(typed, field_spec.validators)
        parsed = parse_date(text, day_first=spec.locale.day_first, month_first_spaced=spec.locale.month_first_spaced)
        note = "day and month can be swapped and the document has no locale" if parsed.ambiguous else None
        if TWO_DIGIT_YEAR.search(text):
            return _century(TypedValue(parsed.value, parsed.ambiguous, note=note), field_spec.validators)
        return _misread_year(TypedValue(parsed.value, parsed.ambiguous, note=note), field_spec.validators)
    if kind == "iban":
        compact = re.sub(r"[\s\-]", "", text).upper()
        fixed = fix_iban_country(compact)
        if fixed is not None and IBAN_SHAPE.fullmatch(fixed):
            note = f"IBAN country code read as '{compact[:2]}', taken as '{fixed[:2]}'; check it against the document"
            return TypedValue(fixed, ambiguous=True, note=note)
        if not IBAN_SHAPE.fullmatch(compact):
            raise ValueError("not shaped like an IBAN")
        return TypedValue(compact)
    if kind == "currency":
        return TypedValue(normalise_currency(text))
    if kind == "code":
        return TypedValue(normalise_code(text))
    if kind == "integer":
        digits = re.sub(r"[\s,']", "", text)
        if not re.fullmatch(r"-?\d+", digits):
            raise ValueError("not an integer")
        return TypedValue(int(digits))
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return TypedValue(True)
        if lowered in _FALSE:
            return TypedValue(False)
        raise ValueError("not yes/no")
    if kind == "list":
        items = [normalise_code(item) for item in text.split("\n") if item.strip()]
        if not items:
            raise ValueError("empty list")
        return TypedValue(items)
    value = normalise_text(text)
    if not value:
        raise ValueError("empty text")
    return TypedValue(value)


FOUR_DIGIT_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}\D*$")
BOXLESS = re.compile(r"\d\s*[/\-]\s*\d+\s*[/\-]\s*\d|-|[A-Za-z]{3}")
"""A date written with slashes (two of them), dashes or a month name is not a boxed date; one slash among boxes
(`11 | 03/1972`) is a dashed box rule read as `/`."""
TWO_DIGIT_YEAR = re.compile(r"(?<!\d)\d{1,2}\W+\d{1,2}\W+\d{2}\W*$")
"""A date ending in a two-digit year (`10 16 66`, `02/28/17`): its century is a reading, not a fact."""


def _date_window(
    typed: TypedValue, validators: list[Validator]
) -> tuple[date, Validator, Callable[[date], bool]] | None:
    """Return a date value, the field's first date range and a test of a day inside it; None for no date or range."""
    value = typed.value
    ranges = [v for v in validators if v.kind == "date_range"]
    if not isinstance(value, date) or not ranges:
        return None
    low, high = date_bound(ranges[0].min), date_bound(ranges[0].max)

    def inside(day: date) -> bool:
        return (low is None or day >= low) and (high is None or day <= high)

    return value, ranges[0], inside


def _century(typed: TypedValue, validators: list[Validator]) -> TypedValue:
    """Choose the century of a two-digit year from the field's date range (a birth date is not in the future).

    The year was expanded with a 1950 pivot. When only the other century's date lies in the range, that one is
    taken; when both do (a birth year `10`: 1910 or 2010), the value is kept and flagged ambiguous.
    """
    window = _date_window(typed, validators)
    if window is None:
        return typed
    value, _, inside = window
    other_year = value.year - 100 if value.year >= 2000 else value.year + 100
    try:
        other = value.replace(year=other_year)
    except ValueError:  # 29 February
        return typed
    if inside(other) and not inside(value):
        return TypedValue(other, typed.ambiguous, note=typed.note)
    if inside(other) and inside(value):
        return TypedValue(value, True, note="a two-digit year fits two centuries; check the year")
    return typed


def _misread_year(typed: TypedValue, validators: list[Validator]) -> TypedValue:
    """Take the one year inside the field's date range that a single misread digit of a year outside it gives.

    A degraded scan's 0 read as 6 (`21/10/2626` for 2026: held-out seed 29 full receipt 019, taken at 0.99 before the
    range check kept it below auto-accept, still wrong). Each digit of the year is put in turn as each other digit;
    when exactly one of the dates so made lies in the range, that date is taken, flagged ambiguous (a person checks
    the year). None or several (a wide range: a birth year `1862` could be 1962 or 1882): the date stays as read, and
    the range check fails it as before.
    """
    window = _date_window(typed, validators)
    if window is None:
        return typed
    value, bounds, inside = window
    if inside(value):
        return typed
    year = f"{value.year:04d}"
    found: set[date] = set()
    for place, read in enumerate(year):
        for digit in "0123456789":
            other = int(year[:place] + digit + year[place + 1 :])
            if digit == read or other < 1:
                continue
            try:
                day = value.replace(year=other)
            except ValueError:  # 29 February
                continue
            if inside(day):
                found.add(day)
    if len(found) != 1:
        return typed
    (day,) = found
    note = (
        f"the year was read {year}, outside the date range {bounds.min}..{bounds.max}; one digit read "
        f"otherwise gives {day.year}, the only year inside; check the year"
    )
    return TypedValue(day, True, note=note)


IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9A-Z]{2}[A-Z0-9]{10,30}")
"""What an IBAN read from a page must look like before its checks are tried (check digits may be misread letters)."""


def validate_value(value: FieldValueType, validators: list[Validator]) -> str | None:
    """Run the field's validators; return the first failure message, else None."""
    for validator in validators:
        if validator.kind == "iban":
            failure = iban_check_failure(value) if isinstance(value, str) else "not an IBAN"
            if failure is not None:
                return failure
        if validator.kind == "icd10cm" and isinstance(value, list):
            items = [str(item) for item in value]
            invalid = check_list(items).invalid
            if invalid:
                places = ", ".join(str(items.index(item) + 1) for item in invalid)
                return f"item {places} is no billable ICD-10-CM code (a misreading, or a header code); check it"
        if validator.kind == "luhn" and not (isinstance(value, str) and is_valid_luhn(value)):
            return "Luhn check digit does not match"
        if validator.kind == "gb11643" and not (isinstance(value, str) and is_valid_gb11643(value)):
            return "ID number check character does not match (GB 11643)"
        if validator.kind == "amount_range" and isinstance(value, Money):
            low = Decimal(str(validator.min)) if validator.min is not None else None
            high = Decimal(str(validator.max)) if validator.max is not None else None
            if (low is not None and value.amount < low) or (high is not None and value.amount > high):
                return f"amount outside the expected range {validator.min}..{validator.max}"
        if validator.kind == "date_range" and isinstance(value, date):
            low_date, high_date = date_bound(validator.min), date_bound(validator.max)
            if (low_date is not None and value < low_date) or (high_date is not None and value > high_date):
                return f"date outside the expected range {validator.min}..{validator.max}"
        if validator.kind == "length" and isinstance(value, str):
            low_len = int(float(validator.min)) if validator.min is not None else 0
            high_len = int(float(validator.max)) if validator.max is not None else 10**6
            if not low_len <= len(value) <= high_len:
                return f"length outside {low_len}..{high_len}"
        if (
            validator.kind == "shape"
            and isinstance(value, str)
            and validator.pattern is not None
            and re.fullmatch(validator.pattern, "".join(value.split())) is None
        ):
            return "not the shape this form's codes have (the spec's shape validator); check it"
    return None
