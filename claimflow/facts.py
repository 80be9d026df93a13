"""The flat facts a rule set reads about one claim, and how to build them from plain data.

`ClaimFacts` is what enrichment hands to the decision runner: typed (Decimal money, `date` dates), flat,
frozen. `parse_facts` builds one from a plain mapping (a rule set's embedded examples, tests, tools), with
defaults for what a mapping leaves out. Nothing here knows about the expression engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """Everything the rules may read about one claim; money is Decimal, dates are `date`."""

    claim_id: str
    claim_type: str  # 'motor' | 'health' | 'other'
    source: str  # 'documents' | 'bordereau'
    policy_number: str | None
    policy_found: bool
    policy_status: str | None  # 'active' | 'lapsed' | 'cancelled' | ...
    policy_start: date | None
    policy_end: date | None
    coverage_limit: Decimal | None
    deductible: Decimal | None
    policy_currency: str | None
    date_of_loss: date | None
    amount_claimed: Decimal | None
    currency: str | None
    min_field_confidence: float
    low_confidence_fields: tuple[str, ...]
    missing_fields: tuple[str, ...]
    documents: tuple[str, ...]
    missing_documents: tuple[str, ...]
    duplicate_of: str | None
    amount_problems: tuple[str, ...]
    prior_claims_12m: int
    confidence_threshold: float
    small_claim_limit: Decimal
    processing_date: date


FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ClaimFacts))
"""Names the rule expressions and reason placeholders may use."""

_STR = {"claim_id", "claim_type", "source"}
_OPTIONAL_STR = {"policy_number", "policy_status", "policy_currency", "currency", "duplicate_of"}
_DATE = {"policy_start", "policy_end", "date_of_loss", "processing_date"}
_MONEY = {"coverage_limit", "deductible", "amount_claimed", "small_claim_limit"}
_FLOAT = {"min_field_confidence", "confidence_threshold"}
_TUPLE = {"low_confidence_fields", "missing_fields", "documents", "missing_documents", "amount_problems"}

_DEFAULTS: dict[str, object] = {
    "source": "documents",
    "policy_found": False,
    "min_field_confidence": 1.0,
    "prior_claims_12m": 0,
    "confidence_threshold": 0.90,
    "small_claim_limit": Decimal("5000"),
    **{name: () for name in _TUPLE},
    **{name: None for name in _OPTIONAL_STR | (_DATE - {"processing_date"}) | (_MONEY - {"small_claim_limit"})},
}


class FactError(ValueError):
    """A value in a facts mapping has the wrong type or name; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_facts(data: Mapping[str, object], *, processing_date: date) -> ClaimFacts:
    """Build ClaimFacts from a plain mapping; omitted fields take neutral defaults; raise FactError."""
    unknown = sorted(set(data) - set(FACT_FIELDS))
    if unknown:
        raise FactError(unknown[0], f"unknown fact '{unknown[0]}' (known: {', '.join(FACT_FIELDS)})")
    values: dict[str, object] = {**_DEFAULTS, "processing_date": processing_date}
    for name, raw in data.items():
        values[name] = _parse_value(name, raw)
    for name in ("claim_id", "claim_type"):
        if name not in values:
            raise FactError(name, "required fact is missing")
    return ClaimFacts(**values)  # type: ignore[arg-type]


def _parse_value(name: str, raw: object) -> object:
    """Convert one plain value to the type of fact `name`."""
    if raw is None:
        if name in _OPTIONAL_STR | _DATE | _MONEY and name not in {"processing_date", "small_claim_limit"}:
            return None
        raise FactError(name, "may not be null")
    if name in _STR | _OPTIONAL_STR:
        if not isinstance(raw, str):
            raise FactError(name, f"expected text, got {raw!r}")
        return raw
    if name in _DATE:
        return _parse_date(name, raw)
    if name in _MONEY:
        return _parse_decimal(name, raw)
    if name in _FLOAT:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FactError(name, f"expected a number, got {raw!r}")
        return float(raw)
    if name in _TUPLE:
        if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
            raise FactError(name, f"expected a list of text, got {raw!r}")
        return tuple(raw)
    if name == "policy_found":
        if not isinstance(raw, bool):
            raise FactError(name, f"expected true or false, got {raw!r}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int):  # prior_claims_12m
        raise FactError(name, f"expected a whole number, got {raw!r}")
    return raw


def _parse_date(name: str, raw: object) -> date:
    """Accept a date or an ISO 8601 date string."""
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise FactError(name, f"expected a date like 2026-03-02, got {raw!r}")


def _parse_decimal(name: str, raw: object) -> Decimal:
    """Accept Decimal, int, float (via str, never binary) or a numeric string."""
    if isinstance(raw, bool):
        raise FactError(name, f"expected an amount, got {raw!r}")
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int | float | str):
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            pass
        else:
            if value.is_finite():
                return value
    raise FactError(name, f"expected an amount like \"1234.56\", got {raw!r}")
