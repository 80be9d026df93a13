"""Fixtures for the review workstation: a claims database with real review tasks and three people."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import INCONSISTENT_CLAIM, LARGE_CLAIM, PASSWORDS, ROLES, Desk

from claimflow.pipeline import Engine
from claimflow.samples import write_packet
from claimflow.settings import load_settings
from claimflow.store.repository import Repository
from claimflow.store.users import add_user


@pytest.fixture(scope="session")
def web_packet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("web-packet")
    write_packet(out, seed=7, scans=False)
    return out


def _documents(packet: Path, claim_ids: list[str]) -> list[Path]:
    claims = json.loads((packet / "truth" / "expected_claims.json").read_text())["claims"]
    chosen = [packet / "packet" / d for c in claims if c["claim_number"] in claim_ids for d in c["documents"]]
    return [packet / "packet" / "policy_register.xlsx", *chosen]


def _personal(packet: Path, documents: list[Path]) -> list[str]:
    values: set[str] = set()
    for doc in documents:
        truth = packet / "truth" / (str(doc.relative_to(packet / "packet")) + ".json")
        fields = json.loads(truth.read_text()).get("fields", {}) if truth.exists() else {}
        for name in ("claimant_name", "policy_number", "payee_iban", "vehicle_registration"):
            if isinstance(fields.get(name), str) and fields[name]:
                values.add(fields[name])
    return sorted(values)


@pytest.fixture(scope="session")
def processed_home(tmp_path_factory: pytest.TempPathFactory, web_packet: Path) -> tuple[Path, list[str]]:
    """Process the register and the two claims once; each test gets a copy of this home."""
    home = tmp_path_factory.mktemp("web-home") / "home"
    settings = load_settings(home=home, inbox=home.parent / "inbox", stable_seconds=0)
    documents = _documents(web_packet, [LARGE_CLAIM, INCONSISTENT_CLAIM])
    with Engine.open(settings) as engine:
        engine.run(documents, consume=False)
    repo = Repository.open(settings.db_url)
    for name, role in ROLES.items():
        add_user(repo, name, role, PASSWORDS[name])
    repo.close()
    return home, _personal(web_packet, documents)


@pytest.fixture
def desk(tmp_path: Path, processed_home: tuple[Path, list[str]]) -> Iterator[Desk]:
    source, personal = processed_home
    home = tmp_path / "home"
    shutil.copytree(source, home)
    secret = "test-secret-not-for-use"
    settings = load_settings(home=home, inbox=tmp_path / "inbox", stable_seconds=0, web_secret=secret)
    repo = Repository.open(settings.db_url)
    tasks = {t.claim_id: t.id or 0 for t in repo.open_reviews()}
    assert {LARGE_CLAIM, INCONSISTENT_CLAIM} <= set(tasks), tasks
    try:
        yield Desk(settings, repo, tasks, personal)
    finally:
        repo.close()
