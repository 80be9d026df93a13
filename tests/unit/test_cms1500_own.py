"""Our own generated CMS-1500 scans (cmsown11): captions kept on their row, boxed dates, one value per box."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal

import pytest

from claimflow.errors import ReasonCode
from claimflow.extract import extract_document, icd10_with_dot, one_value_one_box
from claimflow.extract_layout import build_lines
from claimflow.extract_reread import merge_reading
from claimflow.extract_rows import fill_codes_from_digits
from claimflow.extract_tables import BORROWED, BORROWED_DATE_CONFIDENCE, cap_borrowed
from claimflow.models import Extraction, Field, Money, Page, Problem, Provenance, ReadDocument, ReadMethod, Word
from claimflow.normalise import borrow_boxed_dates, normalise_code, parse_boxed_date, parse_boxed_dates
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import SpecSet, load_specs

CHAR = 0.0055
HEIGHT = 0.009


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(PROJECT_ROOT / "extractors")


def _ocr_words(x: float, y: float, text: str, block: int) -> list[Word]:
    """Lay a phrase out as words of one OCR line (its own block) from (x, y)."""
    out = []
    for part in text.split():
        width = CHAR * len(part)
        out.append(Word(part, (x, y, x + width, y + HEIGHT), 0.9, block=block, line=1))
        x += width + CHAR
    return out


def test_words_of_one_ocr_line_stay_one_row_where_a_word_box_runs_over_the_next_words() -> None:
    """A degraded scan's `INSURED'S` boxed over `NAME (Last Name,` pushed those words onto another row."""
    words = _ocr_words(0.38, 0.150, "3 PATIENT'S BIRTH DATE", block=25)
    caption = _ocr_words(0.617, 0.151, "4. INSURED'S NAME (Last Name, First Name)", block=26)
    insured = caption[1]
    caption[1] = Word(insured.text, (insured.bbox[0], insured.bbox[1], 0.76, insured.bbox[3]), 0.9, block=26, line=1)
    page = Page(1, 612, 792, ReadMethod.OCR, words + caption)
    texts = [line.text for line in build_lines(page)]
    assert "3 PATIENT'S BIRTH DATE 4. INSURED'S NAME (Last Name, First Name)" in texts
    # words of different OCR lines stacked on each other are still two rows
    stacked = [*caption[:2], Word("NAME", (0.68, 0.152, 0.70, 0.161), 0.9, block=27, line=1)]
    assert len(build_lines(Page(1, 612, 792, ReadMethod.OCR, stacked))) == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11 | 03/1972", date(1972, 11, 3)),  # the rule between day and year read as `/`
        ("11 | 0311972", date(1972, 11, 3)),  # ... or as `1` glued between them
        ("07'111947", date(1947, 7, 11)),
        ("02 17.1943", date(1943, 2, 17)),
        ("02 {1771943", None),  # a rule read as `7`: no reading gives a date
    ],
)
def test_a_boxed_birth_date_reads_through_its_rules(raw: str, expected: date | None) -> None:
    parsed = parse_boxed_date(raw)
    assert (parsed.value if parsed else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("11 | 03/1972", date(1972, 11, 3)), ("_02 17.1943 ¥[", date(1943, 2, 17)), ("07'111947 u[", date(1947, 7, 11))],
)
def test_the_birth_date_box_takes_dates_read_with_a_slash_an_apostrophe_or_the_rows_underline(
    specs: SpecSet, text: str, expected: date
) -> None:
    spec = specs.get("cms1500")
    pattern = spec.fields["patient_birth_date"].pattern
    assert pattern is not None
    found = re.search(pattern, text)
    assert found is not None
    parsed = parse_boxed_date(found.group(0))
    assert parsed is not None and parsed.value == expected
    # a date written with two slashes is still read as such, not as boxes
    assert re.search(pattern, "02/28/1966") is not None


def test_a_service_rows_month_glued_to_its_left_rule_read_as_a_digit_is_a_guess() -> None:
    assert parse_boxed_dates(", 905 11 26 05 12 26", 2) == ([date(2026, 5, 11), date(2026, 5, 12)], True)
    assert parse_boxed_dates("05 11 26 05 12 26", 2) == ([date(2026, 5, 11), date(2026, 5, 12)], False)
    # a day is not a month: only the row's first part loses its first digit
    assert parse_boxed_dates("05 911 26 05 12 26", 2) is None


def test_a_diagnosis_code_whose_dot_was_read_twice_is_whole(specs: SpecSet) -> None:
    assert icd10_with_dot("H10,,33") == "H10.33"
    pattern = specs.get("cms1500").fields["diagnosis_codes"].pattern
    assert pattern is not None
    found = re.search(pattern, "1 H10,,33 3,1 L30,9_")
    assert found is not None and icd10_with_dot(found.group("value")) == "H10.33"


def test_a_tax_id_whose_hyphen_was_read_as_equals_keeps_its_hyphen(specs: SpecSet) -> None:
    assert normalise_code("85=8695478") == "85-8695478"
    assert normalise_code("A=B") == "A=B"  # only between digits
    pattern = specs.get("cms1500").fields["federal_tax_id"].pattern
    assert pattern is not None and re.search(pattern, "“85=8695478") is not None


def test_a_tax_id_split_once_by_ocr_is_whole(specs: SpecSet) -> None:
    # OCR split the seven digits at a narrow `1`'s gap (`78-6651 740`): one tax id, its space dropped
    pattern = specs.get("cms1500").fields["federal_tax_id"].pattern
    assert pattern is not None
    found = re.search(pattern, "78-6651 740")
    assert found is not None and normalise_code(found.group(0)) == "78-6651740"
    assert re.search(pattern, "78-6651 74") is None  # six digits and two: no tax id
    assert re.search(pattern, "78-665 17 40") is None  # split twice: no tax id


def _field(name: str, amount: str, bbox: tuple[float, float, float, float], confidence: float) -> Field:
    return Field(name, Money(Decimal(amount), "USD"), confidence, Provenance(ReadMethod.OCR, 1, bbox))


def test_one_printed_value_is_one_boxs_value() -> None:
    paid_box = (0.72, 0.865, 0.75, 0.874)
    fields = {
        "total_charge": _field("total_charge", "0.00", paid_box, 0.85),
        "amount_paid": _field("amount_paid", "0.00", paid_box, 0.97),
    }
    problems: list[Problem] = []
    one_value_one_box(fields, problems)
    assert list(fields) == ["amount_paid"]
    assert [p.field for p in problems] == ["total_charge"]
    # the same amount printed in two boxes (a claim paid in full) is two values
    apart = {
        "total_charge": _field("total_charge", "120.00", (0.60, 0.865, 0.64, 0.874), 0.9),
        "amount_paid": _field("amount_paid", "120.00", paid_box, 0.97),
    }
    one_value_one_box(apart, problems)
    assert set(apart) == {"total_charge", "amount_paid"}


def test_box_28_read_through_box_29s_caption_never_takes_box_29s_amount(specs: SpecSet) -> None:
    """Box 28's caption garbled, its amount unreadable (`355.021`): box 29's `0.00` is box 29's, not box 28's."""
    words = [
        *_ocr_words(0.03, 0.08, "HEALTH INSURANCE CLAIM FORM", 1),
        *_ocr_words(0.03, 0.15, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)", 2),
        *_ocr_words(0.03, 0.64, "24. A. DATE(S) OF SERVICE B. C. D. PROCEDURES, SERVICES, OR SUPPLIES", 3),
        *_ocr_words(0.03, 0.85, "25. FEDERAL TAX I.D. NUMBER SSN EIN", 4),
        *_ocr_words(0.58, 0.85, "28. TOTAL ae", 5),
        *_ocr_words(0.70, 0.85, "29. AMOUNT PAID", 6),
        *_ocr_words(0.60, 0.865, "$ 355.021", 7),
        *_ocr_words(0.72, 0.865, "$ 0.00", 8),
    ]
    read = ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])
    result = extract_document(read, specs, "cms1500")
    assert result.fields["amount_paid"].value == Money(Decimal("0.00"), "USD")
    assert "total_charge" not in result.fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # seed 21 cms1500 001 degraded: the to date's month read as letters
        ("11 04 26 ack 04 26 £ | ", ([date(2026, 11, 4), date(2026, 11, 4)], "date 2's month from date 1")),
        # seed 24 cms1500 019 degraded: the to date's year cut to one digit (a lone digit is a rule)
        ("_09 09 26 09 09 2 ", ([date(2026, 9, 9), date(2026, 9, 9)], "date 2's year from date 1")),
        ("10 23 26 10 24", ([date(2026, 10, 23), date(2026, 10, 24)], "date 2's year from date 1")),
        ("10 23 26 10 24 26", None),  # nothing lost: nothing borrowed
        ("10 23 26 24", None),  # two parts lost
        # the from date's year (2026) or its month: 2017-07-07 to 2026-07-18 is no row's dates (ROW_SPAN_DAYS)
        ("07 17 07 18 26", ([date(2026, 7, 17), date(2026, 7, 18)], "date 1's year from date 2")),
        # cms21: seed 23 acroform 001 clean, the from date's year read `#%2` (a lone digit is a rule)
        ("07 #18 #%2 O07 19 #26 81 ", ([date(2026, 7, 18), date(2026, 7, 19)], "date 1's year from date 2")),
        # cms21: seed 17 acroform 001 clean, the to date's year cut to `2`, the place of service 11 read after it
        ("02 04 26 02 04 2 11 ", ([date(2026, 2, 4), date(2026, 2, 4)], "date 2's year from date 1")),
        # cms21: seed 24 acroform 001 clean, the to date's month read `O38` (no month 38), seed 25 `98` for 08
        ("03 24 26 O38 24 26 22 ", ([date(2026, 3, 24), date(2026, 3, 24)], "date 2's month from date 1")),
        ("_08 1 14 26 98 15 26 22 ", ([date(2026, 8, 14), date(2026, 8, 15)], "date 2's month from date 1")),
        ("01 132 $26 |02}02 [26 | 12 $ ", None),  # a day read wrong (32) is no lost part: not the other date's
        ("02.26 ay the ~ 0226 1D ee 26.22. 2 e 2 pay ", None),  # seven parts (`1D` read 10): no part lost
        ("05 26 0205 26 81 ", None),  # 2026-02-05 or 2002-05-26 twice: no single reading (0205 is no year 205)
    ],
)
def test_a_part_one_boxed_service_date_lost_is_borrowed_from_the_other_date(
    raw: str, expected: tuple[list[date], str] | None
) -> None:
    assert borrow_boxed_dates(raw, 2, latest=date(2026, 11, 28)) == expected
    assert parse_boxed_dates(raw, 2, latest=date(2026, 11, 28)) is None or expected is None  # never read as read


def _service_page(rows: list[str], total: str) -> ReadDocument:
    """A CMS-1500 page with these service rows (OCR lines) under box 24's caption and box 28 holding `total`."""
    words = [
        *_ocr_words(0.03, 0.08, "HEALTH INSURANCE CLAIM FORM", 1),
        *_ocr_words(0.03, 0.64, "24. A. DATE(S) OF SERVICE B. C. D. PROCEDURES, SERVICES, OR SUPPLIES", 2),
    ]
    for index, row in enumerate(rows):
        words += _ocr_words(0.03, 0.68 + 0.02 * index, row, 3 + index)
    words += [
        *_ocr_words(0.03, 0.85, "25. FEDERAL TAX I.D. NUMBER SSN EIN", 20),
        *_ocr_words(0.58, 0.85, "28. TOTAL CHARGE", 21),
        *_ocr_words(0.70, 0.85, "29. AMOUNT PAID", 22),
        *_ocr_words(0.60, 0.865, f"$ {total}", 23),
    ]
    return ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])


def test_a_service_row_with_a_borrowed_date_part_stays_a_flagged_guess_though_its_sum_holds(specs: SpecSet) -> None:
    read = _service_page(["10 20 26 10 20 26 99203 166.40", "11 04 26 ack 04 26 99214 160.95"], "327.35")
    result = extract_document(read, specs, "cms1500")
    table = result.fields["service_lines"]
    assert isinstance(table.value, list) and table.value[1]["date_to"] == date(2026, 11, 4)  # type: ignore[index]
    assert table.confidence <= BORROWED_DATE_CONFIDENCE  # box 28 adds up, yet vouches for no date
    assert any(p.code is ReasonCode.FIELD_AMBIGUOUS and "borrowed" in p.message for p in result.problems)
    # the same rows read whole: no guess, no cap
    whole = extract_document(
        _service_page(["10 20 26 10 20 26 99203 166.40", "11 04 26 11 04 26 99214 160.95"], "327.35"),
        specs,
        "cms1500",
    )
    assert whole.fields["service_lines"].value == table.value
    assert whole.fields["service_lines"].confidence > BORROWED_DATE_CONFIDENCE
    assert not any("borrowed" in p.message for p in whole.problems)


def test_a_service_rows_dates_behind_a_mark_are_read_from_the_row_not_by_the_general_date_parser(
    specs: SpecSet,
) -> None:
    # cms21: seed 22 pre-printed 001 degraded `20 07 08 26 0708 26 81 87880`: the row pattern's from date `20 07 08`
    # is no boxed date, and the general parser made it 2008-07-20 (then dropped as far from the table's dates)
    rows = ["06 24 26 06 26 26 81 81002 16.50", "20 07 08 26 0708 26 81 87880 30.52"]
    result = extract_document(_service_page(rows, "47.02"), specs, "cms1500")
    table = result.fields["service_lines"]
    assert isinstance(table.value, list)
    assert [table.value[1]["date_from"], table.value[1]["date_to"]] == [date(2026, 7, 8), date(2026, 7, 8)]  # type: ignore[index]
    # a row whose dates cannot be read as a row keeps what the general parser gave (nothing else to go on)
    rows = ["06 24 26 06 26 26 81 81002 16.50", "07/08/2026 87880 30.52"]
    table = extract_document(_service_page(rows, "47.02"), specs, "cms1500").fields["service_lines"]
    assert isinstance(table.value, list) and table.value[1]["date_from"] == date(2026, 7, 8)  # type: ignore[index]


def test_a_table_merged_from_two_readings_keeps_the_first_readings_borrowed_date_problem() -> None:
    where = Provenance(ReadMethod.OCR, 1, (0.0, 0.64, 1.0, 0.85))
    rows = [{"date_from": date(2026, 11, 4), "date_to": date(2026, 11, 4), "procedure_code": "99214", "charge": None}]
    again = [{"date_from": None, "date_to": None, "procedure_code": "99214", "charge": Money(Decimal("160.95"), "USD")}]
    lent = Problem(ReasonCode.FIELD_AMBIGUOUS, f"row 1: ... ({BORROWED}) ...", page=1, field="service_lines")
    first = {"service_lines": Field("service_lines", rows, 0.5, where)}
    part = Extraction("cms1500", 1.0, fields=dict(first), problems=[lent])
    new = Field("service_lines", again, 0.6, where)

    def merge(old: Field, other: Field) -> tuple[Field, bool]:
        merged = [{k: other.value[0].get(k) or v for k, v in old.value[0].items()}]  # type: ignore[index,union-attr]
        return dataclasses.replace(other, value=merged), False

    merge_reading(part, "service_lines", new, [], choose=merge)
    assert lent in part.problems
    cap_borrowed(part.fields, part.problems)
    assert part.fields["service_lines"].confidence <= BORROWED_DATE_CONFIDENCE
    # the second reading's own value kept whole: the first reading's problems go with its value
    part = Extraction("cms1500", 1.0, fields=dict(first), problems=[lent])
    merge_reading(part, "service_lines", new, [], choose=lambda old, other: (other, False))
    assert lent not in part.problems


def test_a_procedure_code_read_with_a_small_letter_is_left_unread_and_filled_from_the_digits_reading(
    specs: SpecSet,
) -> None:
    # seed 29 full 022 clean: Courier `81002` read `g1002` in its row read alone; taken as HCPCS G1002 before
    read = _service_page(["05 30 26 05 30 26 g1002 18.45", "06 14 26 06 14 26 97110 78.40"], "96.85")
    table = extract_document(read, specs, "cms1500").fields["service_lines"]
    assert isinstance(table.value, list) and [r.get("procedure_code") for r in table.value] == [None, "97110"]
    # a capital letter is a HCPCS code's
    capital = _service_page(["05 30 26 05 30 26 G0008 18.45", "06 14 26 06 14 26 97110 78.40"], "96.85")
    codes = [r.get("procedure_code") for r in extract_document(capital, specs, "cms1500").fields["service_lines"].value]
    assert codes == ["G0008", "97110"]
    # the row read with digits only whose dates are the row's gives the code; the confidence is not raised
    spec = specs.specs["cms1500"]
    digits = [
        [Word("053026053026", (0.05, 0.70, 0.2, 0.71), 0.9), Word("81002", (0.3, 0.70, 0.35, 0.71), 0.9)],
        [Word("061426061426", (0.05, 0.72, 0.2, 0.73), 0.9), Word("97110", (0.3, 0.72, 0.35, 0.73), 0.9)],
    ]
    filled, rows = fill_codes_from_digits(spec, "service_lines", table, digits)
    assert rows == [1] and [r["procedure_code"] for r in filled.value] == ["81002", "97110"]  # type: ignore[index]
    assert filled.confidence == table.confidence
    # no digits row with the row's dates, or two: nothing is filled
    assert fill_codes_from_digits(spec, "service_lines", table, digits[1:]) == (table, [])
    assert fill_codes_from_digits(spec, "service_lines", table, [digits[0], digits[0]]) == (table, [])
