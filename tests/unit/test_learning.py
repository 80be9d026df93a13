"""The learning loop: a reviewer's correction becomes a proposed anchor synonym, measured on stored readings."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from claimflow.learning import load_learning_inputs, propose_from_corrections
from claimflow.pipeline import Engine
from claimflow.routing import review_action
from claimflow.settings import PROJECT_ROOT, load_settings
from claimflow.specs import load_specs

ROWS = [
    ("Policy number:", "MP-2026-000111"),
    ("Claim number:", "CLM-2026-{n}"),
    ("Claimant name:", "Ada Example"),
    ("Date of loss (DD/MM/YYYY):", "14/10/2026"),
    ("Type of loss:", "glass"),
    ("Vehicle registration:", "AB12 CDE"),
    ("Sum claimed:", "{amount}"),  # the label our spec does not know
    ("Currency:", "EUR"),
    ("Payee IBAN:", "DE89 3704 0044 0532 0130 00"),
    ("Description of loss:", "Windscreen cracked by a stone."),
    ("Date signed (DD/MM/YYYY):", "16/10/2026"),
]


def _form(path: Path, n: str, amount: str) -> None:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.text(20, 25, "MOTOR CLAIM FORM")
    y = 45
    for label, value in ROWS:
        pdf.set_font("Helvetica", "", 10)
        pdf.text(20, y, label)
        pdf.set_font("Helvetica", "", 11)
        pdf.text(85, y, value.format(n=n, amount=amount))
        y += 10
    pdf.set_font("Helvetica", "", 8)
    pdf.text(20, 280, "Form CF-MCF-01")
    pdf.output(str(path))


def test_a_correction_becomes_a_measured_anchor_proposal(tmp_path: Path) -> None:
    extractors = tmp_path / "extractors"
    shutil.copytree(PROJECT_ROOT / "extractors", extractors)
    docs = tmp_path / "docs"
    docs.mkdir()
    _form(docs / "a.pdf", "000501", "1,234.56")
    _form(docs / "b.pdf", "000502", "980.00")
    settings = load_settings(home=tmp_path / "home", extractors=extractors, stable_seconds=0)
    with Engine.open(settings) as engine:
        result = engine.run([docs], consume=False)
        assert all("amount_claimed" not in d.fields for d in result.documents)  # the machine misses it
        task = next(t for t in engine.repo.open_reviews() if t.claim_id == "CLM-2026-000501")
        review_action(
            engine.repo, task.id or 0, reviewer="alice", action="correct", corrections={"amount_claimed": "1234.56"}
        )
        assert engine.repo.open_reviews()[0].status == "open"  # correcting alone keeps the task open
        corrections, documents, reads = load_learning_inputs(engine.repo, settings.reads_dir)
    assert len(corrections) == 1 and corrections[0].reviewer == "alice"
    proposals = propose_from_corrections(corrections, documents, reads, load_specs(extractors))
    assert len(proposals) == 1
    p = proposals[0]
    assert (p.document_type, p.field_name, p.label) == ("motor_claim_form", "amount_claimed", "Sum claimed:")
    assert (p.right_before, p.right_after, p.corrections) == (0, 1, 1)
    assert p.changed_elsewhere == 1  # the other form now yields its amount too
    assert '+    anchors: ["Amount claimed:", "Sum claimed:"]' in p.diff
    p.spec_path.write_text(p.new_text)
    assert "Sum claimed:" in load_specs(extractors).get("motor_claim_form").fields["amount_claimed"].anchors
