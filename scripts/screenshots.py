"""Screenshots of the Prefect dashboard after `claimflow up` on the sample packet, for the README (docs/img/).

Starts `claimflow up` on a fresh CLAIMFLOW_HOME and inbox (its own ports), waits for the first batch, starts
one `review-case` run on an open review task and waits until it is paused on its form, then drives headless
Chromium over the DevTools protocol (the helper of the workstation's browser test, tests/web/chromium_cdp.py)
through the Prefect UI: dashboard, deployments, flow runs, the first sweep's run, the artifacts list, two
artifacts, and the paused review run with its Resume form. Each page is waited for until the text it must show
is on screen, then saved as a palette PNG (1280x800, well under 300 KB). Stops everything it started.

    uv run python scripts/screenshots.py [--port 4391] [--out docs/img] [--keep]
    CLAIMFLOW_HOME=... uv run python scripts/screenshots.py --attach http://127.0.0.1:4200   (a running up)
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "tests" / "web"))
from chromium_cdp import Browser  # noqa: E402 - the test helper, found through the path above

WIDTH, HEIGHT = 1280, 800
UP_TIMEOUT_SECONDS = 1500.0
PAGE_TIMEOUT_SECONDS = 90.0
MAX_BYTES = 300_000


def api(base: str, path: str, payload: object | None = None, attempts: int = 10) -> Any:
    """Call the Prefect REST API (POST when there is a payload) and return the JSON answer.

    A busy SQLite database makes the server answer 503 (Prefect's own client retries those too): retried.
    """
    data = json.dumps(payload).encode() if payload is not None else None
    for attempt in range(attempts):
        request = urllib.request.Request(f"{base}/api{path}", data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code not in (429, 503) or attempt == attempts - 1:
                raise
        time.sleep(min(2.0 * (attempt + 1), 10.0))
    raise AssertionError("unreachable")


def flow_runs(base: str, flow_name: str) -> list[dict[str, Any]]:
    """Return the flow runs of one flow, newest first."""
    flows = api(base, "/flows/filter", {"flows": {"name": {"any_": [flow_name]}}})
    if not flows:
        return []
    query = {"flows": {"id": {"any_": [flows[0]["id"]]}}, "sort": "START_TIME_DESC"}
    return list(api(base, "/flow_runs/filter", query))


def start_review_run(base: str, home: Path) -> str | None:
    """Start a review-case run on the first open review task; return its flow run id (None: no open task)."""
    os.environ["CLAIMFLOW_HOME"] = str(home)
    from claimflow.settings import load_settings
    from claimflow.store.repository import Repository

    with Repository.open(load_settings().db_url) as repo:
        tasks = repo.open_reviews()
    if not tasks:
        return None
    deployments = api(base, "/deployments/filter", {"deployments": {"name": {"any_": ["review-case"]}}})
    run = api(
        base,
        f"/deployments/{deployments[0]['id']}/create_flow_run",
        {"parameters": {"task_id": tasks[0].id, "wait_minutes": 30}},
    )
    return str(run["id"])


def wait_paused(base: str, run_id: str, timeout: float = 240.0) -> None:
    """Wait until the flow run is paused on its form (the flow server picks it up at its next poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api(base, f"/flow_runs/{run_id}")["state"] or {}
        if state.get("type") == "PAUSED":
            return
        time.sleep(1.0)
    raise TimeoutError(f"the review-case run {run_id} was not paused within {timeout:.0f} s")


def wait_for_text(browser: Browser, *texts: str, timeout: float = PAGE_TIMEOUT_SECONDS) -> None:
    """Wait until every text is in the rendered page (the Prefect UI renders after load, from its API)."""
    deadline = time.monotonic() + timeout
    probe = "document.body ? document.body.innerText : ''"
    while time.monotonic() < deadline:
        shown = str(browser.evaluate(probe) or "")
        if all(t.lower() in shown.lower() for t in texts):
            time.sleep(2.5)  # charts and badges finish drawing
            return
        time.sleep(0.5)
    where = str(browser.evaluate("location.href"))
    shown = str(browser.evaluate(probe) or "")[:2000]
    raise TimeoutError(f"{where}: {texts} not shown within {timeout:.0f} s; the page shows:\n{shown}")


def save_png(browser: Browser, path: Path) -> int:
    """Save the viewport as a 256-colour PNG (small, still sharp for a UI); return its size in bytes."""
    data = browser.send("Page.captureScreenshot", format="png")["data"]
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
    image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def shoot(browser: Browser, url: str, path: Path, *texts: str) -> None:
    """Open `url`, wait for `texts`, save the screenshot and say so."""
    browser.open(url)
    wait_for_text(browser, *texts)
    size = save_png(browser, path)
    print(f"  {path}: {size / 1000:.0f} KB", flush=True)
    if size > MAX_BYTES:
        raise RuntimeError(f"{path} is {size} bytes, over {MAX_BYTES}")


def click_text(browser: Browser, text: str) -> bool:
    """Click the last button, link or tab whose text is exactly `text` (the page's own, not the sidebar's)."""
    script = (
        "(() => { const hits = [...document.querySelectorAll('button, a, li, [role=tab]')]"
        f".filter(x => x.innerText && x.innerText.trim() === {json.dumps(text)} && !x.closest('nav, aside'));"
        " if (!hits.length) return false; hits[hits.length - 1].click(); return true; })()"
    )
    return bool(browser.evaluate(script))


def take_all(base: str, out: Path, work: Path, review_run: str | None) -> None:
    """Drive the browser through the Prefect UI pages."""
    sweep_runs = [r for r in flow_runs(base, "inbox-sweep") if (r.get("state") or {}).get("type") == "COMPLETED"]
    browser = Browser(work / "chromium", width=WIDTH, height=HEIGHT, timeout=60.0)
    try:
        browser.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                     mobile=False)
        shoot(browser, f"{base}/dashboard", out / "prefect-dashboard.png", "Flow Runs", "Task Runs", "Completed")
        shoot(browser, f"{base}/deployments", out / "prefect-deployments.png", "nightly-batch", "review-case",
              "Every 30 seconds")
        shoot(browser, f"{base}/runs", out / "prefect-runs.png", "Completed", "inbox-sweep")
        if sweep_runs:
            first = sweep_runs[-1]  # the first batch: the whole sample packet, with its progress artifact
            browser.open(f"{base}/runs/flow-run/{first['id']}")
            wait_for_text(browser, first["name"], "Task Runs")
            time.sleep(8)  # the run graph draws its 50 task runs after the page text
            if click_text(browser, "Artifacts"):
                wait_for_text(browser, "claims-batch-summary")
            size = save_png(browser, out / "prefect-flow-run.png")
            print(f"  {out / 'prefect-flow-run.png'}: {size / 1000:.0f} KB", flush=True)
            shown = browser.evaluate(  # the batch's progress artifact: the last card of the run's artifacts
                "(() => { const p = [...document.querySelectorAll('*')].filter(x => x.children.length === 0"
                " && x.innerText && x.innerText.trim().toUpperCase() === 'PROGRESS');"
                " if (!p.length) return false; p[p.length - 1].scrollIntoView({block: 'center'}); return true; })()"
            )
            if shown:
                time.sleep(2.0)
                size = save_png(browser, out / "prefect-flow-run-artifacts.png")
                print(f"  {out / 'prefect-flow-run-artifacts.png'}: {size / 1000:.0f} KB", flush=True)
        shoot(browser, f"{base}/artifacts", out / "prefect-artifacts.png", "claims-batch-summary",
              "claims-review-backlog", "claims-versions-in-force")
        for key, name, texts in (
            ("claims-review-backlog", "prefect-artifact-backlog.png", ("sla_breaches", "oldest_hours")),
            ("claims-kpi-report", "prefect-artifact-kpi.png", ("Daily claims KPIs", "Top reasons")),
        ):
            latest = api(base, "/artifacts/latest/filter", {"artifacts": {"key": {"any_": [key]}}})
            if latest:
                shoot(browser, f"{base}/artifacts/artifact/{latest[0]['latest_id']}", out / name, key, *texts)
        if review_run is not None:
            browser.open(f"{base}/runs/flow-run/{review_run}")
            wait_for_text(browser, "review-task-", "Resume")
            clicked = click_text(browser, "Resume")
            if clicked:
                wait_for_text(browser, "One Time Code", "Review task #")
            size = save_png(browser, out / "prefect-review-form.png")
            print(f"  {out / 'prefect-review-form.png'}: {size / 1000:.0f} KB (form open: {clicked})", flush=True)
    finally:
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4391, help="Prefect server port for this run")
    parser.add_argument("--web-port", type=int, default=8791, help="review workstation port for this run")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "img")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases)")
    parser.add_argument("--attach", metavar="URL", help="use a running `claimflow up` (CLAIMFLOW_HOME set) instead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="claimflow-screens-"))
    if args.attach:
        home = Path(os.environ.get("CLAIMFLOW_HOME", ".claimflow"))
        review_run = start_review_run(args.attach, home)
        if review_run is not None:
            wait_paused(args.attach, review_run)
        try:
            take_all(args.attach, args.out, work, review_run)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    home, inbox = work / "home", work / "inbox"
    inbox.mkdir(parents=True)
    env = {**os.environ, "CLAIMFLOW_HOME": str(home), "CLAIMFLOW_INBOX": str(inbox),
           "CLAIMFLOW_WEB_PORT": str(args.web_port), "PYTHONUNBUFFERED": "1"}
    base = f"http://127.0.0.1:{args.port}"
    log = (work / "up.log").open("w")
    print(f"starting claimflow up on {base} (work folder {work}) ...", flush=True)
    started = time.monotonic()
    up = subprocess.Popen(
        [sys.executable, "-m", "claimflow.cli", "up", "--port", str(args.port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
    )
    try:
        assert up.stdout is not None
        for line in up.stdout:
            print("  | " + line.rstrip(), flush=True)
            if line.startswith("Press Ctrl-C"):
                break
        else:
            raise RuntimeError(f"claimflow up exited; see {work / 'up.log'} and {home / 'logs'}")
        print(f"claimflow up ready after {time.monotonic() - started:.0f} s", flush=True)
        review_run = start_review_run(base, home)
        if review_run is not None:
            wait_paused(base, review_run)
        time.sleep(35)  # one scheduled inbox-sweep run completes, so the dashboard shows deployment runs too
        take_all(base, args.out, work, review_run)
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        log.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
