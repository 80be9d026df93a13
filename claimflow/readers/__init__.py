"""Readers: turn a sniffed file into a ReadDocument (pages of words, or sheets of rows).

`read_document` is the one entry point; it dispatches by file kind to the module that owns each library:
pdf_text (pdfplumber, pypdf, pypdfium2), ocr (pytesseract, PIL) and spreadsheet (openpyxl, csv); scanned
pages go through preflight (blank, orientation, small text, skew) around their OCR. Files that
cannot be read at all raise `DocumentError` naming the file and what to do; problems with single pages or
cells are `Problem` values, kept on the narrowest object they concern (Page.problems, Sheet.problems, and
ReadDocument.problems only for whole-file ones), never copied between them.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from claimflow.errors import DocumentError, ReasonCode
from claimflow.models import Page, ReadDocument
from claimflow.readers.ocr import OcrEngine, Orientation, RecordedOcr, TesseractOcr, check_tesseract
from claimflow.readers.pdf_text import read_pdf
from claimflow.readers.preflight import read_image
from claimflow.readers.spreadsheet import read_csv, read_xlsx
from claimflow.sniff import FileKind

__all__ = ["OcrEngine", "Orientation", "RecordedOcr", "TesseractOcr", "check_tesseract", "read_document", "reread_page"]


def read_document(path: Path, kind: FileKind, ocr: OcrEngine) -> ReadDocument:
    """Read the file at `path` as `kind`; raise DocumentError when it cannot be read at all."""
    if path.stat().st_size == 0:
        raise DocumentError(
            f"{path.name}: the file is empty (0 bytes); drop the complete file again", reason_code=ReasonCode.EMPTY_FILE
        )
    if kind is FileKind.PDF:
        return read_pdf(path, ocr)
    if kind in (FileKind.PNG, FileKind.JPEG, FileKind.TIFF):
        return ReadDocument(pages=read_image(path, ocr))
    if kind is FileKind.XLSX:
        return read_xlsx(path)
    if kind is FileKind.CSV:
        return read_csv(path)
    raise DocumentError(f"{path.name}: no reader for kind {kind!r}", reason_code=ReasonCode.UNSUPPORTED_TYPE)


def reread_page(page: Page, ocr: OcrEngine, *, psm: int) -> Page | None:
    """Read an OCR'd page again with another page segmentation mode; None when its image was not kept."""
    if page.image is None or not isinstance(page.image, Image.Image):
        return None
    again = ocr.ocr_image(page.image, page=page.number, psm=psm, lang=page.language)
    again.width, again.height, again.image, again.language = page.width, page.height, page.image, page.language
    return again
