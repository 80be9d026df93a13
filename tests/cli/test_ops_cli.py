"""`claimflow status`, `reminders` and `payments` as operators use them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from claimflow.cli import main
from claimflow.store.tables import utcnow
from tests.unit.ops_builders import add_claim, add_request, add_review, open_repo


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLAIMFLOW_INBOX", str(tmp_path / "inbox"))
    (tmp_path / "inbox").mkdir()
    now = utcnow()
    repo, _ = open_repo(tmp_path)
    add_claim(repo, "CLM-A", decided=now, settled=now, amount="120.00")
    add_claim(repo, "CLM-B", status="pending_documents", route="request_documents", decided=now)
    add_request(repo, "CLM-B", created=now - timedelta(hours=1), missing=["invoice"])
    add_claim(repo, "CLM-C", status="in_review", route="review", decided=now)
    add_review(repo, "CLM-C", created=now - timedelta(hours=30))
    repo.close()
    (tmp_path / "inbox" / "new.pdf").write_bytes(b"%PDF-1.4")
    return tmp_path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_status_json_has_states_routes_and_backlog(env: Path) -> None:
    code, out = _run("status", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["documents"] == {"received": 1, "processing": 0, "decided": 3, "quarantined": 0}
    assert data["claims_by_route"] == {"request_documents": 1, "review": 1, "settle": 1}
    assert data["review_backlog"]["open"] == 1 and data["review_backlog"]["sla_breaches"] == 1
    code, text = _run("status")
    assert code == 0 and "1 to check" in text and "over the 24 h SLA" in text


def test_reminders_list_and_send(env: Path) -> None:
    code, out = _run("reminders", "--json")
    [waiting] = json.loads(out)["waiting"]
    assert code == 0 and waiting["claim_id"] == "CLM-B" and waiting["missing_documents"] == ["invoice"]
    code, out = _run("reminders", "--send")
    assert code == 0 and "rendered 1" in out and "CLM-B" in out
    assert len(list((env / "home" / "outbox").glob("*.eml"))) == 1
    _run("reminders", "--send")
    assert len(list((env / "home" / "outbox").glob("*.eml"))) == 1  # same slot: nothing new


def test_payments_run_once_and_reconcile(env: Path) -> None:
    code, out = _run("payments", "--json")
    data = json.loads(out)
    assert code == 0 and data["run"]["instructed"] == 1 and len(data["run"]["files"]) == 1
    assert data["reconciliation"]["differences"] == []
    code, out = _run("payments")
    assert code == 0 and "0 instructed" in out and "no new file" in out


def test_report_writes_html_and_pdf_with_every_chart(env: Path) -> None:
    out = env / "report"
    code, stdout = _run("report", "--out", str(out))
    assert code == 0 and str(out / "report.html") in stdout
    page = (out / "report.html").read_text()
    for title in ("STP rate by day", "Claims by route", "Reasons Pareto", "Cycle time: first document to decision",
                  "Extraction confidence against accuracy"):
        assert title in page
    assert page.count("<svg") >= 4
    assert "no data: no claim has been reviewed yet" in page  # honest: nothing to calibrate against
    assert "Zoë" not in page and "CLM-A" not in page  # aggregates only
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("reminders",),
        ("review",),
        ("show", "CLM-A"),
        ("learn",),
        ("verify",),
        ("payments",),
    ],
)
def test_every_command_closes_the_database_it_opens(
    env: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    """A command that leaves its connection pool open leaks SQLite handles in a long-lived caller (the flows)."""
    from claimflow.store.repository import Repository

    opened: list[Repository] = []
    closed: list[Repository] = []
    real_open, real_close = Repository.open.__func__, Repository.close  # type: ignore[attr-defined]

    def tracking_open(cls: type[Repository], url: str) -> Repository:
        repo = real_open(cls, url)
        opened.append(repo)
        return repo

    def tracking_close(self: Repository) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(Repository, "open", classmethod(tracking_open))
    monkeypatch.setattr(Repository, "close", tracking_close)
    CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert opened, f"{args[0]} opened no database"
    assert all(any(c is o for c in closed) for o in opened), f"{args[0]} left a database open"
