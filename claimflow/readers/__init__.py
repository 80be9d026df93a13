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
import itertools
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from claimflow.errors import DocumentError, ReasonCode
from claimflow.models import BBox, Page, ReadDocument, Word
from claimflow.readers.dropout import binarised, erased_rules
from claimflow.readers.ocr import (
    OcrEngine,
    Orientation,
    RecordedOcr,
    TesseractOcr,
    check_tesseract,
    whitelist_reader,
)
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
    "reread_bands",
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


def reread_region(
    page: Page,
    ocr: OcrEngine,
    box: BBox,
    *,
    psm: int = 6,
    clean: Callable[[Image.Image], Image.Image] | None = None,
    whitelist: str = "",
    split: bool = False,
    band: tuple[float, float] | None = None,
    pad: float = REGION_PAD,
    binary: bool = False,
) -> list[Word] | None:
    """Read one region of an OCR'd page again, enlarged; return its words in page fractions (None without image).

    The page image is cropped a little past `box`, scaled up to about REGION_DPI (taking the page as US Letter
    width when its resolution is unknown), passed through `clean` when given (a form's drop-out:
    `claimflow.readers.dropout.clean_region`) and read with `psm`; only words whose centre lies inside `box`
    are kept. `whitelist`: the only characters the OCR may read (None when the engine takes no whitelist).
    `split` (with `clean`): a word of digits read across a dashed rule the cleaning erased is split there
    (`split_at_rules`: `92 | 60` read `9260` is `92` `60`). `band` (top, bottom, page fractions): only those rows
    of the cleaned crop are read (one line without the captions above it; the crop is cleaned whole first, so its
    dashed rules are long enough to be found). `pad`: how far the crop reaches past `box` (0: one code's cell,
    nothing of its neighbours). `binary` (with `clean`): the cleaned crop is read black and white
    (`dropout.binarised`), the rules it split at found before.
    """
    reader = whitelist_reader(ocr) if whitelist else None
    if page.image is None or not isinstance(page.image, Image.Image) or (whitelist and reader is None):
        return None
    image = page.image
    width, height = image.size
    left, top = max(0.0, box[0] - pad), max(0.0, box[1] - pad)
    right, bottom = min(1.0, box[2] + pad), min(1.0, box[3] + pad)
    pixels = (int(left * width), int(top * height), math.ceil(right * width), math.ceil(bottom * height))
    if pixels[2] - pixels[0] < 4 or pixels[3] - pixels[1] < 4:
        return None
    scale = min(4.0, max(1.0, REGION_DPI / (width / LETTER_WIDTH_IN)))
    crop = image.crop(pixels)
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
    rules: list[tuple[float, int, int]] = []
    y_from, y_to = float(pixels[1]), float(pixels[3])
    if clean is not None:
        dpi = width / LETTER_WIDTH_IN * scale
        crop.info["dpi"] = (dpi, dpi)
        before = crop
        crop = clean(crop)
        if split and crop.size == before.size:
            rules = erased_rules(np.asarray(before.convert("L")), np.asarray(crop.convert("L")), dpi=dpi)
        if binary:
            crop = binarised(crop)
    if band is not None:
        rows = (
            max(0, round((band[0] * height - pixels[1]) * scale)),
            min(crop.height, round((band[1] * height - pixels[1]) * scale)),
        )
        if rows[1] - rows[0] < 4:
            return None
        crop = crop.crop((0, rows[0], crop.width, rows[1]))
        rules = [(x, max(0, a - rows[0]), max(0, b - rows[0])) for x, a, b in rules]
        y_from, y_to = pixels[1] + rows[0] / scale, pixels[1] + rows[1] / scale
    if reader is not None:
        read = reader.ocr_image(crop, page=page.number, psm=psm, whitelist=whitelist)
    else:
        read = ocr.ocr_image(crop, page=page.number, psm=psm)
    if rules:
        read.words = split_at_rules(read.words, rules, crop.size)
    x0, y0 = pixels[0] / width, y_from / height
    span_x, span_y = (pixels[2] - pixels[0]) / width, (y_to - y_from) / height
    words = []
    for word in read.words:
        b = word.bbox
        placed = (x0 + b[0] * span_x, y0 + b[1] * span_y, x0 + b[2] * span_x, y0 + b[3] * span_y)
        centre = ((placed[0] + placed[2]) / 2, (placed[1] + placed[3]) / 2)
        if box[0] <= centre[0] <= box[2] and box[1] <= centre[1] <= box[3]:
            words.append(dataclasses.replace(word, bbox=placed))
    return words


def region_image(
    page: Page, box: BBox, *, clean: Callable[[Image.Image], Image.Image] | None = None
) -> Image.Image | None:
    """Return one box of an OCR'd page's image as `reread_region` hands it to tesseract with `pad=0` (None without one).

    Cropped to `box`, scaled up to about REGION_DPI and passed through `clean`: what another recognizer than
    tesseract is given of the same box, so both read the same pixels (a form's rules and slot brackets gone).
    """
    image = page.image
    if image is None or not isinstance(image, Image.Image):
        return None
    width, height = image.size
    pixels = (int(box[0] * width), int(box[1] * height), math.ceil(box[2] * width), math.ceil(box[3] * height))
    if pixels[2] - pixels[0] < 4 or pixels[3] - pixels[1] < 4:
        return None
    scale = min(4.0, max(1.0, REGION_DPI / (width / LETTER_WIDTH_IN)))
    crop = image.crop(pixels)
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
    if clean is not None:
        dpi = width / LETTER_WIDTH_IN * scale
        crop.info["dpi"] = (dpi, dpi)
        crop = clean(crop)
    return crop


SPLIT_DIGITS = re.compile(r"[0-9Oo]{3,}")
"""A word that may be two boxed values glued (digits; a zero may be read O): `9260`, `0619`, `01231979`."""
SPLIT_FIT = 0.3
"""A rule splits a word only where it falls this close (in characters) to a boundary between two of them: digits are
of one width in Courier and Helvetica alike, so a rule through the middle of a character is not between values."""
SPLIT_PARTS = (2, 4)
"""The lengths of what follows a separator in a box: cents, DD, YY or YYYY. A rule that would leave other pieces
crosses a value typed off its boxes (our own generated forms type a date beside its caption: `11282|006`)."""


def split_at_rules(words: list[Word], rules: Sequence[tuple[float, int, int]], size: tuple[int, int]) -> list[Word]:
    """Return `words` with each word of digits that a dashed rule crosses split in two at the rule.

    `rules`: (x, top, bottom) in pixels of an image of `size` whose words' boxes are fractions of it
    (`dropout.erased_rules`). A form's dashed separator stands between the dollars and cents of an amount and
    between the MM, DD and YY of a date; once the cleaning erased it, OCR reads the two sides as one word
    (`92 | 60` of a flattened fillable form read `9260`, which no amount pattern takes). A rule splits a word when
    it crosses the word's middle height and falls on a boundary between two of its characters (SPLIT_FIT: digits
    are all of one width, the gap of the erased rule on both sides alike) and every piece after the first is 2 or 4
    digits long (SPLIT_PARTS); the pieces keep the word's confidence,
    block and line, so the line reads `92 60`.
    """
    width, height = size
    out: list[Word] = []
    for word in words:
        text = word.text
        left, right = word.bbox[0] * width, word.bbox[2] * width
        middle = (word.bbox[1] + word.bbox[3]) / 2 * height
        cuts: list[tuple[int, float]] = []
        if SPLIT_DIGITS.fullmatch(text) and right > left:
            for x, top, bottom in rules:
                if not left < x < right or not top <= middle <= bottom:
                    continue
                at = len(text) * (x - left) / (right - left)
                index = round(at)
                if 1 <= index < len(text) and abs(at - index) <= SPLIT_FIT:
                    cuts.append((index, x / width))
        ends = [*sorted({index for index, _ in cuts}), len(text)]
        if not cuts or any(b - a not in SPLIT_PARTS for a, b in itertools.pairwise(ends)):
            out.append(word)
            continue
        start, x0 = 0, word.bbox[0]
        for index, x in sorted(dict(cuts).items()):
            out.append(dataclasses.replace(word, text=text[start:index], bbox=(x0, word.bbox[1], x, word.bbox[3])))
            start, x0 = index, x
        out.append(dataclasses.replace(word, text=text[start:], bbox=(x0, word.bbox[1], word.bbox[2], word.bbox[3])))
    return out


BAND_GAP_PX = 24
"""White space between the bands stacked into one image, so tesseract keeps them apart as lines."""
BAND_MAX_PX = 3000
"""Bands are not enlarged past this width (the small phone-size receipts are the ones that gain): a page wider
than this once enlarged has its bands cut to the columns its first reading found words in (`band_columns`)."""
BAND_BLOCK = 1000
"""Block number given to re-read words (page.text groups by block and line; they must not join old lines)."""


def reread_bands(page: Page, ocr: OcrEngine, bands: Sequence[tuple[float, float]], *, scale: int) -> Page | None:
    """Read horizontal bands of an OCR'd page again, enlarged `scale` times, in one OCR call.

    Each band (top, bottom as page fractions) is cut across the full page width (on a page too wide to enlarge so,
    across the columns its words were read in: `band_columns`), enlarged, and the bands are stacked into one image
    with white gaps, so several weak lines cost one tesseract call. Returns a copy of the page whose words in the
    bands (and columns) are replaced by the new reading (boxes mapped back to the page), or None when the page's
    image was not kept, its bands are too wide to enlarge or the reading failed.
    """
    if page.image is None or not isinstance(page.image, Image.Image) or not bands:
        return None
    image = page.image
    width, height = image.size
    spans: list[tuple[int, int]] = []
    for top, bottom in sorted(bands):
        y0, y1 = max(0, math.floor(top * height)), min(height, math.ceil(bottom * height))
        if y1 <= y0:
            continue
        if spans and y0 <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], y1))  # overlapping bands are read once
        else:
            spans.append((y0, y1))
    if not spans:
        return None
    columns = band_columns(page.words, (width, height), spans, scale)
    if columns is None:
        return None  # its lines are too wide to enlarge: the caller must not take the first reading as confirmed
    x0, x1 = columns
    cut = x1 - x0
    canvas_height = sum((y1 - y0) * scale for y0, y1 in spans) + BAND_GAP_PX * (len(spans) + 1)
    canvas = Image.new("L", (cut * scale, canvas_height), 255)
    offsets: list[tuple[int, int, int]] = []  # (offset in the canvas, y0, y1) per span
    at = BAND_GAP_PX
    for y0, y1 in spans:
        piece = image.crop((x0, y0, x1, y1)).convert("L")
        canvas.paste(piece.resize((cut * scale, (y1 - y0) * scale), Image.Resampling.BICUBIC), (0, at))
        offsets.append((at, y0, y1))
        at += (y1 - y0) * scale + BAND_GAP_PX
    dpi = image.info.get("dpi")
    if isinstance(dpi, tuple | list) and len(dpi) == 2:
        canvas.info["dpi"] = (float(dpi[0]) * scale, float(dpi[1]) * scale)
    read = ocr.ocr_image(canvas, page=page.number, psm=6, lang=page.language)
    if read.problems:
        return None
    new_words: list[Word] = []
    for word in read.words:
        centre = (word.bbox[1] + word.bbox[3]) / 2 * canvas_height
        for at, y0, y1 in offsets:
            if at <= centre <= at + (y1 - y0) * scale:

                def back(y: float, at: int = at, y0: int = y0) -> float:
                    return min(max((y0 + (y * canvas_height - at) / scale) / height, 0.0), 1.0)

                left, right = (x0 + word.bbox[0] * cut) / width, (x0 + word.bbox[2] * cut) / width
                box = (left, back(word.bbox[1]), right, back(word.bbox[3]))
                new_words.append(Word(word.text, box, word.confidence, block=BAND_BLOCK + word.block, line=word.line))
                break
    kept = [
        word
        for word in page.words
        if not (
            x0 <= (word.bbox[0] + word.bbox[2]) / 2 * width <= x1
            and any(y0 <= (word.bbox[1] + word.bbox[3]) / 2 * height <= y1 for y0, y1 in spans)
        )
    ]  # a mark left out of the columns keeps its first reading
    again = Page(page.number, page.width, page.height, page.method, kept + new_words, list(page.problems), image)
    again.language = page.language
    return again


def band_columns(
    words: Sequence[Word], size: tuple[int, int], spans: Sequence[tuple[int, int]], scale: int
) -> tuple[int, int] | None:
    """Return the columns (left, right, pixels) of the bands `spans` of a page image of `size` read `scale` x larger.

    The whole width when it fits BAND_MAX_PX enlarged. A wider page (a 600-dpi flatbed scan of a till receipt,
    4961 px wide, read at half size) keeps its text in a narrow column: its bands are cut to the columns the
    first reading found words in (their centres in the bands) with a margin of the tallest band's height on both
    sides (a glyph the first reading lost at a line's end), so the lines are still read whole and larger. A mark
    off that column (a speck or the scanner's edge read `;`, `.`, `ve` far right of the receipt: `_marks_apart`)
    does not widen it. None when even those columns are too wide at `scale` (or the bands hold no word): no
    enlarged reading is made.
    """
    width, height = size
    if width * scale <= BAND_MAX_PX:
        return 0, width
    inside = [
        word
        for word in words
        if any(y0 <= (word.bbox[1] + word.bbox[3]) / 2 * height <= y1 for y0, y1 in spans)
    ]
    margin = max(y1 - y0 for y0, y1 in spans)
    inside = _marks_apart(inside, width, margin)
    if not inside:
        return None
    left = max(0, math.floor(min(word.bbox[0] for word in inside) * width) - margin)
    right = min(width, math.ceil(max(word.bbox[2] for word in inside) * width) + margin)
    if right <= left or (right - left) * scale > BAND_MAX_PX:
        return None
    return left, right


MARK_CHARS = 2
"""A group of words off a band's text holding no digit and at most this many letters is a mark, not text."""


def _marks_apart(words: Sequence[Word], width: int, gap: int) -> list[Word]:
    """Return `words` without the groups of them that are marks apart from the text (`MARK_CHARS`).

    Words are grouped left to right where more than `gap` pixels of paper part them. A group with no digit and at
    most MARK_CHARS letters (`;`, `.`, `ve`: specks, the scanner's edge) is left out while a group of text remains:
    a value read again is never left out (an amount or a date holds a digit, a name more letters).
    """
    ordered = sorted(words, key=lambda word: word.bbox[0])
    groups: list[list[Word]] = []
    reach = -math.inf
    for word in ordered:
        if not groups or word.bbox[0] * width - reach > gap:
            groups.append([])
        groups[-1].append(word)
        reach = max(reach, word.bbox[2] * width)

    def mark(group: list[Word]) -> bool:
        text = "".join(word.text for word in group)
        return not any(ch.isdigit() for ch in text) and sum(ch.isalpha() for ch in text) <= MARK_CHARS

    text = [group for group in groups if not mark(group)]
    return [word for group in text for word in group] if text else list(ordered)

