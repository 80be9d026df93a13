"""Measure extraction on the real documents: SROIE receipts and invoice2data invoices.

Run: `uv run python tests/golden/measure_realdocs.py [--source box|readers] [--json OCR_DUMP]`.
`box` builds pages from SROIE's line-level ground-truth transcripts (extraction errors only, no OCR);
`readers` reads the images with claimflow.readers (OCR + extraction, the real pipeline path).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date
from pathlib import Path

from claimflow.classify import classify_document
from claimflow.extract import extract_document
from claimflow.models import Money, Page, ReadDocument, ReadMethod, Word
from claimflow.normalise import parse_date
from claimflow.readers import TesseractOcr, read_document
from claimflow.sniff import sniff_file
from claimflow.specs import load_specs

ROOT = Path(__file__).resolve().parents[2]
REALDOCS = Path("/work/shared/realdocs")


def box_document(path: Path) -> ReadDocument:
    """Build a page from SROIE box transcripts: one line per row, words spread over the line box."""
    rows = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            parts = raw.rstrip("\n").split(",", 8)
            if len(parts) < 9:
                continue
            xs = [int(parts[i]) for i in (0, 2, 4, 6)]
            ys = [int(parts[i]) for i in (1, 3, 5, 7)]
            rows.append((min(xs), min(ys), max(xs), max(ys), parts[8]))
    width = max(r[2] for r in rows) * 1.05
    height = max(r[3] for r in rows) * 1.02
    words = []
    for index, (x0, y0, x1, y1, text) in enumerate(rows):
        tokens = text.split()
        total = sum(len(t) + 1 for t in tokens) or 1
        x = x0
        for token in tokens:
            w = (x1 - x0) * len(token) / total
            words.append(Word(token, (x / width, y0 / height, (x + w) / width, y1 / height), 1.0, index, 0))
            x += (x1 - x0) * (len(token) + 1) / total
    return ReadDocument(pages=[Page(1, width, height, ReadMethod.OCR, words)])


def read_with_readers(path: Path) -> ReadDocument:
    """Read a file with the project's readers (OCR for images)."""
    return read_document(path, sniff_file(path), TesseractOcr())


def text_document(text: str) -> ReadDocument:
    """Build a page from plain text: one line per text line, words placed by character column."""
    lines = text.splitlines()
    width = max((len(line) for line in lines), default=1) + 1
    words = []
    for number, line in enumerate(lines):
        for found in re.finditer(r"\S+", line):
            top = number / (len(lines) + 1)
            box = (found.start() / width, top, found.end() / width, top + 0.6 / (len(lines) + 1))
            words.append(Word(found.group(0), box, 1.0, 0, number))
    return ReadDocument(pages=[Page(1, 595, 842, ReadMethod.TEXT_LAYER, words)])


def measure_invoices() -> dict[str, object]:
    """Compare invoice fields with invoice2data's expected JSON (only the keys it labels)."""
    specs = load_specs(ROOT / "extractors")
    pairs = {
        "issuer": "issuer",
        "invoice_number": "invoice_number",
        "date": "document_date",
        "amount": "total_amount",
        "amount_tax": "tax_amount",
        "currency": "currency",
    }
    right = dict.fromkeys(pairs, 0)
    labelled = dict.fromkeys(pairs, 0)
    classified = 0
    files = sorted((REALDOCS / "invoice2data").glob("*.json"))
    for expected_path in files:
        expected = json.loads(expected_path.read_text())[0]
        pdf = expected_path.with_suffix(".pdf")
        read = read_with_readers(pdf) if pdf.exists() else text_document(expected_path.with_suffix(".txt").read_text())
        kind, _ = classify_document(read, specs)
        classified += kind == "invoice"
        got = extract_document(read, specs, "invoice").fields
        for key, name in pairs.items():
            if key not in expected:
                continue
            labelled[key] += 1
            field = got.get(name)
            value = field.value if field else None
            want = expected[key]
            if isinstance(value, Money):
                ok = abs(float(value.amount) - float(want)) < 0.005
            elif isinstance(value, date):
                ok = value.isoformat() == want
            elif key == "issuer":
                ok = value is not None and simple(str(want)) in simple(str(value))
            else:
                ok = value is not None and simple(str(value)) == simple(str(want))
            right[key] += ok
            if "-v" in sys.argv and not ok:
                print(expected_path.stem, key, repr(value), "want", repr(want))
    rates = {key: f"{right[key]}/{labelled[key]}" for key in pairs}
    return {"fields_right": rates, "classified_invoice": f"{classified}/{len(files)}"}


def as_text(value: object) -> str:
    """Render an extracted value the way the sample generator's truth files write it."""
    if isinstance(value, Money):
        return f"{value.amount:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def measure_packet(packet: Path) -> dict[str, object]:
    """Compare extraction with the truth files of a generated sample packet (`claimflow.samples`)."""
    specs = load_specs(ROOT / "extractors")
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    for truth_path in sorted((packet / "truth").rglob("*.json")):
        truth = json.loads(truth_path.read_text())
        if not isinstance(truth, dict) or "file" not in truth or truth.get("expect_status") != "processed":
            continue
        path = packet / "packet" / truth["file"]
        if path.suffix in (".xlsx", ".csv"):
            continue
        read = read_with_readers(path)
        for part in truth.get("pages") or [{"page": None, **truth}]:
            doc = read if part["page"] is None else ReadDocument(pages=[read.pages[part["page"] - 1]])
            result = extract_document(doc, specs)
            kind = f"{part['document_type']}/{truth['variant']}"
            total[kind + ":type"] = total.get(kind + ":type", 0) + 1
            right[kind + ":type"] = right.get(kind + ":type", 0) + (result.document_type == part["document_type"])
            for name, want in part["fields"].items():
                field = result.fields.get(name)
                ok = field is not None and as_text(field.value) == want
                total[kind] = total.get(kind, 0) + 1
                right[kind] = right.get(kind, 0) + ok
                if "-v" in sys.argv and not ok:
                    print(truth["file"], name, repr(field.value if field else None), "want", repr(want))
    return {kind: f"{right[kind]}/{total[kind]}" for kind in sorted(total)}


def simple(text: str) -> str:
    """Compare text after dropping whitespace and punctuation, case-insensitively."""
    return re.sub(r"[\W_]+", "", text).lower()


def measure_sroie(source: str, dump: Path | None) -> dict[str, float]:
    """Return the exact-match rate per field on the SROIE receipts."""
    specs = load_specs(ROOT / "extractors")
    hits = {"total_amount": 0, "document_date": 0, "issuer": 0, "classified_receipt": 0}
    keys = sorted((REALDOCS / "sroie/key").glob("*.json"))
    dumped = json.loads(dump.read_text()) if dump else None
    for key_path in keys:
        truth = json.loads(key_path.read_text())
        stem = key_path.stem
        if source == "box":
            read = box_document(REALDOCS / f"sroie/box/{stem}.csv")
        elif dumped is not None:
            read = ReadDocument(
                pages=[
                    Page(
                        p["number"],
                        p["width"],
                        p["height"],
                        ReadMethod.OCR,
                        [Word(w["text"], tuple(w["bbox"]), w["confidence"], w["block"], w["line"]) for w in p["words"]],
                    )
                    for p in dumped[stem]
                ]
            )
        else:
            read = read_with_readers(REALDOCS / f"sroie/img/{stem}.jpg")
        kind, _ = classify_document(read, specs)
        hits["classified_receipt"] += kind == "receipt"
        result = extract_document(read, specs, "receipt")
        got = {name: field.value for name, field in result.fields.items()}
        total = got.get("total_amount")
        ok_total = isinstance(total, Money) and f"{total.amount:.2f}" == re.sub(r"[^\d.]", "", truth["total"])
        try:
            want_date: date | None = parse_date(truth["date"], day_first=True).value
        except ValueError:
            want_date = None
        ok_date = got.get("document_date") == want_date
        ok_issuer = simple(str(got.get("issuer", ""))) == simple(truth["company"])
        hits["total_amount"] += ok_total
        hits["document_date"] += ok_date
        hits["issuer"] += ok_issuer
        if "-v" in sys.argv:
            print(
                stem,
                "T" if ok_total else "-",
                "D" if ok_date else "-",
                "I" if ok_issuer else "-",
                total,
                truth["total"],
                got.get("document_date"),
                want_date,
                "|",
                got.get("issuer"),
                "|",
                truth["company"],
            )
    return {name: round(100 * count / len(keys), 1) for name, count in hits.items()}


def main() -> None:
    """Print the measurements as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", choices=["box", "readers", "dump"], default="box")
    parser.add_argument("--json", type=Path)
    parser.add_argument("-v", action="store_true")
    parser.add_argument("--packet", type=Path, help="a folder written by claimflow.samples.packet.write_packet")
    args = parser.parse_args()
    if args.packet:
        print(json.dumps({"packet": measure_packet(args.packet)}, indent=1))
        return
    print(json.dumps({"sroie": measure_sroie(args.source, args.json), "invoice2data": measure_invoices()}, indent=1))


if __name__ == "__main__":
    main()
