"""Payment instructions: pain.001 content, exactly once per settlement, crash safety, held payments, reconciliation."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from ops_builders import GOOD_IBAN, OTHER_IBAN, T0, add_claim, open_repo

from claimflow.errors import ConfigError
from claimflow.payments import PAIN_NS, instruct_payments, reconcile, write_reconciliation
from claimflow.store.ops_tables import PaymentBatchRow, PaymentRow

NS = {"p": PAIN_NS}
PAYER = {"payer_iban": "DE02120300000000202051", "payer_bic": "BYLADEM1001"}


def _payments(repo: object) -> list[PaymentRow]:
    from sqlmodel import select

    with repo.reading() as s:  # type: ignore[attr-defined]
        return list(s.exec(select(PaymentRow)).all())


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if not p.name.startswith(".") and p.suffix in {".xml", ".csv"})


def test_pain001_has_header_totals_and_two_decimal_amounts(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path, **PAYER)
    add_claim(repo, "C1", decided=T0, settled=T0, amount="100.5", currency="EUR")
    add_claim(repo, "C2", decided=T0, settled=T0, amount="1234.56", currency="EUR", iban=OTHER_IBAN)
    add_claim(repo, "C3", decided=T0, settled=T0, amount="10.00", currency="GBP")
    result = instruct_payments(repo, settings, now=T0 + timedelta(hours=1))
    assert result.instructed == 3 and not result.held
    [path] = result.files
    root = ET.parse(path).getroot()
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header is not None
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "3"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "1345.06"
    assert header.findtext("p:MsgId", namespaces=NS) == path.stem
    amounts = [(e.text, e.get("Ccy")) for e in root.iter(f"{{{PAIN_NS}}}InstdAmt")]
    assert sorted(amounts) == [("10.00", "GBP"), ("100.50", "EUR"), ("1234.56", "EUR")]
    infos = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert [i.findtext("p:CtrlSum", namespaces=NS) for i in infos] == ["1335.06", "10.00"]  # EUR, GBP
    assert GOOD_IBAN in path.read_text() and OTHER_IBAN in path.read_text()


def test_rerun_writes_nothing_twice(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path, **PAYER)
    add_claim(repo, "C1", decided=T0, settled=T0)
    first = instruct_payments(repo, settings, now=T0)
    second = instruct_payments(repo, settings, now=T0 + timedelta(minutes=5))
    assert len(first.files) == 1 and second.files == [] and second.instructed == 0
    add_claim(repo, "C2", decided=T0, settled=T0)
    third = instruct_payments(repo, settings, now=T0 + timedelta(minutes=10))
    assert third.instructed == 1 and len(_files(settings.payments_dir)) == 2
    assert sorted(p.claim_id for p in _payments(repo)) == ["C1", "C2"]


@pytest.mark.parametrize("crash_point", ["after_file", "before_file"])
def test_crash_between_file_and_commit_does_not_double_pay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_point: str
) -> None:
    import claimflow.payments as payments

    repo, settings = open_repo(tmp_path, **PAYER)
    add_claim(repo, "C1", decided=T0, settled=T0, amount="250.00")

    class Crash(Exception):
        pass

    def crash(_: Path) -> None:
        raise Crash

    if crash_point == "after_file":
        with pytest.raises(Crash):
            instruct_payments(repo, settings, now=T0, after_file_written=crash)
    else:
        real = payments.write_atomically
        monkeypatch.setattr(payments, "write_atomically", lambda p, c: (_ for _ in ()).throw(Crash()))
        with pytest.raises(Crash):
            instruct_payments(repo, settings, now=T0)
        monkeypatch.setattr(payments, "write_atomically", real)
    rerun = instruct_payments(repo, settings, now=T0 + timedelta(hours=1))
    assert rerun.recovered_batches == 1 and rerun.instructed == 0
    files = _files(settings.payments_dir)
    assert len(files) == 1 and files[0].read_text().count("<InstdAmt") == 1
    assert [p.claim_id for p in _payments(repo)] == ["C1"]
    assert instruct_payments(repo, settings, now=T0 + timedelta(hours=2)).files == []
    with repo.reading() as s:
        from sqlmodel import select

        assert [b.status for b in s.exec(select(PaymentBatchRow)).all()] == ["written"]


def test_misread_or_missing_iban_is_held_and_reconciled(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path, **PAYER)
    add_claim(repo, "OK", decided=T0, settled=T0, amount="100.00")
    add_claim(repo, "BADSUM", decided=T0, settled=T0, iban="DE89370400440532013001")
    add_claim(repo, "UNSURE", decided=T0, settled=T0, iban_confidence=0.5)
    add_claim(repo, "NOIBAN", decided=T0, settled=T0, iban=None)
    result = instruct_payments(repo, settings, now=T0)
    assert result.instructed == 1
    held = dict(result.held)
    assert set(held) == {"BADSUM", "UNSURE", "NOIBAN"}
    assert "mod-97" in held["BADSUM"] and "confidence" in held["UNSURE"]
    report = reconcile(repo, settings, T0.date())
    assert report.settled == {"EUR": (4, Decimal("400.00"))}
    assert report.instructed == {"EUR": (1, Decimal("100.00"))}
    assert sorted(d["claim_id"] for d in report.differences) == ["BADSUM", "NOIBAN", "UNSURE"]
    assert {d["code"] for d in report.differences} == {"payment_held"}
    md, js = write_reconciliation(settings, report)
    assert "BADSUM" in md.read_text() and '"differences"' in js.read_text()
    assert report.counts() == {"settled": 4, "instructed": 1, "differences": 3}


def test_csv_for_finance_when_no_payer_account(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path)
    add_claim(repo, "C1", decided=T0, settled=T0, amount="7")
    [path] = instruct_payments(repo, settings, now=T0).files
    rows = list(csv.DictReader(path.open()))
    assert path.suffix == ".csv" and rows[0]["amount"] == "7.00" and rows[0]["claim_id"] == "C1"
    assert len(rows[0]["idempotency_key"]) == 64


def test_pain001_without_payer_account_is_a_config_error(tmp_path: Path) -> None:
    repo, settings = open_repo(tmp_path, payment_format="pain.001")
    add_claim(repo, "C1", decided=T0, settled=T0)
    with pytest.raises(ConfigError, match="CLAIMFLOW_PAYER_IBAN"):
        instruct_payments(repo, settings, now=T0)
    repo2, settings2 = open_repo(tmp_path / "b", payer_iban="DE02120300000000202052")
    with pytest.raises(ConfigError, match="mod-97"):
        instruct_payments(repo2, settings2, now=T0)
