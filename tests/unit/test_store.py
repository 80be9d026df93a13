import os
from decimal import Decimal

import pytest
from sqlalchemy import text

from claimflow.errors import ClaimFlowError
from claimflow.models import ClaimStatus
from claimflow.routing import _settle
from claimflow.store.repository import Repository
from claimflow.store.tables import ClaimRow


def _repo(tmp_path):
    return Repository.open(f"sqlite:///{tmp_path / 'c.db'}")


def _exercise(repo: Repository) -> None:
    with repo.transaction() as s:
        s.add(ClaimRow(claim_id="C1", claim_type="motor", source="documents", status=ClaimStatus.RECEIVED.value))
        repo.audit(s, actor="system", action="claim_opened", entity="claim", entity_id="C1")
        repo.audit(
            s,
            actor="alice",
            action="review_approve",
            entity="claim",
            entity_id="C1",
            reason="ok",
            data={"payout": "10.00"},
        )
    with repo.transaction() as s:
        claim = s.get(ClaimRow, "C1")
        _settle(repo, s, claim, Decimal("10.00"), "EUR", None, actor="alice")


def test_audit_chain_is_intact_and_detects_edits_and_deletions(tmp_path):
    repo = _repo(tmp_path)
    _exercise(repo)
    assert repo.verify_audit() == []
    assert [e.seq for e in repo.audit_events("claim", "C1")] == [1, 2]
    with repo.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor='mallory' WHERE seq=2"))
    assert any("edited" in p for p in repo.verify_audit())
    with repo.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq=1"))
    problems = repo.verify_audit()
    assert any("missing" in p for p in problems)


def test_a_claim_is_settled_at_most_once(tmp_path):
    repo = _repo(tmp_path)
    _exercise(repo)
    with pytest.raises(ClaimFlowError, match="never paid twice"), repo.transaction() as s:
        _settle(repo, s, s.get(ClaimRow, "C1"), Decimal("10.00"), "EUR", None, actor="bob")
    assert repo.verify_audit() == []


def test_bad_database_url_is_a_config_error(tmp_path):
    from claimflow.errors import ConfigError

    with pytest.raises(ConfigError, match="CLAIMFLOW_DATABASE_URL"):
        Repository.open("nosuchdb://x")


@pytest.mark.postgres
def test_postgresql_round_trip():
    url = os.environ.get("CLAIMFLOW_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("CLAIMFLOW_TEST_POSTGRES_URL is not set: scripts/test.sh starts PostgreSQL and sets it")
    repo = Repository.open(url)
    with repo.engine.begin() as conn:
        for table in (
            "settlement",
            "claim_document",
            "decision",
            "review_task",
            "document_request",
            "claim",
            "audit_event",
        ):
            conn.execute(text(f"DELETE FROM {table}"))
    _exercise(repo)
    assert repo.verify_audit() == []
    assert repo.counts()["claims"] == {"received": 1}
    repo.close()
