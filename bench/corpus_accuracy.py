"""Field accuracy of the engine on the generated corpus, by document type and degradation family.

Usage: uv run python bench/corpus_accuracy.py [--seed 11] [--size small|full] [--out DIR] [--workers 2]
                                              [--types motor_claim_form,invoice] [--ours] [--only 003,017]
                                              [--ocr-memo DIR] [--save F.json] [--diff F.json]

`--ours` leaves out the CMS-1500s filled by third-party software (neither written nor read): our own forms only.
`--only` reads only the files whose name holds one of the comma-separated parts.
For development (speed figures then mean nothing): `--ocr-memo DIR` keeps tesseract's answers in DIR and answers
an identical call from there (bench/ocr_memo.py); `--save F.json` writes every scored field (file, part, field,
expected, got, confidence, right); `--diff F.json` prints the fields whose value, rightness or confidence moved
against such a file, and the count of right and confident-wrong fields on both sides.

Writes the corpus (claimflow.samples.corpus.write_corpus), then reads and extracts every file exactly as
the engine does (sniff_file -> read_document with TesseractOcr -> extract_documents with the specs in
extractors/, then second readings where a field needs them: `pipeline.read_and_extract`) and compares each
truth field with the extracted value: money to cents, dates as ISO, text with whitespace collapsed, lists and
service lines as a whole. A file holding several documents (claim form + invoice + receipt) is scored document
by document: each truth part against the extraction that covers its page, so an invoice field is never scored
under the claim form. Prints, per document type x family (clean text PDF, clean scan, degraded scan, rotated
scan): legible fields, accuracy, share of fields with confidence >= 0.90 and accuracy among those; then the
fields the degradation made unreadable to a person too (recorded by the generator as `illegible`, e.g. cut
off the page by the skew) and how many of those were handled right (absent or not confident, so a person
looks); then per field, the worst misses, and pages per second.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from claimflow.models import Extraction, Field, Money
from claimflow.pipeline import engine_ocr, read_and_extract
from claimflow.samples.corpus import KINDS, write_corpus
from claimflow.second_looks import LookRecord
from claimflow.settings import Settings, load_settings
from claimflow.specs import SpecSet, load_specs

ROOT = Path(__file__).resolve().parents[1]
CONFIDENT = Settings().confidence_threshold
FAMILIES = {"text": "clean text PDF", "clean": "clean scan", "degraded": "degraded scan", "rotated": "rotated scan"}
CENT = Decimal("0.01")


def to_plain(value: Any) -> Any:
    """Return an extracted value in the truth's string form (money '123.45', ISO dates, lists kept)."""
    if isinstance(value, Money):
        return str(value.amount.quantize(CENT))
    if isinstance(value, Decimal):
        return str(value.quantize(CENT)) if value.as_tuple().exponent in (-1, -2) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items() if item is not None}
    return " ".join(str(value).split())


def same(name: str, got: Any, expected: Any) -> bool:
    """Return True when an extracted (plain) value equals the truth value."""
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return False
        return all(same(name, g, e) for g, e in zip(got, expected, strict=True))
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(same(k, got.get(k), v) for k, v in expected.items())
    if got is None:
        return False
    if name in ("payee_iban",):
        return str(got).replace(" ", "") == str(expected).replace(" ", "")
    return " ".join(str(got).split()) == " ".join(str(expected).split())


Usage = dict[str, tuple[int, float, float]]
Looks = list[tuple[str, int, bool, bool]]


@functools.lru_cache(maxsize=1)
def _specs() -> SpecSet:
    """Return the specs, loaded and validated once per worker process (not once per file: parsing and checking
    every spec again cost about 0.2 s of each file's time)."""
    return load_specs(ROOT / "extractors")


def _read(path_text: str) -> tuple[list[dict[str, Any]], float, int, float, Usage, Looks]:
    """Read and extract one file (in a worker); return plain extractions, seconds, pages, process CPU seconds,
    the OCR calls per step with their wall and CPU seconds (second recognizers' readings counted as calls) and,
    per second look that ran, its step, OCR calls and whether it changed a field's value or confidence."""
    path = Path(path_text)
    specs = _specs()
    started, cpu = time.perf_counter(), time.process_time()
    ocr = engine_ocr(load_settings(), specs)
    usage: Usage = {}
    records: list[LookRecord] = []
    read, extractions = read_and_extract(
        path, ocr, specs, threshold=Settings().look_threshold, ocr_usage=usage, looks=records
    )
    elapsed = time.perf_counter() - started
    looks = [(r.step, r.calls, bool(r.changed), r.unread) for r in records if r.calls or r.changed or r.unread]
    plain = [_plain_extraction(ex) for ex in extractions]
    return plain, elapsed, len(read.pages), time.process_time() - cpu, usage, looks


def _plain_extraction(ex: Extraction) -> dict[str, Any]:
    def plain(field: Field) -> dict[str, Any]:
        return {"value": to_plain(field.value), "confidence": field.confidence}

    return {"document_type": ex.document_type, "pages": list(ex.pages),
            "fields": {name: plain(f) for name, f in ex.fields.items()}}


def _expected_parts(truth: dict[str, Any]) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Return (document type, page, fields) per document in a file: one, or one per page of a multi-document file."""
    if truth.get("multi_document"):
        return [(page["document_type"], int(page["page"]), page["fields"]) for page in truth["pages"]]
    return [(truth["document_type"], None, truth["fields"])]


def _extraction_for(extractions: list[dict[str, Any]], page: int | None) -> dict[str, Any] | None:
    """Return the extraction that covers `page` (the first one for a one-document file)."""
    if page is None:
        return extractions[0] if extractions else None
    return next((ex for ex in extractions if page in ex["pages"]), None)


def _illegible(truth: dict[str, Any], page: int | None) -> set[str]:
    """Return the fields the generator recorded as unreadable to a person too (cut off the page) on `page`."""
    applied = truth["degradation"].get("applied") or {}
    cut: dict[str, list[int]] = applied.get("illegible") or {}
    return {name for name, pages in cut.items() if page is None or page in pages}


def main() -> int:
    """Write the corpus, run the engine over it, print the accuracy tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--size", default="small", choices=("small", "full"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--misses", type=int, default=40)
    parser.add_argument("--types", help="comma-separated document types to read (default: all), e.g. invoice")
    parser.add_argument("--ours", action="store_true",
                        help="CMS-1500: only our own generated forms, not the ones filled by third-party software")
    parser.add_argument("--only", help="comma-separated parts of file names: read only those files")
    parser.add_argument("--ocr-memo", type=Path, help="keep and reuse tesseract's answers in this folder")
    parser.add_argument("--save", type=Path, help="write every scored field to this JSON file")
    parser.add_argument("--diff", type=Path, help="print what moved against a file written by --save")
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if args.ocr_memo:
        from ocr_memo import install

        install(args.ocr_memo.resolve())
    out = args.out or Path(tempfile.mkdtemp(prefix="claimflow-corpus-"))
    started = time.perf_counter()
    kinds = None
    if args.types:  # write only what is read; CMS-1500 includes the forms filled by third-party software
        wanted_kinds = args.types.split(",")
        third = "cms1500" in wanted_kinds and not args.ours
        kinds = [k for k in wanted_kinds if k in KINDS] + (["cms1500_thirdparty"] if third else [])
    summary = write_corpus(out, seed=args.seed, size=args.size, types=kinds)
    print(f"corpus: {summary} in {time.perf_counter() - started:.1f} s at {out}")
    print(f"auto-accept threshold {CONFIDENT}; second looks for fields below {Settings().look_threshold}")
    truths = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "truth").rglob("*.json"))]
    if args.types:
        wanted = set(args.types.split(","))
        truths = [t for t in truths if t["document_type"] in wanted]
    if args.ours:
        truths = [t for t in truths if not t.get("filler")]
    if args.only:
        parts = args.only.split(",")
        truths = [t for t in truths if any(part in t["file"] for part in parts)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(_read, [str(out / "docs" / t["file"]) for t in truths]))
    wall = time.perf_counter() - started

    # per type x family: legible n, right, confident, confident right, illegible n, illegible handled
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    per_field: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    misses: list[str] = []
    scored: list[dict[str, Any]] = []
    scan_pages = scan_seconds = scan_cpu = 0.0
    steps: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    # runs, calls, runs changing, their calls, runs granted that read nothing
    changing: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for truth, (extractions, seconds, pages, cpu, usage, looks) in zip(truths, results, strict=True):
        for step, calls, changed, unread in looks:
            runs = changing[step]
            runs[0] += 1
            runs[1] += calls
            runs[2] += changed
            runs[3] += calls if changed else 0
            runs[4] += unread
        family = str(truth["degradation"]["family"])
        if family != "text":
            scan_pages += pages
            scan_seconds += seconds
            scan_cpu += cpu
            for step, (calls, _, step_cpu) in usage.items():
                steps[step][0] += calls
                steps[step][1] += step_cpu
        for document_type, page, fields in _expected_parts(truth):
            illegible = _illegible(truth, page)
            found = _extraction_for(extractions, page)
            got_fields = found["fields"] if found and found["document_type"] == document_type else {}
            where = f"{truth['file']}" + (f" page {page} ({document_type})" if page is not None else "")
            # CMS-1500s filled by other software are their own rows: cms1500/acroform, cms1500/preprinted
            group = f"{document_type}/{truth['filler']}" if truth.get("filler") else document_type
            for name, expected in fields.items():
                got = got_fields.get(name)
                ok = got is not None and same(name, got["value"], expected)
                confident = got is not None and got["confidence"] >= CONFIDENT
                cell = cells[(group, family)]
                if name in illegible:
                    cell[4] += 1
                    cell[5] += not confident or ok  # a person looks, or it was read right after all
                    continue
                for index, flag in enumerate((True, ok, confident, confident and ok)):
                    cell[index] += flag
                per_field[(group, name)][0] += 1
                per_field[(group, name)][1] += ok
                scored.append({"file": truth["file"], "page": page, "field": name, "expected": expected,
                               "got": got["value"] if got else None,
                               "confidence": round(got["confidence"], 4) if got else None,
                               "right": ok, "confident": confident})
                if not ok:
                    kind = found["document_type"] if found else "nothing"
                    shown = got["value"] if got else f"(none; read as {kind})"
                    score = f" conf {got['confidence']:.2f}" if got else ""
                    mark = "CONFIDENT-WRONG " if confident else ""
                    misses.append(f"{mark}{where} {name}: got {shown!r}{score}, expected {expected!r}")

    print(f"\nread + extract: {len(truths)} files in {wall:.1f} s wall ({args.workers} workers); "
          f"scanned pages {scan_pages:.0f} at {scan_pages / max(scan_seconds, 1e-9):.2f} pages/s per worker, "
          f"all pages {sum(r[2] for r in results) / wall:.2f} pages/s wall")
    print(f"scanned pages: {scan_cpu / max(scan_pages, 1):.2f} s process CPU a page (the workers' own, OCR included); "
          "OCR calls (second recognizers' readings too) and their thread CPU by step: "
          + ", ".join(f"{step} {int(n)} ({cpu:.1f} s)" for step, (n, cpu) in sorted(steps.items())))
    print("second looks that ran (OCR calls), and those that changed a field's value or confidence: "
          + ", ".join(f"{step} {runs} ({calls}) -> {changed} ({changed_calls})"
                      + (f" [granted, read nothing: {unread}]" if unread else "")
                      for step, (runs, calls, changed, changed_calls, unread) in sorted(changing.items())))
    _print_cells(cells)
    print("\nper field (all families):")
    for (document_type, name), (total, right) in sorted(per_field.items()):
        print(f"  {document_type:<22}{name:<22}{right:>4}/{total:<4}{right / total:7.1%}")
    if misses:
        misses.sort(key=lambda line: not line.startswith("CONFIDENT-WRONG"))
        print(f"\nmisses ({len(misses)}, confident ones first, first {args.misses}):")
        for line in misses[: args.misses]:
            print("  " + line)
    if args.save:
        args.save.write_text(json.dumps(scored, indent=1, default=str), encoding="utf-8")
        print(f"\nscored fields written to {args.save}")
    if args.diff:
        _print_diff(json.loads(args.diff.read_text(encoding="utf-8")), scored)
    return 0


def _print_diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """Print the scored fields whose value, rightness or confidence moved between two runs, then both counts."""
    def key(item: dict[str, Any]) -> tuple[str, Any, str]:
        return item["file"], item["page"], item["field"]

    old = {key(item): item for item in before}
    moved = 0
    print("\nagainst the saved run (before -> after):")
    for item in after:
        was = old.get(key(item))
        if was is None:
            continue
        if (was["got"], was["right"]) == (item["got"], item["right"]) and was["confidence"] == item["confidence"]:
            continue
        moved += 1
        mark = {(False, True): "FIXED ", (True, False): "BROKEN"}.get((was["right"], item["right"]), "      ")
        wrong_confident = " CONFIDENT-WRONG" if item["confident"] and not item["right"] else ""
        page = f" page {item['page']}" if item["page"] is not None else ""
        print(f"  {mark} {item['file']}{page} {item['field']}: {was['got']!r} {was['confidence']} -> "
              f"{item['got']!r} {item['confidence']}{wrong_confident}")
    keys = {key(item) for item in after}
    shared = [item for item in before if key(item) in keys]

    def counts(items: list[dict[str, Any]]) -> str:
        right = sum(item["right"] for item in items)
        bad = sum(item["confident"] and not item["right"] for item in items)
        return f"{right}/{len(items)} right, {bad} confident wrong"

    print(f"  {moved} fields moved; before {counts(shared)}; after {counts(after)}")


def _row(document_type: str, family: str, counts: list[int]) -> str:
    total, right, confident, confident_right, illegible, handled = counts
    among = f"{confident_right / confident:.1%}" if confident else "-"
    handled_text = f"{handled}/{illegible}" if illegible else "-"
    return (f"{document_type:<22}{FAMILIES.get(family, family):<16}{total:>7}{right / max(total, 1):>10.1%}"
            f"{confident / max(total, 1):>11.1%}{among:>10}{handled_text:>12}")


def _print_cells(cells: dict[tuple[str, str], list[int]]) -> None:
    """Print accuracy, confident share and accuracy among confident fields per type x family, then totals.

    `illegible` counts fields a person could not read either, with how many the engine handled right
    (left absent or below the confidence line); they are not in the accuracy columns.
    """
    print(f"\n{'document type':<18}{'family':<16}{'fields':>7}{'accuracy':>10}{'confident':>11}{'acc@conf':>10}"
          f"{'illegible ok':>12}")
    totals: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for (document_type, family), counts in sorted(cells.items()):
        print(_row(document_type, family, counts))
        for key in (family, "ALL"):
            totals[key] = [a + b for a, b in zip(totals[key], counts, strict=True)]
    print()
    for family, counts in sorted(totals.items()):
        print(_row("ALL", family, counts))


if __name__ == "__main__":
    sys.exit(main())
