"""Garage repair invoices as text PDFs, in three visibly different layouts.

Layout "a" is a classic letterhead invoice ("INVOICE", "Invoice No:", DD/MM/YYYY dates, "EUR 1,234.56");
"b" a "Tax Invoice" with the garage on the right, "Invoice #", "16 Oct 2026" dates, "Your ref:" and a
currency sign ("€1,234.56"); "c" a compact sheet with a bordered table and totals on the left. The
positions differ on purpose, so an extractor spec has to anchor on labels, not on coordinates.
"""

from __future__ import annotations

from decimal import Decimal

from fpdf import FPDF

from claimflow.samples.forms import format_amount, new_fpdf
from claimflow.samples.plan import Invoice

SIGNS = {"EUR": "€", "GBP": "£"}


def _code_amount(invoice: Invoice, amount: Decimal) -> str:
    return f"{invoice.currency} {format_amount(amount)}"


def _sign_amount(invoice: Invoice, amount: Decimal) -> str:
    return f"{SIGNS.get(invoice.currency, invoice.currency + ' ')}{format_amount(amount)}"


def truth_fields(invoice: Invoice, *, layout: str | None = None) -> dict[str, str]:
    """Return the canonical ground-truth values of an invoice drawn in `layout` (default: its own).

    The address is the truth as printed: its lines joined by ", " (the spec's join), or, on layout "c" where it
    is printed on one line, that line (`Havenweg 3 - 3542 AD Utrecht - Netherlands`).
    """
    joiner = " - " if (layout or invoice.layout) == "c" else ", "
    return {
        "issuer": invoice.issuer,
        "issuer_address": joiner.join(invoice.address),
        "document_date": invoice.issue_date.isoformat(),
        "invoice_number": invoice.number,
        "total_amount": str(invoice.total),
        "tax_amount": str(invoice.tax),
        "currency": invoice.currency,
        "claim_reference": invoice.claim_reference,
    }


def _right(pdf: FPDF, x_right: float, y: float, text: str) -> None:
    pdf.text(x_right - pdf.get_string_width(text), y, text)


def _table(pdf: FPDF, invoice: Invoice, top: float, columns: tuple[float, float, float, float],
           *, borders: bool) -> float:
    """Draw the line-item table from `top`; return the y below it. Columns: left x, right edges of 3 numbers."""
    left, qty_right, unit_right, amount_right = columns
    pdf.set_font("Helvetica", "B", 9.5)
    headers = ("Qty", "Unit price", "Amount")
    pdf.text(left + 1, top, "Description")
    for right, header in zip((qty_right, unit_right, amount_right), headers, strict=True):
        _right(pdf, right - 1, top, header)
    pdf.set_line_width(0.2)
    pdf.line(left, top + 2, amount_right, top + 2)
    pdf.set_font("Helvetica", "", 9.5)
    y = top + 8
    for item in invoice.items:
        pdf.text(left + 1, y, item.description)
        _right(pdf, qty_right - 1, y, str(item.quantity))
        _right(pdf, unit_right - 1, y, format_amount(item.unit_price))
        _right(pdf, amount_right - 1, y, format_amount(item.amount))
        if borders:
            pdf.line(left, y + 2.5, amount_right, y + 2.5)
        y += 7
    if borders:
        pdf.rect(left, top - 5, amount_right - left, y - top + 2.5 - 2)
    return y + 4


def _layout_a(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font("Helvetica", "B", 16)
    pdf.text(20, 22, invoice.issuer)
    pdf.set_font("Helvetica", "", 9)
    for number, line in enumerate(invoice.address):
        pdf.text(20, 28 + number * 4.5, line)
    pdf.set_font("Helvetica", "B", 22)
    _right(pdf, 190, 24, "INVOICE")
    pdf.set_font("Helvetica", "", 10)
    _right(pdf, 190, 40, f"Invoice No: {invoice.number}")
    _right(pdf, 190, 46, f"Date: {invoice.issue_date.strftime('%d/%m/%Y')}")
    _right(pdf, 190, 52, f"Claim ref: {invoice.claim_reference}")
    pdf.text(20, 62, "Bill to: ClaimFlow Mutual Insurance, Motor Claims")
    y = _table(pdf, invoice, 78, (20, 120, 155, 190), borders=False)
    pdf.set_font("Helvetica", "", 10)
    rows = (("Subtotal", _code_amount(invoice, invoice.subtotal)),
            (f"VAT {invoice.vat_rate}%", _code_amount(invoice, invoice.tax)))
    for label, value in rows:
        pdf.text(125, y, label)
        _right(pdf, 189, y, value)
        y += 6
    pdf.set_font("Helvetica", "B", 11)
    pdf.text(125, y + 1, "Total")
    _right(pdf, 189, y + 1, _code_amount(invoice, invoice.total))
    pdf.set_font("Helvetica", "", 8)
    pdf.text(20, 280, "Payment within 30 days. Thank you for your business.")


def _layout_b(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font("Helvetica", "B", 13)
    _right(pdf, 190, 18, invoice.issuer)
    pdf.set_font("Helvetica", "", 9)
    for number, line in enumerate(invoice.address):
        _right(pdf, 190, 24 + number * 4.5, line)
    pdf.set_font("Helvetica", "B", 18)
    title = "Tax Invoice"
    pdf.text(105 - pdf.get_string_width(title) / 2, 52, title)
    pdf.set_font("Helvetica", "", 10)
    pdf.text(20, 64, f"Invoice #: {invoice.number}")
    pdf.text(20, 70, f"Date: {invoice.issue_date.strftime('%d %b %Y')}")
    pdf.text(20, 76, f"Your ref: {invoice.claim_reference}")
    pdf.text(110, 64, "Customer: ClaimFlow Mutual Insurance")
    pdf.text(110, 70, "Motor Claims Department")
    y = _table(pdf, invoice, 92, (20, 125, 158, 190), borders=False)
    pdf.set_font("Helvetica", "", 10)
    _right(pdf, 158, y, "Subtotal")
    _right(pdf, 189, y, _sign_amount(invoice, invoice.subtotal))
    _right(pdf, 158, y + 6, f"VAT {invoice.vat_rate}%")
    _right(pdf, 189, y + 6, _sign_amount(invoice, invoice.tax))
    pdf.set_font("Helvetica", "B", 12)
    _right(pdf, 158, y + 14, "Amount due")
    _right(pdf, 189, y + 14, _sign_amount(invoice, invoice.total))


def _layout_c(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font("Helvetica", "B", 15)
    pdf.text(105 - pdf.get_string_width(invoice.issuer) / 2, 20, invoice.issuer)
    pdf.set_font("Helvetica", "", 9)
    address = " - ".join(invoice.address)
    pdf.text(105 - pdf.get_string_width(address) / 2, 26, address)
    pdf.set_line_width(0.5)
    pdf.line(15, 30, 195, 30)
    pdf.set_font("Helvetica", "B", 14)
    pdf.text(15, 42, "INVOICE")
    pdf.set_font("Helvetica", "", 10)
    pdf.text(15, 52, f"Invoice No: {invoice.number}")
    pdf.text(80, 52, f"Date: {invoice.issue_date.strftime('%d %b %Y')}")
    pdf.text(140, 52, f"Claim ref: {invoice.claim_reference}")
    y = _table(pdf, invoice, 68, (15, 130, 162, 195), borders=True)
    pdf.set_font("Helvetica", "", 10)
    pdf.text(15, y + 4, f"Subtotal: {_code_amount(invoice, invoice.subtotal)}")
    pdf.text(15, y + 10, f"VAT {invoice.vat_rate}%: {_code_amount(invoice, invoice.tax)}")
    pdf.set_font("Helvetica", "B", 12)
    pdf.text(15, y + 18, f"Amount due: {_sign_amount(invoice, invoice.total)}")


LAYOUTS = {"a": _layout_a, "b": _layout_b, "c": _layout_c}


def draw_invoice_page(pdf: FPDF, invoice: Invoice) -> None:
    """Add one invoice page to `pdf` in the invoice's layout."""
    pdf.core_fonts_encoding = "windows-1252"
    pdf.add_page()
    LAYOUTS[invoice.layout](pdf, invoice)


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """Return `invoice` as a one-page text PDF."""
    pdf = new_fpdf()
    pdf.set_title("Invoice")
    draw_invoice_page(pdf, invoice)
    return bytes(pdf.output())


def draw_two_page_invoice(pdf: FPDF, invoice: Invoice) -> None:
    """Add a two-page invoice: letterhead and line items on page 1, totals on a continuation page 2."""
    pdf.core_fonts_encoding = "windows-1252"
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.text(20, 22, invoice.issuer)
    pdf.set_font("Helvetica", "", 9)
    for number, line in enumerate(invoice.address):
        pdf.text(20, 28 + number * 4.5, line)
    pdf.set_font("Helvetica", "B", 22)
    _right(pdf, 190, 24, "INVOICE")
    pdf.set_font("Helvetica", "", 10)
    _right(pdf, 190, 40, f"Invoice No: {invoice.number}")
    _right(pdf, 190, 46, f"Date: {invoice.issue_date.strftime('%d/%m/%Y')}")
    _right(pdf, 190, 52, f"Claim ref: {invoice.claim_reference}")
    pdf.text(20, 62, "Bill to: ClaimFlow Mutual Insurance, Motor Claims")
    _table(pdf, invoice, 78, (20, 120, 155, 190), borders=False)
    pdf.set_font("Helvetica", "", 8)
    pdf.text(20, 280, "Continued on page 2")
    _right(pdf, 190, 280, "Page 1 of 2")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    pdf.text(20, 22, f"{invoice.issuer} - Invoice No: {invoice.number} (continued)")
    pdf.set_line_width(0.2)
    pdf.line(20, 26, 190, 26)
    y = 40.0
    rows = (("Subtotal", _code_amount(invoice, invoice.subtotal)),
            (f"VAT {invoice.vat_rate}%", _code_amount(invoice, invoice.tax)))
    for label, value in rows:
        pdf.text(125, y, label)
        _right(pdf, 189, y, value)
        y += 6
    pdf.set_font("Helvetica", "B", 11)
    pdf.text(125, y + 1, "Total")
    _right(pdf, 189, y + 1, _code_amount(invoice, invoice.total))
    pdf.set_font("Helvetica", "", 8)
    pdf.text(20, 280, "Payment within 30 days. Thank you for your business.")
    _right(pdf, 190, 280, "Page 2 of 2")
