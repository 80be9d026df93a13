"""Re-scans of a page already seen: signatures, and a real re-render of a claim form at another dpi and skew."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from claimflow.near_duplicates import MIN_SHINGLES, SIMILAR, page_signature, similarity
from claimflow.pipeline import Engine
from claimflow.samples import forms
from claimflow.samples.degrade import Degradation, scan_document, write_scan
from claimflow.samples.plan import MotorClaim, make_plan
from claimflow.settings import load_settings

FORM = """ClaimFlow Mutual Insurance MOTOR CLAIM FORM Policy number: {policy} Claim number: {claim}
Claimant name: {name} Date of loss (DD/MM/YYYY): {loss} Type of loss: glass Amount claimed: {amount}
Currency: EUR Payee IBAN: DE75 4650 7529 1703 4236 67 Description of loss: Windscreen cracked by a stone.
Declaration: I confirm the information above is true. Signature: CF-MCF-01"""


def test_same_words_score_high_and_other_values_on_the_same_form_score_low() -> None:
    first = FORM.format(policy="MP-2026-609064", claim="CLM-2026-608001", name="Priya Rossi", loss="03/07/2026",
                        amount="4,628.00")
    ocr_noise = first.replace("Rossi", "Ross1").replace("Windscreen", "Windscreen,")
    other = FORM.format(policy="MP-2026-577947", claim="CLM-2026-984002", name="Chloe Brien", loss="16/03/2026",
                        amount="1,909.72")
    a, b, c = (page_signature(1, text) for text in (first, ocr_noise, other))
    assert a is not None and b is not None and c is not None
    assert similarity(a.minhash, a.minhash) == 1.0
    assert similarity(a.minhash, b.minhash) >= SIMILAR
    assert similarity(a.minhash, c.minhash) < 0.6
    assert set(a.bands) & set(b.bands)  # found by the indexed lookup
    assert page_signature(1, "PAID " * 3) is None  # too little text to fingerprint
    assert MIN_SHINGLES > 3


def _scan(claim: MotorClaim, degradation: Degradation, path: Path) -> Path:
    pages = scan_document(forms.render_form_pdf(claim), degradation, forms.printed_values(claim), seed=11)
    write_scan(pages, path, degradation)
    return path


@pytest.mark.ocr
def test_a_rescanned_form_resubmitted_under_a_new_claim_number_is_held(tmp_path: Path) -> None:
    plan = make_plan(7)
    original, unrelated = plan.claims[0], plan.claims[1]
    resubmitted = dataclasses.replace(original, claim_number="CLM-2026-999999",
                                      amount_claimed=original.amount_claimed + Decimal("10"))
    inbox = tmp_path / "in"
    inbox.mkdir()
    _scan(original, Degradation("clean", 200), inbox / "a_original.png")
    _scan(unrelated, Degradation("clean", 200), inbox / "b_unrelated.png")
    _scan(resubmitted, Degradation("degraded", 300, skew_degrees=1.5, noise_sigma=8.0, jpeg_quality=60),
          inbox / "c_rescan.jpg")
    settings = load_settings(home=tmp_path / "home", inbox=inbox, stable_seconds=0)
    with Engine.open(settings) as engine:
        engine.run([inbox / "a_original.png"], consume=False)
        engine.run([inbox / "b_unrelated.png"], consume=False)
        result = engine.run([inbox / "c_rescan.jpg"], consume=False)
        claims = {c.claim_id: c for c in result.claims}
        assert list(claims) == ["CLM-2026-999999"]
        held = claims["CLM-2026-999999"]
        assert held.route == "review"
        assert "near_duplicate" in [r.code for r in held.reasons]
        message = next(r.message for r in held.reasons if r.code == "near_duplicate")
        assert original.claim_number in message
        facts = json.loads(engine.repo.decisions("CLM-2026-999999")[-1].facts_json)
        assert facts["near_duplicate_of"] == original.claim_number and facts["near_duplicate_similarity"] >= SIMILAR
        unrelated_facts = json.loads(engine.repo.decisions(unrelated.claim_number)[-1].facts_json)
        assert unrelated_facts["near_duplicate_of"] is None
