"""The ICD-10-CM code set shipped with the engine, and diagnosis lists checked and repaired against it."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import pytest

from claimflow.extract import real_letterings
from claimflow.icd10cm import billable_codes, check_list, dotted, is_icd10cm, rejoined, repairs
from claimflow.samples.cms1500 import ICD10

ROOT = Path(__file__).resolve().parents[2]


def test_the_set_holds_the_billable_codes_only() -> None:
    codes = billable_codes()
    assert 70_000 < len(codes) < 80_000  # FY2026 has 74,7xx billable codes
    assert {"I10", "J029", "S83511A", "M5450", "Z0000"} <= codes
    # headers that need more characters are no code a claim can carry
    assert not {"J02", "S029", "S45909", "E11", "F119"} & codes
    assert is_icd10cm("j02.9") and is_icd10cm("J02.9") and not is_icd10cm("I90.29")


def test_the_generator_draws_real_codes() -> None:
    # the corpus's truth must pass the check, or it would reject right readings
    assert [code for code in ICD10 if not is_icd10cm(code)] == []


@pytest.mark.parametrize(("read", "expected"), [
    ("S45.909", ["J45.909"]),  # J read as S
    ("F11.9", ["E11.9"]),  # E read as F
    ("5029", ["J02.9"]),  # J read as 5 (no dot)
    ("R1O.9", ["R10.9"]),
    ("306.9", ["B06.9", "J06.9"]),  # 3 is a J or a B: two real codes, no repair
    ("Y45.909", []),
    # a J typed beside its slot's bracket is read O, A, F or C (the bracket glued to its hook): `F02.9` is F07.9
    # (2 read 7) or J02.9, so it is not repaired into F07.9; the cells and brackets looks read it again
    ("F02.9", ["F07.9", "J02.9"]),
    # cms21: a Courier I after its slot's bracket read Z (seed 25 acroform 001 clean `Z10`)
    ("Z10", ["I10"]),
    # cms21: the J lost beside the slot's bracket, its 0 read as the letter O (seeds 19 and 25 acroform `O29`)
    ("O29", ["J02.9"]),
    ("I89", ["I39", "J18.9"]),  # two: not repaired
])
def test_repairs_are_the_real_codes_one_confusion_away(read: str, expected: list[str]) -> None:
    assert repairs(read) == expected


def test_a_list_takes_a_repair_only_when_it_is_the_only_one() -> None:
    check = check_list(["S45.909", "E11.9", "306.9"])
    assert check.items == ["J45.909", "E11.9", "306.9"]
    assert check.repaired == [("S45.909", "J45.909")]
    assert check.invalid == ["306.9"]
    # a code cut short (`N39` of N39.0, a header) is not made another code of its length (N33): it stays, invalid
    # a header read for a J code whose J the bracket took is only repaired at its letter: O69 is J06.9 (not O68)
    assert check_list(["O69", "E11.9"]).repaired == [("O69", "J06.9")]
    cut = check_list(["N39", "E11.9"])
    assert cut.items == ["N39", "E11.9"] and cut.repaired == [] and cut.invalid == ["N39"]
    # a list of ICD-9 codes (no letter then digit) is not checked, nor one with ICD-9 codes read with their slot's
    # letter glued (at most half ICD-10-shaped)
    assert check_list(["525.10", "401.9"]).invalid == []
    assert check_list(["B525.00", "525.10", "F524.22", "541.22"]).invalid == []


def test_codes_read_with_digits_only_take_the_letter_the_code_set_names() -> None:
    assert real_letterings("945909") == ["J45.909"]
    assert real_letterings("19029") == ["J02.9"]  # the bracket's 1, then J02.9 with its J read as 9
    assert real_letterings("7069") == ["J06.9"]
    assert real_letterings("200.00") == ["Z00.00"]
    assert dotted("S83511A") == "S83.511A" and dotted("I10") == "I10"


def test_a_code_cut_at_its_dot_is_rejoined_only_into_a_billable_code() -> None:
    assert rejoined("J45", "909") == "J45.909"
    assert rejoined("M79", ",604") == "M79.604"
    assert rejoined("E78", "I10") is None  # no code
    assert rejoined("I10", "9") is None  # I10 is a code already, not a cut one


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("icd10cm_codes", ROOT / "scripts" / "icd10cm_codes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_keeps_billable_codes_and_gives_the_shipped_format(tmp_path: Path) -> None:
    script = _script()
    listing = ["1", "A00-A09", "A00", "A000", "A001", "A009", "I10", "J02", "J02.0 Streptococcal", "J029", "S02",
               "S029", "S029XXA"]
    codes = script.billable(listing)
    assert codes == ["A000", "A001", "A009", "I10", "J020", "J029", "S029XXA"]
    text = gzip.decompress(script.encode(codes)).decode()
    assert text == "A00 0 1 9\nI10\nJ02 0 9\nS02 9XXA\n"
    assert script.encode(codes) == script.encode(codes)  # no timestamp: the same bytes every time
