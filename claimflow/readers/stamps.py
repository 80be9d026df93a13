"""A dropped-out rubber stamp's page seen again with the stamp removed harder, for the stamps second look.

`ocr.to_grey` drops out a translucent stamp's light, clearly coloured pixels. What it leaves can still hide a
value: a blue stamp's dense letters are darker than STAMP_MIN_LIGHTEST and stay as grey strokes, and on a blurred
JPEG the stamp's edges and ring are too little coloured to be dropped. Both leave junk that tesseract reads in
place of the value (seed 23 claim_application_zh 002: the 19-digit account under a blue stamp lost; seed 27
receipt 002: TOTAL and VAT under a red stamp lost).

When `to_grey` drops a stamp out it keeps a `StampViews` in the grey image's `info` (STAMP_INFO): the colour page
and the stamp's mask, nothing else (a reference: no copy). The views are made only when a second look asks:

- `lifted`: hysteresis, pixels within HYST_REACH px of dropped-out ones, of the stamp's hue (its dominant channel),
  a little coloured (HYST_SPREAD) and light in their lightest channel (HYST_LIGHTEST), are dropped out too and
  lifted to the paper like the stamp (`ocr._lifted`). Print under the stamp is darker in every channel and stays.
- `erased`: every pixel whose stamp-hue channel exceeds the other two by more than HUE_EXCESS (darkest channel above
  STAMP_MIN_CHANNEL) is set to white. Only for a page whose print is dark (DARK_PRINT): faded print seen through a
  red stamp is itself red enough to be erased.

The views are kept only while the page image is (the image the words were read from, upright and unturned:
`preflight.read_scanned_page` drops them from a turned or straightened image, whose pixels no longer match).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageChops, ImageFilter

STAMP_INFO = "claimflow.stamp"
"""Key of a grey page image's `info` holding its dropped-out stamp (`StampViews`)."""
HYST_REACH = 2
"""A stamp's weak edge pixel lies at most this many pixels from a dropped-out one."""
HYST_SPREAD = 6
"""... its channels differ by more than this (a tint: print is grey) ..."""
HYST_LIGHTEST = 170
"""... and its lightest channel is above this (print seen through the stamp is darker)."""
HUE_EXCESS = 15
"""The erased view: the stamp's channel above the other two by more than this is stamp ink."""
DARK_PRINT = 100
"""The erased view is made only when the page's print (the median of its ink pixels outside the stamp) is darker
than this grey: faded print (140-160 on the degraded scans) seen through a stamp is as coloured as the stamp."""
INK_GREY = 160
"""A pixel darker than this (outside the stamp) is print, for DARK_PRINT."""
ROW_PIXELS = 3
"""A row holds the stamp when at least this many of its pixels were dropped out."""
ROW_GAP = 0.01
"""Rows of the stamp closer than this page share are one band."""
BAND_SHARE = 0.2
"""A band is kept when it holds this share of the dropped-out pixels (a few tinted specks elsewhere are not one)."""
MIN_STAMP_SHARE = 0.0002
"""A stamp covers at least this share of the page's pixels dropped out (generated stamps: 0.035-1.3%); a few tinted
specks (SROIE 200: 21 pixels of a 714 x 1463 receipt, 0.002%; the specks of six others at most 0.01%) are none."""
BAND_PAD = 0.005
"""A band reaches this page share past the stamp's rows (a value's glyphs poke out of the ring)."""


Move = Callable[[Image.Image], Image.Image]
"""A geometric change made to the grey page after `to_grey` (halved, straightened, turned): made to the views too."""


@dataclass(eq=False)
class StampViews:
    """One page's colour image and the mask of the stamp `to_grey` dropped out of it; its cleaner views on demand.

    `moves`: what was done to the grey page since (`carry`), done to each view in turn, so a view's pixels lie where
    the page image's do. `owner`: the image these views belong to; a copy PIL made of its `info` (a crop, or a
    turn not made through `carry`) holds views that are not its own (`stamp_views` ignores them).
    """

    colour: Image.Image
    mask: np.ndarray
    """True where `to_grey` dropped the stamp out (the colour image's size)."""
    owner: weakref.ref[Image.Image] | None = None
    moves: tuple[Move, ...] = ()
    _cache: dict[str, Image.Image | None] = field(default_factory=dict, repr=False)
    _edges: np.ndarray | None = field(default=None, repr=False)

    def moved(self, move: Move) -> StampViews:
        """Return these views with one more change of the page made to them too (their made views forgotten)."""
        return StampViews(self.colour, self.mask, None, (*self.moves, move))

    def _placed(self, view: Image.Image) -> Image.Image:
        """Return a view (the colour image's size) with the page's moves made to it."""
        for move in self.moves:
            view = move(view)
        return view

    def bands(self) -> list[tuple[float, float]]:
        """Return the horizontal bands (top, bottom, page fractions) the stamp covers, each padded by BAND_PAD.

        The stamp with its weak edges (`_reach`): a blurred stamp's ring reaches lines its clearly coloured pixels
        do not, and its junk is read there too.
        """
        if np.count_nonzero(self.mask) < MIN_STAMP_SHARE * self.mask.size:
            return []
        mask = self._reach()
        if self.moves:  # placed as dark on white: a turn fills the corners white (no stamp)
            mask = np.asarray(self._placed(Image.fromarray((~mask).astype(np.uint8) * 255))) < 128
        counts = np.count_nonzero(mask, axis=1)
        height = len(counts)
        rows = np.flatnonzero(counts >= ROW_PIXELS)
        if not len(rows) or not height:
            return []
        gap = max(1, math.ceil(ROW_GAP * height))
        runs: list[list[int]] = [[int(rows[0]), int(rows[0])]]
        for row in rows[1:]:
            if row - runs[-1][1] <= gap:
                runs[-1][1] = int(row)
            else:
                runs.append([int(row), int(row)])
        total = int(counts.sum()) or 1
        return [
            (max(0.0, top / height - BAND_PAD), min(1.0, (bottom + 1) / height + BAND_PAD))
            for top, bottom in runs
            if counts[top : bottom + 1].sum() >= BAND_SHARE * total
        ]

    def lifted(self) -> Image.Image:
        """Return the page in grey with the stamp and its weak edges (hysteresis) dropped out."""
        if "lifted" not in self._cache:
            from claimflow.readers.ocr import _lifted

            _, _, high, grey = self._planes()
            self._cache["lifted"] = self._placed(Image.fromarray(_lifted(self._reach(), high, grey), mode="L"))
        view = self._cache["lifted"]
        assert view is not None
        return view

    def _reach(self) -> np.ndarray:
        """Return the stamp's mask with its weak edges: pixels near it, of its hue, a little coloured and light."""
        if self._edges is None:
            from claimflow.readers.ocr import STAMP_MIN_CHANNEL

            a, low, high, _ = self._planes()
            dominant = self._dominant(a)
            reach = ImageFilter.MaxFilter(2 * HYST_REACH + 1)
            near = np.asarray(Image.fromarray(self.mask.astype(np.uint8) * 255).filter(reach)) > 0
            weak = (
                near
                & (low > STAMP_MIN_CHANNEL)
                & (high > HYST_LIGHTEST)
                & (high - low > HYST_SPREAD)
                & (a.argmax(axis=2) == dominant)
            )
            self._edges = self.mask | weak
        return self._edges

    def erased(self) -> Image.Image | None:
        """Return the page in grey with every pixel of the stamp's hue white (None: the page's print is faded)."""
        if "erased" not in self._cache:
            from claimflow.readers.ocr import STAMP_MIN_CHANNEL

            a, low, _, grey = self._planes()
            ink = grey[(grey < INK_GREY) & ~self.mask]
            if not ink.size or float(np.median(ink)) >= DARK_PRINT:
                self._cache["erased"] = None
            else:
                dominant = self._dominant(a)
                others = [c for c in range(3) if c != dominant]
                excess = a[..., dominant].astype(np.int16) - np.maximum(a[..., others[0]], a[..., others[1]])
                erase = (excess > HUE_EXCESS) & (low > STAMP_MIN_CHANNEL)
                erased = Image.fromarray(np.where(erase, 255, grey).astype(np.uint8), mode="L")
                self._cache["erased"] = self._placed(erased)
        return self._cache["erased"]

    def _planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the colour pixels, their darkest and lightest channel and the plain grey (luminance)."""
        red, green, blue = self.colour.split()
        low = np.asarray(ImageChops.darker(ImageChops.darker(red, green), blue))
        high = np.asarray(ImageChops.lighter(ImageChops.lighter(red, green), blue))
        return np.asarray(self.colour), low, high, np.asarray(self.colour.convert("L"))

    def _dominant(self, a: np.ndarray) -> int:
        """Return the stamp's hue: the channel most often the lightest among its dropped-out pixels."""
        return int(np.bincount(a[self.mask].argmax(axis=1), minlength=3).argmax())


def stamp_views(image: object) -> StampViews | None:
    """Return the stamp views kept with a page image (None: no stamp was dropped out of it, or not its own)."""
    if not isinstance(image, Image.Image):
        return None
    views = image.info.get(STAMP_INFO)
    if not isinstance(views, StampViews) or views.owner is None or views.owner() is not image:
        return None
    return views


def own(image: Image.Image, views: StampViews) -> Image.Image:
    """Keep `views` with `image` (its own: `stamp_views` returns them for it only); return the image."""
    views.owner = weakref.ref(image)
    image.info[STAMP_INFO] = views
    return image


def carry(source: Image.Image, result: Image.Image, move: Move) -> Image.Image:
    """Keep the source page image's stamp views with `result`, made from it by `move` (made to the views too).

    Without views on the source, `result` keeps none either (PIL copied the source's `info`). Returns `result`.
    """
    views = stamp_views(source)
    if views is None:
        result.info.pop(STAMP_INFO, None)
        return result
    return own(result, views.moved(move))
