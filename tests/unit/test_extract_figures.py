"""Weak figures of chi_sim specs read by the second recognizer (extract_figures.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from claimflow.errors import ReasonCode
from claimflow.extract_figures import ALONE, read_figures_again, reads_figures, weak_figures
from claimflow.extract_paddle import AGREE_CAP, DISAGREE_CAP, inked
from claimflow.extract_reread import calibrated
from claimflow.models import Extraction, Field, Money, Page, Problem, Provenance, ReadDocument, ReadMethod, Word
from claimflow.readers.paddle_rec import Reading, recognizer
from claimflow.specs import SpecSet, load_specs

ROOT = Path(__file__).resolve().parents[2]
FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # the sample generator's font
SIZE = 29  # 10.5 pt at 200 dpi, as the generator draws 理赔申请书 values
THRESHOLD = 0.98
WIDTH, HEIGHT = 1200, 200

needs_font = pytest.mark.skipif(not FONT_FILE.is_file(), reason="fonts-wqy-microhei is not installed")


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(ROOT / "extractors")


def _page(label: str, value: str, words: list[tuple[str, float, float, float]]) -> Page:
    """Return a page showing `label` then `value` on one row; `words` are tesseract's (text, x0, x1, conf)."""
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    if FONT_FILE.is_file():
        font = ImageFont.truetype(str(FONT_FILE), SIZE)
        draw.text((50, 80), label, font=font, fill=0)
        draw.text((300, 80), value, font=font, fill=0)
    page = Page(1, WIDTH, HEIGHT, ReadMethod.OCR, image=image, language="chi_sim+eng")
    page.words = [Word(label, (50 / WIDTH, 0.4, 180 / WIDTH, 0.6), 0.95, block=1, line=1)]
    page.words += [Word(text, (x0 / WIDTH, 0.4, x1 / WIDTH, 0.6), c, block=1, line=1) for text, x0, x1, c in words]
    return page


def _document(page: Page, fields: dict[str, tuple[object, float, str]]) -> tuple[ReadDocument, Extraction]:
    """Return the read document and its extraction with `fields` (name: value, raw score, raw text) on the page."""
    found = {}
    for name, (value, confidence, raw) in fields.items():
        words = [w for w in page.words[1:] if w.text in raw]
        box = (min(w.bbox[0] for w in words), 0.4, max(w.bbox[2] for w in words), 0.6)
        found[name] = Field(name, value, confidence, Provenance(ReadMethod.OCR, 1, box), raw)  # type: ignore[arg-type]
    return ReadDocument(pages=[page]), Extraction("claim_application_zh", 1.0, fields=found, pages=(1,))


def _reads(text: str, confidences: list[float]) -> object:
    """Return a recognizer factory whose every crop reads `text` with `confidences`."""

    def read(crop: Image.Image) -> Reading:
        return Reading(text, tuple(confidences))

    return lambda: read


def test_only_figures_fields_of_chi_sim_specs_are_read(specs: SpecSet) -> None:
    spec = specs.specs["claim_application_zh"]
    figures = {name for name, field_spec in spec.fields.items() if reads_figures(field_spec)}
    assert {"policy_number", "amount_claimed", "payee_account", "phone", "date_of_loss"} <= figures
    assert not figures & {"amount_in_words", "claimant_name", "description", "currency", "loss_type"}
    page = _page("保单号", "PDAZ202666594243", [("PDA4Z202666594243", 300, 560, 0.3)])
    read, part = _document(page, {"policy_number": ("PDA4Z202666594243", 0.3, "PDA4Z202666594243")})
    assert weak_figures(part, specs, {1: page}, THRESHOLD) == ["policy_number"]
    other = Extraction("motor_claim_form", 1.0, fields=dict(part.fields), pages=(1,))
    assert weak_figures(other, specs, {1: page}, THRESHOLD) == []


def test_a_code_failing_its_shape_takes_the_reading_that_fits_below_auto_accept(specs: SpecSet) -> None:
    page = _page("保单号", "PDAZ202666594243", [("PDA4Z202666594243", 300, 560, 0.3)])
    read, part = _document(page, {"policy_number": ("PDA4Z202666594243", 0.3, "PDA4Z202666594243")})
    crops = read_figures_again(read, [part], specs, _reads("PDAZ202666594243", [0.7] * 16), threshold=THRESHOLD)
    found = part.fields["policy_number"]
    assert crops == 1
    assert found.value == "PDAZ202666594243"  # fits `[A-Z]{2,6}\d...`, tesseract's inserted 4 does not
    assert found.confidence <= DISAGREE_CAP
    assert calibrated(part, found, specs) < THRESHOLD
    assert any(p.field == "policy_number" and p.code is ReasonCode.FIELD_AMBIGUOUS for p in part.problems)


def test_an_unsure_reading_that_fits_no_better_keeps_tesseract_value_capped(specs: SpecSet) -> None:
    page = _page("联系电话", "13332251571", [("13332251504", 300, 470, 0.4)])
    # raw 0.7: weak under any fitted curve (0.8 calibrated to 0.9802 for this type after the stop-18 refit)
    read, part = _document(page, {"phone": ("13332251504", 0.7, "13332251504")})
    unsure = [0.99, 1.0, 1.0, 0.99, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 0.99]
    read_figures_again(read, [part], specs, _reads("13332251571", unsure), threshold=THRESHOLD)
    assert part.fields["phone"].value == "13332251504"
    assert part.fields["phone"].confidence == DISAGREE_CAP


def test_a_sure_reading_of_a_digit_the_yen_sign_swallowed_is_taken(specs: SpecSet) -> None:
    # tesseract read `¥4` as a word of its own at 0.0 and the amount as `5,291.02`; the crop reaches over that word
    page = _page("申请金额", "￥45,291.02", [("汐", 300, 330, 0.0), ("5,291.02", 335, 450, 0.5)])
    read, part = _document(page, {"amount_claimed": (Money(Decimal("5291.02")), 0.5, "5,291.02")})
    seen: list[Image.Image] = []

    def read_crop(crop: Image.Image) -> Reading:
        seen.append(crop)
        return Reading("￥45,291.02", (0.58, *[0.99] * 9))  # the sign unsure: no doubt about the figures

    read_figures_again(read, [part], specs, lambda: read_crop, threshold=THRESHOLD)
    assert seen[0].width > 450 - 300  # reaches over `汐`
    found = part.fields["amount_claimed"]
    assert found.value == Money(Decimal("45291.02"))
    assert found.confidence <= DISAGREE_CAP


def test_a_reading_that_agrees_with_the_words_is_taken_even_unsure(specs: SpecSet) -> None:
    page = _page("申请金额", "￥45,291.02", [("5,291.02", 335, 450, 0.9)])
    read, part = _document(page, {"amount_claimed": (Money(Decimal("5291.02")), 0.5, "5,291.02")})
    raw = "人民币肆万伍仟贰佰玖拾壹元零贰分"
    words = Field("amount_in_words", Money(Decimal("45291.02")), 0.6, Provenance(ReadMethod.OCR, 1, None), raw)
    part.fields["amount_in_words"] = words
    read_figures_again(read, [part], specs, _reads("45,291.02", [0.6] * 9), threshold=THRESHOLD)
    assert part.fields["amount_claimed"].value == Money(Decimal("45291.02"))
    assert part.fields["amount_claimed"].confidence <= DISAGREE_CAP


def test_an_agreement_lifts_a_weak_value_at_most_to_the_cap(specs: SpecSet) -> None:
    page = _page("联系电话", "13876906050", [("138", 300, 350, 0.7), ("7690", 355, 420, 0.7), ("6050", 425, 490, 0.9)])
    read, part = _document(page, {"phone": ("13876906050", 0.75, "138 7690 6050")})
    read_figures_again(read, [part], specs, _reads("13876906050", [0.99] * 11), threshold=THRESHOLD)
    assert 0.75 < part.fields["phone"].confidence <= AGREE_CAP


def test_no_lift_for_a_value_a_check_or_problem_doubts(specs: SpecSet) -> None:
    page = _page("联系电话", "13876906050", [("13876906050", 300, 490, 0.7)])
    read, part = _document(page, {"phone": ("13876906050", 0.7, "13876906050")})
    part.problems.append(Problem(ReasonCode.FIELD_AMBIGUOUS, "another model read it otherwise", field="phone"))
    read_figures_again(read, [part], specs, _reads("13876906050", [0.99] * 11), threshold=THRESHOLD)
    assert part.fields["phone"].confidence == 0.7


@needs_font
def test_a_value_the_page_did_not_give_is_read_right_of_its_label(specs: SpecSet) -> None:
    page = _page("联系电话", "13392853695", [])
    read = ReadDocument(pages=[page])
    part = Extraction("claim_application_zh", 1.0, pages=(1,))
    assert weak_figures(part, specs, {1: page}, THRESHOLD) == ["phone"]
    read_figures_again(read, [part], specs, lambda: recognizer().read, threshold=THRESHOLD)
    found = part.fields["phone"]
    assert found.value == "13392853695"
    assert found.confidence == ALONE
    assert calibrated(part, found, specs) < THRESHOLD
    assert [p.field for p in part.problems] == ["phone"]


@needs_font
def test_the_model_reads_a_rendered_code_and_amount() -> None:
    for text in ("PDAA2026000123", "￥45,291.02"):
        image = Image.new("L", (40 + SIZE * len(text), SIZE + 16), 255)
        ImageDraw.Draw(image).text((8, 6), text, font=ImageFont.truetype(str(FONT_FILE), SIZE), fill=0)
        assert recognizer().read(image).text.replace("¥", "￥") == text


def test_words_filled_from_the_misread_figures_are_no_evidence_and_take_the_new_amount(specs: SpecSet) -> None:
    # the words' first numeral was unreadable (`人民币?万肆仟...`), so they were filled with tesseract's 94977.08
    page = _page("申请金额", "￥34,977.08", [("94,977.08", 300, 450, 0.6)])
    read, part = _document(page, {"amount_claimed": (Money(Decimal("94977.08")), 0.5, "94,977.08")})
    raw = "人民币下万肆仟玖佰柒拾柒元零捌分"
    box = Provenance(ReadMethod.OCR, 1, None)
    part.fields["amount_in_words"] = Field("amount_in_words", Money(Decimal("94977.08")), 0.5, box, raw)
    read_figures_again(read, [part], specs, _reads("34,977.08", [0.99] * 9), threshold=THRESHOLD)
    assert part.fields["amount_claimed"].value == Money(Decimal("34977.08"))
    assert part.fields["amount_in_words"].value == Money(Decimal("34977.08"))


def test_figures_the_words_contradicted_take_an_unsure_reading(specs: SpecSet) -> None:
    page = _page("申请金额", "￥43,249.00", [("3,249.00", 335, 450, 0.6)])
    read, part = _document(page, {"amount_claimed": (Money(Decimal("3249.00")), 0.5, "3,249.00")})
    contradiction = Problem(ReasonCode.AMOUNTS_INCONSISTENT, "does not fit the words", field="amount_claimed")
    part.problems.append(contradiction)
    unsure = [0.99, 0.84, *[0.99] * 7]
    read_figures_again(read, [part], specs, _reads("43,249.00", unsure), threshold=THRESHOLD)
    assert part.fields["amount_claimed"].value == Money(Decimal("43249.00"))
    assert contradiction not in part.problems
    # without the words' contradiction the same unsure reading fits no better: tesseract's stays, capped
    read, part = _document(page, {"amount_claimed": (Money(Decimal("3249.00")), 0.5, "3,249.00")})
    read_figures_again(read, [part], specs, _reads("43,249.00", unsure), threshold=THRESHOLD)
    assert part.fields["amount_claimed"].value == Money(Decimal("3249.00"))


@needs_font
def test_a_crop_is_cut_to_its_ink_before_it_is_read() -> None:
    # a word read at 0.0 had a box three times its line's height: the model made up characters around 王霞
    image = Image.new("L", (261, 89), 255)
    ImageDraw.Draw(image).text((100, 30), "王霞", font=ImageFont.truetype(str(FONT_FILE), SIZE), fill=0)
    cut = inked(image)
    assert cut.height < 40 and cut.width < 80
    assert recognizer().read(cut).text == "王霞"
    assert inked(Image.new("L", (50, 20), 255)).size == (50, 20)  # no ink: left as it is
