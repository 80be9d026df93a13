"""Read a drop-out form's two ink layers apart: the form's captions and the typed data, each OCR'd alone.

A CMS-1500 is printed in red drop-out ink so that its captions and rules can be told from the values typed
on it. Software that prints on pre-printed forms places its values on its own character grid, and the
printer feeds the sheet a few millimetres off, so values overlap captions and rules; one OCR pass over the
page then glues them (`FECA "XGH78760085 3`, `28. TOTAL 29.`), loses captions (no anchor, no field) and reads
rules as characters. When the spec says `ocr: {dropout: true}` and a page's form ink is clearly lighter
than its data (`claimflow.readers.dropout.page_layers`), the page is read again as two images, the form
alone and the data alone, and the words of both replace the first reading: captions anchor the regions,
values are read without the form's ink. Pages whose form does not drop out (printed in black, faded grey
scans) keep their first reading (their regions are still read again cleaned, see `reread_region`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Protocol

from PIL import Image

from claimflow.extract import extract_document
from claimflow.models import Extraction, Page, ReadDocument, ReadMethod, Word
from claimflow.readers.dropout import clean_region, page_layers
from claimflow.readers.ocr import OcrEngine
from claimflow.specs import SpecSet

DATA_BLOCK = 3000
"""Block numbers given to the data layer's words, so they never join the form layer's OCR lines."""


class LayerReader(Protocol):
    """OCRs one layer image of a page (None when it cannot)."""

    def __call__(self, page: Page, image: Image.Image) -> list[Word] | None:
        """Return the words read on `image` (same size as the page's image), boxes in page fractions."""
        ...


def read_layers_apart(read: ReadDocument, parts: list[Extraction], specs: SpecSet, reader: LayerReader) -> int:
    """Read drop-out form pages as form and data layers and extract again, in place; return pages read so.

    Only a file holding one document of a type whose spec has `ocr.dropout` is read this way. A page keeps
    its first reading when its form does not drop out or a layer cannot be read.
    """
    if len(parts) != 1:
        return 0
    part = parts[0]
    spec = specs.specs.get(part.document_type)
    if spec is None or not spec.ocr.dropout:
        return 0
    pages: list[Page] = []
    changed = 0
    for page in read.pages:
        image = page.image
        layers = page_layers(image) if page.method is ReadMethod.OCR and isinstance(image, Image.Image) else None
        if layers is None:
            pages.append(page)
            continue
        data = reader(page, layers[0])
        form = reader(page, layers[1])
        if data is None or form is None:
            pages.append(page)
            continue
        kept = [w for w in form if not _rule_glyphs(w.text)]
        words = kept + [dataclasses.replace(w, block=DATA_BLOCK + w.block) for w in data]
        pages.append(dataclasses.replace(page, words=words, problems=list(page.problems)))
        changed += 1
    if not changed:
        return 0
    read.pages[:] = pages
    again = extract_document(read, specs, part.document_type)
    again.type_confidence = part.type_confidence
    parts[0] = again
    return changed


RULE_GLYPHS = frozenset("|!lIiHhLJ[]{}()_-\u2014\u2013.,:;'\"`~")
"""Characters OCR reads dashed or short box rules as (`Hl`, `L`, `|`, `i`)."""


def _rule_glyphs(text: str) -> bool:
    """Return True for a form-layer word made only of what OCR reads rules as (never a caption or a marker)."""
    return bool(text) and all(ch in RULE_GLYPHS for ch in text)


LAYER_PSM = 11
"""Sparse text: a layer is scattered captions or scattered values, not blocks of prose."""


def ocr_layer(ocr: OcrEngine, page: Page, image: Image.Image) -> list[Word] | None:
    """Return the words of one layer image of `page` (None when the OCR reported a problem with it)."""
    read = ocr.ocr_image(image, page=page.number, psm=LAYER_PSM, lang=page.language)
    return None if read.problems else read.words


def read_as_layers(page: Page) -> bool:
    """Return True when `page` was read as two layers (its form drops out): it holds data-layer words."""
    return any(word.block >= DATA_BLOCK for word in page.words)


def region_cleaner(page: Page, *, keep_strokes: bool = False) -> Callable[[Image.Image], Image.Image]:
    """Return how a region crop of a drop-out form's `page` is cleaned before it is read again.

    The form's ink is dropped by its level only on a page read as layers (`read_layers_apart` found its form
    lighter than the data); on other pages (a form printed in black, a faded scan) only rules are removed.
    `keep_strokes`: typed strokes over a light rule or shaded bar stay (`dropout.without_rules`; table rows).
    """
    return partial(clean_region, by_level=read_as_layers(page), keep_strokes=keep_strokes)
