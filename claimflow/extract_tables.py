"""Read repeating rows (CMS-1500 service lines, invoice lines) between a table anchor and its end.

Each visual line between the anchor and the first end anchor is matched against the spec's row regex;
its named groups become the row's columns, typed by the table's column types. A cell that does not
parse (the CMS-1500 sample's day `si`) becomes None with a FIELD_INVALID Problem, the row is kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Sequence
from datetime import date

from claimflow.errors import ReasonCode
from claimflow.extract_layout import AnchorHit, Line, find_anchors, union_box
from claimflow.models import Field, FieldScalar, Money, Page, Problem, Provenance, Word
from claimflow.normalise import (
    borrow_boxed_dates,
    normalise_code,
    normalise_text,
    parse_boxed_date,
    parse_boxed_dates,
    parse_date,
    parse_money,
)
from claimflow.specs import Spec, TableSpec

MISSING_ROWS_FACTOR = 0.7
DATE_SPAN_DAYS = 366
"""A table's dates (a claim's service lines) lie within about a year of each other."""
DOUBTFUL_CELL_FACTOR = 0.75
BORROWED_DATE_CONFIDENCE = 0.5
"""A table whose date part was lost and taken from the other date of its row (`_fill_dates`) keeps at most this."""
BORROWED = "borrowed from the row's other date"
"""What the Problem of a borrowed date part says (`capped_borrowed` finds the tables that hold one by it)."""
EMPTY_CELL_FACTOR = 0.7
HEADER_BAND = (1.5, 4.0)
"""Column captions are looked for on the lines whose middle lies within this many anchor heights above | below
the anchor's middle. By height, not by a count of lines: a form's header row is read as many short lines (a
caption each), and the HCFA's `CPT/HCPCS` and `MODIFIER` under the anchor were its 6th and 7th lines, past a
window of four lines, while box 21's `DIAGNOSIS`, four lines above, is a caption of another box."""
SPACED_DATE = re.compile(r"(\d{2})(?=\W*\s)\W+(\d{2})\W+(\d{2,4})")
"""A date printed in boxes (`08 23 26`) that OCR read with the boxes' rules as punctuation (`08) 23; 26`)."""
JOINED_DATE = re.compile(r"(\d{2})(\d{2})\W+(\d{2}|\d{4})")
"""A boxed date whose month and day were printed without a gap (`0122 26`)."""
SPLIT_AMOUNT = re.compile(r"(\d{1,7})(?:\s*[^\w\s]|\s*_)?(?:\s+(?:\S|[^\w\s]{2,})(?=\s))?\s*(?<=\D)(\d{2})")
"""An amount with its cents apart: `114 00`, `114|00`, `114.00`, `114: 00`, `114 i 00`, `45 T 60` (the rule read as
a letter), `73°50` (the dashed rule read as any one sign), `163 ——+.--- 80` (its dashes read as signs of their
own, apart from both), `75 7 00` and `141. 1 60` (the dashed rule read as a word of one sign of its own, a digit
too: cmsown13). Dollars and cents are never read glued here (`7500` is no match: the split would be a guess)."""
LEADING_RULE = re.compile(r"^[^\dA-Za-z]+")
"""What a charge cell holds left of its dollars that is no digit: the cell's left rule read as `|`, `‘|`, `‘`
glued to the dollars (`‘120 00`), a `$` (cmsown13); a letter is kept (`L162` is no amount)."""
AMOUNT_GAP_HEIGHTS = 3.0
"""Words of one amount (dollars | cents across the column's rule) lie closer than this many word heights."""
CENTS_GAP_CHARACTERS = 3.0
"""Dollars and cents of a cell with no right bound lie at most this many characters apart (Courier: two)."""
POINTED_AMOUNT = re.compile(r"\d{1,7}[.,:]\d{2}")
"""One word that is a whole amount, its point read (`30:24`, the point read as a colon, as the row pattern takes it)."""


def extract_table(
    name: str, table: TableSpec, spec: Spec, pages: list[tuple[Page, list[Line]]], problems: list[Problem]
) -> Field | None:
    """Return the table as one Field whose value is a list of row dicts, or None if no row was found."""
    for page, lines in pages:
        hits = table_anchor_hits(lines, table)
        if not hits:
            continue
        start = hits[0].line_index + 1
        end = len(lines)
        for end_anchor in table.end_anchors:
            for hit in find_anchors(lines[start:], end_anchor, table.fuzzy):
                end = min(end, start + hit.line_index)
        columns = _header_centres(table, lines, hits[0])
        rows, used, doubtful, borrowed = _rows(
            name, table, spec, page, _bands(lines[start:end], table.row_gap), problems, columns
        )
        if not rows:
            continue
        if implausible_dates(name, table, rows, page.number, problems):
            doubtful = True
        confidences = [w.confidence for line in used for w in line.words]
        confidence = 0.5 * min(confidences) + 0.5 * sum(confidences) / len(confidences)
        if doubtful:
            confidence *= DOUBTFUL_CELL_FACTOR
        if any(value is None for row in rows for value in row.values()):
            # a cell left empty (a date read as noise, a charge lost) may be one not read: the rows are not
            # complete, whatever their sum says
            confidence *= EMPTY_CELL_FACTOR
        if borrowed:
            confidence = min(confidence, BORROWED_DATE_CONFIDENCE)
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


def table_anchor_hits(lines: list[Line], table: TableSpec) -> list[AnchorHit]:
    """Return where the table's anchor is read, else the first of its other `anchors` that is."""
    for anchor in (table.anchor, *table.anchors):
        hits = find_anchors(lines, anchor, table.fuzzy)
        if hits:
            return hits
    return []


def implausible_dates(
    name: str, table: TableSpec, rows: list[dict[str, FieldScalar | None]], page: int, problems: list[Problem]
) -> bool:
    """Empty the date cells no claim could hold, in place, each with a FIELD_INVALID problem; True when any.

    A date read wrong is mostly a digit misread, and the table's other dates tell it: a date after today; a
    date more than DATE_SPAN_DAYS from the table's largest group of dates that near each other (`1964-04-26`
    beside two of 2026; when two groups are as large, nothing is told); a period that ends before it starts
    (a `<prefix>_from` | `<prefix>_to` pair, `03 20 26` to `02 20 26`: which one is wrong is not told, so both
    go). An emptied cell lowers the table's confidence, and a second reading's cell fills it
    (extract_rows.merge_rows).
    """
    columns = [column for column, kind in table.columns.items() if kind == "date"]
    cells = [
        (index, column) for index, row in enumerate(rows) for column in columns if isinstance(row.get(column), date)
    ]
    bad: dict[tuple[int, str], str] = {}
    today = date.today()
    values = {cell: rows[cell[0]][cell[1]] for cell in cells}
    ordinals = {cell: value.toordinal() for cell, value in values.items() if isinstance(value, date)}
    for cell, value in values.items():
        if isinstance(value, date) and value > today:
            bad[cell] = "is after today"
    if ordinals:
        support = {
            cell: sum(abs(o - ordinal) <= DATE_SPAN_DAYS for o in ordinals.values())
            for cell, ordinal in ordinals.items()
        }
        centre = max(support, key=lambda cell: support[cell])
        near = {cell for cell, ordinal in ordinals.items() if abs(ordinal - ordinals[centre]) <= DATE_SPAN_DAYS}
        if all(support[cell] < support[centre] for cell in ordinals if cell not in near):
            for cell in ordinals:
                if cell not in near:
                    bad.setdefault(cell, "is far from the table's other dates")
    for start in columns:
        end = start.removesuffix("_from") + "_to" if start.endswith("_from") else None
        if end not in columns:
            continue
        for index, row in enumerate(rows):
            first, last = row.get(start), row.get(end)
            if isinstance(first, date) and isinstance(last, date) and last < first:
                bad.setdefault((index, start), f"is after its {end}")
                bad.setdefault((index, end), f"is before its {start}")
    for (index, column), reason in sorted(bad.items()):
        rows[index][column] = None
        problems.append(
            Problem(
                ReasonCode.FIELD_INVALID,
                f"{name} row {index + 1}: {column} {reason}; check it",
                page=page,
                field=name,
            )
        )
    return bool(bad)


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


def _header_centres(table: TableSpec, lines: list[Line], anchor: AnchorHit) -> dict[str, float]:
    """Return the x centre of each column caption found near the table anchor (the table's header rows).

    The header is the lines in the anchor's HEADER_BAND (a caption of a box above the table, however few lines
    away, is not one of its columns).
    """
    height = max(anchor.bbox[3] - anchor.bbox[1], 1e-6)
    middle = (anchor.bbox[1] + anchor.bbox[3]) / 2
    above, below = middle - HEADER_BAND[0] * height, middle + HEADER_BAND[1] * height
    window: list[Line] = []
    distance: list[int] = []  # lines between each window line and the anchor's
    for index, line in enumerate(lines):
        centre = (line.top + line.bottom) / 2
        if above <= centre <= below or index == anchor.line_index:
            window.append(line)
            distance.append(abs(index - anchor.line_index))
    centres: dict[str, float] = {}
    for header in table.headers:
        hits = [hit for synonym in header.split("|") for hit in find_anchors(window, synonym, table.fuzzy)]
        if hits:
            # the same caption twice: the better read, then the nearer to the table's anchor
            best = max(hits, key=lambda hit: (round(hit.score), -distance[hit.line_index]))
            centres[header] = (best.bbox[0] + best.bbox[2]) / 2
    return centres


def _bracketed(header: str, headers: list[str], centres: dict[str, float]) -> bool:
    """Return True when the header and a caption on each side of it were found, in the spec's left-to-right order.

    Without a neighbour on both sides a column has no bounds, and captions found out of order were misread.
    """
    found = [h for h in headers if h in centres]
    if header not in found or found.index(header) in (0, len(found) - 1):
        return False
    xs = [centres[h] for h in found]
    return all(a < b for a, b in zip(xs, xs[1:], strict=False))


def _open_right(header: str, headers: list[str], centres: dict[str, float]) -> bool:
    """Return True when the header and a caption left of it were found in order, but no caption right of it.

    The column's right bound is unknown (box 24G's `UNITS` garbled): its cell runs on into the next columns.
    """
    found = [h for h in headers if h in centres]
    if header not in found or found.index(header) != len(found) - 1 or headers.index(header) == len(headers) - 1:
        return False
    xs = [centres[h] for h in found]
    return len(found) >= 2 and all(a < b for a, b in zip(xs, xs[1:], strict=False))


def _unread_cell_words(line: Line, header: str, headers: list[str], centres: dict[str, float]) -> list[Word]:
    """Return a row's words right of the column whose caption was read last before `header`'s, which was not read.

    A degraded scan may garble box 24F's `$ CHARGES` while its neighbours' captions are read (`MODIFIER`, `UNITS`):
    the charge lies right of the nearest caption read on its left, up to the nearest read on its right (the
    caller takes the dollars | cents pair that opens a run of them, a guess). Nothing when no caption left of it
    was read, or the captions read are out of order.
    """
    index = headers.index(header)
    left = [h for h in headers[:index] if h in centres]
    right = [h for h in headers[index + 1 :] if h in centres]
    found = [centres[h] for h in headers if h in centres]
    if not left or any(a >= b for a, b in zip(found, found[1:], strict=False)):
        return []
    start = centres[left[-1]]
    end = centres[right[0]] if right else 1.0
    return [w for w in line.words if start < w.bbox[0] and w.bbox[2] < end]


def _first_amount(words: list[Word]) -> str | None:
    """Return the dollars and cents that open a run of a money cell with no right bound (`39 52 1`: units follow).

    Only dollars and two-digit cents read as two words close together (at most CENTS_GAP_CHARACTERS of the
    dollars' characters apart: the column's dashed rule between them), opening a run of the cell's words, are
    taken, as `39.52`, and not when a word of two digits or more follows them in the run (`12 15 36`); the
    reading is a guess the caller flags.
    """
    if not words:
        return None
    tallest = max(w.bbox[3] - w.bbox[1] for w in words)  # a speck of the dashed rule read as `7` is no word
    words = [w for w in words if len(w.text) > 1 or w.bbox[3] - w.bbox[1] >= 0.5 * tallest]
    for index, (dollars, cents) in enumerate(zip(words, words[1:], strict=False)):
        height = dollars.bbox[3] - dollars.bbox[1]
        if index and dollars.bbox[0] - words[index - 1].bbox[2] <= AMOUNT_GAP_HEIGHTS * height:
            continue  # not the start of a run: another column's word lies right before it
        if not (re.fullmatch(r"\d{1,5}", dollars.text) and re.fullmatch(r"\d{2}", cents.text)):
            continue
        character = (dollars.bbox[2] - dollars.bbox[0]) / len(dollars.text)
        if cents.bbox[0] - dollars.bbox[2] > CENTS_GAP_CHARACTERS * character:
            continue
        after = words[index + 2] if index + 2 < len(words) else None
        if after is not None and re.fullmatch(r"\d{2,}", after.text) and (
            after.bbox[0] - cents.bbox[2] <= AMOUNT_GAP_HEIGHTS * (cents.bbox[3] - cents.bbox[1])
        ):
            return None  # `12 15 36`: which two are the dollars and cents is not told
        return f"{dollars.text}.{cents.text}"
    return None


def _cell_words(line: Line, header: str, centres: dict[str, float], *, money: bool) -> list[Word]:
    """Return the words of a row whose nearest column caption (by x centre) is `header`.

    For an amount whose cents were printed past the middle between two captions (a form fed a few
    millimetres off), the two-digit word right after the dollars, closer than a word's height, is its cents.
    """
    out: list[Word] = []
    for word in line.words:
        centre = (word.bbox[0] + word.bbox[2]) / 2
        nearest = min(centres, key=lambda h: abs(centres[h] - centre))
        if nearest == header:
            out.append(word)
    if money and len(out) > 1:
        out = _last_run(out)
    if money and out:
        out = _with_cents(line, out)
    return out


def _with_cents(line: Line, out: list[Word]) -> list[Word]:
    """Return a money cell's words with the cents OCR placed nearer the next column's caption.

    A form's cents column lies right of its caption's centre, and the next column (box 24G's units) is narrow:
    cents printed a little right (`14 16`, `85 85`) sit nearer the next caption, and the cell held only its
    dollars, read as 14.00. When no cents follow the cell's last dollars, the first two-digit word right of
    them on the line, at most CENTS_GAP_CHARACTERS of the dollars' characters away, is its cents; the words
    between them that hold no digit are the column's dashed rule (`31 =a 64`, `144 t 30`) and are dropped.
    """
    digits = [index for index, word in enumerate(out) if re.search(r"\d", word.text)]
    if not digits or not re.fullmatch(r"\d{1,7}", out[digits[-1]].text):
        return out
    dollars = out[digits[-1]]
    if len(digits) > 1 and re.fullmatch(r"\d{2}", dollars.text):
        return out  # dollars and cents both in the cell: `114 00`
    character = (dollars.bbox[2] - dollars.bbox[0]) / len(dollars.text)
    for word in sorted((w for w in line.words if w.bbox[0] >= dollars.bbox[2]), key=lambda w: w.bbox[0]):
        if word.bbox[0] - dollars.bbox[2] > CENTS_GAP_CHARACTERS * character:
            break
        if re.fullmatch(r"\d{2}", word.text):
            return [*out[: digits[-1] + 1], word]
        if re.search(r"\d", word.text) or len(word.text) > 2:
            break  # a digit or a word is no rule's remnant
    return out


def _last_run(words: list[Word]) -> list[Word]:
    """Return the words of an amount cell from the last gap wider than AMOUNT_GAP_HEIGHTS word heights on.

    An amount is printed right-aligned against its cents, in one run; a word further left in the cell is
    another column's (a diagnosis pointer `1` when that column's caption was not read): `1 29 68` is 29.68.
    """
    height = max(w.bbox[3] - w.bbox[1] for w in words)
    start = 0
    for index in range(1, len(words)):
        if words[index].bbox[0] - words[index - 1].bbox[2] > AMOUNT_GAP_HEIGHTS * height:
            start = index
    return words[start:]


def split_amount(raw: str) -> tuple[str, bool] | None:
    """Return an amount printed in dollars | cents columns as `123.45`, and whether the split was a guess.

    `114 00`, `114|00` and `114.00` are certain; `11400` (the two columns read as one word) is taken as
    114.00 but flagged, since the gap between dollars and cents was not seen.
    """
    # a speck or the rule's end read as a sign after the cents (`163 80°`) is no part of the amount
    text = LEADING_RULE.sub("", re.sub(r"(?<=\d)[°'’\"]+$", "", raw.strip()))
    # the column's rules read as bars around the amount (`| | 47 52`: the pointer column's right rule) are no part of it
    text = re.sub(r"^(?:[|!\[\]]\s*)+(?=\d)|(?<=\d)(?:\s*[|!\[\]])+$", "", text)
    found = SPLIT_AMOUNT.fullmatch(text)
    if found:
        return f"{found.group(1)}.{found.group(2)}", False
    pointed = [w for w in text.split() if POINTED_AMOUNT.fullmatch(w)]
    if len(pointed) == 1:  # one amount with its point, beside a rule's remnant read as `1` or `i`: `127.20 1`
        return re.sub(r"[,:]", ".", pointed[0]), False
    if re.fullmatch(r"\d{3,7}", text):
        return f"{text[:-2]}.{text[-2:]}", True
    return None


def _rows(
    name: str,
    table: TableSpec,
    spec: Spec,
    page: Page,
    lines: list[Line],
    problems: list[Problem],
    centres: dict[str, float],
) -> tuple[list[dict[str, FieldScalar | None]], list[Line], bool, bool]:
    """Match each line against the row pattern and type its columns; cells by position where the spec says.

    Returns the rows, the lines used, whether any cell's reading was a guess (an amount whose dollars
    and cents were read as one word) and whether a date part was borrowed from the row's other date (`_fill_dates`,
    a Problem says which).
    """
    pattern = re.compile(table.row_pattern, re.IGNORECASE)
    rows: list[dict[str, FieldScalar | None]] = []
    used: list[Line] = []
    doubtful = borrowed = False

    def unreadable(column: str, kind: str) -> None:
        """Say that the cell of the row being read holds text that is no value of its kind."""
        message = f"{name} row {len(rows) + 1}: {column} {kind} value cannot be read"
        problems.append(Problem(ReasonCode.FIELD_INVALID, message, page=page.number, field=name))

    for line in lines:
        found = pattern.search(line.text)
        if found is None:
            continue
        row: dict[str, FieldScalar | None] = {}
        loose: set[str] = set()  # date cells the boxed reader could not read, typed by the general date parser
        for column, kind in table.columns.items():
            raw = found.group(column)
            header = table.cells.get(column)
            if header is not None and _bracketed(header, table.headers, centres):
                raw = " ".join(w.text for w in _cell_words(line, header, centres, money=kind == "money")) or None
                if raw and kind == "money":
                    split = split_amount(raw)
                    if split is not None:
                        raw, guessed = split
                        doubtful = doubtful or guessed
                    elif len(re.findall(r"\d+", raw)) > 1:  # pieces that are no dollars | cents: `73%5O`
                        row[column] = None  # (no 73.00, what an amount parser makes of it)
                        unreadable(column, kind)
                        continue
                    else:  # dollars whose cents were not read (`14`, `31 =a`): 14.00 is a guess
                        doubtful = True
            elif raw is None and header is not None and kind == "money" and _open_right(header, table.headers, centres):
                raw = _first_amount(_cell_words(line, header, centres, money=False))
                doubtful = doubtful or raw is not None
            elif raw is None and header is not None and kind == "money" and header not in centres:
                raw = _first_amount(_unread_cell_words(line, header, table.headers, centres))
                doubtful = doubtful or raw is not None
            if raw and kind == "date" and spec.locale.month_first_spaced:
                boxed = parse_boxed_date(raw, trailing=True)  # the place of service may follow it
                if boxed is not None:
                    doubtful = doubtful or boxed.ambiguous
                    row[column] = boxed.value
                    continue
                loose.add(column)
            row[column] = _cell(raw, kind, spec) if raw else None
            if raw and row[column] is None:
                unreadable(column, kind)
        if spec.locale.month_first_spaced:
            guessed, lent = _fill_dates(row, table, found, line.text, loose)
            doubtful = doubtful or guessed
            if lent is not None:
                borrowed = True
                problems.append(
                    Problem(
                        ReasonCode.FIELD_AMBIGUOUS,
                        f"{name} row {len(rows) + 1}: a date part was not read; {lent} ({BORROWED}), kept as a "
                        "guess; check the dates",
                        page=page.number,
                        field=name,
                    )
                )
        rows.append(row)
        used.append(line)
    return rows, used, doubtful, borrowed


def cap_borrowed(fields: dict[str, Field], problems: Sequence[Problem]) -> None:
    """Keep each table a Problem says borrowed a date part (BORROWED, `_fill_dates`) at BORROWED_DATE_CONFIDENCE.

    The part was never read; a sum check that holds vouches for the table's amounts and would raise the table past
    the cap (`extract_checks`), so the cap is applied again after the checks (in place).
    """
    for problem in problems:
        field = fields.get(problem.field or "")
        if field is None or BORROWED not in problem.message or not isinstance(field.value, list):
            continue
        if field.confidence > BORROWED_DATE_CONFIDENCE:
            fields[field.name] = dataclasses.replace(field, confidence=BORROWED_DATE_CONFIDENCE)


def _fill_dates(
    row: dict[str, FieldScalar | None], table: TableSpec, found: re.Match[str], text: str, loose: Collection[str] = ()
) -> tuple[bool, str | None]:
    """Fill a row's date columns the row pattern left empty from the boxed dates before its other cells.

    The dates of a form's row (`MM DD YY  MM DD YY`) come first; when the pattern could not take them (a letter
    read for a digit: `OF` for `07`, a rule's remnant) they are read from the text before the first other cell
    with `parse_boxed_dates`. When one part of one date was lost (`11 04 26 ack 04 26`: the to date's month read
    as letters), the part of the same kind of the row's other date fills it where that gives the only dates in
    order (`normalise.borrow_boxed_dates`). `loose`: date cells the boxed reader could not read, which the general
    date parser typed (`20 07 08`, a mark before `07 08 26`, read 2008-07-20): they are filled like empty ones, and
    keep their value when the row's dates cannot be read. Returns whether they were filled from a guess (a letter
    read as a digit) and what was borrowed (None when nothing was).
    """
    dates = [column for column, kind in table.columns.items() if kind == "date"]
    if not dates or all(row.get(column) is not None and column not in loose for column in dates):
        return False, None
    starts = [found.start(c) for c, kind in table.columns.items() if kind != "date" and found.group(c) is not None]
    if not starts:
        return False, None
    before = text[: min(starts)]
    lent: str | None = None
    read = parse_boxed_dates(before, len(dates), latest=date.today())
    if read is None:
        borrowed = borrow_boxed_dates(before, len(dates), latest=date.today())
        if borrowed is None:
            return False, None
        read = borrowed[0], True
        lent = borrowed[1]
    values, guessed = read
    if any(
        row.get(column) is not None and column not in loose and row[column] != value
        for column, value in zip(dates, values, strict=True)
    ):
        return False, None  # the pattern's reading of one date disagrees: leave the row as read
    for column, value in zip(dates, values, strict=True):
        row[column] = value
    return guessed, lent


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
    found = SPACED_DATE.fullmatch(raw.strip()) or JOINED_DATE.fullmatch(raw.strip())
    return " ".join(found.groups()) if found else raw
