"""Second looks: a code read again with another model, a text value with a mark after it left unread."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from claimflow.errors import SpecError
from claimflow.extract_confirm import DOUBT_CAP, LINE_BELOW_CAP, confirm_values, same_code
from claimflow.models import BBox, Extraction, Field, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.readers import TesseractOcr
from claimflow.readers.marks import PageMarks
from claimflow.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


class FakeLook:
    """Answers re-reads from a list and says where ink follows a word."""

    def __init__(
        self,
        texts: list[str],
        ink_after: frozenset[str] = frozenset(),
        below: BBox | None = None,
        line: str = "",
        glyph_after: frozenset[str] = frozenset(),
    ) -> None:
        self.texts, self.ink, self.below, self.line, self.glyph = texts, ink_after, below, line, glyph_after
        self.calls: list[str] = []

    def reread(self, page: Page, boxes: Sequence[BBox], *, lang: str) -> list[str] | None:
        self.calls.append(lang)
        return self.texts[: len(boxes)]

    def ink_after(self, page: Page, word: Word) -> bool:
        return word.text in self.ink

    def glyph_after(self, page: Page, word: Word) -> BBox | None:
        if word.text not in self.glyph:
            return None
        return (word.bbox[2] + 0.01, word.bbox[1], word.bbox[2] + 0.02, word.bbox[3])

    def ink_below(self, page: Page, line: Sequence[Word]) -> BBox | None:
        return self.below

    def read_line(self, page: Page, box: BBox, *, lang: str) -> str | None:
        self.calls.append(f"line {lang}")
        return self.line


def _document(document_type: str, name: str, value: str, language: str) -> tuple[ReadDocument, Extraction]:
    words = [Word(text, (0.4 + 0.06 * i, 0.2, 0.45 + 0.06 * i, 0.22), 0.9, block=1, line=1)
             for i, text in enumerate(value.split())]
    page = Page(1, 1000, 1400, ReadMethod.OCR, words, image=object(), language=language)
    box = (0.4, 0.2, 0.45 + 0.06 * (len(words) - 1), 0.22)
    field = Field(name, value, 0.93, Provenance(ReadMethod.OCR, 1, box), value)
    return ReadDocument(pages=[page]), Extraction(document_type, 1.0, fields={name: field})


def test_codes_compare_without_spaces_and_separators() -> None:
    assert same_code("PDCA 2026-7944", "pdca20267944")
    assert not same_code("PDCA4202679447034", "PDCA202679447034")


def test_a_code_another_model_reads_otherwise_is_not_confident() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("claim_application_zh", "policy_number", "PDCA4202679447034", "chi_sim")
    look = FakeLook(["PDCA202679447034"])
    assert confirm_values(read, [part], specs, look) == 1
    assert look.calls == ["eng"]
    assert part.fields["policy_number"].value == "PDCA4202679447034"  # the first reading stays, doubted
    assert part.fields["policy_number"].confidence == DOUBT_CAP
    assert any(p.field == "policy_number" and "eng" in p.message for p in part.problems)


def test_codes_of_a_page_are_confirmed_in_one_call_each_on_its_own() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("claim_application_zh", "policy_number", "PDCA202679447034", "chi_sim")
    where = Provenance(ReadMethod.OCR, 1, (0.4, 0.3, 0.6, 0.32))
    part.fields["claim_number"] = Field("claim_number", "RDAA202600353034", 0.92, where, "RDAA202600353034")
    look = FakeLook(["PDCA202679447034", "RDAA2026OO353034"])
    assert confirm_values(read, [part], specs, look) == 1 and look.calls == ["eng"]
    assert part.fields["policy_number"].confidence == 0.93
    assert part.fields["claim_number"].confidence == DOUBT_CAP


def test_a_code_another_model_confirms_keeps_its_confidence() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("claim_application_zh", "policy_number", "PDCA202679447034", "chi_sim")
    confirm_values(read, [part], specs, FakeLook(["PDCA 202679447034"]))
    assert part.fields["policy_number"].confidence == 0.93 and not part.problems


def test_a_page_read_with_the_confirming_model_is_not_read_again() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("claim_application_zh", "policy_number", "PDCA202679447034", "eng")
    look = FakeLook(["XXXX"])
    assert confirm_values(read, [part], specs, look) == 0 and look.calls == []


def test_a_mark_after_a_text_value_is_taken_from_its_line_read_again() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("motor_claim_form", "description", "thrown up by a lorry", "eng")
    confirm_values(read, [part], specs, FakeLook(["thrown up by a lorry."], ink_after=frozenset({"lorry"})))
    assert part.fields["description"].value == "thrown up by a lorry."
    assert part.fields["description"].confidence == 0.93


def test_the_mark_is_looked_for_after_the_last_word_of_the_last_line() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("motor_claim_form", "description", "thrown up by a lorry", "eng")
    page = read.pages[0]
    # `up` hangs lowest (descender, no ascender) but `lorry` ends the line
    page.words[1] = Word("up", (0.46, 0.203, 0.51, 0.223), 0.9, block=1, line=1)
    look = FakeLook(["thrown up by a lorry."], ink_after=frozenset({"lorry"}))
    confirm_values(read, [part], specs, look)
    assert part.fields["description"].value == "thrown up by a lorry."


def test_a_mark_the_line_reading_does_not_explain_takes_the_value_below_auto_accept() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("motor_claim_form", "description", "thrown up by a lorry", "eng")
    confirm_values(read, [part], specs, FakeLook(["thrown up by a Iorry,,"], ink_after=frozenset({"lorry"})))
    assert part.fields["description"].value == "thrown up by a lorry"
    assert part.fields["description"].confidence == DOUBT_CAP
    read, part = _document("motor_claim_form", "description", "thrown up by a lorry", "eng")
    look = FakeLook(["unused"])
    assert confirm_values(read, [part], specs, look) == 0  # no mark after it: nothing read again
    assert part.fields["description"].confidence == 0.93


def _typed(text: str, dpi: int = 200) -> tuple[Image.Image, list[tuple[str, tuple[int, int, int, int]]]]:
    """Return `text` typed at 11 pt and each word's ink box (without a final full stop, as OCR dropped it)."""
    font = ImageFont.truetype(FONT, int(11 * dpi / 72))
    image = Image.new("L", (int(dpi * 5), int(dpi * 0.6)), 255)
    draw = ImageDraw.Draw(image)
    draw.text((20, int(dpi * 0.15)), text, font=font, fill=20)
    boxes, x = [], 20
    for word in text.split():
        shown = word.rstrip(".")
        boxes.append((shown, draw.textbbox((x, int(dpi * 0.15)), shown, font=font)))
        x += int(draw.textlength(word + " ", font=font))
    return image.filter(ImageFilter.GaussianBlur(0.8 * dpi / 200)), boxes


def _page(image: Image.Image, boxes: list[tuple[str, tuple[int, int, int, int]]]) -> Page:
    width, height = image.size
    words = [Word(t, (b[0] / width, b[1] / height, b[2] / width, b[3] / height), 0.95, 1, 1) for t, b in boxes]
    return Page(1, width, height, ReadMethod.OCR, words, image=image)


@pytest.mark.parametrize(("text", "expected"), [("up by a lorry.", True), ("up by a lorry", False),
                                                 ("up by a lorry x", False)])
def test_ink_after_finds_a_dropped_full_stop_only(text: str, expected: bool) -> None:
    image, boxes = _typed(text)
    page = _page(image, [b for b in boxes if b[0] != "x"])  # `x`: ink of a word OCR did not read
    lorry = next(w for w in page.words if w.text == "lorry")
    assert PageMarks(TesseractOcr()).ink_after(page, lorry) is expected


@pytest.mark.parametrize(
    ("text", "read", "expected"),
    [
        ("Thompson, Maria L", {"Thompson,", "Maria"}, True),  # the initial dropped by the page reading
        ("Thompson, Maria L", {"Thompson,", "Maria", "L"}, False),  # read: a word covers it
        ("Thompson, Maria", {"Thompson,", "Maria"}, False),
        ("Thompson, Maria.", {"Thompson,", "Maria"}, False),  # a full stop is no letter
    ],
)
def test_glyph_after_finds_a_dropped_letter_only(text: str, read: set[str], expected: bool) -> None:
    image, boxes = _typed(text)
    page = _page(image, [b for b in boxes if b[0] in read])
    maria = next(w for w in page.words if w.text == "Maria")
    assert (PageMarks(TesseractOcr()).glyph_after(page, maria) is not None) is expected


def test_a_boxs_rule_after_a_value_is_no_dropped_letter() -> None:
    image, boxes = _typed("Thompson, Maria")
    maria = boxes[-1][1]
    ImageDraw.Draw(image).line([(maria[2] + 25, 0), (maria[2] + 25, image.height)], fill=20, width=3)
    page = _page(image, boxes)
    assert PageMarks(TesseractOcr()).glyph_after(page, page.words[-1]) is None


def test_a_letter_left_unread_after_a_value_in_a_forms_box_takes_it_below_auto_accept() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("cms1500", "patient_name", "Thompson, Maria", "eng")
    look = FakeLook([], glyph_after=frozenset({"Maria"}), line="Thompson, Maria L")
    assert confirm_values(read, [part], specs, look) == 1 and look.calls == ["line eng"]
    assert part.fields["patient_name"].value == "Thompson, Maria L"  # the line read alone gives the initial
    assert part.fields["patient_name"].confidence == DOUBT_CAP
    assert any(p.field == "patient_name" and "ink after the value" in p.message for p in part.problems)
    read, part = _document("cms1500", "patient_name", "Thompson, Maria", "eng")
    confirm_values(read, [part], specs, FakeLook([], glyph_after=frozenset({"Maria"}), line="| Thompson, Maria L"))
    assert part.fields["patient_name"].value == "Thompson, Maria L"  # the box's rule read before it is no word
    read, part = _document("cms1500", "billing_provider", "Lakeview Medical Grou", "eng")
    confirm_values(read, [part], specs, FakeLook([], glyph_after=frozenset({"Grou"}), line="Lakeview Medical Group"))
    assert part.fields["billing_provider"].value == "Lakeview Medical Group"  # its last letter, dropped
    assert part.fields["billing_provider"].confidence == DOUBT_CAP
    for line in ("Thompson, Maria Lx7", "Thornpson, Maria L", ""):  # what the pattern does not take whole, or
        read, part = _document("cms1500", "patient_name", "Thompson, Maria", "eng")  # another reading: doubted
        confirm_values(read, [part], specs, FakeLook([], glyph_after=frozenset({"Maria"}), line=line))
        assert part.fields["patient_name"].value == "Thompson, Maria"
        assert part.fields["patient_name"].confidence == DOUBT_CAP
    read, part = _document("cms1500", "patient_name", "Thompson, Maria", "eng")
    confirm_values(read, [part], specs, FakeLook([]))
    assert part.fields["patient_name"].confidence == 0.93
    # the page read the initial as a word the pattern does not take (`kK`): the line is read alone the same way
    read, part = _document("cms1500", "insured_name", "Smith, David", "eng")
    read.pages[0].words.append(Word("kK", (0.53, 0.202, 0.545, 0.22), 0.63, block=1, line=1))
    look = FakeLook([], line="Smith, David K")
    assert confirm_values(read, [part], specs, look) == 1 and look.calls == ["line eng"]
    assert part.fields["insured_name"].value == "Smith, David K"
    assert part.fields["insured_name"].confidence == DOUBT_CAP
    read, part = _document("cms1500", "insured_name", "Smith, David", "eng")
    read.pages[0].words.append(Word("kK", (0.75, 0.202, 0.765, 0.22), 0.63, block=1, line=1))  # a box away
    assert confirm_values(read, [part], specs, FakeLook([], line="Smith, David K")) == 0
    assert part.fields["insured_name"].value == "Smith, David"
    # the initial read as a sign no name holds (`§` for S, seed 23 full 017 degraded): the line is read alone too
    read, part = _document("cms1500", "insured_name", "Patel, Tyrone", "eng")
    read.pages[0].words.append(Word("§", (0.53, 0.202, 0.537, 0.219), 0.41, block=1, line=1))
    look = FakeLook([], line="Patel, Tyrone S")
    assert confirm_values(read, [part], specs, look) == 1 and look.calls == ["line eng"]
    assert part.fields["insured_name"].value == "Patel, Tyrone S"
    assert part.fields["insured_name"].confidence == DOUBT_CAP
    for mark in (Word(".", (0.53, 0.216, 0.533, 0.22), 0.41, 1, 1), Word("|", (0.53, 0.2, 0.532, 0.22), 0.41, 1, 1)):
        read, part = _document("cms1500", "insured_name", "Patel, Tyrone", "eng")  # a speck or the box's rule: not
        read.pages[0].words.append(mark)
        assert confirm_values(read, [part], specs, FakeLook([], line="Patel, Tyrone S")) == 0
        assert part.fields["insured_name"].value == "Patel, Tyrone"
    # free text is not held to a box: what follows it may be another value's
    read, part = _document("motor_claim_form", "description", "thrown up by a lorry", "eng")
    confirm_values(read, [part], specs, FakeLook([], glyph_after=frozenset({"lorry"})))
    assert part.fields["description"].confidence == 0.93


def test_confirm_models_must_be_installed(tmp_path: Path) -> None:
    (tmp_path / "zh.yml").write_text(
        "document_type: zh_form\nversion: 1\nfields:\n  policy_number:\n    anchors: ['保单号']\n"
        "    confirm: [deu]\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path, installed_languages={"eng", "chi_sim"})
    assert "zh.yml:6: fields.policy_number.confirm[0]" in str(caught.value)
    assert "tesseract-ocr-deu" in str(caught.value)
    spec = load_specs(tmp_path, installed_languages={"eng", "deu"}).specs["zh_form"]
    assert spec.fields["policy_number"].confirm == ["deu"]


def test_a_dropped_last_line_under_a_text_value_is_read_alone_and_added_below_auto_accept() -> None:
    # the page reading dropped `案。` under a description ending `...派出所报` (seed 13 full: 0.97 calibrated)
    specs = load_specs(ROOT / "extractors")
    read, part = _document("claim_application_zh", "description", "已向 当地 派出所 报", "chi_sim")
    look = FakeLook([], below=(0.4, 0.23, 0.43, 0.25), line="案 。")
    assert confirm_values(read, [part], specs, look) == 1 and look.calls == ["line chi_sim"]
    assert part.fields["description"].value == "已向当地派出所报案。"
    assert part.fields["description"].confidence == LINE_BELOW_CAP
    assert any(p.field == "description" and "'案 。'" in p.message for p in part.problems)
    read, part = _document("claim_application_zh", "description", "已向 当地 派出所 报", "chi_sim")
    confirm_values(read, [part], specs, FakeLook([], below=(0.4, 0.23, 0.43, 0.25), line=""))
    assert part.fields["description"].value == "已向 当地 派出所 报"  # nothing read: the value stays, doubted
    assert part.fields["description"].confidence == LINE_BELOW_CAP
    read, part = _document("claim_application_zh", "description", "已向 当地 派出所 报", "chi_sim")
    assert confirm_values(read, [part], specs, FakeLook([])) == 0  # no ink under it: nothing read
    assert part.fields["description"].confidence == 0.93
    read, part = _document("claim_application_zh", "description", "已向 当地 派出所 报", "chi_sim")
    read.pages[0].words.append(Word("CF-CN-01", (0.8, 0.05, 0.9, 0.07), 0.9, block=0, line=1))
    look = FakeLook([], below=(0.4, 0.23, 0.43, 0.25), line="案 。")
    assert confirm_values(read, [part], specs, look) == 0  # it ends short of the page's margin: it did not wrap
    assert part.fields["description"].value == "已向 当地 派出所 报"


def _two_lines(second: str, dpi: int = 200) -> tuple[Image.Image, list[Word]]:
    """Return `thrown up by a` typed over `second` at 11 pt, and the first line's words (OCR dropped the second)."""
    font = ImageFont.truetype(FONT, int(11 * dpi / 72))
    image = Image.new("L", (int(dpi * 5), int(dpi * 1.0)), 255)
    draw = ImageDraw.Draw(image)
    top, x, words = int(dpi * 0.15), 20, []
    for word in ["thrown", "up", "by", "a"]:
        draw.text((x, top), word, font=font, fill=20)
        b = draw.textbbox((x, top), word, font=font)
        words.append(Word(word, (b[0] / image.width, b[1] / image.height, b[2] / image.width, b[3] / image.height),
                          0.95, 1, 1))
        x += int(draw.textlength(word + " ", font=font))
    draw.text((20, top + int(1.4 * 11 * dpi / 72)), second, font=font, fill=20)
    return image.filter(ImageFilter.GaussianBlur(0.8 * dpi / 200)), words


def test_ink_below_finds_a_dropped_line_and_reads_it_alone() -> None:
    image, words = _two_lines("lorry.")
    page = Page(1, image.width, image.height, ReadMethod.OCR, words, image=image)
    marks = PageMarks(TesseractOcr())
    box = marks.ink_below(page, words)
    assert box is not None and box[0] < words[0].bbox[0] + 0.01 and box[1] > words[0].bbox[3]
    assert marks.read_line(page, box, lang="eng") == "lorry."
    image, words = _two_lines("")  # (a PageMarks keeps each page's grey image: one per document)
    empty = Page(1, image.width, image.height, ReadMethod.OCR, words, image=image)
    assert PageMarks(TesseractOcr()).ink_below(empty, words) is None
    image, words = _two_lines("lorry.")
    read_too = [*words, Word("lorry.", (0.02, words[0].bbox[3] + 0.05, 0.1, words[0].bbox[3] + 0.12), 0.9, 1, 2)]
    page = Page(1, image.width, image.height, ReadMethod.OCR, read_too, image=image)
    assert PageMarks(TesseractOcr()).ink_below(page, words) is None  # a word there was read: it is some other field's
