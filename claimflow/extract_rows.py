"""A weak table read again row by row (readers/rows.py), and the better of the two readings kept.

The first reading of a form's table (the CMS-1500's service lines) comes from the whole page: rows are lost,
cells glue to the rules beside them (`351.28` for `35.28`, a procedure code `30686` for `90686` where a digit
touched a shaded column bar). For a table whose spec says `reread_rows: true`, on an OCR'd page where it is
missing or below the auto-accept threshold, the table's box is cleaned of the form's ink, cut into rows of
text and each row read alone; the rows of that reading that match the table's row pattern replace the first
reading's words at their place, and the document is extracted again.

Which reading is kept (`choose_rows`): readings of as many rows are merged cell by cell (`merge_rows`: a
cell one reading lost is taken from the other; where they differ, the row read alone wins for codes and dates,
and the amounts are the choice that adds up to the form's total). Otherwise the one whose charges add up to the
total (the spec's sum check) when only one does; else the one without empty cells when only one has none; else
the row reading (a row read alone, cleaned, is the closer reading). When the two disagree the kept one loses confidence
(DISAGREE_FACTOR) and a FIELD_AMBIGUOUS problem says so: a person looks. When they agree the better
confidence stands.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from claimflow import icd10cm
from claimflow.errors import ReasonCode
from claimflow.extract import extract_document, field_boxes
from claimflow.extract_checks import sum_exceeds, sum_holds
from claimflow.extract_reread import Choose, ReadEach, calibrated, merge_reading, ocr_field_boxes, read_in_turn
from claimflow.extract_tables import implausible_dates
from claimflow.models import (
    BBox,
    Extraction,
    Field,
    FieldScalar,
    Money,
    Page,
    Problem,
    ReadDocument,
    ReadMethod,
    Word,
    centre_in,
)
from claimflow.normalise import parse_boxed_dates
from claimflow.specs import Spec, SpecSet, SumCheck


class RowsRereader(Protocol):
    """Reads the rows of text inside a box of an OCR'd page one by one (None when it cannot)."""

    def __call__(self, page: Page, box: BBox) -> list[list[Word]] | None:
        """Return each row's words (page fractions), top to bottom."""
        ...


def weak_tables(part: Extraction, specs: SpecSet, threshold: float) -> list[str]:
    """Return the `reread_rows` tables of `part` that were not read, or were read below the threshold (calibrated)."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    out = []
    for name, table in spec.tables.items():
        if not table.reread_rows:
            continue
        found = part.fields.get(name)
        if found is None or (found.provenance.method is ReadMethod.OCR and calibrated(part, found, specs) < threshold):
            out.append(name)
    return out


def weak_lists(part: Extraction, specs: SpecSet, threshold: float) -> list[str]:
    """Return the `reread_rows` list fields of `part` missing, or read below the threshold (calibrated)."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    out = []
    for name, field_spec in spec.fields.items():
        if not field_spec.reread_rows or field_spec.type != "list" or field_spec.direction != "region":
            continue
        found = part.fields.get(name)
        if found is None or (found.provenance.method is ReadMethod.OCR and calibrated(part, found, specs) < threshold):
            out.append(name)
    return out


def read_rows_again(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    reread: RowsRereader,
    *,
    threshold: float,
    only: Sequence[str] | None = None,
    digits: RowsRereader | None = None,
    each: ReadEach = read_in_turn,
) -> int:
    """Read weak `reread_rows` tables again row by row and keep the better reading, in place; return rows read.

    Only single-document files (the table's box is found on the pages of the one document). `only` limits the
    reading to those tables (the ones a budget granted). `digits`, when given, reads the rows again with
    digits only, for the date cells both readings left empty (`fill_dates_from_digits`). The tables' boxes are
    read independently of each other, through `each`.
    """
    if len(parts) != 1:
        return 0
    part = parts[0]
    spec = specs.specs.get(part.document_type)
    weak = [
        name
        for name in [*weak_tables(part, specs, threshold), *weak_lists(part, specs, threshold)]
        if only is None or name in only
    ]
    if spec is None or not weak:
        return 0
    pages, read_rows = _pages_read_by_rows(read, spec, weak, reread, each)
    if not read_rows:
        return 0
    again = extract_document(ReadDocument(pages=pages), specs, part.document_type)
    for name in weak:
        choose: Choose = (
            functools.partial(choose_rows, spec, dict(part.fields), name)
            if name in spec.tables
            else functools.partial(choose_items, codes=any(v.kind == "icd10cm" for v in spec.fields[name].validators))
        )
        merge_reading(
            part,
            name,
            again.fields.get(name),
            [p for p in again.problems if p.field == name],
            choose=choose,
            disagreement="its rows read one by one disagree with the first reading; check them",
        )
    for name in weak:
        found = part.fields.get(name)
        if digits is None or found is None or name not in spec.tables:
            continue
        if not _date_holes(spec, name, found) and not _code_holes(spec, name, found):
            continue
        digit_rows = [
            row
            for page in read.pages
            if page.method is ReadMethod.OCR and page.image is not None
            for box in field_boxes(page, spec, name)
            for row in digits(page, box) or []
        ]
        found = fill_dates_from_digits(spec, name, found, digit_rows)
        found, filled = fill_codes_from_digits(spec, name, found, digit_rows)
        part.fields[name] = found
        if filled:
            part.problems.append(
                Problem(
                    ReasonCode.FIELD_AMBIGUOUS,
                    f"{name}: row {', '.join(str(i) for i in filled)} code read with a small letter, no code's; "
                    "taken from the row read with digits only; check it",
                    page=found.provenance.page,
                    field=name,
                )
            )
    return read_rows


def _pages_read_by_rows(
    read: ReadDocument, spec: Spec, names: Sequence[str], reread: RowsRereader, each: ReadEach = read_in_turn
) -> tuple[list[Page], int]:
    """Return the pages with the named fields' boxes read again row by row by `reread`, and the rows taken.

    The boxes are read independently of each other, through `each` (on a borrowed idle core too, when free).

    A row read alone replaces the first reading in its place (the box's width, the row's height) only when it
    matches the field's row or item pattern (`_row_pattern`); pages not read by OCR are kept as they are.
    """
    boxes = ocr_field_boxes(read, spec, names)
    readings = each(lambda target: reread(target[0], target[2]), boxes)
    read_rows = 0
    pages: list[Page] = []
    for page in read.pages:
        if page.method is not ReadMethod.OCR or page.image is None:
            pages.append(page)
            continue
        replaced: list[tuple[BBox, list[Word], set[str]]] = []
        for (at, name, box), rows in zip(boxes, readings, strict=True):
            if at is not page:
                continue
            pattern = _row_pattern(spec, name)
            markers = set(spec.fields[name].markers) if name in spec.fields else set()
            for words in rows or []:
                if words and pattern.search(" ".join(w.text for w in words)):
                    replaced.append(((box[0], words[0].bbox[1], box[2], words[0].bbox[3]), words, markers))
                    read_rows += 1
        pages.append(_with_rows(page, replaced))
    return pages, read_rows


def _row_pattern(spec: Spec, name: str) -> re.Pattern[str]:
    """Return what a row read alone must match to replace the first reading there (row or item pattern)."""
    if name in spec.tables:
        return re.compile(spec.tables[name].row_pattern, re.IGNORECASE)
    field_spec = spec.fields[name]
    return re.compile(field_spec.pattern or ".", re.IGNORECASE if field_spec.ignore_case else 0)


def choose_items(old: Field, new: Field, *, codes: bool = False) -> tuple[Field, bool]:
    """Return the reading of a list to keep (old: the first, new: row by row) and whether they agree.

    Agreeing readings keep the better confidence; otherwise the one with more items (a slot the other lost or
    cut: `N39` for `N39.0` does not count as an item of it), the row reading when as many. `codes` (a list the
    ICD-10-CM code set checks): of two readings, one whose every item is a code and as many items as the other is
    kept over one holding an item that is no code (a clean scan's closer reading `F41.1 J02.9 H10.33 K21.9` over
    rows read one by one that lost row 2 and kept the page's `2502` as `Z50.2`).
    """
    if _rows_key(old.value) == _rows_key(new.value):
        return max((old, new), key=lambda f: f.confidence), True
    count_old = len(old.value) if isinstance(old.value, list) else 1
    count_new = len(new.value) if isinstance(new.value, list) else 1
    if codes:
        old_bad, new_bad = _no_codes(old), _no_codes(new)
        if new_bad and not old_bad and count_old >= count_new:
            return old, False
        if old_bad and not new_bad and count_new >= count_old:
            return new, False
    return (new if count_new >= count_old else old), False


def _no_codes(found: Field) -> bool:
    """Return True when a list of ICD-10 codes holds an item that is no billable code (`icd10cm.check_list`)."""
    return isinstance(found.value, list) and bool(icd10cm.check_list([str(item) for item in found.value]).invalid)


def _with_rows(page: Page, replaced: list[tuple[BBox, list[Word], set[str]]]) -> Page:
    """Return a copy of the page whose words inside each row's place are that row's reading.

    A list's item markers (`1.` `3.` of its slots, in the form's ink that a cleaned row drops) are kept from the
    first reading: they tell the order of the slots.
    """
    if not replaced:
        return page

    def inside(word: Word, box: BBox) -> bool:
        x, y = (word.bbox[0] + word.bbox[2]) / 2, (word.bbox[1] + word.bbox[3]) / 2
        return box[0] <= x <= box[2] and box[1] <= y <= box[3]

    def marker(word: Word, markers: set[str]) -> bool:
        return word.text.strip(".,:;|()[]{}'\"!_-") in markers

    words = [w for w in page.words if not any(inside(w, box) and not marker(w, keep) for box, _, keep in replaced)]
    words += [w for _, row, keep in replaced for w in row if not marker(w, keep)]
    return dataclasses.replace(page, words=words, problems=list(page.problems))


def choose_rows(spec: Spec, fields: dict[str, Field], name: str, old: Field, new: Field) -> tuple[Field, bool]:
    """Return the reading of table `name` to keep (old: the first, new: row by row) and whether they agree.

    Agreeing readings keep the better confidence. Readings of as many rows are merged cell by cell
    (`merge_rows`); of different rows, the two merged row by row where that adds up to the total (`merge_aligned`).
    Otherwise the one whose amounts add up to the total of the spec's sum checks when only one does, else the one
    whose amounts read do not already exceed that total when the other's do and it has as many rows at least
    (`1491.50` for 149.50: a rule read as a digit; cmsown13), else the one without an empty cell when only one has
    none, else the row-by-row reading.
    """
    if _rows_key(old.value) == _rows_key(new.value):
        return max((old, new), key=lambda f: f.confidence), True
    merged = merge_rows(spec, fields, name, old, new)
    if merged is not None:
        return merged, False
    aligned = merge_aligned(spec, fields, name, old, new)
    if aligned is not None:
        return aligned, False
    old_sum, new_sum = _adds_up(spec, fields, name, old), _adds_up(spec, fields, name, new)
    if old_sum != new_sum:
        return (new if new_sum else old), False
    old_over, new_over = _over_total(spec, fields, name, old), _over_total(spec, fields, name, new)
    if old_over != new_over and _row_count(old if new_over else new) >= _row_count(new if new_over else old):
        return (old if new_over else new), False
    old_full, new_full = _complete(old.value), _complete(new.value)
    if old_full != new_full:
        return (new if new_full else old), False
    return new, False


def merge_rows(spec: Spec, fields: dict[str, Field], name: str, old: Field, new: Field) -> Field | None:
    """Return the two readings of a table merged cell by cell, when they read the same number of rows; else None.

    A cell both read alike is kept; a cell only one read is taken from it; where they differ, the row read
    alone wins for codes and dates (a digit glued to a rule in the page's reading: `86415` for `36415`), and for
    amounts the choice of cells whose sum is the total of the spec's sum checks (the row reading's where it adds
    up too, or where nothing adds up). The merged table has the lower of the two confidences.
    """
    if not isinstance(old.value, list) or not isinstance(new.value, list) or len(old.value) != len(new.value):
        return None
    if not all(isinstance(row, dict) for row in (*old.value, *new.value)):
        return None
    rows: list[dict[str, FieldScalar | None]] = []
    disputed: list[tuple[int, str]] = []  # amount cells read differently: (row, column)
    for first, again in zip(old.value, new.value, strict=True):
        assert isinstance(first, dict) and isinstance(again, dict)
        row: dict[str, FieldScalar | None] = {}
        for column in dict.fromkeys([*again, *first]):
            a, b = first.get(column), again.get(column)
            row[column] = b if b is not None else a
            if a is not None and b is not None and a != b and isinstance(a, Money) and isinstance(b, Money):
                disputed.append((len(rows), column))
        rows.append(row)
    if disputed and len(disputed) <= MAX_DISPUTED_AMOUNTS:
        for choice in itertools.product((True, False), repeat=len(disputed)):  # row reading's cells first
            trial = [dict(row) for row in rows]
            for (index, column), take_new in zip(disputed, choice, strict=True):
                source = new.value[index] if take_new else old.value[index]
                assert isinstance(source, dict)
                trial[index][column] = source.get(column)
            if _adds_up(spec, fields, name, dataclasses.replace(new, value=list(trial))):
                rows = trial
                break
    return dataclasses.replace(new, value=list(rows), confidence=min(old.confidence, new.confidence))


MAX_DISPUTED_AMOUNTS = 8
"""Amount cells read differently that are tried in every combination against the total (2^8 sums at most)."""


def merge_aligned(spec: Spec, fields: dict[str, Field], name: str, old: Field, new: Field) -> Field | None:
    """Return two readings of a table that hold different rows merged row by row, when that adds up; else None.

    Each reading loses rows the other kept (the page's reading garbles a row glued to the header's rule, the
    rows read alone lose a charge under box 24F's dashed rule: cmsown18), so neither adds up alone. The rows are
    aligned in order (`_align`: a pair reads the same procedure code, or two cells alike); a pair is merged as
    `merge_rows` merges one (the row read alone wins for codes and dates, a cell one lost is taken from the
    other), and a row only one reading holds may be a row the other lost or one it read twice or from noise.
    The first choice whose charges add up to the total of the spec's sum checks is kept: rows of the reading that
    holds more kept and the other's left out first, the row reading's amounts first, then the choices that differ
    from that in fewest places. None when nothing adds up, when nothing aligns, or past MAX_DISPUTED_AMOUNTS
    choices. A merge equal to one of the readings is that reading.
    """
    if not isinstance(old.value, list) or not isinstance(new.value, list) or len(old.value) == len(new.value):
        return None
    if not all(isinstance(row, dict) for row in (*old.value, *new.value)) or not _column_checks(spec, name):
        return None
    olds: list[dict[str, FieldScalar | None]] = list(old.value)  # type: ignore[arg-type]
    news: list[dict[str, FieldScalar | None]] = list(new.value)  # type: ignore[arg-type]
    pairs = _align(olds, news)
    if not any(i is not None and j is not None for i, j in pairs):
        return None
    new_longer = len(news) > len(olds)
    # each entry: the row (as read, merged for a pair), and its choices (row alternatives, first the default)
    slots: list[list[dict[str, FieldScalar | None] | None]] = []
    for i, j in pairs:
        if i is not None and j is not None:
            first, again = olds[i], news[j]
            row = {
                column: again.get(column) if again.get(column) is not None else first.get(column)
                for column in dict.fromkeys([*again, *first])
            }
            merged = [row]
            for column, a in first.items():
                b = again.get(column)
                if isinstance(a, Money) and isinstance(b, Money) and a != b:
                    merged += [{**choice, column: a} for choice in merged]
            slots.append(list(merged))
        else:
            alone = news[j] if j is not None else olds[i]  # type: ignore[index]
            keep = new_longer == (j is not None)
            slots.append([dict(alone), None] if keep else [None, dict(alone)])
    choices = [range(len(slot)) for slot in slots]
    if sum(len(slot).bit_length() - 1 for slot in slots) > MAX_DISPUTED_AMOUNTS:
        return None
    for pick in sorted(itertools.product(*choices), key=lambda p: sum(c.bit_count() for c in p)):
        rows = [slot[c] for slot, c in zip(slots, pick, strict=True)]
        trial = [dict(row) for row in rows if row is not None]
        if not trial:
            continue
        table = dataclasses.replace(new, value=list(trial), confidence=min(old.confidence, new.confidence))
        if _adds_up(spec, fields, name, table):
            for reading in (new, old):
                if _rows_key(reading.value) == _rows_key(table.value):
                    return reading
            return table
    return None


def _align(
    olds: Sequence[dict[str, FieldScalar | None]], news: Sequence[dict[str, FieldScalar | None]]
) -> list[tuple[int | None, int | None]]:
    """Return the two readings' rows aligned in order: (old index, new index), None where a row has no pair.

    Two rows pair when they read the same procedure code or two cells alike; the alignment pairs the most cells
    alike (a longest common subsequence over rows).
    """

    def alike(a: dict[str, FieldScalar | None], b: dict[str, FieldScalar | None]) -> int:
        same = sum(1 for column, value in a.items() if value is not None and b.get(column) == value)
        code = a.get("procedure_code")
        return same if same >= 2 or (code is not None and code == b.get("procedure_code")) else 0

    n, m = len(olds), len(news)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            score = alike(olds[i], news[j])
            best[i][j] = max(best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + score if score else 0)
    pairs: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n or j < m:
        score = alike(olds[i], news[j]) if i < n and j < m else 0
        if score and best[i][j] == best[i + 1][j + 1] + score:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif j < m and (i >= n or best[i][j] == best[i][j + 1]):
            pairs.append((None, j))
            j += 1
        else:
            pairs.append((i, None))
            i += 1
    return pairs


def _column_checks(spec: Spec, name: str) -> list[SumCheck]:
    """Return the spec's sum checks with a part that is a column of table `name` (`service_lines.charge`)."""
    return [c for c in spec.checks if isinstance(c, SumCheck) and any(p.partition(".")[0] == name for p in c.parts)]


def _adds_up(spec: Spec, fields: dict[str, Field], name: str, table: Field) -> bool:
    """Return True when the table's amounts add up to the total of a sum check over one of its columns."""
    with_table = {**fields, name: table}
    return any(sum_holds(with_table, check) for check in _column_checks(spec, name))


def _over_total(spec: Spec, fields: dict[str, Field], name: str, table: Field) -> bool:
    """Return True when the table's amounts read add up to more than the total of a sum check over its column."""
    with_table = {**fields, name: table}
    return any(sum_exceeds(with_table, check) for check in _column_checks(spec, name))


def _row_count(table: Field) -> int:
    """Return the number of rows a table reading holds."""
    return len(table.value) if isinstance(table.value, list) else 0


def _complete(rows: object) -> bool:
    """Return True when every row of a table has every cell."""
    return isinstance(rows, list) and all(
        isinstance(row, dict) and all(cell is not None for cell in row.values()) for row in rows
    )


def _rows_key(rows: object) -> object:
    """Return a table's value in a comparable form (money as amount, everything else as text)."""
    if not isinstance(rows, list):
        return rows
    return [
        tuple(sorted((k, str(v.amount) if isinstance(v, Money) else str(v)) for k, v in row.items()))
        if isinstance(row, dict)
        else str(row)
        for row in rows
    ]


def _date_holes(spec: Spec, name: str, table: Field) -> bool:
    """Return True when a row of the table has an empty date cell."""
    dates = [column for column, kind in spec.tables[name].columns.items() if kind == "date"]
    return isinstance(table.value, list) and any(
        isinstance(row, dict) and any(row.get(column) is None for column in dates) for row in table.value
    )


DIGIT_DATES = {12: 2, 13: 2, 14: 2, 16: 4, 17: 4, 18: 4}
"""Length of a row's boxed dates read as one run of digits -> digits of each year (the place of service after the
dates, two digits, runs on with them: 14, 18; 13, 17 when one of its digits was lost, `11` read `ill` then `1`)."""
PLAIN_DIGIT_DATES = frozenset({12, 14, 16, 18})
"""Lengths read as dates before a run holding the code too (`0319260319262290686`) is tried."""


def _digit_dates(words: list[Word], count: int) -> tuple[str, list[date]] | None:
    """Return the text after a digits-only row's boxed dates and the dates, or None when it holds no such run.

    Read with digits only, a row's boxes run together: `01212601212622 681002` is 01 21 26 | 01 21 26, place
    of service 22, then the code; a run may hold the code too (`0319260319262290686`). The readings a run's
    length allows are tried in turn (a 17-digit run is 4-digit years and one place digit, or 2-digit years and the
    code); the first whose dates are dates (none in the future) is taken. A run OCR split into several words of
    digits before the first five-digit word (the code: `0524 260524 2611 97110`, the boxes' rules left as spaces)
    is one run (`_leading_run`).
    """
    if not words:
        return None
    first, rest = _leading_run(words)
    if not first.isdigit():
        return None
    readings = [(first, rest), (first[:-5], f"{first[-5:]} {rest}")]
    if len(first) not in PLAIN_DIGIT_DATES and len(first) - 5 in PLAIN_DIGIT_DATES:
        readings.reverse()
    for run, after in readings:
        year = DIGIT_DATES.get(len(run))
        if year is None:
            continue
        size = 4 + year
        parts = [run[i * size : (i + 1) * size] for i in range(len(run) // size)][:count]
        if len(parts) < count:
            continue
        read = parse_boxed_dates(" ".join(f"{p[:2]} {p[2:4]} {p[4:]}" for p in parts), count, latest=date.today())
        if read is not None:
            return after, read[0]
    return None


CODE_DIGITS = 5
"""Digits of a procedure code (CPT): the word of a digits-only row that ends its run of boxed dates."""


def _leading_run(words: list[Word]) -> tuple[str, str]:
    """Return a digits-only row's first run of digits and the text after it.

    The run is the first word, or the words of digits before the row's first word of CODE_DIGITS digits joined
    when there are several and as many digits as a row's dates (`0524 260524 2611 97110`: the dates' rules read
    as spaces, 14 digits); else the first word alone (`01212601222622 681002 1 14101`: a speck glued to the code).
    """
    lead = list(itertools.takewhile(lambda w: not (w.text.isdigit() and len(w.text) == CODE_DIGITS), words))
    joined = "".join(w.text for w in lead)
    if 1 < len(lead) < len(words) and joined.isdigit() and len(joined) in DIGIT_DATES:
        return joined, " ".join(w.text for w in words[len(lead) :])
    return words[0].text, " ".join(w.text for w in words[1:])


def fill_dates_from_digits(spec: Spec, name: str, table: Field, rows: list[list[Word]]) -> Field:
    """Return the table with its empty date cells filled from a digits-only reading of its rows, where sure.

    Both readings may leave a boxed date empty (`O01 21 26`: a rule's end read as a letter); read with digits
    only, the same row gives `01212601212622` (`_digit_dates`). The rows of that reading holding such dates
    are taken for the table's rows in order, only when there are as many; a row is filled only when its code
    is read in it too (`681002` holds 81002), its other dates, where read, are the ones the digits give, and
    the filled dates pass `implausible_dates`. The confidence is not raised: the cells were empty before.
    """
    table_spec = spec.tables[name]
    dates = [column for column, kind in table_spec.columns.items() if kind == "date"]
    codes = [column for column, kind in table_spec.columns.items() if kind == "code"]
    if not isinstance(table.value, list) or not dates or len(codes) != 1:
        return table
    read = [found for found in (_digit_dates(words, len(dates)) for words in rows) if found is not None]
    if len(read) != len(table.value):
        return table
    filled: list[dict[str, FieldScalar | None]] = []
    new: set[tuple[int, str]] = set()
    for index, (row, (rest, values)) in enumerate(zip(table.value, read, strict=True)):
        if not isinstance(row, dict):
            return table
        out = dict(row)
        code = row.get(codes[0])
        known = all(row.get(column) in (None, value) for column, value in zip(dates, values, strict=True))
        if isinstance(code, str) and code and code in rest.replace(" ", "") and known:
            for column, value in zip(dates, values, strict=True):
                if out.get(column) is None:
                    out[column] = value
                    new.add((index, column))
        filled.append(out)
    if not new:
        return table
    checked = [dict(row) for row in filled]
    implausible_dates(name, table_spec, checked, table.provenance.page or 1, [])
    for index, column in new:
        if checked[index][column] is None:
            filled[index][column] = None
    return dataclasses.replace(table, value=list(filled))


def _code_holes(spec: Spec, name: str, table: Field) -> bool:
    """Return True when a row of the table was read without its code (the row pattern read a small letter there)."""
    codes = [column for column, kind in spec.tables[name].columns.items() if kind == "code"]
    return isinstance(table.value, list) and any(
        isinstance(row, dict) and any(row.get(column) is None for column in codes) for row in table.value
    )


def fill_codes_from_digits(
    spec: Spec, name: str, table: Field, rows: list[list[Word]]
) -> tuple[Field, list[int]]:
    """Return the table with its empty code cells filled from a digits-only reading of its rows, and the rows filled.

    A code cell is empty when its letter was read small (`g1002`: Courier's `81002` on a clean scan; cms1500.yml's
    row pattern reads the row without its code). The digits-only row whose boxed dates (`_digit_dates`) are the
    row's two dates, the only such row, gives the code: the first word of CODE_DIGITS digits after them. The
    confidence is not raised (the cell was empty); the caller says which rows were filled.
    """
    table_spec = spec.tables[name]
    dates = [column for column, kind in table_spec.columns.items() if kind == "date"]
    codes = [column for column, kind in table_spec.columns.items() if kind == "code"]
    if not isinstance(table.value, list) or not dates or len(codes) != 1:
        return table, []
    read = [found for found in (_digit_dates(words, len(dates)) for words in rows) if found is not None]
    filled: list[dict[str, FieldScalar | None]] = []
    new: list[int] = []
    for index, row in enumerate(table.value):
        if not isinstance(row, dict):
            return table, []
        out = dict(row)
        values = [row.get(column) for column in dates]
        if row.get(codes[0]) is None and None not in values:
            same = [rest for rest, read_dates in read if read_dates == values]
            words = same[0].split() if len(same) == 1 else []
            code = next((w for w in words if w.isdigit() and len(w) == CODE_DIGITS), None)
            if code is not None:
                out[codes[0]] = code
                new.append(index + 1)
        filled.append(out)
    if not new:
        return table, []
    return dataclasses.replace(table, value=list(filled)), new


J_TWINS = frozenset("OAFCN")
"""First letters OCR made of an ICD-10 code's `J` typed right after its slot's bracket (`|J029`): the bracket's
short stroke, left by the cleaning, read glued to the J's hook (`O02.9`, `A02.9`, `F07.9`, `C06.9`), or the
bracket's upright joined to the J's stem across its hook (`N06.9` for `|J069`, 300-dpi Helvetica scans of seeds 22
and 23 acroform `002` degraded). Those are real codes, so the code set (claimflow/icd10cm.py) cannot tell them. A
code starting with a digit is ICD-9 (`034.0`; an ICD-10 list's `0` was made an `O` already) and is never doubted."""
LETTER_FACTOR = 0.8
"""A list whose code's first letter was taken from the reading without the brackets stays below confidence."""


def _j_twin(item: object) -> str | None:
    """Return the code with its first letter read as J, when that letter is a J twin and both are real codes."""
    code = icd10cm.compact(str(item))
    if len(code) < 3 or code[0] not in J_TWINS or not icd10cm.is_icd10cm("J" + code[1:]):
        return None
    return icd10cm.dotted("J" + code[1:])


def bracket_doubts(part: Extraction, specs: SpecSet) -> list[str]:
    """Return the `reread_rows` ICD-10-CM lists of `part` (OCR) holding a code whose first letter may be a J.

    Such a code starts with a letter OCR makes of a J beside the slot's bracket (J_TWINS), and the code with a J
    there is billable too (`O02.9` | J02.9): nothing in the reading tells which was typed.
    """
    return list(j_twins(part, specs))


def j_twins(part: Extraction, specs: SpecSet) -> dict[str, int]:
    """Return the lists `bracket_doubts` names, each with how many of its codes may have lost a J to the bracket."""
    counts = {name: sum(_j_twin(item) is not None for item in items) for name, items in _code_lists(part, specs)}
    return {name: count for name, count in counts.items() if count}


def _code_lists(part: Extraction, specs: SpecSet) -> list[tuple[str, Sequence[object]]]:
    """Return (name, items) of the `reread_rows` ICD-10-CM region lists of `part` read by OCR."""
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    out: list[tuple[str, Sequence[object]]] = []
    for name, field_spec in spec.fields.items():
        if not field_spec.reread_rows or field_spec.type != "list" or field_spec.direction != "region":
            continue
        if not any(validator.kind == "icd10cm" for validator in field_spec.validators):
            continue
        found = part.fields.get(name)
        if found is None or found.provenance.method is not ReadMethod.OCR or not isinstance(found.value, list):
            continue
        out.append((name, found.value))
    return out


def read_letters_again(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    reread: RowsRereader,
    *,
    only: Sequence[str] | None = None,
    cell: CellRereader | None = None,
) -> int:
    """Read the slots of lists whose first letters are in doubt again, without the slots' brackets; return rows read.

    `reread` reads the list's box row by row cleaned of its rules *and* of the short ticks they turn into at
    their ends (`dropout.rule_ticks`): the bracket `|` of `|J029` is gone, so nothing is glued to the J. A code
    whose first letter is a J twin (`O02.9`, `bracket_doubts`) becomes the J code only when that reading gives the
    J code in the same place of the list; the other codes stay as they were. Where it does not (cms14: the rows
    read `0029`, the J's hook read as a round letter), `cell` reads the code's cell alone, placed on that
    reading's word (`_twin_word`), and the code becomes the J code only when the cell reads exactly it
    (`_cell_gives`). The list then loses confidence (LETTER_FACTOR) with a FIELD_AMBIGUOUS problem: two readings
    of a letter disagree, a person looks.
    """
    if len(parts) != 1:
        return 0
    part = parts[0]
    spec = specs.specs.get(part.document_type)
    names = [name for name in bracket_doubts(part, specs) if only is None or name in only]
    if spec is None or not names:
        return 0
    pages, read_rows = _pages_read_by_rows(read, spec, names, reread)
    if not read_rows:
        return 0
    again = extract_document(ReadDocument(pages=pages), specs, part.document_type)
    for name in names:
        found, new = part.fields[name], again.fields.get(name)
        if new is None or not isinstance(found.value, list) or not isinstance(new.value, list):
            continue
        items = [str(item) for item in found.value]
        changed = []
        for index, item in enumerate(items):
            twin = _j_twin(item)
            if twin is not None and index < len(new.value) and str(new.value[index]) == twin:
                items[index] = twin
                changed.append(index + 1)
        if cell is not None:
            for index, item in enumerate(items):
                twin = _j_twin(item)
                if twin is not None and index + 1 not in changed and _cell_gives(read, spec, name, reread, cell, twin):
                    items[index] = twin
                    changed.append(index + 1)
        if not changed:
            continue
        part.fields[name] = dataclasses.replace(found, value=items, confidence=found.confidence * LETTER_FACTOR)
        _drop_stale_code_problem(part, name, items)
        places = ", ".join(str(index) for index in changed)
        part.problems.append(
            Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: item {places} read as J without the slot's bracket, another letter with it; check it",
                page=found.provenance.page,
                field=name,
            )
        )
    return read_rows


def _drop_stale_code_problem(part: Extraction, name: str, items: Sequence[str]) -> None:
    """Drop the list validator's "no billable ICD-10-CM code" problem once a second reading left every item a code.

    The problem was said of the first reading; a reviewer must not be told of an item that is no longer there (the
    repair's own FIELD_AMBIGUOUS problem says what was changed and keeps the list below confidence).
    """
    if icd10cm.check_list(list(items)).invalid:
        return
    part.problems[:] = [
        p
        for p in part.problems
        if not (p.field == name and p.code is ReasonCode.FIELD_INVALID and "ICD-10-CM" in p.message)
    ]


def _twin_word(words: Sequence[Word], twin: str) -> tuple[Word, int] | None:
    """Return the word holding the J code `twin` less its first letter, and where the code starts in it.

    The code starts one character before what matched: its first letter, whatever it was read as (`0029`, J029).
    A word that starts with what matched had the first letter read apart or not at all (`,` `069` for `|J069`,
    the J's hook taken out with the bracket's tick): the code starts one character before the word (-1).
    """
    rest = icd10cm.compact(twin)[1:]
    for word in words:
        at = word.text.upper().translate(_FOLD).find(rest)
        if at >= 0:
            return word, at - 1
    return None


def _cell_gives(read: ReadDocument, spec: Spec, name: str, reread: RowsRereader, cell: CellRereader, twin: str) -> bool:
    """Return True when the cell of the J code `twin`, read alone by `cell`, reads exactly it (after its dot).

    The cell is placed on the word of the list's rows read alone (`reread`, answered from memory) that holds the
    code less its first letter (`_twin_word`); the reading must be the J code itself, or it with one character
    before (the slot's bracket) or after (a speck): a J read alone where the page and the rows read a round letter.
    """
    key = icd10cm.compact(twin)
    for page, _, box in ocr_field_boxes(read, spec, [name]):
        hit = _twin_word([w for row in reread(page, box) or [] for w in row], twin)
        if hit is None:
            continue
        text = re.sub(r"[^A-Z0-9]", "", "".join(w.text for w in cell(page, _cell_box(*hit, box, row=True)) or []))
        if key in (text, text[1:], text[:-1]):
            return True
    return False


class CellRereader(Protocol):
    """Reads one code's cell of an OCR'd page alone (one word, the code's characters only; None when it cannot)."""

    def __call__(self, page: Page, box: BBox) -> list[Word] | None:
        """Return the cell's words (page fractions)."""
        ...


CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,"
"""What an ICD-10 code's cell is read with (tesseract's whitelist): capitals, digits and the dot."""
CELL_LENGTH = 8.6
"""A code's cell reaches this many character cells from its first character: the longest ICD-10-CM code, its dot
and a little (a code read cut at its dot, `G43` of G43.909, is read whole)."""
CELL_LEFT = 0.6
"""... and starts this many cells before it (the slot's bracket, a cell further left, stays out)."""
CELL_PAD = 0.25
"""A page word's cell reaches this share of its height above and below it ..."""
CELL_ROW_PAD = 0.1
"""... a row's word (it spans its row already) this share of the row's height."""
CELL_DISTANCE = 2
"""A code read alone replaces the item only within this many characters changed (an item of another slot is no
reading of this one)."""
CELL_FACTOR = 0.8
"""A list whose code was taken from its cell read alone stays below confidence: two readings disagree."""
_FOLD = str.maketrans({",": "", ".": "", ";": "", ":": "", "_": "", " ": ""})


def code_doubts(part: Extraction, specs: SpecSet) -> dict[str, list[int]]:
    """Return the `reread_rows` ICD-10 lists of `part` (OCR) with the places (0-based) of items that are no code.

    An item of a list of ICD-10 codes that is no billable ICD-10-CM code after the code set's repairs (`B11.9`: three
    real codes one confusion away; `G43`: a code read cut at its dot; `306.9`: a J read 3, two letters possible) is
    a misreading the list's validator reports; its cell read alone (`read_code_cells`) may give the code.
    """
    out: dict[str, list[int]] = {}
    for name, value in _code_lists(part, specs):
        items = [str(item) for item in value]
        if 2 * sum(bool(icd10cm.ICD10_LIKE.match(item.upper())) for item in items) <= len(items):
            continue  # ICD-9 codes: not in the set
        places = [index for index, item in enumerate(items) if not icd10cm.is_icd10cm(item)]
        if places:
            out[name] = places
    return out


def cell_code(read: str, item: str, *, within: int = CELL_DISTANCE) -> str | None:
    """Return the billable code a code's cell read alone gives for the list's `item`, or None.

    The reading (capitals, digits, dot) may hold the slot's bracket read as `I`, `L`, `1` or `J` before the code, or
    a speck after it: the reading, and it less its first or last character, are tried. A candidate is taken when it
    is a billable code and the item read cut (`G43` of G43.909) or within CELL_DISTANCE characters of it; of several,
    the closest, and none when two as close differ.
    """
    text = re.sub(r"[^A-Z0-9]", "", read.upper())
    key = icd10cm.compact(item).translate(_FOLD)
    found: dict[str, int] = {}
    for candidate in {text, text[1:], text[:-1]}:
        if len(candidate) < 3 or not icd10cm.is_icd10cm(candidate):
            continue
        distance = 0 if candidate.startswith(key) and icd10cm.is_cut(key) else Levenshtein.distance(candidate, key)
        if distance <= within:
            found[candidate] = distance
    if not found:
        return None
    best = min(found.values())
    closest = [code for code, distance in found.items() if distance == best]
    return icd10cm.dotted(closest[0]) if len(closest) == 1 else None


_ZERO = str.maketrans({"O": "0"})


def _item_word(words: Sequence[Word], item: str) -> tuple[Word, int] | None:
    """Return the word an item was read from (its compact text holds the item's) and where in it the item starts.

    A letter O and a zero are one (cms14: the item `O29` was read `029`, its leading zero made a letter).
    """
    key = icd10cm.compact(item).translate(_FOLD).translate(_ZERO)
    for word in words:
        text = word.text.upper().translate(_FOLD).translate(_ZERO)
        at = text.find(key)
        if at >= 0 and len(key) >= 3:
            return word, at
    return None


def _cell_box(word: Word, at: int, box: BBox, *, row: bool, length: float = CELL_LENGTH) -> BBox:
    """Return the cell of a code starting `at` characters into `word` (a monospaced code: its pitch from the word).

    A word of a row read alone spans its row (`row`: no more height is added); a word of the page's reading is
    given CELL_PAD of its height above and below.
    """
    pitch = (word.bbox[2] - word.bbox[0]) / max(1.0, len(word.text) - 1 + 0.6)
    start = word.bbox[0] + at * pitch
    pad = (CELL_ROW_PAD if row else CELL_PAD) * (word.bbox[3] - word.bbox[1])
    return (
        max(box[0], start - CELL_LEFT * pitch),
        max(box[1], word.bbox[1] - pad),
        min(box[2], start + length * pitch),
        min(box[3], word.bbox[3] + pad),
    )


def _list_places(
    read: ReadDocument,
    spec: Spec,
    name: str,
    on_page: int | None,
    places: Sequence[int],
    rows: RowsRereader,
    changed: Sequence[int],
) -> Iterator[tuple[Page, BBox, list[Word], list[Word], int]]:
    """Yield each doubted place of list field `name` with where to read its cell.

    Per OCR'd page the field was read on (`on_page`, or all) and per box of the field: (page, box, the list's words
    read row by row, the page's words in the box, place), for each of `places` not changed yet (`changed`: 1-based,
    read as the caller fills it). read_code_cells and read_code_votes walk the list's cells alike.
    """
    for page in read.pages:
        if page.method is not ReadMethod.OCR or page.image is None:
            continue
        if on_page is not None and page.number != on_page:
            continue
        for box in field_boxes(page, spec, name):
            row_words = [w for row in rows(page, box) or [] for w in row]
            inside = [w for w in page.words if centre_in(w.bbox, box)]
            for index in places:
                if index + 1 not in changed:
                    yield page, box, row_words, inside, index


def read_code_cells(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    rows: RowsRereader,
    cell: CellRereader,
    *,
    only: Sequence[str] | None = None,
) -> int:
    """Read alone the cells of ICD-10 list items that are no code, as one word of a code's characters; return cells.

    The item's word is found in the list's box read row by row (`rows`, the reading RowsLook made: answered from
    memory), else among the page's words; its cell (`_cell_box`) is read by `cell` (psm 8, CODE_CHARS). A billable
    code close to the item (`cell_code`) replaces it; the list loses confidence (CELL_FACTOR) with a FIELD_AMBIGUOUS
    problem: the first reading and the cell's disagree, a person looks.
    """
    if len(parts) != 1:
        return 0
    part = parts[0]
    spec = specs.specs.get(part.document_type)
    doubts = {name: places for name, places in code_doubts(part, specs).items() if only is None or name in only}
    if spec is None or not doubts:
        return 0
    cells = 0
    for name, places in doubts.items():
        found = part.fields[name]
        assert isinstance(found.value, list)
        items = [str(item) for item in found.value]
        changed: list[int] = []
        walk = _list_places(read, spec, name, found.provenance.page, places, rows, changed)
        for page, box, row_words, inside, index in walk:
            hit = _item_word(row_words, items[index])
            row = hit is not None
            hit = hit or _item_word(inside, items[index])
            if hit is None:
                continue
            words = cell(page, _cell_box(*hit, box, row=row))
            cells += 1
            code = cell_code("".join(w.text for w in words or []), items[index])
            if code is not None and code not in items:
                items[index] = code
                changed.append(index + 1)
        if not changed:
            continue
        part.fields[name] = dataclasses.replace(found, value=items, confidence=found.confidence * CELL_FACTOR)
        _drop_stale_code_problem(part, name, items)
        places_text = ", ".join(str(index) for index in changed)
        part.problems.append(
            Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: item {places_text} read again alone as a code, the first reading was no code; check it",
                page=found.provenance.page,
                field=name,
            )
        )
    return cells


VOTE_SLACK = 1.2
"""A real code's cell read by votes reaches this many character cells past the code's last (the slot's printed dot
and underline after it stay out: a cell of CELL_LENGTH took them in, read `EM` for E11.9)."""
NEAR_STARTS = 4
"""A word's code may start this many characters into it (a slot's number and bracket read glued before it)."""
VOTE_DISTANCE = 3
"""... and within this many characters of the item (its cell is placed on the item's own word: the same slot)."""
VOTES_NEEDED = 2
"""A code replaces a real code item only when at least this many readings give it (the item's own gives the item)."""
VOTE_FACTOR = 0.8
"""A list whose code two readings of its cell alone replaced stays below confidence: the first reading disagrees."""


def vote_doubts(part: Extraction, specs: SpecSet, threshold: float) -> dict[str, list[int]]:
    """Return the weak `reread_rows` ICD-10 lists of `part` (OCR) with the places (0-based) of their real codes.

    A list below the threshold may hold a code misread as another billable code (`F44.1` for F41.1: a 1 read 4;
    `B51.9` for R51.9): the code set cannot doubt it. Its cell read alone twice (`read_code_votes`) may.
    """
    weak = set(weak_lists(part, specs, threshold))
    out: dict[str, list[int]] = {}
    for name, value in _code_lists(part, specs):
        if name not in weak:
            continue
        places = [index for index, item in enumerate(value) if icd10cm.is_icd10cm(str(item))]
        if places:
            out[name] = places
    return out


def read_code_votes(
    read: ReadDocument,
    parts: list[Extraction],
    specs: SpecSet,
    rows: RowsRereader,
    cell: CellRereader,
    second: Callable[[Page, BBox], str],
    *,
    threshold: float,
    only: Sequence[str] | None = None,
) -> int:
    """Read alone the cells of the real codes of weak ICD-10 lists; a code most readings give wins; return cells.

    Each code's cell (`_cell_box`) is placed on its word of the list's rows read alone (`rows`, answered from
    memory), else of the page's reading: the word that gives the code, or the one closest to it (`_near_word`: the
    rows read `jR519` where the item is `B51.9`). The cell is read by tesseract as one line of a code's characters
    (`cell`) and, when that gives another code, by the second recognizer (`second`, PP-OCR, trained apart). Each
    reading (the cell's two, the row's word) votes for the billable code it gives near the item (`cell_code`); the
    item's own reading votes for the item. A code with at least VOTES_NEEDED votes and more than the item replaces
    it; the list loses confidence (VOTE_FACTOR) with a FIELD_AMBIGUOUS problem. Otherwise nothing changes.
    """
    if len(parts) != 1:
        return 0
    part = parts[0]
    spec = specs.specs.get(part.document_type)
    doubts = {n: p for n, p in vote_doubts(part, specs, threshold).items() if only is None or n in only}
    if spec is None or not doubts:
        return 0
    cells = 0
    for name, places in doubts.items():
        found = part.fields[name]
        assert isinstance(found.value, list)
        items = [str(item) for item in found.value]
        changed: list[int] = []
        walk = _list_places(read, spec, name, found.provenance.page, places, rows, changed)
        for page, box, row_words, inside, index in walk:
            item = items[index]
            hit = _item_word(row_words, item) or _near_word(row_words, item)
            row = hit is not None
            hit = hit or _item_word(inside, item) or _near_word(inside, item)
            if hit is None:
                continue
            length = len(icd10cm.compact(item).translate(_FOLD)) + VOTE_SLACK
            where = _cell_box(*hit, box, row=row, length=length)
            cells += 1
            readings = [hit[0].text[hit[1]:]]
            if row:  # the page's reading of the cell votes too (the row's word is another reading)
                readings += [w.text for w in inside if centre_in(w.bbox, where)]
            readings.append("".join(w.text for w in cell(page, where) or []))
            if vote_code(readings[-1], item) != item:
                readings.append(second(page, where))
            code = voted(item, readings)
            if code is not None and code not in items:
                items[index] = code
                changed.append(index + 1)
        if not changed:
            continue
        part.fields[name] = dataclasses.replace(found, value=items, confidence=found.confidence * VOTE_FACTOR)
        places_text = ", ".join(str(index) for index in changed)
        part.problems.append(
            Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: item {places_text} read as another code by most readings of its cell; check it",
                page=found.provenance.page,
                field=name,
            )
        )
    return cells


def vote_code(read: str, item: str) -> str | None:
    """Return the billable code one reading of an item's cell gives (`cell_code`, within VOTE_DISTANCE), or None.

    An ICD-10 code's only letter O is its first: a round glyph after it is a zero (`JO29` is J02.9).
    """
    return cell_code(read[:1] + read[1:].upper().replace("O", "0"), item, within=VOTE_DISTANCE)


def voted(item: str, readings: Sequence[str]) -> str | None:
    """Return the code that replaces a real code `item` by the votes of other readings of its cell, or None.

    The item's own reading votes for it; each reading for the code it gives (`vote_code`). A code wins with at
    least VOTES_NEEDED votes and more than the item has.
    """
    votes = Counter([item, *(vote_code(text, item) for text in readings)])
    votes.pop(None, None)
    code, count = max(votes.items(), key=lambda kv: (kv[1], kv[0] == item))
    return code if code != item and count >= VOTES_NEEDED and count > votes[item] else None


def _near_word(words: Sequence[Word], item: str) -> tuple[Word, int] | None:
    """Return the word closest to a code item (within CELL_DISTANCE characters, one such word) and where it starts.

    The word's letters and digits from each of its first NEAR_STARTS characters on are compared with the item's (a
    bracket or a slot's number read glued before the code: `2,.jR519`, `[#1033`); of equally close starts, the
    first that is no bracket. A word of fewer than three letters and digits is no code's.
    """
    key = re.sub(r"[^A-Z0-9]", "", icd10cm.compact(item).upper()).translate(_ZERO)
    near: dict[int, tuple[int, Word, int]] = {}
    for word in words:
        text = word.text.upper()
        for at in range(min(NEAR_STARTS, len(text))):
            candidate = re.sub(r"[^A-Z0-9]", "", text[at:]).translate(_ZERO)
            if len(candidate) < 3 or text[at] in "[({|\\/,.;:_ ":
                continue
            distance = Levenshtein.distance(candidate, key)
            if id(word) not in near or distance < near[id(word)][0]:
                near[id(word)] = (distance, word, at)
    if not near:
        return None
    best = min(distance for distance, _, _ in near.values())
    closest = [(word, at) for distance, word, at in near.values() if distance == best]
    return closest[0] if best <= CELL_DISTANCE and len(closest) == 1 else None
