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
from typing import TypeVar

from claimflow.policy_checks import policy_checks


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
    # enrichments (claimflow.policy_checks, claimflow.enrich); defaults keep older stored and hand-built facts loadable
    loss_type: str | None = None
    policy_product: str | None = None
    covered_losses: tuple[str, ...] | None = None  # None: the register says nothing about cover
    waiting_period_days: int | None = None
    policy_active_on_loss: bool | None = None
    loss_covered: bool | None = None
    in_waiting_period: bool | None = None
    payout_due: Decimal | None = None
    prior_claims_12m_total: Decimal = Decimal("0")
    near_duplicate_of: str | None = None
    near_duplicate_similarity: float | None = None
    risk_probability: float = 0.0
    risk_impact: float = 0.0
    risk_score: float = 0.0
    risk_signals: tuple[str, ...] = ()
    compliance_risk_index: float = 0.0
    compliance_signals: tuple[str, ...] = ()
    amount_outlier: bool = False
    qa_sample: bool = False


FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ClaimFacts))
"""Names the rule expressions and reason placeholders may use."""

_STR = {"claim_id", "claim_type", "source"}
_OPTIONAL_STR = {
    "policy_number", "policy_status", "policy_currency", "currency", "duplicate_of", "loss_type", "policy_product",
    "near_duplicate_of",
}
_DATE = {"policy_start", "policy_end", "date_of_loss", "processing_date"}
_MONEY = {"coverage_limit", "deductible", "amount_claimed", "small_claim_limit", "payout_due"}
_FLOAT = {
    "min_field_confidence", "confidence_threshold", "risk_probability", "risk_impact", "risk_score",
    "compliance_risk_index",
}
_OPTIONAL_FLOAT = {"near_duplicate_similarity"}
_TUPLE = {
    "low_confidence_fields", "missing_fields", "documents", "missing_documents", "amount_problems", "risk_signals",
    "compliance_signals",
}
_OPTIONAL_TUPLE = {"covered_losses"}
_BOOL = {"policy_found", "amount_outlier", "qa_sample"}
_OPTIONAL_BOOL = {"policy_active_on_loss", "loss_covered", "in_waiting_period"}
_INT = {"prior_claims_12m"}
_OPTIONAL_INT = {"waiting_period_days"}
_DERIVED = {"policy_active_on_loss", "loss_covered", "in_waiting_period", "payout_due"}
"""Computed from other facts (claimflow.policy_checks) when a mapping leaves them out."""
_NULLABLE = (
    (_OPTIONAL_STR | _DATE | _MONEY | _OPTIONAL_FLOAT | _OPTIONAL_TUPLE | _OPTIONAL_BOOL | _OPTIONAL_INT)
    - {"processing_date", "small_claim_limit"}
)

_DEFAULTS: dict[str, object] = {
    "source": "documents",
    "policy_found": False,
    "min_field_confidence": 1.0,
    "prior_claims_12m": 0,
    "prior_claims_12m_total": Decimal("0"),
    "confidence_threshold": 0.90,
    "small_claim_limit": Decimal("5000"),
    "risk_probability": 0.0,
    "risk_impact": 0.0,
    "risk_score": 0.0,
    "compliance_risk_index": 0.0,
    "amount_outlier": False,
    "qa_sample": False,
    **{name: () for name in _TUPLE},
    **{name: None for name in _NULLABLE},
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
    checks = policy_checks(
        status=_opt(values, "policy_status", str),
        start=_opt(values, "policy_start", date),
        end=_opt(values, "policy_end", date),
        loss=_opt(values, "date_of_loss", date),
        loss_type=_opt(values, "loss_type", str),
        covered_losses=_opt(values, "covered_losses", tuple),
        waiting_period_days=_opt(values, "waiting_period_days", int),
        amount_claimed=_opt(values, "amount_claimed", Decimal),
        deductible=_opt(values, "deductible", Decimal),
        limit=_opt(values, "coverage_limit", Decimal),
    )
    for name in _DERIVED - set(data):
        values[name] = getattr(checks, name)
    return ClaimFacts(**values)  # type: ignore[arg-type]


_T = TypeVar("_T")


def _opt(values: Mapping[str, object], name: str, kind: type[_T]) -> _T | None:
    """Return values[name] when it is of `kind`, else None."""
    value = values.get(name)
    return value if isinstance(value, kind) else None


def _parse_value(name: str, raw: object) -> object:
    """Convert one plain value to the type of fact `name`."""
    if raw is None:
        if name in _NULLABLE:
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
    if name == "prior_claims_12m_total":
        return _parse_decimal(name, raw)
    if name in _FLOAT | _OPTIONAL_FLOAT:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FactError(name, f"expected a number, got {raw!r}")
        return float(raw)
    if name in _TUPLE | _OPTIONAL_TUPLE:
        if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
            raise FactError(name, f"expected a list of text, got {raw!r}")
        return tuple(raw)
    if name in _BOOL | _OPTIONAL_BOOL:
        if not isinstance(raw, bool):
            raise FactError(name, f"expected true or false, got {raw!r}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int):  # prior_claims_12m, waiting_period_days
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
