"""Typed settings, read from CLAIMFLOW_* environment variables by `load_settings()`; nothing at import time."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field as PydanticField
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from claimflow.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECOND_LOOK_BUDGET = 24
"""OCR calls the second looks may spend on one document (claimflow.second_looks); see Settings.second_look_budget."""
SECOND_LOOK_THRESHOLD = 0.99
"""Fields below this calibrated confidence get second readings; see Settings.look_threshold."""


def _project_folder(name: str) -> Path:
    """Return ./name when the current folder is a ClaimFlow project, else the one shipped with the package."""
    here = Path.cwd() / name
    return here if here.is_dir() else PROJECT_ROOT / name


class Settings(BaseSettings):
    """Every knob of the engine; paths are resolved against the current directory."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", extra="ignore")

    home: Path = Path(".claimflow")
    inbox: Path = Path("inbox")
    database_url: str | None = None
    rules: Path = PydanticField(default_factory=lambda: _project_folder("rules"))
    extractors: Path = PydanticField(default_factory=lambda: _project_folder("extractors"))
    confidence_threshold: float = PydanticField(default=0.98, ge=0.0, le=1.0)
    stable_seconds: float = PydanticField(default=1.0, ge=0.0)
    ocr_timeout_seconds: float = PydanticField(default=120.0, gt=0)
    ocr_workers: int = PydanticField(default=2, ge=1)
    ocr_backend: Literal["auto", "api", "cli"] = "auto"
    """`auto`: libtesseract in-process when it loads, else the CLI; `api` requires the library; `cli` forces the CLI."""
    second_look_budget: int = PydanticField(default=SECOND_LOOK_BUDGET, ge=0)
    """OCR calls the second looks (re-reads of pages, regions, lines, words) may spend on one document; 0 = none."""
    second_look_threshold: float = PydanticField(default=SECOND_LOOK_THRESHOLD, ge=0.0, le=1.0)
    """Fields read below this calibrated confidence get second readings (never below confidence_threshold)."""
    small_claim_limit: Decimal = Decimal("5000")
    shadow_rules: Path | None = None
    """A candidate rule set (file or folder) that decides every claim in shadow: stored and shown, never acted on."""
    reviewer: str = "reviewer"
    # review workstation (claimflow/web): port, who signs people in, the key that signs session cookies
    web_port: int = PydanticField(default=8765, ge=1, le=65535)
    web_auth: Literal["local", "header"] = "local"
    web_user_header: str = "X-Forwarded-User"
    web_secret: str | None = None
    # operations: review SLA, reminders and escalation, SMTP, payment files
    review_sla_hours: float = PydanticField(default=24.0, gt=0)
    reminder_interval_hours: float = PydanticField(default=72.0, gt=0)
    document_wait_days: float = PydanticField(default=14.0, gt=0)
    reminder_to: str | None = None
    escalation_to: str | None = None
    smtp_host: str | None = None
    smtp_port: int = PydanticField(default=25, ge=1, le=65535)
    smtp_from: str = "claims@localhost"
    payment_format: str = PydanticField(default="auto", pattern=r"^(auto|pain\.001|csv)$")
    payer_name: str = "ClaimFlow Insurance"
    payer_iban: str | None = None
    payer_bic: str | None = None
    enrichment: Path = PydanticField(default_factory=lambda: _project_folder("config") / "enrichment.yml")
    qa_sample_rate: float = PydanticField(default=0.05, ge=0.0, le=1.0)
    authority_limit: Decimal = PydanticField(default=Decimal("10000"), gt=0)

    @property
    def look_threshold(self) -> float:
        """Return the confidence below which a field is read again: the higher of the two thresholds.

        Kept apart from the auto-accept threshold so that how a document is read does not depend on where the
        accept line is drawn: the calibration's pairs are read with the looks gated here, and what they measure
        holds for any auto-accept threshold at or below it (bench/fit_calibration.py). Lowering
        `confidence_threshold` changes which fields are accepted, never which are read again.
        """
        return max(self.second_look_threshold, self.confidence_threshold)

    @property
    def db_url(self) -> str:
        """Return the SQLAlchemy URL of the claims database (SQLite under home by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'claimflow.db').resolve()}"

    @property
    def archive_dir(self) -> Path:
        """Return the content-addressed archive of originals."""
        return self.home / "archive"

    @property
    def quarantine_dir(self) -> Path:
        """Return the folder of quarantined files and their reason files."""
        return self.home / "quarantine"

    @property
    def reads_dir(self) -> Path:
        """Return the folder of stored page readings (words and boxes), kept for replay and learning."""
        return self.home / "reads"

    @property
    def outbox_dir(self) -> Path:
        """Return the folder of rendered reminder messages."""
        return self.home / "outbox"

    @property
    def payments_dir(self) -> Path:
        """Return the folder of payment instruction files and reconciliation reports."""
        return self.home / "payments"

    @property
    def prefect_home(self) -> Path:
        """Return Prefect's home (its database, profiles, results)."""
        return self.home / "prefect"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides; bad values raise ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"CLAIMFLOW_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from exc
