from datetime import date
from decimal import Decimal

import pytest

from claimflow.classify import classify_document
from claimflow.models import Page, ReadDocument, ReadMethod, Row, Sheet, Word
from claimflow.settings import PROJECT_ROOT
from claimflow.specs import SpecSet, load_specs


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return load_specs(PROJECT_ROOT / "extractors")


def page_of(lines: list[str], confidence: float = 1.0) -> ReadDocument:
    words = []
    for index, line in enumerate(lines):
        left = 0.05
        for token in line.split():
            width = 0.008 * len(token)
            words.append(Word(token, (left, 0.05 + index * 0.03, left + width, 0.064 + index * 0.03), confidence))
            left += width + 0.006
    return ReadDocument(pages=[Page(1, 595, 842, ReadMethod.OCR, words)])


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["MOTOR CLAIM FORM", "Policy number: P-1", "Date of loss (DD/MM/YYYY):", "CF-MCF-01"], "motor_claim_form"),
        (["MOTOR CLAlM FORM", "Po1icy numbr:", "Vehicle registratlon:", "Payee IBAN:"], "motor_claim_form"),
        (
            ["HEALTH INSURANCE CLAIM FORM", "2. PATIENT'S NAME", "28. TOTAL CHARGE", "24. A. DATE(S) OF SERVICE"],
            "cms1500",
        ),
        (["ACME LTD", "INVOICE", "Invoice number: 12", "Invoice date: 1 May 2026", "Total due 10.00"], "invoice"),
        (["Facture n° 2022089083", "Date : 28/11/2022", "Total TTC : 56,02 €", "TVA 20% : 9,34 €"], "invoice"),
        (["KEDAI MAJU", "CASH BILL", "Cashier: A", "TOTAL 9.00", "CASH 10.00", "CHANGE 1.00", "THANK YOU"], "receipt"),
    ],
)
def test_pages_are_classified_by_keywords(specs: SpecSet, lines: list[str], expected: str) -> None:
    kind, confidence = classify_document(page_of(lines), specs)
    assert kind == expected
    assert 0.5 <= confidence <= 1.0


def test_unrelated_text_is_unknown(specs: SpecSet) -> None:
    assert classify_document(page_of(["Minutes of the garden committee", "Roses were discussed"]), specs) == (
        "unknown",
        0.0,
    )
    assert classify_document(ReadDocument(), specs) == ("unknown", 0.0)


def test_sheets_are_classified_by_header_overlap(specs: SpecSet) -> None:
    bordereau = Sheet(
        "claims",
        1,
        ["Policy No", "Incident Date", "Incident Type", "Total Claim Amount", "Incident Severity", "Vehicle_Claim"],
        [Row(2, {"Policy No": "P", "Incident Date": date(2026, 1, 1), "Total Claim Amount": Decimal("1")})],
    )
    register = Sheet(
        "policies",
        1,
        ["Policy Number", "Policy Holder", "Product", "Start Date", "End Date", "Limit", "Deductible", "Status"],
    )
    assert classify_document(ReadDocument(sheets=[bordereau]), specs)[0] == "claims_bordereau"
    assert classify_document(ReadDocument(sheets=[register]), specs)[0] == "policy_register"
    other = Sheet("x", 1, ["Name", "Colour", "Size"])
    assert classify_document(ReadDocument(sheets=[other]), specs) == ("unknown", 0.0)


def test_close_runner_up_lowers_confidence(specs: SpecSet) -> None:
    clear = classify_document(page_of(["INVOICE", "Invoice number: 1", "Invoice date", "Bill to", "Amount due"]), specs)
    mixed = classify_document(
        page_of(["INVOICE", "Invoice number: 1", "CASH", "CHANGE", "Cashier", "THANK YOU"]), specs
    )
    assert clear[0] == "invoice"
    assert mixed[1] < clear[1]
