"""Second readings vote per field; disagreement lowers confidence and is flagged; agreement stops early."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from claimflow.errors import ReasonCode
from claimflow.extract_reread import read_again, vote
from claimflow.models import Extraction, Field, Money, Page, Provenance, ReadDocument, ReadMethod, Word
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import load_specs

SPECS = load_specs(PROJECT_ROOT / "extractors")


def _f(amount: str, confidence: float) -> Field:
    return Field("total_amount", Money(Decimal(amount), "MYR"), confidence, Provenance(ReadMethod.OCR, page=1))


def test_majority_wins_and_disagreement_is_flagged() -> None:
    chosen, problem = vote("total_amount", [_f("54.50", 0.6), _f("54.50", 0.7), _f("5.45", 0.95)], 3)  # type: ignore[misc]
    assert chosen.value == Money(Decimal("54.50"), "MYR")
    assert chosen.confidence < 0.7 and problem is not None and problem.code is ReasonCode.FIELD_AMBIGUOUS


def test_agreement_keeps_the_best_confidence() -> None:
    chosen, problem = vote("total_amount", [_f("54.50", 0.6), _f("54.50", 0.8)], 2)  # type: ignore[misc]
    assert chosen.confidence == 0.8 and problem is None
    assert vote("total_amount", [], 3) is None


def _receipt_page(total: str, conf: float) -> Page:
    lines = [
        ["SOME", "SHOP", "SDN", "BHD"],
        ["CASH", "RECEIPT"],
        ["Date:", "06/03/2018"],
        ["TOTAL", total],
        ["THANK", "YOU"],
    ]
    words = []
    for i, line in enumerate(lines):
        for j, text in enumerate(line):
            x = 0.1 + 0.2 * j
            words.append(Word(text, (x, 0.1 + 0.05 * i, x + 0.15, 0.13 + 0.05 * i), conf, 0, i))
    return Page(1, 800, 1200, ReadMethod.OCR, words=words, image=object())


def test_weak_total_is_read_again_and_the_readings_vote() -> None:
    first = _receipt_page("54.5O", 0.55)  # OCR misread: no total
    read = ReadDocument(pages=[first])
    from claimflow.extract import extract_documents

    parts = extract_documents(read, SPECS)
    assert parts[0].document_type == "receipt" and "total_amount" not in parts[0].fields
    calls: list[int] = []

    def reread(page: Page, *, psm: int) -> Page | None:
        calls.append(psm)
        return _receipt_page("54.50", 0.9)

    pages = read_again(read, parts, SPECS, reread, threshold=0.9)
    assert pages >= 1 and calls
    assert parts[0].fields["total_amount"].value.amount == Decimal("54.50")  # type: ignore[union-attr]
    assert not [p for p in parts[0].problems if p.field == "total_amount" and p.code is ReasonCode.FIELD_MISSING]


def test_text_layer_pages_are_never_read_again(tmp_path: Path) -> None:
    page = _receipt_page("54.5O", 0.55)
    page.method = ReadMethod.TEXT_LAYER
    read = ReadDocument(pages=[page])
    parts = [Extraction("receipt", 1.0)]

    def reread(page: Page, *, psm: int) -> Page | None:
        raise AssertionError("no OCR for a text layer")

    assert read_again(read, parts, SPECS, reread, threshold=0.9) == 0
