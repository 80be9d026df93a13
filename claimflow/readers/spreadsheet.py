"""Read spreadsheets (xlsx with openpyxl, CSV with the standard library) into sheets of header-keyed rows.

This is the only module that imports openpyxl. Workbooks are streamed (read_only) so a large bordereau reads in
constant memory. Cell values keep their type without guessing: floats become Decimal via str(), datetimes
become dates, ints stay ints, text stays text ('?' and '' included; the extractor decides what they mean).
Formula cells without a cached value are flagged, not computed. CSV values are all strings.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from claimflow.errors import DocumentError, ReasonCode
from claimflow.models import CellValue, Problem, ReadDocument, Row, Sheet

logger = logging.getLogger(__name__)

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SNIFF_BYTES = 64 * 1024
_CSV_DELIMITERS = ",;\t|"
# What a damaged workbook makes openpyxl (and the zip/XML layers under it) raise.
_XLSX_ERRORS: tuple[type[BaseException], ...] = (
    InvalidFileException,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    OSError,
    EOFError,
    SyntaxError,  # xml.etree.ElementTree.ParseError is a SyntaxError
)


def read_xlsx(path: Path) -> ReadDocument:
    """Read every worksheet of the workbook at `path`; raise DocumentError when it cannot be opened."""
    with path.open("rb") as handle:
        if handle.read(len(_OLE2_MAGIC)) == _OLE2_MAGIC:
            raise DocumentError(
                f"{path.name}: the spreadsheet is password-protected (encrypted); remove the password, "
                "save it as .xlsx and drop it again",
                reason_code=ReasonCode.SPREADSHEET_ENCRYPTED,
            )
    try:
        formulas = _formula_cells(path)
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = [_read_worksheet(ws, formulas.get(ws.title, set())) for ws in workbook.worksheets]
        finally:
            workbook.close()
    except _XLSX_ERRORS as exc:
        raise DocumentError(
            f"{path.name}: the spreadsheet is damaged and cannot be read; open it, save it as .xlsx and drop it again",
            reason_code=ReasonCode.SPREADSHEET_CORRUPT,
        ) from exc
    return ReadDocument(sheets=sheets)


def _formula_cells(path: Path) -> dict[str, set[tuple[int, int]]]:
    """Return the (row, column) of every formula cell, by sheet title (a second, formula-only pass)."""
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        result: dict[str, set[tuple[int, int]]] = {}
        for ws in workbook.worksheets:
            cells = {
                (cell.row, cell.column)
                for row in ws.iter_rows()
                for cell in row
                if getattr(cell, "data_type", None) == "f"
            }
            result[ws.title] = cells
        return result
    finally:
        workbook.close()


def _read_worksheet(ws: Any, formulas: set[tuple[int, int]]) -> Sheet:
    """Read one worksheet: find the header row, key each later non-empty row by header text."""
    sheet = Sheet(name=str(ws.title), header_row=0, header=[])
    pending: list[tuple[int, list[CellValue]]] = []
    for number, raw in enumerate(ws.iter_rows(values_only=True), start=1):
        values = [to_cell_value(value) for value in raw]
        for column, value in enumerate(values, start=1):
            if value is None and (number, column) in formulas:
                cell = f"{_column_letter(column)}{number}"
                sheet.problems.append(
                    Problem(
                        ReasonCode.FORMULA_WITHOUT_VALUE,
                        f"sheet {sheet.name!r} cell {cell} holds a formula with no saved value; open the file in "
                        "Excel or LibreOffice, let it recalculate, save and drop it again",
                        field=f"{sheet.name}!{cell}",
                    )
                )
        if not sheet.header:
            if _is_header(values):
                sheet.header_row, sheet.header = number, header_keys(values)
            elif any(_is_filled(value) for value in values):
                pending.append((number, values))
            continue
        if any(_is_filled(value) for value in values):
            sheet.rows.append(Row(number, _keyed(sheet.header, values)))
    if not sheet.header and pending:
        # No row has two text cells (a one-column sheet): take the first non-empty row as the header.
        first, *rest = pending
        sheet.header_row, sheet.header = first[0], header_keys(first[1])
        sheet.rows = [Row(number, _keyed(sheet.header, values)) for number, values in rest]
    return sheet


def _column_letter(column: int) -> str:
    """Return the spreadsheet column letters for a 1-based column index (1 -> A, 28 -> AB)."""
    letters = ""
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def to_cell_value(value: object) -> CellValue:
    """Return a cell value in the model's types: float -> Decimal via str(), datetime -> date, ints and text kept."""
    if value is None or isinstance(value, str | bool | int | Decimal):
        return value
    if isinstance(value, float):
        try:
            return Decimal(str(value))
        except InvalidOperation:  # nan/inf cannot be money or a count; keep what was printed
            return str(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time | timedelta):
        return str(value)
    return str(value)


def _is_filled(value: CellValue) -> bool:
    """Return True for a cell that holds something other than nothing or blanks."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _is_header(values: Sequence[CellValue]) -> bool:
    """Return True for a row with at least two non-empty text cells."""
    return sum(1 for value in values if isinstance(value, str) and value.strip()) >= 2


def header_keys(values: Iterable[CellValue]) -> list[str]:
    """Return unique row keys from header cells: text as printed, `col_N` for an empty one, `name_N` for a repeat."""
    keys: list[str] = []
    for column, value in enumerate(values, start=1):
        text = "" if value is None else str(value).strip()
        key = text or f"col_{column}"
        if key in keys:
            key = f"{key}_{column}"
        keys.append(key)
    return keys


def _keyed(header: list[str], values: Sequence[CellValue]) -> dict[str, CellValue]:
    """Return the row's values by header key; cells past the header get `col_N` keys, missing cells None."""
    keyed: dict[str, CellValue] = dict.fromkeys(header)
    for column, value in enumerate(values, start=1):
        if column <= len(header):
            keyed[header[column - 1]] = value
        elif _is_filled(value):
            keyed[f"col_{column}"] = value
    return keyed


def read_csv(path: Path) -> ReadDocument:
    """Read a CSV file as one sheet named after the file; raise DocumentError when it is not text."""
    data = path.read_bytes()
    problems: list[Problem] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise DocumentError(
                f"{path.name}: the CSV is neither UTF-8 nor Windows-1252 text; export it again as UTF-8 CSV "
                "and drop it again",
                reason_code=ReasonCode.TEXT_ENCODING,
            ) from exc
        problems.append(
            Problem(
                ReasonCode.TEXT_ENCODING,
                f"{path.name}: not UTF-8, read as Windows-1252; check accented names and currency signs",
            )
        )
    if "\x00" in text:
        raise DocumentError(
            f"{path.name}: the CSV holds binary data (NUL bytes); export it again as CSV and drop it again",
            reason_code=ReasonCode.SPREADSHEET_CORRUPT,
        )
    sheet = Sheet(name=path.stem, header_row=0, header=[], problems=problems)
    pending: list[tuple[int, list[CellValue]]] = []
    try:
        records = csv.reader(io.StringIO(text, newline=""), dialect=_sniff_dialect(text))
        for number, record in enumerate(records, start=1):
            values: list[CellValue] = list(record)
            if not any(_is_filled(value) for value in values):
                continue
            if sheet.header:
                sheet.rows.append(Row(number, _keyed(sheet.header, values)))
            elif _is_header(values):
                sheet.header_row, sheet.header = number, header_keys(values)
            else:
                pending.append((number, values))
    except csv.Error as exc:
        raise DocumentError(
            f"{path.name}: the CSV is malformed ({exc}); export it again and drop it again",
            reason_code=ReasonCode.SPREADSHEET_CORRUPT,
        ) from exc
    if not sheet.header and pending:
        first, *rest = pending
        sheet.header_row, sheet.header = first[0], header_keys(first[1])
        sheet.rows = [Row(number, _keyed(sheet.header, values)) for number, values in rest]
    return ReadDocument(sheets=[sheet])


def _sniff_dialect(text: str) -> type[csv.Dialect]:
    """Return the CSV dialect guessed from the first complete lines; comma-separated when unsure."""
    sample = text[:_SNIFF_BYTES]
    if len(text) > _SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS)
    except csv.Error:
        return csv.excel
