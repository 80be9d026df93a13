"""Page images for the review workstation, rendered from the archived original.

PDF pages are rendered with pypdfium2 (the same library the reader uses for scans), images are shown as they
are (the right frame of a multi-page TIFF, EXIF orientation applied), both re-encoded as PNG so that the
browser can show any of them and no camera metadata leaves the server. Boxes of extracted fields are
fractions of the page, so they fit the image at any size.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from claimflow.errors import ClaimFlowError, ExitCode
from claimflow.readers.pdfium_lock import PDFIUM_LOCK

DISPLAY_DPI = 110
MAX_DISPLAY_PX = 1600
IMAGE_KINDS = frozenset({"png", "jpeg", "tiff"})
# pdfium is not thread-safe and the server renders in a thread pool: one pdfium call at a time, process-wide
_PDFIUM_LOCK = PDFIUM_LOCK


class PageImageError(ClaimFlowError):
    """A page cannot be shown (no such page, the original is not a paged document, or it no longer opens)."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class PageImage:
    """A rendered page: PNG bytes and the pixel size."""

    png: bytes
    width: int
    height: int


def has_page_images(kind: str | None) -> bool:
    """Return whether documents of this kind have pages to show (PDFs and images; not spreadsheets)."""
    return kind == "pdf" or kind in IMAGE_KINDS


def render_page(path: Path, kind: str | None, number: int) -> PageImage:
    """Return page `number` (1-based) of the archived original at `path` as a PNG."""
    if not has_page_images(kind):
        raise PageImageError(f"document kind {kind or 'unknown'} has no page images")
    if not path.is_file():
        raise PageImageError(f"the archived original {path.name} is missing; restore the archive")
    if kind == "pdf":
        with _PDFIUM_LOCK:
            image = _render_pdf(path, number)
    else:
        image = _image_frame(path, number)
    image.thumbnail((MAX_DISPLAY_PX, MAX_DISPLAY_PX))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return PageImage(out.getvalue(), image.width, image.height)


def _render_pdf(path: Path, number: int) -> Image.Image:
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise PageImageError(f"{path.name} does not open as a PDF any more ({exc})") from exc
    try:
        if not 1 <= number <= len(document):
            raise PageImageError(f"page {number} does not exist (the document has {len(document)})")
        page = document[number - 1]
        try:
            width, height = page.get_size()
            scale = min(DISPLAY_DPI / 72, MAX_DISPLAY_PX / max(width, height, 1.0))
            rendered: Image.Image = page.render(scale=scale).to_pil()
            return rendered.convert("RGB")
        finally:
            page.close()
    finally:
        document.close()


def _image_frame(path: Path, number: int) -> Image.Image:
    try:
        with Image.open(path) as opened:
            for index, frame in enumerate(ImageSequence.Iterator(opened), start=1):
                if index == number:
                    shown = ImageOps.exif_transpose(frame.copy())
                    return shown.convert("RGB" if shown.mode not in ("L", "RGB") else shown.mode)
    except (UnidentifiedImageError, OSError) as exc:
        raise PageImageError(f"{path.name} does not open as an image any more ({exc})") from exc
    raise PageImageError(f"page {number} does not exist in this image file")
