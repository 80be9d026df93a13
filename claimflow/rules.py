"""Load, validate and pick the analyst-owned rule sets in rules/*.yml.

Validation collects every problem of every file before failing, each as `rules/x.yml:LINE: message (fix: ...)`:
YAML syntax, unknown or missing keys, expressions that do not parse (zen), `&&`/`||`, unknown field names,
settle without payout, placeholders that name no fact, duplicate rule ids, and the embedded examples
(`tests:`), which are run through the real decision runner at every load. The format is in rules/README.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claimflow import decide, rules_excel
from claimflow.errors import ReasonCode, RuleSetError
from claimflow.facts import FACT_FIELDS, FactError, parse_facts

HitPolicy = Literal["priority", "first", "collect", "unique"]
RuleDecision = Literal["settle", "review", "request_documents"]
_Path = tuple[str | int, ...]
_RULE_INDEX = re.compile(r"^rules\[\d+\] ")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Then(_Strict):
    """What a rule decides when its condition holds."""

    decision: RuleDecision
    reason: str = Field(min_length=1, description="Plain words; {{fact}} placeholders are filled in.")
    code: ReasonCode | None = Field(default=None, description="Stable reason code; the rule id when absent.")
    payout: str | None = Field(default=None, description="zen expression; required for settle.")
    queue: str | None = None
    recommendation: Literal["reject"] | None = Field(default=None, description="Only on review.")
    documents: list[str] = Field(default_factory=list, description="Extra documents to ask for.")


class Rule(_Strict):
    """One rule: a zen condition over ClaimFacts and what to decide."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    priority: int = Field(ge=0, le=1000)
    description: str | None = None
    when: str = Field(min_length=1)
    then: Then


class Expect(_Strict):
    """What an embedded example must decide."""

    route: RuleDecision
    payout: str | None = None
    decided_by: str | None = None
    recommendation: Literal["reject"] | None = None
    missing_documents: list[str] | None = None
    reason_codes: list[str] | None = None


class Example(_Strict):
    """An embedded example: claim facts and the expected decision; run at every load."""

    name: str = Field(min_length=1)
    facts: dict[str, object]
    expect: Expect


class TableInclude(_Strict):
    """An Excel workbook whose sheets are decision tables of this rule set (rows become rules)."""

    workbook: str = Field(
        pattern=r"^[^/\\]+\.xlsx$", description="File name next to the rule set, e.g. small_claims.xlsx"
    )
    hit_policy: rules_excel.TablePolicy = Field(
        default="unique",
        description="Within one sheet: unique (rows may not overlap), first (the first matching row only), "
        "any (overlaps allowed).",
    )


class RuleSetFile(_Strict):
    """The YAML format of one rule set version (exported as rules/ruleset.schema.json)."""

    ruleset: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$", description="CalVer YYYY.MM.N")
    effective_from: date
    owner: str
    hit_policy: HitPolicy = "priority"
    default: Then
    required_documents: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict, description="source -> claim_type -> document types that must be present."
    )
    rules: list[Rule] = Field(min_length=1)
    tables: list[TableInclude] = Field(
        default_factory=list, description="Excel decision tables whose rows are added to rules (see rules/README.md)."
    )
    tests: list[Example] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A validated rule set version with where it came from and the hash of its file."""

    name: str
    version: str
    effective_from: date
    owner: str
    hit_policy: HitPolicy
    default: Then
    required_documents: dict[str, dict[str, list[str]]]
    rules: tuple[Rule, ...]
    tests: tuple[Example, ...]
    source: str
    sha256: str
    tables: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Rule id -> (table `workbook!sheet`, its hit policy) for rules that come from a decision table."""
    files: Mapping[str, str] = field(default_factory=dict)
    """The texts the hash covers (the YAML file and the exports of its workbooks), for the archive."""
    uncovered: tuple[str, ...] = ()
    """Rules that no embedded example fires (rule coverage)."""


def ruleset_schema_text() -> str:
    """Return the JSON Schema of the rule set format, as written to rules/ruleset.schema.json."""
    schema = RuleSetFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ClaimFlow rule set"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def rule_files(directory: Path) -> list[Path]:
    """Return the rule set files of a folder: every *.yml except the exports of workbooks (*.xlsx.yml)."""
    return sorted(p for p in directory.glob("*.yml") if not p.name.endswith(".xlsx" + rules_excel.EXPORT_SUFFIX))


def check_report(directory: Path) -> tuple[list[str], list[RuleSet]]:
    """Return every problem in every rule file of `directory` ([] when all are clean) and the clean versions."""
    files = rule_files(directory)
    if not files:
        return [f"{directory}: no rule set files (*.yml) (fix: add rules/claims_routing.yml)"], []
    problems: list[str] = []
    loaded: list[RuleSet] = []
    for path in files:
        ruleset, file_problems = _load_file(path)
        problems.extend(file_problems)
        if ruleset is not None:
            loaded.append(ruleset)
    return problems, loaded


def version_changes(versions: list[RuleSet]) -> list[str]:
    """Say, for each version after the first of a rule set, which rule ids it adds and drops against the one before.

    A later version is a copy of an earlier one; a rule added to the live version and forgotten in the next shows
    here before the next takes effect.
    """
    lines: list[str] = []
    by_name: dict[str, list[RuleSet]] = {}
    for version in versions:
        by_name.setdefault(version.name, []).append(version)
    for name, chain in sorted(by_name.items()):
        chain.sort(key=lambda r: (r.effective_from, r.version))
        for older, newer in zip(chain, chain[1:], strict=False):
            before, after = [r.id for r in older.rules], [r.id for r in newer.rules]
            added = [rule for rule in after if rule not in before]
            dropped = [rule for rule in before if rule not in after]
            lines.append(
                f"{name} {newer.version} against {older.version}: "
                f"adds {', '.join(added) or 'no rule'}; drops {', '.join(dropped) or 'no rule'}"
            )
    return lines


def check_rules(directory: Path) -> list[str]:
    """Return every problem in every rule file of `directory`; [] when all are clean."""
    return check_report(directory)[0]


def load_versions(directory: Path) -> list[RuleSet]:
    """Load and validate every version in `directory`; raise RuleSetError listing every problem."""
    problems, loaded = check_report(directory)
    if problems:
        raise RuleSetError(problems)
    return loaded


def load_ruleset(directory: Path, *, on: date | None = None, name: str | None = None) -> RuleSet:
    """Load and validate every rules/*.yml; return the version in force on `on` (default today).

    Raises RuleSetError listing every problem in every file, or when no version is in force.
    """
    return pick_version(load_versions(directory), directory, on=on or date.today(), name=name)


def pick_version(loaded: list[RuleSet], directory: Path, *, on: date, name: str | None = None) -> RuleSet:
    """Return the version in force on `on`: the latest `effective_from` on or before it."""
    names = sorted({r.name for r in loaded})
    if name is None and len(names) > 1:
        raise RuleSetError([f"{directory}: several rule sets {names}; say which one to load"])
    wanted = name or names[0]
    in_force = [r for r in loaded if r.name == wanted and r.effective_from <= on]
    if not in_force:
        raise RuleSetError([f"{directory}: no version of rule set '{wanted}' is in force on {on.isoformat()}"])
    latest = max(r.effective_from for r in in_force)
    chosen = [r for r in in_force if r.effective_from == latest]
    if len(chosen) > 1:
        sources = ", ".join(r.source for r in chosen)
        raise RuleSetError([f"{sources}: several versions take effect on {latest.isoformat()}; keep one"])
    return chosen[0]


def load_candidate(path: Path) -> RuleSet:
    """Load a candidate rule set: one file, or the newest version in a folder (effective dates are ignored)."""
    if path.is_dir():
        loaded = load_versions(path)
        return max(loaded, key=lambda r: (r.effective_from, r.version))
    ruleset, problems = _load_file(path)
    if problems or ruleset is None:
        raise RuleSetError(problems or [f"{path}: not a rule set"])
    return ruleset


def load_archived(files: Mapping[str, str], main: str) -> RuleSet:
    """Load a rule set version from its archived texts (YAML plus workbook exports), e.g. for a replay.

    The workbooks themselves are not needed: their rows are read back from the exports, which the hash covers.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="claimflow-rules-") as tmp:
        folder = Path(tmp) / "archive"
        folder.mkdir()
        for name, text in files.items():
            (folder / Path(name).name).write_text(text, encoding="utf-8")
        ruleset, problems = _load_file(folder / Path(main).name, from_exports=True)
    if problems or ruleset is None:
        raise RuleSetError(problems or [f"archive: {main} does not load"])
    return ruleset


def export_workbooks(directory: Path) -> list[Path]:
    """Write the canonical export of every workbook the rule sets of `directory` include; return what changed."""
    written: list[Path] = []
    for path in rule_files(directory):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        includes = data.get("tables") if isinstance(data, dict) else None
        for include in includes if isinstance(includes, list) else []:
            try:
                table = TableInclude.model_validate(include)
            except ValidationError:
                continue
            workbook = path.parent / table.workbook
            book = rules_excel.read_workbook(workbook, _display_path(workbook), FACT_FIELDS, decide.expression_error)
            if book.problems:
                raise RuleSetError(book.problems)
            text = rules_excel.export_text(table.workbook, book.rows, table.hit_policy)
            target = rules_excel.export_path(workbook)
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
                written.append(target)
    return written


def _display_path(path: Path) -> str:
    """Show a rule file as `<folder>/<file>`, the way analysts see it in the repository."""
    return f"{path.parent.name}/{path.name}"


@dataclass(slots=True)
class _Tables:
    """What the `tables:` of a file added: rules' table membership, hashed texts, and problems."""

    table_of: dict[str, tuple[str, str]]
    texts: dict[str, str]
    problems: list[str]
    stale: list[str]
    """Out-of-date exports: reported only when the file is otherwise clean (one mistake, one message)."""


def _include_tables(path: Path, data: dict[str, object], locate: _Locator, from_exports: bool) -> _Tables:
    """Append the rows of the included workbooks to data['rules'], pointing their paths at the cells."""
    result = _Tables({}, {}, [], [])
    includes = data.get("tables")
    raw_rules = data.get("rules")
    if not isinstance(includes, list) or not includes:
        return result
    merged = list(raw_rules) if isinstance(raw_rules, list) else []
    for include in includes:
        try:
            table = TableInclude.model_validate(include)
        except ValidationError:
            continue  # reported with its line by the validation of the whole file
        workbook = path.parent / table.workbook
        export = rules_excel.export_path(workbook)
        shown = _display_path(workbook)
        if from_exports:
            if not export.is_file():
                result.problems.append(f"{_display_path(export)}: missing from the archive")
                continue
            text = export.read_text(encoding="utf-8")
            rows = [rules_excel.TableRow(f"{shown}!?", 0, rule, {}) for rule in rules_excel.rules_from_export(text)]
            for row, exported in zip(rows, yaml.safe_load(text).get("rules", []), strict=True):
                row.table = f"{shown}!{exported.get('table', '?')}"
        else:
            book = rules_excel.read_workbook(workbook, shown, FACT_FIELDS, decide.expression_error)
            result.problems.extend(book.problems)
            if not book.problems:  # overlaps of a half-read sheet would be made up
                result.problems.extend(rules_excel.overlap_problems(book.rows, table.hit_policy))
            rows = book.rows
            text = rules_excel.export_text(table.workbook, rows, table.hit_policy)
            if not export.is_file() or export.read_text(encoding="utf-8") != text:
                state = "is out of date" if export.is_file() else "is missing"
                result.stale.append(
                    f"{_display_path(export)}: the text export of {table.workbook} {state} "
                    "(fix: run `claimflow rules export` and commit the export with the workbook)"
                )
        result.texts[export.name] = text
        for row in rows:
            index = len(merged)
            merged.append(row.data)
            for sub, ref in row.cells.items():
                locate.cells[("rules", index, *sub)] = ref
            rule_id = row.data.get("id")
            if isinstance(rule_id, str):
                result.table_of[rule_id] = (row.table.split("/", 1)[-1], table.hit_policy)
    data["rules"] = merged
    return result


def _load_file(path: Path, *, from_exports: bool = False) -> tuple[RuleSet | None, list[str]]:
    """Validate one file (with its decision tables); return the rule set (None if invalid) and its problems."""
    shown = _display_path(path)
    raw_bytes = path.read_bytes()
    text = raw_bytes.decode("utf-8", errors="replace")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [f"{shown}:{line}: YAML syntax: {problem} (fix: check indentation and quoting)"]
    lines = dict(_index_lines(node, ()))
    locate = _Locator(shown, lines)
    if not isinstance(data, dict):
        return None, [locate((), "a rule set must be a mapping of keys (ruleset, version, rules, ...)")]
    tables = _include_tables(path, data, locate, from_exports)
    problems: list[str] = list(tables.problems)
    try:
        spec = RuleSetFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, locate, data))
        _check_loose_rules(data, locate, problems)
        return None, problems
    _check_rules(spec, locate, problems)
    if problems:
        return None, problems
    if tables.stale:
        return None, tables.stale
    digest = hashlib.sha256(raw_bytes)
    for name, export_text in sorted(tables.texts.items()):
        digest.update(f"\n--- {name}\n".encode())
        digest.update(export_text.encode("utf-8"))
    ruleset = RuleSet(
        name=spec.ruleset,
        version=spec.version,
        effective_from=spec.effective_from,
        owner=spec.owner,
        hit_policy=spec.hit_policy,
        default=spec.default,
        required_documents=spec.required_documents,
        rules=tuple(spec.rules),
        tests=tuple(spec.tests),
        source=shown,
        sha256=digest.hexdigest() if tables.texts else hashlib.sha256(raw_bytes).hexdigest(),
        tables=tables.table_of,
        files={path.name: text, **tables.texts},
    )
    fired = _run_examples(ruleset, locate, problems)
    if problems:
        return None, problems
    return replace(ruleset, uncovered=tuple(r.id for r in ruleset.rules if r.id not in fired)), []


def _index_lines(node: yaml.Node | None, path: _Path) -> Iterator[tuple[_Path, int]]:
    """Yield (path, 1-based line) for every node; a mapping entry points at the line of its key."""
    if node is None:
        return
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            yield child, key.start_mark.line + 1
            if len(path) < 12:
                yield from (item for item in _index_lines(value, child) if item[0] != child)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            if len(path) < 12:
                yield from _index_lines(value, (*path, i))


class _Locator:
    """Format a problem with the file and the line of the nearest known path."""

    def __init__(self, shown: str, lines: Mapping[_Path, int]) -> None:
        self.shown = shown
        self.lines = lines
        self.cells: dict[_Path, str] = {}
        """Paths of rules that come from a workbook -> `workbook!sheet!cell`."""

    def cell(self, path: _Path) -> str | None:
        """Return the workbook cell of the longest known prefix of `path` when it is a table rule."""
        for end in range(len(path), 1, -1):
            found = self.cells.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def where(self, path: _Path) -> str:
        """Say where `path` is: `line N` in the file, or the workbook cell."""
        return self.cell(path) or f"line {self.line(path)}"

    def line(self, path: _Path) -> int:
        """Return the line of the longest known prefix of `path`."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return 1

    def __call__(self, path: _Path, message: str, fix: str | None = None) -> str:
        suffix = f" (fix: {fix})" if fix else ""
        cell = self.cell(path)
        if cell is not None:  # a table row: the cell says where; the index in the merged rule list would not
            return f"{cell}: {_RULE_INDEX.sub('', message)}{suffix}"
        return f"{self.shown}:{self.line(path)}: {message}{suffix}"


def _pydantic_problems(exc: ValidationError, locate: _Locator, data: dict[str, object]) -> list[str]:
    """Turn pydantic errors into located messages, naming the rule where there is one."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        fix: str | None
        if err["type"] == "extra_forbidden":
            message, fix = f"{_where(loc[:-1], data)}unknown key '{loc[-1]}'", "remove it or correct its spelling"
        elif err["type"] == "missing":
            message, fix = f"{_where(loc[:-1], data)}required key '{loc[-1]}' is missing", f"add '{loc[-1]}'"
        else:
            message, fix = f"{_where(loc, data)}{err['msg']} (got {err.get('input')!r})", _FIXES.get(loc[-1])
        problems.append(locate(loc, message, fix))
    return problems


_FIXES: dict[str | int, str] = {
    "decision": "reject is never automatic: use decision: review with recommendation: reject",
    "version": "write CalVer YYYY.MM.N in quotes, e.g. \"2026.11.1\"",
    "effective_from": "write a date like 2026-12-01",
    "id": "use UPPER_SNAKE_CASE, e.g. SMALL_CLEAN_CLAIM",
}


def _where(loc: tuple[str | int, ...], data: dict[str, object]) -> str:
    """Name a place in the file for a message: `rules[3] RULE_ID: then.payout: ` or `default: `."""
    raw_rules = data.get("rules")
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(raw_rules, list):
        raw = raw_rules[loc[1]] if loc[1] < len(raw_rules) else None
        rule_id = raw.get("id", "?") if isinstance(raw, dict) else "?"
        rest = ".".join(str(part) for part in loc[2:])
        return f"rules[{loc[1]}] {rule_id}: " + (f"{rest}: " if rest else "")
    return ".".join(str(part) for part in loc) + ": " if loc else ""


def _check_loose_rules(data: dict[str, object], locate: _Locator, problems: list[str]) -> None:
    """Check the expressions of the rules that are well-formed even when the file as a whole is not."""
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        return
    for i, raw in enumerate(raw_rules):
        try:
            rule = Rule.model_validate(raw)
        except ValidationError:
            continue
        _check_rule(i, rule, locate, problems)


def _check_rules(spec: RuleSetFile, locate: _Locator, problems: list[str]) -> None:
    """Semantic checks of a well-formed file: ids, expressions, settle/payout, placeholders, default, examples."""
    seen: dict[str, str] = {}
    for i, rule in enumerate(spec.rules):
        if rule.id in seen:
            problems.append(
                locate(
                    ("rules", i, "id"),
                    f"rules[{i}] duplicate rule id '{rule.id}' (first at {seen[rule.id]})",
                    "give every rule its own id",
                )
            )
        else:
            seen[rule.id] = locate.where(("rules", i, "id"))
        _check_rule(i, spec.rules[i], locate, problems)
    if spec.default.decision == "settle" or spec.default.payout:
        problems.append(locate(("default",), "default may not settle", "use decision: review"))
    _check_then(("default",), "default", spec.default, locate, problems)
    for i, example in enumerate(spec.tests):
        try:
            parse_facts(example.facts, processing_date=spec.effective_from)
        except FactError as exc:
            problems.append(locate(("tests", i, "facts", exc.field), f"test '{example.name}': {exc}"))
        if example.expect.payout is not None:
            try:
                Decimal(example.expect.payout)
            except InvalidOperation:
                problems.append(locate(("tests", i, "expect", "payout"), "expected payout is not an amount"))


def _check_rule(i: int, rule: Rule, locate: _Locator, problems: list[str]) -> None:
    """Check one rule's condition, payout and reason."""
    label = f"rules[{i}] {rule.id}"
    _check_expression(("rules", i, "when"), label, "when", rule.when, locate, problems)
    if rule.then.payout is not None:
        _check_expression(("rules", i, "then", "payout"), label, "payout", rule.then.payout, locate, problems)
    _check_then(("rules", i, "then"), label, rule.then, locate, problems)


def _check_then(path: _Path, label: str, then: Then, locate: _Locator, problems: list[str]) -> None:
    """Check that the outcome is coherent: settle has a payout, reject only on review, known placeholders."""
    if then.decision == "settle" and not then.payout:
        problems.append(locate((*path, "decision"), f"{label}: decision 'settle' requires a payout formula",
                               "add then.payout, e.g. round(min([amount_claimed, coverage_limit]) - deductible, 2)"))
    if then.decision != "settle" and then.payout:
        problems.append(locate((*path, "payout"), f"{label}: only a settle decision may have a payout",
                               "remove payout"))
    if then.recommendation and then.decision != "review":
        problems.append(locate((*path, "recommendation"), f"{label}: a recommendation is only allowed on review",
                               "use decision: review"))
    if then.documents and then.decision != "request_documents":
        problems.append(locate((*path, "documents"), f"{label}: documents are only for request_documents",
                               "remove documents or use decision: request_documents"))
    for name in decide.placeholder_names(then.reason):
        if name not in FACT_FIELDS and name != "payout":
            problems.append(locate((*path, "reason"), f"{label}: placeholder '{{{{{name}}}}}' names no fact",
                                   _suggest(name)))


def _check_expression(
    path: _Path, label: str, key: str, text: str, locate: _Locator, problems: list[str]
) -> None:
    """Report `&&`/`||`, zen syntax errors, or unknown field names (one problem per expression)."""
    operator = re.search(r"&&|\|\|", text)
    if operator:
        word = "and" if operator.group() == "&&" else "or"
        problems.append(locate(path, f"{label}: '{operator.group()}' is not an operator in {key}: {text!r}",
                               f"write '{word}'"))
        return
    error = decide.expression_error(text)
    if error is not None:
        problems.append(locate(path, f"{label}: bad expression in {key} {text!r}: {error}",
                               "see the expression language in rules/README.md"))
        return
    for name in decide.expression_names(text):
        if name not in FACT_FIELDS:
            problems.append(locate(path, f"{label}: unknown field '{name}' in {key}: {text!r}", _suggest(name)))


def _suggest(name: str) -> str:
    """Suggest the closest fact name."""
    close = difflib.get_close_matches(name, FACT_FIELDS, n=1)
    return f"did you mean '{close[0]}'?" if close else "use one of the ClaimFacts fields listed in rules/README.md"


def _run_examples(ruleset: RuleSet, locate: _Locator, problems: list[str]) -> set[str]:
    """Run every embedded example through the real runner; report each mismatch at the example's line.

    Returns the ids of the rules some example fired (for the rule coverage).
    """
    compiled = decide.compile_ruleset(ruleset)
    fired: set[str] = set()
    for i, example in enumerate(ruleset.tests):
        facts = parse_facts(example.facts, processing_date=ruleset.effective_from)
        decision = decide.decide_claim(facts, compiled)
        hits = decision.trace.get("fired")
        fired.update(str(hit["rule"]) for hit in (hits if isinstance(hits, list) else []))
        expect = example.expect
        got: list[str] = []
        if str(decision.route) != expect.route:
            got.append(f"route: expected {expect.route}, got {decision.route}")
        if expect.payout is not None and decision.payout != Decimal(expect.payout):
            got.append(f"payout: expected {expect.payout}, got {decision.payout}")
        if expect.decided_by is not None and decision.decided_by != expect.decided_by:
            got.append(f"decided_by: expected {expect.decided_by}, got {decision.decided_by}")
        if expect.recommendation != decision.recommendation and (
            expect.recommendation is not None or expect.route == "review"
        ):
            got.append(f"recommendation: expected {expect.recommendation}, got {decision.recommendation}")
        if expect.missing_documents is not None and decision.missing_documents != expect.missing_documents:
            got.append(f"missing_documents: expected {expect.missing_documents}, got {decision.missing_documents}")
        codes = [str(r.code) for r in decision.reasons]
        if expect.reason_codes is not None and codes != expect.reason_codes:
            got.append(f"reason_codes: expected {expect.reason_codes}, got {codes}")
        if got:
            problems.append(
                locate(
                    ("tests", i, "name"),
                    f"test '{example.name}' failed: {'; '.join(got)} (decided_by {decision.decided_by})",
                    "correct the rules or the expected outcome",
                )
            )
    return fired
