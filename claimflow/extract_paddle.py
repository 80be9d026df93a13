"""Weak Chinese text values read again by a second recognizer (PP-OCR's Chinese model, readers/paddle_rec.py).

Debian's chi_sim and HanS misread rare characters of names, addresses and free text (春熙路 read 春申路, 王霞 read
何吉) and reading the crop again with tesseract at other sizes and modes does not recover them (bench/README.md,
forms8). A text field of a spec that reads with chi_sim, whose value holds Han characters and is below auto-accept,
has its lines cut out and read by the second recognizer; each line's crop is widened to the next word on its
row (WIDEN line heights at most), so a character tesseract dropped at the value's edge is seen.

- **Both read the same** (every character of the second reading at SURE_CHAR or more) and the rest of the
  field's score (anchor, pattern, factors: its raw score over its words' OCR part) is at least MIN_REST: the
  words' OCR part of the score is replaced by the second reading's, at most AGREE_CAP raw. The value may then be
  confident: two recognizers of different kinds read it alike.
- **They differ**: the field is capped at DISAGREE_CAP raw (below auto-accept under the shipped curves: the
  second recognizer alone never makes a field confident that tesseract read otherwise). The value becomes the
  second reading when all its characters are read at SURE_CHAR or more and it fits the field's pattern and
  allowed values; otherwise tesseract's value stays.

AGREE_CAP and DISAGREE_CAP are the evidence the calibration refit sees: agreed fields gather at or under
AGREE_CAP, differing ones at DISAGREE_CAP. A missing model is a problem on the document (OCR_FAILED, plain
words, no traceback) and the values stay as tesseract read them.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import time
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract_reread import calibrated
from claimflow.extract_votes import lines_in
from claimflow.models import Extraction, Page, Problem, ReadDocument, ReadMethod, Word
from claimflow.readers.paddle_rec import Reading, RecognizerMissing
from claimflow.specs import SpecSet

LANGUAGE = "chi_sim"
"""Specs reading with this model have their weak Han text fields read by the second recognizer."""
SURE_CHAR = 0.9
"""A character of the second reading read at this confidence or more counts as sure."""
AGREE_CAP = 0.9
"""The highest raw score a value the two recognizers read alike is lifted to."""
MIN_REST = 0.9
"""The rest of a field's raw score (over its words' OCR part) needed for a lift: a weak anchor or a doubted value
stays as weak as it was whatever the recognizers say."""
DISAGREE_CAP = 0.6
"""The raw score of a value the two recognizers read differently (0.95 calibrated for 理赔申请书 scans, cbf19d5)."""
WIDEN = 1.5
"""A value's crop reaches this many line heights before its first and after its last word, short of the next word
on its row (a character tesseract dropped at the value's ends is seen)."""
INNER = 0.3
"""... and this many at the other ends of its lines (one character more would be read twice: at a line's end and
the next line's start)."""
PAD = 0.15
"""Ink above and below a line's words kept in its crop, as a share of the line's height."""
INK = 128
"""A grey level under this is ink: a crop is cut down to its ink before it is read (`inked`)."""
INK_MARGIN = 2
"""White pixels kept around the ink (the recognizer adds its own margin)."""
MAX_CHANGED = 0.2
"""The share of a value's characters a vote may have changed for it to be found in its words' text."""
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WIDE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")

Recognize = Callable[[Image.Image], Reading]
"""Reads one line crop (readers/paddle_rec.PaddleRecognizer.read)."""


def weak_chinese(part: Extraction, specs: SpecSet, pages: dict[int, Page], threshold: float) -> list[str]:
    """Return the text fields of `part` with Han characters, below auto-accept, on an OCR'd page of a chi_sim spec."""
    spec = specs.specs.get(part.document_type)
    if spec is None or LANGUAGE not in spec.ocr.languages:
        return []
    out = []
    for name, field_spec in spec.fields.items():
        found = part.fields.get(name)
        if field_spec.type != "text" or found is None or not isinstance(found.value, str):
            continue
        if found.provenance.page not in pages or found.provenance.bbox is None or not _HAN.search(found.value):
            continue
        if calibrated(part, found, specs) < threshold:
            out.append(name)
    return out


def read_chinese_again(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    recognize: Callable[[], Recognize],
    *,
    threshold: float,
    only: Sequence[str] = (),
    counted: Callable[[float, float], None] | None = None,
) -> int:
    """Read the weak Chinese text values again with the second recognizer; return the crops read.

    `recognize` returns the recognizer (loaded on first use; RecognizerMissing when it cannot be). `only`, when
    given, limits the fields read; `counted(wall, cpu)` is told each crop's reading time.
    """
    pages = {p.number: p for p in read.pages if p.method is ReadMethod.OCR and isinstance(p.image, Image.Image)}
    crops = 0
    for part in parts:
        for name in weak_chinese(part, specs, pages, threshold):
            if only and name not in only:
                continue
            found = part.fields[name]
            page = pages[found.provenance.page or 0]
            lines = lines_in(page, found.provenance.bbox)
            if not lines:
                continue
            try:
                reader = recognize()
            except RecognizerMissing as err:
                part.problems.append(
                    Problem(ReasonCode.OCR_FAILED, f"second Chinese recognizer unavailable: {err}", field=name)
                )
                return crops
            readings = []
            for index, line in enumerate(lines):
                started, cpu = time.perf_counter(), time.thread_time()
                left = WIDEN if index == 0 else INNER
                right = WIDEN if index == len(lines) - 1 else INNER
                readings.append(reader(crop_line(page, line, left, right)))
                if counted is not None:
                    counted(time.perf_counter() - started, time.thread_time() - cpu)
                crops += 1
            _judge(part, name, lines, readings, specs)
    return crops


def _judge(part: Extraction, name: str, lines: list[list[Word]], readings: list[Reading], specs: SpecSet) -> None:
    """Lift, cap or correct the field from the second reading of its lines."""
    found = part.fields[name]
    spec = specs.specs[part.document_type].fields[name]
    assert isinstance(found.value, str)
    first = "".join("".join(w.text.split()) for line in lines for w in line)
    second, sure = "", []
    for reading in readings:
        for char, confidence in zip(reading.text, reading.confidences, strict=True):
            if not char.isspace():
                second += char
                sure.append(confidence >= SURE_CHAR)
    merged = _merge("".join(found.value.split()), first, second, sure)
    if merged is None or not second:
        return
    other, differ, all_sure = merged
    if not differ:
        if not all_sure:
            return
        words = [w.confidence for line in lines for w in line] or [1.0]
        ocr = 0.5 * min(words) + 0.5 * sum(words) / len(words)
        rest = found.confidence / ocr if ocr > 0 else 0.0
        mine = [r.confidences[i] for r in readings for i, ch in enumerate(r.text) if not ch.isspace()]
        lifted = min(AGREE_CAP, rest * (0.5 * min(mine) + 0.5 * sum(mine) / len(mine)))
        if rest >= MIN_REST and lifted > found.confidence:
            part.fields[name] = dataclasses.replace(found, confidence=round(lifted, 4))
        return
    capped = dataclasses.replace(found, confidence=min(found.confidence, DISAGREE_CAP))
    fits = (spec.pattern is None or re.fullmatch(spec.pattern, other) is not None) and (
        not spec.allowed or other in spec.allowed
    )
    if fits and other != "".join(found.value.split()):
        text = re.sub(rf"(?<={_WIDE.pattern})\s+|\s+(?={_WIDE.pattern})", "", other)
        capped = dataclasses.replace(capped, value=text, raw=text)
    part.fields[name] = capped


def _merge(value: str, first: str, second: str, sure: Sequence[bool]) -> tuple[str, bool, bool] | None:
    """Return the value with the second reading's sure characters where the two differ, and two flags.

    The flags: whether the readings differ, whether every character the second reading gives for the value is
    sure; None when the value is not in its words' text. `first` is the value's words' text, `second` the second
    reading of their (widened) lines and `sure[j]` whether its character j was read sure. A value as long as its
    words' text is all of it; otherwise it is found in it (`_place`). Where the readings
    differ inside the value (or the second reading has more after its end: a character tesseract dropped), the
    second reading's characters are taken when all of them are sure, else the first reading's stay; what the
    second reading has before the value is its label.
    """
    start = _place(value, first)
    if start is None:
        return None
    end = start + len(value)
    ref = first[:start] + value + first[end:]
    out: list[str] = []
    differ, all_sure = False, True
    matcher = difflib.SequenceMatcher(None, ref, second, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        low, high = max(i1, start), min(i2, end)
        if tag == "equal":
            if low < high:
                out.append(ref[low:high])
                all_sure = all_sure and all(sure[j1 + low - i1 : j1 + high - i1])
            continue
        inside = low < high or (i1 == i2 and start < i1 < end) or (i1 == i2 == end == len(ref))
        if not inside:
            continue
        whole = i1 >= start and i2 <= end
        taken = whole and all(sure[j1:j2]) and (j2 > j1 or all(sure[max(0, j1 - 1) : j1 + 1]))
        if i1 == i2 and not taken:
            continue  # more read by the second recognizer only, unsure: no evidence either way
        differ = True
        all_sure = all_sure and taken
        out.append(second[j1:j2] if taken else ref[low:high])
    return "".join(out), differ, all_sure


def _place(value: str, first: str) -> int | None:
    """Return where `value` stands in its words' text `first`, None when it is not there.

    A vote changes characters, never their number: the value may differ from its words' text in a few characters
    (MAX_CHANGED of them), and stands where it differs least.
    """
    if len(value) > len(first) or not value:
        return None
    best: tuple[int, int] | None = None
    for start in range(len(first) - len(value) + 1):
        changed = sum(a != b for a, b in zip(value, first[start : start + len(value)], strict=True))
        if best is None or changed < best[0]:
            best = (changed, start)
    return best[1] if best is not None and best[0] <= max(1, round(MAX_CHANGED * len(value))) else None


def crop_line(
    page: Page, line: Sequence[Word], left_reach: float, right_reach: float, *, over: float = 0.0
) -> Image.Image:
    """Return the line's words cut out of the page image (grey), widened left and right by so many line heights.

    The widening stops short of the next word on the row, unless that word was read below `over` (read_figures:
    `¥4` read `汐` at 0.0 beside `5,291.02` is the value's own ink misread).
    """
    image = page.image
    assert isinstance(image, Image.Image)
    width, height = image.size
    x0, y0 = min(w.bbox[0] for w in line), min(w.bbox[1] for w in line)
    x1, y1 = max(w.bbox[2] for w in line), max(w.bbox[3] for w in line)
    high = (y1 - y0) * height
    left, right = x0 - left_reach * high / width, x1 + right_reach * high / width
    ids = {id(w) for w in line}
    for word in page.words:
        if id(word) in ids or min(word.bbox[3], y1) - max(word.bbox[1], y0) < (y1 - y0) / 3:
            continue  # the line's own words, or not on its row
        if word.confidence < over:
            continue
        if word.bbox[0] >= x1:
            right = min(right, word.bbox[0])
        elif word.bbox[2] <= x0:
            left = max(left, word.bbox[2])
    pad = PAD * high
    box = (
        max(0, math.floor(left * width)),
        max(0, math.floor(y0 * height - pad)),
        min(width, math.ceil(right * width)),
        min(height, math.ceil(y1 * height + pad)),
    )
    return inked(image.crop((box[0], box[1], max(box[2], box[0] + 1), max(box[3], box[1] + 1))).convert("L"))


def inked(crop: Image.Image) -> Image.Image:
    """Return the crop cut down to its ink (and INK_MARGIN px): the model reads text that fills its height.

    A crop cut by word boxes (a word read at 0.0 has a box taller than its line) or a row right of a label (as
    high as the label with room above and below, as wide as the row may reach) holds its text in a third of its
    height; scaled to the model's 48 px it was read with characters made up or dropped (`廣王霞頭` for 王霞 on a
    clean scan, `1332853695` for 13392853695 on a clean rendering).
    """
    pixels = np.asarray(crop) < INK
    rows, columns = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    if not rows.size:
        return crop
    box = (
        max(0, int(columns[0]) - INK_MARGIN),
        max(0, int(rows[0]) - INK_MARGIN),
        min(crop.width, int(columns[-1]) + 1 + INK_MARGIN),
        min(crop.height, int(rows[-1]) + 1 + INK_MARGIN),
    )
    return crop.crop(box)
