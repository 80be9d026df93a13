"""Tesseract in this process, through the C API of the system's libtesseract (ctypes): the CLI's engine, no process.

The `tesseract` command and this module run the same library with the same models, so a page reads the same
words either way (the CLI gets the image as a BMP file, this module as raw grey or RGB rows: leptonica makes the
same pixels of both). What goes away is the CLI's fixed cost per call, ~0.1 s to start a process and load the
model (notes/ocr.md 1b): +50% on a small receipt, and most of the cost of the small band and region images that
second readings hand over. ctypes releases the GIL during each foreign call, so worker threads OCR in parallel.

An API is not thread-safe, so it is lent to one thread at a time from a pool per language (`ApiPool`) and kept
for the next call, whichever thread makes it: loading a model costs 0.15-0.25 s (eng, an accent model, chi_sim),
and the engine's worker threads are new for every run (a thread pool per batch), so APIs kept per thread were
loaded again on every run. The library is loaded after OMP_THREAD_LIMIT=1 is set: the Debian build uses OpenMP,
which thrashes on 2 vCPUs (notes/ocr.md 1a), and libgomp reads the limit when it is loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

LIBRARY_NAMES = ("libtesseract.so.5", "libtesseract.so")
"""Shared library names tried in order (then whatever ctypes.util.find_library finds)."""
PSM_OSD_ONLY = 0


class TessApiError(RuntimeError):
    """The library could not load a language or read an image."""


LEPTONICA_NAMES = ("liblept.so.5", "libleptonica.so.6", "libleptonica.so")
"""Leptonica (tesseract's image library), loaded with it; only its message level is set from here."""
LEPTONICA_QUIET = 6
"""L_SEVERITY_NONE: leptonica prints nothing (`Error in boxClipToRectangle` on boxes at a page edge)."""


@functools.cache
def library() -> ctypes.CDLL | None:
    """Return the system's libtesseract with its C functions declared, or None when it is not installed."""
    os.environ["OMP_THREAD_LIMIT"] = "1"  # before libgomp is loaded with the library (see the module doc)
    found = ctypes.util.find_library("tesseract")
    for name in (*LIBRARY_NAMES, *([found] if found else [])):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            _declare(lib)
        except AttributeError:  # an old library without the C API functions used here
            logger.info("%s lacks the tesseract C API functions; the CLI is used", name)
            continue
        _quiet_leptonica()
        return lib
    return None


def _quiet_leptonica() -> None:
    """Silence leptonica's stderr messages, as the CLI's were (pytesseract dropped its stderr)."""
    for name in LEPTONICA_NAMES:
        try:
            leptonica = ctypes.CDLL(name)
            leptonica.setMsgSeverity.argtypes = [ctypes.c_int]
            leptonica.setMsgSeverity(LEPTONICA_QUIET)
            return
        except (OSError, AttributeError):
            continue


def _declare(lib: ctypes.CDLL) -> None:
    """Declare the argument and result types of the C functions used (AttributeError when one is missing)."""
    handle, text = ctypes.c_void_p, ctypes.c_char_p
    signatures: dict[str, tuple[list[object], object]] = {
        "TessVersion": ([], text),
        "TessBaseAPICreate": ([], handle),
        "TessBaseAPIDelete": ([handle], None),
        "TessBaseAPIInit3": ([handle, text, text], ctypes.c_int),
        "TessBaseAPISetPageSegMode": ([handle, ctypes.c_int], None),
        "TessBaseAPISetImage": (
            [handle, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int],
            None,
        ),
        "TessBaseAPISetSourceResolution": ([handle, ctypes.c_int], None),
        "TessBaseAPISetVariable": ([handle, text, text], ctypes.c_int),
        "TessBaseAPIRecognize": ([handle, handle], ctypes.c_int),
        "TessBaseAPIGetTsvText": ([handle, ctypes.c_int], handle),
        "TessBaseAPIGetUTF8Text": ([handle], handle),
        "TessDeleteText": ([handle], None),
        "TessBaseAPIClear": ([handle], None),
        "TessMonitorCreate": ([], handle),
        "TessMonitorDelete": ([handle], None),
        "TessMonitorSetDeadlineMSecs": ([handle, ctypes.c_int], None),
        "TessBaseAPIDetectOrientationScript": (
            [
                handle,
                ctypes.POINTER(ctypes.c_int),
                ctypes.POINTER(ctypes.c_float),
                ctypes.POINTER(ctypes.c_char_p),
                ctypes.POINTER(ctypes.c_float),
            ],
            ctypes.c_int,
        ),
    }
    for name, (args, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = args
        function.restype = result


def version() -> str | None:
    """Return the library's version (`5.3.0`), or None when it is not installed."""
    lib = library()
    return lib.TessVersion().decode() if lib is not None else None


@dataclass(frozen=True, slots=True)
class OsdAnswer:
    """The library's orientation answer: the text is turned `degrees` clockwise; the script it saw."""

    degrees: int
    confidence: float
    script: str | None
    script_confidence: float


class TessApi:
    """One initialised tesseract API for one language (`osd`: orientation and script only); one thread at a time."""

    def __init__(self, language: str, variables: Mapping[str, str] | None = None) -> None:
        lib = library()
        if lib is None:
            raise TessApiError("libtesseract is not installed")
        self._lib = lib
        self._handle = lib.TessBaseAPICreate()
        if lib.TessBaseAPIInit3(self._handle, None, language.encode()) != 0:
            lib.TessBaseAPIDelete(self._handle)
            self._handle = None
            raise TessApiError(f"tesseract could not load language {language!r}")
        if language == "osd":
            lib.TessBaseAPISetPageSegMode(self._handle, PSM_OSD_ONLY)
        # tesseract's own messages (`Image too small to scale!!`, resolution guesses) went to the CLI's stderr,
        # which pytesseract dropped; in-process they would reach the engine's stderr, so they are dropped too
        lib.TessBaseAPISetVariable(self._handle, b"debug_file", os.devnull.encode())
        for name, value in (variables or {}).items():
            if not lib.TessBaseAPISetVariable(self._handle, name.encode(), value.encode()):
                raise TessApiError(f"tesseract has no variable {name!r}")

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self._lib.TessBaseAPIDelete(self._handle)
            self._handle = None

    def _set_image(self, pixels: bytes, width: int, height: int, depth: int, dpi: int) -> None:
        """Hand over raw rows (`depth` bytes per pixel: 1 grey, 3 RGB); the caller keeps `pixels` alive."""
        self._lib.TessBaseAPISetImage(self._handle, pixels, width, height, depth, width * depth)
        self._lib.TessBaseAPISetSourceResolution(self._handle, dpi)

    def _text(self, pointer: int | None) -> str:
        """Return and free a string the library allocated."""
        if not pointer:
            return ""
        try:
            return ctypes.string_at(pointer).decode("utf-8", errors="replace")
        finally:
            self._lib.TessDeleteText(pointer)

    def read_tsv(
        self,
        pixels: bytes,
        width: int,
        height: int,
        depth: int,
        *,
        dpi: int,
        psm: int,
        timeout_ms: int,
        whitelist: str = "",
    ) -> str | None:
        """Recognise an image with `psm`; return tesseract's TSV (no header), or None when it failed or timed out.

        `whitelist`: the only characters tesseract may read (`tessedit_char_whitelist`, for this call only).
        """
        monitor = self._lib.TessMonitorCreate()
        if whitelist:
            self._lib.TessBaseAPISetVariable(self._handle, b"tessedit_char_whitelist", whitelist.encode())
        try:
            self._lib.TessBaseAPISetPageSegMode(self._handle, psm)
            self._set_image(pixels, width, height, depth, dpi)
            self._lib.TessMonitorSetDeadlineMSecs(monitor, max(1, timeout_ms))
            if self._lib.TessBaseAPIRecognize(self._handle, monitor) != 0:
                return None
            return self._text(self._lib.TessBaseAPIGetTsvText(self._handle, 0))
        finally:
            if whitelist:
                self._lib.TessBaseAPISetVariable(self._handle, b"tessedit_char_whitelist", b"")
            self._lib.TessBaseAPIClear(self._handle)
            self._lib.TessMonitorDelete(monitor)

    def read_text(self, pixels: bytes, width: int, height: int, depth: int, *, dpi: int, psm: int) -> str:
        """Return the plain text of an image read with `psm` (what `tesseract image out` writes)."""
        try:
            self._lib.TessBaseAPISetPageSegMode(self._handle, psm)
            self._set_image(pixels, width, height, depth, dpi)
            return self._text(self._lib.TessBaseAPIGetUTF8Text(self._handle))
        finally:
            self._lib.TessBaseAPIClear(self._handle)

    def orientation(self, pixels: bytes, width: int, height: int, depth: int, *, dpi: int) -> OsdAnswer | None:
        """Return the orientation and script of an image (an `osd` API), or None when it cannot tell."""
        degrees, confidence = ctypes.c_int(0), ctypes.c_float(0.0)
        script, script_confidence = ctypes.c_char_p(), ctypes.c_float(0.0)
        try:
            # OSD takes the resolution from the image itself, which raw rows do not carry (the CLI's BMP does)
            self._lib.TessBaseAPISetVariable(self._handle, b"user_defined_dpi", str(dpi).encode())
            self._set_image(pixels, width, height, depth, dpi)
            found = self._lib.TessBaseAPIDetectOrientationScript(
                self._handle,
                ctypes.byref(degrees),
                ctypes.byref(confidence),
                ctypes.byref(script),
                ctypes.byref(script_confidence),
            )
        finally:
            self._lib.TessBaseAPIClear(self._handle)
        if not found:
            return None
        name = script.value.decode(errors="replace") if script.value else None
        return OsdAnswer(int(degrees.value), float(confidence.value), name, float(script_confidence.value))


class ApiPool:
    """Initialised APIs by language, each lent to one thread at a time and kept for the next call.

    A call takes a free API of its language (or loads a new one when all are in use) and gives it back when done,
    so a pool holds at most as many APIs per language as threads ever read that language at once, and they
    outlive the threads: a run's worker threads reuse the models the previous run's threads loaded.
    """

    def __init__(self, variables: Mapping[str, str] | None = None) -> None:
        self._free: dict[str, list[TessApi]] = {}
        self._lock = threading.Lock()
        self.variables = dict(variables or {})
        """Tesseract variables every API of the pool is initialised with (none: tesseract's defaults)."""

    @contextlib.contextmanager
    def lend(self, language: str) -> Iterator[TessApi]:
        """Lend an API for `language` for the block; raise TessApiError when the language cannot be loaded."""
        with self._lock:
            free = self._free.get(language)
            api = free.pop() if free else None
        if api is None:
            api = TessApi(language, self.variables)
        try:
            yield api
        finally:
            with self._lock:
                self._free.setdefault(language, []).append(api)

    def fill(self, language: str, copies: int) -> int:
        """Load idle APIs for `language` until the pool keeps `copies` of them; return how many were loaded.

        Raises TessApiError when the language cannot be loaded.
        """
        with self._lock:
            missing = copies - len(self._free.get(language, []))
        made = [TessApi(language, self.variables) for _ in range(max(0, missing))]
        with self._lock:
            self._free.setdefault(language, []).extend(made)
        return len(made)

    def loaded(self) -> dict[str, int]:
        """Return how many idle APIs the pool keeps per language (for tests and benches)."""
        with self._lock:
            return {language: len(apis) for language, apis in self._free.items()}
