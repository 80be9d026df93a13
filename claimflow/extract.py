"""Apply an extractor spec to a read document: Fields with typed values, confidence and provenance.

For page documents each field's anchors are looked up (fuzzy), the words in the declared direction or
region are taken (minus words that are themselves labels, so a blank form yields nothing), the field's
regex is applied to that region's text, and the match is normalised and validated. Each candidate gets
a confidence from OCR word confidence, anchor match ratio, validation and ambiguity; the best candidate
per field wins. Sheets go to `extract_sheets`, tables to `extract_tables`; cross-field checks run last.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations, pairwise

from claimflow.classify import UNKNOWN, classify_document
from claimflow.errors import ReasonCode
from claimflow.extract_checks import (
    CENT,
    PageSums,
    Unread,
    apply_checks,
    doubt_currency,
    fill_currencies,
    fill_unread,
    one_slip,
    page_sums,
)
from claimflow.extract_layout import (
    AnchorHit,
    Line,
    build_lines,
    contains_phrase,
    edge_junk,
    find_anchors,
    hit_for_box,
    noise_line,
    on_row,
    page_aspect,
    union_box,
    words_below,
    words_in_region,
    words_skewed_right,
)
from claimflow.extract_pitch import cells_apart, line_pitch
from claimflow.extract_sheets import extract_records
from claimflow.extract_tables import cap_borrowed, extract_table, table_anchor_hits
from claimflow.extract_values import TypedValue, parse_value
from claimflow.icd10cm import CONFUSABLE, is_icd10cm, rejoined
from claimflow.models import BBox, Extraction, Field, Money, Page, Problem, Provenance, ReadDocument, ReadMethod, Word
from claimflow.normalise import dollar_lookalikes, upper_case_lookalikes
from claimflow.specs import AgreeCheck, FieldSpec, Spec, SpecSet, SumCheck

LOW_CONFIDENCE = 0.5
PAGE_SEARCH_FACTOR = 0.92
FREE_TEXT_FACTOR = 0.97
AMBIGUOUS_FACTOR = 0.75
INVALID_FACTOR = 0.5
DISAGREE_FACTOR = 0.85
FALLBACK_FACTOR = 0.85
BELOW_FACTOR = 0.9
CONTEXT_BASE = 0.85
UNCONFIRMED_CAP = 0.85
NEAR_FACTOR = 0.9
"""A value whose box was placed from another box's caption (`near`: its own caption was not read) counts less."""
NEAR_FUZZY = 90.0
"""A caption that places another box is matched at least this closely (`INSURED'S DATE` is not `INSURED'S NAME`)."""
CAPTION_CLEARANCE = 0.002
"""A region's re-read box starts at least this far (page height) below the middle of its caption."""
INITIAL_REACH = 3.0
"""A misread middle initial lies within this many line heights right of the name (a space or two of 12 pt
Courier: line heights are page-height fractions, gaps page-width fractions, so one height is not enough)."""
GARBLED_WORD = 0.5
GARBLED_NEIGHBOUR_FACTOR = 0.8
ACROSS_LABEL_FACTOR = 0.5
"""A value whose words lie on both sides of a label's word on their row was put together across a caption
(box 29's and box 30's printed numbers `29.` and `30.` around `AMOUNT PAID` read as the amount `29.30`)."""
LABEL_PHRASE_FACTOR = 0.8
"""A value found with no label of its own (`top_lines`: a seller's name) whose row runs on into another field's label,
a word space away, is a piece of a heading (`PAYMENT` of invoice2data oyo's `PAYMENT RECEIPT`, `RECEIPT` an
invoice number's label): raw 0.75 calibrated 0.98 for an issuer."""
LABEL_GAP = 1.5
"""... a word space: at most this many of the value's line heights between its end and the label's word."""
EDGE_REACH = 3.0
"""A word of the value's row left out of its region this many line heights after the value may be its rest."""
BEFORE_REACH = 2.0
"""... and this many before it (a neighbouring box's words end further from a value than a space)."""
PREFIX_CAP = 0.6
"""The most a code of figures keeps that has a word of capitals just before it in its own box (`GRP` `97501` for
GRP-97501, the hyphen lost on a degraded scan): the prefix may be the code's own (as extract_reread.CUT_CAP); and a
name read by a pattern with a word of letters just before it (`LEE` `WONG, DAVID H` for LEE-WONG, DAVID H)."""
PREFIX_WORD = re.compile(r"^[A-Z]{1,5}-?$")
"""... such a word before a code: a code's letters (`GRP`, `MP-`), never a caption's longer words."""
NAME_PART = re.compile(r"^[A-Za-z][A-Za-z'’\-]+$")
"""... before a name: a word of two letters or more (a surname's first part), read at GARBLED_WORD or more."""
PREFIX_REACH = 2.0
"""... at most this many of the value's line heights before it (a space, and a lost hyphen's width)."""
UNORDERED_FACTOR = 0.8  # a list whose printed order is unknown (items without their own marker)
LEFTOVER_FACTOR = 0.6  # a marked list with code-like text left over in its region: an item may be unread
REPAIRED_CAP = 0.6
DERIVED_CONFIDENCE = 0.6
"""A receipt tax whose line was read garbled, given by the rate times the subtotal and by the total less it."""
BELOW_TAX_CAP = 0.5
"""A total not above the tax read on its page is no total (`0.78` under a stamp's R for 80.78, tax 6.16)."""
ROW_GAP = 0.05  # side-by-side pieces further apart are separate blocks (sender | recipient)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible value for a field, before the best one is chosen."""

    typed: TypedValue
    raw: str
    confidence: float
    page: Page
    words: tuple[Word, ...]


def extract_documents(read: ReadDocument, specs: SpecSet) -> list[Extraction]:
    """Extract a file that may hold several documents (a claim form scanned with its invoice).

    Each page of a multi-page file is classified on its own; where pages of different types follow each
    other, the file is split into runs of consecutive pages of one type (an unrecognised page stays with
    the run before it) and each run is extracted as a document. Otherwise the file is one document.
    """
    if len(read.pages) > 1:
        kinds = [classify_document(ReadDocument(pages=[page]), specs)[0] for page in read.pages]
        if len({k for k in kinds if k != UNKNOWN}) > 1:
            runs: list[tuple[str, list[Page]]] = []
            for page, kind in zip(read.pages, kinds, strict=True):
                if runs and kind in (runs[-1][0], UNKNOWN):
                    runs[-1][1].append(page)
                else:
                    runs.append((kind, [page]))
            return [extract_document(ReadDocument(pages=pages), specs, kind) for kind, pages in runs]
    return [extract_document(read, specs)]


def extract_document(read: ReadDocument, specs: SpecSet, document_type: str | None = None) -> Extraction:
    """Extract the fields of one read document; classifies it first when `document_type` is None."""
    extraction = _extract_document(read, specs, document_type)
    extraction.pages = tuple(page.number for page in read.pages)
    return extraction


def _extract_document(read: ReadDocument, specs: SpecSet, document_type: str | None) -> Extraction:
    confidence = 1.0
    if document_type is None:
        document_type, confidence = classify_document(read, specs)
    if document_type == UNKNOWN or document_type not in specs.specs:
        problem = Problem(ReasonCode.UNKNOWN_DOCUMENT_TYPE, "no extractor spec fits this document; send to review")
        return Extraction(UNKNOWN, confidence, problems=[problem])
    spec = specs.get(document_type)
    if spec.layout == "sheet":
        records, problems = extract_records(read.sheets, spec)
        return Extraction(document_type, confidence, records=records, problems=problems)
    fields: dict[str, Field] = {}
    problems = []
    pages = [(page, build_lines(page)) for page in read.pages]
    sums = {page.number: page_sums([line.text for line in lines]) for page, lines in pages}
    labels = {id(word) for page, lines in pages for word in _label_words(spec, lines)}
    fillable = {n for c in spec.checks if isinstance(c, AgreeCheck) and c.fill_unread for n in c.fields}
    unread: dict[str, Unread] = {}
    for name, field_spec in spec.fields.items():
        candidates: list[Candidate] = []
        unreadable: list[Problem] = []
        for page, lines in pages:
            candidates.extend(_candidates(name, field_spec, spec, page, lines, labels, unreadable, fields))
        # a spec that checks this total against its own parts keeps the total as read and flags it instead
        checked = any(isinstance(c, SumCheck) and c.total.partition(".")[0] == name for c in spec.checks)
        chosen = _choose(name, field_spec, candidates, problems, sums, repair=not checked)
        if chosen is not None:
            fields[name] = chosen
        elif unreadable:
            problems.append(unreadable[0])  # something was there but could not be read as this type
        if chosen is None and name in fillable:
            found = next((u for page, lines in pages if (u := _unread(field_spec, page, lines, labels, fields))), None)
            if found is not None:
                unread[name] = found
    if spec.ocr.dropout:
        one_value_one_box(fields, problems)
    _taxes_from_sums(spec, fields, problems, pages, sums)
    for name, table_spec in spec.tables.items():
        table_field = extract_table(name, table_spec, spec, pages, problems)
        if table_field is not None:
            fields[name] = table_field
    fill_currencies(fields, spec)
    for name, field_spec in spec.fields.items():
        if field_spec.required and name not in fields:
            problems.append(Problem(ReasonCode.FIELD_MISSING, f"required field {name} not found", field=name))
    problems.extend(low_confidence(field) for field in fields.values() if field.confidence < LOW_CONFIDENCE)
    problems.extend(apply_checks(fields, spec))
    if (mismatch := doubt_currency(fields)) is not None:
        problems.append(mismatch)
    problems.extend(fill_unread(fields, spec, unread))
    cap_borrowed(fields, problems)  # a sum check vouches for no date a table borrowed
    return Extraction(document_type, confidence, fields=fields, problems=problems)


SHARED_BOX = 0.5
"""Two fields whose values' boxes overlap by this share of the smaller box read the same printed value."""


def one_value_one_box(fields: dict[str, Field], problems: list[Problem]) -> None:
    """On a form of boxes, drop a scanned value another field read from the same words, less surely.

    A value typed in a box is that box's: box 28's region, placed from a garbled caption through box 29's
    (`AMOUNT PAID BOX`), took box 29's `0.00` where its own `355.021` (the cents' rule read as `1`) was no amount.
    The surer reading keeps the value; the other field is left unread, so a closer reading of its box may find its
    own. Values equal but printed apart (a claim paid in full) are two values and both stay.
    """
    scanned = [
        (name, f) for name, f in fields.items()
        if f.provenance.method is ReadMethod.OCR and f.provenance.bbox is not None
    ]
    for index, (name, field) in enumerate(scanned):
        for other_name, other in scanned[index + 1 :]:
            if name not in fields or other_name not in fields or field.provenance.page != other.provenance.page:
                continue
            if _box_share(field.provenance.bbox, other.provenance.bbox) < SHARED_BOX:  # type: ignore[arg-type]
                continue
            loser = other_name if field.confidence >= other.confidence else name
            keeper = name if loser == other_name else other_name
            del fields[loser]
            problems.append(
                Problem(
                    ReasonCode.FIELD_AMBIGUOUS,
                    f"{loser}: the value read for it is {keeper}'s (the same words, read surer there)",
                    page=field.provenance.page,
                    field=loser,
                )
            )


def _box_share(one: BBox, other: BBox) -> float:
    """Return the overlap of two boxes as a share of the smaller one's area (0 when apart or empty)."""
    width = min(one[2], other[2]) - max(one[0], other[0])
    height = min(one[3], other[3]) - max(one[1], other[1])
    smaller = min((one[2] - one[0]) * (one[3] - one[1]), (other[2] - other[0]) * (other[3] - other[1]))
    if width <= 0 or height <= 0 or smaller <= 0:
        return 0.0
    return width * height / smaller


def taxes_from_sums(read: ReadDocument, part: Extraction, specs: SpecSet) -> None:
    """Give `tax_of` fields the tax the receipt's own sums make with the total as it now stands (in place).

    The first extraction derives it with the total it read; a total the second looks read (a till's bold total
    lost to noise, read again enlarged) is checked against the sums only here.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None or not any(field_spec.tax_of for field_spec in spec.fields.values()):
        return
    pages = [(page, build_lines(page)) for page in read.pages if page.number in part.pages or not part.pages]
    sums = {page.number: page_sums([line.text for line in lines]) for page, lines in pages}
    _taxes_from_sums(spec, part.fields, part.problems, pages, sums)


def _taxes_from_sums(
    spec: Spec,
    fields: dict[str, Field],
    problems: list[Problem],
    pages: Sequence[tuple[Page, list[Line]]],
    sums: dict[int, PageSums],
) -> None:
    """Put the tax the sums give in place of a missing or misread `tax_of` field (`_tax_from_sums`), flagged."""
    for name, field_spec in spec.fields.items():
        # a total the sums repaired (or doubted) is no second reading of the tax
        doubted = {p.field for p in problems if p.code is ReasonCode.AMOUNTS_INCONSISTENT}
        if field_spec.tax_of is not None and name in fields and field_spec.tax_of not in doubted:
            derived = _tax_from_sums(name, fields.get(field_spec.tax_of), pages, sums)
            if derived is not None and _misread_on(fields[name], derived):
                problems.append(
                    Problem(
                        ReasonCode.FIELD_AMBIGUOUS,
                        f"{name}: its line reads {fields[name].value}; the rate times the subtotal and the total less "
                        "the subtotal both give another amount; check it",
                        page=derived.provenance.page,
                        field=name,
                    )
                )
                fields[name] = derived
        elif field_spec.tax_of is not None and name not in fields and field_spec.tax_of not in doubted:
            derived = _tax_from_sums(name, fields.get(field_spec.tax_of), pages, sums)
            if derived is not None:
                fields[name] = derived
                problems.append(
                    Problem(
                        ReasonCode.FIELD_AMBIGUOUS,
                        f"{name}: its line could not be read; the rate times the subtotal and the total less the "
                        "subtotal both give it; check it",
                        page=derived.provenance.page,
                        field=name,
                    )
                )


def _tax_from_sums(
    name: str, total: Field | None, pages: Sequence[tuple[Page, list[Line]]], sums: dict[int, PageSums]
) -> Field | None:
    """Return a receipt's tax whose line was read without a readable amount, from the receipt's own arithmetic.

    Small till print loses a tax's decimal point or reads a digit too many (`SST 6% 13.533)`, `13-69`) while its
    subtotal, rate and total read well. The printed rate times the subtotal and the total less the subtotal are two
    separate readings of the tax: when they give the same amount, that is the tax, still below auto-accept
    (DERIVED_CONFIDENCE: no word of the tax itself was read as it). None when they differ or a part is missing.
    """
    if total is None or not isinstance(total.value, Money) or total.provenance.page is None:
        return None
    for page, lines in pages:
        unread = sums[page.number].unread_tax
        if page.number == total.provenance.page and unread is None and sums[page.number].garbled_tax is not None:
            return _tax_of_total(name, total, page, lines, sums[page.number])
        if page.number != total.provenance.page or unread is None:
            continue
        index, tax, totals = unread
        if total.value.amount not in totals:
            continue
        taken = lines[index : index + sums[page.number].unread_tax_lines]
        words = [word for line in taken for word in line.words]
        provenance = Provenance(page.method, page.number, union_box(words))
        raw = " ".join(line.text for line in taken)
        return Field(name, Money(tax, total.value.currency), DERIVED_CONFIDENCE, provenance, raw)
    return None


def _tax_of_total(name: str, total: Field, page: Page, lines: list[Line], sums: PageSums) -> Field | None:
    """Return the tax the rate makes of the total when the tax line's garbled digits read it so (no subtotal read).

    `Subtotal 53)..61`, `VAT 20% 10). 72,`, `TOTAL £ 64 33`: the total times 20/120 is 10.72 to a cent's rounding, and
    the digits read after the rate are `1072`. Two readings of the tax again (the total's and the line's digits).
    """
    if sums.garbled_tax is None or not isinstance(total.value, Money):
        return None
    index, digits, rate = sums.garbled_tax
    exact = (total.value.amount * rate / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    for tax in (exact, exact - CENT, exact + CENT):
        if 0 < tax < total.value.amount and re.sub(r"\D", "", str(tax)).lstrip("0") == digits.lstrip("0"):
            provenance = Provenance(page.method, page.number, union_box(lines[index].words))
            return Field(name, Money(tax, total.value.currency), DERIVED_CONFIDENCE, provenance, lines[index].text)
    return None


def _misread_on(read: Field, derived: Field) -> bool:
    """Return True when `read` was taken from the tax line `derived` comes from, as another amount (`215,15:`: 21.75).

    The rate times the subtotal and the total less the subtotal agreeing are two readings against the line's one.
    """
    box, line = read.provenance.bbox, derived.provenance.bbox
    if read.value == derived.value or box is None or line is None or read.provenance.page != derived.provenance.page:
        return False
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return line[0] <= centre[0] <= line[2] and line[1] <= centre[1] <= line[3]


def low_confidence(field: Field) -> Problem:
    """Return the problem that says `field` was read with low confidence, with its number."""
    return Problem(
        ReasonCode.FIELD_LOW_CONFIDENCE,
        f"{field.name} read with low confidence {field.confidence:.2f}; check it",
        page=field.provenance.page,
        field=field.name,
    )


def _unread(
    field_spec: FieldSpec, page: Page, lines: list[Line], labels: set[int], found: dict[str, Field]
) -> Unread | None:
    """Return the whole text at the field's first labelled region on a page (for fill_unread), or None."""
    ocr = page.method is ReadMethod.OCR
    for region, _, _ in _regions(field_spec, lines, found, ocr=ocr, aspect=page_aspect(page)):
        for raw, used, _ in _match(field_spec, None, region, labels):
            return Unread(raw, Provenance(page.method, page.number, union_box(used)))
    return None


def field_boxes(page: Page, spec: Spec, name: str) -> list[BBox]:
    """Return where a region field or a table is read on a page (page fractions), from its best anchor.

    A region field: its region placed at the best-matching anchor. A table: the full width from the line
    under its anchor to its first end anchor. Used to read those places again, enlarged.
    """
    lines = build_lines(page)
    if name in spec.fields:
        field_spec = spec.fields[name]
        if field_spec.direction != "region" or field_spec.region is None:
            return []
        hits = [
            hit
            for anchor in field_spec.anchors
            for hit in find_anchors(lines, anchor, field_spec.fuzzy)
            if not any(contains_phrase(lines[hit.line_index], p, EXCLUDE_MATCH) for p in field_spec.exclude)
        ] or near_hits(field_spec, lines)
        hits = outer_hits(hits)
        if not hits:
            return []
        best = max(hits, key=lambda hit: hit.score)
        box = field_spec.region
        # the box starts below the caption's middle: a re-read replaces the words whose centre is inside the box,
        # and a caption read a little taller than usual lost its words (and the field its anchor) to a crop that
        # cut it off (`3. PATIENT'S BIRTH DATE` at 120 dpi)
        top = max(best.bbox[1] + box.y0, (best.bbox[1] + best.bbox[3]) / 2 + CAPTION_CLEARANCE)
        return [(best.bbox[0] + box.x0, top, best.bbox[0] + box.x1, best.bbox[1] + box.y1)]
    table = spec.tables.get(name)
    if table is None:
        return []
    hits = table_anchor_hits(lines, table)
    if not hits:
        return []
    start = hits[0].line_index + 1
    # the table ends at the top of its end caption's own words, not of the line OCR put them on: a row's margin
    # number (`6`) on that line raised it into the last row, whose dashed rules, cut short, stayed and were read
    # as digits (`05411 $26` for `05 | 11 | 26`)
    ends = [
        hit.bbox[1]
        for anchor in table.end_anchors
        for hit in find_anchors(lines[start:], anchor, table.fuzzy)
    ]
    if start >= len(lines):
        return []
    bottom = min(ends) if ends else 1.0
    return [(0.0, lines[start].top - 0.004, 1.0, bottom)]


def _label_words(spec: Spec, lines: list[Line]) -> list[Word]:
    """Return the words that belong to any label of the spec; they are never values."""
    out: list[Word] = []
    for field_spec in spec.fields.values():
        for anchor in field_spec.anchors:
            for hit in find_anchors(lines, anchor, max(field_spec.fuzzy, 85.0)):
                out.extend(lines[hit.line_index].words[hit.start : hit.end])
    for table in spec.tables.values():
        for anchor in (table.anchor, *table.anchors, *table.end_anchors):
            for hit in find_anchors(lines, anchor, max(table.fuzzy, 85.0)):
                out.extend(lines[hit.line_index].words[hit.start : hit.end])
    return out


Region = tuple[list[Line], float, list[list[Line]]]
EXCLUDE_MATCH = 94.0


def _regions(
    field_spec: FieldSpec, lines: list[Line], found: dict[str, Field], *, ocr: bool = False, aspect: float = 1.0
) -> list[Region]:
    """Return the word regions to read the field from: (lines, anchor factor 0..1, fallback regions).

    `aspect`: the page's height / width (words_below tells a rule read as a word by its box's shape).
    """
    if field_spec.direction == "page":
        # a line carrying one of the labels is the better place to take the value from
        lines = [line for line in lines if not any(contains_phrase(line, p, EXCLUDE_MATCH) for p in field_spec.exclude)]
        return [
            (
                [line],
                1.0
                if any(contains_phrase(line, a, field_spec.fuzzy) for a in field_spec.anchors)
                else PAGE_SEARCH_FACTOR,
                [],
            )
            for line in lines
        ]
    if field_spec.direction == "top_lines":
        # OCR splits one heading into pieces on a row; a text layer keeps separate blocks that merely align
        return [((header_rows(lines, aspect) if ocr else lines)[: field_spec.lines], PAGE_SEARCH_FACTOR, [])]
    hits = [hit for anchor in field_spec.anchors for hit in find_anchors(lines, anchor, field_spec.fuzzy)]
    source = found.get(field_spec.anchor_field or "")
    if source is not None and source.provenance.bbox is not None:
        pseudo = hit_for_box(lines, source.provenance.bbox)
        if pseudo is not None:
            # a value placed relative to another value is only as sure as that value
            hits.append(dataclasses.replace(pseudo, score=100.0 * source.confidence))
    regions: list[Region] = []
    own = [
        hit
        for hit in hits
        if not any(contains_phrase(lines[hit.line_index], phrase, EXCLUDE_MATCH) for phrase in field_spec.exclude)
    ]
    placed: list[Line] | None = None
    if not own and field_spec.near:
        own = near_hits(field_spec, lines)  # its own caption was not read: the box is placed from another's
    elif own and field_spec.near and field_spec.region is not None:
        # a short synonym of a garbled caption can match another box's caption (`PATIENT'S` in `IF PATIENT
        # HAS HAD SAME`): where its region reads nothing, the box placed from its neighbours' captions is read
        placed = next((_region_of(field_spec, lines, hit, aspect) for hit in near_hits(field_spec, lines)), None)
    own = outer_hits(own)
    for hit in own:
        fallbacks = [words_skewed_right(lines, hit)] if field_spec.direction == "right" else []
        if placed is not None:
            fallbacks.append(placed)
        region = _region_of(field_spec, lines, hit, aspect)
        if field_spec.or_below and not _has_figures(region):
            # figures beside the label that the pattern cannot read (`TOTAL £ 261 34`, its point lost) are the
            # value misread: the line under it (`Cash 280.00`) is another value, not this one
            fallbacks.append(_under(lines[hit.line_index + 1 : hit.line_index + 2], hit.bbox[0]))
        regions.append((region, hit.score / 100.0, fallbacks))
    return regions


def _has_figures(region: list[Line]) -> bool:
    """Return True when a word of the region holds a digit (a value is printed there, read or not)."""
    return any(ch.isdigit() for line in region for word in line.words for ch in word.text)


def near_hits(field_spec: FieldSpec, lines: list[Line]) -> list[AnchorHit]:
    """Return where a region field's caption would be, placed from the first `near` caption read on the page.

    A garbled scan loses some captions (`NSURED'S TO. NUMBER` for `1a. INSURED'S I.D. NUMBER`) but rarely all:
    the form's box grid puts box 1a a row above box 4, so box 4's caption places box 1a's region. The hit's
    score is the other caption's, times NEAR_FACTOR: a value read so is never confident on its own.
    """
    for near in field_spec.near:
        found = [
            hit
            for hit in find_anchors(lines, near.anchor, max(field_spec.fuzzy, NEAR_FUZZY))
            if not any(contains_phrase(lines[hit.line_index], p, EXCLUDE_MATCH) for p in near.exclude)
        ]
        if found:
            best = max(found, key=lambda hit: hit.score)
            x0, y0, x1, y1 = best.bbox
            box = (x0 + near.x, y0 + near.y, x1 + near.x, y1 + near.y)
            return [dataclasses.replace(best, bbox=box, score=best.score * NEAR_FACTOR)]
    return []


def outer_hits(hits: list[AnchorHit]) -> list[AnchorHit]:
    """Return the hits without those inside another hit, as good, on the same line (a short synonym of a caption).

    `POLICY GROUP OR FECA NUMBER` found inside `INSURED'S POLICY GROUP OR FECA NUMBER` is the same caption, but
    its region starts 0.05 page widths further right and cut `GRP-` off `GRP-35835`: the whole caption places it.
    A short synonym that matches better stays (`FEDERAL` at 100 inside `2B. FEDERAL TAK LD. NUMBER` at 88: the
    long run took the box number, and the short one is where the caption starts).
    """
    return [
        hit
        for hit in hits
        if not any(
            other.line_index == hit.line_index
            and other.start <= hit.start
            and hit.end <= other.end
            and (other.start, other.end) != (hit.start, hit.end)
            and other.score >= hit.score
            for other in hits
        )
    ]


def _under(below: list[Line], left: float) -> list[Line]:
    """Return the line under a label without its words that end left of the label's start.

    A value under its label sits below it or right of it: the line under a heading `INVOICE` printed on the
    right holds the issuer's street on the left (`Kanaalstraat 118`), which is no invoice number.
    """
    kept = [Line(tuple(w for w in line.words if w.bbox[2] > left)) for line in below]
    return [line for line in kept if line.words]


def _rows(lines: list[Line]) -> list[Line]:
    """Join lines that sit side by side on one row (a heading OCR split in two) into one line, left to right."""
    rows: list[Line] = []
    for line in lines:
        last = rows[-1] if rows else None
        if (
            last is not None
            and abs(line.top - last.top) < 0.5 * min(line.height, last.height)
            and _gap(last, line) < ROW_GAP
        ):
            # OCR noise between the parts (a stray `:` or `|`) is not part of the heading
            words = [w for w in (*last.words, *line.words) if any(ch.isalnum() for ch in w.text)]
            rows[-1] = Line(tuple(sorted(words, key=lambda w: w.bbox[0]))) if words else last
        else:
            rows.append(line)
    return rows


def header_rows(lines: list[Line], aspect: float = 1.0) -> list[Line]:
    """Return an OCR'd page's rows (_rows) without the scan noise read among them.

    Rows that are noise (noise_line: a speck or a rule read as a line, `ee` at 0.27 between two address lines) go,
    and so does the noise at the ends of rows (edge_junk: `Mill Lane te`).
    """
    out: list[Line] = []
    for row in _rows(lines):
        if noise_line(row.words, aspect):
            continue
        junk = {id(word) for word in edge_junk(row, aspect)}
        out.append(Line(tuple(w for w in row.words if id(w) not in junk)) if junk else row)
    return out


def header_noise(lines: list[Line], aspect: float = 1.0) -> list[Word]:
    """Return the words of an OCR'd page's rows that header_rows leaves out as scan noise."""
    kept = {id(word) for row in header_rows(lines, aspect) for word in row.words}
    return [word for row in _rows(lines) for word in row.words if id(word) not in kept]


def header_junk(noise: Sequence[Word], used: tuple[Word, ...]) -> bool:
    """Return True when noise header_rows left out (`header_noise`) lies beside or between a value's rows `used`.

    Noise read among the value's lines says the scan is soiled there: a letter of the value may be soiled too, so
    the value counts as if a garbled word stood next to it (GARBLED_NEIGHBOUR_FACTOR), not surer than with the noise.
    """
    if not used:
        return False
    top, bottom = min(w.bbox[1] for w in used), max(w.bbox[3] for w in used)
    return any(top <= (word.bbox[1] + word.bbox[3]) / 2 <= bottom for word in noise)


def _gap(one: Line, other: Line) -> float:
    """Return the horizontal gap between two lines (negative when they overlap), as a page fraction."""
    return max(other.words[0].bbox[0] - one.words[-1].bbox[2], one.words[0].bbox[0] - other.words[-1].bbox[2])


def _region_of(field_spec: FieldSpec, lines: list[Line], hit: AnchorHit, aspect: float = 1.0) -> list[Line]:
    """Return the lines of words in the field's direction from one anchor hit (`aspect`: the page's height / width)."""
    if field_spec.direction == "below":
        return words_below(lines, hit, field_spec.lines, aspect)
    if field_spec.direction == "region" and field_spec.region is not None:
        box = field_spec.region
        x0, top = hit.bbox[0], hit.bbox[1]
        return words_in_region(lines, (x0 + box.x0, top + box.y0, x0 + box.x1, top + box.y1))
    right = lines[hit.line_index].words[hit.end :]
    out = [Line(right)] if right else []
    if field_spec.lines > 1 and right:
        start_x = right[0].bbox[0] - 0.02
        bottom = lines[hit.line_index].bottom
        for line in lines[hit.line_index + 1 :]:
            if len(out) >= field_spec.lines or line.top - bottom > 1.5 * line.height:
                break
            if line.words[0].bbox[0] < start_x:
                break
            out.append(line)
            bottom = line.bottom
    return out


def _candidates(
    name: str,
    field_spec: FieldSpec,
    spec: Spec,
    page: Page,
    lines: list[Line],
    labels: set[int],
    problems: list[Problem],
    found: dict[str, Field],
) -> list[Candidate]:
    """Read every candidate value of one field on one page."""
    out: list[Candidate] = []
    if field_spec.direction == "page":
        labels = set()  # searching the whole page: a currency inside a label (`TOTAL RM`) still counts
    down = slots_down(field_spec, lines)
    label_words = [word for line in lines for word in line.words if id(word) in labels]
    top_lines = field_spec.direction == "top_lines"
    # the header's scan noise, found once for all the field's candidates (header_junk)
    noise = header_noise(lines, page_aspect(page)) if top_lines and page.method is ReadMethod.OCR else []
    for region, anchor_factor, fallbacks in _regions(
        field_spec, lines, found, ocr=page.method is ReadMethod.OCR, aspect=page_aspect(page)
    ):
        boxed_text = field_spec.direction == "region" and field_spec.type == "text"
        # a name whose row an edge of its box cut is read with its row whole (and doubted below)
        mended = mend_rows(lines, region, labels) if boxed_text and page.method is ReadMethod.OCR else region
        matched = _match_tiers(field_spec, mended, labels, down=down)
        read_from = region  # the lines the value was read from, before mend_rows put a cut row's rest back
        for fallback in fallbacks:
            if matched:
                break
            # the value printed off the label's line: tilted scan, widget box, or under the label
            matched = [
                (raw, used, tier * BELOW_FACTOR)
                for raw, used, tier in _match_tiers(field_spec, fallback, labels, down=down)
            ]
            read_from = fallback
        for raw, used, tier_factor in matched:
            if page.method is ReadMethod.OCR and field_spec.type == "text":
                raw = upper_case_lookalikes(raw)  # `25Qx` inside a postcode is `25QX`
                if field_spec.no_amounts:
                    raw = dollar_lookalikes(raw)  # `$0100` inside an address is the postcode 50100
            typed = parse_value(raw, field_spec, spec)
            if typed is None:
                continue
            if typed.error is not None and not typed.keep:
                problems.append(
                    Problem(ReasonCode.FIELD_INVALID, f"{name}: {typed.error}", page=page.number, field=name)
                )
                continue
            # a value searched for anywhere on the page is only as sure as the line it sits in
            searched = page.method is ReadMethod.OCR and field_spec.direction == "page"
            context = _context_factor(region, used) if searched else 1.0
            if page.method is ReadMethod.OCR:
                context *= _neighbour_factor(
                    region, used, code=field_spec.type == "code",
                    initial=field_spec.type == "text" and field_spec.pattern is not None,
                )
                if not spec.ocr.dropout and overlapped(page, used):
                    context *= GARBLED_NEIGHBOUR_FACTOR
                if top_lines and header_junk(noise, used):
                    context *= GARBLED_NEIGHBOUR_FACTOR
                if field_spec.type in ("code", "text", "money") and left_out(lines, read_from, used, labels, page):
                    context *= LEFT_OUT_FACTOR
                # a name runs on (a code, an amount or a date is held whole by its pattern)
                if boxed_text and cut_by_region(lines, read_from, used):
                    context *= GARBLED_NEIGHBOUR_FACTOR
                # an amount is never printed with a leading zero: `03 28` is 303.28 with its first figure lost
                if field_spec.type == "money" and LEADING_ZERO.search(raw):
                    context *= GARBLED_NEIGHBOUR_FACTOR
            if field_spec.type != "list" and across_label(used, label_words):
                context *= ACROSS_LABEL_FACTOR
            if top_lines and beside_label(used, label_words, page_aspect(page)):
                context *= LABEL_PHRASE_FACTOR
            confidence = _confidence(used, anchor_factor * tier_factor * context, field_spec, typed)
            boxed_name = boxed_text and field_spec.pattern is not None
            boxed = (boxed_name or field_spec.type == "code") and field_spec.direction == "region"
            boxed = boxed and page.method is ReadMethod.OCR
            if boxed and lost_prefix(lines, used, labels, page_aspect(page), name=boxed_name, raw=raw):
                confidence = min(confidence, PREFIX_CAP)  # `GRP` `97501`: the code's letters may be apart
            out.append(Candidate(typed, raw, confidence, page, used))
    return out


def lost_prefix(
    lines: list[Line],
    used: tuple[Word, ...],
    labels: AbstractSet[int],
    aspect: float = 1.0,
    *,
    name: bool = False,
    raw: str = "",
) -> bool:
    """Return True when a word just before a value on its line may be the value's own first part.

    A code of figures with a word of capitals there (PREFIX_WORD), or, with `name`, a name read by a pattern with a
    word of letters there (NAME_PART).

    A degraded pre-printed form's box 11 `GRP-97501` read `GRP` and `97501`, apart (the hyphen lost): the pattern
    took the figures alone at 0.96, calibrated 0.978, and nothing doubted them (seed 25 small cms1500 preprinted 001
    degraded); box 2's `LEE-WONG, DAVID H` read `LEE` `WONG, DAVID H` gave `WONG, DAVID H` (preprinted 002 degraded,
    0.954). Whether the letters are the value's is not known (a hyphen, a space or nothing between): the value stays
    as read, below auto-accept. The word is looked for on the value's row among the page's `lines`, not only in the
    region: a region placed from a shorter caption synonym starts right of `GRP`. A label's word (`labels`) is no
    prefix; `aspect` is the page's height / width (line heights are page-height fractions, gaps page-width fractions).
    A name whose value (`raw`) starts inside its first word after a hyphen or a letter (`-WONG,` for LEE-WONG, the
    first part lost and its hyphen left: seed 23 small preprinted 002 degraded, 0.95) is cut the same way.
    """
    if not used or (not name and any(ch.isalpha() for word in used for ch in word.text)):
        return False
    ids = {id(word) for word in used}
    first = min(used, key=lambda w: w.bbox[0])
    if name and raw.split():
        head = first.text[: max(first.text.find(raw.split()[0].rstrip(",")), 0)]
        if any(ch.isalpha() or ch in "-‐" for ch in head):
            return True
    height = (first.bbox[3] - first.bbox[1]) * aspect
    _, _, row = _row_words(lines, list(used), ids)
    before = [w for w in row if w.bbox[2] <= first.bbox[0] + 0.25 * height]
    if not before:
        return False
    word = max(before, key=lambda w: w.bbox[2])
    if id(word) in labels or first.bbox[0] - word.bbox[2] > PREFIX_REACH * height:
        return False
    if name:
        return NAME_PART.match(word.text) is not None and word.confidence >= GARBLED_WORD
    return PREFIX_WORD.match(word.text) is not None


def across_label(used: Sequence[Word], label_words: Sequence[Word]) -> bool:
    """Return True when a label's word stands between two of the value's words on their row.

    A value is typed inside its box, never around a caption: `29.` and `30.`, the printed numbers of boxes 29 and
    30 on either side of `AMOUNT PAID`, are no amount `29.30`, whether OCR put the caption on their line or not.
    """
    ordered = sorted(used, key=lambda w: w.bbox[0])
    for left, right in pairwise(ordered):
        if not on_row(right, left.bbox[1], left.bbox[3]):
            continue
        for label in label_words:
            middle = (label.bbox[0] + label.bbox[2]) / 2
            if left.bbox[2] <= middle <= right.bbox[0] and on_row(label, left.bbox[1], left.bbox[3]):
                return True
    return False


def beside_label(used: Sequence[Word], label_words: Sequence[Word], aspect: float = 1.0) -> bool:
    """Return True when a label's word follows or precedes the value on its row, a word space away (LABEL_GAP).

    `PAYMENT` `RECEIPT`: the label's word taken out, the rest of a heading reads as a name. `aspect` is the page's
    height / width (the gap is across, the line height down).
    """
    ordered = sorted(used, key=lambda w: w.bbox[0])
    if not ordered:
        return False
    first, last = ordered[0], ordered[-1]
    high = max(w.bbox[3] - w.bbox[1] for w in ordered) * aspect
    for label in label_words:
        if any(label is w for w in ordered) or not on_row(label, first.bbox[1], first.bbox[3]):
            continue
        after = label.bbox[0] - last.bbox[2]
        before = first.bbox[0] - label.bbox[2]
        if 0 <= after <= LABEL_GAP * high or 0 <= before <= LABEL_GAP * high:
            return True
    return False


def _context_factor(region: list[Line], used: tuple[Word, ...]) -> float:
    """Return a factor below 1 when the words around the value were read poorly (a clean token in a garbled line).

    On SROIE a date read at word confidence 0.93 in a line otherwise read at 0.1-0.5 had a wrong year; the
    neighbourhood's quality says something the value's own word confidence does not.
    """
    ids = {id(word) for word in used}
    others = [
        w.confidence for line in region if any(id(w) in ids for w in line.words) for w in line.words if id(w) not in ids
    ]
    if not others:
        return 1.0
    return CONTEXT_BASE + (1.0 - CONTEXT_BASE) * sum(others) / len(others)


def _neighbour_factor(region: list[Line], used: tuple[Word, ...], *, code: bool, initial: bool = False) -> float:
    """Return GARBLED_NEIGHBOUR_FACTOR when the value may be cut short on its line, else 1.

    OCR that garbles part of a value splits it: `CLM-2026-669001` read as `CLw-2026` (0.07) + `660001` (0.90)
    gives a clean-looking code from the second piece alone. A word next to the value (closer than two line
    heights) that the pattern did not take and that OCR read at under 0.5 says the value may be cut. A code
    has no spaces, so for a code any word a space away (`MP-2026-891` `467`: OCR saw a gap) says the same.
    With `initial` (text read by a pattern, such as `Last, First M`), a one- or two-character word right after
    the value that the pattern did not take says the same: a middle initial misread (`AHMED a` for `AHMED E`).
    """
    ids = {id(word) for word in used}
    for line in region:
        if not any(id(w) in ids for w in line.words):
            continue
        span = union_box(tuple(w for w in line.words if id(w) in ids))
        for word in line.words:
            if id(word) in ids:
                continue
            if not any(ch.isalnum() for ch in word.text):
                # a sign read garbled where a middle initial would stand (`PATRICIA &` at 0.05 for PATRICIA E)
                if initial and _initial_place(word, span, line) and word.confidence < GARBLED_WORD:
                    return GARBLED_NEIGHBOUR_FACTOR
                if initial and _word_place(word, span, line) and word.confidence < GARBLED_WORD:
                    return LEFT_OUT_FACTOR
                continue
            garbled = word.confidence < GARBLED_WORD
            reach = (2.0 if garbled else 1.0) * line.height
            if (garbled or code) and span[0] - reach <= word.bbox[2] and word.bbox[0] <= span[2] + reach:
                return GARBLED_NEIGHBOUR_FACTOR
            short = sum(ch.isalnum() for ch in word.text) <= 2
            if initial and short and _initial_place(word, span, line):
                return GARBLED_NEIGHBOUR_FACTOR
    return GARBLED_NEIGHBOUR_FACTOR if split_from_value(region, used) else 1.0


LEFT_OUT_FACTOR = 0.6
WORD_WIDE = 2.0
"""Signs at least this many line heights wide (page-height fractions across a page-width one) are a word's ink."""
"""A value whose recognizer line holds a word right before or after it that the line builder set elsewhere."""


def left_out(lines: list[Line], region: list[Line], used: tuple[Word, ...], labels: set[int], page: Page) -> bool:
    """Return True when a word of the value's recognizer line, a space or two off it, lies outside its lines.

    Such a word was set on another line by the line builder, and the value may be a piece of what is printed.
    A degraded scan's tall smudged piece of a code falls outside its row's band, and the line builder sets it on a
    line of its own: full seed 26 motor 007 degraded `Claim number: CLM-2026-1 32007` (the recognizer split the
    code at a `1`'s side bearing) took `32007` alone at 0.997 calibrated, confident and wrong, while the recognizer
    read `CLM-2026-1` on the same line, a space before it. Labels' words are no piece of a value.
    """
    keys = {(w.block, w.line) for w in used if w.line > 0}
    if not keys:
        return False
    inside = {id(w) for line in region for w in line.words} | {id(w) for w in used}
    start, end = min(w.bbox[0] for w in used), max(w.bbox[2] for w in used)
    reach = max(w.bbox[3] - w.bbox[1] for w in used) * page_aspect(page)
    for line in lines:
        for word in line.words:
            if id(word) in inside or id(word) in labels or (word.block, word.line) not in keys:
                continue
            if not any(ch.isalnum() for ch in word.text):
                continue
            if start - BEFORE_REACH * reach <= word.bbox[2] <= start or end <= word.bbox[0] <= end + EDGE_REACH * reach:
                return True
    return False


def _word_place(word: Word, span: BBox, line: Line) -> bool:
    """Return True when signs a word wide lie where a name's next word would, right after it.

    Read garbled, they are ink the recognizer could not read: a stamp's outline over the surname read `———` at 0.00
    (full seed 26 motor 010 degraded: `Siobhan` for Siobhan Brennan at 0.997 calibrated).
    """
    wide = word.bbox[2] - word.bbox[0] >= WORD_WIDE * line.height
    return wide and span[2] <= word.bbox[0] <= span[2] + INITIAL_REACH * line.height


def _initial_place(word: Word, span: BBox, line: Line) -> bool:
    """Return True when a one- or two-character word lies where a name's middle initial would, right after it."""
    return len(word.text.strip()) <= 2 and span[2] <= word.bbox[0] <= span[2] + INITIAL_REACH * line.height


def split_from_value(region: list[Line], used: tuple[Word, ...]) -> bool:
    """Return True when a word OCR read on the value's own line, after it, was set on another line of the region.

    The line builder puts a word on a line of its own when a word of its row already covers its span (a mark of
    the form, a margin's arrow, at the same height); a pattern held to one line then takes the value without it:
    `MAPLE STREET HEALTH` of `MAPLE STREET HEALTH CENTER` at 0.98, `CENTER` one line below in the region though
    OCR read it on the same line as `HEALTH`. Such a value may be cut, whatever its words' confidence.
    """
    ids = {id(word) for word in used}
    ends: dict[tuple[int, int], float] = {}
    for word in used:
        if word.line > 0:
            key = (word.block, word.line)
            ends[key] = max(ends.get(key, 0.0), word.bbox[2])
    for line in region:
        if any(id(word) in ids for word in line.words):
            continue
        for word in line.words:
            end = ends.get((word.block, word.line)) if word.line > 0 else None
            if end is not None and word.bbox[0] >= end and any(ch.isalnum() for ch in word.text):
                return True
    return False


def _row_words(lines: list[Line], words: list[Word], held: set[int]) -> tuple[float, float, list[Word]]:
    """Return the row of `words` (top, bottom) and the page's words on it, not held, holding a letter or digit.

    A line whose box lies wholly above or below the row holds no word on it (on_row needs the word to share some
    height with the row; boxes run top to bottom), so its words are not looked at: most lines of a page are off
    any one row.
    """
    top, bottom = min(w.bbox[1] for w in words), max(w.bbox[3] for w in words)
    row = [
        word
        for line in lines
        if line.words and line.top <= bottom and line.bottom >= top
        for word in line.words
        if id(word) not in held and any(ch.isalnum() for ch in word.text) and on_row(word, top, bottom)
    ]
    return top, bottom, row


def _row_after(lines: list[Line], words: list[Word], held: set[int]) -> Word | None:
    """Return the first word of the page right after `words` on their row (EDGE_REACH of their height), not held."""
    top, bottom, row = _row_words(lines, words, held)
    end = max(w.bbox[2] for w in words)
    reach = EDGE_REACH * (bottom - top)
    after = [word for word in row if end <= word.bbox[0] <= end + reach]
    return min(after, key=lambda w: w.bbox[0]) if after else None


def _row_before(lines: list[Line], words: list[Word], held: set[int]) -> Word | None:
    """Return the last word of the page right before `words` on their row (BEFORE_REACH of their height), not held.

    Nearer than after the value (EDGE_REACH): the box on the left ends a little before a value starts in its own
    box, and its words (box 3's `F` checkbox, 3.3 heights before box 4's name) are not the name's.
    """
    top, bottom, row = _row_words(lines, words, held)
    start = min(w.bbox[0] for w in words)
    reach = BEFORE_REACH * (bottom - top)
    before = [word for word in row if start - reach <= word.bbox[2] <= start]
    return max(before, key=lambda w: w.bbox[2]) if before else None


def _over_end(lines: list[Line], words: list[Word], held: set[int]) -> Word | None:
    """Return a word of the page on the row of `words`, not held, that starts inside their last word and runs on.

    OCR may read the last letter of a value together with ink below or beside it as a word of its own, set on
    another line: `Pinecrest Physical Therap` and a `1` (0.20) boxed over the `y` and down into the next line,
    so no word starts after the value and the `y`'s ink is covered. Such a word, reaching past the value's end
    by half its height or more, says the value may be cut.
    """
    top, bottom, row = _row_words(lines, words, held)
    last = max(words, key=lambda w: w.bbox[2])
    end = last.bbox[2]
    over = [word for word in row if last.bbox[0] < word.bbox[0] < end and word.bbox[2] >= end + 0.5 * (bottom - top)]
    return min(over, key=lambda w: w.bbox[0]) if over else None


def mend_rows(lines: list[Line], region: list[Line], labels: AbstractSet[int] = frozenset()) -> list[Line]:
    """Return the region with each line's row read on: the words right after it on its row that it does not hold.

    An edge of the box that runs through a line (`Summit` inside box 33's region, `Orthopedics` just outside),
    or the line builder setting the rest of a row on a line of its own, cuts a name short; the words that go on
    from it (each within EDGE_REACH of the line's height after the last) are put back at its end and taken from
    the region's other lines. The value read so is doubted all the same (cut_by_region). Words of a line that
    holds a label (`labels`, ids of label words) are a caption's and stay on it: a closer reading's second,
    garbled reading of box 4's caption took `(Last Name. First Mame, Middie nial}` from the caption's line,
    and the name pattern read `Mame, Middie` before the insured's name (seed 22 full 009 degraded).
    """
    captions = {id(w) for line in lines if any(id(x) in labels for x in line.words) for w in line.words}
    moved: dict[int, int] = {}
    mended: list[list[Word]] = []
    for index, line in enumerate(region):
        words = list(line.words)
        held = {id(word) for word in words} | captions
        while (word := _row_after(lines, words, held)) is not None:
            words.append(word)
            held.add(id(word))
            moved.setdefault(id(word), index)
        mended.append(words)
    out = []
    for index, words in enumerate(mended):
        kept = tuple(word for word in words if moved.get(id(word), index) == index)
        if kept:
            out.append(Line(kept))
    return out


def cut_by_region(lines: list[Line], region: list[Line], used: tuple[Word, ...]) -> bool:
    """Return True when the value's row goes on right after it in a word its line of the region does not hold.

    A region keeps the words whose centre lies inside its box, and a pattern held to one line reads one line of
    it. An edge that runs through a line of the box (a skewed scan, a caption read taller than usual) keeps part
    of the line: `Summit` inside box 33's region, `Orthopedics` beside it, its box lowered by its descender, just
    outside; and the line builder may set the rest of a row on a line of its own (a closer reading's `Summit`
    joined box 31's taller words, `Orthopedics` alone below it). Either way the billing provider was read
    `Summit`, confidently. A word of the page (`lines`) on the value's row (half the height of the value's words
    shared) that starts within EDGE_REACH of their heights after the value, or starts inside its last word and
    runs on past it (`_over_end`), or ends within EDGE_REACH before it (`_row_before`: the region's bottom edge
    ran between the centres of `Northgate`, lowered by its descender, and `Pediatrics`), and is not on the value's
    line of the region, says the value may be cut, whatever its words' confidence.
    """
    ids = {id(word) for word in used}
    for own in region:
        mine = [word for word in own.words if id(word) in ids]
        held = {id(word) for word in own.words}
        if mine and any(look(lines, mine, held) is not None for look in (_row_after, _over_end, _row_before)):
            return True
    return False


def overlapped(page: Page, used: tuple[Word, ...]) -> bool:
    """Return True when another word of the value's OCR line lies over one of its words: the word was split.

    Tesseract now and then gives part of a word as a second word boxed inside the first (`CLM-2026-91` over the
    whole of `CLM-2026-917006`, then `7006` inside its right end); set on a line of its own by the line builder,
    that part is not beside the value, and the value looks whole. A word of the same OCR line (block and line)
    covering more than half of the narrower one's width, its middle inside the value word's height, says the
    value may be cut. Not used on drop-out forms (their two ink layers number their lines independently) nor on
    pages read with other models than eng: there the line builder keeps an OCR line's words on one line.
    """
    if page.language != "eng":
        return False
    ids = {id(word) for word in used}
    for word in used:
        if word.line <= 0:
            continue
        for other in page.words:
            if id(other) in ids or (other.block, other.line) != (word.block, word.line) or not other.text.strip():
                continue
            across = min(other.bbox[2], word.bbox[2]) - max(other.bbox[0], word.bbox[0])
            narrower = min(other.bbox[2] - other.bbox[0], word.bbox[2] - word.bbox[0])
            middle = (other.bbox[1] + other.bbox[3]) / 2
            if narrower > 0 and across > 0.5 * narrower and word.bbox[1] <= middle <= word.bbox[3]:
                return True
    return False


def slots_down(field_spec: FieldSpec, lines: list[Line]) -> bool:
    """Return True when a caption of the field's `slots_down` is read on the page: its slots run down the columns."""
    return any(
        contains_phrase(line, caption, field_spec.fuzzy) for caption in field_spec.slots_down for line in lines
    )


def _match_tiers(
    field_spec: FieldSpec, region: list[Line], labels: set[int], *, down: bool = False
) -> list[tuple[str, tuple[Word, ...], float]]:
    """Apply the pattern, then each fallback pattern in turn until one matches; later tiers count less.

    `down`: a list's slots are numbered down the columns (`slots_down`), for items whose markers were not read.
    """
    patterns = [field_spec.pattern, *field_spec.fallback_patterns]
    for tier, pattern in enumerate(patterns):
        found = _match(field_spec, pattern, region, labels, down=down)
        if found:
            return [(raw, used, FALLBACK_FACTOR**tier * factor) for raw, used, factor in found]
    return []


def _match(
    field_spec: FieldSpec, pattern: str | None, region: list[Line], labels: set[int], *, down: bool = False
) -> list[tuple[str, tuple[Word, ...], float]]:
    """Apply the field's pattern to the region text; return (raw text, words used, factor) per match.

    The factor is below 1 only for a list whose printed order could not be told from its item markers (then
    ordered by the slot grid: down its columns when `down`).
    """
    text, spans = "", []
    if field_spec.type == "list" and field_spec.icd10_dot and field_spec.markers:
        region = glued_markers_apart(region, field_spec.markers)
    for line in region:
        previous: Word | None = None
        values = [word for word in line.words if id(word) not in labels]
        for word in values:
            close = field_spec.join_close and previous is not None and _close(previous, word, values)
            if (
                text
                and not text.endswith("\n")
                and not (_CJK_END.search(text) and _CJK_START.match(word.text))
                and not close
            ):
                text += " "  # Chinese is written without spaces: OCR's splits between characters are not kept
            previous = word
            spans.append((len(text), len(text) + len(word.text), word))
            text += word.text
        if text and not text.endswith("\n"):
            text += "\n"
    text = text.rstrip("\n")
    if not text.strip():
        return []
    if pattern is None:
        return [(text.replace("\n", field_spec.join), tuple(w for _, _, w in spans), 1.0)]
    flags = re.MULTILINE | (re.IGNORECASE if field_spec.ignore_case else 0)
    matches = list(re.finditer(pattern, text, flags))
    if field_spec.type == "list":
        items_found = [(m.start(), m.end(), _group(m)) for m in matches]
        guessed = False
        if field_spec.icd10_dot:
            items_found = icd10_rejoined(text, spans, items_found)
            # a slot's bracket read glued before a code (`1N390`, `(N390`): the pattern's prefix took it
            glued = any("value" in m.re.groupindex and m.start("value") > m.start() for m in matches)
            short = bracket_chars(text, matches, items_found) if dotted_list(text, items_found) else ""
            items_found, guessed = icd10_letters(text, items_found, bracket=glued, short=short)
        if not items_found:
            return []
        used = tuple(w for start, end, w in spans if any(a < end and start < b for a, b, _ in items_found))
        items = [(value, tuple(w for start, end, w in spans if a < end and start < b)) for a, b, value in items_found]
        factor = LETTER_GUESS_FACTOR if guessed else 1.0
        if field_spec.markers:
            items, ordered = order_by_markers(items, [w for _, _, w in spans], field_spec.markers, down=down)
            factor *= 1.0 if ordered else UNORDERED_FACTOR
            if leftover_items(spans, used, field_spec.markers):
                factor *= LEFTOVER_FACTOR
        texts = [icd10_with_dot(text) if field_spec.icd10_dot else text for text, _ in items]
        return [("\n".join(texts), used, factor)]
    if field_spec.match == "first":
        matches = matches[:1]
    elif field_spec.match == "last":
        matches = matches[-1:]
    out = []
    for found in matches:
        factor = 1.0
        if field_spec.type == "money" and _overlapped(found, text):
            factor = AMBIGUOUS_FACTOR  # still a guess a person checks, whichever pairing is taken
            found = _tighter_pairing(found, text, spans)
        group: str | int = "value" if "value" in found.re.groupindex else (1 if found.re.groups else 0)
        start_at, end_at = found.span(group)
        if field_spec.type == "text" and cut_after_joiner(start_at, spans):
            factor *= GARBLED_NEIGHBOUR_FACTOR
        if field_spec.type == "text" and field_spec.join != " " and block_runs_on(pattern, flags, text, end_at, spans):
            factor *= RUNS_ON_FACTOR
        used = tuple(w for start, end, w in spans if start < end_at and start_at < end)
        if used:
            out.append((_joined(_group(found), field_spec.join), used, factor))
    return out


RUNS_ON_FACTOR = 0.8
"""A value of lines (an address, `join`) whose block goes on below it with a line its own pattern would take as a
first line may have lost its end (RUNS_ON_GAP)."""
RUNS_ON_GAP = 1.0
"""... a line goes on the block when it starts at most this many of the value's line heights below its last line."""


def block_runs_on(pattern: str, flags: int, text: str, end: int, spans: list[tuple[int, int, Word]]) -> bool:
    """Return True when the line after a lines value's end sits in its block and could itself start such a value.

    A value of several lines (an address joined with `, `) is taken line by line while each next line looks like
    its continuation (a postcode, capitals, a comma before it); a line the degradation spoiled (`Leeds LS 6B` for
    `Leeds LS1 6AB`: no postcode left, mixed case) ends it early, and the street alone was taken as the address at
    0.985 calibrated (full seed 29 receipt 010 degraded: `45 High Street` for `45 High Street, Leeds LS1 6AB`).
    The line's place says it belongs: it lies a line's spacing below the value, not a block apart, and the pattern
    takes it as an address line of its own (no phone, tax number, heading or date in it).
    """
    start = text.find("\n", end)
    if start < 0:
        return False
    stop = text.find("\n", start + 1)
    line = text[start + 1 : stop if stop >= 0 else len(text)]
    if not line.strip() or re.match(pattern, line, flags) is None:
        return False
    before = [w for a, b, w in spans if b <= start and a >= text.rfind("\n", 0, start) + 1]
    after = [w for a, b, w in spans if a > start and (stop < 0 or b <= stop)]
    if not before or not after:
        return False
    height = max(w.bbox[3] - w.bbox[1] for w in before)
    gap = min(w.bbox[1] for w in after) - max(w.bbox[3] for w in before)
    return gap <= RUNS_ON_GAP * height


JOINERS = "-'\u2019"
"""Characters that join a name's parts (`LEE-WONG`, `O'NEIL`): no name starts with one."""


def cut_after_joiner(start: int, spans: list[tuple[int, int, Word]]) -> bool:
    """Return True when a text value starts inside a word read right after a joiner (`-WONG,` of `LEE-WONG,`).

    The part before the joiner was lost (faded, or read into another word), and the pattern, which takes no
    joiner first, took the rest as the whole value: seed 23 pre-printed `002` degraded read `WONG, CARLOS` at
    0.97 for LEE-WONG, CARLOS. Such a value may be cut, whatever its words' confidence.
    """
    for begin, end, word in spans:
        if begin < start < end:
            return word.text[start - begin - 1] in JOINERS
    return False


def _overlapped(found: re.Match[str], text: str) -> bool:
    """Return True when the pattern also matches another amount that shares digits with `found`.

    Dollars and cents printed in two columns (`144 30`) beside the next box's amount (`64 94`) read as one line
    `144 30 64 94`: `30 64` and `64 94` are both amounts; which digits belong together the text cannot say, so
    the amount taken is ambiguous (a box's left neighbour's cents taken as its dollars paid 30.64 for 64.94).
    An amount read with its decimal point is not: the point ties its cents to its dollars.
    """
    if re.search(r"\d[.,]\d{2}(?!\d)", found.group(0)):
        return False  # a decimal point ties the cents to their dollars
    again = found.re.search(text, found.start() + 1)
    return again is not None and again.start() < found.end() and again.group(0).strip() != found.group(0).strip()


PAIRING_GAP = 0.5
"""Of two amounts sharing digits (`30 64 94`), the other is taken when the gap between its dollars and cents is
less than this share of the first's: a box's dollars and cents sit either side of its narrow dashed rule, while the
cents of the box on its left lie a box's margin away (box 28's `30` 0.062 of the page from box 29's `64`, `64`
0.014 from `94`)."""


def _tighter_pairing(found: re.Match[str], text: str, spans: list[tuple[int, int, Word]]) -> re.Match[str]:
    """Return the match of two sharing digits whose dollars and cents lie closer together (`found` when unsure).

    `144 30 64 94` read on one line from boxes 28 and 29: `30 64` is box 28's cents and box 29's dollars, `64 94`
    box 29's amount. The words' places say which digits belong together: the pairing across the wider gap is
    two boxes' digits. Only a clearly tighter pairing (PAIRING_GAP) replaces the first match.
    """
    again = found.re.search(text, found.start() + 1)
    if again is None:
        return found
    gap, other = _inner_gap(found, spans), _inner_gap(again, spans)
    if gap is None or other is None or other >= PAIRING_GAP * gap:
        return found
    return again


def _inner_gap(found: re.Match[str], spans: list[tuple[int, int, Word]]) -> float | None:
    """Return the page distance from a match's first word's right edge to its last word's left edge.

    None for a match of one word or of words on different lines.
    """
    words = [w for start, end, w in spans if start < found.end() and found.start() < end]
    if len(words) < 2 or "\n" in found.group(0):
        return None
    return max(0.0, words[-1].bbox[0] - words[0].bbox[2])


CLOSE_GAP = 0.45
"""Two words less than this share of a character's width apart are one token split by OCR (`join_close`): a
letter's gap is ~0.1-0.35 of a character's width, a space ~0.6 (proportional fonts) to 1 (Courier)."""


SPLIT_CELLS = 0.4
"""In a monospaced type, a word starting less than this share of a cell after the cells of the word before it
ends continues that word (OCR split one token: `XGH6 75286287`, 0.16 of a cell); a space puts it ~1 cell on."""


def _close(left: Word, right: Word, line: Sequence[Word] = ()) -> bool:
    """Return True when `right` continues `left` (both of letters or digits): OCR split one token in two.

    Either `right` starts less than CLOSE_GAP characters after `left` ends, or, when the words of their `line`
    are monospaced (`extract_pitch.line_pitch`), it starts less than SPLIT_CELLS of a cell after `left`'s cells
    end: a degraded scan can widen the inked gap at a split to most of a space, while a space in a monospaced
    type still starts the next word one whole cell further on.
    """
    if not (left.text[-1:].isalnum() and right.text[:1].isalnum()):
        return False
    chars = len(left.text) + len(right.text)
    width = (left.bbox[2] - left.bbox[0] + right.bbox[2] - right.bbox[0]) / chars
    gap = right.bbox[0] - left.bbox[2]
    if not -width < gap:
        return False
    if gap < CLOSE_GAP * width:
        return True
    pitch = line_pitch(line)
    return pitch is not None and cells_apart(left, right, pitch) < SPLIT_CELLS


LEADING_ZERO = re.compile(r"^[^\w.,]*0\d")
"""An amount whose first figure is a 0 before another figure (`03 28`, `$03.70`; not `0 00`): figures were lost."""
_ITEM_LIKE = re.compile(r"(?=.*\d)[A-Za-z0-9]{3,}")
"""A word that may be a list item read wrong: three letters or digits in a row, one a digit (`#1033`, `H1O33`)."""


_GARBLED_ITEM = re.compile(r"[A-TV-Z](?=[A-Za-z0-9]*[a-z0-9])[A-Za-z0-9]{2,7}")
"""A word that may be a code read as letters on a degraded scan (`Fale` for F411): a code's first letter, then two
to seven letters or digits, one of them lower case or a digit (a caption's capitals are not)."""


def leftover_items(spans: list[tuple[int, int, Word]], used: tuple[Word, ...], markers: list[str]) -> bool:
    """Return True when a list's region holds item-like text no item took (a slot read too garbled to match).

    Two readings that both miss the same slot agree on a short list, so agreement says nothing about a
    missed item; text left over beside the items does. Markers and words the items took are not left over.
    """
    taken = {id(word) for word in used}
    for _, _, word in spans:
        if id(word) in taken or _marker_key(word.text) in markers:
            continue
        if _ITEM_LIKE.search(word.text) or _GARBLED_ITEM.fullmatch(word.text.strip("([{|.,:;'’")):
            return True
    return False


_CJK_END = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]$")
_CJK_START = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


ICD10_BARE = re.compile(r"([A-TV-Z]\d[0-9A-Z])([0-9A-Z]{1,4})")
"""An ICD-10-CM code printed without its dot, as claims print them (M5450, S83511A)."""


ICD10_SHAPE = re.compile(r"[A-TV-Z]\d[0-9A-Z]\.?[0-9A-Z]{0,4}")
"""An ICD-10-CM code with or without its dot (a letter, a digit, then digits or letters)."""
ICD10_READ = re.compile(r"[A-TV-Z][0-9OSIlZGB][0-9OSIlZGAB]\.?[0-9A-Z]{0,4}")
"""An ICD-10-CM code whose second or third character, digits (the third may be the letter A or B: C4A, C7B),
was read as the letter it resembles (`ROS9` for R05.9)."""
DIGIT_FOR_LETTER = {"O": "0", "S": "5", "I": "1", "l": "1", "Z": "2", "G": "6", "B": "8"}
"""The digit each capital read in an ICD-10 code's second or third place stands for."""


ICD10_LETTER_O = re.compile(r"[A-TV-Z]O\d[0-9A-Z]?\.?[0-9A-Z]{0,4}")
"""An ICD-10-CM code whose second character, always a digit, was read as the letter O (`RO59`, `RO5.9`)."""


def icd10_with_dot(code: str) -> str:
    """Return an ICD code with its dot: after ICD-10's third character (`M5450` -> `M54.50`), or for a comma."""
    code = re.sub(r"[.,]{2,}", ".", code.strip()).replace(",", ".")  # OCR reads the dot as a comma, or twice
    if ICD10_LETTER_O.fullmatch(code):  # the second character is a digit: `RO59` is R05.9
        code = f"{code[0]}0{code[2:]}"
    if ICD10_READ.fullmatch(code) and not ICD10_SHAPE.fullmatch(code):  # `ROS9`: R05.9
        third = code[2] if code[2] in "AB" else DIGIT_FOR_LETTER.get(code[2], code[2])
        code = f"{code[0]}{DIGIT_FOR_LETTER.get(code[1], code[1])}{third}{code[3:]}"
    if ICD10_SHAPE.fullmatch(code):  # no ICD-10 code has the letter O after its first character: a zero
        code = code[0] + code[1:].replace("O", "0")
    found = ICD10_BARE.fullmatch(code)
    return f"{found.group(1)}.{found.group(2)}" if found else code


ICD10_CODE = re.compile(r"[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?")
"""An ICD-10-CM code as a list gives it (with its dot): a letter, a digit, an alphanumeric, then up to four."""
DIGIT_CODE = re.compile(r"(?<![\w.,])(?:\d[.,](?=\d{4}))?[\[|({]?(\d{3,7}|\d{3}[.,]\d{1,4})(?!\w|[.,]\w)")
"""A code read with digits only, in a slot (`945909`, `200.00`: its bracket may be read glued to it, and the
slot's marker before it: `1.19029`)."""
BRACKET_DIGIT = "1"
"""A slot's bracket read glued before a code as a digit (`⌊J029` read `19029`)."""
LETTER_FOR_DIGIT = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B", "9": "J"}
"""The capital OCR reads as each digit (the Helvetica `J` of `J45909` read `945909`, `Z00.00` read `200.00`)."""
LETTER_GUESS_FACTOR = 0.6
"""A list holding an item whose first letter was guessed from the digit read in its place."""


def real_letterings(value: str) -> list[str]:
    """Return the billable ICD-10-CM codes a code read with digits only can be (dotted, sorted).

    Its first digit is a letter OCR read as a digit (`icd10cm.CONFUSABLE`: 9 J, 2 Z, 5 S or J, 3 J or B, 7 J
    ...), or the slot's bracket read as `1` before such a code (`19029`: J02.9). The code set, not the shape,
    says which are codes: `I90.29` (19029 with the 1 as I) is none.
    """
    value = value.replace(",", ".")
    found: set[str] = set()
    for read in (value, value[1:]) if value.startswith(BRACKET_DIGIT) and len(value) > 4 else (value,):
        for letter in {LETTER_FOR_DIGIT.get(read[:1], ""), *CONFUSABLE.get(read[:1], "")}:
            if letter.isalpha() and is_icd10cm(code := icd10_with_dot(f"{letter}{read[1:]}")):
                found.add(code)
    return sorted(found)


ICD10_TAIL = re.compile(r"[ ]?[.,:;]{0,2}[ ]?([0-9A-Z]{1,4})(?![\w.,])")
"""What follows a code cut at its dot on its line: a gap, the dot read as any point or none, the rest of the code."""
TAIL_GAP = 2.5
"""The rest of a code cut at its dot starts at most this many of its characters' widths after it (the slot's dot
between its two underline segments, ~1.5; the next slot is a column, ~30 characters, away)."""


def icd10_rejoined(
    text: str, spans: list[tuple[int, int, Word]], found: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Return a list's items with a code read cut at its dot joined to the rest of it, read as a word of its own.

    `J45` `909`, `M79` `,604`, `H10,` `33`: the item found is a header, no code (`icd10cm.rejoined`), and the
    next word on its line, right beside it (TAIL_GAP), completes it to a billable code. Left apart, the cut item
    is no code and its rest may be taken for a code of its own (`909` for J09).
    """
    out: list[tuple[int, int, str]] = []
    for start, end, value in found:
        tail = ICD10_TAIL.match(text, end)
        code = rejoined(value, tail.group(1)) if tail is not None and " " in tail.group(0) else None
        if tail is None or code is None or any(s < tail.end() and tail.start(1) < e for s, e, _ in found):
            out.append((start, end, value))
            continue
        head = next((w for a, b, w in spans if a < end <= b), None)
        rest = next((w for a, b, w in spans if a <= tail.start(1) < b), None)
        if head is None or rest is None or head is rest:
            out.append((start, end, value))
            continue
        width = (head.bbox[2] - head.bbox[0]) / max(1, len(head.text))
        if rest.bbox[0] - head.bbox[2] <= TAIL_GAP * width:
            out.append((start, tail.end(), code))
        else:
            out.append((start, end, value))
    return out


def icd10_letters(
    text: str, found: list[tuple[int, int, str]], *, bracket: bool = False, short: str = ""
) -> tuple[list[tuple[int, int, str]], bool]:
    """Return a list's items (start, end, value in `text`) with the first letter of misread ICD-10 codes put back.

    A claim's codes are all ICD-10 or all ICD-9: when one item is an ICD-10 code, a code read with digits only
    (`945909`, or `200.00` taken for an ICD-9 code) had its first character, always a letter in ICD-10, read as
    the digit it resembles. Such a code takes that digit's letter (LETTER_FOR_DIGIT) when the result is an ICD-10
    code; a digit that looks like no single capital (`3`, `4`, `7`) leaves it as it was (or unread). Returns the
    items in text order and whether a letter was guessed (the caller lowers the list's confidence).

    `bracket`: other codes of the list were read with their slot's bracket glued before them (`1N390`); a code
    read with digits only that starts with the `1` such a bracket reads as then has its letter guessed from the
    digit after it (`19029`: the bracket, J029 -> J02.9), when that gives an ICD-10 code.

    The ICD-10-CM code set decides first (`real_letterings`): when exactly one of the letters the digit can be
    (with or without a bracket's `1` before it) gives a billable code, that code is taken (`5029`: J02.9; `19029`
    without a bracket read elsewhere: J02.9, since I90.29 is no code); when several do, the digit's usual letter
    only if its code is one of them; when none does, the shape rule above (the validator then says it is no code).

    `short`: the characters the list's slot brackets were read as (`bracket_chars`), given only for a list read
    with its codes' dots (`dotted_list`). A code read as four characters without a dot whose first is such a
    bracket (`L110`, `1110`) is that bracket and a three-character code read with digits only (I10 read `110`),
    when the code set names exactly one such code (`short_code`): a code of four characters or more is printed
    with its dot, as the list's others were read; taken whole, the bracket lettered it into another real code
    (L11.0, I11.0) that nothing could doubt (cmsown21). A guess, as any lettered code.
    """
    if not any(ICD10_CODE.fullmatch(icd10_with_dot(value)) for _, _, value in found):
        return found, False
    guessed = False

    def lettered(value: str) -> str | None:
        behind = short_code(value, short)
        if behind is not None:
            return behind
        real = real_letterings(value)
        if len(real) == 1:  # the code set names one code: whatever the digit's usual letter says
            return real[0]
        by_digit = shaped(value)
        return by_digit if not real or by_digit in real else None

    def shaped(value: str) -> str | None:
        if bracket and value.startswith(BRACKET_DIGIT) and len(value) > 4:
            behind = lettered_alone(value[1:])
            if behind is not None:
                return behind
        return lettered_alone(value)

    def lettered_alone(value: str) -> str | None:
        letter = LETTER_FOR_DIGIT.get(value[:1])
        code = icd10_with_dot(f"{letter}{value[1:]}") if letter else ""
        return code if ICD10_CODE.fullmatch(code) else None

    out: list[tuple[int, int, str]] = []
    for start, end, value in found:
        code = lettered(value) if value[:1].isdigit() else short_code(value, short)
        guessed = guessed or code is not None
        out.append((start, end, code or value))
    for match in DIGIT_CODE.finditer(text):
        if any(start < match.end() and match.start() < end for start, end, _ in found):
            continue
        code = lettered(match.group(1))
        if code is not None:
            out.append((match.start(), match.end(), code))
            guessed = True
    for match in SIGN_CODE.finditer(text):
        if any(start < match.end() and match.start() < end for start, end, _ in out):
            continue
        code = icd10_with_dot(f"{SIGN_LETTER}{match.group(1)}")
        if is_icd10cm(code):
            out.append((match.start(), match.end(), code))
            guessed = True
    return sorted(out), guessed


SHORT_AFTER_BRACKET = re.compile(r"(.)(\d{3})")
"""A slot's bracket read as a character glued before a three-character code read with digits only (`L110`)."""
BRACKET_WORD = re.compile(r"(?:\d[.,:;])?([1LlI|\[({])")
"""A slot's bracket read as a word of its own before a code, alone or after its slot's digit marker (`L`, `4.1`);
a lone `1` is slot 1's marker, never taken for a bracket."""


def short_code(value: str, short: str) -> str | None:
    """Return the three-character code `value` holds after a slot's bracket read as one of `short`, or None.

    `value` is four characters read without a dot, the first one of the brackets `short` and three digits
    (SHORT_AFTER_BRACKET); the code is the one billable code the digits letter into (`real_letterings`: `110` is
    I10 only), never a code with a dot.
    """
    found = SHORT_AFTER_BRACKET.fullmatch(value)
    if found is None or found.group(1) not in short:
        return None
    real = [code for code in real_letterings(found.group(2)) if "." not in code]
    return real[0] if len(real) == 1 else None


def dotted_list(text: str, found: list[tuple[int, int, str]]) -> bool:
    """Return True when an item of a list was read with its code's dot (as a point or comma between figures)."""
    return any(re.search(r"\w[.,]+\d", text[start:end]) for start, end, _ in found)


def bracket_chars(text: str, matches: Sequence[re.Match[str]], found: list[tuple[int, int, str]]) -> str:
    """Return the characters a list's slot brackets were read as, before its codes (empty when none was read).

    A bracket the pattern's prefix took glued before a code (`LR10,9`: `L`), or a word of its own right before an
    item on its line (BRACKET_WORD: `L` `N39.0`, `4.1` `N39.0`).
    """
    seen = {text[m.start()] for m in matches if "value" in m.re.groupindex and m.start("value") > m.start()}
    for start, _, _ in found:
        before = text[text.rfind("\n", 0, start) + 1 : start].split()
        word = BRACKET_WORD.fullmatch(before[-1]) if before else None
        if word is not None and (word.group(1) != "1" or len(before[-1]) > 1):
            seen.add(word.group(1))
    return "".join(sorted(seen))


SIGN_CODE = re.compile(r"(?<![\w.,$])\$(\d[0-9A-Z](?:[.,]{1,2}[0-9A-Z]{1,4})?)(?![A-Za-z0-9]|[.,][A-Za-z0-9])")
"""An ICD-10 code whose first letter, an S, was read as the dollar sign (`$83,511A`: S83.511A; cmsown17)."""
SIGN_LETTER = "S"
"""The letter a `$` before a code's digits stands for: taken only when the code set holds the code it gives."""


MARKER_LIKE = re.compile(r"^\d[.,:;]")
"""A slot's digit marker as OCR reads it, alone or with the slot's bracket glued after it (`1.`, `3,`, `4.1`)."""
MARKER_COLUMN = 0.5
"""A word starting within this many of its characters' widths of a marker's left edge starts where markers stand."""


MARKED_FIGURES = re.compile(r"\d([.,:;]?)(\d{3,})[._,:;]?")
"""A word of figures only that may be a digit marker read glued before its code read with digits only: the
marker, its stop if read (`2.110`), the code, and a stop or underline read after it (`2110.`)."""


MARKER_BEFORE_CODE = re.compile(r"^\d[.,:;]+(?=[^\d\s.,:;]\S*[A-Za-z]\d)")
"""A slot's digit marker and its stop read glued before the slot's bracket and code (`1.LM54,50`, `2.LM25,561`)."""


def glued_markers_apart(region: list[Line], markers: list[str]) -> list[Line]:
    """Return the region's lines with a digit marker OCR read glued before its slot's code split off it.

    A word of digits only that starts where another word's digit marker starts (its column of markers: `4.1`, `3,`),
    with a digit marker first, holds that marker and the code after it: `2110` is slot 2's `2.` and I10 read `110`
    (taken whole, it lettered into Z11.0, a code no slot held; cmsown17). The marker's stop may be read between
    them and a stop or the slot's underline after the code (MARKED_FIGURES: `2.110`, `2110.`; cmsown21); never by
    its own start alone (`3,909` is the rest of G43.909, its `G4` lost). The code part is then read as any code
    read with digits only (`icd10_letters`: a guess, below confidence). A digit marker with its stop, then the
    slot's bracket and a code (`1.LM54,50`: MARKER_BEFORE_CODE, wherever it stands) is split after the stop: taken
    whole, the code glued to the marker was no item at all (seed 24 cms1500 003 degraded lost slots 1 and 2).
    """
    digits = {marker for marker in markers if marker.isdigit()}
    starts = [
        (w.bbox[0], w) for line in region for w in line.words if MARKER_LIKE.match(w.text) and w.text[0] in digits
    ]
    out = []
    for line in region:
        words: list[Word] = []
        for word in line.words:
            pitch = (word.bbox[2] - word.bbox[0]) / max(1, len(word.text))
            figures = MARKED_FIGURES.fullmatch(word.text)
            glued = (
                figures is not None
                and word.text[0] in digits
                and any(
                    abs(word.bbox[0] - start) <= MARKER_COLUMN * pitch for start, other in starts if other is not word
                )
            )
            stop = MARKER_BEFORE_CODE.match(word.text) if word.text[:1] in digits else None
            if not glued and stop is None:
                words.append(word)
                continue
            if stop is not None:
                size = stop.end()
            else:
                assert figures is not None
                size = 1 + len(figures.group(1))
            cut = word.bbox[0] + size * pitch
            words.append(
                dataclasses.replace(word, text=word.text[:size], bbox=(word.bbox[0], word.bbox[1], cut, word.bbox[3]))
            )
            words.append(dataclasses.replace(word, text=word.text[size:], bbox=(cut, *word.bbox[1:])))
        out.append(Line(tuple(words)) if len(words) != len(line.words) else line)
    return out


def _marker_key(text: str) -> str:
    """Return a word as a possible item marker: without punctuation around it (`A.`, `1.`, `|B` -> `A`, `1`, `B`)."""
    return text.strip(".,:;|()[]{}'\"!_-")


def order_by_markers(
    items: list[tuple[str, tuple[Word, ...]]], words: list[Word], markers: list[str], *, down: bool = False
) -> tuple[list[tuple[str, tuple[Word, ...]]], bool]:
    """Order list items by the marker printed left of each (A..L, 1..4); return (items, whether all were tied).

    Each item takes the nearest marker word left of it on its row (allowing a row's drift of one text
    height, as a misaligned print leaves it). When an item has no marker or two items claim one marker,
    the printed order is not certain: the items come back in the order of their slots (`slot_order`; `down`:
    the form's caption says they are numbered down the columns) and the caller lowers confidence.
    """
    rank = {marker: index for index, marker in enumerate(markers)}
    found = [w for w in words if _marker_key(w.text) in rank]
    tied: list[tuple[int, int]] = []
    if not all(item_words for _, item_words in items):
        return items, False
    unordered = slot_order(items, found, down=down)
    keys = [_marker_key(w.text) for w in found]
    twice = {key for key in keys if keys.count(key) > 1}  # a form prints each marker once: one of them is misread
    for position, (_, item_words) in enumerate(items):
        box = union_box(item_words)
        height = box[3] - box[1]
        centre = (box[1] + box[3]) / 2
        best: tuple[float, Word] | None = None
        for marker in found:
            if any(marker is w for w in item_words):
                continue
            dx = box[0] - marker.bbox[2]
            dy = abs((marker.bbox[1] + marker.bbox[3]) / 2 - centre)
            if dx < -0.25 * height or dy > 1.5 * height:
                continue
            distance = max(dx, 0.0) + 4.0 * dy
            if best is None or distance < best[0]:
                best = (distance, marker)
        if best is None or _marker_key(best[1].text) in twice:
            return unordered, False
        tied.append((rank[_marker_key(best[1].text)], position))
    if len({marker for marker, _ in tied}) != len(tied):
        return unordered, False
    if not _down_in_columns(items, [(markers[marker], position) for marker, position in tied]):
        return unordered, False
    return [items[position] for _, position in sorted(tied)], True


def _down_in_columns(items: list[tuple[str, tuple[Word, ...]]], tied: list[tuple[str, int]]) -> bool:
    """Return False when the digit markers the items took contradict where the items sit (True otherwise).

    Digit markers number the slots down the columns (the HCFA-1500's 1 2 | 3 4): of two items that took digits, the
    lower number sits higher in the same column, or in a column further left. A marker that breaks this was
    misread (cmsown17: slot 1's `1.` read `4.` above slot 2's `2,`: the codes came out 2 1, confident), and the
    items are ordered by their slots instead. Letter markers (A-L across the rows of the 02/12 form) are not
    checked.
    """
    digits = [(int(marker), position) for marker, position in tied if marker.isdigit()]
    boxes = {position: union_box(items[position][1]) for _, position in digits}
    for (low, one), (high, other) in combinations(sorted(digits), 2):
        if low == high:
            continue
        first, second = boxes[one], boxes[other]
        if abs(first[0] - second[0]) > SLOT_COLUMN_GAP:
            if first[0] > second[0]:
                return False
        elif (first[1] + first[3]) / 2 > (second[1] + second[3]) / 2:
            return False
    return True


SLOT_COLUMN_GAP = 0.06
"""List items whose left edges lie further apart than this (page width) are in different columns of slots."""


def slot_order(
    items: list[tuple[str, tuple[Word, ...]]], markers: list[Word], *, down: bool = False
) -> list[tuple[str, tuple[Word, ...]]]:
    """Return list items in the order of the slots they sit in, when their own markers could not all be read.

    The slots are a grid: the CMS-1500 (02/12) numbers its diagnosis slots A-L across the rows (A B C D /
    E F G H / ...), the HCFA-1500 numbers 1-4 down the columns (1 3 / 2 4). Which way is told by the markers
    that were read (two different digits, more than letters: down the columns), else by the form's caption
    (`down`: `RELATE ITEMS 1,2,3 OR 4`, when no two letter markers outnumber the digits: a form whose markers
    dropped out with its red ink); items are grouped into columns by their left edges and ordered by their
    middles within a column. Reading order (across the rows) otherwise. The caller still lowers the
    confidence: a slot's own marker was not seen.
    """
    keys = {_marker_key(w.text) for w in markers}
    digits = sum(1 for key in keys if key.isdigit())
    letters = len(keys) - digits
    # two different digits, or one digit other than 1 (a box rule read as `1` is no marker): the HCFA's numbers
    by_markers = (digits >= 2 or any(key.isdigit() and key != "1" for key in keys)) and digits > letters
    by_caption = down and not (letters >= 2 and letters > digits)
    if not (by_markers or by_caption):
        return items
    boxes = [union_box(item_words) for _, item_words in items]
    lefts = sorted({round(box[0], 4) for box in boxes})
    columns: dict[float, int] = {}
    column = 0
    for index, left in enumerate(lefts):
        if index and left - lefts[index - 1] > SLOT_COLUMN_GAP:
            column += 1
        columns[left] = column
    order = sorted(range(len(items)), key=lambda i: (columns[round(boxes[i][0], 4)], (boxes[i][1] + boxes[i][3]) / 2))
    return [items[i] for i in order]


def _joined(text: str, join: str) -> str:
    """Return a value matched across lines with its line breaks replaced by the spec's `join` (`, ` for addresses)."""
    if join == " " or "\n" not in text:
        return text  # whitespace is collapsed later anyway
    # a line ending in dashes or tildes standing alone (`27 MAIN ST — -`, `JALAN SS 2/28 ~-`: a stamp's outline
    # beside the line) ends in a word; so does one whose last word OCR read glued to such an outline (`2/18~._`)
    text = _GLUED_TILDES.sub("", _TRAILING_DASHES.sub("", text))
    return re.sub(r"[\s,;]*\n\s*", join, text)


_TRAILING_DASHES = re.compile(r"(?:[ \t]+[-–—~]+)+[ \t]*(?=\n)")
_GLUED_TILDES = re.compile(r"(?<=[^\W_])[~_][~_.\-–—]*[ \t]*(?=\n|\Z)")
"""A tilde or an underscore glued to a line's last word, with the marks after it: no word of print ends so."""


def _group(found: re.Match[str]) -> str:
    """Return the `value` group, else the first group, else the whole match."""
    if "value" in found.re.groupindex:
        return found.group("value") or ""
    return found.group(1) if found.re.groups else found.group(0)


CHECKSUM_STRENGTH = {"iban": 97.0, "gb11643": 11.0, "luhn": 10.0}
"""How many times rarer a misread is once the value's check digits pass: mod-97 (IBAN) lets about 1 in 97 misreads
through (an IBAN another reading of whose OCR-confusable characters also passes is ambiguous instead, see
extract_values: a letter counts as two digits, so S for 5 is not always caught); ISO 7064 mod 11-2 (GB 11643) about
1 in 11; Luhn 1 in 10 (every single-digit error caught)."""


def checksum_strength(field_spec: FieldSpec) -> float:
    """Return how much a passed check-digit validator lowers the chance that the OCR misread the value (1: none)."""
    kinds = {v.kind for v in field_spec.validators} | ({"iban"} if field_spec.type == "iban" else set())
    return max([CHECKSUM_STRENGTH[kind] for kind in kinds if kind in CHECKSUM_STRENGTH], default=1.0)


def _confidence(words: tuple[Word, ...], anchor_factor: float, field_spec: FieldSpec, typed: TypedValue) -> float:
    """Combine word confidence (min and mean), anchor match, pattern use, validation and ambiguity.

    Passed check digits (IBAN, Luhn, GB 11643) divide the OCR part's doubt by their strength: the OCR could have
    misread the characters, but a misread that still passes mod-97 is about 1 in 97 of them. The anchor part is
    left alone (a valid IBAN can still be the wrong one on the page).
    """
    confidences = [w.confidence for w in words] or [1.0]
    ocr = 0.5 * min(confidences) + 0.5 * sum(confidences) / len(confidences)
    if typed.error is None and not typed.ambiguous:
        ocr = 1.0 - (1.0 - ocr) / checksum_strength(field_spec)
    confidence = ocr * anchor_factor
    if field_spec.pattern is None and field_spec.type == "text":
        confidence *= FREE_TEXT_FACTOR
    if typed.ambiguous:
        confidence *= AMBIGUOUS_FACTOR
    if typed.error is not None:
        confidence *= INVALID_FACTOR
    return round(max(0.0, min(1.0, confidence)), 4)


def _corroborate(
    chosen: Candidate, candidates: list[Candidate], sums: dict[int, PageSums], *, repair: bool = True
) -> tuple[Candidate, float, Problem | None]:
    """Prefer the amount the receipt's own arithmetic confirms; cap an unconfirmed pick among differing amounts.

    Cash minus change confirms a total at its own confidence (the customer paid it), and so does subtotal + tax
    (+ rounding) or the last total above the rounding line plus the adjustment when it gives exactly the chosen
    total. When the arithmetic instead gives an amount one OCR slip away from the chosen one (`9.60` for
    `9.00`, `2.25` for `22.25`), that amount is taken: another total that reads it wins below auto-accept;
    if none does, the arithmetic's amount is used well below auto-accept, with a problem saying what was read.
    A far-off amount is not a slip: a partial total (`Total 6% supplies (Inc. GST)`) must not replace
    `Total Payable`.
    """
    # the largest amount of each labelled line: a row `Total 24.99 5.00 29.99` (net, tax, gross) is one reading
    per_line: dict[tuple[int, float], Decimal] = {}
    for c in candidates:
        if isinstance(c.typed.value, Money):
            key = (c.page.number, round(union_box(c.words)[1], 2))
            per_line[key] = max(per_line.get(key, c.typed.value.amount), c.typed.value.amount)
    amounts = set(per_line.values())
    money = [c for c in candidates if isinstance(c.typed.value, Money)]
    confirmed = [c for c in money if _amount(c) == sums[c.page.number].paid]
    if confirmed:
        best = max(confirmed, key=lambda c: c.confidence)
        return best, best.confidence, None
    implied = sums[chosen.page.number].implied if isinstance(chosen.typed.value, Money) else frozenset()
    if _amount(chosen) in implied:
        return chosen, chosen.confidence, None  # subtotal + tax (+ rounding) give exactly this total
    slips = [a for a in implied if one_slip(_amount(chosen), a)]
    if len(slips) == 1 and isinstance(chosen.typed.value, Money):
        consistent = [c for c in money if _amount(c) == slips[0]]
        if consistent:  # `Total 9.00`, rounding 0.00, `Rounded Total 9.60`: the 9.60 is the misread
            best = max(consistent, key=lambda c: c.confidence)
            return best, min(best.confidence, UNCONFIRMED_CAP), None
    if len(slips) == 1 and isinstance(chosen.typed.value, Money) and repair:
        value = dataclasses.replace(chosen.typed.value, amount=slips[0])
        repaired = dataclasses.replace(chosen, typed=dataclasses.replace(chosen.typed, value=value))
        problem = Problem(
            ReasonCode.AMOUNTS_INCONSISTENT,
            f"total read as {_amount(chosen)} but the receipt's own sums give {slips[0]}; check it",
            page=chosen.page.number,
        )
        return repaired, min(chosen.confidence, REPAIRED_CAP), problem
    if len(amounts) > 1:
        return chosen, min(chosen.confidence, UNCONFIRMED_CAP), None
    return chosen, chosen.confidence, None


def _amount(candidate: Candidate) -> Decimal:
    """Return a money candidate's amount (0 for anything else)."""
    return candidate.typed.sort_key


PIECE_COVER = 0.8
"""A candidate lying this share of its width inside an earlier word's box of its OCR line is a piece of that word."""


def _piece_of(piece: Candidate, whole: Candidate) -> bool:
    """Return True when `piece` is the tail of the printed word `whole` was read from (no rival value).

    Tesseract may split one printed word in two and give the first part the whole word's box (`CLM-2026-91` boxed
    over the `7006` read after it on the same OCR line, for `CLM-2026-917006`); the line builder keeps both on
    their row (the words of one OCR line are beside each other), so the tail reads as a second value, surer than
    the cut head. The head's box covers the whole printed word: it is the one a closer reading of its box can put
    right, the tail is no rival to it.
    """
    if piece is whole or piece.page is not whole.page or not piece.words or not whole.words:
        return False
    lines = {(w.block, w.line) for w in whole.words}
    shared = {id(w) for w in whole.words}
    if any(w.line <= 0 or (w.block, w.line) not in lines or id(w) in shared for w in piece.words):
        return False
    inner, outer = union_box(piece.words), union_box(whole.words)
    width = inner[2] - inner[0]
    cover = min(inner[2], outer[2]) - max(inner[0], outer[0])
    return outer[0] < inner[0] and width > 0 and cover >= PIECE_COVER * width


def _choose(
    name: str,
    field_spec: FieldSpec,
    candidates: list[Candidate],
    problems: list[Problem],
    sums: dict[int, PageSums],
    *,
    repair: bool = True,
) -> Field | None:
    """Pick the field's value among its candidates by the spec's `select` rule.

    For the largest amount under total labels, an amount that equals cash tendered minus change wins (the
    customer paid it); when the labelled amounts differ and nothing confirms the one chosen, it stays below
    the auto-accept line.
    """
    if not candidates:
        return None
    if field_spec.select == "best":
        candidates = [c for c in candidates if not any(_piece_of(c, other) for other in candidates)]
    ordered = sorted(candidates, key=lambda c: (c.page.number, union_box(c.words)[1], union_box(c.words)[0]))
    if field_spec.select == "first":
        chosen = ordered[0]
    elif field_spec.select == "last":
        chosen = ordered[-1]
    elif field_spec.select == "largest":
        chosen = max(ordered, key=lambda c: (c.typed.sort_key, c.confidence))
    else:
        chosen = max(ordered, key=lambda c: c.confidence)
    confidence = chosen.confidence
    if field_spec.select == "largest" and isinstance(chosen.typed.value, Money):
        chosen, confidence, repaired = _corroborate(chosen, candidates, sums, repair=repair)
        if repaired is not None:
            problems.append(dataclasses.replace(repaired, field=name))
        tax = sums[chosen.page.number].tax
        if tax is not None and tax > 0 and _amount(chosen) <= tax and confidence > BELOW_TAX_CAP:
            confidence = BELOW_TAX_CAP
            problems.append(
                Problem(
                    ReasonCode.AMOUNTS_INCONSISTENT,
                    f"{name}: read as {_amount(chosen)}, not above the tax printed on its page ({tax}); check it",
                    page=chosen.page.number,
                    field=name,
                )
            )
    rivals = [c for c in candidates if c.typed.value != chosen.typed.value and c.confidence >= confidence - 0.05]
    if rivals and field_spec.select == "best":
        confidence *= DISAGREE_FACTOR
        problems.append(
            Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: {len(rivals) + 1} different values found; check which one applies",
                page=chosen.page.number,
                field=name,
            )
        )
    if chosen.typed.ambiguous:
        problems.append(
            Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: {chosen.typed.note or 'value can be read more than one way'}",
                page=chosen.page.number,
                field=name,
            )
        )
    if chosen.typed.error is not None:
        problems.append(
            Problem(ReasonCode.FIELD_INVALID, f"{name}: {chosen.typed.error}", page=chosen.page.number, field=name)
        )
    provenance = Provenance(method=chosen.page.method, page=chosen.page.number, bbox=union_box(chosen.words))
    field = Field(name, chosen.typed.value, round(confidence, 4), provenance, chosen.raw)
    return dataclasses.replace(field)
