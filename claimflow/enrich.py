"""Enrichments computed in code before the rules run: risk score, compliance-risk index, outliers, QA sampling.

Every number is deterministic and explained by named signals: `risk_score = risk_probability x risk_impact`
(probability from the signals present, combined as independent causes; impact from the amount against the
policy limit), `compliance_risk_index` = weighted share of the compliance signals present, `amount_outlier`
against the settled history of the claim's type, `qa_sample` from a hash of the claim id (so a replay or a
re-run picks the same claims). The weights live in config/enrichment.yml, validated like the rules: every
problem with `file:line`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claimflow.errors import ConfigError, RuleSetError
from claimflow.facts import ClaimFacts

RISK_SIGNALS = (
    "prior_claims",
    "frequent_claimant",
    "early_claim",
    "late_in_cover",
    "amount_outlier",
    "duplicate",
    "near_duplicate",
    "amounts_inconsistent",
    "low_confidence",
)
"""Names of the risk signals computed in `risk_signals`; the config gives each a weight."""

COMPLIANCE_SIGNALS = (
    "policy_not_found",
    "policy_inactive",
    "loss_outside_cover",
    "loss_not_covered",
    "waiting_period",
    "policy_data_missing",
    "currency_mismatch",
    "documents_missing",
    "fields_missing",
    "low_confidence",
    "duplicate",
    "amounts_inconsistent",
)
"""Names of the compliance signals computed in `compliance_signals`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RiskConfig(_Strict):
    """How the risk score is computed."""

    base_probability: float = Field(ge=0, le=1)
    signals: dict[str, float]
    frequent_claimant_count: int = Field(ge=1)
    early_claim_days: int = Field(ge=0)
    late_in_cover_days: int = Field(ge=0)
    impact_scale: Decimal = Field(gt=0)


class ComplianceConfig(_Strict):
    """Weights of the compliance-risk index."""

    signals: dict[str, float]


class OutlierConfig(_Strict):
    """When a claim counts as far above the settled claims of its type."""

    min_history: int = Field(ge=2)
    sd_factor: float = Field(gt=0)


class QualityReviewConfig(_Strict):
    """Where claims picked for quality review go."""

    queue: str = Field(pattern=r"^[a-z][a-z0-9_]*$")


class EnrichmentConfig(_Strict):
    """config/enrichment.yml."""

    version: str
    risk: RiskConfig
    compliance: ComplianceConfig
    outliers: OutlierConfig
    quality_review: QualityReviewConfig


DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "enrichment.yml"


def load_enrichment_config(path: Path) -> EnrichmentConfig:
    """Load and validate the enrichment config; raise RuleSetError listing every problem as `file:line: ...`."""
    shown = f"{path.parent.name}/{path.name}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the enrichment config ({exc.strerror}); CLAIMFLOW_ENRICHMENT") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RuleSetError([f"{shown}:{line}: YAML syntax: {getattr(exc, 'problem', None) or exc}"]) from exc
    lines = _key_lines(node)
    if not isinstance(data, dict):
        raise RuleSetError([f"{shown}:1: the enrichment config must be a mapping (version, risk, compliance, ...)"])
    problems: list[str] = []
    try:
        config = EnrichmentConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(str(part) for part in err["loc"])
            problems.append(f"{shown}:{_line(lines, loc)}: {'.'.join(loc)}: {err['msg']}")
        raise RuleSetError(problems) from exc
    for section, known, given in (
        ("risk", RISK_SIGNALS, config.risk.signals),
        ("compliance", COMPLIANCE_SIGNALS, config.compliance.signals),
    ):
        for name, weight in given.items():
            where = f"{shown}:{_line(lines, (section, 'signals', name))}"
            if name not in known:
                problems.append(f"{where}: {section}.signals: unknown signal '{name}' (known: {', '.join(known)})")
            elif section == "risk" and not 0 <= weight < 1:
                problems.append(f"{where}: risk.signals.{name}: a weight is a probability in [0, 1), got {weight}")
            elif weight < 0:
                problems.append(f"{where}: compliance.signals.{name}: a weight may not be negative, got {weight}")
    if problems:
        raise RuleSetError(problems)
    return config


def _key_lines(node: yaml.Node | None, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Return {key path: 1-based line} for every mapping key."""
    found: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            found[child] = key.start_mark.line + 1
            found.update(_key_lines(value, child))
    return found


def _line(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


# ----------------------------------------------------------------------------- signals
def risk_signals(facts: ClaimFacts, config: RiskConfig) -> tuple[str, ...]:
    """Return the names of the risk signals present on a claim, in RISK_SIGNALS order."""
    present: list[str] = []
    loss, start, end = facts.date_of_loss, facts.policy_start, facts.policy_end
    checks = {
        "prior_claims": facts.prior_claims_12m >= 1,
        "frequent_claimant": facts.prior_claims_12m >= config.frequent_claimant_count,
        "early_claim": loss is not None and start is not None
        and start <= loss < start + timedelta(days=config.early_claim_days),
        "late_in_cover": loss is not None and end is not None
        and end - timedelta(days=config.late_in_cover_days) < loss <= end,
        "amount_outlier": facts.amount_outlier,
        "duplicate": facts.duplicate_of is not None,
        "near_duplicate": facts.near_duplicate_of is not None,
        "amounts_inconsistent": bool(facts.amount_problems),
        "low_confidence": bool(facts.low_confidence_fields) or facts.min_field_confidence < facts.confidence_threshold,
    }
    present.extend(name for name in RISK_SIGNALS if checks[name])
    return tuple(present)


def risk_score(facts: ClaimFacts, signals: tuple[str, ...], config: RiskConfig) -> tuple[float, float, float]:
    """Return (probability, impact, score = probability x impact), each rounded to 4 places."""
    keep = 1.0 - config.base_probability
    for name in signals:
        keep *= 1.0 - config.signals.get(name, 0.0)
    probability = 1.0 - keep
    impact = 0.0
    if facts.amount_claimed is not None and facts.amount_claimed > 0:
        scale = facts.coverage_limit if facts.coverage_limit and facts.coverage_limit > 0 else config.impact_scale
        impact = min(1.0, float(facts.amount_claimed / scale))
    return round(probability, 4), round(impact, 4), round(probability * impact, 4)


def compliance_signals(facts: ClaimFacts, missing_documents: tuple[str, ...]) -> tuple[str, ...]:
    """Return the names of the compliance signals present on a claim, in COMPLIANCE_SIGNALS order."""
    checks = {
        "policy_not_found": not facts.policy_found,
        "policy_inactive": facts.policy_found and facts.policy_status != "active",
        "loss_outside_cover": facts.policy_found and facts.policy_status == "active"
        and facts.policy_active_on_loss is False,
        "loss_not_covered": facts.loss_covered is False,
        "waiting_period": facts.in_waiting_period is True,
        "policy_data_missing": facts.policy_found
        and (facts.loss_covered is None or facts.in_waiting_period is None or facts.payout_due is None),
        "currency_mismatch": facts.policy_found and facts.currency != facts.policy_currency,
        "documents_missing": bool(missing_documents),
        "fields_missing": bool(facts.missing_fields),
        "low_confidence": bool(facts.low_confidence_fields) or facts.min_field_confidence < facts.confidence_threshold,
        "duplicate": facts.duplicate_of is not None or facts.near_duplicate_of is not None,
        "amounts_inconsistent": bool(facts.amount_problems),
    }
    return tuple(name for name in COMPLIANCE_SIGNALS if checks[name])


def compliance_index(signals: tuple[str, ...], config: ComplianceConfig) -> float:
    """Return the weighted share of the compliance signals present, in [0, 1] (0 when no weights)."""
    total = sum(config.signals.values())
    if total <= 0:
        return 0.0
    return round(sum(config.signals.get(name, 0.0) for name in signals) / total, 4)


def is_qa_sample(claim_id: str, rate: float) -> bool:
    """Return whether a claim falls in the quality-review sample: sha256(claim id) as a fraction of 2**32 < rate."""
    if rate <= 0:
        return False
    fraction = int(hashlib.sha256(claim_id.encode()).hexdigest()[:8], 16) / 2**32
    return fraction < rate


@dataclass(frozen=True, slots=True)
class AmountHistory:
    """The amounts claimed of settled claims of one type: count, mean and standard deviation."""

    count: int
    mean: float
    sd: float

    @classmethod
    def of(cls, amounts: list[Decimal]) -> AmountHistory:
        """Summarise amounts (population standard deviation)."""
        if not amounts:
            return cls(0, 0.0, 0.0)
        values = [float(a) for a in amounts]
        mean = sum(values) / len(values)
        return cls(len(values), mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)))

    def threshold(self, config: OutlierConfig) -> float | None:
        """Return the amount above which a claim is an outlier, or None while the history is too short."""
        if self.count < config.min_history:
            return None
        return self.mean + config.sd_factor * self.sd


def is_amount_outlier(amount: Decimal | None, history: AmountHistory, config: OutlierConfig) -> bool:
    """Return whether an amount is far above the settled history of its type (never with a short history)."""
    limit = history.threshold(config)
    return amount is not None and limit is not None and float(amount) > limit


def enrich_facts(
    facts: ClaimFacts,
    config: EnrichmentConfig,
    *,
    missing_documents: tuple[str, ...],
    history: AmountHistory,
    qa_sample_rate: float,
) -> ClaimFacts:
    """Return the facts with outlier, QA-sample, risk and compliance enrichments filled in."""
    facts = dataclasses.replace(
        facts,
        amount_outlier=is_amount_outlier(facts.amount_claimed, history, config.outliers),
        qa_sample=is_qa_sample(facts.claim_id, qa_sample_rate),
    )
    signals = risk_signals(facts, config.risk)
    probability, impact, score = risk_score(facts, signals, config.risk)
    compliance = compliance_signals(facts, missing_documents)
    return dataclasses.replace(
        facts,
        risk_probability=probability,
        risk_impact=impact,
        risk_score=score,
        risk_signals=signals,
        compliance_risk_index=compliance_index(compliance, config.compliance),
        compliance_signals=compliance,
    )
