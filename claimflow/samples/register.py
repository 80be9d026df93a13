"""The sample policy register: one "Policies" sheet, dates as date cells, money as 2-decimal numbers."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from claimflow.samples.plan import CENT, Policy
from claimflow.samples.sheets import save_workbook

HEADER = ("Policy Number", "Policy Holder", "Product", "Start Date", "End Date", "Limit", "Deductible",
          "Currency", "Status", "Covered Losses", "Waiting Period (days)")
COLUMN_WIDTHS = (18, 26, 14, 12, 12, 12, 12, 10, 11, 40, 12)


def write_register(policies: list[Policy], path: Path) -> None:
    """Write the policy register workbook to `path`; policy numbers are text, limits and deductibles numbers.

    Covered losses are one cell ("collision; theft; ..."), the waiting period a whole number of days.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Policies"
    sheet.append(list(HEADER))
    for policy in policies:
        sheet.append([policy.number, policy.holder, policy.product, policy.start, policy.end,
                      policy.limit.quantize(CENT), policy.deductible.quantize(CENT), policy.currency, policy.status,
                      "; ".join(policy.covered_losses), policy.waiting_period_days])
        row = sheet.max_row
        for column in (4, 5):
            sheet.cell(row=row, column=column).number_format = "yyyy-mm-dd"
        for column in (6, 7):
            sheet.cell(row=row, column=column).number_format = "#,##0.00"
    for index, width in enumerate(COLUMN_WIDTHS):
        sheet.column_dimensions["ABCDEFGHIJK"[index]].width = width
    save_workbook(workbook, path)
