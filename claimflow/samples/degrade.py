"""Controlled, recorded scan degradations for the generated corpus.

A `Degradation` says exactly what was done to a page image: resolution, skew, rotation by 90/180,
gaussian blur, noise, JPEG quality, faded ink (contrast kept), a semi-transparent rubber stamp over one
field and handwriting-like lettering for a few field values. `draw_degradation` picks one from a family
(clean, degraded, rotated) with a seeded `random.Random`; `scan_document` applies it to every page of a
PDF, locating fields in the PDF's own text layer; the truth JSON stores `Degradation.to_json()`.

Every degradation leaves the page readable by a trained person (checked by eye on rendered samples at the
worst end of every range: 150 dpi, 5 degrees, blur 1.2, noise 14, JPEG 40, ink faded to 45%, a 60%-opaque
stamp in colour over a value): the engine must read them. The one exception is geometric: a skew turns the
page about its centre without growing it, so text near a corner could leave the page; such fields are recorded
in `applied["illegible"]` (page numbers per field), and benches count "absent or not confident" as the right
outcome for them. Realism against real scans (notes/ocr.md): 150-300 dpi and up to 5 degrees cover the SROIE
range; stamps keep their colour (as a colour scanner does), so reading through them is fair.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from claimflow.samples.forms import CREATION_DATE
from claimflow.samples.scans import TextBox, find_text_boxes, page_count, render_page

DPIS = (150, 200, 300)
MAX_SKEW = 5.0
ROTATIONS = (90, 180)
BLUR_RANGE = (0.0, 1.2)
NOISE_RANGE = (0.0, 14.0)
JPEG_RANGE = (40, 90)
FADE_RANGE = (0.45, 1.0)
STAMP_OPACITY = (0.35, 0.6)
STAMP_WORDS = ("PAID", "RECEIVED", "COPY", "APPROVED", "SCANNED")
STAMP_COLORS = {"red": (200, 30, 40), "blue": (30, 60, 190)}
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
HANDWRITING_FONTS = ("DejaVuSerif-Italic.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerifCondensed-Italic.ttf")
STAMP_FONT = "DejaVuSans-Bold.ttf"
FAMILIES = ("clean", "degraded", "rotated")


@dataclass(frozen=True, slots=True)
class Stamp:
    """A rubber stamp: the field it covers, its word, ink colour, opacity and tilt."""

    field: str
    text: str
    color: str
    opacity: float
    angle: float


@dataclass(frozen=True, slots=True)
class Degradation:
    """Everything done to a scan; all zero/None means a clean scan."""

    family: str
    dpi: int
    skew_degrees: float = 0.0
    rotation: int = 0
    blur_radius: float = 0.0
    noise_sigma: float = 0.0
    jpeg_quality: int | None = None
    fade: float = 1.0
    stamp: Stamp | None = None
    handwriting_fields: tuple[str, ...] = ()
    handwriting_font: str | None = None
    applied: dict[str, object] = field(default_factory=dict)  # where marks landed: filled in by scan_document

    def to_json(self) -> dict[str, object]:
        """Return the truth-file form of this degradation."""
        stamp = None if self.stamp is None else {
            "field": self.stamp.field, "text": self.stamp.text, "color": self.stamp.color,
            "opacity": self.stamp.opacity, "angle": self.stamp.angle}
        return {
            "family": self.family, "dpi": self.dpi, "skew_degrees": self.skew_degrees, "rotation": self.rotation,
            "blur_radius": self.blur_radius, "noise_sigma": self.noise_sigma, "jpeg_quality": self.jpeg_quality,
            "fade": self.fade, "stamp": stamp, "handwriting_fields": list(self.handwriting_fields),
            "handwriting_font": self.handwriting_font, "applied": dict(self.applied),
        }


def text_pdf_degradation() -> dict[str, object]:
    """Return the degradation record of a born-digital text PDF (nothing done)."""
    return {"family": "text", "dpi": None, "rotation": 0}


def _r(value: float) -> float:
    return round(value, 2)


def available_fonts() -> list[str]:
    """Return the handwriting-like TTF files present on this machine (DejaVu italics; none means oblique PIL)."""
    return [name for name in HANDWRITING_FONTS if (FONT_DIR / name).is_file()]


def draw_degradation(rng: random.Random, family: str, fields: Sequence[str],
                     rotation: int | None = None) -> Degradation:
    """Return a degradation of `family` (clean, degraded, rotated); stamp/handwriting pick from `fields`."""
    if family == "clean":
        return Degradation("clean", dpi=rng.choice((200, 300)), jpeg_quality=rng.choice((None, 90)))
    if family == "rotated":
        return Degradation("rotated", dpi=rng.choice((200, 300)), skew_degrees=_r(rng.uniform(-1.5, 1.5)),
                           rotation=rotation or rng.choice(ROTATIONS), noise_sigma=_r(rng.uniform(0, 6)),
                           jpeg_quality=rng.randint(75, 90))
    if family != "degraded":
        raise ValueError(f"unknown degradation family {family!r}; use one of {FAMILIES}")
    stamp = None
    pool = list(fields)
    if pool and rng.random() < 0.35:
        stamp = Stamp(field=rng.choice(pool), text=rng.choice(STAMP_WORDS), color=rng.choice(sorted(STAMP_COLORS)),
                      opacity=_r(rng.uniform(*STAMP_OPACITY)), angle=_r(rng.uniform(-15, 15)))
    handwriting: tuple[str, ...] = ()
    fonts = available_fonts()
    if pool and rng.random() < 0.3:
        choices = [name for name in pool if stamp is None or name != stamp.field]
        handwriting = tuple(sorted(rng.sample(choices, min(len(choices), rng.randint(1, 2)))))
    return Degradation(
        "degraded", dpi=rng.choice(DPIS), skew_degrees=_r(rng.uniform(-MAX_SKEW, MAX_SKEW)),
        blur_radius=_r(rng.uniform(*BLUR_RANGE)) if rng.random() < 0.7 else 0.0,
        noise_sigma=_r(rng.uniform(*NOISE_RANGE)), jpeg_quality=rng.randint(*JPEG_RANGE),
        fade=_r(rng.uniform(*FADE_RANGE)) if rng.random() < 0.5 else 1.0, stamp=stamp,
        handwriting_fields=handwriting,
        handwriting_font=(rng.choice(fonts) if fonts else "oblique-default") if handwriting else None,
    )


def _pixels(box: TextBox, dpi: int, pad: float = 0.0) -> tuple[int, int, int, int]:
    scale = dpi / 72
    return (int((box[0] - pad) * scale), int((box[1] - pad) * scale),
            int((box[2] + pad) * scale) + 1, int((box[3] + pad) * scale) + 1)


def _font(name: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name and (FONT_DIR / name).is_file():
        return ImageFont.truetype(str(FONT_DIR / name), size)
    return ImageFont.load_default(size)


def _handwrite(image: Image.Image, box: tuple[int, int, int, int], text: str, font_name: str | None,
               rng: random.Random) -> None:
    """White out `box` and letter `text` into it with a slanted font, uneven baseline and spacing."""
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=255)
    size = max(8, int((y1 - y0) * 1.15))
    font = _font(font_name, size)
    while size > 8 and draw.textlength(text, font=font) > (x1 - x0) * 1.05:
        size -= 1
        font = _font(font_name, size)
    x = float(x0)
    ink = rng.randint(15, 60)
    for char in text:
        jitter = rng.uniform(-0.07, 0.07) * size
        draw.text((x, y0 + jitter - size * 0.12), char, fill=ink, font=font)
        x += draw.textlength(char, font=font) * rng.uniform(0.95, 1.07)


def _stamp(image: Image.Image, box: tuple[int, int, int, int], stamp: Stamp, dpi: int) -> Image.Image:
    """Return an RGB copy of `image` with a semi-transparent ellipse stamp centred on `box`."""
    width = max(int((box[2] - box[0]) * 1.25), int(dpi * 1.3))
    height = max(int((box[3] - box[1]) * 2.6), int(dpi * 0.55))
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    alpha = int(255 * stamp.opacity)
    colour = (*STAMP_COLORS[stamp.color], alpha)
    line = max(2, dpi // 60)
    draw.ellipse((line, line, width - line - 1, height - line - 1), outline=colour, width=line)
    font = _font(STAMP_FONT, int(height * 0.38))
    text_width = draw.textlength(stamp.text, font=font)
    draw.text(((width - text_width) / 2, height * 0.27), stamp.text, fill=colour, font=font)
    layer = layer.rotate(stamp.angle, resample=Image.Resampling.BICUBIC, expand=True)
    base = image.convert("RGBA")
    centre = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
    base.alpha_composite(layer, (max(0, centre[0] - layer.width // 2), max(0, centre[1] - layer.height // 2)))
    return base.convert("RGB")


def _locate(pdf_bytes: bytes, page: int, text: str) -> TextBox | None:
    boxes = find_text_boxes(pdf_bytes, text, page)
    return boxes[0] if boxes else None


def _mark_page(image: Image.Image, pdf_bytes: bytes, page: int, degradation: Degradation,
               printed: Mapping[str, str], rng: random.Random) -> Image.Image:
    """Apply handwriting and the stamp (before the scanner effects), where their fields are on this page."""
    applied = degradation.applied
    for name in degradation.handwriting_fields:
        box = _locate(pdf_bytes, page, printed[name])
        if box is not None:
            _handwrite(image, _pixels(box, degradation.dpi, 1.0), printed[name], degradation.handwriting_font, rng)
            handwritten = applied.setdefault("handwriting", {})
            if isinstance(handwritten, dict):
                handwritten.setdefault(name, []).append(page + 1)
    stamp = degradation.stamp
    if stamp is not None and "stamp" not in applied:
        box = _locate(pdf_bytes, page, printed[stamp.field])
        if box is not None:
            applied["stamp"] = {"page": page + 1, "box_pt": [round(v, 1) for v in box]}
            return _stamp(image, _pixels(box, degradation.dpi), stamp, degradation.dpi)
    return image


def _cut_off(box: tuple[int, int, int, int], size: tuple[int, int], degrees: float) -> bool:
    """Return True when part of `box` leaves an image of `size` turned `degrees` about its centre (no expand)."""
    if not degrees:
        return False
    cx, cy = size[0] / 2, size[1] / 2
    turn = math.radians(degrees)
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        dx, dy = x - cx, y - cy  # PIL turns counter-clockwise as seen, with y pointing down
        nx, ny = cx + dx * math.cos(turn) + dy * math.sin(turn), cy - dx * math.sin(turn) + dy * math.cos(turn)
        if not (0 <= nx < size[0] and 0 <= ny < size[1]):
            return True
    return False


def _record_illegible(pdf_bytes: bytes, pages: int, degradation: Degradation, printed: Mapping[str, str],
                      sizes: list[tuple[int, int]]) -> None:
    """Record in `applied["illegible"]` the printed fields the skew pushed off the page on every page they are on.

    Such a field cannot be read by a person either: the right engine outcome is absent or not confident.
    """
    cut: dict[str, list[int]] = {}
    for name, text in sorted(printed.items()):
        boxes = [(page, box) for page in range(pages) for box in find_text_boxes(pdf_bytes, text, page)]
        if boxes and all(_cut_off(_pixels(box, degradation.dpi), sizes[page], degradation.skew_degrees)
                         for page, box in boxes):
            cut[name] = sorted({page + 1 for page, _ in boxes})
    if cut:
        degradation.applied["illegible"] = cut


def _scanner(image: Image.Image, degradation: Degradation, noise: np.random.Generator) -> Image.Image:
    """Apply fade, skew, blur, noise, rotation and JPEG round-trip in that order."""
    fill: int | tuple[int, int, int] = 255 if image.mode == "L" else (255, 255, 255)
    if degradation.fade < 1.0:
        pixels = np.asarray(image, dtype=np.float32)
        image = Image.fromarray((255 - (255 - pixels) * degradation.fade).astype(np.uint8), mode=image.mode)
    if degradation.skew_degrees:
        image = image.rotate(degradation.skew_degrees, resample=Image.Resampling.BILINEAR, expand=False,
                             fillcolor=fill)
    if degradation.blur_radius:
        image = image.filter(ImageFilter.GaussianBlur(radius=degradation.blur_radius * degradation.dpi / 200))
    if degradation.noise_sigma:
        pixels = np.asarray(image, dtype=np.float32)
        pixels += noise.standard_normal(size=pixels.shape, dtype=np.float32) * np.float32(degradation.noise_sigma)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode=image.mode)
    if degradation.rotation:
        image = image.rotate(degradation.rotation, expand=True)
    if degradation.jpeg_quality is not None:
        image = Image.open(io.BytesIO(encode_jpeg(image, degradation))).convert(image.mode)
    return image


PageRenderer = Callable[[bytes, int, int], Image.Image]
"""Renders page `index` of a PDF at `dpi` (pdf bytes, index, dpi): how the sheet looked before it was scanned."""


def scan_document(pdf_bytes: bytes, degradation: Degradation, printed: Mapping[str, str],
                  seed: int, render: PageRenderer | None = None) -> list[Image.Image]:
    """Return a scan of every page of `pdf_bytes` degraded as `degradation` says (deterministic by `seed`).

    `render` draws the sheet (default: the PDF in grayscale); marks are still placed from the PDF's text layer.
    """
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    pages: list[Image.Image] = []
    sizes: list[tuple[int, int]] = []
    for index in range(page_count(pdf_bytes)):
        if render is not None:
            image = render(pdf_bytes, index, degradation.dpi)
        else:
            image = render_page(pdf_bytes, index, dpi=degradation.dpi)
        sizes.append(image.size)
        image = _mark_page(image, pdf_bytes, index, degradation, printed, rng)
        pages.append(_scanner(image, degradation, noise))
    _record_illegible(pdf_bytes, len(sizes), degradation, printed, sizes)
    return pages


def encode_jpeg(image: Image.Image, degradation: Degradation) -> bytes:
    """Return `image` as JPEG at the degradation's quality (90 when it has none) and dpi."""
    buffer = io.BytesIO()
    quality = degradation.jpeg_quality or 90
    image.save(buffer, format="JPEG", quality=quality, dpi=(degradation.dpi, degradation.dpi))
    return buffer.getvalue()


def write_scan(pages: list[Image.Image], path: Path, degradation: Degradation) -> None:
    """Write scanned pages as .jpg/.png/.tif (one page) or an image-only .pdf (page size from the dpi)."""
    dpi = degradation.dpi
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        pdf = FPDF(unit="mm")
        pdf.set_creation_date(CREATION_DATE)
        pdf.set_title("Scan")
        for image in pages:
            width, height = image.width / dpi * 25.4, image.height / dpi * 25.4
            pdf.add_page(format=(width, height))
            pdf.image(io.BytesIO(encode_jpeg(image, degradation)), x=0, y=0, w=width, h=height)
        path.write_bytes(bytes(pdf.output()))
        return
    if len(pages) != 1:
        raise ValueError(f"{path.name}: a {suffix} scan holds one page; write multi-page scans as .pdf")
    image = pages[0]
    if suffix in {".jpg", ".jpeg"}:
        path.write_bytes(encode_jpeg(image, degradation))
    elif suffix in {".tif", ".tiff"}:
        image.save(path, format="TIFF", compression="tiff_deflate", dpi=(dpi, dpi))
    else:
        image.save(path, format="PNG", dpi=(dpi, dpi))
