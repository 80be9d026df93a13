"""Domain types shared by every stage: read pages and sheets, extracted fields, claims, decisions.

No I/O here. Coordinates are normalised to the page (0..1 of width and height, origin top-left) so
that specs and provenance do not depend on the resolution a page was read at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from claimflow.errors import ReasonCode

BBox: TypeAlias = tuple[float, float, float, float]
"""(x0, top, x1, bottom), each in 0..1 of the page width/height, origin top-left."""


def centre_in(bbox: BBox, box: BBox) -> bool:
    """Return True when the centre of `bbox` lies inside `box` (edges included)."""
    x, y = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


CellValue: TypeAlias = str | int | Decimal | date | bool | None
"""A spreadsheet cell after reading: floats are converted to Decimal via str(), never kept as float."""


class ReadMethod(StrEnum):
    """How a page or value was read; stored, so values are never renamed."""

    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    ACROFORM = "acroform"
    SPREADSHEET = "spreadsheet"
    CSV = "csv"
    REVIEWER = "reviewer"


class DocumentStatus(StrEnum):
    """Where a document is in its life; stored."""

    RECEIVED = "received"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


class Route(StrEnum):
    """The outcome of deciding a claim; stored."""

    SETTLE = "settle"
    REVIEW = "review"
    REQUEST_DOCUMENTS = "request_documents"


class ClaimStatus(StrEnum):
    """Case state of a claim (DESIGN.md section 2); stored."""

    RECEIVED = "received"
    PENDING_DOCUMENTS = "pending_documents"
    IN_REVIEW = "in_review"
    SETTLED = "settled"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Problem:
    """A data problem found while reading, extracting or deciding; routes to review, never raises."""

    code: ReasonCode
    message: str
    page: int | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Word:
    """One word with its box; `confidence` is 1.0 for a real text layer, tesseract's conf/100 for OCR."""

    text: str
    bbox: BBox
    confidence: float
    block: int = 0
    line: int = 0


@dataclass(slots=True)
class Page:
    """One read page: its words in reading order (by block, line, x)."""

    number: int
    width: float
    height: float
    method: ReadMethod
    words: list[Word] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    image: object | None = field(default=None, repr=False, compare=False)
    """The upright image an OCR'd page was read from (kept in memory only, for second readings)."""
    language: str = "eng"
    """The tesseract language string an OCR'd page was read with (`chi_sim+eng` for a Han page)."""

    @property
    def text(self) -> str:
        """Return the page text, one line per (block, line)."""
        lines: list[str] = []
        key: tuple[int, int] | None = None
        for word in self.words:
            if (word.block, word.line) != key:
                lines.append(word.text)
                key = (word.block, word.line)
            else:
                lines[-1] += " " + word.text
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Row:
    """One spreadsheet data row: 1-based row number in the sheet, values by header text as printed."""

    number: int
    values: dict[str, CellValue]


@dataclass(slots=True)
class Sheet:
    """One worksheet (or a CSV file) as a header and rows."""

    name: str
    header_row: int
    header: list[str]
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class ReadDocument:
    """What the readers return for one file: pages (PDF, image) or sheets (xlsx, csv)."""

    pages: list[Page] = field(default_factory=list)
    sheets: list[Sheet] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Return all page text, pages separated by form feeds."""
        return "\f".join(page.text for page in self.pages)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money; `currency` is ISO 4217 or None when the document does not say."""

    amount: Decimal
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a value came from: page and box for pages, sheet/row/column for spreadsheets."""

    method: ReadMethod
    page: int | None = None
    bbox: BBox | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None


FieldScalar: TypeAlias = str | Decimal | date | int | bool | Money
FieldValueType: TypeAlias = FieldScalar | list[str] | list[dict[str, FieldScalar | None]]


@dataclass(frozen=True, slots=True)
class Field:
    """One extracted field: typed value, confidence in [0, 1], provenance, and the raw text read."""

    name: str
    value: FieldValueType
    confidence: float
    provenance: Provenance
    raw: str = ""


@dataclass(slots=True)
class Extraction:
    """The result of applying a spec to one read document.

    `fields` holds the document-level fields; `records` holds one field dict per claim row for
    tabular types (claims_bordereau) and is empty otherwise. `pages` are the page numbers of the file
    this document was read from (one file may hold a claim form, its invoice and a receipt).
    """

    document_type: str
    type_confidence: float
    fields: dict[str, Field] = field(default_factory=dict)
    records: list[dict[str, Field]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    pages: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a claim went where it went: a stable code and a plain-words message (no personal data)."""

    code: str
    message: str


@dataclass(slots=True)
class Decision:
    """The decision on one claim with the trace that reproduces it."""

    route: Route
    payout: Decimal | None
    currency: str | None
    reasons: list[Reason]
    recommendation: str | None
    missing_documents: list[str]
    decided_by: str | None
    ruleset: str
    ruleset_version: str
    ruleset_sha256: str
    engine: str
    trace: dict[str, object]
