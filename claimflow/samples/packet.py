"""Write the whole sample packet (out_dir/packet) and its ground truth (out_dir/truth) from one seed.

The packet is what a claims inbox would receive: motor claim forms (text, fillable, scanned), repair
invoices, a policy register, a claims bordereau, and files that must be refused. The truth holds one JSON
per packet file (same relative path + ".json") and expected_claims.json with each motor claim's route.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from claimflow.samples import badfiles, bordereau, forms, invoices, register
from claimflow.samples import scans as scanner
from claimflow.samples.plan import CENT, Expectation, MotorClaim, Policy, make_plan

SCAN_SUFFIX = {"scan_png": ".png", "scan_jpg": ".jpg", "scan_tif": ".tif", "scan_pdf": ".pdf",
               "scan_pdf_with_invoice": ".pdf"}
ODD_NAME = "odd names/Claim #7 (final) ünïcode.pdf"
ODD_NAME_CLAIM = 10  # 0-based index of the claim whose invoice gets the odd file name
FIXED_MTIME = 1_793_523_600  # 2026-11-01 09:00 UTC
DUPLICATED_CLAIM = 0
ENCRYPTED_CLAIM = 1
TRUNCATED_CLAIM = 2


@dataclass(frozen=True, slots=True)
class PacketSummary:
    """Counts of what write_packet wrote."""

    documents: int
    motor_claims: int
    claim_forms: int
    invoices: int
    scans: int
    bad_files: int
    policies: int
    bordereau_rows: int
    routes: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        """Return a one-line human summary."""
        routes = ", ".join(f"{route} {count}" for route, count in sorted(self.routes.items()))
        return (f"{self.documents} documents ({self.claim_forms} claim forms, {self.invoices} invoices, "
                f"{self.scans} scans, {self.bad_files} bad files), {self.motor_claims} motor claims "
                f"({routes}), {self.policies} policies, {self.bordereau_rows} bordereau rows")


class _Writer:
    """Collects packet files and their truth records while the packet is written."""

    def __init__(self, out_dir: Path) -> None:
        self.packet = out_dir / "packet"
        self.truth = out_dir / "truth"
        self.records: dict[str, dict[str, object]] = {}

    def path(self, relative: str) -> Path:
        target = self.packet / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def record(self, relative: str, document_type: str, variant: str, fields: dict[str, str], *,
               status: str = "processed", reason: str | None = None, **extra: object) -> None:
        self.records[relative] = {"file": relative, "document_type": document_type, "fields": fields,
                                  "variant": variant, "expect_status": status, "expect_reason": reason, **extra}

    def write_truth(self, expectations: list[dict[str, object]], seed: int) -> None:
        for relative, record in self.records.items():
            target = self.truth / f"{relative}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        routes: dict[str, int] = {}
        for expectation in expectations:
            route = str(expectation["route"])
            routes[route] = routes.get(route, 0) + 1
        document = {"seed": seed, "routes": routes, "claims": expectations}
        (self.truth / "expected_claims.json").write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_claim_form(writer: _Writer, claim: MotorClaim, index: int, rng: np.random.Generator) -> str:
    """Write the claim form of one claim in its variant; return its relative path."""
    fields = forms.truth_fields(claim)
    number = f"{index + 1:02d}"
    if claim.variant == "text_pdf":
        relative = f"forms/motor_claim_{number}.pdf"
        writer.path(relative).write_bytes(forms.render_form_pdf(claim))
        writer.record(relative, "motor_claim_form", "text_pdf", fields)
    elif claim.variant == "acroform":
        relative = f"forms/fillable_claim_{number}.pdf"
        forms.write_acroform_pdf(claim, writer.path(relative))
        writer.record(relative, "motor_claim_form", "acroform", fields,
                      acroform_field_names={name: canonical for canonical, name in forms.ACROFORM_NAMES.items()})
    elif claim.variant == "scan_pdf_with_invoice" and claim.invoice is not None:
        relative = f"scans/scan_{number}_form_and_invoice.pdf"
        pages = scanner.scan_pdf(forms.render_form_pdf(claim), rng)
        pages += scanner.scan_pdf(invoices.render_invoice_pdf(claim.invoice), rng)
        scanner.write_image_pdf(pages, writer.path(relative))
        writer.record(relative, "motor_claim_form", "scan_pdf_2page", fields, pages=[
            {"page": 1, "document_type": "motor_claim_form", "fields": fields},
            {"page": 2, "document_type": "invoice", "fields": invoices.truth_fields(claim.invoice)},
        ])
    else:
        relative = f"scans/scan_{number}{SCAN_SUFFIX[claim.variant]}"
        image = scanner.scan_pdf(forms.render_form_pdf(claim), rng)[0]
        if relative.endswith(".pdf"):
            scanner.write_image_pdf([image], writer.path(relative))
        else:
            scanner.write_image(image, writer.path(relative))
        writer.record(relative, "motor_claim_form", claim.variant, fields)
    return relative


def _write_invoice(writer: _Writer, claim: MotorClaim, index: int) -> str | None:
    """Write the separate invoice PDF of a claim, if it has one; return its relative path."""
    if claim.invoice is None or claim.variant == "scan_pdf_with_invoice":
        return None
    invoice = claim.invoice
    relative = ODD_NAME if index == ODD_NAME_CLAIM else f"invoices/invoice_{invoice.number}.pdf"
    writer.path(relative).write_bytes(invoices.render_invoice_pdf(invoice))
    writer.record(relative, "invoice", "text_pdf", invoices.truth_fields(invoice), layout=invoice.layout,
                  odd_name=index == ODD_NAME_CLAIM)
    return relative


def _write_bad_files(writer: _Writer, claims: tuple[MotorClaim, ...], form_paths: list[str]) -> int:
    """Write the duplicate and the files that must be quarantined; return how many."""
    original = form_paths[DUPLICATED_CLAIM]
    copy = f"bad/copy of {Path(original).name}"
    shutil.copyfile(writer.packet / original, writer.path(copy))
    writer.record(copy, "motor_claim_form", "exact_copy", forms.truth_fields(claims[DUPLICATED_CLAIM]),
                  status="duplicate", reason="duplicate_document", duplicate_of=original,
                  note="byte copy of duplicate_of; taken after it (later mtime), so this one is the duplicate")
    writer.records[original]["same_bytes_as"] = copy
    badfiles.write_encrypted(forms.render_form_pdf(claims[ENCRYPTED_CLAIM]), writer.path("bad/claim_protected.pdf"))
    badfiles.write_truncated(forms.render_form_pdf(claims[TRUNCATED_CLAIM]), writer.path("bad/claim_form_part.pdf"))
    badfiles.write_empty(writer.path("bad/empty.pdf"))
    badfiles.write_png_as_pdf(writer.path("bad/damage_photo.pdf"))
    badfiles.write_docx(writer.path("bad/notes.docx"))
    bad = (("bad/claim_protected.pdf", "encrypted", "pdf_encrypted"),
           ("bad/claim_form_part.pdf", "truncated", "pdf_corrupt"),
           ("bad/empty.pdf", "empty", "empty_file"),
           ("bad/damage_photo.pdf", "png_renamed_pdf", "extension_mismatch"),
           ("bad/notes.docx", "docx", "unsupported_type"))
    for relative, variant, reason in bad:
        writer.record(relative, "bad", variant, {}, status="quarantined", reason=reason)
    writer.records["bad/claim_protected.pdf"]["password"] = badfiles.USER_PASSWORD
    return len(bad) + 1


def _expectation_record(expectation: Expectation, claim: MotorClaim, documents: list[str]) -> dict[str, object]:
    return {
        "claim_number": expectation.claim_number,
        "policy_number": expectation.policy_number,
        "route": expectation.route,
        "payout": None if expectation.payout is None else str(expectation.payout),
        "currency": claim.currency,
        "reason": expectation.reason,
        "scenario": claim.scenario,
        "documents": documents,
    }


def _write_spreadsheets(writer: _Writer, motor_policies: list[Policy], seed: int) -> tuple[int, int]:
    """Write the bordereau and the register (motor + bordereau policies); return (policies, rows)."""
    rng = random.Random(seed * 7919 + 1)
    header, seed_rows = bordereau.load_seed_rows()
    rows = bordereau.build_rows(header, seed_rows)
    fleet_policies, rows = bordereau.make_policies(rows, rng)
    relative = "bordereau/bordereau_2026_11.xlsx"
    bordereau.write_bordereau(header, rows, writer.path(relative))
    by_number = {policy.number: policy for policy in fleet_policies}
    row_truth = [bordereau.row_truth(row, by_number) for row in rows]
    writer.record(relative, "claims_bordereau", "xlsx", {"sheet": "Claims", "row_count": str(len(rows))},
                  rows=row_truth, corrupted_rows=[row for row in row_truth if row["expect"] in
                                                  ("amounts_inconsistent", "field_missing", "field_invalid")])
    policies = motor_policies + fleet_policies
    register.write_register(policies, writer.path("policy_register.xlsx"))
    writer.record("policy_register.xlsx", "policy_register", "xlsx",
                  {"sheet": "Policies", "row_count": str(len(policies))},
                  policies=[{"policy_number": p.number, "start": p.start.isoformat(), "end": p.end.isoformat(),
                             "limit": str(p.limit.quantize(CENT)),
                             "deductible": str(p.deductible.quantize(CENT)),
                             "currency": p.currency, "status": p.status} for p in policies])
    return len(policies), len(rows)


def _stamp_times(writer: _Writer) -> None:
    """Give every packet file a fixed past mtime: spreadsheets oldest, then claims, the duplicate after its original."""
    order = sorted(writer.records, key=lambda relative: not relative.endswith(".xlsx"))
    for offset, relative in enumerate(order):
        stamp = FIXED_MTIME + 60 * offset
        os.utime(writer.packet / relative, (stamp, stamp))


def write_packet(out_dir: Path, *, seed: int = 7, scans: bool = True) -> PacketSummary:
    """Write out_dir/packet/** and out_dir/truth/** for `seed`; replaces those two folders if present."""
    writer = _Writer(out_dir)
    for folder in (writer.packet, writer.truth):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    plan = make_plan(seed)
    noise = np.random.default_rng(seed)
    form_paths: list[str] = []
    expectations: list[dict[str, object]] = []
    invoice_count = 0
    for index, (claim, expectation) in enumerate(zip(plan.claims, plan.expectations, strict=True)):
        if not scans and claim.variant.startswith("scan"):
            continue
        form = _write_claim_form(writer, claim, index, noise)
        invoice = _write_invoice(writer, claim, index)
        invoice_count += invoice is not None or claim.variant == "scan_pdf_with_invoice"
        form_paths.append(form)
        documents = [form] if invoice is None else [form, invoice]
        expectations.append(_expectation_record(expectation, claim, documents))
    bad_count = _write_bad_files(writer, plan.claims, form_paths)
    policy_count, row_count = _write_spreadsheets(writer, list(plan.policies), seed)
    writer.write_truth(expectations, seed)
    _stamp_times(writer)
    routes: dict[str, int] = {}
    for record in expectations:
        routes[str(record["route"])] = routes.get(str(record["route"]), 0) + 1
    return PacketSummary(
        documents=len(writer.records), motor_claims=len(expectations), claim_forms=len(form_paths),
        invoices=invoice_count, scans=sum(path.startswith("scans/") for path in form_paths),
        bad_files=bad_count, policies=policy_count, bordereau_rows=row_count, routes=routes,
    )
