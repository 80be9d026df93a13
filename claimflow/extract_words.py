"""Codes read again alone: a weak code read at several sizes by majority, a missing Latin code read with eng.

Tesseract reads a line as one sequence, and a code in a monospaced face next to its label is where that
goes wrong most (`Receipt No: T794326` read `1794326`, `1T445862`): the model takes a T's bar for a 1's flag
in the line's context. Read alone, with white around it, the same word mostly reads right, but not at every
size. For a field whose spec says `reread_word: true`, a value on an OCR page below the auto-accept threshold
(calibrated) is cut out at WORD_SCALES sizes and read in one OCR call; when at least MAJORITY of the readings
agree on one code that fits the field's pattern and is not the value, the value takes it. Its confidence stays
as it was: the readings disagreed with the page, so a person still checks it. When no majority changes it but
one reading gives another code that fits (`T94 1540` at 3x beside `7941540` twice: T and 7 look alike in a
till's print), the value stays but at most RIVAL_CAP raw, flagged: a refit of the curves must not lift it.

A confident code is read alone the same way when it starts with a digit that a capital is often read as
(LETTER_TWINS: a letter prefix lost to its digit twin, `T711162` read `7711162` and `T941540` read `7941540`, both
handwriting-like italics, at 0.98 calibrated) and tesseract was unsure of its word (below SURE_WORD). Nothing else in
such a value can tell the prefix was lost. A majority for another code replaces it, a reading alone giving another
code doubts it; either way it goes below auto-accept (at most RIVAL_CAP), flagged.

A code field with `confirm: [eng]` (a Latin code on a page read with chi_sim) that no reading found at all (a
stamp over it on a 150-dpi scan: chi_sim read `P 股 扣 0E9D`) is read once with the confirming model in the row
right of its label; a code that fits the pattern there is taken at MISSING_CODE_CONFIDENCE with a Problem, so a
person checks it rather than typing it in.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract import extract_document
from claimflow.extract_accents import trim_edges
from claimflow.extract_clean import edge_lost, mark_read_for
from claimflow.extract_glyphs import value_words
from claimflow.extract_layout import build_lines, find_anchors
from claimflow.extract_paddle import PAD, Recognize
from claimflow.extract_reread import calibrated, put_found
from claimflow.extract_values import validate_value
from claimflow.models import (
    BBox,
    Extraction,
    Field,
    Page,
    Problem,
    Provenance,
    ReadDocument,
    ReadMethod,
    Word,
    centre_in,
)
from claimflow.normalise import normalise_code
from claimflow.readers.paddle_rec import RecognizerMissing
from claimflow.specs import FieldSpec, SpecSet

WORD_SCALES = (1.0, 1.5, 2.0, 3.0)
"""The sizes a code is read at, as cut (small type doubled first) and enlarged."""
MAJORITY = 3
"""How many of the readings must agree on a code for it to replace the value."""
RIVAL_CAP = 0.75
"""The most a weak code keeps when no majority replaced it but a reading alone gave another code that fits."""
MISSING_CODE_CONFIDENCE = 0.5
"""Raw confidence of a missing code found by one reading with another model: a person checks it."""
ROW_REACH = 0.45
"""How far right of its label (page width) a missing code is looked for when the label's line has no words there."""
LETTER_TWINS = frozenset("0125678")
"""Digits a code's leading capital is read as (O/D/Q, I/T/J, Z, S, G, T, B): a confident code starting so is checked."""
SURE_WORD = 0.95
"""A confident code whose words tesseract read at this confidence or more is not read again (clean print: 0.96)."""
OTHER_CODE_RATIO = 0.75
"""A missing code read beside its label this much like another code field's value is that value (the row above)."""
WEAK_TEXT_WORD = 0.6
"""A code-like word of a `reread_word` text field read below this is weak: read alone, it may gain or lose a glyph
(`23QxX` at 0.49 for a postcode's 23QX)."""
MIXED_TEXT_WORD = 0.95
"""A code-like word (a postcode, a unit) is read alone below this: clean 300-dpi Courier `8QX` read `80x` at 0.88 in
its line reads `8QX` alone at three of four sizes (receipts10; was WEAK_TEXT_WORD)."""
TEXT_WORD_RATIO = 0.5
"""A reading alone replaces a weak word only when this much like it (case aside): the same word, better read."""


class WordLook(Protocol):
    """The image side (claimflow.readers.marks.PageMarks): read boxes again, each at its own size."""

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        """Return one text per box, read again with the tesseract model `lang` (None when it cannot)."""
        ...


SecondReader = Callable[[Page, BBox], str]
"""Reads one box of a page with the second recognizer: its text, '' when it reads nothing it may give."""


def second_reader(
    recognize: Callable[[], Recognize], counted: Callable[[float, float], None] | None = None
) -> SecondReader:
    """Return a reader of one word's box with the second recognizer (PP-OCR, readers/paddle_rec.py).

    Tesseract reads a small Courier code by one model at every size, and where it goes wrong it goes wrong alike
    (a Q read 0, a T read 7 or 1 at two of four sizes); PP-OCR is trained apart and reads those glyphs right where
    the readings alone split (receipts11). The box is cut out with PAD of its height around it (a word's box is its
    ink already; cut down to grey below 128, `extract_paddle.inked`, a faded scan's word kept 5 x 5 pixels of it);
    the text is NFKC-folded and given only when it is plain ASCII (the Chinese model's own letters aside).
    `recognize` loads the model on first use; a missing model reads nothing. `counted(wall, cpu)` is told each
    reading's time.
    """

    def read(page: Page, box: BBox) -> str:
        image = page.image
        if not isinstance(image, Image.Image):
            return ""
        try:
            reader = recognize()
        except RecognizerMissing:
            return ""
        width, height = image.size
        pad = PAD * (box[3] - box[1]) * height
        crop = (
            max(0, math.floor(box[0] * width - pad)),
            max(0, math.floor(box[1] * height - pad)),
            min(width, math.ceil(box[2] * width + pad)),
            min(height, math.ceil(box[3] * height + pad)),
        )
        if crop[2] <= crop[0] or crop[3] <= crop[1]:
            return ""
        started, cpu = time.perf_counter(), time.thread_time()
        reading = reader(image.crop(crop).convert("L"))
        if counted is not None:
            counted(time.perf_counter() - started, time.thread_time() - cpu)
        text = unicodedata.normalize("NFKC", reading.text).strip()
        return text if text.isascii() and text.isprintable() else ""

    return read


def weak_codes(part: Extraction, specs: SpecSet, threshold: float) -> list[str]:
    """Return the `reread_word` codes of `part` read by OCR below the threshold (calibrated), with their box."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    return [
        name
        for name, field_spec in spec.fields.items()
        if field_spec.reread_word
        and field_spec.type == "code"
        and (field := part.fields.get(name)) is not None
        and isinstance(field.value, str)
        and field.provenance.method is ReadMethod.OCR
        and field.provenance.bbox is not None
        and calibrated(part, field, specs) < threshold
    ]


def doubtful_codes(part: Extraction, specs: SpecSet, threshold: float, pages: Mapping[int, Page]) -> list[str]:
    """Return the confident `reread_word` codes on `pages` that start with a letter's digit twin, read unsure."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    names = []
    for name, field_spec in spec.fields.items():
        field = part.fields.get(name)
        if not field_spec.reread_word or field_spec.type != "code" or field is None or not isinstance(field.value, str):
            continue
        page = pages.get(field.provenance.page) if field.provenance.page is not None else None
        if page is None or field.provenance.method is not ReadMethod.OCR or field.provenance.bbox is None:
            continue
        if field.value[:1] not in LETTER_TWINS or calibrated(part, field, specs) < threshold:
            continue
        words = value_words(field, page)
        if words and min(w.confidence for w in words) < SURE_WORD:
            names.append(name)
    return names


def sure_twin_codes(part: Extraction, specs: SpecSet, threshold: float, pages: Mapping[int, Page]) -> list[str]:
    """Return the confident `reread_word` codes on `pages` that start with a letter's digit twin, read sure.

    Tesseract is as sure of a letter it took for its digit twin as of the digits around it (full seed 29 receipt 010
    degraded: an italic `T664754` read `1664754` at word confidence 0.95, like every word of the page, taken at
    0.993 calibrated, confident and wrong; read alone at four sizes, three readings say `1664754` again: the same
    model makes the same mistake). Only the second recognizer, trained apart, reads such a code independently
    (`check_twin_codes`).
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    doubtful = set(doubtful_codes(part, specs, threshold, pages))
    names = []
    for name, field_spec in spec.fields.items():
        field = part.fields.get(name)
        if not field_spec.reread_word or field_spec.type != "code" or field is None or not isinstance(field.value, str):
            continue
        if name in doubtful or field.provenance.page not in pages or field.provenance.method is not ReadMethod.OCR:
            continue
        if field.provenance.bbox is None or field.value[:1] not in LETTER_TWINS:
            continue
        if calibrated(part, field, specs) >= threshold:
            names.append(name)
    return names


def check_twin_codes(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, *, threshold: float, only: Sequence[str],
    second: SecondReader,
) -> None:
    """Doubt a sure code (`sure_twin_codes`, of `only`) the second recognizer reads with a letter for its first digit.

    One reading of the code's box by the second recognizer (no tesseract call). When it reads the code with a
    letter where the page has that letter's digit twin and the rest alike (`T664754` for the page's `1664754`),
    the page's code is kept below auto-accept (RIVAL_CAP) with a Problem naming both readings: two recognizers
    disagree on the first character, and nothing on the page tells which is right.
    """
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    for part in parts:
        for name in sure_twin_codes(part, specs, threshold, pages):
            if name not in only:
                continue
            field = part.fields[name]
            page = pages[field.provenance.page]  # type: ignore[index]
            box = with_glued_words(page, field.provenance.bbox)  # type: ignore[arg-type]
            other = code_read(second(page, box), specs.specs[part.document_type].fields[name])
            if isinstance(field.value, str) and _letter_lost(other, field.value):
                _doubt(part, field, other, page, by="the second recognizer")


def missing_codes(part: Extraction, specs: SpecSet) -> list[str]:
    """Return the code fields of `part` with a `confirm` model that no reading found."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    return [n for n, f in spec.fields.items() if f.type == "code" and f.confirm and n not in part.fields]


def read_codes_alone(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    look: WordLook,
    *,
    threshold: float,
    only: Sequence[str] | None = None,
    second: SecondReader | None = None,
) -> int:
    """Read the weak `reread_word` codes (of `only`, if given) again alone (module docstring); return the calls.

    With `second`, each code's box is also read by the second recognizer, whose code wins when one of tesseract's
    readings (the page's or one alone) read it too (`majority_code(second=)`).
    """
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    calls = 0
    for part in parts:
        doubtful = doubtful_codes(part, specs, threshold, pages)
        for name in [*weak_codes(part, specs, threshold), *doubtful]:
            field = part.fields[name]
            if (only is not None and name not in only) or field.provenance.page not in pages:
                continue
            if field.provenance.bbox is None or not isinstance(field.value, str):
                continue
            field_spec = specs.specs[part.document_type].fields[name]
            page = pages[field.provenance.page]
            box = with_glued_words(page, field.provenance.bbox)
            texts = look.reread(page, [box] * len(WORD_SCALES), lang=page.language, scales=WORD_SCALES)
            calls += 1
            other = second(page, box) if second is not None else ""
            code = majority = majority_code(texts or [], field_spec, page_value=field.value, second=other)
            doubled = code is not None and _read_twice(field.raw, code, code_read(other, field_spec))
            if code is not None and not doubled and (_letter_lost(field.value, code) or edge_lost(field.value, code)):
                # `T240816` read `7240816` alone: the page's letter is kept; so is a first or last glyph read alone
                # as a mark and cut (an italic C read `>`, `?`, `"`: `LM-2026-365020` for `CLM-2026-365020`)
                _doubt(part, field, code, page)
                continue
            dropped = code is not None and marks_dropped(field.value, code)
            if code is not None and dropped and field.value in (code_read(text, field_spec) for text in texts or []):
                # a separator the page read, lost alone (seed 27 invoice 003 degraded: the page's `INV-48124`,
                # alone `INV-48124` at 1.5x and `-INV48124` twice, PP-OCR `INV48124`): a faint thin stroke is lost
                # more often than made up in a code's shape. The page's code is kept when a reading alone read it
                # too, else the code is taken; either way below auto-accept (RIVAL_CAP), flagged
                _doubt(part, field, code, page)
                continue
            if code is None or code == field.value:
                rival = rival_code(texts or [], field_spec, field.value)
                if rival is not None and mark_read_for(field, rival, page):
                    # the page read the glyph the rival has as a mark its pattern left out (`/NV-48449`): the
                    # rival's letter is no glyph a reading alone made up; taken below auto-accept, flagged
                    code = rival
                elif rival is not None:
                    _doubt(part, field, rival, page)
                    continue
                else:
                    continue
            capped = dropped or name in doubtful or code != majority
            confidence = min(field.confidence, RIVAL_CAP) if capped else field.confidence
            part.fields[name] = dataclasses.replace(field, value=code, raw=code, confidence=confidence)
            part.problems.append(
                Problem(
                    ReasonCode.FIELD_AMBIGUOUS,
                    f"{name}: the page reads {field.value!r}, the code read alone {code!r}; check it",
                    page=page.number,
                    field=name,
                )
            )
    return calls


def _letter_lost(value: str, code: str) -> bool:
    """Return True when `code` is `value` with its leading letter read as the letter's digit twin (LETTER_TWINS)."""
    return len(code) == len(value) and value[:1].isalpha() and code[:1] in LETTER_TWINS and code[1:] == value[1:]


def _read_twice(raw: str, code: str, second: str) -> bool:
    """Return True when the page's code read one capital twice, the second time small, and the others read it once.

    Clean 200-dpi print: the page's `CcS405080` at 0.36 (normalised `CCS405080`), every reading alone and PP-OCR
    `CS405080`. A capital followed by its own small letter in a code in capitals is one glyph read twice, not a
    glyph the readings alone lost (`edge_lost` keeps the page's value for those): the code only when the second
    recognizer read it too (`second`: the code its reading of the box says).
    """
    if second != code:
        return False
    text = raw.strip()
    for i in range(len(text) - 1):
        a, b = text[i], text[i + 1]
        if (
            a.isupper()
            and b.islower()
            and a.casefold() == b.casefold()
            and normalise_code(text[:i] + text[i + 1 :]) == code
        ):
            return True
    return False


def rival_code(texts: Sequence[str], field_spec: FieldSpec, value: str) -> str | None:
    """Return a code one of `texts` read alone that fits the pattern and is not `value`, None when none does."""
    for text in texts:
        code = code_read(text, field_spec)
        if code and code != value:
            return code
    return None


EDGE_MARKS = ".,;:!?'\"`‘’“”|()[]{}<>-_~=#°*"
"""Marks a word cut out with a margin gains at its edges (a label's colon, a rule read as `-`, a speck)."""


def code_read(text: str, field_spec: FieldSpec) -> str:
    """Return the code that one reading alone of a code's box says, '' when it says none that fits the pattern.

    The whole reading, spaces dropped, when it fits (`CLM-2026-1 68016`). Else the one word of it that fits once
    the marks at its edges are cut (EDGE_MARKS): the box of a code tesseract glued to its label (`No:!NV-48334`)
    holds the label too, read alone `No: INV-48334` or `#: INV-48597`, and a margin may add a mark (`-INV-48790`).
    Only when every other word has no digit (no piece of the code was split off) and no other word fits.
    """
    flags = re.IGNORECASE if field_spec.ignore_case else 0

    def fits(code: str) -> bool:
        return bool(code) and (field_spec.pattern is None or re.fullmatch(field_spec.pattern, code, flags) is not None)

    code = normalise_code(text)
    if fits(code):
        return code
    words = [normalise_code(word.strip(EDGE_MARKS)) for word in text.split()]
    codes = [word for word in words if fits(word)]
    others = [word for word in words if not fits(word)]
    if len(codes) != 1 or any(ch.isdigit() for word in others for ch in word):
        return ""
    return codes[0]


def _doubt(
    part: Extraction, field: Field, rival: str, page: Page, *, by: str = "one reading of the code alone"
) -> None:
    """Keep the page's code but below auto-accept: another reading (`by`) gave another code (`T941540`, `7941540`)."""
    part.fields[field.name] = dataclasses.replace(field, confidence=min(field.confidence, RIVAL_CAP))
    part.problems.append(
        Problem(
            ReasonCode.FIELD_AMBIGUOUS,
            f"{field.name}: the page reads {field.value!r}, {by} {rival!r}; check it",
            page=page.number,
            field=field.name,
        )
    )


GLUED = re.compile(r"[A-Z0-9/\-_]+")
"""A word that may continue a code (capitals, digits, separators)."""


def with_glued_words(page: Page, box: BBox) -> BBox:
    """Return `box` widened over the code-like words beside it on its line, a space or less away.

    Tesseract splits a code at the side bearing of a `1` as if at a space (`MP-2026-8661` `12` for
    `MP-2026-866112`): the field took the first piece (and lost confidence for the word beside it); read alone
    with that word, the code is one word again. The field may take the second piece too (seed 23 motor 003, clean
    and degraded: `MP-2026-81` `1384`, `1384` at 0.96): a piece before it is glued only when it holds a digit (a
    label in capitals, `INVOICE NO`, is no piece of the code); those after it need no digit.
    """
    inside = [w for w in page.words if centre_in(w.bbox, box)]
    if not inside:
        return box
    height = max(w.bbox[3] - w.bbox[1] for w in inside)
    lines = {(w.block, w.line) for w in inside}
    left, right = box[0], box[2]
    for word in sorted(page.words, key=lambda w: w.bbox[0]):
        if (word.block, word.line) not in lines or word in inside or not GLUED.fullmatch(word.text):
            continue
        if right < word.bbox[0] <= right + height:
            right = word.bbox[2]
    for word in sorted(page.words, key=lambda w: -w.bbox[2]):
        if (word.block, word.line) not in lines or word in inside or not GLUED.fullmatch(word.text):
            continue
        if left - height <= word.bbox[2] < left and any(ch.isdigit() for ch in word.text):
            left = word.bbox[0]
    return (left, box[1], right, box[3]) if (left, right) != (box[0], box[2]) else box


def majority_code(
    texts: Sequence[str], field_spec: FieldSpec, *, page_value: str | None = None, second: str = ""
) -> str | None:
    """Return the code most of `texts` read, when it fits the field's pattern; else None.

    Most: at least MAJORITY of them, or, when some sizes read nothing at all, at least two and more than half
    of the readings that read something (`''`, `CLM-2026-01 7006`, `CLM-2026-91 7006`, `CLM-2026-91 7006`).
    Each reading's code is `code_read`'s: a label read with the code (`No: INV-48334`) is no other code.
    With `page_value` (the page's reading), two readings that put back a leading letter the page read as its digit
    twin (`T119027` twice for `1119027`, the others `1119027` and `TLLYO2`) win when no other code has as many:
    a till's T read 1 or 7 in its line is what goes wrong there, and large sizes of thin print read noise.
    With `second` (the second recognizer's reading of the box), its code wins when the page or a reading alone read
    that code too: two recognizers trained apart agree (`T537248` at 3x and by PP-OCR against the page's `1537248`,
    `7537248` at 2x). Its code being the page's keeps the page's (a majority alone for another code is outvoted).
    It wins too when each of its characters was read in its place by one of tesseract's readings (`pieced`: the page's
    `1352363` and `T3o2565` alone give PP-OCR's `T352363` character by character, seed 17 receipt 004 clean).
    """
    codes = [normalise_code(text) for text in texts]
    fitting = [code for code in (code_read(text, field_spec) for text in texts) if code]
    other = code_read(second, field_spec) if second else ""
    if other and (other == page_value or other in fitting or pieced(other, [page_value or "", *fitting])):
        return other
    if other and any(marks_apart(other, text) for text in texts):
        return other
    if not fitting:
        return None
    ranked = Counter(fitting).most_common(2)
    code, count = ranked[0]
    read = sum(1 for c in codes if c)
    if count >= MAJORITY or (count >= 2 and 2 * count > read):
        return code
    alone = len(ranked) == 1 or ranked[1][1] < count
    if page_value is not None and count >= 2 and alone and _letter_lost(code, page_value):
        return code
    return None


def marks_dropped(value: str, code: str) -> bool:
    """Return True when `code` is `value` with one or more of its marks (separators: `-`, `/`, `_`) left out.

    The same letters and digits in the same order, and fewer marks: `INV48124` for the page's `INV-48124`.
    """
    return len(code) < len(value) and "".join(filter(str.isalnum, code)) == "".join(filter(str.isalnum, value))


def marks_apart(code: str, text: str) -> bool:
    """Return True when a reading alone (`text`) has `code`'s letters and digits in order and differs only in marks.

    Seed 23 invoice 003 degraded: the page's `CLM-2026` (the rest lost), alone `CLM-2026'591003,` (the second hyphen
    read as an apostrophe: no code the pattern takes), PP-OCR `CLM-2026-591003`; seed 18 receipt 020 degraded: the
    page's `916432` (its CS lost), alone `CS$916432`, PP-OCR `CS916432`. Where the two recognizers read the same
    letters and digits, one by one, and tesseract's reading has a mark the pattern does not take or one less, the
    second recognizer's code is the code. Spaces aside.
    """
    read = normalise_code(text.strip())
    if read == code:
        return False
    return [ch for ch in read if ch.isalnum()] == [ch for ch in code if ch.isalnum()]


def pieced(code: str, readings: Sequence[str]) -> bool:
    """Return True when every character of `code` is read in its place by one of the `readings` as long as it.

    None as long as it: False.
    """
    same = [reading for reading in readings if len(reading) == len(code)]
    return bool(same) and all(any(reading[i] == ch for reading in same) for i, ch in enumerate(code))


def read_missing_codes(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, look: WordLook, *, only: Sequence[str] | None = None
) -> int:
    """Read missing `confirm` codes with their model right of their labels, one call per page; return the calls."""
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    calls = 0
    for part in parts:
        spec = specs.specs.get(part.document_type)
        if spec is None or not pages:
            continue
        missing = [(name, spec.fields[name]) for name in missing_codes(part, specs) if only is None or name in only]
        for page in pages.values():
            if part.pages and page.number not in part.pages:
                continue  # another document's page in the same file: its codes are not this part's
            wanted = [
                (name, field_spec, model, box)
                for name, field_spec in missing
                if name not in part.fields
                for model in field_spec.confirm[:1]
                if model not in page.language.split("+")
                if (box := row_right_of_label(page, field_spec)) is not None
            ]
            for model in sorted({model for _, _, model, _ in wanted}):
                asked = [(name, field_spec, box) for name, field_spec, m, box in wanted if m == model]
                texts = look.reread(page, [box for _, _, box in asked], lang=model)
                calls += 1
                for (name, field_spec, box), text in zip(asked, texts or [], strict=False):
                    _take_missing(part, name, field_spec, page, box, text, model)
    return calls


def row_right_of_label(page: Page, field_spec: FieldSpec) -> BBox | None:
    """Return the box right of the field's best label on the page: to its line's last word, else ROW_REACH.

    Only words with a letter or digit count: when the line holds nothing after the label but its colon (the
    code was not read at all), the box reaches ROW_REACH, not the colon's edge.
    """
    lines = build_lines(page)
    hits = [hit for anchor in field_spec.anchors for hit in find_anchors(lines, anchor, field_spec.fuzzy)]
    if not hits:
        return None
    hit = max(hits, key=lambda h: h.score)
    # a label's own colon or a speck read as `;` is no value: it does not end the row
    after = [
        w
        for w in lines[hit.line_index].words[hit.end :]
        if w.bbox[0] >= hit.bbox[2] and any(ch.isalnum() for ch in w.text)
    ]
    height = hit.bbox[3] - hit.bbox[1]
    right = max((w.bbox[2] for w in after), default=min(1.0, hit.bbox[2] + ROW_REACH))
    if right <= hit.bbox[2]:
        return None
    return (hit.bbox[2], max(0.0, hit.bbox[1] - 0.25 * height), right, min(1.0, hit.bbox[3] + 0.25 * height))


def _take_missing(
    part: Extraction, name: str, field_spec: FieldSpec, page: Page, box: BBox, text: str, model: str
) -> None:
    """Take the code fitting the pattern in `text`, not confident, with a Problem naming the model.

    On a skewed page the row right of a label reaches into the row above (`PDZA2U2629345026_ RDBA202600232693`
    beside 报案号): a code like another code field's value (OTHER_CODE_RATIO) is that field's, not this one's,
    and a code failing the field's validators (a GB 11643 check character) is a misreading. When more than one
    code is left, the row is ambiguous and nothing is taken.
    """
    flags = re.IGNORECASE if field_spec.ignore_case else 0
    found = list(re.finditer(field_spec.pattern, text, flags)) if field_spec.pattern else []
    others = [f.value for n, f in part.fields.items() if n != name and isinstance(f.value, str)]
    codes: dict[str, str] = {}
    for match in found:
        raw = match.groupdict().get("value") or (match.group(1) if match.re.groups else match.group(0))
        code = normalise_code(raw)
        if validate_value(code, field_spec.validators) is not None:
            continue  # a check digit that does not match: a misread, not the code
        if not any(difflib.SequenceMatcher(None, code, other).ratio() >= OTHER_CODE_RATIO for other in others):
            codes.setdefault(code, raw)
    if len(codes) != 1:
        return
    code, raw = next(iter(codes.items()))
    where = Provenance(ReadMethod.OCR, page.number, box)
    put_found(part, Field(name, code, MISSING_CODE_CONFIDENCE, where, raw))
    part.problems.append(
        Problem(
            ReasonCode.FIELD_AMBIGUOUS,
            f"{name}: not read on the page; read again with {model} beside its label: {code!r}; check it",
            page=page.number,
            field=name,
        )
    )


def weak_text_words(
    part: Extraction, specs: SpecSet, threshold: float, pages: Mapping[int, Page]
) -> dict[str, list[Word]]:
    """Return the unsure words (below MIXED_TEXT_WORD) of the `reread_word` text fields of `part` below the threshold.

    Only code-like words (`code_like`: letters and digits in one word, a postcode, unit or lot number), inside the
    value's box on its OCR page. A plain word or number reads no better cut out of its line: on the 32 SROIE
    receipts (bench/extraction.py) the plain words and numbers read alone were 6 of the 13 calls on addresses
    and took nothing right (`53200,` read `93200,`, `12` read `1`; `JALAN`, `TAWAN`, `Alam,?*Selangor.` no
    majority). A word with a digit read below WEAK_TEXT_WORD is asked too (clean `119,` read `119%,` at 0.33), but
    takes only a reading the second recognizer and a reading alone share (`read_text_words_alone`).
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return {}
    out: dict[str, list[Word]] = {}
    for name, field_spec in spec.fields.items():
        field = part.fields.get(name)
        if not field_spec.reread_word or field_spec.type != "text" or field is None or not isinstance(field.value, str):
            continue
        page = pages.get(field.provenance.page) if field.provenance.page is not None else None
        box = field.provenance.bbox
        if page is None or box is None or field.provenance.method is not ReadMethod.OCR:
            continue
        if calibrated(part, field, specs) >= threshold:
            continue
        words = [
            w
            for w in page.words
            if centre_in(w.bbox, box)
            and (
                (w.confidence < MIXED_TEXT_WORD and code_like(w.text))
                or (w.confidence < WEAK_TEXT_WORD and any(ch.isdigit() for ch in w.text))
            )
        ]
        if words:
            out[name] = words
    return out


def code_like(text: str) -> bool:
    """Return True for a word holding both a letter and a digit (`23QxX`, `U13/X`, `SS4C/5`): a code in a text.

    Tesseract reads such a word in its line by the line's language model, which confuses a code's letters and
    digits (Q and 9, X and x); cut out alone it reads the glyphs. A plain word or number gains nothing so.
    """
    return any(ch.isdigit() for ch in text) and any(ch.isalpha() for ch in text)


def read_text_words_alone(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    look: WordLook,
    *,
    threshold: float,
    only: Sequence[str] | None = None,
    second: SecondReader | None = None,
) -> int:
    """Read the weak words of weak `reread_word` text fields alone at WORD_SCALES; take what most readings say.

    Tesseract reads a small monospaced postcode in its line as `23QxX` (0.49) or `239x` (0.54); cut out with white
    around it, three of the four sizes read `23QX`. All weak words of a page go into one OCR call; a word takes a
    reading when most readings agree on it (`majority_word`); the document is then extracted again with those
    words and each weak field takes its new value, its confidence no higher than before (a person checks it),
    with a Problem saying what the page read. With `second`, each weak word is also read by the second recognizer,
    whose reading wins when tesseract read it too, on the page or alone (`majority_word(second=)`); it reads first,
    and a page whose weak words it all reads as the page did (`second_reads_alike`: the page's words stay whatever
    tesseract reads alone) is not read alone (speed15: 11 of the 83 codes calls of bench/extraction.py, every field
    the same). Returns the OCR calls made (tesseract's).
    """
    if len(parts) != 1:
        return 0  # several documents in one file: their pages are theirs
    part = parts[0]
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    weak = {n: ws for n, ws in weak_text_words(part, specs, threshold, pages).items() if only is None or n in only}
    if not weak:
        return 0
    calls = 0
    new_pages = list(read.pages)
    changed = False
    for index, page in enumerate(read.pages):
        words = list(
            {id(w): w for name in weak if part.fields[name].provenance.page == page.number for w in weak[name]}.values()
        )
        if page.number not in pages or not words:
            continue
        others = [second(page, word.bbox) if second is not None else "" for word in words]
        taken: dict[int, str] = {}
        if not all(second_reads_alike(other, word.text) for word, other in zip(words, others, strict=True)):
            # (when the second recognizer reads every weak word as the page did, `majority_word` keeps each page
            # word whatever the readings alone say, so they are not made: the same words, one tesseract call less)
            taken = _majority_words(page, words, others, look)
            calls += 1
        for word in words:
            tailed = q_by_tail(page, word) if id(word) not in taken else None
            if tailed is not None:
                taken[id(word)] = tailed  # a Q both recognizers read 0, at every size: its tail is on the image
        if taken:
            again = [dataclasses.replace(w, text=taken[id(w)]) if id(w) in taken else w for w in page.words]
            new_pages[index] = dataclasses.replace(page, words=again)
            changed = True
    if not changed:
        return calls
    reading = extract_document(ReadDocument(pages=new_pages), specs, part.document_type)
    first = extract_document(ReadDocument(pages=list(read.pages)), specs, part.document_type)
    for name in weak:
        old, new, was = part.fields[name], reading.fields.get(name), first.fields.get(name)
        if new is None or was is None or new.provenance.page != old.provenance.page:
            continue
        # only the words read alone change: an earlier look's rewrite of the value (an accent) stays
        value = carried(str(was.value), str(new.value), str(old.value))
        if value is None or value == old.value:
            continue
        better = dataclasses.replace(old, value=value, raw=carried(str(was.value), str(new.value), old.raw) or value)
        problem = Problem(
            ReasonCode.FIELD_AMBIGUOUS,
            f"{name}: the page reads {old.value!r}; its weak words read alone give {new.value!r}; check it",
            page=old.provenance.page,
            field=name,
        )
        put_found(part, better, [problem])
    return calls


def _majority_words(page: Page, words: Sequence[Word], others: Sequence[str], look: WordLook) -> dict[int, str]:
    """Return the weak words (by id) that most readings alone at WORD_SCALES read otherwise, with that reading.

    `others` are the second recognizer's readings of the words (`majority_word(second=)`). One OCR call.
    """
    boxes = [w.bbox for w in words for _ in WORD_SCALES]
    texts = look.reread(page, boxes, lang=page.language, scales=list(WORD_SCALES) * len(words))
    taken: dict[int, str] = {}
    if not texts:
        return taken
    for number, (word, other) in enumerate(zip(words, others, strict=True)):
        alone = texts[number * len(WORD_SCALES) : (number + 1) * len(WORD_SCALES)]
        found = majority_word(alone, word.text, second=other)
        if other and found != other and tailed_q(page, word, other):
            found = other  # a Q tesseract read 0 at every size (a majority alone too): its tail is on the image
        if not code_like(word.text) and (not other or found != other):
            found = None  # a number reads no better alone (SROIE `53200,` read `93200,`): only both recognizers
        # a word asked only for its mix of letters and digits was read firmly enough to keep its glyph count
        # (`4Qx` at 0.84 read `4QxX` alone twice: a glyph more is no better reading of it)
        if found is not None and (word.confidence < WEAK_TEXT_WORD or len(found) == len(word.text)):
            taken[id(word)] = found
    return taken


def q_by_tail(page: Page, word: Word) -> str | None:
    """Return a code-like word with each 0/O/9 that has a Q's tail under it read as Q (`tailed_q`), else None.

    A faded 150-dpi Courier `2QX` was read `20x` by tesseract on the page and by the second recognizer alike
    (receipts17: four UK postcodes on the development seeds), so neither reading could be taken over the other;
    a 0 never reaches below the baseline, a Q's tail does. Only a word of letters and digits (`code_like`): a
    number's 0 under a speck stays a 0 (`50100`). The caller keeps the value's confidence (a person checks it).
    """
    text = word.text.strip()
    if not code_like(text):
        return None
    tails = [i for i, ch in enumerate(text) if ch in Q_TWINS and tailed_q(page, word, f"{text[:i]}Q{text[i + 1 :]}")]
    if not tails:
        return None
    return "".join("Q" if i in tails else ch for i, ch in enumerate(text))


Q_TWINS = frozenset("0Oo9")
"""What tesseract reads a small Courier Q as when its tail is faint (receipts10/11: `80x`, `250X`, `99x`)."""
TAIL_INK = 160
"""A pixel darker than this is ink in the Q-tail check (a 150-dpi scan's thin strokes are grey 128-190) ..."""
FADED_INK = 0.5
"""... or darker than this share of the way from the word's darkest pixel to its paper (the crop's median), when
that is lighter: a faded scan's darkest stroke is grey 162 on paper of 246, so no pixel of it is under TAIL_INK."""
TAIL_DEPTH = 0.1
"""A Q's tail reaches at least this share of the word's height (and 2 px) below the other glyphs' feet."""


def tailed_q(page: Page, word: Word, other: str) -> bool:
    """Return True when `other` (the second recognizer's) is the page's word with a Q where tesseract read 0/O/9.

    And each such glyph has ink below the baseline the word's other glyphs stand on: a Q's tail.

    A 150-dpi Courier Q is read 0 by tesseract at every size (`BS2 80x`, alone `80X` and `8OX`), so no tesseract
    reading agrees with PP-OCR's `8QX` and `majority_word` cannot take it; the tail that tells Q from 0 is on the
    image, two or three pixels under the 8's and the X's feet. The word's glyphs are taken as equally wide (till
    print is monospaced) and compared in the middle 80% of their columns; the word must be letters and digits only
    and every other glyph must match the page's word (case aside); the tail must reach below the lowest of them.
    The value's confidence does not rise (the caller keeps the page's).
    """
    old = word.text.strip()
    other = other.strip()
    image = page.image
    if len(other) != len(old) or len(old) < 2 or not isinstance(image, Image.Image):
        return False
    tails = [i for i, (a, b) in enumerate(zip(old, other, strict=True)) if b in "Qq" and a in Q_TWINS]
    rest = [i for i in range(len(old)) if i not in tails]
    if not tails or not rest or any(old[i].casefold() != other[i].casefold() for i in rest):
        return False
    if not old.isalnum():
        return False  # a slash, a comma or a point reaches below the letters' feet: only a code of letters and digits
    width, height = image.size
    x0, y0, x1, y1 = word.bbox[0] * width, word.bbox[1] * height, word.bbox[2] * width, word.bbox[3] * height
    high = y1 - y0
    if x1 - x0 < len(old) or high < 4:
        return False
    top, bottom = max(0, math.floor(y0)), min(height, math.ceil(y1 + 0.5 * high))
    crop = image.crop((max(0, math.floor(x0)), top, min(width, math.ceil(x1)), bottom)).convert("L")
    grey = np.asarray(crop)
    darkest, paper = float(grey.min()), float(np.median(grey))
    ink = grey < max(TAIL_INK, darkest + FADED_INK * (paper - darkest))
    pitch = ink.shape[1] / len(old)

    def foot(index: int) -> int | None:
        left, right = int(round((index + 0.1) * pitch)), int(round((index + 0.9) * pitch))
        rows = np.flatnonzero(ink[:, left : max(right, left + 1)].any(axis=1))
        return int(rows[-1]) if rows.size else None

    feet = [f for f in (foot(i) for i in rest) if f is not None]
    if not feet:
        return False
    base = max(feet)
    depth = max(2.0, TAIL_DEPTH * high)
    return all((f := foot(i)) is not None and f >= base + depth for i in tails)


def carried(was: str, new: str, current: str) -> str | None:
    """Return `current` with the words that differ between `was` and `new` (place for place) changed as in `new`.

    `was` and `new` are a value extracted from the page before and after its weak words were read alone; `current`
    is the value as the earlier looks left it (`Hauptstraße` for the page's `Hauptstrafe`). None when the two
    readings have not as many words, or a changed word is no longer in `current`.
    """
    before, after = was.split(), new.split()
    if len(before) != len(after):
        return None
    for one, other in zip(before, after, strict=True):
        if one == other:
            continue
        pattern = re.compile(rf"(?<!\S){re.escape(one)}(?!\S)")
        if pattern.search(current) is None:
            return None
        current = pattern.sub(other, current)
    return current


def majority_word(texts: Sequence[str], old: str, *, second: str = "") -> str | None:
    """Return the word most readings alone of `old`'s box read, when it is another reading of the same word.

    Most: MAJORITY of them, or at least two and more than half of those that read one word (a reading split in
    two words or empty does not vote). Edge marks the page's word does not have are dropped (`trim_edges`); the
    winner must be like `old` (TEXT_WORD_RATIO, case aside): a weak word read better, not another word.
    With `second` (the second recognizer's reading of the word), that reading wins when the page or a reading alone
    read it too, case aside: clean 200-dpi Courier `25Qx` on the page, alone `250X` twice and `25QX` once, PP-OCR
    `25QX` - the page's word stays; `190x` on the page, alone `19Qx`, `190x`, `19QX`, PP-OCR `19QX` - taken.
    A majority that reads a mark where the page read a letter or digit needs the second recognizer's agreement
    (`_mark_for_glyph`).
    """
    words = [trim_edges(text.strip(), old) for text in texts]
    single = [w for w in words if w and " " not in w]
    if second_reads_alike(second, old):
        return None
    other = trim_edges(second.strip(), old) if second else ""
    if other and " " not in other and _like(other, old) and other.casefold() in {w.casefold() for w in single}:
        return other
    if not single:
        return None
    best, count = Counter(single).most_common(1)[0]
    if best == old or not (count >= MAJORITY or (count >= 2 and 2 * count > len(single))):
        return None
    if not _like(best, old) or (_mark_for_glyph(best, old) and best.casefold() != other.casefold()):
        return None
    return best


def second_reads_alike(second: str, old: str) -> bool:
    """Return True when the second recognizer's reading `second` of a word's box is the page's word `old`.

    Case aside and without edge marks `old` does not have (`trim_edges`), one word: `majority_word` then keeps the
    page's word whatever tesseract reads alone, and `read_text_words_alone` does not read such words alone.
    """
    other = trim_edges(second.strip(), old) if second else ""
    return bool(other) and " " not in other and other.casefold() == old.casefold()


def _mark_for_glyph(word: str, old: str) -> bool:
    """Return True when `word`, as long as `old`, reads a mark (`%`, `&`) where `old` reads a letter or a digit.

    A code's glyph read alone as a mark is no better reading of it (receipts14: the page's `29Qx` at 0.56, alone
    `290%` three times of four, PP-OCR `290x`: majority_word took `290%`); only the second recognizer reading the
    mark too makes it one.
    """
    return len(word) == len(old) and any(a.isalnum() and not b.isalnum() for a, b in zip(old, word, strict=True))


def _like(word: str, old: str) -> bool:
    """Return True when `word` is another reading of `old` (TEXT_WORD_RATIO alike, case aside)."""
    return difflib.SequenceMatcher(None, word.casefold(), old.casefold()).ratio() >= TEXT_WORD_RATIO
