"""Marks on a page image that its OCR text does not explain, and reading single words or lines again.

The image side of the extraction's second looks (claimflow/extract_accents.py, claimflow/extract_confirm.py
decide what to take): which words of a value lost an accent, whether a new text has the marks the image
shows, whether a small mark (a full stop) sits after a word that no word covers, and reading boxes again
with any tesseract model. Kept under readers/ because it needs the page image (PIL, numpy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

from claimflow.models import BBox, Page, Word, centre_in
from claimflow.readers import diacritics
from claimflow.readers.ocr import OcrEngine

WORD_PAD = 0.35
"""A word read again is cut this share of its height past its box on every side (its accents sit above it)."""
WORD_MIN_PX = 28
"""Words lower than this many pixels are read again doubled (a 150-dpi scan's 10-point name)."""
DOUBT = 0.7
"""Below this OCR confidence, a word with a capital inside lower case (`IndustriestraRe`) is taken to have lost
a letter the model does not know (ß read as B or R) and is read again too."""
TRAIL_REACH = 0.6
"""How far past a word's right edge (share of its height) a dropped mark is looked for."""
TRAIL_MAX = 0.45
"""A dropped mark is at most this share of the word's height wide and high (a full stop, a comma, 。)."""
TRAIL_MIN_PIXELS = 6
"""... and has at least this many ink pixels (scanner noise leaves smaller specks)."""
GLYPH_REACH = 2.5
"""How far past a value's last word (share of its height) a character its reading dropped is looked for (the
space of a typed `Maria L` is about 1.2 heights)."""
GLYPH_MIN_HIGH = 0.5
"""... as ink at least this share of the word's height high, at most GLYPH_MAX_WIDE wide, with as many ink pixels as
the word is high (a letter: no speck, no rule)."""
GLYPH_MAX_WIDE = 1.2
GLYPH_RULE_SHARE = 0.6
"""A row of pixels inked over this share of the looked-at width is a rule along the line, not a letter's."""
INK_CONTRAST = 40
"""A word's ink is at least this many grey levels darker than its paper, or no mark beside it is looked for."""
BELOW_GAP = 0.1
BELOW_REACH = 1.6
"""A dropped last line of a value is looked for between these many line heights under its line."""
BELOW_MIN_HIGH = 0.5
"""... as ink at least this share of the line's height high and wide (a character, not a speck)."""
BELOW_MIN_PIXELS = 30
LINE_PAD = 0.3
"""A line read alone is cut this share of its height past its ink on every side."""
PSM_LINE = 7
"""Tesseract's page segmentation mode for a single line of text."""
ROW_GAP_PX = 24
"""White space between the words stacked into one image, so tesseract keeps them apart as lines."""
SPECK_PX = 3
"""A run of ink columns with fewer ink pixels than this is scanner noise, not a glyph."""


class PageMarks:
    """Accent checks and word re-reads on the images of OCR'd pages, with the grey image kept per page."""

    def __init__(self, ocr: OcrEngine) -> None:
        self.ocr = ocr
        self._grey: dict[int, npt.NDArray[np.uint8]] = {}
        self._lines: dict[int, list[Word]] = {}
        """The words each flagged word was analysed with (by id): `explains` measures the line the same way."""
        self._dots: dict[int, tuple[float, float] | None] = {}
        self._only_dots: set[int] = set()
        """The flagged words (by id) whose marks are only dots the size of the page's (`worth_reading`)."""

    def flagged(self, page: Page, box: BBox) -> list[Word]:
        """Return the words inside `box` with marks their text does not explain, or an accent the model mixes up.

        The second kind: a letter the page's model cannot tell from its siblings (`eng`: é for è, ê, ë).
        """
        grey = self._grey_of(page)
        if grey is None:
            return []
        inside = [w for w in page.words if centre_in(w.bbox, box) and diacritics.is_candidate(w.text)]
        lines: dict[tuple[int, int], list[Word]] = {}
        for word in inside:
            lines.setdefault((word.block, word.line), []).append(word)
        out: list[Word] = []
        for words in lines.values():
            self._lines.update((id(w), words) for w in words)
            # the page's i-dot is measured (every line of the page) only when a word of this line is judged by it
            dot = self._dot_of(page, grey) if any(diacritics.needs_dot(w.text) for w in words) else None
            judged = diacritics.judge_marks(grey, [(w.text, _pixels(w.bbox, grey)) for w in words], dot, unsure=True)
            unsure = [diacritics.uncertain_accent(w.text, page.language) or _garbled(w) for w in words]
            out += [w for w, (flag, _), doubt in zip(words, judged, unsure, strict=True) if flag or doubt]
            self._only_dots.update(
                id(w) for w, (flag, dots), doubt in zip(words, judged, unsure, strict=True) if dots and not doubt
            )
        return out

    def worth_reading(self, page: Page, word: Word) -> bool:
        """Return False for a word `flagged` only for marks the size of the page's i-dots (diacritics.judge_marks).

        Such a word shows as many marks as its i and j have dots: no accented reading explains them better, and
        every model reads it as the page did (SROIE `Dimiliki`: six models, one reading). It stays flagged.
        """
        return id(word) not in self._only_dots

    def explains(self, page: Page, word: Word, text: str) -> float:
        """Return how well `text` in place of `word` fits the marks the image shows (diacritics.marks_fit)."""
        grey = self._grey_of(page)
        if grey is None:
            return 0.0
        key = (word.block, word.line)
        line = self._lines.get(id(word)) or [
            w for w in page.words if (w.block, w.line) == key and diacritics.is_candidate(w.text)
        ]
        if word not in line:
            line = [*line, word]
        boxed = [(text if w is word else w.text, _pixels(w.bbox, grey)) for w in line]
        dot = self._dot_of(page, grey) if diacritics.needs_dot(text) else None  # only `text` is judged here
        fit = diacritics.marks_fit(grey, boxed, dot)
        return fit[line.index(word)]

    def reread(
        self,
        page: Page,
        boxes: Sequence[BBox],
        *,
        lang: str,
        scales: Sequence[float] | None = None,
        binarise: bool = False,
    ) -> list[str] | None:
        """Read single words again with the model `lang` in one OCR call; one text per box ('' for none read).

        Each box is cut out with a margin, doubled when small (then enlarged by its entry in `scales`, if
        given), and the cuts are stacked one per row into one image read with psm 6, so all flagged words of a
        page cost one tesseract call per model. With `binarise`, each cut is made black and white at the middle
        of its paper and ink levels first (claimflow.readers.marks.binarised). None when the page's image was
        not kept or the reading failed.
        """
        image = page.image
        if not isinstance(image, Image.Image) or not boxes:
            return None
        pieces = [_cut(image, box) for box in boxes]
        if binarise:
            pieces = [binarised(piece) for piece in pieces]
        if scales is not None:
            pieces = [_enlarged(piece, scale) for piece, scale in zip(pieces, scales, strict=True)]
        canvas = Image.new(
            "L",
            (max(p.width for p in pieces) + 2 * ROW_GAP_PX, sum(p.height + ROW_GAP_PX for p in pieces) + ROW_GAP_PX),
            255,
        )
        rows: list[tuple[int, int]] = []
        at = ROW_GAP_PX
        for piece in pieces:
            canvas.paste(piece, (ROW_GAP_PX, at))
            rows.append((at, at + piece.height))
            at += piece.height + ROW_GAP_PX
        if "dpi" in image.info:
            canvas.info["dpi"] = image.info["dpi"]
        read = self.ocr.ocr_image(canvas, page=page.number, psm=6, lang=lang)
        if read.problems:
            return None
        found: list[list[Word]] = [[] for _ in boxes]
        for word in read.words:
            centre = (word.bbox[1] + word.bbox[3]) / 2 * canvas.height
            row = next((index for index, (top, bottom) in enumerate(rows) if top <= centre <= bottom), None)
            if row is not None:
                found[row].append(word)
        return [" ".join(w.text for w in sorted(row, key=lambda w: w.bbox[0])) for row in found]

    def ink_after(self, page: Page, word: Word) -> bool:
        """Return True when a small mark sits right after `word`, in the lower half of its line, and no word covers it.

        Tesseract's page reading drops a final full stop now and then (`lorry` for `lorry.`) at high confidence;
        the mark is still on the image. Ink reaching higher, wider or further than a punctuation mark (the
        next word, a table rule) does not count.
        """
        grey = self._grey_of(page)
        if grey is None:
            return False
        x0, y0, x1, y1 = _pixels(word.bbox, grey)
        height = y1 - y0
        cut = _ink_cut(grey, (x0, y0, x1, y1))
        if cut is None:
            return False
        right = min(grey.shape[1], x1 + int(TRAIL_REACH * height))
        if any(w is not word and w.bbox[0] * grey.shape[1] < right and w.bbox[2] * grey.shape[1] > x1
               and w.bbox[1] * grey.shape[0] < y1 and w.bbox[3] * grey.shape[0] > y0 for w in page.words):
            return False  # another word sits there: it is read
        window = grey[y0 : min(grey.shape[0], y1 + int(0.2 * height)), x1:right] < cut
        if window.size == 0 or not window.any():
            return False
        columns = np.nonzero(window.any(axis=0))[0]
        runs = np.split(columns, np.nonzero(np.diff(columns) > 2)[0] + 1)
        first = window[:, runs[0][0] : runs[0][-1] + 1]
        rows = np.nonzero(first.any(axis=1))[0]
        wide, high = runs[0][-1] - runs[0][0] + 1, rows[-1] - rows[0] + 1
        small = wide <= TRAIL_MAX * height and high <= TRAIL_MAX * height and int(first.sum()) >= TRAIL_MIN_PIXELS
        return bool(small and rows[0] >= 0.45 * height and len(runs) == 1)

    def glyph_after(self, page: Page, word: Word) -> BBox | None:
        """Return the box of a letter's ink after `word` on its line, within GLYPH_REACH of its height, unread.

        Tesseract's page reading drops a lone letter after a name now and then (`Thompson, Maria` for `Thompson,
        Maria L` at 0.93, calibrated 0.991); its ink is on the image, covered by no word. Ink as high as half the
        word and at most GLYPH_MAX_WIDE of its height wide counts; ink running on above and below the line (a
        box's rule) does not, nor do specks; rows inked along the line (an underline) are left out first.
        """
        grey = self._grey_of(page)
        if grey is None:
            return None
        x0, y0, x1, y1 = _pixels(word.bbox, grey)
        height = y1 - y0
        cut = _ink_cut(grey, (x0, y0, x1, y1))
        right = min(grey.shape[1], x1 + int(GLYPH_REACH * height))
        if cut is None or right <= x1 + 1:
            return None
        top, bottom = max(0, y0 - height // 2), min(grey.shape[0], y1 + height // 2)
        window = grey[top:bottom, x1 + 1 : right] < cut
        for other in page.words:  # ink a word covers was read
            if other is word:
                continue
            ox0, oy0, ox1, oy1 = _pixels(other.bbox, grey)
            window[max(0, oy0 - top) : max(0, oy1 - top), max(0, ox0 - x1 - 1) : max(0, ox1 - x1 - 1)] = False
        window[window.mean(axis=1) > GLYPH_RULE_SHARE] = False  # a rule along the line (the box's underline)
        band = window[y0 - top : y1 - top]
        columns = np.nonzero(band.sum(axis=0) >= 1)[0]
        if columns.size == 0:
            return None
        for run in np.split(columns, np.nonzero(np.diff(columns) > 2)[0] + 1):
            piece = window[:, run[0] : run[-1] + 1]
            rows = np.nonzero(piece.any(axis=1))[0]
            wide, high = run[-1] - run[0] + 1, rows[-1] - rows[0] + 1
            ruled = rows[0] == 0 and rows[-1] == piece.shape[0] - 1  # a rule crossing the line
            if (not ruled and wide <= GLYPH_MAX_WIDE * height and high >= GLYPH_MIN_HIGH * height
                    and int(piece.sum()) >= height):  # fmt: skip
                h, w = grey.shape
                left, right = float(x1 + 1 + run[0]) / w, float(x1 + 2 + run[-1]) / w
                return (left, float(top + rows[0]) / h, right, float(top + rows[-1] + 1) / h)
        return None

    def ink_below(self, page: Page, line: Sequence[Word]) -> BBox | None:
        """Return the box of a line of ink right under `line` (a value's last line) that no word covers, else None.

        Tesseract's page reading drops a short last line of wrapped text now and then (`案。` under a description
        ending `...派出所报`, the field then at 0.97). Looked for between BELOW_GAP and BELOW_REACH line heights
        under the line, from its left edge to its right: ink at least BELOW_MIN_HIGH of the line's height high
        and as wide, where no word of the page lies (a word there was read, and is some other field's).
        """
        grey = self._grey_of(page)
        if grey is None or not line:
            return None
        x0, y0 = min(w.bbox[0] for w in line), min(w.bbox[1] for w in line)
        x1, y1 = max(w.bbox[2] for w in line), max(w.bbox[3] for w in line)
        px0, py0, px1, py1 = _pixels((x0, y0, x1, y1), grey)
        height = py1 - py0
        cut = _ink_cut(grey, (px0, py0, px1, py1))
        if cut is None:
            return None
        top, bottom = py1 + int(BELOW_GAP * height), min(grey.shape[0], py1 + int(BELOW_REACH * height))
        band = (x0, top / grey.shape[0], x1, bottom / grey.shape[0])
        if bottom - top < height or any(_overlaps(w.bbox, band) for w in page.words):
            return None
        window = grey[top:bottom, px0:px1] < cut
        rows, columns = np.nonzero(window.any(axis=1))[0], np.nonzero(window.any(axis=0))[0]
        if rows.size == 0 or int(window.sum()) < BELOW_MIN_PIXELS:
            return None
        high, wide = rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1
        if high < BELOW_MIN_HIGH * height or wide < BELOW_MIN_HIGH * height or rows[0] == 0:
            return None  # a speck, a rule, or ink running on from above (the line's own descenders)
        h, w = grey.shape
        return ((px0 + columns[0]) / w, (top + rows[0]) / h, (px0 + columns[-1] + 1) / w, (top + rows[-1] + 1) / h)

    def read_line(self, page: Page, box: BBox, *, lang: str) -> str | None:
        """Return the text of one line of ink at `box`, read alone as a single line (psm 7), None when it cannot.

        A short line cut out (`案。`, two characters) reads badly as a block (psm 6: `<亲。`, `二亲。`) and right
        as one line; the cut keeps LINE_PAD of its height around it (more takes in the lines above and below).
        """
        image = page.image
        if not isinstance(image, Image.Image):
            return None
        width, height = image.size
        pad = LINE_PAD * (box[3] - box[1]) * height
        left, top = max(0, math.floor(box[0] * width - pad)), max(0, math.floor(box[1] * height - pad))
        right, bottom = min(width, math.ceil(box[2] * width + pad)), min(height, math.ceil(box[3] * height + pad))
        piece = image.crop((left, top, max(right, left + 1), max(bottom, top + 1))).convert("L")
        if "dpi" in image.info:
            piece.info["dpi"] = image.info["dpi"]
        read = self.ocr.ocr_image(piece, page=page.number, psm=PSM_LINE, lang=lang)
        if read.problems:
            return None
        return " ".join(w.text for w in read.words)

    def glyphs(self, page: Page, box: BBox) -> int | None:
        """Return how many glyphs the ink inside `box` (a word's box) makes, None when it cannot tell.

        Glyphs are counted as runs of ink columns (claimflow.readers.marks.count_glyphs); see there.
        """
        grey = self._grey_of(page)
        if grey is None:
            return None
        x0, y0, x1, y1 = _pixels(box, grey)
        return count_glyphs(grey[y0:y1, x0:x1])

    def runs(self, page: Page, box: BBox) -> tuple[list[tuple[int, int]], int] | None:
        """Return the glyph spans in `box` (glyph_runs) and the box's height in pixels; None when it cannot tell."""
        grey = self._grey_of(page)
        if grey is None:
            return None
        x0, y0, x1, y1 = _pixels(box, grey)
        runs = glyph_runs(grey[y0:y1, x0:x1])
        return None if runs is None else (runs, y1 - y0)

    def _dot_of(self, page: Page, grey: npt.NDArray[np.uint8]) -> tuple[float, float] | None:
        """Return the page's own i-dot (diacritics.page_dot over its lines), measured once per page."""
        if page.number not in self._dots:
            lines: dict[tuple[int, int], list[Word]] = {}
            for word in page.words:
                if diacritics.is_candidate(word.text):
                    lines.setdefault((word.block, word.line), []).append(word)
            boxed = [[(w.text, _pixels(w.bbox, grey)) for w in words] for words in lines.values()]
            self._dots[page.number] = diacritics.page_dot(grey, boxed)
        return self._dots[page.number]

    def _grey_of(self, page: Page) -> npt.NDArray[np.uint8] | None:
        if not isinstance(page.image, Image.Image):
            return None
        if page.number not in self._grey:
            self._grey[page.number] = np.asarray(page.image.convert("L"), dtype=np.uint8)
        return self._grey[page.number]


def count_glyphs(body: npt.NDArray[np.uint8]) -> int | None:
    """Return the number of glyphs in a word's grey image: runs of columns holding ink, white columns between.

    Printed Latin letters, digits and separators stand apart (a column of paper between them), so a word cut
    from the page shows one run per character; letters that touch (kerned `AV`, blurred small type) make
    fewer runs, never more. More runs than the text has characters means the reading lost some
    (`CLM-2026-91` read over the ink of `CLM-2026-917006`). Runs of fewer than SPECK_PX ink pixels are noise.
    None when the box holds no clear ink (paper and ink less than 40 grey levels apart).
    """
    runs = glyph_runs(body)
    return None if runs is None else len(runs)


def glyph_runs(body: npt.NDArray[np.uint8]) -> list[tuple[int, int]] | None:
    """Return the glyphs of a word's grey image as column spans [start, end), left to right (see count_glyphs)."""
    if body.size == 0:
        return None
    paper, ink_level = float(np.percentile(body, 95)), float(np.percentile(body, 3))
    if paper - ink_level < 40:
        return None
    ink = body < (paper + ink_level) / 2
    per_column = ink.sum(axis=0)
    inked = np.concatenate(([False], per_column > 0, [False]))
    starts = np.flatnonzero(~inked[:-1] & inked[1:])
    ends = np.flatnonzero(inked[:-1] & ~inked[1:])
    return [
        (int(start), int(end))
        for start, end in zip(starts, ends, strict=True)
        if int(per_column[start:end].sum()) >= SPECK_PX
    ]


def _garbled(word: Word) -> bool:
    """Return True for a doubtful word with a capital after lower-case letters (`IndustriestraRe`)."""
    inner = word.text.strip(".,;:'\"")
    return word.confidence < DOUBT and any(a.islower() and b.isupper() for a, b in zip(inner, inner[1:], strict=False))


def _cut(image: Image.Image, box: BBox) -> Image.Image:
    """Return the word at `box` cut out with a margin, in grey, doubled when its text is small."""
    width, height = image.size
    pad = WORD_PAD * (box[3] - box[1]) * height
    left, top = max(0, math.floor(box[0] * width - pad)), max(0, math.floor(box[1] * height - pad))
    right, bottom = min(width, math.ceil(box[2] * width + pad)), min(height, math.ceil(box[3] * height + pad))
    piece = image.crop((left, top, max(right, left + 1), max(bottom, top + 1))).convert("L")
    if (box[3] - box[1]) * height < WORD_MIN_PX:
        piece = piece.resize((piece.width * 2, piece.height * 2), Image.Resampling.BICUBIC)
    return piece


def binarised(piece: Image.Image) -> Image.Image:
    """Return a grey cut in black and white, split at the middle of its paper (95th percentile) and ink (2nd).

    What is lighter than halfway to the paper goes: the faint outline a dropped-out rubber stamp leaves
    around the letters of a value (`SK-380-DL`, whose `L` inside the stamp's `E` read `E`), light noise. A cut
    with no clear ink (paper and ink less than 40 grey levels apart) is returned as it was.
    """
    grey = np.asarray(piece.convert("L"), dtype=np.uint8)
    paper, ink_level = float(np.percentile(grey, 95)), float(np.percentile(grey, 2))
    if paper - ink_level < 40:
        return piece
    return Image.fromarray(np.where(grey < (paper + ink_level) / 2, 0, 255).astype(np.uint8))


def _enlarged(piece: Image.Image, scale: float) -> Image.Image:
    """Return `piece` enlarged `scale` times (unchanged at 1)."""
    if scale == 1:
        return piece
    return piece.resize((round(piece.width * scale), round(piece.height * scale)), Image.Resampling.LANCZOS)


def _overlaps(bbox: BBox, box: BBox) -> bool:
    """Return True when a word's box reaches into `box` (a third of its height or more, any of its width)."""
    high = min(bbox[3], box[3]) - max(bbox[1], box[1])
    return bbox[0] < box[2] and bbox[2] > box[0] and high >= (bbox[3] - bbox[1]) / 3


def _ink_cut(grey: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> float | None:
    """Return the grey level halfway between a word's paper and its ink (`box` in pixels): darker pixels are ink.

    None when the word is under 8 pixels high or its ink is not INK_CONTRAST levels darker than its paper: marks
    beside such a word are not looked for (ink_after, glyph_after, ink_below).
    """
    x0, y0, x1, y1 = box
    if y1 - y0 < 8:
        return None
    body = grey[y0:y1, x0:x1]
    paper, ink_level = float(np.percentile(body, 90)), float(np.percentile(body, 2))
    return (paper + ink_level) / 2 if paper - ink_level >= INK_CONTRAST else None


def _pixels(bbox: BBox, grey: npt.NDArray[np.uint8]) -> tuple[int, int, int, int]:
    """Return a page-fraction box in pixels (right and bottom inclusive), as the OCR reader measures words."""
    height, width = grey.shape
    return (int(bbox[0] * width), int(bbox[1] * height), int(bbox[2] * width) + 1, int(bbox[3] * height) + 1)
