"""ClaimFlow: claims back-office engine (never imports prefect)."""

__version__ = "0.1.0"
