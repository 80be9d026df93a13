"""Drop-out of a printed form: box rules removed, the form's lighter ink told from the typed data."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from claimflow.models import Page, ReadDocument, ReadMethod, Word
from claimflow.readers.dropout import (
    _runs,
    binarised,
    clean_region,
    data_layer,
    form_ink_level,
    page_layers,
    rule_mask,
    without_rules,
)

FORM_GREY = 130  # red ink scanned in grey
DATA_GREY = 10  # black toner


def _form(size: tuple[int, int] = (800, 300), form: int = FORM_GREY, data: int = DATA_GREY) -> Image.Image:
    """A box with rules and a caption in form ink, a value typed in it in data ink (400 dpi)."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(40)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=form, width=4)  # the box's rules
    draw.text((40, 40), "TOTAL CHARGE", fill=form, font=font)  # its caption
    draw.text((60, 150), "SMITH 42", fill=data, font=font)  # the typed value
    image.info["dpi"] = (400, 400)
    return image


def _runs_by_hand(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """The pixels in runs of >= `length` set pixels along `axis`, found by walking every run."""
    data = mask if axis == 1 else mask.T
    out = np.zeros_like(data, dtype=bool)
    for y, row in enumerate(data):
        x = 0
        while x < len(row):
            end = x
            while end < len(row) and row[end]:
                end += 1
            if end - x >= length:
                out[y, x:end] = True
            x = end + 1
    return out if axis == 1 else out.T


@pytest.mark.parametrize("axis", [0, 1])
def test_runs_are_the_pixels_of_long_runs(axis: int) -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        height, width = (int(v) for v in rng.integers(1, 40, 2))
        mask = rng.random((height, width)) < rng.random()
        for length in (1, 2, 3, 7, 16):
            found = _runs(mask, length, axis)
            assert found.dtype == bool and found.shape == mask.shape
            assert np.array_equal(found, _runs_by_hand(mask, length, axis)), (height, width, length)


def test_rules_are_long_lines_and_text_is_not() -> None:
    grey = np.asarray(_form())
    rules = rule_mask(grey, dpi=400)
    assert rules[20:24, 100:700].all()  # the top rule
    assert rules[100:200, 20:24].all()  # the left rule
    assert not rules[150:200, 60:300].any()  # the typed value's strokes are far shorter than a rule


def test_the_rule_length_follows_the_resolution() -> None:
    grey = np.full((200, 200), 255, dtype=np.uint8)
    grey[100:103, 20:80] = 0  # a 60-pixel line: a rule at 200 dpi (0.3 in), a dash at 400 dpi (0.15 in)
    assert rule_mask(grey, dpi=200)[101, 50]
    assert not rule_mask(grey, dpi=400)[101, 50]


def test_form_ink_level_is_measured_on_the_rules() -> None:
    grey = np.asarray(_form())
    level = form_ink_level(grey, rule_mask(grey, dpi=400))
    assert level is not None and abs(level - FORM_GREY) < 10
    blank = np.full((100, 100), 255, dtype=np.uint8)
    assert form_ink_level(blank, rule_mask(blank)) is None  # no rules, no level


def test_data_layer_keeps_the_typed_value_and_drops_the_form() -> None:
    grey = np.asarray(_form())
    data = data_layer(grey, form_ink_level(grey, rule_mask(grey, dpi=400)))
    assert data is not None
    assert (data[150:200, 60:300] < 100).sum() > 100  # the value is there, dark
    assert (data[40:90, 40:400] < 200).sum() == 0  # the caption is gone
    assert (data[18:26, 100:700] < 200).sum() == 0  # and the rule


def test_a_form_printed_as_dark_as_the_data_does_not_drop_out() -> None:
    grey = np.asarray(_form(form=DATA_GREY))
    assert data_layer(grey, form_ink_level(grey, rule_mask(grey, dpi=400))) is None


def test_clean_region_removes_black_rules_when_the_form_cannot_drop_out() -> None:
    image = _form(form=DATA_GREY)
    cleaned = np.asarray(clean_region(image))
    assert (cleaned[18:26, 100:700] < 200).sum() == 0  # the rule is gone
    assert (cleaned[150:200, 60:300] < 100).sum() > 100  # the value stays
    assert (cleaned[40:90, 40:400] < 100).sum() > 100  # a black caption stays (only rules go)
    assert without_rules(np.asarray(image), rule_mask(np.asarray(image), dpi=400)).shape == (300, 800)


def test_clean_region_drops_red_ink_in_colour() -> None:
    image = Image.new("RGB", (800, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 780, 280), outline=(222, 84, 84), width=4)
    draw.text((40, 40), "TOTAL CHARGE", fill=(222, 84, 84), font=ImageFont.load_default(40))
    draw.text((60, 150), "SMITH 42", fill=(0, 0, 0), font=ImageFont.load_default(40))
    before = (np.asarray(image.convert("L"))[40:90, 40:400] < 200).sum()
    cleaned = np.asarray(clean_region(image))
    assert (cleaned[40:90, 40:400] < 200).sum() < 0.05 * before  # only faint pink edges may stay
    assert (cleaned[150:200, 60:300] < 100).sum() > 100


def test_page_layers_split_form_and_data() -> None:
    image = _form()
    image.info["dpi"] = (400, 400)
    layers = page_layers(image)
    assert layers is not None
    data, form = (np.asarray(layer) for layer in layers)
    assert (data[40:90, 40:400] < 200).sum() == 0 and (data[150:200, 60:300] < 100).sum() > 100
    assert (form[150:200, 60:300] < 200).sum() == 0 and (form[40:90, 40:400] < 100).sum() > 100
    assert page_layers(_form(form=DATA_GREY)) is None


def _ocr_page(image: Image.Image, words: list[Word]) -> Page:
    page = Page(1, 612, 792, ReadMethod.OCR, words)
    page.image = image
    return page


@pytest.mark.parametrize("dropout", [True, False])
def test_layers_are_read_apart_only_for_dropout_specs(dropout: bool) -> None:
    from claimflow.form_layers import read_layers_apart
    from claimflow.models import Extraction
    from claimflow.settings import PROJECT_ROOT
    from claimflow.specs import load_specs

    specs = load_specs(PROJECT_ROOT / "extractors")
    spec = specs.specs["cms1500"]
    if not dropout:
        specs.specs["cms1500"] = spec.model_copy(update={"ocr": spec.ocr.model_copy(update={"dropout": False})})
    glued = [Word("CHARGESMITH", (0.05, 0.1, 0.4, 0.15), 0.5)]
    read = ReadDocument(pages=[_ocr_page(_form(), glued)])
    parts = [Extraction("cms1500", 0.9)]
    seen: list[int] = []

    def reader(page: Page, image: Image.Image) -> list[Word]:
        dark = np.asarray(image) < 100
        seen.append(int(dark.sum()))
        return [Word("DATA" if dark[150:200, 60:300].any() else "FORM", (0.1, 0.5, 0.3, 0.6), 0.9)]

    pages = read_layers_apart(read, parts, specs, reader)
    if dropout:
        assert pages == 1 and len(seen) == 2
        assert sorted(w.text for w in read.pages[0].words) == ["DATA", "FORM"]  # the glued first reading is gone
        assert read.pages[0].words[1].block >= 3000  # data words never join the form's OCR lines
        assert parts[0].type_confidence == 0.9
    else:
        assert pages == 0 and not seen
        assert [w.text for w in read.pages[0].words] == ["CHARGESMITH"]


def test_rules_of_several_inks_have_no_form_level() -> None:
    # a black form scanned at low resolution: thin rules blurred to grey, thick ones black
    grey = np.full((400, 400), 255, dtype=np.uint8)
    for top in range(20, 380, 40):
        grey[top : top + 2, 10:390] = 150  # thin, blurred
    grey[300:304, 10:390] = 0  # thick, black
    assert form_ink_level(grey, rule_mask(grey, dpi=400)) is None
    grey[300:304, 10:390] = 150  # all rules in one light ink: a drop-out form
    level = form_ink_level(grey, rule_mask(grey, dpi=400))
    assert level is not None and abs(level - 150) < 5


def test_dashed_separators_are_rules_and_solid_strokes_are_not() -> None:
    grey = np.full((200, 300), 255, dtype=np.uint8)
    for top in range(40, 160, 12):
        grey[top : top + 6, 100:103] = 0  # a dashed vertical rule 0.3 in long at 400 dpi: 6 on, 6 off
    grey[60:110, 200:206] = 0  # a digit's solid stem, 50 px (0.125 in)
    dashed = rule_mask(grey, dpi=400, dashed=True)
    assert dashed[40:46, 100:103].all() and dashed[148:154, 100:103].all()
    assert not dashed[60:110, 200:206].any()
    assert not rule_mask(grey, dpi=400)[40:46, 100:103].any()  # without `dashed`, only solid long rules


def test_a_caption_stroke_over_a_digit_stem_is_not_a_dashed_rule() -> None:
    grey = np.full((200, 300), 255, dtype=np.uint8)
    grey[40:62, 100:104] = 0  # a caption's stroke (`YY`), 22 px
    grey[68:100, 100:104] = 0  # 6 px under it, the stem of a typed digit (`2000`), 32 px: bridged, one 60 px run
    grey[40:62, 200:203] = 0  # a dashed separator of three 0.055 in dashes with 5 px gaps, as scanned
    grey[67:89, 200:203] = 0
    grey[94:116, 200:203] = 0
    dashed = rule_mask(grey, dpi=400, dashed=True)
    assert not dashed[40:100, 100:104].any()  # the digit keeps its stem
    assert dashed[40:62, 200:203].all() and dashed[94:116, 200:203].all()


def test_clean_region_keeps_grey_values_when_told_the_form_does_not_drop_out() -> None:
    # a black form scanned at low resolution: thin rules blurred to grey, and a value typed in a thin stroke
    # blurred as light (a stroke clearly darker than the rules is data to the drop-out: see the faded toner test)
    image = _form(form=150, data=140)
    ImageDraw.Draw(image).rectangle((650, 150, 680, 180), fill=10)  # a heavier mark elsewhere in the crop
    by_level = np.asarray(clean_region(image))
    rules_only = np.asarray(clean_region(image, by_level=False))
    assert (by_level[150:200, 60:300] < 200).sum() < (rules_only[150:200, 60:300] < 200).sum() / 2
    assert (rules_only[150:200, 60:300] < 200).sum() > 100  # the value stays whole
    assert (rules_only[18:26, 100:700] < 200).sum() == 0  # the rules still go


def test_faded_toner_a_little_darker_than_the_form_still_drops_out() -> None:
    """A degraded scan's toner (~105 over a form at 130, scanner noise) has no pixel 60 darker than the form.

    The layer was refused (or kept the value cut to dots): its strokes are now found by their dense clusters of
    pixels somewhat darker than the form, and the form's caption and rules, noisy as they are, stay out.
    """
    grey = np.asarray(_form(data=105)).astype(np.int16)
    noise = np.random.default_rng(7).normal(0.0, 4.0, grey.shape).round().astype(np.int16)
    noisy = np.clip(grey + noise, 0, 255).astype(np.uint8)
    data = data_layer(noisy, form_ink_level(noisy, rule_mask(noisy, dpi=400)))
    assert data is not None
    value = (grey[150:200, 60:300] < 200).sum()
    assert (data[150:200, 60:300] < 200).sum() > 0.9 * value  # the value is kept whole, not cut to dots
    assert (data[40:90, 40:400] < 200).sum() < 20  # the caption is gone (a speck of noise at most)
    assert (data[18:26, 100:700] < 200).sum() < 20  # and the rule


def test_rules_and_ghosts_of_values_in_the_form_layer_are_not_words() -> None:
    from claimflow.form_layers import form_words

    caption = Word("INSURED'S", (0.63, 0.150, 0.68, 0.157), 0.9)
    name = Word("NAME", (0.69, 0.150, 0.71, 0.157), 0.9)
    data = [Word("MILLER,", (0.648, 0.170, 0.726, 0.181), 0.95, 1, 1),
            Word("PATRICIA", (0.743, 0.171, 0.836, 0.181), 0.96, 1, 1)]
    flat = Word("eee", (0.667, 0.176, 0.744, 0.177), 0.22)  # the box's rule read as letters
    ghost = Word("ee", (0.731, 0.171, 0.750, 0.180), 0.48)  # form ink left around the value, between its words
    sure = Word("7.", (0.731, 0.172, 0.737, 0.180), 0.93)  # a caption the value was printed over, read well
    under = Word("PHONE", (0.75, 0.172, 0.79, 0.180), 0.5)  # a caption under the value, read poorly, in capitals
    kept = form_words([caption, name, flat, ghost, sure, under], data)
    assert kept == [caption, name, sure, under]


def test_a_value_typed_across_a_rule_keeps_its_strokes_when_dropped_by_the_page_level() -> None:
    """A pre-printed form's value printed over its box's rule: the crop's own rules look of two inks.

    Measured on the crop, the rules' tenth percentile is the value's toner, so no level is found, nothing is
    dropped, and taking the rule out cuts the value's strokes where they cross it. The level measured on the
    whole page drops the form's ink and keeps the strokes whole.
    """
    image = Image.new("L", (800, 240), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 150, 799, 155), fill=FORM_GREY)  # the rule between two boxes
    draw.text((40, 60), "4. INSURED'S NAME", fill=FORM_GREY, font=ImageFont.load_default(28))  # a caption
    for x in range(60, 560, 50):  # the value's letters, their stems crossing the rule
        draw.rectangle((x, 115, x + 8, 180), fill=DATA_GREY)  # 0.16 in: shorter than a rule
    image.info["dpi"] = (400, 400)
    grey = np.asarray(image)
    assert form_ink_level(grey, rule_mask(grey, dpi=400)) is None  # the crop cannot tell the form's level
    stems = (slice(150, 156), slice(60, 560))
    cut = np.asarray(clean_region(image))
    kept = np.asarray(clean_region(image, level=float(FORM_GREY)))
    assert (cut[stems] < 100).sum() == 0  # the rule's removal took the strokes across it
    assert (kept[stems] < 100).sum() == 10 * 9 * 6  # every stem whole where it crosses the rule
    assert (kept[55:110] < 200).sum() == 0  # the caption is gone
    assert (kept[150:156, 600:] < 200).sum() == 0  # and so is the rule away from the value


def test_the_first_readings_captions_stand_for_a_form_layer_read_as_dots() -> None:
    """A degraded colour scan's grey form, cut out by its level, kept its captions as dotted strokes, read
    `APE RODE y ali ian`: no caption, no field. The first reading of the whole page read them; its words off the
    values stand for the form layer then, and only then."""
    from claimflow.form_layers import form_layer_words
    from claimflow.settings import PROJECT_ROOT
    from claimflow.specs import load_specs

    spec = load_specs(PROJECT_ROOT / "extractors").specs["cms1500"]

    def words(y: float, text: str, x: float = 0.04, block: int = 1) -> list[Word]:
        out = []
        for part in text.split():
            out.append(Word(part, (x, y, x + 0.0055 * len(part), y + 0.006), 0.9, block, 1))
            x += 0.0055 * (len(part) + 1)
        return out

    captions = [
        *words(0.150, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)"),
        *words(0.148, "3. PATIENT'S BIRTH DATE", x=0.38),
        *words(0.150, "4. INSURED'S NAME (Last Name, First Name, Middle Initial)", x=0.62),
        *words(0.120, "1a. INSURED'S I.D. NUMBER", x=0.62),
        *words(0.846, "28. TOTAL CHARGE", x=0.62),
        *words(0.846, "29. AMOUNT PAID", x=0.75),
        *words(0.845, "25. FEDERAL TAX I.D. NUMBER"),
    ]
    data = words(0.165, "MCCARTHY, MARIA", block=7)
    glued = words(0.165, "MCCARTHY,", block=2)  # the first reading's value, on the value: not the form's
    dots = [*words(0.150, "APE RODE y ali ian", block=3), *words(0.846, "ran Se OEE", x=0.62, block=4)]
    page = Page(1, 612, 792, ReadMethod.OCR, [*captions, *glued])
    assert form_layer_words(page, dots, data, spec) == captions
    # a form layer that reads its captions keeps them (the first reading is not taken for a few more)
    read_well = [*captions[:-4], *words(0.846, "28. TOTAL CHARGE", x=0.62, block=5)]
    assert form_layer_words(page, read_well, data, spec) == read_well


def test_a_field_the_layered_reading_lost_is_kept_unconfirmed() -> None:
    """A faded scan's data, hardly darker than its form, dotted by the drop-out by level: the layered reading
    reads no insured name where the page's first reading read `THOMPSON, KEVIN` (seed 23 pre-printed `003`)."""
    from claimflow.errors import ReasonCode
    from claimflow.extract_reread import UNCONFIRMED_FACTOR
    from claimflow.form_layers import merge_first_reading
    from claimflow.models import Extraction, Field, Problem, Provenance

    def field(name: str, value: str, confidence: float) -> Field:
        return Field(name, value, confidence, Provenance(ReadMethod.OCR, page=1))

    first = Extraction("cms1500", 0.9, fields={"insured_name": field("insured_name", "THOMPSON, KEVIN", 0.95),
                                               "patient_name": field("patient_name", "THOMPSON, KEVIN", 0.9)})
    missing = Problem(ReasonCode.FIELD_MISSING, "insured_name: not found", page=1, field="insured_name")
    again = Extraction("cms1500", 0.9, fields={"patient_name": field("patient_name", "THOMPSON, KEVN", 0.93)},
                       problems=[missing])
    merge_first_reading(first, again)
    kept = again.fields["insured_name"]
    assert kept.value == "THOMPSON, KEVIN" and kept.confidence == round(0.95 * UNCONFIRMED_FACTOR, 4)
    assert missing not in again.problems
    assert any(p.field == "insured_name" and p.code is ReasonCode.FIELD_LOW_CONFIDENCE for p in again.problems)
    # a field the layered reading read, surer than the page's first reading, stays as it read it
    assert again.fields["patient_name"].value == "THOMPSON, KEVN"


def test_a_field_the_page_read_surer_than_the_layered_reading_is_kept_doubted() -> None:
    """The drop-out by level thins a degraded scan's strokes: the layered reading left the middle initial out
    (`PATEL, PATRICIA` at 0.75) that the page's first reading read (`PATEL, PATRICIA E` at 0.92, seed 19 acroform
    `002` degraded). Merged field by field, the surer reading of each field is kept; when they disagree it is
    doubted and flagged. A value both read alike keeps the layered reading's confidence."""
    from claimflow.errors import ReasonCode
    from claimflow.extract_reread import DISAGREE_FACTOR
    from claimflow.form_layers import merge_first_reading
    from claimflow.models import Extraction, Field, Provenance

    def field(name: str, value: str, confidence: float) -> Field:
        return Field(name, value, confidence, Provenance(ReadMethod.OCR, page=1))

    first = Extraction("cms1500", 0.9, fields={"patient_name": field("patient_name", "PATEL, PATRICIA E", 0.92),
                                               "insured_id": field("insured_id", "291228252", 0.55),
                                               "federal_tax_id": field("federal_tax_id", "58-4225747", 0.91)})
    again = Extraction("cms1500", 0.9, fields={"patient_name": field("patient_name", "PATEL, PATRICIA", 0.75),
                                               "insured_id": field("insured_id", "H291228252", 0.79),
                                               "federal_tax_id": field("federal_tax_id", "58-4225747", 0.82)})
    merge_first_reading(first, again)
    kept = again.fields["patient_name"]
    assert kept.value == "PATEL, PATRICIA E" and kept.confidence == round(0.92 * DISAGREE_FACTOR, 4)
    assert any(p.field == "patient_name" and p.code is ReasonCode.FIELD_AMBIGUOUS for p in again.problems)
    # the layered reading's surer value stays, undoubted; so does a value both read alike
    assert again.fields["insured_id"].value == "H291228252" and again.fields["insured_id"].confidence == 0.79
    assert again.fields["federal_tax_id"].confidence == 0.82
    assert not any(p.field in ("insured_id", "federal_tax_id") for p in again.problems)


def test_a_cleaned_crop_is_read_black_and_white_at_its_otsu_level() -> None:
    # cms17: grey anti-aliased edges and an erased rule's grey specks around a value typed in a box
    grey = np.full((120, 300), 250, dtype=np.uint8)
    grey[40:80, 50:60] = 20  # a stroke
    grey[40:80, 60:62] = 140  # its blurred edge, darker than the paper's middle
    grey[10:100, 150] = 215  # an erased rule's specks, lighter than the middle
    image = Image.fromarray(grey, mode="L")
    image.info["dpi"] = (400, 400)
    out = binarised(image)
    pixels = np.asarray(out)
    assert set(np.unique(pixels)) == {0, 255}
    assert (pixels[40:80, 50:62] == 0).all()  # the stroke and its edge are ink
    assert (pixels[:, 150] == 255).all() and (pixels[:30, :] == 255).all()  # specks and paper are paper
    assert out.info["dpi"] == (400, 400)
