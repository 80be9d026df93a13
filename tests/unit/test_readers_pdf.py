"""PDF reader: text layer, AcroForm values, image-only pages to OCR, and nasty files that must not crash."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pypdf
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from claimflow.errors import DocumentError, ReasonCode
from claimflow.models import BBox, Page, ReadDocument, ReadMethod
from claimflow.readers import RecordedOcr, TesseractOcr, read_document
from claimflow.readers.pdf_text import MIN_RENDER_PX
from claimflow.sniff import FileKind

REALDOCS = Path("/work/shared/realdocs")
ROBUSTNESS = REALDOCS / "pdf_robustness"


@dataclass
class SizeRecordingOcr:
    """A fake engine that records the image size and psm of each call and returns recorded words."""

    words: dict[int, list[tuple[str, BBox, float]]] = field(default_factory=dict)
    calls: list[tuple[int, int, tuple[int, int]]] = field(default_factory=list)

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        self.calls.append((page, psm, image.size))
        return RecordedOcr(pages=self.words).ocr_image(image, page=page, psm=psm, lang=lang)


def _read(path: Path, ocr: object | None = None) -> ReadDocument:
    return read_document(path, FileKind.PDF, ocr if ocr is not None else RecordedOcr())  # type: ignore[arg-type]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _overlap(found: str, expected: str) -> float:
    want = _words(expected)
    have = set(_words(found))
    return sum(1 for word in want if word in have) / len(want)


# Outcome per real file: a reason code, or the method of each page read.
ROBUSTNESS_OUTCOMES: dict[str, ReasonCode | list[ReadMethod]] = {
    "pdfplumber__empty.pdf": ReasonCode.EMPTY_FILE,
    "pdfplumber__issue-297-example.pdf": [ReadMethod.OCR],  # pdfplumber sees 0 pages, pdfium 1: rendered
    "pdfplumber__malformed-from-issue-932.pdf": [ReadMethod.OCR],  # 7 stray glyphs over a scan
    "pdfplumber__nics-background-checks-2015-11.pdf": [ReadMethod.TEXT_LAYER],
    "pdfplumber__password-example.pdf": ReasonCode.PDF_ENCRYPTED,
    "pdfplumber__scotus-transcript-p1.pdf": [ReadMethod.TEXT_LAYER],
    "pypdf__crazyones.pdf": [ReadMethod.TEXT_LAYER],
    "pypdf__encrypted-file.pdf": ReasonCode.PDF_ENCRYPTED,
    "pypdf__form_acrobatReader.pdf": [ReadMethod.TEXT_LAYER],
    "pypdf__imagemagick-CCITTFaxDecode.pdf": [ReadMethod.OCR],
    "pypdf__issue-297.pdf": [ReadMethod.TEXT_LAYER],  # broken xref, read anyway
    "pypdf__libreoffice-writer-password.pdf": ReasonCode.PDF_ENCRYPTED,
}


def test_every_robustness_file_has_an_expected_outcome() -> None:
    assert sorted(path.name for path in ROBUSTNESS.glob("*.pdf")) == sorted(ROBUSTNESS_OUTCOMES)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(ROBUSTNESS_OUTCOMES))
def test_robustness_file_outcome(name: str) -> None:
    expected = ROBUSTNESS_OUTCOMES[name]
    path = ROBUSTNESS / name
    if isinstance(expected, ReasonCode):
        with pytest.raises(DocumentError) as info:
            _read(path)
        assert info.value.reason_code is expected
        assert name in info.value.message
        if expected is ReasonCode.PDF_ENCRYPTED:
            assert "without a password" in info.value.message
            assert info.value.__cause__ is not None
        return
    document = _read(path)
    assert [page.method for page in document.pages] == expected
    assert [page.number for page in document.pages] == list(range(1, len(expected) + 1))
    for page in document.pages:
        for word in page.words:
            assert all(0.0 <= value <= 1.0 for value in word.bbox), (word.text, word.bbox)
            assert word.bbox[0] <= word.bbox[2] and word.bbox[1] <= word.bbox[3]


def test_crazyones_text_matches_ground_truth() -> None:
    document = _read(ROBUSTNESS / "pypdf__crazyones.pdf")
    expected = (ROBUSTNESS / "pypdf__crazyones.txt").read_text()
    assert _overlap(document.text, expected) >= 0.95
    page = document.pages[0]
    assert page.text.splitlines()[0] == "The Crazy Ones"
    assert all(word.confidence == 1.0 for word in page.words)


def test_scotus_transcript_text_matches_ground_truth() -> None:
    document = _read(ROBUSTNESS / "pdfplumber__scotus-transcript-p1.pdf")
    expected = (ROBUSTNESS / "pdfplumber__scotus-transcript-p1.txt").read_text()
    assert _overlap(document.text, expected) >= 0.95


def test_nics_title_is_where_upstream_says() -> None:
    page = _read(ROBUSTNESS / "pdfplumber__nics-background-checks-2015-11.pdf").pages[0]
    assert (page.width, page.height) == (1008, 612)
    band = [word.text for word in page.words if word.bbox[1] >= 35 / 612 and word.bbox[3] <= 65 / 612]
    assert " ".join(band) == "November - 2015"
    lines = page.text.splitlines()
    assert lines[:2] == ["NICS Firearm Background Checks", "November - 2015"]
    alabama = next(line for line in lines if line.startswith("Alabama"))
    assert "71,137" in alabama.split()


def test_acroform_value_is_a_word_at_its_widget() -> None:
    page = _read(ROBUSTNESS / "pypdf__form_acrobatReader.pdf").pages[0]
    (bar,) = [word for word in page.words if word.text == "Bar"]
    # pypdf: /Rect [90.8, 756.5, 177.8, 772.0] on a 595.276 x 841.89 page.
    assert bar.bbox == pytest.approx((90.815 / 595.276, 69.87 / 841.89, 177.847 / 595.276, 85.412 / 841.89), abs=1e-3)
    foo = next(word for word in page.words if word.text == "foo")
    assert (foo.block, foo.line) == (bar.block, bar.line)  # the label and its value read as one line
    assert page.text.splitlines()[0] == "foo Bar"


def _form_pdf(path: Path, *, with_text: bool) -> None:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    if with_text:
        pdf.drawString(72, 760, "Policy number:")
    pdf.acroForm.textfield(name="policy", value="POL 12345", x=180, y=750, width=200, height=20)
    pdf.acroForm.textfield(name="empty", value="", x=180, y=700, width=200, height=20)
    pdf.showPage()
    pdf.save()


def test_acroform_fields_on_a_text_page(tmp_path: Path) -> None:
    path = tmp_path / "form.pdf"
    _form_pdf(path, with_text=True)
    page = _read(path).pages[0]
    assert page.method is ReadMethod.TEXT_LAYER
    assert [word.text for word in page.words] == ["Policy", "number:", "POL", "12345"]
    pol, number = page.words[2:]
    assert pol.bbox[0] == pytest.approx(180 / A4[0], abs=1e-3)
    assert number.bbox[2] == pytest.approx(380 / A4[0], abs=1e-3)
    assert pol.bbox[3] == pytest.approx((A4[1] - 750) / A4[1], abs=1e-3)


def test_form_only_page_is_acroform_without_ocr(tmp_path: Path) -> None:
    path = tmp_path / "form-only.pdf"
    _form_pdf(path, with_text=False)
    ocr = SizeRecordingOcr()
    page = _read(path, ocr).pages[0]
    assert page.method is ReadMethod.ACROFORM
    assert page.text == "POL 12345"
    assert ocr.calls == []


def test_multiline_widget_value_starts_level_with_its_label(tmp_path: Path) -> None:
    path = tmp_path / "multiline.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(72, 700, "Description of loss:")
    # a two-line box whose top is level with the label: its value is drawn from the top, not centred
    pdf.acroForm.textfield(
        name="description",
        value="Rear window shattered by a falling branch.",
        x=200,
        y=672,
        width=300,
        height=40,
        fieldFlags="multiline",
        fontSize=11,
    )
    long_text = " ".join(["word"] * 40)
    pdf.acroForm.textfield(
        name="notes", value=long_text, x=200, y=500, width=300, height=60, fieldFlags="multiline", fontSize=11
    )
    pdf.showPage()
    pdf.save()
    page = _read(path).pages[0]
    first_line = page.text.splitlines()[0]
    assert first_line == "Description of loss: Rear window shattered by a falling branch."
    notes = [word for word in page.words if word.text == "word"]
    assert len({word.line for word in notes}) >= 2  # wrapped at the box width
    assert all(word.bbox[2] <= 500 / A4[0] + 1e-3 for word in notes)
    assert all(word.bbox[3] <= (A4[1] - 500) / A4[1] + 1e-3 for word in notes)  # nothing below the box


def test_image_only_page_is_rendered_and_ocrd_with_psm_11_then_6() -> None:
    ocr = SizeRecordingOcr(words={1: [("SALEMY", (0.1, 0.1, 0.2, 0.12), 0.9)]})
    page = _read(REALDOCS / "cms1500/cms1500_filled_sample.pdf", ocr).pages[0]
    assert page.method is ReadMethod.OCR and (page.width, page.height) == (612, 792)
    # 200 dpi of a letter page; too little text on the first pass (psm 11) gives a psm 6 retry.
    assert ocr.calls == [(1, 11, (1700, 2200)), (1, 6, (1700, 2200))]
    assert page.text == "SALEMY"


def test_tiny_page_is_rendered_at_a_usable_size() -> None:
    ocr = SizeRecordingOcr()
    page = _read(ROBUSTNESS / "pypdf__imagemagick-CCITTFaxDecode.pdf", ocr).pages[0]
    assert page.width == pytest.approx(3.84)
    assert max(ocr.calls[0][2]) >= MIN_RENDER_PX
    assert [problem.code for problem in page.problems] == [ReasonCode.PAGE_BLANK]


def test_ocr_failure_becomes_a_problem_not_an_exception() -> None:
    ocr = RecordedOcr(failures={1: ReasonCode.OCR_TIMEOUT})
    page = _read(REALDOCS / "cms1500/cms1500_filled_sample.pdf", ocr).pages[0]
    assert page.words == []
    assert [(problem.code, problem.page) for problem in page.problems] == [(ReasonCode.OCR_TIMEOUT, 1)]
    assert ocr.calls == [(1, 11)]  # a timed-out page is not retried


def test_every_page_of_a_multi_page_file_is_read() -> None:
    document = _read(REALDOCS / "invoice2data/free_fiber.pdf")
    assert [page.number for page in document.pages] == [1, 2]
    assert all(page.method is ReadMethod.TEXT_LAYER and page.words for page in document.pages)


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=ROBUSTNESS / "pypdf__crazyones.pdf")
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-128")
    path = tmp_path / "owner-only.pdf"
    writer.write(path)
    document = _read(path)
    assert "Crazy Ones" in document.text


def test_pdf_with_no_pages_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nothing.pdf"
    buffer = io.BytesIO()
    pypdf.PdfWriter().write(buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DocumentError) as info:
        _read(path)
    assert info.value.reason_code is ReasonCode.PDF_NO_PAGES


def test_garbage_after_a_pdf_header_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    with pytest.raises(DocumentError) as info:
        _read(path)
    assert info.value.reason_code in (ReasonCode.PDF_CORRUPT, ReasonCode.PDF_NO_PAGES)
    assert "garbage.pdf" in info.value.message


TEXT_PDFS = [
    ROBUSTNESS / "pypdf__crazyones.pdf",
    ROBUSTNESS / "pdfplumber__nics-background-checks-2015-11.pdf",
    ROBUSTNESS / "pdfplumber__scotus-transcript-p1.pdf",
    REALDOCS / "invoice2data/AzureInterior.pdf",
    REALDOCS / "invoice2data/free_fiber.pdf",
    REALDOCS / "cms1500/hcfa1500_blank.pdf",
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("source", TEXT_PDFS, ids=lambda path: path.name)
def test_truncated_pdf_is_corrupt_or_read_partially(tmp_path: Path, source: Path, fraction: float) -> None:
    data = source.read_bytes()
    path = tmp_path / f"cut-{source.name}"
    path.write_bytes(data[: int(len(data) * fraction)])
    try:
        document = _read(path)
    except DocumentError as exc:
        assert exc.reason_code in (ReasonCode.PDF_CORRUPT, ReasonCode.PDF_NO_PAGES)
    else:
        assert document.pages
        for page in document.pages:
            assert all(0.0 <= value <= 1.0 for word in page.words for value in word.bbox)


@pytest.mark.ocr
@pytest.mark.timeout(120)
def test_cms1500_scan_is_ocrd_with_tesseract() -> None:
    document = _read(REALDOCS / "cms1500/cms1500_filled_sample.pdf", TesseractOcr(timeout_seconds=100))
    (page,) = document.pages
    assert page.method is ReadMethod.OCR
    assert "SALEMY" in page.text.upper()
    assert "396" in page.text
    assert len(page.words) > 400
    assert not [p for p in page.problems if p.code in (ReasonCode.OCR_FAILED, ReasonCode.OCR_TIMEOUT)]


def _scan_image(size: tuple[int, int] = (1240, 1754)) -> Image.Image:
    """Return a page-sized 'scan': white paper with rows of dark bars standing in for text."""
    image = Image.new("L", size, 250)
    for top in range(150, size[1] - 150, 60):
        image.paste(30, (120, top, size[0] - 200, top + 18))
    return image


def _pdf_with_image(
    path: Path, *, image_box: tuple[float, float, float, float], text: Sequence[tuple[float, float, str]]
) -> None:
    """Write a one-page A4 PDF with a scan image at `image_box` (x, y, w, h in points) and text lines at (x, y)."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    buffer = io.BytesIO()
    _scan_image().save(buffer, format="PNG")
    buffer.seek(0)
    x, y, w, h = image_box
    pdf.drawImage(ImageReader(buffer), x, y, width=w, height=h)
    pdf.setFont("Helvetica", 9)
    for tx, ty, line in text:
        pdf.drawString(tx, ty, line)
    pdf.showPage()
    pdf.save()


def test_stamp_over_a_full_page_scan_is_not_a_text_layer(tmp_path: Path) -> None:
    path = tmp_path / "stamped-scan.pdf"
    stamp = [(450, 810, "RECEIVED 2026-03-04"), (450, 800, "BATES ACME-000123")]  # 32 glyphs in a corner
    _pdf_with_image(path, image_box=(0, 0, A4[0], A4[1]), text=stamp)
    ocr = SizeRecordingOcr(words={1: [("SCANNED", (0.1, 0.1, 0.3, 0.12), 0.9)]})
    page = _read(path, ocr).pages[0]
    assert page.method is ReadMethod.OCR and ocr.calls
    assert "RECEIVED" not in page.text


def test_text_page_with_a_pasted_scan_gets_the_scan_ocrd_and_merged(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pdf"
    lines = [(60, 800 - 14 * i, f"Line {i} of the covering letter about the claim") for i in range(8)]
    _pdf_with_image(path, image_box=(60, 60, 470, 500), text=lines)  # lower part: an image with no text over it
    ocr = SizeRecordingOcr(words={1: [("TOTAL", (0.1, 0.5, 0.3, 0.55), 0.9), ("~", (0.5, 0.5, 0.52, 0.55), 0.2)]})
    page = _read(path, ocr).pages[0]
    assert page.method is ReadMethod.TEXT_LAYER
    assert ocr.calls and ocr.calls[0][1] == 6  # the region is read as one block of text
    (total,) = [word for word in page.words if word.text == "TOTAL"]
    assert "~" not in page.text  # junk below the confidence floor is dropped
    assert total.confidence < 1.0 and total.block > 0
    # The word's box maps from the crop back onto the page: x 60 + 0.1 * 470 pt, y from the image's top.
    assert total.bbox[0] == pytest.approx((60 + 0.1 * 470) / A4[0], abs=0.01)
    assert total.bbox[1] == pytest.approx((A4[1] - 560 + 0.5 * 500) / A4[1], abs=0.01)
    assert [p.code for p in page.problems] == [ReasonCode.PAGE_IMAGE_REGION]
    assert page.text.startswith("Line 0 of the covering letter")


def test_logo_on_a_text_page_is_not_ocrd(tmp_path: Path) -> None:
    path = tmp_path / "logo.pdf"
    lines = [(60, 800 - 14 * i, f"Invoice line {i} with enough text to be a real layer") for i in range(5)]
    _pdf_with_image(path, image_box=(400, 700, 120, 80), text=lines)
    ocr = SizeRecordingOcr()
    page = _read(path, ocr).pages[0]
    assert page.method is ReadMethod.TEXT_LAYER and ocr.calls == [] and page.problems == []
