"""Lost accents read again: the words of text fields whose accents the first OCR model dropped.

Debian's `eng` model has no ä, ö, ü, ø, ß and reads è, ê, ë as é, so `Schäfer` comes out `Schafer`;
claimflow/readers/diacritics.py sees marks on the image that the text does not explain and caps such words
below the auto-accept line. This module then reads just those words again, once with each Latin-script model
the spec names (`ocr: {accents: [deu, fra, spa, ...]}`), and takes an accented reading only when

- it differs from the first reading only where it has an accented letter (ß may stand where `eng` read B
  or R), or it has the letters another model read without accents,
- its own accents explain the marks the detector sees on the image (`Schafer` leaves two dots unexplained,
  `Schäfer` explains them), and
- at least two models read it so, and no other accented reading has as many votes.

The value changes but its confidence does not: the word keeps the capped confidence of the first reading,
because two models agreeing on `è` against `é` is evidence, not proof, and a person checks the name anyway.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from claimflow.models import BBox, Extraction, Field, Page, ReadDocument, ReadMethod, Word
from claimflow.specs import SpecSet

MIN_VOTES = 2
"""An accented reading is taken only when at least this many models read it."""
KEEP_VOTES = 3
"""A first reading that fits its marks exactly is kept, and no more models asked, once this many read it so."""
EDGE_PUNCTUATION = ".,;:!?'\"`‘’“”|()[]"
"""Characters a cut-out word gains at its edges from its neighbours (an apostrophe, a full stop)."""
FOLDED = {"ß": "s", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE", "ı": "i",
          "œ": "oe", "Œ": "OE"}  # fmt: skip
"""Latin letters with no decomposition: what they are without their stroke (one glyph, one letter: OCR reads
ß as one wrong letter, B or R, so it folds to one)."""


class AccentReader(Protocol):
    """The image side (claimflow.readers.marks.PageMarks): flag words, check marks, read words again."""

    def flagged(self, page: Page, box: BBox) -> list[Word]:
        """Return the words inside `box` that lost an accent (marks unexplained, or an uncertain accent)."""
        ...

    def explains(self, page: Page, word: Word, text: str) -> float:
        """Return how well `text` in place of `word` fits the marks on the image: 1 exactly, 0.5 loosely, 0 not."""
        ...

    def reread(self, page: Page, boxes: Sequence[BBox], *, lang: str) -> list[str] | None:
        """Return one text per box, read again with the tesseract model `lang` (None when it cannot)."""
        ...


def skeleton(text: str) -> str:
    """Return `text` lower-cased without accents: `García` -> `garcia`, `Søren` -> `soren`, `Straße` -> `strase`."""
    folded = "".join(FOLDED.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def has_accent(text: str) -> bool:
    """Return True when `text` holds a Latin letter outside ASCII (an accented or special letter)."""
    return any(ord(ch) > 127 and ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN") for ch in text)


def trim_edges(new: str, old: str) -> str:
    """Return `new` without edge punctuation that the first reading `old` does not have at that edge."""
    while new and new[0] in EDGE_PUNCTUATION and not old.startswith(new[0]):
        new = new[1:]
    while new and new[-1] in EDGE_PUNCTUATION and not old.endswith(new[-1]):
        new = new[:-1]
    return new


def same_letters(new: str, old: str) -> bool:
    """Return True when `new` differs from `old` only where `new` has an accented or special letter.

    `García` for `Garcia`, `Straße` for `StraRe` (ß read as R), `Søren` for `Seren`; not `Marcía` for `Garcia`.
    """
    if len(new) != len(old):
        return False
    return all(a.casefold() == b.casefold() or (ord(a) > 127 and has_accent(a)) for a, b in zip(new, old, strict=True))


def choose_reading(old: str, readings: Sequence[str], fits: dict[str, float], *, complete: bool) -> str | None:
    """Return the accented reading of a flagged word that enough models agree on, or None to keep `old`.

    `readings` are the texts the models read (edge punctuation already trimmed); `fits` says, per candidate
    text, how well its accents fit the marks on the image (1 exactly, 0.5 loosely, 0 not). A candidate has the
    first reading's letters, or letters another model read without accents (`K6in`: `Köln` by deu, `Koln` by
    dan). The most votes win, a closer fit breaks a tie, a tie on both keeps `old`. Two votes suffice; once
    every model was asked (`complete`), one does: only `dan` knows ø and only `deu` ß.
    """
    plain = {skeleton(text) for text in readings if text and not has_accent(text)}
    votes = Counter(
        text
        for text in readings
        if text != old
        and has_accent(text)
        and fits.get(text, 0.0) > 0
        and (same_letters(text, old) or skeleton(text) in plain)
    )
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda item: (item[1], fits[item[0]]), reverse=True)
    best, count = ranked[0]
    if len(ranked) > 1 and (ranked[1][1], fits[ranked[1][0]]) == (count, fits[best]):
        return None
    if count < MIN_VOTES and not complete:
        return None
    return best


def read_accents_again(read: ReadDocument, parts: list[Extraction], specs: SpecSet, reader: AccentReader) -> int:
    """Give text fields' words that lost their accents the reading the spec's accent models agree on.

    Returns the number of OCR calls made: one per model and page with flagged words, and no more models
    once every flagged word has an agreed reading.
    """
    calls = 0
    for part in parts:
        spec = specs.specs.get(part.document_type)
        if spec is None or not spec.ocr.accents:
            continue
        names = [n for n, f in spec.fields.items() if f.type == "text" and isinstance(_value(part, n), str)]
        for page in read.pages:
            if page.method is ReadMethod.OCR and page.image is not None:
                calls += _fix_page(part, names, page, spec.ocr.accents, reader)
    return calls


def _fix_page(part: Extraction, names: list[str], page: Page, models: Sequence[str], reader: AccentReader) -> int:
    """Read the flagged words of the fields `names` on one page with each model, rewrite the values; return calls."""
    flagged: dict[BBox, Word] = {}
    for name in names:
        provenance = part.fields[name].provenance
        if provenance.page == page.number and provenance.bbox is not None:
            flagged.update((word.bbox, word) for word in reader.flagged(page, provenance.bbox))
    if not flagged:
        return 0
    words = list(flagged.values())
    readings: list[list[str]] = [[] for _ in words]
    chosen: list[str | None] = [None] * len(words)
    calls = 0
    explains: list[dict[str, float]] = [{} for _ in words]
    # a word whose first reading fits its marks exactly (an é that eng may have read for è) is settled once
    # KEEP_VOTES models read it the same and no model read an accented rival that fits (ß and ø show no marks)
    fits_first = [reader.explains(page, word, word.text) == 1.0 for word in words]
    for number, model in enumerate(models, start=1):
        texts = reader.reread(page, [w.bbox for w in words], lang=model)
        calls += 1
        for index, (word, text) in enumerate(zip(words, texts or [""] * len(words), strict=True)):
            reading = trim_edges(text.strip(), word.text)
            readings[index].append(reading)
            if has_accent(reading) and reading not in explains[index]:
                explains[index][reading] = reader.explains(page, word, reading)
            complete = number == len(models)
            chosen[index] = choose_reading(word.text, readings[index], explains[index], complete=complete)
        settled = [
            choice is not None or (fits and reading.count(word.text) >= KEEP_VOTES and not _rivals(rivals, word.text))
            for choice, fits, reading, word, rivals in zip(chosen, fits_first, readings, words, explains, strict=True)
        ]
        if all(settled):
            break
    replacements = {w.text: c for w, c in zip(words, chosen, strict=True) if c is not None}
    if replacements:
        for name in names:
            if part.fields[name].provenance.page == page.number:
                part.fields[name] = _rewritten(part.fields[name], replacements)
    return calls


def _rivals(fits: dict[str, float], old: str) -> bool:
    """Return True when a model read an accented text other than `old` that fits the marks on the image."""
    return any(fit > 0 for text, fit in fits.items() if text != old)


def _rewritten(field: Field, replacements: dict[str, str]) -> Field:
    """Return the field with each replaced word changed in its value and raw text (whole words only)."""
    value, raw = str(field.value), field.raw
    for old, new in replacements.items():
        pattern = re.compile(rf"(?<!\w){re.escape(old)}(?!\w)")
        value, raw = pattern.sub(new, value), pattern.sub(new, raw)
    if value == field.value:
        return field
    return dataclasses.replace(field, value=value, raw=raw)


def _value(part: Extraction, name: str) -> object:
    field = part.fields.get(name)
    return None if field is None else field.value
