"""A small Chrome DevTools Protocol client for the end-to-end test: headless Debian `chromium`, no Playwright.

Starts chromium with a throw-away profile and `--remote-debugging-port=0`, reads the port it chose from
DevToolsActivePort, attaches to its page over a websocket (the `websockets` package Prefect already brings)
and offers what the test needs: open a URL, run JavaScript, wait for the next page load, take a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    """Return the chromium executable, or None when it is not installed."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


class Browser:
    """One headless chromium with one page, driven over CDP."""

    def __init__(self, profile: Path, *, width: int = 1400, height: int = 1000, timeout: float = 30.0) -> None:
        executable = chromium_path()
        if executable is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium; scripts/setup.sh does it)")
        self.timeout = timeout
        self._id = 0
        self._events: list[dict[str, Any]] = []
        self.process = subprocess.Popen(
            [
                executable,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                f"--window-size={width},{height}",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: `close` stops its helper processes with it
        )
        port = self._devtools_port(profile / "DevToolsActivePort")
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws: ClientConnection = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout)
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _devtools_port(self, path: Path) -> int:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode}")
            if path.exists():
                first = path.read_text().splitlines()[:1]
                if first and first[0].strip().isdigit():
                    return int(first[0])
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a CDP method and return its result (events that arrive meanwhile are kept)."""
        self._id += 1
        wanted = self._id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            if "method" in message:
                self._events.append(message)

    def wait_for_load(self) -> None:
        """Wait for the next `Page.loadEventFired` (after a navigation or a form submission)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for index, event in enumerate(self._events):
                if event["method"] == "Page.loadEventFired":
                    del self._events[: index + 1]
                    return
            self._events.clear()
            message = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if "method" in message:
                self._events.append(message)

    def open(self, url: str) -> None:
        """Navigate to `url` and wait until it has loaded."""
        self._events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for_load()

    def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page and return its (JSON) value."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails'].get('text')}: {expression[:80]}")
        return result.get("result", {}).get("value")

    def submit(self, expression: str) -> None:
        """Run JavaScript that submits a form, then wait for the resulting page to load."""
        self._events.clear()
        self.evaluate(expression)
        self.wait_for_load()

    def screenshot(self, path: Path) -> None:
        """Save a PNG of the whole page."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Close the page connection and stop this chromium with its helper processes (its own process group).

        The helpers (renderer, crash handler) outlive the browser process for a moment and write into the profile:
        a profile folder removed right after the browser process alone exited is found not empty.
        """
        try:
            self.ws.close()
        finally:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self._signal_group(signal.SIGKILL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self._signal_group(0):
                time.sleep(0.05)

    def _signal_group(self, sig: int) -> bool:
        """Send `sig` to chromium's process group; return False when no process of it is left."""
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return False
        return True
