"""Serve the deployments of prefect.yaml from one long-running process (`python -m flows.serve`).

prefect.yaml is the single source of deployments and schedules: this module reads it and turns each
entry into `flow.to_deployment(...)` for `prefect.serve`. With `--run-now` it first runs the inbox
sweep once in this process, so the dashboard shows a completed run and the batch summary at once, and
writes the summary as JSON to `--summary-file` (how `claimflow up` knows the first batch is done).
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from prefect import Flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule
from prefect.settings import PREFECT_API_URL

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"
API_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule entry of a prefect.yaml deployment (cron or interval seconds)."""

    cron: str | None = None
    interval: float | None = None
    timezone: str | None = None
    active: bool = True


@dataclass(frozen=True)
class DeploymentSpec:
    """The parts of a prefect.yaml deployment that `serve` needs."""

    name: str
    entrypoint: str
    schedules: list[ScheduleSpec] = field(default_factory=list)
    concurrency_limit: int | None = None
    collision_strategy: str | None = None  # ENQUEUE (Prefect's default) or CANCEL_NEW
    tags: list[str] = field(default_factory=list)
    description: str | None = None


def load_deployment_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """Read the deployments of prefect.yaml; a malformed entry raises ValueError naming it."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    specs: list[DeploymentSpec] = []
    for index, entry in enumerate(document.get("deployments") or []):
        if not isinstance(entry, dict) or "name" not in entry or "entrypoint" not in entry:
            raise ValueError(f"{path}: deployments[{index}] needs a name and an entrypoint")
        if entry.get("parameters"):
            raise ValueError(f"{path}: deployment {entry['name']!r} must not set parameters (settings come from env)")
        schedules = [parse_schedule(path, entry["name"], raw) for raw in entry.get("schedules") or []]
        limit, strategy = parse_concurrency(path, entry["name"], entry.get("concurrency_limit"))
        specs.append(
            DeploymentSpec(
                name=str(entry["name"]),
                entrypoint=str(entry["entrypoint"]),
                schedules=schedules,
                concurrency_limit=limit,
                collision_strategy=strategy,
                tags=[str(tag) for tag in entry.get("tags") or []],
                description=entry.get("description"),
            )
        )
    return specs


def parse_concurrency(path: Path, name: str, raw: Any) -> tuple[int | None, str | None]:
    """Read `concurrency_limit`: a number, or `{limit: N, collision_strategy: ENQUEUE | CANCEL_NEW}`.

    These are prefect.yaml's own two forms, so `prefect deploy` reads the same file the same way.
    """
    if raw is None or (isinstance(raw, int) and not isinstance(raw, bool) and raw > 0):
        return raw, None
    strategies = [s.value for s in ConcurrencyLimitStrategy]
    if isinstance(raw, dict) and isinstance(raw.get("limit"), int) and raw["limit"] > 0:
        strategy = raw.get("collision_strategy")
        if strategy is None or strategy in strategies:
            return raw["limit"], strategy
    raise ValueError(
        f"{path}: deployment {name!r}: concurrency_limit must be a positive number or"
        f" {{limit: N, collision_strategy: {' | '.join(strategies)}}}, not {raw!r}"
    )


def parse_schedule(path: Path, name: str, raw: Any) -> ScheduleSpec:
    """Turn one raw schedule mapping into a ScheduleSpec (exactly one of cron or interval)."""
    if not isinstance(raw, dict) or ("cron" in raw) == ("interval" in raw):
        raise ValueError(f"{path}: deployment {name!r}: each schedule needs exactly one of cron or interval")
    interval = raw.get("interval")
    return ScheduleSpec(
        cron=raw.get("cron"),
        interval=float(interval) if interval is not None else None,
        timezone=raw.get("timezone"),
        active=bool(raw.get("active", True)),
    )


def load_flow(entrypoint: str) -> Flow[Any, Any]:
    """Import the flow an entrypoint (`flows/sweep.py:inbox_sweep`) points at."""
    file_part, _, attribute = entrypoint.partition(":")
    module_name = file_part.removesuffix(".py").replace("/", ".")
    loaded = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(loaded, Flow):
        raise TypeError(f"entrypoint {entrypoint!r} is not a Prefect flow")
    return loaded


def to_schedule(spec: ScheduleSpec) -> Schedule:
    """Build the Prefect schedule for one ScheduleSpec."""
    if spec.cron is not None:
        return Cron(spec.cron, timezone=spec.timezone, active=spec.active)
    if spec.interval is None:
        raise ValueError("a schedule needs cron or interval")
    return Interval(spec.interval, timezone=spec.timezone, active=spec.active)


def build_deployments(specs: Sequence[DeploymentSpec]) -> list[RunnerDeployment]:
    """Turn deployment specs into runner deployments for `prefect.serve`."""
    deployments = []
    for spec in specs:
        deployment = load_flow(spec.entrypoint).to_deployment(
            name=spec.name,
            schedules=[to_schedule(s) for s in spec.schedules],
            concurrency_limit=(
                ConcurrencyLimitConfig(
                    limit=spec.concurrency_limit, collision_strategy=ConcurrencyLimitStrategy(spec.collision_strategy)
                )
                if spec.concurrency_limit is not None and spec.collision_strategy is not None
                else spec.concurrency_limit
            ),
            tags=spec.tags,
            description=spec.description,
        )
        deployments.append(cast(RunnerDeployment, deployment))  # sync call: never a coroutine here
    return deployments


def write_summary(summary: dict[str, object], path: Path) -> None:
    """Write the summary JSON atomically, so a watcher never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    partial.replace(path)


def wait_for_api(timeout: float = API_WAIT_SECONDS) -> None:
    """Wait until the Prefect API answers its health check, so this process may start before the server is up."""
    url = str(PREFECT_API_URL.value() or "")
    if not url:
        return  # no server configured: Prefect uses a temporary one of its own
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=2.0):
                return  # any 2xx: non-2xx answers raise HTTPError, an OSError
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.25)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line of `python -m flows.serve`."""
    parser = argparse.ArgumentParser(prog="python -m flows.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--run-now", action="store_true", help="run the inbox sweep once before serving")
    parser.add_argument("--summary-file", type=Path, help="where --run-now writes its summary as JSON")
    parser.add_argument("--prefect-yaml", type=Path, default=PREFECT_YAML, help="deployments file")
    parser.add_argument("--watch", action="store_true", help="watch the inbox and decide landed files at once")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Optionally run one sweep now, then serve every prefect.yaml deployment until SIGINT/SIGTERM."""
    args = parse_args(argv)
    deployments = build_deployments(load_deployment_specs(args.prefect_yaml))
    wait_for_api()
    if args.run_now:
        from flows.ops import daily_kpi_report
        from flows.sweep import inbox_sweep

        summary = inbox_sweep()
        daily_kpi_report()  # every supervisor artifact is on the dashboard from the start
        if args.summary_file is not None:
            write_summary(summary, args.summary_file)
    stops: list[Callable[[], None]] = []
    if args.watch:
        from claimflow.settings import load_settings
        from flows.watch import start_watcher

        stops.append(start_watcher(load_settings()).stop)
    try:
        serve(*deployments, pause_on_shutdown=False, print_starting_message=False)
    finally:
        for stop in stops:
            stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
