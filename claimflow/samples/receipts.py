"""Till-roll receipts: narrow (80 mm) text PDFs from made-up shops in MYR, EUR, GBP and USD.

Monospaced thermal-printer look: the shop name centred at the top, address lines, a tax registration
line, receipt number, date and time, items with quantities, subtotal, one tax line (GST/SST, VAT, MwSt,
TVA or sales tax), a bold total, cash and change, a thank-you footer. Shop names are built from parts, so
the spec that reads them cannot rely on a list of known issuers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from fpdf import FPDF

from claimflow.samples.forms import format_amount, new_fpdf
from claimflow.samples.plan import money

WIDTH_MM = 80.0
MARGIN_MM = 5.0
LINE_MM = 4.2
CHARS = 40  # characters per line at 8 pt Courier in 70 mm

SHOPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "MYR": (("KEDAI", "RESTORAN", "PASAR MINI", "SYARIKAT", "KEDAI UBAT"),
            ("SRI MAJU", "JAYA BAHAGIA", "SENTOSA", "MEWAH", "AMAN DAMAI", "HUP SENG", "WAN LEE"),
            ("SDN BHD", "SDN. BHD.", "ENTERPRISE", "TRADING")),
    "EUR": (("Bäckerei", "Tankstelle", "Pharmacie", "Autoteile", "Café", "Drogerie"),
            ("Sonnenschein", "Weber", "du Parc", "Lindner", "Central", "Am Markt"),
            ("GmbH", "SARL", "e.K.", "B.V.")),
    "GBP": (("Corner", "Village", "High Street", "Station", "Riverside"),
            ("Hardware", "Pharmacy", "Motor Spares", "Café", "Garage Shop"),
            ("Ltd", "Limited", "& Co")),
    "USD": (("SUNSET", "MAIN STREET", "EAGLE", "BLUE RIDGE", "DOWNTOWN"),
            ("AUTO PARTS", "MARKET", "PHARMACY", "HARDWARE", "DINER"),
            ("INC", "LLC", "CO.")),
}
STREETS = {
    "MYR": (("NO. {n}, JALAN SS 2/{m}", "47300 PETALING JAYA, SELANGOR"),
            ("LOT {n}, JALAN BUNGA RAYA {m}", "50100 KUALA LUMPUR"),
            ("NO. {n}, JLN TAMAN MELATI {m}", "81100 JOHOR BAHRU, JOHOR")),
    "EUR": (("Hauptstraße {n}", "80331 München"), ("{n} rue du Marché", "69002 Lyon"),
            ("Kerkstraat {n}", "1017 GC Amsterdam")),
    "GBP": (("{n} High Street", "Leeds LS1 {m}AB"), ("Unit {m}, {n} Mill Lane", "Bristol BS2 {m}QX")),
    "USD": (("{n} MAIN ST", "SPRINGFIELD, IL 627{m:02d}"), ("{n} OAK AVE SUITE {m}", "DAYTON, OH 454{m:02d}")),
}
TAX = {"MYR": (("GST", Decimal("6")), ("SST", Decimal("6"))), "EUR": (("MwSt", Decimal("19")), ("TVA", Decimal("20"))),
       "GBP": (("VAT", Decimal("20")),), "USD": (("Sales Tax", Decimal("8.25")), ("Tax", Decimal("7")))}
REG = {"MYR": "GST ID: 00{n}", "EUR": "USt-IdNr: DE{n}", "GBP": "VAT Reg No: GB {n}",
       "USD": "Store #{m} Tel 555-01{m:02d}"}
SIGN = {"MYR": "RM", "EUR": "EUR", "GBP": "£", "USD": "$"}
DATE_STYLES = {"MYR": ("%d/%m/%Y", "%d-%m-%Y", "%d %b %Y"), "EUR": ("%d.%m.%Y", "%d/%m/%Y"),
               "GBP": ("%d/%m/%Y", "%d %b %Y"), "USD": ("%Y-%m-%d", "%d %b %Y")}
ITEMS = ("Engine oil 1L", "Wiper blade", "Coffee", "Bread", "Water 1.5L", "Paracetamol", "Bulb H7", "Sandwich",
         "Fuse set", "Tape", "Batteries AA", "Soap", "Coolant 1L", "Rice 5kg", "Noodles", "Towels")
TITLES = ("RECEIPT", "CASH RECEIPT", "SIMPLIFIED TAX INVOICE", "CASH BILL", "SALES RECEIPT")


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One item line: what, how many, unit price and line amount."""

    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Receipt:
    """One till receipt with everything printed on it."""

    issuer: str
    address: tuple[str, ...]
    registration: str
    title: str
    number: str
    issue_date: date
    time: str
    date_style: str
    cashier: str
    lines: tuple[ReceiptLine, ...]
    subtotal: Decimal
    tax_label: str
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    cash: Decimal
    currency: str


def make_receipt(rng: random.Random, currency: str | None = None) -> Receipt:
    """Return a random receipt (currency drawn when not given) whose total is subtotal + tax."""
    currency = currency or rng.choice(sorted(SHOPS))
    first, middle, last = SHOPS[currency]
    issuer = f"{rng.choice(first)} {rng.choice(middle)} {rng.choice(last)}"
    n, m = rng.randint(2, 188), rng.randint(1, 29)
    address = tuple(part.format(n=n, m=m) for part in rng.choice(STREETS[currency]))
    lines: list[ReceiptLine] = []
    for name in rng.sample(ITEMS, rng.randint(1, 6)):
        quantity = rng.choice((1, 1, 1, 2, 3))
        unit = money(Decimal(rng.randint(80, 6500)) / 100)
        lines.append(ReceiptLine(name, quantity, unit, unit * quantity))
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    tax_label, rate = rng.choice(TAX[currency])
    tax = money(subtotal * rate / 100)
    total = subtotal + tax
    cash = total if rng.random() < 0.4 else money(Decimal(int(total) // 10 * 10 + 10 * rng.randint(1, 3)))
    return Receipt(
        issuer=issuer, address=address, registration=REG[currency].format(n=rng.randint(10**9, 10**10 - 1), m=m),
        title=rng.choice(TITLES), number=f"{rng.choice(('R', 'CS', 'T', ''))}{rng.randint(10000, 999999)}",
        issue_date=date(2026, 1, 2) + timedelta(days=rng.randint(0, 300)),
        time=f"{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}", date_style=rng.choice(DATE_STYLES[currency]),
        cashier=rng.choice(("AMY", "SITI", "JOHN", "LENA", "RAJ", "01", "07")), lines=tuple(lines),
        subtotal=subtotal, tax_label=tax_label, tax_rate=rate, tax=tax, total=total, cash=cash, currency=currency,
    )


def truth_fields(receipt: Receipt) -> dict[str, str]:
    """Return the canonical ground truth of a receipt (names of the receipt spec's fields)."""
    return {
        "issuer": receipt.issuer,
        "issuer_address": ", ".join(receipt.address),
        "document_date": receipt.issue_date.isoformat(),
        "invoice_number": receipt.number,
        "total_amount": str(receipt.total),
        "tax_amount": str(receipt.tax),
        "currency": receipt.currency,
    }


def printed_values(receipt: Receipt) -> dict[str, str]:
    """Return fields as printed (to find them on the rendered page)."""
    return {"issuer": receipt.issuer, "document_date": receipt.issue_date.strftime(receipt.date_style),
            "invoice_number": receipt.number, "total_amount": format_amount(receipt.total)}


def _rows(receipt: Receipt) -> list[tuple[str, str, str]]:
    """Return the printed lines as (style, left text, right text); style c=centred, b=bold, n=normal."""
    sign = SIGN[receipt.currency]
    rows: list[tuple[str, str, str]] = [("cb", receipt.issuer, "")]
    rows += [("c", line, "") for line in receipt.address]
    rows += [("c", receipt.registration, ""), ("c", "", ""), ("cb", receipt.title, "")]
    rows += [("n", f"Receipt No: {receipt.number}", ""),
             ("n", f"Date: {receipt.issue_date.strftime(receipt.date_style)}", receipt.time),
             ("n", f"Cashier: {receipt.cashier}", ""), ("n", "-" * CHARS, "")]
    for line in receipt.lines:
        rows.append(("n", line.description, format_amount(line.amount)))
        if line.quantity > 1:
            rows.append(("n", f"  {line.quantity} x {format_amount(line.unit_price)}", ""))
    rows += [("n", "-" * CHARS, ""), ("n", "Subtotal", format_amount(receipt.subtotal)),
             ("n", f"{receipt.tax_label} {receipt.tax_rate.normalize():f}%", format_amount(receipt.tax)),
             ("b", f"TOTAL {sign}", format_amount(receipt.total)),
             ("n", "Cash", format_amount(receipt.cash)),
             ("n", "Change", format_amount(receipt.cash - receipt.total)), ("n", "", ""),
             ("c", "THANK YOU, PLEASE COME AGAIN", "")]
    return rows


def receipt_height_mm(receipt: Receipt) -> float:
    """Return the length of till roll the receipt needs."""
    return 2 * MARGIN_MM + 6 + LINE_MM * len(_rows(receipt))


def draw_receipt_page(pdf: FPDF, receipt: Receipt) -> None:
    """Add one narrow till-roll page for `receipt` to `pdf`."""
    pdf.core_fonts_encoding = "windows-1252"
    pdf.add_page(format=(WIDTH_MM, receipt_height_mm(receipt)))
    y = MARGIN_MM + 5
    right = WIDTH_MM - MARGIN_MM
    for style, left, value in _rows(receipt):
        pdf.set_font("Courier", "B" if "b" in style else "", 9 if "b" in style else 8)
        if "c" in style:
            pdf.text((WIDTH_MM - pdf.get_string_width(left)) / 2, y, left)
        else:
            pdf.text(MARGIN_MM, y, left)
        if value:
            pdf.text(right - pdf.get_string_width(value), y, value)
        y += LINE_MM


def render_receipt_pdf(receipt: Receipt) -> bytes:
    """Return `receipt` as a one-page narrow text PDF."""
    pdf = new_fpdf()
    pdf.set_title("Receipt")
    draw_receipt_page(pdf, receipt)
    return bytes(pdf.output())
