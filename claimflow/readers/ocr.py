"""OCR: turn images (scans, photos, rendered PDF pages) into pages of words with boxes and confidences.

This is the only module that imports pytesseract, and the one that owns PIL image handling. The OCR engine is
passed in (`OcrEngine`): `TesseractOcr` runs the tesseract CLI, `RecordedOcr` replays recorded words for fast
tests. The page policy lives here too: resolution normalisation (600-dpi scans halved, small photos retried
doubled), the psm choice with fallback passes, and the per-page problems (failed, timed out, low confidence, blank).
What happens around these passes (blank pages, orientation, small text, skew) is preflight.py's job.
Measured trade-offs behind the numbers: /work/shared/notes/ocr.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

import numpy as np
import pytesseract
from PIL import Image, ImageChops, ImageOps, ImageSequence, UnidentifiedImageError

from claimflow.errors import DependencyError, DocumentError, ReasonCode
from claimflow.models import BBox, Page, Problem, ReadMethod, Word
from claimflow.readers import diacritics, tessapi
from claimflow.readers.cores import CoreBudget
from claimflow.readers.stamps import StampViews, carry, own

logger = logging.getLogger(__name__)

TESSERACT_INSTALL_HINT = "install it with: sudo apt-get install -y tesseract-ocr tesseract-ocr-eng"
PSM_BLOCK = 6
"""Assume one uniform block of text: best on receipts (notes/ocr.md section 2)."""
PSM_SPARSE = 11
"""Sparse text, no order: best on forms (notes/ocr.md section 3)."""
PSM_LINE = 7
"""One line of text (a dark band's line read inverted)."""
MIN_CHARS = 50
"""A pass that yields fewer characters than this is retried with the other psm."""
MIN_MEAN_CONFIDENCE = 0.5
"""A pass whose mean word confidence is below this is retried with the other psm."""
LOW_CONFIDENCE = 0.6
"""A page whose mean word confidence is below this gets an OCR_LOW_CONFIDENCE problem."""
DOWNSCALE_ABOVE_PX = 3000
"""Images wider than this (600-dpi scans) are halved: same accuracy at half the OCR time."""
UPSCALE_BELOW_PX = 1000
"""Images narrower than this (small receipts) are retried doubled: rescues pages that otherwise OCR empty."""
LINE_OVERLAP = 0.5
"""Two words share a line when their vertical centres differ by less than this share of the word height."""
INVERT_THRESHOLD = 0.5
"""Tesseract reads a line again inverted (light text on a dark ground) when its mean output is below this
(`invert_threshold`, tesseract's default 0.7). Lines of dark print read uncertainly (0.5-0.7) are then no longer
recognised twice more (inverted, then upright again): ~6% of the first pass's CPU on the bench's scans (speed8).
Light print on a dark band reads at a mean of 0.40-0.68 upright (most below 0.5); the lines it leaves unread
are read inverted here (`_read_dark_lines`), one small call per run of such words."""
TESSERACT_INVERT_THRESHOLD = 0.7
"""Tesseract's own `invert_threshold` (the bare reader's)."""
DARK_LINE_MARGIN = 0.15
"""A dark run is cut out with this share of its height above and below (twice that left and right)."""
DARK_PIXEL = 160
"""A grey pixel darker than this is ink or a dark ground."""
DARK_WORD_SHARE = (0.55, 0.97)
"""A word whose box is this share dark sits on a dark ground: dark print covers 15-60% of its box (bold
headings the most), light letters on a dark band leave 60-96% of it dark (one read 0.598), a solid blob all of it."""
DARK_RING_SHARE = 0.55
"""... and whose box's outline is this share dark: a band's ground goes round its junk words (0.6-0.99), a dark
print's box is outlined by paper (at most ~0.4; dense CJK characters on a degraded scan 0.45-0.47)."""
DARK_READ_CONFIDENCE = 0.7
"""A run's inverted reading replaces it only when its mean confidence is above this (and above the run's): light
print read inverted reads at 0.9 and more; a CJK character read at 0.0 upright is not replaced by another."""
DARK_WORD_CONFIDENCE = 0.8
"""... and one read below this confidence there may be light print read upright (junk: `uO) 7\\ D)U)`)."""


class OcrEngine(Protocol):
    """Something that reads the words of one image; a failure is a Problem on the page, never an exception."""

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = PSM_BLOCK, lang: str = "eng") -> Page:
        """Return the words of `image` as page `page`, boxes normalised to the image."""
        ...


class WhitelistOcr(Protocol):
    """An engine that can read with only some characters allowed (tesseract's `tessedit_char_whitelist`)."""

    takes_whitelist: bool

    def ocr_image(
        self, image: Image.Image, *, page: int, psm: int = PSM_BLOCK, lang: str = "eng", whitelist: str = ""
    ) -> Page:
        """Return the words of `image`, read with only the characters of `whitelist` (all when empty)."""
        ...


def whitelist_reader(ocr: OcrEngine) -> WhitelistOcr | None:
    """Return `ocr` as an engine that reads with a character whitelist, or None when it cannot (fakes)."""
    return cast(WhitelistOcr, ocr) if getattr(ocr, "takes_whitelist", False) else None


@dataclass(frozen=True, slots=True)
class Orientation:
    """Tesseract's OSD answer: turn the image `rotate` degrees clockwise to make it upright; the script it saw."""

    rotate: int
    confidence: float
    script: str | None = None
    script_confidence: float = 0.0


@runtime_checkable
class OrientationDetector(Protocol):
    """An engine that can also tell which way up a page is (tesseract OSD); optional for fakes."""

    def detect_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        """Return how to turn `image` upright, or None when it cannot tell (too little text, failure)."""
        ...


SCRIPT_OF_LANGUAGE: dict[str, str] = {
    "chi_sim": "Han", "chi_tra": "Han", "jpn": "Japanese", "kor": "Hangul", "rus": "Cyrillic", "ukr": "Cyrillic",
    "bul": "Cyrillic", "srp": "Cyrillic", "ell": "Greek", "heb": "Hebrew", "ara": "Arabic", "fas": "Arabic",
    "hin": "Devanagari", "tha": "Thai",
}  # fmt: skip
"""The OSD script of each non-Latin tesseract language: what lets a page choose its language before its type."""
DEFAULT_LANGUAGE = "eng"


def script_languages(languages: Iterable[str]) -> dict[str, str]:
    """Return OSD script -> tesseract language string (`chi_sim`) for the non-Latin `languages`.

    The script's own models are used without `+eng`: chi_sim reads Latin letters and digits itself, and on
    generated 理赔申请书 scans `chi_sim+eng` read Chinese labels as Latin junk (保单号 -> `RES`, 大写 -> `AS`)
    where `chi_sim` read them right, at about 0.6x the time. Latin-script languages other than English
    cannot be told apart by OSD and are not listed.
    """
    by_script: dict[str, list[str]] = {}
    for language in languages:
        script = SCRIPT_OF_LANGUAGE.get(language)
        if script is not None and language not in by_script.setdefault(script, []):
            by_script[script].append(language)
    return {script: "+".join(names) for script, names in by_script.items()}


@functools.cache
def installed_languages() -> frozenset[str] | None:
    """Return the languages tesseract has traineddata for, or None when tesseract is not installed.

    Script models (`HanS`, Debian's tesseract-ocr-script-hans) are listed too: pytesseract's own list keeps
    only lower-case names, so tesseract's list is read again for the capitalised ones.
    """
    try:
        names = {str(name) for name in pytesseract.get_languages(config="")}
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError):
        return None
    return frozenset(names | _script_models())


def _script_models() -> set[str]:
    """Return the script models (capitalised names) in tesseract's data folder, as `tesseract --list-langs` does."""
    try:
        done = subprocess.run(
            [pytesseract.pytesseract.tesseract_cmd, "--list-langs"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.strip() for line in done.stdout.splitlines()[1:] if line.strip()[:1].isupper() and "/" not in line}


def check_tesseract() -> str:
    """Return the tesseract version; raise DependencyError with the install command when it is missing."""
    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError as exc:
        raise DependencyError(f"tesseract is not installed or not on PATH; {TESSERACT_INSTALL_HINT}") from exc


OCR_BACKEND_ENV = "CLAIMFLOW_OCR_BACKEND"
"""`cli` forces the tesseract CLI (pytesseract) even where the library loads in-process; `api` requires the library."""


def api_available() -> bool:
    """Return True when OCR can run in-process (the system's libtesseract loads with its C API)."""
    return tessapi.library() is not None


class TesseractOcr:
    """OCR with tesseract: in-process (the system library's C API, one API per worker thread), else the CLI.

    The in-process path (tessapi.py) runs the library the CLI runs, with the same models, so it reads the same
    words; it saves the CLI's fixed cost per call (process start and model load, ~0.1 s: +50% on a small
    receipt, notes/ocr.md 1b) and the image hand-over through a file, which dominated the small band and region
    images of second readings. Both paths give the same TSV columns, turned into words by the same code, and
    both honour the per-call timeout. CLAIMFLOW_OCR_BACKEND=cli forces the CLI.
    """

    takes_whitelist = True
    """`ocr_image` takes a character whitelist (WhitelistOcr)."""

    def __init__(
        self,
        timeout_seconds: float = 120.0,
        languages: Sequence[str] = (DEFAULT_LANGUAGE,),
        *,
        backend: str | None = None,
        invert_threshold: float = INVERT_THRESHOLD,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.invert_threshold = invert_threshold
        self.script_languages = script_languages(languages)
        """Script -> language string for pages whose OSD script is not Latin (empty: every page is read as eng)."""
        # The Debian tesseract is built with OpenMP; on 2 vCPUs it thrashes and runs 3.5-5x slower
        # (notes/ocr.md 1a). pytesseract's subprocess inherits os.environ, so set it there.
        os.environ["OMP_THREAD_LIMIT"] = "1"
        wanted = (backend or os.environ.get(OCR_BACKEND_ENV) or "auto").strip().lower()
        if wanted not in ("auto", "api", "cli"):
            raise DependencyError(f"{OCR_BACKEND_ENV} must be auto, api or cli, not {wanted!r}")
        if wanted == "api" and not api_available():
            raise DependencyError(
                f"the tesseract library (libtesseract.so.5) cannot be loaded in-process; {TESSERACT_INSTALL_HINT}"
            )
        self.backend = "api" if wanted != "cli" and api_available() else "cli"
        """`api` (libtesseract in this process) or `cli` (a tesseract subprocess per call)."""
        self._apis = tessapi.ApiPool({"invert_threshold": f"{invert_threshold:g}"})
        """The in-process APIs, per language, kept across calls and worker threads (loading one costs 0.15-0.25 s)."""
        self.cores = CoreBudget()
        """The cores the documents read through this engine share: a document's independent reads borrow an idle
        one (`SharedOcr.map`; `pipeline.read_and_extract` counts each document being read)."""

    def preload(self, languages: Iterable[str], *, copies: int = 1) -> int:
        """Load the models of `languages` (`osd` too) now, `copies` of each; return how many were loaded.

        A long-running engine loads each model once, on first use (0.15-0.25 s each); this pays that up front,
        for a bench that times steady reading or a service that wants its first pages as fast as the rest.
        A language that cannot be loaded is skipped: the page that needs it gets the OCR problem then.
        Nothing to do for the CLI backend, which loads the model on every call.
        """
        if self.backend != "api":
            return 0
        loaded = 0
        for language in dict.fromkeys(languages):
            try:
                loaded += self._apis.fill(language, copies)
            except tessapi.TessApiError:
                logger.info("model %s could not be preloaded", language)
        return loaded

    def ocr_image(
        self, image: Image.Image, *, page: int, psm: int = PSM_BLOCK, lang: str = "eng", whitelist: str = ""
    ) -> Page:
        """Return the words of `image` with tesseract's boxes, confidences and block/line numbers.

        `whitelist` (not part of OcrEngine; see WhitelistOcr): the only characters tesseract may read.
        """
        width, height = image.size
        result = Page(number=page, width=float(width), height=float(height), method=ReadMethod.OCR)
        if image.mode not in ("1", "L", "RGB"):
            image = image.convert("RGB")
        data = (
            self._api_data(image, page=page, psm=psm, lang=lang, problems=result.problems, whitelist=whitelist)
            if self.backend == "api"
            else self._cli_data(image, page=page, psm=psm, lang=lang, problems=result.problems, whitelist=whitelist)
        )
        if data is not None:
            words = _words_from_tesseract(data, width, height)
            pixels = GreyPixels(image)  # the dark-line and accent checks read the same grey pixels
            if self.invert_threshold < TESSERACT_INVERT_THRESHOLD:
                words = self._read_dark_lines(image, words, lang=lang, whitelist=whitelist, pixels=pixels)
            result.words = check_accents(image, words, lang, pixels=pixels)
        return result

    def _read_dark_lines(
        self, image: Image.Image, words: list[Word], *, lang: str, whitelist: str, pixels: GreyPixels | None = None
    ) -> list[Word]:
        """Return `words` with each run of light print on a dark ground read inverted, when that reads better.

        What tesseract does for a line whose mean output is below its `invert_threshold`, done here only where
        weak words sit on a dark ground (`_dark_runs`): each run's box (with a margin) is cut out, inverted and
        read as one line (psm 7: psm 6 reads nothing on a small cut of grey ground), and the run's words are
        replaced by what its cut reads when that has the higher mean confidence.
        """
        runs = _dark_runs(image, words, pixels)
        if not runs:
            return words
        width, height = image.size
        grey = grey_view(image)
        cuts: list[tuple[tuple[int, int, int, int], Image.Image]] = []
        for run in runs:
            x0, y0 = min(w.bbox[0] for w in run), min(w.bbox[1] for w in run)
            x1, y1 = max(w.bbox[2] for w in run), max(w.bbox[3] for w in run)
            margin = (y1 - y0) * height * DARK_LINE_MARGIN
            box = (
                max(0, int(x0 * width - 2 * margin)),
                max(0, int(y0 * height - margin)),
                min(width, int(x1 * width + 2 * margin) + 1),
                min(height, int(y1 * height + margin) + 1),
            )
            cuts.append((box, ImageOps.invert(grey.crop(box))))
        replaced: dict[int, list[Word]] = {}
        for run, (box, cut) in zip(runs, cuts, strict=True):
            if "dpi" in image.info:
                cut.info["dpi"] = image.info["dpi"]
            data = self._data(cut, psm=PSM_LINE, lang=lang, whitelist=whitelist)
            found = _words_from_tesseract(data, cut.width, cut.height) if data is not None else []
            if not found or _mean(found) <= max(_mean(run), DARK_READ_CONFIDENCE):
                continue
            left, top, wide, high = box[0] / width, box[1] / height, cut.width / width, cut.height / height
            replaced[id(run[0])] = [
                Word(
                    w.text,
                    clamp_bbox(
                        (
                            left + w.bbox[0] * wide,
                            top + w.bbox[1] * high,
                            left + w.bbox[2] * wide,
                            top + w.bbox[3] * high,
                        )
                    ),
                    w.confidence,
                    block=run[0].block,
                    line=run[0].line,
                )
                for w in found
            ]
            replaced.update((id(w), []) for w in run[1:])
        if not replaced:
            return words
        out: list[Word] = []
        for word in words:
            out.extend(replaced.get(id(word), [word]))
        return out

    def _data(self, image: Image.Image, *, psm: int, lang: str, whitelist: str) -> dict[str, list[object]] | None:
        """Return tesseract's columns for `image` (None when the call failed: it is then not used)."""
        problems: list[Problem] = []
        if self.backend == "api":
            return self._api_data(image, page=0, psm=psm, lang=lang, problems=problems, whitelist=whitelist)
        return self._cli_data(image, page=0, psm=psm, lang=lang, problems=problems, whitelist=whitelist)

    def _cli_data(
        self, image: Image.Image, *, page: int, psm: int, lang: str, problems: list[Problem], whitelist: str = ""
    ) -> dict[str, list[object]] | None:
        """Run the tesseract CLI on `image`; return image_to_data's columns, or None with a problem added."""
        config = f"--psm {psm} -c invert_threshold={self.invert_threshold:g}"
        config += f" -c tessedit_char_whitelist={whitelist}" if whitelist else ""
        try:
            with _as_bmp(image) as source:
                data: dict[str, list[object]] = pytesseract.image_to_data(
                    str(source),
                    lang=lang,
                    config=config,
                    timeout=self.timeout_seconds,
                    output_type=pytesseract.Output.DICT,
                )
                return data
        except pytesseract.TesseractNotFoundError as exc:
            raise DependencyError(f"tesseract is not installed or not on PATH; {TESSERACT_INSTALL_HINT}") from exc
        except RuntimeError as exc:
            # pytesseract signals its own timeout as a bare RuntimeError; TesseractError is also one.
            problems.append(self._failure(page, timed_out=not isinstance(exc, pytesseract.TesseractError)))
            return None

    def _api_data(
        self, image: Image.Image, *, page: int, psm: int, lang: str, problems: list[Problem], whitelist: str = ""
    ) -> dict[str, list[object]] | None:
        """Recognise `image` in-process; return image_to_data's columns, or None with a problem added."""
        pixels, depth = _raw_pixels(image)
        dpi = _dpi_of(image)[0]
        timeout_ms = int(self.timeout_seconds * 1000)
        started = time.monotonic()
        try:
            with self._apis.lend(lang) as api:
                started = time.monotonic()
                tsv = api.read_tsv(
                    pixels,
                    image.width,
                    image.height,
                    depth,
                    dpi=dpi,
                    psm=psm,
                    timeout_ms=timeout_ms,
                    whitelist=whitelist,
                )
        except tessapi.TessApiError:  # the language's traineddata is missing or unreadable
            problems.append(self._failure(page, timed_out=False))
            return None
        if tsv is None:
            problems.append(self._failure(page, timed_out=time.monotonic() - started >= self.timeout_seconds))
            return None
        return _tsv_columns(tsv)

    def _failure(self, page: int, *, timed_out: bool) -> Problem:
        """Return the problem of a failed or timed-out OCR call on page `page` (and log it, without content)."""
        if timed_out:
            logger.warning("tesseract timed out on page %d after %.0f s", page, self.timeout_seconds)
            return Problem(
                ReasonCode.OCR_TIMEOUT,
                f"OCR timed out on page {page} after {self.timeout_seconds:.0f} s; review the page by eye",
                page=page,
            )
        logger.warning("tesseract failed on page %d", page)
        return Problem(ReasonCode.OCR_FAILED, f"OCR failed on page {page}; check the scan by eye", page=page)

    def detect_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        """Return tesseract's OSD answer for `image`, or None when OSD finds too little text or fails."""
        if image.mode not in ("1", "L", "RGB"):
            image = image.convert("RGB")
        if self.backend == "api":
            return self._api_orientation(image, page=page)
        try:
            with _as_bmp(image) as source:
                osd = pytesseract.image_to_osd(
                    str(source), config="--psm 0", timeout=self.timeout_seconds, output_type=pytesseract.Output.DICT
                )
        except pytesseract.TesseractNotFoundError as exc:
            raise DependencyError(f"tesseract is not installed or not on PATH; {TESSERACT_INSTALL_HINT}") from exc
        except RuntimeError as exc:
            # "Too few characters" is the usual one: a sparse or empty page; the caller keeps the first reading.
            logger.info("orientation detection gave no answer on page %d (%s)", page, type(exc).__name__)
            return None
        try:
            script = str(osd.get("script") or "") or None
            return Orientation(
                int(osd["rotate"]) % 360,
                float(osd["orientation_conf"]),
                script,
                float(osd.get("script_conf") or 0.0),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def _api_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        """Return the in-process OSD answer (the library gives the text's turn; the fix is the opposite turn)."""
        pixels, depth = _raw_pixels(image)
        try:
            with self._apis.lend("osd") as api:
                found = api.orientation(pixels, image.width, image.height, depth, dpi=_dpi_of(image)[0])
        except tessapi.TessApiError:
            logger.info("orientation detection unavailable (no osd model) for page %d", page)
            return None
        if found is None:
            logger.info("orientation detection gave no answer on page %d", page)
            return None
        return Orientation((360 - found.degrees) % 360, found.confidence, found.script, found.script_confidence)


def _raw_pixels(image: Image.Image) -> tuple[bytes, int]:
    """Return the 8-bit grey or 24-bit RGB pixel rows of `image` for the library, and the bytes per pixel."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("L" if image.mode == "1" else "RGB")
    return image.tobytes(), 1 if image.mode == "L" else 3


TSV_COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top", "width",
               "height", "conf", "text")  # fmt: skip


def _tsv_columns(tsv: str) -> dict[str, list[object]]:
    """Return tesseract's TSV (the library's, without the CLI's header line) as image_to_data's columns.

    Numbers are truncated to integers as pytesseract does (a confidence of 96.54 is 96), so both paths give
    the same words with the same confidences, and calibrated curves and golden files hold for both.
    """
    columns: dict[str, list[object]] = {name: [] for name in TSV_COLUMNS}
    for row in tsv.splitlines():
        cells = row.split("\t", len(TSV_COLUMNS) - 1)
        if len(cells) < len(TSV_COLUMNS) - 1:
            continue
        cells += [""] * (len(TSV_COLUMNS) - len(cells))
        for name, cell in zip(TSV_COLUMNS, cells, strict=True):
            if name == "text":
                columns[name].append(cell)
                continue
            try:
                columns[name].append(int(float(cell)))
            except ValueError:
                columns[name].append(cell)
    return columns


@contextlib.contextmanager
def _as_bmp(image: Image.Image) -> Iterator[Path]:
    """Yield a temporary BMP file of `image` with its DPI, for the tesseract CLI."""
    with tempfile.TemporaryDirectory(prefix="claimflow-ocr-") as folder:
        # pytesseract would re-encode the image as PNG (up to ~1 s on a 300-dpi page); an
        # uncompressed BMP is written in milliseconds and tesseract reads it as fast.
        source = Path(folder) / "page.bmp"
        # Tesseract sizes its noise filters by DPI; pass the real one when the image knows it.
        image.save(source, format="BMP", dpi=_dpi_of(image))
        yield source


def _dpi_of(image: Image.Image) -> tuple[int, int]:
    """Return the image's resolution from its metadata, or 300 dpi (a typical scan) when it has none."""
    dpi = image.info.get("dpi")
    if not isinstance(dpi, tuple | list) or len(dpi) != 2:
        return (300, 300)
    try:
        x, y = (round(float(value)) for value in dpi)
    except (TypeError, ValueError):
        return (300, 300)
    return (x, y) if x > 0 and y > 0 else (300, 300)


class GreyPixels:
    """An image's grey pixels as a numpy array, made on first use and kept (np.asarray copies every pixel)."""

    def __init__(self, image: Image.Image) -> None:
        self._image = image
        self._array: np.ndarray | None = None

    @property
    def array(self) -> np.ndarray:
        """The grey pixels (rows x columns, uint8); not to be written to."""
        if self._array is None:
            self._array = np.asarray(grey_view(self._image), dtype=np.uint8)
        return self._array


def check_accents(image: Image.Image, words: list[Word], lang: str, *, pixels: GreyPixels | None = None) -> list[Word]:
    """Return `words` with the confidence of words that likely lost an accent capped (see diacritics.py).

    `pixels`: the image's grey pixels when the caller has them (or may need them too), else made here if needed.
    """
    grey: np.ndarray | None = None
    lines: dict[tuple[int, int], list[int]] = {}
    for index, word in enumerate(words):
        if diacritics.is_candidate(word.text):
            lines.setdefault((word.block, word.line), []).append(index)
    out = list(words)
    for indexes in lines.values():
        if grey is None:
            grey = (pixels or GreyPixels(image)).array
        height, width = grey.shape
        line = [(words[i].text, _pixel_box(words[i].bbox, width, height)) for i in indexes]
        lost = diacritics.lost_marks(grey, line)
        for i, flagged in zip(indexes, lost, strict=True):
            text, sure = words[i].text, words[i].confidence
            if flagged or diacritics.uncertain_accent(text, lang) or diacritics.umlaut_read_twice(text, sure, lang):
                capped = min(words[i].confidence, diacritics.LOST_MARK_CONFIDENCE)
                out[i] = dataclasses.replace(words[i], confidence=capped)
    return out


def _dark_runs(image: Image.Image, words: Sequence[Word], pixels: GreyPixels | None = None) -> list[list[Word]]:
    """Return the runs of neighbouring words of one line read weakly on a dark ground (light print upright).

    Such a word's box is mostly dark (DARK_WORD_SHARE) and so is its outline (DARK_RING_SHARE).
    """
    weak = [w for w in words if w.confidence < DARK_WORD_CONFIDENCE]
    if not weak:
        return []
    grey = (pixels or GreyPixels(image)).array
    height, width = grey.shape
    low, high = DARK_WORD_SHARE
    dark: set[int] = set()
    for word in weak:
        x0, y0, x1, y1 = _pixel_box(word.bbox, width, height)
        box = grey[y0:y1, x0:x1]
        if not box.size or not low <= np.count_nonzero(box < DARK_PIXEL) / box.size <= high:
            continue
        ring = np.concatenate((box[0], box[-1], box[:, 0], box[:, -1]))
        if np.count_nonzero(ring < DARK_PIXEL) / ring.size >= DARK_RING_SHARE:
            dark.add(id(word))
    runs: list[list[Word]] = []
    previous: Word | None = None
    for word in words:  # tesseract's order: word by word along each line
        if id(word) not in dark:
            previous = None
            continue
        if previous is not None and (previous.block, previous.line) == (word.block, word.line):
            runs[-1].append(word)
        else:
            runs.append([word])
        previous = word
    return runs


def _mean(words: Sequence[Word]) -> float:
    return sum(w.confidence for w in words) / len(words)


def _pixel_box(bbox: BBox, width: int, height: int) -> tuple[int, int, int, int]:
    """Return a normalised box in pixels of an image `width` x `height` (right and bottom inclusive)."""
    return (int(bbox[0] * width), int(bbox[1] * height), int(bbox[2] * width) + 1, int(bbox[3] * height) + 1)


def _words_from_tesseract(data: dict[str, list[object]], width: int, height: int) -> list[Word]:
    """Turn image_to_data's columns into Words; lines are renumbered per block across paragraphs."""
    words: list[Word] = []
    line_ids: dict[tuple[int, int, int], int] = {}
    for i, raw_text in enumerate(data["text"]):
        text = str(raw_text).strip()
        conf = float(str(data["conf"][i]))
        if int(str(data["level"][i])) != 5 or not text or conf < 0:
            continue
        block, par, line = (int(str(data[key][i])) for key in ("block_num", "par_num", "line_num"))
        # Tesseract restarts line_num in each paragraph; Page.text groups by (block, line), so make it unique.
        key = (block, par, line)
        if key not in line_ids:
            line_ids[key] = sum(1 for seen in line_ids if seen[0] == block) + 1
        line_no = line_ids[key]
        left, top = int(str(data["left"][i])), int(str(data["top"][i]))
        right, bottom = left + int(str(data["width"][i])), top + int(str(data["height"][i]))
        bbox = clamp_bbox((left / width, top / height, right / width, bottom / height))
        words.append(Word(text, bbox, min(conf / 100.0, 1.0), block=block, line=line_no))
    return words


@dataclass
class RecordedOcr:
    """A fake engine that replays recorded words per page (text, normalised bbox, confidence) for unit tests.

    `failures` maps a page number to OCR_FAILED or OCR_TIMEOUT to simulate a failing page; `calls` records
    (page, psm) for every call so tests can check the psm policy, with psm 0 for an orientation query
    (answered from `orientations`, None for pages not in it).
    """

    pages: dict[int, list[tuple[str, BBox, float]]] = field(default_factory=dict)
    failures: dict[int, ReasonCode] = field(default_factory=dict)
    calls: list[tuple[int, int]] = field(default_factory=list)
    orientations: dict[int, Orientation] = field(default_factory=dict)

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = PSM_BLOCK, lang: str = "eng") -> Page:
        """Return the recorded words of `page` grouped into lines, or the recorded failure."""
        self.calls.append((page, psm))
        width, height = image.size
        result = Page(number=page, width=float(width), height=float(height), method=ReadMethod.OCR)
        if page in self.failures:
            code = self.failures[page]
            result.problems.append(Problem(code, f"OCR failed on page {page} (recorded)", page=page))
            return result
        words = [Word(text, clamp_bbox(bbox), conf) for text, bbox, conf in self.pages.get(page, [])]
        result.words = assign_lines(words)
        return result

    def detect_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        """Return the recorded orientation of `page` (None when none was recorded)."""
        self.calls.append((page, 0))
        return self.orientations.get(page)


def clamp_bbox(bbox: BBox) -> BBox:
    """Return `bbox` with every coordinate clamped into [0, 1] and x0 <= x1, top <= bottom."""
    x0, top, x1, bottom = (min(max(value, 0.0), 1.0) for value in bbox)
    return (min(x0, x1), min(top, bottom), max(x0, x1), max(top, bottom))


def assign_lines(words: Iterable[Word], *, block: int = 0) -> list[Word]:
    """Return `words` in reading order, numbered into lines of words whose vertical centres are close."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: ((w.bbox[1] + w.bbox[3]) / 2, w.bbox[0])):
        centre = (word.bbox[1] + word.bbox[3]) / 2
        height = max(word.bbox[3] - word.bbox[1], 1e-6)
        if lines:
            last = lines[-1]
            last_centre = statistics.fmean((w.bbox[1] + w.bbox[3]) / 2 for w in last)
            last_height = statistics.fmean(w.bbox[3] - w.bbox[1] for w in last)
            if abs(centre - last_centre) < LINE_OVERLAP * max(min(height, last_height), 1e-6):
                last.append(word)
                continue
        lines.append([word])
    ordered: list[Word] = []
    for number, line in enumerate(lines, start=1):
        for word in sorted(line, key=lambda w: w.bbox[0]):
            ordered.append(Word(word.text, word.bbox, word.confidence, block=block, line=number))
    return ordered


EXIF_ORIENTATION = 0x0112
"""The EXIF tag that says how a camera's image is to be turned or mirrored to be upright."""
TURNING_ORIENTATIONS = frozenset(range(2, 9))
"""Its values that turn or mirror the image (1: upright as stored)."""


def prepare_image(image: Image.Image) -> Image.Image:
    """Return `image` upright, in grayscale, and halved when it is a 600-dpi-like scan (wider than 3000 px)."""
    if image.getexif().get(EXIF_ORIENTATION, 1) in TURNING_ORIENTATIONS:
        image = ImageOps.exif_transpose(image) or image  # (without a turn it only copies every pixel)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    # Grayscale: tesseract reads grey anyway, and it is a third of the pixels to scale and hand over.
    if image.mode != "L":
        image = to_grey(image)
    if image.width > DOWNSCALE_ABOVE_PX:
        # reduce() averages 2x2 boxes, like OpenCV's INTER_AREA, and is much faster than a resampling filter.
        return carry(image, _with_scaled_dpi(image.reduce(2), image, 0.5), lambda view: view.reduce(2))
    return image


STAMP_MIN_CHANNEL = 60
"""A stamp pixel's darkest channel is above this: translucent ink (solid coloured print is darker in some channel)."""
STAMP_MIN_LIGHTEST = 195
"""... its lightest channel is above this (print seen through a stamp is darker in every channel) ..."""
STAMP_SATURATION = 20
"""... and its channels differ by more than this: it is coloured. Such pixels take their lightest channel."""


SOLID_RATIO = 5
"""Coloured pixels are dropped out only when translucent ones outnumber solid coloured ones this many times
(stamps on the generated corpus: 15-5000x; SROIE receipts with blue print or pen: 0.3-2.5x)."""


def grey_view(image: Image.Image) -> Image.Image:
    """Return `image` in grey for reading its pixels: itself when it is grey already (`convert` would copy it).

    Not to be drawn on: the caller's image is shared.
    """
    return image if image.mode == "L" else image.convert("L")


def to_grey(image: Image.Image) -> Image.Image:
    """Return `image` in grey with translucent coloured ink dropped out: a rubber stamp over a typed value.

    Plain luminance turns a red or blue stamp into grey as dark as faded print, so the stamp's letters merge
    with the value's. A stamp is translucent: its pixels stay light in their lightest channel and fairly light in
    their darkest, while print under it is darker in every channel. Those light, coloured pixels take their
    lightest channel brightened by the stamp's own dimming (paper white: `_lifted`); all
    other pixels (black or solid coloured print, print seen through
    the stamp, dark pen ink) keep their luminance. Measured on a red stamp at 55% over print faded to 45%:
    stamp alone (225, 131, 137), print through it (173, 79, 85), faded print alone (140, 140, 140).
    A page whose stamp was dropped out keeps it in its `info` (`stamps.STAMP_INFO`: the colour page and the
    stamp's mask, references only) for the stamps second look (extract_stamps.py).
    """
    if image.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        return image.convert("L")
    colour = image if image.mode == "RGB" else image.convert("RGB")
    # each pixel's darkest and lightest channel, taken by PIL over the split bands (contiguous: ~30% faster than
    # numpy's minimum/maximum over the strided channel planes of the RGB array, the same values)
    red, green, blue = colour.split()
    low = np.asarray(ImageChops.darker(ImageChops.darker(red, green), blue))
    high = np.asarray(ImageChops.lighter(ImageChops.lighter(red, green), blue))
    spread = high - low  # never negative: high >= low in every pixel
    grey = colour.convert("L")
    stamp = (low > STAMP_MIN_CHANNEL) & (high > STAMP_MIN_LIGHTEST) & (spread > STAMP_SATURATION)
    stamped = int(np.count_nonzero(stamp))
    # Coloured print or pen (a blue receipt stamp, a logo) is mostly solid: dropping its light edges would
    # leave fragments that read as junk words. Drop out only a layer that is mostly translucent.
    if not stamped or stamped < SOLID_RATIO * int(
        np.count_nonzero((low <= STAMP_MIN_CHANNEL) & (spread > 2 * STAMP_SATURATION))
    ):
        out = grey
    else:
        out = Image.fromarray(_lifted(stamp, high, np.asarray(grey)), mode="L")
        # the colour page and the stamp's mask, for a second look with the stamp removed harder (readers/stamps.py)
        own(out, StampViews(colour, stamp))
    if "dpi" in image.info:
        out.info["dpi"] = image.info["dpi"]
    return out


MAX_STAMP_GAIN = 1.25
"""The stamp's dimming of its lightest channel is divided out at most by this much."""


def _lifted(stamp: np.ndarray, high: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """Return the grey page with the stamp's pixels brightened back to the paper under them.

    The lightest channel of a stamp pixel is what lies under the stamp, dimmed by the stamp's ink (a red stamp at
    55% passes 225 of the paper's 245 in red): taken as is, the stamp's outline and letters stay a light grey
    stroke that OCR reads as `~`, `...` or `we` beside the words it crosses (seed 16 receipts: sellers' names
    and addresses under a stamp). The dimming (paper over the stamp's own median lightest level) is divided out;
    print seen through the stamp (darker in every channel) is no stamp pixel and keeps its grey. The stamp's
    blended edges are left as they are: lifting them too (light, somewhat coloured pixels beside the stamp) read
    a stamped receipt total right (seed 16 011) but thinned a SROIE total's digit beside a blue pen circle
    (040: 343.95 read 345.95; JPEG tints print next to coloured ink).
    """
    paper = float(np.median(grey[~stamp])) if np.any(~stamp) else 255.0
    ink = float(np.median(high[stamp]))
    gain = min(MAX_STAMP_GAIN, max(1.0, paper / max(ink, 1.0)))
    brighter = np.minimum(255.0, high.astype(np.float32) * gain).astype(np.uint8)
    return np.where(stamp, brighter, grey)


def upscale_small(image: Image.Image) -> Image.Image:
    """Return `image` doubled (bicubic) when it is narrower than 1000 px, else unchanged."""
    if image.width >= UPSCALE_BELOW_PX:
        return image
    doubled = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    return _with_scaled_dpi(doubled, image, 2.0)


def _with_scaled_dpi(scaled: Image.Image, original: Image.Image, factor: float) -> Image.Image:
    """Return `scaled` with the original's DPI metadata multiplied by `factor` (dropped when unreadable)."""
    dpi = original.info.get("dpi")
    scaled.info.pop("dpi", None)
    if isinstance(dpi, tuple | list) and len(dpi) == 2:
        with contextlib.suppress(TypeError, ValueError):
            scaled.info["dpi"] = (float(dpi[0]) * factor, float(dpi[1]) * factor)
    return scaled


Attempt = tuple[Callable[[], Image.Image], int]
"""One OCR pass: how to make its image (lazily: an upscaled copy costs time) and the psm to use."""


def image_attempts(image: Image.Image) -> list[Attempt]:
    """Return the passes for a photo or scan: psm 6 as is; small images then retry doubled, with psm 6 and 11.

    Doubling small receipts up front lost 3 of 32 SROIE totals here (25 -> 22) while it rescues pages that
    read empty as they are (notes/ocr.md section 2, conclusion 4), so it is a retry, not the first pass.
    """
    if image.width >= UPSCALE_BELOW_PX:
        return [(lambda: image, PSM_BLOCK), (lambda: image, PSM_SPARSE)]
    cache: list[Image.Image] = []

    def doubled() -> Image.Image:
        if not cache:
            cache.append(upscale_small(image))
        return cache[0]

    return [(lambda: image, PSM_BLOCK), (doubled, PSM_BLOCK), (doubled, PSM_SPARSE)]


def ocr_page(engine: OcrEngine, attempts: Sequence[Attempt], *, page: int, text_found: bool = False) -> Page:
    """OCR one page pass by pass until one reads enough, keep the best pass, and add its problems.

    `text_found`: skip a sparse-text pass (psm 11) once an earlier pass of this call read MIN_CHARS characters
    (the weak-page retries ask for it). Sparse segmentation finds text that block segmentation missed; it does
    not read poorly read text better. Measured on the extraction bench's faint receipts (SROIE 420 and 600,
    532 and 884 px wide): doubled psm 6 read 537 and 275 characters at mean confidence 0.35 and 0.26, doubled
    psm 11 then 574 and 87 at 0.33 and 0.30, never the reading kept, at 1-2 s each.
    """
    best: Page | None = None
    found = False
    for make_image, psm in attempts:
        if text_found and found and psm == PSM_SPARSE:
            continue
        result = engine.ocr_image(make_image(), page=page, psm=psm)
        found = found or sum(len(word.text) for word in result.words) >= MIN_CHARS
        if best is None or page_score(result) > page_score(best):
            best = result
        if result.problems or is_good_enough(result):
            # A failed or timed-out pass is not retried: the retry would most likely fail the same way.
            break
    if best is None:
        raise ValueError("ocr_page needs at least one attempt")
    _add_quality_problems(best)
    return best


def page_score(page: Page) -> float:
    """Return characters read times mean confidence: the measure used to keep the better pass."""
    chars = sum(len(word.text) for word in page.words)
    return chars * mean_confidence(page)


def is_good_enough(page: Page) -> bool:
    """Return True when a pass read enough characters with enough confidence not to retry."""
    chars = sum(len(word.text) for word in page.words)
    return chars >= MIN_CHARS and mean_confidence(page) >= MIN_MEAN_CONFIDENCE


def mean_confidence(page: Page) -> float:
    """Return the mean word confidence of `page` (0.0 when it has no words)."""
    return statistics.fmean(word.confidence for word in page.words) if page.words else 0.0


def _add_quality_problems(page: Page) -> None:
    """Add PAGE_BLANK or OCR_LOW_CONFIDENCE to an OCR'd page that has no failure problem already."""
    if page.problems:
        return
    if not page.words:
        page.problems.append(
            Problem(ReasonCode.PAGE_BLANK, f"page {page.number} has no readable text", page=page.number)
        )
        return
    confidence = mean_confidence(page)
    if confidence < LOW_CONFIDENCE:
        page.problems.append(
            Problem(
                ReasonCode.OCR_LOW_CONFIDENCE,
                f"page {page.number} was read with low OCR confidence ({confidence:.2f}); check it by eye",
                page=page.number,
            )
        )


def _decode_large_jpeg_at_half_size(image: Image.Image) -> bool:
    """Let a 600-dpi JPEG decode straight to half size in grey (DCT scaling); return True when it did."""
    width, height = image.size
    if image.format != "JPEG" or width <= DOWNSCALE_ABOVE_PX:
        return False
    dpi = image.info.get("dpi")
    image.draft("L", ((width + 1) // 2, (height + 1) // 2))
    if image.size != (width, height) and isinstance(dpi, tuple) and len(dpi) == 2:
        image.info["dpi"] = (float(dpi[0]) * image.width / width, float(dpi[1]) * image.height / height)
    return image.size != (width, height)


def load_frames(path: Path) -> list[tuple[Image.Image, tuple[int, int]]]:
    """Return every frame of the image at `path`, decoded, with its stored pixel size; corrupt files raise."""
    fix = "re-scan or re-export the image and drop it again"
    try:
        with Image.open(path) as probe:
            probe.verify()
        frames: list[tuple[Image.Image, tuple[int, int]]] = []
        with Image.open(path) as image:
            stored_size = image.size
            drafted = _decode_large_jpeg_at_half_size(image)
            if getattr(image, "n_frames", 1) == 1:
                # one frame: the decoded image itself (a copy of every pixel was ~1-10 ms a page, for nothing)
                image.load()
                frames.append((image, stored_size if drafted else image.size))
            else:
                for frame in ImageSequence.Iterator(image):
                    frame.load()
                    frames.append((frame.copy(), stored_size if drafted else frame.size))
    except Image.DecompressionBombError as exc:
        raise DocumentError(
            f"{path.name}: the image is too large to read safely; scan it at 300 dpi and drop it again",
            reason_code=ReasonCode.IMAGE_CORRUPT,
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DocumentError(
            f"{path.name}: the image is damaged or not an image; {fix}", reason_code=ReasonCode.IMAGE_CORRUPT
        ) from exc
    if not frames:
        raise DocumentError(f"{path.name}: the image has no frames; {fix}", reason_code=ReasonCode.IMAGE_CORRUPT)
    return frames
