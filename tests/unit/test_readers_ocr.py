"""OCR reader: image preparation, the psm policy and page problems (recorded engine), and real tesseract."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from claimflow.errors import DependencyError, DocumentError, ReasonCode
from claimflow.models import BBox, Page, Word
from claimflow.readers import RecordedOcr, TesseractOcr, check_tesseract, read_document, tessapi
from claimflow.readers import ocr as ocr_module
from claimflow.readers.ocr import (
    OCR_BACKEND_ENV,
    assign_lines,
    image_attempts,
    ocr_page,
    prepare_image,
    upscale_small,
)
from claimflow.sniff import FileKind

SROIE = Path("/work/shared/realdocs/sroie")
LINE: list[tuple[str, BBox, float]] = [
    ("TOTAL", (0.1, 0.50, 0.3, 0.52), 0.95),
    ("RM", (0.1, 0.10, 0.15, 0.12), 0.9),
    ("54.50", (0.6, 0.505, 0.8, 0.525), 0.9),
    ("SHOP", (0.2, 0.101, 0.4, 0.121), 0.9),
]
MANY_WORDS = [(f"word{i:02d}", (0.05, 0.02 * i, 0.3, 0.02 * i + 0.015), 0.9) for i in range(20)]


def test_recorded_engine_groups_words_into_lines_in_reading_order() -> None:
    page = RecordedOcr(pages={1: LINE}).ocr_image(Image.new("L", (100, 100)), page=1)
    assert page.text == "RM SHOP\nTOTAL 54.50"
    assert [word.line for word in page.words] == [1, 1, 2, 2]


def test_assign_lines_keeps_boxes_and_confidences() -> None:
    words = [Word("b", (0.5, 0.1, 0.6, 0.2), 0.7), Word("a", (0.1, 0.11, 0.2, 0.21), 0.8)]
    assert assign_lines(words, block=3) == [
        Word("a", (0.1, 0.11, 0.2, 0.21), 0.8, block=3, line=1),
        Word("b", (0.5, 0.1, 0.6, 0.2), 0.7, block=3, line=1),
    ]


@pytest.mark.parametrize(
    ("size", "prepared_size", "doubled_size"),
    [
        ((4961, 7016), (2481, 3508), (2481, 3508)),
        ((463, 1013), (463, 1013), (926, 2026)),
        ((1700, 2200), (1700, 2200), (1700, 2200)),
    ],
)
def test_prepare_image_normalises_resolution(
    size: tuple[int, int], prepared_size: tuple[int, int], doubled_size: tuple[int, int]
) -> None:
    image = Image.new("RGB", size, "white")
    image.info["dpi"] = (600, 600)
    prepared = prepare_image(image)
    assert prepared.size == prepared_size and prepared.mode == "L"
    assert prepared.info["dpi"][0] == pytest.approx(600 * prepared_size[0] / size[0], rel=0.01)
    doubled = upscale_small(prepared)
    assert doubled.size == doubled_size
    assert doubled.info["dpi"][0] == pytest.approx(600 * doubled_size[0] / size[0], rel=0.01)


def test_prepare_image_applies_exif_rotation_and_flattens_transparency() -> None:
    image = Image.new("RGBA", (1200, 1500), (0, 0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: the upright image is 1500 x 1200
    image.info["exif"] = exif.tobytes()
    prepared = prepare_image(image)
    assert prepared.size == (1500, 1200)
    assert prepared.getpixel((10, 10)) == 255  # transparent became white, not black


def test_prepare_image_keeps_an_upright_grey_page_without_copying_it() -> None:
    # no EXIF turn, already grey, not 600 dpi: nothing to do, so no copy of every pixel (speed14)
    image = Image.new("L", (1200, 1500), 255)
    assert prepare_image(image) is image
    exif = Image.Exif()
    exif[0x0112] = 1  # upright as stored
    image.info["exif"] = exif.tobytes()
    assert prepare_image(image) is image
    turned = Image.new("L", (1200, 1500), 255)
    exif[0x0112] = 3  # upside down: turned, a new image
    turned.info["exif"] = exif.tobytes()
    assert prepare_image(turned) is not turned


def test_load_frames_reads_single_and_multi_frame_images(tmp_path: Path) -> None:
    single = tmp_path / "one.png"
    Image.new("L", (60, 40), 200).save(single)
    [(image, size)] = ocr_module.load_frames(single)
    assert size == (60, 40) and image.getpixel((5, 5)) == 200  # usable once its file is closed
    multi = tmp_path / "two.tiff"
    first, second = Image.new("L", (60, 40), 10), Image.new("L", (30, 20), 250)
    first.save(multi, save_all=True, append_images=[second])
    frames = ocr_module.load_frames(multi)
    assert [(f.getpixel((1, 1)), s) for f, s in frames] == [(10, (60, 40)), (250, (30, 20))]


def test_good_first_pass_is_not_retried() -> None:
    engine = RecordedOcr(pages={1: MANY_WORDS})
    page = ocr_page(engine, image_attempts(Image.new("L", (500, 800))), page=1)
    assert engine.calls == [(1, 6)]
    assert page.problems == []


@dataclass
class ScriptedOcr:
    """Returns a scripted page per call, recording the image size and psm of each call."""

    script: list[list[tuple[str, BBox, float]]]
    calls: list[tuple[tuple[int, int], int]] = field(default_factory=list)

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
        self.calls.append((image.size, psm))
        words = self.script[len(self.calls) - 1]
        return RecordedOcr(pages={page: words}).ocr_image(image, page=page, psm=psm)


def test_thin_small_image_is_retried_doubled_then_sparse_and_the_best_kept() -> None:
    engine = ScriptedOcr([[], LINE, [("x", (0.1, 0.1, 0.2, 0.2), 0.5)]])
    page = ocr_page(engine, image_attempts(Image.new("L", (500, 800))), page=1)
    assert engine.calls == [((500, 800), 6), ((1000, 1600), 6), ((1000, 1600), 11)]
    assert page.text == "RM SHOP\nTOTAL 54.50"


def test_weak_page_retries_skip_sparse_text_once_a_pass_found_text() -> None:
    # the weak-page retries: psm 11 finds text psm 6 missed, it does not read poorly read text better
    weak = [(f"w{i:02d}x", (0.05, 0.02 * i, 0.3, 0.02 * i + 0.015), 0.3) for i in range(20)]
    engine = ScriptedOcr([[], weak, MANY_WORDS])
    page = ocr_page(engine, image_attempts(Image.new("L", (500, 800))), page=1, text_found=True)
    assert engine.calls == [((500, 800), 6), ((1000, 1600), 6)]
    assert page.text.startswith("w00x")
    empty = ScriptedOcr([[], [], LINE])  # nothing found yet: the sparse pass is still tried
    ocr_page(empty, image_attempts(Image.new("L", (500, 800))), page=1, text_found=True)
    assert [psm for _, psm in empty.calls] == [6, 6, 11]


def test_thin_large_image_is_retried_sparse_at_the_same_size() -> None:
    engine = ScriptedOcr([LINE, MANY_WORDS])
    page = ocr_page(engine, image_attempts(Image.new("L", (1500, 2000))), page=1)
    assert engine.calls == [((1500, 2000), 6), ((1500, 2000), 11)]
    assert page.text.startswith("word00")


def test_low_confidence_and_blank_pages_get_problems() -> None:
    low = [(text, box, 0.3) for text, box, _ in MANY_WORDS]
    image = Image.new("L", (10, 10))
    page = ocr_page(RecordedOcr(pages={1: low}), [(lambda: image, 6)], page=1)
    assert [(p.code, p.page) for p in page.problems] == [(ReasonCode.OCR_LOW_CONFIDENCE, 1)]
    blank = ocr_page(RecordedOcr(), image_attempts(image), page=2)
    assert [(p.code, p.page) for p in blank.problems] == [(ReasonCode.PAGE_BLANK, 2)]


def _tiff(path: Path, pages: int) -> None:
    """Write a TIFF whose first page is blank paper and whose other pages carry a few lines of ink."""
    frames = [Image.new("L", (1200, 1600), 255) for _ in range(pages)]
    for frame in frames[1:]:
        for top in range(200, 1400, 60):
            frame.paste(0, (150, top, 1050, top + 12))
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:])


def test_multi_page_tiff_reads_every_page(tmp_path: Path) -> None:
    path = tmp_path / "fax.tif"
    _tiff(path, 3)
    engine = RecordedOcr(pages={2: MANY_WORDS}, failures={3: ReasonCode.OCR_FAILED})
    document = read_document(path, FileKind.TIFF, engine)
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert [(page.width, page.height) for page in document.pages] == [(1200, 1600)] * 3
    assert [[p.code for p in page.problems] for page in document.pages] == [
        [ReasonCode.PAGE_BLANK],
        [],
        [ReasonCode.OCR_FAILED],
    ]
    assert document.pages[1].text.startswith("word00")
    assert [page for page, _ in engine.calls] == [2, 3]  # the blank first page was not OCR'd


@pytest.mark.parametrize("name", ["cut.jpg", "noise.png"])
def test_corrupt_images_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "cut.jpg":
        path.write_bytes((SROIE / "img/000.jpg").read_bytes()[:5000])
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    with pytest.raises(DocumentError) as info:
        read_document(path, FileKind.JPEG if name.endswith("jpg") else FileKind.PNG, RecordedOcr())
    assert info.value.reason_code is ReasonCode.IMAGE_CORRUPT
    assert name in info.value.message and info.value.__cause__ is not None


def test_tesseract_engine_limits_openmp_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    TesseractOcr(timeout_seconds=5)
    assert os.environ["OMP_THREAD_LIMIT"] == "1"


def test_missing_tesseract_is_a_dependency_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pytesseract.pytesseract.tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(DependencyError) as info:
        check_tesseract()
    assert "apt-get install" in info.value.message
    page = RecordedOcr().ocr_image(Image.new("L", (5, 5)), page=1)  # the fake engine needs no binary
    assert page.words == []
    with pytest.raises(DependencyError):
        TesseractOcr(backend="cli").ocr_image(Image.new("L", (50, 20), 255), page=1)


def test_without_the_library_the_engine_falls_back_to_the_cli_or_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ocr_module, "api_available", lambda: False)
    assert TesseractOcr().backend == "cli"
    with pytest.raises(DependencyError) as info:
        TesseractOcr(backend="api")
    assert "apt-get install" in info.value.message
    monkeypatch.setenv(OCR_BACKEND_ENV, "fast")
    with pytest.raises(DependencyError) as bad:
        TesseractOcr()
    assert OCR_BACKEND_ENV in bad.value.message


def test_backend_setting_forces_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OCR_BACKEND_ENV, "cli")
    assert TesseractOcr().backend == "cli"


@pytest.mark.ocr
def test_check_tesseract_returns_a_version() -> None:
    assert check_tesseract().startswith("5.")


@pytest.mark.ocr
@pytest.mark.parametrize("backend", ["api", "cli"])
def test_tesseract_timeout_is_a_problem_on_the_page(backend: str) -> None:
    image = prepare_image(Image.open(SROIE / "img/000.jpg"))
    page = TesseractOcr(timeout_seconds=0.01, backend=backend).ocr_image(image, page=4)
    assert page.words == []
    assert [(p.code, p.page) for p in page.problems] == [(ReasonCode.OCR_TIMEOUT, 4)]


@pytest.mark.ocr
@pytest.mark.parametrize(("name", "psm"), [("020", 6), ("100", 11), ("340", 4)])
def test_in_process_library_reads_what_the_cli_reads(name: str, psm: int) -> None:
    image = prepare_image(Image.open(SROIE / f"img/{name}.jpg"))
    api = TesseractOcr(backend="api").ocr_image(image, page=1, psm=psm)
    cli = TesseractOcr(backend="cli").ocr_image(image, page=1, psm=psm)
    assert api.words and api.words == cli.words  # texts, boxes, confidences, block and line numbers


def _dark_band_receipt(size: int, ground: int, text: str = "TOTAL DUE 29.20", font: str = "DejaVuSans") -> Image.Image:
    """A receipt with one line printed light on a dark band (a till's or an invoice's highlighted total)."""
    face = ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{font}.ttf", size)
    image = Image.new("L", (1400, 14 * size), 255)
    draw = ImageDraw.Draw(image)
    y = size
    for line in ("ACME HARDWARE STORE", "Hammer 2 x 12.50 25.00", "Nails 1 x 4.20 4.20"):
        draw.text((60, y), line, font=face, fill=0)
        y += int(size * 1.8)
    draw.rectangle((40, y - size // 3, 80 + int(face.getlength(text)), y + int(size * 1.4)), fill=ground)
    draw.text((60, y), text, font=face, fill=255)
    draw.text((60, y + int(size * 2.2)), "Cash 50.00 Change 20.80", font=face, fill=0)
    return image


@pytest.mark.ocr
@pytest.mark.parametrize("backend", ["api", "cli"])
@pytest.mark.parametrize(
    ("size", "ground", "text", "font"),
    [
        (36, 20, "TOTAL DUE 29.20", "DejaVuSans"),  # read inverted by tesseract itself (line mean < 0.5)
        (14, 20, "TOTAL DUE 29.20", "DejaVuSans"),
        (28, 60, "TOTAL DUE 29.20", "DejaVuSans"),  # upright mean 0.5-0.7: read inverted by _read_dark_lines
        (36, 60, "Total 29.20", "DejaVuSans"),
        (14, 100, "INVOICE", "DejaVuSerif"),
        (14, 140, "INVOICE", "DejaVuSansMono"),  # a mid-grey band
    ],
)
def test_light_text_on_a_dark_band_is_read_as_tesseract_reads_it(
    backend: str, size: int, ground: int, text: str, font: str
) -> None:
    image = _dark_band_receipt(size, ground, text, font)
    default = TesseractOcr(backend=backend, invert_threshold=ocr_module.TESSERACT_INVERT_THRESHOLD)
    assert text in default.ocr_image(image, page=1).text  # what tesseract's defaults read, the engine reads
    read = TesseractOcr(backend=backend).ocr_image(image, page=1)
    lines = read.text.splitlines()
    assert text in lines[3] and lines[4] == "Cash 50.00 Change 20.80" and len(lines) == 5
    band = [w for w in read.words if w.text in text.split()]
    assert band and all(w.bbox[1] > 0.4 and w.bbox[3] < 0.75 for w in band)  # boxes placed back on the page


@pytest.mark.ocr
def test_pool_initialises_its_apis_with_its_variables() -> None:
    image = _dark_band_receipt(28, 60)
    pixels = image.tobytes()

    def text(variables: dict[str, str]) -> str:
        with tessapi.ApiPool(variables).lend("eng") as api:
            return api.read_text(pixels, image.width, image.height, 1, dpi=300, psm=6)

    assert "TOTAL DUE 29.20" in text({})  # tesseract's defaults read the band inverted
    assert "29.20" not in text({"invert_threshold": "0"}) and "Cash 50.00" in text({"invert_threshold": "0"})
    with (
        pytest.raises(tessapi.TessApiError, match="no_such_variable"),
        tessapi.ApiPool({"no_such_variable": "1"}).lend("eng"),
    ):
        pass


@pytest.mark.ocr
def test_in_process_orientation_matches_the_cli() -> None:
    image = prepare_image(Image.open(SROIE / "img/100.jpg")).transpose(Image.Transpose.ROTATE_90)
    api = TesseractOcr(backend="api").detect_orientation(image, page=1)
    cli = TesseractOcr(backend="cli").detect_orientation(image, page=1)
    assert api is not None and cli is not None
    assert (api.rotate, api.script) == (cli.rotate, cli.script) == (90, cli.script)
    assert api.confidence == pytest.approx(cli.confidence, abs=0.01)


@pytest.mark.ocr
def test_loaded_models_outlive_the_worker_threads_that_loaded_them() -> None:
    # the engine's worker threads are new on every run; the models they loaded must be kept for the next run
    engine = TesseractOcr(backend="api")
    image = prepare_image(Image.open(SROIE / "img/020.jpg"))
    first = ThreadPoolExecutor(max_workers=2)
    with first:
        list(first.map(lambda _: engine.ocr_image(image, page=1), range(2)))
    kept = engine._apis.loaded()
    assert set(kept) == {"eng"} and 1 <= kept["eng"] <= 2  # one API per thread reading at the same time
    with ThreadPoolExecutor(max_workers=1) as second:
        read = second.submit(engine.ocr_image, image, page=1).result()
    assert read.words and engine._apis.loaded() == kept  # a new thread borrowed a kept one, none was loaded


def test_pool_lends_an_api_to_one_thread_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []

    class FakeApi:
        def __init__(self, language: str, variables: object = None) -> None:
            made.append(self)

    monkeypatch.setattr(tessapi, "TessApi", FakeApi)
    pool = tessapi.ApiPool()
    with pool.lend("eng") as outer, pool.lend("eng") as inner:
        assert outer is not inner  # in use: a second borrower gets its own
    with pool.lend("eng") as again:
        assert again in (outer, inner)
    assert len(made) == 2 and pool.loaded() == {"eng": 2}


def test_pool_is_filled_ahead_and_lends_the_preloaded_apis(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    class FakeApi:
        def __init__(self, language: str, variables: object = None) -> None:
            made.append(language)

    monkeypatch.setattr(tessapi, "TessApi", FakeApi)
    pool = tessapi.ApiPool()
    assert pool.fill("eng", 2) == 2 and pool.fill("eng", 2) == 0 and pool.fill("osd", 1) == 1
    with pool.lend("eng"), pool.lend("eng"), pool.lend("osd"):
        pass
    assert made == ["eng", "eng", "osd"] and pool.loaded() == {"eng": 2, "osd": 1}


@pytest.mark.ocr
def test_preload_loads_each_model_once_per_copy_and_skips_missing_ones() -> None:
    engine = TesseractOcr(backend="api")
    assert engine.preload(["eng", "xxx_missing", "eng"], copies=2) == 2
    assert engine._apis.loaded() == {"eng": 2}
    assert TesseractOcr(backend="cli").preload(["eng"]) == 0


@pytest.mark.ocr
def test_missing_language_is_a_failed_page_not_a_crash() -> None:
    page = TesseractOcr(backend="api").ocr_image(Image.new("L", (80, 40), 255), page=2, lang="xxx_missing")
    assert [(p.code, p.page) for p in page.problems] == [(ReasonCode.OCR_FAILED, 2)]


SAMPLE_RECEIPTS = ["000", "080", "160", "240", "320", "400", "480", "560"]


@pytest.mark.ocr
@pytest.mark.timeout(180)
def test_receipt_totals_appear_in_tesseract_text() -> None:
    engine = TesseractOcr(timeout_seconds=60)

    def read(name: str) -> tuple[str, str]:
        document = read_document(SROIE / f"img/{name}.jpg", FileKind.JPEG, engine)
        total = json.loads((SROIE / f"key/{name}.json").read_text())["total"]
        return total, document.text

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(read, SAMPLE_RECEIPTS))
    hits = sum(1 for total, text in results if total in text)
    # notes/ocr.md: the total appears verbatim in ~75-81% of psm 6 outputs.
    assert hits >= 5, [(total, total in text) for total, text in results]
    for _, text in results:
        assert len(text) > 100


def test_large_jpeg_is_ocrd_at_half_size_but_reports_its_stored_size(tmp_path: Path) -> None:
    path = tmp_path / "scan600.jpg"
    scan = Image.new("RGB", (4000, 5000), "white")
    scan.paste((0, 0, 0), (400, 400, 3600, 600))  # a bar of ink: a blank page would not be OCR'd at all
    scan.save(path, format="JPEG", dpi=(600, 600))

    sizes: list[tuple[int, int]] = []

    class Spy(RecordedOcr):
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            sizes.append(image.size)
            return super().ocr_image(image, page=page, psm=psm, lang=lang)

    (page,) = read_document(path, FileKind.JPEG, Spy()).pages
    assert sizes[0] == (2000, 2500)
    assert (page.width, page.height) == (4000, 5000)


@pytest.mark.ocr
@pytest.mark.parametrize("backend", ["api", "cli"])
def test_a_whitelist_limits_one_reading_to_its_characters(backend: str) -> None:
    image = Image.new("L", (900, 120), 255)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 48)
    ImageDraw.Draw(image).text((20, 30), "CODE 4711 DATE", fill=0, font=font)
    image.info["dpi"] = (300, 300)
    engine = TesseractOcr(backend=backend)
    assert engine.takes_whitelist
    digits = " ".join(w.text for w in engine.ocr_image(image, page=1, psm=7, whitelist="0123456789").words)
    assert "4711" in digits and not any(c.isalpha() for c in digits)
    after = " ".join(w.text for w in engine.ocr_image(image, page=1, psm=7).words)
    assert "CODE" in after and "DATE" in after  # the whitelist was for that reading only
