import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from claimflow.errors import SpecError
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import SumCheck, date_bound, load_specs

EXTRACTORS = PROJECT_ROOT / "extractors"

GOOD = """\
document_type: sample_form
version: 1
classify:
  keywords:
    - {text: "SAMPLE FORM", weight: 2}
  min_score: 2
fields:
  amount:
    type: money
    anchors: ["Amount:"]
    pattern: '\\d+[.,]\\d{2}'
"""


def write(tmp_path: Path, text: str, name: str = "sample_form.yml") -> Path:
    folder = tmp_path / "extractors"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_specs(folder)
    return caught.value.problems


def test_every_shipped_spec_loads() -> None:
    specs = load_specs(EXTRACTORS)
    assert set(specs.specs) == {
        "motor_claim_form",
        "claim_application_zh",
        "cms1500",
        "invoice",
        "receipt",
        "claims_bordereau",
        "policy_register",
    }
    for name, path in specs.sources.items():
        assert path.stem == name


def test_good_spec_loads(tmp_path: Path) -> None:
    specs = load_specs(write(tmp_path, GOOD))
    spec = specs.get("sample_form")
    assert spec.fields["amount"].type == "money"
    assert spec.classify.keywords[0].weight == 2


def test_unknown_type_names_file_line_path_and_fix(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, GOOD.replace("type: money", "type: monney")))
    assert len(problems) == 1
    assert problems[0].startswith("extractors/sample_form.yml:9: fields.amount.type: 'monney' is not one of ")
    assert "money|" in problems[0] and "did you mean 'money'?" in problems[0]


def test_date_range_bounds_are_dates_or_today_with_days(tmp_path: Path) -> None:
    def with_bounds(low: str, high: str) -> str:
        line = f'    validators: [{{kind: date_range, min: "{low}", max: "{high}"}}]\n'
        return GOOD.replace('    anchors: ["Amount:"]\n', '    anchors: ["Amount:"]\n' + line)

    ok = load_specs(write(tmp_path, with_bounds("1970-01-01", "today+366")))
    (bound,) = ok.get("sample_form").fields["amount"].validators
    assert (date_bound(bound.max) - date.today()).days == 366 and date_bound("today-30") == date.today() - timedelta(30)
    problems = problems_of(write(tmp_path, with_bounds("1970-01-01", "next year")))
    assert len(problems) == 1 and "date_range bound 'next year' is no date" in problems[0], problems


def test_unknown_key_is_reported_with_suggestion(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, GOOD.replace("    anchors:", "    ancors:")))
    assert problems == [
        "extractors/sample_form.yml:10: fields.amount.ancors: unknown key 'ancors' (fix: did you mean 'anchors'?)"
    ]


def test_bad_regex_is_reported_at_its_line(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, GOOD.replace("pattern: '\\d+[.,]\\d{2}'", "pattern: '(\\d+'")))
    assert len(problems) == 1
    assert problems[0].startswith("extractors/sample_form.yml:11: fields.amount.pattern: invalid regular expression")


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, GOOD.replace("  amount:\n", "  amount:\n   - broken: [\n")))
    assert len(problems) == 1
    assert problems[0].startswith("extractors/sample_form.yml:")
    assert "invalid YAML" in problems[0]


def test_every_problem_in_every_file_is_listed(tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD.replace("type: money", "type: monney").replace("version: 1\n", ""))
    write(tmp_path, GOOD.replace("sample_form", "other_form").replace("min_score: 2", "min_score: -1"), "other.yml")
    problems = problems_of(folder)
    assert len(problems) == 3
    assert any(p.startswith("extractors/other.yml:6: classify.min_score:") for p in problems)
    assert any(p.startswith("extractors/sample_form.yml:1: version: required key is missing") for p in problems)


def test_duplicate_keys_and_document_types_are_errors(tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD + "  amount:\n    type: text\n    anchors: [x]\n")
    write(tmp_path, GOOD, "copy.yml")
    problems = problems_of(folder)
    assert any("sample_form.yml:12: fields.amount: duplicate key" in p for p in problems)
    assert any("copy.yml" in p and "also defined in" in p for p in problems)


def test_checks_must_name_known_fields(tmp_path: Path) -> None:
    text = GOOD + "checks:\n  - {kind: sum, parts: [amount], total: totl}\n"
    problems = problems_of(write(tmp_path, text))
    assert problems[0].startswith("extractors/sample_form.yml:13: checks[0]: 'totl' is not a field")


def test_check_kinds_are_typed(tmp_path: Path) -> None:
    specs = load_specs(write(tmp_path, GOOD + "checks:\n  - {kind: sum, parts: [amount], total: amount}\n"))
    assert isinstance(specs.get("sample_form").checks[0], SumCheck)


def test_table_needs_named_groups_for_columns(tmp_path: Path) -> None:
    text = GOOD + "tables:\n  lines:\n    anchor: X\n    row_pattern: '(?P<a>\\d+)'\n    columns: {a: text, b: money}\n"
    problems = problems_of(write(tmp_path, text))
    assert problems == [
        "extractors/sample_form.yml:15: tables.lines.row_pattern: no named group for ['b'] "
        "(fix: add (?P<name>...) for each column)"
    ]


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    assert "not found" in problems_of(tmp_path / "nope")[0]
    (tmp_path / "empty").mkdir()
    assert "no extractor specs" in problems_of(tmp_path / "empty")[0]


def test_shipped_specs_copy_still_loads(tmp_path: Path) -> None:
    shutil.copytree(EXTRACTORS, tmp_path / "extractors", ignore=shutil.ignore_patterns("*.md"))
    assert len(load_specs(tmp_path / "extractors").specs) == 7


def test_allowed_values_load_and_need_a_text_or_code_field(tmp_path: Path) -> None:
    good = GOOD + "  kind:\n    anchors: ['Kind:']\n    allowed: [fire, theft]\n"
    assert load_specs(write(tmp_path, good)).get("sample_form").fields["kind"].allowed == ["fire", "theft"]
    bad = GOOD.replace("    type: money\n", "    type: money\n    allowed: [one, two]\n")
    (problem,) = problems_of(write(tmp_path, bad))
    assert "fields.amount.allowed" in problem and "type text or code" in problem


def test_a_shape_validator_needs_a_pattern_that_compiles(tmp_path: Path) -> None:
    code = "  code:\n    type: code\n    anchors: ['Code:']\n    validators:\n      - {kind: shape%s}\n"
    good = GOOD + code % ", pattern: '[A-Z]{2}\\d{6}'"
    (validator,) = load_specs(write(tmp_path, good)).get("sample_form").fields["code"].validators
    assert validator.pattern == "[A-Z]{2}\\d{6}"
    (problem,) = problems_of(write(tmp_path, GOOD + code % ""))
    assert "shape validator needs a pattern" in problem
    (problem,) = problems_of(write(tmp_path, GOOD + code % ", pattern: '[A-Z'"))
    assert "invalid regular expression" in problem
