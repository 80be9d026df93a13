"""One case as the workstation shows it: the claim's explanation, its documents' pages with field boxes, history.

Built from `explain.explain_claim` (the same explanation `claimflow show` prints) plus, per document, the
fields that document gave with their page and box, so each page image can be overlaid with its own fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from claimflow.errors import NotFoundError, ReasonCode
from claimflow.explain import explain_claim
from claimflow.serialise import public_field, stored_extractions
from claimflow.store.repository import Repository
from claimflow.store.tables import DocumentRow, ReviewTaskRow
from claimflow.web.page_images import has_page_images
from claimflow.web.queue import QueueRow, queue_row

# a page read turned or straightened: its boxes belong to the upright reading, not to the original's image
MOVED_PAGE_CODES = frozenset({ReasonCode.PAGE_ROTATED.value, ReasonCode.PAGE_ORIENTATION_UNCERTAIN.value})


@dataclass(frozen=True, slots=True)
class Box:
    """A field drawn on a page: name, shown value, confidence, box as fractions of the page."""

    name: str
    value: str
    confidence: float
    low: bool
    x: float
    y: float
    width: float
    height: float


@dataclass(slots=True)
class CasePage:
    """One page of a document with the boxes of the fields read on it."""

    number: int
    boxes: list[Box] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CaseDocument:
    """A document of the claim: type, kind, its pages (when it has images) or its spreadsheet cells."""

    document_id: int
    file: str
    document_type: str
    kind: str
    pages: list[CasePage] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class CaseView:
    """Everything the case page shows."""

    task: ReviewTaskRow
    row: QueueRow | None
    explanation: dict[str, Any]
    fields: list[dict[str, Any]]
    documents: list[CaseDocument]
    threshold: float
    pending: dict[str, str] | None = None


def show_value(value: Any) -> str:
    """Return a field value as the reviewer reads it (lists of rows as compact JSON)."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def build_case(repo: Repository, task_id: int, *, now: datetime, sla_hours: float, threshold: float) -> CaseView:
    """Return the case of a review task (open or closed); NotFoundError for an unknown task."""
    with repo.reading() as s:
        task = s.get(ReviewTaskRow, task_id)
        if task is None:
            raise NotFoundError(f"no review task {task_id}")
        linked = repo.documents_of_claim(s, task.claim_id)
        first = repo.pending_approval(s, task_id)
        pending = {"reviewer": first.reviewer, "payout": first.payout} if first is not None else None
    explanation = explain_claim(repo, task.claim_id, confidence_threshold=threshold)
    fields = [
        {
            "name": name,
            "value": show_value(f["value"]),
            "confidence": f["confidence"],
            "page": f.get("page"),
            "method": f.get("method"),
            "currency": f.get("currency"),
            "low": f["confidence"] < threshold,
            "editable": not isinstance(f["value"], list | dict),
        }
        for name, f in explanation["fields"].items()
    ]
    documents = [case_document(doc, record, threshold) for doc, record in linked]
    row = queue_row(task, now=now, sla_hours=sla_hours, awaiting_second=pending is not None)
    return CaseView(task, row if task.status == "open" else None, explanation, fields, documents, threshold, pending)


def case_document(doc: DocumentRow, record: int, threshold: float) -> CaseDocument:
    """Return one document of a case: its pages with the boxes of the fields read on each, or its cells."""
    kind = doc.kind or ""
    case_doc = CaseDocument(doc.id or 0, Path(doc.original_name).name, doc.document_type or "unknown", kind)
    fields, problems = _document_fields(doc, record)
    if has_page_images(kind):
        pages = {n: CasePage(n) for n in range(1, (doc.pages or 0) + 1)}
        for code, message, page in problems:
            if code in MOVED_PAGE_CODES and page in pages:
                pages[page].notes.append(f"{message}: the boxes belong to that reading and may sit off this image")
        for name, f in fields.items():
            page, bbox = f.get("page"), f.get("bbox")
            if page in pages and bbox:
                x0, y0, x1, y1 = bbox
                pages[page].boxes.append(
                    Box(
                        name,
                        show_value(f["value"]),
                        f["confidence"],
                        f["confidence"] < threshold,
                        x0,
                        y0,
                        max(x1 - x0, 0.002),
                        max(y1 - y0, 0.002),
                    )
                )
        case_doc.pages = list(pages.values())
    else:
        case_doc.cells = [
            {
                "name": name,
                "value": show_value(f["value"]),
                "confidence": f["confidence"],
                "where": f"{f.get('sheet') or ''} row {f.get('row')} column {f.get('column')}",
            }
            for name, f in fields.items()
        ]
    return case_doc


def _document_fields(
    doc: DocumentRow, record: int
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str, int | None]]]:
    """Return the public fields this document gave the claim (its part of a split file, its bordereau row).

    Also returns the extraction's problems as (code, message, page).
    """
    if not doc.extraction_json:
        return {}, []
    parts = stored_extractions(json.loads(doc.extraction_json))
    extraction = parts[record] if len(parts) > 1 and 0 <= record < len(parts) else parts[0]
    if len(parts) == 1 and 0 <= record < len(extraction.records):
        source = extraction.records[record]
    else:
        source = extraction.fields
    problems = [(p.code.value, p.message, p.page) for p in extraction.problems]
    return {name: public_field(f) for name, f in sorted(source.items())}, problems
