"""Say what kind of file a document is from its first bytes, and check that its extension agrees.

Intake calls `sniff_file` before anything else reads the file. Only magic bytes and the standard library are
used (zipfile for xlsx), so no third-party parser ever sees a file of the wrong type. A file is refused with a
`DocumentError` whose reason code says why: empty, an extension that lies about the content, an encrypted
spreadsheet, or a type ClaimFlow does not read.
"""

from __future__ import annotations

import zipfile
from enum import StrEnum
from pathlib import Path

from claimflow.errors import DocumentError, ReasonCode


class FileKind(StrEnum):
    """The kinds of file the readers accept; stored, so values are never renamed."""

    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    XLSX = "xlsx"
    CSV = "csv"


EXTENSION_KINDS: dict[str, FileKind] = {
    ".pdf": FileKind.PDF,
    ".png": FileKind.PNG,
    ".jpg": FileKind.JPEG,
    ".jpeg": FileKind.JPEG,
    ".tif": FileKind.TIFF,
    ".tiff": FileKind.TIFF,
    ".xlsx": FileKind.XLSX,
    ".csv": FileKind.CSV,
}

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# A PDF header may follow a little junk (some mailers and scanners prepend bytes); readers tolerate it too.
_PDF_HEADER_WINDOW = 1024
_TEXT_SAMPLE_BYTES = 64 * 1024


def supported_kinds_text() -> str:
    """Return the supported file extensions as a short human list."""
    return ", ".join(sorted(EXTENSION_KINDS))


def sniff_file(path: Path) -> FileKind:
    """Return the kind of `path` from its magic bytes; raise DocumentError if empty, mislabelled or unsupported."""
    name = path.name
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(
            f"{name}: the file is empty (0 bytes); drop the complete file again", reason_code=ReasonCode.EMPTY_FILE
        )
    extension = path.suffix.lower()
    declared = EXTENSION_KINDS.get(extension)
    with path.open("rb") as handle:
        head = handle.read(max(_PDF_HEADER_WINDOW, _TEXT_SAMPLE_BYTES))

    if head.startswith(_OLE2_MAGIC) and declared is FileKind.XLSX:
        raise DocumentError(
            f"{name}: the spreadsheet is password-protected (encrypted); remove the password, save it as .xlsx "
            "and drop it again",
            reason_code=ReasonCode.SPREADSHEET_ENCRYPTED,
        )
    if head.startswith(_ZIP_MAGIC) and declared is FileKind.XLSX and not _is_readable_zip(path):
        raise DocumentError(
            f"{name}: the spreadsheet is damaged (not a readable zip, maybe cut short); "
            "save it again and drop it again",
            reason_code=ReasonCode.SPREADSHEET_CORRUPT,
        )
    content = _kind_from_content(path, head)
    if content is None and declared is FileKind.CSV and _looks_like_text(head):
        content = FileKind.CSV
    if content is None:
        what = f"extension {extension!r}" if extension else "no extension"
        raise DocumentError(
            f"{name}: unsupported file type ({what}, content not recognised); supported kinds are "
            f"{supported_kinds_text()}",
            reason_code=ReasonCode.UNSUPPORTED_TYPE,
        )
    if declared is not content:
        said = f"extension {extension!r} says {declared.value.upper()}" if declared else "it has no known extension"
        raise DocumentError(
            f"{name}: the content is {content.value.upper()} but {said}; rename it with the right extension "
            "and drop it again",
            reason_code=ReasonCode.EXTENSION_MISMATCH,
        )
    return content


def _kind_from_content(path: Path, head: bytes) -> FileKind | None:
    """Return the kind the magic bytes announce, or None for anything else (text included)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return FileKind.TIFF
    if b"%PDF-" in head[:_PDF_HEADER_WINDOW]:
        return FileKind.PDF
    if head.startswith(_ZIP_MAGIC) and _is_xlsx_zip(path):
        return FileKind.XLSX
    return None


def _is_xlsx_zip(path: Path) -> bool:
    """Return True when the zip at `path` is an Excel workbook (it holds xl/workbook.xml)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _is_readable_zip(path: Path) -> bool:
    """Return True when `path` opens as a zip archive (its central directory is intact)."""
    try:
        with zipfile.ZipFile(path):
            return True
    except (zipfile.BadZipFile, OSError):
        return False


def _looks_like_text(head: bytes) -> bool:
    """Return True when the sample has no NUL bytes and few control characters (a text file)."""
    if b"\x00" in head:
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls <= len(head) // 100
