"""Weak codes read again alone at several sizes: the majority replaces the page's reading, nothing else does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract_words import WORD_SCALES, majority_code, read_codes_alone
from claimflow.models import BBox, Extraction, Field, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.readers.marks import PageMarks
from claimflow.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
SPECS = load_specs(ROOT / "extractors")


class FakeLook:
    """Answers re-reads from a list and records the scales asked for."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.scales: list[Sequence[float] | None] = []

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        self.scales.append(scales)
        return self.texts[: len(boxes)]


def _receipt(value: str, confidence: float, method: ReadMethod = ReadMethod.OCR) -> tuple[ReadDocument, Extraction]:
    page = Page(1, 630, 920, method, [Word(value, (0.32, 0.29, 0.46, 0.30), 0.3, 1, 1)], image=object())
    field = Field("invoice_number", value, confidence, Provenance(method, 1, (0.32, 0.29, 0.46, 0.30)), value)
    return ReadDocument(pages=[page]), Extraction("receipt", 1.0, fields={"invoice_number": field})


def test_a_weak_code_takes_what_most_readings_alone_agree_on_without_gaining_confidence() -> None:
    read, part = _receipt("1794326", 0.3)
    look = FakeLook(["T794326", "T794326", "7794326", "T 794326"])
    assert read_codes_alone(read, [part], SPECS, look, threshold=0.97) == 1
    assert look.scales == [WORD_SCALES]
    field = part.fields["invoice_number"]
    assert (field.value, field.confidence) == ("T794326", 0.3)
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]


def test_without_a_majority_the_page_reading_stays() -> None:
    read, part = _receipt("1560426", 0.3)
    read_codes_alone(read, [part], SPECS, FakeLook(["", "", "T560426", "1560426"]), threshold=0.97)
    assert part.fields["invoice_number"].value == "1560426" and not part.problems


def test_a_confident_code_or_a_text_layer_code_is_not_read_again() -> None:
    look = FakeLook(["T794326"] * 4)
    read, part = _receipt("1794326", 0.995)
    assert read_codes_alone(read, [part], SPECS, look, threshold=0.97) == 0
    read, part = _receipt("1794326", 0.3, ReadMethod.TEXT_LAYER)
    assert read_codes_alone(read, [part], SPECS, look, threshold=0.97) == 0
    assert part.fields["invoice_number"].value == "1794326" and look.scales == []


def test_the_majority_must_fit_the_fields_pattern() -> None:
    spec = SPECS.specs["receipt"].fields["invoice_number"]
    assert majority_code(["T794326", "t794326", "T794326", "1794326"], spec) == "T794326"
    assert majority_code(["T7<94326", "T7<94326", "T7<94326", "T794326"], spec) is None  # `<` is no code character
    assert majority_code(["T794326", "T794326", "1794326", "1794326"], spec) is None


def test_scales_enlarge_each_cut_word() -> None:
    sizes: list[tuple[int, int]] = []

    class Ocr:
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            sizes.append(image.size)
            return Page(page, image.width, image.height, ReadMethod.OCR, [])

    image = Image.new("L", (1000, 1000), 255)
    page = Page(1, 1000, 1000, ReadMethod.OCR, [], image=image)
    box = (0.1, 0.1, 0.2, 0.14)  # 40 px high: not doubled as small type
    marks = PageMarks(Ocr())  # type: ignore[arg-type]
    assert marks.reread(page, [box], lang="eng") == [""]
    assert marks.reread(page, [box], lang="eng", scales=[3.0]) == [""]
    assert sizes[1][0] - sizes[0][0] > 2 * (sizes[0][0] - 2 * 24) - 4  # the cut is three times as wide
