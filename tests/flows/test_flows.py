"""Flow mechanics under a session-scoped Prefect harness: fan-out, retries, artifacts, nightly re-decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flows.conftest import FakeEngine

pytestmark = pytest.mark.flow


@pytest.fixture
def fake_engine(claimflow_env: Path, monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """Replace Engine.open in both flows with a FakeEngine over the tmp inbox."""
    import flows.nightly
    import flows.sweep

    engine = FakeEngine(inbox=claimflow_env)

    class Opener:
        @staticmethod
        def open(settings: object) -> FakeEngine:
            return engine

    monkeypatch.setattr(flows.sweep, "Engine", Opener)
    monkeypatch.setattr(flows.nightly, "Engine", Opener)
    return engine


def drop(inbox: Path, *names: str) -> None:
    for name in names:
        target = inbox / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f"content of {name}".encode())


def latest_artifact(key: str) -> object:
    from prefect.artifacts import Artifact

    artifact = Artifact.get(key)
    assert artifact is not None, key
    return artifact


def test_sweep_processes_each_document_and_publishes_summary(fake_engine: FakeEngine, claimflow_env: Path) -> None:
    from flows.sweep import inbox_sweep

    drop(claimflow_env, "a.pdf", "b.png", "sub dir/c.xlsx")
    summary = inbox_sweep()
    assert sorted(fake_engine.calls) == ["a.pdf", "b.png", "c.xlsx"]
    assert fake_engine.decided == [["CLM-a", "CLM-b", "CLM-c"]]
    assert fake_engine.closed
    assert not [p for p in claimflow_env.rglob("*") if p.is_file()]  # consumed
    assert summary  # the engine's summary comes back as the flow result
    artifact = latest_artifact("claims-batch-summary")
    assert artifact.type == "table"  # type: ignore[attr-defined]
    report = latest_artifact("claims-batch-report")
    assert "Inbox sweep" in str(report.data)  # type: ignore[attr-defined]
    assert "Müller" not in str(artifact.data) + str(report.data)  # type: ignore[attr-defined]
    assert summary["claims_by_route"] == {"settle": 3}


def test_transient_error_is_retried(
    fake_engine: FakeEngine, claimflow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.sweep

    monkeypatch.setattr(
        flows.sweep,
        "process_document_task",
        flows.sweep.process_document_task.with_options(retry_delay_seconds=0),
    )
    fake_engine.transient_failures["a.pdf"] = 2
    drop(claimflow_env, "a.pdf")
    flows.sweep.inbox_sweep()
    assert fake_engine.calls == ["a.pdf", "a.pdf", "a.pdf"]


def test_unexpected_error_is_not_retried_and_fails_the_run_after_the_rest(
    fake_engine: FakeEngine, claimflow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.sweep
    from claimflow.errors import ClaimFlowError

    original = fake_engine.process_file

    def broken(path: Path, *, consume: bool, roots: object = ()) -> object:
        if path.name == "bad.pdf":
            fake_engine.calls.append(path.name)
            raise ValueError("boom")
        return original(path, consume=consume)

    monkeypatch.setattr(fake_engine, "process_file", broken)
    drop(claimflow_env, "bad.pdf", "good.pdf")
    with pytest.raises(ClaimFlowError, match="1 documents failed"):
        flows.sweep.inbox_sweep()
    assert sorted(fake_engine.calls) == ["bad.pdf", "good.pdf"]  # no retry of the bad one
    assert fake_engine.decided == [["CLM-good"]]  # the good document's claim was still decided


def test_long_batch_gets_a_progress_artifact(fake_engine: FakeEngine, claimflow_env: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterType

    from flows.sweep import PROGRESS_MIN_DOCUMENTS, inbox_sweep

    drop(claimflow_env, *(f"doc{i:03}.pdf" for i in range(PROGRESS_MIN_DOCUMENTS)))
    inbox_sweep()
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(type=ArtifactFilterType(any_=["progress"])))
    assert found
    assert max(float(a.data) for a in found) == pytest.approx(100.0)  # type: ignore[arg-type]


def test_nightly_redecides_open_claims(fake_engine: FakeEngine, claimflow_env: Path) -> None:
    from flows.nightly import nightly_batch

    fake_engine.open_ids = ["CLM-old", "CLM-new"]
    drop(claimflow_env, "new.pdf")
    nightly_batch()
    assert fake_engine.decided == [["CLM-new"], ["CLM-old"]]  # the swept claim is not decided twice
    assert latest_artifact("claims-nightly-summary")


@pytest.fixture(scope="module")
def sample_packet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated sample packet (no scans, to keep OCR out of this file) with its ground truth."""
    from claimflow.samples import write_packet

    out = tmp_path_factory.mktemp("samples")
    write_packet(out, scans=False)
    return out


def test_sweep_with_the_real_engine_on_the_sample_packet(
    sample_packet: Path, claimflow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import shutil

    from prefect.artifacts import Artifact

    from flows.sweep import inbox_sweep

    monkeypatch.setenv("CLAIMFLOW_STABLE_SECONDS", "0")
    shutil.copytree(sample_packet / "packet", claimflow_env, dirs_exist_ok=True)
    dropped = [p for p in claimflow_env.rglob("*") if p.is_file() and p.name != "README.md"]
    truths = [json.loads(p.read_text(encoding="utf-8")) for p in (sample_packet / "truth").rglob("*.json")]
    per_file = [t for t in truths if isinstance(t, dict) and "expect_status" in t]
    names = {t["fields"]["claimant_name"] for t in per_file if "claimant_name" in t.get("fields", {})}

    summary = inbox_sweep()

    assert summary["documents"] == len(dropped)
    by_status = summary["documents_by_status"]
    assert isinstance(by_status, dict)
    expected_quarantined = sum(1 for t in per_file if t["expect_status"] == "quarantined")
    assert by_status.get("quarantined", 0) == expected_quarantined
    assert by_status.get("duplicate", 0) == sum(1 for t in per_file if t["expect_status"] == "duplicate")
    assert isinstance(summary["claims"], int) and summary["claims"] > 0
    assert not [p for p in claimflow_env.rglob("*") if p.is_file() and p.name != "README.md"]  # all consumed

    table = Artifact.get("claims-batch-summary")
    report = Artifact.get("claims-batch-report")
    assert table is not None and report is not None
    stored = f"{table.data}{report.data}{table.description}{report.description}"
    assert "stp_rate" in stored
    assert names and not [n for n in names if n in stored]

    from flows.ops import daily_kpi_report, document_reminders, payment_run, review_escalation

    document_reminders()
    review_escalation()
    paid = payment_run()
    kpis = daily_kpi_report()
    assert paid["instructed"] >= 1 and paid["files"]
    assert kpis["status"]["documents"]["quarantined"] == expected_quarantined
    _assert_no_personal_data_in_any_artifact(per_file, sample_packet)


PERSONAL_FIELDS = ("claimant_name", "policy_number", "claim_number", "payee_iban", "amount_claimed",
                   "vehicle_registration", "invoice_number", "total")


def _assert_no_personal_data_in_any_artifact(per_file: list[dict[str, object]], sample_packet: Path) -> None:
    """Every artifact of the run (all keys, all versions): no value of a single claimant from the packet's truth."""
    import json

    from prefect.client.orchestration import get_client

    from flows.supervisor import SUPERVISOR_KEYS

    secrets: set[str] = set()
    for truth in per_file:
        fields = truth.get("fields")
        if isinstance(fields, dict):
            secrets |= {str(fields[k]) for k in PERSONAL_FIELDS if fields.get(k) not in (None, "")}
    expected = json.loads((sample_packet / "truth" / "expected_claims.json").read_text(encoding="utf-8"))
    for claim in expected["claims"]:
        secrets |= {str(claim[k]) for k in ("claim_number", "policy_number", "payout") if claim.get(k)}
    secrets = {s for s in secrets if len(s) >= 5}
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(limit=200)
    keys = {a.key for a in artifacts if a.key}
    assert set(SUPERVISOR_KEYS) <= keys and {"claims-kpi-report", "claims-reminders", "claims-payments"} <= keys
    leaks = [(a.key, s) for a in artifacts for s in secrets if s in f"{a.data}{a.description}"]
    assert secrets and leaks == []


def test_task_results_carry_ids_not_field_values(claimflow_env: Path) -> None:
    from flows.tasks import decide_claims_task, process_document_task

    engine = FakeEngine(inbox=claimflow_env)
    drop(claimflow_env, "a.pdf")
    outcome = process_document_task.fn("a.pdf", engine, claimflow_env)  # type: ignore[arg-type]
    assert outcome.fields == {}
    assert outcome.claim_ids == ["CLM-a"] and outcome.sha256
    [claim] = decide_claims_task.fn(["CLM-a"], engine)  # type: ignore[arg-type]
    assert claim.fields == {} and claim.route == "settle"


def test_only_transient_errors_are_retryable() -> None:
    from prefect.states import Failed

    from claimflow.errors import DocumentError, TransientError
    from flows.tasks import is_transient_failure

    assert is_transient_failure(None, None, Failed(data=TransientError("database is locked")))  # type: ignore[arg-type]
    assert not is_transient_failure(None, None, Failed(data=DocumentError("corrupt")))  # type: ignore[arg-type]
    assert not is_transient_failure(None, None, Failed(data=ValueError("bug")))  # type: ignore[arg-type]
