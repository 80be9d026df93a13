"""Files that must not become claims: an exact duplicate, empty, encrypted, truncated, mislabelled, unsupported.

Each writer returns the reason code the intake stage should quarantine the file with (or None for the
duplicate, which is refused as a duplicate, not quarantined).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

from claimflow.samples.sheets import write_stable_zip

USER_PASSWORD = "claim-2026"
OWNER_PASSWORD = "owner-2026"
TRUNCATE_FRACTION = 0.6
FIXED_PDF_ID = ByteStringObject(bytes(range(16)))

DOCX_ENTRIES: list[tuple[str, bytes]] = [
    ("[Content_Types].xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
     b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
     b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
     b'<Default Extension="xml" ContentType="application/xml"/>'
     b'<Override PartName="/word/document.xml" ContentType="application/'
     b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
    ("_rels/.rels", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
     b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
     b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
     b'officeDocument" Target="word/document.xml"/></Relationships>'),
    ("word/document.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
     b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
     b'<w:p><w:r><w:t>Notes from the phone call: customer will send the invoice next week.</w:t></w:r></w:p>'
     b'</w:body></w:document>'),
]


def write_empty(path: Path) -> None:
    """Write a 0-byte file."""
    path.write_bytes(b"")


def write_encrypted(pdf_bytes: bytes, path: Path) -> None:
    """Write `pdf_bytes` re-saved with a user password (RC4-128, fixed file id: byte-stable)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes)))
    writer._ID = ArrayObject((FIXED_PDF_ID, FIXED_PDF_ID))
    writer.encrypt(USER_PASSWORD, OWNER_PASSWORD, algorithm="RC4-128")
    writer._ID = ArrayObject((FIXED_PDF_ID, FIXED_PDF_ID))  # encrypt() draws a random second id
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())


def write_truncated(pdf_bytes: bytes, path: Path) -> None:
    """Write the first 60% of a valid PDF's bytes."""
    path.write_bytes(pdf_bytes[: int(len(pdf_bytes) * TRUNCATE_FRACTION)])


def write_png_as_pdf(path: Path) -> None:
    """Write a small real PNG under a .pdf name."""
    image = Image.new("L", (320, 120), color=245)
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 311, 111), outline=40, width=3)
    draw.text((24, 50), "photo of damage - front bumper", fill=20)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


def write_docx(path: Path) -> None:
    """Write a tiny but real .docx (an unsupported document type)."""
    write_stable_zip(DOCX_ENTRIES, path)
