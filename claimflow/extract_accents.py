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

Letters with no detached mark (ø, æ, ß, ł) leave nothing for the mark detector: `eng` reads `Søren` as
`Seren` or `Sgren`, sometimes at 0.7 and more. A word of a text field that the first model read with a weak
confidence (below UNSURE_WORD) is therefore also read with the spec's models that know such letters
(MARKLESS_LETTERS: dan, deu, pol, ...); a reading that differs from the first only in those letters is taken
once every such model was asked and no rival reading fits, and the field goes below auto-accept
(LOST_MARK_RAW): one model's word, with nothing on the image to back it, is a guess a person checks.
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
MARKLESS_LETTERS = {"dan": "æøÆØ", "nor": "æøÆØ", "isl": "æðþÆÐÞ", "deu": "ß", "pol": "łŁ", "hrv": "đĐ"}
"""Models that read letters whose accent is no detached mark (a stroke through the letter, a ligature), with
those letters: the mark detector cannot flag their loss, so a weakly read word is asked of these models. Not å:
its ring is a detached mark the detector sees (a weak `Backerei` took dan's `Båckerei` for Bäckerei)."""
ALL_MARKLESS = "".join(sorted(set("".join(MARKLESS_LETTERS.values()))))
UNSURE_WORD = 0.8
"""A text field's word read below this OCR confidence may have lost a letter without a mark (`Sgren` at 0.71,
`Hauptstrafe` at 0.76-0.77: Courier's ß read f on clean 200-dpi till receipts)."""
TWIN_WORD = 0.9
"""A word holding a glyph eng reads for a markless letter it does not know (TWINS) is asked below this instead."""
TWINS = {"ß": re.compile(r"(?<=[a-z])(?:f(?=[a-z]|$)|&(?=[a-z]))")}
"""Per markless letter, where a word holds what eng reads for it: Courier's ß read `f` after a lower-case letter
(`Hauptstrafe` at 0.76-0.82 on clean till receipts, above UNSURE_WORD), or `&` between two (MARK_TWIN)."""
MARK_TWIN = re.compile(r"(?<=[a-z])&(?=[a-z])")
"""A mark eng reads for a markless letter inside a word: degraded 150-dpi Courier's ß read `&` (`Hauptstra&e` at
0.34 and 0.62, seeds 23 and 21). An ampersand stands alone or between capitals (`M&S`), never between lower-case
letters, so such a word is still a word (`wordlike`) that may have lost a letter."""
INNER_CAPITAL = re.compile(r"[^\W\d_]{2}(?<=[a-zß-ÿ]{2})[A-Z](?=[a-zß-ÿ])")
"""A capital between lower-case letters (`straRe`): eng's reading of a letter it does not know, whatever its word's
confidence (`McDonald` has one lower-case letter before its capital and is not asked)."""
WIDE_MARKLESS = "ßæÆ"
"""Markless letters as wide as two: eng may read one as two glyphs (`fg` for ß); ø or ł never stands for two."""
SPELT_OUT = frozenset({"ss", "ae", "oe", "aa"})
"""Two letters a markless letter is also written as (ß, æ, œ, å): a reading with them is no misread of that letter."""
INNER_I = ("l", "I")
"""A model's l where eng read I after the word's first letter (`K6In` for Köln: a capital I inside a word is the
l that eng reads next to a letter it did not know)."""
LETTERS_AROUND_DIGIT = re.compile(r"[^\W\d_]+\d[^\W\d_]+")
"""Letters with one digit between them (`K6In` for Köln): the image side flags such words too
(readers/diacritics.LETTERS_AROUND_DIGIT), so a word like this may have lost an accent."""
LEADING_SPECKS = "._~-,:;`"
"""Specks a scan's noise is read as before a word (`._Hauptstrage`): no word starts with them."""
INNER_MARKS = "'’-"
"""Characters a name may hold between its letters (`O'Brien`, `Jean-Luc`)."""
ALPHABETS = {
    "deu": "äöüß",
    "fra": "àâæçéèêëîïôœùûüÿ",
    "spa": "áéíñóúü",
    "ita": "àèéìíîòóùú",
    "por": "áâãàçéêíóôõú",
    "nld": "áäéèëêíïóöúü",
    "dan": "æøåé",
    "nor": "æøåé",
    "swe": "åäöé",
    "pol": "ąćęłńóśźż",
    "tur": "çğıöşüâîû",
    "isl": "áæðéíóöúýþ",
    "hrv": "čćđšž",
}
"""The accented letters each accent model's language writes (lower case). A model reads a letter its language lacks
as the nearest one it has: Jaurès's è is é to spa, dan and swe and ê to por, while fra, ita and nld read è; Köln's ö
is ó to spa and por. So between two readings that differ only in such letters, only the models whose alphabet holds
both letters tell them apart (`informed_votes`); a model not listed here is never counted so."""
LOST_MARK_RAW = 0.6
"""The most a field keeps once a word was rewritten on the word of one model that knows a markless letter."""


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

    def worth_reading(self, page: Page, word: Word) -> bool:
        """Return False for a flagged word no accent explains better (marks the size of the page's i-dots)."""
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

    `García` for `Garcia`, `Straße` for `StraRe` (ß read as R), `Søren` for `Seren`; not `Marcía` for `Garcia`, and
    not an accented letter the first reading has put on another letter (`Marchć` for `Marché`: pol's ć for eng's é),
    nor a letter in the other case (`café` for `Café`: a model's lower-case c). Besides the accented letters, a
    model's `l` may stand where eng read a capital I inside the word (`Köln` for `K6In`: INNER_I).
    """
    if len(new) != len(old):
        return False
    return all(
        a == b
        or (index > 0 and (a, b) == INNER_I)
        or (
            ord(a) > 127
            and has_accent(a)
            and not (has_accent(b) and skeleton(a) != skeleton(b))
            and not (b.isalpha() and a not in FOLDED and a.isupper() != b.isupper())  # eng reads ß as R or B
        )
        for index, (a, b) in enumerate(zip(new, old, strict=True))
    )


def choose_reading(
    old: str,
    readings: Sequence[str],
    fits: dict[str, float],
    *,
    complete: bool,
    models: Sequence[str] = (),
) -> str | None:
    """Return the accented reading of a flagged word that enough models agree on, or None to keep `old`.

    `readings` are the texts the models read (edge punctuation already trimmed); `fits` says, per candidate
    text, how well its accents fit the marks on the image (1 exactly, 0.5 loosely, 0 not). A candidate has the
    first reading's letters, or letters another model read without accents (`K6in`: `Köln` by deu, `Koln` by
    dan), or one markless letter more where eng read nothing (`Hauptstraße` for `Hauptstrae`), or one accented letter
    whose marks fit exactly where eng read two glyphs (`Köln` for `K6éln`); a first letter eng read small that every
    model that read the word read as its capital counts as that capital. The most votes win, a
    closer fit breaks a tie, a tie on both keeps `old`. Two votes suffice; once
    every model was asked (`complete`), one does: only `dan` knows ø and only `deu` ß.

    `models` names the model of each reading. Where they are known, the models whose language writes both letters
    two readings differ in decide between them (`informed_votes`): eng's `Jaurés` read so by spa, dan and swe (whose
    languages have no è) and `Jaurès` by fra, ita and nld is Jaurès; `Köln` by deu and nld against `Kóln` by spa and
    por, a tie in votes, is Köln (nld writes both ö and ó) whatever the marks' fit says (an umlaut's two dots blurred
    into one mark fit an acute exactly).
    """
    said = [text for text in readings if text]
    if old[:1].islower() and len(said) >= MIN_VOTES and all(text[:1] == old[:1].upper() for text in said):
        old = old[:1].upper() + old[1:]  # every model read the first letter as its capital (`industriestraRe`)
    plain = {skeleton(text) for text in readings if text and not has_accent(text)}
    votes = Counter(
        text
        for text in readings
        if text != old
        and has_accent(text)
        and fits.get(text, 0.0) > 0
        and (
            same_letters(text, old)
            or skeleton(text) in plain
            or _dropped_markless(text, old)
            or (fits.get(text) == 1.0 and _split_letter(text, old))
        )
        and not _case_changed(text, old)
        and not _mark_for_inner_capital(text, old)
    )
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda item: (item[1], fits[item[0]]), reverse=True)
    best, count = ranked[0]
    if len(ranked) > 1 and ranked[1][1] == count:
        ahead = informed_votes(best, ranked[1][0], readings, models)
        behind = informed_votes(ranked[1][0], best, readings, models)
        if behind > ahead:
            best = ranked[1][0]
        if ahead != behind:
            ranked = [(best, count)]  # the models that know both letters decided the tie
    if has_accent(old) and count <= readings.count(old):
        informed = informed_votes(best, old, readings, models)
        if informed < MIN_VOTES or informed <= informed_votes(old, best, readings, models):
            return None  # the models read eng's accented letter as often as the rival: `Café` twice against one `café`
    if len(ranked) > 1 and (ranked[1][1], fits[ranked[1][0]]) == (count, fits[best]):
        return None
    if count < MIN_VOTES and not complete:
        return None
    return best


def informed_votes(text: str, rival: str, readings: Sequence[str], models: Sequence[str]) -> int:
    """Return how many models read `text` whose language writes every accented letter it and `rival` differ in.

    0 when the two differ otherwise than letter for letter, or no model is named (ALPHABETS).
    """
    if len(text) != len(rival) or not models:
        return 0
    letters = {
        ch.lower() for a, b in zip(text, rival, strict=True) if a != b for ch in (a, b) if has_accent(ch)
    }
    if not letters:
        return 0
    return sum(
        1
        for reading, model in zip(readings, models, strict=False)
        if reading == text and letters <= set(ALPHABETS.get(model, ""))
    )


def _case_changed(new: str, old: str) -> bool:
    """Return True when `new` has a letter of `old` (the same letter, place for place) in the other case."""
    return len(new) == len(old) and any(
        a != b and a.casefold() == b.casefold() for a, b in zip(new, old, strict=True)
    )


def _split_letter(new: str, old: str) -> bool:
    """Return True when `new` is `old` with one accented letter where eng read two glyphs, one of them no plain letter.

    `Köln` for `K6éln`: eng read the ö's body as 6 and its dots as é. Two plain letters are a spelling of their own
    (`oe` for ö), so at least one of the two glyphs must be a digit, a mark or an accented letter.
    """
    return len(new) == len(old) - 1 and any(
        has_accent(new[i])
        and new[:i] == old[:i]
        and new[i + 1 :] == old[i + 2 :]
        and any(not ch.isalpha() or has_accent(ch) for ch in old[i : i + 2])
        for i in range(len(new))
    )


def _dropped_markless(new: str, old: str) -> bool:
    """Return True when `new` is `old` with one markless letter where eng read nothing or two glyphs.

    `Hauptstrae` and `Hauptstrafge` for `Hauptstraße`.
    """
    return abs(len(new) - len(old)) == 1 and markless_only(new, old, ALL_MARKLESS)


def _mark_for_inner_capital(new: str, old: str) -> bool:
    """Return True when `new` puts a letter other than a markless one where `old` has a capital inside lower case.

    `eng` reads ß as B or R (`IndustriestraRe`): a capital inside a word stands for a letter it does not know
    that has no detached mark; an accented letter with a mark (`Industriestrañe`, ñ) would have been read as
    its plain letter, not as a capital. A model's `l` for eng's I is no such letter (INNER_I: `Köln` for `KéIn`,
    eng's é for the ö before it).
    """
    if len(new) != len(old):
        return False
    return any(
        a != b
        and b.isupper()
        and index > 0
        and old[index - 1].islower()
        and a not in FOLDED
        and (a, b) != INNER_I
        for index, (a, b) in enumerate(zip(new, old, strict=True))
    )


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
    """Read the flagged words of the fields `names` on one page with each model, rewrite the values; return calls.

    Weak words no mark flagged (`Sgren`) are read in the same calls, the models that know markless letters
    first; they are settled once all of those were asked.
    """
    flagged: dict[BBox, Word] = {}
    boxes: list[BBox] = []
    for name in names:
        provenance = part.fields[name].provenance
        if provenance.page == page.number and provenance.bbox is not None:
            flagged.update((word.bbox, word) for word in reader.flagged(page, provenance.bbox))
            boxes.append(provenance.bbox)
    markless = [model for model in models if model in MARKLESS_LETTERS]
    known = "".join(MARKLESS_LETTERS[model] for model in markless)
    unsure = {w.bbox: w for w in weak_words(page, boxes, known) if w.bbox not in flagged} if markless else {}
    # a flagged word no model can give an accent is not read (noise, or an i-dot the mark search took for more):
    # it is left as every model's reading would leave it, unexplained
    unread = [w for w in flagged.values() if not (wordlike(w.text) and reader.worth_reading(page, w))]
    flagged = {bbox: w for bbox, w in flagged.items() if all(w is not other for other in unread)}
    unsure = {bbox: w for bbox, w in unsure.items() if wordlike(MARK_TWIN.sub("s", w.text.lstrip(LEADING_SPECKS)))}
    if not flagged and not unsure:
        unexplained = {w.text for w in unread if reader.explains(page, w, w.text) != 1.0}
        _rewrite(part, names, page, {}, set(), unexplained)
        return 0
    if unsure:  # the models that know markless letters first: those words are settled once they were asked
        models = [*markless, *(model for model in models if model not in markless)]
    words = [*flagged.values(), *unsure.values()]
    is_unsure = [False] * len(flagged) + [True] * len(unsure)
    # a weak word is compared without the specks a scan glued before it (`._Hauptstrage`), and rewritten without them
    olds = [w.text.lstrip(LEADING_SPECKS) if weak else w.text for w, weak in zip(words, is_unsure, strict=True)]
    letters = "".join(MARKLESS_LETTERS[model] for model in markless)
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
        for index, (old, text) in enumerate(zip(olds, texts or [""] * len(words), strict=True)):
            reading = trim_edges(text.strip(), words[index].text)
            if is_unsure[index] and old[:1].isalnum():
                reading = re.sub(r"^[\W_]+", "", reading)  # the specks read as marks of their own (`„Hauptstraße`)
            if is_unsure[index] and not markless_only(reading, old, letters):
                reading = ""  # a weak word takes nothing but markless letters (its other letters are no mark's)
            readings[index].append(reading)
            if has_accent(reading) and reading not in explains[index]:
                explains[index][reading] = reader.explains(page, words[index], reading)
            complete = number == len(models) or (is_unsure[index] and number >= len(markless))
            chosen[index] = choose_reading(
                old, readings[index], explains[index], complete=complete, models=models[:number]
            )
        settled = [
            choice is not None
            or (weak and number >= len(markless))
            or (fits and reading.count(word.text) >= KEEP_VOTES and not _rivals(rivals, word.text))
            for choice, fits, reading, word, rivals, weak in zip(
                chosen, fits_first, readings, words, explains, is_unsure, strict=True
            )
        ]
        if all(settled):
            break
    replacements = {w.text: c for w, c in zip(words, chosen, strict=True) if c is not None}
    # a word rewritten on the models' word keeps at most LOST_MARK_RAW: so a word the page reading did not cap
    # (only the look's comparison with the page's own i-dots flagged `Garcia`, read at 0.96) goes below too
    guessed = {
        w.text
        for w, c, weak in zip(words, chosen, is_unsure, strict=True)
        if c is not None and (weak or w.confidence > LOST_MARK_RAW)
    }
    # a word whose marks the first reading does not explain and on which the models did not agree (`Garcia` with
    # an accent on the image, every model asked): the field cannot be sure of it (it was 0.996 and wrong)
    unexplained = {
        w.text
        for w, c, weak, fits in zip(words, chosen, is_unsure, fits_first, strict=True)
        if c is None and not weak and not fits
    }
    unexplained |= {w.text for w in unread if reader.explains(page, w, w.text) != 1.0}
    _rewrite(part, names, page, replacements, guessed, unexplained)
    return calls


def _rewrite(
    part: Extraction,
    names: list[str],
    page: Page,
    replacements: dict[str, str],
    guessed: set[str],
    unexplained: set[str],
) -> None:
    """Put the chosen readings into the fields of `names` on `page`; cap those holding a guessed or unexplained word."""
    if not replacements and not unexplained:
        return
    for name in names:
        if part.fields[name].provenance.page == page.number:
            field = _rewritten(part.fields[name], replacements) if replacements else part.fields[name]
            if field is not part.fields[name] and any(_holds(part.fields[name].raw, old) for old in guessed):
                field = dataclasses.replace(field, confidence=min(field.confidence, LOST_MARK_RAW))
            if any(_holds(part.fields[name].raw, old) for old in unexplained):
                field = dataclasses.replace(field, confidence=min(field.confidence, LOST_MARK_RAW))
            part.fields[name] = field


def wordlike(text: str) -> bool:
    """Return True when `text` can be a word that lost an accent (a name, a street, a town).

    Letters, with edge punctuation, apostrophes or hyphens inside (`O'Brien`, `Jean-Luc`), or one digit between
    letters (`K6In`: a letter eng did not know). Not noise read as text (`BHPetro}`, `Alam,?*Selangor.`) nor a code
    (`Hob5o7`, `ovvsss911-p`): no model reads an accent into those that differs from the first reading only in
    accented letters, and on the SROIE receipts six models were asked for each, for nothing.
    """
    inner = text.strip(EDGE_PUNCTUATION)
    if LETTERS_AROUND_DIGIT.fullmatch(inner) is not None:
        return True
    last = len(inner) - 1
    return bool(inner) and all(ch.isalpha() or (ch in INNER_MARKS and 0 < i < last) for i, ch in enumerate(inner))


def weak_words(page: Page, boxes: Sequence[BBox], letters: str = ALL_MARKLESS) -> list[Word]:
    """Return the words inside `boxes` that may have lost a markless letter: read weakly, or with a capital inside.

    A word read below UNSURE_WORD, or below TWIN_WORD holding what eng reads for one of the markless `letters` the
    models know (TWINS: `Hauptstrafe` at 0.82), or with a capital inside lower case (INNER_CAPITAL:
    `IndustriestraRe` at 0.81, eng reads ß as R or B firmly). Only words of two or more lower-case letters with no
    accented letter yet (a markless letter sits in a name or a word, not in a code).
    """
    twins = [twin for letter, twin in TWINS.items() if letter in letters]
    return [
        w
        for w in page.words
        if (
            w.confidence < UNSURE_WORD
            or (w.confidence < TWIN_WORD and any(twin.search(w.text) for twin in twins))
            or INNER_CAPITAL.search(w.text) is not None
        )
        and sum(1 for ch in w.text if ch.islower()) >= 2
        and not has_accent(w.text)
        and any(_inside(w.bbox, box) for box in boxes)
    ]


def markless_only(new: str, old: str, letters: str) -> bool:
    """Return True when `new` differs from `old` only where `new` has one of `letters` (`Søren` for `Sgren`).

    Such a letter may also stand where `old` has none (`Hauptstraße` for `Hauptstrae`: eng dropped the ß), once, or
    where `old` has two letters (`Hauptstraße` for `Hauptstrafge`: eng read a wide ß as two glyphs), once; not for the
    two letters it is also spelt with (`Strasse` is a spelling of its own, not a misread of `Straße`).
    """
    if new == old:
        return False
    if len(new) == len(old) + 1:
        return any(
            new[i] in letters and (new[:i] + new[i + 1 :]).casefold() == old.casefold() for i in range(len(new))
        )
    if len(new) == len(old) - 1:
        return any(
            new[i] in letters
            and new[i] in WIDE_MARKLESS
            and new[:i].casefold() == old[:i].casefold()
            and new[i + 1 :].casefold() == old[i + 2 :].casefold()
            and old[i : i + 2].casefold() not in SPELT_OUT
            for i in range(len(new))
        )
    if len(new) != len(old):
        return False
    return all(a.casefold() == b.casefold() or a in letters for a, b in zip(new, old, strict=True))


def _inside(bbox: BBox, box: BBox) -> bool:
    x, y = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _holds(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


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
