"""Second readings: read an OCR'd document again, only where a field needs it, and let the readings vote.

One tesseract pass finds a receipt's total verbatim in 72-84% of cases depending on the page segmentation
mode, while the union of modes reaches ~90% (notes/ocr.md section 2). So when a field the spec marks
`reread: true` is missing after the first pass, the OCR pages are read again with other segmentation
modes, the document is extracted from each reading, and the readings vote per missing field: the value
most readings agree on wins; agreement keeps its confidence, disagreement lowers it and is flagged, so a
person sees a value the readings disputed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeVar

from claimflow.errors import ReasonCode
from claimflow.extract import (
    DISAGREE_FACTOR,
    EXCLUDE_MATCH,
    JOINERS,
    LOW_CONFIDENCE,
    extract_document,
    field_boxes,
    low_confidence,
)
from claimflow.extract_checks import page_sums, parts_sum
from claimflow.extract_layout import Line, build_lines, contains_phrase, find_anchors
from claimflow.extract_tables import BORROWED
from claimflow.models import BBox, Extraction, Field, Money, Page, Problem, ReadDocument, ReadMethod, Word, centre_in
from claimflow.specs import Spec, SpecSet, SumCheck

SECOND_PSMS: tuple[int, ...] = (4, 11)
"""Segmentations tried after the first pass (psm 6 on scans): columns (4) and sparse text (11)."""


UNCONFIRMED_FACTOR = DISAGREE_FACTOR
"""A value whose box, read again closer, gave no value at all: as unsure as one the closer reading disputes."""
CUT_CODE = 3
"""At most this many letters or digits a reading of a code may lose at one end and still be the same code cut."""
EVEN_MARGIN = 0.05
"""Two readings that disagree, the one left out at most this much less sure (raw score): neither is surer."""
Band = tuple[float, float]
"""A horizontal band of a page: top and bottom, page fractions."""
BAND_SCALES: tuple[int, ...] = (2, 3)
"""Enlargements a weak field's line is read again at: the second only when the first disagrees (or for a weak date:
`_dated`)."""
BAND_MARGIN = 0.3
"""A weak field's band reaches this share of its height above and below the value's box (not into the next line)."""
CUT_CAP = 0.6
"""The most a value keeps that another reading of it read longer at an end (`read_longer`): the value may be cut.
Above, a doubted value still calibrates near auto-accept (raw 0.78 to 0.98 on CMS-1500s: `ANDERSON, ROBER` for
`ANDERSON, ROBERT J`, its box read closer `ANDERSON, RORERT J`)."""
RIVAL_AMOUNT_CAP = 0.5
"""The most an amount keeps that another reading of its box read as another amount, no third reading (a sum's parts)
siding with it: a toss a person settles. Disagreeing readings kept DISAGREE_FACTOR of the surer one's score, and an
amount's curve calibrates that near auto-accept: box 29's `161.32` read `161.34` on the page (0.95) and `161.32` in
its box (0.84) kept `161.34` at 0.81 raw, 0.977 calibrated (seed 29 full cms1500 002 rotated)."""
UNREAD_CAP = 0.75
"""The most a value keeps that only its label's line read enlarged gave (the page's reading of that line gave none)."""
UNREAD_LABELS = 2
"""A missing value's label read on more lines than this says nothing about where the value is: none is read again."""


class BandRereader(Protocol):
    """Reads horizontal bands (top, bottom) of an OCR'd page again, enlarged (None when it cannot)."""

    def __call__(self, page: Page, bands: Sequence[tuple[float, float]], *, scale: int) -> Page | None:
        """Return the page with the words in `bands` replaced by a reading at `scale` times the size."""
        ...


T = TypeVar("T")
R = TypeVar("R")


class ReadEach(Protocol):
    """Applies a read to independent items and returns the results in the items' order.

    `second_looks.SharedOcr.map` may run them on a borrowed idle core too; the results are those of reading them
    in turn.
    """

    def __call__(self, read: Callable[[T], R], items: Sequence[T], /) -> list[R]:
        """Return `[read(item) for item in items]`."""
        ...


def ocr_field_boxes(read: ReadDocument, spec: Spec, names: Sequence[str]) -> list[tuple[Page, str, BBox]]:
    """Return (page, field, box) for each box of the named fields on the OCR'd pages of `read`, in page order."""
    return [
        (page, name, box)
        for page in read.pages
        if page.method is ReadMethod.OCR and page.image is not None
        for name in names
        for box in field_boxes(page, spec, name)
    ]


def read_in_turn(read: Callable[[T], R], items: Sequence[T], /) -> list[R]:
    """Return `[read(item) for item in items]`, read one after the other on the calling thread."""
    return [read(item) for item in items]


class RegionRereader(Protocol):
    """Reads one region of an OCR'd page again, enlarged (None when it cannot)."""

    def __call__(self, page: Page, box: BBox) -> list[Word] | None:
        """Return the words read in `box` (page fractions)."""
        ...


class PageRereader(Protocol):
    """Reads an OCR'd page again with another page segmentation mode (None when it cannot)."""

    def __call__(self, page: Page, *, psm: int) -> Page | None:
        """Return the page read again with `psm`."""
        ...


def weak_fields(part: Extraction, specs: SpecSet, threshold: float) -> list[str]:
    """Return the `reread` fields the first reading did not find.

    Measured on SROIE: letting other readings vote on fields the first pass did find (but weakly) lost as
    many dates as it won totals, at 1.6x the OCR time; filling only what is missing keeps the first pass's
    answers and spends second readings where a field needs them. `threshold` is kept for callers' symmetry.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    return [name for name, field_spec in spec.fields.items() if field_spec.reread is True and name not in part.fields]


def read_again(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, reread: PageRereader, *, threshold: float
) -> int:
    """Improve weak fields of the parts in place with second readings; return how many pages were read again."""
    ocr_pages = [page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None]
    if not ocr_pages:
        return 0
    pages_read = 0
    for part in parts:
        weak = weak_fields(part, specs, threshold)
        if not weak:
            continue
        # Only the part's own pages: in a file of several documents (a claim form, an invoice, a receipt), a
        # receipt's missing tax must not be found on the invoice's page (it was, and read confidently).
        own = [page for page in ocr_pages if not part.pages or page.number in part.pages]
        if not own:
            continue
        readings = [part]
        for psm in SECOND_PSMS:
            again = [reread(page, psm=psm) for page in own]
            pages_read += sum(1 for page in again if page is not None)
            alternative = [new if new is not None else old for new, old in zip(again, own, strict=True)]
            readings.append(extract_document(ReadDocument(pages=alternative), specs, part.document_type))
            if all(_agree(readings, name) for name in weak):
                break  # two readings agree on every weak field: no third pass needed
        for name in weak:
            chosen = vote(name, [r.fields[name] for r in readings if name in r.fields], len(readings))
            if chosen is not None:
                put_found(part, chosen[0], _problems_of(readings, chosen[0]))
                if chosen[1]:
                    part.problems.append(chosen[1])
    return pages_read


READING_PROBLEMS = frozenset(
    {ReasonCode.FIELD_MISSING, ReasonCode.FIELD_LOW_CONFIDENCE, ReasonCode.FIELD_INVALID, ReasonCode.FIELD_AMBIGUOUS}
)
"""Problems that describe one reading of a field: when another reading's value replaces it, they go with it."""


def put_found(part: Extraction, field: Field, problems: Sequence[Problem] = ()) -> None:
    """Put a field a second reading found into the extraction, with that reading's problems for it.

    The first reading's problems for the field ("not found", "read with low confidence 0.31", "not a valid
    date", "two values found") described a value that is no longer there; a reviewer shown them beside a value
    read at 0.99 would be misled. They are replaced by `problems`, the second reading's own problems for the
    field, and a low confidence is said again with the number the field now has.
    """
    part.fields[field.name] = field
    kept = [p for p in part.problems if not (p.field == field.name and p.code in READING_PROBLEMS)]
    kept += [p for p in problems if p.field == field.name and p.code is not ReasonCode.FIELD_LOW_CONFIDENCE]
    if field.confidence < LOW_CONFIDENCE:
        kept.append(low_confidence(field))
    part.problems[:] = kept


def _problems_of(readings: Sequence[Extraction], found: Field) -> list[Problem]:
    """Return the problems for `found`'s field of the reading it came from (the surest that read the same value)."""
    same = [r for r in readings if found.name in r.fields and _key(r.fields[found.name]) == _key(found)]
    if not same:
        return []
    source = max(same, key=lambda r: r.fields[found.name].confidence)
    return [p for p in source.problems if p.field == found.name]


def _key(f: Field) -> str:
    value = f.value
    if isinstance(value, Money):
        return f"{value.amount}|{value.currency or ''}"
    return " ".join(str(value).split()).casefold()


def _agree(readings: Sequence[Extraction], name: str) -> bool:
    values = {_key(r.fields[name]) for r in readings if name in r.fields}
    found = sum(1 for r in readings if name in r.fields)
    return found >= 2 and len(values) == 1


def vote(name: str, candidates: Sequence[Field], readings: int) -> tuple[Field, Problem | None] | None:
    """Return the value most readings agree on, with its confidence adjusted, and a problem if disputed."""
    if not candidates:
        return None
    groups: dict[str, list[Field]] = {}
    for candidate in candidates:
        groups.setdefault(_key(candidate), []).append(candidate)
    ranked = sorted(groups.values(), key=lambda g: (len(g), max(f.confidence for f in g)), reverse=True)
    winner = ranked[0]
    best = max(winner, key=lambda f: f.confidence)
    if len(ranked) == 1:  # every reading that found it agrees: its own confidence stands
        return best, None
    share = len(winner) / readings
    confidence = min(best.confidence, 0.85) * share
    problem = Problem(
        ReasonCode.FIELD_AMBIGUOUS,
        f"{name}: readings of the page disagree ({len(ranked)} different values); check it",
        page=best.provenance.page,
        field=name,
    )
    return Field(best.name, best.value, confidence, best.provenance, best.raw), problem


def weak_regions(part: Extraction, specs: SpecSet, threshold: float) -> list[str]:
    """Return the `reread_region` fields missing or below the threshold, tables not read, and `always` fields."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    always = [name for name, f in spec.fields.items() if f.reread_region == "always"]
    flagged = [name for name, f in spec.fields.items() if f.reread_region is True]
    weak = [name for name in flagged if name not in part.fields or part.fields[name].confidence < threshold]
    # a table is read again only when no row was read: a closer reading of weak rows lost rows on a 96-dpi scan
    # a drop-out form's table is read cleaned (rules and dashed separators removed): weak rows are read again too
    weak += [
        name
        for name, t in spec.tables.items()
        if t.reread_region
        and not t.reread_rows  # read row by row instead (extract_rows.py)
        and (name not in part.fields or (spec.ocr.dropout and part.fields[name].confidence < threshold))
    ]
    return always + weak


def read_regions_again(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    reread: RegionRereader,
    *,
    threshold: float,
    only: Sequence[str] | None = None,
    each: ReadEach = read_in_turn,
) -> int:
    """Read the boxes of weak region fields again, enlarged, and take what that reading finds; return regions read.

    The words inside each weak field's box are replaced by the enlarged reading and the document is extracted
    again. A field the first reading missed takes the new value; where both readings found one, agreement keeps
    the better confidence and disagreement keeps the more confident value at lower confidence, flagged. Only
    single-document files are read this way (the boxes are found per page of the one document). `only` limits
    the reading to those of the weak fields (the ones a budget granted). The boxes are read independently of each
    other, through `each`.
    """
    if len(parts) != 1:
        return 0
    part = parts[0]
    spec = specs.specs.get(part.document_type)
    weak = [name for name in weak_regions(part, specs, threshold) if only is None or name in only]
    if spec is None or not weak:
        return 0
    boxes = ocr_field_boxes(read, spec, weak)
    readings = each(lambda target: reread(target[0], target[2]), boxes)
    regions = 0
    read_again: set[str] = set()
    pages: list[Page] = []
    for page in read.pages:
        if page.method is not ReadMethod.OCR or page.image is None:
            pages.append(page)
            continue
        replaced: list[tuple[BBox, list[Word]]] = []
        for (at, name, box), words in zip(boxes, readings, strict=True):
            if at is page and words is not None:
                replaced.append((box, words))
                read_again.add(name)
                regions += 1
        pages.append(_with_words(page, replaced))
    if not regions:
        return 0
    again = extract_document(ReadDocument(pages=pages), specs, part.document_type)
    for name in weak:
        problems = [p for p in again.problems if p.field == name]
        gives = _sum_gives(spec, part.fields, name)
        choose = _by_sum(gives) if gives is not None else choose_surer
        merge_reading(
            part, name, again.fields.get(name), problems, read=name in read_again, choose=choose, vouched=gives
        )
    return regions


def read_unread_again(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    reread: RegionRereader,
    *,
    threshold: float,
    only: Sequence[str],
    each: ReadEach = read_in_turn,
) -> int:
    """Read once more, with `reread`, the boxes of the `only` fields a closer reading left unread; return regions.

    The region look's reader for a box its first closer reading found nothing in (a drop-out form's box read black
    and white, `reread_region(binary=True)`: the grey cleaned `51 17` of box 29 read `atte`); what it finds is
    taken as `read_regions_again` takes a missing field's value, unconfirmed (UNCONFIRMED_FACTOR, flagged): one
    reading of pixels cut to black and white (a faint first letter may go: `RP-25419` for GRP-25419).
    """
    part = parts[0] if len(parts) == 1 else None
    unread = [name for name in only if part is not None and name not in part.fields]
    if part is None or not unread:
        return 0
    regions = read_regions_again(read, parts, specs, reread, threshold=threshold, only=unread, each=each)
    for name in unread:
        if name in part.fields:
            _unconfirm(part, name, "read only from its box in black and white, no other reading found it")
    return regions


def _sum_gives(spec: Spec, fields: dict[str, Field], name: str) -> Callable[[Field], bool] | None:
    """Return whether a reading of total `name` of a sum check is the amount its parts add up to (None: no sum).

    The parts are a third reading, of other words: `_by_sum` takes the reading they side with, and `merge_reading`
    does not hold an amount they vouch for as a toss (RIVAL_AMOUNT_CAP).
    """
    check = next((c for c in spec.checks if isinstance(c, SumCheck) and c.total == name), None)
    if check is None:
        return None
    summed = parts_sum(fields, check)
    if summed is None:
        return None
    tolerance = Decimal(str(check.tolerance))
    return lambda found: isinstance(found.value, Money) and abs(found.value.amount - summed) <= tolerance


def _by_sum(gives: Callable[[Field], bool]) -> Choose:
    """Return a choice for a sum check's total: of two readings that disagree, the one its parts add up to (`gives`).

    Box 28's `410.54` read `41 54` on the page (0.62) and `410.54` in its box (0.32), the service lines' charges
    adding up to 410.54: the parts are a third reading, of other words, that sides with one. Neither reading is
    taken from the sum (a total no reading gave is never made up); the one chosen is still flagged and doubted.
    """

    def choose(old: Field, new: Field) -> tuple[Field, bool]:
        chosen, agreed = choose_surer(old, new)
        if agreed:
            return chosen, agreed
        adds_up = [f for f in (old, new) if gives(f)]
        return (adds_up[0], False) if len(adds_up) == 1 else (chosen, False)

    return choose


def _with_words(page: Page, replaced: list[tuple[BBox, list[Word]]]) -> Page:
    """Return a copy of the page whose words inside each box are the new reading's (earlier boxes win overlaps)."""
    if not replaced:
        return page

    def inside(word: Word, box: BBox) -> bool:
        x, y = (word.bbox[0] + word.bbox[2]) / 2, (word.bbox[1] + word.bbox[3]) / 2
        return box[0] <= x <= box[2] and box[1] <= y <= box[3]

    words = [w for w in page.words if not any(inside(w, box) for box, _ in replaced)]
    for index, (_, read) in enumerate(replaced):
        earlier = [box for box, _ in replaced[:index]]
        words += [w for w in read if not any(inside(w, box) for box in earlier)]
    return dataclasses.replace(page, words=words, problems=list(page.problems))


Choose = Callable[[Field, Field], tuple[Field, bool]]
"""Given the first reading of a field and a second one, return the reading to keep and whether the two agree."""


def choose_surer(old: Field, new: Field) -> tuple[Field, bool]:
    """Keep the surer of two readings (the first on a tie); a list that holds every item of the other and more wins.

    So does a code that holds the other whole and characters it lost at an end (`_cut_code`), and a name that holds
    the other whole and the part before its joiner (`_cut_at_joiner`). They agree when they read the same value.
    """
    if _key(old) == _key(new):
        return (new if new.confidence > old.confidence else old), True
    if _more_items(new.value, old.value):
        return new, False  # the closer reading found every item of the first and more (a slot the first lost)
    if _cut_code(old.value, new.value):
        return new, False  # the closer reading holds the first whole and the letters it lost at an end
    if _cut_code(new.value, old.value):
        return old, False
    if _cut_at_joiner(old.value, new.value):
        return new, False  # the closer reading holds the first whole and the name's part before its joiner
    if _cut_at_joiner(new.value, old.value):
        return old, False
    return (new if new.confidence > old.confidence else old), False


def _cut_at_joiner(short: object, whole: object) -> bool:
    """Return True when text `short` is `whole` read from after a joiner: `WONG, CARLOS` of `LEE-WONG, CARLOS`.

    On a degraded scan the part of a name before its hyphen or apostrophe fades, and the pattern, which takes no
    joiner first, takes the rest as the whole name (`extract.cut_after_joiner` doubts it, x0.8, but it stayed the
    surer reading: seed 23 and 25 pre-printed `002` degraded, `WONG, CARLOS` 0.95 kept over its box's `LEE-WONG,
    CARLOS`). The part the short one lost is letters right before the joiner: two or more before a hyphen, one or
    more before an apostrophe (`O'NEIL`).
    """
    if not isinstance(short, str) or not isinstance(whole, str) or not short or not whole.endswith(short):
        return False
    head = whole[: len(whole) - len(short)]
    least = 2 if head[-1:] == "-" else 1
    return head[-1:] in tuple(JOINERS) and len(head) - 1 >= least and head[:-1].isalpha()


def _cut_code(short: object, whole: object) -> bool:
    """Return True when code `short` is `whole` with up to CUT_CODE letters or digits lost at one end.

    A code's first or last characters, near the box's rule or a speck, are read by one reading and lost by the
    other: `321113411` on the page, `W321113411` in its box; `MB11547693` on the page, `1547693` in its box. A
    code has no spaces; names and amounts are not codes.
    """
    if not isinstance(short, str) or not isinstance(whole, str) or " " in short or " " in whole:
        return False
    extra = len(whole) - len(short)
    if not 0 < extra <= CUT_CODE or not any(ch.isdigit() for ch in short):
        return False
    head, tail = whole[:extra], whole[-extra:]
    return (whole.endswith(short) and head.isalnum()) or (whole.startswith(short) and tail.isalnum())


def merge_reading(
    part: Extraction,
    name: str,
    new: Field | None,
    problems: Sequence[Problem] = (),
    *,
    read: bool = False,
    choose: Choose = choose_surer,
    disagreement: str = "a closer reading of its box disagrees with the first; check it",
    vouched: Callable[[Field], bool] | None = None,
) -> None:
    """Take a second reading's value of one field into the extraction, by `choose`; the one way every Look merges.

    `problems` are the second reading's problems for the field: they come with its value when it is kept (a
    value built from both readings, such as a table merged cell by cell, counts as the second reading's, but keeps
    the first reading's Problems saying a table borrowed a date part: `extract_tables.BORROWED`), and the first
    reading's problems for the field go (`put_found`). Readings that disagree keep the chosen value at lower
    confidence (DISAGREE_FACTOR) with a FIELD_AMBIGUOUS problem saying `disagreement`; twice so when the reading
    left out was about as sure (within EVEN_MARGIN: box 29's `100.83` read `100.84` on the page and `100.83` in
    its box, both at 0.95, the dashed cents rule through the `3`), unless they differ only in spaces (`Riverside
    Fami ly Clinic`: the same letters).
    `read`: the field's own box was read again. When that closer reading finds no value where the first
    reading found one, the first value is unconfirmed: it keeps its value at lower confidence, flagged (a
    degraded pre-printed form's `GRP-48003` read `RP-4800` at 0.92 on the page, nothing in its box closer).
    """
    old = part.fields.get(name)
    if new is None:
        if read and old is not None and old.provenance.method is ReadMethod.OCR:
            _unconfirm(part, name, "a closer reading of its box could not read it again")
        return
    if old is None:
        put_found(part, new, problems)
        return
    chosen, agreed = choose(old, new)
    own = [p for p in part.problems if p.field == name] if chosen is old else list(problems)
    if chosen is not old and chosen is not new:  # built from both: a date part the first reading borrowed may be in it
        own += [p for p in part.problems if p.field == name and BORROWED in p.message and p not in own]
    if agreed:
        if chosen is not old:
            put_found(part, chosen, own)  # the same value, read surer: the second reading's problems now hold
        return
    factor = DISAGREE_FACTOR
    other = new if chosen is old else old if chosen is new else None
    spaced = other is not None and "".join(_key(other).split()) == "".join(_key(chosen).split())
    if other is not None and other.confidence >= chosen.confidence - EVEN_MARGIN and not spaced:
        factor *= DISAGREE_FACTOR  # neither reading is surer: the value kept is a toss between two
    confidence = round(chosen.confidence * factor, 4)
    if other is not None and read_longer(chosen.value, other.value):
        confidence = min(confidence, CUT_CAP)  # the other reading went on past the value's end: it may be cut
    if other is not None and rival_amounts(chosen.value, other.value) and not (vouched is not None and vouched(chosen)):
        confidence = min(confidence, RIVAL_AMOUNT_CAP)  # two amounts read in one box: a toss a person settles
    put_found(part, dataclasses.replace(chosen, confidence=confidence), own)
    part.problems.append(
        Problem(ReasonCode.FIELD_AMBIGUOUS, f"{name}: {disagreement}", page=chosen.provenance.page, field=name)
    )


def rival_amounts(one: object, other: object) -> bool:
    """Return True when two readings of a field are amounts that differ (`161.34` and `161.32`)."""
    return isinstance(one, Money) and isinstance(other, Money) and one.amount != other.amount


def read_longer(short: object, whole: object) -> bool:
    """Return True when `whole`, another reading of a value, holds `short` and more letters or digits at an end.

    A code with up to CUT_CODE characters more at one end (`SRP-4800` for `RP-4800`: the page lost `G` and `3` at
    the box's edges); a text with more words, its words but the last the same and the last as read or misread
    (`ANDERSON, RORERT J` for `ANDERSON, ROBER`: the page stopped where the value crossed the box's rule), so for a
    one-word value any reading of more words. Words of marks alone a box's rule or a speck give (`|`, `.`) are no
    more.
    """
    if _cut_code(short, whole):
        return True
    if not isinstance(short, str) or not isinstance(whole, str):
        return False
    head, rest = short.split(), whole.split()
    if not head or len(rest) <= len(head) or rest[: len(head) - 1] != head[:-1]:
        return False
    return any(ch.isalnum() for word in rest[len(head) :] for ch in word)


def _more_items(new: object, old: object) -> bool:
    """Return True when both are lists and `new` holds every item of `old` and at least one more.

    An item read cut at its dot in one reading and whole in the other (`E78` and `E78.5`) is one item of both.
    """
    if not isinstance(new, list) or not isinstance(old, list) or len(new) <= len(old):
        return False
    rest = [" ".join(str(item).split()).casefold() for item in new]
    for item in old:
        key = " ".join(str(item).split()).casefold()
        held = next((o for o in rest if o == key or _cut_at_dot(o, key) or _cut_at_dot(key, o)), None)
        if held is None:
            return False
        rest.remove(held)
    return True


def _cut_at_dot(short: str, whole: str) -> bool:
    """Return True when `short` is `whole` read up to its dot only (`e78` of `e78.5`)."""
    return len(whole) > len(short) + 1 and whole.startswith(short) and whole[len(short)] == "."


def weak_values(part: Extraction, specs: SpecSet, threshold: float) -> list[str]:
    """Return the `reread` fields the first reading found on an OCR'd page below the auto-accept threshold.

    The threshold is compared with the confidence the field will be given (`calibrated`), not its raw score: a
    raw 0.92 receipt total is calibrated to 0.98, already confident, and reading its line again can only change
    its value to one two enlarged readings agree on, never make it surer. Measured on the 32 SROIE receipts
    (tesseract 5.3): of 43 band readings on raw scores below 0.96, the 7 that changed a value for the better were
    all on fields calibrated below 0.96, and the one that broke a right date (raw 0.92) was not.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    return [
        name
        for name, field_spec in spec.fields.items()
        if field_spec.reread in (True, "lines")
        and name in part.fields
        and calibrated(part, part.fields[name], specs) < threshold
        and part.fields[name].provenance.bbox is not None
        and part.fields[name].provenance.method is ReadMethod.OCR
    ]


def unread_values(part: Extraction, specs: SpecSet, pages: Sequence[Page]) -> dict[str, list[tuple[int, Band]]]:
    """Return the `reread` fields missing from `part` whose label was read beside nothing the pattern takes.

    Small till print at 150-230 dpi (7-8 pt Courier, an x-height of 10-12 px) loses its decimal points and thin
    strokes: `Sales Tax 8.25% LQ , 13` for `19.13` on a clean 234-dpi scan; the same line read at 2x and 3x
    reads `19.13` both times. Only fields whose value is read right of their label, on OCR pages of the part,
    with at most UNREAD_LABELS such label lines (not excluded); returns the bands (page, (top, bottom)) of those
    label lines with a digit read right of the label. A label ending its line (a column heading: `Description
    Qty U.price Total TAX`) or followed by words without a digit has no misread amount beside it: on the 32
    SROIE receipts (bench/extraction.py) 4 of the 8 tax lines read so were such, none gave a value.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return {}
    own = [
        page
        for page in pages
        if page.method is ReadMethod.OCR and page.image is not None and (not part.pages or page.number in part.pages)
    ]
    found: dict[str, list[tuple[int, Band]]] = {}
    lines_of = {page.number: build_lines(page) for page in own} if own else {}
    for name, field_spec in spec.fields.items():
        if not field_spec.reread or name in part.fields or field_spec.direction != "right" or not field_spec.anchors:
            continue
        bands: list[tuple[int, Band]] = []
        labelled = 0
        for page in own:
            lines = lines_of[page.number]
            hits = [
                hit
                for anchor in field_spec.anchors
                for hit in find_anchors(lines, anchor, field_spec.fuzzy)
                if not any(contains_phrase(lines[hit.line_index], p, EXCLUDE_MATCH) for p in field_spec.exclude)
            ]
            labelled += len({hit.line_index for hit in hits})
            # a label with no digit read right of it (a table's column heading ending its line: `Amount RM Tax
            # RM`, `Total TAX`) has no amount beside it to read again
            indexes = {hit.line_index for hit in hits if _digit_right_of(lines[hit.line_index], hit.end)}
            for index in sorted(indexes):
                line = lines[index]
                margin = BAND_MARGIN * (line.bottom - line.top)
                bands.append((page.number, (line.top - margin, line.bottom + margin)))
        if bands and labelled <= UNREAD_LABELS:
            found[name] = bands
    return found


def _digit_right_of(line: Line, end: int) -> bool:
    """Return True when a word right of a label (its words end before `end`) holds a digit: a misread amount."""
    return any(ch.isdigit() for word in line.words[end:] for ch in word.text)


def calibrated(part: Extraction, found: Field, specs: SpecSet) -> float:
    """Return the confidence `found` will be given at the end of reading: its raw score through the fitted curve.

    Without a fitted curve for its reading method and document type it is the raw score. Used to decide where a
    second reading is spent: the auto-accept threshold is a calibrated confidence.
    """
    curve = specs.calibration.curve_for(found.provenance.method, part.document_type) if specs.calibration else None
    return curve(found.confidence) if curve is not None else found.confidence


def read_lines_again(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    reread: BandRereader,
    *,
    threshold: float,
    only: Sequence[str] | None = None,
    second: Callable[[Page, BBox], str] | None = None,
) -> int:
    """Read the lines of weak values again enlarged (2x, then 3x on disagreement) and vote; return the OCR calls.

    The first pass's weak total or date is often one misread glyph (`2014` for `2016`); the same line read
    larger reads it differently. All weak lines of a page go into one OCR call. A value changes only when
    two enlarged readings agree against the first; the winner then stays below auto-accept (`vote`). A file
    holding several documents is left alone (its parts cover different pages). `only` limits the reading to
    those of the weak values (the ones a budget granted). Missing values whose label was read (`unread_values`)
    have their label's line read so too; one is taken only when both enlargements read it alike, at most
    UNREAD_CAP, flagged. `second` (a second recognizer's reading of a box, extract_words.second_reader) keeps a
    first value it reads alike against the enlargements (`_second_keeps`).
    """
    if len(parts) != 1:
        return 0
    part = parts[0]
    weak = [name for name in weak_values(part, specs, threshold) if only is None or name in only]
    unread = {n: b for n, b in unread_values(part, specs, read.pages).items() if only is None or n in only}
    # apart: a band read with others changes their readings (tesseract reads the stacked bands as one block)
    calls = _vote_weak_lines(read, part, specs, reread, weak, second) if weak else 0
    return calls + (_read_unread_lines(read, part, specs, reread, unread) if unread else 0)


def _vote_weak_lines(
    read: ReadDocument,
    part: Extraction,
    specs: SpecSet,
    reread: BandRereader,
    weak: Sequence[str],
    second: Callable[[Page, BBox], str] | None = None,
) -> int:
    """Read the weak values' lines at 2x (3x on disagreement), change a value two enlargements agree on.

    Not where the second recognizer reads the first value's box as the first reading did (`_second_keeps`).
    """
    calls = 0
    readings = [part]
    pending = list(weak)
    for scale in BAND_SCALES:
        # a line whose first reading the last enlargement read the same is settled: it is not read again (two
        # enlarged readings must agree against the first to change a value, and one of them already did not)
        made, reading = _read_bands(read, part, specs, reread, _bands(part, pending), scale)
        if not calls:
            _doubt_unread(part, [name for name in pending if part.fields[name].provenance.page not in made])
        calls += len(made)
        if reading is None:
            return calls
        readings.append(reading)
        # a weak date is settled only by two enlargements: one glyph may read alike at the page's size and at 2x and
        # otherwise at 3x (SROIE 460's noisy 5: `08` on the page and at 2x, `05` at 3x)
        last = scale == BAND_SCALES[-1]
        pending = [n for n in pending if not _agree([part, reading], n) or (not last and _dated(part.fields[n]))]
        if not pending:
            break  # the enlarged lines read the same: the first reading stands (doubted where an earlier one did not)
        if not any(name in reading.fields for name in pending):
            # a value changes only when two enlargements agree against the first reading: one that read none of
            # them leaves the next nothing to agree with (the pending values' bands are read together, so the
            # next enlargement is left out only when it would serve none of them)
            return calls
    for name in weak:
        found = [r.fields[name] for r in readings if name in r.fields]
        groups = {_key(f) for f in found}
        if len(groups) < 2:
            continue
        chosen = vote(name, found, len(readings))
        if chosen is None or _key(chosen[0]) == _key(part.fields[name]):
            _doubt_disputed(part, name, found)
            continue
        if sum(1 for f in found if _key(f) == _key(chosen[0])) < 2:
            _doubt_disputed(part, name, found)
            continue  # no two readings agree on another value: the first reading stands
        if second is not None and _second_keeps(read, part.fields[name], chosen[0], second):
            continue
        put_found(part, chosen[0], _problems_of(readings[1:], chosen[0]))
        if chosen[1]:
            part.problems.append(chosen[1])
    return calls


def _dated(found: Field) -> bool:
    """Return True for a date: read at both enlargements, whatever the first says (no check catches a wrong digit).

    A weak amount is not: a receipt's sums check its total, and on the 32 SROIE receipts reading weak amounts at 3x
    too cost one call more and doubted one right total only.
    """
    return isinstance(found.value, date)


def _figures(found: Field) -> bool:
    """Return True for a date or an amount: a value whose every digit counts and which no spelling check catches."""
    return isinstance(found.value, Money | date)


def _doubt_disputed(part: Extraction, name: str, found: Sequence[Field]) -> None:
    """Doubt a weak date or amount whose first reading stands though an enlargement of its line read another value.

    The readings at other sizes disagree on a digit: the value stands (no two enlargements agree on another one) but
    it is not confirmed, and a person should look (UNCONFIRMED_FACTOR, flagged with the other values read).
    """
    first = part.fields[name]
    if not _figures(first):
        return
    others = sorted({str(f.raw).strip() for f in found if _key(f) != _key(first)})
    _unconfirm(part, name, f"its line read larger gives another value ({', '.join(others)})")


def _doubt_unread(part: Extraction, names: Sequence[str]) -> None:
    """Lower the weak values whose lines could not be read again at all (UNCONFIRMED_FACTOR), flagged.

    A weak value granted a closer reading that none could make (its page's image was not kept, its lines too wide
    to enlarge: `readers.reread_bands`) has no second reading behind it: it must not keep the confidence of a value
    a closer reading confirmed (SROIE 460's misread date sat 0.0001 under the threshold with no second reading).
    """
    for name in names:
        _unconfirm(part, name, "its line could not be read again closer")


def _unconfirm(part: Extraction, name: str, why: str) -> None:
    """Keep the field's value at UNCONFIRMED_FACTOR of its confidence, flagged with `why` and its page."""
    found = part.fields[name]
    part.fields[name] = dataclasses.replace(found, confidence=round(found.confidence * UNCONFIRMED_FACTOR, 4))
    part.problems.append(
        Problem(ReasonCode.FIELD_LOW_CONFIDENCE, f"{name}: {why}; check it", page=found.provenance.page, field=name)
    )


def _compact(text: str) -> str:
    """Return text without spaces, case folded: how two recognizers' readings of one box are compared."""
    return "".join(text.split()).casefold()


def _second_keeps(read: ReadDocument, first: Field, enlarged: Field, second: Callable[[Page, BBox], str]) -> bool:
    """Return True when the second recognizer reads the first value's box as the first reading did.

    Not as the enlargements did: two recognizers trained apart agree, and the enlargements' value does not replace it.

    Enlarging a line makes tesseract read some glyphs alike at both sizes: SROIE 140's date `16-03-2018` (raw
    0.92, calibrated 0.986, weak at threshold 0.99) read `18-03-2018` at 2x and 3x (0.85, 0.58), and the vote took
    it; PP-OCR reads the page's box `16-03-2018`. Where the first reading misread (`SANYO` for SANYU, SROIE 500),
    PP-OCR reads the enlargements' value and the vote stands; a value whose readings differ only in spaces (an
    issuer's letter-spaced `GA R DENIA`) is not judged so. One reading of one box (about 0.05 s of a core).

    Where the first value is a run of the enlargements' words (`Parc SARL` of `Drogerie du Parc SARL`: a stamp over
    the name's first word, read `progerie` after a speck, which the issuer pattern skipped), its own box holds only
    those words and any recognizer reads them so: the box both readings span is read instead (held-out seed 26
    full receipt 017 degraded).
    """
    old, new = _compact(str(first.raw)), _compact(str(enlarged.raw))
    box, number = first.provenance.bbox, first.provenance.page
    if not old or old == new or box is None or first.provenance.method is not ReadMethod.OCR:
        return False
    page = next((p for p in read.pages if p.number == number), None)
    if page is None:
        return False
    wider = enlarged.provenance.bbox
    if wider is not None and enlarged.provenance.page == number and _run_of(str(first.raw), str(enlarged.raw)):
        box = (min(box[0], wider[0]), min(box[1], wider[1]), max(box[2], wider[2]), max(box[3], wider[3]))
    return _compact(second(page, box)) == old


def _run_of(short: str, whole: str) -> bool:
    """Return True when the words of `short` are a run of the words of `whole` with at least one word more."""
    part, words = short.casefold().split(), whole.casefold().split()
    return 0 < len(part) < len(words) and any(
        words[start : start + len(part)] == part for start in range(len(words) - len(part) + 1)
    )


def _read_bands(
    read: ReadDocument,
    part: Extraction,
    specs: SpecSet,
    reread: BandRereader,
    bands: dict[int, list[Band]],
    scale: int,
) -> tuple[set[int], Extraction | None]:
    """Read the pages' bands enlarged by `scale`; return the pages read (one OCR call each) and that extraction.

    The extraction keeps only values read inside the bands (another line winning says nothing about these); it is
    None when no page had a band that could be read.
    """
    again = [reread(page, bands[page.number], scale=scale) if page.number in bands else None for page in read.pages]
    made = {old.number for new, old in zip(again, read.pages, strict=True) if new is not None}
    if not made:
        return made, None
    pages = [new if new is not None else old for new, old in zip(again, read.pages, strict=True)]
    reading = extract_document(ReadDocument(pages=pages), specs, part.document_type)
    reading.fields = {n: f for n, f in reading.fields.items() if _inside(f, bands)}
    return made, reading


def _read_unread_lines(
    read: ReadDocument,
    part: Extraction,
    specs: SpecSet,
    reread: BandRereader,
    unread: dict[str, list[tuple[int, Band]]],
) -> int:
    """Read the labels' lines of missing values at 2x and 3x; take what both read alike (`_take_unread`).

    A total only one enlargement read (or the two read apart) is taken when the receipt's own sums give it to the
    cent (`_take_summed`).
    """
    calls = 0
    readings: list[Extraction] = []
    pending = list(unread)
    for scale in BAND_SCALES:
        bands: dict[int, list[Band]] = {}
        for name in pending:
            for number, band in unread[name]:
                bands.setdefault(number, []).append(band)
        made, reading = _read_bands(read, part, specs, reread, bands, scale)
        calls += len(made)
        if reading is None:
            break
        readings.append(reading)
        pending = [name for name in pending if name in reading.fields]  # both must read it: none, no 3x
        if not pending:
            break
    for name in unread:
        if not _take_unread(part, name, readings):
            _take_summed(read, part, specs, name, readings)
    return calls


def _take_unread(part: Extraction, name: str, enlarged: Sequence[Extraction]) -> bool:
    """Take a missing value both enlarged readings of its label's line gave alike, below auto-accept, flagged."""
    found = [r.fields[name] for r in enlarged if name in r.fields]
    # an amount read alike is one value whether or not that reading's band also held the currency sign
    if len(found) < len(BAND_SCALES) or len({_key(f).split("|")[0] for f in found}) != 1:
        return False
    _put_enlarged(part, name, found, enlarged, "read only from its line enlarged (the page's reading gave none there)")
    return True


def _take_summed(
    read: ReadDocument, part: Extraction, specs: SpecSet, name: str, enlarged: Sequence[Extraction]
) -> None:
    """Take a missing total one enlarged reading of its label's line gave, when the page's own sums give it too.

    The other enlargement read the bold figures garbled (`32037` at 3x for `32.77`, read `32.77` at 2x; the page
    read `32007`): subtotal + tax (+ rounding), or cash less change, giving the same amount to the cent is a second
    witness read from other lines. Only a `select: largest` money field (the total `_corroborate` checks against
    the same sums), only when one amount so confirmed was read; at most UNREAD_CAP, flagged.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None or name not in spec.fields or spec.fields[name].select != "largest" or name in part.fields:
        return
    pages = {page.number: page for page in read.pages}
    confirmed: dict[Decimal, list[Field]] = {}
    for reading in enlarged:
        found = reading.fields.get(name)
        if found is None or not isinstance(found.value, Money) or found.provenance.page not in pages:
            continue
        sums = page_sums([line.text for line in build_lines(pages[found.provenance.page])])
        if found.value.amount in sums.implied or found.value.amount == sums.paid:
            confirmed.setdefault(found.value.amount, []).append(found)
    if len(confirmed) != 1:
        return
    alike = next(iter(confirmed.values()))
    _put_enlarged(
        part, name, alike, enlarged, "read only from its line enlarged, once; the document's own sums give the same"
    )


def _put_enlarged(
    part: Extraction, name: str, alike: Sequence[Field], enlarged: Sequence[Extraction], why: str
) -> None:
    """Put the surest of `alike` (an amount with its currency first) into `part`, at most UNREAD_CAP, flagged."""
    best = max(alike, key=lambda f: (isinstance(f.value, Money) and f.value.currency is not None, f.confidence))
    capped = dataclasses.replace(best, confidence=min(best.confidence, UNREAD_CAP))
    put_found(part, capped, _problems_of(enlarged, best))
    part.problems.append(
        Problem(ReasonCode.FIELD_AMBIGUOUS, f"{name}: {why}; check it", page=best.provenance.page, field=name)
    )


def _bands(part: Extraction, names: Sequence[str]) -> dict[int, list[tuple[float, float]]]:
    """Return the bands (top, bottom) around the values of `names`, by page."""
    bands: dict[int, list[tuple[float, float]]] = {}
    for name in names:
        provenance = part.fields[name].provenance
        if provenance.bbox is None or provenance.page is None:
            continue
        _, top, _, bottom = provenance.bbox
        margin = BAND_MARGIN * (bottom - top)
        bands.setdefault(provenance.page, []).append((top - margin, bottom + margin))
    return bands


def _inside(found: Field, bands: dict[int, list[tuple[float, float]]]) -> bool:
    """Return True when the field's value sits in one of the re-read bands of its page."""
    box, page = found.provenance.bbox, found.provenance.page
    if box is None or page is None:
        return False
    centre = (box[1] + box[3]) / 2
    return any(top <= centre <= bottom for top, bottom in bands.get(page, []))


DIGITS_FACTOR = 0.75
"""A boxed date read only by a digits-only reading of its box: the letters OCR read there became digits (a guess)."""


def missing_dates(part: Extraction, specs: SpecSet) -> list[str]:
    """Return the `reread_region` date fields of `part` still not read (after the closer reading of their boxes)."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    return [
        name
        for name, f in spec.fields.items()
        if f.type == "date" and f.direction == "region" and f.reread_region and name not in part.fields
    ]


def weak_dates(part: Extraction, specs: SpecSet, threshold: float) -> list[str]:
    """Return the `reread_region` date fields of `part` read, but calibrated below the threshold (after re-reads).

    A boxed date read with a rule or caption glued to a digit (`10 !19 '1901`, `10 $31 11945`) is taken by the
    pattern as a wrong year (1901, 2945: the latter fails its range check): read, weak, never missing. As for the
    other looks, the threshold is compared with the confidence the date will be given (`calibrated`): a raw 0.94
    boxed date is calibrated to 0.99 on a CMS-1500, already confident.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    return [
        name
        for name, f in spec.fields.items()
        if f.type == "date"
        and f.direction == "region"
        and f.reread_region
        and name in part.fields
        and calibrated(part, part.fields[name], specs) < threshold
    ]


def read_dates_as_digits(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    reread: RegionRereader,
    *,
    threshold: float,
    only: Sequence[str] | None = None,
    how: str = "from its box with digits only (letters were read there)",
    weak: bool = False,
) -> list[str]:
    """Read the boxes of unread date fields again with digits only; return the fields it gave a value.

    A date printed in boxes is digits only, and a box OCR read as letters (`Ol 23 79` for 01 23 79, a box's rule
    glued to a digit) leaves no date the pattern can take, on the page and in the closer reading alike. `reread`
    reads with a digits-only whitelist, so each glyph is the digit it most resembles; a date found so is a guess:
    its confidence is lowered (DIGITS_FACTOR) and a FIELD_AMBIGUOUS problem says so. A value must still pass the
    field's pattern and validators (no birth date in the future). `weak`: dates read below the threshold
    (`weak_dates`) are read so too; one whose value this reading changes is flagged as a guess the same way, and
    one it reads alike gains no confidence from it (two readings of the same glued rule may agree).
    """
    if len(parts) != 1:
        return []
    part = parts[0]
    candidates = missing_dates(part, specs) + (weak_dates(part, specs, threshold) if weak else [])
    wanted = [name for name in candidates if only is None or name in only]
    if not wanted:
        return []
    before = {name: part.fields.get(name) for name in wanted}
    read_regions_again(read, parts, specs, reread, threshold=threshold, only=wanted)
    filled: list[str] = []
    for name in wanted:
        found, old = part.fields.get(name), before[name]
        if found is None:
            continue
        if old is not None and found.value == old.value:
            if found.confidence > old.confidence:
                part.fields[name] = dataclasses.replace(found, confidence=old.confidence)
            continue
        filled.append(name)
        part.fields[name] = dataclasses.replace(found, confidence=round(found.confidence * DIGITS_FACTOR, 4))
        part.problems.append(
            Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: read {how}; check it",
                page=found.provenance.page,
                field=name,
            )
        )
    return filled


LINE_BAND_MARGIN = (0.1, 0.3)
"""A date's line read alone reaches these shares of its words' height above and below them: the `MM DD YY`
captions end ~0.4 of it above the digits, and their cut-off feet were read as `«©` between the parts."""


def value_band(page: Page, box: BBox) -> tuple[float, float] | None:
    """Return the band of `box` holding its value's line: the lowest word with a digit and the words beside it.

    A boxed date whose box OCR read with its captions (`MM DD YY` above the value) may lose its digits in that
    reading (`40-9 oot` for `10 19 1991`, Courier `11` read `19`), while its line read alone reads right. The
    band spans the box's width and the words of the page's reading (first or layers) with a digit whose middle
    lies within the lowest such word's height (top, bottom; page fractions); None when the box holds no digit.
    """
    inside = [w for w in page.words if any(ch.isdigit() for ch in w.text) and centre_in(w.bbox, box)]
    if not inside:
        return None
    lowest = max(inside, key=lambda w: (w.bbox[1] + w.bbox[3]) / 2)
    line = [w for w in inside if lowest.bbox[1] <= (w.bbox[1] + w.bbox[3]) / 2 <= lowest.bbox[3]]
    top, bottom = min(w.bbox[1] for w in line), max(w.bbox[3] for w in line)
    high = bottom - top
    return max(box[1], top - LINE_BAND_MARGIN[0] * high), min(box[3], bottom + LINE_BAND_MARGIN[1] * high)


def read_date_lines(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    reread_band: Callable[[Page, BBox, tuple[float, float]], list[Word] | None],
    *,
    threshold: float,
    only: Sequence[str] | None = None,
) -> list[str]:
    """Read the value line of unread or weak date fields' boxes alone (`value_band`); return the fields it changed.

    The last try for a boxed date that its box's closer reading and the digits-only reading both left unread, or
    read below the threshold (a rule glued to the year: `10 !19 '1901` taken as 1901-10-19): `reread_band(page,
    box, band)` reads the band of the box (one line, psm 7) and its words stand for the box's. A date found or
    changed so is flagged as a guess like a digits-only one (DIGITS_FACTOR); a weak date read alike stays as weak.
    """

    def reread(page: Page, box: BBox) -> list[Word] | None:
        band = value_band(page, box)
        return None if band is None else reread_band(page, box, band)

    return read_dates_as_digits(
        read, parts, specs, reread, threshold=threshold, only=only, how="from its value's line read alone", weak=True
    )
