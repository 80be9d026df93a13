"""Values that lost characters: more glyphs on the image than characters in the reading.

Tesseract's line model now and then drops characters inside a word while keeping the word's box over all of
its ink: an invoice's `Claim ref: CLM-2026-917006` was read `CLM-2026-91` at word confidence 0.91 (the
`7006` came back as a second word boxed inside the first, which the line builder set on a line of its own),
and the claim reference was taken at 0.99, over the auto-accept threshold. Nothing in the text says so; the
image does: the word's box holds 15 glyphs for 11 characters.

For every value read by OCR that would be auto-accepted, the words it was read from (the page's words inside
its box whose texts hold it) have their glyphs counted (claimflow.readers.marks.count_glyphs: runs of ink
columns; touching letters make fewer runs, never more). A word with at least LOST_MARGIN more glyphs than
characters takes the value below auto-accept (extract_confirm.DOUBT_CAP) with a Problem naming the field, so
a person checks it; a `reread_word` code is then read alone at several sizes (extract_words.py, after this
step). No OCR call is made. Words with CJK characters are left out: one Han character's strokes can stand
apart (川 is three runs).

The same glyph spans put back a space the reading lost inside a word of a text value below auto-accept
(`LD18QSS` for `LD18 QSS`, `froma` for `from a`): see `lost_spaces`.

The count is trusted only on a page whose print it fits: of the page's other words read at PAGE_WORD_CONFIDENCE
or more, at least MIN_PAGE_WORDS, at most NOISY_SHARE may show more glyphs than characters. Generated scans
(clean and degraded) and real invoice scans showed none; thermal till receipts (SROIE: broken dot glyphs,
`Rounding` as 9-10 runs) showed 4-79% per receipt, and are left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from claimflow.errors import ReasonCode
from claimflow.extract_confirm import doubt
from claimflow.extract_reread import calibrated
from claimflow.models import BBox, Extraction, Field, Page, ReadDocument, ReadMethod, Word, centre_in
from claimflow.normalise import has_cjk
from claimflow.specs import SpecSet

LOST_MARGIN = 2
"""How many more glyphs than characters a word must show to have lost some (one extra run is a broken glyph
or a speck of noise on a degraded scan often enough)."""
PAGE_WORD_CONFIDENCE = 0.9
"""The page's words that say whether its glyphs can be counted: read at least this sure."""
MIN_PAGE_WORDS = 10
"""... at least this many of them (else the page's print is not known well enough: no doubt is cast)."""
NOISY_SHARE = 0.02
"""... and at most this share of them with more glyphs than characters (broken print otherwise)."""


SPACE_GAP = 0.34
"""A gap between two glyphs of one word at least this share of the word's box height may be a lost space..."""
SPACE_RATIO = 2.0
"""... when it is also this many times the word's median gap between glyphs."""
WIDE_BEARING = set("1IlijJ.,:;'\"!|()[]")
"""Glyphs with wide side bearings in proportional faces (`1,537.99`: 9 px after the `1`): gaps beside them are
never taken for a space."""


class GlyphCounter(Protocol):
    """The image side (claimflow.readers.marks.PageMarks): count the glyphs in a word's box."""

    def glyphs(self, page: Page, box: BBox) -> int | None:
        """Return the glyphs the ink in `box` makes (None when the image cannot tell)."""
        ...

    def runs(self, page: Page, box: BBox) -> tuple[list[tuple[int, int]], int] | None:
        """Return the glyph spans in `box` and its height in pixels (None when the image cannot tell)."""
        ...


def lost_characters(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, look: GlyphCounter, *, threshold: float
) -> list[str]:
    """Doubt the confident OCR values whose words show more glyphs than characters; return the fields doubted."""
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    over: dict[int, dict[int, bool]] = {}  # page -> id of each sure word -> shows more glyphs than characters
    doubted: list[str] = []
    for part in parts:
        for name, found in list(part.fields.items()):
            page = pages.get(found.provenance.page) if found.provenance.page is not None else None
            if page is None or isinstance(found.value, list) or calibrated(part, found, specs) < threshold:
                continue
            word = short_word(found, page, look)
            if word is None:
                continue
            if page.number not in over:
                over[page.number] = _over_counted(page, look)
            if not countable(over[page.number], word):
                continue
            doubt(
                part,
                name,
                page,
                ReasonCode.FIELD_LOW_CONFIDENCE,
                f"{name}: the page shows more characters than were read in {word.text!r}; check it",
            )
            doubted.append(name)
    return doubted


def lost_spaces(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, look: GlyphCounter, *, threshold: float
) -> list[str]:
    """Put back a space the reading lost inside a word of a text value below auto-accept; return the fields changed.

    `LD18QSS` for the registration `LD18 QSS`, `froma neighbouring` for `from a neighbouring`: the word's glyphs
    (one run of ink per character, as many as its text has) show one gap as wide as a space (SPACE_GAP of the
    box height, SPACE_RATIO times the word's usual gap), not beside a glyph with wide side bearings. Only values
    a person checks anyway (below the threshold) are changed, and they stay below it (DOUBT_CAP), with a Problem.
    """
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    changed: list[str] = []
    for part in parts:
        spec = specs.specs.get(part.document_type)
        for name, found in list(part.fields.items()):
            page = pages.get(found.provenance.page) if found.provenance.page is not None else None
            field_spec = spec.fields.get(name) if spec is not None else None
            if page is None or field_spec is None or field_spec.type != "text" or not isinstance(found.value, str):
                continue
            if calibrated(part, found, specs) >= threshold:
                continue
            value = found.value
            for word in value_words(found, page):
                split = spaced(word, look, page)
                if split is not None and value.count(word.text) == 1:
                    value = value.replace(word.text, split)
            if value == found.value:
                continue
            part.fields[name] = dataclasses.replace(found, value=value, raw=value)
            doubt(
                part,
                name,
                page,
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: a space the reading lost was put back from the page ({found.value!r} -> {value!r}); check it",
            )
            changed.append(name)
    return changed


def spaced(word: Word, look: GlyphCounter, page: Page) -> str | None:
    """Return the word with the space its glyphs show put back (lost_spaces), or None."""
    text = word.text
    if len(text) < 3 or has_cjk(text) or " " in text:
        return None
    measured = look.runs(page, word.bbox)
    if measured is None or len(measured[0]) != len(text):
        return None
    runs, height = measured
    gaps = [after[0] - before[1] for before, after in zip(runs, runs[1:], strict=False)]
    usual = sorted(gaps)[len(gaps) // 2]
    candidates = [
        (gap, index)
        for index, gap in enumerate(gaps)
        if text[index] not in WIDE_BEARING and text[index + 1] not in WIDE_BEARING
    ]
    if not candidates:
        return None
    gap, index = max(candidates)
    others = [g for g, i in candidates if i != index]
    if gap < SPACE_GAP * height or gap < SPACE_RATIO * max(usual, 1) or (others and gap < SPACE_RATIO * max(others)):
        return None
    return text[: index + 1] + " " + text[index + 1 :]


def short_word(found: Field, page: Page, look: GlyphCounter) -> Word | None:
    """Return the first word `found` was read from whose box holds LOST_MARGIN or more glyphs than its text."""
    for word in value_words(found, page):
        if has_cjk(word.text):
            continue
        glyphs = look.glyphs(page, word.bbox)
        if glyphs is not None and glyphs >= len(word.text) + LOST_MARGIN:
            return word
    return None


def countable(over: dict[int, bool], word: Word) -> bool:
    """Return True when the page's other sure words show their glyphs as their characters (see module docstring)."""
    others = [flag for key, flag in over.items() if key != id(word)]
    return len(others) >= MIN_PAGE_WORDS and sum(others) <= NOISY_SHARE * len(others)


def _over_counted(page: Page, look: GlyphCounter) -> dict[int, bool]:
    """Return, for each sure Latin word of the page (by id), whether its box shows more glyphs than characters."""
    out: dict[int, bool] = {}
    for word in page.words:
        if word.confidence < PAGE_WORD_CONFIDENCE or len(word.text) < 2 or has_cjk(word.text):
            continue
        glyphs = look.glyphs(page, word.bbox)
        if glyphs is not None:
            out[id(word)] = glyphs > len(word.text)
    return out


def value_words(found: Field, page: Page) -> Sequence[Word]:
    """Return the page's words inside the value's box when their texts hold the value as read, else none.

    A value taken from another reading (a page read again with another segmentation) has no words of its own
    on the page; the first reading's words there say nothing about it.
    """
    box = found.provenance.bbox
    if box is None:
        return []
    words = [w for w in page.words if centre_in(w.bbox, box)]
    joined = "".join("".join(w.text for w in words).split()).casefold()
    raw = "".join(found.raw.split()).casefold()
    return words if raw and raw in joined else []
