"""Lost accents: lower the confidence of OCR words whose image carries marks the read text does not explain.

Debian's `eng` model has no ä, ö, ü, ø, ç or ñ and only é among the accented vowels, so tesseract reads
`Schäfer` as `Schafer` at 0.96 and `Zoë` as `Zoé`: confidently wrong names. Two checks, both cheap:

- Marks: on each line, ink above the x-height (or below the baseline) that is not connected to the letters'
  bodies is a mark: the dot of i/j, an accent, an umlaut's two dots, an apostrophe, a cedilla. A word
  showing more marks than its text explains (`Schafer`: two dots, none expected), or a mark wider than a dot
  where only i/j dots are expected (`Garcia` for `García`), lost an accent; so did a word whose mark is
  both inkier and taller than the page's own i-dots (a blurred acute no wider than a dot).
- Accents the model cannot tell apart: an accented Latin letter read by a model that has only some of its
  siblings (`eng` reads è, ê and ë as é) may be any of them.

Such words keep their text but their confidence is capped at LOST_MARK_CONFIDENCE, so a field built on them
stays under the auto-accept line and a person checks it. Measured on DejaVu names rendered at 150/200/300 dpi:
umlauts were caught in 17 of 18 readings, acute-for-dot at 200/300 dpi; no plain ASCII name was flagged.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

LOST_MARK_CONFIDENCE = 0.6
"""The most a word with an unexplained mark or an uncertain accent can keep of its confidence."""
MARKS_ABOVE = {
    **{c: 1 for c in "ijéèêàâùûôîáíóúåñãõìòý'`´’‘^~*°"},
    **{c: 1 for c in "ÉÈÊÀÂÙÛÔÎÁÍÓÚÅÑÃÕÌÒÝ"},
    **{c: 2 for c in "äöüëïÿÄÖÜËÏŸ\"“”"},
}
"""Marks above the x-height each character explains (dots, accents, quotes)."""
MAY_MARK_ABOVE = {"ß": 1}
"""Letters whose own stroke may reach above the x-height detached on a faint scan (ß's hook): they explain
such a mark, but the image need not show it."""
MARKS_BELOW = {c: 1 for c in "çşţęąȩÇŞŢĘĄȨ_"}
"""Marks under the baseline, not joined to the letter, each character explains (cedilla, ogonek; an underscore
is a mark of its own: `invoice_number_1` showed two, and was read again with ten accent models for nothing)."""
DESCENDERS = frozenset("gjpqyJQ,;()[]{}|/@$µ")
"""Characters whose own stroke reaches under the baseline (in common fonts)."""
HANG = 0.28
"""Ink joined to a word's letters this many x-heights under its own baseline, with no descender in its text, is a
mark below the letter: a cedilla drawn joined to its C (`Çelik` read `Celik` at 1.00: the detached-mark search
sees nothing; a plain word's round letters overshoot the baseline by 0.05-0.15)."""
DOTS = frozenset("ij")
MODEL_ACCENTS = {"eng": frozenset("é")}
"""Models that read some accented letters but lack their siblings (eng: é for é, è, ê, ë), with those letters."""
MIN_CONTRAST = 40
"""A line with less grey range than this (paper vs ink) is not analysed."""
MIN_HEIGHT_PX = 8
"""Lines lower than this many pixels are not analysed: a dot is a pixel or two."""
MIN_MARK_PIXELS = 3
"""A mark has at least this many ink pixels (specks of noise have fewer)."""
DOT_WIDTH = 1.25
"""A mark wider than this many stroke widths is an accent, not the dot of an i or j."""
DOT_INK = 1.8
"""A mark with this many times the ink of the page's median i-dot ... (a blurred acute: 1.9x on seed 13's García;
the body text's dots 0.6-1.5x)"""
DOT_HEIGHT = 1.5
"""... and this many times its height is an accent, not a dot (García's acute: 1.7x; body dots 0.7-1.4x)."""
DOT_LIKE = 1.25
"""A mark within this many times the ink and the height of the page's median i-dot is a dot (`judge_marks`)."""
MIN_DOTS = 5
"""A page shows at least this many i/j dots before its dots are the measure of a dot."""
X_HEIGHT_SHARE = 0.7
"""The x-height is at most this share of the line's cap height above its baseline (0.68-0.75 in common fonts)."""
MARGIN = 0.1
"""Share of the line height looked at above and below the word boxes."""

LETTERS_AROUND_DIGIT = re.compile(r"(?=.*[a-zß-ÿ])[^\W\d_]+\d[^\W\d_]+")
"""A word of letters, at least one lower-case, with one digit inside (`K6In` for Köln)."""
EDGE = ".,;:'\"()"
"""Punctuation a word may carry at its edges (`K6In,`)."""

Box = tuple[int, int, int, int]
"""A word's pixel box: left, top, right, bottom."""


def is_candidate(text: str) -> bool:
    """Return True for a word worth checking: two or more lower-case letters (marks sit on lower case).

    Or a word of letters with one digit between them and a lower-case letter (`K6In`: eng read Köln's ö as a 6
    and its l as I): a digit inside a name stands for a letter the model did not know.
    """
    return sum(1 for ch in text if ch.islower()) >= 2 or LETTERS_AROUND_DIGIT.fullmatch(text.strip(EDGE)) is not None


def uncertain_accent(text: str, lang: str) -> bool:
    """Return True when the word holds an accented Latin letter the model `lang` reads for several others."""
    if lang not in MODEL_ACCENTS:
        return False
    return any(ord(ch) > 127 and _latin_letter(ch) for ch in text)


UMLAUT_TWIN = re.compile(r"(?<=[^\W\d_])ii(?=[a-z])")
"""Where a model with no ü reads one (`Miiller` for Müller): the umlaut's two dots over the u's two stems make
two dotted i's, and the marks detector sees them explained."""
TWIN_SURE = 0.9
"""... a word read so at this confidence or more is left alone (Finnish `Riikka`, `Niinistö` are spelt so)."""


def umlaut_read_twice(text: str, confidence: float, lang: str) -> bool:
    """Return True when a model with no ü (`eng`) read, unsure, `ii` inside a word, where ü may stand.

    Full seed 26 motor 015 degraded: `Declan Miiller` at word confidence 0.81 (Müller), taken at 0.986 calibrated,
    confident and wrong: its marks were explained by the two i's; full seed 23 motor 009 `Yusuf Miiller` too.
    """
    return lang in MODEL_ACCENTS and confidence < TWIN_SURE and UMLAUT_TWIN.search(text) is not None


def _latin_letter(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


def lost_marks(
    grey: npt.NDArray[np.uint8], line: Sequence[tuple[str, Box]], dot: tuple[float, float] | None = None
) -> list[bool]:
    """Return, per word of one text line, whether its image shows a mark its text does not explain.

    `dot`, the page's own i-dot (`page_dot`), also flags a word whose text explains only dots when one of its
    marks is larger than a dot by both DOT_INK and DOT_HEIGHT: a blurred acute (`Garcia` for `García`) is no
    wider than a dot, but taller and inkier.
    """
    return [lost for lost, _ in judge_marks(grey, line, dot)]


def judge_marks(
    grey: npt.NDArray[np.uint8],
    line: Sequence[tuple[str, Box]],
    dot: tuple[float, float] | None = None,
    *,
    unsure: bool = False,
) -> list[tuple[bool, bool]]:
    """Return, per word of one line, whether it lost a mark (`lost_marks`) and whether its marks are only dots.

    The second: the word is flagged only because a mark is wider than the pen's stroke where its text explains
    i/j dots, it shows as many marks as it has dots, and each is within DOT_LIKE of the page's own i-dot in ink
    and height: thin print on a coarse scan (SROIE `Dimiliki`: four marks 1.07x the page's dots, each 3-4 px wide
    against a 2 px stroke). An accent would be larger (`Garcia` for García: 1.6x the ink, 1.3x the height).
    With `unsure`, a word whose text explains only dots also counts as flagged when a mark is larger than DOT_LIKE
    of the page's dot in both ink and height but not accent-sized (`_unsure_dot`): it may be an accent.
    """
    out: list[tuple[bool, bool]] = []
    for seen, (text, _) in zip(_marks(grey, line), line, strict=True):
        if seen is None:
            out.append((False, False))
            continue
        want = _expected(text)
        more = len(seen[0]) > want[0] or len(seen[1]) > want[1]
        larger = _larger_than_dots(text, seen, dot)
        lost = more or seen[2] or larger or (unsure and _unsure_dot(text, seen, dot))
        dots = (
            lost
            and not more
            and not larger
            and dot is not None
            and needs_dot(text)
            and len(seen[0]) == want[0]
            and all(ink <= DOT_LIKE * dot[0] and tall <= DOT_LIKE * dot[1] for ink, tall in seen[3])
        )
        out.append((lost, dots))
    return out


def page_dot(grey: npt.NDArray[np.uint8], lines: Sequence[Sequence[tuple[str, Box]]]) -> tuple[float, float] | None:
    """Return the median ink and height (in x-heights) of the i/j dots of a page's lines, None when too few.

    Only words whose text explains only dots and whose image shows exactly as many marks count.
    """
    found: list[tuple[float, float]] = []
    for line in lines:
        for seen, (text, _) in zip(_marks(grey, line), line, strict=True):
            dots = sum(ch in DOTS for ch in text)
            if seen is not None and dots and _dots_only(text) and len(seen[3]) == dots == len(seen[0]):
                found += seen[3]
    if len(found) < MIN_DOTS:
        return None
    return float(np.median([ink for ink, _ in found])), float(np.median([tall for _, tall in found]))


def needs_dot(text: str) -> bool:
    """Return True when the page's i-dot (`page_dot`) can change what `lost_marks` or `marks_fit` say of `text`.

    Only a word whose text explains nothing but i/j dots, and has one, is compared with the page's dots
    (`_larger_than_dots`): for every other word the dot is not looked at, so it need not be measured.
    """
    return _dots_only(text) and any(ch in DOTS for ch in text)


def _dots_only(text: str) -> bool:
    """Return True when every mark above the text explains is an i or j dot."""
    return all(ch in DOTS for ch in text if ch in MARKS_ABOVE) and not any(ch in MAY_MARK_ABOVE for ch in text)


def _larger_than_dots(text: str, seen: Seen, dot: tuple[float, float] | None) -> bool:
    """Return True when a word that explains only dots shows a mark larger than the page's dots (an accent)."""
    if dot is None or not needs_dot(text):
        return False
    return any(ink >= DOT_INK * dot[0] and tall >= DOT_HEIGHT * dot[1] for ink, tall in seen[3])


def _unsure_dot(text: str, seen: Seen, dot: tuple[float, float] | None) -> bool:
    """Return True when a word that explains only dots shows a mark no dot-sized and no accent-sized (`judge_marks`).

    More than DOT_LIKE times the page's median i-dot in both ink and height, but short of DOT_INK or DOT_HEIGHT: a
    150-dpi blurred acute (`Garcia` for García at 1.67x the ink and 1.40x the height, full seed 23's bundle 001,
    read at 0.96 and calibrated 0.997) as well as a heavy dot. Such a word is worth asking the accent models; its
    first reading still fits its marks (`marks_fit`), so agreeing models keep it.
    """
    if dot is None or not needs_dot(text):
        return False
    return any(ink > DOT_LIKE * dot[0] and tall > DOT_LIKE * dot[1] for ink, tall in seen[3])


MARKS_EXACT = 1.0
MARKS_LOOSE = 0.5


def marks_fit(
    grey: npt.NDArray[np.uint8], line: Sequence[tuple[str, Box]], dot: tuple[float, float] | None = None
) -> list[float]:
    """Return, per word of one line, how well the marks its image shows fit its text, above and below.

    MARKS_EXACT: as many marks as the text has. MARKS_LOOSE: fewer, but at least one per accented letter (an
    umlaut's two dots merge into one on a blurred scan, a faint i-dot vanishes). 0.0: a mark the text does
    not explain, or an accent the image does not show (`Schäfer` on a plain `Schafer`), or the line cannot be
    analysed; with `dot` (the page's i-dot), a text explaining only dots under a mark larger than a dot.
    Stricter than `not lost_marks`, which only looks for marks too many.
    """
    out: list[float] = []
    for seen, (text, _) in zip(_marks(grey, line), line, strict=True):
        if seen is None or seen[2] or _larger_than_dots(text, seen, dot):
            out.append(0.0)
            continue
        most_above, most_below = _expected(text)
        least_above = sum(1 for ch in text if ch in MARKS_ABOVE and ch not in DOTS and ch.isalpha())
        least_below = sum(1 for ch in text if ch in MARKS_BELOW)
        above, below = len(seen[0]), len(seen[1])
        optional = sum(MAY_MARK_ABOVE.get(ch, 0) for ch in text)
        if above in (most_above, most_above - optional) and below == most_below:
            out.append(MARKS_EXACT)
        elif least_above <= above <= most_above and least_below <= below <= most_below:
            out.append(MARKS_LOOSE)
        else:
            out.append(0.0)
    return out


def _expected(text: str) -> tuple[int, int]:
    """Return how many marks above and below the text explains (at most: a ß's top may count as one)."""
    above = sum(MARKS_ABOVE.get(ch, 0) + MAY_MARK_ABOVE.get(ch, 0) for ch in text)
    return above, sum(MARKS_BELOW.get(ch, 0) for ch in text)


Seen = tuple[list[int], list[int], bool, list[tuple[float, float]]]
"""Marks found on a word: widths of those above, widths of those below, an accent where only dots belong (wider
than a dot), and the ink pixels and height of each mark above."""


def _marks(grey: npt.NDArray[np.uint8], line: Sequence[tuple[str, Box]]) -> list[Seen | None]:
    """Return the marks found on each word of one line, None for every word when the line cannot be analysed.

    What is found depends only on the line's crop of the page and its words' texts and columns in it, so it is
    remembered by those (`_crop_marks`): the same line is judged again by the accents look (`page_dot` measures
    every line of the page the page's reading checked already, `judge_marks` the flagged ones).
    """
    boxes = [box for _, box in line]
    x0, x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
    y0, y1 = min(b[1] for b in boxes), max(b[3] for b in boxes)
    height = y1 - y0
    if height < MIN_HEIGHT_PX or x1 <= x0:
        return [None] * len(line)
    top = max(0, int(y0 - MARGIN * height))
    crop = grey[top : min(grey.shape[0], int(y1 + MARGIN * height) + 1), x0:x1]
    if crop.size == 0:
        return [None] * len(line)
    words = tuple((text, left - x0, right - x0) for text, (left, _, right, _) in line)
    return list(_crop_marks(_Crop(crop, words)))


class _Crop:
    """A line's crop of the page with its words (text, left and right column in the crop): `_crop_marks`' key.

    Equal when the pixels (by SHA-256), the crop's shape and the words are; the pixels are let go once read.
    """

    __slots__ = ("pixels", "words", "_key")

    def __init__(self, pixels: npt.NDArray[np.uint8], words: tuple[tuple[str, int, int], ...]) -> None:
        self.pixels: npt.NDArray[np.uint8] | None = pixels
        self.words = words
        digest = hashlib.sha256(np.ascontiguousarray(pixels).data).digest()
        self._key = (pixels.shape, digest, words)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Crop) and self._key == other._key


@functools.lru_cache(maxsize=4096)
def _crop_marks(line: _Crop) -> tuple[Seen | None, ...]:
    """Return the marks found on each word of a line's crop (`_marks`); the crop's pixels are dropped after."""
    crop = line.pixels
    assert crop is not None  # a key kept by the cache is only compared, never read again
    line.pixels = None
    share = np.cumsum(np.bincount(crop.ravel(), minlength=256)) / crop.size
    paper, ink_level = float(np.searchsorted(share, 0.9)), float(np.searchsorted(share, 0.02))
    if paper - ink_level < MIN_CONTRAST:
        return (None,) * len(line.words)
    ink = crop < (paper + ink_level) / 2
    rows = ink.sum(axis=1)
    dense = np.nonzero(rows >= 0.4 * rows.max())[0]
    first_ink = int(np.nonzero(rows)[0][0])
    baseline = int(dense[-1])
    x_line = max(int(dense[0]), int(baseline - X_HEIGHT_SHARE * (baseline - first_ink)))
    if baseline - x_line < 3:
        return (None,) * len(line.words)
    # Only the slabs above the x-height and below the baseline can hold marks; anything in them joined to the
    # letters crosses the slab's edge row, so each slab is flooded from that row alone (cheaper than the crop).
    marks = np.zeros_like(ink)
    marks[:x_line] = ink[:x_line] & ~_joined(ink[: x_line + 1], seed_row=-1)[:x_line]
    marks[baseline + 1 :] = ink[baseline + 1 :] & ~_joined(ink[baseline:], seed_row=0)[1:]
    stroke = _stroke_width(ink[x_line : baseline + 1])
    out: list[Seen | None] = []
    for text, left, right in line.words:
        columns = slice(left, right)
        above = _mark_widths(marks[:x_line, columns].sum(axis=0))
        below = _mark_widths(marks[baseline + 1 :, columns].sum(axis=0))
        if not below and not any(ch in DESCENDERS for ch in text):
            below = _hanging(ink[:, columns], baseline, baseline - x_line)
        wide = _dots_only(text) and any(width > DOT_WIDTH * stroke for width in above)
        out.append((above, below, wide, _mark_extents(marks[:x_line, columns], baseline - x_line)))
    return tuple(out)


def _hanging(word: npt.NDArray[np.bool_], baseline: int, x_height: int) -> list[int]:
    """Return the width of the ink joined to a word's letters that hangs HANG x-heights under its baseline.

    The word's baseline is its own last dense row when that is lower than the line's `baseline` (a skewed line's
    words sit at different heights), else the line's (a short word's last dense row may be a bar above the
    baseline: `#`, `T`). Only ink joined to that row counts: a speck or a rule under the word is no part of a
    letter. An empty list: none.
    """
    rows = word.sum(axis=1)
    if not rows.any():
        return []
    base = max(baseline, int(np.nonzero(rows >= 0.4 * rows.max())[0][-1]))
    under = _joined(word[base:], seed_row=0)[1:]
    deep = int(math.ceil(HANG * x_height))
    if under.shape[0] <= deep or not under[deep:].any():
        return []
    return [int(under[deep - 1 :].any(axis=0).sum())]


def _mark_extents(slab: npt.NDArray[np.bool_], x_height: int) -> list[tuple[float, float]]:
    """Return each mark's ink and height above the x-height, in x-heights (ink: x-height squares).

    Marks are cut as `_mark_widths` cuts them; measured in the line's own x-height, a heading's dots compare
    with a body line's.
    """
    out: list[tuple[float, float]] = []
    column_ink = slab.sum(axis=0)
    start: int | None = None
    end = gap = 0
    for index, value in enumerate([*column_ink.tolist(), 0, 0]):
        if value > 0:
            start = index if start is None else start
            end, gap = index, 0
        elif start is not None:
            gap += 1
            if gap > 1:
                piece = slab[:, start : end + 1]
                pixels = int(piece.sum())
                if pixels >= MIN_MARK_PIXELS:
                    rows = np.nonzero(piece.any(axis=1))[0]
                    out.append((pixels / x_height**2, float(rows[-1] - rows[0] + 1) / x_height))
                start = None
    return out


def _joined(ink: npt.NDArray[np.bool_], *, seed_row: int) -> npt.NDArray[np.bool_]:
    """Return the ink of a slab connected (8-neighbourhood) to the ink of its row `seed_row`."""
    reach = np.zeros_like(ink)
    reach[seed_row] = ink[seed_row]
    reached = int(np.count_nonzero(reach))
    column = np.empty_like(ink)
    grown = np.empty_like(ink)
    for _ in range(ink.size):
        # the 8-neighbourhood is a 3x3 square: grown up and down, then left and right (4 shifts, not 8)
        np.copyto(column, reach)
        column[1:, :] |= reach[:-1, :]
        column[:-1, :] |= reach[1:, :]
        np.copyto(grown, column)
        grown[:, 1:] |= column[:, :-1]
        grown[:, :-1] |= column[:, 1:]
        grown &= ink
        # `grown` holds all of `reach` (ink only, grown by its neighbours): the same count is the same pixels
        count = int(np.count_nonzero(grown))
        if count == reached:
            break
        reach, grown, reached = grown, reach, count  # the old reach's buffer is written over next time
    return reach


def _stroke_width(ink: npt.NDArray[np.bool_]) -> float:
    """Return the median horizontal run of ink: the pen's stroke width in pixels."""
    padded = np.zeros((ink.shape[0], ink.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = ink  # every row starts and ends on paper, so no run crosses rows in the flattened edges
    edges = np.diff(padded, axis=1).ravel()
    widths = np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]
    return float(np.median(widths)) if widths.size else 1.0


def _mark_widths(column_ink: npt.NDArray[np.int64]) -> list[int]:
    """Return the widths of the marks in a column profile: runs of inked columns (1-column gaps bridged)."""
    widths: list[int] = []
    start: int | None = None
    end = gap = pixels = 0
    for index, value in enumerate([*column_ink.tolist(), 0, 0]):
        if value > 0:
            if start is None:
                start, pixels = index, 0
            end, gap, pixels = index, 0, pixels + value
        elif start is not None:
            gap += 1
            if gap > 1:
                if pixels >= MIN_MARK_PIXELS:
                    widths.append(end + 1 - start)
                start = None
    return widths
