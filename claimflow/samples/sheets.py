"""Byte-stable zip containers: openpyxl workbooks and tiny Office files with fixed timestamps.

openpyxl stamps the save time into docProps/core.xml and every zip entry; both are pinned here so the
same seed gives byte-identical spreadsheets.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

FIXED_ZIP_TIME = (2026, 11, 1, 9, 0, 0)
FIXED_W3CDTF = "2026-11-01T09:00:00Z"
_W3CDTF = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def write_stable_zip(entries: list[tuple[str, bytes]], path: Path) -> None:
    """Write a deflated zip of `entries` (name, bytes) with fixed timestamps."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def save_workbook(workbook: Workbook, path: Path) -> None:
    """Save an openpyxl workbook to `path` with pinned timestamps (byte-identical across runs)."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    entries: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        for info in archive.infolist():
            data = archive.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _W3CDTF.sub(rb"\g<1>" + FIXED_W3CDTF.encode() + rb"\g<2>", data)
            entries.append((info.filename, data))
    write_stable_zip(entries, path)
