"""CMS-1500 forms filled by other software: the second filler, and the readings it needs.

Synthetic pages (words with boxes) check the general methods (diagnosis codes in marker order, charges by
column with dollars | cents, two-digit birth years, the sum check raising or lowering confidence); OCR tests
render both third-party fillers and read them back through the engine, one with a misaligned print.
"""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract import _overlapped, _tighter_pairing, extract_document, icd10_with_dot, order_by_markers
from claimflow.extract_reread import missing_dates, read_date_lines, read_dates_as_digits, value_band, weak_dates
from claimflow.extract_tables import split_amount
from claimflow.models import Money, Page, ReadDocument, ReadMethod, Word
from claimflow.readers import reread_region
from claimflow.samples import cms1500_thirdparty as thirdparty
from claimflow.samples.cms1500 import BLANK_FORM, load_blank
from claimflow.second_looks import DEFAULT_LOOKS, DateLinesLook, LookContext, SharedOcr
from claimflow.settings import PROJECT_ROOT, Settings
from claimflow.specs import SpecSet, load_specs

CHAR = 0.0055
HEIGHT = 0.009
Placed = tuple[float, float, str]


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(PROJECT_ROOT / "extractors")


def _words(x: float, y: float, text: str, confidence: float = 0.97) -> list[Word]:
    out = []
    for part in text.split():
        width = CHAR * len(part)
        out.append(Word(part, (x, y, x + width, y + HEIGHT), confidence))
        x += width + CHAR
    return out


def _page(items: list[Placed]) -> ReadDocument:
    words = [w for x, y, text in items for w in _words(x, y, text)]
    return ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])


# the HCFA-1500 (12-90) captions around the values used here, at their places on the form (page fractions)
HCFA: list[Placed] = [
    (0.50, 0.10, "HEALTH INSURANCE CLAIM FORM"),
    (0.04, 0.15, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)"),
    (0.38, 0.148, "3. PATIENT'S BIRTH DATE"),
    (0.39, 0.156, "MM DD YY"),
    (0.04, 0.573, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY. (RELATE ITEMS 1,2,3 OR 4 TO ITEM 24E BY LINE)"),
    (0.048, 0.597, "1."), (0.37, 0.597, "3."), (0.048, 0.623, "2."), (0.37, 0.623, "4."),
    (0.04, 0.644, "PROCEDURES, SERVICES, OR SUPPLIES"),
    (0.33, 0.655, "CPT/HCPCS MODIFIER"), (0.54, 0.655, "DIAGNOSIS"), (0.64, 0.655, "$ CHARGES"),
    (0.72, 0.655, "UNITS"),
    (0.04, 0.845, "25. FEDERAL TAX I.D. NUMBER"),
    (0.62, 0.846, "28. TOTAL CHARGE"), (0.75, 0.846, "29. AMOUNT PAID"),
]


def test_diagnosis_codes_follow_their_slot_numbers_not_reading_order(specs: SpecSet) -> None:
    # slots 1 and 3 share the first row, 2 and 4 the second: reading order would say 1 3 2 4
    codes = [(0.07, 0.594, "M5450"), (0.39, 0.594, "H1033"), (0.07, 0.620, "M25561"), (0.39, 0.620, "E785")]
    result = extract_document(_page(HCFA + codes), specs)
    field = result.fields["diagnosis_codes"]
    assert field.value == ["M54.50", "M25.561", "H10.33", "E78.5"]
    assert field.confidence >= 0.9


def test_codes_without_their_own_markers_are_not_confident(specs: SpecSet) -> None:
    captions = [item for item in HCFA if item[2] not in ("1.", "2.", "3.", "4.")]
    codes = [(0.07, 0.594, "M5450"), (0.39, 0.594, "H1033"), (0.07, 0.620, "M25561")]
    field = extract_document(_page(captions + codes), specs).fields["diagnosis_codes"]
    # no slot's own marker read: the caption (`RELATE ITEMS 1,2,3 OR 4`) says the slots run down the columns,
    # so the codes are in slot order 1 2 | 3 (reading order would say 1 3 2), but no marker vouches for it
    assert field.value == ["M54.50", "M25.561", "H10.33"]
    assert field.confidence < 0.9


def test_letter_markers_order_codes_a_to_l() -> None:
    words = [*_words(0.05, 0.6, "A."), *_words(0.30, 0.6, "C."), *_words(0.05, 0.62, "B.")]
    items = [("c1", tuple(_words(0.33, 0.6, "c1"))), ("a1", tuple(_words(0.08, 0.6, "a1"))),
             ("b1", tuple(_words(0.08, 0.62, "b1")))]
    ordered, tied = order_by_markers(items, words, ["A", "B", "C"])
    assert tied and [text for text, _ in ordered] == ["a1", "b1", "c1"]


def test_a_marker_read_twice_ties_no_item() -> None:
    # `1.` read `4` before slot 1 while slot 4's own `4` is read too: the form prints each marker once, so the
    # items are ordered by their slots (down the columns: digits were read), not by the misread marker
    marks = [(0.05, 0.607, "4"), (0.37, 0.607, "3"), (0.05, 0.633, "2,"), (0.37, 0.633, "4")]
    words = [w for x, y, text in marks for w in _words(x, y, text)]
    items = [("l30", tuple(_words(0.06, 0.597, "L309"))), ("r05", tuple(_words(0.06, 0.623, "R059")))]
    ordered, tied = order_by_markers(items, words, ["1", "2", "3", "4"])
    assert not tied and [text for text, _ in ordered] == ["l30", "r05"]
    # the same markers read once each tie the items
    words = [w for x, y, text in [(0.05, 0.607, "1"), *marks[1:]] for w in _words(x, y, text)]
    ordered, tied = order_by_markers(items, words, ["1", "2", "3", "4"])
    assert tied and [text for text, _ in ordered] == ["l30", "r05"]


def test_digit_markers_that_contradict_their_slots_tie_no_item() -> None:
    # slot 1's `1.` read `4.` above slot 2's `2,` in the same column: 4 cannot sit above 2 (the HCFA numbers its
    # slots down the columns), so the items keep their slots' order, not the misread marker's, and are not tied
    marks = [(0.049, 0.599, "4."), (0.049, 0.625, "2,")]
    words = [w for x, y, text in marks for w in _words(x, y, text)]
    items = [("j45", tuple(_words(0.074, 0.622, "J45.909"))), ("f41", tuple(_words(0.063, 0.595, "F41.1")))]
    ordered, tied = order_by_markers(items, words, ["1", "2", "3", "4"])
    assert not tied and [text for text, _ in ordered] == ["f41", "j45"]
    # the same slots with their markers read right are tied
    words = [w for x, y, text in [(0.049, 0.599, "1."), marks[1]] for w in _words(x, y, text)]
    ordered, tied = order_by_markers(items, words, ["1", "2", "3", "4"])
    assert tied and [text for text, _ in ordered] == ["f41", "j45"]
    # a lower number in a column further right contradicts them too (3 left of 2)
    words = [w for x, y, text in [(0.049, 0.599, "3."), (0.37, 0.599, "2.")] for w in _words(x, y, text)]
    items = [("a", tuple(_words(0.07, 0.595, "F41.1"))), ("b", tuple(_words(0.39, 0.595, "J45.909")))]
    ordered, tied = order_by_markers(items, words, ["1", "2", "3", "4"])
    assert not tied


def test_one_digit_marker_other_than_1_says_the_slots_run_down_the_columns() -> None:
    # only slot 2's `2` was read (the HCFA numbers its slots 1 2 | 3 4): slot order, not reading order (1 3 2)
    items = [("j06", tuple(_words(0.08, 0.597, "J069"))), ("f41", tuple(_words(0.41, 0.597, "F411"))),
             ("j02", tuple(_words(0.08, 0.623, "J029")))]
    ordered, tied = order_by_markers(items, _words(0.048, 0.623, "2"), ["1", "2", "3", "4", "A", "B"])
    assert not tied and [text for text, _ in ordered] == ["j06", "j02", "f41"]
    # a lone `1` may be a box rule: reading order stays
    ordered, _ = order_by_markers(items, _words(0.048, 0.597, "1"), ["1", "2", "3", "4", "A", "B"])
    assert [text for text, _ in ordered] == ["j06", "f41", "j02"]


@pytest.mark.parametrize(("code", "expected"), [("M5450", "M54.50"), ("S83511A", "S83.511A"), ("I10", "I10"),
                                                ("M54.50", "M54.50"), ("a525.10", "a525.10"), ("99213", "99213")])
def test_icd10_codes_get_their_dot_back(code: str, expected: str) -> None:
    assert icd10_with_dot(code) == expected


@pytest.mark.parametrize(("raw", "expected"), [("114 00", ("114.00", False)), ("114|00", ("114.00", False)),
                                               ("$ 95.50", ("95.50", False)), ("11400", ("114.00", True)),
                                               ("NPI", None), ("45 T 60", ("45.60", False)),
                                               ("94 t 05", ("94.05", False)), ("45 TT 60", None),
                                               ("163 ——+.--- 80", ("163.80", False)), ("163 80°", ("163.80", False)),
                                               ("17 —4-- 40", None), ("| | 47 52", ("47.52", False)),
                                               ("114|00 |", ("114.00", False)), ("| 1", None),
                                               ("75 7 00", ("75.00", False)),
                                               ("141. 1 60", ("141.60", False)), ("| | 29 t 40", ("29.40", False)),
                                               ("‘120 00", ("120.00", False)), ("101! 65", ("101.65", False)),
                                               ("L162", None), ("1 29 68", None), ("7500", ("75.00", True))])
def test_split_amounts(raw: str, expected: tuple[str, bool] | None) -> None:
    assert split_amount(raw) == expected


def _service_page(rows: list[str], total: str) -> ReadDocument:
    items = list(HCFA)
    for index, row in enumerate(rows):
        y = 0.69 + 0.03 * index
        dates, code, pointer, dollars, cents, units = row.split("|")
        items += [(0.045, y, dates), (0.33, y, code), (0.55, y, pointer), (0.655, y, dollars),
                  (0.685, y, cents), (0.73, y, units)]
    items += [(0.63, 0.866, total)]
    return _page(items)


def test_charges_are_read_by_column_with_cents_apart(specs: SpecSet) -> None:
    page = _service_page(["09 10 26 09 12 26 22|99213|12|114|00|2", "09 11 26 09 11 26 11|36415|1|15|36|12"],
                         "$ 129 36")
    result = extract_document(page, specs)
    rows = result.fields["service_lines"].value
    assert isinstance(rows, list)
    assert [(r["procedure_code"], r["charge"]) for r in rows] == [  # type: ignore[index]
        ("99213", Money(Decimal("114.00"), "USD")), ("36415", Money(Decimal("15.36"), "USD"))]
    assert result.fields["total_charge"].value == Money(Decimal("129.36"), "USD")
    # the lines add up to box 28: both readings gain confidence
    assert result.fields["total_charge"].confidence >= 0.97


def test_a_charge_whose_right_neighbour_caption_was_not_read_takes_the_dollars_and_cents_opening_its_cell(
    specs: SpecSet,
) -> None:
    # box 24G's `UNITS` garbled: the charges column has no right bound and its cell runs on into the units
    # (`39 52 1`); the first dollars | cents pair is the charge, flagged (a guess: the column's end was not seen)
    rows = ["09 10 26 09 12 26 22|99213|1|114|00|2", "09 11 26 09 11 26 11|36415|1|153|36|1"]
    page = _service_page(rows, "$ 267 36")
    words = [w for w in page.pages[0].words if w.text != "UNITS"]
    page = ReadDocument(pages=[dataclasses.replace(page.pages[0], words=words)])
    field = extract_document(page, specs).fields["service_lines"]
    assert [r["charge"] for r in field.value] == [  # type: ignore[index, union-attr]
        Money(Decimal("114.00"), "USD"), Money(Decimal("153.36"), "USD")]
    # a two-digit pointer right before the dollars is no run's start: no amount is guessed from `12 15 36`
    close = _page([item for item in HCFA if item[2] != "UNITS"]
                  + [(0.045, 0.69, "09 11 26 09 11 26 11"), (0.33, 0.69, "36415"), (0.633, 0.69, "12"),
                     (0.655, 0.69, "15"), (0.685, 0.69, "36"), (0.73, 0.69, "1")])
    row = extract_document(close, specs).fields["service_lines"].value
    assert isinstance(row, list) and row[0]["charge"] is None  # type: ignore[index]


@pytest.mark.parametrize(("charge", "expected"), [
    ([(0.682, "14"), (0.698, "16")], "14.16"),  # the cents' centre nearer UNITS than $ CHARGES
    ([(0.676, "144"), (0.6935, "t"), (0.698, "30")], "144.30"),  # the dashed rule read as a letter between
    ([(0.682, "14"), (0.698, "16"), (0.74, "1")], "14.16"),  # the units beyond them
])
def test_cents_printed_nearer_the_next_columns_caption_are_the_charges_cents(
    specs: SpecSet, charge: list[tuple[float, str]], expected: str
) -> None:
    rows = [(0.045, 0.69, "09 11 26 09 11 26 11"), (0.33, 0.69, "36415")]
    page = _page([*HCFA, *rows, *[(x, 0.69, text) for x, text in charge], (0.63, 0.866, f"$ {expected}")])
    field = extract_document(page, specs).fields["service_lines"]
    assert field.value[0]["charge"] == Money(Decimal(expected), "USD")  # type: ignore[index]
    # cents not read at all: the dollars are no amount to trust (14.00 is a guess)
    alone = _page([*HCFA, *rows, (0.682, 0.69, "14"), (0.63, 0.866, "$ 14.00")])
    guessed = extract_document(alone, specs).fields["service_lines"]
    assert guessed.value[0]["charge"] == Money(Decimal("14.00"), "USD")  # type: ignore[index]
    assert guessed.confidence < field.confidence


def test_a_charge_whose_own_caption_was_not_read_is_taken_between_its_neighbours_as_a_guess(specs: SpecSet) -> None:
    # box 24F's `$ CHARGES` garbled by a degraded scan, `DIAGNOSIS` (24E) and `UNITS` (24G) read: the charge is
    # the dollars | cents pair between them (the pointer `12` before it is no dollars), flagged as a guess
    rows = ["09 10 26 09 12 26 22|99213|12|114|00|2", "09 11 26 09 11 26 11|36415|12|115|36|1"]
    full = extract_document(_service_page(rows, "$ 229 36"), specs).fields["service_lines"]
    page = _service_page(rows, "$ 229 36")
    words = [w for w in page.pages[0].words if w.text not in ("$", "CHARGES")]
    field = extract_document(ReadDocument(pages=[dataclasses.replace(page.pages[0], words=words)]), specs).fields[
        "service_lines"
    ]
    assert [r["charge"] for r in field.value] == [  # type: ignore[index, union-attr]
        Money(Decimal("114.00"), "USD"),
        Money(Decimal("115.36"), "USD"),
    ]
    assert field.confidence < full.confidence


def test_when_the_lines_do_not_add_up_neither_is_confident(specs: SpecSet) -> None:
    page = _service_page(["09 10 26 09 12 26 22|99213|12|114|00|2", "09 11 26 09 11 26 11|36415|1|15|36|1"],
                         "$ 139 36")
    result = extract_document(page, specs)
    assert result.fields["total_charge"].confidence < 0.9
    assert result.fields["service_lines"].confidence < 0.9


@pytest.mark.parametrize(("printed", "expected", "confident"), [
    ("04 26 54", date(1954, 4, 26), True),
    ("04 26 45", date(1945, 4, 26), True),  # 2045 is in the future: only 1945 can be a birth date
    ("04 26 1945", date(1945, 4, 26), True),
    ("04 26 10", date(2010, 4, 26), False),  # 1910 or 2010: flagged for a person
])
def test_two_digit_birth_years_take_the_century_that_fits(specs: SpecSet, printed: str, expected: date,
                                                          confident: bool) -> None:
    result = extract_document(_page([*HCFA, (0.39, 0.168, printed)]), specs)
    field = result.fields["patient_birth_date"]
    assert field.value == expected
    assert (field.confidence >= 0.9) is confident


def test_fillers_are_deterministic_and_keep_canonical_truth() -> None:
    one = thirdparty.make_thirdparty_form(random.Random(4), "preprinted")
    two = thirdparty.make_thirdparty_form(random.Random(4), "preprinted")
    assert one == two
    truth = one.truth()
    assert truth["patient_name"] == truth["patient_name"].upper()  # type: ignore[union-attr]
    assert all("." in code or len(code) == 3 for code in truth["diagnosis_codes"])  # type: ignore[union-attr]
    assert all("." not in one.values[f"diagnosis_{n}"] for n in range(1, len(one.claim.diagnosis_codes) + 1))
    with pytest.raises(ValueError, match="unknown CMS-1500 filler"):
        thirdparty.make_thirdparty_form(random.Random(4), "typewriter")


# --- OCR round trips ----------------------------------------------------------------------------------

needs_blank = pytest.mark.skipif(not BLANK_FORM.is_file(), reason="the real blank HCFA-1500 form is not present")


def _read_back(image_path: Path, specs: SpecSet) -> dict[str, object]:
    """Read and extract as the engine does (first reading, then weak boxes read again enlarged)."""
    from claimflow.pipeline import read_and_extract
    from claimflow.readers import TesseractOcr

    _, parts = read_and_extract(image_path, TesseractOcr(), specs, threshold=0.9)
    assert [part.document_type for part in parts] == ["cms1500"]
    return dict(parts[0].fields)


def _plain(value: object) -> object:
    """Return an extracted value in the truth's form: money '123.45', ISO dates, rows without empty cells."""
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    return value


def _check(fields: dict[str, object], form: thirdparty.ThirdPartyForm, must_read: set[str]) -> None:
    """The fields in `must_read` are right, and no field at or above the auto-accept threshold is wrong."""
    right, confident_wrong = set(), []
    for name, expected in form.truth().items():
        field = fields.get(name)
        if field is None:
            continue
        if _plain(getattr(field, "value", None)) == expected:
            right.add(name)
        elif getattr(field, "confidence", 0.0) >= Settings().confidence_threshold:  # confident: auto-accepted
            confident_wrong.append(name)
    assert must_read <= right, sorted(must_read - right)
    assert confident_wrong == []


@pytest.mark.ocr
@pytest.mark.slow
@needs_blank
def test_acroform_filled_and_flattened_is_read_back(tmp_path: Path, specs: SpecSet) -> None:
    form = thirdparty.make_thirdparty_form(random.Random(21), "acroform")
    pdf = thirdparty.render_acroform_pdf(form, load_blank())
    image = thirdparty.acroform_renderer()(pdf, 0, 200)
    target = tmp_path / "flat.png"
    image.save(target, dpi=(200, 200))
    # measured: 7 of 11 fields right at 200 dpi (service lines, box 28 and the birth date are not yet)
    _check(_read_back(target, specs), form, {"patient_name", "insured_name", "insured_id", "federal_tax_id"})


@pytest.mark.ocr
@pytest.mark.slow
@needs_blank
def test_preprinted_form_fed_off_by_millimetres_is_read_back(tmp_path: Path, specs: SpecSet) -> None:
    form = thirdparty.with_offset(thirdparty.make_thirdparty_form(random.Random(8), "preprinted"), 2.5, -1.5, 0.4)
    image = thirdparty.preprinted_renderer(form, load_blank())(b"", 0, 200)
    target = tmp_path / "printed.png"
    image.save(target, dpi=(200, 200))
    # fed 2.5 mm right and 1.5 mm high, tilted 0.4 degrees: the name and tax id are still read, nothing confident is
    # wrong (box 28 is then found through box 29's caption and stays below the threshold)
    _check(_read_back(target, specs), form, {"patient_name", "federal_tax_id"})


@pytest.mark.parametrize(("code", "expected"), [("ROS9", "R05.9"), ("RO5.9", "R05.9"), ("RS59", "R55.9"),
                                                ("C4A.0", "C4A.0"), ("C7B.00", "C7B.00"), ("S83511S", "S83.511S")])
def test_icd10_digits_read_as_letters_in_second_and_third_place(code: str, expected: str) -> None:
    assert icd10_with_dot(code) == expected


def test_a_code_and_its_slot_bracket_read_as_digits(specs: SpecSet) -> None:
    # the other codes show the slot's bracket read glued before them (`1N390`): the `1` of `19029` is the
    # bracket, and `9029` is J02.9 with its J read as a 9 (without the bracket, `19029` would be I90.29)
    codes = [(0.07, 0.594, "19029"), (0.39, 0.594, "1N390"), (0.07, 0.620, "L309")]
    field = extract_document(_page(HCFA + codes), specs).fields["diagnosis_codes"]
    assert field.value == ["J02.9", "L30.9", "N39.0"]
    assert field.confidence < 0.9  # a guessed letter: a person checks
    # no bracket read on any other code: the `1` could be the code's I, but I90.29 is no ICD-10-CM code, and the
    # bracket and J02.9 the only reading the code set knows (below confidence: a guessed letter)
    codes = [(0.07, 0.594, "19029"), (0.39, 0.594, "N390"), (0.07, 0.620, "L309")]
    field = extract_document(_page(HCFA + codes), specs).fields["diagnosis_codes"]
    assert field.value == ["J02.9", "L30.9", "N39.0"]
    assert field.confidence < 0.9
    # the slot's marker glued before it too (`1.19029`), and an O and S read for the digits of R05.9
    codes = [(0.05, 0.594, "1.19029"), (0.39, 0.594, "(N390"), (0.07, 0.620, "ROS9")]
    field = extract_document(_page(HCFA + codes), specs).fields["diagnosis_codes"]
    assert field.value == ["J02.9", "R05.9", "N39.0"]


def test_diagnosis_codes_are_checked_against_the_icd10cm_code_set(specs: SpecSet) -> None:
    # all four read well and in their slots: confident
    codes = [(0.07, 0.594, "J45909"), (0.39, 0.594, "N390"), (0.07, 0.620, "E119"), (0.39, 0.620, "R109")]
    field = extract_document(_page(HCFA + codes), specs).fields["diagnosis_codes"]
    assert field.value == ["J45.909", "E11.9", "N39.0", "R10.9"]
    assert field.confidence >= 0.9
    # J read as S: S45.909 is ICD-10-shaped but no code (S45 needs its seventh character); J45.909 is the only
    # real code one OCR confusion away: taken, flagged, not confident
    codes[0] = (0.07, 0.594, "S45909")
    result = extract_document(_page(HCFA + codes), specs)
    field = result.fields["diagnosis_codes"]
    assert field.value == ["J45.909", "E11.9", "N39.0", "R10.9"]
    assert field.confidence < 0.9
    assert any(p.field == "diagnosis_codes" and "ICD-10-CM" in p.message for p in result.problems)
    # no real code one confusion away (`Y45.909`): the item stays as read, invalid, the list below confidence
    codes[0] = (0.07, 0.594, "Y459O9")
    result = extract_document(_page(HCFA + codes), specs)
    field = result.fields["diagnosis_codes"]
    assert "Y45.909" in field.value  # type: ignore[operator]
    assert field.confidence < 0.9
    assert any(p.field == "diagnosis_codes" and "no billable ICD-10-CM code" in p.message for p in result.problems)


def _with_image(document: ReadDocument) -> ReadDocument:
    pages = [dataclasses.replace(p, image=Image.new("L", (85, 110), 255)) for p in document.pages]
    return ReadDocument(pages=pages)


def test_an_unread_boxed_date_is_read_with_digits_only_as_a_guess(specs: SpecSet) -> None:
    # `Ol 23 79`: the box's 01 read as letters, no date the pattern can take, on the page and closer alike
    read = _with_image(_page([*HCFA, (0.385, 0.165, "Ol 23 79")]))
    parts = [extract_document(read, specs)]
    assert "patient_birth_date" not in parts[0].fields
    assert missing_dates(parts[0], specs) == ["patient_birth_date"]
    boxes: list[tuple[float, float, float, float]] = []

    def digits(page: Page, box: tuple[float, float, float, float]) -> list[Word]:
        boxes.append(box)
        return _words(0.385, 0.165, "01 23 79", confidence=0.99)

    filled = read_dates_as_digits(read, parts, specs, digits, threshold=0.98)
    assert filled == ["patient_birth_date"] and len(boxes) == 1
    found = parts[0].fields["patient_birth_date"]
    assert found.value == date(1979, 1, 23)
    assert found.confidence <= 0.75  # a guess: a person checks
    assert any(p.field == "patient_birth_date" and p.code is ReasonCode.FIELD_AMBIGUOUS for p in parts[0].problems)
    # a date read on the page is not read again
    assert read_dates_as_digits(read, parts, specs, digits, threshold=0.98) == [] and len(boxes) == 1


def test_an_unread_boxed_date_is_read_from_its_value_line_alone_as_a_guess(specs: SpecSet) -> None:
    # `19 26 1961` (Courier 11 read 19) with the box's captions: no date; the line alone reads `11 26 1961`
    read = _with_image(_page([*HCFA, (0.385, 0.165, "19 26 1961")]))
    parts = [extract_document(read, specs)]
    assert missing_dates(parts[0], specs) == ["patient_birth_date"]
    bands: list[tuple[float, float]] = []

    def line(page: Page, box: tuple[float, float, float, float], band: tuple[float, float]) -> list[Word]:
        bands.append(band)
        return _words(0.385, 0.165, "11 26 1961", confidence=0.99)

    assert read_date_lines(read, parts, specs, line, threshold=0.98) == ["patient_birth_date"]
    # the band holds the digits' line (0.165-0.174), not the `MM DD YY` captions above it (0.156-0.165)
    assert len(bands) == 1 and 0.164 < bands[0][0] < 0.165 and 0.174 < bands[0][1] < 0.178
    found = parts[0].fields["patient_birth_date"]
    assert found.value == date(1961, 11, 26) and found.confidence <= 0.75
    assert any("line read alone" in p.message for p in parts[0].problems if p.field == "patient_birth_date")


def test_a_weak_boxed_date_is_read_from_its_value_line_alone_too(specs: SpecSet) -> None:
    # `10 !19 '1901`: the rules read `!` and `'`, Courier 9 read 0: taken as 1901, weak, not missing (its words read
    # at 0.55, as such a reading is: the weakness is the calibrated confidence's, not a raw score's)
    form = _page(HCFA)
    words = [*form.pages[0].words, *_words(0.385, 0.165, "10 !19 '1901", confidence=0.55)]
    read = _with_image(ReadDocument(pages=[dataclasses.replace(form.pages[0], words=words)]))
    parts = [extract_document(read, specs)]
    assert "patient_birth_date" in parts[0].fields and missing_dates(parts[0], specs) == []
    assert weak_dates(parts[0], specs, 0.98) == ["patient_birth_date"]

    class _NoOcr:
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            raise AssertionError("propose reads nothing")

    requests = DateLinesLook().propose(LookContext(read, parts, specs, SharedOcr(_NoOcr()), 0.98, 20))
    assert [(r.fields, r.reason, r.psm) for r in requests] == [(("patient_birth_date",), "weak", 7)]
    weak = parts[0].fields["patient_birth_date"].confidence

    def same(page: Page, box: tuple[float, float, float, float], band: tuple[float, float]) -> list[Word]:
        return _words(0.385, 0.165, "10 !19 '1901", confidence=0.99)

    # the line read alike changes nothing and lends the date no confidence
    assert read_date_lines(read, parts, specs, same, threshold=0.98) == []
    assert parts[0].fields["patient_birth_date"].confidence <= weak

    def line(page: Page, box: tuple[float, float, float, float], band: tuple[float, float]) -> list[Word]:
        return _words(0.385, 0.165, "10 19 1991", confidence=0.99)

    assert read_date_lines(read, parts, specs, line, threshold=0.98) == ["patient_birth_date"]
    found = parts[0].fields["patient_birth_date"]
    assert found.value == date(1991, 10, 19) and found.confidence <= 0.75
    assert any("line read alone" in p.message for p in parts[0].problems if p.field == "patient_birth_date")


def test_a_boxed_date_is_weak_by_its_calibrated_confidence_not_its_raw_score(specs: SpecSet) -> None:
    # the threshold is a calibrated confidence: a date whose raw score is under the gate but whose calibrated one is
    # over it is already confident, and reading it again can only spend a call (or spoil it)
    read = _page([*HCFA, (0.385, 0.165, "10 19 1954")])
    parts = [extract_document(read, specs)]
    found = parts[0].fields["patient_birth_date"]
    assert found.value == date(1954, 10, 19)
    curve = specs.calibration.curve_for(found.provenance.method, "cms1500") if specs.calibration else None
    assert curve is not None
    assert found.confidence < 0.99 <= curve(found.confidence), "the case needs raw < gate <= calibrated"
    assert weak_dates(parts[0], specs, 0.99) == []
    assert weak_dates(parts[0], specs, curve(found.confidence) + 0.001) == ["patient_birth_date"]


def test_the_date_lines_look_asks_only_for_unread_dates(specs: SpecSet) -> None:
    class _NoOcr:
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            raise AssertionError("propose reads nothing")

    read = _with_image(_page([*HCFA, (0.385, 0.165, "19 26 1961")]))
    part = extract_document(read, specs)
    ctx = LookContext(read, [part], specs, SharedOcr(_NoOcr()), 0.98, 20)
    assert DateLinesLook in DEFAULT_LOOKS
    requests = DateLinesLook().propose(ctx)
    assert [(r.fields, r.calls, r.reason, r.psm) for r in requests] == [(("patient_birth_date",), 1, "missing", 7)]
    # a date read at the threshold is not asked for (one read below it is: weak, cms12)
    words = [w for x, y, text in HCFA for w in _words(x, y, text)] + _words(0.385, 0.165, "11 26 1961", 0.999)
    read = _with_image(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]))
    part = extract_document(read, specs)
    assert DateLinesLook().propose(LookContext(read, [part], specs, SharedOcr(_NoOcr()), 0.98, 20)) == []


def test_a_value_band_needs_a_digit_in_the_box() -> None:
    page = _page([(0.39, 0.156, "MM DD YY"), (0.385, 0.165, "ab cd"), (0.385, 0.30, "12")]).pages[0]
    assert value_band(page, (0.3, 0.15, 0.5, 0.18)) is None
    page = _page([(0.39, 0.156, "MM DD YY"), (0.385, 0.160, "o9"), (0.385, 0.167, "01 23 79")]).pages[0]
    top, bottom = value_band(page, (0.3, 0.15, 0.5, 0.18)) or (0.0, 0.0)
    assert 0.166 < top < 0.167 and bottom <= 0.18  # the lowest line with a digit


def test_a_band_of_a_region_is_read_alone_and_placed_on_the_page() -> None:
    class _Engine:
        def __init__(self) -> None:
            self.sizes: list[tuple[int, int]] = []

        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            self.sizes.append(image.size)
            return Page(page, 1.0, 1.0, ReadMethod.OCR, [Word("11", (0.1, 0.1, 0.2, 0.9), 0.9)])

    page = Page(1, 612, 792, ReadMethod.OCR, [], image=Image.new("L", (850, 1100), 255))
    box = (0.3, 0.15, 0.5, 0.18)
    engine = _Engine()
    whole = reread_region(page, engine, box)
    banded = reread_region(page, engine, box, band=(0.165, 0.175))
    assert whole is not None and banded is not None
    assert engine.sizes[1][0] == engine.sizes[0][0] and engine.sizes[1][1] < engine.sizes[0][1] / 3
    # the word's box is placed inside the band on the page
    assert 0.165 <= banded[0].bbox[1] < banded[0].bbox[3] <= 0.1755


def test_a_region_is_read_with_a_whitelist_only_by_an_engine_that_takes_one() -> None:
    class _Plain:
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            return Page(page, float(image.width), float(image.height), ReadMethod.OCR, [])

    class _Digits(_Plain):
        takes_whitelist = True

        def __init__(self) -> None:
            self.whitelists: list[str] = []

        def ocr_image(  # type: ignore[override]
            self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng", whitelist: str = ""
        ) -> Page:
            self.whitelists.append(whitelist)
            return super().ocr_image(image, page=page, psm=psm, lang=lang)

    page = Page(1, 612, 792, ReadMethod.OCR, [], image=Image.new("L", (850, 1100), 255))
    box = (0.3, 0.15, 0.5, 0.18)
    assert reread_region(page, _Plain(), box, whitelist="0123456789") is None
    engine = _Digits()
    assert reread_region(page, engine, box, whitelist="0123456789") == []
    assert engine.whitelists == ["0123456789"]


@pytest.mark.parametrize(
    ("text", "overlapped"),
    [
        ("144 30 64 94", True),  # box 28's cents beside box 29's amount: 30.64 or 64.94, the text cannot say
        ("$ 64 94", False),
        ("64.94 30", False),  # a point ties the cents: `94 30` is no amount beside it
        ("1 234 56", False),  # no amount starts inside a number
    ],
)
def test_an_amount_sharing_digits_with_another_is_ambiguous(specs: SpecSet, text: str, overlapped: bool) -> None:
    pattern = specs.get("cms1500").fields["amount_paid"].pattern
    assert pattern is not None
    found = re.search(pattern, text)
    assert found is not None
    assert _overlapped(found, text) is overlapped


def _spans(placed: list[tuple[str, float]]) -> tuple[str, list[tuple[int, int, Word]]]:
    """Return one line's text and its words' spans, each word at its own left edge (page fraction)."""
    text, spans = "", []
    for word_text, x in placed:
        if text:
            text += " "
        word = Word(word_text, (x, 0.86, x + CHAR * len(word_text), 0.87), 0.95)
        spans.append((len(text), len(text) + len(word_text), word))
        text += word_text
    return text, spans


@pytest.mark.parametrize(
    ("placed", "expected"),
    [
        # box 28's cents `30`, a box's margin left of box 29's `64 94` (seed 19 pre-printed: 30.64 was paid)
        ([("30", 0.724), ("64", 0.807), ("94", 0.841)], "64 94"),
        # box 28's own `144 30`, box 29's dollars far right: the first pairing is the tighter
        ([("144", 0.677), ("30", 0.724), ("64", 0.807), ("94", 0.841)], "144 30"),
        # evenly spaced: the places cannot tell, the first match stays (and stays flagged)
        ([("30", 0.70), ("64", 0.73), ("94", 0.76)], "30 64"),
    ],
)
def test_an_overlapped_amount_takes_the_tighter_pairing(
    specs: SpecSet, placed: list[tuple[str, float]], expected: str
) -> None:
    pattern = specs.get("cms1500").fields["amount_paid"].pattern
    assert pattern is not None
    text, spans = _spans(placed)
    found = re.search(pattern, text)
    assert found is not None and _overlapped(found, text)
    assert _tighter_pairing(found, text, spans).group(0) == expected
