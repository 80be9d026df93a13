"""Page preflight: check a page image before and after its first OCR pass, and fix what is cheap to fix.

Before OCR, a near-uniform page (no ink) is called blank and not OCR'd at all, and a tilted page (more than
a degree, by a projection-profile search on a small binarised copy) is straightened: on a form, a few
degrees of tilt put a value beside the wrong label even when every word reads well. After one pass, a page that
reads badly (low mean word confidence, few characters, or sideways word boxes) gets a second look, cheapest
first: orientation (tesseract OSD on a copy of at most ~300 dpi, then the page re-read turned, and the
reading with more confidently read characters kept: OSD is unreliable on small receipts and can be
confidently wrong about 0 vs 180, so its answer is only a candidate that OCR must confirm), then the psm
policy's retries on the upright image, small text (re-read doubled) and skew (searched again on the upright
page when it was not straightened before, re-read straightened). Good first passes cost nothing extra. What was done is
recorded on the page as a `page_rotated` note; when two orientations read too alike to tell which way up
the page is, `page_orientation_uncertain` sends it to a person.
Measured facts behind this: /work/shared/notes/ocr.md section 6 and conclusion 9.
"""

from __future__ import annotations

import functools
import logging
import re
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from claimflow.errors import ReasonCode
from claimflow.models import Page, Problem, ReadMethod
from claimflow.readers.ocr import (
    DEFAULT_LANGUAGE,
    LOW_CONFIDENCE,
    MIN_CHARS,
    PSM_BLOCK,
    UPSCALE_BELOW_PX,
    Attempt,
    OcrEngine,
    Orientation,
    OrientationDetector,
    grey_view,
    image_attempts,
    is_good_enough,
    load_frames,
    mean_confidence,
    ocr_page,
    page_score,
    prepare_image,
)
from claimflow.readers.stamps import carry

logger = logging.getLogger(__name__)

AttemptsFor = Callable[[Image.Image], list[Attempt]]
"""The OCR passes to use for an image (image_attempts for photos and scans, psm 11 then 6 for PDF renders)."""

BLANK_SAMPLE_PX = 600
"""Blank detection looks at a copy at most this many pixels on its longest side."""
BLANK_MARGIN = 0.04
"""Share of each edge ignored by blank detection: scanner borders and punch holes are not content."""
BLANK_INK_CONTRAST = 40
"""A pixel is ink when it is this many grey levels away from the paper (the median grey)."""
BLANK_INK_RATIO = 0.002
"""A page with less ink than this share of its pixels is blank."""
OSD_MAX_PX = 3508
"""OSD runs on a copy at most this long (A4 at 300 dpi): on a 600-dpi page it is 8x cheaper and as right."""
CONFIDENT_WORD = 0.8
"""Orientations are compared by the characters in words read at least this confident."""
MIN_CONFIDENT_CHARS = 20
"""With fewer confident characters in every orientation, the readings cannot tell which way up the page is."""
DECISIVE_MARGIN = 2.0
"""The best orientation must have this many times the confident characters of the next to be taken unseen."""
SMALL_TEXT_PX = 20
"""A weak page whose median word height is below this many pixels is re-read doubled."""
MAX_UPSCALED_PX = 5000
"""Small text is not doubled past this many pixels on the longest side (OCR time grows with area)."""
MAX_SKEW_DEGREES = 5.0
"""Skew is searched within +-this angle; larger turns are OSD's business (90/180/270)."""
MIN_SKEW_DEGREES = 0.5
"""Below this skew tesseract copes by itself; the page is not re-read straightened."""
PRE_STRAIGHTEN_DEGREES = 1.0
"""A page tilted more than this is straightened before its first pass: at 1 degree a value 65 mm right of its
label sits 1.1 mm off the label's line, which line building still joins (more is word search across lines).
Straightening a 300-dpi page costs 0.2-0.5 s, so smaller tilts are left to tesseract and the weak-page path."""
STRAIGHT_READ_KEPT = 0.9
"""A sideways page read again straightened by its tilt measured upright keeps that reading unless it scores below
this share of the reading it replaces (`page_score`): its rows are where the labels' rows are, which a few
characters' score must not outweigh, but a reading that lost much of the page is not taken."""
SKEW_GAIN = 1.1
"""A skew is only reported when its row profile is this much sharper than the page's as it is."""
CONTRAST_CUT = 2.0
"""Percent of the darkest and the lightest pixels ignored when a faint page's greys are stretched."""
WHITE_PAPER = 245
"""A weak page whose median grey (the paper) is at least this light is not stretched."""
SKEW_SAMPLE_PX = 800
"""Skew is estimated on a copy at most this long: 0.2 degree still moves a row end by ~2 px."""


def read_image(path: Path, engine: OcrEngine) -> list[Page]:
    """Return the preflighted, OCR'd pages of a PNG, JPEG or (multi-page) TIFF; raise DocumentError when corrupt."""
    pages: list[Page] = []
    for number, (frame, (width, height)) in enumerate(load_frames(path), start=1):
        pages.append(read_scanned_page(engine, prepare_image(frame), image_attempts, page=number, size=(width, height)))
    return pages


def read_scanned_page(
    engine: OcrEngine, image: Image.Image, attempts_for: AttemptsFor, *, page: int, size: tuple[float, float]
) -> Page:
    """OCR one page image with preflight; `size` is the page's stored (width, height), swapped when read turned."""
    if is_blank(image):
        problem = Problem(ReasonCode.PAGE_BLANK, f"page {page} is blank (no ink found); it was not OCR'd", page=page)
        return Page(page, float(size[0]), float(size[1]), ReadMethod.OCR, problems=[problem])
    # Straighten first: on a form a 4-degree tilt moves a value half a row away from its label, so a page
    # that OCR reads well can still be read wrong. The estimate costs ~50 ms, a pass 1-2 s.
    scanned = image
    straight_by = estimate_skew(image)
    if abs(straight_by) > PRE_STRAIGHTEN_DEGREES:
        image = _straightened(image, straight_by)
    else:
        straight_by = 0.0
    # One pass first: a sideways or upside-down page is turned before the retries are spent on it.
    scripts: dict[str, str] = getattr(engine, "script_languages", None) or {}
    if scripts and isinstance(engine, OrientationDetector):
        engine = _PageEngine(engine)  # remembers OSD's answer, so choosing a language costs no second OSD
    best = ocr_page(engine, attempts_for(image)[:1], page=page)
    turn, notes = 0, list[Problem]()
    failed = _read_failed(best)
    early: list[Problem] = []
    if isinstance(engine, _PageEngine) and not failed:
        best, image, skew = _choose_language(engine, image, best, attempts_for, scripts, page=page)
        if skew:
            early.append(_note(page, f"was read straightened by {skew:+.1f} degrees"))
    if not failed and is_weak(best):
        best, turn, notes = _check_orientation(engine, image, best, attempts_for, page=page)
        upright = _turned(image, turn)
        if turn in (90, 270):
            best, upright, straight_by = _straighten_turned(
                engine, _turned(scanned, turn), best, upright, straight_by, attempts_for, page=page
            )
        rest = attempts_for(upright)[1:]
        if _tall_text(best, upright):  # enlarging reads small text better; this text is not small
            rest = [(make, psm) for make, psm in rest if make().width <= upright.width]
        if rest and not is_good_enough(best):  # the psm policy's own retry rule (ocr_page), unchanged
            again = ocr_page(engine, rest, page=page, text_found=True)
            best = again if page_score(again) > page_score(best) else best
        if is_weak(best):
            best = _check_contrast(engine, upright, best, attempts_for, page=page)
        if is_weak(best):
            best = _check_small_text(engine, upright, best, attempts_for, page=page)
        image = upright
        if is_weak(best) and not straight_by and not early:
            best, straight_by, image = _check_skew(engine, upright, best, attempts_for, page=page)
    if straight_by and best.words:  # a page that reads empty was not read straightened or otherwise
        notes.append(_note(page, f"was read straightened by {straight_by:+.1f} degrees"))
    width, height = (size[1], size[0]) if turn in (90, 270) else size
    best.width, best.height = float(width), float(height)
    best.image = image  # the upright (and straightened) image the words were read from, for second readings
    best.language = engine.language if isinstance(engine, _PageEngine) else DEFAULT_LANGUAGE
    best.problems.extend([*early, *notes])
    return best


MIN_SCRIPT_CONFIDENCE = 0.5
"""OSD's script answer must be at least this confident for a page to be read in another language (Han pages: ~1-3)."""
FOREIGN_WORD_CONFIDENCE = 0.5
"""An English reading with words below this confidence ..."""
FOREIGN_WORD_SHARE = 0.35
"""... making up this share of its words may be another script read as Latin junk: OSD is asked which script."""


class _PageEngine:
    """The engine of one page: OCRs with the page's chosen language and answers OSD once per image size."""

    def __init__(self, engine: OrientationDetector) -> None:
        self.engine = engine
        self.language = DEFAULT_LANGUAGE
        self._answers: dict[tuple[int, int, int], Orientation | None] = {}

    def ocr_image(self, image: Image.Image, *, page: int, psm: int = PSM_BLOCK, lang: str = DEFAULT_LANGUAGE) -> Page:
        """OCR with the page's language (the `lang` asked for is the default one, which the page may override)."""
        ocr: OcrEngine = self.engine  # type: ignore[assignment]  # an OrientationDetector that also reads
        return ocr.ocr_image(image, page=page, psm=psm, lang=self.language if lang == DEFAULT_LANGUAGE else lang)

    def detect_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        """Return OSD's answer for this page image, asking tesseract only the first time."""
        key = (page, *image.size)
        if key not in self._answers:
            self._answers[key] = self.engine.detect_orientation(image, page=page)
        return self._answers[key]


def _choose_language(
    engine: _PageEngine,
    image: Image.Image,
    first: Page,
    attempts_for: AttemptsFor,
    scripts: dict[str, str],
    *,
    page: int,
) -> tuple[Page, Image.Image, float]:
    """Read the page again in the language of its script when OSD says it is one the specs name (Han: chi_sim).

    Only pages whose English reading is weak (which the orientation check asks OSD about anyway, so the
    answer is shared) or mostly junk words are asked; a good English reading costs nothing extra. Since the
    page is read again anyway, an upright but tilted page is straightened first (CJK rows drift apart at a
    few degrees). Returns the reading, the image it was read from and the skew taken out.
    """
    if not is_weak(first) and not _looks_foreign(first):
        return first, image, 0.0
    answer = engine.detect_orientation(_osd_copy(image), page=page)
    confident = answer is not None and answer.script is not None and answer.script_confidence >= MIN_SCRIPT_CONFIDENCE
    language = scripts.get(answer.script or "") if answer is not None and confident else None
    if language is None:
        # OSD misjudges the script of blurred, noisy pages (a degraded Chinese form: `Latin`, 4.5): when the English
        # reading is mostly junk, try the script's language once and keep it only when it reads clearly better
        if not _looks_foreign(first):
            return first, image, 0.0
        return _try_other_scripts(engine, image, first, attempts_for, scripts, page=page)
    engine.language = language
    rotate = answer.rotate if answer is not None else 0
    return _read_in_language(engine, image, attempts_for, page=page, upright=rotate % 360 == 0)


def _try_other_scripts(
    engine: _PageEngine,
    image: Image.Image,
    first: Page,
    attempts_for: AttemptsFor,
    scripts: dict[str, str],
    *,
    page: int,
) -> tuple[Page, Image.Image, float]:
    """Try a junk-looking page in each configured non-Latin language; read it so when a sample reads clearly better.

    The trial reads only a band of the page (TRIAL_BAND of its height, centred on the junk words), so an English
    page that merely reads badly pays about a third of a pass; the whole page is read only when the band
    says so.
    """
    junk = [word for word in first.words if word.confidence < FOREIGN_WORD_CONFIDENCE]
    centre = statistics.median((word.bbox[1] + word.bbox[3]) / 2 for word in junk) if junk else 0.5
    top = min(max(centre - TRIAL_BAND / 2, 0.0), 1.0 - TRIAL_BAND)
    box = (0, round(top * image.height), image.width, round((top + TRIAL_BAND) * image.height))
    band = image.crop(box)
    if "dpi" in image.info:
        band.info["dpi"] = image.info["dpi"]
    inside = [word for word in first.words if top <= (word.bbox[1] + word.bbox[3]) / 2 <= top + TRIAL_BAND]
    english = statistics.fmean(word.confidence for word in inside) if inside else 0.0
    for script, language in scripts.items():
        engine.language = language
        trial = ocr_page(engine, attempts_for(band)[:1], page=page)
        if _script_share(trial, script) >= MIN_SCRIPT_SHARE and mean_confidence(trial) >= english + MIN_CONFIDENCE_GAIN:
            logger.info("page %d: OSD did not say %s but a sample reads better with %s", page, script, language)
            return _read_in_language(engine, image, attempts_for, page=page, upright=True)
    engine.language = DEFAULT_LANGUAGE
    return first, image, 0.0


_SCRIPT_CHARS = {
    "Han": r"[\u3400-\u9fff]", "Japanese": r"[\u3040-\u30ff\u3400-\u9fff]", "Hangul": r"[\uac00-\ud7af]",
    "Cyrillic": r"[\u0400-\u04ff]", "Greek": r"[\u0370-\u03ff]", "Hebrew": r"[\u0590-\u05ff]",
    "Arabic": r"[\u0600-\u06ff]", "Devanagari": r"[\u0900-\u097f]", "Thai": r"[\u0e00-\u0e7f]",
}  # fmt: skip
TRIAL_BAND = 0.3
"""Share of the page height read in another language to decide whether a junk-looking page is in that script."""
MIN_SCRIPT_SHARE = 0.3
"""A reading in another language is kept unasked by OSD only when this share of its letters are of that script ..."""
MIN_CONFIDENCE_GAIN = 0.1
"""... and its mean word confidence beats the English reading's by this much."""


def _script_share(page: Page, script: str) -> float:
    """Return the share of the page's letters that belong to `script`."""
    pattern = re.compile(_SCRIPT_CHARS.get(script, r"(?!)"))
    letters = [char for word in page.words for char in word.text if char.isalpha()]
    return sum(1 for char in letters if pattern.match(char)) / len(letters) if letters else 0.0


def _read_in_language(
    engine: _PageEngine, image: Image.Image, attempts_for: AttemptsFor, *, page: int, upright: bool
) -> tuple[Page, Image.Image, float]:
    """Read the page in the engine's language, straightened first when it is upright but tilted."""
    skew = estimate_skew(image) if upright else 0.0
    if abs(skew) > MIN_SKEW_DEGREES:
        # same frame as the skew check: boxes stay relative to the page
        straight = image.rotate(-skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
        if "dpi" in image.info:
            straight.info["dpi"] = image.info["dpi"]
        image = carry(image, straight, functools.partial(_straightened, skew=skew))
    else:
        skew = 0.0
    # a turned page is read as scanned, then turned by the orientation check, confirmed in this language
    again = ocr_page(engine, attempts_for(image)[:1], page=page)
    logger.info("page %d: read with %s", page, engine.language)
    return again, image, skew


def _looks_foreign(page: Page) -> bool:
    """Return True when many words of an English reading are low-confidence junk (another script read as Latin)."""
    if len(page.words) < 5:
        return False
    low = sum(1 for word in page.words if word.confidence < FOREIGN_WORD_CONFIDENCE)
    return low / len(page.words) >= FOREIGN_WORD_SHARE


def is_blank(image: Image.Image) -> bool:
    """Return True when `image` holds (almost) no ink: too few pixels clearly unlike the paper."""
    sample = grey_view(image)
    factor = max(1, max(sample.size) // BLANK_SAMPLE_PX)
    if factor > 1:
        sample = sample.reduce(factor)
    width, height = sample.size
    dx, dy = int(width * BLANK_MARGIN), int(height * BLANK_MARGIN)
    pixels = np.asarray(sample.crop((dx, dy, width - dx, height - dy)))
    if pixels.size == 0:
        return True
    # The most common grey is the paper; ink is whatever differs clearly from it, darker or (on a
    # negative scan or a fax with inverted polarity) lighter. Both from the levels' counts: the median and the
    # count are numpy's median and count over the pixels (a sort of every pixel), exactly (integer levels).
    counts = np.bincount(pixels.ravel(), minlength=256)
    below = np.cumsum(counts)
    size = pixels.size
    middle = np.searchsorted(below, [(size - 1) // 2, size // 2], side="right")
    paper = (float(middle[0]) + float(middle[1])) / 2
    ink = float(counts[np.abs(np.arange(counts.size) - paper) > BLANK_INK_CONTRAST].sum()) / size
    return ink < BLANK_INK_RATIO


def is_weak(page: Page) -> bool:
    """Return True when a reading needs a second look: low confidence, few characters or sideways words."""
    chars = sum(len(word.text) for word in page.words)
    return chars < MIN_CHARS or mean_confidence(page) < LOW_CONFIDENCE or _has_sideways_words(page)


def _has_sideways_words(page: Page) -> bool:
    """Return True when most words of 3+ characters are taller than wide: text lines run vertically."""
    long_words = [word for word in page.words if len(word.text) >= 3]
    if len(long_words) < 5:
        return False
    tall = sum(
        1
        for word in long_words
        if (word.bbox[3] - word.bbox[1]) * page.height > (word.bbox[2] - word.bbox[0]) * page.width
    )
    return tall > len(long_words) / 2


def _turned(image: Image.Image, clockwise: int) -> Image.Image:
    """Return `image` turned `clockwise` degrees (a multiple of 90) without resampling."""
    transpose = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }.get(clockwise % 360)
    if transpose is None:
        return image
    turned = image.transpose(transpose)
    if "dpi" in image.info:
        turned.info["dpi"] = image.info["dpi"]
    return carry(image, turned, functools.partial(_turned, clockwise=clockwise))


def _osd_copy(image: Image.Image) -> Image.Image:
    """Return `image` reduced to at most OSD_MAX_PX on its longest side (never enlarged: that misleads OSD)."""
    factor = -(-max(image.size) // OSD_MAX_PX)
    return image.reduce(factor) if factor > 1 else image


def _check_orientation(
    engine: OcrEngine, image: Image.Image, first: Page, attempts_for: AttemptsFor, *, page: int
) -> tuple[Page, int, list[Problem]]:
    """Ask OSD which way up the page is, confirm its answer by re-reading, keep the better reading."""
    if not isinstance(engine, OrientationDetector):
        return first, 0, []
    answer = engine.detect_orientation(_osd_copy(image), page=page)
    candidates = {0: first}

    def confirm(turn: int) -> None:
        # One pass is enough to compare orientations; the winner gets the remaining passes afterwards.
        candidates[turn] = ocr_page(engine, attempts_for(_turned(image, turn))[:1], page=page)

    if reads_upright(first) and (answer is None or answer.rotate % 360 in (0, 180)):
        # text read upside down is junk: a reading this confident is the right way up, whatever OSD said of 180
        logger.info("page %d: reads upright (%d confident characters); not tried turned", page, confident_chars(first))
        return first, 0, []
    if answer is not None and answer.rotate % 90 == 0 and answer.rotate % 360:
        confirm(answer.rotate)
        if answer.rotate in (90, 270) and is_weak(candidates[answer.rotate]):
            # OSD can mistake 90 for 270: a sideways page still read badly is tried the other way round.
            confirm((answer.rotate + 180) % 360)
    elif image.width < UPSCALE_BELOW_PX:
        # OSD reads small receipts upside down with high confidence (notes/ocr.md section 6): check 180 by OCR.
        confirm(180)
    if len(candidates) == 1:
        return first, 0, []
    ranked = sorted(candidates.items(), key=lambda item: (confident_chars(item[1]), page_score(item[1])), reverse=True)
    (turn, best), (_, runner_up) = ranked[0], ranked[1]
    osd_text = f"OSD said {answer.rotate} (confidence {answer.confidence:.1f})" if answer else "OSD gave no answer"
    if confident_chars(best) < MIN_CONFIDENT_CHARS:
        # Nothing reads with confidence either way (a faint or tiny page): keep it as it is; the retries and
        # the low-confidence check that follow decide whether a person must look.
        logger.info("page %d: orientation undecidable by OCR (%s); kept as scanned", page, osd_text)
        return first, 0, []
    margin = confident_chars(best) / max(confident_chars(runner_up), 1)
    logger.info("page %d: orientation %d kept, %s, OCR margin %.2f", page, turn, osd_text, margin)
    notes: list[Problem] = []
    if turn:
        notes.append(_note(page, f"was read turned {turn} degrees clockwise ({osd_text}; OCR margin {margin:.2f}x)"))
    if margin < DECISIVE_MARGIN:
        notes.append(
            Problem(
                ReasonCode.PAGE_ORIENTATION_UNCERTAIN,
                f"page {page}: which way up it is is uncertain ({osd_text}; read at {turn} degrees, OCR margin"
                f" only {margin:.2f}x); check the page by eye",
                page=page,
            )
        )
    return best, turn, notes


def confident_chars(page: Page) -> int:
    """Return the characters in words read with confidence >= 0.8: what tells upright text from turned text.

    Chars x mean confidence does not: a sideways receipt reads as many junk characters at low confidence and
    scored 323 against 340 upright (SROIE 560), while its confident characters were 54 against 347.
    """
    return sum(len(word.text) for word in page.words if word.confidence >= CONFIDENT_WORD)


UPRIGHT_SHARE = 0.25
"""A reading with at least this share of its characters in confidently read words (>= CONFIDENT_WORD) ..."""
UPRIGHT_CHARS = 50
"""... and at least this many such characters is the right way up: it is not read again turned 180 degrees."""


def reads_upright(page: Page) -> bool:
    """Return True when a reading is too confident to be of text upside down (then 180 degrees is not tried).

    Text turned over reads as junk: the 32 SROIE receipts read turned 180 degrees had at most 9% of their
    characters in confidently read words (at most 47 characters), read upright 31-85% (the weakest, 260: 99 of
    321 characters, whose OSD said 180 at confidence 2.8, and whose turned reading kept 5). Below this the page
    is read turned as before and the readings compared (OSD is confidently wrong about 0 and 180 on receipts).
    """
    chars = sum(len(word.text) for word in page.words)
    confident = confident_chars(page)
    return confident >= UPRIGHT_CHARS and confident >= UPRIGHT_SHARE * chars


CLEAN_SHARE = 0.9
"""A reading with at least this share of its characters in confidently read words (>= CONFIDENT_WORD) is clean."""


def read_cleanly(page: Page) -> bool:
    """Return True when a page's reading is clean: not weak, and nearly all its characters in confident words.

    Another segmentation mode (psm 4, 11) groups a clean page's words otherwise but reads the same words in the
    same boxes, and extraction rebuilds lines from the boxes: a field the first reading did not find on such a
    page is missing for another reason (no label, a value the spec's pattern does not take), not for the reading.
    Measured on the extraction bench: the one clean page read again whole (an invoice scan, 95% of its characters
    confident) cost two 1.2-3.5 s readings and found nothing; the pages where it found a missing total had 46-72%.
    """
    chars = sum(len(word.text) for word in page.words)
    return bool(chars) and not is_weak(page) and confident_chars(page) >= CLEAN_SHARE * chars


def _note(page: int, what: str) -> Problem:
    """Return the informational note recording how page `page` was read."""
    return Problem(ReasonCode.PAGE_ROTATED, f"page {page} {what}", page=page)


def _check_contrast(engine: OcrEngine, image: Image.Image, best: Page, attempts_for: AttemptsFor, *, page: int) -> Page:
    """Re-read a weak page on grey paper with its greys stretched to full range; return the better reading.

    SROIE 600 (faint dot-matrix print on grey paper, a dark scanner border) read 0 characters as scanned and
    garbage doubled (mean word confidence 0.26); stretched (PIL autocontrast, 2% cut each end) it read at 0.76.
    """
    grey = grey_view(image)
    if float(np.median(np.asarray(grey))) >= WHITE_PAPER:
        return best  # white paper: stretching only darkens the ink, which did not help (SROIE 420)
    stretched = ImageOps.autocontrast(grey, cutoff=CONTRAST_CUT)  # a new image: the page's pixels stay as they are
    if "dpi" in image.info:
        stretched.info["dpi"] = image.info["dpi"]
    again = ocr_page(engine, attempts_for(stretched)[:1], page=page)
    return again if page_score(again) > page_score(best) else best


def _check_small_text(
    engine: OcrEngine, image: Image.Image, best: Page, attempts_for: AttemptsFor, *, page: int
) -> Page:
    """Re-read a weak page doubled when its words are small; return the better reading."""
    heights = [(word.bbox[3] - word.bbox[1]) * image.height for word in best.words]
    if image.width < UPSCALE_BELOW_PX or max(image.size) * 2 > MAX_UPSCALED_PX:
        return best  # small images are already retried doubled by image_attempts; huge ones are not grown
    if heights and statistics.median(heights) >= SMALL_TEXT_PX:
        return best
    doubled = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    if "dpi" in image.info:
        doubled.info["dpi"] = tuple(2 * float(v) for v in image.info["dpi"])
    again = ocr_page(engine, attempts_for(doubled)[:1], page=page)
    return again if page_score(again) > page_score(best) else best


def _tall_text(page: Page, image: Image.Image) -> bool:
    """Return True when a reading found MIN_CHARS characters in words of median height >= SMALL_TEXT_PX pixels.

    Such a page reads badly for another reason than small text (faint or broken print), so an enlarged retry
    reads it no better: SROIE 420 (532 px wide, words 23 px high, mean confidence 0.36) read doubled gave
    537 characters at 0.35 for 544 at 0.36, at 1.6 s, twice the first pass. The same rule as _check_small_text
    for wide pages.
    """
    heights = [(word.bbox[3] - word.bbox[1]) * image.height for word in page.words]
    chars = sum(len(word.text) for word in page.words)
    return chars >= MIN_CHARS and bool(heights) and statistics.median(heights) >= SMALL_TEXT_PX


def _check_skew(
    engine: OcrEngine, image: Image.Image, best: Page, attempts_for: AttemptsFor, *, page: int
) -> tuple[Page, float, Image.Image]:
    """Re-read a weak, visibly skewed page straightened; return the better reading, the skew applied and its image."""
    skew = estimate_skew(image)
    if abs(skew) <= MIN_SKEW_DEGREES:
        return best, 0.0, image
    straight = _straightened(image, skew)
    again = ocr_page(engine, attempts_for(straight), page=page)
    return (again, skew, straight) if page_score(again) > page_score(best) else (best, 0.0, image)


def _straighten_turned(
    engine: OcrEngine,
    upright_scan: Image.Image,
    best: Page,
    upright: Image.Image,
    straight_by: float,
    attempts_for: AttemptsFor,
    *,
    page: int,
) -> tuple[Page, Image.Image, float]:
    """Straighten a page found sideways by its tilt measured upright; return the reading, its image and the tilt.

    The tilt taken out before the first pass was measured on the page as scanned: sideways, its rows run across
    the text lines, and only the lines' ragged ends can line up with them, so the profile's peak is weak or
    wrong (a form tilted -1.2 degrees measured +4.0 sideways, or 0 below the gain a skew needs). Straightened by
    that, the page was read tilted 5.2 degrees: on a form a value then shares its row with the label below it
    (full seed 26 motor 002 rotated: the vehicle registration's 6519 taken as the amount claimed, at 0.99).
    So the tilt is measured again on the scan turned upright (`upright_scan`, the same turn without the first
    straightening) and, when it differs from what was taken out, the page is read again straightened by it,
    like an upright page: one pass, on sideways pages only.
    """
    skew = estimate_skew(upright_scan)
    if abs(skew) <= PRE_STRAIGHTEN_DEGREES:
        skew = 0.0
    if skew == straight_by:
        return best, upright, straight_by
    image = _straightened(upright_scan, skew) if skew else upright_scan
    again = ocr_page(engine, attempts_for(image)[:1], page=page)
    logger.info("page %d: turned upright, read again straightened by %+.1f degrees (not %+.1f): scores %.0f, %.0f",
                page, skew, straight_by, page_score(again), page_score(best))  # fmt: skip
    if _read_failed(again) or page_score(again) < STRAIGHT_READ_KEPT * page_score(best):
        return best, upright, straight_by
    return again, image, skew


def _read_failed(read: Page) -> bool:
    """Return True when tesseract failed or timed out on the pass that gave `read`."""
    return any(p.code in (ReasonCode.OCR_FAILED, ReasonCode.OCR_TIMEOUT) for p in read.problems)


def _straightened(image: Image.Image, skew: float) -> Image.Image:
    """Return `image` turned back by `skew` degrees, keeping its frame and DPI."""
    # Same frame (no expand), so word boxes stay relative to the page; at <= 5 degrees only the corners are lost.
    straight = image.rotate(-skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if "dpi" in image.info:
        straight.info["dpi"] = image.info["dpi"]
    return carry(image, straight, functools.partial(_straightened, skew=skew))  # a stamp's views turned alike


INK_SQUARED = 255 * 255
"""The skew estimate's sharpness is measured on ink pixels of 255 (its step sums, squared: 255^2 x those of 1)."""


def _paper_level(pixels: npt.NDArray[np.int16]) -> float:
    """Return `np.percentile(pixels, 90)` of a grey image's levels (0-255): the paper's grey the skew estimate takes.

    Taken from the levels' counts when the order statistics around the 90% point are one grey (a page's paper:
    numpy's linear interpolation between equal neighbours gives that grey exactly), ~5x faster than numpy's
    partition; otherwise numpy's own percentile.
    """
    size = pixels.size
    if size == 0:
        return float(np.percentile(pixels, 90))
    below = np.cumsum(np.bincount(pixels.ravel(), minlength=256))  # a grey image's levels: never negative
    # the value at 0-based rank r is the first level with more than r pixels at or under it; numpy interpolates
    # between ranks floor(0.9 (size - 1)) and the next, so ranks one either side cover its rounding too
    rank = int(0.9 * (size - 1))
    low, high = np.searchsorted(below, [max(0, rank - 1), min(size - 1, rank + 2)], side="right")
    return float(low) if low == high else float(np.percentile(pixels, 90))


def estimate_skew(image: Image.Image) -> float:
    """Return how many degrees (+ = counter-clockwise, within +-5) the text lines of `image` are tilted.

    Projection profile: the angle at which the rows of a small binarised copy, turned back, give the
    sharpest row-sum profile (text lines and the gaps between them line up with the rows).
    """
    sample = grey_view(image)
    factor = -(-max(sample.size) // SKEW_SAMPLE_PX)
    if factor > 1:
        sample = sample.reduce(factor)
    pixels = np.asarray(sample, dtype=np.int16)
    paper = _paper_level(pixels)
    # ink is 1 (not 255): a row's count of ink pixels fits 16 bits and sums ~3x faster than 255s in 64; the
    # sharpness is the same integer (255^2 x the counts' squared steps)
    ink = Image.fromarray((pixels < paper - BLANK_INK_CONTRAST).view(np.uint8))
    counted = np.uint16 if ink.width <= np.iinfo(np.uint16).max else np.int64

    known: dict[float, float] = {}

    def sharpness(angle: float) -> float:
        # integer sums (exact, as the float sums were) of each angle once: the fine search revisits the coarse one
        key = round(angle, 6)
        if key not in known:
            rotated = np.asarray(ink.rotate(-angle, resample=Image.Resampling.NEAREST))
            rows = rotated.sum(axis=1, dtype=counted).astype(np.int64)
            known[key] = float(np.square(np.diff(rows)).sum() * INK_SQUARED)
        return known[key]

    coarse = max(np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 0.01, 1.0), key=lambda a: sharpness(float(a)))
    fine = max(np.arange(coarse - 0.8, coarse + 0.81, 0.2), key=lambda a: sharpness(float(a)))
    if sharpness(float(fine)) < SKEW_GAIN * sharpness(0.0):
        return 0.0  # no angle lines the rows up clearly better than none: a near-empty page or no text lines
    return round(float(np.clip(fine, -MAX_SKEW_DEGREES, MAX_SKEW_DEGREES)), 1)
