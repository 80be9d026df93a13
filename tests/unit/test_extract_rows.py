"""A weak table read again row by row: rows of text found on the cleaned box, the better reading kept.

Synthetic images check the image side (strokes over a shaded bar kept, rows cut between lines of text, words
put back at their row's place); synthetic pages (words with boxes) check the choice between two readings and
the boxed dates read from a row whose pattern could not take them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract import extract_document, field_boxes, icd10_with_dot
from claimflow.extract_rows import (
    CellRereader,
    bracket_doubts,
    cell_code,
    choose_items,
    choose_rows,
    code_doubts,
    fill_dates_from_digits,
    read_code_cells,
    read_code_votes,
    read_letters_again,
    read_rows_again,
    vote_code,
    vote_doubts,
    voted,
    weak_lists,
    weak_tables,
)
from claimflow.extract_tables import implausible_dates, split_amount
from claimflow.models import (
    BBox,
    Extraction,
    Field,
    Money,
    Page,
    Problem,
    Provenance,
    ReadDocument,
    ReadMethod,
    Word,
)
from claimflow.normalise import ParsedDate, parse_boxed_date, parse_boxed_dates
from claimflow.readers.dropout import rule_mask, rule_ticks, without_rules
from claimflow.readers.rows import DIGITS, reread_rows, text_rows, to_paper
from claimflow.second_looks import DEFAULT_LOOKS, CellsLook, CodeVotesLook, LookContext, SharedOcr
from claimflow.settings import PROJECT_ROOT
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


HCFA: list[Placed] = [
    (0.50, 0.10, "HEALTH INSURANCE CLAIM FORM"),
    (0.04, 0.15, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)"),
    (0.04, 0.644, "PROCEDURES, SERVICES, OR SUPPLIES"),
    (0.33, 0.655, "CPT/HCPCS MODIFIER"), (0.54, 0.655, "DIAGNOSIS"), (0.64, 0.655, "$ CHARGES"),
    (0.72, 0.655, "UNITS"),
    (0.04, 0.845, "25. FEDERAL TAX I.D. NUMBER"),
    (0.62, 0.846, "28. TOTAL CHARGE"), (0.75, 0.846, "29. AMOUNT PAID"),
]


def _row(y: float, dates: str, code: str, dollars: str, cents: str) -> list[Placed]:
    return [(0.045, y, dates), (0.33, y, code), (0.55, y, "1"), (0.655, y, dollars), (0.685, y, cents), (0.73, y, "1")]


def _page(items: list[Placed]) -> Page:
    return Page(1, 612, 792, ReadMethod.OCR, [w for x, y, text in items for w in _words(x, y, text)])


# --- image side ------------------------------------------------------------------------------------------


def test_a_table_box_ends_at_its_end_captions_own_top(specs: SpecSet) -> None:
    # the last row's margin number (`6`), a little higher, read on the line of box 25's captions: the line's top
    # is inside the last row; the box still ends where the caption's own words start
    rows = _row(0.69, "05 11 26 05 12 26 11", "20610", "135", "60")
    page = _page([*HCFA, *rows, (0.01, 0.842, "6")])
    (box,) = field_boxes(page, specs.specs["cms1500"], "service_lines")
    assert box[3] == pytest.approx(0.845)
    assert field_boxes(_page([*HCFA, *rows]), specs.specs["cms1500"], "service_lines")[0][3] == pytest.approx(0.845)


def test_a_stroke_over_a_light_shaded_bar_is_kept_and_black_rules_go() -> None:
    grey = np.full((300, 300), 255, dtype=np.uint8)
    grey[:, 100:130] = 190  # a light shaded column bar (the HCFA-1500 beside box 24D)
    grey[:, 200:203] = 20  # a black rule
    grey[140:150, 85:145] = 10  # a digit's stroke over the bar (shorter than a rule)
    grey[140:150, 190:215] = 10  # and one crossing the black rule
    cleaned = without_rules(grey, rule_mask(grey, dpi=400), keep_strokes=True)
    assert (cleaned[140:150, 104:126] < 100).all()  # the stroke over the bar stays
    assert (cleaned[:130, 104:126] == 255).all()  # the bar itself goes
    assert (cleaned[:, 200:203] == 255).all()  # a black rule goes whole, strokes over it too
    assert (cleaned[140:150, 85:98] < 100).all()  # the stroke away from rules is untouched
    plain = without_rules(grey, rule_mask(grey, dpi=400))  # single boxes: every rule pixel goes, as before
    assert (plain[140:150, 104:126] == 255).all()


def test_strokes_over_a_bar_stay_when_a_column_of_codes_covers_much_of_it() -> None:
    # box 24's procedure codes start on the CPT column's shaded bar: six rows of first digits cover ~30% of the
    # bar's length, their strokes anti-aliased with the bar to ~100. The bar's level is its median shade, not a
    # low percentile the strokes themselves set (the 8 of `81002` lost its left half and was read as a 3)
    grey = np.full((600, 300), 255, dtype=np.uint8)
    grey[:, 100:130] = 190
    for top in range(30, 600, 100):
        grey[top : top + 30, 110:150] = 100  # a digit's left half over the bar, its right half on paper
    cleaned = without_rules(grey, rule_mask(grey, dpi=400), keep_strokes=True)
    assert (cleaned[30:60, 112:126] == 100).all()  # the digit's half over the bar stays
    assert (cleaned[0:30, 104:126] == 255).all() and (cleaned[70:130, 104:126] == 255).all()  # the bar goes


def test_faint_ink_is_paper_unless_it_is_part_of_a_stroke() -> None:
    # at 400 dpi: a Courier `1` scanned at 120 dpi, its thin stem grey 170 between its dark flag and foot
    grey = np.full((200, 400), 255, dtype=np.uint8)
    grey[40:46, 50:62] = 30  # flag
    grey[46:74, 54:57] = 170  # stem: faint all along
    grey[74:80, 44:70] = 30  # foot
    grey[40:80, 200:202] = 170  # the light edge of a dashed rule the cleaning removed (source: dark beside it)
    grey[150:153, 300:303] = 180  # a speck of scanner noise far from any stroke
    grey[40:80, 30:33] = 170  # a slot's bracket printed light, apart from the `1` beside it
    source = grey.copy()
    source[40:80, 202:206] = 40  # the rule, as it was before the cleaning painted it white
    paper = to_paper(grey, source, dpi=400)
    assert (paper[46:74, 54:57] == 170).all()  # the stem stays: a `1`, not a `⊥` read as `i` or `2`
    assert (paper[40:46, 50:62] == 30).all() and (paper[74:80, 44:70] == 30).all()
    assert (paper[40:80, 200:202] == 255).all()  # the rule's edge goes
    assert (paper[150:153, 300:303] == 255).all()  # so does the speck
    assert (paper[40:80, 30:33] == 255).all()  # and the light bracket: no stroke of the `1` touches it
    # with nothing removed by the cleaning, a faint edge beside a stroke stays with it
    assert (to_paper(grey, grey, dpi=400)[46:74, 54:57] == 170).all()


def test_rows_of_text_are_cut_between_lines_not_at_a_rule_remnant() -> None:
    grey = np.full((400, 1000), 255, dtype=np.uint8)
    grey[50:80, 100:600] = 0  # a line of text
    grey[200:232, 100:700] = 0  # another
    grey[:, 950:953] = 0  # a rule's remnant: a few pixels of every row, never a row of its own
    grey[300:304, 100:400] = 0  # a speck too short to be text
    assert text_rows(grey, dpi=400) == [(50, 79), (200, 231)]
    assert text_rows(np.full((50, 50), 255, dtype=np.uint8), dpi=400) == []


class _RowOcr:
    """Reads a stacked image of rows: one word per dark run, at its place (boxes as fractions of the image)."""

    def __init__(self) -> None:
        self.images: list[Image.Image] = []

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        self.images.append(image)
        grey = np.asarray(image)
        words = []
        for index, (top, bottom) in enumerate(text_rows(grey, dpi=400)):
            xs = np.flatnonzero((grey[top : bottom + 1] < 128).any(axis=0))
            box = (xs[0] / image.width, top / image.height, (xs[-1] + 1) / image.width, (bottom + 1) / image.height)
            words.append(Word(f"row{index}", box, 0.9))
        return Page(page, float(image.width), float(image.height), ReadMethod.OCR, words)


def test_rows_are_read_in_one_call_and_put_back_at_their_place() -> None:
    image = Image.new("L", (850, 1100), 255)  # a letter page at 100 dpi
    pixels = np.asarray(image).copy()
    pixels[700:712, 100:300] = 0  # two rows of text inside the box
    pixels[760:772, 400:600] = 0
    image = Image.fromarray(pixels)
    page = Page(1, 612, 792, ReadMethod.OCR, [], image=image)
    ocr = _RowOcr()
    box: BBox = (0.0, 0.6, 1.0, 0.8)
    rows = reread_rows(page, ocr, box)
    assert rows is not None and len(ocr.images) == 1  # one OCR call for every row
    assert [[w.text for w in row] for row in rows] == [["row0"], ["row1"]]
    first, second = rows[0][0], rows[1][0]
    assert first.bbox[0] == pytest.approx(100 / 850, abs=0.005)
    assert first.bbox[2] == pytest.approx(300 / 850, abs=0.005)
    assert first.bbox[1] == pytest.approx(700 / 1100, abs=0.005)
    assert first.bbox[3] == pytest.approx(712 / 1100, abs=0.005)
    assert second.bbox[0] == pytest.approx(400 / 850, abs=0.005)
    assert second.bbox[1] == pytest.approx(760 / 1100, abs=0.005)
    assert reread_rows(dataclasses.replace(page, image=None), ocr, box) is None


class _DigitOcr(_RowOcr):
    """A `_RowOcr` that takes a whitelist, and remembers the ones it was given."""

    takes_whitelist = True

    def __init__(self) -> None:
        super().__init__()
        self.whitelists: list[str] = []

    def ocr_image(
        self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng", whitelist: str = ""
    ) -> Page:
        self.whitelists.append(whitelist)
        return super().ocr_image(image, page=page, psm=psm, lang=lang)


def test_a_digits_only_reading_needs_an_engine_that_takes_a_whitelist_and_is_remembered_apart() -> None:
    image = Image.new("L", (850, 1100), 255)
    pixels = np.asarray(image).copy()
    pixels[700:712, 100:300] = 0
    page = Page(1, 612, 792, ReadMethod.OCR, [], image=Image.fromarray(pixels))
    box: BBox = (0.0, 0.6, 1.0, 0.8)
    assert reread_rows(page, _RowOcr(), box, whitelist=DIGITS) is None  # a fake without whitelists: no reading
    engine = _DigitOcr()
    shared = SharedOcr(engine)
    assert shared.takes_whitelist and not SharedOcr(_RowOcr()).takes_whitelist
    assert reread_rows(page, shared, box) is not None
    assert reread_rows(page, shared, box, whitelist=DIGITS) is not None
    assert reread_rows(page, shared, box, whitelist=DIGITS) is not None
    assert engine.whitelists == ["", DIGITS]  # the same pixels read with digits only are another reading, once


def _digit_row(y: float, *texts: str) -> list[Word]:
    return [w for index, text in enumerate(texts) for w in _words(0.05 + 0.2 * index, y, text)]


def test_empty_dates_are_filled_from_a_digits_only_reading_only_where_it_agrees(specs: SpecSet) -> None:
    spec = specs.specs["cms1500"]
    day = date(2026, 1, 21)
    rows = [
        {"date_from": day, "date_to": day, "procedure_code": "80053", "charge": None},
        {"date_from": None, "date_to": None, "procedure_code": "81002", "charge": None},  # both readings lost them
        {"date_from": day, "date_to": None, "procedure_code": "71046", "charge": None},
    ]
    table = Field("service_lines", rows, 0.4, Provenance(method=ReadMethod.OCR, page=1))
    digits = [
        _digit_row(0.60, "0", "08"),  # the header row: no dates
        _digit_row(0.70, "01212601212611", "80053", "12", "54241"),
        _digit_row(0.72, "01212601222622", "681002", "1", "14101"),  # a speck before the code: it is still in it
        _digit_row(0.74, "0121260125262271046", "1", "85001"),  # the code glued to the dates
    ]
    filled = fill_dates_from_digits(spec, "service_lines", table, digits)
    assert isinstance(filled.value, list)
    assert [(r["date_from"], r["date_to"]) for r in filled.value] == [  # type: ignore[index]
        (day, day),
        (day, date(2026, 1, 22)),
        (day, date(2026, 1, 25)),
    ]
    assert filled.confidence == table.confidence
    # a row whose read date the digits contradict, a code not in the digits' row, rows not as many: unchanged
    other = [*digits[:3], _digit_row(0.74, "0122260125262271046", "1", "85001")]
    assert fill_dates_from_digits(spec, "service_lines", table, other).value[2] == rows[2]  # type: ignore[index]
    wrong_code = [*digits[:2], _digit_row(0.72, "01212601222622", "99213"), digits[3]]
    assert fill_dates_from_digits(spec, "service_lines", table, wrong_code).value[1] == rows[1]  # type: ignore[index]
    assert fill_dates_from_digits(spec, "service_lines", table, digits[:3]) is table
    # dates the table's others make implausible are not filled (a period ending before it starts)
    backwards = [*digits[:2], _digit_row(0.72, "01222601212622", "81002"), digits[3]]
    assert fill_dates_from_digits(spec, "service_lines", table, backwards).value[1] == rows[1]  # type: ignore[index]


def test_a_digits_only_row_whose_place_of_service_lost_a_digit_still_gives_its_dates(specs: SpecSet) -> None:
    # `11` read `ill` on the page, `1` with digits only: the row's run is 13 digits (17 with 4-digit years)
    spec = specs.specs["cms1500"]
    rows = [{"date_from": date(2026, 5, 24), "date_to": None, "procedure_code": "97110", "charge": None}]
    table = Field("service_lines", rows, 0.4, Provenance(method=ReadMethod.OCR, page=1))
    filled = fill_dates_from_digits(spec, "service_lines", table, [_digit_row(0.7, "0524260524261", "97110")])
    assert filled.value[0]["date_to"] == date(2026, 5, 24)  # type: ignore[index]
    long_years = [_digit_row(0.7, "05242026052420261", "97110")]
    assert fill_dates_from_digits(spec, "service_lines", table, long_years).value[0]["date_to"] == date(  # type: ignore[index]
        2026, 5, 24
    )
    # 17 digits that are no 4-digit-year dates (`2601` is in the future) are 2-digit years and the code glued
    glued = [_digit_row(0.7, "05242605242697110", "1")]
    assert fill_dates_from_digits(spec, "service_lines", table, glued).value[0]["date_to"] == date(  # type: ignore[index]
        2026, 5, 24
    )
    # a run of 15 digits is neither: nothing is filled
    assert fill_dates_from_digits(spec, "service_lines", table, [_digit_row(0.7, "052426052426111", "97110")]) is table


def test_a_digits_only_run_split_into_words_before_the_code_is_one_run(specs: SpecSet) -> None:
    # `0524 260524 2611 97110`: the boxes' dashed rules read as spaces, the dates split over three words
    spec = specs.specs["cms1500"]
    rows = [{"date_from": date(2026, 5, 24), "date_to": None, "procedure_code": "97110", "charge": None}]
    table = Field("service_lines", rows, 0.4, Provenance(method=ReadMethod.OCR, page=1))
    split = [_digit_row(0.7, "0524", "260526", "2611", "97110", "1", "7910", "1")]
    filled = fill_dates_from_digits(spec, "service_lines", table, split)
    assert filled.value[0]["date_to"] == date(2026, 5, 26)  # type: ignore[index]
    assert filled.confidence == table.confidence
    # a word before the code that is not all digits, or a rule read as a digit (15 digits): nothing is filled
    for words in (("0524", "2605x26", "2611", "97110"), ("07417", "260718", "2611", "97110")):
        assert fill_dates_from_digits(spec, "service_lines", table, [_digit_row(0.7, *words)]) is table
    # no code word after the digits: the words are not joined (the pointer and the charge are digits too)
    assert fill_dates_from_digits(spec, "service_lines", table, [_digit_row(0.7, "0524", "260526", "2611")]) is table


# --- dates, amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("07 11 26 07 11 26 81", ([date(2026, 7, 11), date(2026, 7, 11)], False)),  # the place of service after them
    ("~ 10 03 26 1005 26 11", ([date(2026, 10, 3), date(2026, 10, 5)], False)),  # MMDD printed without a gap
    ("03; 31° 26 '03:; 31); 26", ([date(2026, 3, 31), date(2026, 3, 31)], False)),  # rules read as punctuation
    ("07 17 26 O7 18 26", ([date(2026, 7, 17), date(2026, 7, 18)], True)),  # a Courier 0 read as the letter O
    ("O0& 01 26 0801 26 22", ([date(2026, 8, 1), date(2026, 8, 1)], True)),  # cms14: a rule's O, Courier 8 as &
    ("O08 01 26 0801 26 22", ([date(2026, 8, 1), date(2026, 8, 1)], True)),  # was 2008-01-26: the O made a digit
    ("07 18 26 07 17 26", None),  # the second date before the first: not a service line's dates
    ("07 17 426 O7 18 26", None),  # a part that is no date part: left empty, not guessed
    ("13 17 26 07 18 26", None),  # no month 13
    # cms21: a first run no month can be is a mark before the dates (seed 22 pre-printed 001 degraded's margin)
    ("20 07 08 26 0708 26 81 ", ([date(2026, 7, 8), date(2026, 7, 8)], True)),
    ("310 07 10 26 0710 26 11 | ", ([date(2026, 7, 10), date(2026, 7, 10)], True)),
    ("12 07 08 26 07 08 26", None),  # a month first: no mark, read as it is (2008-12-07, then no month 26)
    ("07 17 0226 07 17 26", None),  # a four-digit year is 19xx or 20xx (not 0226)
])
def test_a_rows_boxed_dates_are_read_in_order(raw: str, expected: tuple[list[date], bool] | None) -> None:
    assert parse_boxed_dates(raw, 2) == expected


def test_a_service_dates_year_may_have_the_place_of_service_glued_after_it() -> None:
    # cms21: seed 17 pre-printed 002 degraded `09 07 26 0907 2611` (to date 09 07 26, place of service 11)
    assert parse_boxed_date("0907 2611", trailing=True) == ParsedDate(date(2026, 9, 7), False)
    assert parse_boxed_date("0907 2026", trailing=True) == ParsedDate(date(2026, 9, 7), False)
    assert parse_boxed_date("0907 2611") == ParsedDate(date(2611, 9, 7), False)  # a birth date's box has no such


def test_boxed_service_dates_in_the_future_are_misreadings() -> None:
    # the NUCC sample's `o2 | 10 [17 | 02 | 10 | 47`: the second year is a misread 17
    assert parse_boxed_dates("o2 10 17 02 10 47", 2, latest=date(2026, 11, 26)) is None
    assert parse_boxed_dates("o2 10 17 02 10 17", 2, latest=date(2026, 11, 26)) == (
        [date(2017, 2, 10), date(2017, 2, 10)], True)


def test_an_amount_with_its_point_beside_a_rule_remnant_is_that_amount() -> None:
    assert split_amount("127.20 1") == ("127.20", False)
    assert split_amount("30:24 1") == ("30.24", False)  # the point read as a colon
    assert split_amount("127.20 1.50") is None  # two amounts: not one
    assert split_amount("73°50") == ("73.50", False)  # the dashed rule read as a sign
    assert split_amount("73%5O") is None


def test_dates_the_row_pattern_could_not_take_are_read_from_the_row_and_lower_it(specs: SpecSet) -> None:
    clean = ReadDocument(pages=[_page(HCFA + _row(0.69, "07 17 26 07 18 26 11", "93000", "77", "40")
                                      + [(0.63, 0.866, "$ 77 40")])])
    misread = ReadDocument(pages=[_page(HCFA + _row(0.69, "07 17 26 O7 18 26 11", "93000", "77", "40")
                                        + [(0.63, 0.866, "$ 77 40")])])
    sure, guessed = (extract_document(read, specs).fields["service_lines"] for read in (clean, misread))
    assert guessed.value == sure.value
    assert isinstance(guessed.value, list)
    assert guessed.value[0]["date_to"] == date(2026, 7, 18)  # type: ignore[index]
    assert guessed.confidence < sure.confidence  # a letter read as a digit: a guess


def test_column_captions_are_the_header_rows_not_a_caption_of_the_box_above(specs: SpecSet) -> None:
    # box 21's `DIAGNOSIS` two lines above the table's anchor, box 24E's read as noise: the pointer column's
    # caption is not found, and `DIAGNOSIS` far left must not stand for it (captions out of order: no columns)
    header: list[Placed] = [
        (0.04, 0.595, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY"), (0.05, 0.61, "1. K21.9"),
        (0.04, 0.625, "PROCEDURES, SERVICES, OR SUPPLIES"),
        (0.33, 0.64, "CPT/HCPCS MODIFIER"), (0.54, 0.64, "yacnosis"), (0.64, 0.64, "$ CHARGES"), (0.72, 0.64, "UNITS"),
        (0.04, 0.845, "25. FEDERAL TAX I.D. NUMBER"), (0.62, 0.846, "28. TOTAL CHARGE"), (0.63, 0.866, "$ 29 68"),
    ]
    read = ReadDocument(
        pages=[
            _page(
                header
                + _row(0.69, "04 07 26 04 09 26 11", "87880", "29", "68")
                + _row(0.72, "04 07 26 04 09 26 11", "99203", "73%5O", "")
            )
        ]
    )
    rows = extract_document(read, specs).fields["service_lines"].value
    assert isinstance(rows, list)
    assert rows[0]["charge"] == Money(Decimal("29.68"), "USD")  # type: ignore[index]
    assert rows[1]["charge"] is None  # type: ignore[index]  # pieces of digits: no 73.00


def test_dates_no_claim_could_hold_are_emptied_and_lower_the_table(specs: SpecSet) -> None:
    table = specs.specs["cms1500"].tables["service_lines"]
    ok = {"date_from": date(2026, 4, 4), "date_to": date(2026, 4, 4), "procedure_code": "36415"}
    rows: list[dict[str, object]] = [
        dict(ok),
        {**ok, "date_to": date(2611, 4, 4)},  # after today
        {**ok, "date_from": date(1964, 4, 26)},  # far from the other dates
        {**ok, "date_from": date(2026, 3, 20), "date_to": date(2026, 2, 20)},  # ends before it starts
    ]
    problems: list[Problem] = []
    assert implausible_dates("service_lines", table, rows, 1, problems)  # type: ignore[arg-type]
    assert rows[0] == ok
    assert rows[1]["date_to"] is None and rows[1]["date_from"] == date(2026, 4, 4)
    assert rows[2]["date_from"] is None and rows[2]["date_to"] == date(2026, 4, 4)
    assert rows[3]["date_from"] is None and rows[3]["date_to"] is None
    assert len(problems) == 4 and all(p.code is ReasonCode.FIELD_INVALID for p in problems)
    # two singletons far from a pair: both emptied; two groups as large: nothing is told, nothing emptied
    scattered = [{**ok, "date_from": date(1964, 4, 26), "date_to": date(2011, 9, 26)}, dict(ok)]
    assert implausible_dates("service_lines", table, scattered, 1, [])  # type: ignore[arg-type]
    assert scattered[0]["date_from"] is None and scattered[0]["date_to"] is None and scattered[1] == ok
    split = [{**ok}, {**ok, "date_from": date(2024, 1, 1), "date_to": date(2024, 1, 1)}]
    assert not implausible_dates("service_lines", table, split, 1, [])  # type: ignore[arg-type]


# --- which reading is kept -------------------------------------------------------------------------------


def _table(rows: list[tuple[str, str]], confidence: float = 0.6) -> Field:
    value = [{"date_from": date(2026, 7, 17), "date_to": date(2026, 7, 18), "procedure_code": code,
              "charge": Money(Decimal(charge), "USD")} for code, charge in rows]
    return Field("service_lines", value, confidence, Provenance(method=ReadMethod.OCR, page=1))


def _fields(total: str) -> dict[str, Field]:
    return {"total_charge": Field("total_charge", Money(Decimal(total), "USD"), 0.9,
                                  Provenance(method=ReadMethod.OCR, page=1))}


def _cells(table: Field) -> list[tuple[object, ...]]:
    assert isinstance(table.value, list)
    return [(row["procedure_code"], row["charge"].amount, row["date_to"]) for row in table.value]  # type: ignore[index,union-attr]


def test_readings_of_as_many_rows_are_merged_cell_by_cell(specs: SpecSet) -> None:
    spec = specs.specs["cms1500"]
    first = _table([("99213", "95.00"), ("86415", "13.44")], 0.7)  # a rule glued to the code
    rows = _table([("99213", "95.33"), ("36415", "13.44")], 0.5)  # a cents column misread
    kept, agreed = choose_rows(spec, _fields("108.44"), "service_lines", first, rows)
    assert not agreed
    # the code read alone; the charge that adds up to the total
    assert _cells(kept) == [
        ("99213", Decimal("95.00"), date(2026, 7, 18)),
        ("36415", Decimal("13.44"), date(2026, 7, 18)),
    ]
    assert kept.confidence == 0.5  # the lower of the two
    # nothing adds up: the row reading's cells
    kept, _ = choose_rows(spec, _fields("1.00"), "service_lines", first, rows)
    assert _cells(kept)[0][1] == Decimal("95.33")
    # a cell one reading lost is taken from the other
    holed = dataclasses.replace(rows, value=[{**rows.value[0], "date_to": None}, rows.value[1]])  # type: ignore[index]
    assert _cells(choose_rows(spec, _fields("108.77"), "service_lines", first, holed)[0])[0][2] == date(2026, 7, 18)
    same = dataclasses.replace(first, confidence=0.8)
    assert choose_rows(spec, _fields("1.00"), "service_lines", first, same) == (same, True)


def test_of_readings_with_different_rows_the_one_that_adds_up_is_kept(specs: SpecSet) -> None:
    spec = specs.specs["cms1500"]
    first = _table([("99213", "95.00"), ("36415", "13.44")], 0.7)
    rows = _table([("99213", "95.00")], 0.5)  # a row lost
    kept, agreed = choose_rows(spec, _fields("108.44"), "service_lines", first, rows)
    assert kept is first and not agreed
    kept, agreed = choose_rows(spec, _fields("95.00"), "service_lines", first, rows)
    assert kept is rows and not agreed


def test_when_neither_adds_up_the_complete_reading_and_then_the_row_reading_is_kept(specs: SpecSet) -> None:
    spec = specs.specs["cms1500"]
    complete = _table([("99213", "95.00"), ("36415", "13.44")])
    holed = _table([("99213", "95.00")])
    holed = dataclasses.replace(holed, value=[{**holed.value[0], "date_to": None}])  # type: ignore[index]
    assert choose_rows(spec, _fields("1.00"), "service_lines", complete, holed)[0] is complete
    assert choose_rows(spec, _fields("1.00"), "service_lines", holed, complete)[0] is complete
    other = _table([("99214", "95.00")])
    assert choose_rows(spec, _fields("1.00"), "service_lines", complete, other)[0] is other


def test_a_reading_whose_charges_exceed_the_total_loses_to_one_with_as_many_rows(specs: SpecSet) -> None:
    spec = specs.specs["cms1500"]
    # the page's reading glued box 24F's dashed rule to the dollars as a `1`: 1491.50 for 149.50, a row lost
    over = _table([("87880", "261.60"), ("99203", "1491.50")], 0.7)
    holed = _table([("99203", "149.50"), ("87880", "26.60"), ("20610", "141.60")], 0.5)
    holed = dataclasses.replace(holed, value=[*holed.value[:2], {**holed.value[2], "charge": None}])  # type: ignore[index]
    kept, agreed = choose_rows(spec, _fields("317.70"), "service_lines", over, holed)
    assert kept is holed and not agreed  # complete, but its charges add up to more than box 28
    assert choose_rows(spec, _fields("317.70"), "service_lines", holed, over)[0] is holed
    # a reading over the total that holds more rows than the other is not refuted by it
    one_row = dataclasses.replace(holed, value=[{**holed.value[2]}])  # type: ignore[index]
    assert choose_rows(spec, _fields("317.70"), "service_lines", over, one_row)[0] is over
    # without a total nothing is over it: the complete reading is kept
    assert choose_rows(spec, {}, "service_lines", over, holed)[0] is over


def test_only_weak_or_missing_row_tables_are_read_again(specs: SpecSet) -> None:
    weak = _table([("99213", "95.00")], 0.5)
    assert weak_tables(Extraction("cms1500", 1.0, fields={"service_lines": weak}), specs, 0.99) == ["service_lines"]
    assert weak_tables(Extraction("cms1500", 1.0), specs, 0.99) == ["service_lines"]
    sure = dataclasses.replace(weak, confidence=0.999)
    assert weak_tables(Extraction("cms1500", 1.0, fields={"service_lines": sure}), specs, 0.99) == []
    assert weak_tables(Extraction("invoice", 1.0), specs, 0.99) == []  # its spec asks for no row reading


def test_a_row_read_alone_replaces_the_first_readings_row_and_disagreement_is_flagged(specs: SpecSet) -> None:
    # the first reading took a shaded bar for part of the code (86415); the row read alone has 36415
    items = HCFA + _row(0.69, "08 24 26 08 25 26 22", "86415", "13", "44") + [(0.63, 0.866, "$ 13 44")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    assert parts[0].fields["service_lines"].value[0]["procedure_code"] == "86415"  # type: ignore[index]
    seen: list[BBox] = []

    def reread(page: Page, box: BBox) -> list[list[Word]]:
        seen.append(box)
        row = [w for x, y, text in _row(0.69, "08 24 26 08 25 26 22", "36415", "13", "44") for w in _words(x, y, text)]
        return [_words(0.04, 0.66, "CPT/HCPCS"), row]  # the caption line matches no row: it is left as it was

    assert read_rows_again(read, parts, specs, reread, threshold=0.999) == 1
    assert len(seen) == 1
    table = parts[0].fields["service_lines"]
    assert table.value[0]["procedure_code"] == "36415"  # type: ignore[index]
    assert any(p.field == "service_lines" and "one by one" in p.message for p in parts[0].problems)


def test_a_row_reading_that_agrees_surer_takes_the_place_of_the_first_readings_doubts(specs: SpecSet) -> None:
    from claimflow.errors import ReasonCode

    row = _row(0.69, "08 24 26 08 25 26 22", "36415", "13", "44")
    faint = [w for x, y, text in row for w in _words(x, y, text, confidence=0.3)]
    page = _page(HCFA + [(0.63, 0.866, "$ 13 44")])
    page = dataclasses.replace(page, words=[*page.words, *faint], image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    first = parts[0].fields["service_lines"]
    doubts = [p for p in parts[0].problems if p.field == "service_lines" and p.code is ReasonCode.FIELD_LOW_CONFIDENCE]
    assert doubts

    def reread(page: Page, box: BBox) -> list[list[Word]]:
        return [[w for x, y, text in row for w in _words(x, y, text, confidence=0.99)]]

    read_rows_again(read, parts, specs, reread, threshold=0.999)
    table = parts[0].fields["service_lines"]
    assert table.value == first.value and table.confidence > first.confidence  # the same rows, read surer
    assert not any(doubt in parts[0].problems for doubt in doubts)  # "read with low confidence 0.30" is gone


# --- lists (diagnosis codes) -----------------------------------------------------------------------------

DIAGNOSIS: list[Placed] = [
    (0.04, 0.573, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY. (RELATE ITEMS 1,2,3 OR 4 TO ITEM 24E BY LINE)"),
    (0.048, 0.597, "1."), (0.37, 0.597, "3."), (0.048, 0.623, "2."), (0.37, 0.623, "4."),
]


def test_a_weak_list_read_row_by_row_keeps_the_reading_with_more_items_in_slot_order(specs: SpecSet) -> None:
    # the first reading cut a code at a rule (`N39`) and lost two slots
    items = HCFA + DIAGNOSIS + [(0.37, 0.605, "N39")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    assert parts[0].fields["diagnosis_codes"].value == ["N39"]
    assert "diagnosis_codes" in weak_lists(parts[0], specs, 0.999)

    def reread(page: Page, box: BBox) -> list[list[Word]]:
        # the cleaned rows: markers in the form's ink are gone (kept from the first reading)
        return [_words(0.06, 0.605, "J029") + _words(0.38, 0.605, "N390"), _words(0.06, 0.63, "L309")]

    read_rows_again(read, parts, specs, reread, threshold=0.999)
    found = parts[0].fields["diagnosis_codes"]
    assert found.value == ["J02.9", "L30.9", "N39.0"]  # slots 1 2 / 3 down the columns, by the kept markers
    assert any(p.field == "diagnosis_codes" and "one by one" in p.message for p in parts[0].problems)


def test_choose_items_keeps_the_longer_list_and_agreement() -> None:
    first = Field("diagnosis_codes", ["N39"], 0.8, Provenance(method=ReadMethod.OCR, page=1))
    rows = dataclasses.replace(first, value=["J02.9", "N39.0"], confidence=0.4)
    assert choose_items(first, rows) == (rows, False)
    assert choose_items(rows, first) == (rows, False)
    assert choose_items(first, dataclasses.replace(first, confidence=0.9))[1]
    # of two lists of ICD-10 codes as long, one holding no code (`Z50.2`) is not kept over one of codes only
    codes = dataclasses.replace(first, value=["F41.1", "J02.9", "H10.33"])
    lost = dataclasses.replace(first, value=["F41.1", "Z50.2", "H10.33"])
    assert choose_items(codes, lost, codes=True) == (codes, False)
    assert choose_items(lost, codes, codes=True) == (codes, False)
    assert choose_items(codes, lost) == (lost, False)  # a list the code set does not check: the row reading
    # a reading of more items still wins (a slot the other lost)
    more = dataclasses.replace(first, value=["F41.1", "Z50.2", "H10.33", "K21.9"])
    assert choose_items(codes, more, codes=True) == (more, False)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("R1O9", "R10.9"), ("R1O.9", "R10.9"), ("O0932", "O09.32"), ("RO59", "R05.9"), ("OO932", "O09.32")],
)
def test_icd10_codes_have_no_letter_o_after_their_first_character(code: str, expected: str) -> None:
    assert icd10_with_dot(code) == expected


def test_a_diagnosis_code_followed_by_a_full_stop_is_whole(specs: SpecSet) -> None:
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "E78,5."), (0.06, 0.63, "R10,9")]
    found = extract_document(ReadDocument(pages=[_page(items)]), specs).fields["diagnosis_codes"]
    assert found.value == ["E78.5", "R10.9"]
    # the slot's bracket read glued to a code whose second character (a digit) was read as the letter O
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "[RO59_"), (0.06, 0.63, "R10,9")]
    found = extract_document(ReadDocument(pages=[_page(items)]), specs).fields["diagnosis_codes"]
    assert found.value == ["R05.9", "R10.9"]


def test_a_code_read_cut_at_its_dot_is_joined_to_the_rest_of_it_beside_it(specs: SpecSet) -> None:
    # the slot's dot between its two underline segments: `J45` `909` and `M79` `,604` read as two words each
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "LJ45 909"), (0.06, 0.63, "M79 ,604")]
    found = extract_document(ReadDocument(pages=[_page(items)]), specs).fields["diagnosis_codes"]
    assert found.value == ["J45.909", "M79.604"]
    # not when the word after it makes no billable code, nor when it lies a slot away
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "E78 I10"), (0.06, 0.63, "R10,9")]
    assert extract_document(ReadDocument(pages=[_page(items)]), specs).fields["diagnosis_codes"].value == [
        "E78", "I10", "R10.9"
    ]
    far = [(0.06, 0.605, "J45"), (0.40, 0.605, "909"), (0.06, 0.63, "R10,9")]
    assert "J45.909" not in extract_document(ReadDocument(pages=[_page(HCFA + DIAGNOSIS + far)]), specs).fields[
        "diagnosis_codes"
    ].value


# --- a slot's bracket glued to a code's J (cms10) --------------------------------------------------------


def test_a_brackets_tick_at_a_rules_end_is_found_and_a_glyph_is_not() -> None:
    # 400 dpi: an underline 1 in long, its left end turning up 0.075 in (the HCFA's `|____` slot)
    ink = np.zeros((200, 600), dtype=bool)
    ink[150:153, 50:450] = True  # the underline
    ink[120:150, 50:52] = True  # the bracket's tick at its left end
    ink[112:150, 250:253] = True  # a stroke standing on the rule's middle: a value's, not a tick
    ink[115:150, 447:450] = True  # a stroke at the right end with ink beside it (a glyph's bowl)
    ink[115:120, 440:447] = True
    horizontal = np.zeros_like(ink)
    horizontal[150:153, 50:450] = True
    ticks = rule_ticks(ink, horizontal, dpi=400)
    assert ticks[120:150, 50:52].all()
    assert not ticks[:, 200:].any()
    # a stroke taller than a tick at a rule's end (a glyph's stem, a box's side) is not one
    tall = ink.copy()
    tall[120:150, 50:52] = False
    tall[100:150, 50:52] = True
    assert not rule_ticks(tall, horizontal, dpi=400).any()


def test_a_code_whose_j_the_bracket_hid_takes_it_from_the_reading_without_brackets(specs: SpecSet) -> None:
    # `|J029` read `O02.9` (a real code) on the page; the slots read again without the brackets' ticks
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "O029"), (0.06, 0.63, "L309")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    before = parts[0].fields["diagnosis_codes"]
    assert before.value == ["O02.9", "L30.9"]
    assert bracket_doubts(parts[0], specs) == ["diagnosis_codes"]

    def reread(page: Page, box: BBox) -> list[list[Word]]:
        return [_words(0.06, 0.605, "J029"), _words(0.06, 0.63, "I309")]

    assert read_letters_again(read, parts, specs, reread) == 2
    found = parts[0].fields["diagnosis_codes"]
    assert found.value == ["J02.9", "L30.9"]  # only the doubtful letter changes; L30.9 stays as first read
    assert found.confidence == pytest.approx(before.confidence * 0.8)
    assert any(p.field == "diagnosis_codes" and "bracket" in p.message for p in parts[0].problems)
    # a reading that does not give the J code in its place changes nothing
    parts = [extract_document(read, specs)]

    def other(page: Page, box: BBox) -> list[list[Word]]:
        return [_words(0.06, 0.605, "Z029"), _words(0.06, 0.63, "L309")]

    read_letters_again(read, parts, specs, other)
    assert parts[0].fields["diagnosis_codes"].value == ["O02.9", "L30.9"]
    # no code whose J twin is a real code: nothing to read
    sure = [extract_document(ReadDocument(pages=[_page(HCFA + DIAGNOSIS + [(0.06, 0.605, "L309")])]), specs)]
    assert bracket_doubts(sure[0], specs) == []
    # a twin that is no code (`F02.9`) was reported by the list's validator; once read as J02.9 that report is gone
    # (the repair's own problem stays), as the cells look drops it
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "F029"), (0.06, 0.63, "L309")]
    read = ReadDocument(pages=[dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))])
    parts = [extract_document(read, specs)]
    assert parts[0].fields["diagnosis_codes"].value == ["F02.9", "L30.9"]
    assert any(p.field == "diagnosis_codes" and "billable" in p.message for p in parts[0].problems)
    assert read_letters_again(read, parts, specs, reread) == 2
    assert parts[0].fields["diagnosis_codes"].value == ["J02.9", "L30.9"]
    assert not any(p.field == "diagnosis_codes" and "billable" in p.message for p in parts[0].problems)
    assert any(p.field == "diagnosis_codes" and "bracket" in p.message for p in parts[0].problems)


def test_a_code_whose_j_the_rows_do_not_read_takes_it_from_its_cell_read_alone(specs: SpecSet) -> None:
    # cms14: the rows read without the brackets give `0029` (the J's hook read round); the cell read alone gives J029
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "O029"), (0.06, 0.63, "L309")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])

    def rows(page: Page, box: BBox) -> list[list[Word]]:
        return [_words(0.06, 0.605, "0029"), _words(0.06, 0.63, "L309")]

    cells: list[BBox] = []

    def cell(text: str) -> CellRereader:
        def read_cell(page: Page, box: BBox) -> list[Word]:
            cells.append(box)
            return [Word(text, box, 0.9)]

        return read_cell

    parts = [extract_document(read, specs)]
    before = parts[0].fields["diagnosis_codes"]
    read_letters_again(read, parts, specs, rows, cell=cell("IJ029"))  # the bracket read I before the J
    found = parts[0].fields["diagnosis_codes"]
    assert found.value == ["J02.9", "L30.9"]
    assert found.confidence == pytest.approx(before.confidence * 0.8)
    assert len(cells) == 1 and cells[0][0] < 0.06 < cells[0][2] and cells[0][1] < 0.61 < cells[0][3]
    # a cell that reads the round letter, or anything but the J code itself, changes nothing
    for other in ("O029", "7029", "J0291X"):
        parts = [extract_document(read, specs)]
        read_letters_again(read, parts, specs, rows, cell=cell(other))
        assert parts[0].fields["diagnosis_codes"].value == ["O02.9", "L30.9"]
    # without a cell reader (an engine that takes no whitelist) the rows alone decide, as before
    parts = [extract_document(read, specs)]
    read_letters_again(read, parts, specs, rows)
    assert parts[0].fields["diagnosis_codes"].value == ["O02.9", "L30.9"]


def test_a_code_whose_j_the_rows_read_apart_takes_it_from_a_cell_set_before_the_word(specs: SpecSet) -> None:
    # cms16: `|J069` read `N06.9` on the page (the bracket's upright joined to the J); the rows read without the
    # brackets' ticks lost the J (`,` `069`): the code starts one character before the word `069`, and its cell
    # read alone gives `3,J069` (the slot's number and the J code)
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "N069"), (0.06, 0.63, "L309")]
    read = ReadDocument(pages=[dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))])
    parts = [extract_document(read, specs)]
    assert parts[0].fields["diagnosis_codes"].value == ["N06.9", "L30.9"]
    assert bracket_doubts(parts[0], specs) == ["diagnosis_codes"]

    def rows(page: Page, box: BBox) -> list[list[Word]]:
        return [_words(0.06, 0.605, ", 069"), _words(0.06, 0.63, "L309")]

    cells: list[BBox] = []

    def read_cell(page: Page, box: BBox) -> list[Word]:
        cells.append(box)
        return [Word("3,J069", box, 0.9)]

    read_letters_again(read, parts, specs, rows, cell=read_cell)
    assert parts[0].fields["diagnosis_codes"].value == ["J06.9", "L30.9"]
    start = 0.06 + 2 * CHAR  # the word `069` after `, `
    assert len(cells) == 1 and cells[0][0] < start - CHAR / 2 < cells[0][2]


@pytest.mark.parametrize(
    ("read", "item", "expected"),
    [
        ("E11,9", "B11.9", "E11.9"),  # three real codes one confusion from B11.9; the cell read alone says which
        ("IE11.9", "B11.9", "E11.9"),  # the slot's bracket read as I before the code
        ("G43.909", "G43", "G43.909"),  # a code read cut at its dot, read whole
        ("J06.9", "306.9", "J06.9"),
        ("J45.909", "B11.9", None),  # another slot's code is no reading of this one
        ("B11.9", "B11.9", None),  # read as before: no code
        ("", "G43", None),
    ],
)
def test_a_code_cell_read_alone_gives_a_billable_code_close_to_the_item(
    read: str, item: str, expected: str | None
) -> None:
    assert cell_code(read, item) == expected


def test_items_that_are_no_code_have_their_cells_read_alone(specs: SpecSet) -> None:
    # `E11.9` typed on its slot's underline read `B11.9` (B17.9, B71.9 and E11.9 one confusion away: not repaired)
    items = HCFA + DIAGNOSIS + [(0.06, 0.597, "K219"), (0.06, 0.623, "B11.9"), (0.39, 0.597, "G43")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    before = parts[0].fields["diagnosis_codes"]
    assert before.value == ["K21.9", "B11.9", "G43"]
    assert code_doubts(parts[0], specs) == {"diagnosis_codes": [1, 2]}
    asked: list[BBox] = []

    def rows(page: Page, box: BBox) -> list[list[Word]]:
        return [_words(0.06, 0.597, "K21,9 G43"), _words(0.06, 0.623, "B11,9")]

    def cell(page: Page, box: BBox) -> list[Word]:
        asked.append(box)
        text = "E11.9" if box[1] > 0.61 else "G43.909"
        return [Word(text, box, 0.9)]

    assert read_code_cells(read, parts, specs, rows, cell) == 2
    found = parts[0].fields["diagnosis_codes"]
    assert found.value == ["K21.9", "E11.9", "G43.909"]
    assert found.confidence == pytest.approx(before.confidence * 0.8)
    assert any(p.field == "diagnosis_codes" and "alone" in p.message for p in parts[0].problems)
    assert not any(p.field == "diagnosis_codes" and "ICD-10-CM" in p.message for p in parts[0].problems)
    # each cell starts a little before its code (less than a character: the slot's bracket stays out) and holds
    # the longest code
    b11 = next(box for box in asked if box[1] > 0.61)
    assert 0.06 - CHAR < b11[0] < 0.06
    assert b11[2] - b11[0] > 8 * CHAR
    # a cell that reads another code far from the item changes nothing; a list of codes needs no cell read
    parts = [extract_document(read, specs)]
    read_code_cells(read, parts, specs, rows, lambda page, box: [Word("J45.909", box, 0.9)])
    assert parts[0].fields["diagnosis_codes"].value == ["K21.9", "B11.9", "G43"]
    sure = [extract_document(ReadDocument(pages=[_page(HCFA + DIAGNOSIS + [(0.06, 0.597, "K219")])]), specs)]
    assert code_doubts(sure[0], specs) == {}


def test_an_item_whose_leading_zero_was_made_a_letter_o_finds_its_word_for_its_cell(specs: SpecSet) -> None:
    # cms14: `|J029` read `029` on the page (the J lost), the item made `O29` (no code); its word is still `029`
    items = HCFA + DIAGNOSIS + [(0.06, 0.597, "K219"), (0.06, 0.623, "029")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    # cms21: the code set repairs `O29` itself (icd10cm.J_LOST: the J lost beside the bracket, its 0 read O), flagged
    assert parts[0].fields["diagnosis_codes"].value == ["K21.9", "J02.9"]
    assert any(p.field == "diagnosis_codes" and "one OCR confusion away" in p.message for p in parts[0].problems)
    asked: list[BBox] = []

    def cell(page: Page, box: BBox) -> list[Word]:
        asked.append(box)
        return [Word("J029", box, 0.9)]

    assert read_code_cells(read, parts, specs, lambda page, box: [], cell) == 0  # no code left to doubt
    assert asked == []
    # the item left unrepaired (as before J_LOST), its word `029` still places its cell
    parts[0].fields["diagnosis_codes"] = dataclasses.replace(parts[0].fields["diagnosis_codes"], value=["K21.9", "O29"])
    assert read_code_cells(read, parts, specs, lambda page, box: [], cell) == 1
    assert parts[0].fields["diagnosis_codes"].value == ["K21.9", "J02.9"]
    assert asked[0][1] < 0.623 + HEIGHT / 2 < asked[0][3]


def test_a_bracket_repair_that_leaves_only_codes_drops_the_lists_no_code_problem(specs: SpecSet) -> None:
    # `F02.9` is no billable code (the validator says so) and a J twin: the rows without brackets read J029
    items = HCFA + DIAGNOSIS + [(0.06, 0.605, "F029"), (0.06, 0.63, "L309")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    assert any(p.field == "diagnosis_codes" and "ICD-10-CM" in p.message for p in parts[0].problems)
    read_letters_again(read, parts, specs, lambda page, box: [_words(0.06, 0.605, "J029"), _words(0.06, 0.63, "L309")])
    assert parts[0].fields["diagnosis_codes"].value == ["J02.9", "L30.9"]
    assert not any(p.field == "diagnosis_codes" and "ICD-10-CM" in p.message for p in parts[0].problems)
    assert any(p.field == "diagnosis_codes" and "bracket" in p.message for p in parts[0].problems)


def test_the_cells_look_asks_one_call_per_item_that_is_no_code_and_only_of_a_whitelist_engine(specs: SpecSet) -> None:
    class _NoOcr:
        takes_whitelist = True

        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            raise AssertionError("propose reads nothing")

    items = HCFA + DIAGNOSIS + [(0.06, 0.597, "K219"), (0.06, 0.623, "B11.9"), (0.39, 0.597, "G43")]
    read = ReadDocument(pages=[dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))])
    part = extract_document(read, specs)
    assert CellsLook in DEFAULT_LOOKS
    requests = CellsLook().propose(LookContext(read, [part], specs, SharedOcr(_NoOcr()), 0.98, 20))
    # two cells and the list's rows (answered from memory when the rows look read them)
    assert [(r.fields, r.calls, r.psm) for r in requests] == [(("diagnosis_codes",), 3, 8)]
    plain = _NoOcr()
    plain.takes_whitelist = False  # type: ignore[misc]
    assert CellsLook().propose(LookContext(read, [part], specs, SharedOcr(plain), 0.98, 20)) == []


# --- a real code misread as another real code, its cell read alone twice (cms17) ------------------------------


@pytest.mark.parametrize(
    ("read", "item", "expected"),
    [
        ("F411", "F44.1", "F41.1"),  # a 1 read 4: both billable, only other readings tell
        ("[JO29", "A02.9", "J02.9"),  # the second recognizer's round zero after the letter, the bracket before
        ("H1033", "I08.3", "H10.33"),  # three characters from the item: the same slot's cell still
        ("J45.909", "B11.9", None),  # another slot's code is no reading of this one
        ("F441", "F44.1", "F44.1"),
        ("", "F44.1", None),
    ],
)
def test_a_reading_of_a_codes_cell_votes_for_the_billable_code_near_the_item(
    read: str, item: str, expected: str | None
) -> None:
    assert vote_code(read, item) == expected


def test_a_code_replaces_a_real_code_only_when_more_readings_give_it_than_the_item() -> None:
    assert voted("F44.1", ["FANT", "F411", "[F411"]) == "F41.1"  # two against the item's one
    assert voted("F44.1", ["F411"]) is None  # one against one: the item stays
    assert voted("F44.1", ["F441", "F411", "F411"]) is None  # the rows read the item too: two against two
    assert voted("F44.1", ["F441", "F411", "F411", "F411"]) == "F41.1"
    assert voted("F44.1", ["F411", "F417"]) is None  # readings that disagree with each other change nothing


def test_a_weak_lists_real_code_that_two_readings_of_its_cell_read_otherwise_is_replaced(specs: SpecSet) -> None:
    # `R519` typed at 150 dpi read `B51.9` (a real code: the code set cannot doubt it); the list is weak
    items = HCFA + DIAGNOSIS + [(0.06, 0.597, "N390"), (0.06, 0.623, "B519")]
    page = dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))
    read = ReadDocument(pages=[page])
    parts = [extract_document(read, specs)]
    found = parts[0].fields["diagnosis_codes"]
    assert found.value == ["N39.0", "B51.9"]
    parts[0].fields["diagnosis_codes"] = dataclasses.replace(found, confidence=0.5)
    assert vote_doubts(parts[0], specs, 0.98) == {"diagnosis_codes": [0, 1]}
    asked: list[BBox] = []

    def rows(page: Page, box: BBox) -> list[list[Word]]:
        return [_words(0.06, 0.597, "N390"), _words(0.06, 0.623, "2,jR519")]  # the slot's number glued before

    def cell(text: str) -> CellRereader:
        def read_cell(page: Page, box: BBox) -> list[Word]:
            asked.append(box)
            return [Word(text if box[1] > 0.61 else "N390", box, 0.9)]

        return read_cell

    seconds: list[BBox] = []

    def second(text: str) -> Callable[[Page, BBox], str]:
        def read_second(page: Page, box: BBox) -> str:
            seconds.append(box)
            return text

        return read_second

    assert read_code_votes(read, parts, specs, rows, cell("R9"), second("R519"), threshold=0.98) == 2
    after = parts[0].fields["diagnosis_codes"]
    assert after.value == ["N39.0", "R51.9"]  # the row's word and the second recognizer against the page
    assert after.confidence == pytest.approx(0.5 * 0.8)
    assert any(p.field == "diagnosis_codes" and "most readings" in p.message for p in parts[0].problems)
    # the cell is placed on the code in the row's word (after `2,j`), as long as the code and a little more
    b519 = next(box for box in asked if box[1] > 0.61)
    start = 0.06 + 3 * CHAR * 7 / 6.6  # the word's pitch: 7 characters
    assert b519[0] < start < b519[2] < start + 6 * CHAR
    assert len(seconds) == 1  # the second recognizer reads only the cell tesseract read as no item
    # one reading against the item's own: nothing changes
    parts = [extract_document(read, specs)]
    parts[0].fields["diagnosis_codes"] = dataclasses.replace(parts[0].fields["diagnosis_codes"], confidence=0.5)
    read_code_votes(read, parts, specs, rows, cell("R9"), second("B519"), threshold=0.98)
    assert parts[0].fields["diagnosis_codes"].value == ["N39.0", "B51.9"]
    # a confident list is not read again
    sure = [extract_document(read, specs)]
    sure[0].fields["diagnosis_codes"] = dataclasses.replace(sure[0].fields["diagnosis_codes"], confidence=0.99)
    assert vote_doubts(sure[0], specs, 0.98) == {}


def test_the_code_votes_look_asks_one_call_per_real_code_of_a_weak_list(specs: SpecSet) -> None:
    class _NoOcr:
        takes_whitelist = True

        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            raise AssertionError("propose reads nothing")

    items = HCFA + DIAGNOSIS + [(0.06, 0.597, "N390"), (0.06, 0.623, "B519"), (0.39, 0.597, "G43")]
    read = ReadDocument(pages=[dataclasses.replace(_page(items), image=Image.new("L", (850, 1100), 255))])
    part = extract_document(read, specs)
    part.fields["diagnosis_codes"] = dataclasses.replace(part.fields["diagnosis_codes"], confidence=0.5)
    assert CodeVotesLook in DEFAULT_LOOKS
    requests = CodeVotesLook().propose(LookContext(read, [part], specs, SharedOcr(_NoOcr()), 0.98, 20))
    # two real codes (`G43` is no code: the cells look's) and the list's rows (from memory after the rows look)
    assert [(r.fields, r.calls, r.psm) for r in requests] == [(("diagnosis_codes",), 3, 7)]


def test_readings_that_each_lost_a_row_are_merged_row_by_row_where_that_adds_up(specs: SpecSet) -> None:
    spec = specs.specs["cms1500"]
    # the page's reading lost row 1 (glued to the header's rule); the rows read alone lost two charges
    first = _table([("87880", "25.20"), ("97110", "65.80"), ("71046", "108.80")], 0.7)
    rows = _table([("71046", "92.65"), ("87880", "25.20"), ("97110", "0.00"), ("71046", "0.00")], 0.5)
    rows = dataclasses.replace(
        rows, value=[*rows.value[:2], *({**row, "charge": None} for row in rows.value[2:])]  # type: ignore[index]
    )
    kept, agreed = choose_rows(spec, _fields("292.45"), "service_lines", first, rows)
    assert not agreed and kept.confidence == 0.5
    assert [cell[:2] for cell in _cells(kept)] == [
        ("71046", Decimal("92.65")),
        ("87880", Decimal("25.20")),
        ("97110", Decimal("65.80")),
        ("71046", Decimal("108.80")),
    ]
    # nothing that adds up: no merge, the former choice (the complete reading)
    assert choose_rows(spec, _fields("1.00"), "service_lines", first, rows)[0] is first
