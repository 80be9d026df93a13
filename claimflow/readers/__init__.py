"""Readers: turn a sniffed file into a ReadDocument (pages of words, or sheets of rows).

`read_document` is the one entry point; it dispatches by file kind to the module that owns each library:
pdf_text (pdfplumber, pypdf, pypdfium2), ocr (pytesseract, PIL) and spreadsheet (openpyxl, csv); scanned
pages go through preflight (blank, orientation, small text, skew) around their OCR. Files that
cannot be read at all raise `DocumentError` naming the file and what to do; problems with single pages or
cells are `Problem` values, kept on the narrowest object they concern (Page.problems, Sheet.problems, and
ReadDocument.problems only for whole-file ones), never copied between them.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from PIL import Image

from claimflow.errors import DocumentError, ReasonCode
from claimflow.models import BBox, Page, ReadDocument, Word
from claimflow.readers.ocr import OcrEngine, Orientation, RecordedOcr, TesseractOcr, check_tesseract
from claimflow.readers.pdf_text import read_pdf
from claimflow.readers.preflight import read_image
from claimflow.readers.spreadsheet import read_csv, read_xlsx
from claimflow.sniff import FileKind

__all__ = [
    "OcrEngine",
    "Orientation",
    "RecordedOcr",
    "TesseractOcr",
    "check_tesseract",
    "read_document",
    "reread_page",
    "reread_region",
]

REGION_DPI = 400
"""A region read again is enlarged to about this resolution (small boxed text on 100-200 dpi pages)."""
REGION_PAD = 0.006
"""The crop reaches this far (page fraction) past the region so words on its edge are read whole."""
LETTER_WIDTH_IN = 8.5


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


def reread_region(page: Page, ocr: OcrEngine, box: BBox, *, psm: int = 6) -> list[Word] | None:
    """Read one region of an OCR'd page again, enlarged; return its words in page fractions (None without image).

    The page image is cropped a little past `box`, scaled up to about REGION_DPI (taking the page as US Letter
    width when its resolution is unknown) and read with `psm`; only words whose centre lies inside `box` are kept.
    """
    if page.image is None or not isinstance(page.image, Image.Image):
        return None
    image = page.image
    width, height = image.size
    left, top = max(0.0, box[0] - REGION_PAD), max(0.0, box[1] - REGION_PAD)
    right, bottom = min(1.0, box[2] + REGION_PAD), min(1.0, box[3] + REGION_PAD)
    pixels = (int(left * width), int(top * height), math.ceil(right * width), math.ceil(bottom * height))
    if pixels[2] - pixels[0] < 4 or pixels[3] - pixels[1] < 4:
        return None
    scale = min(4.0, max(1.0, REGION_DPI / (width / LETTER_WIDTH_IN)))
    crop = image.crop(pixels)
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
    read = ocr.ocr_image(crop, page=page.number, psm=psm)
    x0, y0 = pixels[0] / width, pixels[1] / height
    span_x, span_y = (pixels[2] - pixels[0]) / width, (pixels[3] - pixels[1]) / height
    words = []
    for word in read.words:
        b = word.bbox
        placed = (x0 + b[0] * span_x, y0 + b[1] * span_y, x0 + b[2] * span_x, y0 + b[3] * span_y)
        centre = ((placed[0] + placed[2]) / 2, (placed[1] + placed[3]) / 2)
        if box[0] <= centre[0] <= box[2] and box[1] <= centre[1] <= box[3]:
            words.append(dataclasses.replace(word, bbox=placed))
    return words
