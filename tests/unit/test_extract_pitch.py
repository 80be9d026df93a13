"""A monospaced type's pitch tells OCR's split of one token from a space between two (extract_pitch.py)."""

from __future__ import annotations

import pytest

from claimflow.extract import extract_document
from claimflow.extract_pitch import cells_apart, line_pitch
from claimflow.models import Page, ReadDocument, ReadMethod, Word
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import SpecSet, load_specs
from tests.unit.test_cms1500 import CAPTIONS_0212, HEIGHT, VALUES_0212, _words

PITCH = 0.0098  # 12 pt Courier on a US Letter page: 0.1 in per character over 8.5 in, as page-width fractions


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(PROJECT_ROOT / "extractors")


def _typed(x: float, text: str, ink: float = 0.6, per_char: float = PITCH, y: float = 0.135) -> Word:
    """One word typed from cell edge `x`: its ink ends `ink` of a cell into its last character's cell."""
    return Word(text, (x, y, x + (len(text) - 1 + ink) * per_char, y + HEIGHT), 0.95)


def test_the_pitch_of_monospaced_words_is_measured_and_a_proportional_line_has_none() -> None:
    courier = [_typed(0.60, "McCarthy,"), _typed(0.60 + 10 * PITCH, "Mary")]
    pitch = line_pitch(courier)
    assert pitch is not None and abs(pitch - PITCH) < 0.03 * PITCH
    # Helvetica: capitals a quarter wider per character than digits, small letters narrower
    helvetica = [_typed(0.60, "XGH", per_char=0.0125), _typed(0.64, "75286287", per_char=0.0092)]
    assert line_pitch(helvetica) is None
    assert line_pitch([_typed(0.60, "XGH675286287")]) is None  # one word measures nothing


def test_cells_apart_is_zero_for_a_split_and_one_for_a_space() -> None:
    left = _typed(0.60, "XGH6", ink=0.45)
    assert abs(cells_apart(left, _typed(0.60 + 4 * PITCH, "75286287"), PITCH)) < 0.05
    assert abs(cells_apart(left, _typed(0.60 + 5 * PITCH, "75286287"), PITCH) - 1.0) < 0.05


def _page_with_id(pieces: list[Word]) -> ReadDocument:
    values = [item for item in VALUES_0212 if item[2] != "W498782828"]
    words = [w for x, y, text in CAPTIONS_0212 + values for w in _words(x, y, text)] + pieces
    return ReadDocument(pages=[Page(1, 612, 792, ReadMethod.OCR, words)])


@pytest.mark.parametrize(("cells", "expected"), [(0, "XGH675286287"), (1, "75286287")])
def test_an_id_split_by_most_of_a_space_in_courier_is_joined_and_a_real_space_is_not(
    specs: SpecSet, cells: int, expected: str
) -> None:
    # a degraded scan: the `6` ends early and the `7` starts late, so the ink gap at the split is 0.7 of a cell,
    # more than a letter's gap (`join_close`'s CLOSE_GAP); the right piece still starts on the next cell
    left = _typed(0.60, "XGH6", ink=0.45)
    right = _typed(0.60 + (4 + cells) * PITCH + 0.15 * PITCH, "75286287")
    result = extract_document(_page_with_id([left, right]), specs, "cms1500")
    assert result.fields["insured_id"].value == expected


def test_the_same_gap_between_words_of_a_proportional_font_stays_a_space(specs: SpecSet) -> None:
    left = _typed(0.60, "XGH6", ink=0.45, per_char=1.3 * PITCH)  # wide capitals: no common pitch
    right = Word("75286287", (left.bbox[2] + 0.7 * PITCH, 0.135, left.bbox[2] + 8.3 * PITCH, 0.135 + HEIGHT), 0.95)
    result = extract_document(_page_with_id([left, right]), specs, "cms1500")
    assert result.fields["insured_id"].value == "75286287"
