"""Tests of the sample packet generator: determinism, truth <-> packet, form layout, spreadsheets, bad files."""

from __future__ import annotations

import hashlib
import json
import random
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pdfplumber
import pytest
from PIL import Image
from pypdf import PdfReader

from claimflow.normalise import is_valid_iban as engine_iban_check
from claimflow.samples import PacketSummary, write_packet
from claimflow.samples.forms import LABELS, printed_values
from claimflow.samples.identifiers import cin_letter, iban_check_digits, is_valid_iban, make_iban, rib_key
from claimflow.samples.plan import make_plan


@pytest.fixture(scope="module")
def packet_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PacketSummary]:
    out = tmp_path_factory.mktemp("samples")
    return out, write_packet(out, seed=7)


def _hashes(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def _truth(root: Path) -> dict[str, dict[str, object]]:
    records = {}
    for path in (root / "truth").rglob("*.json"):
        if path.name != "expected_claims.json":
            record = json.loads(path.read_text(encoding="utf-8"))
            records[record["file"]] = record
    return records


def _fields(record: dict[str, object]) -> dict[str, str]:
    fields = record["fields"]
    assert isinstance(fields, dict)
    return fields


def test_same_seed_gives_byte_identical_packet(packet_dir: tuple[Path, PacketSummary], tmp_path: Path) -> None:
    out, _ = packet_dir
    write_packet(tmp_path, seed=7)
    assert _hashes(tmp_path) == _hashes(out)


def test_other_seed_gives_other_claims() -> None:
    first = [claim.claim_number for claim in make_plan(7).claims]
    assert first == [claim.claim_number for claim in make_plan(7).claims]
    assert first != [claim.claim_number for claim in make_plan(8).claims]


def test_every_packet_file_has_truth_and_back(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, summary = packet_dir
    packet_files = {path.relative_to(out / "packet").as_posix()
                    for path in (out / "packet").rglob("*") if path.is_file()}
    truth_files = {path.relative_to(out / "truth").as_posix()[: -len(".json")]
                   for path in (out / "truth").rglob("*.json") if path.name != "expected_claims.json"}
    assert packet_files == truth_files
    assert summary.documents == len(packet_files)
    assert "odd names/Claim #7 (final) ünïcode.pdf" in packet_files
    for relative, record in _truth(out).items():
        assert record["file"] == relative


def test_summary_counts_and_settle_share(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, summary = packet_dir
    expected = json.loads((out / "truth" / "expected_claims.json").read_text(encoding="utf-8"))
    assert summary.motor_claims == len(expected["claims"]) == 22
    assert summary.routes == expected["routes"]
    assert 0.55 <= summary.routes["settle"] / summary.motor_claims <= 0.65
    assert summary.routes["request_documents"] >= 1
    assert summary.scans == 8
    assert "22 motor claims" in str(summary)


def test_ibans_are_valid(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    ibans = [_fields(r)["payee_iban"] for r in _truth(out).values() if r["document_type"] == "motor_claim_form"]
    assert len(ibans) >= 22
    assert all(is_valid_iban(iban) for iban in ibans)
    assert {iban[:2] for iban in ibans} >= {"DE", "FR", "NL", "GB", "IT"}


def test_iban_check_digits_match_published_example() -> None:
    assert iban_check_digits("GB", "WEST12345698765432") == "82"
    assert is_valid_iban("GB82 WEST 1234 5698 7654 32")
    assert not is_valid_iban("GB82 WEST 1234 5698 7654 33")
    rng = random.Random(1)
    assert all(is_valid_iban(make_iban(rng, country)) for country in ("DE", "FR", "NL", "GB", "IT") * 20)


def test_french_and_italian_ibans_carry_their_national_check_keys() -> None:
    assert rib_key("20041", "01005", "0500013M026") == "06"  # published example FR14 2004 1010 0505 0001 3M02 606
    assert cin_letter("0542811101000000123456") == "X"  # published example IT60 X054 2811 1010 0000 0123 456
    rng = random.Random(2)
    made = [make_iban(rng, country) for country in ("FR", "IT") * 50]
    assert all(engine_iban_check(iban) for iban in made)  # the engine's checks, written apart from these


def test_text_forms_read_labels_then_values_in_order(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    forms = [r for r in _truth(out).values() if r["variant"] == "text_pdf" and r["document_type"] == "motor_claim_form"]
    assert len(forms) == 12
    for record in forms:
        with pdfplumber.open(out / "packet" / str(record["file"])) as pdf:
            text = " ".join(pdf.pages[0].extract_text().split())
        fields = _fields(record)
        position = text.index("MOTOR CLAIM FORM")
        for canonical, label in LABELS:
            value = fields[canonical]
            if canonical in {"date_of_loss", "signature_date"}:
                value = date.fromisoformat(value).strftime("%d/%m/%Y")
            elif canonical == "amount_claimed":
                value = f"{Decimal(value):,.2f}"
            elif canonical == "payee_iban":
                value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
            expected = f"{label} {value}"
            found = text.find(expected, position)
            assert found > position, f"{record['file']}: {expected!r} not after position {position}"
            position = found + len(expected)
        assert text.rstrip().endswith("CF-MCF-01")


def test_acroform_values_are_filled_under_producer_names(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    forms = [r for r in _truth(out).values() if r["variant"] == "acroform"]
    assert len(forms) == 2
    plan = {claim.claim_number: claim for claim in make_plan(7).claims}
    for record in forms:
        fields = PdfReader(out / "packet" / str(record["file"])).get_fields() or {}
        names = record["acroform_field_names"]
        assert isinstance(names, dict)
        printed = printed_values(plan[_fields(record)["claim_number"]])
        assert {name: fields[name].get("/V") for name in names} == {name: printed[c] for name, c in names.items()}
        assert not set(fields) & {canonical for canonical, _ in LABELS}


def test_invoices_carry_claim_reference_and_total(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    invoices = [r for r in _truth(out).values() if r["document_type"] == "invoice"]
    assert len(invoices) == 19
    assert {r["layout"] for r in invoices} == {"a", "b", "c"}
    for record in invoices:
        fields = _fields(record)
        with pdfplumber.open(out / "packet" / str(record["file"])) as pdf:
            text = pdf.pages[0].extract_text()
        assert fields["invoice_number"] in text
        assert fields["claim_reference"] in text
        assert f"{Decimal(fields['total_amount']):,.2f}" in text
        assert fields["issuer"] in text


def _register(out: Path) -> dict[str, tuple[object, ...]]:
    workbook = openpyxl.load_workbook(out / "packet" / "policy_register.xlsx")
    rows = list(workbook["Policies"].iter_rows(values_only=True))
    assert rows[0] == ("Policy Number", "Policy Holder", "Product", "Start Date", "End Date", "Limit",
                       "Deductible", "Currency", "Status", "Covered Losses", "Waiting Period (days)")
    return {str(row[0]): row for row in rows[1:]}


def test_expected_routes_follow_the_business_rules(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    register = _register(out)
    truth = _truth(out)
    invoices = {_fields(r)["claim_reference"]: _fields(r) for r in truth.values() if r["document_type"] == "invoice"}
    for record in truth.values():
        for page in record.get("pages", []):  # the 2-page scan holds the claim's invoice
            if page["document_type"] == "invoice":
                invoices[page["fields"]["claim_reference"]] = page["fields"]
    forms = {_fields(r)["claim_number"]: _fields(r) for r in truth.values()
             if r["document_type"] == "motor_claim_form" and r["expect_status"] == "processed"}
    expected = json.loads((out / "truth" / "expected_claims.json").read_text(encoding="utf-8"))["claims"]
    assert {claim["claim_number"] for claim in expected} == set(forms)
    for claim in expected:
        form = forms[claim["claim_number"]]
        policy = register.get(form["policy_number"])
        loss = date.fromisoformat(form["date_of_loss"])
        amount = Decimal(form["amount_claimed"])
        invoice = invoices.get(claim["claim_number"])
        payout = None
        covered = (policy is not None and policy[8] == "active" and isinstance(policy[3], datetime)
                   and isinstance(policy[4], datetime) and policy[3].date() <= loss <= policy[4].date())
        cover = [item.strip() for item in str(policy[9]).split(";")] if policy is not None else []
        waiting_ends = policy[3].date() + timedelta(days=int(str(policy[10]))) if covered and policy else loss
        not_covered = form["loss_type"] not in cover and "all risks" not in cover
        if policy is None or not covered or not_covered or loss < waiting_ends:
            route = "review"
        elif invoice is None:
            route = "request_documents"
        elif Decimal(invoice["total_amount"]) != amount or amount > 5000:
            route = "review"
        else:
            payout = min(amount - Decimal(str(policy[6])), Decimal(str(policy[5])))
            route = "settle" if payout > 0 else "review"
        assert claim["route"] == route, claim
        if route == "settle":
            assert Decimal(claim["payout"]) == payout
        else:
            assert claim["payout"] is None


def test_register_dates_money_and_status(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    register = _register(out)
    assert {row[8] for row in register.values()} == {"active", "lapsed", "cancelled"}
    for row in register.values():
        assert isinstance(row[3], datetime) and isinstance(row[4], datetime)
        assert isinstance(row[5], int | float) and isinstance(row[6], int | float)
        assert row[7] in {"EUR", "GBP", "USD"}
    fleet = [row for row in register.values() if row[2] == "Motor Fleet"]
    assert len(fleet) == 52  # one per bordereau row with a policy number


def test_bordereau_keeps_csv_headers_and_marks_corrupted_rows(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    workbook = openpyxl.load_workbook(out / "packet" / "bordereau" / "bordereau_2026_11.xlsx")
    rows = list(workbook["Claims"].iter_rows(values_only=True))
    header = list(rows[0])
    seed_header = (Path(__file__).parents[2] / "claimflow/samples/data/insurance_claims_seed.csv").read_text(
        encoding="utf-8").splitlines()[0].split(",")
    assert header == seed_header
    truth = json.loads((out / "truth" / "bordereau" / "bordereau_2026_11.xlsx.json").read_text(encoding="utf-8"))
    assert len(rows) - 1 == 53 == int(truth["fields"]["row_count"])
    corrupted = {row["expect"]: row["sheet_row"] for row in truth["corrupted_rows"]}
    assert set(corrupted) == {"amounts_inconsistent", "field_missing", "field_invalid"}
    col = {name: index for index, name in enumerate(header)}
    for number, row in enumerate(rows[1:], start=2):
        parts = sum(row[col[name]] for name in ("injury_claim", "property_claim", "vehicle_claim"))
        assert (row[col["total_claim_amount"]] != parts) == (number == corrupted["amounts_inconsistent"])
        assert (row[col["policy_number"]] is None) == (number == corrupted["field_missing"])
        is_text_date = isinstance(row[col["incident_date"]], str)
        assert is_text_date == (number == corrupted["field_invalid"])
        assert isinstance(row[col["months_as_customer"]], int)


def test_bad_files_are_bad_as_the_truth_says(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    bad = {r["expect_reason"]: out / "packet" / str(r["file"]) for r in _truth(out).values()
           if r["expect_status"] != "processed"}
    assert set(bad) == {"duplicate_document", "empty_file", "pdf_encrypted", "pdf_corrupt", "extension_mismatch",
                        "unsupported_type"}
    duplicate = _truth(out)[bad["duplicate_document"].relative_to(out / "packet").as_posix()]
    assert bad["duplicate_document"].read_bytes() == (out / "packet" / str(duplicate["duplicate_of"])).read_bytes()
    assert bad["duplicate_document"].name.startswith("copy of ")
    assert bad["empty_file"].stat().st_size == 0
    reader = PdfReader(bad["pdf_encrypted"])
    assert reader.is_encrypted
    assert reader.decrypt("claim-2026") and "MOTOR CLAIM FORM" in reader.pages[0].extract_text()
    with pytest.raises(Exception), pdfplumber.open(bad["pdf_corrupt"]) as pdf:  # noqa: B017 - pdfminer's own types
        pdf.pages[0].extract_text()
    assert bad["extension_mismatch"].suffix == ".pdf"
    assert bad["extension_mismatch"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with zipfile.ZipFile(bad["unsupported_type"]) as archive:
        assert "word/document.xml" in archive.namelist()


def test_scans_are_grayscale_200_dpi_and_image_only(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    scans = [r for r in _truth(out).values() if str(r["variant"]).startswith("scan")]
    assert {r["variant"] for r in scans} == {"scan_png", "scan_jpg", "scan_tif", "scan_pdf", "scan_pdf_2page"}
    for record in scans:
        path = out / "packet" / str(record["file"])
        if path.suffix == ".pdf":
            with pdfplumber.open(path) as pdf:
                assert len(pdf.pages) == (2 if record["variant"] == "scan_pdf_2page" else 1)
                assert all(not page.extract_text().strip() and len(page.images) == 1 for page in pdf.pages)
        else:
            with Image.open(path) as image:
                assert image.mode == "L"
                assert image.size[0] in range(1600, 1700) and image.size[1] in range(2300, 2400)


def test_scans_flag_off_writes_no_scans(tmp_path: Path) -> None:
    summary = write_packet(tmp_path, seed=3, scans=False)
    assert summary.scans == 0
    assert not (tmp_path / "packet" / "scans").exists()
    assert summary.motor_claims == 14


@pytest.mark.ocr
def test_scanned_form_is_readable_by_tesseract(packet_dir: tuple[Path, PacketSummary]) -> None:
    import pytesseract

    out, _ = packet_dir
    record = next(r for r in _truth(out).values() if r["variant"] == "scan_png")
    with Image.open(out / "packet" / str(record["file"])) as image:
        text = pytesseract.image_to_string(image)
    fields = _fields(record)
    assert fields["claim_number"] in text
    assert fields["policy_number"] in text
    assert "MOTOR CLAIM FORM" in text


def test_bordereau_truth_routes_every_row(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    truth = json.loads((out / "truth" / "bordereau" / "bordereau_2026_11.xlsx.json").read_text(encoding="utf-8"))
    assert len(truth["rows"]) == 53
    for row in truth["rows"]:
        assert row["route"] in {"settle", "review"}
        if row["expect"] != "ok":
            assert (row["route"], row["reason"]) == ("review", row["expect"])
        if row["route"] == "settle":
            assert Decimal(row["payout"]) > 0
    assert sum(row["expect"] == "loss_outside_cover" for row in truth["rows"]) == 2


def test_files_have_fixed_mtimes_and_copy_is_newer(packet_dir: tuple[Path, PacketSummary]) -> None:
    out, _ = packet_dir
    duplicate = next(r for r in _truth(out).values() if r["expect_status"] == "duplicate")
    copy_time = (out / "packet" / str(duplicate["file"])).stat().st_mtime
    assert (out / "packet" / str(duplicate["duplicate_of"])).stat().st_mtime < copy_time
    files = [p for p in (out / "packet").rglob("*") if p.is_file()]
    newest_sheet = max(p.stat().st_mtime for p in files if p.suffix == ".xlsx")
    assert all(newest_sheet < p.stat().st_mtime < 1_800_000_000 for p in files if p.suffix != ".xlsx")
