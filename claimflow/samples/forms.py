"""The ClaimFlow motor claim form: a text PDF (fpdf2) and a fillable AcroForm twin (reportlab).

Layout (the extractor spec is written from it): A4 portrait, Helvetica; a 14 pt bold insurer name, an
18 pt bold title and a thin rule; one row per field with the label at x=20 mm (10 pt) and the value at
x=85 mm (11 pt) on the same baseline, rows 10 mm apart; the description may wrap to a second line at
x=85 mm; an 8 pt declaration footer with the form code CF-MCF-01.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from claimflow.samples.identifiers import group_iban
from claimflow.samples.plan import MotorClaim

INSURER = "ClaimFlow Mutual Insurance"
TITLE = "MOTOR CLAIM FORM"
FORM_CODE = "CF-MCF-01"
DECLARATION = "Declaration: I confirm the information above is true. Signature: ____"
LABEL_X_MM = 20.0
VALUE_X_MM = 85.0
FIRST_ROW_MM = 48.0
ROW_PITCH_MM = 10.0
WRAP_PITCH_MM = 5.5
VALUE_WIDTH_MM = 105.0
FOOTER_MM = 282.0
PAGE_HEIGHT_MM = 297.0
CREATION_DATE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

LABELS: tuple[tuple[str, str], ...] = (
    ("policy_number", "Policy number:"),
    ("claim_number", "Claim number:"),
    ("claimant_name", "Claimant name:"),
    ("date_of_loss", "Date of loss (DD/MM/YYYY):"),
    ("loss_type", "Type of loss:"),
    ("vehicle_registration", "Vehicle registration:"),
    ("amount_claimed", "Amount claimed:"),
    ("currency", "Currency:"),
    ("payee_iban", "Payee IBAN:"),
    ("description", "Description of loss:"),
    ("signature_date", "Date signed (DD/MM/YYYY):"),
)
ACROFORM_NAMES = {canonical: f"txtField_{number}" for number, (canonical, _) in enumerate(LABELS, start=1)}


def format_amount(amount: Decimal) -> str:
    """Return an amount as printed on forms: thousands comma, two decimals."""
    return f"{amount:,.2f}"


def printed_values(claim: MotorClaim) -> dict[str, str]:
    """Return each canonical field's value as printed on the form."""
    return {
        "policy_number": claim.policy_number,
        "claim_number": claim.claim_number,
        "claimant_name": claim.claimant_name,
        "date_of_loss": claim.date_of_loss.strftime("%d/%m/%Y"),
        "loss_type": claim.loss_type,
        "vehicle_registration": claim.vehicle_registration,
        "amount_claimed": format_amount(claim.amount_claimed),
        "currency": claim.currency,
        "payee_iban": group_iban(claim.payee_iban),
        "description": claim.description,
        "signature_date": claim.signature_date.strftime("%d/%m/%Y"),
    }


def truth_fields(claim: MotorClaim) -> dict[str, str]:
    """Return the canonical ground-truth values of a claim form (ISO dates, plain amounts)."""
    return {
        "policy_number": claim.policy_number,
        "claim_number": claim.claim_number,
        "claimant_name": claim.claimant_name,
        "date_of_loss": claim.date_of_loss.isoformat(),
        "loss_type": claim.loss_type,
        "vehicle_registration": claim.vehicle_registration,
        "amount_claimed": str(claim.amount_claimed),
        "currency": claim.currency,
        "payee_iban": claim.payee_iban,
        "description": claim.description,
        "signature_date": claim.signature_date.isoformat(),
    }


def row_positions() -> dict[str, float]:
    """Return the baseline (mm from the top) of each field row; the description row takes 1.5 rows."""
    positions: dict[str, float] = {}
    y = FIRST_ROW_MM
    for canonical, _ in LABELS:
        positions[canonical] = y
        y += ROW_PITCH_MM * (1.5 if canonical == "description" else 1.0)
    return positions


def wrap_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split `text` into a first line that `fits` and the rest (empty rest: one line)."""
    words = text.split()
    first: list[str] = []
    while words and fits(" ".join([*first, words[0]])):
        first.append(words.pop(0))
    return [" ".join(first), " ".join(words)] if words else [" ".join(first)]


def new_fpdf() -> FPDF:
    """Return an A4 portrait fpdf2 document with a fixed creation date (byte-identical output)."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 15, 20)
    pdf.set_title("Motor claim")
    return pdf


def draw_form_page(pdf: FPDF, claim: MotorClaim) -> None:
    """Add one claim-form page for `claim` to `pdf`."""
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.text(LABEL_X_MM, 20, INSURER)
    pdf.set_font("Helvetica", "B", 18)
    pdf.text(LABEL_X_MM, 31, TITLE)
    pdf.set_line_width(0.3)
    pdf.line(LABEL_X_MM, 35, 190, 35)
    values = printed_values(claim)
    positions = row_positions()
    for canonical, label in LABELS:
        y = positions[canonical]
        pdf.set_font("Helvetica", "", 10)
        pdf.text(LABEL_X_MM, y, label)
        pdf.set_font("Helvetica", "", 11)
        lines = wrap_text(values[canonical], lambda line: pdf.get_string_width(line) <= VALUE_WIDTH_MM)
        for number, line in enumerate(lines):
            pdf.text(VALUE_X_MM, y + number * WRAP_PITCH_MM, line)
    pdf.set_font("Helvetica", "", 8)
    pdf.text(LABEL_X_MM, FOOTER_MM, DECLARATION)
    pdf.text(190 - pdf.get_string_width(FORM_CODE), FOOTER_MM, FORM_CODE)


def render_form_pdf(claim: MotorClaim) -> bytes:
    """Return the text-PDF claim form of `claim` as bytes."""
    pdf = new_fpdf()
    draw_form_page(pdf, claim)
    return bytes(pdf.output())


def write_acroform_pdf(claim: MotorClaim, path: Path) -> None:
    """Write the fillable (AcroForm) claim form of `claim`, values filled in, labels printed as text."""
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    pdf.setTitle("Motor claim")

    def baseline(y_mm: float) -> float:
        return float((PAGE_HEIGHT_MM - y_mm) * mm)

    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(LABEL_X_MM * mm, baseline(20), INSURER)
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(LABEL_X_MM * mm, baseline(31), TITLE)
    pdf.setLineWidth(0.3 * mm)
    pdf.line(LABEL_X_MM * mm, baseline(35), 190 * mm, baseline(35))
    values = printed_values(claim)
    positions = row_positions()
    for canonical, label in LABELS:
        y = positions[canonical]
        pdf.setFont("Helvetica", 10)
        pdf.drawString(LABEL_X_MM * mm, baseline(y), label)
        multiline = canonical == "description"
        height = (WRAP_PITCH_MM + 6.5) if multiline else 6.5
        pdf.acroForm.textfield(
            name=ACROFORM_NAMES[canonical], value=values[canonical], x=VALUE_X_MM * mm - 2,
            y=baseline(y + (WRAP_PITCH_MM if multiline else 0.0)) - 2.9 * mm, width=VALUE_WIDTH_MM * mm,
            height=height * mm, fontName="Helvetica", fontSize=11, borderWidth=0, fillColor=None,
            fieldFlags="multiline" if multiline else "", forceBorder=False,
        )
    pdf.setFont("Helvetica", 8)
    pdf.drawString(LABEL_X_MM * mm, baseline(FOOTER_MM), DECLARATION)
    pdf.drawRightString(190 * mm, baseline(FOOTER_MM), FORM_CODE)
    pdf.showPage()
    pdf.save()
