"""Confident codes read again in black and white: what a stamp's remnants or light noise made the page read.

A rubber stamp over a typed value is dropped out before OCR (readers.ocr.to_grey), but its outline stays as
a faint grey line around the letters; tesseract read the `L` of `SK-380-DL` inside the outline of the stamp's
`E` as `E`, at word confidence 0.89, and the registration was taken at 0.99 calibrated. Cut out and made black
and white at the middle of its paper and ink levels (readers.marks.binarised), the faint line goes and the
value reads `SK-380-DL` at both sizes.

Which values: on OCR pages, a confident (calibrated, at or over the threshold less NEAR) `code` field, a one-line
`text` field read by a pattern (a registration, a name) or a `money` field, whose weakest word tesseract read
below SURE_WORD (its usual confidence for a clean word is 0.96). All such values of a page are read in one OCR
call, each at CLEAN_SCALES sizes. When no reading gives the value (spaces, separators, case and stray marks at the ends
ignored), the value goes below auto-accept (extract_confirm.DOUBT_CAP) with a Problem saying what was read;
when both readings give the same other value that fits the field's pattern, the value takes it (still below
auto-accept: the two readings disagree), unless it is the value less its first or last character (`edge_lost`: a
faint glyph at the end erased by black and white), which leaves the value as read, doubted. A value one reading
gives stays as it is, and so does an accented value read again without its accents (black and white erases a thin
acute: `Noémie` read `Noemie`), doubted.

An amount is only ever doubted, never replaced: when neither reading parses to the amount read, it goes below
auto-accept with a Problem naming the readings (full seed 23 motor 011: an APPROVED stamp's `O` over `4,335.72`,
the outline left after drop-out closed the 5's bowl, `4336.72` at word confidence 0.93 was taken at 0.99; read
again in black and white it reads `4,335.72` at both sizes); when a reading parses to another amount, at most
extract_reread.RIVAL_AMOUNT_CAP, as two readings of a box that give two amounts (seed 29 small cms1500 preprinted
001 degraded: box 29's 213.91 read `413 91` on the page, `213.91` / `4213.91` in black and white, kept at DOUBT_CAP
was 0.969 calibrated).

With a second recognizer (PP-OCR, trained apart from tesseract), the value's box is read by it too where the
page and black and white disagree (`tie_break`): the page's value stays (doubted) when it reads the page's, and
where the two tesseract readings differ only at some glyphs and it reads a third glyph there, agreeing with both
elsewhere, its reading is taken (doubted): receipts14, a clean 200-dpi Courier `DAMAI` (0.92) read `DAMAT` in
black and white at both sizes, PP-OCR `DAMAI`; an italic till number's T read `1` on the page, `7` in black and
white, PP-OCR `T683364`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol

from claimflow.errors import ReasonCode
from claimflow.extract_accents import has_accent, skeleton
from claimflow.extract_confirm import SCRIPT_FREE, doubt, same_code
from claimflow.extract_glyphs import value_words
from claimflow.extract_reread import CUT_CAP, RIVAL_AMOUNT_CAP, calibrated, read_longer
from claimflow.extract_values import parse_value
from claimflow.models import BBox, Extraction, Field, Money, Page, ReadDocument, ReadMethod
from claimflow.normalise import normalise_code
from claimflow.specs import FieldSpec, Spec, SpecSet

CLEAN_SCALES = (1.0, 2.0)
"""The sizes a value is read at in black and white (as cut, small type doubled first; and twice that)."""
SURE_WORD = 0.95
"""A value whose every word tesseract read at this confidence or more is not read again."""
NEAR = 0.03
"""Values this close under the threshold (calibrated) are checked too: `SK-380-DE` for `SK-380-DL` was at 0.9895
under 0.99, and a refit of the curves moves such a value over the line."""
LONGEST = 30
"""Text values longer than this (descriptions, addresses) are not read again: a sentence rarely reads alike twice."""
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")
SecondRead = Callable[[Page, BBox], str]
"""The second recognizer's reading of one box of a page ('' when it reads nothing): extract_words.second_reader."""


class CleanLook(Protocol):
    """The image side (claimflow.readers.marks.PageMarks): read boxes again, cut and made black and white."""

    def reread(
        self,
        page: Page,
        boxes: Sequence[BBox],
        *,
        lang: str,
        scales: Sequence[float] | None = None,
        binarise: bool = False,
    ) -> list[str] | None:
        """Return one text per box, read again with the tesseract model `lang` (None when it cannot)."""
        ...


def unsure_values(part: Extraction, specs: SpecSet, pages: dict[int, Page], threshold: float) -> list[str]:
    """Return the fields of `part` to read again in black and white (module docstring), in spec order."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    names = []
    for name, field_spec in spec.fields.items():
        found = part.fields.get(name)
        if found is None or not _kind_fits(field_spec, found):
            continue
        page = pages.get(found.provenance.page) if found.provenance.page is not None else None
        if page is None or found.provenance.bbox is None or calibrated(part, found, specs) < threshold - NEAR:
            continue
        if field_spec.confirm or any(model in page.language for model in ("chi", "jpn", "kor")):
            continue  # a code on a Han page is confirmed with eng (extract_confirm.py)
        words = value_words(found, page)
        if words and min(w.confidence for w in words) < SURE_WORD:
            names.append(name)
    return names


def read_clean(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    look: CleanLook,
    *,
    threshold: float,
    only: Sequence[str] | None = None,
    second: SecondRead | None = None,
) -> int:
    """Read the unsure confident values again in black and white, one OCR call per page; return the calls.

    `second` reads a value's box where the page and black and white disagree (module docstring, `tie_break`).
    """
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    asked: dict[int, list[tuple[Extraction, Field, FieldSpec]]] = {}
    for part in parts:
        for name in unsure_values(part, specs, pages, threshold):
            if only is not None and name not in only:
                continue
            found = part.fields[name]
            field_spec = specs.specs[part.document_type].fields[name]
            asked.setdefault(found.provenance.page or 0, []).append((part, found, field_spec))
    calls = 0
    for number, values in asked.items():
        page = pages[number]
        boxes = [box for _, found, _ in values for box in [found.provenance.bbox] * len(CLEAN_SCALES) if box]
        texts = look.reread(page, boxes, lang=page.language, scales=list(CLEAN_SCALES) * len(values), binarise=True)
        calls += 1
        if texts is None or len(texts) != len(boxes):
            continue
        for index, (part, found, field_spec) in enumerate(values):
            readings = texts[index * len(CLEAN_SCALES) : (index + 1) * len(CLEAN_SCALES)]
            _judge(part, found, field_spec, specs.specs[part.document_type], page, readings, second)
    return calls


def _judge(
    part: Extraction,
    found: Field,
    field_spec: FieldSpec,
    spec: Spec,
    page: Page,
    readings: Sequence[str],
    second: SecondRead | None = None,
) -> None:
    """Keep a value one reading gives; else take what both readings agree on (if it fits), doubted either way.

    An amount is kept when a reading parses to it as the page's value was parsed (`parse_value`), else doubted.
    """
    value = str(found.value)
    cleaned = [_EDGE.sub("", " ".join(text.split())) for text in readings]
    name = found.name
    if field_spec.type == "money":
        amount = found.value.amount if isinstance(found.value, Money) else None
        amounts = [_amount_of(text, field_spec, spec) for text in cleaned]
        if amount not in amounts:
            shown = " / ".join(repr(text) for text in cleaned)
            message = f"{name}: read again in black and white as {shown}, not {amount}; check the amount"
            doubt(part, name, page, ReasonCode.FIELD_AMBIGUOUS, message)
            if any(other is not None for other in amounts):  # another amount read in its box: a toss, not a doubt
                doubted = part.fields[name]
                part.fields[name] = dataclasses.replace(doubted, confidence=min(doubted.confidence, RIVAL_AMOUNT_CAP))
        return
    if any(same_code(text, value) for text in cleaned):
        return
    if has_accent(value) and any(not has_accent(t) and same_code(skeleton(t), skeleton(value)) for t in cleaned):
        # black and white erases thin accents (`Noémie` read `Noemie` at both sizes, seed 13 full motor 018): the
        # letters agree, the accents the page read stay; unconfirmed, the value goes below auto-accept
        message = f"{name}: read again in black and white without its accents, not {value!r}; check them"
        doubt(part, name, page, ReasonCode.FIELD_AMBIGUOUS, message)
        return
    other = cleaned[0] if cleaned and all(same_code(text, cleaned[0]) for text in cleaned) else ""
    if other and field_spec.type == "code":
        other = normalise_code(other)
    flags = re.IGNORECASE if field_spec.ignore_case else 0
    fits = bool(other) and (field_spec.pattern is None or re.fullmatch(field_spec.pattern, other, flags) is not None)
    if fits and mark_read_for(found, other, page):
        # the page read a glyph at the value's end as a mark its pattern does not take (an italic I read `/`:
        # `/NV-48087`, seed 24 invoice 002 degraded), black and white a letter there at both sizes: the page saw
        # that glyph too, so the second recognizer losing it as well is no vote for the shorter value
        part.fields[name] = dataclasses.replace(found, value=other, raw=other)
        message = f"{name}: the page reads {value!r} after a mark, the value read again in black and white {other!r}"
        doubt(part, name, page, ReasonCode.FIELD_AMBIGUOUS, f"{message}; check it")
        return
    if other and second is not None and found.provenance.bbox is not None:
        third = _EDGE.sub("", " ".join(second(page, found.provenance.bbox).split()))
        if third and field_spec.type == "code":
            third = normalise_code(third)
        if third and same_code(third, value):
            # two recognizers trained apart read the page's value: black and white's other reading is outvoted,
            # unless it read the value and more at an end: the second recognizer read the value's own box, cut
            # where the page's reading stopped (`SRP-4800` in black and white, `RP-4800` on the page and by PP-OCR,
            # for GRP-48003), and does not vote on what lies past it
            message = f"{name}: read again in black and white as {other!r}, by the second recognizer as the page's"
            doubt(part, name, page, ReasonCode.FIELD_AMBIGUOUS, f"{message} {value!r}; check it")
            _cut_short(part, name, value, [other], field_spec)
            return
        if third and tie_break(value, other, third):
            other = third
    fits = bool(other) and (field_spec.pattern is None or re.fullmatch(field_spec.pattern, other, flags) is not None)
    if fits and edge_lost(value, other):
        # black and white erases a faint glyph at the value's end (an italic C: `LM-2026-365020` for the page's
        # `CLM-2026-365020` at both sizes, seeds 17 and 19 invoices): no better reading, the page's stays, doubted
        message = f"{name}: read again in black and white as {other!r}, a character short of {value!r}; check it"
        doubt(part, name, page, ReasonCode.FIELD_AMBIGUOUS, message)
    elif fits:
        part.fields[name] = dataclasses.replace(found, value=other, raw=other)
        message = f"{name}: the page reads {value!r}, the value read again in black and white {other!r}; check it"
        doubt(part, name, page, ReasonCode.FIELD_AMBIGUOUS, message)
    else:
        shown = " / ".join(repr(text) for text in cleaned)
        message = f"{name}: read again in black and white as {shown}, not {value!r}; check it"
        doubt(part, name, page, ReasonCode.FIELD_AMBIGUOUS, message)
        _cut_short(part, name, value, cleaned, field_spec)


def _cut_short(part: Extraction, name: str, value: str, readings: Sequence[str], field_spec: FieldSpec) -> None:
    """Keep the field at most CUT_CAP when a black-and-white reading holds its value and more at an end.

    Such a reading went on where the page's stopped (`sRP-4800` for `RP-4800`, box 11's GRP-48003 cut at both
    edges of a degraded pre-printed form): the value may be cut, whatever else read it. A code is compared without
    the spaces a reading put in it.
    """
    texts = ["".join(text.split()) if field_spec.type == "code" else text for text in readings]
    if any(read_longer(value, text) for text in texts):
        found = part.fields[name]
        part.fields[name] = dataclasses.replace(found, confidence=min(found.confidence, CUT_CAP))


EDGE_MARKS = frozenset("/\\|!'`")
"""Marks an upright or slanted stroke of a glyph (I, l, 1) is read as: none is part of a code's pattern at its end."""


def mark_read_for(found: Field, other: str, page: Page) -> bool:
    """Return True when `other` is the value with one more letter or digit at an end where the page read a mark.

    The page's words holding the value (`value_words`) read a character of EDGE_MARKS right before or after it,
    glued to it, that the field's pattern left out (`/NV-48087` taken as `NV-48087`); `other` reads a letter or
    digit in its place (`INV-48087`). The page saw a glyph there: the value lost it to the pattern, not to noise.
    """
    value, longer = normalise_code(str(found.value)), normalise_code(other)
    if len(longer) != len(value) + 1 or not value:
        return False
    words = value_words(found, page)
    if not words:
        return False
    for word in words:
        text = normalise_code(word.text)
        at = text.find(value)
        if at < 0:
            continue
        before = text[at - 1] if at > 0 else ""
        after = text[at + len(value)] if at + len(value) < len(text) else ""
        if longer[1:] == value and longer[0].isalnum() and before in EDGE_MARKS and before:
            return True
        if longer[:-1] == value and longer[-1].isalnum() and after in EDGE_MARKS and after:
            return True
    return False


def tie_break(value: str, other: str, third: str) -> bool:
    """Return True when `third` settles where `value` and `other` split: a glyph of its own there, theirs elsewhere.

    The three readings are as long (spaces, separators and case aside, as `same_code`); where the two agree, the
    third agrees with them; where they differ, it reads neither (`1683364` / `7683364` / `T683364`).
    """
    one, two, three = (SCRIPT_FREE.sub("", text).upper() for text in (value, other, third))
    if not len(one) == len(two) == len(three) or one == two:
        return False
    return all(c == a if a == b else c not in (a, b) for a, b, c in zip(one, two, three, strict=True))


STROKES = frozenset("1IL|!J/\\-_.,:;'`")
"""Characters (upper-cased) a speck or a rule's stroke beside a value is read as: one the page read at a value's end
may be noise (`1T445862`), so a reading without it is no lost glyph."""


def edge_lost(value: str, other: str) -> bool:
    """Return True when `other` is `value` less its first or last character (spaces and case aside).

    Not when that character is one a stroke of noise is read as (STROKES): the page's `1T503790` read alone
    `T503790` lost a speck, not a glyph.
    """
    full, short = normalise_code(value), normalise_code(other)
    if len(full) != len(short) + 1:
        return False
    return (short == full[1:] and full[0] not in STROKES) or (short == full[:-1] and full[-1] not in STROKES)


def _amount_of(text: str, field_spec: FieldSpec, spec: Spec) -> Decimal | None:
    """Return the amount a reading gives, parsed as the field's values are (None when it gives none)."""
    typed = parse_value(text, field_spec, spec)
    return typed.value.amount if typed is not None and typed.keep and isinstance(typed.value, Money) else None


def _kind_fits(field_spec: FieldSpec, found: Field) -> bool:
    """Return True for a code, an amount, or a short one-line text read by a pattern."""
    if field_spec.type == "money":
        return isinstance(found.value, Money)
    if not isinstance(found.value, str):
        return False
    if field_spec.type == "code":
        return True
    value = str(found.value)
    return field_spec.type == "text" and field_spec.pattern is not None and len(value) <= LONGEST and "\n" not in value
