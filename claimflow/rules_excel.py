"""Excel decision tables: read a workbook's sheets as rule rows, write their canonical text export, check overlaps.

A rule set includes a workbook with `tables: [{workbook: small_claims.xlsx, hit_policy: unique}]`. Every sheet
whose name does not start with `_` is one decision table: row 1 holds the column names, every further row is one
rule. Columns named `id`, `priority`, `description`, `when`, `decision`, `code`, `reason`, `payout`, `queue`,
`recommendation` and `documents` are the rule's own keys; every other column is a condition on the fact it names,
written as a DMN-style unary test (`-` or blank: any; `motor, health`; `< 5000`; `(0..5000]`; `!= 'lapsed'`).
Rows compile into the same mapping a YAML rule is written as, so one validator checks both.

Refused, with `workbook!sheet!cell`: formula cells, macro-enabled workbooks, JavaScript operators, cells that are
not a unary test, column names that are no fact. The canonical export (`<workbook>.yml`, next to the workbook) is
the text reviewers diff; a stale export is a load problem. Nothing here imports the expression engine.
"""

from __future__ import annotations

import difflib
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml

TablePolicy = Literal["unique", "first", "any"]
_Path = tuple[str | int, ...]

OUTCOME_COLUMNS = ("decision", "code", "reason", "payout", "queue", "recommendation", "documents")
RULE_COLUMNS = ("id", "priority", "description", "when")
EXPORT_SUFFIX = ".yml"
"""A workbook `x.xlsx` is exported to `x.xlsx.yml`."""

_NUM = r"[-+]?\d+(?:\.\d+)?"
_INTERVAL = re.compile(rf"^([\[\(\]])\s*({_NUM})\s*\.\.\s*({_NUM})\s*([\]\)\[])$")
_COMPARISON = re.compile(r"^(<=|>=|==|!=|<|>|=)\s*(.+)$")
_NUMBER = re.compile(rf"^{_NUM}$")
_QUOTED = re.compile(r"^'([^'\\]*)'$|^\"([^\"\\]*)\"$")
_WORD = re.compile(r"^[A-Za-z_][\w\-]*(?: [\w\-]+)*$")
_JAVASCRIPT = re.compile(r"&&|\|\||===|!==|=>|\bfunction\b|\bvar\b|\blet\b|;")
_INF = Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class Interval:
    """A numeric interval; bounds may be infinite."""

    lo: Decimal
    lo_closed: bool
    hi: Decimal
    hi_closed: bool

    def meets(self, other: Interval) -> bool:
        """Return True when both intervals share at least one number."""
        if self.hi < other.lo or other.hi < self.lo:
            return False
        if self.hi == other.lo:
            return self.hi_closed and other.lo_closed
        if other.hi == self.lo:
            return other.hi_closed and self.lo_closed
        return True

    def holds(self, other: Interval) -> bool:
        """Return True when this interval contains every number of `other`."""
        lo_ok = self.lo < other.lo or (self.lo == other.lo and (self.lo_closed or not other.lo_closed))
        hi_ok = self.hi > other.hi or (self.hi == other.hi and (self.hi_closed or not other.hi_closed))
        return lo_ok and hi_ok


@dataclass(frozen=True, slots=True)
class Condition:
    """What one cell accepts, as far as it can be known without running it: any, numbers, words, or unknown."""

    kind: Literal["any", "numbers", "words", "unknown"]
    intervals: tuple[Interval, ...] = ()
    words: frozenset[str] = frozenset()

    def meets(self, other: Condition) -> bool | None:
        """Return whether some value satisfies both (None: cannot tell)."""
        if self.kind == "any" or other.kind == "any":
            return True
        if self.kind == "unknown" or other.kind == "unknown" or self.kind != other.kind:
            return None
        if self.kind == "numbers":
            return any(a.meets(b) for a in self.intervals for b in other.intervals)
        return bool(self.words & other.words)

    def holds(self, other: Condition) -> bool | None:
        """Return whether every value `other` accepts is accepted here (None: cannot tell)."""
        if self.kind == "any":
            return True
        if other.kind == "any":
            return False
        if self.kind == "unknown" or other.kind == "unknown" or self.kind != other.kind:
            return None
        if self.kind == "numbers":
            return all(any(a.holds(b) for a in self.intervals) for b in other.intervals)
        return other.words <= self.words


ANY = Condition("any")
UNKNOWN = Condition("unknown")


@dataclass(slots=True)
class TableRow:
    """One table row compiled to the YAML rule mapping, with the cell of every key for messages."""

    table: str
    row: int
    data: dict[str, object]
    cells: dict[_Path, str]
    conditions: dict[str, Condition] = field(default_factory=dict)
    extra_when: str | None = None


@dataclass(slots=True)
class Workbook:
    """What a workbook gave: its rows (bad rows left out) and every problem found, located at a cell."""

    rows: list[TableRow]
    problems: list[str]


def export_path(workbook: Path) -> Path:
    """Return where the canonical export of a workbook lives: `x.xlsx` -> `x.xlsx.yml`."""
    return workbook.with_name(workbook.name + EXPORT_SUFFIX)


ExpressionCheck = Callable[[str], "str | None"]
"""Returns the engine's parse error of an expression, or None when it compiles."""


def read_workbook(path: Path, shown: str, facts: Sequence[str], check: ExpressionCheck) -> Workbook:
    """Read every table sheet of a workbook into rule rows; problems are `shown!sheet!cell: message (fix: ...)`.

    `check` parses each translated condition cell, so a cell the engine cannot read is reported at that cell.
    """
    from openpyxl import load_workbook

    if path.suffix.lower() != ".xlsx":
        return Workbook([], [f"{shown}: only .xlsx workbooks are read (fix: save it as an Excel workbook, .xlsx)"])
    if not path.is_file():
        return Workbook([], [f"{shown}: workbook not found (fix: put it beside the rule set or drop it from tables)"])
    try:
        with zipfile.ZipFile(path) as archive:
            if any(name.lower().endswith("vbaproject.bin") for name in archive.namelist()):
                return Workbook([], [f"{shown}: the workbook contains macros; macros never run here "
                                     "(fix: save it as a plain .xlsx without macros)"])
        book = load_workbook(path, data_only=False, read_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        return Workbook([], [f"{shown}: cannot open the workbook ({type(exc).__name__}) (fix: save it again as .xlsx)"])
    rows: list[TableRow] = []
    problems: list[str] = []
    for sheet in book.worksheets:
        if sheet.title.startswith("_"):
            continue
        _read_sheet(sheet, f"{shown}!{sheet.title}", facts, check, rows, problems)
    book.close()
    if not rows and not problems:
        problems.append(f"{shown}: no table sheet with rule rows (fix: add a sheet with a header row and rules)")
    return Workbook(rows, problems)


def _read_sheet(
    sheet: object, where: str, facts: Sequence[str], check: ExpressionCheck, rows: list[TableRow], problems: list[str]
) -> None:
    """Read one sheet: header row, then one rule per non-empty row."""
    grid = list(sheet.iter_rows())  # type: ignore[attr-defined]
    if not grid:
        return
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for cell in grid[0]:
        if cell.value is None or str(cell.value).strip() == "":
            continue
        ref = f"{where}!{cell.coordinate}"
        if cell.data_type == "f":
            problems.append(f"{ref}: formulas are not allowed (fix: type the value itself)")
            continue
        name = str(cell.value).strip()
        if name in seen:
            problems.append(f"{ref}: column '{name}' appears twice (first at {seen[name]}) (fix: keep one)")
            continue
        seen[name] = ref
        if name not in OUTCOME_COLUMNS and name not in RULE_COLUMNS and name not in facts:
            close = difflib.get_close_matches(name, [*facts, *OUTCOME_COLUMNS, *RULE_COLUMNS], n=1)
            fix = f"did you mean '{close[0]}'?" if close else "name a fact listed in rules/README.md"
            problems.append(f"{ref}: unknown column '{name}': neither a fact nor a rule key (fix: {fix})")
            continue
        columns[cell.column] = name
    if "id" not in columns.values():
        problems.append(f"{where}!A1: the header row has no 'id' column (fix: add a column 'id', one rule id a row)")
        return
    for cells in grid[1:]:
        values = [c for c in cells if c.column in columns and c.value is not None and str(c.value).strip() != ""]
        if not values:
            continue
        row = _read_row(cells, columns, where, check, problems)
        if row is not None:
            rows.append(row)


def _read_row(
    cells: Sequence[object], columns: dict[int, str], where: str, check: ExpressionCheck, problems: list[str]
) -> TableRow | None:
    """Compile one row into a rule mapping; None when a cell is refused (its problem is recorded)."""
    first = cells[0]
    row_number = int(first.row)  # type: ignore[attr-defined]
    row = TableRow(table=where, row=row_number, data={}, cells={})
    then: dict[str, object] = {}
    parts: list[str] = []
    ok = True
    id_ref = f"{where}!A{row_number}"
    for cell in cells:
        name = columns.get(cell.column)  # type: ignore[attr-defined]
        if name is None:
            continue
        ref = f"{where}!{cell.coordinate}"  # type: ignore[attr-defined]
        if name == "id":
            id_ref = ref
        value = cell.value  # type: ignore[attr-defined]
        if cell.data_type == "f":  # type: ignore[attr-defined]
            problems.append(f"{ref}: formulas are not allowed (fix: type the value itself, e.g. 5000)")
            ok = False
            continue
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        if isinstance(value, str) and _JAVASCRIPT.search(value) and name not in ("reason", "description"):
            problems.append(f"{ref}: JavaScript is not allowed here: {value!r} (fix: write 'and' / 'or' / '==')")
            ok = False
            continue
        if name in OUTCOME_COLUMNS:
            then[name] = _outcome(name, value)
            row.cells[("then", name)] = ref
        elif name == "when":
            row.extra_when = str(value).strip()
            row.cells[("when",)] = ref
        elif name in RULE_COLUMNS:
            row.data[name] = _plain(value) if name != "priority" else _priority(value)
            row.cells[(name,)] = ref
        else:
            compiled = unary_test(name, value)
            if not isinstance(compiled, str) and compiled[0] is not None:
                error = check(compiled[0])
                compiled = compiled if error is None else error
            if isinstance(compiled, str):
                problems.append(f"{ref}: cannot read condition {value!r} on {name}: {compiled} "
                                "(fix: write e.g. - , motor, health , < 5000 , (0..5000] , != 'lapsed')")
                ok = False
                continue
            expression, condition = compiled
            if expression is not None:
                parts.append(expression)
                row.cells.setdefault(("when",), ref)
            row.conditions[name] = condition
    if "id" not in row.data:
        problems.append(f"{id_ref}: a rule row without an id (fix: give the row an UPPER_SNAKE_CASE id)")
        return None
    if not ok:
        return None
    if row.extra_when:
        parts.append(f"({row.extra_when})" if parts else row.extra_when)
    row.data["when"] = " and ".join(parts) if parts else "true"
    row.data["then"] = then
    row.cells.setdefault(("when",), id_ref)
    row.cells[()] = id_ref
    row.cells.setdefault(("then",), id_ref)
    return row


def _plain(value: object) -> object:
    """A cell's value as YAML would give it: text stripped, whole floats as int."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _priority(value: object) -> object:
    """Priorities are whole numbers; text digits are accepted as typed in a text cell."""
    plain = _plain(value)
    if isinstance(plain, str) and plain.isdigit():
        return int(plain)
    return plain


def _outcome(name: str, value: object) -> object:
    """An outcome cell: documents is a comma-separated list, payout is an expression text, the rest plain."""
    plain = _plain(value)
    if name == "documents":
        return [part.strip() for part in str(plain).split(",") if part.strip()]
    if name == "payout":
        return str(plain)
    return plain


def _number_text(value: Decimal) -> str:
    """Write a number the way zen reads it."""
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def unary_test(name: str, value: object) -> tuple[str | None, Condition] | str:
    """Translate a cell on fact `name` into a zen condition and what it accepts; return a message if unreadable.

    Numeric tests never match a null fact (as in DMN, a comparison with null is not a match), so they are guarded.
    """
    if value is None:
        return None, ANY
    if isinstance(value, bool):
        return f"{name} == {'true' if value else 'false'}", UNKNOWN
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        return f"{name} == {_number_text(number)}", Condition("numbers", (Interval(number, True, number, True),))
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        return f"{name} == '{day.isoformat()}'", UNKNOWN
    text = str(value).strip()
    if text in ("", "-"):
        return None, ANY
    items = _split_items(text)
    if items is None:
        return "unbalanced quotes or brackets"
    expressions: list[str] = []
    intervals: list[Interval] = []
    words: set[str] = set()
    unknown = False
    for item in items:
        one = _unary_item(name, item)
        if isinstance(one, str):
            return one
        expression, accepted = one
        expressions.append(expression)
        if isinstance(accepted, Interval):
            intervals.append(accepted)
        elif isinstance(accepted, str):
            words.add(accepted)
        else:
            unknown = True
    numeric = [e for e, item in zip(expressions, items, strict=True) if _is_numeric_item(item)]
    joined = " or ".join(expressions)
    if len(expressions) > 1:
        joined = f"({joined})"
    if numeric:
        joined = f"({name} != null and {joined})"
    if unknown or (intervals and words):
        return joined, UNKNOWN
    if intervals:
        return joined, Condition("numbers", tuple(intervals))
    return joined, Condition("words", words=frozenset(words))


def _is_numeric_item(item: str) -> bool:
    """Is a single test a comparison with a number (which must not meet a null fact)?"""
    if _INTERVAL.match(item) or _NUMBER.match(item):
        return True
    match = _COMPARISON.match(item)
    return bool(match and match.group(1) in ("<", "<=", ">", ">="))


def _unary_item(name: str, item: str) -> tuple[str, Interval | str | None] | str:
    """One comma-separated test: an interval, a comparison, a number, a quoted or bare word, null/true/false."""
    interval = _INTERVAL.match(item)
    if interval:
        opening, lo_text, hi_text, closing = interval.groups()
        lo, hi = Decimal(lo_text), Decimal(hi_text)
        if lo > hi:
            return f"the interval {item} is empty (lower bound above upper bound)"
        lo_closed, hi_closed = opening == "[", closing == "]"
        low = f"{name} {'>=' if lo_closed else '>'} {_number_text(lo)}"
        high = f"{name} {'<=' if hi_closed else '<'} {_number_text(hi)}"
        return f"({low} and {high})", Interval(lo, lo_closed, hi, hi_closed)
    if _NUMBER.match(item):
        number = Decimal(item)
        return f"{name} == {_number_text(number)}", Interval(number, True, number, True)
    if item in ("null", "true", "false"):
        return f"{name} == {item}", None
    quoted = _QUOTED.match(item)
    if quoted:
        word = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
        return f"{name} == '{word}'", word
    comparison = _COMPARISON.match(item)
    if comparison:
        operator, operand = comparison.groups()
        operator = "==" if operator == "=" else operator
        operand = operand.strip()
        if _NUMBER.match(operand):
            number = Decimal(operand)
            bounds = {
                "<": Interval(-_INF, False, number, False),
                "<=": Interval(-_INF, False, number, True),
                ">": Interval(number, False, _INF, False),
                ">=": Interval(number, True, _INF, False),
                "==": Interval(number, True, number, True),
            }
            return f"{name} {operator} {_number_text(number)}", bounds.get(operator)
        quoted = _QUOTED.match(operand)
        if quoted and operator == "==":
            word = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
            return f"{name} == '{word}'", word
        if operator in ("==", "!=") and _WORD.match(operand) and operand not in ("null", "true", "false"):
            return f"{name} {operator} '{operand}'", None if operator == "!=" else operand
        return f"{name} {operator} {operand}", None
    if _WORD.match(item):
        return f"{name} == '{item}'", item
    return f"cannot read {item!r}"


def _split_items(text: str) -> list[str] | None:
    """Split a cell on commas outside quotes and brackets; None when quotes or brackets do not balance."""
    items: list[str] = []
    depth, quote, start = 0, "", 0
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    if quote or depth != 0:  # ]a..b[ and (a..b] balance too: one opening and one closing mark each
        return None
    items.append(text[start:].strip())
    return [item for item in items if item]


def overlap_problems(rows: Sequence[TableRow], policy: TablePolicy) -> list[str]:
    """Check the rows of each table against its hit policy; only overlaps that are certain are reported.

    Under `unique` rows must not overlap; under `first` a row that an earlier row always pre-empts can never fire.
    """
    problems: list[str] = []
    by_table: dict[str, list[TableRow]] = {}
    for row in rows:
        by_table.setdefault(row.table, []).append(row)
    for table_rows in by_table.values():
        for j, later in enumerate(table_rows):
            for earlier in table_rows[:j]:
                if policy == "unique" and _overlap(earlier, later):
                    problems.append(
                        f"{later.cells[()]}: rows {earlier.row} ({earlier.data['id']}) and {later.row} "
                        f"({later.data['id']}) both match some claims, but the table's hit policy is unique "
                        "(fix: make the conditions exclusive, or include the table with hit_policy: first)"
                    )
                    break
                if policy == "first" and _covers(earlier, later):
                    problems.append(
                        f"{later.cells[()]}: row {later.row} ({later.data['id']}) can never fire: row "
                        f"{earlier.row} ({earlier.data['id']}) above it matches every claim it matches "
                        "(hit policy first) (fix: move it up or narrow the row above)"
                    )
                    break
    return problems


def _overlap(a: TableRow, b: TableRow) -> bool:
    """True when both rows certainly match some claim: every column meets and any extra `when` is the same."""
    if a.extra_when != b.extra_when:
        return False
    for name in set(a.conditions) | set(b.conditions):
        if a.conditions.get(name, ANY).meets(b.conditions.get(name, ANY)) is not True:
            return False
    return True


def _covers(a: TableRow, b: TableRow) -> bool:
    """True when row `a` certainly matches every claim row `b` matches."""
    if a.extra_when is not None and a.extra_when != b.extra_when:
        return False
    for name in set(a.conditions) | set(b.conditions):
        if a.conditions.get(name, ANY).holds(b.conditions.get(name, ANY)) is not True:
            return False
    return True


def export_text(workbook_name: str, rows: Sequence[TableRow], policy: TablePolicy) -> str:
    """Return the canonical YAML export of a workbook's rows: what reviewers diff when the workbook changes."""
    header = (
        f"# Generated from {workbook_name} by `claimflow rules export`; do not edit (edit the workbook).\n"
        "# One entry per table row, as the rules engine reads it; `table` and `row` say where it came from.\n"
    )
    body = {
        "workbook": workbook_name,
        "hit_policy": policy,
        "rules": [
            {"table": row.table.split("!", 1)[1], "row": row.row, **_ordered(row.data)} for row in rows
        ],
    }
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)


def _ordered(data: dict[str, object]) -> dict[str, object]:
    """Rule keys in the order of the YAML format."""
    keys = ("id", "priority", "description", "when", "then")
    out = {key: data[key] for key in keys if key in data}
    then = data.get("then")
    if isinstance(then, dict):
        out["then"] = {key: then[key] for key in OUTCOME_COLUMNS if key in then}
    return out


def rules_from_export(text: str) -> list[dict[str, object]]:
    """Read the rule mappings back from an export (for rule sets loaded from the archive, without the workbook)."""
    data = yaml.safe_load(text)
    rules = data.get("rules", []) if isinstance(data, dict) else []
    return [
        {key: value for key, value in rule.items() if key not in ("table", "row")}
        for rule in rules
        if isinstance(rule, dict)
    ]
