"""Page preflight: blank pages skip OCR, orientation is confirmed by OCR, skew is found; real scans turned back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from claimflow.errors import ReasonCode
from claimflow.models import Page
from claimflow.readers import Orientation, RecordedOcr, TesseractOcr, read_document
from claimflow.readers.ocr import image_attempts
from claimflow.readers.preflight import estimate_skew, is_blank, read_scanned_page
from claimflow.samples import write_packet
from claimflow.sniff import FileKind

SROIE = Path("/work/shared/realdocs/sroie")
GOOD = [(f"word{i:02d}", (0.05, 0.04 * i, 0.3, 0.04 * i + 0.03), 0.92) for i in range(20)]
JUNK = [("~", (0.1, 0.1, 0.12, 0.2), 0.3), ("il", (0.5, 0.3, 0.52, 0.4), 0.25)]


def _ruled_page(size: tuple[int, int] = (1200, 1600), *, skew: float = 0.0) -> Image.Image:
    """Return white paper with lines of 'text' (dark bars with gaps) and a dark mark in the top-left corner."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, 200, 140), fill=0)
    for top in range(220, size[1] - 120, 48):
        for left in range(100, size[0] - 160, 130):
            draw.rectangle((left, top, left + 100, top + 16), fill=20)
    if skew:
        image = image.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return image


def _staggered_page(size: tuple[int, int] = (1200, 1600), *, skew: float = 0.0) -> Image.Image:
    """Return `_ruled_page` with words of varied widths that start and end at staggered places, as a form's do.

    Sideways, such a page has no straight column edges for the row profile to line up, so its tilt can only be
    measured with the page upright (the ruled page's aligned bars make even sideways rows sharp).
    """
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 240, 180), fill=0)  # MarkOcr's corner: it stays there when the page is straightened
    for row, top in enumerate(range(220, size[1] - 120, 48)):
        left = 100 + (row * 53) % 110
        while left < size[0] - 220:
            width = 40 + (row * 29 + left) % 90
            draw.rectangle((left, top, left + width, top + 16), fill=20)
            left += width + 25 + (row * 7 + left) % 30
    return image.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255) if skew else image


def _turn(image: Image.Image, clockwise: int) -> Image.Image:
    """Return `image` turned `clockwise` degrees."""
    return image.rotate(-clockwise, expand=True) if clockwise else image


@dataclass
class MarkOcr:
    """Reads well only when the dark mark is top-left (the page is upright); OSD gives a scripted answer."""

    answer: Orientation | None = None
    calls: list[int] = field(default_factory=list)

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        self.calls.append(psm)
        pixels = np.asarray(image.convert("L"))
        corner = pixels[: pixels.shape[0] // 10, : pixels.shape[1] // 6]
        upright = float(corner.mean()) < 200
        return RecordedOcr(pages={page: GOOD if upright else JUNK}).ocr_image(image, page=page, psm=psm)

    def detect_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        self.calls.append(0)
        return self.answer


def _codes(page: Page) -> list[ReasonCode]:
    return [problem.code for problem in page.problems]


def test_blank_page_is_not_ocrd() -> None:
    engine = RecordedOcr(pages={1: GOOD})
    rng = np.random.default_rng(3)
    paper = Image.fromarray(np.clip(rng.normal(235, 8, (1600, 1200)), 0, 255).astype(np.uint8))
    page = read_scanned_page(engine, paper, image_attempts, page=1, size=(1200, 1600))
    assert engine.calls == []
    assert page.words == [] and _codes(page) == [ReasonCode.PAGE_BLANK]


def test_blank_file_page_gets_page_blank_without_ocr(tmp_path: Path) -> None:
    path = tmp_path / "blank.png"
    Image.new("L", (1240, 1754), 250).save(path)
    engine = RecordedOcr()
    (page,) = read_document(path, FileKind.PNG, engine).pages
    assert engine.calls == [] and _codes(page) == [ReasonCode.PAGE_BLANK]


def test_inverted_scan_and_a_line_of_ink_are_not_blank() -> None:
    negative = Image.new("L", (1000, 1000), 0)
    ImageDraw.Draw(negative).rectangle((100, 400, 900, 470), fill=255)
    assert not is_blank(negative)
    one_line = Image.new("L", (1200, 1600), 255)
    ImageDraw.Draw(one_line).rectangle((100, 800, 700, 830), fill=60)
    assert not is_blank(one_line)


def test_good_first_pass_gets_no_second_look() -> None:
    engine = MarkOcr(answer=Orientation(180, 9.0))
    page = read_scanned_page(engine, _ruled_page(), image_attempts, page=1, size=(1200, 1600))
    assert engine.calls == [6] and page.problems == []


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_turned_page_is_read_upright_with_a_note(clockwise: int) -> None:
    upright = _ruled_page()
    scanned = _turn(upright, 360 - clockwise)  # turning it `clockwise` makes it upright again
    engine = MarkOcr(answer=Orientation(clockwise, 4.2))
    page = read_scanned_page(engine, scanned, image_attempts, page=1, size=scanned.size)
    assert page.text.startswith("word00")
    assert _codes(page) == [ReasonCode.PAGE_ROTATED]
    assert f"turned {clockwise} degrees" in page.problems[0].message
    assert (page.width, page.height) == (1200, 1600)  # the upright page's size


def test_osd_mixing_up_90_and_270_is_caught_by_ocr() -> None:
    scanned = _turn(_ruled_page(), 90)  # needs 270 clockwise
    engine = MarkOcr(answer=Orientation(90, 2.0))
    page = read_scanned_page(engine, scanned, image_attempts, page=1, size=scanned.size)
    assert page.text.startswith("word00")
    assert "turned 270 degrees" in page.problems[0].message


def test_confidently_wrong_180_on_a_weak_upright_page_is_refused_by_ocr() -> None:
    @dataclass
    class WeakUpright(MarkOcr):
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            read = super().ocr_image(image, page=page, psm=psm)
            read.words = [w.__class__(w.text, w.bbox, 0.55, w.block, w.line) for w in read.words]
            return read

    engine = WeakUpright(answer=Orientation(180, 1.8))
    page = read_scanned_page(engine, _ruled_page(), image_attempts, page=1, size=(1200, 1600))
    assert page.text.startswith("word00")
    assert ReasonCode.PAGE_ROTATED not in _codes(page)
    assert ReasonCode.PAGE_ORIENTATION_UNCERTAIN not in _codes(page)
    assert 0 in engine.calls  # OSD was asked, then overruled by the OCR comparison


def test_weak_page_read_confidently_enough_is_not_read_turned_180() -> None:
    # a faint receipt: half its words read well, the rest junk (mean confidence 0.585: weak); text upside
    # down never reads so (SROIE turned over: at most 9% of characters in confident words), so OSD's 180 is not tried
    @dataclass
    class HalfRead(MarkOcr):
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            read = super().ocr_image(image, page=page, psm=psm)
            read.words = [w.__class__(w.text, w.bbox, 0.92 if i % 2 else 0.25) for i, w in enumerate(read.words)]
            return read

    engine = HalfRead(answer=Orientation(180, 2.8))
    page = read_scanned_page(engine, _ruled_page(), image_attempts, page=1, size=(1200, 1600))
    assert page.text.startswith("word00")
    assert engine.calls.count(6) == 1  # the first pass only: not read again turned 180 degrees
    assert ReasonCode.PAGE_ROTATED not in _codes(page)


def test_two_orientations_reading_alike_go_to_review() -> None:
    @dataclass
    class Alike(MarkOcr):
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            self.calls.append(psm)
            return RecordedOcr(pages={page: GOOD[:4]}).ocr_image(image, page=page)  # 24 chars: weak, alike

    engine = Alike(answer=Orientation(180, 0.4))
    page = read_scanned_page(engine, _ruled_page(), image_attempts, page=1, size=(1200, 1600))
    assert ReasonCode.PAGE_ORIENTATION_UNCERTAIN in _codes(page)


@pytest.mark.parametrize("skew", [3.0, -3.0, 1.5])
def test_skew_is_estimated(skew: float) -> None:
    assert estimate_skew(_ruled_page(skew=skew)) == pytest.approx(skew, abs=0.35)
    assert abs(estimate_skew(_ruled_page())) <= 0.2


def test_skewed_page_is_straightened_before_its_first_pass() -> None:
    @dataclass
    class Recording:
        images: list[Image.Image] = field(default_factory=list)

        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            self.images.append(image)
            return RecordedOcr(pages={page: GOOD}).ocr_image(image, page=page, psm=psm)

    skewed = _ruled_page(skew=3.0)
    engine = Recording()
    page = read_scanned_page(engine, skewed, image_attempts, page=1, size=skewed.size)
    assert len(engine.images) == 1  # a good page: one pass, on the straightened image
    assert abs(estimate_skew(engine.images[0])) <= 0.3
    assert engine.images[0].size == skewed.size  # same frame: word boxes stay relative to the page
    assert page.image is engine.images[0]  # second readings use the straightened image too
    assert re.search(r"straightened by \+3\.\d degrees", page.problems[-1].message)


@pytest.mark.parametrize("clockwise", [90, 270])
def test_sideways_tilted_page_is_straightened_by_its_tilt_measured_upright(clockwise: int) -> None:
    # measured on the page as scanned, sideways, the rows cross the text lines: the tilt must be measured upright
    scanned = _turn(_staggered_page(skew=3.0), 360 - clockwise)
    assert abs(estimate_skew(scanned)) < 1.0  # as scanned, sideways, the tilt does not show
    engine = MarkOcr(answer=Orientation(clockwise, 4.2))
    page = read_scanned_page(engine, scanned, image_attempts, page=1, size=scanned.size)
    assert page.text.startswith("word00")
    assert page.image is not None and abs(estimate_skew(page.image)) <= 0.3
    notes = [p.message for p in page.problems if p.code is ReasonCode.PAGE_ROTATED]
    assert f"turned {clockwise} degrees" in notes[0]
    assert re.search(r"straightened by \+3\.\d degrees", notes[-1])


def test_upright_page_is_not_straightened() -> None:
    engine = RecordedOcr(pages={1: GOOD})
    upright = _ruled_page()
    page = read_scanned_page(engine, upright, image_attempts, page=1, size=upright.size)
    assert page.image is upright and page.problems == []


# Real tesseract: a generated form scan and a SROIE receipt, turned by 90/180/270, come back readable.


@pytest.fixture(scope="module")
def form_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packet")
    write_packet(out, seed=7)
    return out / "packet" / "scans" / "scan_15.png"


def _read_turned(source: Path, clockwise: int, folder: Path) -> Page:
    path = folder / f"turned_{clockwise}.png"
    _turn(Image.open(source).convert("L"), clockwise).save(path)
    (page,) = read_document(path, FileKind.PNG, TesseractOcr()).pages
    return page


@pytest.mark.ocr
@pytest.mark.timeout(120)
@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_turned_form_scan_is_read_upright(form_scan: Path, tmp_path: Path, clockwise: int) -> None:
    page = _read_turned(form_scan, clockwise, tmp_path)
    text = page.text.lower()
    assert "policy" in text and "mp-2026-860725" in text and "vandalism" in text
    notes = [p.message for p in page.problems if p.code is ReasonCode.PAGE_ROTATED]
    assert notes and f"turned {(360 - clockwise) % 360} degrees" in notes[0]
    assert ReasonCode.PAGE_ORIENTATION_UNCERTAIN not in _codes(page)


@pytest.mark.ocr
@pytest.mark.timeout(120)
@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_turned_receipt_is_read_upright(tmp_path: Path, clockwise: int) -> None:
    page = _read_turned(SROIE / "img" / "100.jpg", clockwise, tmp_path)
    text = page.text.upper()
    assert "GIN KEE" in text and "7.42" in text
    notes = [p.message for p in page.problems if p.code is ReasonCode.PAGE_ROTATED]
    assert notes and f"turned {(360 - clockwise) % 360} degrees" in notes[0]


@dataclass
class InkOcr:
    """Reads well only when the darkest ink is near black (a faint page reads as junk), like tesseract on SROIE 600."""

    calls: list[int] = field(default_factory=list)

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        self.calls.append(psm)
        dark = float(np.percentile(np.asarray(image.convert("L")), 1)) < 60
        return RecordedOcr(pages={page: GOOD if dark else JUNK}).ocr_image(image, page=page, psm=psm)


def test_faint_page_is_reread_with_its_greys_stretched() -> None:
    faint = Image.fromarray((170 + np.asarray(_ruled_page(), dtype=np.float32) / 255 * 60).astype(np.uint8))
    engine = InkOcr()
    page = read_scanned_page(engine, faint, image_attempts, page=1, size=(1200, 1600))
    assert [w.text for w in page.words] == [w[0] for w in GOOD]


def test_page_with_black_ink_is_not_stretched() -> None:
    engine = InkOcr()
    page = read_scanned_page(engine, _ruled_page(), image_attempts, page=1, size=(1200, 1600))
    assert engine.calls == [6]
    assert len(page.words) == len(GOOD)


@dataclass
class SizedOcr:
    """Reads the same weak words at every size (a faint page), recording each call's image width and psm."""

    words: list[tuple[str, tuple[float, float, float, float], float]]
    calls: list[tuple[int, int]] = field(default_factory=list)

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        self.calls.append((image.width, psm))
        return RecordedOcr(pages={page: self.words}).ocr_image(image, page=page, psm=psm)


@pytest.mark.parametrize(("word_height", "expected"), [(0.03, [(500, 6)]), (0.01, [(500, 6), (1000, 6)])])
def test_weak_small_page_is_enlarged_only_when_its_text_is_small(
    word_height: float, expected: list[tuple[int, int]]
) -> None:
    # 24 px words read weakly are faint, not small: doubling reads them no better (SROIE 420); 8 px ones are small
    weak = [(f"w{i:02d}xy", (0.05, 0.04 * i, 0.3, 0.04 * i + word_height), 0.3) for i in range(20)]
    engine = SizedOcr(weak)
    page = read_scanned_page(engine, _ruled_page((500, 800)), image_attempts, page=1, size=(500, 800))
    assert engine.calls == expected  # psm 11 is never tried: the first pass found text
    assert page.text.startswith("w00xy")


def _skew_as_measured_before(image: Image.Image) -> float:
    """estimate_skew as it was measured before speed21: numpy's percentile, ink of 255 summed in 64 bits."""
    sample = image.convert("L")
    factor = -(-max(sample.size) // 800)
    if factor > 1:
        sample = sample.reduce(factor)
    pixels = np.asarray(sample, dtype=np.int16)
    paper = float(np.percentile(pixels, 90))
    ink = Image.fromarray(np.where(pixels < paper - 40, 255, 0).astype(np.uint8))
    known: dict[float, float] = {}

    def sharpness(angle: float) -> float:
        key = round(angle, 6)
        if key not in known:
            rows = np.asarray(ink.rotate(-angle, resample=Image.Resampling.NEAREST)).sum(axis=1, dtype=np.int64)
            known[key] = float(np.square(np.diff(rows)).sum())
        return known[key]

    coarse = max(np.arange(-5.0, 5.01, 1.0), key=lambda a: sharpness(float(a)))
    fine = max(np.arange(coarse - 0.8, coarse + 0.81, 0.2), key=lambda a: sharpness(float(a)))
    if sharpness(float(fine)) < 1.1 * sharpness(0.0):
        return 0.0
    return round(float(np.clip(fine, -5.0, 5.0)), 1)


def test_the_skew_estimate_is_the_one_measured_before_on_noisy_tilted_pages() -> None:
    rng = np.random.default_rng(21)
    for index in range(12):
        page = _ruled_page((int(rng.integers(400, 2600)), int(rng.integers(500, 3000))), skew=rng.uniform(-6, 6))
        if index % 2:
            noise = rng.normal(0, 30, (page.height, page.width))
            page = Image.fromarray(np.clip(np.asarray(page) + noise, 0, 255).astype(np.uint8))
        assert estimate_skew(page) == _skew_as_measured_before(page)


def test_the_paper_level_is_numpys_90th_percentile() -> None:
    from claimflow.readers.preflight import _paper_level

    rng = np.random.default_rng(5)
    for index in range(3000):
        size = int(rng.integers(1, 2000)) if index % 2 else int(rng.integers(1, 30))
        paper = np.where(rng.random(size) < rng.uniform(0.5, 1.0), int(rng.integers(0, 256)), 0)
        pixels = np.where(paper > 0, paper, rng.integers(0, 256, size)).astype(np.int16).reshape(1, -1)
        assert _paper_level(pixels) == float(np.percentile(pixels, 90))


def _blank_as_measured_before(image: Image.Image) -> bool:
    """is_blank as it was measured before speed21: numpy's median and a count over every pixel."""
    sample = image.convert("L")
    factor = max(1, max(sample.size) // 600)
    if factor > 1:
        sample = sample.reduce(factor)
    width, height = sample.size
    dx, dy = int(width * 0.04), int(height * 0.04)
    pixels = np.asarray(sample.crop((dx, dy, width - dx, height - dy)), dtype=np.int16)
    if pixels.size == 0:
        return True
    paper = float(np.median(pixels))
    return float(np.count_nonzero(np.abs(pixels - paper) > 40)) / pixels.size < 0.002


def test_a_blank_page_is_told_as_before_from_the_levels_counts() -> None:
    rng = np.random.default_rng(29)
    told = set()
    for index in range(300):
        shape = (int(rng.integers(1, 1400)), int(rng.integers(1, 1400)))
        pixels = np.full(shape, int(rng.integers(0, 256)), np.uint8)
        ink = rng.random(shape) < [0.0, 0.001, 0.003, 0.05, 0.6][index % 5]
        pixels[ink] = rng.integers(0, 256, int(ink.sum()))
        image = Image.fromarray(pixels)
        told.add(is_blank(image))
        assert is_blank(image) == _blank_as_measured_before(image)
    assert told == {True, False}
