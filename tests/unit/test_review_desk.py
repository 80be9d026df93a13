"""The one review code path: identities from accounts, one-time codes for the Prefect UI, roles and four eyes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from claimflow.cli import main
from claimflow.review_desk import (
    MAX_CODE_FAILURES,
    ActionForm,
    Identity,
    answer_with_code,
    identity_of,
    issue_review_code,
    normalise_code,
    redeem_review_code,
)
from claimflow.routing import ReviewActionError
from claimflow.store.repository import Repository
from claimflow.store.tables import ClaimRow, PolicyRow, ReviewTaskRow
from claimflow.store.users import ReviewCodeRow, Role, add_user, set_active

LIMIT = Decimal("10000")


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    repository = Repository.open(f"sqlite:///{tmp_path / 'claimflow.db'}")
    with repository.transaction() as s:
        s.add(PolicyRow(policy_number="POL-9", status="active", limit_amount="50000", deductible="0", currency="EUR"))
        s.add(ClaimRow(claim_id="BIG", claim_type="motor", source="documents", status="in_review",
                       policy_number="POL-9", currency="EUR", amount_claimed="12000"))
        s.flush()
        s.add(ReviewTaskRow(claim_id="BIG", queue="claims"))
    add_user(repository, "alice", Role.REVIEWER, "alice's long password")
    add_user(repository, "bob", Role.SENIOR, "bob's long password")
    add_user(repository, "dave", Role.REVIEWER, None)
    yield repository
    repository.close()


def _approve(payout: str = "12000") -> ActionForm:
    return ActionForm("approve", payout=payout)


def test_identity_comes_from_an_active_account(repo: Repository) -> None:
    assert identity_of(repo, " Alice ") == Identity("alice", Role.REVIEWER)
    with pytest.raises(ReviewActionError, match="account 'zed' does not exist"):
        identity_of(repo, "zed")
    set_active(repo, "bob", False)
    with pytest.raises(ReviewActionError, match="account 'bob' is deactivated"):
        identity_of(repo, "bob")


def test_a_code_works_once_for_its_own_account(repo: Repository) -> None:
    code = issue_review_code(repo, Identity("alice", Role.REVIEWER))
    assert len(normalise_code(code)) == 10 and "-" in code
    with pytest.raises(ReviewActionError, match="wrong, used or expired"):
        redeem_review_code(repo, "bob", code, used_for="test")  # somebody else's code
    assert redeem_review_code(repo, "alice", code.lower().replace("-", " "), used_for="t1").name == "alice"
    with pytest.raises(ReviewActionError, match="wrong, used or expired"):
        redeem_review_code(repo, "alice", code, used_for="t2")  # used up
    with repo.reading() as s:
        stored = list(s.exec(select(ReviewCodeRow)))
    assert [r.used_for for r in stored] == ["t1"] and normalise_code(code) not in stored[0].code_hash


def test_an_expired_code_is_refused(repo: Repository) -> None:
    code = issue_review_code(repo, Identity("alice", Role.REVIEWER), minutes=0)
    with pytest.raises(ReviewActionError, match="wrong, used or expired"):
        redeem_review_code(repo, "alice", code, used_for="late")


def test_wrong_guesses_revoke_the_open_codes(repo: Repository) -> None:
    code = issue_review_code(repo, Identity("alice", Role.REVIEWER))
    for _ in range(MAX_CODE_FAILURES):
        with pytest.raises(ReviewActionError):
            redeem_review_code(repo, "alice", "AAAAA-AAAAA", used_for="guess")
    with pytest.raises(ReviewActionError, match="wrong, used or expired"):
        redeem_review_code(repo, "alice", code, used_for="too late")
    actions = [e.action for e in repo.audit_events("user", "alice")]
    assert actions.count("review_code_rejected") == MAX_CODE_FAILURES + 1


def test_the_prefect_door_applies_roles_and_four_eyes_like_the_others(repo: Repository) -> None:
    alice = issue_review_code(repo, Identity("alice", Role.REVIEWER))
    first = answer_with_code(repo, 1, reviewer="alice", code=alice, form=_approve(), authority_limit=LIMIT,
                             used_for="run-a")
    assert first.pending_approval and "second, different reviewer" in first.pending_approval
    dave = issue_review_code(repo, Identity("dave", Role.REVIEWER))
    with pytest.raises(ReviewActionError, match="needs a senior or a supervisor"):
        answer_with_code(repo, 1, reviewer="dave", code=dave, form=_approve(), authority_limit=LIMIT,
                         used_for="run-b")
    bob = issue_review_code(repo, Identity("bob", Role.SENIOR))
    with pytest.raises(ReviewActionError, match="not an amount"):
        answer_with_code(repo, 1, reviewer="bob", code=bob, form=_approve("12.000,00"), authority_limit=LIMIT,
                         used_for="run-c")
    bob = issue_review_code(repo, Identity("bob", Role.SENIOR))
    done = answer_with_code(repo, 1, reviewer="bob", code=bob, form=_approve(), authority_limit=LIMIT,
                            used_for="run-d")
    assert (done.status, done.payout) == ("settled", Decimal("12000.00"))
    assert [(e.actor, e.action) for e in repo.audit_events("claim", "BIG")] == [
        ("alice", "review_approve_pending"),
        ("bob", "review_approve"),
    ]


def test_cli_code_needs_the_password(repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("CLAIMFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'claimflow.db'}")
    wrong = CliRunner().invoke(main, ["users", "code", "alice"], input="not it\n")
    assert wrong.exit_code != 0 and "no code issued" in wrong.stderr
    right = CliRunner().invoke(main, ["users", "code", "alice"], input="alice's long password\n")
    assert right.exit_code == 0, right.stderr
    code = right.stdout.split()[0]
    assert redeem_review_code(repo, "alice", code, used_for="cli").name == "alice"
