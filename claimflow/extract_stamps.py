"""Values a rubber stamp hid from the first reading, read again with the stamp removed harder (the stamps look).

`readers.ocr.to_grey` drops out a translucent stamp's light, clearly coloured pixels; a blue stamp's dense letters
and a blurred stamp's weakly coloured ring stay as grey strokes, and the value under them reads as junk or not at
all (seed 23 claim_application_zh 002: the 19-digit payee account; seed 27 receipt 002: TOTAL and VAT). A page whose
stamp was dropped out keeps its colour image and the stamp's mask (`readers.stamps.StampViews`); for a document
that lacks a field, the bands the stamp covers are read again from two cleaner views of the page (`readings`):

- print dark (black type under a stamp): the stamp's hue erased, and the stamp with its weak edges lifted;
- print faded (it would be erased with the hue): the stamp with its weak edges lifted, at two enlargements.

A missing field found inside the stamp's bands is taken only when both readings give it alike, or when one reading's
value is the only one passing the field's check digits (Luhn, IBAN, GB 11643), or for a receipt's total when the
page's own sums give it (`extract_reread._take_summed`). What is taken so keeps at most UNREAD_CAP, flagged: it was
read only from a cleaned copy, once or twice, and a person checks it. Pages without a dropped-out stamp cost nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract import EXCLUDE_MATCH, checksum_strength, extract_document
from claimflow.extract_layout import Line, build_lines, contains_phrase, find_anchors
from claimflow.extract_reread import (
    UNREAD_CAP,
    Band,
    _inside,
    _key,
    _problems_of,
    _take_summed,
    put_found,
)
from claimflow.extract_values import validate_value
from claimflow.models import Extraction, Field, Page, Problem, ReadDocument, ReadMethod
from claimflow.readers import reread_bands
from claimflow.readers.ocr import OcrEngine
from claimflow.readers.stamps import StampViews, stamp_views
from claimflow.specs import SpecSet

WIDE_PX = 1500
"""A page at least this wide (a 300-dpi form) is read at its size first, a narrower one (a phone receipt) doubled."""
READINGS = 2
"""Readings of a stamp's bands (OCR calls per stamped page)."""
LABEL_REACH = 2
"""A label's line this many line heights above a stamp's band may have its value under the stamp."""


def stamped_pages(part: Extraction, pages: Sequence[Page]) -> list[tuple[Page, StampViews, list[Band]]]:
    """Return the part's OCR'd pages whose stamp was dropped out and kept, with its views and bands."""
    found = []
    for page in pages:
        if page.method is not ReadMethod.OCR or (part.pages and page.number not in part.pages):
            continue
        views = stamp_views(page.image)
        bands = views.bands() if views is not None else []
        if views is not None and bands:
            found.append((page, views, bands))
    return found


def missing_fields(part: Extraction, specs: SpecSet, pages: Sequence[Page]) -> list[str]:
    """Return the spec's single-value fields the part lacks whose label was read by a stamp on a stamped page.

    A label's line overlapping a stamp's band, or one LABEL_REACH line heights above it (a value below its label):
    a field the document simply lacks (a receipt's claim reference) or whose label is nowhere near a stamp costs
    nothing (lists and tables are read by their own looks).
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    stamped = stamped_pages(part, pages)
    if not stamped:
        return []
    lines_of = [(build_lines(page), bands) for page, _, bands in stamped]
    names = []
    for name, field_spec in spec.fields.items():
        if name in part.fields or field_spec.type in ("list", "table") or not field_spec.anchors:
            continue
        for lines, bands in lines_of:
            hits = [
                hit
                for anchor in field_spec.anchors
                for hit in find_anchors(lines, anchor, field_spec.fuzzy)
                if not any(contains_phrase(lines[hit.line_index], p, EXCLUDE_MATCH) for p in field_spec.exclude)
            ]
            if any(_near(lines[hit.line_index], bands) for hit in hits):
                names.append(name)
                break
    return names


def _near(line: Line, bands: Sequence[Band]) -> bool:
    """Return True when a label's line overlaps a stamp's band, or lies at most LABEL_REACH line heights above it."""
    below = line.bottom + LABEL_REACH * (line.bottom - line.top)
    return any(line.top <= bottom and below >= top for top, bottom in bands)


def readings(page: Page, views: StampViews, bands: Sequence[Band], ocr: OcrEngine) -> list[Page]:
    """Return the page with its stamp's bands read again from the cleaner views (READINGS calls; fewer: unreadable).

    Dark print: the hue-erased view and the lifted view at the page's scale (1x wide, 2x narrow). Faded print (no
    erased view): the lifted view at that scale and one step larger.
    """
    image = page.image
    if not isinstance(image, Image.Image):
        return []
    scale = 1 if image.width >= WIDE_PX else 2
    lifted = views.lifted()
    erased = views.erased()
    plan = [(erased, scale), (lifted, scale)] if erased is not None else [(lifted, scale), (lifted, scale + 1)]
    out = []
    for view, at in plan:
        if view.size != image.size:
            continue  # (not expected: the views are moved as the page was)
        again = reread_bands(dataclasses.replace(page, image=view), ocr, bands, scale=at)
        if again is not None:
            again.image = image  # the page keeps its own image (second looks after this read that)
            out.append(again)
    return out


def read_stamps_again(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, ocr: OcrEngine, *, only: Sequence[str] | None = None
) -> None:
    """Read the stamps' bands of a single document's stamped pages again; take the missing values they give."""
    if len(parts) != 1:
        return
    part = parts[0]
    spec = specs.specs.get(part.document_type)
    names = [n for n in missing_fields(part, specs, read.pages) if only is None or n in only]
    if spec is None or not names:
        return
    for page, views, bands in stamped_pages(part, read.pages):
        again = readings(page, views, bands, ocr)
        extractions = []
        for new in again:
            pages = [new if p.number == page.number else p for p in read.pages]
            reading = extract_document(ReadDocument(pages=pages), specs, part.document_type)
            reading.fields = {n: f for n, f in reading.fields.items() if _inside(f, {page.number: list(bands)})}
            extractions.append(reading)
        for name in names:
            if name in part.fields:
                continue
            chosen = _chosen(name, extractions, specs, part.document_type, len(again))
            if chosen is not None:
                _put(part, chosen, extractions, "read only with the stamp over it removed")
            elif extractions:
                # a total only one reading gave, which the page's own sums give too
                before = part.fields.get(name)
                _take_summed(read, part, specs, name, extractions)
                if part.fields.get(name) is not before:
                    part.problems.append(_stamp_note(name, page.number))


def _chosen(
    name: str, extractions: Sequence[Extraction], specs: SpecSet, document_type: str, made: int
) -> Field | None:
    """Return the value both readings gave alike, or the only one passing the field's check digits (else None)."""
    found = [r.fields[name] for r in extractions if name in r.fields]
    if not found:
        return None
    values = {_key(f) for f in found}
    if len(values) == 1 and len(found) >= READINGS and made >= READINGS:
        return max(found, key=lambda f: f.confidence)
    field_spec = specs.specs[document_type].fields[name]
    if checksum_strength(field_spec) <= 1.0:
        return None
    passing = [f for f in found if validate_value(f.value, field_spec.validators) is None]
    if len({_key(f) for f in passing}) != 1:
        return None
    return max(passing, key=lambda f: f.confidence)


def _put(part: Extraction, chosen: Field, extractions: Sequence[Extraction], why: str) -> None:
    """Put `chosen` into the part at most UNREAD_CAP, flagged: a person checks a value only a cleaned copy gave."""
    capped = dataclasses.replace(chosen, confidence=min(chosen.confidence, UNREAD_CAP))
    put_found(part, capped, _problems_of(extractions, chosen))
    part.problems.append(
        Problem(
            ReasonCode.FIELD_AMBIGUOUS,
            f"{chosen.name}: {why} (the first reading gave none under the stamp); check it",
            page=chosen.provenance.page,
            field=chosen.name,
        )
    )


def _stamp_note(name: str, page: int) -> Problem:
    """Return the note that a value was read from a copy of the page with its stamp removed harder."""
    return Problem(
        ReasonCode.FIELD_AMBIGUOUS,
        f"{name}: read with the stamp over it removed; check it",
        page=page,
        field=name,
    )
