"""CMS-1500 single-value boxes: misreads that looked sure are kept below confidence, boxed values read whole."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from claimflow.extract import extract_document
from claimflow.extract_reread import merge_reading
from claimflow.models import Extraction, Field, Money, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.normalise import parse_boxed_date
from claimflow.readers.dropout import rule_mask
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import SpecSet, load_specs
from tests.unit.test_cms1500 import CAPTIONS_0212, CHAR, HEIGHT, VALUES_0212, _words


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(PROJECT_ROOT / "extractors")


def _code(value: str, confidence: float) -> Field:
    where = Provenance(method=ReadMethod.OCR, page=1, bbox=(0.6, 0.28, 0.7, 0.29))
    return Field("policy_group", value, confidence, where)


def test_a_value_its_closer_reading_cannot_find_again_loses_confidence() -> None:
    part = Extraction("cms1500", 1.0, fields={"policy_group": _code("RP-4800", 0.92)})
    merge_reading(part, "policy_group", None, read=True)
    assert part.fields["policy_group"].value == "RP-4800"
    assert part.fields["policy_group"].confidence < 0.8
    assert any(p.field == "policy_group" for p in part.problems)


def test_a_value_whose_box_was_not_read_again_keeps_its_confidence() -> None:
    part = Extraction("cms1500", 1.0, fields={"policy_group": _code("GRP-48003", 0.95)})
    merge_reading(part, "policy_group", None, read=False)
    assert part.fields["policy_group"].confidence == 0.95
    assert not part.problems


def test_a_text_layer_value_is_not_doubted_by_a_reading_that_found_nothing() -> None:
    found = Field("policy_group", "GRP-1", 0.97, Provenance(method=ReadMethod.TEXT_LAYER, page=1))
    part = Extraction("cms1500", 1.0, fields={"policy_group": found})
    merge_reading(part, "policy_group", None, read=True)
    assert part.fields["policy_group"].confidence == 0.97


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11 031972", date(1972, 11, 3)),  # the rule between day and year cleaned away, the two glued
        ("11031972", date(1972, 11, 3)),
        ("110372", date(1972, 11, 3)),
        ("11 0372", None),  # a day and a two-digit year glued is not told from a month and day
        ("09 O06 1 58", date(1958, 9, 6)),  # the caption DD under the day kept as an O before its two digits
        ("04 o9 1975", date(1975, 4, 9)),  # an O beside one digit is still its zero
    ],
)
def test_a_boxed_date_whose_parts_were_glued_is_split(raw: str, expected: date | None) -> None:
    parsed = parse_boxed_date(raw)
    assert (parsed.value if parsed else None) == expected


def test_dollars_and_cents_on_two_lines_are_no_amount(specs: SpecSet) -> None:
    # a tilted print: the cents `32` of box 29 read on a line above its dollars `48`
    values = [item for item in VALUES_0212 if item[2] != "$ 20.00"] + [(0.75, 0.862, "32"), (0.72, 0.874, "48")]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    paid = result.fields.get("amount_paid")
    assert paid is None or paid.value != Money(Decimal("32.48"), "USD")
    assert result.fields["total_charge"].value == Money(Decimal("180.00"), "USD")


def test_a_column_crossing_a_thick_glyph_is_no_dashed_rule() -> None:
    grey = np.full((200, 300), 255, dtype=np.uint8)
    for top in (60, 75, 90, 105):  # a thick, noisy `E` or `B`: horizontal strokes 9 px thick, 6 px apart
        grey[top : top + 9, 90:120] = 0
    grey[40:62, 200:203] = 0  # a dashed separator of three 0.055 in dashes with 5 px gaps, as scanned
    grey[67:89, 200:203] = 0
    grey[94:116, 200:203] = 0
    dashed = rule_mask(grey, dpi=400, dashed=True)
    assert not dashed[55:110, 90:120].any()  # the glyph keeps its strokes
    assert dashed[40:62, 200:203].all() and dashed[94:116, 200:203].all()




@pytest.mark.parametrize(("raw", "expected"), [("150/22", "150.22"), ("150 / 22", "150.22"), ("150|22", "150.22")])
def test_the_rule_between_dollars_and_cents_read_as_a_slash_is_a_decimal_mark(raw: str, expected: str) -> None:
    from claimflow.normalise import parse_money

    assert parse_money(raw).amount == Decimal(expected)


def test_an_amount_paid_read_with_a_slash_for_its_rule_is_found(specs: SpecSet) -> None:
    values = [item for item in VALUES_0212 if item[2] != "$ 20.00"] + [(0.72, 0.865, "$ 150/22")]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert result.fields["amount_paid"].value == Money(Decimal("150.22"), "USD")


def test_a_box_whose_caption_was_not_read_is_placed_from_the_caption_beside_it(specs: SpecSet) -> None:
    # OCR garbled `1a. INSURED'S I.D. NUMBER` and `3. PATIENT'S BIRTH DATE`; box 4 a row below box 1a and box 2
    # left of box 3 place them (the form's box grid), and what is read there is not confident
    garbled = {"1a. INSURED'S I.D. NUMBER (For Program in Item 1)": "1a. NSURED'S TO. (FORPROGRAMINTTEM 1)",
               "3. PATIENT'S BIRTH DATE SEX": "3. pov lles SEX"}
    captions = [(x, y, garbled.get(text, text)) for x, y, text in CAPTIONS_0212]
    words = [w for x, y, text in captions + VALUES_0212 for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert result.fields["insured_id"].value == "W498782828"
    assert result.fields["patient_birth_date"].value == date(1966, 10, 16)
    assert result.fields["insured_id"].confidence <= 0.9
    assert result.fields["patient_name"].value == "Salemy, Cheryl A"


def test_without_any_caption_near_it_a_box_is_not_guessed(specs: SpecSet) -> None:
    lost = ("INSURED'S", "BIRTH", "PATIENT'S")
    kept = [(x, y, t) for x, y, t in CAPTIONS_0212 if not any(word in t for word in lost)]
    words = [w for x, y, text in kept + VALUES_0212 for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert "insured_id" not in result.fields
    assert "patient_birth_date" not in result.fields


def test_a_short_synonym_inside_the_caption_does_not_cut_the_value(specs: SpecSet) -> None:
    # `POLICY GROUP OR FECA NUMBER` found inside `11. INSURED'S POLICY GROUP OR FECA NUMBER` starts further right:
    # its region alone cut `GRP-` off `GRP- 35835`, and the cut value scored higher than the whole one
    values = [item for item in VALUES_0212 if item[2] != "GRP-29561"] + [(0.60, 0.285, "GRP- 29561")]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    weak = [Word(w.text, w.bbox, 0.3 if w.text == "GRP-" else w.confidence) for w in words]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, weak)]), specs, "cms1500")
    assert result.fields["policy_group"].value == "GRP-29561"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("528:55", "528.55"),
        ("108 i 44", "108.44"),
        ("137:42", "137.42"),
        ("212'45", "212.45"),  # the dashed rule read as an apostrophe: never a thousands mark before two digits
        ("1'234.50", "1234.50"),  # a thousands apostrophe stays one
        ("212!45", "212.45"),  # the rule glued as a mark no amount holds (cms20: degraded 150-dpi scans)
        ("149;39", "149.39"),
        ("452¢71", "452.71"),
        ("267-76", "267.76"),
    ],
)
def test_a_cents_rule_read_as_a_character_keeps_the_cents(raw: str, expected: str) -> None:
    from claimflow.normalise import parse_money

    assert parse_money(raw).amount == Decimal(expected)


@pytest.mark.parametrize("paid", ["$ 212!45", "$ 149;39", "$ 452¢71", "$ 267-76"])
def test_an_amount_paid_read_with_its_rule_glued_as_a_mark_is_found(specs: SpecSet, paid: str) -> None:
    # a degraded scan's dashed dollars | cents rule read as `!`, `;` or `¢` glued between them: no money pattern
    # took the word and box 29 was lost (cms20: seed 19 acroform `003` degraded `212!45`)
    values = [item for item in VALUES_0212 if item[2] != "$ 20.00"] + [(0.72, 0.865, paid)]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    expected = paid.split()[1]
    assert result.fields["amount_paid"].value == Money(Decimal(f"{expected[:-3]}.{expected[-2:]}"), "USD")


def test_the_street_under_a_lost_provider_name_is_not_the_provider(specs: SpecSet) -> None:
    values = [item for item in VALUES_0212 if item[2] != "Lakeview Medical Group"] + [(0.59, 0.895, "6052 OAK AVE")]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert "billing_provider" not in result.fields


def test_box_11a_caption_is_not_the_insured_name_caption(specs: SpecSet) -> None:
    # OCR garbled `4. INSURED'S NAME`; `a. INSURED'S DATE OF BIRTH` (box 11a) is one word from it (fuzzy 85) and
    # was taken as its caption: the name was looked for among the birth date's captions and lost
    garbled = {"4. INSURED'S NAME (Last Name, First Name, Middle Initial)": "4, NSURE NAM (Last Name, First Name)"}
    captions = [(x, y, garbled.get(text, text)) for x, y, text in CAPTIONS_0212] + [
        (0.59, 0.30, "a. INSURED'S DATE OF BIRTH SEX")
    ]
    words = [w for x, y, text in captions + VALUES_0212 for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert result.fields["insured_name"].value == "Martinez, Mary E"


def _spaced(x: float, y: float, parts: list[str], gap: float) -> list[Word]:
    """Lay pieces of one token out `gap` characters apart (OCR's split of a token at a letter's gap)."""
    out = []
    for part in parts:
        width = CHAR * len(part)
        out.append(Word(part, (x, y, x + width, y + HEIGHT), 0.95))
        x += width + gap * CHAR
    return out


@pytest.mark.parametrize(("gap", "expected"), [(0.2, "XGH146367643"), (1.0, "46367643")])
def test_an_id_split_at_a_letter_gap_is_joined_and_one_split_at_a_space_is_not(
    specs: SpecSet, gap: float, expected: str
) -> None:
    values = [item for item in VALUES_0212 if item[2] != "W498782828"]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    words += _spaced(0.60, 0.135, ["XGH1", "46367643"], gap)
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert result.fields["insured_id"].value == expected


def test_a_caption_ampersand_left_before_the_provider_name_is_not_the_name(specs: SpecSet) -> None:
    # `& PHONE #` under the name: its `PHONE #` taken into the data layer with the name, its `&` left on the row
    place = next((x, y) for x, y, text in VALUES_0212 if text == "Lakeview Medical Group")
    values = [item for item in VALUES_0212 if item[2] != "Lakeview Medical Group"] + [
        (place[0] - 2 * CHAR, place[1], "& Lakeview Medical Group")
    ]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert result.fields["billing_provider"].value == "Lakeview Medical Group"


def test_the_rest_of_a_garbled_provider_caption_is_not_the_provider(specs: SpecSet) -> None:
    # the HCFA-1500's `33. PHYSICIAN'S, SUPPLIER'S BILLING NAME, ADDRESS, ZIP CODE` with its end misread: the words
    # after the caption's match were the first line of the box and were taken as the provider
    head = "33. PHYSICIAN' $. “SUPPLIER 'S BILLING NAME,"
    captions = [(x, y, t) for x, y, t in CAPTIONS_0212 if not t.startswith("33.")] + [
        (0.58, 0.875, head),
        (0.58 + CHAR * (len(head) + 1), 0.879, "ADORESS. ZiP CODE"),  # read a little lower than the garbled start
    ]
    words = [w for x, y, text in captions + VALUES_0212 for w in _words(x, y, text)]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    assert result.fields["billing_provider"].value == "Lakeview Medical Group"


def test_a_box_whose_short_caption_synonym_matched_another_caption_is_read_where_its_neighbours_place_it(
    specs: SpecSet,
) -> None:
    # boxes 2 and 3's captions garbled (`2. PA NAME`, `ENTS BIRTH DATE`), as on a degraded pre-printed scan;
    # `PATIENT'S` then matches box 16's `IF PATIENT HAS HAD SAME` at 90, whose region holds nothing: the box
    # placed from box 4's caption holds the name
    garbled = ("2. PATIENT'S NAME", "3. PATIENT'S BIRTH")
    captions = [item for item in CAPTIONS_0212 if not item[2].startswith(garbled)] + [
        (0.03, 0.15, "2. PA NAME (Las First Nar e da tial"),
        (0.37, 0.15, "ENTS BIRTH DATE SEX"),
        (0.37, 0.49, "16. IF PATIENT HAS HAD SAME OR SIMILAR ILLNESS"),
    ]
    words = [w for x, y, text in captions + VALUES_0212 for w in _words(x, y, text)]
    page = Page(1, 612, 792, ReadMethod.OCR, words)
    result = extract_document(ReadDocument(pages=[page]), specs, "cms1500")
    assert result.fields["patient_name"].value == "Salemy, Cheryl A"
    whole = extract_document(
        ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, [w for x, y, t in CAPTIONS_0212 + VALUES_0212
                                                                for w in _words(x, y, t)])]),
        specs,
        "cms1500",
    )
    assert result.fields["patient_name"].confidence < whole.fields["patient_name"].confidence  # placed: less sure



def _provider(specs: SpecSet, rest: list[Word]) -> Field:
    """Read box 33 with `Lakeview` just inside its region's bottom edge (caption at 0.88: the edge at 0.916)."""
    values = [item for item in VALUES_0212 if item[2] != "Lakeview Medical Group"]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text, 0.96)]
    words += [Word("Lakeview", (0.59, 0.907, 0.634, 0.9159), 0.96), *rest]
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    return result.fields["billing_provider"]


def test_a_provider_whose_line_the_regions_edge_cuts_is_doubted(specs: SpecSet) -> None:
    # a skewed row: `Medical Group` beside `Lakeview`, their boxes lowered (a descender), centres just under the
    # region's bottom edge; the words inside read `Lakeview`, a whole-looking name: the row is read whole, doubted
    alone = _provider(specs, [])
    cut = _provider(specs, [Word("Medical", (0.64, 0.9085, 0.679, 0.9245), 0.96),
                            Word("Group", (0.684, 0.9085, 0.712, 0.9245), 0.96)])  # fmt: skip
    assert alone.value == "Lakeview"
    assert cut.value == "Lakeview Medical Group"
    assert cut.confidence < 0.85 * alone.confidence
    # a word of the next line, under the edge, is not the name's rest
    under = _provider(specs, [Word("6052", (0.59, 0.919, 0.613, 0.928), 0.96)])
    assert under.confidence == alone.confidence


@pytest.mark.parametrize(("parts", "capped"), [(["GRP", "29561"], True), (["29561"], False), (["grp", "29561"], False)])
def test_a_code_of_figures_with_capitals_just_before_it_in_its_box_is_held_below_auto_accept(
    specs: SpecSet, parts: list[str], capped: bool
) -> None:
    from claimflow.extract import PREFIX_CAP

    # seed 25 small preprinted 001 degraded: box 11's GRP-97501 read `GRP` `97501`, the hyphen lost; 0.978 calibrated
    values = [item for item in VALUES_0212 if item[2] != "GRP-29561"]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    words += _spaced(0.60, 0.285, parts, 1.5)
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    found = result.fields["policy_group"]
    assert found.value == "29561"
    assert (found.confidence <= PREFIX_CAP) is capped


@pytest.mark.parametrize(
    ("parts", "capped"),
    [
        (["LEE", "WONG,", "DAVID", "H"], True),
        (["-WONG,", "DAVID", "H"], True),  # the first part lost, its hyphen left (seed 23 small preprinted 002)
        (["WONG,", "DAVID", "H"], False),
        ([".WONG,", "DAVID", "H"], False),  # a speck before it is no part of the name
    ],
)
def test_a_name_with_a_word_of_letters_just_before_it_in_its_box_is_held_below_auto_accept(
    specs: SpecSet, parts: list[str], capped: bool
) -> None:
    from claimflow.extract import PREFIX_CAP

    # seed 25 small preprinted 002 degraded: box 2's LEE-WONG, DAVID H read `LEE` `WONG, DAVID H`, the hyphen lost
    values = [item for item in VALUES_0212 if item[2] != "Salemy, Cheryl A"]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)]
    words += _spaced(0.04, 0.165, parts, 1.5)
    result = extract_document(ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)]), specs, "cms1500")
    found = result.fields["patient_name"]
    assert found.value == "WONG, DAVID H"
    assert (found.confidence <= PREFIX_CAP) is capped
