"""Read tabular documents (claims bordereaux, policy registers): one record of Fields per data row.

Header names are matched to the spec's `columns` synonyms ignoring case, spaces, underscores and
punctuation. Cells the reader already typed (Decimal, int, date) are taken with confidence 1.0; strings
are parsed with the spec's locale and get a slightly lower confidence. A cell that fails to parse adds
a FIELD_INVALID Problem naming `sheet!row!column` and the field stays absent from that record.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from claimflow.errors import ReasonCode
from claimflow.extract_values import parse_value
from claimflow.models import CellValue, Field, Money, Problem, Provenance, ReadMethod, Sheet
from claimflow.specs import FieldSpec, Spec

TYPED_CELL_CONFIDENCE = 1.0
PARSED_CELL_CONFIDENCE = 0.97
TEXT_CELL_CONFIDENCE = 0.99
AMBIGUOUS_FACTOR = 0.75


def header_key(text: str) -> str:
    """Normalise a header for matching: lower case, letters and digits only (`Policy No.` -> `policyno`)."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def map_columns(header: list[str], spec: Spec) -> dict[str, str]:
    """Return {field name: header text as printed} for every spec field found in the header."""
    by_key = {header_key(column): column for column in header if column}
    mapping: dict[str, str] = {}
    for name, field_spec in spec.fields.items():
        for synonym in (name, *field_spec.columns):
            column = by_key.get(header_key(synonym))
            if column is not None:
                mapping[name] = column
                break
    return mapping


def extract_records(sheets: list[Sheet], spec: Spec) -> tuple[list[dict[str, Field]], list[Problem]]:
    """Return one record per data row of every sheet whose header maps to the spec, and the problems."""
    records: list[dict[str, Field]] = []
    problems: list[Problem] = []
    for sheet in sheets:
        mapping = map_columns(sheet.header, spec)
        if not mapping:
            continue
        method = _method_of(sheet)
        for row in sheet.rows:
            record: dict[str, Field] = {}
            for name, column in mapping.items():
                provenance = Provenance(method=method, sheet=sheet.name, row=row.number, column=column)
                field = _cell_field(name, spec.fields[name], spec, provenance, row.values.get(column))
                if isinstance(field, Problem):
                    problems.append(field)
                elif field is not None:
                    record[name] = field
            for name, field_spec in spec.fields.items():
                if field_spec.required and name not in record:
                    problems.append(
                        Problem(
                            ReasonCode.FIELD_MISSING,
                            f"{sheet.name}!{row.number}: required field {name} is empty or has no column",
                            field=name,
                        )
                    )
            if record:
                records.append(record)
        for name, field_spec in spec.fields.items():
            if field_spec.required and name not in mapping:
                problems.append(
                    Problem(ReasonCode.FIELD_MISSING, f"{sheet.name}: no column for required field {name}", field=name)
                )
    return records, problems


def _method_of(sheet: Sheet) -> ReadMethod:
    """Return CSV when no cell was typed by the reader (CSV readers give strings only), else SPREADSHEET."""
    typed = any(
        not isinstance(value, str) and value is not None for row in sheet.rows[:50] for value in row.values.values()
    )
    return ReadMethod.SPREADSHEET if typed else ReadMethod.CSV


def _cell_field(
    name: str, field_spec: FieldSpec, spec: Spec, provenance: Provenance, cell: CellValue
) -> Field | Problem | None:
    """Type one cell as a Field, a Problem when it does not parse, or None when it is empty."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    raw = str(cell)
    if raw.strip() in field_spec.missing_values:
        return None
    typed_value = _typed_cell(cell, field_spec, spec)
    if typed_value is not None:
        return Field(name, typed_value, TYPED_CELL_CONFIDENCE, provenance, raw)
    parsed = parse_value(raw, field_spec, spec)
    if parsed is None:
        return None
    if parsed.error is not None and not parsed.keep:
        return Problem(
            ReasonCode.FIELD_INVALID,
            f"{provenance.sheet}!{provenance.row}!{provenance.column}: cannot read a {field_spec.type} value "
            f"for {name}; correct the cell",
            field=name,
        )
    confidence = TEXT_CELL_CONFIDENCE if field_spec.type in ("text", "code") else PARSED_CELL_CONFIDENCE
    if parsed.ambiguous:
        confidence *= AMBIGUOUS_FACTOR
    if parsed.error is not None:
        confidence *= 0.5
    value = parsed.value
    if isinstance(value, Money) and value.currency is None and spec.currency is not None:
        value = Money(value.amount, spec.currency)
    return Field(name, value, round(confidence, 4), provenance, raw)


def _typed_cell(cell: CellValue, field_spec: FieldSpec, spec: Spec) -> Money | date | int | None:
    """Take a cell the reader already typed when it fits the field type, else None (parse the text)."""
    if field_spec.type == "date" and isinstance(cell, date):
        return cell.date() if isinstance(cell, datetime) else cell
    if field_spec.type == "money" and isinstance(cell, Decimal | int) and not isinstance(cell, bool):
        return Money(Decimal(cell).quantize(Decimal("0.01")), spec.currency)
    if field_spec.type == "integer" and isinstance(cell, int) and not isinstance(cell, bool):
        return cell
    return None
