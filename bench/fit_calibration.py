"""Fit the confidence calibration (extractors/calibration.json) and check it on documents it was not fitted on.

Run: uv run python bench/fit_calibration.py [--seeds 11 12 13] [--size small] [--full-seeds 23 [--full-sample N]]
                                            [--folds 4] [--fold-seed N] [--ocr-memo DIR] [--write]
     uv run python bench/fit_calibration.py --from-pairs bench/out/calibration_pairs.json [--write]

`--full-seeds` adds the full-size corpus of each seed named (all degradations, many more scanned documents: where
the confident wrong fields of stops 21-23 were) beside the `--seeds` read at `--size`; `--full-sample N` keeps at
most N files of each kind and degradation family of a full-size seed (sorted by name), to bound the reading.
`--ocr-memo DIR` keeps tesseract's answers in DIR and reuses them (bench/ocr_memo.py; development runs only: a
change to what tesseract is given still reads for real). Besides the held-out figures it prints, for the curves
in extractors/calibration.json as they are ("kept"), how many pairs they make confident and which of those are
wrong, and the held-out confident wrong fields (document, field, value, raw score, held-out confidence).

1. Reads every development document with the engine exactly as it runs (`read_and_extract`, second readings
   included) but with calibration off, so each field keeps its raw score: ../shared/realdocs (SROIE receipts,
   invoice2data invoices, the filled CMS-1500; scored as bench/extraction.py scores them) and the generated
   corpus for each seed (scored as bench/corpus_accuracy.py scores it). Each present field gives a pair
   (reading method, document type, raw score, right?). The pairs are saved to bench/out/calibration_pairs.json.
2. Cross-validation by document: the documents are split into `--folds` folds (sorted by name, dealt round;
   `--fold-seed N` shuffles them with seed N first); each fold's fields are calibrated with curves fitted on the
   other folds (`claimflow.calibration.fit_calibration`: per method and document type, shrunk towards the parent
   curve). The reliability table, ECE and per-type accuracy among confident fields printed for "calibrated" are
   these held-out figures, never figures on the fitting data. The same is repeated on other splits (4 folds with
   seeds 1 and 2, 5 folds with seed 1) and printed as a check that the figure is not one lucky split.
3. On each split, the threshold is the lowest on a 0.01 grid whose held-out confident fields are >= 99.5% right,
   overall and on every document type (or, where no threshold reaches that, the one whose confident fields were
   most often right). The auto-accept threshold written is the HIGHEST of these over all splits: one lucky split
   must not lower the bar that money depends on.
4. With --write, curves fitted on all pairs and that threshold go to extractors/calibration.json, with what
   they were fitted on; review the diff like code. Settings' default confidence_threshold must follow it
   (tests/unit/test_calibration.py checks that they agree).

The documents are read with the second looks gated at `Settings.look_threshold` (CLAIMFLOW_SECOND_LOOK_THRESHOLD,
0.99, or the auto-accept threshold when that is higher). Which fields are read again does not depend on the
auto-accept threshold below that line, so the pairs measure any threshold up to it; a threshold above it would
spend looks on fields the pairs were read without them, and the script says so before it is written.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus_accuracy as corpus_bench  # noqa: E402  (bench scripts are not a package)
import extraction as extraction_bench  # noqa: E402

from claimflow.calibration import (  # noqa: E402
    CALIBRATION_FILE,
    Calibration,
    adaptive_calibration_error,
    calibration_from_json,
    calibration_text,
    choose_threshold,
    choose_threshold_by_type,
    expected_calibration_error,
    fit_calibration,
    method_group,
    reliability_table,
    threshold_sweep,
)
from claimflow.errors import ClaimFlowError  # noqa: E402
from claimflow.models import Extraction  # noqa: E402
from claimflow.pipeline import engine_ocr, read_and_extract  # noqa: E402
from claimflow.samples.corpus import write_corpus  # noqa: E402
from claimflow.settings import load_settings  # noqa: E402
from claimflow.specs import load_specs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "bench" / "out" / "calibration_pairs.json"
TARGET = 0.995
GRID = [round(0.5 + 0.01 * i, 2) for i in range(50)] + [0.995, 0.999]


@dataclass(frozen=True, slots=True)
class Pair:
    """One present field: where it came from, how it was read, its raw score and whether it was right."""

    document: str
    source: str  # realdocs corpus name or corpus/<family>
    document_type: str
    field: str
    group: str
    raw: float
    right: bool
    value: str = ""
    """The value read (as text; pairs saved before it was kept have none)."""


# ---------------------------------------------------------------------------------------------- reading
def _read_all(paths: Sequence[Path], workers: int) -> dict[Path, list[Extraction] | None]:
    settings = load_settings()
    specs = load_specs(ROOT / "extractors")
    ocr = engine_ocr(settings, specs)

    def one(path: Path) -> list[Extraction] | None:
        try:
            _, parts = read_and_extract(path, ocr, specs, threshold=settings.look_threshold, calibrate=False)
        except ClaimFlowError:
            return None
        return parts

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(paths, pool.map(one, paths), strict=True))


def realdocs_pairs(workers: int) -> list[Pair]:
    """Pairs from the real development documents, scored as bench/extraction.py scores them."""
    docs = [*extraction_bench.sroie_docs(None), *extraction_bench.invoice2data_docs(), *extraction_bench.cms1500_docs()]
    results = _read_all([doc.path for doc in docs], workers)
    pairs = []
    for doc in docs:
        doc.extractions = results[doc.path] or []
        for truth in doc.truths:
            extraction = extraction_bench._extraction_for(doc, truth)
            if extraction is None:
                continue
            for name, expected in truth.fields.items():
                got = extraction.fields.get(name)
                group = method_group(got.provenance.method) if got is not None else None
                if got is None or group is None:
                    continue
                right = extraction_bench.is_right(name, expected, got.value)
                pairs.append(
                    Pair(
                        f"{doc.corpus}/{doc.path.name}",
                        doc.corpus,
                        truth.document_type,
                        name,
                        group,
                        got.confidence,
                        right,
                        _shown(got.value),
                    )
                )
    return pairs


def _shown(value: object) -> str:
    """Return a value as the pairs keep it: plain text, at most 60 characters."""
    return str(corpus_bench.to_plain(value))[:60]


def sampled(truths: Sequence[dict[str, Any]], per_group: int | None) -> list[dict[str, Any]]:
    """Return at most `per_group` truths of each kind, maker and degradation family, by file name.

    The kind is the file's folder; the maker is the name's part before the document number
    (`cms1500_acroform_001_...`: forms filled by third-party software apart from our own `cms1500_001_...`), so a
    sample of a folder whose own files sort first still holds the others (before, a full-size fit's 4 CMS-1500s of a
    family were all ours and the third-party forms were never fitted at full size).
    """
    if per_group is None:
        return list(truths)
    taken: dict[tuple[str, str, str], int] = defaultdict(int)
    out = []
    for truth in sorted(truths, key=lambda t: str(t["file"])):
        degradation = truth.get("degradation")
        family = str(degradation.get("family")) if isinstance(degradation, dict) else ""
        folder, _, name = str(truth["file"]).partition("/")
        maker = re.match(r"(.*?)_\d+(?:_|$)", name)
        group = (folder, maker.group(1) if maker else name, family)
        if taken[group] < per_group:
            taken[group] += 1
            out.append(truth)
    return out


def corpus_pairs(seed: int, size: str, workers: int, sample: int | None = None) -> list[Pair]:
    """Pairs from the generated corpus of `seed`, scored as bench/corpus_accuracy.py scores it.

    `sample`: at most that many files of each kind and degradation family (`sampled`). Documents are named
    `corpus<seed>/<file>` (small) or `corpus<seed>full/<file>` (full size): the same seed's two corpora apart.
    """
    out = Path(tempfile.mkdtemp(prefix=f"claimflow-calibration-{seed}-"))
    write_corpus(out, seed=seed, size=size)
    truths = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "truth").rglob("*.json"))]
    truths = sampled(truths, sample)
    corpus_name = f"corpus{seed}" + ("full" if size == "full" else "")
    paths = [out / "docs" / t["file"] for t in truths]
    results = _read_all(paths, workers)
    pairs = []
    for truth, path in zip(truths, paths, strict=True):
        family = str(truth["degradation"]["family"])
        extractions = results[path] or []
        for document_type, page, fields in corpus_bench._expected_parts(truth):
            covering = [ex for ex in extractions if page is None or page in ex.pages]
            found = covering[0] if covering else None
            if found is None or found.document_type != document_type:
                continue
            for field_name, expected in fields.items():
                got = found.fields.get(field_name)
                group = method_group(got.provenance.method) if got is not None else None
                if got is None or group is None:
                    continue
                right = corpus_bench.same(field_name, corpus_bench.to_plain(got.value), expected)
                pairs.append(
                    Pair(
                        f"{corpus_name}/{truth['file']}",
                        f"corpus/{family}",
                        document_type,
                        field_name,
                        group,
                        got.confidence,
                        right,
                        _shown(got.value),
                    )
                )
    return pairs


# ---------------------------------------------------------------------------------------------- fitting
def _fit(pairs: Sequence[Pair], source: str = "") -> Calibration:
    return fit_calibration(((p.group, p.document_type, p.raw, p.right) for p in pairs), source=source)


def _calibrated(calibration: Calibration, pair: Pair) -> float:
    curve = calibration.curve_for_group(pair.group, pair.document_type)
    return curve(pair.raw) if curve is not None else pair.raw


def cross_validated(pairs: Sequence[Pair], folds: int, seed: int | None = None) -> list[tuple[Pair, float]]:
    """Return each pair with the confidence given by curves fitted without its document's fold.

    Documents are sorted by name and dealt round the folds; with `seed`, shuffled with that seed first.
    """
    documents = sorted({p.document for p in pairs})
    if seed is not None:
        random.Random(seed).shuffle(documents)
    fold_of = {doc: i % folds for i, doc in enumerate(documents)}
    out: list[tuple[Pair, float]] = []
    for k in range(folds):
        calibration = _fit([p for p in pairs if fold_of[p.document] != k])
        out.extend((p, _calibrated(calibration, p)) for p in pairs if fold_of[p.document] == k)
    return out


def held_out_threshold(held_out: Sequence[tuple[Pair, float]]) -> float | None:
    """Return the lowest grid threshold whose held-out confident fields are >= TARGET right on every type."""
    return choose_threshold_by_type(
        [(p.document_type, c, p.right) for p, c in held_out], target=TARGET, thresholds=GRID
    )


def thresholds_by_type(held_out: Sequence[tuple[Pair, float]]) -> dict[str, float | None]:
    """Return per document type the lowest grid threshold whose held-out confident fields of that type are >= TARGET.

    None for a type where no threshold of the grid is (its confident fields are never that often right).
    """
    by_type: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for pair, confidence in held_out:
        by_type[pair.document_type].append((confidence, pair.right))
    return {kind: choose_threshold(scored, target=TARGET, thresholds=GRID) for kind, scored in sorted(by_type.items())}


def _by_type_text(thresholds: dict[str, float | None]) -> str:
    return ", ".join(f"{kind} {'-' if t is None else t}" for kind, t in thresholds.items())


def confident_wrong(
    scored: Sequence[tuple[Pair, float]], threshold: float, nearest: int = 0
) -> list[tuple[Pair, float]]:
    """Return the wrong pairs at or above `threshold`, surest first, then the `nearest` surest wrong ones under it."""
    wrong = sorted(((p, c) for p, c in scored if not p.right), key=lambda pc: pc[1], reverse=True)
    above = [(p, c) for p, c in wrong if c >= threshold]
    return above + [(p, c) for p, c in wrong if c < threshold][:nearest]


def print_wrong(title: str, rows: Sequence[tuple[Pair, float]], threshold: float) -> None:
    """Print wrong pairs: document, field, value read, raw score and confidence (marked at or above `threshold`)."""
    print(f"\n{title}:" + ("" if rows else " none"))
    for pair, confidence in rows:
        mark = "CONFIDENT-WRONG" if confidence >= threshold else "under"
        print(
            f"  {mark:<15} {confidence:.4f} (raw {pair.raw:.4f}) {pair.document} {pair.field} = {pair.value!r}"
            f" [{pair.group}/{pair.document_type}]"
        )


def kept_report(pairs: Sequence[Pair], threshold: float, nearest: int = 5) -> dict[str, object]:
    """Print what the curves in extractors/calibration.json as they are make of the pairs: confident, wrong, nearest.

    The curves a refit would replace, applied to the same pairs (in sample for them where they were fitted on
    such documents): a refit is worth writing only where it does not make a wrong field confident that these left.
    """
    path = ROOT / "extractors" / CALIBRATION_FILE
    kept = calibration_from_json(json.loads(path.read_text(encoding="utf-8")), "kept")
    scored = [(p, _calibrated(kept, p)) for p in pairs]
    confident = [(p, c) for p, c in scored if c >= threshold]
    wrong = sum(1 for p, _ in confident if not p.right)
    print(
        f"\nkept curves (extractors/{CALIBRATION_FILE}) at {threshold}: {len(confident)} of {len(scored)} pairs"
        f" confident, {wrong} of them wrong; ECE {expected_calibration_error([(c, p.right) for p, c in scored]):.3f}"
    )
    print_wrong(
        "  kept curves: confident wrong fields and the nearest wrong ones",
        confident_wrong(scored, threshold, nearest),
        threshold,
    )
    return {"confident": len(confident), "wrong_confident": wrong, "pairs": len(scored)}


@dataclass(frozen=True)
class SplitResult:
    """One other fold split's held-out figures; `safe_threshold` is the best one where none met TARGET."""

    folds: int
    seed: int | None
    ece: float
    threshold: float | None
    safe_threshold: float
    confident: float
    wrong_confident: int
    by_type: dict[str, float | None] | None = None


def split_check(pairs: Sequence[Pair], splits: Sequence[tuple[int, int | None]]) -> list[SplitResult]:
    """Print held-out ECE, threshold, confident share and wrong count on other fold splits; return them."""
    rows: list[SplitResult] = []
    print("\nsame method on other splits (held out):")
    for folds, seed in splits:
        held_out = cross_validated(pairs, folds, seed)
        scored = [(c, p.right) for p, c in held_out]
        threshold = held_out_threshold(held_out)
        safe = threshold if threshold is not None else best_threshold(scored)
        point = threshold_sweep(scored, [safe])[0]
        row = SplitResult(
            folds=folds,
            seed=seed,
            ece=expected_calibration_error(scored),
            threshold=threshold,
            safe_threshold=safe,
            confident=point.accepted,
            wrong_confident=point.wrong,
            by_type=thresholds_by_type(held_out),
        )
        rows.append(row)
        reached = "" if threshold is not None else " (target not reached; the most often right)"
        shown = f"{point.accepted:.1%} confident, {point.wrong} wrong"
        print(f"  {folds} folds, seed {seed}: ECE {row.ece:.3f}, threshold {safe}{reached}: {shown}")
        print(f"    per type: {_by_type_text(row.by_type or {})}")
        for pair, confidence in confident_wrong(held_out, safe):
            print(
                f"    CONFIDENT-WRONG {confidence:.4f} (raw {pair.raw:.4f})"
                f" {pair.document} {pair.field} = {pair.value!r}"
            )
    return rows


def best_threshold(scored: Sequence[tuple[float, bool]]) -> float:
    """Return the grid threshold whose accepted fields are most often right (the lowest such), when none is >= TARGET.

    Only thresholds that accept at least 5% of the fields count, so that a handful of lucky fields do not set it.
    """
    points = [p for p in threshold_sweep(scored, GRID) if p.accuracy is not None and p.accepted >= 0.05]
    if not points:
        return 1.0
    best = max(p.accuracy for p in points if p.accuracy is not None)
    return min(p.threshold for p in points if p.accuracy == best)


# ---------------------------------------------------------------------------------------------- printing
def print_reliability(title: str, scored: Sequence[tuple[float, bool]]) -> float:
    """Print a reliability table and return the ECE."""
    ece = expected_calibration_error(scored)
    adaptive = adaptive_calibration_error(scored)
    print(f"\n{title}: {len(scored)} fields, ECE {ece:.3f} (10 equal-count bins, for information: {adaptive:.3f})")
    print(f"  {'bin':<11} {'n':>5} {'mean conf':>10} {'accuracy':>9}")
    for b in reliability_table(scored):
        if b.n:
            print(f"  {b.low:.1f}-{b.high:.1f}    {b.n:>5} {b.mean_confidence:>10.3f} {b.accuracy:>9.3f}")
    return ece


def print_by_type(scored: Sequence[tuple[Pair, float]], threshold: float) -> dict[str, dict[str, float]]:
    """Print, per document type and source, accuracy, confident share and accuracy among confident fields."""
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for pair, confidence in scored:
        for key in (pair.document_type, f"{pair.document_type} [{pair.source}]"):
            cell = cells[key]
            cell[0] += 1
            cell[1] += pair.right
            cell[2] += confidence >= threshold
            cell[3] += confidence >= threshold and pair.right
    print(
        f"\nheld-out, threshold {threshold}: {'group':<40} {'n':>5} {'acc':>7} {'conf%':>7} {'acc|conf':>9} wrong|conf"
    )
    table = {}
    for key in sorted(cells):
        n, right, confident, confident_right = cells[key]
        acc_conf = confident_right / confident if confident else None
        shown = f"{acc_conf:9.1%}" if acc_conf is not None else f"{'-':>9}"
        print(f"  {key:<57} {n:>5} {right / n:7.1%} {confident / n:7.1%} {shown} {confident - confident_right:>5}")
        table[key] = {
            "n": n,
            "accuracy": right / n,
            "confident": confident / n,
            "wrong_confident": confident - confident_right,
        }
    return table


def looks_gated_at(described: str) -> float | None:
    """Return the second-look threshold the pairs were read with, as `described` says (None for older pairs).

    The looks run for fields below `Settings.look_threshold`, which does not move with the auto-accept threshold
    while that stays at or below it; so pairs read with the looks gated at G measure every threshold up to G.
    """
    marker = "second looks below "
    if marker not in described:
        return None
    return float(described.split(marker, 1)[1].split(";", 1)[0].split()[0])


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def main() -> int:
    """Collect pairs (or load them), cross-validate, print, and write the calibration when asked."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="*", default=[11, 12, 13])
    parser.add_argument("--size", default="small", choices=("small", "full"))
    parser.add_argument("--full-seeds", type=int, nargs="*", default=[], help="full-size corpus seeds read as well")
    parser.add_argument(
        "--full-sample", type=int, default=None, help="at most N files of each kind and family of a full-size seed"
    )
    parser.add_argument("--ocr-memo", type=Path, help="keep and reuse tesseract's answers in this folder")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--fold-seed", type=int, default=None, help="shuffle documents into folds with this seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--from-pairs", type=Path)
    parser.add_argument("--write", action="store_true", help=f"write extractors/{CALIBRATION_FILE}")
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if args.ocr_memo:
        from ocr_memo import install

        install(args.ocr_memo.resolve())
    started = time.perf_counter()
    if args.from_pairs:
        data = json.loads(args.from_pairs.read_text(encoding="utf-8"))
        pairs = [Pair(**p) for p in data["pairs"]]  # older files keep no value: it reads ""
        described = data["data"]
    else:
        pairs = realdocs_pairs(args.workers)
        for seed in args.seeds:
            pairs += corpus_pairs(seed, args.size, args.workers)
        for seed in args.full_seeds:
            pairs += corpus_pairs(seed, "full", args.workers, args.full_sample)
        full = ""
        if args.full_seeds:
            sample = f", at most {args.full_sample} per kind and family" if args.full_sample is not None else ""
            full = f" + full-size seeds {args.full_seeds}{sample}"
        described = (
            f"realdocs (sroie, invoice2data, cms1500) + corpus seeds {args.seeds} ({args.size}){full};"
            f" second looks below {load_settings().look_threshold}"
        )
        PAIRS.parent.mkdir(parents=True, exist_ok=True)
        PAIRS.write_text(
            json.dumps(
                {
                    "data": described,
                    "commit": _git("rev-parse", "--short", "HEAD"),
                    "pairs": [asdict(p) for p in pairs],
                },
                indent=0,
            ),
            encoding="utf-8",
        )
    documents = len({p.document for p in pairs})
    print(f"{len(pairs)} fields of {documents} documents in {time.perf_counter() - started:.0f} s: {described}")

    raw_ece = print_reliability("raw scores (uncalibrated)", [(p.raw, p.right) for p in pairs])
    held_out = cross_validated(pairs, args.folds, args.fold_seed)
    split = f"{args.folds}-fold by document" + (f", seed {args.fold_seed}" if args.fold_seed is not None else "")
    ece = print_reliability(f"calibrated, held out ({split})", [(c, p.right) for p, c in held_out])
    scored = [(c, p.right) for p, c in held_out]
    overall = choose_threshold(scored, target=TARGET, thresholds=GRID)
    print(f"\nlowest threshold with confident fields >= {TARGET:.1%} right (held out): {overall}")
    threshold = held_out_threshold(held_out)
    print(f"lowest threshold with confident fields >= {TARGET:.1%} right on every document type: {threshold}")
    print("  threshold  accepted  accuracy  wrong")
    for point in threshold_sweep(scored, GRID):
        if point.accuracy is not None and point.threshold >= 0.8:
            print(f"  {point.threshold:9.3f} {point.accepted:9.1%} {point.accuracy:9.2%} {point.wrong:6}")
    if threshold is None:
        threshold = best_threshold(scored)
        print(
            f"  TARGET NOT REACHED on this data: the default becomes {threshold}, the threshold whose confident fields"
            " were most often right; more fields are confident only when the extractors earn it"
        )
    splits = split_check(pairs, [(4, 1), (4, 2), (5, 1)])
    strictest = max([threshold, *(row.safe_threshold for row in splits)])
    if strictest > threshold:
        print(
            f"\nthe auto-accept threshold is the highest over the splits: {strictest} (this split alone gave"
            f" {threshold}); one lucky split must not lower it"
        )
        threshold = strictest
    gate = looks_gated_at(described)
    if gate is not None and threshold > gate:
        print(
            f"\nWARNING: the pairs were read with second looks for fields below {gate}; at an auto-accept threshold"
            f" of {threshold} the looks run below {threshold} (Settings.look_threshold), so these pairs do not measure"
            f" it: read them again with CLAIMFLOW_SECOND_LOOK_THRESHOLD={threshold} before writing it"
        )
    default_by_type = thresholds_by_type(held_out)
    print(f"\nthreshold per document type, {split}: {_by_type_text(default_by_type)}")
    by_type = print_by_type(held_out, threshold)
    print_wrong(
        f"held out ({split}), confident wrong at {threshold} and the nearest wrong ones",
        confident_wrong(held_out, threshold, 5),
        threshold,
    )
    kept = kept_report(pairs, threshold)
    refit = _fit(pairs)
    in_sample = [(p, _calibrated(refit, p)) for p in pairs]
    print_wrong(
        f"refit on all pairs (what --write would write), in sample: confident wrong at {threshold} and the nearest",
        confident_wrong(in_sample, threshold, 5),
        threshold,
    )
    summary = {
        "fields": len(pairs),
        "documents": documents,
        "raw_ece": raw_ece,
        "ece": ece,
        "threshold": threshold,
        "by_type": by_type,
        "threshold_by_type": default_by_type,
        "other_splits": [asdict(row) for row in splits],
        "kept_curves": kept,
    }
    (ROOT / "bench" / "out" / "calibration.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if args.write:
        stamp = datetime.now(UTC).date().isoformat()
        commit = _git("rev-parse", "--short", "HEAD")
        source = f"{described}; {len(pairs)} fields of {documents} documents; commit {commit}; {stamp}"
        calibration = _fit(pairs, source=source)
        final = Calibration(calibration.curves, threshold, source)
        path = ROOT / "extractors" / CALIBRATION_FILE
        path.write_text(calibration_text(final), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}: {len(final.curves)} curves, threshold {threshold}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
