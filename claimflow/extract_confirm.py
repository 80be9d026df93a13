"""Second readings that confirm a value or take its confidence away: another model, or ink left unread.

Two cases where one OCR reading is confidently wrong and nothing else on the page would say so:

- `confirm: [eng]` on a field: a code on a page read with a non-Latin model (chi_sim reads the Latin policy
  number of a 理赔申请书 and, in a handwriting-like font, read `PDCA4202679447034` for `PDCA202679447034` at
  0.89) is read again in its box with the named models. Agreement keeps the value; a disagreement keeps the
  first reading but takes it below auto-accept with a Problem naming the other reading.
- Text fields: a small mark right after the value's last word that no word covers (tesseract's page
  reading dropped the full stop of `... thrown up by a lorry.`) means the value lost a character. Its line is
  read again on its own; when that reading is the value plus the mark (`.`, `。`), the value takes it,
  otherwise the value stays as read but below auto-accept.
- Text fields wrapped over lines (`lines` > 1, no pattern): a line of ink under the value's last line where the
  page reading has no word (it dropped the short last line `案。` of a description ending `...派出所报`, the
  value then at 0.97 calibrated), when the last line read runs to the page's text margin (the text wrapped), is
  read alone as one line and added; the value goes below auto-accept
  (LINE_BELOW_CAP) either way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Protocol

from claimflow.errors import ReasonCode
from claimflow.extract_layout import on_row
from claimflow.models import BBox, Extraction, Field, Page, Problem, ReadDocument, ReadMethod, Word, centre_in
from claimflow.normalise import join_cjk
from claimflow.specs import FieldSpec, SpecSet

DOUBT_CAP = 0.75
"""The most a value keeps when a second look doubts it (a disagreeing model, ink after it left unread)."""
LINE_BELOW_CAP = 0.5
"""The most a text value keeps once a line under it that the page reading dropped was read alone and added (0.75
raw still calibrates to ~0.96 for a 理赔申请书 description: a line read on its own is a guess a person checks)."""
WRAP_MARGIN = 0.05
"""A value's last line wrapped when it ends this close (page width) to the right edge of the page's text."""
CLOSING_MARKS = ".。!！?？;；,，"
"""Marks that end a value and that a page reading drops: what a line read again may add at the end."""
SHORT_REACH = 2.5
"""How far past a box's value (share of its last word's height) a word of one or two characters may be its letter."""
NOT_A_LETTER = frozenset(".,;:'\"`’‘“”-–—_~|!()[]{}/\\")
"""Marks OCR reads from punctuation, specks and a box's rules: never a misread letter of a name."""
SCRIPT_FREE = re.compile(r"[\s\-_/.:]")


class SecondLook(Protocol):
    """The image side (claimflow.readers.marks.PageMarks): read boxes again, find ink after a word."""

    def reread(self, page: Page, boxes: Sequence[BBox], *, lang: str) -> list[str] | None:
        """Return one text per box, read again with the tesseract model `lang` (None when it cannot)."""
        ...

    def ink_after(self, page: Page, word: Word) -> bool:
        """Return True when a small mark sits right after `word` on its line, covered by no word."""
        ...

    def glyph_after(self, page: Page, word: Word) -> BBox | None:
        """Return the box of a letter's ink after `word` on its line that no word covers (a dropped letter)."""
        ...

    def ink_below(self, page: Page, line: Sequence[Word]) -> BBox | None:
        """Return the box of a line of ink under `line` that no word covers (a dropped last line), else None."""
        ...

    def read_line(self, page: Page, box: BBox, *, lang: str) -> str | None:
        """Return the text of the one line of ink at `box`, read alone as a line with the model `lang`."""
        ...


def confirm_values(read: ReadDocument, parts: list[Extraction], specs: SpecSet, look: SecondLook) -> int:
    """Run both second looks over every part (see the module docstring); return the OCR calls made."""
    calls = 0
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    for part in parts:
        spec = specs.specs.get(part.document_type)
        if spec is None:
            continue
        to_confirm: dict[tuple[int, str], list[Field]] = {}  # (page, model) -> fields: one OCR call each
        for name, field_spec in spec.fields.items():
            field = part.fields.get(name)
            if field is None or field.provenance.page not in pages or field.provenance.bbox is None:
                continue
            page = pages[field.provenance.page]
            models = [model for model in field_spec.confirm if model not in page.language.split("+")]
            for model in models:
                to_confirm.setdefault((page.number, model), []).append(field)
            if not models and field_spec.type == "text" and isinstance(field.value, str):
                calls += _ink_after(part, field, page, look)
                if field_spec.direction == "region":
                    calls += _glyph_after(part, part.fields[name], page, look, field_spec)
                if field_spec.lines > 1 and field_spec.pattern is None:
                    calls += _line_below(part, part.fields[name], page, look)
        for (number, model), fields in to_confirm.items():
            calls += _confirm(part, fields, pages[number], model, look)
    return calls


def same_code(one: str, other: str) -> bool:
    """Return True when two readings of a code are the same once spaces and separators are ignored."""
    return SCRIPT_FREE.sub("", one).upper() == SCRIPT_FREE.sub("", other).upper()


def _confirm(part: Extraction, fields: list[Field], page: Page, model: str, look: SecondLook) -> int:
    """Read the fields' boxes with `model` in one call; a field read otherwise goes below auto-accept."""
    boxes = [field.provenance.bbox for field in fields if field.provenance.bbox is not None]
    texts = look.reread(page, boxes, lang=model) if len(boxes) == len(fields) else None
    if texts is None:
        return 0
    for field, text in zip(fields, texts, strict=True):
        if same_code(text, str(field.value)):
            continue
        doubt(
            part,
            field.name,
            page,
            ReasonCode.FIELD_AMBIGUOUS,
            f"{field.name}: a second reading with {model} gave {text or 'nothing'!r}; check it",
        )
    return 1


def _last_line(field: Field, page: Page) -> list[Word]:
    """Return the page's words of the value's last OCR line inside its box (none when its box holds no word)."""
    box = field.provenance.bbox
    if box is None:
        return []
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in page.words:
        if centre_in(word.bbox, box):
            lines.setdefault((word.block, word.line), []).append(word)
    if not lines:
        return []
    return max(lines.values(), key=lambda ws: sum(w.bbox[1] + w.bbox[3] for w in ws) / len(ws))


def _glyph_after(part: Extraction, field: Field, page: Page, look: SecondLook, field_spec: FieldSpec) -> int:
    """Doubt a one-line value read in a form's box when a letter after its last word was not read as its own.

    A box holds one value, so ink right after it on its line is the value's own: `Thompson, Maria` read for
    `Thompson, Maria L` (the initial dropped by the page reading: ink no word covers) or `Smith, David` beside
    a word `kK` (a word of one or two characters the pattern did not take) is not confident. The line is read alone
    up to that ink; when it reads the value's words and one word more (`Thompson, Maria L`), or its last word
    longer (`Lakeview Medical Grou` read `... Group`), and the field's pattern takes that whole, the value takes
    it. Either way the value goes below auto-accept (DOUBT_CAP).
    """
    box = field.provenance.bbox
    words = [w for w in page.words if box is not None and centre_in(w.bbox, box)]
    if box is None or not words or not isinstance(field.value, str):
        return 0
    last = max(words, key=lambda w: w.bbox[2])  # one line: its words may be OCR blocks of their own
    if not field.value.endswith(last.text):
        return 0
    ink = _short_after(page, last) or look.glyph_after(page, last)
    if ink is None:
        return 0
    band = (box[0], box[1], ink[2], box[3])  # the value's own height: the next box's caption is not read with it
    read = (look.read_line(page, band, lang=page.language) or "").split()
    while read and not any(ch.isalnum() for ch in read[0]):
        read = read[1:]  # the box's left rule read as a mark (`| Miller, Susan J`)
    old = field.value.split()
    whole = " ".join(read)
    more = len(read) == len(old) + 1 and read[: len(old)] == old  # a word more (`Maria` `L`)
    longer = len(read) == len(old) and read[:-1] == old[:-1] and read[-1].startswith(old[-1])  # `Grou` `Group`
    if (more or (longer and read[-1] != old[-1])) and field_spec.pattern is not None:
        found = re.search(field_spec.pattern, whole, re.IGNORECASE if field_spec.ignore_case else 0)
        if found is not None and (found.groupdict().get("value") or found.group(0)) == whole:
            raw = f"{field.raw} {read[-1]}" if more else field.raw + read[-1][len(old[-1]) :]
            part.fields[field.name] = dataclasses.replace(field, value=whole, raw=raw)
    doubt(
        part,
        field.name,
        page,
        ReasonCode.FIELD_LOW_CONFIDENCE,
        f"{field.name}: ink after the value in its box was not read as part of it"
        + (f"; its line read alone gives {whole!r}" if part.fields[field.name].value == whole else "")
        + "; check its end on the page",
    )
    return 1


def _short_after(page: Page, last: Word) -> BBox | None:
    """Return the box of a word of one or two letters or digits right after `last` on its row (a misread letter).

    `Smith, David` `kK`: the page read the initial `K` as a word the name's pattern does not take; read alone, the
    line may give it. A sign as high as a letter that no name holds (`Patel, Tyrone` `§`) is one too. Within
    SHORT_REACH of the word's height (page-width fraction from the page's aspect).
    """
    high = last.bbox[3] - last.bbox[1]
    reach = SHORT_REACH * high * (page.height / page.width if page.width else 1.0)
    for word in page.words:
        short = 0 < sum(ch.isalnum() for ch in word.text) <= 2 or _letter_sized_sign(word, high)
        if short and on_row(word, last.bbox[1], last.bbox[3]) and last.bbox[2] <= word.bbox[0] <= last.bbox[2] + reach:
            return word.bbox
    return None


def _letter_sized_sign(word: Word, high: float) -> bool:
    """Return True when `word` is a sign no name holds (`§`, `&`, `$`), as high as half a letter: a misread letter.

    `Patel, Tyrone` `§` (0.41): the initial `S` read as a section sign. Punctuation, dashes and rules (`|`, the
    box's own) are not misread letters.
    """
    text = word.text.strip()
    sized = word.bbox[3] - word.bbox[1] >= 0.5 * high
    return bool(text) and sized and not any(ch.isalnum() or ch in NOT_A_LETTER for ch in text)


def _ink_after(part: Extraction, field: Field, page: Page, look: SecondLook) -> int:
    """When unread ink follows the value's last word, read its line again; take the mark or doubt the value."""
    if not isinstance(field.value, str):
        return 0
    line = _last_line(field, page)
    if not line:
        return 0
    last = max(line, key=lambda w: w.bbox[2])
    if not field.value.endswith(last.text) or not look.ink_after(page, last):
        return 0
    band = (min(w.bbox[0] for w in line), min(w.bbox[1] for w in line), last.bbox[2], max(w.bbox[3] for w in line))
    texts = look.reread(page, [band], lang=page.language)
    old = "".join(w.text for w in line)
    new = "".join((texts or [""])[0].split())
    mark = new[len(old) :] if new.startswith(old) else ""
    if len(mark) == 1 and mark in CLOSING_MARKS:
        part.fields[field.name] = dataclasses.replace(field, value=field.value + mark, raw=field.raw + mark)
    else:
        doubt(
            part,
            field.name,
            page,
            ReasonCode.FIELD_LOW_CONFIDENCE,
            f"{field.name}: a mark after the value was not read; check its end on the page",
        )
    return 1


def _line_below(part: Extraction, field: Field, page: Page, look: SecondLook) -> int:
    """When a line of unread ink lies under the value's last line, read it; add it to the value and doubt the value.

    Free text wrapped over several lines (`lines: 2`) whose short last line the page reading dropped (`案。`
    under `...派出所报`) lost its end with nothing to show it. The ink is read with the page's model; what it
    reads is added (no space between CJK characters), and the value goes below auto-accept either way.
    """
    box = field.provenance.bbox
    if box is None or not isinstance(field.value, str):
        return 0
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in page.words:
        if centre_in(word.bbox, box):
            lines.setdefault((word.block, word.line), []).append(word)
    if not lines:
        return 0
    last = max(lines.values(), key=lambda ws: sum(w.bbox[1] + w.bbox[3] for w in ws) / len(ws))
    if max(w.bbox[2] for w in last) < max(w.bbox[2] for w in page.words) - WRAP_MARGIN:
        return 0  # the line ends short of the page's text margin: the text did not wrap there
    ink = look.ink_below(page, last)
    if ink is None:
        return 0
    added = " ".join((look.read_line(page, ink, lang=page.language) or "").split())
    if re.search(r"\w", added):
        joined = join_cjk(f"{field.value} {added}")
        part.fields[field.name] = dataclasses.replace(field, value=joined, raw=join_cjk(f"{field.raw} {added}"))
    current = part.fields[field.name]
    part.fields[field.name] = dataclasses.replace(current, confidence=min(current.confidence, LINE_BELOW_CAP))
    part.problems.append(
        Problem(
            ReasonCode.FIELD_LOW_CONFIDENCE,
            f"{field.name}: a line under the value was not read by the page"
            + (f"; read alone it adds {added!r}" if re.search(r"\w", added) else "")
            + "; check the value's end on the page",
            page=page.number,
            field=field.name,
        )
    )
    return 1


def doubt(part: Extraction, name: str, page: Page, code: ReasonCode, message: str) -> None:
    """Cap the field below auto-accept (at most DOUBT_CAP) and say why, with its page."""
    current = part.fields[name]
    part.fields[name] = dataclasses.replace(current, confidence=min(current.confidence, DOUBT_CAP))
    part.problems.append(Problem(code, message, page=page.number, field=name))
