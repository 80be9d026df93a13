"""Drop-out of a printed form: keep the typed data, remove the form's box rules and its lighter ink.

Forms such as the CMS-1500 are printed in red "drop-out" ink so that a reader can remove the form and read
only what was typed on it. Scanned in grey, red ink prints lighter than black toner (the generated
pre-printed forms: form ~125, toner ~0-60); scanned in colour it is red. This module separates the two
layers of a page image with numpy only:

- `rule_mask`: pixels of long thin horizontal and vertical lines (box rules), found as runs of ink at least
  `min_run` pixels long (a morphological opening with a line element, done with cumulative sums).
- `form_ink_level`: the grey level of the form's ink, measured on its rules (the data never draws long
  lines); None when the page has no rules.
- `data_layer`: the image with only the ink clearly darker than the form's (None when the form is printed
  as dark as the data: a black form cannot be dropped by its colour).
- `clean_region`: what a region's second reading is given: the data layer when the form drops out, else the
  image with its box rules removed (the fallback for forms printed in black and for faded grey scans).

Nothing here reads text; the OCR of the cleaned image is the caller's.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

INK = 200
"""A pixel darker than this is ink (paper is near 255 even on noisy scans)."""
RULE_MIN_INCH = 0.2
"""A box rule is a run of ink at least this long (inches): longer than any typed character (12 pt = 0.17 in),
shorter than a CMS-1500 box (1/3 in high). Tilted rules break into shorter runs, so pages are deskewed first."""
DASH_GAP_INCH = 0.02
"""A dashed rule's gaps are at most this long (inches); lines of text stacked in a box are further apart."""
DASH_MIN_INCH = 0.1
"""A dashed rule (bridged) is at least this long: the CMS-1500's separators span most of a box's height."""
DASH_COVERAGE = 0.9
"""... and its ink covers at most this share of it (a typed character's stroke is solid; scanned at 120 dpi,
the CMS-1500's 0.055 in dashes keep gaps of only ~0.012 in: 0.85 missed them)."""
DASH_MIN_COUNT = 3
"""... and it is made of at least this many dashes (solid box rules taken out first): a caption's stroke bridged
to the stem of a digit typed under it (`YY` over `2000`, 0.02 in apart) is two pieces, and removing them as a
rule erased the digits."""
DASH_PIECE_INCH = (0.012, 0.08)
"""A dash is this long (inches): the CMS-1500's are 0.02-0.055 in; a column crossing a glyph's horizontal
strokes gives pieces as short as the stroke is thick (~0.01 in)."""
DASH_SIDE_INCH = 0.015
"""A dash is a thin vertical piece: no ink this far (inches) left or right of it, unlike a glyph's horizontal stroke."""
DASH_MIN_NARROW = 2
"""... and at least this many of a rule's dashes (and more than half) are so (a digit glued to the rule widens one)."""
DEFAULT_DPI = 400.0
"""The resolution assumed when an image does not say (region crops are enlarged to about this)."""
RULE_THICKEN = 1
"""Rule pixels are widened by this many pixels on each side (their anti-aliased edges)."""
DROPOUT_MIN_LEVEL = 90
"""The form's ink must be at least this light (grey 0-255) to be dropped by level: red ink scanned in grey."""
DROPOUT_GAP = 60
"""Data ink has pixels at least this much darker than the form's ink level (toner ~0-60, red form ~125-155)."""
DROPOUT_REACH = 2
"""Ink within this many pixels of such a dark pixel is data too (its strokes' lighter edges)."""
DROPOUT_WEAK_GAP = 15
"""Pixels this much darker than the form's ink level may be data: a faded or noisy scan's toner strokes
(~70-110 over a form at ~125-140, seed 12's degraded pre-printed forms) are darker by less than DROPOUT_GAP."""
DROPOUT_DENSE = 5
"""Such a pixel with at least this many of its 8 neighbours so is a stroke (a 2-pixel hyphen qualifies; a
speck of scanner noise on a rule does not)."""
DROPOUT_DARK_SHARE = 0.85
"""A page whose stroke pixels are this much clearly dark is read as before, by its dark pixels alone (clean scans:
0.92-0.93; degraded pre-printed ones 0.4-0.83)."""
DROPOUT_FOLLOW = 6
"""Strokes are followed this many pixels along pixels darker than the form by DROPOUT_WEAK_GAP: the lighter
parts of a faded glyph (the bowl of a `3` cut to dots before)."""
DROPOUT_MIN_SEED_PIXELS = 20
"""Fewer clearly dark pixels than this: nothing typed in the region, or data as light as the form."""
DROPOUT_MIN_DATA_SHARE = 0.02
"""... or fewer than this share of all ink: a few dark specks of noise on a faded form are not data."""
DROPOUT_MIN_RULE_PIXELS = 200
"""Fewer rule pixels than this do not tell the form's ink level."""
RED_CHROMA = 60
"""In colour images, a pixel whose red exceeds its green and blue by this much is red form ink."""


def _runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Return the pixels of `mask` that lie in a run of at least `length` set pixels along `axis`.

    An opening by a line of `length` pixels: the mask is eroded (a pixel stays when the `length` pixels from it
    on are all set) and dilated back, each in about log2(`length`) shifted ANDs and ORs of boolean planes. The
    same pixels as the running-sum version it replaces, 10-20x faster on a 3400 x 1000 row canvas.
    """
    if mask.shape[axis] < length:
        return np.zeros_like(mask)
    size = mask.shape[axis]

    def head(plane: np.ndarray, stop: int) -> np.ndarray:  # plane[:stop] along axis
        return plane[:, :stop] if axis == 1 else plane[:stop]

    def tail(plane: np.ndarray, start: int) -> np.ndarray:  # plane[start:] along axis
        return plane[:, start:] if axis == 1 else plane[start:]

    full = mask.astype(bool, copy=True)  # full[i]: mask[i .. i + span - 1] all set
    span = 1
    while span < length:
        step = min(span, length - span)
        eroded = np.zeros_like(full)
        np.logical_and(head(full, size - step), tail(full, step), out=head(eroded, size - step))
        full, span = eroded, span + step
    covered = full  # covered[i]: a full window starts in [i - span + 1, i]
    span = 1
    while span < length:
        step = min(span, length - span)
        grown = covered.copy()
        tail(grown, step)[...] |= head(covered, size - step)
        covered, span = grown, span + step
    return covered


def _thicken(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Return `mask` grown by `pixels` in every direction (a square dilation)."""
    out = mask.copy()
    for _ in range(pixels):
        grown = out.copy()
        grown[1:, :] |= out[:-1, :]
        grown[:-1, :] |= out[1:, :]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def _neighbours(mask: np.ndarray) -> np.ndarray:
    """Return, per pixel, how many of its 8 neighbours are set in `mask`."""
    padded = np.pad(mask.astype(np.int8), 1)
    height, width = mask.shape
    total = sum(
        padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )
    counts: np.ndarray = np.asarray(total) - mask.astype(np.int8)
    return counts


def _grown(seeds: np.ndarray, allowed: np.ndarray, steps: int) -> np.ndarray:
    """Return `seeds` grown up to `steps` pixels (4-connected) through `allowed` pixels, and the seeds."""
    out = seeds.copy()
    for _ in range(steps):
        grown = _thicken(out, 1) & allowed | seeds
        if np.array_equal(grown, out):
            break
        out = grown
    return out


def _bridged(mask: np.ndarray, gap: int, axis: int) -> np.ndarray:
    """Return `mask` with gaps of up to `gap` pixels along `axis` filled (ink within `gap` on both sides)."""
    data = mask if axis == 0 else mask.T
    counts = np.concatenate([np.zeros((1, data.shape[1]), dtype=np.int32), np.cumsum(data, axis=0, dtype=np.int32)])
    rows = np.arange(data.shape[0])
    above = counts[rows + 1] - counts[np.clip(rows - gap, 0, None)] > 0
    below = counts[np.clip(rows + gap + 1, None, data.shape[0])] - counts[rows] > 0
    bridged: np.ndarray = data | (above & below)
    return bridged if axis == 0 else bridged.T


def rule_mask(
    grey: np.ndarray, *, dpi: float = DEFAULT_DPI, dashed: bool = False, solid: np.ndarray | None = None
) -> np.ndarray:
    """Return the pixels of long horizontal and vertical lines in a grey image (box rules), not thickened.

    A rule is a run of ink at least RULE_MIN_INCH long at `dpi`. With `dashed`, vertical dashed rules count
    too (the form's dollars | cents and MM | DD | YY separators, read as `1`, `!`, `|` glued to the digits):
    gaps of up to DASH_GAP_INCH are bridged before runs are measured, and only the ink under them is taken.
    A tilted rule breaks into shorter runs, so pages are read after preflight's deskew.
    `solid`: this image's rules found without `dashed` already (not changed), so they are not searched again.
    """
    ink = grey < INK
    run = max(8, round(RULE_MIN_INCH * dpi))
    rules: np.ndarray = solid if solid is not None else _runs(ink, run, axis=1) | _runs(ink, run, axis=0)
    if dashed:  # vertical only: the separators inside money and date boxes
        pieces = (max(2, round(DASH_PIECE_INCH[0] * dpi)), max(3, round(DASH_PIECE_INCH[1] * dpi)))
        gap, shortest = max(1, round(DASH_GAP_INCH * dpi)), max(8, round(DASH_MIN_INCH * dpi))
        rules = rules | _dashed_columns(ink & ~rules, gap, shortest, pieces, max(2, round(DASH_SIDE_INCH * dpi)))
    return rules


def _dashed_columns(ink: np.ndarray, gap: int, run: int, dash: tuple[int, int], side: int = 0) -> np.ndarray:
    """Return the ink of vertical dashed rules: bridged runs at least `run` long that are not solid strokes.

    Gaps of up to `gap` pixels are bridged; a bridged run counts when its ink covers at most DASH_COVERAGE of
    it (a character's stroke is solid, a dashed rule is not) and is at least DASH_MIN_COUNT dashes whose lengths
    lie in `dash` (pixels; strokes of a caption and of the value under it, bridged, are two pieces). With
    `side` (pixels), a piece with ink `side` pixels left or right of it is a glyph's horizontal stroke crossed
    by the column, not a dash: a column through a thick, noisy `3` or `R` crosses three such strokes.
    """
    bridged = _bridged(ink, gap, axis=0)
    out = np.zeros_like(ink)
    long_columns = np.flatnonzero(_runs(bridged, run, axis=0).any(axis=0))
    for x in long_columns:
        column = np.concatenate([[False], bridged[:, x], [False]]).astype(np.int8)
        edges = np.diff(column)
        beside = _beside(ink, int(x), side) if side else None
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            if end - start < run or ink[start:end, x].mean() > DASH_COVERAGE:
                continue
            if _dashes(ink[start:end, x], dash, None if beside is None else beside[start:end]):
                out[start:end, x] = ink[start:end, x]
    return out


def _beside(ink: np.ndarray, x: int, side: int) -> np.ndarray:
    """Return, per row, whether there is ink `side` pixels left or right of column `x`."""
    left = ink[:, x - side] if x - side >= 0 else np.zeros(ink.shape[0], dtype=bool)
    right = ink[:, x + side] if x + side < ink.shape[1] else np.zeros(ink.shape[0], dtype=bool)
    out: np.ndarray = left | right
    return out


def _dashes(column: np.ndarray, dash: tuple[int, int], beside: np.ndarray | None = None) -> bool:
    """Return True when a bridged run of one pixel column holds DASH_MIN_COUNT dashes and no longer piece.

    With `beside` (ink beside the column, per row), most of the dashes must be narrow: no ink beside them.
    """
    edges = np.diff(np.concatenate([[0], column.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = ends - starts
    if len(lengths) == 0 or int(lengths.max()) > dash[1]:
        return False
    if int(np.count_nonzero(lengths >= dash[0])) < DASH_MIN_COUNT:
        return False
    if beside is None:
        return True
    wide = [bool(beside[a:b].mean() > 0.5) for a, b in zip(starts, ends, strict=True) if b - a >= dash[0]]
    narrow = wide.count(False)
    return narrow >= DASH_MIN_NARROW and narrow > wide.count(True)


TICK_INCH = (0.03, 0.09)
"""A bracket's tick is this tall (inches): the short vertical stroke a box's underline turns up into at its end
(the HCFA-1500's diagnosis slots `|____ . __`: 0.08 in). Shorter than DASH_MIN_INCH, so an erased tick is never a
rule that splits a value (`erased_rules`)."""
TICK_WIDTH_INCH = 0.02
"""A tick is at most this wide (inches) and has no ink beside it: a typed glyph's stem has its serifs or bowls."""
TICK_END_INCH = 0.02
"""A tick stands this close (inches) to the end of its rule: a stroke standing on a rule's middle is a value's."""


def rule_ticks(ink: np.ndarray, horizontal: np.ndarray, *, dpi: float = DEFAULT_DPI) -> np.ndarray:
    """Return the pixels of short thin vertical strokes standing on (or hanging from) a horizontal rule's end.

    A slot's bracket (`|____`) is a rule that turns up at its end; the rule is removed with the others, but the
    tick, shorter than any rule, stayed, and OCR read it glued to the code typed right after it: `|J029` as
    `10029`, `J45909` as `O45.909` (real codes, so nothing else could tell). A tick is a run of ink
    TICK_INCH long in a column within TICK_END_INCH of the end of a horizontal rule (`horizontal`: its pixels),
    touching the rule, at most TICK_WIDTH_INCH wide with no ink beside it along its length.
    """
    out = np.zeros_like(ink)
    if not horizontal.any():
        return out
    height, width = ink.shape
    low, high = max(2, round(TICK_INCH[0] * dpi)), max(3, round(TICK_INCH[1] * dpi))
    thin, reach = max(1, round(TICK_WIDTH_INCH * dpi)), max(1, round(TICK_END_INCH * dpi))
    free = ink & ~horizontal
    for y in np.flatnonzero(horizontal.any(axis=1)):
        row = np.concatenate([[0], horizontal[y].astype(np.int8), [0]])
        edges = np.diff(row)
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            for tip in (int(start), int(end) - 1):
                lo, hi = max(0, tip - reach), min(width, tip + reach + 1)
                for step in (-1, 1):  # standing on the rule (up) or hanging from it (down)
                    edge = y + step
                    if not 0 <= edge < height or horizontal[edge, tip]:
                        continue  # not the rule's top (bottom) row here
                    columns = np.flatnonzero(free[edge, lo:hi]) + lo
                    if columns.size == 0 or columns[-1] - columns[0] + 1 > thin:
                        continue
                    a, b = int(columns[0]), int(columns[-1]) + 1
                    length = 0
                    at = edge
                    while 0 <= at < height and free[at, a:b].any() and length <= high:
                        length += 1
                        at += step
                    if not low <= length <= high:
                        continue
                    top, bottom = (edge - length + 1, edge + 1) if step < 0 else (edge, edge + length)
                    side = max(1, thin // 2)
                    left, right = max(0, a - side), min(width, b + side)
                    if free[top:bottom, left:a].any() or free[top:bottom, b:right].any():
                        continue  # ink beside it: a glyph's stroke, not a lone tick
                    out[top:bottom, a:b] |= free[top:bottom, a:b]
    return out

SPLIT_RULE_MAX_INCH = 0.04
"""An erased vertical rule wider than this (inches) is a shaded bar, not a separator between two values."""


def erased_rules(before: np.ndarray, after: np.ndarray, *, dpi: float) -> list[tuple[float, int, int]]:
    """Return the vertical dashed rules a cleaning erased from a crop: (x, top, bottom) in pixels, left to right.

    `before` and `after` are the grey crop before and after cleaning (same size). A rule is a column group of
    erased ink whose bridged run (gaps up to DASH_GAP_INCH) is at least DASH_MIN_INCH long: the dashed
    dollars | cents and MM | DD | YY separators (a horizontal rule erased is a few
    pixels high, and no caption's stroke is erased on a form that does not drop out). A group wider than
    SPLIT_RULE_MAX_INCH (a shaded bar) and a solid rule (its ink covers more than DASH_COVERAGE of its run: a
    box's side) are no separators. What was typed on both sides of such a rule is two
    values even when OCR reads them as one word once the rule is gone (`92 | 60` read `9260`).
    """
    erased = (before < INK) & (after >= INK)
    gap, run = max(1, round(DASH_GAP_INCH * dpi)), max(8, round(DASH_MIN_INCH * dpi))
    vertical = _runs(_bridged(erased, gap, axis=0), run, axis=0)
    columns = np.flatnonzero(vertical.any(axis=0))
    if len(columns) == 0:
        return []
    widest = max(1, round(SPLIT_RULE_MAX_INCH * dpi))
    out: list[tuple[float, int, int]] = []
    for group in np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1):
        if len(group) > widest:
            continue
        rows = np.flatnonzero(vertical[:, group[0] : group[-1] + 1].any(axis=1))
        top, bottom = int(rows[0]), int(rows[-1])
        if erased[top : bottom + 1, group[0] : group[-1] + 1].any(axis=1).mean() > DASH_COVERAGE:
            continue  # a solid rule: a box's side, which a value printed off its box may lie across
        out.append((float(group.mean()), top, bottom))
    return out


def form_ink_level(grey: np.ndarray, rules: np.ndarray) -> float | None:
    """Return the grey level of the form's ink, measured on its rules; None when it has no single level.

    The core of a rule (its darkest pixels across its width) is what the ink looks like; anti-aliased edges
    are lighter, so the median of rule pixels darker than their own upper quartile is taken. None when there
    are too few rule pixels, or when a tenth of them is much darker than that level: rules of several inks
    (a black form whose thin rules a low-resolution scan blurred to grey, next to its thick black ones).
    """
    values = grey[rules]
    if values.size < DROPOUT_MIN_RULE_PIXELS:
        return None
    core = values[values <= np.percentile(values, 75)]
    level = float(np.median(core))
    if float(np.percentile(values, 10)) < level - DROPOUT_GAP / 2:
        return None
    return level


def data_layer(grey: np.ndarray, level: float | None) -> np.ndarray | None:
    """Return the grey image with only the ink darker than the form's (paper white elsewhere), or None.

    None when the form's ink is as dark as data (below DROPOUT_MIN_LEVEL: a form printed in black) or
    unknown (no rules found), or when nothing darker than the form is on the image.
    """
    if level is None or level < DROPOUT_MIN_LEVEL:
        return None
    # a degraded scan's faded toner (cores ~70-110 over a form at ~125-140) has few pixels clearly darker than
    # the form: its strokes are found by the dense clusters of pixels somewhat darker than the form's ink, and
    # followed along pixels that are so (the form's own ink, rules and captions, is not darker than its level)
    darker = grey < level - DROPOUT_WEAK_GAP
    dark = grey < level - DROPOUT_GAP
    seeds = dark | (darker & (_neighbours(darker) >= DROPOUT_DENSE))
    if int(seeds.sum()) < max(DROPOUT_MIN_SEED_PIXELS, DROPOUT_MIN_DATA_SHARE * int((grey < INK).sum())):
        return None
    # the data's strokes with their anti-aliased edges: ink within DROPOUT_REACH pixels of the strokes;
    # the form's ink (captions, dashes) has no such pixel near it. Strokes are followed only on a page whose
    # data is not clearly dark (followed on a clean page, they took in the light caption `DD` they were printed
    # over: `09 O06 58`)
    clearly_dark = int(dark.sum()) >= DROPOUT_DARK_SHARE * int(seeds.sum())
    strokes = dark if clearly_dark else _grown(seeds, darker, DROPOUT_FOLLOW)
    keep = _thicken(strokes, DROPOUT_REACH) & (grey < INK)
    out = np.full_like(grey, 255)
    out[keep] = grey[keep]
    return out


def red_layer(rgb: np.ndarray) -> np.ndarray:
    """Return the mask of red form ink in an RGB image (red channel well above green and blue)."""
    red = rgb[..., 0].astype(np.int16)
    other = np.maximum(rgb[..., 1], rgb[..., 2]).astype(np.int16)
    red_ink: np.ndarray = (red - other) > RED_CHROMA
    return red_ink


STROKE_OVER_RULE = 60
"""A pixel on a light rule this much darker than the rule's own ink is a stroke drawn over it, and is kept."""
RULE_CORE_PERCENTILE = 20
"""A rule's own ink level is this percentile of its pixels: the core of a thin rule blurred by scanning, and
the shade of a bar even where a fifth of it is covered by strokes."""


def without_rules(
    grey: np.ndarray, rules: np.ndarray, *, dpi: float = DEFAULT_DPI, keep_strokes: bool = False
) -> np.ndarray:
    """Return the grey image with its box rules (`rule_mask`, and their edges) painted paper white.

    With `keep_strokes`, ink much darker than the light rule it lies on is kept (`rule_levels`): a digit typed
    over a shaded bar (the HCFA-1500's grey column bars beside box 24D) lost the half that lay on the bar, and a
    9 or an 8 so cut was read as a 3 (`30686` for `90686`). Rules darker than DROPOUT_MIN_LEVEL (black, or thin ones a
    scan blurred, and the darker core of a blurred rule, as long as a rule) are removed whole, as before.
    """
    out = grey.copy()
    mask = _thicken(rules, RULE_THICKEN)
    if not keep_strokes:
        out[mask] = 255
        return out
    levels = rule_levels(grey, rules, dpi=dpi)
    over = (levels >= DROPOUT_MIN_LEVEL) & (grey.astype(np.float32) < levels - STROKE_OVER_RULE)
    # a rule's own darker core (a thin black rule blurred grey by a low-resolution scan) runs as long as a rule:
    # a stroke over it is no longer than a character
    length = max(8, round(RULE_MIN_INCH * dpi))
    over &= ~(_runs(over, length, axis=0) | _runs(over, length, axis=1))
    out[mask & ~over] = 255
    return out


BAR_MIN_INCH = 0.04
"""Rules this wide across (inches) are a shaded bar (the HCFA-1500's are 0.07 in), not a line (<= 0.02 in)."""
BAR_PERCENTILE = 50
"""A shaded bar's level is this percentile of its pixels along it: box 24's procedure codes start on the CPT
column's shaded bar, six rows of first digits over ~30% of its length; RULE_CORE_PERCENTILE took the strokes' own
grey (~80-100) for the bar's, and the half of each digit over the bar was cut (`81002`, `99214`, `87880` read
`31002`, `39214`, `37880`)."""


def _wide(present: np.ndarray, width: int) -> np.ndarray:
    """Return the entries of a 1-D mask that lie in runs of at least `width` set entries."""
    edges = np.diff(np.concatenate([[0], present.astype(np.int8), [0]]))
    out = np.zeros(present.shape, dtype=bool)
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if end - start >= width:
            out[start:end] = True
    return out


RULE_AXIS_INCH = 0.1
"""Rule pixels in a run this long (inches) along an axis belong to a rule along it; a shaded bar is thinner
across (the HCFA-1500's are 0.07 in wide)."""


def rule_levels(grey: np.ndarray, rules: np.ndarray, *, dpi: float = DEFAULT_DPI) -> np.ndarray:
    """Return, per pixel, the grey level of the rule ink under it (0 where no rule is near: nothing is darker).

    A vertical rule's level is RULE_CORE_PERCENTILE of its column's rule pixels, a horizontal rule's that of its row;
    where both cross, the darker one counts. Columns and rows next to a rule (its thickened edges) take its level.
    """
    levels = np.zeros(grey.shape, dtype=np.float32)
    for axis in (0, 1):  # 0: runs down the columns (vertical rules), 1: along the rows (horizontal rules)
        # a horizontal rule is as long as any rule (RULE_MIN_INCH): a shaded bar beside a black rule is 0.1 in wide
        # across, and its rows taken for horizontal rules gave them the black rule's level, lower than the bar's
        along = _runs(rules, max(8, round((RULE_AXIS_INCH if axis == 0 else RULE_MIN_INCH) * dpi)), axis=axis)
        values = np.where(along, grey, np.nan).astype(np.float32)
        with np.errstate(all="ignore"):
            counts = along.sum(axis=axis)
            medians = np.zeros(counts.shape, dtype=np.float32)
            present = counts > 0
            if present.any():
                picked = values[:, present] if axis == 0 else values[present, :]
                medians[present] = np.nanpercentile(picked, RULE_CORE_PERCENTILE, axis=axis)
                # a shaded column bar's level is its median shade: a column of typed digits can cover a third of it
                # (vertical bars only: a long horizontal rule a little tilted spans as many rows as a bar is wide)
                bars = _wide(present, max(2, round(BAR_MIN_INCH * dpi))) if axis == 0 else np.zeros_like(present)
                if bars.any():
                    medians[bars] = np.nanpercentile(values[:, bars], BAR_PERCENTILE, axis=0)
        for _ in range(RULE_THICKEN):  # columns (rows) next to a rule, with no rule pixel of their own, take its level
            grown = medians.copy()
            grown[1:] = np.where(grown[1:] == 0, medians[:-1], grown[1:])
            grown[:-1] = np.where(grown[:-1] == 0, medians[1:], grown[:-1])
            medians = grown
        spread = np.broadcast_to(medians[None, :] if axis == 0 else medians[:, None], grey.shape)
        level = np.where(along | _thicken(along, RULE_THICKEN), spread, 0.0)
        levels = np.where((levels > 0) & (level > 0), np.minimum(levels, level), np.maximum(levels, level))
    return levels


def clean_region(
    image: Image.Image,
    *,
    by_level: bool = True,
    keep_strokes: bool = False,
    level: float | None = None,
    ticks: bool = False,
) -> Image.Image:
    """Return a region crop ready for OCR: red or light form ink dropped out, else its box rules removed.

    The crop's `dpi` info gives the length of a rule in pixels (DEFAULT_DPI when it has none).

    Colour crops drop their red pixels first. Grey crops drop the form by its ink level when its rules are
    clearly lighter than the data and `by_level` allows it; otherwise (a form printed in black, a faded scan
    where both inks are the same grey) only the long rules are removed, so they are not read as `|`, `1` or
    `_` glued to values. `by_level=False` is for crops of a page whose form was found not to drop out: a crop
    alone cannot tell a black form's thin rules, blurred grey by a low-resolution scan, from red ink, and
    dropping by that level erased the thin strokes of the typed values too (Courier scanned at 120 dpi).
    `keep_strokes` keeps the typed strokes that lie over a light rule or shaded bar (`without_rules`): the rows
    of a table are read so (readers/rows.py); single boxes are not (their readings were tuned without it).

    `level`: the form's ink level measured on the whole page (`page_form_level`). A crop's own rules do not
    tell it when a value is typed across them (a pre-printed form's `XGH643220200` over box 4's top rule: the
    crop's rules looked of two inks, nothing was dropped, and removing the rule cut the value's lower half
    away). With it, a grey crop whose form drops out by that level is given as its data layer alone: its
    rules are form ink and went with it, and taking them out again would cut the strokes typed across them.

    `ticks`: the short strokes a removed rule turns into at its ends (a slot's bracket, `rule_ticks`) go too,
    on a crop whose form did not drop out; only the reading that asks for it (`read_letters_again`) does.
    """
    if image.mode in ("RGB", "RGBA"):
        rgb = np.asarray(image.convert("RGB"))
        grey = np.asarray(image.convert("L")).copy()
        grey[red_layer(rgb)] = 255
    else:
        grey = np.asarray(image.convert("L"))
    dpi = image.info.get("dpi")
    resolution = float(dpi[0]) if isinstance(dpi, tuple | list) and dpi and float(dpi[0]) > 0 else DEFAULT_DPI
    if by_level and level is not None and image.mode not in ("RGB", "RGBA"):
        layer = data_layer(grey, level)
        if layer is not None:
            return _grey_image(layer, image)
    rules = rule_mask(grey, dpi=resolution)
    dropped = data_layer(grey, form_ink_level(grey, rules)) if by_level else None
    cleaned = without_rules(
        dropped if dropped is not None else grey,
        rule_mask(grey, dpi=resolution, dashed=True, solid=rules),
        dpi=resolution,
        keep_strokes=keep_strokes,
    )
    if ticks and dropped is None:
        ink = grey < INK
        horizontal = _runs(ink, max(8, round(RULE_MIN_INCH * resolution)), axis=1)
        cleaned[rule_ticks(ink, horizontal, dpi=resolution)] = 255
    return _grey_image(cleaned, image)


def binarised(image: Image.Image) -> Image.Image:
    """Return a grey crop as black ink on white paper, cut at its Otsu level (its `info`, the dpi, kept).

    Tesseract's recogniser reads the grey pixels, not its own black-and-white layout image: a cleaned box's
    anti-aliased edges and the grey specks an erased rule leaves can make it read a clear `51 17` as `atte` in
    grey, and right once the crop is black and white (a flattened fillable form's box 29, 150 dpi enlarged).
    """
    grey = np.asarray(image.convert("L"))
    counts = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    share = np.cumsum(counts) / counts.sum()
    mean = np.cumsum(counts * np.arange(256)) / counts.sum()
    between = (mean[-1] * share - mean) ** 2 / np.maximum(share * (1.0 - share), 1e-12)
    level = int(np.argmax(between))
    out = Image.fromarray(np.where(grey <= level, 0, 255).astype(np.uint8), mode="L")
    out.info.update(image.info)
    return out


def _grey_image(pixels: np.ndarray, like: Image.Image) -> Image.Image:
    """Return grey `pixels` as an image with the resolution of `like`."""
    out = Image.fromarray(pixels.astype(np.uint8), mode="L")
    if "dpi" in like.info:
        out.info["dpi"] = like.info["dpi"]
    return out


def page_form_level(image: Image.Image) -> float | None:
    """Return the grey level of a whole page's form ink, measured on its box rules (`form_ink_level`)."""
    grey = np.asarray(image.convert("L"))
    dpi = image.info.get("dpi")
    resolution = float(dpi[0]) if isinstance(dpi, tuple | list) and dpi and float(dpi[0]) > 0 else 200.0
    return form_ink_level(grey, rule_mask(grey, dpi=resolution))


FORM_INK_OUT = 40
"""The form layer's ink is redrawn this dark (its light red-as-grey ink reads poorly as it is)."""


def page_layers(image: Image.Image) -> tuple[Image.Image, Image.Image] | None:
    """Return (data layer, form layer) of a whole page image, or None when the form does not drop out.

    The data layer holds only the typed data (the form's ink and rules white); the form layer holds the form's
    captions and rules redrawn dark, without the data, so neither glues to the other when read. None when the
    form is printed as dark as the data (a black form, a faded grey scan) or has no rules to measure it on.
    """
    grey = np.asarray(image.convert("L"))
    dpi = image.info.get("dpi")
    resolution = float(dpi[0]) if isinstance(dpi, tuple | list) and dpi and float(dpi[0]) > 0 else 200.0
    rules = rule_mask(grey, dpi=resolution)
    data = data_layer(grey, form_ink_level(grey, rules))
    if data is None:
        return None
    form = np.full_like(grey, 255)
    form_ink = (grey < INK) & (data == 255)
    form[form_ink] = np.minimum(grey[form_ink], FORM_INK_OUT)
    layers = (Image.fromarray(data.astype(np.uint8), mode="L"), Image.fromarray(form.astype(np.uint8), mode="L"))
    for layer in layers:
        if dpi is not None:
            layer.info["dpi"] = dpi
    return layers
