"""Second readings: read an OCR'd document again, only where a field needs it, and let the readings vote.

One tesseract pass finds a receipt's total verbatim in 72-84% of cases depending on the page segmentation
mode, while the union of modes reaches ~90% (notes/ocr.md section 2). So when a field the spec marks
`reread: true` is missing after the first pass, the OCR pages are read again with other segmentation
modes, the document is extracted from each reading, and the readings vote per missing field: the value
most readings agree on wins; agreement keeps its confidence, disagreement lowers it and is flagged, so a
person sees a value the readings disputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from claimflow.errors import ReasonCode
from claimflow.extract import extract_document
from claimflow.models import Extraction, Field, Money, Page, Problem, ReadDocument, ReadMethod
from claimflow.specs import SpecSet

SECOND_PSMS: tuple[int, ...] = (4, 11)
"""Segmentations tried after the first pass (psm 6 on scans): columns (4) and sparse text (11)."""


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
    return [name for name, field_spec in spec.fields.items() if field_spec.reread and name not in part.fields]


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
        readings = [part]
        for psm in SECOND_PSMS:
            again = [reread(page, psm=psm) for page in ocr_pages]
            pages_read += sum(1 for page in again if page is not None)
            alternative = [new if new is not None else old for new, old in zip(again, ocr_pages, strict=True)]
            readings.append(extract_document(ReadDocument(pages=alternative), specs, part.document_type))
            if all(_agree(readings, name) for name in weak):
                break  # two readings agree on every weak field: no third pass needed
        for name in weak:
            chosen = vote(name, [r.fields[name] for r in readings if name in r.fields], len(readings))
            if chosen is not None:
                part.fields[name] = chosen[0]
                part.problems = [
                    p for p in part.problems if not (p.field == name and p.code is ReasonCode.FIELD_MISSING)
                ]
                if chosen[1]:
                    part.problems.append(chosen[1])
    return pages_read


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
