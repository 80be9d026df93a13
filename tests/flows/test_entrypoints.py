"""Smoke tests of prefect.yaml: every entrypoint imports, schedules and limits are what operations expect."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from flows.serve import PREFECT_YAML, build_deployments, load_deployment_specs, load_flow

DEPLOYMENTS = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))["deployments"]


@pytest.mark.parametrize("entry", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_entrypoint_imports_a_flow_in_flows_package(entry: dict[str, object]) -> None:
    entrypoint = str(entry["entrypoint"])
    assert entrypoint.startswith("flows/")
    flow = load_flow(entrypoint)
    assert flow.name == entry["name"]
    assert not entry.get("parameters")  # settings come from CLAIMFLOW_*; parameters are stored verbatim
    # one run at a time, except the on-demand review form: one waiting run per case, and no deployment limit
    # (prefect 3.9.1 releases the slot when a run pauses, then kills the paused run at its lease renewal)
    limit = entry.get("concurrency_limit")
    if isinstance(limit, dict):
        limit = limit["limit"]
    assert limit == (None if entry["name"] == "review-case" else 1)
    assert entry["work_pool"]["name"] == "claimflow"  # type: ignore[index]


def test_schedules_are_built_from_prefect_yaml() -> None:
    deployments = {d.name: d for d in build_deployments(load_deployment_specs())}
    assert set(deployments) == {
        "inbox-sweep",
        "nightly-batch",
        "document-reminders",
        "review-escalation",
        "payment-run",
        "daily-kpi-report",
        "review-case",
    }
    on_demand = deployments.pop("review-case")
    assert not on_demand.schedules and on_demand.concurrency_limit is None

    sweep = deployments["inbox-sweep"].schedules[0].schedule
    assert sweep.interval == timedelta(seconds=30)  # type: ignore[union-attr]

    nightly = deployments["nightly-batch"].schedules[0].schedule
    assert nightly.cron == "0 2 * * *"  # type: ignore[union-attr]
    assert nightly.timezone == "Europe/Berlin"  # type: ignore[union-attr]
    reminders = deployments["document-reminders"].schedules[0].schedule
    assert reminders.timezone == "Europe/Berlin"  # type: ignore[union-attr]
    assert all(d.concurrency_limit == 1 for d in deployments.values())
    # an overdue sweep is cancelled, not queued behind a running one (no AwaitingConcurrencySlot pile-up) ...
    sweep_options = deployments["inbox-sweep"].concurrency_options
    assert sweep_options is not None and sweep_options.collision_strategy.value == "CANCEL_NEW"
    # ... while the nightly batch, which must not be skipped, keeps Prefect's default (wait for the slot)
    nightly_options = deployments["nightly-batch"].concurrency_options
    assert nightly_options is None or nightly_options.collision_strategy.value == "ENQUEUE"
    assert all(d.schedules for d in deployments.values())
    assert all(d.entrypoint is not None and d.entrypoint.startswith("flows/") for d in deployments.values())


@pytest.mark.parametrize(
    "limit", ["0", "two", "{limit: 1, collision_strategy: DROP}", "{collision_strategy: CANCEL_NEW}"]
)
def test_malformed_concurrency_limit_is_refused_naming_the_deployment(tmp_path: Path, limit: str) -> None:
    bad = tmp_path / "prefect.yaml"
    bad.write_text(
        f"deployments:\n- name: inbox-sweep\n  entrypoint: flows/sweep.py:inbox_sweep\n  concurrency_limit: {limit}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="'inbox-sweep': concurrency_limit must be"):
        load_deployment_specs(bad)


def test_malformed_schedule_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "prefect.yaml"
    bad.write_text(
        "deployments:\n- name: x\n  entrypoint: flows/sweep.py:inbox_sweep\n"
        "  schedules:\n  - {cron: '0 2 * * *', interval: 30}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="exactly one of cron or interval"):
        load_deployment_specs(bad)


def test_parameters_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "prefect.yaml"
    bad.write_text(
        "deployments:\n- name: x\n  entrypoint: flows/sweep.py:inbox_sweep\n  parameters: {inbox: /data}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="must not set parameters"):
        load_deployment_specs(bad)


def test_claimflow_up_does_not_import_prefect() -> None:
    code = "import sys, claimflow, claimflow.up; sys.exit(1 if 'prefect' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
