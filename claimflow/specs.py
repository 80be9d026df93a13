"""Extractor specs: the pydantic models of `extractors/*.yml` and their loader with file:line errors.

A spec says how to recognise one document type (keywords, sheet headers) and where each field is
(label anchors, direction or region, regex, type, validators, tables, cross-field checks). The loader
reads every file, validates it strictly (unknown keys, bad regexes, unknown types are errors) and raises
one `SpecError` listing every problem as `file:line: path: message (fix: ...)`, so start-up stops loudly.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic import Field as PydanticField
from pydantic_core import ErrorDetails

from claimflow.calibration import Calibration, load_calibration
from claimflow.errors import SpecError

FieldType = Literal["text", "code", "money", "date", "iban", "currency", "integer", "boolean", "list"]
Direction = Literal["right", "below", "region", "page", "top_lines"]
ColumnType = Literal["text", "code", "money", "date"]


class _Model(BaseModel):
    """Strict base: unknown keys are errors, values are immutable after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regex(value: str | None) -> str | None:
    """Compile a regex from a spec so a bad one fails at load time, not at extraction."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


class Keyword(_Model):
    """A phrase that suggests a document type, with its weight in the classification score."""

    text: str = PydanticField(min_length=1)
    weight: float = PydanticField(default=1.0, gt=0)


class ClassifySpec(_Model):
    """How to recognise the type: weighted keywords for pages, header columns for sheets."""

    keywords: list[Keyword] = []
    required: list[str] = []
    exclude: list[str] = []
    min_score: float = PydanticField(default=1.0, ge=0)
    header_columns: list[str] = []
    min_header_overlap: float = PydanticField(default=0.5, ge=0, le=1)


class LocaleSpec(_Model):
    """How dates and numbers are written in this type; None means unknown (ambiguity is flagged)."""

    day_first: bool | None = None
    decimal_comma: bool | None = None
    month_first_spaced: bool = False


class OcrSpec(_Model):
    """OCR settings for scanned variants of this type."""

    languages: list[str] = ["eng"]
    accents: list[str] = []
    """Latin-script models (deu, fra, spa, ...) that read again, one by one, the words of text fields whose
    accents the first model lost (claimflow/extract_accents.py); empty: no such second reading."""
    dropout: bool = False
    """The form is printed to be dropped out (CMS-1500 red ink): regions read again see only the typed data,
    the form's lighter ink and its box rules removed (`claimflow.readers.dropout`)."""


class Region(_Model):
    """A box relative to the anchor, in page fractions: x from the anchor's left, y from its top."""

    x0: float
    y0: float
    x1: float
    y1: float


class NearCaption(_Model):
    """Another box's caption that places a region field's box when its own caption was not read (the box grid)."""

    anchor: str
    exclude: list[str] = []
    x: float
    y: float


TODAY_OFFSET = re.compile(r"today(?:\s*([+-])\s*(\d{1,5}))?")
"""A date_range bound relative to the current date: `today`, `today+366`, `today-30` (days)."""


def date_bound(value: float | str | None) -> date | None:
    """Return a date_range bound as a date: an ISO date, or `today` with an optional offset in days (`today+366`).

    Raises ValueError for anything else (Validator checks its bounds with this when a spec is loaded).
    """
    if value is None:
        return None
    text = str(value).strip()
    relative = TODAY_OFFSET.fullmatch(text)
    if relative is None:
        return date.fromisoformat(text)
    sign, days = relative.groups()
    offset = timedelta(days=int(days or 0))
    return date.today() - offset if sign == "-" else date.today() + offset


class Validator(_Model):
    """A check on a normalised value; failing lowers confidence and adds a Problem."""

    kind: Literal["iban", "luhn", "gb11643", "date_range", "amount_range", "length", "shape", "icd10cm"]
    min: float | str | None = None
    max: float | str | None = None
    pattern: str | None = None
    """kind shape: the whole value (a code without its spaces) must match this regex."""

    _pattern = field_validator("pattern")(_check_regex)

    @model_validator(mode="after")
    def _shape_has_pattern(self) -> Validator:
        if (self.kind == "shape") != (self.pattern is not None):
            raise ValueError("a shape validator needs a pattern, and only a shape validator takes one")
        return self

    @model_validator(mode="after")
    def _date_bounds_read(self) -> Validator:
        if self.kind == "date_range":
            for bound in (self.min, self.max):
                try:
                    date_bound(bound)
                except ValueError:
                    raise ValueError(
                        f"date_range bound {bound!r} is no date: write YYYY-MM-DD, today, or today+N / today-N days"
                    ) from None
        return self


class FieldSpec(_Model):
    """Where one field is and what it must look like."""

    type: FieldType = "text"
    required: bool = False
    anchors: list[str] = []
    exclude: list[str] = []
    direction: Direction = "right"
    region: Region | None = None
    lines: int = PydanticField(default=1, ge=1, le=10)
    or_below: bool = False
    anchor_field: str | None = None
    near: list[NearCaption] = PydanticField(
        default=[],
        description="region fields: when none of the field's own anchors is read on a page, its region is placed at "
        "the first of these other captions found, moved by (x, y) page fractions (a form's box grid is the same in "
        "every version); such a value counts less (below auto-accept).",
    )
    join: str = " "
    pattern: str | None = None
    fallback_patterns: list[str] = []
    ignore_case: bool = True
    select: Literal["first", "last", "largest", "best"] = "best"
    match: Literal["all", "first", "last"] = "all"
    fuzzy: float = PydanticField(default=85.0, ge=50, le=100)
    columns: list[str] = []
    validators: list[Validator] = []
    allowed: list[str] = []
    reread: bool | Literal["lines", "unread"] = PydanticField(
        default=False,
        description=(
            "OCR pages: true = read the page again (other segmentations) when the field is missing and its line "
            "again enlarged when it is weak; lines = only the enlarged line re-read; unread = only the line of its "
            "label read again enlarged when the value beside it was not read (true and lines do that too)."
        ),
    )
    default: str | None = None
    missing_values: list[str] = []
    markers: list[str] = PydanticField(
        default=[],
        description="list fields: the item markers printed left of each item, in order (A..L, 1..4); items are "
        "ordered by their markers, and a list whose items cannot each be tied to its own marker loses confidence.",
    )
    slots_down: list[str] = PydanticField(
        default=[],
        description="list fields with markers: captions that say the slots are numbered down the columns (the "
        "HCFA-1500's `RELATE ITEMS 1,2,3 OR 4`: 1 3 / 2 4); read on the page, they order items whose markers were "
        "not read by the slot grid's columns instead of in reading order.",
    )
    reread_region: bool | Literal["always"] = PydanticField(
        default=False,
        description="OCR pages: when this region field is missing or below the threshold, its box is read again "
        "enlarged and the field is extracted from that reading (disagreement lowers confidence); `always` reads "
        "it again even when confident, to confirm it (a dropped middle initial reads as a confident name).",
    )
    join_close: bool = PydanticField(
        default=False,
        description="code fields: words of one line less than half a character apart are one token (OCR split "
        "`XGH146367643` at a letter's gap into `XGH1 46367643`, and the pattern took the second piece alone).",
    )
    icd10_dot: bool = PydanticField(
        default=False, description="list fields: ICD-10 codes printed without their dot get it back (M5450 -> M54.50)."
    )
    reread_rows: bool = PydanticField(
        default=False,
        description="OCR pages, region list fields: when missing or below the threshold, the box is cleaned of the "
        "form, cut into rows of text and each row read alone; the reading with more items is kept "
        "(claimflow/extract_rows.py).",
    )
    reread_word: bool = PydanticField(
        default=False,
        description="OCR pages, code fields: a value below the threshold is read again alone (its box cut out with "
        "a margin) at four sizes in one OCR call; when at least three readings agree on another code that fits "
        "the pattern, the value takes it, its confidence unchanged (below auto-accept). Text fields: their words "
        "read below 0.6 are read so, and a word takes what most readings agree on (extract_words.py).",
    )
    no_amounts: bool = PydanticField(
        default=False,
        description="OCR pages, text fields that never hold an amount (an address): a `$` read inside a word is "
        "the S or 5 it looks like (`$0100` for 50100, `S$ 2/23` for SS 2/23), not a dollar sign.",
    )
    tax_of: str | None = PydanticField(
        default=None,
        description="money fields (a receipt's tax): when the tax line's amount was not read (`SST 6% 13.533)`), the "
        "named total minus the printed subtotal, taken only when the rate printed on that line times the subtotal "
        "gives the same tax; below auto-accept, flagged.",
    )
    confirm: list[str] = PydanticField(
        default=[],
        description="OCR pages read with another model (a Latin code on a chi_sim page): the value's box is read "
        "again with these tesseract models; a reading that differs takes the value below auto-accept.",
    )
    vote: list[str] = PydanticField(
        default=[],
        description="OCR pages, text fields: when a word of the value was read weakly, its lines are read again "
        "with these tesseract models at two sizes and the readings vote on its weak characters "
        "(claimflow/extract_votes.py).",
    )

    _pattern = field_validator("pattern")(_check_regex)

    @field_validator("fallback_patterns")
    @classmethod
    def _check_fallbacks(cls, value: list[str]) -> list[str]:
        """Compile every fallback regex at load time."""
        for pattern in value:
            _check_regex(pattern)
        return value


class TableSpec(_Model):
    """Repeating rows between two anchors, read with one regex of named groups per row."""

    anchor: str
    anchors: list[str] = PydanticField(
        default=[],
        description="other captions that place the table, tried in order when `anchor` is not read (a degraded "
        "scan splits the header row's caption over two lines).",
    )
    end_anchors: list[str] = []
    row_pattern: str
    columns: dict[str, ColumnType]
    min_rows: int = PydanticField(default=0, ge=0)
    fuzzy: float = PydanticField(default=80.0, ge=50, le=100)
    row_gap: float = PydanticField(default=0.0, ge=0, le=0.1)
    headers: list[str] = PydanticField(
        default=[],
        description="captions of neighbouring columns (fuzzy); each word of a row belongs to the caption nearest "
        "it left to right, so `cells` can read a column by position.",
    )
    reread_region: bool = PydanticField(
        default=False, description="OCR pages: read the table's rows again enlarged when no row was read."
    )
    reread_rows: bool = PydanticField(
        default=False,
        description="OCR pages: when the table is missing or below the threshold, its box is cleaned of the form, "
        "cut into rows of text and each row read alone; the better reading is kept (claimflow/extract_rows.py). "
        "Replaces `reread_region` for the table.",
    )
    cells: dict[str, str] = PydanticField(
        default={},
        description="columns read by position instead of the row pattern: column -> one of `headers`; a money "
        "cell printed as dollars | cents (`114 00`) is read as 114.00.",
    )

    _row_pattern = field_validator("row_pattern")(_check_regex)

    @model_validator(mode="after")
    def _check_cells(self) -> TableSpec:
        """Every cell names one of the headers and one of the columns."""
        for column, header in self.cells.items():
            if header not in self.headers:
                raise ValueError(f"cells.{column}: header {header!r} is not one of headers {self.headers}")
            if column not in self.columns:
                raise ValueError(f"cells.{column}: not one of columns {sorted(self.columns)}")
        return self


class SumCheck(_Model):
    """The parts (fields or `table.column`) must add up to the total."""

    kind: Literal["sum"]
    parts: list[str] = PydanticField(min_length=1)
    total: str
    tolerance: float = 0.01
    corroborates: bool = PydanticField(
        default=False,
        description="when the parts add up, the total and the parts gain confidence (two readings agree)",
    )


class OrderCheck(_Model):
    """One date field must not be after another."""

    kind: Literal["date_order"]
    earlier: str
    later: str


class AgreeCheck(_Model):
    """Two readings of one value (an amount in figures and in words) must agree.

    Agreement raises the confidence of both (two independent readings rarely err the same way); a
    disagreement makes both not confident and adds a Problem.
    """

    kind: Literal["agree"]
    fields: list[str] = PydanticField(min_length=2)
    fill_unread: bool = False
    """A field whose words were read only in part (a capital amount with unreadable characters) takes the
    other reading's value when every character read fits it; never confident, and flagged."""


class AlikeCheck(_Model):
    """Fields that often hold one value (the patient is the insured) read the same, or apart by more than a misread.

    Values that differ in one word only, by at most `max_edits` letters (`Rodriguez, Ahmed L` and `Rodriguez, Anmed
    L`), are one value misread in one of the boxes: each is held below auto-accept with a Problem naming both. Run
    on OCR'd documents once the second looks are done (extract_checks.check_alike).
    """

    kind: Literal["alike"]
    fields: list[str] = PydanticField(min_length=2)
    max_edits: int = PydanticField(default=2, ge=1, le=3)


Check = Annotated[SumCheck | OrderCheck | AgreeCheck | AlikeCheck, PydanticField(discriminator="kind")]


class Spec(_Model):
    """One document type: how to recognise it and where its fields are."""

    document_type: str = PydanticField(pattern=r"^[a-z][a-z0-9_]*$")
    version: int | str
    description: str = ""
    layout: Literal["page", "sheet"] = "page"
    classify: ClassifySpec = ClassifySpec()
    locale: LocaleSpec = LocaleSpec()
    ocr: OcrSpec = OcrSpec()
    currency: str | None = PydanticField(default=None, pattern=r"^[A-Z]{3}$")
    fields: dict[str, FieldSpec] = {}
    tables: dict[str, TableSpec] = {}
    checks: list[Check] = []


@dataclass(frozen=True, slots=True)
class SpecSet:
    """Every loaded spec by document type, with the file each came from."""

    specs: dict[str, Spec]
    sources: dict[str, Path]
    calibration: Calibration | None = None

    def get(self, document_type: str) -> Spec:
        """Return the spec of a document type; raise KeyError if there is none."""
        return self.specs[document_type]

    def ordered(self) -> list[Spec]:
        """Return the specs in document-type order."""
        return [self.specs[name] for name in sorted(self.specs)]

    def ocr_languages(self) -> tuple[str, ...]:
        """Return every OCR language the specs name, `eng` first: what scanned pages may be read with."""
        named = [language for spec in self.ordered() for language in spec.ocr.languages]
        return tuple(dict.fromkeys(["eng", *named]))


Path_ = tuple[str | int, ...]


def load_specs(directory: Path, *, installed_languages: Collection[str] | None = None) -> SpecSet:
    """Load and validate every `*.yml`/`*.yaml` in `directory`; raise SpecError listing every problem.

    `installed_languages` are the OCR languages a spec may name (default: what tesseract reports; when
    tesseract itself is missing the languages are not checked here, the OCR start-up check says so).
    """
    problems: list[str] = []
    languages = _installed_languages() if installed_languages is None else frozenset(installed_languages)
    specs: dict[str, Spec] = {}
    sources: dict[str, Path] = {}
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    if not directory.is_dir():
        raise SpecError([f"{directory}: extractor folder not found (fix: set CLAIMFLOW_EXTRACTORS)"])
    if not files:
        raise SpecError([f"{directory}: no extractor specs (*.yml) found (fix: add one per document type)"])
    for path in files:
        spec = _load_one(path, problems, languages=languages)
        if spec is None:
            continue
        if spec.document_type in specs:
            problems.append(
                f"{_show(path)}:1: document_type: {spec.document_type!r} is also defined in "
                f"{_show(sources[spec.document_type])} (fix: give each spec its own document_type)"
            )
            continue
        specs[spec.document_type] = spec
        sources[spec.document_type] = path
    calibration = None
    try:
        calibration = load_calibration(directory)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise SpecError(problems)
    return SpecSet(specs, sources, calibration)


def _show(path: Path) -> str:
    """Show a spec path as `folder/file.yml`, as people see it in the repo."""
    return f"{path.parent.name}/{path.name}"


def load_spec_text(text: str, path: Path) -> Spec:
    """Validate spec `text` as if it were the file `path` (a proposed change); raise SpecError with its problems."""
    problems: list[str] = []
    spec = _load_one(path, problems, text=text)
    if spec is None or problems:
        raise SpecError(problems or [f"{_show(path)}:1: not a usable spec"])
    return spec


def _load_one(
    path: Path, problems: list[str], text: str | None = None, *, languages: frozenset[str] | None = None
) -> Spec | None:
    """Parse and validate one spec file (or `text` standing for it), appending its problems; None if unusable."""
    where = _show(path)
    try:
        text = path.read_text(encoding="utf-8") if text is None else text
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{where}:1: cannot read the file: {exc} (fix: save it as UTF-8 text)")
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(f"{where}:{line}: invalid YAML: {reason} (fix: check indentation and quoting)")
        return None
    if not isinstance(data, dict) or node is None:
        problems.append(f"{where}:1: the spec must be a mapping with document_type, version, fields")
        return None
    lines: dict[Path_, int] = {}
    _map_lines(node, (), lines, problems, where)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(f"{where}:{_line_of(loc, lines)}: {_dotted(loc)}: {_explain(error)}")
        return None
    for loc, message in [*_cross_check(spec), *_check_languages(spec, languages)]:
        problems.append(f"{where}:{_line_of(loc, lines)}: {_dotted(loc)}: {message}")
    return spec


OCR_LANGUAGE = re.compile(r"^(?:[a-z]{3}(?:_[a-z]+)?|[A-Z][a-z]+[A-Z]?)$")
"""A tesseract language name: `eng`, `chi_sim`, `deu_latf`, or a script model: `HanS`, `Latin`."""


def _installed_languages() -> frozenset[str] | None:
    """Return tesseract's installed languages, None when tesseract is not there to ask."""
    from claimflow.readers.ocr import installed_languages  # noqa: PLC0415 - keeps spec loading free of OCR imports

    return installed_languages()


def _check_languages(spec: Spec, installed: frozenset[str] | None) -> list[tuple[Path_, str]]:
    """Check the spec's OCR languages: tesseract names, installed (when known), `eng` among them for Latin text."""
    problems: list[tuple[Path_, str]] = []
    named: list[tuple[Path_, str]] = [(("ocr", "languages", i), lang) for i, lang in enumerate(spec.ocr.languages)]
    named += [(("ocr", "accents", i), lang) for i, lang in enumerate(spec.ocr.accents)]
    named += [
        (("fields", name, "confirm", i), lang)
        for name, field_spec in spec.fields.items()
        for i, lang in enumerate(field_spec.confirm)
    ]
    named += [
        (("fields", name, "vote", i), lang)
        for name, field_spec in spec.fields.items()
        for i, lang in enumerate(field_spec.vote)
    ]
    for loc, language in named:
        if not OCR_LANGUAGE.fullmatch(language) or language == "osd":
            hint = difflib.get_close_matches(language.replace("-", "_").lower(), sorted(installed or ()), n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else "use a tesseract language name such as eng or chi_sim"
            problems.append((loc, f"{language!r} is not a tesseract language name (fix: {fix})"))
        elif installed is not None and language not in installed:
            # script models (HanS, Latin) come in their own packages: tesseract-ocr-script-hans
            script = language[0].isupper()
            package = ("tesseract-ocr-script-" if script else "tesseract-ocr-") + language.replace("_", "-").lower()
            problems.append(
                (
                    loc,
                    f"tesseract has no {language!r} language installed (installed: {', '.join(sorted(installed))})"
                    f" (fix: sudo apt-get install -y {package}, or run scripts/setup.sh)",
                )
            )
    return problems


def _map_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[str], where: str) -> None:
    """Record the 1-based line of every key and item, and report duplicate keys (YAML keeps the last)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                problems.append(
                    f"{where}:{key_node.start_mark.line + 1}: {_dotted(child)}: duplicate key "
                    f"(fix: keep one; YAML silently uses the last)"
                )
            seen.add(key)
            _map_lines(value_node, child, lines, problems, where)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _map_lines(item, (*path, index), lines, problems, where)


def _line_of(loc: Path_, lines: dict[Path_, int]) -> int:
    """Return the line of the longest prefix of `loc` present in the file."""
    for end in range(len(loc), -1, -1):
        prefix = tuple(part for part in loc[:end] if not (isinstance(part, str) and part in _UNION_TAGS))
        if prefix in lines:
            return lines[prefix]
    return 1


_UNION_TAGS = frozenset({"sum", "date_order", "agree", "float", "str", "int"})


def _dotted(loc: Path_) -> str:
    """Show a location as `fields.amount.type` or `checks[0].total`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS:
            continue
        else:
            out += ("." if out else "") + part
    return out or "(top)"


def _explain(error: ErrorDetails) -> str:
    """Turn one pydantic error into a plain message with a fix."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        allowed = _allowed_keys(tuple(error["loc"][:-1]))
        hint = difflib.get_close_matches(key, allowed, n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else f"allowed keys: {', '.join(sorted(allowed))}"
        return f"unknown key {key!r} (fix: {fix})"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = difflib.get_close_matches(str(value), expected, n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else "use one of the listed values"
        return f"{value!r} is not one of {'|'.join(expected)} (fix: {fix})"
    if kind == "missing":
        return "required key is missing (fix: add it)"
    if kind == "value_error":
        return f"{str(ctx.get('error', error['msg']))} (fix: correct the value)"
    if kind == "union_tag_invalid":
        return f"unknown check kind {ctx.get('tag')!r} (fix: use one of {ctx.get('expected_tags')})"
    return f"{error['msg']} (got {value!r}) (fix: correct the value)"


_MODEL_AT: dict[str, type[_Model]] = {
    "classify": ClassifySpec,
    "locale": LocaleSpec,
    "ocr": OcrSpec,
    "region": Region,
    "validators": Validator,
    "keywords": Keyword,
}


def _allowed_keys(loc: Path_) -> list[str]:
    """Return the keys allowed at a location, for 'did you mean' hints."""
    model: type[_Model] = Spec
    parts = [part for part in loc if not isinstance(part, int)]
    index = 0
    while index < len(parts):
        part = str(parts[index])
        if part in ("fields", "tables") and model is Spec:
            model = FieldSpec if part == "fields" else TableSpec
            index += 2
            continue
        if part == "checks":
            models = (SumCheck, OrderCheck, AgreeCheck, AlikeCheck)
            return sorted({key for model_class in models for key in model_class.model_fields})
        model = _MODEL_AT.get(part, model)
        index += 1
    return list(model.model_fields)


def _cross_check(spec: Spec) -> list[tuple[Path_, str]]:
    """Check references between parts of one spec (checks naming fields, sheet fields having columns)."""
    problems: list[tuple[Path_, str]] = []
    known = set(spec.fields) | {f"{table}.{column}" for table, t in spec.tables.items() for column in t.columns}
    for index, check in enumerate(spec.checks):
        if isinstance(check, SumCheck):
            names = [*check.parts, check.total]
        elif isinstance(check, AgreeCheck | AlikeCheck):
            names = list(check.fields)
        else:
            names = [check.earlier, check.later]
        for name in names:
            if name not in known:
                problems.append(
                    (
                        (("checks", index)),
                        f"{name!r} is not a field or table column of this spec "
                        f"(fix: use one of {', '.join(sorted(known))})",
                    )
                )
    earlier: set[str] = set()
    for name, field in spec.fields.items():
        if field.anchor_field is not None and field.anchor_field not in earlier:
            problems.append(
                (
                    ("fields", name, "anchor_field"),
                    f"{field.anchor_field!r} is not a field listed before {name!r} (fix: name an earlier field)",
                )
            )
        earlier.add(name)
        if spec.layout == "sheet" and not field.columns:
            problems.append((("fields", name), "a sheet field needs `columns` (fix: list its header names)"))
        if (
            spec.layout == "page"
            and not field.anchors
            and field.anchor_field is None
            and field.direction not in ("page", "top_lines")
        ):
            problems.append(
                (
                    ("fields", name),
                    "a page field needs `anchors` unless direction is page or top_lines (fix: add the label text)",
                )
            )
        if field.allowed and field.type not in ("text", "code"):
            problems.append(
                (
                    ("fields", name, "allowed"),
                    f"`allowed` values need type text or code, not {field.type} (fix: drop `allowed` or change type)",
                )
            )
        if field.near and field.direction != "region":
            problems.append((("fields", name, "near"), "`near` places a region (fix: use direction region)"))
        if field.direction == "region" and field.region is None:
            problems.append((("fields", name, "direction"), "direction region needs `region` (fix: add x0,y0,x1,y1)"))
    for name, table in spec.tables.items():
        groups = set(re.compile(table.row_pattern).groupindex)
        missing = set(table.columns) - groups
        if missing:
            problems.append(
                (
                    ("tables", name, "row_pattern"),
                    f"no named group for {sorted(missing)} (fix: add (?P<name>...) for each column)",
                )
            )
    return problems
