"""`claimflow up`: start the Prefect server, the deployment server and the review workstation; show the first batch.

This module never imports prefect: it runs `python -m prefect server start` and `python -m flows.serve`
as child processes (each in its own process group, so stopping one stops everything it started), talks to
the server over HTTP with urllib, and stops both children on Ctrl-C, SIGTERM, an error or `once=True`.
Child processes never outlive `up`: the children also get SIGTERM from the kernel if `up` dies (Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import yaml

from claimflow.errors import ConfigError, DependencyError, ExitCode
from claimflow.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

SEED_MARKER = ".samples-seeded"
HEALTH_TIMEOUT_SECONDS = 240.0  # measured: over 90 s for a fresh server at load average 12-15 on 2 cores
SUMMARY_TIMEOUT_SECONDS = 900.0
DEPLOYMENTS_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0
WEB_START_ATTEMPTS = 3  # a port taken between choosing it and the workstation binding it: start again elsewhere
POLL_SECONDS = 0.25
PR_SET_PDEATHSIG = 1


class StopRequested(Exception):
    """Raised in the main thread when Ctrl-C (SIGINT) or SIGTERM asks `up` to stop."""


@dataclass
class Child:
    """A child process started by `up`, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class UpState:
    """What `up` has running once the first batch is done (given to the `on_ready` hook)."""

    dashboard_url: str
    api_url: str
    summary: dict[str, object]
    children: list[Child] = field(default_factory=list)
    review_url: str = ""


def dashboard_url(port: int) -> str:
    """Return the dashboard URL of the local server."""
    return f"http://127.0.0.1:{port}"


def api_url(port: int) -> str:
    """Return the REST API URL of the local server."""
    return f"{dashboard_url(port)}/api"


def child_env(settings: Settings, port: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Build the environment of the children: Prefect pointed at the local server, settings as CLAIMFLOW_*."""
    env = dict(os.environ if base is None else base)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, Path):
            value = value.resolve()
        env[f"CLAIMFLOW_{name.upper()}"] = str(value)
    env.update(
        {
            "PREFECT_HOME": str(settings.prefect_home.resolve()),
            "PREFECT_API_URL": api_url(port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def free_or_any_port(port: int) -> int:
    """Return `port` when it is free, else a free port the system picks (logged): a busy default never stops `up`."""
    try:
        ensure_port_free(port)
    except ConfigError:
        chosen = any_free_port()
        logger.warning("port %d is busy; the review workstation uses port %d instead", port, chosen)
        return chosen
    return port


def wait_for_page(child: Child, url: str, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
    """Wait until GET `url` answers with any HTTP status (the workstation is listening)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        ensure_running(child, "starting")
        try:
            with urllib.request.urlopen(url, timeout=2.0):
                return
        except urllib.error.HTTPError:
            return
        except (OSError, ValueError):
            _pause(child)
    raise DependencyError(f"{child.name} did not answer within {timeout:.0f} s; see {child.log_path}")


def start_workstation(env: Mapping[str, str], log_path: Path, port: int) -> Child:
    """Start the review workstation (`claimflow web`) on `port`."""
    command = [sys.executable, "-m", "claimflow.cli", "web", "--port", str(port)]
    return start_child("review workstation", command, env, log_path)


def wait_for_workstation(child: Child, port: int, env: Mapping[str, str], log_path: Path, children: list[Child]) -> int:
    """Wait until the workstation answers; return its port.

    The port was free when chosen, but another program (a second `up`, a test run) may bind it before the
    workstation does; the workstation then exits at start-up. It is started again on a port the system picks
    (logged), at most WEB_START_ATTEMPTS times; a workstation that failed for any other reason is an error naming
    its log file.
    """
    for attempt in range(1, WEB_START_ATTEMPTS + 1):
        try:
            wait_for_page(child, f"http://127.0.0.1:{port}/login")
            return port
        except DependencyError:
            if attempt == WEB_START_ATTEMPTS or child.process.poll() is None or not _port_busy(port):
                raise
        taken, port = port, any_free_port()
        logger.warning("port %d was taken while the review workstation started; it uses port %d instead", taken, port)
        children.remove(child)
        stop_child(child)
        child = start_workstation(env, log_path, port)
        children.append(child)
    raise AssertionError("unreachable")  # pragma: no cover


def any_free_port() -> int:
    """A port on 127.0.0.1 the system reports free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_busy(port: int) -> bool:
    try:
        ensure_port_free(port)
    except ConfigError:
        return True
    return False


def ensure_port_free(port: int) -> None:
    """Raise ConfigError when something already listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a just-closed server's TIME_WAIT is not busy
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(
                f"port {port} is busy (another Prefect server or program); stop it or choose another with --port"
            ) from exc


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM it when `up` dies; a no-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(name: str, command: list[str], env: Mapping[str, str], log_path: Path) -> Child:
    """Start a child in its own process group with stdout and stderr going to its log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    logger.info("started %s (pid %d), log %s", name, process.pid, log_path)
    return Child(name=name, process=process, log_path=log_path)


def stop_child(child: Child, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop a child and its process group: SIGTERM, then SIGKILL after `grace` seconds."""
    if child.process.poll() is not None:
        _kill_group(child, signal.SIGKILL)  # grandchildren may linger after the leader exits
        return
    _kill_group(child, signal.SIGTERM)
    try:
        child.process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("%s did not stop within %.0f s; killing it", child.name, grace)
        _kill_group(child, signal.SIGKILL)
        child.process.wait(timeout=grace)
    else:
        _kill_group(child, signal.SIGKILL)


def _kill_group(child: Child, sig: signal.Signals) -> None:
    """Send a signal to the child's process group (its pid), ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, sig)


def http_json(url: str, payload: object | None = None, timeout: float = 5.0) -> Any:
    """GET (or POST `payload` as JSON to) the URL and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def ensure_running(child: Child, what: str) -> None:
    """Raise DependencyError naming the log file if the child has exited."""
    code = child.process.poll()
    if code is not None:
        raise DependencyError(f"{child.name} exited with code {code} while {what}; see {child.log_path}")


def wait_for_health(server: Child, port: int, timeout: float = HEALTH_TIMEOUT_SECONDS) -> float:
    """Wait until GET /api/health answers; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        ensure_running(server, "starting")
        with contextlib.suppress(OSError, ValueError):
            if http_json(f"{api_url(port)}/health", timeout=2.0) is True:
                return time.monotonic() - started
        _pause(server)
    raise DependencyError(f"the Prefect server did not answer within {timeout:.0f} s; see {server.log_path}")


def wait_for_summary(serve_child: Child, path: Path, timeout: float = SUMMARY_TIMEOUT_SECONDS) -> dict[str, object]:
    """Wait until the first sweep wrote its summary file and return it."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if path.exists():
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise DependencyError(f"the first sweep wrote an unexpected summary; see {serve_child.log_path}")
            return loaded
        ensure_running(serve_child, "running the first sweep")
        _pause(serve_child)
    raise DependencyError(f"the first sweep did not finish within {timeout:.0f} s; see {serve_child.log_path}")


def deployment_names(prefect_yaml: Path = PROJECT_ROOT / "prefect.yaml") -> list[str]:
    """Return the deployment names declared in prefect.yaml."""
    document = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8")) or {}
    return [str(entry["name"]) for entry in document.get("deployments") or []]


def wait_for_deployments(serve_child: Child, port: int, timeout: float = DEPLOYMENTS_TIMEOUT_SECONDS) -> bool:
    """Wait until every prefect.yaml deployment is registered; return False (and log) on timeout."""
    wanted = set(deployment_names())
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        ensure_running(serve_child, "registering deployments")
        with contextlib.suppress(OSError, ValueError):
            found = http_json(f"{api_url(port)}/deployments/filter", {"limit": 200})
            if wanted <= {str(d.get("name")) for d in found}:
                return True
        _pause(serve_child)
    logger.warning("deployments not registered after %.0f s; see %s", timeout, serve_child.log_path)
    return False


def _pause(child: Child) -> None:
    """Wait one poll interval, returning early if the child exits."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.process.wait(timeout=POLL_SECONDS)


def seed_inbox(settings: Settings) -> int:
    """On the first run only, generate the sample packet and copy it into the inbox; return files copied."""
    marker = settings.home / SEED_MARKER
    if marker.exists():
        return 0
    from claimflow.samples import write_packet

    samples_dir = settings.home / "samples"
    write_packet(samples_dir)
    packet = samples_dir / "packet"
    copied = 0
    for source in sorted(packet.rglob("*")):
        if source.is_file():
            target = settings.inbox / source.relative_to(packet)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied += 1
    marker.write_text(f"{copied} sample files copied into the inbox\n", encoding="utf-8")
    return copied


def format_summary(summary: Mapping[str, object]) -> list[str]:
    """Render the batch summary for the terminal: one line per section, rates as percentages."""
    lines: list[str] = []
    for section, value in summary.items():
        label = section.replace("_", " ")
        if isinstance(value, Mapping):
            parts = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
            lines.append(f"  {label}: {parts}")
        elif isinstance(value, list):
            parts = ", ".join(f"{item[0]} {item[1]}" if isinstance(item, list) else str(item) for item in value)
            lines.append(f"  {label}: {parts or 'none'}")
        elif isinstance(value, float) and "rate" in section:
            lines.append(f"  {label}: {value:.1%}")
        else:
            lines.append(f"  {label}: {value}")
    return lines


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into StopRequested in the main thread while `up` runs (no-op elsewhere).

    SIGINT is handled explicitly because a shell that starts `up` in the background sets it to ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise StopRequested(f"signal {signum}")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def start_stack(settings: Settings, port: int, *, samples: bool, children: list[Child]) -> UpState:
    """Start the server and the flow server (appending them to `children`), seed, wait for the first sweep."""
    logs = settings.home / "logs"
    summary_path = settings.home / "run" / "first-sweep.json"
    summary_path.unlink(missing_ok=True)
    env = child_env(settings, port)
    server = start_child(
        "prefect server",
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        {**env, "PREFECT_LOGGING_LEVEL": "WARNING"},
        logs / "prefect-server.log",
    )
    children.append(server)
    if samples:
        logger.info("seeded the inbox with %d sample files", seed_inbox(settings))
    # the flow server imports Prefect while the API starts; it waits for /api/health itself
    serve_child = start_child(
        "flow server",
        [sys.executable, "-m", "flows.serve", "--run-now", "--watch", "--summary-file", str(summary_path.resolve())],
        env,
        logs / "flows-serve.log",
    )
    children.append(serve_child)
    web_port = free_or_any_port(settings.web_port)
    web_child = start_workstation(env, logs / "web.log", web_port)
    children.append(web_child)
    logger.info("prefect server healthy after %.1f s", wait_for_health(server, port))
    web_port = wait_for_workstation(web_child, web_port, env, logs / "web.log", children)
    review = f"http://127.0.0.1:{web_port}"
    summary = wait_for_summary(serve_child, summary_path)
    wait_for_deployments(serve_child, port)
    return UpState(dashboard_url(port), api_url(port), summary, list(children), review)


def run_up(
    settings: Settings,
    *,
    port: int = 4200,
    samples: bool = True,
    once: bool = False,
    out: IO[str] | None = None,
    on_ready: Callable[[UpState], None] | None = None,
) -> int:
    """Start the server and the deployment server, run the first sweep, print the dashboard; return the exit code.

    `once` stops everything right after the first batch (tests, CI); `on_ready` is called while it all runs.
    """
    stream = out if out is not None else sys.stdout
    for folder in (settings.home, settings.inbox, settings.prefect_home):
        folder.mkdir(parents=True, exist_ok=True)
    ensure_port_free(port)
    children: list[Child] = []
    with stop_signals():
        try:
            state = start_stack(settings, port, samples=samples, children=children)
            stream.write(f"ClaimFlow is up. Dashboard: {state.dashboard_url}\n")
            stream.write(f"Review workstation: {state.review_url}\n")
            stream.write("First batch:\n" + "\n".join(format_summary(state.summary)) + "\n")
            if on_ready is not None:
                on_ready(state)
            if once:
                return int(ExitCode.OK)
            stream.write("Press Ctrl-C to stop\n")
            stream.flush()
            return wait_for_exit(children)
        except (KeyboardInterrupt, StopRequested):
            stream.write("Stopping ClaimFlow...\n")
            return int(ExitCode.OK)
        finally:
            stop_all(children)


def stop_all(children: list[Child]) -> None:
    """Stop the children, newest first; a second Ctrl-C or SIGTERM cannot cut the shutdown short."""
    masked = threading.current_thread() is threading.main_thread()
    previous = {}
    if masked:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in reversed(children):
            stop_child(child)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_for_exit(children: list[Child]) -> int:
    """Block until a child exits on its own (an error: they run until stopped); return its failure code."""
    while True:
        for child in children:
            code = child.process.poll()
            if code is not None:
                logger.error("%s exited with code %d; see %s", child.name, code, child.log_path)
                return int(ExitCode.UNEXPECTED)
        _pause(children[0])
