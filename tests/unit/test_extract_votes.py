"""Weak characters of a text value voted on by its lines read again with other models and sizes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from claimflow.errors import SpecError
from claimflow.extract_votes import VOTE_SCALES, rewrite, vote_line, vote_values, weak_votes
from claimflow.models import BBox, Extraction, Field, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
LINE = "车辆在北京市朝阳区建国路停放期间因线路故障起火，发动机租"
WEAK = [False] * (len(LINE) - 1) + [True]  # 租 read at 0.44


def test_a_weak_character_takes_what_two_readings_agree_on() -> None:
    readings = [LINE[:-1] + "航", LINE[:-1] + "秀", LINE[:-1] + "舱", LINE[:-1] + "舱"]
    assert vote_line(LINE, WEAK, readings) == LINE[:-1] + "舱"


def test_one_reading_or_a_tie_keeps_the_first_character() -> None:
    assert vote_line(LINE, WEAK, [LINE[:-1] + "舱", LINE[:-1] + "航"]) == LINE
    tie = [LINE[:-1] + "舱", LINE[:-1] + "舱", LINE[:-1] + "航", LINE[:-1] + "航"]
    assert vote_line(LINE, WEAK, tie) == LINE
    keep = [LINE, LINE, LINE[:-1] + "舱", LINE[:-1] + "舱"]  # the readings that keep it count for it
    assert vote_line(LINE, WEAK, keep) == LINE


def test_firm_characters_are_never_changed() -> None:
    readings = ["汽" + LINE[1:], "汽" + LINE[1:], "汽" + LINE[1:]]
    assert vote_line(LINE, WEAK, readings) == LINE


def test_a_firm_character_beside_a_weak_one_changes_only_when_every_reading_of_four_agrees() -> None:
    weak = [True, False, True]  # 昌 read firmly between two weak characters
    assert vote_line("心昌8", weak, ["烧毁。"] * 4) == "烧毁。"
    assert vote_line("心昌8", weak, ["烧毁。"] * 3) == "烧昌。"  # three readings: the firm 昌 stays
    assert vote_line("心昌8", weak, ["烧毁。", "烧毁。", "烧毁。", "烧昌。"]) == "烧昌。"  # not unanimous
    far = "汽" + LINE[1:]  # every reading, but the firm 车 is far from the weak 租
    assert vote_line(LINE, WEAK, [far] * 4) == LINE


def test_readings_that_lose_the_firm_characters_give_no_votes() -> None:
    noise = "上上清企记和由天困区大昌生机于向本间作二全作证提舱"  # a skewed crop read as another text
    assert vote_line(LINE, WEAK, [noise, noise, noise]) == LINE


def test_a_line_read_weakly_all_through_votes_with_readings_of_its_length() -> None:
    weak = [True, True, True]
    assert vote_line("心昌8", weak, ["烧毁。", "刻红。", "烧毁。", "并角。"]) == "烧毁。"
    assert vote_line("心昌8", weak, ["烧毁。x", "烧毁。x"]) == "心昌8"


def test_rewrite_keeps_the_value_and_drops_spaces_beside_cjk() -> None:
    first = ":" + LINE + "心昌8"
    voted = ":" + LINE[:-1] + "舱烧毁。"
    assert rewrite(LINE + "心昌 8", first, voted) == LINE[:-1] + "舱烧毁。"
    assert rewrite("another value", first, voted) is None
    assert rewrite("Li Wei 8", "LiWei8", "LiWei9") == "Li Wei 9"


class FakeLines:
    """Answers re-reads from a table per (model, scale); records the calls."""

    def __init__(self, answers: dict[tuple[str, float], list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        self.calls.append(lang)
        assert scales is not None and len(scales) == len(boxes)
        return [self.answers[(lang, scale)][0] for scale in scales]


def _document(confidence: float) -> tuple[ReadDocument, Extraction]:
    words = [
        Word(ch, (0.2 + 0.02 * i, 0.4, 0.218 + 0.02 * i, 0.42), 0.95, block=1, line=1) for i, ch in enumerate(LINE)
    ]
    words[-1] = Word(LINE[-1], words[-1].bbox, confidence, block=1, line=1)
    page = Page(1, 1000, 1400, ReadMethod.OCR, words, image=object(), language="chi_sim")
    field = Field("description", LINE, 0.45, Provenance(ReadMethod.OCR, 1, (0.2, 0.4, 0.9, 0.42)), LINE)
    return ReadDocument(pages=[page]), Extraction("claim_application_zh", 1.0, fields={"description": field})


def test_the_spec_s_models_read_the_weak_field_once_each_and_vote() -> None:
    specs = load_specs(ROOT / "extractors")
    assert specs.specs["claim_application_zh"].fields["description"].vote == ["chi_sim", "HanS"]
    read, part = _document(0.44)
    answers = {
        ("chi_sim", VOTE_SCALES[0]): [LINE[:-1] + "航"],
        ("chi_sim", VOTE_SCALES[1]): [LINE[:-1] + "秀"],
        ("HanS", VOTE_SCALES[0]): [LINE[:-1] + "舱"],
        ("HanS", VOTE_SCALES[1]): [LINE[:-1] + "舱"],
    }
    fake = FakeLines(answers)
    assert vote_values(read, [part], specs, fake) == 2 and fake.calls == ["chi_sim", "HanS"]
    assert part.fields["description"].value == LINE[:-1] + "舱"
    assert part.fields["description"].confidence == 0.45  # a vote is evidence, not proof: still below auto-accept


def test_a_field_read_firmly_is_not_read_again() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document(0.9)
    pages = {p.number: p for p in read.pages}
    assert weak_votes(part, specs, pages) == []
    fake = FakeLines({})
    assert vote_values(read, [part], specs, fake) == 0 and fake.calls == []


def test_a_vote_model_that_is_not_installed_stops_the_spec_with_its_package(tmp_path: Path) -> None:
    spec = (ROOT / "extractors" / "claim_application_zh.yml").read_text(encoding="utf-8")
    (tmp_path / "claim_application_zh.yml").write_text(spec, encoding="utf-8")
    with pytest.raises(SpecError, match="tesseract-ocr-script-hans"):
        load_specs(tmp_path, installed_languages=["eng", "chi_sim"])
    with pytest.raises(SpecError, match="not a tesseract language name"):
        (tmp_path / "claim_application_zh.yml").write_text(spec.replace("HanS]", "Han-S]"), encoding="utf-8")
        load_specs(tmp_path, installed_languages=["eng", "chi_sim", "HanS"])


class FakeByBox:
    """Answers each box by its top edge, for every model and scale; records the calls."""

    def __init__(self, by_top: dict[float, str]) -> None:
        self.by_top = by_top
        self.calls: list[str] = []

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        self.calls.append(lang)
        return [self.by_top[round(box[1], 2)] for box in boxes]


def test_the_weak_fields_of_a_page_are_read_together_once_per_model() -> None:
    specs = load_specs(ROOT / "extractors")
    read, part = _document(0.44)
    name_words = [Word("张", (0.2, 0.3, 0.22, 0.32), 0.95, block=2, line=1),
                  Word("人", (0.22, 0.3, 0.24, 0.32), 0.3, block=2, line=1)]
    read.pages[0].words.extend(name_words)
    where = Provenance(ReadMethod.OCR, 1, (0.2, 0.3, 0.24, 0.32))
    part.fields["claimant_name"] = Field("claimant_name", "张人", 0.5, where)
    fake = FakeByBox({0.4: LINE[:-1] + "舱", 0.3: "张伟"})
    assert vote_values(read, [part], specs, fake) == 2 and fake.calls == ["chi_sim", "HanS"]
    assert part.fields["description"].value == LINE[:-1] + "舱"
    assert part.fields["claimant_name"].value == "张伟"
