"""Words tesseract split or boxed wrongly on one OCR line (receipts12): a cut code's tail is no rival value, a
noise word boxed across a row stays off the row of the words it covers."""

from __future__ import annotations

import pytest

from claimflow.extract import extract_document
from claimflow.extract_layout import build_lines
from claimflow.models import Page, ReadDocument, ReadMethod, Word
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import SpecSet, load_specs

CHAR = 0.0095
HEIGHT = 0.011


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(PROJECT_ROOT / "extractors")


def _words(text: str, left: float, top: float, *, block: int, confidence: float = 0.95) -> list[Word]:
    """Lay a phrase out as words of one OCR line of its own block from (left, top)."""
    out = []
    for token in text.split():
        width = CHAR * len(token)
        out.append(Word(token, (left, top, left + width, top + HEIGHT), confidence, block=block, line=1))
        left += width + CHAR
    return out


def _invoice(claim_ref: list[Word]) -> ReadDocument:
    """An OCR'd invoice whose claim reference row holds `claim_ref` (block 8)."""
    words = [
        *_words("Kfz-Werkstatt Özdemir", 0.09, 0.062, block=1),
        *_words("Lindenallee 5 - 50667 Köln - Germany", 0.09, 0.080, block=1),
        *_words("INVOICE", 0.70, 0.062, block=2),
        *_words("Invoice no: INV-48252", 0.60, 0.13, block=3),
        *_words("Claim ref:", 0.60, 0.167, block=8),
        *claim_ref,
        *_words("Total EUR 484.49", 0.55, 0.383, block=9),
    ]
    return ReadDocument(pages=[Page(1, 595, 842, ReadMethod.OCR, words)])


def test_the_tail_of_a_code_read_inside_its_heads_box_is_no_rival_value(specs: SpecSet) -> None:
    # `CLM-2026-917006` read as `CLM-2026-91` boxed over the whole code, then `7006` (surer) inside that box
    head, tail = _words("CLM-2026-91 7006", 0.70, 0.167, block=8)
    whole_box = (head.bbox[0], head.bbox[1], tail.bbox[2] - 0.001, head.bbox[3])
    split = [Word(head.text, whole_box, 0.91, block=8, line=1), Word(tail.text, tail.bbox, 0.96, block=8, line=1)]
    assert [line.text for line in build_lines(_invoice(split).pages[0]) if "Claim" in line.text] == [
        "Claim ref: CLM-2026-91 7006"
    ]
    found = extract_document(_invoice(split), specs, "invoice").fields["claim_reference"]
    assert found.value == "CLM-2026-91"  # the head, whose box a closer reading of the code reads whole
    assert found.provenance.bbox is not None and found.provenance.bbox[2] >= tail.bbox[2] - 0.002
    # two codes side by side, each in its own box, are still rivals: the surer is taken
    apart = [Word(head.text, head.bbox, 0.91, block=8, line=1), Word(tail.text, tail.bbox, 0.96, block=8, line=1)]
    assert extract_document(_invoice(apart), specs, "invoice").fields["claim_reference"].value == "7006"


def test_a_noise_word_boxed_across_a_row_stays_off_the_row_of_the_words_it_covers() -> None:
    row = _words("LS La Coen en EN", 0.05, 0.50, block=1, confidence=0.1)
    noise = Word("ar", (0.05, 0.501, 0.60, 0.509), 0.12, block=1, line=1)
    lines = [line.text for line in build_lines(Page(1, 595, 842, ReadMethod.OCR, [*row, noise]))]
    assert lines == ["LS La Coen en EN", "ar"]
    # a word boxed over the next words of its line as wide as their print stays on their row
    words = _words("INSURED'S NAME (Last Name,", 0.05, 0.50, block=1)
    wide = Word(words[0].text, (words[0].bbox[0], 0.501, words[-1].bbox[2], 0.509), 0.6, block=1, line=1)
    lines = [line.text for line in build_lines(Page(1, 595, 842, ReadMethod.OCR, [wide, *words[1:]]))]
    assert lines == ["INSURED'S NAME (Last Name,"]
