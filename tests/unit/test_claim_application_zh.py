"""The Chinese claim application (理赔申请书): capital numerals, CJK labels, OCR language choice, the engine."""

from __future__ import annotations

import dataclasses
import logging
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from claimflow.assemble import CLAIM_FORMS, REQUIRED_FIELDS, claim_links
from claimflow.capital_numerals import capital_writings, parse_capital_amount, unread_fits, write_capital_amount
from claimflow.errors import ReasonCode, SpecError
from claimflow.extract import extract_documents
from claimflow.extract_checks import DISAGREE_CAP, UNREAD_FILL_CONFIDENCE, apply_checks
from claimflow.extract_layout import build_lines, find_anchors
from claimflow.models import Field, Money, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.normalise import is_valid_gb11643, is_valid_luhn, join_cjk, normalise_currency, parse_date, parse_money
from claimflow.readers import read_document
from claimflow.readers.ocr import Orientation, TesseractOcr, assign_lines, script_languages
from claimflow.readers.preflight import read_scanned_page
from claimflow.samples import claim_application_zh as zh
from claimflow.samples.degrade import Degradation, scan_document, write_scan
from claimflow.sniff import sniff_file
from claimflow.specs import load_specs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
needs_font = pytest.mark.skipif(not zh.FONT_FILE.is_file(), reason=zh.FONT_INSTALL_HINT)


@pytest.fixture(scope="module")
def specs():  # type: ignore[no-untyped-def]
    return load_specs(PROJECT_ROOT / "extractors")


# ------------------------------------------------------------------------------------------ capital numerals
@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("人民币壹万贰仟叁佰肆拾伍元陆角整", "12345.60"),
        ("壹万零伍元整", "10005.00"),  # 零 for the empty thousands, hundreds and tens
        ("壹仟零伍拾元叁角", "1050.30"),  # 整 after 角 is optional
        ("壹拾万零伍佰元整", "100500.00"),
        ("壹万贰仟元零伍分", "12000.05"),  # 零 for the empty 角
        ("壹佰万元零壹分", "1000000.01"),
        ("拾伍元正", "15.00"),  # 正 for 整, a bare 拾 at the start
        ("伍角整", "0.50"),
        ("壹亿零伍万元整", "100050000.00"),
        ("人民币 贰 仟 元 伍 角 伍 分", "2000.55"),  # OCR's spaces between characters
        ("（大写）叁佰元整", "300.00"),
        ("零元整", "0.00"),
    ],
)
def test_capital_amounts_parse(text: str, amount: str) -> None:
    assert parse_capital_amount(text) == Decimal(amount)


@pytest.mark.parametrize(
    "text",
    [
        "壹万伍拾元整",  # 10050 hides the zero thousands and hundreds: must be 壹万零伍拾
        "壹佰伍元",  # a digit without its unit
        "壹万贰仟元伍分整",  # 整 after 分
        "壹万万元",  # 万 twice
        "贰拾贰拾元",  # units out of order
        "壹佰零伍拾元",  # 零 between adjacent places
        "人民币壹万硅仟元整",  # an OCR misreading: no reading rather than a wrong one
        "元整",
        "12,345.60",
    ],
)
def test_malformed_capital_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_capital_amount(text)


def test_generator_capital_amounts_round_trip_through_the_independent_parser() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        cents = rng.choice([rng.randint(0, 10**6), rng.randint(0, 10**11), rng.randint(0, 9) * 10 ** rng.randint(0, 9)])
        amount = Decimal(cents) / 100
        assert parse_capital_amount(zh.capital_amount(amount)) == amount, zh.capital_amount(amount)


def test_money_fields_read_capital_amounts_and_cjk_dates_and_currency() -> None:
    assert parse_money("人民币壹仟零伍拾元叁角").amount == Decimal("1050.30")
    assert parse_money("人民币壹仟零伍拾元叁角").currency == "CNY"
    assert parse_date("2026年3月5日").value == date(2026, 3, 5)
    assert parse_date("2026 年 12 月 25 日").value == date(2026, 12, 25)
    assert not parse_date("2026年3月5日").ambiguous
    assert normalise_currency("人民币") == "CNY" and normalise_currency("RMB") == "CNY"
    assert join_cjk("中 国 工商 银行 Beijing branch") == "中国工商银行 Beijing branch"


# ------------------------------------------------------------------------------------------ generator
def test_generator_is_deterministic_and_its_identifiers_pass_their_checks() -> None:
    first = [zh.make_application(random.Random(seed), seed) for seed in range(20)]
    again = [zh.make_application(random.Random(seed), seed) for seed in range(20)]
    assert first == again
    assert len({app.id_number for app in first}) == 20
    for app in first:
        assert is_valid_gb11643(app.id_number)
        assert is_valid_luhn(app.payee_account) and 16 <= len(app.payee_account) <= 19
        assert app.date_of_loss < app.signature_date
        assert parse_capital_amount(zh.printed_values(app)["amount_in_words"]) == app.amount_claimed
    broken = first[0].id_number[:17] + ("0" if first[0].id_number[17] != "0" else "1")
    assert not is_valid_gb11643(broken)
    assert {app.bilingual for app in first} == {True, False} and {app.cjk_dates for app in first} == {True, False}


@needs_font
def test_wrapped_descriptions_never_start_a_line_with_a_closing_mark() -> None:
    pdf = zh.new_pdf()
    pdf.add_page()
    pdf.set_font(zh.FONT, "", 10.5)  # as draw_application_page sets it for values
    for count in range(10, 90):
        text = "车" * count + "。"
        lines = zh._wrap(pdf, text)
        assert "".join(lines) == text
        assert not any(line[0] in "。，、；" for line in lines[1:]), count


def test_text_pdf_is_byte_identical_for_the_same_application() -> None:
    app = zh.make_application(random.Random(3), 3)
    assert zh.render_application_pdf(app) == zh.render_application_pdf(app)
    other = zh.make_application(random.Random(4), 4)
    assert zh.render_application_pdf(app) != zh.render_application_pdf(other)


def _plain(field: Field) -> str:
    value = field.value
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@needs_font
@pytest.mark.parametrize("seed", [0, 2, 3])  # Chinese-only and bilingual labels, both date styles
def test_text_pdf_round_trip(tmp_path: Path, specs, seed: int) -> None:  # type: ignore[no-untyped-def]
    app = zh.make_application(random.Random(seed), seed)
    path = tmp_path / "application.pdf"
    path.write_bytes(zh.render_application_pdf(app))
    (part,) = extract_documents(read_document(path, sniff_file(path), TesseractOcr()), specs)
    assert part.document_type == "claim_application_zh"
    truth = zh.truth_fields(app)
    got = {name: _plain(field) for name, field in part.fields.items()}
    assert got == truth
    for name in REQUIRED_FIELDS["claim_application_zh"]:
        assert part.fields[name].confidence >= 0.9, name
    assert part.fields["currency"].value == "CNY"
    assert not part.problems


# ------------------------------------------------------------------------------------------ spec
def test_figures_and_words_agreeing_raise_confidence_and_disagreeing_lower_it(specs) -> None:  # type: ignore[no-untyped-def]
    spec = specs.get("claim_application_zh")
    where = Provenance(ReadMethod.OCR, page=1, bbox=(0.1, 0.1, 0.2, 0.12))

    def fields(words_amount: str) -> dict[str, Field]:
        return {
            "amount_claimed": Field("amount_claimed", Money(Decimal("12345.60"), "CNY"), 0.8, where),
            "amount_in_words": Field("amount_in_words", Money(Decimal(words_amount), "CNY"), 0.7, where),
        }

    agreeing = fields("12345.60")
    assert apply_checks(agreeing, spec) == []
    assert agreeing["amount_claimed"].confidence == pytest.approx(0.94)  # 1 - 0.2 * 0.3
    disagreeing = fields("12345.00")
    problems = apply_checks(disagreeing, spec)
    assert [p.code for p in problems] == [ReasonCode.AMOUNTS_INCONSISTENT]
    assert disagreeing["amount_claimed"].confidence <= DISAGREE_CAP
    assert disagreeing["amount_in_words"].confidence <= DISAGREE_CAP


@pytest.mark.parametrize(
    ("amount", "fits"),
    [
        ("40124.88", 3),  # 下 抽 制 unreadable, the rest fits
        ("50124.88", None),  # 肆 was read: 5 does not fit
        ("4124.88", None),  # 万 was read: the structure does not fit
        ("40124.00", None),  # 角 and 分 were read: an amount with cents
    ],
)
def test_a_partly_unreadable_capital_amount_fits_only_figures_it_can_say(amount: str, fits: int | None) -> None:
    assert unread_fits("人 民 币 肆 万 零 壹 佰 下 拾 肆 元 抽 角 制 分", Decimal(amount)) == fits


def test_a_fully_read_or_mostly_unreadable_capital_amount_is_not_filled() -> None:
    assert unread_fits("人民币肆万零壹佰贰拾肆元捌角捌分", Decimal("40124.88")) is None  # the strict parser decides
    assert unread_fits("人民币肆下下下下下元", Decimal("40000")) is None  # too much unreadable
    assert unread_fits("人 民 币 吉 万 陆 什 参 佰 业 拾 陆 元 喜 角 陆 分", Decimal("16376.16")) == 4  # 什 for 仟


def test_the_engine_writes_capital_amounts_as_forms_do() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        amount = Decimal(rng.randint(0, 10 ** rng.randint(1, 13))) / 100
        written = write_capital_amount(amount)
        assert written == zh.capital_amount(amount)  # the generator's independent writer
        assert parse_capital_amount(written) == amount.quantize(Decimal("0.01"))
    assert write_capital_amount(Decimal("10050")) == "壹万零伍拾元整"
    assert capital_writings(Decimal("15.50")) == ["壹拾伍元伍角整", "壹拾伍元伍角", "拾伍元伍角整", "拾伍元伍角"]


@pytest.mark.parametrize(
    ("raw", "amount", "fits"),
    [
        ("人民币过万制什参佰贰拾下元整", "18322.00", 4),  # 壹 捌 仟 贰 misread: 4 of 11, too many to try
        ("人民币吉万陆什零健抬玖元玖角束", "16049.90", 5),  # 5 of 12, 整 after 角
        ("人民币哇什喜佰融拾玖元整", "4129.00", 4),
        ("; 人民币肆万参什肆佰伍拾参元类角峙分", "43453.74", 3),  # the label's colon read as ;
        ("人民币过万制什参佰贰拾下元整", "18422.00", None),  # 参 (3) was read where 4 is written
        ("人民币过万制什参佰贰拾下元整", "118322.00", None),  # another length: other places
        ("人民币过万制什下下贰拾下元整", "18322.00", None),  # 6 of 11 unreadable: less than half read
    ],
)
def test_a_capital_amount_misread_in_many_places_fits_figures_written_over_it(
    raw: str, amount: str, fits: int | None
) -> None:
    assert unread_fits(raw, Decimal(amount)) == fits


def _zh_page(words_line: str) -> Page:
    lines = ["理赔 申请 书", "申请金额(小写) Amount: 40,124.88 元", f"申请金额(大写) In Words: {words_line}"]
    words: list[Word] = []
    for number, text in enumerate(lines, start=1):
        for index, token in enumerate(text.split()):
            top = 0.1 * number
            words.append(Word(token, (0.05 + 0.06 * index, top, 0.1 + 0.06 * index, top + 0.02), 0.9, 1, number))
    return Page(1, 1000, 1400, ReadMethod.OCR, words)


def test_words_read_in_part_take_the_figures_not_confident_and_flagged(specs) -> None:  # type: ignore[no-untyped-def]
    page = _zh_page("人 民 币 肆 万 零 壹 佰 下 拾 肆 元 抽 角 制 分")
    part = extract_documents(ReadDocument(pages=[page]), specs)[0]
    words = part.fields["amount_in_words"]
    assert words.value == Money(Decimal("40124.88"), "CNY")
    assert words.confidence == UNREAD_FILL_CONFIDENCE
    assert part.fields["amount_claimed"].confidence < 0.95  # a filled value vouches for nothing
    assert any(p.field == "amount_in_words" and p.code is ReasonCode.FIELD_AMBIGUOUS for p in part.problems)
    page = _zh_page("人 民 币 伍 万 零 壹 佰 下 拾 肆 元 抽 角 制 分")
    misread = extract_documents(ReadDocument(pages=[page]), specs)[0]
    assert "amount_in_words" not in misread.fields


def test_figures_that_words_read_in_part_cannot_say_are_not_confident(specs) -> None:  # type: ignore[no-untyped-def]
    # the figures' decimal point lost (40,124.88 read 4012488.00); the words, read in part, fit 40124.88 only
    page = _zh_page("人 民 币 肆 万 零 壹 佰 下 拾 肆 元 抽 角 制 分")
    page.words[:] = [
        dataclasses.replace(w, text="4012488.00", confidence=0.96) if w.text == "40,124.88" else w for w in page.words
    ]
    part = extract_documents(ReadDocument(pages=[page]), specs)[0]
    figures = part.fields["amount_claimed"]
    assert figures.value == Money(Decimal("4012488.00"), "CNY")
    assert figures.confidence <= DISAGREE_CAP
    assert "amount_in_words" not in part.fields
    assert any(p.field == "amount_claimed" and p.code is ReasonCode.AMOUNTS_INCONSISTENT for p in part.problems)
    # words mostly unreadable say nothing either way: the figures keep their confidence
    page = _zh_page("人 民 币 下 下 下 下 下 下 下 元 抽 角 制 分")
    page.words[:] = [
        dataclasses.replace(w, text="4012488.00", confidence=0.96) if w.text == "40,124.88" else w for w in page.words
    ]
    assert extract_documents(ReadDocument(pages=[page]), specs)[0].fields["amount_claimed"].confidence > DISAGREE_CAP


def _write_spec(folder: Path, languages: str) -> None:
    folder.mkdir()
    (folder / "zh.yml").write_text(
        "document_type: zh_form\nversion: 1\nocr:\n  languages: " + languages + "\n"
        "fields:\n  policy_number:\n    anchors: ['保单号']\n",
        encoding="utf-8",
    )


def test_spec_languages_must_be_installed(tmp_path: Path) -> None:
    _write_spec(tmp_path / "a", "[eng, chi_sim]")
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path / "a", installed_languages={"eng", "osd"})
    message = str(caught.value)
    assert "zh.yml:4: ocr.languages[1]" in message
    assert "tesseract-ocr-chi-sim" in message
    assert load_specs(tmp_path / "a", installed_languages={"eng", "chi_sim"}).ocr_languages() == ("eng", "chi_sim")


def test_spec_language_typos_are_named(tmp_path: Path) -> None:
    _write_spec(tmp_path / "b", "[chi-sim]")
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path / "b", installed_languages={"eng", "chi_sim"})
    assert "'chi-sim' is not a tesseract language name (fix: did you mean 'chi_sim'?)" in str(caught.value)


# ------------------------------------------------------------------------------------------ CJK layout
def _word(text: str, x0: float, x1: float, top: float = 0.30, bottom: float = 0.32, line: int = 1) -> Word:
    return Word(text, (x0, top, x1, bottom), 0.9, block=1, line=line)


def test_chinese_labels_match_across_ocr_spaces() -> None:
    page = Page(1, 1000, 1400, ReadMethod.OCR, words=[
        _word("保", 0.10, 0.12), _word("单", 0.12, 0.14), _word("号", 0.14, 0.16), _word(":", 0.16, 0.17),
        _word("PDAZ202604105718", 0.40, 0.60),
    ], language="chi_sim")  # fmt: skip
    lines = build_lines(page)
    (hit,) = find_anchors(lines, "保单号", 85)
    assert (hit.start, hit.end, hit.score) == (0, 3, 100.0)
    assert not find_anchors(lines, "报案号", 85)  # one character in three differs: not this label


def test_overlapping_cjk_boxes_of_one_ocr_line_stay_one_line() -> None:
    # tesseract's chi_sim boxes `2026` over `年7月21`: on a chi_sim page they are one line, not two
    words = [_word("出险日期", 0.10, 0.20), _word("2026", 0.40, 0.55), _word("年", 0.47, 0.49), _word("7", 0.49, 0.50),
             _word("月", 0.50, 0.52), _word("21", 0.52, 0.54), _word("日", 0.545, 0.56)]  # fmt: skip
    chinese = Page(1, 1000, 1400, ReadMethod.OCR, words=list(words), language="chi_sim")
    assert [line.text for line in build_lines(chinese)] == ["出险日期 2026 年 7 月 21 日"]
    # an eng page keeps them on one line too (cmsown11: a degraded scan's `INSURED'S` boxed over `NAME (Last Name,`)
    english = Page(1, 1000, 1400, ReadMethod.OCR, words=list(words))
    assert [line.text for line in build_lines(english)] == ["出险日期 2026 年 7 月 21 日"]
    # words OCR read on different lines that overlap are still separate lines on an eng page
    apart = [dataclasses.replace(word, line=index + 1) for index, word in enumerate(words)]
    assert len(build_lines(Page(1, 1000, 1400, ReadMethod.OCR, words=apart))) > 1


# ------------------------------------------------------------------------------------------ language choice
class _ScriptEngine:
    """A fake OCR engine: English junk or Chinese words depending on the language asked for; OSD by script."""

    def __init__(self, script: str | None, languages: tuple[str, ...] = ("eng", "chi_sim")) -> None:
        self.script = script
        self.script_languages = script_languages(languages)
        self.calls: list[tuple[int, str]] = []

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        self.calls.append((psm, lang))
        if self.script == "Han" and lang == "eng":
            words = [("BURBS", 0.3), ("A:", 0.2), ("EER", 0.4), ("RES:", 0.5), ("Hi", 0.3), ("ti", 0.1)] * 4
        elif self.script == "Han":
            words = [("保单号", 0.93), ("PDAZ202604105718", 0.95), ("被保险人", 0.92), ("何伟", 0.9)] * 4
        else:
            words = [("Policy", 0.95), ("number:", 0.94), ("POL-2026-0001", 0.93), ("Claimant", 0.95)] * 4
        boxed = [Word(t, (0.05 * i % 0.9, 0.02 * i, 0.05 * i % 0.9 + 0.04, 0.02 * i + 0.015), c)
                 for i, (t, c) in enumerate(words)]  # fmt: skip
        return Page(page, image.width, image.height, ReadMethod.OCR, words=assign_lines(boxed))

    def detect_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        self.calls.append((0, "osd"))
        return Orientation(0, 5.0, self.osd_script or self.script, 1.5)

    osd_script: str | None = None


def _ink_image() -> Image.Image:
    image = Image.new("L", (1200, 1600), 255)
    image.paste(0, (100, 100, 900, 400))
    return image


def test_a_han_page_is_read_with_chi_sim_and_osd_is_asked_once() -> None:
    engine = _ScriptEngine("Han")
    page = read_scanned_page(engine, _ink_image(), lambda image: [(lambda: image, 6)], page=1, size=(595, 842))
    assert page.language == "chi_sim"
    assert [w.text for w in page.words][:2] == ["保单号", "PDAZ202604105718"]
    assert engine.calls.count((0, "osd")) == 1
    assert (6, "chi_sim") in engine.calls


def test_a_tilted_han_page_is_straightened_before_its_chinese_reading() -> None:
    image = Image.new("L", (1200, 1600), 255)
    for row in range(200, 1400, 60):  # text-like rows, then the whole page tilted by 3 degrees
        image.paste(0, (150, row, 1050, row + 20))
    tilted = image.rotate(3.0, resample=Image.Resampling.BICUBIC, fillcolor=255)
    engine = _ScriptEngine("Han")
    page = read_scanned_page(engine, tilted, lambda image: [(lambda: image, 6)], page=1, size=(595, 842))
    assert page.language == "chi_sim"
    notes = [p.message for p in page.problems if p.code is ReasonCode.PAGE_ROTATED]
    assert any("straightened" in note for note in notes), notes
    assert page.image is not tilted


def test_a_junk_reading_is_tried_in_chi_sim_when_osd_misjudges_the_script() -> None:
    engine = _ScriptEngine("Han")
    engine.osd_script = "Latin"  # OSD on a blurred, noisy Chinese page
    page = read_scanned_page(engine, _ink_image(), lambda image: [(lambda: image, 6)], page=1, size=(595, 842))
    assert page.language == "chi_sim"
    assert engine.calls.count((6, "chi_sim")) == 2  # the band that decided, then the page


def test_a_junk_english_page_pays_one_band_and_stays_english() -> None:
    class Junk(_ScriptEngine):
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            read = super().ocr_image(image, page=page, psm=psm, lang=lang)
            if lang != "eng":  # chi_sim reads an English page no better: Latin letters at low confidence
                read.words = [Word("Tota1", w.bbox, 0.3, w.block, w.line) for w in read.words]
            return read

    engine = Junk("Han")
    engine.osd_script = "Latin"
    image = _ink_image()
    page = read_scanned_page(engine, image, lambda image: [(lambda: image, 6)], page=1, size=(595, 842))
    assert page.language == "eng"
    assert engine.calls.count((6, "chi_sim")) == 1


def test_a_latin_page_costs_nothing_extra_and_stays_english() -> None:
    engine = _ScriptEngine("Latin")
    page = read_scanned_page(engine, _ink_image(), lambda image: [(lambda: image, 6)], page=1, size=(595, 842))
    assert page.language == "eng"
    assert engine.calls == [(6, "eng")]  # a good English reading: no OSD, no second language


def test_without_specs_naming_chi_sim_a_han_page_is_not_switched() -> None:
    engine = _ScriptEngine("Han", languages=("eng",))
    page = read_scanned_page(engine, _ink_image(), lambda image: [(lambda: image, 6)], page=1, size=(595, 842))
    assert page.language == "eng"
    assert all(lang in ("eng", "osd") for _, lang in engine.calls)


# ------------------------------------------------------------------------------------------ real OCR
@pytest.mark.ocr
@needs_font
def test_clean_scan_round_trip_with_chi_sim(tmp_path: Path, specs) -> None:  # type: ignore[no-untyped-def]
    app = zh.make_application(random.Random(1), 1)
    degradation = Degradation("clean", dpi=200)
    images = scan_document(zh.render_application_pdf(app), degradation, zh.markable_values(app), seed=1)
    path = tmp_path / "scan.png"
    write_scan(images, path, degradation)
    read = read_document(path, sniff_file(path), TesseractOcr(languages=specs.ocr_languages()))
    assert read.pages[0].language == "chi_sim"
    (part,) = extract_documents(read, specs)
    assert part.document_type == "claim_application_zh"
    truth = zh.truth_fields(app)
    for name in ("policy_number", "claim_number", "id_number", "date_of_loss", "amount_claimed", "payee_account",
                 "bank_name", "signature_date", "currency"):  # fmt: skip
        assert name in part.fields, name
        assert _plain(part.fields[name]) == truth[name], name
    wrong_but_confident = [
        name for name, f in part.fields.items() if f.confidence >= 0.9 and _plain(f) != truth.get(name)
    ]
    assert not wrong_but_confident


# ------------------------------------------------------------------------------------------ the engine
def test_the_form_opens_a_claim_with_its_required_fields() -> None:
    assert CLAIM_FORMS["claim_application_zh"] == "motor_cn"
    assert {"policy_number", "amount_claimed", "currency", "payee_account"} <= set(
        REQUIRED_FIELDS["claim_application_zh"]
    )


@needs_font
def test_cny_claims_flow_through_the_engine(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from claimflow.pipeline import Engine
    from claimflow.settings import load_settings

    app = dataclasses.replace(zh.make_application(random.Random(2), 2), amount_claimed=Decimal("3200.50"))
    unknown = dataclasses.replace(zh.make_application(random.Random(6), 6), amount_claimed=Decimal("900.00"))
    inbox = tmp_path / "drop"
    inbox.mkdir()
    (inbox / "application.pdf").write_bytes(zh.render_application_pdf(app))
    (inbox / "unknown_policy.pdf").write_bytes(zh.render_application_pdf(unknown))
    (inbox / "register.csv").write_text(
        "Policy Number,Policy Holder,Product,Start Date,End Date,Limit,Deductible,Currency,Status,"
        "Covered Losses,Waiting Period (days)\n"  # without these two the cover cannot be checked: review
        f"{app.policy_number},Holder,Motor Private,2026-01-01,2026-12-31,50000.00,500.00,CNY,active,all risks,0\n",
        encoding="utf-8",
    )
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox", stable_seconds=0)
    with caplog.at_level(logging.DEBUG), Engine.open(settings) as engine:
        result = engine.run([inbox], consume=False)
    claims = {c.claim_id: c for c in result.claims}
    settled = claims[app.claim_number]
    if date.today() < date(2027, 1, 1):  # rule set 2026.1: the small clean claim rule settles any claim type
        assert settled.route == "settle", settled.reasons
        assert (settled.payout, settled.currency) == (Decimal("2700.50"), "CNY")
    else:  # rule set 2027.1 settles small claims per type (motor, health, other): motor_cn goes to a person
        assert settled.route == "review" and settled.reasons
    reviewed = claims[unknown.claim_number]
    assert reviewed.route == "review"
    assert any("policy" in str(reason).lower() for reason in reviewed.reasons)
    logged = caplog.text
    for secret in (app.claimant_name, app.id_number, app.payee_account, unknown.claimant_name):
        assert secret not in logged
    assert claim_links  # the public linking function stays importable for the pipeline


def _loss_type_page(value: str) -> Page:
    words = [
        Word("理赔申请书", (0.4, 0.05, 0.6, 0.07), 0.95, 1, 1),
        Word("出险类型", (0.1, 0.2, 0.2, 0.22), 0.95, 1, 2),
        Word(":", (0.21, 0.2, 0.22, 0.22), 0.9, 1, 2),
        Word(value, (0.4, 0.2, 0.45, 0.22), 0.92, 1, 2),
    ]
    return Page(1, 1000, 1400, ReadMethod.OCR, words)


@pytest.mark.parametrize(
    ("read", "value", "flagged"),
    [
        ("盗抢", "盗抢", False),
        ("咨抢", "盗抢", True),
        ("碰憧", "碰撞", True),
        ("洪水", "洪水", True),  # no allowed value keeps a character: invalid, kept as read
        ("盗", "盗", True),
    ],
)
def test_a_cjk_allowed_value_with_one_character_misread_is_named_and_flagged(specs, read, value, flagged) -> None:  # type: ignore[no-untyped-def]
    # chi_sim reads 盗 as 咨: half of a two-character value in place names the one allowed value that has it
    part = extract_documents(ReadDocument(pages=[_loss_type_page(read)]), specs)[0]
    loss_type = part.fields["loss_type"]
    assert loss_type.value == value
    assert any(p.field == "loss_type" for p in part.problems) is flagged
    clean = extract_documents(ReadDocument(pages=[_loss_type_page("盗抢")]), specs)[0].fields["loss_type"]
    assert (loss_type.confidence < clean.confidence) is flagged


def test_a_cjk_reading_like_two_allowed_values_names_neither(specs) -> None:  # type: ignore[no-untyped-def]
    # equal shares in place name no value; a longer value keeps more of its characters (3 of 4)
    from claimflow.extract_values import _canonical_cjk

    assert _canonical_cjk("火抢", ["火灾", "盗抢"]).error is not None
    assert _canonical_cjk("玻璃破X", ["玻璃破碎", "自然灾害"]).value == "玻璃破碎"


@pytest.mark.parametrize(
    ("read", "fits"),
    [("PDZZ202658505786", True), ("Z202658505786", False), ("160339", False), ("10590003900175862458", True)],
)
def test_a_policy_number_not_of_the_forms_shape_is_kept_below_auto_accept(specs, read, fits) -> None:  # type: ignore[no-untyped-def]
    # a stamp over the prefix: `Z202658505786` for PDZZ202658505786 was read at 0.96 calibrated (threshold 0.98)
    words = [
        Word("理赔申请书", (0.4, 0.05, 0.6, 0.07), 0.95, 1, 1),
        Word("保单号", (0.1, 0.2, 0.2, 0.22), 0.96, 1, 2),
        Word(":", (0.21, 0.2, 0.22, 0.22), 0.9, 1, 2),
        Word(read, (0.4, 0.2, 0.6, 0.22), 0.96, 1, 2),
    ]
    part = extract_documents(ReadDocument(pages=[Page(1, 1000, 1400, ReadMethod.OCR, words)]), specs)[0]
    policy = part.fields["policy_number"]
    assert policy.value == read
    invalid = [p for p in part.problems if p.field == "policy_number" and p.code is ReasonCode.FIELD_INVALID]
    assert bool(invalid) is not fits
    assert (policy.confidence < 0.5) is not fits
