"""Capital amounts the page reading lost, read again beside their label: they fill the words or doubt the figures."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract_capitals import read_capitals_again, says, unread_capitals
from claimflow.extract_checks import DISAGREE_CAP, UNREAD_FILL_CONFIDENCE
from claimflow.extract_votes import VOTE_SCALES
from claimflow.models import BBox, Extraction, Field, Money, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.second_looks import DEFAULT_LOOKS, CapitalsLook, LookContext, SharedOcr
from claimflow.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
SPECS = load_specs(ROOT / "extractors")
AMOUNT = Decimal("11981.78")  # 壹万壹仟玖佰捌拾壹元柒角捌分


class FakeReader:
    """Answers every re-read of a box with the next texts, recording the models asked."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.models: list[str] = []

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        self.models.append(lang)
        out, self.texts = self.texts[: len(boxes)], self.texts[len(boxes) :]
        return out


class NoOcr:
    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        raise AssertionError("proposing reads nothing")


def _application(words_read: bool = False) -> tuple[ReadDocument, Extraction]:
    """A scanned 理赔申请书 whose figures were read and whose words (大写) chi_sim could not read."""
    rows = [("申请金额(小写)", "11,981.78", 0.30), ("申请金额(大写)", "吉万喜什玖佰制#全膏元光角抽分", 0.34)]
    words = []
    for line, (label, value, top) in enumerate(rows, start=1):
        words.append(Word(label, (0.07, top, 0.25, top + 0.015), 0.9, 1, line))
        words.append(Word(value, (0.30, top, 0.60, top + 0.015), 0.5, 1, line))
    page = Page(1, 1241, 1754, ReadMethod.OCR, words, image=object(), language="chi_sim")
    figures = Field(
        "amount_claimed", Money(AMOUNT, "CNY"), 0.96, Provenance(ReadMethod.OCR, 1, (0.3, 0.3, 0.4, 0.315)), "x"
    )
    fields = {"amount_claimed": figures}
    if words_read:
        fields["amount_in_words"] = Field("amount_in_words", Money(AMOUNT, "CNY"), 0.9, figures.provenance, "y")
    return ReadDocument(pages=[page]), Extraction("claim_application_zh", 1.0, fields=fields)


def test_what_a_reading_says_of_the_figures() -> None:
    assert says("写 ) In Words: 人 民 币 壹 万 壹 仟 玖 佰 捌 拾 壹 元 柒 角 捌 分", AMOUNT) is True  # strictly
    assert says("In Words: 人 民 币 壹 万 壹 件 玖 佰 抽 拾 过 元 业 角 提 分", AMOUNT) is True  # in part, in place
    assert says("人民币壹万壹仟玖佰捌拾壹元整", AMOUNT) == Decimal("11981.00")  # another amount, read strictly
    assert says("In Words: 。。” ”人民币 过 万 壹 任 玖 值 拉 失 过 元 米 角 撞 分", AMOUNT) is None  # too little read


def test_unread_words_beside_read_figures_are_read_again_and_filled_not_confident() -> None:
    read, part = _application()
    assert unread_capitals(part, SPECS) == [("amount_in_words", "amount_claimed")]
    texts = [
        "In Words: 人民币 过 万 壹 任 玖 值 拉 失 过 元 米 角 撞 分",
        "",
        "In Words: 人 民 币 壹 万 壹 件 玖 佰 抽 拾 过 元 业 角 提 分",
        "",
    ]
    reader = FakeReader(texts)
    assert read_capitals_again(read, [part], SPECS, reader) == 2
    assert reader.models == ["chi_sim", "HanS"]  # the spec's vote models, one call each
    words = part.fields["amount_in_words"]
    assert (words.value, words.confidence) == (Money(AMOUNT, "CNY"), UNREAD_FILL_CONFIDENCE)
    assert part.fields["amount_claimed"].confidence == 0.96  # a filled value vouches for nothing
    assert [p.code for p in part.problems if p.field == "amount_in_words"] == [ReasonCode.FIELD_AMBIGUOUS]


def test_readings_that_say_another_amount_doubt_the_figures() -> None:
    read, part = _application()
    other = "人 民 币 壹 万 壹 仟 玖 佰 捌 拾 壹 元 整"  # 11981.00: the figures' cents are not in the words
    read_capitals_again(read, [part], SPECS, FakeReader([other, other, "", ""]))
    assert "amount_in_words" not in part.fields
    assert part.fields["amount_claimed"].confidence == DISAGREE_CAP
    assert [p.code for p in part.problems] == [ReasonCode.AMOUNTS_INCONSISTENT]
    read, part = _application()
    read_capitals_again(read, [part], SPECS, FakeReader([other, "", "", ""]))  # one reading: nothing changes
    assert part.fields["amount_claimed"].confidence == 0.96 and not part.problems


def test_words_read_on_the_page_or_a_text_layer_ask_for_nothing() -> None:
    read, part = _application(words_read=True)
    assert unread_capitals(part, SPECS) == []
    read, part = _application()
    read.pages[0].image = Image.new("L", (1241, 1754), 255)
    ctx = LookContext(read, [part], SPECS, SharedOcr(NoOcr()), 0.99, 10)
    assert CapitalsLook in DEFAULT_LOOKS
    requests = CapitalsLook().propose(ctx)
    assert [(r.fields, r.calls, r.reason) for r in requests] == [(("amount_in_words",), 2, "missing")]
    read.pages[0].image = None
    assert CapitalsLook().propose(ctx) == []
    assert len(VOTE_SCALES) == 2  # each model reads the row at two sizes in its one call
