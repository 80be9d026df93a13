"""Weak codes read again alone at several sizes: the majority replaces the page's reading, nothing else does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract import extract_document
from claimflow.extract_words import (
    MISSING_CODE_CONFIDENCE,
    RIVAL_CAP,
    WORD_SCALES,
    carried,
    check_twin_codes,
    code_like,
    code_read,
    doubtful_codes,
    majority_code,
    majority_word,
    marks_apart,
    marks_dropped,
    pieced,
    read_codes_alone,
    read_missing_codes,
    read_text_words_alone,
    rival_code,
    second_reader,
    second_reads_alike,
    sure_twin_codes,
    weak_text_words,
)
from claimflow.models import BBox, Extraction, Field, Page, Problem, Provenance, ReadDocument, ReadMethod, Word
from claimflow.readers.marks import PageMarks
from claimflow.readers.paddle_rec import Reading, RecognizerMissing
from claimflow.second_looks import DEFAULT_LOOKS, CodesLook, LookContext, MissingCodesLook, SharedOcr
from claimflow.settings import SECOND_LOOK_THRESHOLD
from claimflow.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
SPECS = load_specs(ROOT / "extractors")


class FakeLook:
    """Answers re-reads from a list and records the scales and models asked for."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.scales: list[Sequence[float] | None] = []
        self.models: list[str] = []
        self.boxes: list[BBox] = []

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        self.scales.append(scales)
        self.models.append(lang)
        self.boxes.extend(boxes)
        return self.texts[: len(boxes)]


def _receipt(
    value: str, confidence: float, method: ReadMethod = ReadMethod.OCR, word: float = 0.3
) -> tuple[ReadDocument, Extraction]:
    page = Page(1, 630, 920, method, [Word(value, (0.32, 0.29, 0.46, 0.30), word, 1, 1)], image=object())
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


def test_without_a_majority_the_page_reading_stays_doubted_by_a_rival_reading() -> None:
    read, part = _receipt("1560426", 0.3)
    read_codes_alone(read, [part], SPECS, FakeLook(["", "", "T560426", "1560426"]), threshold=0.97)
    assert part.fields["invoice_number"].value == "1560426"
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]  # T560426 was read alone once
    # seed 13's till code `7941540` for `T941540` at 0.984: two readings alone agree with the page, one reads T
    read, part = _receipt("7941540", 0.9)
    read_codes_alone(read, [part], SPECS, FakeLook(["", "7941540", "7941540", "T94 1540"]), threshold=0.99)
    assert (part.fields["invoice_number"].value, part.fields["invoice_number"].confidence) == ("7941540", RIVAL_CAP)
    # every reading gives the page's code (or nothing): nothing changes
    read, part = _receipt("7941540", 0.9)
    read_codes_alone(read, [part], SPECS, FakeLook(["", "7941540", "7941540", "7941540"]), threshold=0.99)
    assert part.fields["invoice_number"].confidence == 0.9 and not part.problems


def test_a_confident_code_or_a_text_layer_code_is_not_read_again() -> None:
    look = FakeLook(["T794326"] * 4)
    read, part = _receipt("1794326", 0.995, word=0.96)  # tesseract sure of its word
    assert read_codes_alone(read, [part], SPECS, look, threshold=0.97) == 0
    read, part = _receipt("R794326", 0.995)  # no leading digit a capital is read as
    assert read_codes_alone(read, [part], SPECS, look, threshold=0.97) == 0
    read, part = _receipt("1794326", 0.3, ReadMethod.TEXT_LAYER)
    assert read_codes_alone(read, [part], SPECS, look, threshold=0.97) == 0
    assert part.fields["invoice_number"].value == "1794326" and look.scales == []


def test_a_confident_code_starting_with_a_capitals_digit_twin_read_unsure_is_checked_alone() -> None:
    # seed 15's handwriting-like `T711162` read `7711162` at 0.98 calibrated (word 0.91); read alone, one size read
    # `1711162`: no majority, a rival code, so the value stays but below auto-accept
    read, part = _receipt("7711162", 0.995, word=0.91)
    pages = {1: read.pages[0]}
    assert doubtful_codes(part, SPECS, 0.97, pages) == ["invoice_number"]
    assert read_codes_alone(read, [part], SPECS, FakeLook(["1711162", "7711162", "7711162", "7711162"]), threshold=0.97)
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("7711162", RIVAL_CAP)
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]
    # a majority for the letter: taken, and below auto-accept too (it was confident on the page's reading)
    read, part = _receipt("7711162", 0.995, word=0.91)
    read_codes_alone(read, [part], SPECS, FakeLook(["7711162", "T711162", "T711162", "T711162"]), threshold=0.97)
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("T711162", RIVAL_CAP)
    # every reading alone agrees with the page: it stays confident
    read, part = _receipt("7711162", 0.995, word=0.91)
    read_codes_alone(read, [part], SPECS, FakeLook(["7711162"] * 4), threshold=0.97)
    assert part.fields["invoice_number"].confidence == 0.995 and not part.problems


def test_the_codes_look_checks_doubtful_confident_codes_as_a_safety_check() -> None:
    image = Image.new("L", (630, 920), 255)
    read, part = _receipt("7711162", 0.995, word=0.91)
    read.pages[0].image = image
    ctx = LookContext(read, [part], SPECS, SharedOcr(_NoOcr()), 0.97, budget=0)
    [request] = CodesLook().propose(ctx)
    # one tesseract call (the four sizes) and one reading by the second recognizer
    assert request.fields == ("invoice_number",) and request.safety and request.calls == 2
    # tesseract sure of its word: only the second recognizer reads it (and, if it doubts it, tesseract alone once)
    read, part = _receipt("7711162", 0.995, word=0.96)
    read.pages[0].image = image
    [request] = CodesLook().propose(LookContext(read, [part], SPECS, SharedOcr(_NoOcr()), 0.97, budget=0))
    assert request.fields == ("invoice_number",) and request.safety and request.calls == 2
    read, part = _receipt("R711162", 0.995, word=0.96)  # no leading digit a capital is read as
    read.pages[0].image = image
    assert CodesLook().propose(LookContext(read, [part], SPECS, SharedOcr(_NoOcr()), 0.97, budget=0)) == []


def test_a_sure_code_the_second_recognizer_reads_with_its_leading_letter_is_doubted() -> None:
    # full seed 29 receipt 014 degraded: an italic `T664754` read `1664754` at word confidence 0.95 (0.993
    # calibrated); PP-OCR reads `T664754`: the page's code stays, below auto-accept, flagged
    read, part = _receipt("1664754", 0.995, word=0.95)
    pages = {1: read.pages[0]}
    assert doubtful_codes(part, SPECS, 0.97, pages) == [] and sure_twin_codes(part, SPECS, 0.97, pages) == [
        "invoice_number"
    ]
    second = FakeSecond(["T664754"])
    check_twin_codes(read, [part], SPECS, threshold=0.97, only=["invoice_number"], second=second)
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("1664754", RIVAL_CAP) and len(second.boxes) == 1
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]
    # it reads the page's code, another code, or nothing: nothing changes
    for other in ("1664754", "T664755", "", "I664754 X"):
        read, part = _receipt("1664754", 0.995, word=0.95)
        check_twin_codes(read, [part], SPECS, threshold=0.97, only=["invoice_number"], second=FakeSecond([other]))
        assert part.fields["invoice_number"].confidence == 0.995 and not part.problems
    # a code not starting with a digit twin, or one already below the threshold, is not asked
    read, part = _receipt("R664754", 0.995, word=0.95)
    assert sure_twin_codes(part, SPECS, 0.97, {1: read.pages[0]}) == []
    read, part = _receipt("1664754", 0.5, word=0.95)
    assert sure_twin_codes(part, SPECS, 0.97, {1: read.pages[0]}) == []


class _NoOcr:
    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        return Page(page, image.width, image.height, ReadMethod.OCR, [])


def test_the_majority_must_fit_the_fields_pattern() -> None:
    spec = SPECS.specs["receipt"].fields["invoice_number"]
    assert majority_code(["T794326", "t794326", "T794326", "1794326"], spec) == "T794326"
    assert majority_code(["T7<94326", "T7<94326", "T7<94326", "T794326"], spec) is None  # `<` is no code character
    assert majority_code(["T794326", "T794326", "1794326", "1794326"], spec) is None
    # a size that read nothing does not vote: two of the three readings that read something decide
    assert majority_code(["", "T794326", "T794326", "1794326"], spec) == "T794326"
    assert majority_code(["T794326", "T794326", "1794326", "7794326"], spec) is None  # two of four is no majority


def test_two_readings_alone_put_back_a_leading_letter_the_page_read_as_its_digit_twin() -> None:
    # seed 17 receipt 002 clean: the page read `1119027`; alone `T119027` twice, `1119027`, `TLLYO2` (3x: thin print)
    spec = SPECS.specs["receipt"].fields["invoice_number"]
    texts = ["T119027", "T119027", "1119027", "TLLYO2"]
    assert majority_code(texts, spec, page_value="1119027") == "T119027"
    assert majority_code(texts, spec) is None  # without the page's reading two of four stay no majority
    # not when another code has as many readings, nor for a change other than the leading letter
    assert majority_code(["T119027", "T119027", "1119027", "1119027"], spec, page_value="1119027") is None
    assert majority_code(["T119027", "T119027", "T119O27", "X"], spec, page_value="7119021") is None


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


def _stamped_application(language: str = "chi_sim") -> tuple[ReadDocument, Extraction]:
    """A 理赔申请书 page whose policy number chi_sim read as garbage under a stamp."""
    texts = ["保单", "号", ":", "P", "股", "扣", "0E9D"]
    xs = [0.07, 0.11, 0.13, 0.38, 0.40, 0.43, 0.46]
    words = [Word(t, (x, 0.16, x + 0.03, 0.175), 0.9, 1, 1) for t, x in zip(texts, xs, strict=True)]
    page = Page(1, 1241, 1754, ReadMethod.OCR, words, image=object(), language=language)
    missing = Problem(ReasonCode.FIELD_MISSING, "required field policy_number not found", field="policy_number")
    return ReadDocument(pages=[page]), Extraction("claim_application_zh", 1.0, problems=[missing])


def test_a_missing_latin_code_on_a_chinese_page_is_read_with_eng_beside_its_label_not_confident() -> None:
    read, part = _stamped_application()
    look = FakeLook(["PDZA202629345026"])
    assert read_missing_codes(read, [part], SPECS, look) == 1
    assert look.models == ["eng"]
    box = look.boxes[0]
    assert 0.13 <= box[0] < 0.38 and box[2] >= 0.49 and box[1] < 0.16 < 0.175 < box[3]  # the row right of 保单号
    field = part.fields["policy_number"]
    assert (field.value, field.confidence) == ("PDZA202629345026", MISSING_CODE_CONFIDENCE)
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]  # no longer missing, but to check


def test_a_missing_code_stays_missing_when_the_other_model_reads_no_code_or_the_page_had_that_model() -> None:
    read, part = _stamped_application()
    read_missing_codes(read, [part], SPECS, FakeLook(["P 股 扣"]))
    assert "policy_number" not in part.fields and part.problems[0].code is ReasonCode.FIELD_MISSING
    read, part = _stamped_application("chi_sim+eng")
    look = FakeLook(["PDZA202629345026"])
    assert read_missing_codes(read, [part], SPECS, look) == 0 and "policy_number" not in part.fields


def test_the_second_look_plan_asks_for_weak_and_missing_codes_only() -> None:
    class NoOcr:
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            raise AssertionError("proposing reads nothing")

    assert CodesLook in DEFAULT_LOOKS and MissingCodesLook in DEFAULT_LOOKS
    read, part = _receipt("1794326", 0.3)
    read.pages[0].image = Image.new("L", (630, 920), 255)
    ctx = LookContext(read, [part], SPECS, SharedOcr(NoOcr()), 0.98, 10)
    asked = CodesLook().propose(ctx)
    assert [(r.fields, r.calls, r.what) for r in asked] == [(("invoice_number",), 2, "words")]
    assert MissingCodesLook().propose(ctx) == []  # receipts name no confirming model
    # confident, and no leading digit a capital is read as (those are checked: the test above)
    confident = dataclasses.replace(part.fields["invoice_number"], value="R794326", raw="R794326", confidence=0.999)
    part.fields["invoice_number"] = confident
    assert CodesLook().propose(ctx) == []
    read, zh_part = _stamped_application()
    read.pages[0].image = Image.new("L", (1241, 1754), 255)
    ctx = LookContext(read, [zh_part], SPECS, SharedOcr(NoOcr()), 0.98, 10)
    asked = MissingCodesLook().propose(ctx)
    assert len(asked) == 1 and {"policy_number", "claim_number"} <= set(asked[0].fields)


def test_a_code_split_at_a_space_is_read_alone_with_the_piece_after_it() -> None:
    from claimflow.extract_words import with_glued_words

    label = Word("number:", (0.146, 0.152, 0.205, 0.165), 0.96, block=1, line=3)
    code = Word("MP-2026-8661", (0.406, 0.152, 0.523, 0.165), 0.92, block=1, line=3)
    piece = Word("12", (0.529, 0.152, 0.547, 0.165), 0.95, block=1, line=3)
    far = Word("99", (0.70, 0.152, 0.72, 0.165), 0.95, block=1, line=3)
    page = Page(1, 1240, 1754, ReadMethod.OCR, [label, code, piece, far])
    assert with_glued_words(page, code.bbox) == (0.406, 0.152, 0.547, 0.165)  # `12` a space away; `99` is not
    words = Word("Ltd", (0.529, 0.152, 0.56, 0.165), 0.95, block=1, line=3)  # a word, not a piece of a code
    assert with_glued_words(Page(1, 1240, 1754, ReadMethod.OCR, [label, code, words]), code.bbox) == code.bbox


def test_a_code_split_at_a_space_is_read_alone_with_the_piece_before_it_when_that_holds_a_digit() -> None:
    from claimflow.extract_words import with_glued_words

    # seed 23 motor 003 clean and degraded: `MP-2026-81` `1384`, the field took `1384` at 0.96
    label = Word("number:", (0.146, 0.152, 0.205, 0.165), 0.96, block=1, line=3)
    piece = Word("MP-2026-81", (0.406, 0.152, 0.500, 0.165), 0.92, block=1, line=3)
    code = Word("1384", (0.508, 0.152, 0.547, 0.165), 0.95, block=1, line=3)
    page = Page(1, 1240, 1754, ReadMethod.OCR, [label, piece, code])
    assert with_glued_words(page, code.bbox) == (0.406, 0.152, 0.547, 0.165)
    # a label in capitals before it holds no digit: not glued (`INVOICE NO` `12345`)
    caps = Word("NO", (0.470, 0.152, 0.500, 0.165), 0.92, block=1, line=3)
    assert with_glued_words(Page(1, 1240, 1754, ReadMethod.OCR, [label, caps, code]), code.bbox) == code.bbox


def test_a_missing_code_whose_line_holds_only_the_labels_colon_is_looked_for_across_the_row() -> None:
    # chi_sim read nothing of `RDBA202600232693` beside 报案号 but a speck as `;`: the row reaches past it
    texts = ["报案", "号", ";"]
    xs = [0.07, 0.11, 0.155]
    words = [Word(t, (x, 0.20, x + 0.03, 0.215), 0.9, 1, 1) for t, x in zip(texts, xs, strict=True)]
    page = Page(1, 1241, 1754, ReadMethod.OCR, words, image=object(), language="chi_sim")
    part = Extraction("claim_application_zh", 1.0)
    look = FakeLook(["RDBA202600232693"])
    read_missing_codes(ReadDocument(pages=[page]), [part], SPECS, look, only=["claim_number"])
    box = look.boxes[0]
    assert box[0] < 0.16 and box[2] >= 0.5  # past the `;`, across the row where the value is printed
    assert part.fields["claim_number"].value == "RDBA202600232693"
    assert part.fields["claim_number"].confidence == MISSING_CODE_CONFIDENCE


def test_a_missing_code_is_not_the_code_of_the_row_above_and_two_codes_are_ambiguous() -> None:
    # a skewed row: the box right of 报案号 reaches the policy number of the row above
    read, part = _stamped_application()
    part.fields["policy_number"] = Field(
        "policy_number", "PB2A202629345026", 0.5, Provenance(ReadMethod.OCR, 1, (0.3, 0.15, 0.5, 0.17)), "PB2A"
    )
    texts = ["报案", "号", ";"]
    words = [Word(t, (x, 0.20, x + 0.03, 0.215), 0.9, 1, 2) for t, x in zip(texts, [0.07, 0.11, 0.155], strict=True)]
    read.pages[0].words.extend(words)
    look = FakeLook(["5B: 2: ae eS PDZA2U2629345026_ RDBA202600232693 »"])
    read_missing_codes(read, [part], SPECS, look, only=["claim_number"])
    assert part.fields["claim_number"].value == "RDBA202600232693"
    read, part = _stamped_application()
    read_missing_codes(read, [part], SPECS, FakeLook(["PDZA202629345026 RDBA202600232693"]), only=["policy_number"])
    assert "policy_number" not in part.fields  # two codes in one row: which is it? a person types it


def test_a_missing_code_failing_its_check_digit_is_not_taken() -> None:
    texts = ["身份", "证", "号", ":"]
    xs = [0.07, 0.11, 0.13, 0.155]
    words = [Word(t, (x, 0.20, x + 0.02, 0.215), 0.9, 1, 1) for t, x in zip(texts, xs, strict=True)]
    page = Page(1, 1241, 1754, ReadMethod.OCR, words, image=object(), language="chi_sim")
    part = Extraction("claim_application_zh", 1.0)
    read_missing_codes(ReadDocument(pages=[page]), [part], SPECS, FakeLook(["330106197904149274"]), only=["id_number"])
    assert "id_number" not in part.fields  # GB 11643 check character does not match: a misreading
    read_missing_codes(ReadDocument(pages=[page]), [part], SPECS, FakeLook(["330106197904149273"]), only=["id_number"])
    assert part.fields["id_number"].value == "330106197904149273"
    assert part.fields["id_number"].confidence == MISSING_CODE_CONFIDENCE


def test_a_reading_alone_gives_the_one_code_beside_a_label_or_an_edge_mark() -> None:
    spec = SPECS.specs["invoice"].fields["invoice_number"]
    # the page glued the code to its label (`No:!NV-48334`): its box read alone holds the label too
    assert code_read("No: INV-48334", spec) == "INV-48334"
    assert code_read("| #: INV-48597", spec) == "INV-48597"
    assert code_read("-INV-48790", spec) == "INV-48790"
    assert code_read("CLM-2026-1 68016", spec) == "CLM-2026-168016"  # the whole reading first, spaces dropped
    # a piece of the code split off, two codes, or a mark inside the code: no code
    assert code_read("INV-483 34", spec) == "INV-48334" and code_read("No: INV-483 3x4", spec) == ""
    assert code_read("No: INV-48334 2", spec) == ""  # a digit beside it may be a piece of it
    assert code_read("T7<94326", SPECS.specs["receipt"].fields["invoice_number"]) == ""
    assert majority_code(["", "No: INV-48790", "-INV-48790", "INV-48790"], spec) == "INV-48790"
    assert majority_code(["", "", "#: INV-48597", "| #: INV-48597"], spec) == "INV-48597"
    assert rival_code(["", "No: INV-48334", "", ""], spec, "NV-48334") == "INV-48334"


def _till_postcode(word: str, confidence: float) -> tuple[ReadDocument, Extraction]:
    """A receipt whose postcode's inward code was read `word` at `confidence` in its line."""
    rows = [
        "Station Pharmacy & Co",
        "Unit 23, 150 Mill Lane",
        f"Bristol BS2 {word}",
        "VAT Reg No: GB 1234567",
        "RECEIPT",
        "Receipt No: 357025",  # no digit a capital is read as (sure_twin_codes)
        "TOTAL £ 68.24",
    ]
    words = []
    for index, line in enumerate(rows):
        left, top = 0.1, 0.04 + index * 0.03
        for token in line.split():
            weak = token == word
            words.append(
                Word(token, (left, top, left + 0.02 * len(token), top + 0.014), confidence if weak else 0.96, 1, index)
            )
            left += 0.02 * len(token) + 0.02
    read = ReadDocument(pages=[Page(1, 600, 1200, ReadMethod.OCR, words, image=object())])
    return read, extract_document(read, SPECS, "receipt")


def test_weak_words_of_a_reread_word_text_field_take_what_most_readings_alone_say() -> None:
    # the engine asks the looks for fields calibrated below the second-look gate (0.99), above the threshold (0.98):
    # a field whose one weak word is at 0.88 calibrates to about 0.98, at the threshold's edge, so the gate is used
    gate = SECOND_LOOK_THRESHOLD
    read, part = _till_postcode("23QxX", 0.49)
    before = part.fields["issuer_address"]
    assert before.value == "Unit 23, 150 Mill Lane, Bristol BS2 23QXX"
    pages = {1: read.pages[0]}
    assert [w.text for w in weak_text_words(part, SPECS, gate, pages)["issuer_address"]] == ["23QxX"]
    look = FakeLook(["230X", "23QX", "23QX", "23QX"])
    assert read_text_words_alone(read, [part], SPECS, look, threshold=gate) == 1
    assert look.scales == [list(WORD_SCALES)]
    after = part.fields["issuer_address"]
    assert after.value == "Unit 23, 150 Mill Lane, Bristol BS2 23QX"
    assert after.confidence <= before.confidence
    assert ReasonCode.FIELD_AMBIGUOUS in [p.code for p in part.problems if p.field == "issuer_address"]
    # no majority, or a majority for another word: the page's reading stays
    for texts in (["230X", "23QX", "230X", "23QX"], ["Leeds", "Leeds", "Leeds", "Leeds"]):
        read, part = _till_postcode("23QxX", 0.49)
        read_text_words_alone(read, [part], SPECS, FakeLook(texts), threshold=gate)
        assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 23QXX", texts
    # a word of letters and digits read below MIXED_TEXT_WORD is asked (seed 17 006 clean: `80x` at 0.88 for 8QX, read
    # `8QX` alone), one read firmly is not
    read, part = _till_postcode("23QxX", 0.88)
    assert [w.text for w in weak_text_words(part, SPECS, gate, {1: read.pages[0]})["issuer_address"]] == ["23QxX"]
    read, part = _till_postcode("23QxX", 0.96)
    assert weak_text_words(part, SPECS, gate, {1: read.pages[0]}) == {}
    # such a word takes a reading alone only with as many glyphs (seed 13 010 clean: `4Qx` at 0.84, alone `4QxX`)
    read, part = _till_postcode("23QxX", 0.88)
    read_text_words_alone(read, [part], SPECS, FakeLook(["", "23QX", "23QX", "23QX"]), threshold=gate)
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 23QXX"
    read, part = _till_postcode("230X", 0.88)
    read_text_words_alone(read, [part], SPECS, FakeLook(["", "23QX", "23QX", "23QX"]), threshold=gate)
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 23QX"


def test_only_code_like_weak_words_are_read_alone() -> None:
    # a plain word read weakly reads no better cut out of its line; a number only below WEAK_TEXT_WORD (below)
    for word, confidence in (("Bristol", 0.4), ("LANE", 0.4), ("53200,", 0.7)):
        read, part = _till_postcode(word, confidence)
        assert "issuer_address" in part.fields, word
        assert weak_text_words(part, SPECS, 0.98, {1: read.pages[0]}) == {}, word
    read, part = _till_postcode("U13/X", 0.4)
    assert [w.text for w in weak_text_words(part, SPECS, 0.98, {1: read.pages[0]})["issuer_address"]] == ["U13/X"]
    assert code_like("23QxX") and code_like("SS4C/5,PETALING") and code_like("3RD")
    assert not code_like("53200,") and not code_like("TAWAN") and not code_like("P.T.")


def test_majority_word_drops_edge_marks_and_split_readings() -> None:
    assert majority_word(["-23QX", "23QX.", "23 QX", "23QX"], "23QxX") == "23QX"
    assert majority_word(["", "23 QX", "23 QX", "23QX"], "23QxX") is None  # one single-word reading
    assert majority_word(["23QxX", "23QxX", "23QxX", "23QX"], "23QxX") is None  # the page's own reading


def test_the_codes_look_proposes_one_call_a_page_for_weak_text_words() -> None:
    read, part = _till_postcode("23QxX", 0.49)
    read.pages[0].image = Image.new("L", (600, 1200), 255)
    requests = CodesLook().propose(LookContext(read, [part], SPECS, SharedOcr(_NoOcr()), 0.98, budget=0))
    # one tesseract call for the page's weak words, and one reading of the weak word by the second recognizer
    assert [(r.fields, r.calls, r.reason, r.page) for r in requests] == [(("issuer_address",), 2, "weak", 1)]
    read, part = _till_postcode("23QX", 0.96)
    read.pages[0].image = Image.new("L", (600, 1200), 255)
    assert CodesLook().propose(LookContext(read, [part], SPECS, SharedOcr(_NoOcr()), 0.98, budget=0)) == []


def test_words_read_alone_keep_an_earlier_looks_accent() -> None:
    assert (
        carried("Hauptstrafe 150, 80331 Munchen", "Hauptstrafse 150, 80331 Munchen", "Hauptstraße 150, 80331 München")
        is None
    )  # the word read alone is no longer in the value
    assert (
        carried(
            "Unit 23, Bristol BS2 23QXX, Köln", "Unit 23, Bristol BS2 23QX, Köln", "Unit 23, Bristol BS2 23QXX, Köln"
        )
        == "Unit 23, Bristol BS2 23QX, Köln"
    )
    assert carried("a b", "a b c", "a b") is None


def test_a_leading_letter_read_alone_as_its_digit_twin_only_doubts_the_code() -> None:
    # seed 17 018: the page read `T240816` (0.54); three readings alone `7240816`
    read, part = _receipt("T240816", 0.3)
    read_codes_alone(read, [part], SPECS, FakeLook(["anes)", "“7240816 ~", "7240816 >", "7240816"]), threshold=0.97)
    assert part.fields["invoice_number"].value == "T240816"
    assert part.fields["invoice_number"].confidence <= RIVAL_CAP


class FakeSecond:
    """The second recognizer's readings, one per box asked, in order; records the boxes."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.boxes: list[BBox] = []

    def __call__(self, page: Page, box: BBox) -> str:
        self.boxes.append(box)
        return self.texts.pop(0) if self.texts else ""


def test_the_second_recognizer_settles_a_word_tesseract_read_two_ways() -> None:
    # seed 19 022 clean: `190x` on the page, alone `19Qx`, `190x`, `19QX` (no majority); PP-OCR `19QX`: taken
    read, part = _till_postcode("190x", 0.18)
    second = FakeSecond(["19QX"])
    look = FakeLook(["", "19Qx", "190x", "19QX"])
    assert read_text_words_alone(read, [part], SPECS, look, threshold=0.98, second=second) == 1
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 19QX"
    assert len(second.boxes) == 1
    # seed 19 018 clean: the page's `25Qx` right, alone `250X` twice: PP-OCR reads the page's word, which stays
    read, part = _till_postcode("25Qx", 0.65)
    look = FakeLook(["", "250X", "25QX", "250X"])
    read_text_words_alone(read, [part], SPECS, look, threshold=0.98, second=FakeSecond(["25QX"]))
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 25QX"
    # without it, the majority alone wins (as before)
    read, part = _till_postcode("25Qx", 0.65)
    read_text_words_alone(read, [part], SPECS, FakeLook(["", "250X", "25QX", "250X"]), threshold=0.98)
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 250X"
    # a reading no tesseract reading shares is no vote: the page's word stays when alone readings split
    read, part = _till_postcode("190x", 0.18)
    look = FakeLook(["", "19Qx", "190x", "19OX"])
    read_text_words_alone(read, [part], SPECS, look, threshold=0.98, second=FakeSecond(["19DX"]))
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 190x"


def test_weak_words_the_second_recognizer_reads_as_the_page_are_not_read_alone() -> None:
    # PP-OCR reads the page's `25Qx` (case aside): majority_word keeps the page's word whatever tesseract reads alone,
    # so no tesseract call is made for it (speed15: 11 of the bench's 83 codes calls)
    read, part = _till_postcode("25Qx", 0.65)
    look, second = FakeLook(["", "250X", "250X", "250X"]), FakeSecond(["25QX"])
    assert read_text_words_alone(read, [part], SPECS, look, threshold=0.98, second=second) == 0
    assert look.scales == [] and len(second.boxes) == 1
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 25QX"
    # with an edge mark the page's word does not have, still the page's word
    assert second_reads_alike(",25QX.", "25Qx") and not second_reads_alike("25 QX", "25Qx")
    assert not second_reads_alike("", "25Qx") and not second_reads_alike("250X", "25Qx")
    # PP-OCR reads another word: tesseract reads it alone (and the majority decides as before)
    read, part = _till_postcode("190x", 0.18)
    look = FakeLook(["", "19Qx", "190x", "19QX"])
    assert read_text_words_alone(read, [part], SPECS, look, threshold=0.98, second=FakeSecond(["19QX"])) == 1
    assert look.scales == [list(WORD_SCALES)]


def test_majority_word_with_the_second_recognizer() -> None:
    assert majority_word(["", "19Qx", "190x", "19QX"], "190x", second="19QX") == "19QX"
    assert majority_word(["", "19Qx", "190x", "19QX"], "190x") is None
    assert majority_word(["", "250X", "25QX", "250X"], "25Qx", second="25QX") is None  # the page's own word
    assert majority_word(["", "250X", "25QX", "250X"], "25Qx", second="") == "250X"
    assert majority_word(["", "250X", "250X", "250X"], "25Qx", second="Leeds") == "250X"  # not the same word: no vote
    assert majority_word(["", "19 Qx", "190x", ""], "190x", second="19QX") is None  # no tesseract reading of it


def test_majority_word_reading_a_mark_for_a_glyph_needs_the_second_recognizer() -> None:
    # receipts14, seed 22 receipt 022 degraded: the page's `29Qx` at 0.56 read `290%` alone three times of four
    assert majority_word(["290%", "290%", "29QX", "290%"], "29Qx", second="290x") is None
    assert majority_word(["290%", "290%", "29QX", "290%"], "29Qx") is None
    assert majority_word(["290%", "290%", "29QX", "290%"], "29Qx", second="290%") == "290%"
    assert majority_word(["290X", "290X", "29QX", "290X"], "29Qx") == "290X"  # glyphs for glyphs, as before


def test_the_second_recognizer_settles_a_code_tesseract_read_two_ways() -> None:
    spec = SPECS.specs["receipt"].fields["invoice_number"]
    # seed 19 014 degraded: page `1537248`, alone `7537248`, `T537248 |`; PP-OCR `T537248`
    assert majority_code(["Bae", "1537248", "7537248", "T537248 |"], spec, page_value="1537248") is None
    texts = ["Bae", "1537248", "7537248", "T537248 |"]
    assert majority_code(texts, spec, page_value="1537248", second="T537248") == "T537248"
    # seed 19 019 degraded: a majority alone for the page's `7542464`, the 3x reading and PP-OCR `T542464`
    assert majority_code(["", "7542464", "7542464", "T542464"], spec, page_value="7542464", second="T542464") == (
        "T542464"
    )
    # PP-OCR agreeing with the page keeps it against a majority alone; a code of its own is no vote
    assert majority_code(["T794326"] * 3 + [""], spec, page_value="1794326", second="1794326") == "1794326"
    assert majority_code(["T794326"] * 3 + [""], spec, page_value="1794326", second="R794326") == "T794326"
    read, part = _receipt("1537248", 0.3)
    second = FakeSecond(["T537248"])
    read_codes_alone(read, [part], SPECS, FakeLook(texts), threshold=0.97, second=second)
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("T537248", 0.3)  # taken, its confidence not raised
    assert second.boxes == [(0.32, 0.29, 0.46, 0.30)]


def test_the_second_reader_reads_a_box_cut_out_of_the_page_and_only_plain_text() -> None:
    crops: list[Image.Image] = []

    def recognize() -> Callable[[Image.Image], Reading]:
        def read(crop: Image.Image) -> Reading:
            crops.append(crop)
            return Reading(texts.pop(0), (0.9,))

        return read

    texts = ["ＱＸ1", "量X1"]
    timed: list[float] = []
    reader = second_reader(recognize, lambda wall, cpu: timed.append(wall))
    page = Page(1, 600, 1200, ReadMethod.OCR, [], image=Image.new("L", (600, 1200), 255))
    assert reader(page, (0.1, 0.1, 0.2, 0.11)) == "QX1"  # full-width letters folded
    assert crops[0].size == (64, 16)  # 60 x 12 px and 0.15 of its height (1.8 px, whole pixels out) around it
    assert reader(page, (0.1, 0.1, 0.2, 0.11)) == ""  # a Chinese character: nothing a Latin word holds
    assert len(timed) == 2
    assert reader(dataclasses.replace(page, image=None), (0.1, 0.1, 0.2, 0.11)) == ""  # no image kept

    def missing() -> Callable[[Image.Image], Reading]:
        raise RecognizerMissing("no model")

    assert second_reader(missing)(page, (0.1, 0.1, 0.2, 0.11)) == ""


def test_a_weak_number_takes_only_what_both_recognizers_read() -> None:
    # seed 19 008 clean: `119,` read `119%,` at 0.33 in its line; alone `119,` once, PP-OCR `119,`: taken
    read, part = _till_postcode("119%,", 0.33)
    assert [w.text for w in weak_text_words(part, SPECS, 0.98, {1: read.pages[0]})["issuer_address"]] == ["119%,"]
    look = FakeLook(["119,", "SI", "5 Ml", "i Ml Be"])
    read_text_words_alone(read, [part], SPECS, look, threshold=0.98, second=FakeSecond(["119,"]))
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 119"
    # a majority alone is not enough for a number (SROIE `53200,` read `93200,` alone), nor PP-OCR alone
    for texts, second in ((["93200,"] * 4, ""), (["93200,"] * 4, "53200,"), (["", "", "", ""], "93200,")):
        read, part = _till_postcode("53200,", 0.4)
        read_text_words_alone(read, [part], SPECS, FakeLook(texts), threshold=0.98, second=FakeSecond([second]))
        assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 53200", (texts, second)
    read, part = _till_postcode("53200,", 0.4)
    look = FakeLook(["", "93200,", "53200,", "93200,"])
    read_text_words_alone(read, [part], SPECS, look, threshold=0.98, second=FakeSecond(["93200,"]))
    assert part.fields["issuer_address"].value == "Unit 23, 150 Mill Lane, Bristol BS2 93200"


def test_a_code_read_alone_a_character_short_keeps_the_pages() -> None:
    # seeds 17/19 invoices: an italic C read `>`, `?`, `"` alone (cut as edge marks) and missed by PP-OCR
    read, part = _receipt("T794326", 0.3)
    look = FakeLook([">794326", "?794326", '"794326', ">794326"])
    read_codes_alone(read, [part], SPECS, look, threshold=0.97, second=FakeSecond(["794326"]))
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("T794326", 0.3)
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]
    # a speck the page read as a 1 before the code is dropped as before (seed 19 011 degraded `1T503790`)
    read, part = _receipt("1T503790", 0.3)
    look = FakeLook(["T503790", "T503790", "T503790", "1T503790"])
    read_codes_alone(read, [part], SPECS, look, threshold=0.97, second=FakeSecond(["T503790"]))
    assert part.fields["invoice_number"].value == "T503790"


def test_a_code_the_second_recognizer_reads_that_tesseracts_readings_give_piece_by_piece_is_taken() -> None:
    spec = SPECS.specs["receipt"].fields["invoice_number"]
    # seed 17 receipt 004 clean: page `1352363`, alone `7352363`, `T3o2565`, `T302s65`, `[302565`; PP-OCR `T352363`
    texts = ["7352363", "T3o2565", "T302s65", "[302565"]
    assert majority_code(texts, spec, page_value="1352363") is None
    assert majority_code(texts, spec, page_value="1352363", second="T352363") == "T352363"
    # a character no reading gave in its place (the R) is no vote
    assert majority_code(texts, spec, page_value="1352363", second="R352363") is None
    assert pieced("T352363", ["1352363", "T3O2565"]) and not pieced("T352363", ["1352363", "T3O25"])
    assert not pieced("AB", [])


def test_a_capital_the_page_read_twice_the_second_time_small_is_dropped_when_both_recognizers_read_it_once() -> None:
    # seed 23 receipt 020 clean: the page's `CcS405080` at 0.36, every reading alone and PP-OCR `CS405080`
    def part_read(raw: str) -> tuple[ReadDocument, Extraction]:
        read, part = _receipt(raw.upper(), 0.3)
        field = part.fields["invoice_number"]
        part.fields["invoice_number"] = dataclasses.replace(field, raw=raw)
        return read, part

    read, part = part_read("CcS405080")
    read_codes_alone(read, [part], SPECS, FakeLook(["CS405080"] * 4), threshold=0.97, second=FakeSecond(["CS405080"]))
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("CS405080", 0.3)
    # without PP-OCR reading it once too, or with two capitals on the page, the page's code stays, doubted
    for raw, second in (("CcS405080", "CCS405080"), ("CCS405080", "CS405080")):
        read, part = part_read(raw)
        read_codes_alone(read, [part], SPECS, FakeLook(["CS405080"] * 4), threshold=0.97, second=FakeSecond([second]))
        assert part.fields["invoice_number"].value == "CCS405080", raw


def test_the_second_recognizers_code_wins_over_a_reading_alone_that_differs_only_in_a_mark() -> None:
    spec = SPECS.specs["invoice"].fields["claim_reference"]
    # seed 23 invoice 003 degraded: the page's `CLM-2026` (its rest lost), alone `CLM-2026'591003,`, PP-OCR
    # `CLM-2026-591003`
    texts = ["vunratzes91009", "", "CLM-2026'591003,", "a *CLM-2026-591 Pe 00 -"]
    assert majority_code(texts, spec, page_value="CLM-2026") is None
    assert majority_code(texts, spec, page_value="CLM-2026", second="CLM-2026-591003") == "CLM-2026-591003"
    # a letter or digit apart, one more or one less, is no such reading
    for other in ("CLM-2026'591008", "CLM-2026'59100", "CLM-2026'5910033"):
        assert majority_code([other], spec, page_value="CLM-2026", second="CLM-2026-591003") is None, other
    # seed 18 receipt 020 degraded: the page's `916432`, alone `CS8916432`, `CS$916432`, PP-OCR `CS916432`
    receipt = SPECS.specs["receipt"].fields["invoice_number"]
    texts = ["", "CS8916432", "CS$916432", "CS8916432 |"]
    assert majority_code(texts, receipt, page_value="916432", second="CS916432") == "CS916432"
    assert marks_apart("CLM-2026-591003", " CLM-2026'591003, ") and marks_apart("CS916432", "CS$916432")
    assert not marks_apart("CLM-2026-591003", "CLM-2026-591003") and not marks_apart("CS916432", "CS8916432")


def test_a_rival_with_the_glyph_the_page_read_as_a_mark_before_the_code_is_taken_below_auto_accept() -> None:
    # seed 24 invoice 012 degraded: an italic I read `/` (`/NV-48449`), the pattern takes `NV-48449`; one reading
    # alone `INV-48449`: the page saw that glyph too, so the rival's letter is taken, capped, flagged
    read, part = _receipt("NV-48449", 0.9)
    read.pages[0].words[0] = dataclasses.replace(read.pages[0].words[0], text="/NV-48449")
    read_codes_alone(read, [part], SPECS, FakeLook(["", "NV-48449", "NV-48449", "INV-48449"]), threshold=0.99)
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("INV-48449", RIVAL_CAP)
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]
    # no mark on the page before the code: the rival only doubts it, as before
    read, part = _receipt("NV-48449", 0.9)
    read_codes_alone(read, [part], SPECS, FakeLook(["", "NV-48449", "NV-48449", "INV-48449"]), threshold=0.99)
    assert (part.fields["invoice_number"].value, part.fields["invoice_number"].confidence) == ("NV-48449", RIVAL_CAP)


def test_a_separator_the_page_read_and_a_reading_alone_kept_is_not_dropped_by_the_others() -> None:
    # seed 27 invoice 003 degraded: the page's `INV-48124` (0.95 calibrated), alone `INV-48124` once and `-INV48124`
    # twice, PP-OCR `INV48124` (taken before at 0.95: a lost hyphen one refit from confident)
    read, part = _receipt("INV-48124", 0.8)
    texts = ["", "INV-48124", "-INV48124", "-INV48124"]
    read_codes_alone(read, [part], SPECS, FakeLook(texts), threshold=0.99, second=FakeSecond(["INV48124"]))
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("INV-48124", RIVAL_CAP)
    assert [p.code for p in part.problems] == [ReasonCode.FIELD_AMBIGUOUS]
    # no reading alone read the page's hyphen: the code read alone is taken, below auto-accept
    read, part = _receipt("INV-48124", 0.8)
    read_codes_alone(read, [part], SPECS, FakeLook(["", "INV48124"] * 2), threshold=0.99, second=FakeSecond([""]))
    found = part.fields["invoice_number"]
    assert (found.value, found.confidence) == ("INV48124", RIVAL_CAP)
    assert marks_dropped("INV-48124", "INV48124") and marks_dropped("CLM-2026-1", "CLM20261")
    assert not marks_dropped("INV48124", "INV-48124") and not marks_dropped("INV-48124", "INV4812")
