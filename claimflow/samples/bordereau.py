"""The sample claims bordereau: seed CSV rows converted to an xlsx "Claims" sheet, plus three bad rows.

Rows 1-50 of data/insurance_claims_seed.csv are kept with their headers verbatim, numbers as numbers and
M/D/YYYY dates as real dates. Rows 51-53 are corrupted on purpose (total not the sum of its parts, an empty
policy_number, an impossible incident date written as text) and slotted in among the good rows. Each row's
policy goes into the register: cover for the incident year for most, a couple that do not cover, one cancelled.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

from openpyxl import Workbook

from claimflow.samples.plan import SMALL_CLAIM_MAX, Policy, make_name
from claimflow.samples.sheets import save_workbook

SEED_CSV = "insurance_claims_seed.csv"
GOOD_ROWS = 50
DATE_COLUMNS = ("policy_bind_date", "incident_date")
AMOUNT_PARTS = ("injury_claim", "property_claim", "vehicle_claim")
CORRUPT_SLOTS = (12, 27, 41)  # data-row positions (0-based) where the three bad rows are inserted

Cell = str | int | float | date | None


@dataclass(frozen=True, slots=True)
class BordereauRow:
    """One data row of the Claims sheet, its sheet row number and what the engine should find in it."""

    sheet_row: int
    values: dict[str, Cell]
    expect: str
    detail: str


def load_seed_rows() -> tuple[list[str], list[dict[str, str]]]:
    """Return the header and rows of the shipped seed CSV."""
    text = resources.files("claimflow.samples").joinpath("data", SEED_CSV).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    return list(reader.fieldnames or []), list(reader)


def to_cell(column: str, raw: str) -> Cell:
    """Convert one CSV string to a typed cell: dates, ints, floats; '?' and text stay text; '' is empty."""
    if raw == "":
        return None
    if column in DATE_COLUMNS:
        return datetime.strptime(raw, "%m/%d/%Y").date()
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


def _corrupt(kind: str, values: dict[str, Cell]) -> tuple[dict[str, Cell], str, str]:
    bad = dict(values)
    if kind == "total":
        total = bad["total_claim_amount"]
        bad["total_claim_amount"] = (total if isinstance(total, int) else 0) + 1250
        return bad, "amounts_inconsistent", "total_claim_amount != injury_claim + property_claim + vehicle_claim"
    if kind == "policy":
        bad["policy_number"] = None
        return bad, "field_missing", "policy_number is empty"
    bad["incident_date"] = "31/02/2015"
    return bad, "field_invalid", "incident_date is the text '31/02/2015', not a real date"


def build_rows(header: list[str], seed_rows: list[dict[str, str]]) -> list[BordereauRow]:
    """Return the good and corrupted rows in sheet order (data starts on sheet row 2)."""
    typed = [{column: to_cell(column, row[column]) for column in header} for row in seed_rows]
    good: list[tuple[dict[str, Cell], str, str]] = [(values, "ok", "") for values in typed[:GOOD_ROWS]]
    bad = [_corrupt(kind, values) for kind, values in zip(("total", "policy", "date"), typed[GOOD_ROWS:], strict=False)]
    ordered = list(good)
    for slot, row in zip(CORRUPT_SLOTS, bad, strict=True):
        ordered.insert(slot, row)
    return [BordereauRow(number, values, expect, detail)
            for number, (values, expect, detail) in enumerate(ordered, start=2)]


def _limit(csl: Cell) -> Decimal:
    """Return the per-accident limit of a "250/500" combined single limit, in dollars."""
    return Decimal(str(csl).split("/")[1]) * 1000


def make_policies(rows: list[BordereauRow], rng: random.Random) -> tuple[list[Policy], list[BordereauRow]]:
    """Return a register policy per row with a policy number, and the rows with cover problems marked."""
    candidates = [row.sheet_row for row in rows if row.expect == "ok"]
    picked = rng.sample(candidates, 3)
    outside, cancelled = set(picked[:2]), picked[2]
    policies: list[Policy] = []
    marked: list[BordereauRow] = []
    for row in rows:
        values = row.values
        incident = values["incident_date"]
        year = incident.year if isinstance(incident, date) else 2015
        if row.sheet_row in outside:
            year -= 1
            row = BordereauRow(row.sheet_row, values, "loss_outside_cover", "policy covers the previous year only")
        status = "active"
        if row.sheet_row == cancelled:
            status = "cancelled"
            row = BordereauRow(row.sheet_row, values, "policy_inactive", "policy is cancelled in the register")
        marked.append(row)
        if values["policy_number"] is None:
            continue
        policies.append(Policy(
            number=str(values["policy_number"]), holder=make_name(rng), product="Motor Fleet",
            start=date(year, 1, 1), end=date(year, 12, 31), limit=_limit(values["policy_csl"]),
            deductible=Decimal(str(values["policy_deductable"])), currency="USD", status=status,
        ))
    return policies, marked


def write_bordereau(header: list[str], rows: list[BordereauRow], path: Path) -> None:
    """Write the Claims sheet: header verbatim, one row per BordereauRow, dates as date cells."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Claims"
    sheet.append(header)
    for row in rows:
        sheet.append([row.values[column] for column in header])
        for column_index, column in enumerate(header, start=1):
            if isinstance(row.values[column], date):
                sheet.cell(row=row.sheet_row, column=column_index).number_format = "yyyy-mm-dd"
    save_workbook(workbook, path)


def row_truth(row: BordereauRow, policies: dict[str, Policy]) -> dict[str, str | int | None]:
    """Return a row's ground truth: what is wrong with it and the route the business rules give it."""
    number = row.values["policy_number"]
    record: dict[str, str | int | None] = {
        "sheet_row": row.sheet_row, "policy_number": "" if number is None else str(number),
        "expect": row.expect, "detail": row.detail, "route": "review", "payout": None, "reason": row.expect,
    }
    total = row.values["total_claim_amount"]
    policy = policies.get(str(number))
    if row.expect != "ok" or policy is None or not isinstance(total, int | float):
        return record
    amount = Decimal(str(total))
    # The policy wording the rules follow (and plan.py): the deductible comes off the claim, then the limit caps it.
    payout = min(amount - policy.deductible, policy.limit)
    if amount > SMALL_CLAIM_MAX:
        record["reason"] = "amount_over_limit"
    elif payout <= 0:
        record["reason"] = "amount_below_deductible"
    else:
        record.update(route="settle", payout=str(payout.quantize(Decimal("0.01"))), reason="small_clean_claim")
    return record
