"""A second recognizer for Chinese text: PP-OCR's Chinese recognition model, run with onnxruntime on one crop.

Debian's chi_sim (the fast model) and HanS misread rare characters of names and addresses (熙 磊 霞 淹) and no
re-read with tesseract recovers them (bench/README.md, forms8). PaddleOCR's PP-OCRv4 Chinese recognition model
(Apache-2.0), as shipped inside the PyPI wheel `rapidocr-onnxruntime`, reads them. Only its recognition model is
used (tesseract already gives the boxes), and it is run here with onnxruntime, numpy and PIL: the wheel's own
pipeline imports OpenCV, which this project does not install (pyproject's uv overrides).

The model is loaded once per process, lazily, with one intra- and one inter-op thread: the engine runs two
processes on two cores (../shared/notes/ocr.md). A missing model or runtime raises `RecognizerMissing` with a
plain message; the caller records it as a problem and reads on without the second recognizer.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

MODEL_PACKAGE = "rapidocr_onnxruntime"
MODEL_FILE = "models/ch_PP-OCRv4_rec_infer.onnx"
HEIGHT = 48
"""The model's input height in pixels (PP-OCRv4 rec: 3 x 48 x W)."""
MIN_WIDTH = 320
"""The narrowest input the model was trained on (a short crop is padded to it, as PaddleOCR does)."""
MARGIN = 0.15
"""White margin added around a crop, as a share of its height: PP-OCR's boxes leave the glyphs some room."""
INSTALL_HINT = "install the project's dependencies with: uv sync (the model ships in the rapidocr-onnxruntime wheel)"


class RecognizerMissing(RuntimeError):
    """The second recognizer cannot run: its model file or onnxruntime is not installed."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What the recognizer read on one crop: the text and each character's confidence (0-1)."""

    text: str
    confidences: tuple[float, ...]

    @property
    def confidence(self) -> float:
        """Return the weakest character's confidence (0.0 for an empty reading)."""
        return min(self.confidences, default=0.0)


def model_path() -> Path:
    """Return the recognition model file shipped in the rapidocr-onnxruntime wheel (not imported: no OpenCV).

    Raises:
        RecognizerMissing: the wheel or its model file is not installed.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / MODEL_FILE
        if path.is_file():
            return path
    raise RecognizerMissing(f"the Chinese recognition model ({MODEL_FILE}) is not installed; {INSTALL_HINT}")


class PaddleRecognizer:
    """PP-OCR's recognition model on one text-line crop: text plus per-character confidences (CTC greedy decode)."""

    def __init__(self, path: Path) -> None:
        try:
            import onnxruntime
        except ImportError as err:  # pragma: no cover - onnxruntime is a dependency
            raise RecognizerMissing(f"onnxruntime is not installed; {INSTALL_HINT}") from err
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session: Any = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own exception types for a broken file
            raise RecognizerMissing(f"the Chinese recognition model {path.name} cannot be loaded ({err})") from err
        meta = self._session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise RecognizerMissing(f"the Chinese recognition model {path.name} carries no character list")
        # CTC classes: 0 is the blank, then the model's dictionary, then a space (as PaddleOCR's decoder has them)
        self._characters: list[str] = ["", *meta["character"].splitlines(), " "]
        self._input = self._session.get_inputs()[0].name

    def read(self, crop: Image.Image) -> Reading:
        """Return the text on one line crop (dark text on a light ground) with each character's confidence."""
        batch = _normalised(crop)
        scores = self._session.run(None, {self._input: batch})[0][0]
        best = scores.argmax(axis=1)
        text: list[str] = []
        confidences: list[float] = []
        previous = -1
        for step, index in enumerate(best.tolist()):
            if index != previous and index != 0 and index < len(self._characters):
                text.append(self._characters[index])
                confidences.append(float(scores[step, index]))
            previous = index
        return Reading("".join(text), tuple(confidences))


def _normalised(crop: Image.Image) -> np.ndarray:
    """Return the crop as the model's input: RGB, white margin, 48 px high, scaled to [-1, 1], padded to 320 px."""
    grey = crop.convert("L")
    pad = max(2, round(grey.height * MARGIN))
    grey = ImageOps.expand(grey, border=pad, fill=255)
    width = max(1, min(round(grey.width * HEIGHT / grey.height), 32 * HEIGHT))
    resized = grey.resize((width, HEIGHT), Image.Resampling.BILINEAR)
    pixels = np.asarray(resized, dtype=np.float32) / 127.5 - 1.0
    padded = np.zeros((HEIGHT, max(width, MIN_WIDTH)), dtype=np.float32)
    padded[:, :width] = pixels
    return np.repeat(padded[np.newaxis, np.newaxis], 3, axis=1)


_lock = threading.Lock()
_loaded: PaddleRecognizer | None = None


def recognizer() -> PaddleRecognizer:
    """Return the process's recognizer (loaded on first use, then cached).

    Raises:
        RecognizerMissing: the model file or onnxruntime is not installed (not cached: a fix takes effect).
    """
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = PaddleRecognizer(model_path())
        return _loaded
