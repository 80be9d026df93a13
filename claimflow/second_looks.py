"""Second looks as one plan: steps propose re-reads for the fields that need them, run under a per-document budget.

After the first extraction of an OCR'd document, several steps may read parts of it again: a drop-out form's
two ink layers (form_layers.py), whole pages with other segmentation modes (extract_reread.read_again), the
boxes of weak region fields (read_regions_again), the lines of weak values enlarged (read_lines_again), words
that lost their accents (extract_accents.py) and values another model must confirm or that lost a closing mark
(extract_confirm.py). Each is a `Look`: it first *proposes* what it would read (`Request`: page, region, scale,
psm, language, whitelist, the fields it serves, the OCR calls it may make and what it is expected to be worth),
then *runs* the requests it is granted. `run_looks` asks the steps in their order (a later step sees what the
earlier ones changed), drops duplicate requests, grants them by expected value while the document's budget of
OCR calls lasts (`Settings.second_look_budget`) and records what each step asked for, got and spent
(`LookRecord`), so a bench or a test can see where second readings went and why.

A re-read is proposed only where a field needs it: it is missing, below the auto-accept threshold *and* the
step can plausibly lift it, or it failed a check. All steps read through one `SharedOcr`, which counts calls per
step and answers a reading asked twice (same pixels, psm and language) from memory; the page images, their grey
copies and crops are shared through the `LookContext`.

A new second look is a class with `name`, `propose` and `run` added to `DEFAULT_LOOKS` (or passed to
`run_looks`); nothing else in the pipeline changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from PIL import Image

from claimflow.extract import taxes_from_sums
from claimflow.extract_accents import read_accents_again
from claimflow.extract_capitals import read_capitals_again, unread_capitals
from claimflow.extract_case import check_case, odd_fields, odd_words
from claimflow.extract_checks import (
    check_alike,
    doubt_currency,
    drop_stale_sums,
    failed_sums,
    guess_table_amounts,
    recheck_sums,
)
from claimflow.extract_clean import read_clean, unsure_values
from claimflow.extract_confirm import confirm_values
from claimflow.extract_figures import read_figures_again, weak_figures
from claimflow.extract_glyphs import lost_characters, lost_spaces
from claimflow.extract_paddle import read_chinese_again, weak_chinese
from claimflow.extract_reread import (
    RegionRereader,
    calibrated,
    missing_dates,
    read_again,
    read_date_lines,
    read_dates_as_digits,
    read_lines_again,
    read_regions_again,
    read_unread_again,
    unread_values,
    weak_dates,
    weak_fields,
    weak_regions,
    weak_values,
)
from claimflow.extract_rows import (
    CODE_CHARS,
    code_doubts,
    j_twins,
    read_code_cells,
    read_code_votes,
    read_letters_again,
    read_rows_again,
    vote_doubts,
    weak_lists,
    weak_tables,
)
from claimflow.extract_stamps import READINGS, missing_fields, read_stamps_again, stamped_pages
from claimflow.extract_tables import cap_borrowed
from claimflow.extract_votes import vote_values, weak_votes
from claimflow.extract_words import (
    check_twin_codes,
    doubtful_codes,
    missing_codes,
    read_codes_alone,
    read_missing_codes,
    read_text_words_alone,
    second_reader,
    sure_twin_codes,
    weak_codes,
    weak_text_words,
)
from claimflow.form_layers import ocr_layer, read_as_layers, read_layers_apart, region_cleaner
from claimflow.models import BBox, Extraction, Field, Page, ReadDocument, ReadMethod
from claimflow.readers import region_image, reread_bands, reread_page, reread_region
from claimflow.readers.cores import CoreBudget
from claimflow.readers.marks import PageMarks
from claimflow.readers.ocr import PSM_BLOCK, OcrEngine, Orientation, OrientationDetector, whitelist_reader
from claimflow.readers.paddle_rec import Reading, RecognizerMissing, recognizer
from claimflow.readers.preflight import read_cleanly
from claimflow.readers.rows import DIGITS, reread_rows
from claimflow.specs import SpecSet

T = TypeVar("T")
R = TypeVar("R")

MISSING = 1.0
"""Expected value of a re-read for a field the first reading did not find (a person must type it otherwise)."""
WEAK_FLOOR = 0.1
"""... at least, for a field read below auto-accept: its shortfall under the threshold, but never nothing."""
CHECK_FAILED = 0.9
"""... for a field that failed a check or needs a second model's word before it may be trusted."""
LAYOUT = 0.8
"""... for reading a drop-out form's layers apart: every field of the form is read from them."""


@dataclass(frozen=True, slots=True)
class Request:
    """One re-read a step wants: what it reads, for which fields, at what cost and expected value."""

    step: str
    fields: tuple[str, ...]
    calls: int
    """The most OCR calls it may make (the budget is charged what it really spends)."""
    value: float
    """Expected value in [0, 1]: the chance it turns a field a person would have to check into one read right."""
    reason: str
    """`missing`, `weak` (below the threshold and liftable by this step), `check` or `layout`."""
    page: int | None = None
    what: str = "page"
    """`page`, `layers`, `region`, `band`, `words`, `rows`."""
    region: BBox | None = None
    scale: float = 1.0
    psm: int | None = None
    language: str | None = None
    whitelist: str | None = None
    safety: bool = False
    """A check that keeps a value from being trusted wrongly (another model's word): granted whatever is left of
    the budget (its calls are still charged). Skipping it would leave a value confident that a check would doubt."""

    def key(self) -> tuple[object, ...]:
        """Return what makes two requests the same reading (the step and fields served aside)."""
        return (self.what, self.page, self.region, self.scale, self.psm, self.language, self.whitelist, self.step)


@dataclass(slots=True)
class LookRecord:
    """What one step asked for, was granted and spent on one document (no personal data: field names only)."""

    step: str
    fields: tuple[str, ...]
    asked: int
    granted: int
    calls: int
    seconds: float
    skipped: tuple[str, ...] = ()
    """Fields whose requests were not granted (over budget)."""
    changed: tuple[str, ...] = ()
    """Fields whose value or confidence the step changed (added, dropped, re-valued, re-scored): a step whose calls
    change nothing is spending them for nothing (benches count its calls apart)."""
    unread: bool = False
    """Granted readings for weak or missing fields, yet the step made no OCR call and had none answered from memory:
    it could not read what it was granted (a page's image not kept, lines too wide to enlarge; `_unread`)."""


class SharedOcr:
    """The OCR engine all second looks read through: counts calls per step, answers repeated readings from memory.

    A reading is the same when the image's pixels, size and mode, the psm and the language are: a crop or page
    read twice by two steps (or a psm the first pass already tried) costs one tesseract call. The memory lives
    as long as one document is read.
    """

    def __init__(self, ocr: OcrEngine) -> None:
        self.ocr = ocr
        self.step = "first"
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        """Thread CPU seconds per step (tesseract runs on the calling thread): what load from other processes
        does not stretch, unlike `seconds` (wall)."""
        self.saved = 0
        """Readings answered from memory."""
        self._memo: dict[tuple[object, ...], list[_Reading]] = {}
        """The readings made (or under way on another thread of `map`: the same reading asked meanwhile waits for
        it), by the images' size and mode and the call's psm, language, page and whitelist."""
        self._lock = threading.Lock()
        self.script_languages: dict[str, str] = dict(getattr(ocr, "script_languages", None) or {})
        self.cores: CoreBudget | None = getattr(ocr, "cores", None)
        """The wrapped engine's shared cores (`readers/cores.py`): `map` borrows an idle one (None: never)."""
        self.helper_cpu: list[float] = []
        """Thread CPU seconds of the helper threads `map` borrowed (the document's reading thread's are its own)."""

    @property
    def takes_whitelist(self) -> bool:
        """True when the wrapped engine reads with a character whitelist (readers/ocr.WhitelistOcr)."""
        return whitelist_reader(self.ocr) is not None

    def ocr_image(
        self, image: Image.Image, *, page: int, psm: int = PSM_BLOCK, lang: str = "eng", whitelist: str = ""
    ) -> Page:
        """Return the words of `image` (from memory when the same pixels were read with the same psm and lang).

        `whitelist` is passed on to an engine that takes one (and ignored by one that does not).
        """
        reader = whitelist_reader(self.ocr) if whitelist else None
        call = (image.size, image.mode, psm, lang, page, whitelist if reader is not None else "")
        mine: _Reading | None
        while True:
            with self._lock:
                readings = self._memo.setdefault(call, [])
                match, digest = _same_pixels(readings, image) if readings else (None, None)
                if match is None:
                    # the first image of its size and mode read so is kept, not hashed: only another one asked the
                    # same way needs telling apart from it (most readings, a page's first pass too, are one of a kind)
                    mine = _Reading(image if digest is None else None, digest)
                    readings.append(mine)
                    break
                if match.page is not None:
                    self.saved += 1
                    known, mine = match.page, None
                    break
                under_way = match.done
            # another thread of `map` reads the same pixels: wait for it (one call, as when read in turn)
            under_way.wait()
        if mine is not None:
            try:
                started, cpu = time.perf_counter(), time.thread_time()
                known = (
                    reader.ocr_image(image, page=page, psm=psm, lang=lang, whitelist=whitelist)
                    if reader is not None
                    else self.ocr.ocr_image(image, page=page, psm=psm, lang=lang)
                )
                self._count(self.step, time.perf_counter() - started, time.thread_time() - cpu)
                with self._lock:
                    mine.page = known
            finally:
                with self._lock:
                    if mine.page is None:  # the reading failed: the next asking reads it itself
                        readings.remove(mine)
                mine.done.set()
        # a fresh copy each time: callers set sizes, images and problems on the page they get
        return dataclasses.replace(known, words=list(known.words), problems=list(known.problems))

    def detect_orientation(self, image: Image.Image, *, page: int) -> Orientation | None:
        """Return the wrapped engine's OSD answer (None when it has no OSD)."""
        if not isinstance(self.ocr, OrientationDetector):
            return None
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return self.ocr.detect_orientation(image, page=page)
        finally:
            self._count(f"{self.step}:osd", time.perf_counter() - started, time.thread_time() - cpu)

    def _count(self, step: str, seconds: float, cpu: float) -> None:
        """Add one OCR call of `step` with its wall and thread CPU seconds."""
        with self._lock:
            self.seconds[step] = self.seconds.get(step, 0.0) + seconds
            self.cpu[step] = self.cpu.get(step, 0.0) + cpu
            self.calls[step] = self.calls.get(step, 0) + 1

    def map(self, read: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return `[read(item) for item in items]` for independent reads, on a borrowed idle core too when free.

        The results (and the calls, answered from memory alike) are those of reading the items in turn; only
        when a read runs changes (`readers/cores.CoreBudget.map`). Without shared cores they are read in turn.
        """
        if self.cores is None:
            return [read(item) for item in items]
        return self.cores.map(read, items, cpu=self.helper_cpu)

    def count_other(self, seconds: float, cpu: float) -> None:
        """Count one reading the current step made with another recognizer than tesseract (its wall and CPU)."""
        self._count(self.step, seconds, cpu)

    def usage(self) -> dict[str, tuple[int, float, float]]:
        """Return per step (`first`, `first:osd`, each look's name) the OCR calls made, their wall and CPU seconds."""
        return {step: (n, self.seconds.get(step, 0.0), self.cpu.get(step, 0.0)) for step, n in self.calls.items()}


@dataclass(slots=True, eq=False)
class _Reading:
    """One image read (or being read) through SharedOcr, kept to answer the same reading asked again."""

    image: Image.Image | None
    """The image, until another of its size and mode is asked the same way (then hashed into `digest`)."""
    digest: bytes | None
    done: threading.Event = field(default_factory=threading.Event)
    page: Page | None = None
    """The reading, once made."""


def _same_pixels(readings: list[_Reading], image: Image.Image) -> tuple[_Reading | None, bytes]:
    """Return the reading of `readings` made from the pixels of `image` (None: none), and their digest.

    The readings' own images are hashed now, once each (images handed to OCR are made for it and not drawn on
    after: a reading's pixels are its image's when it was read).
    """
    digest = _digest(image)
    for reading in readings:
        if reading.digest is None and reading.image is not None:
            reading.digest, reading.image = _digest(reading.image), None
    return next((reading for reading in readings if reading.digest == digest), None), digest


def _digest(image: Image.Image) -> bytes:
    """Return a short hash of an image's pixels (with its size and mode: what makes two readings the same).

    SHA-256 (truncated): the CPU's SHA instructions make it ~3x faster than blake2b here (5.6 against 15 ms
    for a halved 600-dpi page), and every reading of a document, the first pass's too, is hashed.
    """
    return hashlib.sha256(image.tobytes()).digest()[:16]


@dataclass(slots=True)
class LookContext:
    """One document's state while its second looks run; steps read and change `read` and `parts` in place."""

    read: ReadDocument
    parts: list[Extraction]
    specs: SpecSet
    ocr: SharedOcr
    threshold: float
    budget: int
    """OCR calls the second looks may spend on this document in all."""
    spent: int = 0
    records: list[LookRecord] = field(default_factory=list)
    _marks: PageMarks | None = None

    @property
    def marks(self) -> PageMarks:
        """Return the page-image helper (grey copies per page) shared by the accent and confirm steps."""
        if self._marks is None:
            self._marks = PageMarks(self.ocr)
        return self._marks

    @property
    def left(self) -> int:
        """Return the OCR calls still in the budget."""
        return max(0, self.budget - self.spent)

    def shortfall(self, part: Extraction, found: Field) -> float:
        """Return a weak field's re-read value: how far its calibrated confidence is under the threshold."""
        return max(WEAK_FLOOR, self.threshold - calibrated(part, found, self.specs))

    def ocr_pages(self) -> list[Page]:
        """Return the OCR'd pages whose image is kept (the only ones a second look can read)."""
        return [p for p in self.read.pages if p.method is ReadMethod.OCR and isinstance(p.image, Image.Image)]

    def dropout(self) -> bool:
        """Return True when a document of the file has a drop-out form (boxes are read cleaned of the form's ink)."""
        specs = self.specs.specs
        return any(p.document_type in specs and specs[p.document_type].ocr.dropout for p in self.parts)

    def box_reader(self, *, whitelist: str = "", binary: bool = False) -> RegionRereader:
        """Return a reader of one box of a page, enlarged (cleaned of the form's ink on drop-out forms).

        `binary`: a drop-out form's cleaned box is read black and white (`reread_region(binary=True)`).
        """
        ocr, dropout = self.ocr, self.dropout()
        return lambda page, box: reread_region(
            page,
            ocr,
            box,
            clean=region_cleaner(page) if dropout else None,
            whitelist=whitelist,
            # values typed into a black form's boxes sit between its dashed rules; on a page read as layers (a
            # pre-printed form, printed off its boxes) a rule may cross a value, so nothing is split there
            split=dropout and not read_as_layers(page),
            binary=dropout and binary,
        )

    def single(self) -> Extraction | None:
        """Return the one document of a single-document file (None for files holding several)."""
        return self.parts[0] if len(self.parts) == 1 else None


class Look(Protocol):
    """A second look: proposes re-reads for the fields that need them, then runs the ones it is granted."""

    name: str

    def propose(self, ctx: LookContext) -> list[Request]:
        """Return what this step would read now (empty when no field needs it)."""
        ...

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read what was granted and change `ctx.parts` (and `ctx.read`) in place."""
        ...


def _served(requests: Sequence[Request]) -> list[str]:
    """Return the fields the requests serve, in order, once each."""
    return list(dict.fromkeys(name for r in requests for name in r.fields))


def _second_recognizer() -> Callable[[Image.Image], Reading]:
    """Return the second recognizer's reading function, loading its model on first use (once per process)."""
    return recognizer().read


class LayersLook:
    """A drop-out form's pages read as form and data layers (form_layers.read_layers_apart)."""

    name = "layers"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose two layer readings per OCR'd page of a single drop-out form."""
        part = ctx.single()
        spec = ctx.specs.specs.get(part.document_type) if part is not None else None
        if spec is None or not spec.ocr.dropout:
            return []
        fields = tuple(spec.fields)
        return [
            Request(self.name, fields, 2, LAYOUT, "layout", page=p.number, what="layers", psm=11, language=p.language)
            for p in ctx.ocr_pages()
        ]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the layers apart (all pages of the form: the reading is taken as a whole)."""
        ocr = ctx.ocr
        read_layers_apart(ctx.read, ctx.parts, ctx.specs, lambda page, image: ocr_layer(ocr, page, image), ocr.map)


class PagesLook:
    """Missing `reread` fields: whole pages read again with other segmentation modes (extract_reread.read_again)."""

    name = "pages"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose the second segmentation modes for every document with a missing `reread` field.

        Only pages whose first reading is not clean are read again (preflight.read_cleanly): on a clean page
        another segmentation reads the same words in the same boxes.
        """
        pages = [page for page in ctx.ocr_pages() if not read_cleanly(page)]
        if not pages:
            return []
        missing: list[str] = []
        for part in ctx.parts:
            missing += weak_fields(part, ctx.specs, ctx.threshold)
        if not missing:
            return []
        return [
            Request(self.name, tuple(dict.fromkeys(missing)), len(pages) * 2, MISSING, "missing", what="page", psm=4)
        ]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the pages again (psm 4, then 11 when the readings disagree) and let the readings vote."""
        ocr = ctx.ocr

        def reread(page: Page, *, psm: int) -> Page | None:
            return None if read_cleanly(page) else reread_page(page, ocr, psm=psm)

        read_again(ctx.read, ctx.parts, ctx.specs, reread, threshold=ctx.threshold)


class RegionsLook:
    """Weak `reread_region` fields and unread tables: their boxes read again enlarged (read_regions_again)."""

    name = "regions"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one enlarged reading per weak region field and OCR'd page (its box is found on each)."""
        part = ctx.single()
        if part is None:
            return []
        pages = ctx.ocr_pages()
        if not pages:
            return []
        requests = []
        for name in weak_regions(part, ctx.specs, ctx.threshold):
            found = part.fields.get(name)
            reason = "missing" if found is None else "weak"
            value = MISSING if found is None else ctx.shortfall(part, found)
            # a missing value's box on a drop-out form may be read twice (grey, then black and white)
            calls = len(pages) * (2 if found is None and ctx.dropout() else 1)
            requests.append(Request(self.name, (name,), calls, value, reason, what="region"))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted fields' boxes again (cleaned of the form's ink on drop-out forms) and merge.

        On a drop-out form, a box whose cleaned reading found no value is read once more black and white (cms17:
        `read_unread_again`).
        """
        read_regions_again(
            ctx.read,
            ctx.parts,
            ctx.specs,
            ctx.box_reader(),
            threshold=ctx.threshold,
            only=_served(granted),
            each=ctx.ocr.map,
        )
        if ctx.dropout():
            read_unread_again(
                ctx.read,
                ctx.parts,
                ctx.specs,
                ctx.box_reader(binary=True),
                threshold=ctx.threshold,
                only=_served(granted),
                each=ctx.ocr.map,
            )


class DigitsLook:
    """Date boxes the page and their closer reading both left unread, read with digits only (read_dates_as_digits).

    Added by cms7: a pre-printed form's birth date `01 23 79` read `Ol 23 79` on the page and in its box alike.
    One OCR call per missing date field and OCR'd page, only when the OCR engine takes a whitelist.
    """

    name = "digits"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one digits-only reading of each unread date field's box per OCR'd page."""
        part = ctx.single()
        pages = ctx.ocr_pages()
        if part is None or not pages or not ctx.ocr.takes_whitelist:
            return []
        return [
            Request(self.name, (name,), len(pages), MISSING, "missing", what="region", whitelist=DIGITS)
            for name in missing_dates(part, ctx.specs)
        ]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted date boxes with digits only (cleaned of the form's ink on drop-out forms)."""
        read_dates_as_digits(
            ctx.read,
            ctx.parts,
            ctx.specs,
            ctx.box_reader(whitelist=DIGITS),
            threshold=ctx.threshold,
            only=_served(granted),
        )


class DateLinesLook:
    """Date boxes still unread after the digits-only reading, or read weakly: their value's line read alone.

    Added by cms11: a boxed birth date read with its box's captions lost its digits (`10 19 1991` read
    `40-9 oot` in the closer reading, `4 09` with digits only; Courier `11` read `19`); the line alone, without
    the `MM DD YY` captions above it, reads right. One OCR call per still-missing date field and OCR'd page.
    cms12: a date read below the threshold (a rule glued to its year: `10 !19 '1901` taken as 1901-10-19, or
    `10 $31 11945` as 2945-10-31, out of range) is read so too, worth its shortfall (read_date_lines).
    """

    name = "datelines"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one reading of each unread date field's value line per OCR'd page."""
        part = ctx.single()
        pages = ctx.ocr_pages()
        if part is None or not pages:
            return []
        weak = [
            Request(
                self.name,
                (name,),
                len(pages),
                ctx.shortfall(part, part.fields[name]),
                "weak",
                what="band",
                psm=7,
            )
            for name in weak_dates(part, ctx.specs, ctx.threshold)
        ]
        return [
            Request(self.name, (name,), len(pages), MISSING, "missing", what="band", psm=7)
            for name in missing_dates(part, ctx.specs)
        ] + weak

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted date fields' value lines alone (cleaned of the form's ink on drop-out forms)."""
        ocr, dropout = ctx.ocr, ctx.dropout()
        read_date_lines(
            ctx.read,
            ctx.parts,
            ctx.specs,
            lambda page, box, band: reread_region(
                page,
                ocr,
                box,
                psm=7,
                clean=region_cleaner(page) if dropout else None,
                split=dropout and not read_as_layers(page),
                band=band,
            ),
            threshold=ctx.threshold,
            only=_served(granted),
        )


class StampsLook:
    """Missing values under a dropped-out rubber stamp, its bands read from cleaner views (extract_stamps.py).

    Only on OCR'd pages whose stamp `to_grey` dropped out (their image keeps the colour page and the stamp's mask:
    readers/stamps.py); READINGS calls per such page with a field missing; nothing on any other page. Runs before
    the lines look, which reads a missing value's label line from the page's own (stamped) image.
    """

    name = "stamps"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one reading of each stamped page's bands for the fields the document lacks."""
        part = ctx.single()
        if part is None:
            return []
        names = tuple(missing_fields(part, ctx.specs, ctx.ocr_pages()))
        if not names:
            return []
        return [
            Request(self.name, names, READINGS, MISSING, "missing", page=page.number, what="band", psm=6)
            for page, _, _ in stamped_pages(part, ctx.ocr_pages())
        ]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted stamped pages' bands again from the cleaner views; take what they agree on."""
        read_stamps_again(ctx.read, ctx.parts, ctx.specs, ctx.ocr, only=_served(granted))


class LinesLook:
    """Weak values' lines read again enlarged (read_lines_again): fields whose spec says `reread`.

    The spec names the fields a closer line can lift (`reread: true` or `lines`); `weak_values` keeps those
    calibrated below the threshold, `unread_values` those missing whose label was read beside nothing the
    pattern takes (small till print that lost its points: receipts7). Measured on the 32 SROIE receipts
    (bench/README.md): the receipt issuer, which sets off most band readings (28 of 32 receipts: a shop's name is
    set large and styled and rarely reads above the threshold), is worth them: without its band readings 14 of
    43 calls were saved but 4 issuers were lost (78.1% -> 65.6%), so it keeps them. Where two enlargements agree
    on another value, the second recognizer (PP-OCR) reads the first value's box once (counted as a call of this
    step): reading the first value too, it keeps it (receipts12: SROIE 140's right date lost to `18-03-2018`).
    """

    name = "lines"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one band reading per weak value (all of a page's bands go into one call per scale)."""
        part = ctx.single()
        if part is None:
            return []
        spec = ctx.specs.specs.get(part.document_type)
        if spec is None:
            return []
        requests = []
        for name in weak_values(part, ctx.specs, ctx.threshold):
            found = part.fields[name]
            value = ctx.shortfall(part, found)
            requests.append(
                Request(self.name, (name,), 2, value, "weak", page=found.provenance.page, what="band", scale=2, psm=6)
            )
        for name, bands in unread_values(part, ctx.specs, ctx.ocr_pages()).items():
            page = bands[0][0]
            requests.append(Request(self.name, (name,), 2, MISSING, "missing", page=page, what="band", scale=2, psm=6))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted fields' lines at 2x (3x on disagreement) and vote."""
        ocr = ctx.ocr
        read_lines_again(
            ctx.read,
            ctx.parts,
            ctx.specs,
            lambda page, bands, scale: reread_bands(page, ocr, bands, scale=scale),
            threshold=ctx.threshold,
            only=_served(granted),
            second=second_reader(_second_recognizer, ocr.count_other),
        )


class AccentsLook:
    """Text fields' words that lost their accents, read with the spec's Latin models (extract_accents.py)."""

    name = "accents"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call per accent model and page for documents whose spec names accent models."""
        pages = ctx.ocr_pages()
        requests = []
        for part in ctx.parts:
            spec = ctx.specs.specs.get(part.document_type)
            if spec is None or not spec.ocr.accents or not pages:
                continue
            names = tuple(n for n, f in spec.fields.items() if f.type == "text" and n in part.fields)
            if names:
                # one call per model on each page that holds one of the values (most stop after two or three)
                holding = {part.fields[n].provenance.page for n in names} & {p.number for p in pages}
                calls = len(spec.ocr.accents) * len(holding)
                requests.append(Request(self.name, names, calls, CHECK_FAILED, "check", what="words"))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read flagged words again with each accent model until two agree."""
        read_accents_again(ctx.read, ctx.parts, ctx.specs, ctx.marks)


class VotesLook:
    """Weak characters of `vote` text fields voted on by their lines read with other models (extract_votes.py).

    Added by the forms work (forms4): chi_sim's rare misread characters in free text (`发动机租` for `发动机舱`),
    read again with chi_sim and HanS at two sizes; one call per model, only for fields with a weak word.
    """

    name = "votes"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call per vote model and page for the fields with a weakly read word (read together)."""
        pages = {p.number: p for p in ctx.ocr_pages()}
        requests = []
        for part in ctx.parts:
            spec = ctx.specs.specs.get(part.document_type)
            if spec is None:
                continue
            by_page: dict[int, list[str]] = {}
            for name in weak_votes(part, ctx.specs, pages):
                by_page.setdefault(part.fields[name].provenance.page or 0, []).append(name)
            for page, names in by_page.items():
                value = max(ctx.shortfall(part, part.fields[n]) for n in names)
                calls = len({model for n in names for model in spec.fields[n].vote})
                requests.append(Request(self.name, tuple(names), calls, value, "weak", page=page, what="band"))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted fields' lines with each model and vote on their weak characters."""
        vote_values(ctx.read, ctx.parts, ctx.specs, ctx.marks, only=_served(granted))


class ChineseLook:
    """Weak Chinese text values read by a second recognizer, PP-OCR's Chinese model (extract_paddle.py).

    Added by zh9: chi_sim and HanS misread rare characters (春熙路 read 春申路) that no tesseract re-read recovers.
    One reading per line of a weak Han text value (about 0.05 s of one core, no tesseract call); each counts as a
    call of this step against the budget. Agreement may lift a value, disagreement keeps it below auto-accept.
    """

    name = "chinese"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one reading per weak Han text value (a call per line of it)."""
        pages = {p.number: p for p in ctx.ocr_pages()}
        requests = []
        for part in ctx.parts:
            for name in weak_chinese(part, ctx.specs, pages, ctx.threshold):
                found = part.fields[name]
                value = ctx.shortfall(part, found)
                page, box = found.provenance.page, found.provenance.bbox
                requests.append(Request(self.name, (name,), 1, value, "weak", page=page, what="words", region=box))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted values' lines with the second recognizer; lift, cap or correct them."""
        read_chinese_again(
            ctx.read,
            ctx.parts,
            ctx.specs,
            _second_recognizer,
            threshold=ctx.threshold,
            only=_served(granted),
            counted=ctx.ocr.count_other,
        )


class ConfirmLook:
    """Values another model must confirm, and text values with a closing mark left unread (extract_confirm.py)."""

    name = "confirm"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose the confirmations (one call per page and model) and the line reads of text values."""
        pages = {p.number for p in ctx.ocr_pages()}
        if not pages:
            return []
        requests = []
        for part in ctx.parts:
            spec = ctx.specs.specs.get(part.document_type)
            if spec is None:
                continue
            names = tuple(
                n
                for n, f in spec.fields.items()
                if n in part.fields and part.fields[n].provenance.page in pages and (f.confirm or f.type == "text")
            )
            if names:
                requests.append(Request(self.name, names, len(names), CHECK_FAILED, "check", what="words", safety=True))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Confirm with the named models and look for unread closing marks."""
        confirm_values(ctx.read, ctx.parts, ctx.specs, ctx.marks)


class GlyphsLook:
    """Values checked against their glyphs (extract_glyphs.py): lost characters doubted, lost spaces put back.

    Added by the forms work: `CLM-2026-91` read over the ink of `CLM-2026-917006` was taken at 0.99. A check on
    the page image, no OCR call; it runs before CodesLook, which then reads a doubted `reread_word` code alone.
    """

    name = "glyphs"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one check (no OCR call) per document with fields read on an OCR'd page."""
        pages = {p.number for p in ctx.ocr_pages()}
        requests = []
        for part in ctx.parts:
            names = tuple(n for n, f in part.fields.items() if f.provenance.page in pages)
            if names:
                requests.append(Request(self.name, names, 0, CHECK_FAILED, "check", what="glyphs", safety=True))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Count the glyphs under the values' words: doubt confident ones that lost characters, put back lost spaces."""
        lost_characters(ctx.read, ctx.parts, ctx.specs, ctx.marks, threshold=ctx.threshold)
        lost_spaces(ctx.read, ctx.parts, ctx.specs, ctx.marks, threshold=ctx.threshold)


class CleanLook:
    """Confident codes and short patterned texts tesseract was unsure of, read again in black and white.

    Added by the forms work (extract_clean.py): a dropped-out stamp's faint outline made `SK-380-DL` read
    `SK-380-DE` at 0.99 calibrated. One OCR call per page (every such value stacked, at two sizes); a safety check.
    """

    name = "clean"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call per page holding such values."""
        pages = {p.number: p for p in ctx.ocr_pages()}
        requests = []
        for part in ctx.parts:
            names = unsure_values(part, ctx.specs, pages, ctx.threshold)
            for number in sorted({part.fields[n].provenance.page or 0 for n in names}):
                served = tuple(n for n in names if part.fields[n].provenance.page == number)
                requests.append(
                    Request(self.name, served, 1, CHECK_FAILED, "check", page=number, what="words", safety=True)
                )
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted values again in black and white; doubt (or correct, doubted) what reads otherwise."""
        second = second_reader(_second_recognizer, ctx.ocr.count_other)
        read_clean(
            ctx.read, ctx.parts, ctx.specs, ctx.marks, threshold=ctx.threshold, only=_served(granted), second=second
        )


class CodesLook:
    """Weak `reread_word` codes read alone at several sizes, by majority (extract_words.read_codes_alone).

    Added by the forms work: a till's monospaced `T794326` read `1794326` beside its label reads right alone.
    Confident codes that start with a capital's digit twin, read unsure, are checked so too (receipts7: `7711162`
    for `T711162` at 0.98): a safety check, one call each. Each code and weak word is also read once by the
    second recognizer (PP-OCR, about 0.05 s of one core, counted as a call of this step), whose reading wins
    where tesseract's page or alone readings read it too (receipts11: a Courier Q read 0, a T read 7 or 1).
    """

    name = "codes"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call (four sizes stacked in one image) per weak code on an OCR'd page."""
        pages = {p.number: p for p in ctx.ocr_pages()}
        requests = []
        for part in ctx.parts:
            for name in weak_codes(part, ctx.specs, ctx.threshold):
                found = part.fields[name]
                if found.provenance.page not in pages:
                    continue
                value = ctx.shortfall(part, found)
                page, where = found.provenance.page, found.provenance.bbox
                requests.append(Request(self.name, (name,), 2, value, "weak", page=page, what="words", region=where))
            for name in doubtful_codes(part, ctx.specs, ctx.threshold, pages):
                doubted = part.fields[name]
                at, box = doubted.provenance.page, doubted.provenance.bbox
                check = Request(self.name, (name,), 2, CHECK_FAILED, "check", page=at, what="words", region=box)
                requests.append(dataclasses.replace(check, safety=True))
            for name in sure_twin_codes(part, ctx.specs, ctx.threshold, pages):
                sure = part.fields[name]
                at, box = sure.provenance.page, sure.provenance.bbox
                # one reading by the second recognizer; a code it doubts is then read alone too (one call)
                check = Request(self.name, (name,), 2, CHECK_FAILED, "check", page=at, what="words", region=box)
                requests.append(dataclasses.replace(check, safety=True))
        if len(ctx.parts) == 1:
            # weak words of weak `reread_word` text fields (receipts9: a till's postcode `23QxX`), one call a page
            part = ctx.parts[0]
            weak = weak_text_words(part, ctx.specs, ctx.threshold, pages)
            for at in sorted({part.fields[name].provenance.page for name in weak}, key=lambda n: n or 0):
                names = tuple(name for name in weak if part.fields[name].provenance.page == at)
                value = min(ctx.shortfall(part, part.fields[n]) for n in names)
                words = len({id(w) for name in names for w in weak[name]})  # each also read by the second recognizer
                requests.append(Request(self.name, names, 1 + words, value, "weak", page=at, what="words"))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted codes and weak text words alone and take what most readings agree on."""
        only = _served(granted)
        second = second_reader(_second_recognizer, ctx.ocr.count_other)
        check_twin_codes(ctx.read, ctx.parts, ctx.specs, threshold=ctx.threshold, only=only, second=second)
        read_codes_alone(ctx.read, ctx.parts, ctx.specs, ctx.marks, threshold=ctx.threshold, only=only, second=second)
        read_text_words_alone(
            ctx.read, ctx.parts, ctx.specs, ctx.marks, threshold=ctx.threshold, only=only, second=second
        )


class MissingCodesLook:
    """Latin codes a chi_sim page did not give, read with their `confirm` model beside their labels.

    Added by the forms work (extract_words.read_missing_codes): a stamp over the codes of a 150-dpi 理赔申请书.
    """

    name = "missing_codes"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call per OCR'd page for documents missing such a code."""
        pages = ctx.ocr_pages()
        requests = []
        for part in ctx.parts:
            names = tuple(missing_codes(part, ctx.specs))
            if names and pages:
                requests.append(Request(self.name, names, len(pages), MISSING, "missing", what="words"))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the rows right of the missing codes' labels with their model."""
        read_missing_codes(ctx.read, ctx.parts, ctx.specs, ctx.marks, only=_served(granted))


class FiguresLook:
    """Weak or unread figures (codes, amounts, dates) of chi_sim specs read by the second recognizer.

    Added by zh10 (extract_figures.py): a degraded 理赔申请书's amount whose yen sign swallowed its first digit, a
    code with a character inserted under skew. One reading per field (about 0.05 s of one core, no tesseract
    call), counted as a call of this step. It runs after the codes' own looks and before the capital amounts are
    read, so the words are compared with the figures it leaves.
    """

    name = "figures"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one reading per weak figures value, or per unread one whose label is on the page."""
        pages = {p.number: p for p in ctx.ocr_pages()}
        requests = []
        for part in ctx.parts:
            for name in weak_figures(part, ctx.specs, pages, ctx.threshold):
                found = part.fields.get(name)
                if found is None:
                    requests.append(Request(self.name, (name,), 1, MISSING, "missing", what="words"))
                    continue
                value = ctx.shortfall(part, found)
                page, box = found.provenance.page, found.provenance.bbox
                requests.append(Request(self.name, (name,), 1, value, "weak", page=page, what="words", region=box))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted values' lines (or rows right of their labels); lift, cap, correct or fill them."""
        read_figures_again(
            ctx.read,
            ctx.parts,
            ctx.specs,
            _second_recognizer,
            threshold=ctx.threshold,
            only=_served(granted),
            counted=ctx.ocr.count_other,
        )


class CapitalsLook:
    """Capital amounts (大写) the page did not give, read again beside their label with their `vote` models.

    Added by the forms work (extract_capitals.py): chi_sim misread most numerals of a scanned 理赔申请书's words,
    so the figures had nothing to agree with. One call per vote model, only for a words field not read.
    """

    name = "capitals"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call per vote model for each unread words field whose figures were read."""
        if not ctx.ocr_pages():
            return []
        requests = []
        for part in ctx.parts:
            spec = ctx.specs.specs.get(part.document_type)
            if spec is None:
                continue
            for name, _ in unread_capitals(part, ctx.specs):
                calls = len(spec.fields[name].vote)
                requests.append(Request(self.name, (name,), calls, MISSING, "missing", what="band"))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted words again and fill them from, or doubt the figures by, what the readings say."""
        read_capitals_again(ctx.read, ctx.parts, ctx.specs, ctx.marks, only=_served(granted))


class CaseLook:
    """Text values with a word in a case it cannot have, put right by another reading or doubted (extract_case.py).

    Added by names20: a degraded CMS-1500's `Pinecrest Physical Therapy` was read `Pinecrest PhySical Therapy` and
    taken at 0.985. One reading of each odd word's box by the second recognizer (PP-OCR), counted as a call of
    this step; a safety check (a value it leaves unchecked would stay confident).
    """

    name = "case"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one reading per odd word of each text value with one (`extract_case.odd_words`)."""
        pages = {p.number: p for p in ctx.ocr_pages()}
        requests = []
        for part in ctx.parts:
            for name in odd_fields(part, ctx.specs, pages):
                found = part.fields[name]
                calls = len(odd_words(str(found.value)))
                page = found.provenance.page
                requests.append(
                    Request(self.name, (name,), calls, CHECK_FAILED, "check", page=page, what="words", safety=True)
                )
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the odd words again with the second recognizer; put them right or doubt their values."""
        second = second_reader(_second_recognizer, ctx.ocr.count_other)
        check_case(ctx.read, ctx.parts, ctx.specs, second, only=_served(granted))


class RowsLook:
    """Weak `reread_rows` tables read again row by row, the better reading kept (extract_rows.read_rows_again).

    Added by the service-lines work: a CMS-1500's box 24 read from the whole page lost rows and glued cells.
    """

    name = "rows"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call (every row of the table's box stacked in one image) per weak table and OCR'd page."""
        part = ctx.single()
        if part is None:
            return []
        pages = ctx.ocr_pages()
        requests = []
        weak = [*weak_tables(part, ctx.specs, ctx.threshold), *weak_lists(part, ctx.specs, ctx.threshold)]
        for name in weak if pages else []:
            found = part.fields.get(name)
            reason = "missing" if found is None else "weak"
            value = MISSING if found is None else ctx.shortfall(part, found)
            requests.append(Request(self.name, (name,), len(pages), value, reason, what="rows"))
        return requests

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted tables' rows one by one (cleaned of the form's ink on drop-out forms) and choose."""
        ocr = ctx.ocr
        dropout = ctx.dropout()
        cleaned: dict[tuple[object, ...], Image.Image] = {}

        def cleaner(page: Page) -> Callable[[Image.Image], Image.Image] | None:
            # the digits-only reading cleans the same crops as the first row reading: each is cleaned once
            if not dropout:
                return None
            clean = region_cleaner(page, keep_strokes=True)

            def remembered(crop: Image.Image) -> Image.Image:
                key = (page.number, _digest(crop), crop.size, crop.mode, crop.info.get("dpi"))
                if key not in cleaned:
                    cleaned[key] = clean(crop)
                return cleaned[key].copy()

            return remembered

        read_rows_again(
            ctx.read,
            ctx.parts,
            ctx.specs,
            lambda page, box: reread_rows(page, ocr, box, clean=cleaner(page)),
            threshold=ctx.threshold,
            only=_served(granted),
            digits=lambda page, box: reread_rows(page, ocr, box, clean=cleaner(page), whitelist=DIGITS),
            each=ocr.map,
        )


class BracketsLook:
    """ICD-10 lists whose code may have lost its J to the slot's bracket, read again without the brackets.

    Added by cms10 (extract_rows.read_letters_again): a flattened fillable form's `|J029` read `O02.9`, a real code.
    One call per OCR'd page, only for a list holding such a code (`bracket_doubts`); and (cms14) one per such code
    the rows do not read as a J, its cell read alone as one line of a code's characters (psm 7: psm 8 read the same
    Courier J `7`, `5` or `T`).
    """

    name = "brackets"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call (the list's rows stacked in one image) per doubtful list and OCR'd page."""
        part = ctx.single()
        pages = ctx.ocr_pages()
        if part is None or not pages or not ctx.dropout():
            return []
        cells = ctx.ocr.takes_whitelist
        return [
            Request(self.name, (name,), len(pages) * (1 + cells * twins), CHECK_FAILED, "check", what="rows")
            for name, twins in j_twins(part, ctx.specs).items()
        ]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted lists' rows again, cleaned of rules and of the brackets' ticks, and their J twins' cells."""
        ocr = ctx.ocr
        read_letters_again(
            ctx.read,
            ctx.parts,
            ctx.specs,
            lambda page, box: reread_rows(page, ocr, box, clean=region_cleaner(page, keep_strokes=True, ticks=True)),
            only=_served(granted),
            cell=(
                lambda page, box: reread_region(
                    page,
                    ocr,
                    box,
                    psm=7,
                    clean=region_cleaner(page, keep_strokes=True, ticks=True),
                    whitelist=CODE_CHARS,
                    pad=0.0,
                )
            )
            if ocr.takes_whitelist
            else None,
        )


class CellsLook:
    """ICD-10 list items that are no code, each code's cell read alone (extract_rows.read_code_cells).

    Added by cmsown12: our own scans type a code on its slot's underline, and tesseract read a clean 300-dpi `E11.9`
    as `B11.9` (three real codes one confusion away), `J06.9` as `306.9`, `G43.909` cut at its dot as `G43`; the
    cell read alone as one word of capitals, digits and a dot (psm 8) gives the code. One call per such item.
    """

    name = "cells"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call per item that is no code (and the list's rows, from memory after RowsLook)."""
        part = ctx.single()
        pages = ctx.ocr_pages()
        if part is None or not pages or not ctx.dropout() or not ctx.ocr.takes_whitelist:
            return []
        return [
            Request(self.name, (name,), len(places) + len(pages), CHECK_FAILED, "check", what="words", psm=8)
            for name, places in code_doubts(part, ctx.specs).items()
        ]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted lists' doubtful cells alone, cleaned of the form's rules."""
        ocr = ctx.ocr
        read_code_cells(
            ctx.read,
            ctx.parts,
            ctx.specs,
            lambda page, box: reread_rows(page, ocr, box, clean=region_cleaner(page, keep_strokes=True)),
            lambda page, box: reread_region(
                page, ocr, box, psm=8, clean=region_cleaner(page, keep_strokes=True), whitelist=CODE_CHARS, pad=0.0
            ),
            only=_served(granted),
        )


class CodeVotesLook:
    """Real codes of weak ICD-10 lists, each code's cell read alone by tesseract and the second recognizer.

    Added by cms17 (extract_rows.read_code_votes): a flattened fillable form's 150-dpi `F411` read `F44.1`, `R519`
    read `B51.9`, billable codes the code set cannot doubt; read alone, the cell gives F41.1 to both recognizers.
    One call per real code of a weak list (the second recognizer reads only a cell tesseract read as another code).
    """

    name = "code_votes"

    def propose(self, ctx: LookContext) -> list[Request]:
        """Propose one call per real code of a weak list (and the list's rows, from memory after RowsLook)."""
        part = ctx.single()
        pages = ctx.ocr_pages()
        if part is None or not pages or not ctx.dropout() or not ctx.ocr.takes_whitelist:
            return []
        doubts = vote_doubts(part, ctx.specs, ctx.threshold)
        return [
            Request(
                self.name, (name,), len(places) + len(pages), ctx.shortfall(part, part.fields[name]), "weak",
                what="words", psm=7,
            )
            for name, places in doubts.items()
        ]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        """Read the granted lists' codes' cells alone, cleaned of the form's rules and the brackets' ticks."""
        ocr = ctx.ocr
        read_code_votes(
            ctx.read,
            ctx.parts,
            ctx.specs,
            lambda page, box: reread_rows(page, ocr, box, clean=region_cleaner(page, keep_strokes=True)),
            lambda page, box: reread_region(
                page,
                ocr,
                box,
                psm=7,
                clean=region_cleaner(page, keep_strokes=True, ticks=True),
                whitelist=CODE_CHARS,
                pad=0.0,
            ),
            lambda page, box: _read_second(
                region_image(page, box, clean=region_cleaner(page, keep_strokes=True, ticks=True)), ocr.count_other
            ),
            threshold=ctx.threshold,
            only=_served(granted),
        )


def _read_second(crop: Image.Image | None, counted: Callable[[float, float], None]) -> str:
    """Return the second recognizer's reading of a crop ('' for none, a missing model, or text that is not ASCII)."""
    if crop is None:
        return ""
    try:
        reader = _second_recognizer()
    except RecognizerMissing:
        return ""
    started, cpu = time.perf_counter(), time.thread_time()
    text = unicodedata.normalize("NFKC", reader(crop.convert("L")).text).strip()
    counted(time.perf_counter() - started, time.thread_time() - cpu)
    return text if text.isascii() and text.isprintable() else ""


DEFAULT_LOOKS: tuple[Callable[[], Look], ...] = (
    LayersLook,
    PagesLook,
    RegionsLook,
    DigitsLook,
    DateLinesLook,
    RowsLook,
    BracketsLook,
    CellsLook,
    CodeVotesLook,
    StampsLook,
    LinesLook,
    AccentsLook,
    VotesLook,
    ChineseLook,
    ConfirmLook,
    GlyphsLook,
    CleanLook,
    CodesLook,
    MissingCodesLook,
    FiguresLook,
    CapitalsLook,
    CaseLook,
)
"""The second looks in the order they run: layers change every word of a form page, so they go first."""


def run_looks(ctx: LookContext, looks: Sequence[Look] | None = None) -> list[LookRecord]:
    """Run the second looks in order, each on the requests granted to it, within the document's budget.

    A step's requests are deduplicated, ranked by expected value (most first) and granted while the OCR calls
    they may make fit what is left of the budget; safety checks are granted whatever is left; a step with
    nothing granted does not run. The budget is charged the calls a step really made (answers from memory are
    free). Once all ran, the spec's sum checks run again on the values the looks left (`extract_checks.recheck_sums`),
    a table amount they still lost is made from its total as a guess (`extract_checks.guess_table_amounts`), names
    that read one misread apart are held (`extract_checks.check_alike`)
    and a receipt's tax is checked against its sums again with the total as the looks left it
    (`extract.taxes_from_sums`, no OCR). Returns the records (also kept in `ctx.records`).
    """
    first = [(dict(part.fields), _failed_sums(part, ctx.specs)) for part in ctx.parts]
    for look in looks if looks is not None else [make() for make in DEFAULT_LOOKS]:
        asked = _unique(look.propose(ctx))
        if not asked:
            continue
        granted: list[Request] = []
        cost = 0
        for request in sorted(asked, key=lambda r: (r.safety, r.value), reverse=True):
            if request.safety or cost + request.calls <= ctx.left:
                granted.append(request)
                cost += request.calls
        served = _served(granted)
        skipped = tuple(name for name in _served(asked) if name not in served)
        calls_before, saved_before = sum(ctx.ocr.calls.values()), ctx.ocr.saved
        started = time.perf_counter()
        changed: tuple[str, ...] = ()
        if granted:
            before = field_states(ctx.parts)
            ctx.ocr.step = look.name
            try:
                look.run(ctx, granted)
            finally:
                ctx.ocr.step = "first"
            changed = _changed(before, field_states(ctx.parts))
        calls = sum(ctx.ocr.calls.values()) - calls_before
        ctx.spent += calls
        ctx.records.append(
            LookRecord(
                look.name,
                tuple(served),
                len(asked),
                len(granted),
                calls,
                time.perf_counter() - started,
                skipped,
                changed,
                unread=_unread(granted, calls, ctx.ocr.saved - saved_before),
            )
        )
    for part, (fields, failed) in zip(ctx.parts, first, strict=False):
        spec = ctx.specs.specs.get(part.document_type)
        if spec is not None:  # the sums checked again on the values the looks left (extract_checks.recheck_sums)
            part.problems.extend(recheck_sums(part.fields, spec, fields, failed))
            part.problems.extend(guess_table_amounts(part.fields, spec))  # a lost charge the total gives, a guess
            cap_borrowed(part.fields, part.problems)  # a date part a table borrowed stays a guess after the sums
            mismatch = doubt_currency(part.fields)  # an amount read again in another currency
            if mismatch is not None and mismatch not in part.problems:
                part.problems.append(mismatch)
            part.problems.extend(check_alike(part.fields, spec, part.problems))  # names a look read again
    for part in ctx.parts:
        taxes_from_sums(ctx.read, part, ctx.specs)  # a total a look read may now make the tax the sums give
        spec = ctx.specs.specs.get(part.document_type)
        if spec is not None:  # last, on the values as they stand: a mismatch the looks put right is not said
            part.problems[:] = drop_stale_sums(part.fields, spec, part.problems)
    return ctx.records


def _failed_sums(part: Extraction, specs: SpecSet) -> frozenset[int]:
    """Return the sum checks of the part's spec that fail on its fields as they stand (`extract_checks.failed_sums`)."""
    spec = specs.specs.get(part.document_type)
    return failed_sums(part.fields, spec) if spec is not None else frozenset()


def _unread(granted: Sequence[Request], calls: int, saved: int) -> bool:
    """Return True when a step granted readings for weak or missing fields made none (nor had one from memory).

    Checks (`check`, `layout`: accents, confirmations, a form's layers) read only what they find to check, so
    making no call is their normal answer; a weak or missing field's reading is asked because it is needed.
    """
    return calls == 0 and saved == 0 and any(r.calls > 0 and r.reason in ("weak", "missing") for r in granted)


def field_states(parts: Sequence[Extraction]) -> dict[tuple[int, str, str], tuple[str, float]]:
    """Return each field's value (as text) and confidence, keyed by document, type and name (`row N.` for records).

    The value is kept as its `repr`, so a list or table a step changes in place still compares as changed.
    """
    states: dict[tuple[int, str, str], tuple[str, float]] = {}
    for index, part in enumerate(parts):
        for name, found in part.fields.items():
            states[(index, part.document_type, name)] = (repr(found.value), found.confidence)
        for row, record in enumerate(part.records):
            for name, found in record.items():
                states[(index, part.document_type, f"row {row}.{name}")] = (repr(found.value), found.confidence)
    return states


def _changed(
    before: dict[tuple[int, str, str], tuple[str, float]], after: dict[tuple[int, str, str], tuple[str, float]]
) -> tuple[str, ...]:
    """Return the names of the fields added, dropped or changed in value or confidence between two states."""
    keys = sorted(before.keys() | after.keys())
    return tuple(dict.fromkeys(key[2] for key in keys if before.get(key) != after.get(key)))


def _unique(requests: Sequence[Request]) -> list[Request]:
    """Return the requests without duplicates (the same reading for the same fields asked twice)."""
    seen: dict[tuple[object, ...], Request] = {}
    for request in requests:
        key = (*request.key(), request.fields)
        if key not in seen or request.value > seen[key].value:
            seen[key] = request
    return list(seen.values())
