"""Text values with a word in a case it cannot have: put right by another reading, or doubted (extract_case.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract_case import check_case, odd_fields, odd_words
from claimflow.extract_confirm import DOUBT_CAP
from claimflow.models import BBox, Extraction, Field, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.specs import SpecSet, load_specs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(ROOT / "extractors")


@pytest.mark.parametrize(
    ("value", "odd"),
    [
        ("Pinecrest PhySical Therapy", ["PhySical"]),  # a size-only capital inside a small word
        ("123 MAIN sT", ["sT"]),  # a small size-only letter in a word of capitals
        ("Unit 3, 23QxX", ["23QxX"]),
        ("Bristol BS2 40X", ["40X"]),  # a digit where a UK inward part has a letter
        ("Bristol BS2 20QXX", ["20QXX"]),  # too long for one
        ("MedStar Health", ["MedStar"]),  # a real brand is odd too: only another reading may keep it confident
    ],
)
def test_words_in_a_case_they_cannot_have_are_odd(value: str, odd: list[str]) -> None:
    assert [o.word for o in odd_words(value)] == odd


@pytest.mark.parametrize(
    "value",
    [
        "McDonald",
        "MacArthur",
        "McDONALD",
        "O'Neil",
        "DeVito",
        "Jean-Luc DeLaCroix",
        "LaSalle St",
        "van der Berg",
        "Smith-Jones",
        "ACME LLC",
        "iPhone Store",
        "eBay",
        "WhatsApp",
        "GmbH",
        "KGaA",
        "USt-IdNr",
        "John Smith BSc",
        "c/o Mr X",
        "Co",
        "Leeds LS1 4AB",
        "Bristol BS2 20QX",
        "Ottawa K1A 0B1",
        "London SW1A 2AA",
        "NO 3, JALAN SS2/64",
        "SS2 47301 PETALING JAYA",
        "UNIT B2 3RD FLOOR",
        "TAMAN SRI 2x",
    ],
)
def test_real_names_and_addresses_are_not_odd(value: str) -> None:
    assert odd_words(value) == []


BOX: BBox = (0.1, 0.1, 0.6, 0.2)
WORD_BOX: BBox = (0.3, 0.12, 0.4, 0.18)


def _document(value: str, page_word: str) -> tuple[ReadDocument, Extraction]:
    """A CMS-1500 page whose billing provider was read `value`; the page's own word at WORD_BOX is `page_word`."""
    words = [Word("Pinecrest", (0.12, 0.12, 0.28, 0.18), 0.95), Word(page_word, WORD_BOX, 0.93)]
    page = Page(1, 1000, 1000, ReadMethod.OCR, words, image=Image.new("L", (100, 100), 255))
    found = Field("billing_provider", value, 0.97, Provenance(ReadMethod.OCR, 1, BOX), value)
    return ReadDocument(pages=[page]), Extraction("cms1500", 1.0, fields={"billing_provider": found})


def test_a_word_the_second_recognizer_reads_in_a_plausible_case_is_put_right_below_auto_accept(specs: SpecSet) -> None:
    read, part = _document("Pinecrest PhySical", "PhySical")
    asked: list[BBox] = []

    def second(page: Page, box: BBox) -> str:
        asked.append(box)
        return "Physical"

    assert check_case(read, [part], specs, second) == ["billing_provider"]
    found = part.fields["billing_provider"]
    assert (found.value, found.confidence) == ("Pinecrest Physical", DOUBT_CAP)
    assert asked == [WORD_BOX]
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]
    assert "PhySical" in part.problems[0].message


def test_the_pages_own_reading_in_a_plausible_case_puts_a_reread_value_right(specs: SpecSet) -> None:
    read, part = _document("Pinecrest PhySical", "Physical")  # the value came from its box read again
    assert check_case(read, [part], specs, None) == ["billing_provider"]
    assert part.fields["billing_provider"].value == "Pinecrest Physical"
    assert part.fields["billing_provider"].confidence == DOUBT_CAP


def test_a_case_the_second_recognizer_reads_too_is_kept_confident(specs: SpecSet) -> None:
    read, part = _document("Pinecrest MedStar", "MedStar")
    assert check_case(read, [part], specs, lambda page, box: "MedStar") == []
    assert part.fields["billing_provider"].confidence == 0.97
    assert part.problems == []


@pytest.mark.parametrize("other", ["", "Phy5ical", "PHYSlCAL"])
def test_with_no_reading_that_agrees_the_value_is_kept_and_doubted(specs: SpecSet, other: str) -> None:
    read, part = _document("Pinecrest PhySical", "PhySical")
    assert check_case(read, [part], specs, lambda page, box: other) == ["billing_provider"]
    found = part.fields["billing_provider"]
    assert (found.value, found.confidence) == ("Pinecrest PhySical", DOUBT_CAP)
    assert "no other reading" in part.problems[0].message


def test_a_value_below_auto_accept_is_checked_too_and_keeps_its_lower_confidence(specs: SpecSet) -> None:
    read, part = _document("Pinecrest PhySical", "PhySical")
    part.fields["billing_provider"] = dataclasses.replace(part.fields["billing_provider"], confidence=0.5)
    assert check_case(read, [part], specs, lambda page, box: "Physical") == ["billing_provider"]
    assert part.fields["billing_provider"].value == "Pinecrest Physical"
    assert part.fields["billing_provider"].confidence == 0.5


def test_a_plain_value_or_one_off_an_ocr_page_is_not_checked(specs: SpecSet) -> None:
    read, part = _document("Pinecrest PhySical", "PhySical")
    pages = {1: read.pages[0]}
    assert odd_fields(part, specs, pages) == ["billing_provider"]
    assert odd_fields(part, specs, {}) == []  # not an OCR'd page (a text layer's letters are what was typed)
    part.fields["billing_provider"] = dataclasses.replace(part.fields["billing_provider"], value="Pinecrest Physical")
    assert odd_fields(part, specs, pages) == []
