"""A dropped-out stamp's views (readers/stamps.py) and the stamps look that reads what it hid (extract_stamps.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from claimflow.errors import ReasonCode
from claimflow.extract_stamps import READINGS, read_stamps_again
from claimflow.models import BBox, Extraction, Page, ReadDocument, ReadMethod, Word
from claimflow.normalise import is_valid_luhn
from claimflow.readers.ocr import PSM_BLOCK, assign_lines, prepare_image, to_grey
from claimflow.readers.preflight import _straightened, _turned
from claimflow.readers.stamps import HUE_EXCESS, stamp_views
from claimflow.second_looks import DEFAULT_LOOKS, LinesLook, LookContext, SharedOcr, StampsLook, run_looks
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import load_specs

SPECS = load_specs(PROJECT_ROOT / "extractors")
ACCOUNT = "6216617344218228842"  # passes Luhn
STAMP_ROWS = slice(180, 240)


def _page(print_grey: int = 0, stamp: bool = True) -> np.ndarray:
    """A 600 x 400 page: print strokes of `print_grey`, a blue translucent stamp over rows 180-240 (dense letters)."""
    rgb = np.full((400, 600, 3), 250, dtype=np.uint8)
    if stamp:
        rgb[STAMP_ROWS, 300:560] = (175, 175, 245)  # translucent blue: dropped out by to_grey
        rgb[190:200, 320:540] = (120, 120, 180)  # its dense letters: too dark to be dropped out
        rgb[STAMP_ROWS, 298:300] = (226, 226, 238)  # its blurred edge: weakly coloured
    rgb[40:60, 40:300] = print_grey  # a line of print above the stamp
    rgb[200:215, 40:500] = print_grey  # the stamped line's print (black over the stamp too)
    return rgb


def test_a_stamped_page_keeps_its_views_and_a_page_without_a_stamp_none() -> None:
    grey = to_grey(Image.fromarray(_page(), mode="RGB"))
    views = stamp_views(grey)
    assert views is not None
    (band,) = views.bands()
    assert band[0] <= 180 / 400 <= 240 / 400 <= band[1] <= 0.65
    assert stamp_views(grey.crop((0, 0, 100, 100))) is None  # a copy of its info is not its own
    assert stamp_views(to_grey(Image.fromarray(_page(stamp=False), mode="RGB"))) is None
    specks = np.full((400, 600, 3), 250, dtype=np.uint8)
    specks[100:104, 100:105] = (175, 175, 245)  # 20 tinted pixels: dropped out, but no stamp to read again under
    views_of_specks = stamp_views(to_grey(Image.fromarray(specks, mode="RGB")))
    assert views_of_specks is not None and views_of_specks.bands() == []


def test_the_lifted_view_drops_the_stamps_weak_edge_and_keeps_print_under_it() -> None:
    grey = to_grey(Image.fromarray(_page(), mode="RGB"))
    views = stamp_views(grey)
    assert views is not None
    lifted = np.asarray(views.lifted(), dtype=np.int16)
    edge = int(np.asarray(grey)[220, 299])
    assert edge == int(np.asarray(Image.fromarray(_page(), mode="RGB").convert("L"))[220, 299])  # left by to_grey
    assert lifted[220, 299] > edge + 10 and lifted[220, 299] >= 240  # ... lifted to the paper with the stamp
    assert lifted[205, 100] <= 10 and lifted[205, 400] <= 10  # print, and print under the stamp, stay


def test_the_erased_view_whitens_a_stamps_dense_letters_on_dark_print_only() -> None:
    views = stamp_views(to_grey(Image.fromarray(_page(print_grey=0), mode="RGB")))
    assert views is not None
    erased = views.erased()
    assert erased is not None
    pixels = np.asarray(erased)
    assert HUE_EXCESS < 245 - 120 and pixels[195, 400] == 255  # the dense letters (120, 120, 180): erased
    assert pixels[205, 400] <= 10  # black print under the stamp stays
    faded = stamp_views(to_grey(Image.fromarray(_page(print_grey=140), mode="RGB")))
    assert faded is not None and faded.erased() is None  # faded print would be erased with the stamp's hue


def test_the_views_follow_the_page_when_it_is_halved_straightened_or_turned() -> None:
    big = np.kron(_page(), np.ones((6, 6, 1), dtype=np.uint8))  # 3600 px wide: prepare_image halves it
    halved = prepare_image(Image.fromarray(big, mode="RGB"))
    straight = _straightened(halved, 2.0)
    turned = _turned(straight, 90)
    for image in (halved, straight, turned):
        views = stamp_views(image)
        assert views is not None
        assert views.lifted().size == image.size
    turned_views = stamp_views(turned)
    assert turned_views is not None
    # turned a quarter: the stamp's columns (300-560 of 600) are now rows, from the top
    ((top, bottom),) = turned_views.bands()
    assert top <= 300 / 600 and bottom >= 0.9


@dataclass
class ScriptedOcr:
    """Answers each call with the next scripted line of words, centred in the image it is given."""

    lines: list[list[str]]
    calls: list[int] = field(default_factory=list)

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = PSM_BLOCK, lang: str = "eng") -> Page:
        self.calls.append(page)
        texts = self.lines[len(self.calls) - 1] if len(self.calls) <= len(self.lines) else []
        words = []
        for index, text in enumerate(texts):
            box: BBox = (0.05 + 0.2 * index, 0.4, 0.2 + 0.2 * index, 0.6)
            words.append(Word(text, box, 0.96))
        return Page(page, float(image.width), float(image.height), ReadMethod.OCR, words=assign_lines(words))


def _stamped_form(stamp: bool = True, label_at: float = 0.5) -> tuple[ReadDocument, list[Extraction]]:
    """A claim application page whose account line the stamp covers: its first reading lost the account."""
    image = to_grey(Image.fromarray(_page(stamp=stamp), mode="RGB"))
    words = [
        Word("Claim", (0.05, 0.9, 0.2, 0.95), 0.96),
        Word("Account", (0.05, label_at, 0.2, label_at + 0.04), 0.96),
        Word("No.", (0.22, label_at, 0.3, label_at + 0.04), 0.96),
        Word("~~;", (0.5, 0.5, 0.7, 0.54), 0.3),
    ]
    page = Page(1, 612.0, 408.0, ReadMethod.OCR, words=assign_lines(words), image=image)
    return ReadDocument(pages=[page]), [Extraction("claim_application_zh", 1.0, pages=(1,))]


def test_a_value_both_cleaner_readings_give_under_the_stamp_is_taken_below_auto_accept() -> None:
    assert is_valid_luhn(ACCOUNT)
    read, parts = _stamped_form()
    engine = ScriptedOcr([["Account", "No.", ACCOUNT]] * READINGS)
    read_stamps_again(read, parts, SPECS, engine)
    assert len(engine.calls) == READINGS
    found = parts[0].fields["payee_account"]
    assert found.value == ACCOUNT and found.confidence <= 0.75
    assert any(p.field == "payee_account" and p.code is ReasonCode.FIELD_AMBIGUOUS for p in parts[0].problems)


def test_readings_that_disagree_give_only_the_value_passing_its_check_digits() -> None:
    wrong = ACCOUNT[:-1] + str((int(ACCOUNT[-1]) + 1) % 10)
    assert not is_valid_luhn(wrong)
    read, parts = _stamped_form()
    read_stamps_again(read, parts, SPECS, ScriptedOcr([["Account", "No.", wrong], ["Account", "No.", ACCOUNT]]))
    assert parts[0].fields["payee_account"].value == ACCOUNT
    assert parts[0].fields["payee_account"].confidence <= 0.75
    read, parts = _stamped_form()
    read_stamps_again(read, parts, SPECS, ScriptedOcr([["Account", "No.", wrong], ["Account", "No.", "0" + wrong]]))
    assert "payee_account" not in parts[0].fields  # neither passes: nothing is taken


def test_the_stamps_look_makes_no_call_without_a_stamp_or_a_label_by_it() -> None:
    read, parts = _stamped_form(stamp=False)
    engine = ScriptedOcr([["Account", "No.", ACCOUNT]] * READINGS)
    ctx = LookContext(read, parts, SPECS, SharedOcr(engine), 0.98, 10)
    assert StampsLook().propose(ctx) == []
    run_looks(ctx, [StampsLook()])
    assert engine.calls == [] and "payee_account" not in parts[0].fields
    read, parts = _stamped_form(label_at=0.1)  # the label far above the stamp: its value is not under it
    assert StampsLook().propose(LookContext(read, parts, SPECS, SharedOcr(engine), 0.98, 10)) == []
    read, parts = _stamped_form()
    (request,) = StampsLook().propose(LookContext(read, parts, SPECS, SharedOcr(engine), 0.98, 10))
    assert request.fields == ("payee_account",) and request.calls == READINGS
    assert DEFAULT_LOOKS.index(StampsLook) < DEFAULT_LOOKS.index(LinesLook)  # before the stamped label line is read
