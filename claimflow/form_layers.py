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
import threading
import weakref
from collections.abc import Callable
from functools import partial
from typing import Protocol

from PIL import Image

from claimflow.extract import extract_document
from claimflow.extract_layout import build_lines, find_anchors, union_box
from claimflow.extract_reread import ReadEach, choose_surer, merge_reading, put_found, read_in_turn
from claimflow.models import Extraction, Page, ReadDocument, ReadMethod, Word, centre_in
from claimflow.readers.dropout import clean_region, page_form_level, page_layers
from claimflow.readers.ocr import OcrEngine
from claimflow.specs import Spec, SpecSet

DATA_BLOCK = 3000
"""Block numbers given to the data layer's words, so they never join the form layer's OCR lines."""


class LayerReader(Protocol):
    """OCRs one layer image of a page (None when it cannot)."""

    def __call__(self, page: Page, image: Image.Image) -> list[Word] | None:
        """Return the words read on `image` (same size as the page's image), boxes in page fractions."""
        ...


def read_layers_apart(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, reader: LayerReader, each: ReadEach = read_in_turn
) -> int:
    """Read drop-out form pages as form and data layers and extract again, in place; return pages read so.

    Only a file holding one document of a type whose spec has `ocr.dropout` is read this way. A page keeps
    its first reading when its form does not drop out or a layer cannot be read. A page's two layers are read
    independently of each other, through `each`.
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
        data, form = each(partial(reader, page), [layers[0], layers[1]])
        if data is None or form is None:
            pages.append(page)
            continue
        kept = form_layer_words(page, form, data, spec)
        words = kept + [dataclasses.replace(w, block=DATA_BLOCK + w.block) for w in data]
        pages.append(dataclasses.replace(page, words=words, problems=list(page.problems)))
        changed += 1
    if not changed:
        return 0
    read.pages[:] = pages
    again = extract_document(read, specs, part.document_type)
    again.type_confidence = part.type_confidence
    merge_first_reading(part, again)
    parts[0] = again
    return changed


def merge_first_reading(first: Extraction, again: Extraction) -> None:
    """Merge the first reading into the layered reading `again` field by field, in place.

    A field the layered reading did not read at all is kept, unconfirmed: the drop-out by level keeps the data ink
    darker than the form's; on a faded scan whose toner is hardly darker than the form, it cuts the data's strokes
    to dots (seed 23 pre-printed `003` degraded: `THOMPSON, KEVIN`, read at 0.95 on the page, is dotted to
    nothing): what the page's first reading found is not lost with them. Such a value keeps UNCONFIRMED_FACTOR of
    its confidence, flagged, as when a box's closer reading reads nothing.
    A field both read, differently, keeps the layered value unless the first reading's is the surer one
    (`choose_surer`): then the first value is kept, at DISAGREE_FACTOR of its confidence and flagged, as any two
    readings that disagree. The drop-out by level also thins the data's strokes on a degraded scan, so a middle
    initial or a digit the page read whole can come out of the layered reading as specks left out (seed 19
    acroform `002` degraded: `PATEL, PATRICIA E` at 0.92 on the page, `PATEL, PATRICIA` at 0.75 in layers).
    A value both read alike stays as the layered reading has it.
    """
    for name, old in first.fields.items():
        if old.provenance.method is not ReadMethod.OCR:
            continue
        problems = [p for p in first.problems if p.field == name]
        layered = again.fields.get(name)
        if layered is None:
            put_found(again, old, problems)
            merge_reading(again, name, None, read=True)
            continue
        chosen, agreed = choose_surer(layered, old)
        if not agreed and chosen is old:
            merge_reading(
                again,
                name,
                old,
                problems,
                disagreement="the page read as form and data layers reads it otherwise; check it",
            )


FIRST_CAPTIONS = 2
"""The first reading's captions stand for the form layer's when it finds at least this many times as many boxes'
captions (and at least that many): a degraded colour scan's grey form, cut out of the page by its level, kept
its captions as dotted strokes, read `APE RODE y ali ian` (seed 16 pre-printed 002: no caption, no field), while the
first reading of the whole page read them whole."""


def form_layer_words(page: Page, form: list[Word], data: list[Word], spec: Spec) -> list[Word]:
    """Return the words that stand for the page's form: the form layer's, or the first reading's off the values.

    The first reading's (`first_form_words`) stand for it when they find FIRST_CAPTIONS times as many of the spec's
    captions as the form layer's own (`form_words`).
    """
    kept = form_words(form, data)
    first = first_form_words(page.words, data)
    if captions_found(page, first, spec) >= FIRST_CAPTIONS * max(1, captions_found(page, kept, spec)):
        return first  # the form layer read worse than the first reading did (a grey form cut into dots)
    return kept


def captions_found(page: Page, words: list[Word], spec: Spec) -> int:
    """Return how many of the spec's fields find one of their captions among `words` (laid out as on `page`)."""
    lines = build_lines(dataclasses.replace(page, words=words, problems=[]))
    return sum(
        1
        for field_spec in spec.fields.values()
        if any(find_anchors(lines, anchor, field_spec.fuzzy) for anchor in field_spec.anchors)
    )


def first_form_words(first: list[Word], data: list[Word]) -> list[Word]:
    """Return the first reading's words that do not lie on a value of the data layer (its captions, its rules)."""
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in data:
        lines.setdefault((word.block, word.line), []).append(word)
    values = [union_box(words) for words in lines.values()]
    return [w for w in first if not any(centre_in(w.bbox, box) for box in values)]


FLAT_WORD = 0.35
"""A form-layer word less high than this share of the layer's median word is a rule read as letters (`eee`)."""
GHOST_CHARS = 3
"""... and such a word has at most this many letters or digits, or only lower-case letters (`_ghost_like`)."""
GHOST_CONFIDENCE = 0.6
"""A form-layer word read below this confidence whose centre lies on a value is the value's ghost: the form's ink
left around the value's strokes once they are taken out, read as `ee` or `=` inside `MILLER, ee PATRICIA`."""


def form_words(form: list[Word], data: list[Word]) -> list[Word]:
    """Return the form layer's words that are the form's: not rules read as characters, not ghosts of values.

    A value's line is the box of the data layer's words OCR read on one line (the gaps between them count).

    Such words sat inside a value's line and broke its pattern (`NGUYEN, oe BRIAN`: the box's name lost).
    """
    heights = sorted(w.bbox[3] - w.bbox[1] for w in form)
    flat = FLAT_WORD * heights[len(heights) // 2] if heights else 0.0
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in data:
        lines.setdefault((word.block, word.line), []).append(word)
    values = [union_box(words) for words in lines.values()]  # a value's line, the gaps between its words too

    def on_value(word: Word) -> bool:
        x, y = (word.bbox[0] + word.bbox[2]) / 2, (word.bbox[1] + word.bbox[3]) / 2
        return any(box[0] <= x <= box[2] and box[1] <= y <= box[3] for box in values)

    return [
        w
        for w in form
        if not _rule_glyphs(w.text)
        and w.bbox[3] - w.bbox[1] >= flat
        and not (w.confidence < GHOST_CONFIDENCE and _ghost_like(w.text) and on_value(w))
    ]


def _ghost_like(text: str) -> bool:
    """Return True for what OCR makes of a value's ghost: a few characters, or lower-case letters (`ee`, `pee`).

    A caption the value was printed over is read poorly too, but as its capitals (`PHONE` under a provider's
    name must stay: without it, the `&` before it was read as part of the name).
    """
    return sum(ch.isalnum() for ch in text) <= GHOST_CHARS or text.islower()


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


def region_cleaner(
    page: Page, *, keep_strokes: bool = False, ticks: bool = False
) -> Callable[[Image.Image], Image.Image]:
    """Return how a region crop of a drop-out form's `page` is cleaned before it is read again.

    The form's ink is dropped by its level only on a page read as layers (`read_layers_apart` found its form
    lighter than the data); on other pages (a form printed in black, a faded scan) only rules are removed.
    On a page read as layers, a box's crop is dropped by the level measured on the whole page, not on the
    crop's own few rules (`clean_region(level=...)`): a value typed across a rule made the crop's rules look
    of two inks, and its strokes were cut with the rule (a clean pre-printed scan's insured id, total, paid
    and tax id: "could not read it again", then read whole). Table rows (`keep_strokes`) keep their cleaning.
    `keep_strokes`: typed strokes over a light rule or shaded bar stay (`dropout.without_rules`; table rows).
    `ticks`: a removed rule's end ticks go too (`dropout.rule_ticks`: slot brackets; `read_letters_again`).
    """
    layers = read_as_layers(page)
    level = _page_level(page) if layers and not keep_strokes else None
    return partial(clean_region, by_level=layers, keep_strokes=keep_strokes, level=level, ticks=ticks)


_LEVELS: dict[int, tuple[weakref.ref[Image.Image], float | None]] = {}
"""The form ink level of the page images measured last (by id; the weak reference tells a reused id)."""
LEVELS_KEPT = 4


_LEVELS_LOCK = threading.Lock()
"""Held while a level is looked up or measured: the reading threads (two documents, or one document's boxes read
on a borrowed core, `SharedOcr.map`) measure each page once, and never evict the same entry twice."""


def _page_level(page: Page) -> float | None:
    """Return the form ink level of a page's image (`dropout.page_form_level`), measured once per image."""
    image = page.image
    if not isinstance(image, Image.Image):
        return None
    with _LEVELS_LOCK:
        kept = _LEVELS.get(id(image))
        if kept is not None and kept[0]() is image:
            return kept[1]
        level = page_form_level(image)
        if len(_LEVELS) >= LEVELS_KEPT:
            _LEVELS.pop(next(iter(_LEVELS)))
        _LEVELS[id(image)] = (weakref.ref(image), level)
        return level
