"""`claimflow up` for real: a real `prefect server start`, the serve process, the first sweep, clean stop."""

from __future__ import annotations

import io
import json
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from claimflow.errors import ConfigError, DependencyError
from claimflow.settings import load_settings
from claimflow.up import (
    UpState,
    child_env,
    format_summary,
    http_json,
    run_up,
    start_workstation,
    stop_child,
    wait_for_workstation,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def claimant_names(samples_dir: Path) -> set[str]:
    """Every claimant name in the generated ground truth (what must never reach Prefect)."""
    names: set[str] = set()
    for truth in samples_dir.rglob("*.json"):
        data = json.loads(truth.read_text(encoding="utf-8"))
        fields = data.get("fields") if isinstance(data, dict) else None
        if isinstance(fields, dict) and isinstance(fields.get("claimant_name"), str):
            names.add(fields["claimant_name"])
    return names


@pytest.mark.server
@pytest.mark.slow
def test_up_starts_server_serves_deployments_and_publishes_first_batch(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox")
    port = free_port()
    seen: dict[str, object] = {}

    def inspect(state: UpState) -> None:
        api = state.api_url
        seen["deployments"] = {d["name"] for d in http_json(f"{api}/deployments/filter", {})}
        seen["completed"] = http_json(
            f"{api}/flow_runs/filter",
            {"flows": {"name": {"any_": ["inbox-sweep"]}}, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
        )
        seen["artifacts"] = http_json(f"{api}/artifacts/latest/filter", {})
        seen["summary_artifact"] = http_json(
            f"{api}/artifacts/latest/filter", {"artifacts": {"key": {"any_": ["claims-batch-summary"]}}}
        )
        seen["children"] = state.children
        with urllib.request.urlopen(f"{state.review_url}/login", timeout=5) as page:  # the review workstation
            seen["workstation"] = page.read().decode()
        # the inbox watcher: a dropped file is taken by an `inbox-arrival` run, not by waiting for the 30 s sweep
        register = settings.home / "samples" / "packet" / "policy_register.xlsx"
        shutil.copyfile(register, settings.inbox / "dropped again.xlsx")
        deadline = time.monotonic() + 90
        arrivals: list[object] = []
        while not arrivals and time.monotonic() < deadline:
            time.sleep(0.5)
            arrivals = http_json(
                f"{api}/flow_runs/filter",
                {
                    "flows": {"name": {"any_": ["inbox-arrival"]}},
                    "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
                },
            )
        seen["arrivals"] = arrivals
        seen["inbox_after"] = [p.name for p in settings.inbox.rglob("*") if p.is_file()]

    out = io.StringIO()
    assert run_up(settings, port=port, samples=True, once=True, out=out, on_ready=inspect) == 0

    assert seen["deployments"] == {
        "inbox-sweep",
        "nightly-batch",
        "document-reminders",
        "review-escalation",
        "payment-run",
        "daily-kpi-report",
        "review-case",
    }
    assert seen["arrivals"] and "dropped again.xlsx" not in seen["inbox_after"]  # type: ignore[operator]
    assert len(seen["completed"]) >= 1  # type: ignore[arg-type]
    [artifact] = seen["summary_artifact"]  # type: ignore[misc]
    assert artifact["type"] == "table"
    stored = json.dumps(seen["artifacts"], ensure_ascii=False)
    assert "claims-batch-report" in stored and "stp_rate" in stored  # the check below is not vacuous
    from flows.supervisor import KPI_REPORT_KEY, SUPERVISOR_KEYS

    assert [key for key in (*SUPERVISOR_KEYS, KPI_REPORT_KEY) if key not in stored] == []
    names = claimant_names(settings.home / "samples" / "truth")
    assert names, "the sample truth should name claimants"
    assert not [name for name in names if name in stored]
    printed = out.getvalue()
    assert f"http://127.0.0.1:{port}" in printed
    assert "stp rate" in printed
    assert "Sign in" in str(seen["workstation"]) and "Review workstation: http://127.0.0.1:" in printed
    assert all(child.process.poll() is not None for child in seen["children"])  # type: ignore[attr-defined]
    with pytest.raises(OSError):  # the server is gone with `up`
        http_json(f"http://127.0.0.1:{port}/api/health", timeout=2.0)


@pytest.mark.slow
def test_workstation_port_taken_after_choosing_it_starts_again_elsewhere(tmp_path: Path) -> None:
    """Another program binds the chosen port before the workstation does (seen when two test runs shared a
    machine: the workstation exited with code 3 and `up` failed); the workstation is started on another port."""
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox")
    env = child_env(settings, free_port())
    log = tmp_path / "web.log"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = int(squatter.getsockname()[1])
        first = start_workstation(env, log, taken)
        children = [first]
        try:
            port = wait_for_workstation(first, taken, env, log, children)
            assert port != taken
            assert first not in children and first.process.poll() is not None
            [second] = children
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as page:
                assert "Sign in" in page.read().decode()
        finally:
            for child in children:
                stop_child(child)


@pytest.mark.slow
def test_workstation_failing_for_another_reason_is_an_error_naming_its_log(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox")
    env = {**child_env(settings, free_port()), "CLAIMFLOW_WEB_PORT": "not-a-port"}
    log = tmp_path / "web.log"
    port = free_port()
    child = start_workstation(env, log, port)
    children = [child]
    try:
        with pytest.raises(DependencyError, match="web.log"):
            wait_for_workstation(child, port, env, log, children)
        assert children == [child]  # not started again: the port was free, so it was not the cause
    finally:
        stop_child(child)


def test_busy_port_is_a_config_error(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", inbox=tmp_path / "inbox")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        with pytest.raises(ConfigError, match=f"port {port} is busy"):
            run_up(settings, port=port, samples=False, once=True, out=io.StringIO())


def test_child_env_points_prefect_at_the_local_server(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", inbox=Path("relative-inbox"), ocr_workers=3)
    env = child_env(settings, 4999, base={"CLAIMFLOW_EXTRA": "kept", "PATH": "/bin"})
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4999/api"
    assert env["PREFECT_HOME"] == str((tmp_path / "home" / "prefect").resolve())
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env["DO_NOT_TRACK"] == "1"
    assert env["CLAIMFLOW_EXTRA"] == "kept"
    assert env["CLAIMFLOW_OCR_WORKERS"] == "3"
    assert Path(env["CLAIMFLOW_INBOX"]).is_absolute()  # children run in the project root


def test_format_summary_shows_counts_routes_and_rate() -> None:
    lines = format_summary(
        {
            "documents": 3,
            "documents_by_status": {"processed": 2, "quarantined": 1},
            "claims_by_route": {"settle": 1, "review": 1},
            "stp_rate": 0.5,
            "top_reasons": [["amount_over_limit", 1]],
        }
    )
    assert "  documents by status: processed 2, quarantined 1" in lines
    assert "  claims by route: settle 1, review 1" in lines
    assert "  stp rate: 50.0%" in lines
    assert "  top reasons: amount_over_limit 1" in lines
