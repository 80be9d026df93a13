"""Tesseract's answers kept on disk, for repeated development runs of the accuracy benches (never the engine's).

`install(folder)` wraps `claimflow.readers.tessapi.TessApi`'s three readings (TSV, plain text, orientation) so that
an identical call (same language and variables, same pixels, size, resolution, page segmentation mode and
whitelist) answers from `folder` instead of recognising again. A change to extraction or to the looks is then
measured in seconds on a corpus already read once; a change to what the engine hands tesseract (other pixels,
another scale, another psm) misses the memo and is read for real, so results are the engine's own.
A reading that failed or timed out (None) is not kept. Speed figures of a memoised run mean nothing.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from claimflow.readers import tessapi

_MISSING = object()


def _key(api: Any, method: str, pixels: bytes, *args: Any, **kwargs: Any) -> str:
    digest = hashlib.sha1(repr((method, getattr(api, "_memo_id", None), args, sorted(kwargs.items()))).encode())
    digest.update(pixels)
    return digest.hexdigest()


def install(folder: Path) -> None:
    """Answer repeated tesseract calls from `folder` (made if missing); idempotent."""
    if getattr(tessapi.TessApi, "_memoised", False):
        return
    folder.mkdir(parents=True, exist_ok=True)
    api_class = tessapi.TessApi
    original_init = api_class.__init__

    def init(self: Any, language: str, variables: Any = None) -> None:
        original_init(self, language, variables)
        self._memo_id = (language, tuple(sorted((variables or {}).items())))

    def load(key: str) -> Any:
        path = folder / key[:2] / key
        try:
            return pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError):
            return _MISSING

    def keep(key: str, answer: Any) -> None:
        place = folder / key[:2]
        place.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=place)
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(answer, stream)
        Path(temporary).replace(place / key)

    def wrap(method: str) -> None:
        original = getattr(api_class, method)

        def memoised(self: Any, pixels: bytes, *args: Any, **kwargs: Any) -> Any:
            key = _key(self, method, bytes(pixels), *args, **kwargs)
            answer = load(key)
            if answer is _MISSING:
                answer = original(self, pixels, *args, **kwargs)
                if answer is not None:
                    keep(key, answer)
            return answer

        setattr(api_class, method, memoised)

    api_class.__init__ = init  # type: ignore[method-assign]
    for name in ("read_tsv", "read_text", "orientation"):
        wrap(name)
    api_class._memoised = True  # type: ignore[attr-defined]
