"""The image side of reading lost accents again (claimflow/extract_accents.py decides what to take).

Which words of a value lost an accent, whether a new text explains the marks on the image, and reading
single words again with another tesseract model. Kept under readers/ because it needs the page image (PIL,
numpy); the extraction stage sees only words and texts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

from claimflow.models import BBox, Page, Word
from claimflow.readers import diacritics
from claimflow.readers.ocr import OcrEngine

WORD_PAD = 0.35
"""A word read again is cut this share of its height past its box on every side (its accents sit above it)."""
WORD_MIN_PX = 28
"""Words lower than this many pixels are read again doubled (a 150-dpi scan's 10-point name)."""
DOUBT = 0.7
"""Below this OCR confidence, a word with a capital inside lower case (`IndustriestraRe`) is taken to have lost
a letter the model does not know (ß read as B or R) and is read again too."""
ROW_GAP_PX = 24
"""White space between the words stacked into one image, so tesseract keeps them apart as lines."""


class PageAccents:
    """Accent checks and word re-reads on the images of OCR'd pages, with the grey image kept per page."""

    def __init__(self, ocr: OcrEngine) -> None:
        self.ocr = ocr
        self._grey: dict[int, npt.NDArray[np.uint8]] = {}
        self._lines: dict[int, list[Word]] = {}
        """The words each flagged word was analysed with (by id): `explains` measures the line the same way."""

    def flagged(self, page: Page, box: BBox) -> list[Word]:
        """Return the words inside `box` with marks their text does not explain, or an accent the model mixes up.

        The second kind: a letter the page's model cannot tell from its siblings (`eng`: é for è, ê, ë).
        """
        grey = self._grey_of(page)
        if grey is None:
            return []
        inside = [w for w in page.words if _centre_in(w.bbox, box) and diacritics.is_candidate(w.text)]
        lines: dict[tuple[int, int], list[Word]] = {}
        for word in inside:
            lines.setdefault((word.block, word.line), []).append(word)
        out: list[Word] = []
        for words in lines.values():
            self._lines.update((id(w), words) for w in words)
            lost = diacritics.lost_marks(grey, [(w.text, _pixels(w.bbox, grey)) for w in words])
            unsure = [diacritics.uncertain_accent(w.text, page.language) or _garbled(w) for w in words]
            out += [w for w, flag, doubt in zip(words, lost, unsure, strict=True) if flag or doubt]
        return out

    def explains(self, page: Page, word: Word, text: str) -> bool:
        """Return True when `text` in place of `word` has exactly the marks the image shows on it."""
        grey = self._grey_of(page)
        if grey is None:
            return False
        key = (word.block, word.line)
        line = self._lines.get(id(word)) or [
            w for w in page.words if (w.block, w.line) == key and diacritics.is_candidate(w.text)
        ]
        if word not in line:
            line = [*line, word]
        agree = diacritics.marks_agree(grey, [(text if w is word else w.text, _pixels(w.bbox, grey)) for w in line])
        return agree[line.index(word)]

    def reread(self, page: Page, boxes: Sequence[BBox], *, lang: str) -> list[str] | None:
        """Read single words again with the model `lang` in one OCR call; one text per box ('' for none read).

        Each box is cut out with a margin, doubled when small, and the cuts are stacked one per row into one
        image read with psm 6, so all flagged words of a page cost one tesseract call per model. None when the
        page's image was not kept or the reading failed.
        """
        image = page.image
        if not isinstance(image, Image.Image) or not boxes:
            return None
        pieces = [_cut(image, box) for box in boxes]
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

    def _grey_of(self, page: Page) -> npt.NDArray[np.uint8] | None:
        if not isinstance(page.image, Image.Image):
            return None
        if page.number not in self._grey:
            self._grey[page.number] = np.asarray(page.image.convert("L"), dtype=np.uint8)
        return self._grey[page.number]


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


def _centre_in(bbox: BBox, box: BBox) -> bool:
    x, y = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _pixels(bbox: BBox, grey: npt.NDArray[np.uint8]) -> tuple[int, int, int, int]:
    """Return a page-fraction box in pixels (right and bottom inclusive), as the OCR reader measures words."""
    height, width = grey.shape
    return (int(bbox[0] * width), int(bbox[1] * height), int(bbox[2] * width) + 1, int(bbox[3] * height) + 1)
