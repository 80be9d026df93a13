"""Golden tests: each real document's extraction is compared with `realdocs/<name>.expected.json`.

One test per document (test id = file name) so one mismatch never hides another. Stored per field:
value, currency and confidence rounded to 0.05 (so tiny scoring changes do not churn the files, real
ones show in review); plus the problem codes. Regenerate after a reviewed change with
`uv run python tests/golden/test_golden_realdocs.py` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from claimflow.extract import extract_document
from claimflow.models import Extraction, Field, Money
from claimflow.readers import TesseractOcr, read_document
from claimflow.serialise import public_value
from claimflow.settings import PROJECT_ROOT
from claimflow.sniff import sniff_file
from claimflow.specs import load_specs

REALDOCS = Path("/work/shared/realdocs")
GOLDEN = Path(__file__).parent / "realdocs"
RECORDS_KEPT = 5

DOCUMENTS: dict[str, tuple[str, bool]] = {
    # name: (path under realdocs, needs OCR)
    "AzureInterior": ("invoice2data/AzureInterior.pdf", False),
    "NetpresseInvoice": ("invoice2data/NetpresseInvoice.pdf", False),
    "SammyMaystoneLinesTest": ("invoice2data/SammyMaystoneLinesTest.pdf", False),
    "coolblue1": ("invoice2data/coolblue1.pdf", False),
    "free_fiber": ("invoice2data/free_fiber.pdf", False),
    "oyo": ("invoice2data/oyo.pdf", False),
    "hcfa1500_blank": ("cms1500/hcfa1500_blank.pdf", False),
    "insurance_claims_dev": ("auto_insurance_claims/insurance_claims_dev.csv", False),
    "cms1500_filled_sample": ("cms1500/cms1500_filled_sample.pdf", True),
    "sroie_020": ("sroie/img/020.jpg", True),
    "sroie_100": ("sroie/img/100.jpg", True),
    "sroie_340": ("sroie/img/340.jpg", True),
}


def field_json(field: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"value": public_value(field.value), "confidence": round(field.confidence * 20) / 20}
    if isinstance(field.value, Money):
        out["currency"] = field.value.currency
    return out


def summarise(extraction: Extraction) -> dict[str, Any]:
    return {
        "document_type": extraction.document_type,
        "fields": {name: field_json(field) for name, field in sorted(extraction.fields.items())},
        "record_count": len(extraction.records),
        "records": [
            {name: field_json(field) for name, field in sorted(record.items())}
            for record in extraction.records[:RECORDS_KEPT]
        ],
        "problems": sorted(f"{p.code.value}:{p.field}" for p in extraction.problems),
    }


def extract(name: str) -> dict[str, Any]:
    path = REALDOCS / DOCUMENTS[name][0]
    read = read_document(path, sniff_file(path), TesseractOcr())
    return summarise(extract_document(read, load_specs(PROJECT_ROOT / "extractors")))


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=[pytest.mark.ocr] if ocr else []) for name, (_, ocr) in DOCUMENTS.items()],
)
def test_golden(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.expected.json").read_text(encoding="utf-8"))
    assert extract(name) == expected


if __name__ == "__main__":
    for wanted in sys.argv[1:] or list(DOCUMENTS):
        target = GOLDEN / f"{wanted}.expected.json"
        target.write_text(json.dumps(extract(wanted), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
