"""CMS-1500 spec: values are read from the box under each caption, on any form layout, never the captions."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from claimflow.extract import extract_document, field_boxes, glued_markers_apart
from claimflow.extract_layout import Line, build_lines, find_anchors
from claimflow.extract_reread import merge_reading
from claimflow.extract_tables import _spaced_date
from claimflow.models import Extraction, Field, Money, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import SpecSet, load_specs

CHAR = 0.0055
HEIGHT = 0.009

Placed = tuple[float, float, str]


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(PROJECT_ROOT / "extractors")


def _words(x: float, y: float, text: str, confidence: float = 1.0) -> list[Word]:
    """Lay a phrase out as words from (x, y), one space between words."""
    out = []
    for part in text.split():
        width = CHAR * len(part)
        out.append(Word(part, (x, y, x + width, y + HEIGHT), confidence))
        x += width + CHAR
    return out


def _page(items: list[Placed], confidence: float = 1.0) -> ReadDocument:
    words = [w for x, y, text in items for w in _words(x, y, text, confidence)]
    return ReadDocument(pages=[Page(1, 612, 792, ReadMethod.TEXT_LAYER, words)])


# captions of the 02/12 form, at the left edge of their boxes
CAPTIONS_0212: list[Placed] = [
    (0.03, 0.08, "HEALTH INSURANCE CLAIM FORM"),
    (0.03, 0.12, "1. MEDICARE MEDICAID TRICARE"),
    (0.59, 0.12, "1a. INSURED'S I.D. NUMBER (For Program in Item 1)"),
    (0.03, 0.15, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)"),
    (0.37, 0.15, "3. PATIENT'S BIRTH DATE SEX"),
    (0.59, 0.15, "4. INSURED'S NAME (Last Name, First Name, Middle Initial)"),
    (0.03, 0.27, "9. OTHER INSURED'S NAME (Last Name, First Name, Middle Initial)"),
    (0.59, 0.27, "11. INSURED'S POLICY GROUP OR FECA NUMBER"),
    (0.03, 0.57, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY Relate A-L to service line below (24E)"),
    (0.035, 0.59, "A."), (0.165, 0.59, "B."), (0.295, 0.59, "C."), (0.425, 0.59, "D."),  # the slots' letters
    (0.03, 0.64, "24. A. DATE(S) OF SERVICE B. C. D. PROCEDURES, SERVICES, OR SUPPLIES E. F. $ CHARGES"),
    (0.03, 0.85, "25. FEDERAL TAX I.D. NUMBER SSN EIN"),
    (0.28, 0.85, "26. PATIENT'S ACCOUNT NO."),
    (0.44, 0.85, "27. ACCEPT ASSIGNMENT?"),
    (0.58, 0.85, "28. TOTAL CHARGE"),
    (0.70, 0.85, "29. AMOUNT PAID"),
    (0.81, 0.85, "30. Rsvd for NUCC Use"),
    (0.58, 0.88, "33. BILLING PROVIDER INFO & PH #"),
]

VALUES_0212: list[Placed] = [
    (0.60, 0.135, "W498782828"),
    (0.04, 0.165, "Salemy, Cheryl A"),
    (0.38, 0.165, "10 16 1966"),
    (0.60, 0.165, "Martinez, Mary E"),
    (0.04, 0.285, "Salemy, Susan J"),
    (0.60, 0.285, "GRP-29561"),
    (0.05, 0.59, "M54.50"),
    (0.18, 0.59, "R10.9"),
    (0.03, 0.70, "02 10 17 02 10 17 11 99201 25 1 125.00"),
    (0.03, 0.73, "02 11 17 02 12 17 11 11451 25 5 55.00"),
    (0.04, 0.865, "47-1234567"),
    (0.29, 0.865, "AC-549879"),
    (0.60, 0.865, "$ 180.00"),
    (0.72, 0.865, "$ 20.00"),
    (0.59, 0.895, "Lakeview Medical Group"),
]


def test_values_come_from_the_box_under_each_caption(specs: SpecSet) -> None:
    result = extract_document(_page(CAPTIONS_0212 + VALUES_0212), specs)
    assert result.document_type == "cms1500"
    values = {name: field.value for name, field in result.fields.items()}
    assert values["patient_name"] == "Salemy, Cheryl A"
    assert values["insured_name"] == "Martinez, Mary E"  # not box 9's other insured
    assert values["patient_birth_date"] == date(1966, 10, 16)
    assert values["insured_id"] == "W498782828"
    assert values["policy_group"] == "GRP-29561"
    assert values["diagnosis_codes"] == ["M54.50", "R10.9"]
    assert values["total_charge"] == Money(Decimal("180.00"), "USD")
    assert values["amount_paid"] == Money(Decimal("20.00"), "USD")
    assert values["federal_tax_id"] == "47-1234567"
    assert values["billing_provider"] == "Lakeview Medical Group"
    rows = result.fields["service_lines"].value
    assert isinstance(rows, list)
    assert [(r["procedure_code"], r["charge"], r["date_from"]) for r in rows] == [  # type: ignore[index]
        ("99201", Money(Decimal("125.00"), "USD"), date(2017, 2, 10)),
        ("11451", Money(Decimal("55.00"), "USD"), date(2017, 2, 11)),
    ]
    assert all(field.confidence >= 0.9 for field in result.fields.values())


def test_the_same_spec_reads_a_layout_whose_title_sits_elsewhere(specs: SpecSet) -> None:
    # the HCFA-1500 prints the title centred right; every caption and value moves down by 0.02
    moved = [(x, y + 0.02, text) for x, y, text in CAPTIONS_0212 + VALUES_0212 if "CLAIM FORM" not in text]
    result = extract_document(_page([(0.50, 0.10, "HEALTH INSURANCE CLAIM FORM"), *moved]), specs)
    assert result.fields["patient_name"].value == "Salemy, Cheryl A"
    assert result.fields["total_charge"].value == Money(Decimal("180.00"), "USD")
    assert result.fields["federal_tax_id"].value == "47-1234567"


def test_box_21_and_box_24_are_found_from_the_parts_of_captions_a_degraded_scan_split(specs: SpecSet) -> None:
    # the caption's end `OR INJURY ...` read as a line of its own; box 24's `OR SUPPLIES` lost the same way
    split = {
        "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY Relate A-L to service line below (24E)":
            "21. DIAGNOSIS OR NATURE OF ILLNESS",
        "24. A. DATE(S) OF SERVICE B. C. D. PROCEDURES, SERVICES, OR SUPPLIES E. F. $ CHARGES":
            "24. A. DATE(S) OF SERVICE B. C. D. PROCEDURES, SERVICES,",
    }
    captions = [(x, y, split.get(text, text)) for x, y, text in CAPTIONS_0212]
    result = extract_document(_page(captions + VALUES_0212), specs, "cms1500")
    assert result.fields["diagnosis_codes"].value == ["M54.50", "R10.9"]
    rows = result.fields["service_lines"].value
    assert isinstance(rows, list)
    assert [r["procedure_code"] for r in rows] == ["99201", "11451"]  # type: ignore[index]
    # only the middle of box 21's caption read (a second reading of it, `NATURE` further right): the same box
    middle = [(0.105, 0.57, "NATURE OF ILLNESS OR INJURY.") if text.startswith("21.") else (x, y, text)
              for x, y, text in CAPTIONS_0212]
    moved = extract_document(_page(middle + VALUES_0212), specs, "cms1500")
    assert moved.fields["diagnosis_codes"].value == ["M54.50", "R10.9"]


def test_a_blank_form_yields_no_values(specs: SpecSet) -> None:
    result = extract_document(_page(CAPTIONS_0212), specs)
    assert result.document_type == "cms1500"
    assert result.fields == {}


def test_total_found_only_through_the_neighbouring_caption_is_not_confident(specs: SpecSet) -> None:
    captions = [item for item in CAPTIONS_0212 if "TOTAL CHARGE" not in item[2]]
    no_lines = [item for item in VALUES_0212 if not item[2].startswith("02 1")]
    result = extract_document(_page(captions + no_lines), specs)
    assert result.fields["total_charge"].value == Money(Decimal("180.00"), "USD")
    assert result.fields["total_charge"].confidence < 0.9
    # the service lines adding up to it are a second, independent reading of the same amount
    confirmed = extract_document(_page(captions + VALUES_0212), specs)
    assert confirmed.fields["total_charge"].confidence >= 0.9


def test_letter_spaced_caption_is_found() -> None:
    spaced = " ".join("PROCEDURES,") + " " + " ".join("SERVICES,") + " O R " + " ".join("SUPPLIES")
    words: list[Word] = []
    x = 0.3
    for letter in spaced.split():
        words.append(Word(letter, (x, 0.5, x + 0.006, 0.51), 1.0))
        x += 0.006  # touching glyph boxes, as some PDF producers write them
    lines = build_lines(Page(1, 612, 792, ReadMethod.TEXT_LAYER, words))
    hits = find_anchors(lines, "PROCEDURES, SERVICES, OR SUPPLIES", 85)
    assert len(hits) == 1 and hits[0].score == 100.0
    assert find_anchors(lines, "TOTAL CHARGE", 85) == []


def test_sideways_margin_text_does_not_merge_rows() -> None:
    words = [
        *_words(0.05, 0.50, "08 23 26 87880 31.36"),
        *_words(0.05, 0.53, "08 24 26 99214 142.10"),
        Word("NOITAMROFNI", (0.97, 0.49, 0.98, 0.56), 1.0),  # rotated text spanning both rows
    ]
    lines = build_lines(Page(1, 612, 792, ReadMethod.TEXT_LAYER, words))
    texts = [line.text for line in lines]
    assert "08 23 26 87880 31.36" in texts
    assert "08 24 26 99214 142.10" in texts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("08) 23; 26", "08 23 26"), ("08 23 26", "08 23 26"), ("02/28/17", "02/28/17"), ("12.03.2026", "12.03.2026")],
)
def test_boxed_dates_lose_the_box_rules_read_as_punctuation(raw: str, expected: str) -> None:
    assert _spaced_date(raw) == expected


def test_a_diagnosis_slot_read_too_garbled_to_match_keeps_the_list_below_confidence(specs: SpecSet) -> None:
    complete = extract_document(_page(CAPTIONS_0212 + VALUES_0212), specs)
    garbled = [(x, y, "H1_033" if text == "R10.9" else text) for x, y, text in VALUES_0212]
    result = extract_document(_page(CAPTIONS_0212 + garbled), specs)
    assert result.fields["diagnosis_codes"].value == ["M54.50"]
    assert result.fields["diagnosis_codes"].confidence < 0.7 * complete.fields["diagnosis_codes"].confidence


@pytest.mark.parametrize("misread", ["Fale", "(Rall", "Cleary"])
def test_a_diagnosis_slot_read_as_letters_keeps_the_list_below_confidence(specs: SpecSet, misread: str) -> None:
    # cms14: a degraded scan's `F411` read `Fale` (no digit left): the list of one code must not be confident
    complete = extract_document(_page(CAPTIONS_0212 + VALUES_0212), specs)
    garbled = [(x, y, misread if text == "R10.9" else text) for x, y, text in VALUES_0212]
    result = extract_document(_page(CAPTIONS_0212 + garbled), specs)
    assert result.fields["diagnosis_codes"].value == ["M54.50"]
    assert result.fields["diagnosis_codes"].confidence < 0.7 * complete.fields["diagnosis_codes"].confidence
    # a caption's capitals left in the region are no code read as letters
    capitals = [(x, y, "ICD" if text == "R10.9" else text) for x, y, text in VALUES_0212]
    kept = extract_document(_page(CAPTIONS_0212 + capitals), specs)
    assert kept.fields["diagnosis_codes"].confidence == pytest.approx(result.fields["diagnosis_codes"].confidence / 0.6)


def test_service_lines_with_an_empty_cell_gain_nothing_from_their_sum(specs: SpecSet) -> None:
    # row 2's "to" date is lost: the charges still add up to box 28, which vouches for no date
    lost = [(x, y, "02 11 17 11451 25 5 55.00" if text.startswith("02 11 17") else text) for x, y, text in VALUES_0212]
    result = extract_document(_page(CAPTIONS_0212 + lost), specs)
    rows = result.fields["service_lines"].value
    assert isinstance(rows, list) and rows[1]["date_to"] is None  # type: ignore[index]
    complete = extract_document(_page(CAPTIONS_0212 + VALUES_0212), specs)
    assert result.fields["service_lines"].confidence < 0.75 * complete.fields["service_lines"].confidence
    assert result.fields["service_lines"].confidence < 0.9
    assert result.fields["total_charge"].confidence >= 0.9  # the total is still vouched for by the charges


@pytest.mark.parametrize(
    ("line", "expected"),
    [("MAPLE STREET HEALTH CENTER", "MAPLE STREET HEALTH CENTER"), ("& PHONE #", None),
     ("Lakeview Medical Group", "Lakeview Medical Group")],
)
def test_billing_provider_in_capitals_is_read_but_never_its_caption(
    specs: SpecSet, line: str, expected: str | None
) -> None:
    values = [item for item in VALUES_0212 if item[2] != "Lakeview Medical Group"] + [(0.59, 0.895, line)]
    result = extract_document(_page(CAPTIONS_0212 + values), specs)
    found = result.fields.get("billing_provider")
    assert (found.value if found else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("04 o9 1975", date(1975, 4, 9)), ("O4 09 1975", date(1975, 4, 9)), ("04 x9 1975", None)]
)
def test_a_boxed_date_reads_the_letter_o_beside_digits_as_zero(raw: str, expected: date | None) -> None:
    from claimflow.normalise import parse_boxed_date

    parsed = parse_boxed_date(raw)
    assert (parsed.value if parsed else None) == expected


def test_a_weak_table_of_a_dropout_form_is_read_again(specs: SpecSet) -> None:
    from claimflow.extract_reread import weak_regions
    from claimflow.extract_rows import weak_tables
    from claimflow.models import Extraction, Field, Provenance

    specs = dataclasses.replace(specs, calibration=None)  # raw scores: what is weak must not hang on the shipped curves
    table = Field("service_lines", [{"procedure_code": "99213"}], 0.5, Provenance(method=ReadMethod.OCR, page=1))
    part = Extraction("cms1500", 1.0, fields={"service_lines": table})
    assert "service_lines" in weak_tables(part, specs, 0.9)  # read again row by row (reread_rows) ...
    assert "service_lines" not in weak_regions(part, specs, 0.9)  # ... not as one region
    sure = Extraction("cms1500", 1.0, fields={"service_lines": dataclasses.replace(table, confidence=0.95)})
    assert "service_lines" not in weak_tables(sure, specs, 0.9)
    spec = specs.specs["cms1500"]
    regions = dataclasses.replace(specs, specs={**specs.specs, "cms1500": spec.model_copy(update={"tables": {
        "service_lines": spec.tables["service_lines"].model_copy(update={"reread_rows": False, "reread_region": True})
    }})})
    assert "service_lines" in weak_regions(part, regions, 0.9)  # a spec that reads it as a region still does
    plain = dataclasses.replace(regions, specs={**regions.specs, "cms1500": regions.specs["cms1500"].model_copy(
        update={"ocr": spec.ocr.model_copy(update={"dropout": False})})})
    assert "service_lines" not in weak_regions(part, plain, 0.9)  # other forms: only when no row was read


def test_a_name_whose_middle_initial_was_misread_is_not_confident(specs: SpecSet) -> None:
    def scanned(name: str, gap: float = 0.0) -> ReadDocument:
        values = [(x, y, name if text == "Salemy, Cheryl A" else text) for x, y, text in VALUES_0212]
        words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text, 0.95)]
        # the initial `gap` further right (page width), as a print in 12 pt Courier leaves it
        words = [dataclasses.replace(w, bbox=(w.bbox[0] + gap, w.bbox[1], w.bbox[2] + gap, w.bbox[3]))
                 if w.text in ("a", "A") and w.bbox[1] == 0.165 else w for w in words]
        return ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])

    whole = extract_document(scanned("Salemy, Cheryl A"), specs, "cms1500")
    assert whole.fields["patient_name"].value == "Salemy, Cheryl A"
    # `A` read as `a`: the pattern stops before it, and the name without its initial must not look sure
    cut = extract_document(scanned("Salemy, Cheryl a"), specs, "cms1500")
    assert cut.fields["patient_name"].value == "Salemy, Cheryl"
    assert cut.fields["patient_name"].confidence < 0.85 * whole.fields["patient_name"].confidence
    # as a Courier print scans it: the initial two spaces (0.02 of the page's width) after the first name
    wide = extract_document(scanned("Salemy, Cheryl a", 0.012), specs, "cms1500").fields["patient_name"]
    assert wide.value == "Salemy, Cheryl" and wide.confidence < 0.85 * whole.fields["patient_name"].confidence


def test_a_name_read_from_after_a_joiner_is_not_confident(specs: SpecSet) -> None:
    """`LEE-` of `LEE-WONG, CARLOS` lost on a degraded scan: the pattern takes `WONG, CARLOS` out of `-WONG,`."""

    def scanned(name: str) -> Extraction:
        values = [(x, y, name if text == "Salemy, Cheryl A" else text) for x, y, text in VALUES_0212]
        words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text, 0.95)]
        return extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")

    whole = scanned("Lee-Wong, Carlos").fields["patient_name"]
    assert whole.value == "Lee-Wong, Carlos"
    for cut_name in ("-Wong, Carlos", "'Neil, Carlos"):
        cut = scanned(cut_name).fields["patient_name"]
        assert cut.value == cut_name[1:] and cut.confidence < 0.85 * whole.confidence, (cut_name, cut.confidence)
    # a name whose word starts the value is not doubted
    assert scanned("Wong, Carlos").fields["patient_name"].confidence == whole.confidence


def test_a_middle_initial_is_read_on_the_names_own_line_only(specs: SpecSet) -> None:
    """Specks under a degraded name read as `A` (a line of their own in box 2) were taken as its initial: the
    pattern's space before the initial crossed the line break (`Smith, Keisha A` at 0.97 for Smith, Keisha)."""
    values = [(x, y, "Smith, Keisha" if text == "Salemy, Cheryl A" else text) for x, y, text in VALUES_0212]
    values += [(0.06, 0.171, "A"), (0.10, 0.171, "A")]  # just under the name: a line of their own, in its box
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text, 0.9)]
    read = ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])
    assert extract_document(read, specs, "cms1500").fields["patient_name"].value == "Smith, Keisha"
    # on the name's line the initial is still read
    values = [(x, y, "Smith, Keisha A" if text == "Salemy, Cheryl A" else text) for x, y, text in VALUES_0212]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text, 0.9)]
    read = ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])
    assert extract_document(read, specs, "cms1500").fields["patient_name"].value == "Smith, Keisha A"


def test_a_name_with_a_garbled_sign_where_its_initial_would_stand_is_not_confident(specs: SpecSet) -> None:
    """`PATEL, PATRICIA &` (the `&` at 0.05 where the initial E stands): the name without it must not look sure."""

    def scanned(name: str, sign_confidence: float) -> Field:
        values = [(x, y, name if text == "Salemy, Cheryl A" else text) for x, y, text in VALUES_0212]
        words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text, 0.95)]
        words = [dataclasses.replace(w, confidence=sign_confidence) if w.text == "&" else w for w in words]
        read = ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])
        return extract_document(read, specs, "cms1500").fields["patient_name"]

    whole = scanned("Patel, Patricia E", 0.95)
    garbled = scanned("Patel, Patricia &", 0.05)
    assert garbled.value == "Patel, Patricia" and garbled.confidence < 0.85 * whole.confidence
    # read surely, a sign is no lost initial
    assert scanned("Patel, Patricia &", 0.95).confidence == scanned("Patel, Patricia", 0.95).confidence


HCFA_BOX_21 = "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY. (RELATE ITEMS 1,2,3 OR 4 TO ITEM 24E BY LINE)"


def _hcfa_diagnoses(markers: list[Placed], *, caption: str | None = None) -> ReadDocument:
    """An OCR'd HCFA-1500 box 21: slots 1 and 2 down the left column, 3 and 4 down the right; markers given.

    `caption`: box 21's caption read instead of the 02/12 one (whose `Relate A-L` says nothing of the grid).
    """
    captions = [item for item in CAPTIONS_0212 if not item[2].endswith(".") or len(item[2]) > 2]
    if caption is not None:
        captions = [(x, y, caption if text.startswith("21.") else text) for x, y, text in captions]
    codes: list[Placed] = [(0.05, 0.59, "N390"), (0.39, 0.59, "R109"), (0.05, 0.615, "E785"), (0.39, 0.615, "G43909")]
    words = [w for x, y, text in captions + markers + codes for w in _words(x, y, text, 0.9)]
    return ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])


def test_hcfa_diagnoses_keep_their_slot_order_when_a_marker_is_not_read(specs: SpecSet) -> None:
    every = _hcfa_diagnoses([(0.035, 0.59, "1."), (0.375, 0.59, "3."), (0.035, 0.615, "2."), (0.375, 0.615, "4.")])
    tied = extract_document(every, specs, "cms1500").fields["diagnosis_codes"]
    assert tied.value == ["N39.0", "E78.5", "R10.9", "G43.909"]
    # slot 1's marker lost: the digits read say the slots run down the columns (1 2 | 3 4), not across
    lost = extract_document(_hcfa_diagnoses([(0.375, 0.59, "3."), (0.035, 0.615, "2."), (0.375, 0.615, "4.")]),
                            specs, "cms1500").fields["diagnosis_codes"]
    assert lost.value == ["N39.0", "E78.5", "R10.9", "G43.909"]
    assert lost.confidence < tied.confidence  # a marker was not seen: still below the tied reading
    # a lone `1` (a box rule read as a digit) says nothing: reading order
    stray = extract_document(_hcfa_diagnoses([(0.375, 0.59, "1")]), specs, "cms1500").fields["diagnosis_codes"]
    assert stray.value == ["N39.0", "R10.9", "E78.5", "G43.909"]


def test_hcfa_diagnoses_with_no_marker_read_are_ordered_down_the_columns_by_the_box_caption(specs: SpecSet) -> None:
    # every marker dropped out with the red form: the caption `RELATE ITEMS 1,2,3 OR 4` says the slots run
    # 1 2 down the left column and 3 4 down the right, so the reading order (1 3 2 4) is not the list's
    tied = extract_document(
        _hcfa_diagnoses([(0.035, 0.59, "1."), (0.375, 0.59, "3."), (0.035, 0.615, "2."), (0.375, 0.615, "4.")]),
        specs, "cms1500",
    ).fields["diagnosis_codes"]
    lost = extract_document(_hcfa_diagnoses([], caption=HCFA_BOX_21), specs, "cms1500").fields["diagnosis_codes"]
    assert lost.value == ["N39.0", "E78.5", "R10.9", "G43.909"]
    assert lost.confidence < tied.confidence  # no slot's own marker was seen: still below the tied reading
    # without that caption (the 02/12 form numbers A-L across the rows) the reading order stands
    plain = extract_document(_hcfa_diagnoses([]), specs, "cms1500").fields["diagnosis_codes"]
    assert plain.value == ["N39.0", "R10.9", "E78.5", "G43.909"]
    # letters read as markers outweigh the caption: the slots are lettered across the rows
    letters = extract_document(
        _hcfa_diagnoses([(0.375, 0.59, "B."), (0.035, 0.615, "C.")], caption=HCFA_BOX_21), specs, "cms1500"
    ).fields["diagnosis_codes"]
    assert letters.value == ["N39.0", "R10.9", "E78.5", "G43.909"]


def test_an_icd10_code_whose_letter_was_read_as_a_digit_gets_it_back_below_confidence(specs: SpecSet) -> None:
    captions = [item for item in CAPTIONS_0212 if not item[2].endswith(".") or len(item[2]) > 2]
    markers: list[Placed] = [(0.035, 0.59, "1."), (0.375, 0.59, "3."), (0.035, 0.615, "2."), (0.375, 0.615, "4.")]

    def diagnoses(codes: list[str]) -> Field:
        places = [(0.05, 0.59), (0.05, 0.615), (0.39, 0.59), (0.39, 0.615)]
        items = [(x, y, code) for (x, y), code in zip(places, codes, strict=False)]
        words = [w for x, y, text in captions + markers + items for w in _words(x, y, text, 0.9)]
        read = ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])
        return extract_document(read, specs, "cms1500").fields["diagnosis_codes"]

    right = diagnoses(["R059", "J45909", "J069", "M25561"])
    # the J of J45909 read as a 9 and the Z of Z00.00 as a 2: an ICD-10 code starts with a letter
    guessed = diagnoses(["R059", "945909", "J069", "200.00"])
    assert guessed.value == ["R05.9", "J45.909", "J06.9", "Z00.00"]
    assert guessed.confidence < 0.7 * right.confidence  # a guess: a person checks it
    # a `3` is a J or a B: the ICD-10-CM code set names one real code for `345909` (J45.909), taken as a guess,
    # but two for `3069` (B06.9, J06.9): not guessed, the slot stays unread and the list unsure
    named = diagnoses(["R059", "345909", "J069", "M25561"])
    assert named.value == ["R05.9", "J45.909", "J06.9", "M25.561"]
    assert named.confidence < 0.7 * right.confidence
    unread = diagnoses(["R059", "J45909", "3069", "M25561"])
    assert unread.value == ["R05.9", "J45.909", "M25.561"]
    assert unread.confidence < right.confidence
    # ICD-9 codes (no ICD-10 code in the list) keep their digits
    assert diagnoses(["525.10", "250.00"]).value == ["525.10", "250.00"]
    # an S read as the dollar sign (`$83,511A`): S83.511A is a billable code, taken as a guess; a `$` whose S code the
    # code set does not hold stays unread (`$99.99` is no S99.99)
    dollar = diagnoses(["R059", "$83,511A", "J069", "M25561"])
    assert dollar.value == ["R05.9", "S83.511A", "J06.9", "M25.561"]
    assert dollar.confidence < 0.7 * right.confidence
    assert diagnoses(["R059", "$99,99", "J069", "M25561"]).value == ["R05.9", "J06.9", "M25.561"]


def test_a_slot_marker_read_glued_before_its_code_is_split_off(specs: SpecSet) -> None:
    captions = [item for item in CAPTIONS_0212 if not item[2].endswith(".") or len(item[2]) > 2]
    # slot 1's marker read with its bracket (`4.1`), slot 2's marker glued to I10 read with digits only (`2110`):
    # `2110` starts where the markers do, so its `2` is the marker and `110` the code (I10, a guess); taken whole
    # it would letter into Z11.0
    placed: list[Placed] = [(0.035, 0.59, "4.1"), (0.05, 0.59, "Z0000"), (0.375, 0.59, "3."), (0.39, 0.59, "G43909"),
                            (0.035, 0.615, "2110"), (0.375, 0.615, "4.")]
    words = [w for x, y, text in captions + placed for w in _words(x, y, text, 0.9)]
    field = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert field.fields["diagnosis_codes"].value == ["Z00.00", "I10", "G43.909"]
    assert field.fields["diagnosis_codes"].confidence < 0.9
    # the same digits where the codes start (no marker's column) are a code read whole
    lines = [Line(tuple(_words(0.035, 0.59, "4.1"))), Line(tuple(_words(0.05, 0.615, "2110")))]
    assert [w.text for line in glued_markers_apart(lines, ["1", "2", "3", "4"]) for w in line.words] == ["4.1", "2110"]


def test_a_slot_marker_read_glued_with_its_stop_or_a_stop_after_the_code_is_split_off(specs: SpecSet) -> None:
    captions = [item for item in CAPTIONS_0212 if not item[2].endswith(".") or len(item[2]) > 2]
    # seed 21 full 012 degraded: `2110.` (slot 2's marker, I10 read `110`, the slot's stop after it) was Z11.0
    placed: list[Placed] = [(0.035, 0.59, "1."), (0.05, 0.59, "LR10,9"), (0.035, 0.615, "2110."),
                            (0.375, 0.59, "3."), (0.39, 0.59, "LE78.5")]
    words = [w for x, y, text in captions + placed for w in _words(x, y, text, 0.9)]
    field = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert field.fields["diagnosis_codes"].value == ["R10.9", "I10", "E78.5"]
    assert field.fields["diagnosis_codes"].confidence < 0.9
    # the marker's stop read too (`2.110`), where another marker stands
    lines = [Line(tuple(_words(0.035, 0.59, "1."))), Line(tuple(_words(0.035, 0.615, "2.110")))]
    assert [w.text for line in glued_markers_apart(lines, ["1", "2", "3", "4"]) for w in line.words] == [
        "1.", "2.", "110"]
    # never by its own start alone: `3,909` is G43.909 with its `G4` lost, no marker
    alone = [Line(tuple(_words(0.375, 0.59, "3,909")))]
    assert [w.text for line in glued_markers_apart(alone, ["1", "2", "3", "4"]) for w in line.words] == ["3,909"]


def test_a_bracket_read_as_a_letter_before_a_three_character_code_is_not_its_first_letter(specs: SpecSet) -> None:
    # seed 29 full 019 degraded: the slots' brackets read `L` glued before their codes (`LR10,9`, `LE78.5`), slot 2
    # `L110`: the bracket and I10 read `110`; taken whole it was L11.0, a real code, though a four-character code is
    # printed with its dot as the list's others were read
    captions = [item for item in CAPTIONS_0212 if not item[2].endswith(".") or len(item[2]) > 2]

    def diagnoses(placed: list[Placed]) -> Field:
        words = [w for x, y, text in captions + placed for w in _words(x, y, text, 0.9)]
        read = ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])
        return extract_document(read, specs, "cms1500").fields["diagnosis_codes"]

    slots: list[Placed] = [(0.035, 0.59, "1."), (0.05, 0.59, "LR10,9"), (0.035, 0.615, "2"),
                           (0.375, 0.59, "3."), (0.39, 0.59, "LE78.5")]
    right = diagnoses([*slots, (0.05, 0.615, "L11.0")])
    assert right.value == ["R10.9", "L11.0", "E78.5"]  # read with its dot: an L code
    guessed = diagnoses([*slots, (0.05, 0.615, "L110")])
    assert guessed.value == ["R10.9", "I10", "E78.5"]
    assert guessed.confidence < 0.7 * right.confidence  # a guess, as any lettered code
    # the bracket read `1` as a word of its own after the marker (`4.1`), `1110` for slot 4's `1` and `110`
    apart: list[Placed] = [(0.035, 0.59, "4.1"), (0.05, 0.59, "N39.0_"), (0.035, 0.615, "2.1"),
                           (0.05, 0.615, "M54.50"), (0.375, 0.59, "3."), (0.39, 0.59, "Z00.00")]
    assert diagnoses([*apart, (0.375, 0.615, "4."), (0.39, 0.615, "1110")]).value == [
        "N39.0", "M54.50", "Z00.00", "I10"]
    # no bracket read anywhere, or no code read with its dot: the four characters are a code's
    bare: list[Placed] = [(0.035, 0.59, "1."), (0.05, 0.59, "R10,9"), (0.035, 0.615, "2"),
                          (0.375, 0.59, "3."), (0.39, 0.59, "E78.5")]
    assert diagnoses([*bare, (0.05, 0.615, "L110")]).value == ["R10.9", "L11.0", "E78.5"]
    undotted: list[Placed] = [(0.035, 0.59, "1."), (0.05, 0.59, "LR109"), (0.035, 0.615, "2"),
                              (0.375, 0.59, "3."), (0.39, 0.59, "LE785")]
    assert diagnoses([*undotted, (0.05, 0.615, "L110")]).value == ["R10.9", "L11.0", "E78.5"]


def test_a_slot_marker_and_its_stop_read_glued_before_the_bracket_and_code_are_split_off(specs: SpecSet) -> None:
    # seed 24 cms1500 003 degraded: `1.LM54,50` and `2.LM25,561` (marker, stop, the slot's bracket read `L`, code);
    # taken whole, neither was an item and the list lost slots 1 and 2
    captions = [item for item in CAPTIONS_0212 if not item[2].endswith(".") or len(item[2]) > 2]
    placed: list[Placed] = [(0.05, 0.59, "1.LM54,50"), (0.37, 0.59, "3"), (0.385, 0.59, "LR10,9"),
                            (0.05, 0.615, "2.LM25,561"), (0.37, 0.615, "4"), (0.385, 0.615, "LE78,5")]
    words = [w for x, y, text in captions + placed for w in _words(x, y, text, 0.9)]
    field = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert field.fields["diagnosis_codes"].value == ["M54.50", "M25.561", "R10.9", "E78.5"]
    lines = [Line(tuple(_words(0.05, 0.59, "1.LM54,50 2.5 4.1")))]
    split = [w.text for line in glued_markers_apart(lines, ["1", "2", "3", "4"]) for w in line.words]
    assert split == ["1.", "LM54,50", "2.5", "4.1"]  # a figure or a bracket alone after the stop stays whole


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("£E78,5_", ["E78.5"]),
        ("IN390_", ["N39.0"]),
        ("E78.5, R10.9", ["E78.5", "R10.9"]),
        ("E78,5 |R109", ["E78.5", "R10.9"]),
        ("jRO59", ["R05.9"]),  # the slot's bracket read as a `j`
    ],
)
def test_diagnosis_codes_end_before_the_slot_underline_and_are_never_cut(
    specs: SpecSet, text: str, expected: list[str]
) -> None:
    captions = [item for item in CAPTIONS_0212 if not item[2].endswith(".") or len(item[2]) > 2]
    result = extract_document(_page(captions + [(0.05, 0.59, text)]), specs, "cms1500")
    assert result.fields["diagnosis_codes"].value == expected


def test_a_region_box_read_again_starts_below_its_caption(specs: SpecSet) -> None:
    # a caption read taller than usual (its middle below the region's usual top): a re-read of the box must
    # not replace the caption's words, or the field loses its anchor
    words = [w for x, y, text in CAPTIONS_0212 for w in _words(x, y, text)]
    tall = [dataclasses.replace(w, bbox=(w.bbox[0], w.bbox[1], w.bbox[2], w.bbox[1] + 0.014)) for w in words]
    page = Page(1, 612, 792, ReadMethod.OCR, tall)
    caption = next(w for w in tall if w.text == "BIRTH")
    box = field_boxes(page, specs.specs["cms1500"], "patient_birth_date")[0]
    assert box[1] > (caption.bbox[1] + caption.bbox[3]) / 2


def test_a_closer_reading_with_every_item_and_more_replaces_a_shorter_list() -> None:
    def listed(codes: list[str], confidence: float) -> Field:
        return Field("diagnosis_codes", codes, confidence, Provenance(method=ReadMethod.OCR, page=1), "")

    part = Extraction("cms1500", 1.0, fields={"diagnosis_codes": listed(["E78.5", "R10.9"], 0.5)})
    merge_reading(part, "diagnosis_codes", listed(["N39.0", "E78.5", "R10.9"], 0.3))
    assert part.fields["diagnosis_codes"].value == ["N39.0", "E78.5", "R10.9"]
    assert part.fields["diagnosis_codes"].confidence < 0.3  # still a disagreement: flagged, below threshold
    other = Extraction("cms1500", 1.0, fields={"diagnosis_codes": listed(["E78.5", "R10.9"], 0.5)})
    merge_reading(other, "diagnosis_codes", listed(["N39.0", "E78.6", "R10.9"], 0.3))  # not a superset: the surer stays
    assert other.fields["diagnosis_codes"].value == ["E78.5", "R10.9"]


def test_the_birth_date_captions_are_never_a_name(specs: SpecSet) -> None:
    # a print fed high: the name box holds only the birth date's captions `MM DD YY`, read as `DD, YY`
    values = [(x, y, "DD, YY" if text == "Salemy, Cheryl A" else text) for x, y, text in VALUES_0212]
    result = extract_document(_page(CAPTIONS_0212 + values), specs, "cms1500")
    assert "patient_name" not in result.fields
    assert result.fields["insured_name"].value == "Martinez, Mary E"
