"""A Q tesseract read 0 at every size, told by its tail under the baseline (receipts12, extract_words.tailed_q)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from claimflow.extract_words import tailed_q
from claimflow.models import Page, ReadMethod, Word

GLYPH = 12
"""A glyph's width and height in pixels (150-dpi 8 pt Courier is about this size)."""


def _page(tail: bool, *, speck_under: int | None = None) -> tuple[Page, Word]:
    """A white page holding three 12 px glyphs (`8`, a ring, `X`) standing on one baseline; the ring has a tail."""
    image = Image.new("L", (200, 60), 255)
    draw = ImageDraw.Draw(image)
    left, top = 40, 20
    for index in range(3):
        x = left + index * (GLYPH + 2)
        draw.rectangle((x + 1, top, x + GLYPH - 2, top + GLYPH - 1), outline=0, width=2)
    if tail:
        x = left + GLYPH + 2
        draw.line((x + 5, top + GLYPH - 2, x + 9, top + GLYPH + 2), fill=0, width=2)
    if speck_under is not None:
        x = left + speck_under * (GLYPH + 2)
        draw.rectangle((x + 5, top + GLYPH + 2, x + 7, top + GLYPH + 3), fill=0)
    box = (left / 200, top / 60, (left + 3 * GLYPH + 4) / 200, (top + GLYPH) / 60)
    word = Word("80x", box, 0.4, 1, 1)
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
