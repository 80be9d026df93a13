"""CMS-1500 forms filled the way other software fills them: a second, independent filler for the corpus.

`claimflow.samples.cms1500` types values next to the labels it finds in the blank form's text layer. Real
claims come from practice-management and billing software that knows nothing of our reader, so this module
fills the same blank HCFA-1500 in two other ways, from a fixed table of box rectangles (measured once on the
form's rules, like a vendor's form definition) and with other value conventions:

- `acroform`: a fillable PDF is made from the blank (one text widget per box, dates split into MM | DD | YY
  widgets, charges into dollars | cents widgets as on the printed form), filled with pypdf, whose own
  appearance generation lays the values out (Helvetica or Courier, its own size and alignment), then
  flattened to an image by rendering it with pypdfium2 (no text layer is left).
- `preprinted`: the software prints ALL CAPS 12 pt Courier (10 characters per inch, 6 lines per inch) on the
  form's character grid onto pre-printed red forms; the printer feeds the sheet with a random offset of a few
  millimetres and a small rotation, then the page is scanned.

Conventions that differ from our generator: names `LAST, FIRST M` in capitals (preprinted), service dates
`MM DD YY`, birth dates `MM DD YY` (preprinted) or `MM DD YYYY`, charges without a decimal point split into
dollars | cents columns, ICD-10 codes printed without their dot (`M5450`), place of service, diagnosis
pointer and units printed in their columns. The ground truth keeps the canonical values (dotted ICD-10 codes,
ISO dates, money as '123.45') in the same format as `cms1500.truth_fields`; names and the tax id are as printed.
Everything is deterministic by the `random.Random` passed in.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from claimflow.samples.cms1500 import CmsClaim, make_cms_claim, truth_fields
from claimflow.samples.scans import render_page

FIXED_PDF_ID = ByteStringObject(bytes(range(48, 64)))
PAGE_HEIGHT = 792.0
FILLERS = ("acroform", "preprinted")

Rect = tuple[float, float, float, float]
"""x0, top, x1, bottom in points from the page's top-left corner."""

# Box rectangles of the blank HCFA-1500 (12-90), measured once on the form's printed rules.
SERVICE_RULES = (529.2, 547.2, 571.8, 595.2, 619.8, 643.2, 667.2)
"""Tops of the six service-line rows and the bottom of the last one."""
SERVICE_COLUMNS: dict[str, tuple[float, float]] = {
    "from_mm": (24.0, 44.9), "from_dd": (44.9, 68.9), "from_yy": (68.9, 90.0),
    "to_mm": (90.0, 107.9), "to_dd": (107.9, 131.6), "to_yy": (131.6, 152.4),
    "place": (152.4, 173.4), "cpt": (195.0, 246.0), "pointer": (317.8, 374.6),
    "dollars": (374.6, 416.3), "cents": (416.3, 440.4), "units": (440.4, 461.3),
}
BOXES: dict[str, Rect] = {
    "insured_id": (380.0, 102.0, 560.0, 115.0),
    "patient_name": (28.0, 126.0, 226.0, 140.0),
    "birth_mm": (230.0, 130.0, 257.0, 140.0),
    "birth_dd": (258.6, 130.0, 278.0, 140.0),
    "birth_yy": (279.7, 130.0, 307.0, 140.0),
    "insured_name": (380.0, 126.0, 590.0, 140.0),
    "policy_group": (380.0, 222.0, 590.0, 236.0),
    "diagnosis_1": (38.0, 466.0, 130.0, 477.0),
    "diagnosis_2": (38.0, 488.0, 130.0, 498.5),
    "diagnosis_3": (236.0, 466.0, 330.0, 477.0),
    "diagnosis_4": (236.0, 488.0, 330.0, 498.5),
    "federal_tax_id": (28.0, 677.0, 130.0, 690.0),
    "ein_box": (151.0, 680.0, 161.0, 690.0),
    "account": (186.0, 677.0, 282.0, 690.0),
    "total_dollars": (386.0, 679.0, 430.4, 691.0),
    "total_cents": (432.4, 679.0, 454.4, 691.0),
    "paid_dollars": (466.0, 679.0, 502.0, 691.0),
    "paid_cents": (504.0, 679.0, 522.8, 691.0),
    "provider_1": (386.0, 707.5, 590.0, 719.0),
    "provider_2": (386.0, 719.5, 590.0, 731.0),
    "provider_3": (386.0, 731.5, 590.0, 743.0),
}
RIGHT_ALIGNED = frozenset({"total_dollars", "paid_dollars"})
GRID_X0, GRID_PITCH_X = 24.0, 7.2
"""Character grid of the pre-printed form: 10 characters per inch from the form's left rule."""
GRID_Y0, GRID_PITCH_Y = 5.0, 12.0
"""Line grid: 6 lines per inch; every value row's baseline sits on it."""
RED_INK = (222, 84, 84)
PRINT_FONT, PRINT_SIZE = "Courier", 12.0
MAX_OFFSET_MM = (3.0, 2.0)
MAX_ROTATION = 0.6


@dataclass(frozen=True, slots=True)
class ThirdPartyForm:
    """A claim as a third-party filler printed it: the claim, the filler's choices and the printed boxes."""

    claim: CmsClaim
    filler: str
    values: dict[str, str]
    font: str
    font_size: float
    offset_pt: tuple[float, float] = (0.0, 0.0)
    rotation: float = 0.0
    year_digits: int = 4

    def truth(self) -> dict[str, object]:
        """Return the ground truth: canonical values, names as printed."""
        fields = truth_fields(self.claim)
        fields["patient_name"] = self.values["patient_name"]
        fields["insured_name"] = self.values["insured_name"]
        fields["billing_provider"] = self.values["provider_1"]
        fields["federal_tax_id"] = self.values["federal_tax_id"]  # an EIN printed with or without its hyphen
        return fields

    def printed(self) -> dict[str, str]:
        """Return single strings printed verbatim (where a stamp or handwriting may land)."""
        return {name: self.values[key] for name, key in (("patient_name", "patient_name"),
                                                         ("insured_id", "insured_id"),
                                                         ("policy_group", "policy_group"),
                                                         ("federal_tax_id", "federal_tax_id"))}

    def record(self) -> dict[str, object]:
        """Return what the truth file says about how this form was filled."""
        return {"filler": self.filler, "font": self.font, "font_size": self.font_size,
                "print_offset_pt": [round(v, 2) for v in self.offset_pt], "print_rotation": round(self.rotation, 3),
                "birth_year_digits": self.year_digits}


def icd_printed(code: str) -> str:
    """Return an ICD-10 code as claims print it: without its dot (`M54.50` -> `M5450`)."""
    return code.replace(".", "")


def _upper_name(name: str) -> str:
    """Return `Last, First M` as software prints it in capitals (`O'NEIL, MARY A`)."""
    return name.upper()


def box_values(claim: CmsClaim, *, capitals: bool, year_digits: int, rng: random.Random) -> dict[str, str]:
    """Return the text of every box: dates and charges split into their columns, codes without dots."""
    case: Callable[[str], str] = str.upper if capitals else (lambda text: text)
    born = claim.patient_birth_date
    values = {
        "insured_id": claim.insured_id,
        "patient_name": _upper_name(claim.patient_name) if capitals else claim.patient_name,
        "birth_mm": f"{born:%m}", "birth_dd": f"{born:%d}",
        "birth_yy": f"{born:%Y}" if year_digits == 4 else f"{born:%y}",
        "insured_name": _upper_name(claim.insured_name) if capitals else claim.insured_name,
        "policy_group": claim.policy_group,
        "federal_tax_id": claim.federal_tax_id.replace("-", "") if rng.random() < 0.5 else claim.federal_tax_id,
        "ein_box": "X",
        "account": f"{rng.randint(10000, 999999)}",
        "total_dollars": f"{int(claim.total_charge)}", "total_cents": _cents(claim.total_charge),
        "paid_dollars": f"{int(claim.amount_paid)}", "paid_cents": _cents(claim.amount_paid),
        "provider_1": case(claim.billing_provider),
        "provider_2": case(claim.provider_address.split(", ")[0]),
        "provider_3": case(claim.provider_address.split(", ")[1]),
    }
    for number, code in enumerate(claim.diagnosis_codes, start=1):
        values[f"diagnosis_{number}"] = icd_printed(code)
    pointers = "".join(str(n) for n in range(1, len(claim.diagnosis_codes) + 1))
    for row, line in enumerate(claim.service_lines, start=1):
        cells = {
            "from_mm": f"{line.date_from:%m}", "from_dd": f"{line.date_from:%d}", "from_yy": f"{line.date_from:%y}",
            "to_mm": f"{line.date_to:%m}", "to_dd": f"{line.date_to:%d}", "to_yy": f"{line.date_to:%y}",
            "place": rng.choice(("11", "11", "22", "81")), "cpt": line.procedure_code,
            "pointer": pointers[: rng.randint(1, min(2, len(pointers)))],
            "dollars": f"{int(line.charge)}", "cents": _cents(line.charge), "units": str(rng.choice((1, 1, 1, 2))),
        }
        for column, text in cells.items():
            values[f"line{row}_{column}"] = text
    return values


def _cents(amount: Decimal) -> str:
    return f"{int((amount % 1) * 100):02d}"


def service_rect(row: int, column: str) -> Rect:
    """Return the rectangle of one service-line cell (row 1-6)."""
    x0, x1 = SERVICE_COLUMNS[column]
    return (x0 + 1.5, SERVICE_RULES[row - 1] + 4.0, x1 - 1.5, SERVICE_RULES[row] - 1.5)


def rect_of(name: str) -> Rect:
    """Return the rectangle of a box name from `box_values` (`line3_cpt` is row 3's procedure code)."""
    if name.startswith("line"):
        row, _, column = name[4:].partition("_")
        return service_rect(int(row), column)
    return BOXES[name]


def make_thirdparty_form(rng: random.Random, filler: str) -> ThirdPartyForm:
    """Return a random claim as `filler` (acroform or preprinted) fills it; deterministic by `rng`."""
    if filler not in FILLERS:
        raise ValueError(f"unknown CMS-1500 filler {filler!r}; use one of {FILLERS}")
    claim = make_cms_claim(rng)
    if filler == "acroform":
        font = rng.choice(("Helvetica", "Courier"))
        values = box_values(claim, capitals=rng.random() < 0.3, year_digits=4, rng=rng)
        return ThirdPartyForm(claim, filler, values, font, rng.choice((8.0, 9.0, 10.0)))
    values = box_values(claim, capitals=True, year_digits=2 if rng.random() < 0.5 else 4, rng=rng)
    offset = (rng.uniform(-1, 1) * MAX_OFFSET_MM[0] * 72 / 25.4, rng.uniform(-1, 1) * MAX_OFFSET_MM[1] * 72 / 25.4)
    return ThirdPartyForm(claim, filler, values, PRINT_FONT, PRINT_SIZE, offset,
                          rng.uniform(-MAX_ROTATION, MAX_ROTATION), len(values["birth_yy"]))


# --- acroform filler -------------------------------------------------------------------------------------

_FONT_KEYS = {"Helvetica": "/Helv", "Courier": "/Cour"}


def fillable_pdf(blank: bytes, names: list[str], font: str, size: float) -> PdfWriter:
    """Return a writer holding the blank form with one text widget per box name (an AcroForm)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(blank)))
    page = writer.pages[0]
    fonts = DictionaryObject()
    for base, key in _FONT_KEYS.items():
        fonts[NameObject(key)] = writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject(f"/{base}"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    fields = ArrayObject()
    annots = ArrayObject()
    appearance = f"{_FONT_KEYS[font]} {size:g} Tf 0 g"
    for name in names:
        x0, top, x1, bottom = rect_of(name)
        widget = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject(name),
            NameObject("/Rect"): ArrayObject([FloatObject(x0), FloatObject(PAGE_HEIGHT - bottom),
                                              FloatObject(x1), FloatObject(PAGE_HEIGHT - top)]),
            NameObject("/DA"): TextStringObject(appearance), NameObject("/F"): NumberObject(4),
            NameObject("/Q"): NumberObject(2 if name in RIGHT_ALIGNED or name.endswith("_dollars") else 0),
            NameObject("/P"): page.indirect_reference,
        })
        reference = writer._add_object(widget)
        annots.append(reference)
        fields.append(reference)
    page[NameObject("/Annots")] = annots
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): fields, NameObject("/DA"): TextStringObject(appearance),
        NameObject("/DR"): DictionaryObject({NameObject("/Font"): fonts}),
        NameObject("/NeedAppearances"): BooleanObject(True),
    })
    return writer


def render_acroform_pdf(form: ThirdPartyForm, blank: bytes) -> bytes:
    """Return the filled fillable PDF (values only in the widgets' appearance streams, generated by pypdf)."""
    writer = fillable_pdf(blank, sorted(form.values), form.font, form.font_size)
    writer.update_page_form_field_values(writer.pages[0], form.values, auto_regenerate=False)
    writer.add_metadata({"/Title": "CMS-1500 claim", "/Producer": "third-party billing (sample)"})
    writer._ID = ArrayObject((FIXED_PDF_ID, FIXED_PDF_ID))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- pre-printed red form filler -------------------------------------------------------------------------


def grid_position(name: str) -> tuple[float, float]:
    """Return where the printer puts a box's text: the first grid column inside it and its last grid line."""
    x0, _, x1, bottom = rect_of(name)
    line = math.floor((bottom - GRID_Y0) / GRID_PITCH_Y)
    baseline = GRID_Y0 + line * GRID_PITCH_Y
    if name.endswith("dollars"):  # right-aligned in the dollars column, ending on a grid cell
        return GRID_X0 + math.floor((x1 - 1.0 - GRID_X0) / GRID_PITCH_X) * GRID_PITCH_X, baseline
    return GRID_X0 + math.ceil((x0 - GRID_X0) / GRID_PITCH_X) * GRID_PITCH_X, baseline


def print_layer_pdf(form: ThirdPartyForm, size: tuple[float, float] = (612.0, PAGE_HEIGHT)) -> bytes:
    """Return a one-page PDF with only the printed values, shifted and rotated as the sheet was fed."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=size, invariant=1)
    pdf.translate(form.offset_pt[0], -form.offset_pt[1])
    pdf.rotate(form.rotation)
    pdf.setFont(form.font, form.font_size)
    for name, text in sorted(form.values.items()):
        x, baseline = grid_position(name)
        if name.endswith("dollars"):
            pdf.drawRightString(x, size[1] - baseline, text)
        else:
            pdf.drawString(x, size[1] - baseline, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render_preprinted_pdf(form: ThirdPartyForm, blank: bytes) -> bytes:
    """Return the blank form with the printed values merged over it (a text PDF, used to locate marks)."""
    page = PdfReader(io.BytesIO(blank)).pages[0]
    overlay = PdfReader(io.BytesIO(print_layer_pdf(form))).pages[0]
    writer = PdfWriter()
    merged = writer.add_page(page)
    merged.merge_page(overlay)
    writer._ID = ArrayObject((FIXED_PDF_ID, FIXED_PDF_ID))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def red_form_page(form: ThirdPartyForm, blank: bytes, dpi: int) -> Image.Image:
    """Return the page as printed: the form in red ink, the values in black over it (RGB)."""
    paper = np.asarray(render_page(blank, 0, dpi=dpi), dtype=np.float32) / 255.0
    ink = np.asarray(render_page(print_layer_pdf(form), 0, dpi=dpi), dtype=np.float32) / 255.0
    height = min(paper.shape[0], ink.shape[0])
    width = min(paper.shape[1], ink.shape[1])
    paper, ink = paper[:height, :width], ink[:height, :width]
    channels = [(1.0 - (1.0 - paper) * (1.0 - c / 255.0)) * ink for c in RED_INK]
    pixels = np.clip(np.stack(channels, axis=2) * 255.0, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, mode="RGB")


def preprinted_renderer(form: ThirdPartyForm, blank: bytes) -> Callable[[bytes, int, int], Image.Image]:
    """Return a page renderer for `degrade.scan_document` that prints on the red form."""
    def render(_pdf: bytes, _index: int, dpi: int) -> Image.Image:
        return red_form_page(form, blank, dpi).convert("L")  # an office scanner in grayscale mode

    return render


def acroform_renderer() -> Callable[[bytes, int, int], Image.Image]:
    """Return a page renderer that flattens a filled AcroForm: pypdfium2 draws the widgets' appearances."""
    def render(pdf: bytes, index: int, dpi: int) -> Image.Image:
        return render_page(pdf, index, dpi=dpi, forms=True)

    return render


def with_offset(form: ThirdPartyForm, dx_mm: float, dy_mm: float, rotation: float = 0.0) -> ThirdPartyForm:
    """Return the form printed with a given sheet offset (mm, right/down positive) and rotation (degrees)."""
    return replace(form, offset_pt=(dx_mm * 72 / 25.4, dy_mm * 72 / 25.4), rotation=rotation)
