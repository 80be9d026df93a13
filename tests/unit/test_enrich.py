"""Enrichments: the config and its errors, risk score and its signals, compliance index, outliers, QA sample."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claimflow.enrich import (
    DEFAULT_CONFIG,
    AmountHistory,
    compliance_index,
    compliance_signals,
    enrich_facts,
    is_amount_outlier,
    is_qa_sample,
    load_enrichment_config,
    risk_score,
    risk_signals,
)
from claimflow.errors import RuleSetError
from claimflow.facts import ClaimFacts, parse_facts

CONFIG = load_enrichment_config(DEFAULT_CONFIG)
CLEAN: dict[str, object] = {
    "claim_id": "C1", "claim_type": "motor", "policy_number": "POL-1", "policy_found": True,
    "policy_status": "active", "policy_start": "2026-01-01", "policy_end": "2026-12-31", "coverage_limit": "10000",
    "deductible": "250", "policy_currency": "EUR", "date_of_loss": "2026-06-02", "amount_claimed": "2000",
    "currency": "EUR", "min_field_confidence": 0.97, "documents": ["motor_claim_form", "invoice"],
    "loss_type": "collision", "covered_losses": ["collision"], "waiting_period_days": 14,
}


def facts(**changes: object) -> ClaimFacts:
    return parse_facts({**CLEAN, **changes}, processing_date=date(2026, 7, 1))


def test_a_clean_claim_has_no_signals_and_a_low_score() -> None:
    clean = facts()
    assert risk_signals(clean, CONFIG.risk) == ()
    assert risk_score(clean, (), CONFIG.risk) == (0.02, 0.2, 0.004)  # base probability x 2000/10000
    assert compliance_signals(clean, ()) == ()


def test_each_signal_is_named_and_raises_the_probability() -> None:
    risky = facts(prior_claims_12m=3, date_of_loss="2026-01-20", duplicate_of="C0", amount_problems=["x"],
                  min_field_confidence=0.5)
    signals = risk_signals(risky, CONFIG.risk)
    assert signals == ("prior_claims", "frequent_claimant", "early_claim", "duplicate", "amounts_inconsistent",
                       "low_confidence")
    probability, impact, score = risk_score(risky, signals, CONFIG.risk)
    keep = 0.98 * 0.9 * 0.8 * 0.85 * 0.4 * 0.7 * 0.95
    assert probability == round(1 - keep, 4) and impact == 0.2 and score == round((1 - keep) * 0.2, 4)
    assert risk_signals(facts(date_of_loss="2026-12-15"), CONFIG.risk) == ("late_in_cover",)
    assert risk_signals(facts(near_duplicate_of="C9"), CONFIG.risk) == ("near_duplicate",)


def test_impact_is_capped_and_falls_back_to_the_scale() -> None:
    assert risk_score(facts(amount_claimed="50000"), (), CONFIG.risk)[1] == 1.0
    assert risk_score(facts(coverage_limit=None), (), CONFIG.risk)[1] == 0.2  # 2000 / impact_scale 10000
    assert risk_score(facts(amount_claimed=None), (), CONFIG.risk)[1] == 0.0


def test_compliance_index_weights_the_signals_present() -> None:
    lapsed = facts(policy_status="lapsed", documents=["motor_claim_form"], currency="USD")
    signals = compliance_signals(lapsed, ("invoice",))
    assert signals == ("policy_inactive", "currency_mismatch", "documents_missing")
    total = sum(CONFIG.compliance.signals.values())
    assert compliance_index(signals, CONFIG.compliance) == round((5 + 2 + 3) / total, 4)
    assert compliance_signals(facts(covered_losses=None), ()) == ("policy_data_missing",)
    assert compliance_signals(facts(loss_type="fire"), ()) == ("loss_not_covered",)
    assert compliance_signals(facts(date_of_loss="2026-01-05"), ()) == ("waiting_period",)


def test_qa_sample_is_deterministic_and_near_the_rate() -> None:
    ids = [f"CLM-2026-{n:06d}" for n in range(20000)]
    picked = [i for i in ids if is_qa_sample(i, 0.05)]
    assert 0.045 < len(picked) / len(ids) < 0.055
    assert picked == [i for i in ids if is_qa_sample(i, 0.05)]  # a replay picks the same claims
    assert set(picked) <= {i for i in ids if is_qa_sample(i, 0.10)}  # a larger share keeps the smaller one
    assert not any(is_qa_sample(i, 0.0) for i in ids[:500])
    assert all(is_qa_sample(i, 1.0) for i in ids[:500])


def test_outliers_need_a_history() -> None:
    history = AmountHistory.of([Decimal(1000 + 10 * (i % 7)) for i in range(40)])
    assert history.count == 40 and 1020 < history.mean < 1040
    assert is_amount_outlier(Decimal("5000"), history, CONFIG.outliers)
    assert not is_amount_outlier(Decimal("1050"), history, CONFIG.outliers)
    short = AmountHistory.of([Decimal(1000)] * 29)
    assert not is_amount_outlier(Decimal("999999"), short, CONFIG.outliers)
    assert not is_amount_outlier(None, history, CONFIG.outliers)


def test_enrich_facts_fills_everything() -> None:
    history = AmountHistory.of([Decimal(1000 + i) for i in range(40)])
    out = enrich_facts(facts(amount_claimed="4900"), CONFIG, missing_documents=(), history=history,
                       qa_sample_rate=1.0)
    assert out.amount_outlier and out.qa_sample
    assert out.risk_signals == ("amount_outlier",) and out.risk_score > 0
    assert dataclasses.replace(out, risk_score=0.0) != out


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    duplicate: 0.60 ", "    duplicat: 0.60 ", "unknown signal 'duplicat'"),
        ("    duplicate: 0.60 ", "    duplicate: 1.5 ", "a weight is a probability in [0, 1)"),
        ("  min_history: 30", "  min_history: many", "outliers.min_history"),
        ("  sd_factor: 3", "  sd_factor: 3\n  extra_key: 1", "outliers.extra_key"),
        ("quality_review:", "quality_review: [", "YAML syntax"),
    ],
)
def test_a_broken_config_names_file_line_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "config" / "enrichment.yml"
    path.parent.mkdir()
    shutil.copyfile(DEFAULT_CONFIG, path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(RuleSetError) as caught:
        load_enrichment_config(path)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.startswith("config/enrichment.yml:") and message in problem, problem
    line = int(problem.split(":")[1])
    assert line > 1
