"""CMS-1500 claims typed over the real blank HCFA-1500 form, positioned from the form's own printed labels.

The blank form (a public NUCC/CMS layout) has a text layer holding its labels only. Each value is placed
relative to the label of its box as found in that text layer (e.g. under "PATIENT'S NAME", after the "$" of
box 28, in the row of service-line number 3 under the "From" MM/DD/YY headers), so the values sit where a
person with a typewriter or billing software would put them. The overlay is drawn with reportlab and
merged onto the blank page with pypdf; the output keeps both text layers (labels and values).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from claimflow.samples.plan import money
from claimflow.samples.scans import TextBox, find_text_boxes

BLANK_FORM = Path("/work/shared/realdocs/cms1500/hcfa1500_blank.pdf")
FIXED_PDF_ID = ByteStringObject(bytes(range(16, 32)))
VALUE_FONT_SIZE = 10.0
APOSTROPHES = ("\u2019", "'")

FIRST = ("James", "Mary", "Robert", "Patricia", "Michael", "Linda", "David", "Susan", "Carlos", "Maria",
         "Kevin", "Angela", "Brian", "Denise", "Tyrone", "Keisha", "Wei", "Mei", "Ahmed", "Olga")
LAST = ("Smith", "Johnson", "Williams", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Anderson",
        "Thompson", "Nguyen", "Patel", "O'Neil", "McCarthy", "Kowalski", "Jackson", "Harris", "Lee-Wong")
ICD10 = ("E11.9", "I10", "J45.909", "M54.50", "R51.9", "S83.511A", "K21.9", "F41.1", "J06.9", "N39.0",
         "M25.561", "R10.9", "Z00.00", "E78.5", "G43.909", "L30.9", "J02.9", "M79.604", "R05.9", "H10.33")
CPT_PRICES = {"99213": 95, "99214": 145, "99203": 130, "80053": 48, "85025": 32, "93000": 60, "71046": 85,
              "36415": 12, "97110": 70, "90686": 38, "81002": 15, "87880": 28, "20610": 120, "99395": 180}
PROVIDERS = ("Riverside Family Clinic", "Lakeview Medical Group", "Northgate Pediatrics", "Summit Orthopedics",
             "Harbor Internal Medicine", "Maple Street Health Center", "Eastside Urgent Care",
             "Pinecrest Physical Therapy")
STREETS = ("Main St", "Oak Ave", "Elm Street", "Cedar Rd", "Park Blvd", "Lake Dr")
CITIES = (("Springfield", "IL", "62701"), ("Dayton", "OH", "45402"), ("Fresno", "CA", "93721"),
          ("Tulsa", "OK", "74103"), ("Albany", "NY", "12207"), ("Madison", "WI", "53703"))


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One row of box 24: dates of service, CPT code and charge."""

    date_from: date
    date_to: date
    procedure_code: str
    charge: Decimal


@dataclass(frozen=True, slots=True)
class CmsClaim:
    """The values typed on one CMS-1500 form."""

    patient_name: str
    patient_birth_date: date
    insured_id: str
    insured_name: str
    policy_group: str
    diagnosis_codes: tuple[str, ...]
    service_lines: tuple[ServiceLine, ...]
    amount_paid: Decimal
    federal_tax_id: str
    billing_provider: str
    provider_address: str
    font: str

    @property
    def total_charge(self) -> Decimal:
        """Return the sum of the service-line charges (box 28)."""
        return sum((line.charge for line in self.service_lines), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class Placement:
    """One string to type on the form: field, text, x and baseline in points from the top-left, alignment."""

    field: str
    label: str
    text: str
    x: float
    baseline: float
    align_right: bool = False


def _name(rng: random.Random) -> str:
    middle = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}" if rng.random() < 0.6 else ""
    return f"{rng.choice(LAST)}, {rng.choice(FIRST)}{middle}"


def make_cms_claim(rng: random.Random) -> CmsClaim:
    """Return a random CMS-1500 claim: 2-4 ICD-10 codes, 1-6 service lines, charges summing to box 28."""
    patient = _name(rng)
    first_visit = date(2026, 1, 5) + timedelta(days=rng.randint(0, 290))
    lines: list[ServiceLine] = []
    for _ in range(rng.randint(1, 6)):
        start = first_visit + timedelta(days=rng.randint(0, 20))
        code = rng.choice(sorted(CPT_PRICES))
        charge = money(Decimal(CPT_PRICES[code]) * Decimal(rng.randint(90, 130)) / 100)
        lines.append(ServiceLine(start, start + timedelta(days=rng.choice((0, 0, 0, 1, 2))), code, charge))
    total = sum((line.charge for line in lines), Decimal("0.00"))
    paid = Decimal("0.00") if rng.random() < 0.4 else money(total * Decimal(rng.randint(10, 60)) / 100)
    city, state, zip_code = rng.choice(CITIES)
    return CmsClaim(
        patient_name=patient,
        patient_birth_date=date(1940, 1, 1) + timedelta(days=rng.randint(0, 27_000)),
        insured_id=rng.choice(("W", "XGH", "MB", "H")) + f"{rng.randint(10**7, 10**9 - 1)}",
        insured_name=patient if rng.random() < 0.6 else _name(rng),
        policy_group=rng.choice((f"GRP-{rng.randint(10000, 99999)}", f"{rng.randint(100000, 9999999)}")),
        diagnosis_codes=tuple(rng.sample(ICD10, rng.randint(2, 4))),
        service_lines=tuple(sorted(lines, key=lambda line: line.date_from)),
        amount_paid=paid,
        federal_tax_id=f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
        billing_provider=rng.choice(PROVIDERS),
        provider_address=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}, {city} {state} {zip_code}",
        font=rng.choice(("Courier", "Courier", "Helvetica")),
    )


def truth_fields(claim: CmsClaim) -> dict[str, object]:
    """Return the canonical ground truth: ISO dates, money as '123.45', service lines as a list of dicts."""
    return {
        "patient_name": claim.patient_name,
        "patient_birth_date": claim.patient_birth_date.isoformat(),
        "insured_id": claim.insured_id,
        "insured_name": claim.insured_name,
        "policy_group": claim.policy_group,
        "diagnosis_codes": list(claim.diagnosis_codes),
        "service_lines": [{"date_from": line.date_from.isoformat(), "date_to": line.date_to.isoformat(),
                           "procedure_code": line.procedure_code, "charge": str(line.charge)}
                          for line in claim.service_lines],
        "total_charge": str(claim.total_charge),
        "amount_paid": str(claim.amount_paid),
        "federal_tax_id": claim.federal_tax_id,
        "billing_provider": claim.billing_provider,
    }


def printed_values(claim: CmsClaim) -> dict[str, str]:
    """Return single-string fields as typed on the form (to find them again on the rendered page)."""
    return {"patient_name": claim.patient_name, "insured_id": claim.insured_id, "policy_group": claim.policy_group,
            "federal_tax_id": claim.federal_tax_id, "total_charge": f"{claim.total_charge:.2f}",
            "billing_provider": claim.billing_provider}


def load_blank(path: Path = BLANK_FORM) -> bytes:
    """Return the blank form's bytes; raise FileNotFoundError naming the path when it is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"blank CMS-1500 form not found at {path}; pass cms_blank=<path to the blank PDF>")
    return path.read_bytes()


def _find(blank: bytes, label: str) -> list[TextBox]:
    """Return the boxes of `label`, trying the typographic and the plain apostrophe."""
    for mark in APOSTROPHES:
        boxes = find_text_boxes(blank, label.replace("'", mark))
        if boxes:
            return boxes
    raise ValueError(f"label {label!r} not found in the blank form's text layer")


def _below(boxes: list[TextBox], anchor: TextBox, reach: float) -> list[TextBox]:
    """Return boxes whose top lies within `reach` points under the anchor's top, left to right."""
    return sorted((b for b in boxes if 0 < b[1] - anchor[1] <= reach), key=lambda b: b[0])


def _distance(box: TextBox, anchor: TextBox) -> float:
    return abs(box[0] - anchor[0]) + abs(box[1] - anchor[1])


class FormLabels:
    """The label boxes of the blank form that values are placed from."""

    def __init__(self, blank: bytes) -> None:
        """Find every label needed on the blank page."""
        self.patient_name = _find(blank, "PATIENT'S NAME")[0]
        self.birth_date = _find(blank, "PATIENT'S BIRTH DATE")[0]
        self.insured_id = _find(blank, "INSURED'S I.D. NUMBER")[0]
        self.insured_name = max(_find(blank, "INSURED'S NAME"), key=lambda b: b[0])
        self.policy_group = _find(blank, "INSURED'S POLICY GROUP")[0]
        self.diagnosis = _find(blank, "DIAGNOSIS OR NATURE")[0]
        self.service_from = _find(blank, "From")[0]
        self.procedures = _find(blank, "PROCEDURES")[0]
        self.charges = min(_find(blank, "CHARGES"), key=lambda b: abs(b[1] - self.service_from[1]))
        self.total_charge = _find(blank, "TOTAL CHARGE")[0]
        self.amount_paid = _find(blank, "AMOUNT PAID")[0]
        self.federal_tax_id = _find(blank, "FEDERAL TAX I.D. NUMBER")[0]
        self.billing = _find(blank, "PHYSICIAN'S, SUPPLIER'S BILLING")[0]
        dollars = _find(blank, "$")
        self.total_dollar = min(dollars, key=lambda b: _distance(b, self.total_charge))
        self.paid_dollar = min(dollars, key=lambda b: _distance(b, self.amount_paid))
        near_birth = [b for b in _find(blank, "MM") + _find(blank, "DD") + _find(blank, "YY")
                      if abs(b[1] - self.birth_date[1]) < 12 and self.birth_date[0] - 40 < b[0] < self.birth_date[2]]
        self.birth_columns = sorted(near_birth, key=lambda b: b[0])
        self.service_columns = sorted(
            (b for b in _find(blank, "MM") + _find(blank, "DD") + _find(blank, "YY")
             if 0 < b[1] - self.service_from[1] < 14), key=lambda b: b[0])
        self.diagnosis_slots = {
            number: [b for b in _below(_find(blank, f"{number}."), self.diagnosis, 50)
                     if b[0] < self.diagnosis[0] + 250][0 if number <= 2 else -1]
            for number in (1, 2, 3, 4)  # 1 and 2 in the left column, 3 and 4 in the right one
        }
        rows = [min((b for b in find_text_boxes(blank, str(n)) if b[2] < self.service_from[0] - 20
                     and b[1] > self.service_from[3]), key=lambda b: b[1]) for n in range(1, 7)]
        self.row_markers = rows


def layout_values(claim: CmsClaim, labels: FormLabels) -> list[Placement]:
    """Return where each value of `claim` is typed, relative to the labels of its box."""
    def under(field: str, label_text: str, label: TextBox, text: str, drop: float = 12.0, dx: float = 0.0) -> Placement:
        return Placement(field, label_text, text, label[0] + dx, label[3] + drop)

    born = claim.patient_birth_date
    mm, dd, _ = labels.birth_columns[:3]
    birth_base = mm[3] + 8
    two = float(stringWidth("00", claim.font, VALUE_FONT_SIZE))

    def centred(box: TextBox) -> float:
        return (box[0] + box[2]) / 2 - two / 2

    placements = [
        under("patient_name", "PATIENT'S NAME", labels.patient_name, claim.patient_name),
        Placement("patient_birth_date", "BIRTH DATE", f"{born:%m}", centred(mm), birth_base),
        Placement("patient_birth_date", "BIRTH DATE", f"{born:%d}", centred(dd), birth_base),
        Placement("patient_birth_date", "BIRTH DATE", f"{born:%Y}", centred(dd) + two + 4, birth_base),
        under("insured_id", "INSURED'S I.D. NUMBER", labels.insured_id, claim.insured_id),
        under("insured_name", "INSURED'S NAME", labels.insured_name, claim.insured_name, dx=3.0),
        under("policy_group", "POLICY GROUP", labels.policy_group, claim.policy_group),
        under("federal_tax_id", "FEDERAL TAX", labels.federal_tax_id, claim.federal_tax_id, drop=13.0),
        under("billing_provider", "SUPPLIER'S BILLING", labels.billing, claim.billing_provider, drop=20.0),
        under("billing_provider_address", "SUPPLIER'S BILLING", labels.billing, claim.provider_address, drop=30.0),
        Placement("total_charge", "TOTAL CHARGE", f"{claim.total_charge:.2f}", labels.total_dollar[2] + 5,
                  labels.total_dollar[3] - 1),
        Placement("amount_paid", "AMOUNT PAID", f"{claim.amount_paid:.2f}", labels.paid_dollar[2] + 5,
                  labels.paid_dollar[3] - 1),
    ]
    for number, code in enumerate(claim.diagnosis_codes, start=1):
        slot = labels.diagnosis_slots[number]
        placements.append(Placement("diagnosis_codes", "DIAGNOSIS", code, slot[2] + 10, slot[3] - 2))
    columns = labels.service_columns
    for line, marker in zip(claim.service_lines, labels.row_markers, strict=False):
        baseline = marker[1] + 1.0
        for offset, day in ((0, line.date_from), (3, line.date_to)):
            for column, text in zip(columns[offset:offset + 3], (f"{day:%m}", f"{day:%d}", f"{day:%y}"), strict=True):
                placements.append(Placement("service_lines", "From", text, column[0] - 2, baseline))
        placements.append(Placement("service_lines", "PROCEDURES", line.procedure_code, labels.procedures[0] + 6,
                                    baseline))
        placements.append(Placement("service_lines", "CHARGES", f"{line.charge:.2f}", labels.charges[2] + 7,
                                    baseline, align_right=True))
    return placements


def _overlay(placements: list[Placement], font: str, size: tuple[float, float]) -> bytes:
    """Return a one-page PDF with only the typed values (reportlab, invariant output)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=size, invariant=1)
    pdf.setFont(font, VALUE_FONT_SIZE)
    for placement in placements:
        y = size[1] - placement.baseline
        if placement.align_right:
            pdf.drawRightString(placement.x, y, placement.text)
        else:
            pdf.drawString(placement.x, y, placement.text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render_cms_pdf(claim: CmsClaim, blank: bytes, labels: FormLabels | None = None) -> bytes:
    """Return the blank form with `claim`'s values typed over it, as a text-layer PDF."""
    labels = labels or FormLabels(blank)
    page = PdfReader(io.BytesIO(blank)).pages[0]
    size = (float(page.mediabox.width), float(page.mediabox.height))
    overlay = PdfReader(io.BytesIO(_overlay(layout_values(claim, labels), claim.font, size))).pages[0]
    writer = PdfWriter()
    merged = writer.add_page(page)
    merged.merge_page(overlay)
    writer.add_metadata({"/Title": "CMS-1500 claim", "/Producer": "ClaimFlow sample generator"})
    writer._ID = ArrayObject((FIXED_PDF_ID, FIXED_PDF_ID))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
