"""Decisions per second: decide_claim on random facts vs bare zen evaluation of the same conditions.

Run: uv run python bench/decide.py [--claims 100000] [--seed 7]
The baseline is measured in the same run: the shipped rule set's `when` expressions compiled with
zen.compile_expression and evaluated on pre-built context dicts (no conversion, no hit policy, no payout,
no trace). The ratio is the cost of everything decide_claim adds on top of the engine.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import zen  # the baseline needs the bare engine; claimflow itself imports zen only in claimflow/decide.py

from claimflow.decide import compile_ruleset, decide_claim, missing_documents, to_context
from claimflow.facts import ClaimFacts
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
    return ClaimFacts(
        claim_id=f"C{i}",
        claim_type=claim_type,
        source="bordereau" if rng.random() < 0.2 else "documents",
        policy_number=f"POL-{rng.randint(1, 9999)}",
        policy_found=rng.random() < 0.95,
        policy_status=rng.choice(["active"] * 9 + ["lapsed"]),
        policy_start=start,
        policy_end=start + timedelta(days=365),
        coverage_limit=Decimal(rng.choice([2000, 5000, 10000, 50000])),
        deductible=Decimal(rng.choice([0, 100, 250, 500])),
        policy_currency="EUR",
        date_of_loss=start + timedelta(days=rng.randint(-10, 380)),
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
    )


def main() -> None:
    """Run both measurements and print claims/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    claims = [random_facts(rng, i) for i in range(args.claims)]
    ruleset = load_ruleset(ROOT / "rules", on=TODAY)
    compiled = compile_ruleset(ruleset)

    start, cpu = time.perf_counter(), time.process_time()
    routes = Counter(decide_claim(facts, compiled).route for facts in claims)
    ours, ours_cpu = time.perf_counter() - start, time.process_time() - cpu

    contexts = [to_context(facts, missing_documents(facts, ruleset)) for facts in claims]
    conditions = [zen.compile_expression(rule.when) for rule in ruleset.rules]
    errors = 0
    start, cpu = time.perf_counter(), time.process_time()
    for context in contexts:
        for condition in conditions:
            try:
                condition.evaluate(context)
            except RuntimeError:
                errors += 1
    bare, bare_cpu = time.perf_counter() - start, time.process_time() - cpu

    n = len(claims)
    backtrace = {name: os.environ.get(name) for name in ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE")}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {len(ruleset.rules)} rules, {n} claims")
    print(f"env: {backtrace}")
    print(f"routes: {dict(sorted((str(k), v) for k, v in routes.items()))}; bare condition errors: {errors}")
    print(f"decide_claim:        {n / ours:9,.0f} claims/s wall, {n / ours_cpu:9,.0f} per CPU-second")
    print(f"bare zen conditions: {n / bare:9,.0f} claims/s wall, {n / bare_cpu:9,.0f} per CPU-second (pre-built ctx)")
    print(f"ratio bare/decide_claim: {ours / bare:.2f}x wall, {ours_cpu / bare_cpu:.2f}x CPU")


if __name__ == "__main__":
    main()
