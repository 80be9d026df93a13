"""A Q tesseract read 0 at every size, told by its tail under the baseline (receipts12, extract_words.tailed_q)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from claimflow.extract import extract_document
from claimflow.extract_words import q_by_tail, read_text_words_alone, tailed_q
from claimflow.models import Extraction, Page, ReadDocument, ReadMethod, Word
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import load_specs

GLYPH = 12
"""A glyph's width and height in pixels (150-dpi 8 pt Courier is about this size)."""


def _page(
    tail: bool, *, speck_under: int | None = None, ink: int = 0, paper: int = 255, text: str = "80x"
) -> tuple[Page, Word]:
    """A page holding three 12 px glyphs (`8`, a ring, `X`) standing on one baseline; the ring has a tail."""
    image = Image.new("L", (200, 60), paper)
    draw = ImageDraw.Draw(image)
    left, top = 40, 20
    for index in range(3):
        x = left + index * (GLYPH + 2)
        draw.rectangle((x + 1, top, x + GLYPH - 2, top + GLYPH - 1), outline=ink, width=2)
    if tail:
        x = left + GLYPH + 2
        draw.line((x + 5, top + GLYPH - 2, x + 9, top + GLYPH + 2), fill=ink, width=2)
    if speck_under is not None:
        x = left + speck_under * (GLYPH + 2)
        draw.rectangle((x + 5, top + GLYPH + 2, x + 7, top + GLYPH + 3), fill=ink)
    box = (left / 200, top / 60, (left + 3 * GLYPH + 4) / 200, (top + GLYPH) / 60)
    word = Word(text, box, 0.4, 1, 1)
    return Page(1, 200, 60, ReadMethod.OCR, [word], image=image), word


def test_a_q_read_0_is_taken_only_where_its_glyph_has_a_tail_under_the_baseline() -> None:
    page, word = _page(tail=True)
    assert tailed_q(page, word, "8QX")
    assert tailed_q(page, word, "8Qx")  # case aside
    plain, plain_word = _page(tail=False)
    assert not tailed_q(plain, plain_word, "8QX")  # a 0 is a 0
    # ink under another glyph's feet is no Q's tail
    specked, specked_word = _page(tail=False, speck_under=2)
    assert not tailed_q(specked, specked_word, "8QX")


def test_the_second_reading_must_be_the_page_word_but_for_its_q() -> None:
    page, word = _page(tail=True)
    assert not tailed_q(page, word, "BQX")  # another glyph differs too
    assert not tailed_q(page, word, "8QXX")  # another length
    assert not tailed_q(page, word, "80X")  # no Q at all
    punctuated = Word("8/0", word.bbox, 0.4, 1, 1)
    assert not tailed_q(page, punctuated, "8/Q")  # a slash reaches under the feet: letters and digits only
    assert not tailed_q(Page(1, 200, 60, ReadMethod.OCR, [word], image=None), word, "8QX")  # no image


def _receipt(tail: bool) -> tuple[ReadDocument, Extraction]:
    """A receipt whose address ends `Bristol BS2 250x` (0.8), four monospaced rings, the third with a tail or not."""
    specs = load_specs(PROJECT_ROOT / "extractors")
    image = Image.new("L", (600, 1200), 255)
    draw = ImageDraw.Draw(image)
    words = []
    rows = ["Station Pharmacy & Co", "Unit 23, 150 Mill Lane", "Bristol BS2 250x", "RECEIPT", "TOTAL £ 68.24"]
    for index, line in enumerate(rows):
        left, top = 0.1, 0.04 + index * 0.03
        for token in line.split():
            box = (left, top, left + 0.02 * len(token), top + 0.014)
            words.append(Word(token, box, 0.8 if token == "250x" else 0.96, 1, index))
            if token == "250x":
                x0, y0 = round(box[0] * 600), round(box[1] * 1200)
                for glyph in range(4):
                    x = x0 + glyph * 12
                    draw.rectangle((x + 2, y0 + 2, x + 9, y0 + 13), outline=0, width=2)
                if tail:
                    draw.line((x0 + 24 + 5, y0 + 12, x0 + 24 + 9, y0 + 16), fill=0, width=2)
            left += 0.02 * len(token) + 0.02
    read = ReadDocument(pages=[Page(1, 600, 1200, ReadMethod.OCR, words, image=image)])
    return read, extract_document(read, specs, "receipt")


def test_a_tailed_q_wins_over_a_majority_alone_that_read_it_0() -> None:
    # seed 19 018 degraded: the page `250x` (0.8), alone `250X` at three sizes, PP-OCR `25QX`, a tail on the image
    specs = load_specs(PROJECT_ROOT / "extractors")

    class Look:
        def reread(self, page: Page, boxes: list[object], **_: object) -> list[str]:
            return ["", "250X", "250X", "250X"]

    for tail, expected in ((True, "BS2 25QX"), (False, "BS2 250X")):
        read, part = _receipt(tail)
        assert str(part.fields["issuer_address"].value).endswith("BS2 250x")  # type: ignore[attr-defined]
        read_text_words_alone(read, [part], specs, Look(), threshold=0.98, second=lambda page, box: "25QX")  # type: ignore[arg-type]
        assert str(part.fields["issuer_address"].value).endswith(expected), tail  # type: ignore[attr-defined]


def test_a_faded_q_tail_is_ink_against_the_word_own_paper() -> None:
    # receipts17: seed 23 014's faded `2QX`, darkest stroke grey 162 on paper 246: no pixel under TAIL_INK
    page, word = _page(tail=True, ink=165, paper=246)
    assert tailed_q(page, word, "8QX")
    plain, plain_word = _page(tail=False, ink=165, paper=246)
    assert not tailed_q(plain, plain_word, "8QX")


def test_q_by_tail_reads_a_tailed_ring_of_a_code_as_q_and_nothing_else() -> None:
    page, word = _page(tail=True)
    assert q_by_tail(page, word) == "8Qx"
    plain, plain_word = _page(tail=False)
    assert q_by_tail(plain, plain_word) is None  # a 0 is a 0
    number, number_word = _page(tail=True, text="800")
    assert q_by_tail(number, number_word) is None  # a number's 0 over a speck stays a 0: codes only


def test_a_tailed_q_is_taken_when_both_recognizers_read_it_0() -> None:
    # receipts17: seed 23 014 degraded, the page and PP-OCR both read `20x`; nothing is read alone, the tail decides
    specs = load_specs(PROJECT_ROOT / "extractors")

    class Look:
        def reread(self, page: Page, boxes: list[object], **_: object) -> list[str]:
            raise AssertionError("no reading alone: the second recognizer read every weak word as the page did")

    for tail, expected in ((True, "BS2 25QX"), (False, "BS2 250x")):  # no tail: the page's word stays
        read, part = _receipt(tail)
        before = part.fields["issuer_address"].confidence
        read_text_words_alone(read, [part], specs, Look(), threshold=0.98, second=lambda page, box: "250x")  # type: ignore[arg-type]
        assert str(part.fields["issuer_address"].value).endswith(expected), tail  # type: ignore[attr-defined]
        assert part.fields["issuer_address"].confidence <= before  # a person checks it
