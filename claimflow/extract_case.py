"""Letter case a text value's word cannot have: a name or address word read with a capital inside a small word.

Tesseract tells some letters' cases apart only by their size: c o s u v w x z are the capital drawn smaller. On a
degraded scan a word's x-height is unsure and one such letter comes out in the other case, at a word confidence
as high as the rest (seed 28's CMS-1500 020: box 33's `Pinecrest Physical Therapy` read `Pinecrest PhySical
Therapy`, taken at 0.985 calibrated, confident and wrong; receipts' `MAIN sT` for `MAIN ST`, `23QxX` for `23QX`).
Nothing else checks a text value's letters, so each Latin word of a text value read by OCR is looked at here
(`odd_words`); a word is odd when

- a capital of those size-only letters follows a small letter inside the word (`PhySical`), unless what comes
  before it is a name's prefix (NAME_PREFIXES: `McCoy`, `MacSween`, `DeVito`, `LaSalle`); parts split at a
  hyphen, an apostrophe or a slash are words of their own (`O'Connor`, `Smith-Jones`);
- a small one of those letters stands in a word whose other letters are capitals, with a capital after it
  (`sT`, `23QxX`; not `GmbH`, `KGaA`, `iPhone`, `BSc`: their small letters are no size-only ones, or end it);
- a UK postcode's inward part (a digit and two letters, after an outward part such as `BS2`) holds a digit where
  a letter belongs, a small letter, or letters too many (`BS2 40X`, `BS2 2Qx`, `BS2 20QXX`); Canada's `A1A 1A1`
  is one too.

An odd word is read by the second recognizer (PP-OCR, trained apart: extract_words.second_reader), one reading of
its box on the page, and by what the page's first reading has in the value's box. A reading with the same letters
as the page's word, case aside, decides it:

- the same case as the value's word (`MedStar` read `MedStar`): the case is on the paper, the value stays as it is;
- a plausible case (`Physical`): the word is put right in the value; the two readings disagreed, so the value goes
  below auto-accept (at most DOUBT_CAP raw) with a Problem saying what was read;
- no such reading (the recognizer is missing, reads other letters, or the word's box is unknown): the value stays
  as read, at most DOUBT_CAP, with a Problem naming the word and what looked wrong, so a person looks.

Values below auto-accept are checked too (seed 27's receipt `BS2 20QXX` at 0.96 calibrated, 0.70 raw): the
Problem tells the person what to look at, and a reading may put the word right. Values with CJK characters and
fields with a list of `allowed` values are left alone; only values read on an OCR'd page are checked (a text PDF's
letters are what was typed).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from claimflow.errors import ReasonCode
from claimflow.extract_accents import trim_edges
from claimflow.extract_confirm import DOUBT_CAP
from claimflow.models import BBox, Extraction, Page, Problem, ReadDocument, ReadMethod, Word, centre_in
from claimflow.normalise import has_cjk
from claimflow.specs import SpecSet

SIZE_TWINS = frozenset("cosuvwxz")
"""Letters whose capital is the small letter drawn larger: OCR tells their case only by the glyph's size."""
NAME_PREFIXES = ("Mc", "Mac", "Fitz", "De", "Di", "Da", "Du", "Del", "La", "Le", "Van", "Von", "St")
"""What may come before a capital inside a name (`McCoy`, `MacSween`, `DeVito`, `LaSalle`, `VanSant`, `StClair`)."""
PARTS = re.compile(r"[-'’/.&]")
"""What splits a word into parts that each have their own case (`O'Connor`, `Smith-Jones`, `A/C`)."""
UK_OUTWARD = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$")
"""A UK postcode's outward part (`BS2`, `LS1`, `SW1A`, `M1`)."""
UK_INWARD = re.compile(r"^\d{1,2}[A-Z]{2}$")
"""... and its inward part: a digit and two letters (`4QX`); two digits are let pass (`20QX`: the generated
receipts write them, and a doubt on every such address would cost more than it saves: the letters are checked)."""
CA_POSTCODE = (re.compile(r"^[A-Z]\d[A-Z]$"), re.compile(r"^\d[A-Z]\d$"))
"""Canada's postcode parts (`K1A 0B1`): an inward part that is no UK one."""
INWARD_LIKE = re.compile(r"^\d[A-Za-z\d]{2,4}$")
"""A word after an outward part that is a misread inward part: a digit first, letters or digits, three to five."""

ORDINAL = re.compile(r"^\d+(?:ST|ND|RD|TH)$", re.IGNORECASE)
"""A floor or a street after a unit (`B2 3RD FLOOR`): no inward part."""

SecondReader = Callable[[Page, BBox], str]
"""Reads one box of a page with the second recognizer (extract_words.second_reader): '' when it reads nothing."""


@dataclasses.dataclass(frozen=True, slots=True)
class OddWord:
    """A word of a value whose case or letters do not fit how such a word is written, and why."""

    word: str
    why: str


def odd_words(value: str) -> list[OddWord]:
    """Return the words of a Latin text value whose letter case (or postcode shape) is implausible, in order."""
    words = value.replace(",", " ").split()
    odd: list[OddWord] = []
    for index, word in enumerate(words):
        why = _odd_case(trim_edges(word, ""))
        if why is None and index > 0 and _odd_inward(words[index - 1], word):
            why = "a postcode's inward part should end in two capitals after its digit"
        if why is not None:
            odd.append(OddWord(word, why))
    return odd


def _odd_case(word: str) -> str | None:
    """Return why a word's letter case is implausible, or None when it is not."""
    for part in PARTS.split(word):
        stripped = True
        while stripped:  # `DeLaCroix`: prefixes may follow each other
            stripped = False
            for prefix in NAME_PREFIXES:
                if len(part) > len(prefix) and part.startswith(prefix) and part[len(prefix)].isupper():
                    part, stripped = part[len(prefix) :], True
                    break
        letters = [ch for ch in part if ch.isalpha()]
        for i in range(1, len(part)):
            before, here = part[i - 1], part[i]
            if here.isupper() and here.lower() in SIZE_TWINS and before.isalpha() and before.islower():
                return f"a capital {here} inside a small word"
        for i, ch in enumerate(part):
            if not (ch.isalpha() and ch.islower() and ch in SIZE_TWINS):
                continue
            others = [c for c in letters if c != ch or c.isupper()]
            after = any(c.isupper() for c in part[i + 1 :])
            if others and after and all(c.isupper() or (c.islower() and c in SIZE_TWINS) for c in others):
                return f"a small {ch} inside a word in capitals"
    return None


def _odd_inward(before: str, word: str) -> bool:
    """Return True when `word` follows a UK or Canadian postcode's outward part but is no inward part."""
    outward, inward = before.strip(".,;:"), word.strip(".,;:")
    if not UK_OUTWARD.match(outward) or not INWARD_LIKE.match(inward) or not any(c.isalpha() for c in inward):
        return False
    if UK_INWARD.match(inward) or ORDINAL.match(inward):
        return False
    return not (CA_POSTCODE[0].match(outward) and CA_POSTCODE[1].match(inward))


def check_case(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    second: SecondReader | None,
    *,
    only: Sequence[str] | None = None,
) -> list[str]:
    """Put right, or doubt, the OCR text values with a word in an implausible case; return the fields changed."""
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    changed: list[str] = []
    for part in parts:
        for name in odd_fields(part, specs, pages):
            if only is not None and name not in only:
                continue
            found = part.fields[name]
            page = pages[found.provenance.page or 0]
            value = str(found.value)
            notes: list[str] = []
            doubted = False
            for odd in odd_words(value):
                reading = _plausible_reading(page, found.provenance.bbox, odd.word, second)
                if reading == odd.word:
                    continue  # another recognizer reads the same case: it is on the paper
                if reading is not None:
                    value = re.sub(rf"(?<![^\s,]){re.escape(odd.word)}(?![^\s,])", reading, value, count=1)
                    notes.append(f"{odd.word!r} ({odd.why}) was read {reading!r} again")
                else:
                    notes.append(f"{odd.word!r}: {odd.why}; no other reading puts it right")
                doubted = True
            if not doubted:
                continue
            raw = found.raw if value == str(found.value) else value
            part.fields[name] = dataclasses.replace(
                found, value=value, raw=raw, confidence=min(found.confidence, DOUBT_CAP)
            )
            message = f"{name}: the page reads {found.value!r}; " + "; ".join(notes) + "; check it"
            part.problems.append(Problem(ReasonCode.FIELD_AMBIGUOUS, message, page=page.number, field=name))
            changed.append(name)
    return changed


def odd_fields(part: Extraction, specs: SpecSet, pages: dict[int, Page]) -> list[str]:
    """Return the part's text fields read on an OCR'd page with an odd word (`odd_words`)."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    names = []
    for name, found in part.fields.items():
        field_spec = spec.fields.get(name)
        if field_spec is None or field_spec.type != "text" or field_spec.allowed:
            continue
        if found.provenance.page not in pages or not isinstance(found.value, str):
            continue
        if has_cjk(found.value) or not odd_words(found.value):
            continue
        names.append(name)
    return names


def _plausible_reading(page: Page, box: BBox | None, word: str, second: SecondReader | None) -> str | None:
    """Return another reading of `word`'s letters in a plausible case (or `word` when the recognizer agrees), or None.

    The page's first reading in the value's box comes first (a value a look read again); then the second
    recognizer's reading of the page word that holds `word`.
    """
    if box is None:
        return None
    folded = word.casefold()
    inside = [w for w in page.words if centre_in(w.bbox, box)]
    for other in inside:  # the page's first reading, when the value came from another (a region read again)
        text = trim_edges(other.text.strip(), word)
        if text.casefold() == folded and text != word and not odd_words(text):
            return text
    located: Word | None = next((w for w in inside if trim_edges(w.text.strip(), word) == word), None)
    if located is None or second is None:
        return None
    text = trim_edges(second(page, located.bbox).strip(), word)
    if text.casefold() != folded:
        return None
    return text if text == word or not odd_words(text) else None
