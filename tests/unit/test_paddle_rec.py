"""The second Chinese recognizer (PP-OCR's model, readers/paddle_rec.py) and the look that uses it (extract_paddle)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from claimflow.errors import ReasonCode
from claimflow.extract_paddle import AGREE_CAP, DISAGREE_CAP, _merge, read_chinese_again, weak_chinese
from claimflow.extract_reread import calibrated
from claimflow.models import Extraction, Field, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.readers import paddle_rec
from claimflow.readers.paddle_rec import Reading, RecognizerMissing, recognizer
from claimflow.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # the sample generator's font
SIZE = 29  # 10.5 pt at 200 dpi, as the generator draws 理赔申请书 values
THRESHOLD = 0.98

needs_font = pytest.mark.skipif(not FONT_FILE.is_file(), reason="fonts-wqy-microhei is not installed")


def _render(text: str) -> Image.Image:
    font = ImageFont.truetype(str(FONT_FILE), SIZE)
    image = Image.new("L", (40 + SIZE * len(text), SIZE + 16), 255)
    ImageDraw.Draw(image).text((8, 6), text, font=font, fill=0)
    return image


@needs_font
@pytest.mark.parametrize("text", ["春熙路", "王霞", "成都市锦江区春熙路", "车辆被淹"])
def test_rare_characters_chi_sim_misreads_are_read_right(text: str) -> None:
    reading = recognizer().read(_render(text))
    assert reading.text.strip() == text
    assert len(reading.confidences) == len(reading.text)
    assert reading.confidence > 0.9


@needs_font
def test_the_model_is_loaded_once() -> None:
    assert recognizer() is recognizer()


def _page(label: str, value: str) -> tuple[Page, list[Word]]:
    """Return a page image holding `label value` on one row, and tesseract's words for it (value read weakly)."""
    font = ImageFont.truetype(str(FONT_FILE), SIZE)
    image = Image.new("L", (1000, 200), 255)
    draw = ImageDraw.Draw(image)
    draw.text((50, 80), label, font=font, fill=0)
    draw.text((300, 80), value, font=font, fill=0)
    width = font.getlength(value)
    label_word = Word(label, (0.05, 0.4, 0.05 + font.getlength(label) / 1000, 0.6), 0.95, block=1, line=1)
    page = Page(1, 1000, 200, ReadMethod.OCR, image=image, language="chi_sim+eng")
    return page, [label_word, Word("", (0.3, 0.4, (300 + width) / 1000, 0.6), 0.5, block=1, line=1)]


def _document(read_as: str, actual: str, confidence: float) -> tuple[ReadDocument, Extraction]:
    page, (label, value_word) = _page("被保险人", actual)
    value_word = Word(read_as, value_word.bbox, confidence, block=1, line=1)
    page.words = [label, value_word]
    read = ReadDocument(pages=[page])
    found = Field("claimant_name", read_as, confidence, Provenance(ReadMethod.OCR, 1, value_word.bbox), read_as)
    return read, Extraction("claim_application_zh", 1.0, fields={"claimant_name": found}, pages=(1,))


@needs_font
def test_a_disagreement_takes_the_sure_reading_and_stays_below_auto_accept() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("王吉", "王霞", 0.7)
    pages = {1: read.pages[0]}
    assert weak_chinese(part, specs, pages, THRESHOLD) == ["claimant_name"]
    crops = read_chinese_again(read, [part], specs, lambda: recognizer().read, threshold=THRESHOLD)
    found = part.fields["claimant_name"]
    assert crops == 1
    assert found.value == "王霞"
    assert found.confidence <= DISAGREE_CAP
    assert calibrated(part, found, specs) < THRESHOLD


@needs_font
def test_an_unsure_second_reading_that_differs_keeps_tesseract_value_below_auto_accept() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("王吉", "王霞", 0.7)

    def unsure(crop: Image.Image) -> Reading:
        return Reading("王雷", (0.99, 0.42))

    read_chinese_again(read, [part], specs, lambda: unsure, threshold=THRESHOLD)
    found = part.fields["claimant_name"]
    assert found.value == "王吉"
    assert calibrated(part, found, specs) < THRESHOLD


@needs_font
def test_an_agreement_lifts_a_weak_value_at_most_to_the_cap() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("王霞", "王霞", 0.6)
    read_chinese_again(read, [part], specs, lambda: recognizer().read, threshold=THRESHOLD)
    found = part.fields["claimant_name"]
    assert found.value == "王霞"
    assert 0.6 < found.confidence <= AGREE_CAP


@needs_font
def test_a_character_tesseract_dropped_at_the_edge_is_a_disagreement() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document("王", "王霞", 0.6)  # the word's box covers 王 only: the crop is widened to see 霞
    page = read.pages[0]
    label, word = page.words
    narrow = Word("王", (word.bbox[0], word.bbox[1], word.bbox[0] + SIZE / 1000, word.bbox[3]), 0.6, block=1, line=1)
    page.words = [label, narrow]
    part.fields["claimant_name"] = Field("claimant_name", "王", 0.6, Provenance(ReadMethod.OCR, 1, narrow.bbox), "王")
    read_chinese_again(read, [part], specs, lambda: recognizer().read, threshold=THRESHOLD)
    found = part.fields["claimant_name"]
    assert found.confidence <= DISAGREE_CAP
    assert found.value == "王霞"


def test_a_missing_model_is_a_plain_problem_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paddle_rec, "MODEL_FILE", "models/no-such-model.onnx")
    monkeypatch.setattr(paddle_rec, "_loaded", None)
    with pytest.raises(RecognizerMissing, match="Chinese recognition model .* is not installed; install"):
        recognizer()
    specs = load_specs(ROOT / "extractors")
    page = Page(1, 100, 20, ReadMethod.OCR, image=Image.new("L", (100, 20), 255), language="chi_sim+eng")
    page.words = [Word("王吉", (0.3, 0.2, 0.5, 0.8), 0.5, block=1, line=1)]
    read = ReadDocument(pages=[page])
    found = Field("claimant_name", "王吉", 0.5, Provenance(ReadMethod.OCR, 1, (0.3, 0.2, 0.5, 0.8)), "王吉")
    part = Extraction("claim_application_zh", 1.0, fields={"claimant_name": found}, pages=(1,))
    read_chinese_again(read, [part], specs, lambda: recognizer().read, threshold=THRESHOLD)
    assert part.fields["claimant_name"] == found
    assert [(p.code, p.field) for p in part.problems] == [(ReasonCode.OCR_FAILED, "claimant_name")]
    assert "not installed" in part.problems[0].message


def test_specs_without_chi_sim_are_not_read_again() -> None:
    specs = load_specs(ROOT / "extractors")
    page = Page(1, 100, 20, ReadMethod.OCR, image=Image.new("L", (100, 20), 255))
    found = Field("claimant_name", "王吉", 0.1, Provenance(ReadMethod.OCR, 1, (0.3, 0.2, 0.5, 0.8)), "王吉")
    part = Extraction("motor_claim_form", 1.0, fields={"claimant_name": found}, pages=(1,))
    assert weak_chinese(part, specs, {1: page}, THRESHOLD) == []


def test_a_value_a_vote_changed_is_found_in_its_words_and_the_sure_reading_taken() -> None:
    first = ":车辆在成都市锦江区春寻路行驶时被飞石击中"  # the words, label colon included; the vote made 寻 巾
    value = "车辆在成都市锦江区春巾路行驶时被飞石击中"
    second = "：车辆在成都市锦江区春熙路行驶时被飞石击中"
    merged = _merge(value, first, second, [True] * len(second))
    assert merged == ("车辆在成都市锦江区春熙路行驶时被飞石击中", True, True)
    unsure = [c != "熙" for c in second]
    assert _merge(value, first, second, unsure) == (value, True, False)
    assert _merge("完全不同的文字", first, second, [True] * len(second)) is None
