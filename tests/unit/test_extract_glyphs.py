"""Values that lost characters: more glyphs on the page image than characters read, and split words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from claimflow.extract import overlapped
from claimflow.extract_confirm import DOUBT_CAP
from claimflow.extract_glyphs import LOST_MARGIN, lost_characters, lost_spaces, short_word, spaced
from claimflow.models import Extraction, Field, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.readers.marks import PageMarks, count_glyphs
from claimflow.settings import Settings
from claimflow.specs import SpecSet, load_specs

ROOT = Path(__file__).resolve().parents[2]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CODE = "CLM-2026-917006"


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(ROOT / "extractors")


def _code_page(text: str) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """Render `text` at 200-dpi body size on a white page; return the image and the text's box (page fractions)."""
    image = Image.new("L", (1200, 300), 255)  # 10 px per point: body type at 200 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 30)
    draw.text((300, 120), text, font=font, fill=0)
    left, top, right, bottom = draw.textbbox((300, 120), text, font=font)
    return image, (left / 1200, top / 300, right / 1200, bottom / 300)


def test_glyphs_are_counted_as_runs_of_ink_columns() -> None:
    image, box = _code_page(CODE)
    grey = np.asarray(image, dtype=np.uint8)
    x0, y0, x1, y1 = int(box[0] * 1200), int(box[1] * 300), int(box[2] * 1200) + 1, int(box[3] * 300) + 1
    assert count_glyphs(grey[y0:y1, x0:x1]) == len(CODE)
    speckled = grey[y0:y1, x0:x1].copy()
    speckled[0, -2] = 0  # one dark pixel past the last digit is noise, not a glyph
    assert count_glyphs(speckled) == len(CODE)
    assert count_glyphs(np.full((20, 80), 255, dtype=np.uint8)) is None  # no ink: cannot tell


BODY = "Invoice number INV-48252 Date 11/06/2026 Bill to ClaimFlow Mutual Insurance Motor Claims Total 2,905.69"


def _document(read_as: str, *, body_read: int = 0) -> tuple[ReadDocument, Extraction]:
    """An invoice page whose image shows CODE and a line of body words; the OCR word over all of CODE reads
    `read_as`, each body word its text less `body_read` characters (a print whose glyphs break apart)."""
    image, box = _code_page(CODE)
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(FONT, 30)
    words = [Word(read_as, box, 0.91, block=8, line=1)]
    x, y = 20, 200
    for text in BODY.split():
        if x > 950:
            x, y = 20, y + 45
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        draw.text((x, y), text, font=font, fill=0)
        shown = text[: max(1, len(text) - body_read)]
        words.append(Word(shown, (left / 1200, top / 300, right / 1200, bottom / 300), 0.96, block=9, line=1))
        x = right + 14
    page = Page(1, 1200, 300, ReadMethod.OCR, words, image=image, language="eng")
    found = Field("claim_reference", read_as, 0.99, Provenance(ReadMethod.OCR, 1, box), read_as)
    return ReadDocument(pages=[page]), Extraction("invoice", 1.0, fields={"claim_reference": found})


def test_a_confident_code_read_over_more_ink_than_its_characters_is_doubted(specs: SpecSet) -> None:
    read, part = _document("CLM-2026-91")  # 11 characters over 15 glyphs
    threshold = Settings().confidence_threshold
    assert lost_characters(read, [part], specs, PageMarks(object()), threshold=threshold) == ["claim_reference"]
    doubted = part.fields["claim_reference"]
    assert doubted.value == "CLM-2026-91" and doubted.confidence == DOUBT_CAP
    assert any(p.field == "claim_reference" and "more characters" in p.message for p in part.problems)


def test_a_code_read_whole_keeps_its_confidence(specs: SpecSet) -> None:
    read, part = _document(CODE)
    threshold = Settings().confidence_threshold
    assert lost_characters(read, [part], specs, PageMarks(object()), threshold=threshold) == []
    assert part.fields["claim_reference"].confidence == 0.99
    assert not part.problems


def test_no_doubt_on_a_page_whose_print_breaks_glyphs_apart(specs: SpecSet) -> None:
    read, part = _document("CLM-2026-91", body_read=1)  # every body word shows a glyph more than it reads
    threshold = Settings().confidence_threshold
    assert lost_characters(read, [part], specs, PageMarks(object()), threshold=threshold) == []
    assert part.fields["claim_reference"].confidence == 0.99


def test_one_glyph_more_is_not_enough_and_other_readings_are_not_judged_by_the_page_words() -> None:
    read, part = _document("CLM-2026-91700")  # one glyph short: a broken glyph or a speck does as much
    assert LOST_MARGIN == 2
    assert short_word(part.fields["claim_reference"], read.pages[0], PageMarks(object())) is None
    read, part = _document("CLM-2026-91")
    found = part.fields["claim_reference"]
    elsewhere = Field(found.name, CODE, 0.99, found.provenance, CODE)  # taken from another reading of the page
    assert short_word(elsewhere, read.pages[0], PageMarks(object())) is None


def test_a_word_boxed_inside_the_value_on_its_ocr_line_says_it_was_split() -> None:
    first = Word("CLM-2026-91", (0.7656, 0.1667, 0.9039, 0.1757), 0.91, block=8, line=1)
    inside = Word("7006", (0.8695, 0.165, 0.9057, 0.1804), 0.96, block=8, line=1)
    page = Page(1, 1655, 2339, ReadMethod.OCR, [first, inside], language="eng")
    assert overlapped(page, (first,))
    other_line = Word("7006", (0.8695, 0.165, 0.9057, 0.1804), 0.96, block=8, line=2)
    assert not overlapped(Page(1, 1655, 2339, ReadMethod.OCR, [first, other_line], language="eng"), (first,))
    beside = Word("7006", (0.91, 0.1667, 0.95, 0.1757), 0.96, block=8, line=1)
    assert not overlapped(Page(1, 1655, 2339, ReadMethod.OCR, [first, beside], language="eng"), (first,))
    han = Page(1, 1655, 2339, ReadMethod.OCR, [first, inside], language="chi_sim+eng")
    assert not overlapped(han, (first,))  # Han models box words over each other; their lines are kept whole


def _word_page(printed: str, read_as: str) -> tuple[Page, Word]:
    """A page whose image shows `printed` and whose one OCR word over all of it reads `read_as`."""
    image, box = _code_page(printed)
    word = Word(read_as, box, 0.4, block=1, line=1)
    return Page(1, 1200, 300, ReadMethod.OCR, [word], image=image, language="eng"), word


def test_a_space_the_reading_lost_is_put_back_from_the_gap_between_glyphs() -> None:
    page, word = _word_page("LD18 QSS", "LD18QSS")
    assert spaced(word, PageMarks(object()), page) == "LD18 QSS"
    page, word = _word_page("from a", "froma")
    assert spaced(word, PageMarks(object()), page) == "from a"
    for text in ("Kowalski", "LD18QSS", "Rue 1,537"):  # letters at their usual spacing, a `1`'s wide bearings
        page, word = _word_page(text, text.replace(" ", ""))
        assert spaced(word, PageMarks(object()), page) is None, text


def test_only_a_value_below_auto_accept_gets_its_space_back_and_stays_below(specs: SpecSet) -> None:
    page, word = _word_page("LD18 QSS", "LD18QSS")
    box = word.bbox
    for confidence in (0.4, 0.999):
        found = Field("vehicle_registration", "LD18QSS", confidence, Provenance(ReadMethod.OCR, 1, box), "LD18QSS")
        part = Extraction("motor_claim_form", 1.0, fields={"vehicle_registration": found})
        read = ReadDocument(pages=[page])
        changed = lost_spaces(read, [part], specs, PageMarks(object()), threshold=Settings().confidence_threshold)
        after = part.fields["vehicle_registration"]
        if confidence < 0.5:
            assert changed == ["vehicle_registration"] and after.value == "LD18 QSS" and after.confidence <= DOUBT_CAP
        else:
            assert changed == [] and after.value == "LD18QSS"  # a confident value is not rewritten from geometry
