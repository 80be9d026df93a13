"""Fake scans: render a text PDF page at 200 dpi and degrade it like a cheap office scanner.

Grayscale, a mild skew (-2..2 degrees, white fill), a slight blur, gaussian noise and JPEG artefacts.
All randomness comes from the numpy Generator passed in, so the same seed gives the same bytes.
Image-only PDFs embed the JPEG as the page's only content: no text layer.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter

from claimflow.samples.forms import new_fpdf

SCAN_DPI = 200
NOISE_SIGMA = 6.0
BLUR_RADIUS = 0.5
JPEG_QUALITY = 75


def render_page(pdf_bytes: bytes, page_index: int = 0, dpi: int = SCAN_DPI, *, forms: bool = False) -> Image.Image:
    """Render one page of a PDF (given as bytes) to a grayscale image at `dpi`; `forms` draws filled form fields."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        if forms:
            document.init_forms()
        bitmap = document[page_index].render(scale=dpi / 72, grayscale=True, may_draw_forms=forms)
        image: Image.Image = bitmap.to_pil().convert("L")
    finally:
        document.close()
    return image


def degrade(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Return `image` skewed, blurred, noisy and JPEG-compressed, as a scanner would leave it."""
    angle = float(rng.uniform(-2.0, 2.0))
    skewed = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    blurred = skewed.filter(ImageFilter.GaussianBlur(radius=BLUR_RADIUS))
    pixels = np.asarray(blurred, dtype=np.float32)
    noisy = pixels + rng.normal(0.0, NOISE_SIGMA, size=pixels.shape).astype(np.float32)
    degraded = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), mode="L")
    return Image.open(io.BytesIO(to_jpeg(degraded))).convert("L")


def to_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """Return the image encoded as JPEG bytes (200 dpi recorded)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, dpi=(SCAN_DPI, SCAN_DPI))
    return buffer.getvalue()


def write_image(image: Image.Image, path: Path) -> None:
    """Save a scan as PNG, JPEG or TIFF, chosen by the suffix of `path`."""
    suffix = path.suffix.lower()
    if suffix in {".jpg", ".jpeg"}:
        path.write_bytes(to_jpeg(image))
    elif suffix in {".tif", ".tiff"}:
        image.save(path, format="TIFF", compression="tiff_deflate", dpi=(SCAN_DPI, SCAN_DPI))
    else:
        image.save(path, format="PNG", dpi=(SCAN_DPI, SCAN_DPI))


def write_image_pdf(images: list[Image.Image], path: Path) -> None:
    """Write an image-only PDF: one A4 page per image, the JPEG its only content."""
    pdf = new_fpdf()
    pdf.set_title("Scan")
    for image in images:
        pdf.add_page()
        pdf.image(io.BytesIO(to_jpeg(image)), x=0, y=0, w=210, h=297)
    path.write_bytes(bytes(pdf.output()))


def scan_pdf(pdf_bytes: bytes, rng: np.random.Generator) -> list[Image.Image]:
    """Return a degraded scan of every page of a PDF."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        count = len(document)
    finally:
        document.close()
    return [degrade(render_page(pdf_bytes, index), rng) for index in range(count)]


TextBox = tuple[float, float, float, float]


def find_text_boxes(pdf_bytes: bytes, text: str, page_index: int = 0) -> list[TextBox]:
    """Return the boxes (x0, top, x1, bottom in points, origin top-left) of each occurrence of `text` on a page."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        page = document[page_index]
        height = page.get_height()
        textpage = page.get_textpage()
        searcher = textpage.search(text, match_case=True)
        boxes: list[TextBox] = []
        while (hit := searcher.get_next()) is not None:
            start, count = hit
            chars = [textpage.get_charbox(index, loose=True) for index in range(start, start + count)]
            chars = [box for box in chars if box[2] > box[0]]
            if chars:
                boxes.append((min(b[0] for b in chars), height - max(b[3] for b in chars),
                              max(b[2] for b in chars), height - min(b[1] for b in chars)))
    finally:
        document.close()
    return boxes


def page_count(pdf_bytes: bytes) -> int:
    """Return the number of pages of a PDF given as bytes."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        return len(document)
    finally:
        document.close()
