"""Spreadsheet readers: xlsx via openpyxl (typed values, formula flags) and CSV via the standard library."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from claimflow.errors import DocumentError, ReasonCode
from claimflow.models import ReadDocument
from claimflow.readers import RecordedOcr, read_document
from claimflow.readers.spreadsheet import header_keys, to_cell_value
from claimflow.sniff import FileKind

CLAIMS_CSV = Path("/work/shared/realdocs/auto_insurance_claims/insurance_claims_dev.csv")


def _read(path: Path, kind: FileKind) -> ReadDocument:
    return read_document(path, kind, RecordedOcr())


def test_real_claims_csv_reads_500_rows_of_40_columns() -> None:
    document = _read(CLAIMS_CSV, FileKind.CSV)
    (sheet,) = document.sheets
    assert sheet.name == "insurance_claims_dev"
    assert sheet.header_row == 1
    assert len(sheet.header) == 40 and sheet.header[-1] == "_c39"
    assert len(sheet.rows) == 500
    first = sheet.rows[0]
    assert first.number == 2
    assert first.values["policy_number"] == "521585"
    assert first.values["policy_bind_date"] == "10/17/2014"
    assert first.values["_c39"] == ""
    assert all(isinstance(value, str) for row in sheet.rows for value in row.values.values())
    assert sheet.rows[1].values["collision_type"] == "?"
    # The file's own invariant holds on what we read: nothing was shifted between columns.
    for row in sheet.rows:
        parts = sum(int(str(row.values[key])) for key in ("injury_claim", "property_claim", "vehicle_claim"))
        assert int(str(row.values["total_claim_amount"])) == parts
    assert document.problems == [] and sheet.problems == []


def test_csv_in_cp1252_with_semicolons_is_read_with_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_bytes("Claimant;Amount;City\nJos\xe9 M\xfcller;1.234,50;K\xf6ln\n;;\nAna;10;Porto\n".encode("cp1252"))
    (sheet,) = _read(path, FileKind.CSV).sheets
    assert sheet.header == ["Claimant", "Amount", "City"]
    assert [row.number for row in sheet.rows] == [2, 4]
    assert sheet.rows[0].values == {"Claimant": "Jos\xe9 M\xfcller", "Amount": "1.234,50", "City": "K\xf6ln"}
    assert [problem.code for problem in sheet.problems] == [ReasonCode.TEXT_ENCODING]


def test_csv_with_bom_and_quoted_commas(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["policy", "address", ""])
        writer.writerow(["P-1", "1 Main St, Springfield", "x"])
    (sheet,) = _read(path, FileKind.CSV).sheets
    assert sheet.header == ["policy", "address", "col_3"]
    assert sheet.rows[0].values["address"] == "1 Main St, Springfield"
    assert sheet.problems == []


def test_csv_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n\x81\x8d\x8f\x90\x9d\n")
    with pytest.raises(DocumentError) as info:
        _read(path, FileKind.CSV)
    assert info.value.reason_code is ReasonCode.TEXT_ENCODING
    assert "bad.csv" in info.value.message
    assert info.value.__cause__ is not None


def _write_bordereau(path: Path) -> None:
    """Write an xlsx from real CSV rows: a title row, a header, typed values, a formula without cached value."""
    with CLAIMS_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:5]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Claims"
    sheet.append(["Claims bordereau November"])
    sheet.append(["policy_number", "incident_date", "total_claim_amount", "policy_annual_premium", "check", "_c39"])
    for row in rows:
        month, day, year = (int(part) for part in row["incident_date"].split("/"))
        sheet.append(
            [
                int(row["policy_number"]),
                datetime(year, month, day, 14, 30),
                int(row["total_claim_amount"]),
                float(row["policy_annual_premium"]),
                "?",
                None,
            ]
        )
    sheet.append([None, None, None, None, None, None])
    sheet.append([999, date(2015, 1, 1), "=C3+C4", 0.1, True, None])
    second = workbook.create_sheet("Notes")
    second.append(["key", "value"])
    second.append(["source", "insurance_claims_dev.csv rows 1-5"])
    workbook.save(path)


def test_xlsx_reads_typed_values_and_flags_formula_without_value(tmp_path: Path) -> None:
    path = tmp_path / "bordereau.xlsx"
    _write_bordereau(path)
    document = _read(path, FileKind.XLSX)
    claims, notes = document.sheets
    assert claims.name == "Claims" and claims.header_row == 2
    assert claims.header[:4] == ["policy_number", "incident_date", "total_claim_amount", "policy_annual_premium"]
    assert [row.number for row in claims.rows] == [3, 4, 5, 6, 7, 9]
    first = claims.rows[0].values
    assert first["policy_number"] == 521585
    assert first["incident_date"] == date(2015, 1, 25)
    assert first["total_claim_amount"] == 71610
    assert first["policy_annual_premium"] == Decimal("1406.91")
    assert first["check"] == "?"
    assert first["_c39"] is None
    last = claims.rows[-1].values
    assert last["total_claim_amount"] is None
    assert last["policy_annual_premium"] == Decimal("0.1")
    assert last["check"] is True
    assert [(p.code, p.field) for p in claims.problems] == [(ReasonCode.FORMULA_WITHOUT_VALUE, "Claims!C9")]
    assert notes.rows[0].values == {"key": "source", "value": "insurance_claims_dev.csv rows 1-5"}


def test_encrypted_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000)
    with pytest.raises(DocumentError) as info:
        _read(path, FileKind.XLSX)
    assert info.value.reason_code is ReasonCode.SPREADSHEET_ENCRYPTED
    assert "locked.xlsx" in info.value.message


def test_damaged_xlsx_is_corrupt(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    _write_bordereau(good)
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(DocumentError) as info:
        _read(path, FileKind.XLSX)
    assert info.value.reason_code is ReasonCode.SPREADSHEET_CORRUPT
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1406.91, Decimal("1406.91")),
        (0.1, Decimal("0.1")),
        (7, 7),
        (False, False),
        (datetime(2024, 2, 29, 23, 59), date(2024, 2, 29)),
        ("", ""),
        ("?", "?"),
        (None, None),
    ],
)
def test_to_cell_value_keeps_types_without_float(raw: object, expected: object) -> None:
    value = to_cell_value(raw)
    assert value == expected and type(value) is type(expected)


def test_header_keys_keep_empty_and_repeated_columns() -> None:
    assert header_keys(["a", None, "a", " b ", ""]) == ["a", "col_2", "a_3", "b", "col_5"]
