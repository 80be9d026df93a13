"""The whole chain on the generated packet and on real documents: idempotency, crash recovery, routing, review."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from claimflow import pipeline as pipeline_module
from claimflow.assemble import REQUIRED_FIELDS
from claimflow.pipeline import Engine, ocr_models
from claimflow.readers.ocr import TesseractOcr
from claimflow.routing import ReviewActionError, review_action
from claimflow.samples import write_packet
from claimflow.settings import load_settings
from claimflow.store.repository import Repository

REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs"


@pytest.fixture(scope="session")
def text_packet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packet")
    write_packet(out, seed=7, scans=False)
    return out


def _engine(tmp_path: Path, **overrides: object) -> Engine:
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox", stable_seconds=0, **overrides)
    return Engine.open(settings)


def _snapshot(repo: Repository) -> dict[str, object]:
    return {
        "counts": repo.counts(),
        "audit": len(repo.audit_events()),
        "decisions": [len(repo.decisions(c.claim_id)) for c in repo.claims()],
    }


def test_packet_routes_claims_and_a_second_run_changes_nothing(tmp_path: Path, text_packet: Path) -> None:
    truth = json.loads((text_packet / "truth" / "expected_claims.json").read_text())["claims"]
    with _engine(tmp_path) as engine:
        first = engine.run([text_packet / "packet"], consume=False)
        routes = {c.claim_id: c for c in first.claims}
        complete = [e for e in truth if all((text_packet / "packet" / d).exists() for d in e["documents"])]
        assert len(complete) >= 12
        for expected in complete:  # every claim whose documents are all text PDFs: route and payout exact
            got = routes[expected["claim_number"]]
            assert got.route == expected["route"], (expected, got.reasons)
            if got.route == "settle":
                assert got.payout == Decimal(expected["payout"])
        assert not [
            c
            for c in first.claims
            if c.route == "settle" and c.claim_id not in {e["claim_number"] for e in truth if e["route"] == "settle"}
        ]
        for claim in first.claims:  # never settled on a required field below the threshold
            if claim.route == "settle":
                required = REQUIRED_FIELDS["motor_claim_form"]
                assert all(claim.fields[n]["confidence"] >= engine.settings.confidence_threshold for n in required)
        before = _snapshot(engine.repo)
        second = engine.run([text_packet / "packet"], consume=False)
        assert {d.status for d in second.documents} == {"duplicate"}
        assert second.claims == []
        assert _snapshot(engine.repo) == before
        assert engine.repo.verify_audit() == []


def test_bad_files_are_quarantined_with_reasons_and_kept(tmp_path: Path, text_packet: Path) -> None:
    with _engine(tmp_path) as engine:
        result = engine.run([text_packet / "packet" / "bad"], consume=False)
        quarantine = engine.settings.quarantine_dir
    by_name = {Path(d.file).name: d for d in result.documents}
    expected = {
        "empty.pdf": "empty_file",
        "notes.docx": "unsupported_type",
        "damage_photo.pdf": "extension_mismatch",
        "claim_protected.pdf": "pdf_encrypted",
        "claim_form_part.pdf": "pdf_corrupt",
    }
    for name, code in expected.items():
        assert by_name[name].status == "quarantined", name
        assert by_name[name].reason_code == code, (name, by_name[name].reason)
        assert by_name[name].reason and name in by_name[name].reason or code == "empty_file"
    reasons = list(quarantine.glob("*.reason.json"))
    assert len(reasons) == len(expected)


def test_a_crash_after_intake_is_resumed_once(
    tmp_path: Path, text_packet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(text_packet / "packet" / "forms", inbox)
    calls = {"n": 0}
    real_read = pipeline_module.read_document

    def crashing_read(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("power cut")  # BaseException: nothing catches it, like a kill
        return real_read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline_module, "read_document", crashing_read)
    settings = load_settings(home=tmp_path / "home", inbox=inbox, stable_seconds=0, ocr_workers=1)
    with Engine.open(settings) as engine, pytest.raises(KeyboardInterrupt):
        engine.run([inbox], consume=True)
    monkeypatch.setattr(pipeline_module, "read_document", real_read)
    with Engine.open(settings) as engine:
        engine.run([inbox], consume=True)
        rows = engine.repo.counts()["documents"]
    assert list(inbox.iterdir()) == []
    assert rows == {"processed": 14}  # 12 text forms + 2 AcroForms, each exactly once


@pytest.mark.slow
def test_a_killed_process_run_loses_and_doubles_nothing(tmp_path: Path, text_packet: Path) -> None:
    inbox = tmp_path / "inbox"
    for sub in ("forms", "invoices"):
        shutil.copytree(text_packet / "packet" / sub, inbox / sub)
    shutil.copy(text_packet / "packet" / "policy_register.xlsx", inbox)
    n_files = sum(1 for p in inbox.rglob("*") if p.is_file())
    env = {
        **os.environ,
        "CLAIMFLOW_HOME": str(tmp_path / "home"),
        "CLAIMFLOW_STABLE_SECONDS": "0",
        "CLAIMFLOW_OCR_WORKERS": "1",
    }
    cmd = [sys.executable, "-m", "claimflow.cli", "process", str(inbox), "--consume", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "home" / "claimflow.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once some, but not all, files are taken
        left = sum(1 for p in inbox.rglob("*") if p.is_file())
        if db.exists() and 0 < left < n_files - 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    repo = Repository.open(f"sqlite:///{db}")
    counts = repo.counts()
    assert sum(counts["documents"].values()) == n_files, counts
    assert set(counts["documents"]) == {"processed"}
    assert not any(p.is_file() for p in inbox.rglob("*"))
    with repo.reading() as s:
        settlements = s.exec(__import__("sqlmodel").text("SELECT claim_id, count(*) FROM settlement GROUP BY claim_id"))
        assert all(n == 1 for _, n in settlements)
    assert repo.verify_audit() == []


def test_review_actions_are_guarded_and_audited(tmp_path: Path, text_packet: Path) -> None:
    with _engine(tmp_path) as engine:
        engine.run([text_packet / "packet"], consume=False)
        tasks = engine.repo.open_reviews()
        claims = {c.claim_id: c for c in engine.repo.claims()}
        task = next(
            t
            for t in tasks
            if claims[t.claim_id].policy_number
            and engine.repo.policy_count()
            and claims[t.claim_id].source == "documents"
            and "policy_not_found" not in t.reasons_json
        )
        with pytest.raises(ReviewActionError, match="outside"):
            review_action(engine.repo, task.id or 0, reviewer="alice", action="approve", payout="99999999")
        with pytest.raises(ReviewActionError, match="reason"):
            review_action(engine.repo, task.id or 0, reviewer="alice", action="reject")
        outcome = review_action(engine.repo, task.id or 0, reviewer="alice", action="approve", payout="100.00")
        assert outcome.status == "settled" and outcome.payout == Decimal("100.00")
        with pytest.raises(ReviewActionError, match="not open"):
            review_action(engine.repo, task.id or 0, reviewer="bob", action="approve", payout="100.00")
        events = engine.repo.audit_events("claim", task.claim_id)
        assert events[-1].actor == "alice" and events[-1].action == "review_approve"
        # new documents never re-decide a claim a person has settled
        again = engine.decide_claims([task.claim_id])
        assert again[0].status == "settled" and len(engine.repo.decisions(task.claim_id)) == 2


@pytest.mark.skipif(not REALDOCS.exists(), reason="../shared/realdocs is part of the checkout layout")
def test_real_bordereau_rows_become_claims_with_routes(tmp_path: Path) -> None:
    with _engine(tmp_path) as engine:
        result = engine.run([REALDOCS / "auto_insurance_claims" / "insurance_claims_dev.csv"], consume=False)
    assert len(result.claims) == 500
    assert all(c.route in {"settle", "review", "request_documents"} for c in result.claims)
    assert not [c for c in result.claims if c.route == "settle"]  # no policy register loaded: nobody is paid


@pytest.mark.ocr
@pytest.mark.skipif(not REALDOCS.exists(), reason="../shared/realdocs is part of the checkout layout")
def test_real_cms1500_forms(tmp_path: Path) -> None:
    with _engine(tmp_path) as engine:
        result = engine.run([REALDOCS / "cms1500"], consume=False)
    docs = {Path(d.file).name: d for d in result.documents}
    filled = docs["cms1500_filled_sample.pdf"]
    assert filled.document_type == "cms1500"
    assert filled.fields["patient_name"]["value"].lower().startswith("salemy")
    assert filled.fields["total_charge"]["value"] == "396.90"
    assert len(filled.fields["service_lines"]["value"]) >= 4
    blank = docs["hcfa1500_blank.pdf"]
    assert blank.fields == {}
    blank_claims = [c for c in result.claims if set(c.documents) == {blank.document_id}]
    assert blank_claims and all(c.route != "settle" for c in blank_claims)


def test_a_full_qa_sample_holds_every_settlement_for_quality_review(tmp_path: Path, text_packet: Path) -> None:
    from claimflow.replay import replay_all

    truth = json.loads((text_packet / "truth" / "expected_claims.json").read_text())["claims"]
    settle = {e["claim_number"]: e["payout"] for e in truth if e["route"] == "settle"}
    with _engine(tmp_path, qa_sample_rate=1.0) as engine:
        result = engine.run([text_packet / "packet"], consume=False)
        held = {c.claim_id: c for c in result.claims if "qa_sample" in [r.code for r in c.reasons]}
        assert held and set(held) <= set(settle)
        assert not [c for c in result.claims if c.route == "settle"]  # nothing is paid unseen
        tasks = {t.claim_id: t for t in engine.repo.open_reviews()}
        for claim_id, outcome in held.items():
            assert outcome.route == "review" and tasks[claim_id].queue == "quality_review"
            assert f"the rules would settle {settle[claim_id]}" in outcome.reasons[-1].message
        replays = replay_all(engine.repo, engine.settings.rules)
        assert replays and all(r.reproduced for r in replays), [r.differences for r in replays if not r.reproduced]


def test_a_long_running_engine_loads_the_models_its_specs_name_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[tuple[str, int]] = []
    last: list[str] = []
    done = threading.Event()

    def fill(self: object, language: str, copies: int) -> int:
        loaded.append((language, copies))
        if language in last:
            done.set()
        return copies

    monkeypatch.setattr("claimflow.readers.tessapi.ApiPool.fill", fill)
    engine = _engine(tmp_path)  # a CLI command's engine loads nothing ahead
    assert loaded == []
    models = ocr_models(engine.specs)
    last.append(models[-1])
    assert models[:2] == ["eng", "osd"] and {"chi_sim", "deu", "tur", "HanS"} <= set(models)
    assert len(models) == len(set(models))
    engine.close()
    if not isinstance(engine.ocr, TesseractOcr) or engine.ocr.backend != "api":
        pytest.skip("the in-process tesseract library is not available")
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox", stable_seconds=0)
    with Engine.open(settings, preload=True):
        assert done.wait(10)  # loaded in the background; the engine was returned before
    assert ("eng", 2) in loaded and ("chi_sim", 2) in loaded


def test_second_looks_are_gated_apart_from_the_accept_threshold(
    tmp_path: Path, text_packet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lowering the auto-accept threshold changes which fields are accepted, never which are read again."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sorted((text_packet / "packet" / "forms").iterdir())[0], inbox)
    gates: list[float] = []
    real = pipeline_module.read_and_extract

    def recording(*args: object, threshold: float, **kwargs: object) -> object:
        gates.append(threshold)
        return real(*args, threshold=threshold, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline_module, "read_and_extract", recording)
    with _engine(tmp_path, confidence_threshold=0.9) as engine:
        assert engine.settings.look_threshold == 0.99
        engine.run([inbox], consume=False)
    # above the second-look line, the accept threshold is the gate: no field it would hold goes unread again
    assert load_settings(confidence_threshold=0.995, second_look_threshold=0.99).look_threshold == 0.995
    assert load_settings(confidence_threshold=0.98, second_look_threshold=0.97).look_threshold == 0.98
    assert gates == [0.99]
