"""Read a PDF page by page: the text layer with pdfplumber, AcroForm values with pypdf, scans via pypdfium2 + OCR.

This is the only module that imports pdfplumber, pypdf and pypdfium2. A page with a real text layer is read as
words with boxes (confidence 1.0); a page without one is rendered at about 200 dpi and OCR'd with the engine
passed in (psm 11 first: scanned PDF pages are mostly forms) through the page preflight. A few stray glyphs over
a full-page image (a stamp) are not a text layer; a large image with no text over it on a text page (a pasted
scan) is OCR'd too, its words merged with confidence below 1. Filled AcroForm values are added as words at their
widget boxes. Files that cannot be opened at all (encrypted, broken beyond repair, no pages) raise
`DocumentError`; a page that cannot be read becomes a page with a Problem.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pypdfium2 as pdfium
from pdfminer.pdfdocument import PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException

from claimflow.errors import DocumentError, ReasonCode
from claimflow.models import BBox, Page, Problem, ReadDocument, ReadMethod, Word
from claimflow.readers.ocr import (
    PSM_BLOCK,
    PSM_SPARSE,
    Attempt,
    OcrEngine,
    assign_lines,
    clamp_bbox,
    ocr_page,
    to_grey,
)
from claimflow.readers.pdfium_lock import PDFIUM_LOCK
from claimflow.readers.preflight import is_blank, read_scanned_page

logger = logging.getLogger(__name__)

RENDER_DPI = 200
"""Image-only pages are rendered at this resolution: best OCR on 96-300 dpi sources (notes/ocr.md section 3)."""
MIN_RENDER_PX = 1000
"""A tiny page (a 3.84 pt fax image) is rendered at least this many pixels on its longest side."""
MAX_RENDER_PX = 7000
"""A huge page (a poster, an A0 plan) is rendered at most this many pixels on its longest side."""
MIN_TEXT_CHARS = 20
"""A page needs this many real characters for its text layer to be trusted over its images."""
FULL_PAGE_IMAGE = 0.6
"""An image covering this share of the page makes it a scan unless its text layer is a real one."""
STRAY_TEXT_CHARS = 200
"""Over a full-page image, fewer characters than this bunched into a small area are a stamp, not a text layer."""
STRAY_TEXT_AREA = 0.1
"""Share of the page that the box around all text-layer characters must exceed to count as a text layer."""
IMAGE_REGION = 0.25
"""An image this large (share of the page) with no text over it, on a page with text, is OCR'd as well."""
MIN_REGION_WORD_CONFIDENCE = 0.5
"""Words OCR'd from an image region below this confidence are dropped: photos give junk glyphs."""

# What hostile or broken PDFs make the three parsers raise; caught only where the file enters.
_PARSER_ERRORS: tuple[type[BaseException], ...] = (
    PdfminerException,
    pypdf.errors.PyPdfError,
    pdfium.PdfiumError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
    OSError,
    struct.error,
    zlib.error,
)


def read_pdf(path: Path, ocr: OcrEngine) -> ReadDocument:
    """Read every page of the PDF at `path`; raise DocumentError when the file cannot be read at all."""
    document = ReadDocument()
    with _open_plumber(path) as pdf:
        listed = _plumber_pages(pdf, path, document)
        plumber_pages = listed or []
        form_words = _read_acroform(path, document) if _has_acroform(pdf) else {}
        renderer = _Renderer(path)
        try:
            count = len(plumber_pages) or renderer.page_count()
            if count == 0 and listed is None:
                raise _corrupt(path)
            if count == 0:
                raise DocumentError(
                    f"{path.name}: the PDF has no pages; export it again from the source and drop it again",
                    reason_code=ReasonCode.PDF_NO_PAGES,
                )
            for index in range(count):
                plumber_page = plumber_pages[index] if index < len(plumber_pages) else None
                page = _read_page(index + 1, plumber_page, form_words.get(index + 1, []), renderer, ocr, path)
                document.pages.append(page)
        finally:
            renderer.close()
    return document


@contextmanager
def _open_plumber(path: Path) -> Iterator[Any]:
    """Open the PDF with pdfplumber (empty user password); encrypted or unparseable files raise DocumentError."""
    try:
        pdf = pdfplumber.open(path)
    except PdfminerException as exc:
        if exc.args and isinstance(exc.args[0], PDFPasswordIncorrect):
            raise DocumentError(
                f"{path.name}: the PDF is password-protected; re-save it without a password and drop it again",
                reason_code=ReasonCode.PDF_ENCRYPTED,
            ) from exc
        raise _corrupt(path) from exc
    except _PARSER_ERRORS as exc:
        raise _corrupt(path) from exc
    try:
        yield pdf
    finally:
        pdf.close()


def _corrupt(path: Path) -> DocumentError:
    """Return the error for a PDF that no parser can open."""
    return DocumentError(
        f"{path.name}: the PDF is damaged and cannot be read; save or print it to PDF again and drop it again",
        reason_code=ReasonCode.PDF_CORRUPT,
    )


def _plumber_pages(pdf: Any, path: Path, document: ReadDocument) -> list[Any] | None:
    """Return pdfplumber's pages, or None (with a problem) when its page tree is broken."""
    try:
        return list(pdf.pages)
    except _PARSER_ERRORS as exc:
        logger.warning("pdfplumber could not list the pages of %s: %s", path.name, type(exc).__name__)
        document.problems.append(
            Problem(ReasonCode.PDF_CORRUPT, f"{path.name}: the page tree is damaged; pages were rendered and OCR'd")
        )
        return None


def _has_acroform(pdf: Any) -> bool:
    """Return True when the document catalog declares an AcroForm."""
    try:
        return "AcroForm" in pdf.doc.catalog
    except _PARSER_ERRORS:
        return False


class _Renderer:
    """Lazily opened pypdfium2 document: only files with pages to OCR pay for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._doc: Any = None

    def _open(self) -> Any:
        if self._doc is None:
            try:
                with PDFIUM_LOCK:
                    self._doc = pdfium.PdfDocument(str(self.path))
            except pdfium.PdfiumError as exc:
                raise _corrupt(self.path) from exc
        return self._doc

    def page_count(self) -> int:
        """Return pdfium's page count (used when pdfplumber finds none); 0 when pdfium cannot open it either."""
        try:
            document = self._open()
            with PDFIUM_LOCK:
                return len(document)
        except DocumentError:
            return 0

    def render(self, number: int) -> tuple[Any, float, float]:
        """Return page `number` rendered near RENDER_DPI, in grey with stamps dropped out, with its size in points."""
        document = self._open()
        with PDFIUM_LOCK:
            page = document[number - 1]
            try:
                width, height = page.get_size()
                longest = max(width, height, 1.0)
                scale = RENDER_DPI / 72
                scale = min(max(scale, MIN_RENDER_PX / longest), MAX_RENDER_PX / longest)
                # in colour, so that a translucent stamp over a value can be dropped out (ocr.to_grey)
                colour = page.render(scale=scale).to_pil()
            finally:
                page.close()
        image = to_grey(colour)
        image.info["dpi"] = (scale * 72, scale * 72)
        return image, float(width), float(height)

    def close(self) -> None:
        """Release the pdfium document."""
        if self._doc is not None:
            with PDFIUM_LOCK:
                self._doc.close()


def _read_page(
    number: int, plumber_page: Any, form_words: list[Word], renderer: _Renderer, ocr: OcrEngine, path: Path
) -> Page:
    """Read one page: text layer when it has one, else render + OCR; add the AcroForm words."""
    text_words: list[Word] = []
    needs_ocr, has_images = True, False
    regions: list[BBox] = []
    width = height = 0.0
    if plumber_page is not None:
        try:
            width, height = float(plumber_page.width), float(plumber_page.height)
            has_images = bool(plumber_page.images)
            text_words, needs_ocr, regions = _read_text_layer(plumber_page, has_images)
        except _PARSER_ERRORS as exc:
            logger.warning("text layer of page %d of %s unreadable: %s", number, path.name, type(exc).__name__)
        finally:
            plumber_page.close()
    if not needs_ocr or (form_words and not has_images):
        method = ReadMethod.TEXT_LAYER if text_words else ReadMethod.ACROFORM
        page = Page(number, width, height, method, words=assign_lines(text_words + form_words))
        if regions:
            _add_image_regions(page, regions, renderer, ocr, path)
        return page
    page = _ocr_rendered_page(number, renderer, ocr, path)
    if form_words:
        next_block = max((word.block for word in page.words), default=0) + 1
        page.words.extend(assign_lines(form_words, block=next_block))
        page.problems = [p for p in page.problems if p.code is not ReasonCode.PAGE_BLANK]
    return page


def _read_text_layer(page: Any, has_images: bool) -> tuple[list[Word], bool, list[BBox]]:
    """Return the text-layer words, whether the page still needs OCR (no real text layer) and image regions to OCR."""
    x_off, top_off = float(page.bbox[0]), float(page.bbox[1])
    width, height = max(float(page.width), 1e-6), max(float(page.height), 1e-6)

    def box(item: Any) -> BBox:
        x0, top = (float(item["x0"]) - x_off) / width, (float(item["top"]) - top_off) / height
        return clamp_bbox((x0, top, (float(item["x1"]) - x_off) / width, (float(item["bottom"]) - top_off) / height))

    chars = [box(char) for char in page.chars if _is_real_char(str(char.get("text", "")))]
    images = [box(image) for image in page.images] if has_images else []
    # A few stray glyphs over a scan (a stamp, a page number) are not a text layer; on a page without
    # images, though, any text is all there is.
    if len(chars) < MIN_TEXT_CHARS and (not chars or has_images):
        return [], True, []
    if _is_stamp_over_scan(chars, images):
        return [], True, []
    regions = [image for image in images if _area(image) >= IMAGE_REGION and not any(_inside(c, image) for c in chars)]
    words = [
        Word(
            str(raw["text"]),
            clamp_bbox(
                (
                    (float(raw["x0"]) - x_off) / width,
                    (float(raw["top"]) - top_off) / height,
                    (float(raw["x1"]) - x_off) / width,
                    (float(raw["bottom"]) - top_off) / height,
                )
            ),
            1.0,
        )
        for raw in page.extract_words(keep_blank_chars=False, use_text_flow=False)
    ]
    return words, False, regions


def _area(bbox: BBox) -> float:
    """Return the share of the page a normalised box covers."""
    return max(bbox[2] - bbox[0], 0.0) * max(bbox[3] - bbox[1], 0.0)


def _inside(inner: BBox, outer: BBox) -> bool:
    """Return True when the centre of `inner` lies within `outer`."""
    x, y = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]


def _is_stamp_over_scan(chars: list[BBox], images: list[BBox]) -> bool:
    """Return True when a full-page image carries only a little text bunched in one corner (a stamp, a Bates number)."""
    if not chars or max((_area(image) for image in images), default=0.0) < FULL_PAGE_IMAGE:
        return False
    if len(chars) >= STRAY_TEXT_CHARS:
        return False
    extent = (min(c[0] for c in chars), min(c[1] for c in chars), max(c[2] for c in chars), max(c[3] for c in chars))
    return _area(extent) < STRAY_TEXT_AREA


def _region_attempts(image: Any) -> list[Attempt]:
    """Return the passes for an image region pasted into a text page: one block of text, then sparse."""
    return [(lambda: image, PSM_BLOCK), (lambda: image, PSM_SPARSE)]


def _add_image_regions(page: Page, regions: list[BBox], renderer: _Renderer, ocr: OcrEngine, path: Path) -> None:
    """OCR the large image regions of a text page and merge their words (confidence < 1) as blocks of their own."""
    try:
        image, _, _ = renderer.render(page.number)
    except _PARSER_ERRORS as exc:
        logger.warning("page %d of %s could not be rendered: %s", page.number, path.name, type(exc).__name__)
        return
    block = max((word.block for word in page.words), default=0)
    for x0, top, x1, bottom in regions:
        crop = image.crop(
            (round(x0 * image.width), round(top * image.height), round(x1 * image.width), round(bottom * image.height))
        )
        if crop.width < 32 or crop.height < 32 or is_blank(crop):
            continue
        read = ocr_page(ocr, _region_attempts(crop), page=page.number)
        words = [
            Word(
                w.text,
                clamp_bbox(
                    (
                        x0 + w.bbox[0] * (x1 - x0),
                        top + w.bbox[1] * (bottom - top),
                        x0 + w.bbox[2] * (x1 - x0),
                        top + w.bbox[3] * (bottom - top),
                    )
                ),
                min(w.confidence, 0.99),
            )
            for w in read.words
            if w.confidence >= MIN_REGION_WORD_CONFIDENCE
        ]
        if not words:
            continue
        block += 1
        page.words.extend(assign_lines(words, block=block))
        page.problems.append(
            Problem(
                ReasonCode.PAGE_IMAGE_REGION,
                f"page {page.number}: {len(words)} words were OCR'd from an image on the page; check them by eye",
                page=page.number,
            )
        )


def _is_real_char(text: str) -> bool:
    """Return True for a printable, non-space glyph (not pdfminer's '(cid:NN)' for unmapped glyphs)."""
    return bool(text.strip()) and text.isprintable() and not text.startswith("(cid:")


def _ocr_rendered_page(number: int, renderer: _Renderer, ocr: OcrEngine, path: Path) -> Page:
    """Render page `number` and OCR it through the preflight (psm 11, then psm 6 when that reads too little)."""
    try:
        image, width, height = renderer.render(number)
    except _PARSER_ERRORS as exc:
        logger.warning("page %d of %s could not be rendered: %s", number, path.name, type(exc).__name__)
        problem = Problem(
            ReasonCode.OCR_FAILED, f"page {number} could not be rendered for OCR; check it by eye", page=number
        )
        return Page(number, 0.0, 0.0, ReadMethod.OCR, problems=[problem])
    return read_scanned_page(ocr, image, _render_attempts, page=number, size=(width, height))


def _render_attempts(image: Any) -> list[Attempt]:
    """Return the passes for a rendered PDF page: psm 11 first (scanned PDF pages are mostly forms), then 6."""
    return [(lambda: image, PSM_SPARSE), (lambda: image, PSM_BLOCK)]


def _read_acroform(path: Path, document: ReadDocument) -> dict[int, list[Word]]:
    """Return the non-empty AcroForm values as words at their widget boxes, by 1-based page number."""
    try:
        reader = pypdf.PdfReader(path, strict=False)
        if reader.is_encrypted:
            reader.decrypt("")
        result: dict[int, list[Word]] = {}
        for index, page in enumerate(reader.pages, start=1):
            words = [word for annot in page.get("/Annots") or [] for word in _widget_words(annot, page)]
            if words:
                result[index] = words
        return result
    except _PARSER_ERRORS as exc:
        logger.warning("form fields of %s unreadable: %s", path.name, type(exc).__name__)
        document.problems.append(
            Problem(ReasonCode.PDF_CORRUPT, f"{path.name}: the form fields could not be read; check them by eye")
        )
        return {}


MULTILINE_FLAG = 1 << 12
"""Text-field flag (/Ff bit 13): the value wraps into lines from the top of the box."""
DEFAULT_FONT_PT = 12.0
"""Font size of a widget whose /DA names none or asks for auto size (0) in a multi-line box."""
LINE_PITCH = 1.15
"""Line height of widget text as a multiple of its font size."""
CHAR_WIDTH = 0.5
"""Average glyph width of widget text (Helvetica-like) as a multiple of its font size."""
WIDGET_PADDING_PT = 2.0
"""Inset of widget text from its box, as viewers draw it."""


def _widget_words(annot: Any, page: Any) -> list[Word]:
    """Return the words of one widget annotation's value, placed where a viewer draws them.

    A single-line value is spread over its rectangle; a multi-line text field's value is wrapped into
    lines of its font size from the top of the box, so its first line sits level with the field's label.
    """
    widget = annot.get_object()
    if widget.get("/Subtype") != "/Widget" or "/Rect" not in widget:
        return []
    text = _widget_value(widget)
    if not text:
        return []
    box = page.cropbox
    left, bottom, right, top = (float(v) for v in (box.left, box.bottom, box.right, box.top))
    width, height = max(right - left, 1e-6), max(top - bottom, 1e-6)
    x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    flags = _inherited(widget, "/Ff")
    multiline = _inherited(widget, "/FT") == "/Tx" and int(flags or 0) & MULTILINE_FLAG
    if not multiline:
        return [
            Word(
                token,
                clamp_bbox(((wx0 - left) / width, (top - y1) / height, (wx1 - left) / width, (top - y0) / height)),
                1.0,
            )
            for token, wx0, wx1 in _spread(text, x0, x1)
        ]
    font = _font_size(widget) or DEFAULT_FONT_PT
    pitch = font * LINE_PITCH
    words: list[Word] = []
    for number, line in enumerate(_wrap(text, x1 - x0 - 2 * WIDGET_PADDING_PT, font * CHAR_WIDTH)):
        line_top = y1 - WIDGET_PADDING_PT - number * pitch
        line_bottom = max(line_top - pitch, y0)
        if line_top <= y0:
            break  # the rest is scrolled out of the box
        line_x1 = min(x0 + WIDGET_PADDING_PT + len(line) * font * CHAR_WIDTH, x1)
        for token, wx0, wx1 in _spread(line, x0 + WIDGET_PADDING_PT, line_x1):
            bbox = ((wx0 - left) / width, (top - line_top) / height, (wx1 - left) / width, (top - line_bottom) / height)
            words.append(Word(token, clamp_bbox(bbox), 1.0))
    return words


def _spread(text: str, x0: float, x1: float) -> list[tuple[str, float, float]]:
    """Return each whitespace-separated token of `text` with its x range, characters spread evenly over x0..x1."""
    out: list[tuple[str, float, float]] = []
    offset = 0
    for token in text.split():
        start = text.index(token, offset)
        offset = start + len(token)
        out.append((token, x0 + (x1 - x0) * start / len(text), x0 + (x1 - x0) * offset / len(text)))
    return out


def _wrap(text: str, width: float, char_width: float) -> list[str]:
    """Break `text` into lines at its newlines and where the next word would pass `width` points."""
    limit = max(int(width / max(char_width, 1e-6)), 1)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for token in paragraph.split():
            if current and len(current) + 1 + len(token) > limit:
                lines.append(current)
                current = token
            else:
                current = f"{current} {token}" if current else token
        if current:
            lines.append(current)
    return lines


def _font_size(widget: Any) -> float:
    """Return the font size the widget's default appearance (/DA `/Helv 11 Tf`) asks for; 0 when none or auto."""
    appearance = _inherited(widget, "/DA")
    match = re.search(r"(\d+(?:\.\d+)?)\s+Tf\b", str(appearance or ""))
    return float(match.group(1)) if match else 0.0


def _widget_value(widget: Any) -> str:
    """Return the displayed value of a widget: the field value for text and choice fields, the state for buttons."""
    field_type = _inherited(widget, "/FT")
    if field_type == "/Btn":
        state = widget.get("/AS")
        return "" if state is None or state == "/Off" else str(state).lstrip("/")
    value = _inherited(widget, "/V")
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item).lstrip("/") for item in value).strip()
    return str(value).lstrip("/").strip() if isinstance(value, pypdf.generic.NameObject) else str(value).strip()


def _inherited(widget: Any, key: str) -> Any:
    """Return `key` from the widget or the nearest parent field that has it (fields inherit /FT and /V)."""
    node = widget
    for _ in range(32):  # a parent loop in a hostile file must not hang us
        if key in node:
            return node[key].get_object() if hasattr(node[key], "get_object") else node[key]
        parent = node.get("/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    return None
