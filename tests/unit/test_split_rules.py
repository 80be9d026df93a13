"""Values glued across a form's erased dashed rule are split there (cms9: `92 | 60` read `9260`)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from claimflow.models import Word
from claimflow.readers import split_at_rules
from claimflow.readers.dropout import clean_region, erased_rules

DPI = 400


def _box(dashed_x: int | None = 200, solid_x: int | None = None) -> Image.Image:
    """A black form's money box at 400 dpi: its rules, a dashed dollars | cents separator, `92` and `60` typed."""
    image = Image.new("L", (400, 160), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 395, 155), outline=0, width=3)  # the box's solid rules
    if dashed_x is not None:
        for top in range(20, 140, 18):  # dashes 0.025 in long, 0.02 in apart
            draw.line((dashed_x, top, dashed_x, top + 10), fill=0, width=2)
    if solid_x is not None:
        draw.line((solid_x, 20, solid_x, 140), fill=0, width=2)
    for x in (120, 150, 240, 270):  # four digit-like glyphs, two each side
        draw.rectangle((x, 70, x + 18, 110), outline=0, width=4)
    image.info["dpi"] = (DPI, DPI)
    return image


def _erased(image: Image.Image) -> list[tuple[float, int, int]]:
    cleaned = clean_region(image, by_level=False)
    return erased_rules(np.asarray(image), np.asarray(cleaned), dpi=DPI)


def test_a_dashed_separator_erased_by_the_cleaning_is_found() -> None:
    rules = _erased(_box())
    assert len(rules) == 1
    x, top, bottom = rules[0]
    assert abs(x - 200) <= 2 and top <= 90 <= bottom


def test_a_solid_rule_and_the_box_sides_are_no_separators() -> None:
    assert _erased(_box(dashed_x=None, solid_x=200)) == []
    assert _erased(_box(dashed_x=None)) == []


def _word(text: str, x0: float, x1: float) -> Word:
    return Word(text, (x0, 0.4, x1, 0.6), 0.7, block=3, line=2)


def test_digits_read_across_the_rule_are_two_values() -> None:
    rules = [(200.0, 20, 140)]
    pieces = split_at_rules([_word("9260", 0.25, 0.75)], rules, (400, 160))
    assert [w.text for w in pieces] == ["92", "60"]
    assert pieces[0].bbox[2] == pieces[1].bbox[0] == 0.5
    assert all(w.block == 3 and w.line == 2 and w.confidence == 0.7 for w in pieces)
    # dollars, the rule's gap, then the cents: the rule falls on the boundary after the third digit
    rule = ((0.2 + 3.5 / 6 * 0.35) * 400, 20, 140)
    assert [w.text for w in split_at_rules([_word("30865", 0.2, 0.55)], [rule], (400, 160))] == ["308", "65"]


def test_a_rule_through_a_character_or_off_the_boxes_splits_nothing() -> None:
    rules = [(200.0, 20, 140)]
    # through the middle of the third of five characters (the rule read as `1`): no boundary there
    assert [w.text for w in split_at_rules([_word("92160", 0.25, 0.75)], rules, (400, 160))] == ["92160"]
    through = ((0.2 + 3.5 / 6 * 0.6) * 400, 20, 140)  # half way into the fourth of six: `9260 | 12` would fit the parts
    assert [w.text for w in split_at_rules([_word("926012", 0.2, 0.8)], [through], (400, 160))] == ["926012"]
    # a date typed beside its caption that a rule crosses after the fifth of eight digits: `006` is no box's value
    typed = _word("11282006", 0.5 - 5 / 8 * 0.4, 0.5 + 3 / 8 * 0.4)
    assert [w.text for w in split_at_rules([typed], rules, (400, 160))] == ["11282006"]
    # words that are no digits, and a rule that does not reach the word's line
    assert [w.text for w in split_at_rules([_word("SMITH", 0.25, 0.75)], rules, (400, 160))] == ["SMITH"]
    assert [w.text for w in split_at_rules([_word("9260", 0.25, 0.75)], [(200.0, 0, 40)], (400, 160))] == ["9260"]
