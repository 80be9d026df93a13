"""The generated claim corpus: many documents of every kind, as text PDFs and degraded scans, with ground truth.

`write_corpus(out_dir, seed=11, size="small")` writes out_dir/docs/<type>/<name>_<variant>.<ext> and
out_dir/truth/<same path>.json (the packet's truth format: file, document_type, fields, variant, degradation, and
pages for multi-page or multi-document files). Kinds: motor claim forms, repair invoices, till receipts, CMS-1500
forms typed over the real blank form and Chinese claim applications (理赔申请书); each as a text PDF, a clean scan and a
degraded scan, a few rotated by 90 or 180 degrees, plus two-page invoices and files holding a claim form, its
invoice and a receipt. Every random choice comes from the seed and the document's name, so the same seed gives
byte-identical files. "small" (~54 files) is for tests and benches, "full" (~300) for calibration.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from claimflow.samples import claim_application_zh, cms1500, cms1500_thirdparty, forms, invoices, receipts
from claimflow.samples.degrade import (
    ROTATIONS,
    Degradation,
    PageRenderer,
    draw_degradation,
    scan_document,
    text_pdf_degradation,
    write_scan,
)
from claimflow.samples.plan import Invoice, MotorClaim, make_claim, make_name
from claimflow.samples.scans import page_count

SIZES: dict[str, dict[str, int]] = {
    "small": {"per_type": 3, "rotated": 1, "two_page": 1, "multi": 1},
    "full": {"per_type": 22, "rotated": 5, "two_page": 5, "multi": 5},
}
TYPES = ("motor_claim_form", "invoice", "receipt", "cms1500", "claim_application_zh")
KINDS = (*TYPES, "cms1500_thirdparty", "bundles")
MARKABLE = {  # fields a stamp or handwriting may cover, per type (single strings printed verbatim)
    "motor_claim_form": ("claim_number", "policy_number", "claimant_name", "date_of_loss", "amount_claimed",
                         "vehicle_registration"),
    "invoice": ("invoice_number", "claim_reference", "total_amount"),
    "receipt": ("invoice_number", "document_date", "total_amount"),
    "cms1500": ("patient_name", "insured_id", "policy_group", "federal_tax_id", "total_charge"),
    "claim_application_zh": ("policy_number", "claim_number", "id_number", "amount_claimed", "payee_account"),
}
FLATTEN_DPIS = (120, 150, 200)
SUFFIXES = {"clean": ("png", "pdf"), "degraded": ("jpg", "pdf", "tif"), "rotated": ("jpg", "png")}


@dataclass(frozen=True, slots=True)
class CorpusSummary:
    """What write_corpus wrote: files by document type and by degradation family, and page count."""

    seed: int
    size: str
    documents: int
    pages: int
    by_type: dict[str, int] = field(default_factory=dict)
    by_family: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        """Return a one-line human summary."""
        types = ", ".join(f"{name} {count}" for name, count in sorted(self.by_type.items()))
        families = ", ".join(f"{name} {count}" for name, count in sorted(self.by_family.items()))
        return f"{self.documents} files, {self.pages} pages (seed {self.seed}, {self.size}): {types}; {families}"


@dataclass(frozen=True, slots=True)
class Source:
    """One rendered document before its variants are written."""

    document_type: str
    name: str
    pdf: bytes
    fields: dict[str, object]
    printed: dict[str, str]
    extra: dict[str, object] = field(default_factory=dict)
    render: PageRenderer | None = None  # how the sheet looks when scanned (default: the PDF as drawn)


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"claimflow-corpus/{seed}/{name}")


def _claim(rng: random.Random, index: int) -> tuple[MotorClaim, Invoice]:
    """Return a planned motor claim and its repair invoice (scenario "settle" always has one)."""
    claim, _ = make_claim(rng, index, "text_pdf", "settle", make_name(rng))
    if claim.invoice is None:
        raise ValueError("a settling motor claim was planned without an invoice")
    return claim, claim.invoice


def _printed_subset(values: dict[str, str], document_type: str) -> dict[str, str]:
    return {name: values[name] for name in MARKABLE[document_type] if name in values}


def _motor_source(seed: int, index: int) -> Source:
    name = f"motor_claim_{index:03d}"
    claim, _ = _claim(_rng(seed, name), index)
    return Source("motor_claim_form", name, forms.render_form_pdf(claim), dict(forms.truth_fields(claim)),
                  _printed_subset(forms.printed_values(claim), "motor_claim_form"))


def _invoice_printed(invoice: Invoice) -> dict[str, str]:
    return {"invoice_number": invoice.number, "claim_reference": invoice.claim_reference,
            "total_amount": forms.format_amount(invoice.total)}


def _invoice_source(seed: int, index: int) -> Source:
    name = f"invoice_{index:03d}"
    _, invoice = _claim(_rng(seed, name), index)
    return Source("invoice", name, invoices.render_invoice_pdf(invoice), dict(invoices.truth_fields(invoice)),
                  _invoice_printed(invoice), {"layout": invoice.layout})


def _receipt_source(seed: int, index: int) -> Source:
    name = f"receipt_{index:03d}"
    rng = _rng(seed, name)
    receipt = receipts.make_receipt(rng, currency=("MYR", "EUR", "GBP", "USD")[index % 4])
    return Source("receipt", name, receipts.render_receipt_pdf(receipt), dict(receipts.truth_fields(receipt)),
                  receipts.printed_values(receipt), {"currency": receipt.currency})


def _cms_source(seed: int, index: int, blank: bytes, labels: cms1500.FormLabels) -> Source:
    name = f"cms1500_{index:03d}"
    claim = cms1500.make_cms_claim(_rng(seed, name))
    placements = cms1500.layout_values(claim, labels)
    label_of = {p.field: p.label for p in placements if p.field in cms1500.truth_fields(claim)}
    return Source("cms1500", name, cms1500.render_cms_pdf(claim, blank, labels), cms1500.truth_fields(claim),
                  cms1500.printed_values(claim), {"font": claim.font, "labels": label_of})


def _application_zh_source(seed: int, index: int) -> Source:
    name = f"claim_application_zh_{index:03d}"
    app = claim_application_zh.make_application(_rng(seed, name), index)
    markable = claim_application_zh.markable_values(app)  # the stamp and Latin pens only cover ASCII values
    return Source("claim_application_zh", name, claim_application_zh.render_application_pdf(app),
                  dict(claim_application_zh.truth_fields(app)), _printed_subset(markable, "claim_application_zh"),
                  {"bilingual": app.bilingual, "cjk_dates": app.cjk_dates})


def _thirdparty_source(seed: int, index: int, filler: str, blank: bytes) -> Source:
    """A CMS-1500 filled by other software (cms1500_thirdparty): only ever seen as an image."""
    name = f"cms1500_{filler}_{index:03d}"
    form = cms1500_thirdparty.make_thirdparty_form(_rng(seed, name), filler)
    if filler == "acroform":
        pdf = cms1500_thirdparty.render_acroform_pdf(form, blank)
        render = cms1500_thirdparty.acroform_renderer()
    else:
        pdf = cms1500_thirdparty.render_preprinted_pdf(form, blank)
        render = cms1500_thirdparty.preprinted_renderer(form, blank)
    # a flattened AcroForm keeps its values in widget appearances, not in the page's text: no stamp or
    # handwriting can be placed on a value there, so its scans carry none
    printed = form.printed() if filler == "preprinted" else {}
    return Source("cms1500", name, pdf, form.truth(), printed, form.record(), render)


def _two_page_source(seed: int, index: int) -> Source:
    name = f"invoice_2page_{index:03d}"
    _, invoice = _claim(_rng(seed, name), 500 + index)
    pdf = forms.new_fpdf()
    pdf.set_title("Invoice")
    invoices.draw_two_page_invoice(pdf, invoice)
    fields: dict[str, object] = dict(invoices.truth_fields(invoice, layout="a"))  # drawn like layout "a"
    pages = [{"page": 1, "document_type": "invoice", "fields": {k: v for k, v in fields.items()
                                                                 if k not in ("total_amount", "tax_amount")}},
             {"page": 2, "document_type": "invoice", "fields": {k: fields[k] for k in ("total_amount", "tax_amount")}}]
    return Source("invoice", name, bytes(pdf.output()), fields, _invoice_printed(invoice), {"pages": pages})


def _multi_source(seed: int, index: int) -> Source:
    name = f"claim_bundle_{index:03d}"
    rng = _rng(seed, name)
    claim, invoice = _claim(rng, 700 + index)
    receipt = receipts.make_receipt(rng)
    pdf = forms.new_fpdf()
    forms.draw_form_page(pdf, claim)
    invoices.draw_invoice_page(pdf, invoice)
    receipts.draw_receipt_page(pdf, receipt)
    fields: dict[str, object] = dict(forms.truth_fields(claim))
    pages = [{"page": 1, "document_type": "motor_claim_form", "fields": fields},
             {"page": 2, "document_type": "invoice", "fields": invoices.truth_fields(invoice)},
             {"page": 3, "document_type": "receipt", "fields": receipts.truth_fields(receipt)}]
    printed = _printed_subset(forms.printed_values(claim), "motor_claim_form")
    return Source("motor_claim_form", name, bytes(pdf.output()), fields, printed,
                  {"pages": pages, "multi_document": True})


class _Writer:
    """Writes documents and their truth files, counting what it wrote."""

    def __init__(self, out_dir: Path, seed: int) -> None:
        self.docs = out_dir / "docs"
        self.truth = out_dir / "truth"
        self.seed = seed
        self.by_type: Counter[str] = Counter()
        self.by_family: Counter[str] = Counter()
        self.pages = 0

    def _target(self, relative: str) -> Path:
        path = self.docs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _record(self, relative: str, source: Source, variant: str, degradation: dict[str, object], pages: int) -> None:
        record: dict[str, object] = {"file": relative, "document_type": source.document_type,
                                     "fields": source.fields, "variant": variant, "degradation": degradation,
                                     "page_count": pages, **source.extra}
        target = self.truth / f"{relative}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.by_type[source.document_type] += 1
        self.by_family[str(degradation["family"])] += 1
        self.pages += pages

    def text_pdf(self, source: Source) -> None:
        relative = f"{source.document_type}/{source.name}_text.pdf"
        self._target(relative).write_bytes(source.pdf)
        self._record(relative, source, "text_pdf", text_pdf_degradation(), page_count(source.pdf))

    def scan(self, source: Source, family: str, salt: int, rotation: int | None = None) -> None:
        rng = _rng(self.seed, f"{source.name}/{family}")
        degradation = draw_degradation(rng, family, sorted(source.printed), rotation)
        if source.extra.get("filler") == "acroform" and family == "clean":
            # flattened by software to an image, at the modest resolutions such exports use
            degradation = replace(degradation, dpi=rng.choice(FLATTEN_DPIS))
        pages = page_count(source.pdf)
        suffix = "pdf" if pages > 1 else rng.choice(SUFFIXES[family])
        if suffix in ("jpg", "pdf") and degradation.jpeg_quality is None:
            degradation = replace(degradation, jpeg_quality=90)
        images = scan_document(source.pdf, degradation, source.printed, seed=self.seed * 1_000_003 + salt,
                               render=source.render)
        relative = f"{source.document_type}/{source.name}_scan_{family}.{suffix}"
        write_scan(images, self._target(relative), degradation)
        self._record(relative, source, f"scan_{family}", _degradation_record(degradation, images), pages)


def _degradation_record(degradation: Degradation, images: list[Image.Image]) -> dict[str, object]:
    record = degradation.to_json()
    record["mode"] = sorted({image.mode for image in images})
    return record


def _sources(seed: int, counts: dict[str, int], cms_blank: Path) -> dict[str, list[Source]]:
    blank = cms1500.load_blank(cms_blank)
    labels = cms1500.FormLabels(blank)
    per_type = counts["per_type"]
    return {
        "motor_claim_form": [_motor_source(seed, index) for index in range(1, per_type + 1)],
        "invoice": [_invoice_source(seed, index) for index in range(1, per_type + 1)],
        "receipt": [_receipt_source(seed, index) for index in range(1, per_type + 1)],
        "cms1500": [_cms_source(seed, index, blank, labels) for index in range(1, per_type + 1)],
        "claim_application_zh": [_application_zh_source(seed, index) for index in range(1, per_type + 1)],
    }


def write_corpus(out_dir: Path, *, seed: int = 11, size: str = "small",
                 cms_blank: Path = cms1500.BLANK_FORM, types: Collection[str] | None = None) -> CorpusSummary:
    """Write out_dir/docs/** and out_dir/truth/** for `seed` and `size` ("small" or "full"); replaces both.

    `types` limits the corpus to some kinds (document types, `cms1500_thirdparty`, `bundles` for the two-page
    and multi-document files); None writes them all. A kind keeps its files whatever else is selected.
    """
    if types is not None and (unknown := set(types) - set(KINDS)):
        raise ValueError(f"unknown corpus kinds {sorted(unknown)}; use some of {list(KINDS)}")
    if size not in SIZES:
        raise ValueError(f"unknown corpus size {size!r}; use one of {sorted(SIZES)}")
    counts = SIZES[size]
    writer = _Writer(out_dir, seed)
    for folder in (writer.docs, writer.truth):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    # Salts (each scan's noise) are counted over every kind, selected or not, so a selection of kinds writes the
    # same bytes as the whole corpus: a bench run with `--types` measures the same scans as a full run.
    salt = 0
    rotated = 0
    for kind, sources in _sources(seed, counts, cms_blank).items():
        for number, source in enumerate(sources):
            salt += 2
            rotate = number < counts["rotated"]
            rotated += rotate
            if types is not None and kind not in types:
                continue
            writer.text_pdf(source)
            writer.scan(source, "clean", salt)
            writer.scan(source, "degraded", salt + 1)
            if rotate:
                writer.scan(source, "rotated", salt + 1_000, rotation=ROTATIONS[rotated % 2])
    if types is None or "cms1500_thirdparty" in types:
        blank = cms1500.load_blank(cms_blank)
        for filler in cms1500_thirdparty.FILLERS:
            for index in range(1, counts["per_type"] + 1):
                source = _thirdparty_source(seed, index, filler, blank)
                stable = 10_000 + 2 * (index + 100 * cms1500_thirdparty.FILLERS.index(filler))
                writer.scan(source, "clean", stable)
                writer.scan(source, "degraded", stable + 1)
    if types is None or "bundles" in types:
        extras = [_two_page_source(seed, index) for index in range(1, counts["two_page"] + 1)]
        extras += [_multi_source(seed, index) for index in range(1, counts["multi"] + 1)]
        for source in extras:
            writer.text_pdf(source)
            salt += 1
            writer.scan(source, "degraded", salt)
    return CorpusSummary(seed=seed, size=size, documents=sum(writer.by_type.values()), pages=writer.pages,
                         by_type=dict(sorted(writer.by_type.items())), by_family=dict(sorted(writer.by_family.items())))
