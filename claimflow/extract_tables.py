"""Read repeating rows (CMS-1500 service lines, invoice lines) between a table anchor and its end.

Each visual line between the anchor and the first end anchor is matched against the spec's row regex;
its named groups become the row's columns, typed by the table's column types. A cell that does not
parse (the CMS-1500 sample's day `si`) becomes None with a FIELD_INVALID Problem, the row is kept.
"""

from __future__ import annotations

import re

from claimflow.errors import ReasonCode
from claimflow.extract_layout import Line, find_anchors, union_box
from claimflow.models import Field, FieldScalar, Money, Page, Problem, Provenance
from claimflow.normalise import normalise_code, normalise_text, parse_date, parse_money
from claimflow.specs import Spec, TableSpec

MISSING_ROWS_FACTOR = 0.7
SPACED_DATE = re.compile(r"(\d{2})(?=\W*\s)\W+(\d{2})\W+(\d{2,4})")
"""A date printed in boxes (`08 23 26`) that OCR read with the boxes' rules as punctuation (`08) 23; 26`)."""


def extract_table(
    name: str, table: TableSpec, spec: Spec, pages: list[tuple[Page, list[Line]]], problems: list[Problem]
) -> Field | None:
    """Return the table as one Field whose value is a list of row dicts, or None if no row was found."""
    for page, lines in pages:
        hits = find_anchors(lines, table.anchor, table.fuzzy)
        if not hits:
            continue
        start = hits[0].line_index + 1
        end = len(lines)
        for end_anchor in table.end_anchors:
            for hit in find_anchors(lines[start:], end_anchor, table.fuzzy):
                end = min(end, start + hit.line_index)
        rows, used = _rows(name, table, spec, page, _bands(lines[start:end], table.row_gap), problems)
        if not rows:
            continue
        confidences = [w.confidence for line in used for w in line.words]
        confidence = 0.5 * min(confidences) + 0.5 * sum(confidences) / len(confidences)
        if len(rows) < table.min_rows:
            confidence *= MISSING_ROWS_FACTOR
            problems.append(
                Problem(
                    ReasonCode.FIELD_LOW_CONFIDENCE,
                    f"{name}: only {len(rows)} rows read, expected at least {table.min_rows}",
                    page=page.number,
                    field=name,
                )
            )
        box = union_box([w for line in used for w in line.words])
        raw = "\n".join(line.text for line in used)
        provenance = Provenance(method=page.method, page=page.number, bbox=box)
        return Field(name, rows, round(confidence, 4), provenance, raw)
    return None


def _bands(lines: list[Line], gap: float) -> list[Line]:
    """Merge lines whose tops lie within `gap` of a band's first line (one scanned row read as several lines)."""
    if gap <= 0:
        return lines
    bands: list[list[Line]] = []
    for line in lines:
        if bands and line.top - bands[-1][0].top <= gap:
            bands[-1].append(line)
        else:
            bands.append([line])
    return [Line(tuple(sorted((w for part in band for w in part.words), key=lambda w: w.bbox[0]))) for band in bands]


def _rows(
    name: str, table: TableSpec, spec: Spec, page: Page, lines: list[Line], problems: list[Problem]
) -> tuple[list[dict[str, FieldScalar | None]], list[Line]]:
    """Match each line against the row pattern and type its columns."""
    pattern = re.compile(table.row_pattern, re.IGNORECASE)
    rows: list[dict[str, FieldScalar | None]] = []
    used: list[Line] = []
    for line in lines:
        found = pattern.search(line.text)
        if found is None:
            continue
        row: dict[str, FieldScalar | None] = {}
        for column, kind in table.columns.items():
            raw = found.group(column)
            row[column] = _cell(raw, kind, spec) if raw else None
            if raw and row[column] is None:
                problems.append(
                    Problem(
                        ReasonCode.FIELD_INVALID,
                        f"{name} row {len(rows) + 1}: {column} {kind} value cannot be read",
                        page=page.number,
                        field=name,
                    )
                )
        rows.append(row)
        used.append(line)
    return rows, used


def _cell(raw: str, kind: str, spec: Spec) -> FieldScalar | None:
    """Type one cell; None when it does not parse."""
    try:
        if kind == "money":
            money = parse_money(raw, decimal_comma=spec.locale.decimal_comma)
            return Money(money.amount, money.currency or spec.currency)
        if kind == "date":
            return parse_date(
                _spaced_date(raw), day_first=spec.locale.day_first, month_first_spaced=spec.locale.month_first_spaced
            ).value
    except ValueError:
        return None
    if kind == "code":
        return normalise_code(raw)
    return normalise_text(raw)


def _spaced_date(raw: str) -> str:
    """Return a boxed date read with stray punctuation between its parts as `MM DD YY`; others unchanged."""
    found = SPACED_DATE.fullmatch(raw.strip())
    return " ".join(found.groups()) if found else raw
