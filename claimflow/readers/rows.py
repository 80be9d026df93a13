"""Read a table's rows one by one: the table's box cleaned of the form, cut into rows of ink, each row read alone.

A form's table (the CMS-1500's box 24) read in one pass loses rows and glues cells: the page segmentation
joins a row's dates to the rules beside them, reads a dashed dollars | cents separator as a digit, and drops a
row whose text sits close to a rule. Here the table's box is cut out, enlarged to about REGION_DPI, cleaned of
the form's ink (`clean`: drop-out or rule removal, readers/dropout.py), and cut into rows where the cleaned
image has text: runs of pixel rows holding at least ROW_INK_SHARE of the width in ink, so a print fed a few
millimetres off its boxes is still cut between its own lines, not at the form's rules. The rows are stacked,
each with white around it, into one image read in one OCR call (psm 6: one line each); every word is given
its row's top and bottom, so a row read alone stays one line for the table reader.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from claimflow.models import BBox, Page, Word
from claimflow.readers.ocr import OcrEngine, whitelist_reader

ROW_DPI = 400
"""Rows are read at about this resolution (Courier and Helvetica of 8-12 pt printed on 120-200 dpi scans)."""
LETTER_WIDTH_IN = 8.5
INK_LEVEL = 160
"""A cleaned pixel darker than this is ink when rows are found."""
PAPER_LEVEL = 128
"""Cleaned pixels lighter than this are made paper white before the rows are read (`to_paper`), unless they are
part of a stroke: the light edges a rule's removal leaves beside the digits (a 200-dpi form's dashed separators,
enlarged) made tesseract read Courier dates `07 11 26` as `OT KI D6`; the same rows cut at this level read
`07 11 26`."""
FAINT_LEVEL = 230
"""A cleaned pixel darker than this is faint ink: kept when it belongs to a stroke with dark ink, away from
what the cleaning removed (`to_paper`)."""
STROKE_REACH_INCH = 0.05
"""Faint ink joined to dark ink through faint ink within this many inches belongs to that stroke: the thin
vertical stem of a Courier `1` or `I`, rasterised between two pixel columns at 120-150 dpi, is all grey
130-200 between its dark serifs (0.08 in apart); cut at PAPER_LEVEL alone, `I10` was read `-49` and
`01 29 26 ... 97110` as `Ol 29 26 ... 397220`. A faint mark apart from any dark stroke (a slot's bracket
printed light beside a `J`, read with it as `|`) is paper."""
RULE_EDGE_INCH = 0.008
"""Faint ink this close (inches) to a pixel the cleaning removed is the rule's edge, never a stroke."""
ROW_INK_SHARE = 0.01
"""A pixel row holds text when at least this share of the box's width is ink (a left-over piece of a rule
or the form's sideways margin text is a few pixels wide and never makes a row)."""
ROW_MIN_INCH = 0.05
"""A row of text is at least this tall (inches): shorter runs of ink are specks or rule remnants."""
ROW_JOIN_INCH = 0.02
"""Ink rows closer than this (inches) belong to one row of text (a glyph's dot, a comma below the line)."""
ROW_MARGIN_INCH = 0.03
"""White kept above and below a row when it is cut out."""
ROW_GAP_PX = 40
"""White between the rows stacked into one image, so tesseract keeps them apart as lines."""
DIGITS = "0123456789"
"""The whitelist of a digits-only reading: a boxed date's `O1` or `TN ON` is read as digits (readers/ocr.py)."""
ROW_BLOCK = 5000
"""Block numbers given to words read row by row (apart from the first reading's and the layers')."""


def text_rows(grey: np.ndarray, *, dpi: float) -> list[tuple[int, int]]:
    """Return (top, bottom) pixel rows of the runs of text in a cleaned grey image, top to bottom.

    A pixel row is text when ROW_INK_SHARE of its width is ink; runs closer than ROW_JOIN_INCH are one run;
    runs shorter than ROW_MIN_INCH are dropped.
    """
    if grey.size == 0:
        return []
    ink = (grey < INK_LEVEL).sum(axis=1)
    busy = np.flatnonzero(ink >= max(3.0, ROW_INK_SHARE * grey.shape[1]))
    if busy.size == 0:
        return []
    join = max(1, round(ROW_JOIN_INCH * dpi))
    runs: list[tuple[int, int]] = []
    start = previous = int(busy[0])
    for y in busy[1:]:
        if int(y) - previous > join:
            runs.append((start, previous))
            start = int(y)
        previous = int(y)
    runs.append((start, previous))
    shortest = ROW_MIN_INCH * dpi
    return [(top, bottom) for top, bottom in runs if bottom - top + 1 >= shortest]


def to_paper(grey: np.ndarray, source: np.ndarray, *, dpi: float) -> np.ndarray:
    """Return a cleaned grey crop with its faint ink made paper white, except the faint parts of strokes.

    Ink darker than PAPER_LEVEL stays. Fainter ink (up to FAINT_LEVEL) stays only where it is joined to such
    dark ink through faint ink within STROKE_REACH_INCH, and lies further than RULE_EDGE_INCH from any pixel the
    cleaning removed (`source` is the crop before cleaning, of the same size): the thin grey stem of a Courier
    `1` between its dark serifs stays; the light edges of a removed dashed rule, a light mark apart from the
    strokes and specks of scanner noise go.
    """
    dark = grey < PAPER_LEVEL
    faint = (grey < FAINT_LEVEL) & ~dark
    if source.shape == grey.shape:
        removed = (source < FAINT_LEVEL) & (grey >= FAINT_LEVEL)
        faint &= ~_grow(removed, None, max(1, round(RULE_EDGE_INCH * dpi)))
    keep = _grow(dark, faint, max(1, round(STROKE_REACH_INCH * dpi)))
    return np.where(keep, grey, 255).astype(np.uint8)


def _grow(seeds: np.ndarray, allowed: np.ndarray | None, steps: int) -> np.ndarray:
    """Return `seeds` grown up to `steps` pixels (4-connected) through `allowed` pixels (anywhere when None)."""
    out = seeds.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:, :] |= out[:-1, :]
        grown[:-1, :] |= out[1:, :]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        if allowed is not None:
            grown &= allowed | seeds
        if np.array_equal(grown, out):
            break
        out = grown
    return out


def reread_rows(
    page: Page,
    ocr: OcrEngine,
    box: BBox,
    *,
    clean: Callable[[Image.Image], Image.Image] | None = None,
    whitelist: str = "",
) -> list[list[Word]] | None:
    """Read the rows of text inside `box` (page fractions) one by one; return each row's words, top to bottom.

    None when the page's image was not kept, the box is empty, the OCR failed, or a `whitelist` (the only
    characters to read: DIGITS) was asked of an engine that cannot take one. Word boxes are in page
    fractions; every word of a row spans the row's height.
    """
    image = page.image
    reader = whitelist_reader(ocr) if whitelist else None
    if image is None or not isinstance(image, Image.Image) or (whitelist and reader is None):
        return None
    width, height = image.size
    pixels = (
        max(0, math.floor(box[0] * width)),
        max(0, math.floor(box[1] * height)),
        min(width, math.ceil(box[2] * width)),
        min(height, math.ceil(box[3] * height)),
    )
    if pixels[2] - pixels[0] < 4 or pixels[3] - pixels[1] < 4:
        return None
    page_dpi = width / LETTER_WIDTH_IN
    scale = min(4.0, max(1.0, ROW_DPI / page_dpi))
    crop = image.crop(pixels).convert("L")
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
    dpi = page_dpi * scale
    crop.info["dpi"] = (dpi, dpi)
    source = np.asarray(crop)
    if clean is not None:
        crop = clean(crop).convert("L")
    grey = to_paper(np.asarray(crop), source, dpi=dpi)
    crop = Image.fromarray(grey, mode="L")
    margin = round(ROW_MARGIN_INCH * dpi)
    found = text_rows(grey, dpi=dpi)
    spans = [(max(0, top - margin), min(grey.shape[0], bottom + 1 + margin)) for top, bottom in found]
    if not spans:
        return []
    canvas_height = sum(bottom - top for top, bottom in spans) + ROW_GAP_PX * (len(spans) + 1)
    canvas = Image.new("L", (crop.width, canvas_height), 255)
    offsets: list[int] = []
    at = ROW_GAP_PX
    for top, bottom in spans:
        canvas.paste(crop.crop((0, top, crop.width, bottom)), (0, at))
        offsets.append(at)
        at += bottom - top + ROW_GAP_PX
    canvas.info["dpi"] = (dpi, dpi)
    read = (
        reader.ocr_image(canvas, page=page.number, psm=6, lang=page.language, whitelist=whitelist)
        if reader is not None
        else ocr.ocr_image(canvas, page=page.number, psm=6, lang=page.language)
    )
    if read.problems:
        return None
    rows: list[list[Word]] = [[] for _ in spans]
    for word in read.words:
        middle = (word.bbox[1] + word.bbox[3]) / 2 * canvas_height
        for index, ((top, bottom), offset) in enumerate(zip(spans, offsets, strict=True)):
            if offset <= middle <= offset + bottom - top:
                rows[index].append(word)
                break
    out: list[list[Word]] = []
    for (top, bottom), words in zip(spans, rows, strict=True):
        row_top = (pixels[1] + top / scale) / height
        row_bottom = (pixels[1] + bottom / scale) / height
        placed = []
        for word in sorted(words, key=lambda w: w.bbox[0]):
            x0 = (pixels[0] + word.bbox[0] * crop.width / scale) / width
            x1 = (pixels[0] + word.bbox[2] * crop.width / scale) / width
            placed.append(dataclasses.replace(word, bbox=(x0, row_top, x1, row_bottom), block=ROW_BLOCK + word.block))
        out.append(placed)
    return out
