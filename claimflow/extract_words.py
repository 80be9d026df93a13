"""Codes read again alone: a weak code's box cut out of the page and read at several sizes, by majority.

Tesseract reads a line as one sequence, and a code in a monospaced face next to its label is where that
goes wrong most (`Receipt No: T794326` read `1794326`, `1T445862`): the model takes a T's bar for a 1's flag
in the line's context. Read alone, with white around it, the same word mostly reads right, but not at every
size. For a field whose spec says `reread_word: true`, a value on an OCR page below the auto-accept threshold
(calibrated) is cut out at WORD_SCALES sizes and read in one OCR call; when at least MAJORITY of the readings
agree on one code that fits the field's pattern and is not the value, the value takes it. Its confidence stays
as it was: the readings disagreed with the page, so a person still checks it.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from claimflow.errors import ReasonCode
from claimflow.extract_reread import calibrated
from claimflow.models import BBox, Extraction, Page, Problem, ReadDocument, ReadMethod
from claimflow.normalise import normalise_code
from claimflow.specs import FieldSpec, SpecSet

WORD_SCALES = (1.0, 1.5, 2.0, 3.0)
"""The sizes a code is read at, as cut (small type doubled first) and enlarged."""
MAJORITY = 3
"""How many of the readings must agree on a code for it to replace the value."""


class WordLook(Protocol):
    """The image side (claimflow.readers.marks.PageMarks): read boxes again, each at its own size."""

    def reread(
        self, page: Page, boxes: Sequence[BBox], *, lang: str, scales: Sequence[float] | None = None
    ) -> list[str] | None:
        """Return one text per box, read again with the tesseract model `lang` (None when it cannot)."""
        ...


def read_codes_alone(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, look: WordLook, *, threshold: float
) -> int:
    """Read the weak `reread_word` codes of every part again alone (module docstring); return the OCR calls."""
    pages = {page.number: page for page in read.pages if page.method is ReadMethod.OCR and page.image is not None}
    calls = 0
    for part in parts:
        spec = specs.specs.get(part.document_type)
        if spec is None:
            continue
        for name, field_spec in spec.fields.items():
            field = part.fields.get(name)
            if (
                not field_spec.reread_word
                or field is None
                or not isinstance(field.value, str)
                or field.provenance.page not in pages
                or field.provenance.bbox is None
                or calibrated(part, field, specs) >= threshold
            ):
                continue
            page = pages[field.provenance.page]
            texts = look.reread(
                page, [field.provenance.bbox] * len(WORD_SCALES), lang=page.language, scales=WORD_SCALES
            )
            calls += 1
            code = majority_code(texts or [], field_spec)
            if code is None or code == field.value:
                continue
            part.fields[name] = dataclasses.replace(field, value=code, raw=code)
            part.problems.append(
                Problem(
                    ReasonCode.FIELD_AMBIGUOUS,
                    f"{name}: the page reads {field.value!r}, the code read alone {code!r}; check it",
                    page=page.number,
                    field=name,
                )
            )
    return calls


def majority_code(texts: Sequence[str], field_spec: FieldSpec) -> str | None:
    """Return the code at least MAJORITY of `texts` read, when it fits the field's pattern; else None."""
    flags = re.IGNORECASE if field_spec.ignore_case else 0
    codes = [normalise_code(text) for text in texts]
    fitting = [
        code for code in codes if code and (field_spec.pattern is None or re.fullmatch(field_spec.pattern, code, flags))
    ]
    if not fitting:
        return None
    code, count = Counter(fitting).most_common(1)[0]
    return code if count >= MAJORITY else None
