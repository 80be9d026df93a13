"""Replay stored decisions, backtest a candidate rule set, and run a candidate in shadow.

Every machine decision stores the facts it read, the rule set version, the content hash of its texts and the
engine version. `replay_decision` finds that exact version (in the rules folder, else in the database archive
where every version that decided something is kept by hash), decides the stored facts again and says whether the
outcome is the same: route, payout, deciding rule, reasons and the whole trace. `diff_candidate` replays every
claim's latest stored facts through the live rule set and a candidate and counts the route changes by direction
and rule. `shadow_decide` stores a candidate's decision next to the live one without acting on it.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from claimflow.decide import ENGINE, CompiledRuleSet, compile_ruleset, decide_claim
from claimflow.errors import RuleSetError
from claimflow.facts import FactError, parse_facts
from claimflow.models import Decision
from claimflow.rules import RuleSet, load_archived, load_versions, pick_version
from claimflow.store.repository import Repository
from claimflow.store.tables import DecisionRow, ShadowDecisionRow

_NOT_RULES = ("overridden",)
"""Trace keys written after the rules ran (by routing's page checks); not part of what a replay reproduces."""


def archive_versions(repo: Repository, rulesets: list[RuleSet]) -> int:
    """Keep the texts of these rule set versions in the database under their hash; return how many were new."""
    return sum(
        repo.archive_ruleset(r.sha256, ruleset=r.name, version=r.version, source=r.source, files=dict(r.files))
        for r in rulesets
    )


class RuleSetFinder:
    """Find a rule set version by content hash: the rules folder first, then the database archive."""

    def __init__(self, repo: Repository, rules_dir: Path) -> None:
        self.repo = repo
        self.rules_dir = rules_dir
        self._compiled: dict[str, tuple[CompiledRuleSet, str]] = {}
        self._folder: dict[str, RuleSet] | None = None

    def _in_folder(self) -> dict[str, RuleSet]:
        if self._folder is None:
            try:
                self._folder = {r.sha256: r for r in load_versions(self.rules_dir)}
            except RuleSetError:
                self._folder = {}  # a broken folder does not stop replays from the archive
        return self._folder

    def compiled(self, sha256: str) -> tuple[CompiledRuleSet | None, str]:
        """Return the compiled version with this hash and where it came from, or (None, why not)."""
        if sha256 in self._compiled:
            return self._compiled[sha256]
        ruleset = self._in_folder().get(sha256)
        origin = "rules folder"
        if ruleset is None:
            row = self.repo.archived_ruleset(sha256)
            if row is None:
                return None, f"rule set {sha256[:12]} is neither in {self.rules_dir} nor in the archive"
            files = json.loads(row.files_json)
            main = next((name for name in files if not name.endswith(".xlsx.yml")), row.source)
            try:
                ruleset = load_archived(files, main)
            except RuleSetError as exc:
                return None, f"archived rule set {row.version} ({sha256[:12]}) does not load: {exc.problems[0]}"
            if ruleset.sha256 != sha256:
                return None, f"archived rule set {row.version} hashes to {ruleset.sha256[:12]}, not {sha256[:12]}"
            origin = "archive"
        compiled = compile_ruleset(ruleset)
        self._compiled[sha256] = (compiled, origin)
        return compiled, origin


@dataclass(slots=True)
class Replay:
    """The result of replaying one stored decision."""

    decision_id: int
    claim_id: str
    version: str
    sha256: str
    reproduced: bool
    differences: list[str] = field(default_factory=list)
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for --json."""
        return dataclasses.asdict(self)


def _plain(data: object) -> Any:
    """JSON round trip, as the stored trace went through."""
    return json.loads(json.dumps(data, default=str))


def _reasons(decision: Decision) -> list[dict[str, Any]]:
    return [dataclasses.asdict(r) for r in decision.reasons]


def replay_decision(row: DecisionRow, finder: RuleSetFinder) -> Replay:
    """Decide a stored decision's facts again with its recorded rule set version and compare everything."""
    result = Replay(row.id or 0, row.claim_id, row.ruleset_version, row.ruleset_sha256, reproduced=False)
    compiled, origin = finder.compiled(row.ruleset_sha256)
    if compiled is None:
        result.differences.append(origin)
        return result
    try:
        stored_facts = json.loads(row.facts_json)
        facts = parse_facts(stored_facts, processing_date=date.fromisoformat(stored_facts["processing_date"]))
    except (ValueError, KeyError, FactError) as exc:
        result.differences.append(f"the stored facts do not read back: {exc}")
        return result
    decision = decide_claim(facts, compiled)
    stored_trace = json.loads(row.trace_json)
    overridden = "overridden" in stored_trace
    new_trace = _plain(decision.trace)
    differences = result.differences
    if not overridden:
        if row.route != decision.route.value:
            differences.append(f"route: stored {row.route}, replayed {decision.route.value}")
        new_payout = None if decision.payout is None else str(decision.payout)
        if row.payout != new_payout:
            differences.append(f"payout: stored {row.payout}, replayed {new_payout}")
        if row.decided_by != decision.decided_by:
            differences.append(f"deciding rule: stored {row.decided_by}, replayed {decision.decided_by}")
    stored_reasons = json.loads(row.reasons_json)
    new_reasons = _plain(_reasons(decision))
    if stored_reasons[: len(new_reasons)] != new_reasons:  # routing may append reasons of its own after the rules
        differences.append(f"reasons: stored {stored_reasons}, replayed {new_reasons}")
    for key in sorted(set(stored_trace) | set(new_trace)):
        if key in _NOT_RULES:
            continue
        if stored_trace.get(key) != new_trace.get(key):
            differences.append(f"trace.{key}: stored {stored_trace.get(key)!r}, replayed {new_trace.get(key)!r}")
    if row.engine != ENGINE:
        result.note = f"recorded with {row.engine}, replayed with {ENGINE}"
    elif origin == "archive":
        result.note = "version loaded from the archive (no longer in the rules folder)"
    result.reproduced = not differences
    return result


def replay_claim(repo: Repository, rules_dir: Path, claim_id: str, *, every: bool = False) -> list[Replay]:
    """Replay a claim's latest machine decision (or all of them)."""
    rows = repo.machine_decisions(claim_id)
    finder = RuleSetFinder(repo, rules_dir)
    return [replay_decision(row, finder) for row in (rows if every else rows[-1:])]


def replay_all(repo: Repository, rules_dir: Path) -> list[Replay]:
    """Replay every stored machine decision with its recorded version."""
    finder = RuleSetFinder(repo, rules_dir)
    return [replay_decision(row, finder) for row in repo.machine_decisions()]


@dataclass(slots=True)
class Change:
    """One claim whose outcome the candidate changes."""

    claim_id: str
    live_route: str
    candidate_route: str
    live_rule: str | None
    candidate_rule: str | None
    live_payout: str | None
    candidate_payout: str | None


@dataclass(slots=True)
class DiffReport:
    """What a candidate rule set would change on the stored claims."""

    live: str
    candidate: str
    claims: int
    changes: list[Change]
    skipped: list[str]

    def directions(self) -> Counter[str]:
        """Route changes counted by direction, e.g. 'settle -> review'."""
        return Counter(
            f"{c.live_route} -> {c.candidate_route}" for c in self.changes if c.live_route != c.candidate_route
        )

    def by_rules(self, direction: str) -> Counter[str]:
        """For one direction, count the (live deciding rule -> candidate deciding rule) pairs."""
        return Counter(
            f"{c.live_rule} -> {c.candidate_rule}"
            for c in self.changes
            if f"{c.live_route} -> {c.candidate_route}" == direction
        )

    def payout_changes(self) -> list[Change]:
        """Claims settled by both whose payout differs."""
        return [c for c in self.changes if c.live_route == c.candidate_route and c.live_payout != c.candidate_payout]

    def to_json(self) -> dict[str, Any]:
        """Plain data for --json."""
        directions = self.directions()
        return {
            "live": self.live,
            "candidate": self.candidate,
            "claims": self.claims,
            "route_changes": sum(directions.values()),
            "directions": {d: {"claims": n, "rules": dict(self.by_rules(d))} for d, n in directions.most_common()},
            "payout_changes": [dataclasses.asdict(c) for c in self.payout_changes()],
            "changes": [dataclasses.asdict(c) for c in self.changes],
            "skipped": self.skipped,
        }


def _label(ruleset: RuleSet) -> str:
    return f"{ruleset.name} {ruleset.version} ({ruleset.source}, sha256 {ruleset.sha256[:12]})"


def diff_candidate(repo: Repository, rules_dir: Path, candidate: RuleSet, *, on: date | None = None) -> DiffReport:
    """Replay each claim's latest stored facts through the live rule set (in force on `on`) and the candidate."""
    live = pick_version(load_versions(rules_dir), rules_dir, on=on or date.today(), name=candidate.name)
    live_compiled, candidate_compiled = compile_ruleset(live), compile_ruleset(candidate)
    latest: dict[str, DecisionRow] = {}
    for row in repo.machine_decisions():
        latest[row.claim_id] = row
    report = DiffReport(_label(live), _label(candidate), 0, [], [])
    for claim_id, row in sorted(latest.items()):
        try:
            stored = json.loads(row.facts_json)
            facts = parse_facts(stored, processing_date=date.fromisoformat(stored["processing_date"]))
        except (ValueError, KeyError, FactError) as exc:
            report.skipped.append(f"{claim_id}: stored facts do not read back ({exc})")
            continue
        report.claims += 1
        before, after = decide_claim(facts, live_compiled), decide_claim(facts, candidate_compiled)
        if (before.route, before.payout, before.decided_by) != (after.route, after.payout, after.decided_by):
            report.changes.append(
                Change(
                    claim_id,
                    before.route.value,
                    after.route.value,
                    before.decided_by,
                    after.decided_by,
                    None if before.payout is None else str(before.payout),
                    None if after.payout is None else str(after.payout),
                )
            )
    return report


def render_diff(report: DiffReport, *, limit: int = 20) -> str:
    """The backtest in plain words."""
    lines = [f"live:      {report.live}", f"candidate: {report.candidate}"]
    directions = report.directions()
    moved = sum(directions.values())
    lines.append(f"{report.claims} stored claim(s) replayed; {moved} change route")
    for direction, count in directions.most_common():
        rules = ", ".join(f"{pair}: {n}" for pair, n in report.by_rules(direction).most_common())
        lines.append(f"  {direction}: {count}   (deciding rule {rules})")
    payouts = report.payout_changes()
    if payouts:
        delta = sum((Decimal(c.candidate_payout or 0) - Decimal(c.live_payout or 0) for c in payouts), Decimal(0))
        lines.append(f"  payout changes on {len(payouts)} claim(s) settled by both: total {delta:+}")
    same_route_other_rule = [
        c for c in report.changes if c.live_route == c.candidate_route and c.live_payout == c.candidate_payout
    ]
    if same_route_other_rule:
        lines.append(f"  same route, other deciding rule: {len(same_route_other_rule)} claim(s)")
    for change in report.changes[:limit]:
        payout = ""
        if change.live_payout or change.candidate_payout:
            payout = f" payout {change.live_payout} -> {change.candidate_payout}"
        lines.append(
            f"    {change.claim_id}: {change.live_route} ({change.live_rule}) -> "
            f"{change.candidate_route} ({change.candidate_rule}){payout}"
        )
    if len(report.changes) > limit:
        lines.append(f"    ... and {len(report.changes) - limit} more (--json lists all)")
    lines.extend(f"  skipped {s}" for s in report.skipped)
    return "\n".join(lines)


def shadow_decide(repo: Repository, claim_id: str, shadow: CompiledRuleSet) -> ShadowDecisionRow | None:
    """Decide the claim's latest stored facts with the shadow rule set and store it; never acts on it.

    Returns None when the claim has no machine decision with facts, or the shadow already decided that one.
    """
    rows = repo.machine_decisions(claim_id)
    if not rows:
        return None
    live = rows[-1]
    done = {(s.live_decision_id, s.ruleset_sha256) for s in repo.shadow_decisions(claim_id)}
    if (live.id, shadow.ruleset.sha256) in done:
        return None
    stored = json.loads(live.facts_json)
    facts = parse_facts(stored, processing_date=date.fromisoformat(stored["processing_date"]))
    decision = decide_claim(facts, shadow)
    row = ShadowDecisionRow(
        claim_id=claim_id,
        live_decision_id=live.id,
        route=decision.route.value,
        payout=None if decision.payout is None else str(decision.payout),
        decided_by=decision.decided_by,
        reasons_json=json.dumps(_plain(_reasons(decision))),
        ruleset=decision.ruleset,
        ruleset_version=decision.ruleset_version,
        ruleset_sha256=decision.ruleset_sha256,
        engine=decision.engine,
        trace_json=json.dumps(decision.trace, default=str),
    )
    repo.add_shadow_decision(row)
    return row
