"""Decisions per second: decide_claim on random facts vs bare zen evaluation of the same conditions.

Run: uv run python bench/decide.py [--claims 100000] [--seed 7] [--workers 2] [--on 2026-06-01] [--chunk 5000]
The baselines are measured in the same run on pre-built inputs (no conversion, no hit policy, no payout, no
trace): the rule set's `when` expressions compiled with zen.compile_expression and evaluated one call per condition,
and all of them in one list expression per claim (what decide_claim evaluates; it falls back to one call per rule
only when a condition fails). The inputs are the ones decide_claim hands zen: only the facts the rule set reads
(a smaller input is faster for zen too, so the baseline gets it as well). The ratios are the cost of everything
decide_claim adds on top of the engine: facts to input, hit policy, payout, fail-closed checks, reasons and trace.
decide_claim and the baselines alternate over chunks of claims, so load from other processes hits all alike.
`--workers` processes decide slices of the same claims in parallel (one per core) for the throughput on 2 cores.
Correctness: every decision is hashed (sha256 of its JSON, printed: equal before and after a speed change means
byte-identical decisions), and every 20th claim is decided again on the reference path (every fact converted, one
engine call per rule, reasons and trace built by `_decide_reference` rather than by the generated per-rule code) and
must give the identical decision.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import zen  # the baseline needs the bare engine; claimflow itself imports zen only in claimflow/decide.py

from claimflow.decide import CompiledRuleSet, compile_ruleset, decide_claim, missing_documents, to_context
from claimflow.facts import ClaimFacts
from claimflow.models import Decision
from claimflow.policy_checks import policy_checks
from claimflow.rules import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 6, 1)


def random_facts(rng: random.Random, i: int) -> ClaimFacts:
    """A mostly clean claim with a realistic share of problems."""
    start = date(2026, 1, 1) + timedelta(days=rng.randint(-200, 100))
    claim_type = rng.choice(["motor", "motor", "health", "other"])
    docs = {"motor": ["motor_claim_form", "invoice"], "health": ["cms1500"], "other": []}[claim_type]
    if rng.random() < 0.1 and docs:
        docs = docs[:-1]
    amount = None if rng.random() < 0.02 else Decimal(rng.randint(1000, 900000)) / 100
    loss = start + timedelta(days=rng.randint(-10, 380))
    limit = Decimal(rng.choice([2000, 5000, 10000, 50000]))
    deductible = Decimal(rng.choice([0, 100, 250, 500]))
    status = rng.choice(["active"] * 9 + ["lapsed"])
    loss_type = rng.choice(["collision", "theft", "glass", "fire"])
    covered = None if rng.random() < 0.02 else ("collision", "theft", "glass")
    waiting = None if rng.random() < 0.02 else 14
    checks = policy_checks(status=status, start=start, end=start + timedelta(days=365), loss=loss,
                           loss_type=loss_type, covered_losses=covered, waiting_period_days=waiting,
                           amount_claimed=amount, deductible=deductible, limit=limit)
    return ClaimFacts(
        claim_id=f"C{i}",
        claim_type=claim_type,
        source="bordereau" if rng.random() < 0.2 else "documents",
        policy_number=f"POL-{rng.randint(1, 9999)}",
        policy_found=rng.random() < 0.95,
        policy_status=status,
        policy_start=start,
        policy_end=start + timedelta(days=365),
        coverage_limit=limit,
        deductible=deductible,
        policy_currency="EUR",
        date_of_loss=loss,
        amount_claimed=amount,
        currency=rng.choice(["EUR"] * 19 + ["USD"]),
        min_field_confidence=rng.choice([0.99, 0.97, 0.95, 0.93, 0.8]),
        low_confidence_fields=("amount_claimed",) if rng.random() < 0.05 else (),
        missing_fields=("date_of_loss",) if rng.random() < 0.03 else (),
        documents=tuple(docs),
        missing_documents=(),
        duplicate_of="C0" if rng.random() < 0.01 else None,
        amount_problems=("invoice total differs",) if rng.random() < 0.03 else (),
        prior_claims_12m=rng.randint(0, 3),
        confidence_threshold=0.90,
        small_claim_limit=Decimal("5000"),
        processing_date=TODAY,
        loss_type=loss_type,
        covered_losses=covered,
        waiting_period_days=waiting,
        policy_active_on_loss=checks.policy_active_on_loss,
        loss_covered=checks.loss_covered,
        in_waiting_period=checks.in_waiting_period,
        payout_due=checks.payout_due,
        risk_score=round(rng.random() * 0.3, 4),
    )


_CLAIMS: list[ClaimFacts] = []
_COMPILED: list[CompiledRuleSet] = []


def _decide_slice(bounds: tuple[int, int]) -> tuple[float, Counter[str]]:
    """Decide claims[lo:hi] in a worker process (forked: claims and rule set inherited); return its CPU time."""
    lo, hi = bounds
    cpu = time.process_time()
    routes = Counter(str(decide_claim(facts, _COMPILED[0]).route) for facts in _CLAIMS[lo:hi])
    return time.process_time() - cpu, routes


def decision_text(decision: Decision) -> str:
    """One decision as canonical JSON (every field, trace included), as compared before and after a change."""
    return json.dumps(dataclasses.asdict(decision), default=str, sort_keys=True)


def digest(decisions: Iterable[Decision]) -> str:
    """sha256 over the canonical JSON of every decision, in order."""
    sha = hashlib.sha256()
    for decision in decisions:
        sha.update(decision_text(decision).encode())
        sha.update(b"\n")
    return sha.hexdigest()


@dataclasses.dataclass
class _Clock:
    """Wall and CPU seconds summed over chunks."""

    wall: float = 0.0
    cpu: float = 0.0

    def add(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def _timed(clock: _Clock, fn: Callable[[], object]) -> None:
    """Run fn() and add its wall and CPU time to clock."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    clock.add(time.perf_counter() - start, time.process_time() - cpu)


def _decide_all(claims: list[ClaimFacts], compiled: CompiledRuleSet, routes: Counter[str]) -> None:
    """Decide every claim, counting the routes."""
    routes.update(str(decide_claim(facts, compiled).route) for facts in claims)


def _evaluate_all(
    expressions: list[zen.Expression], contexts: list[dict[str, object]], errors: Counter[str], key: str
) -> None:
    """Evaluate every expression on every input, counting the ones zen refuses."""
    for context in contexts:
        for expression in expressions:
            try:
                expression.evaluate(context)
            except RuntimeError:
                errors[key] += 1


def main() -> None:
    """Run the measurements and print claims/s and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel run (one per core)")
    parser.add_argument("--on", type=date.fromisoformat, default=TODAY, help="processing date: picks the version")
    parser.add_argument("--chunk", type=int, default=5000, help="claims per alternation of runner and baselines")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rng = random.Random(args.seed)
    claims = [random_facts(rng, i) for i in range(args.claims)]
    ruleset = load_ruleset(ROOT / "rules", on=args.on)
    compiled = compile_ruleset(ruleset)
    conditions = [zen.compile_expression(rule.when) for rule in ruleset.rules]
    fused = zen.compile_expression("[" + ", ".join(f"({rule.when})" for rule in ruleset.rules) + "]")

    ours, bare, bare_fused, bare_every = _Clock(), _Clock(), _Clock(), _Clock()
    routes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for lo in range(0, len(claims), args.chunk):
        chunk = claims[lo : lo + args.chunk]
        contexts = [compiled.convert(facts, missing_documents(facts, ruleset)) for facts in chunk]
        every = [to_context(facts, missing_documents(facts, ruleset)) for facts in chunk]
        _timed(ours, partial(_decide_all, chunk, compiled, routes))
        _timed(bare_fused, partial(_evaluate_all, [fused], contexts, errors, "fused"))
        _timed(bare, partial(_evaluate_all, conditions, contexts, errors, "per condition"))
        _timed(bare_every, partial(_evaluate_all, [fused], every, errors, "fused, every fact"))

    reference = dataclasses.replace(compiled, fused=None, reads=None)
    sample = claims[::20]
    mismatches = sum(
        decision_text(decide_claim(facts, compiled)) != decision_text(decide_claim(facts, reference))
        for facts in sample
    )
    all_digest = digest(decide_claim(facts, compiled) for facts in claims)

    _CLAIMS[:] = claims
    _COMPILED[:] = [compiled]
    step = -(-len(claims) // args.workers)
    slices = [(lo, min(lo + step, len(claims))) for lo in range(0, len(claims), step)]
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        start = time.perf_counter()
        results = pool.map(_decide_slice, slices)
        parallel = time.perf_counter() - start
    parallel_routes: Counter[str] = Counter()
    for _cpu, part in results:
        parallel_routes.update(part)
    assert parallel_routes == routes, "parallel run decided differently"
    parallel_cpu = max(cpu for cpu, _part in results)

    n = len(claims)
    backtrace = {name: os.environ.get(name) for name in ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE")}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {load_before:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print(f"rule set {ruleset.name} {ruleset.version}: {len(ruleset.rules)} rules reading "
          f"{len(compiled.reads) if compiled.reads is not None else 'every'} facts; {n} claims; env {backtrace}")
    print(f"routes: {dict(sorted(routes.items()))}; bare condition errors: {dict(errors)}")
    print(f"decisions sha256 {all_digest}; reference path on {len(sample)} claims: {mismatches} different")
    print(f"decide_claim, 1 process:  {n / ours.wall:9,.0f} claims/s wall, {n / ours.cpu:9,.0f} per CPU-second")
    print(f"decide_claim, {args.workers} processes: {n / parallel:9,.0f} claims/s wall "
          f"(slowest worker {n / args.workers / parallel_cpu:,.0f} per CPU-second)")
    print(f"bare zen, one call per condition: {n / bare.wall:9,.0f} claims/s wall, {n / bare.cpu:9,.0f} per CPU-second")
    print(f"bare zen, all conditions in one call: {n / bare_fused.wall:9,.0f} claims/s wall, "
          f"{n / bare_fused.cpu:9,.0f} per CPU-second")
    print(f"bare zen, all in one call, every fact in the input (the input before 2026-11-26): "
          f"{n / bare_every.wall:9,.0f} claims/s wall, {n / bare_every.cpu:9,.0f} per CPU-second")
    print(f"ratio decide_claim / bare per-condition: {ours.wall / bare.wall:.2f}x wall, {ours.cpu / bare.cpu:.2f}x CPU")
    print(f"ratio decide_claim / bare fused: {ours.wall / bare_fused.wall:.2f}x wall, "
          f"{ours.cpu / bare_fused.cpu:.2f}x CPU")
    if mismatches:
        raise SystemExit(f"{mismatches} decisions differ from the reference path")


if __name__ == "__main__":
    main()
