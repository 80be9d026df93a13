"""File-type sniffing: magic bytes decide, the extension must agree, bad files get a reason code."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from claimflow.errors import DocumentError, ReasonCode
from claimflow.sniff import FileKind, sniff_file

REALDOCS = Path("/work/shared/realdocs")
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (20, 10), 255).save(buffer, format=fmt)
    return buffer.getvalue()


def _zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
XLSX_BYTES = _zip_bytes(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"])


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("a.pdf", PDF_BYTES, FileKind.PDF),
        ("a.PDF", PDF_BYTES, FileKind.PDF),
        ("junk-before-header.pdf", b"\r\n\x00junk" + PDF_BYTES, FileKind.PDF),
        ("a.png", _image_bytes("PNG"), FileKind.PNG),
        ("a.jpg", _image_bytes("JPEG"), FileKind.JPEG),
        ("a.JPEG", _image_bytes("JPEG"), FileKind.JPEG),
        ("a.tif", _image_bytes("TIFF"), FileKind.TIFF),
        ("a.TIFF", _image_bytes("TIFF"), FileKind.TIFF),
        ("a.xlsx", XLSX_BYTES, FileKind.XLSX),
        ("a.csv", b"policy,amount\nP1,10.00\n", FileKind.CSV),
        ("a.CSV", "name;amount\nJos\xe9;10\n".encode("cp1252"), FileKind.CSV),
    ],
)
def test_sniff_recognises_each_supported_kind(tmp_path: Path, name: str, data: bytes, kind: FileKind) -> None:
    assert sniff_file(_write(tmp_path, name, data)) is kind


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        sniff_file(_write(tmp_path, "claim.pdf", b""))
    assert info.value.reason_code is ReasonCode.EMPTY_FILE


def test_png_named_pdf_is_an_extension_mismatch_naming_both(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        sniff_file(_write(tmp_path, "scan.pdf", _image_bytes("PNG")))
    assert info.value.reason_code is ReasonCode.EXTENSION_MISMATCH
    assert "PNG" in info.value.message and "PDF" in info.value.message
    assert "scan.pdf" in info.value.message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("letter.docx", _zip_bytes(["[Content_Types].xml", "word/document.xml"])),
        ("bundle.zip", _zip_bytes(["a.txt"])),
        ("plain-zip.xlsx", _zip_bytes(["a.txt"])),
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100),
        ("notes.txt", b"policy,amount\nP1,10.00\n"),
        ("old.xls", OLE2),
        ("binary.csv", b"\x00\x01\x02\x03" * 50),
        ("unknown.pdf", b"hello, this is not a pdf"),
    ],
)
def test_unsupported_files_are_refused_with_the_supported_kinds(tmp_path: Path, name: str, data: bytes) -> None:
    with pytest.raises(DocumentError) as info:
        sniff_file(_write(tmp_path, name, data))
    assert info.value.reason_code is ReasonCode.UNSUPPORTED_TYPE
    assert ".pdf" in info.value.message and ".xlsx" in info.value.message


def test_encrypted_xlsx_is_reported_as_encrypted(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        sniff_file(_write(tmp_path, "bordereau.XLSX", OLE2))
    assert info.value.reason_code is ReasonCode.SPREADSHEET_ENCRYPTED


def test_truncated_xlsx_is_corrupt(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        sniff_file(_write(tmp_path, "cut.xlsx", XLSX_BYTES[: len(XLSX_BYTES) // 2]))
    assert info.value.reason_code is ReasonCode.SPREADSHEET_CORRUPT


def test_xlsx_named_csv_is_a_mismatch(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        sniff_file(_write(tmp_path, "rows.csv", XLSX_BYTES))
    assert info.value.reason_code is ReasonCode.EXTENSION_MISMATCH


@pytest.mark.parametrize(
    ("relative", "kind"),
    [
        ("sroie/img/000.jpg", FileKind.JPEG),
        ("invoice2data/oyo.png", FileKind.PNG),
        ("cms1500/cms1500_filled_sample.pdf", FileKind.PDF),
        ("pdf_robustness/pypdf__encrypted-file.pdf", FileKind.PDF),
        ("auto_insurance_claims/insurance_claims_dev.csv", FileKind.CSV),
    ],
)
def test_real_documents_sniff_as_their_kind(relative: str, kind: FileKind) -> None:
    assert sniff_file(REALDOCS / relative) is kind


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.binary(min_size=0, max_size=300), suffix=st.sampled_from([".pdf", ".png", ".xlsx", ".csv", ".bin", ""]))
def test_arbitrary_bytes_give_a_kind_or_a_document_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = _write(tmp_path, f"x{suffix}", data)
    try:
        kind = sniff_file(path)
    except DocumentError as exc:
        assert exc.reason_code in set(ReasonCode)
    else:
        assert kind in set(FileKind)
