"""Weak characters of a text value voted on by other readings: its lines read again with other models and sizes.

Debian's `chi_sim` model misreads a rare character of free text now and then, with a low confidence of its own
(`发动机舱` read `发动机租` at 0.44, `车辆被淹` read `车辆被渣` at 0.26), and one page reading cannot do
better. A field whose spec says `vote: [chi_sim, HanS]` has, when one of its words was read below WEAK_WORD,
each of its lines cut out and read again with each named model at each of VOTE_SCALES (all in one OCR call
per model). Every reading is aligned with the first one, character by character (difflib); a weak character
takes another character only when at least MIN_VOTES readings put that same character in its place and no
other candidate (the first reading's own character included) has as many. A reading that does not keep the
first reading's firm characters (MIN_RATIO of them: a skewed crop read as noise) gives no votes; on a line
read weakly all through (`烧毁。` read `心昌 8`), a reading votes when it has as many characters. Characters
read firmly are not changed by a majority; only a firm character right next to a weak one (昌 of `心昌8`: the
model's trouble spreads to the neighbour, which it then reads firmly and wrong) takes another when every one
of at least MIN_UNANIMOUS readings (two models at two sizes) reads the line the same, as long as the first.
The confidence stays as it was: it was below auto-accept because of the weak word, and a vote is evidence,
not proof.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from claimflow.models import BBox, Extraction, Page, ReadDocument, ReadMethod, Word
from claimflow.specs import SpecSet

WEAK_WORD = 0.7
"""A word read below this confidence is weak: its characters may be voted on."""
VOTE_SCALES = (1.0, 1.5)
"""Sizes each line is read at, by every model (the page's own size and half again)."""
MIN_VOTES = 2
"""A weak character takes another only when at least this many readings agree on it."""
MIN_RATIO = 0.8
"""A reading that keeps less than this share of the line's firm characters gives no votes."""
MIN_UNANIMOUS = 4
"""A firm character next to a weak one changes only when this many readings, all the same, read it otherwise."""
MIN_FIRM = 3
"""A line with fewer firm characters than this votes only with readings of its length."""
_WIDE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
"""CJK characters and full-width punctuation: no space is kept next to them."""


class LineReader(Protocol):
    """The image side (claimflow.readers.marks.PageMarks): read boxes again with a model, at given sizes."""

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        """Return one text per box, read again with the tesseract model `lang` (None when it cannot)."""
        ...


def weak_votes(part: Extraction, specs: SpecSet, pages: dict[int, Page]) -> list[str]:
    """Return the fields of `part` whose spec names vote models and whose words on an OCR page include a weak one."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    out = []
    for name, field_spec in spec.fields.items():
        field = part.fields.get(name)
        if not field_spec.vote or field is None or not isinstance(field.value, str):
            continue
        page = pages.get(field.provenance.page or 0)
        words = [w for line in lines_in(page, field.provenance.bbox) for w in line] if page is not None else []
        if any(w.confidence < WEAK_WORD for w in words):
            out.append(name)
    return out


def vote_values(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, reader: LineReader, *, only: Sequence[str] = ()
) -> int:
    """Read the lines of the weak `vote` fields again and let the readings vote on their weak characters.

    `only`, when given, limits the fields read. The lines of all such fields of a page are read together: one
    OCR call per model and page. Returns the calls made.
    """
    pages = {p.number: p for p in read.pages if p.method is ReadMethod.OCR and p.image is not None}
    calls = 0
    for part in parts:
        spec = specs.specs.get(part.document_type)
        if spec is None:
            continue
        asked: dict[tuple[int, tuple[str, ...]], list[tuple[str, list[list[Word]]]]] = {}
        for name in weak_votes(part, specs, pages):
            field = part.fields[name]
            if (only and name not in only) or field.provenance.page not in pages:
                continue
            key = (field.provenance.page or 0, tuple(spec.fields[name].vote))
            asked.setdefault(key, []).append((name, lines_in(pages[key[0]], field.provenance.bbox)))
        for (number, models), fields in asked.items():
            lines = [line for _, field_lines in fields for line in field_lines]
            readings = _read_lines(reader, pages[number], lines, models)
            calls += len(models)
            at = 0
            for name, field_lines in fields:
                mine = [[texts[at + i] for i in range(len(field_lines))] for texts in readings]
                at += len(field_lines)
                _vote_field(part, name, field_lines, mine)
    return calls


def _read_lines(reader: LineReader, page: Page, lines: list[list[Word]], models: Sequence[str]) -> list[list[str]]:
    """Return the readings of `lines`: one list of line texts (spaces removed) per model and scale."""
    boxes = [_box(line) for line in lines]
    readings: list[list[str]] = []
    scales = [scale for scale in VOTE_SCALES for _ in boxes]
    for model in models:
        texts = reader.reread(page, boxes * len(VOTE_SCALES), lang=model, scales=scales)
        if texts is not None and len(texts) == len(scales):
            cut = len(boxes)
            readings += [["".join(t.split()) for t in texts[i * cut : (i + 1) * cut]] for i in range(len(VOTE_SCALES))]
    return readings


def _vote_field(part: Extraction, name: str, lines: list[list[Word]], readings: list[list[str]]) -> None:
    """Put the voted characters into the field's value (nothing changes when the value is not found in its lines)."""
    field = part.fields[name]
    if not isinstance(field.value, str):
        return
    first = ["".join(w.text for w in line) for line in lines]
    weak = [[w.confidence < WEAK_WORD for w in line for _ in w.text] for line in lines]
    voted = [
        vote_line(text, flags, [r[index] for r in readings])
        for index, (text, flags) in enumerate(zip(first, weak, strict=True))
    ]
    value = rewrite(field.value, "".join(first), "".join(voted))
    if value is not None and value != field.value:
        part.fields[name] = dataclasses.replace(field, value=value, raw=value)


def vote_line(first: str, weak: Sequence[bool], readings: Sequence[str]) -> str:
    """Return the line `first` with each weak character replaced by the one most readings agree on.

    `weak[i]` says whether character i was read weakly. A replacement needs MIN_VOTES readings and more votes
    than any other candidate, the first reading's own character counted with the readings that keep it.
    """
    votes: list[Counter[str]] = [Counter() for _ in first]
    firm = len(weak) - sum(weak)
    for reading in readings:
        matcher = difflib.SequenceMatcher(None, first, reading, autojunk=False)
        opcodes = matcher.get_opcodes() if reading else []
        kept = sum(not weak[i] for op, i1, i2, _, _ in opcodes if op == "equal" for i in range(i1, i2))
        # a reading votes when it reads the firm characters as the first reading did (a line read weakly all
        # through: when it has as many characters); else it is another text (a skewed crop read as noise)
        if not opcodes or (kept < MIN_RATIO * firm if firm >= MIN_FIRM else len(reading) != len(first)):
            continue
        for op, i1, i2, j1, j2 in opcodes:
            if op == "equal" or (op == "replace" and i2 - i1 == j2 - j1):
                for offset in range(i2 - i1):
                    if weak[i1 + offset]:
                        votes[i1 + offset][reading[j1 + offset]] += 1
    out = []
    for index, char in enumerate(first):
        ranked = votes[index].most_common(2)
        take = (
            ranked
            and ranked[0][0] != char
            and ranked[0][1] >= MIN_VOTES
            and (len(ranked) == 1 or ranked[1][1] < ranked[0][1])
        )
        out.append(ranked[0][0] if take else char)
    return _unanimous_neighbours("".join(out), weak, readings)


def _unanimous_neighbours(line: str, weak: Sequence[bool], readings: Sequence[str]) -> str:
    """Return `line` with its firm characters next to a weak one replaced where every reading reads another one.

    Tesseract's trouble with a weak character spreads to its neighbour, which it may then read firmly and wrong
    (`烧毁。` read `心昌8`: 昌 firm between two weak characters). Such a character takes the reading's character
    only when at least MIN_UNANIMOUS readings were made and all of them read the line the same, as long as it.
    """
    if len(readings) < MIN_UNANIMOUS or len(set(readings)) != 1 or not any(weak):
        return line
    reading = readings[0]
    if len(reading) != len(line):
        return line
    out = list(line)
    for index, char in enumerate(line):
        beside_weak = (index > 0 and weak[index - 1]) or (index + 1 < len(line) and weak[index + 1])
        if not weak[index] and beside_weak and reading[index] != char:
            out[index] = reading[index]
    return "".join(out)


def rewrite(value: str, first: str, voted: str) -> str | None:
    """Return `value` (a part of the text `first`, spaces aside) with the characters `voted` put in their places.

    Spaces of `value` next to a CJK character are dropped (`租心昌 8` voted `舱烧毁。` reads `舱烧毁。`).
    None when `value` is not found in `first` (the pattern changed it).
    """
    bare = "".join(value.split())
    start = first.find(bare)
    if start < 0 or len(first) != len(voted):
        return None
    new = voted[start : start + len(bare)]
    out, at = [], 0
    for char in value:
        if char.isspace():
            out.append(char)
        else:
            out.append(new[at])
            at += 1
    text = "".join(out)
    return re.sub(rf"(?<={_WIDE.pattern})\s+|\s+(?={_WIDE.pattern})", "", text)


def lines_in(page: Page, box: BBox | None) -> list[list[Word]]:
    """Return the words of `page` whose centres are inside `box`, by line, top to bottom, each left to right."""
    if box is None:
        return []
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in page.words:
        x, y = (word.bbox[0] + word.bbox[2]) / 2, (word.bbox[1] + word.bbox[3]) / 2
        if box[0] <= x <= box[2] and box[1] <= y <= box[3]:
            lines.setdefault((word.block, word.line), []).append(word)
    ordered = sorted(lines.values(), key=lambda ws: min(w.bbox[1] for w in ws))
    return [sorted(ws, key=lambda w: w.bbox[0]) for ws in ordered]


def _box(line: Sequence[Word]) -> BBox:
    return (
        min(w.bbox[0] for w in line),
        min(w.bbox[1] for w in line),
        max(w.bbox[2] for w in line),
        max(w.bbox[3] for w in line),
    )
