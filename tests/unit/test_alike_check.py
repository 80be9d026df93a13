"""The `alike` check: fields that often hold one value read the same, or apart by more than a misread."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimflow.errors import ReasonCode, SpecError
from claimflow.extract_checks import DISAGREE_CAP, apply_checks, check_alike, misread_apart
from claimflow.models import Field, Provenance, ReadMethod
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import load_specs

SPECS = load_specs(PROJECT_ROOT / "extractors")


def _names(patient: str, insured: str, confidence: float = 0.99) -> dict[str, Field]:
    return {
        "patient_name": Field("patient_name", patient, confidence, Provenance(ReadMethod.OCR, page=1)),
        "insured_name": Field("insured_name", insured, confidence, Provenance(ReadMethod.OCR, page=1)),
    }


def test_two_names_a_misread_apart_are_both_held_below_auto_accept() -> None:
    # seed 29 full cms1500 016 clean: box 4 read `Rodriguez, Anmed L` (h read as n) at 0.989, box 2 `Ahmed`
    fields = _names("Rodriguez, Ahmed L", "Rodriguez, Anmed L")
    # not on the first reading: a closer reading of the held box would win over its right value
    assert apply_checks(fields, SPECS.specs["cms1500"]) == []
    assert all(f.confidence == 0.99 for f in fields.values())
    problems = check_alike(fields, SPECS.specs["cms1500"], [])
    assert [p.code for p in problems] == [ReasonCode.FIELD_AMBIGUOUS]
    assert "Anmed" in problems[0].message and "Ahmed" in problems[0].message
    assert all(f.confidence == DISAGREE_CAP for f in fields.values())
    # held again, the Problem is not said twice
    fields["insured_name"] = Field("insured_name", "Rodriguez, Anmed L", 0.97, Provenance(ReadMethod.OCR, page=1))
    assert check_alike(fields, SPECS.specs["cms1500"], problems) == []
    assert fields["insured_name"].confidence == DISAGREE_CAP


@pytest.mark.parametrize(
    ("patient", "insured"),
    [
        ("Rodriguez, Ahmed L", "Rodriguez, Ahmed L"),  # one person read alike
        ("Lee-Wong, Wei J", "Lee-Wong, Mary J"),  # a spouse: another first name
        ("Nguyen, Brian", "Nguyen, Brian T"),  # a word more: not one misread word
        ("Nguyen, Brian J", "Nguyen, Brian K"),  # an initial alone apart: two people of one name
        ("RODRIGUEZ, AHMED L", "Rodriguez, Ahmed L"),  # printed in other cases: apart
    ],
)
def test_names_alike_or_clearly_apart_are_left_as_read(patient: str, insured: str) -> None:
    fields = _names(patient, insured)
    assert check_alike(fields, SPECS.specs["cms1500"], []) == []
    assert all(f.confidence == 0.99 for f in fields.values())


def test_misread_apart_counts_edits_in_the_one_word_that_differs() -> None:
    assert misread_apart("Kim, Ann", "Kirn, Ann", 2)  # m read as rn: two edits
    assert not misread_apart("Kim, Ann", "Kirn, Ann", 1)
    assert not misread_apart("Smith, Jonathan", "Smith, Josephine", 2)


def test_an_alike_check_naming_an_unknown_field_is_a_spec_error(tmp_path: Path) -> None:
    spec = (PROJECT_ROOT / "extractors" / "cms1500.yml").read_text(encoding="utf-8")
    (tmp_path / "cms1500.yml").write_text(
        spec.replace("fields: [patient_name, insured_name]}", "fields: [patient_name, insured_nam]}"), encoding="utf-8"
    )
    with pytest.raises(SpecError, match="insured_nam"):
        load_specs(tmp_path)
