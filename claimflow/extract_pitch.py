"""The character pitch of a page's monospaced type: is a gap between two words a space, or OCR's split?

Software that prints on forms often types its values in a monospaced font (Courier: every character one
cell wide, 10 per inch at 12 pt). OCR now and then splits one token into two words (`XGH6 75286287` for
`XGH675286287`), and a degraded scan can widen the inked gap at the split to most of a space. In a monospaced
font the words' own widths tell the pitch, and the start of the right piece then lies a whole number of cells
after the start of the left one: as many cells as the left piece has characters for a split, one more for a
space. A gap's ink width alone cannot tell the two apart once the glyphs' side bearings differ.

`line_pitch` measures the pitch on the words of the value's own line, and says None when they are not
monospaced (a proportional font's words have different widths per character); `cells_apart` gives how many
cells one word starts after another. The words of a whole page do not measure it: a form's captions, of
about the same height in another font, are read with the values.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from claimflow.models import Word

MIN_CHARS = 3
"""Words of at least this many characters measure a pitch (a short word's last glyph weighs too much)."""
LAST_INK = 0.6
"""A word's ink ends about this share of a cell into its last character's cell (Courier: 0.4-0.9)."""
MONO_SPREAD = 0.08
"""The line's type is monospaced when every word's pitch lies within this share of their median (Courier
`XGH6` and `75286287`: 0.2% apart; Helvetica capitals and digits: 25% apart)."""


def word_pitch(word: Word) -> float:
    """Return the width per character cell of one word, assuming a monospaced type (`LAST_INK`)."""
    return (word.bbox[2] - word.bbox[0]) / (len(word.text) - 1 + LAST_INK)


def line_pitch(words: Sequence[Word]) -> float | None:
    """Return the character pitch (page-width fraction per character) of a line's monospaced words, or None.

    Every word of at least MIN_CHARS characters measures one pitch (`word_pitch`); at least two are needed, and
    they must agree within MONO_SPREAD of their median: the words of a proportional font do not (its capitals,
    digits and small letters have different widths), so its gaps are left to the ink gap alone.
    """
    pitches = [word_pitch(w) for w in words if len(w.text) >= MIN_CHARS]
    if len(pitches) < 2:
        return None
    middle = median(pitches)
    if middle <= 0 or any(abs(p - middle) > MONO_SPREAD * middle for p in pitches):
        return None
    return middle


def cells_apart(left: Word, right: Word, pitch: float) -> float:
    """Return how many character cells `right` starts after `left` starts, less `left`'s length.

    About 0 when `right` continues `left` with no space between them (OCR split one token), about 1 for one
    space, about 2 for two.
    """
    return (right.bbox[0] - left.bbox[0]) / pitch - len(left.text)
