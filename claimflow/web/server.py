"""Serve the review workstation with uvicorn (used by `claimflow web` and by `claimflow up` as a child process)."""

from __future__ import annotations

import uvicorn

from claimflow.settings import Settings
from claimflow.web.app import create_app

DEFAULT_HOST = "127.0.0.1"


def workstation_url(port: int, host: str = DEFAULT_HOST) -> str:
    """Return the address people open in their browser."""
    return f"http://{host}:{port}"


def serve_workstation(settings: Settings, *, host: str = DEFAULT_HOST, port: int | None = None) -> None:
    """Run the workstation until stopped (Ctrl-C or SIGTERM)."""
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port or settings.web_port, log_level="warning", access_log=False)
