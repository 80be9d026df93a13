"""Accuracy of the engine on the generated sample packet, against its ground truth.

Usage: uv run python bench/packet_accuracy.py [--seed 7] [--out DIR]

Writes the packet, runs the whole engine on it (fresh CLAIMFLOW_HOME), then prints per variant (text PDF,
AcroForm, scans) and per field how many extracted values equal the ground truth, the routes of the claims
against the expected routes, and the documents' outcomes against the expected statuses. The baseline in
the same run is the ground truth itself (ratio = accuracy); timings are printed for the whole run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from claimflow.pipeline import Engine
from claimflow.samples import write_packet
from claimflow.settings import load_settings


def _norm(value: object) -> str:
    if isinstance(value, list):
        return json.dumps(value, sort_keys=True)
    return " ".join(str(value).split())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="claimflow-bench-"))
    write_packet(out, seed=args.seed)
    packet, truth_dir = out / "packet", out / "truth"
    shutil.rmtree(out / "home", ignore_errors=True)  # a fresh system every run
    settings = load_settings(home=out / "home", inbox=packet, stable_seconds=0)
    started = time.perf_counter()
    with Engine.open(settings) as engine:
        result = engine.run([packet], consume=False)
    elapsed = time.perf_counter() - started
    by_file = {d.file: d for d in result.documents}

    per_variant: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_field: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    status_ok = status_n = 0
    misses: list[str] = []
    for truth_file in sorted(truth_dir.rglob("*.json")):
        if truth_file.name == "expected_claims.json":
            continue
        truth = json.loads(truth_file.read_text())
        doc = by_file.get(truth["file"])
        if doc is None:
            misses.append(f"{truth['file']}: no outcome")
            continue
        expected_status = truth.get("expect_status", "processed")
        status_n += 1
        status_ok += doc.status == expected_status or (expected_status == "processed" and doc.status == "processed")
        if doc.status != expected_status:
            misses.append(f"{truth['file']}: status {doc.status} ({doc.reason_code}), expected {expected_status}")
        if truth.get("document_type") != "motor_claim_form" or doc.status != "processed":
            continue
        variant = truth.get("variant", "?")
        for name, expected in truth["fields"].items():
            got = doc.fields.get(name, {}).get("value")
            ok = got is not None and _norm(got) == _norm(expected)
            per_variant[variant][0] += ok
            per_variant[variant][1] += 1
            per_field[("scan" if variant.startswith("scan") else variant, name)][0] += ok
            per_field[("scan" if variant.startswith("scan") else variant, name)][1] += 1
            if not ok:
                misses.append(f"{truth['file']}: {name} = {got!r}, expected {expected!r}")

    print(f"packet: {len(result.documents)} documents, {len(result.claims)} claims in {elapsed:.1f} s")
    print(f"document outcomes as expected: {status_ok}/{status_n}")
    print("\nmotor claim form fields right, by variant:")
    for variant, (ok, n) in sorted(per_variant.items()):
        print(f"  {variant:<14} {ok:>4}/{n:<4} {ok / n:6.1%}")
    text_ok = sum(v[0] for k, v in per_variant.items() if not k.startswith("scan"))
    text_n = sum(v[1] for k, v in per_variant.items() if not k.startswith("scan"))
    scan_ok = sum(v[0] for k, v in per_variant.items() if k.startswith("scan"))
    scan_n = sum(v[1] for k, v in per_variant.items() if k.startswith("scan"))
    if text_n:
        print(f"  TEXT/ACROFORM  {text_ok}/{text_n} = {text_ok / text_n:.1%}   (target 100%)")
    if scan_n:
        print(f"  SCANS          {scan_ok}/{scan_n} = {scan_ok / scan_n:.1%}   (target >= 95%)")
    print("\nper field (scans):")
    for (variant, name), (ok, n) in sorted(per_field.items()):
        if variant == "scan":
            print(f"  {name:<22} {ok}/{n}")

    expected_claims = json.loads((truth_dir / "expected_claims.json").read_text())["claims"]
    routes = {c.claim_id: c for c in result.claims}
    agree = 0
    print("\nclaim routes (expected -> got):")
    for exp in expected_claims:
        got = routes.get(exp["claim_number"])
        got_route = got.route if got else "missing"
        agree += got_route == exp["route"]
        mark = "ok " if got_route == exp["route"] else "XX "
        payout = f" payout {got.payout}" if got and got.payout is not None else ""
        if got and exp["route"] == "settle" and got_route == "settle" and str(got.payout) != exp["payout"]:
            mark = "XX "
            agree -= 1
        reasons = ",".join(r.code for r in got.reasons) if got else ""
        print(f"  {mark}{exp['claim_number']}: {exp['route']} ({exp['reason']}) -> {got_route}{payout} [{reasons}]")
    print(f"routes as expected: {agree}/{len(expected_claims)}")
    wrong_settle = [
        e["claim_number"]
        for e in expected_claims
        if routes.get(e["claim_number"]) and routes[e["claim_number"]].route == "settle" and e["route"] != "settle"
    ]
    print(f"wrongly auto-settled: {len(wrong_settle)} {wrong_settle}")
    settled = [e for e in expected_claims if getattr(routes.get(e["claim_number"]), "route", None) == "settle"]
    could = [e for e in expected_claims if e["route"] == "settle"]
    print(
        f"settled with no human (STP): {len(settled)} of {len(expected_claims)} claims"
        f" ({len(settled) / max(1, len(expected_claims)):.0%}); {len(could)} would settle on right values, so"
        f" {len(could) - len(settled)} clean claims went to a person (threshold {settings.confidence_threshold})"
    )
    for exp in could:
        got = routes.get(exp["claim_number"])
        if got is not None and got.route != "settle":
            held = "; ".join(r.message for r in got.reasons)
            print(f"  held for a person: {exp['claim_number']}: {held}")
    if misses:
        print("\nmismatches:")
        for m in misses[:60]:
            print("  " + m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
