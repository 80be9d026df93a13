"""Tests of the corpus generator: determinism, truth <-> documents, recorded degradations, CMS-1500 placement."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pdfplumber
import pytest
from PIL import Image

from claimflow.samples import degrade
from claimflow.samples.cms1500 import BLANK_FORM
from claimflow.samples.corpus import FLATTEN_DPIS, CorpusSummary, write_corpus
from claimflow.samples.scans import render_page

Record = dict[str, object]
INCH = 72.0

pytestmark = pytest.mark.skipif(not BLANK_FORM.is_file(), reason="the real blank HCFA-1500 form is not present")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CorpusSummary]:
    out = tmp_path_factory.mktemp("corpus")
    return out, write_corpus(out, seed=11, size="small")


def _hashes(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def _truth(root: Path) -> list[dict[str, object]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted((root / "truth").rglob("*.json"))]


def _degradation(record: dict[str, object]) -> dict[str, object]:
    value = record["degradation"]
    assert isinstance(value, dict)
    return value


def test_same_seed_gives_byte_identical_files(corpus: tuple[Path, CorpusSummary], tmp_path: Path) -> None:
    out, summary = corpus
    again = write_corpus(tmp_path, seed=11, size="small")
    assert again == summary
    first, second = _hashes(out), _hashes(tmp_path)
    assert len(first) == 2 * summary.documents
    assert first == second


def test_summary_counts_a_small_corpus_of_every_kind(corpus: tuple[Path, CorpusSummary]) -> None:
    _, summary = corpus
    assert 45 <= summary.documents <= 80  # with 12 CMS-1500s filled by third-party software
    assert set(summary.by_type) == {"motor_claim_form", "invoice", "receipt", "cms1500", "claim_application_zh"}
    assert set(summary.by_family) == {"text", "clean", "degraded", "rotated"}
    assert summary.pages > summary.documents  # two-page and multi-document files


def test_every_truth_names_an_existing_document_and_back(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    records = _truth(out)
    documents = {path.relative_to(out / "docs").as_posix() for path in (out / "docs").rglob("*") if path.is_file()}
    assert {str(record["file"]) for record in records} == documents
    for record in records:
        assert set(record) >= {"file", "document_type", "fields", "variant", "degradation"}
        assert record["fields"], record["file"]


def test_degradations_are_recorded_and_within_bounds(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    scans = [r for r in _truth(out) if str(r["variant"]).startswith("scan")]
    stamped = handwritten = 0
    for record in scans:
        d = _degradation(record)
        fields = record["fields"]
        assert isinstance(fields, dict)
        assert d["family"] == str(record["variant"]).removeprefix("scan_")
        flattened = record.get("filler") == "acroform" and d["family"] == "clean"
        assert d["dpi"] in (FLATTEN_DPIS if flattened else degrade.DPIS)
        assert abs(float(str(d["skew_degrees"]))) <= degrade.MAX_SKEW
        assert d["rotation"] in ((0,) if d["family"] != "rotated" else degrade.ROTATIONS)
        assert degrade.BLUR_RANGE[0] <= float(str(d["blur_radius"])) <= degrade.BLUR_RANGE[1]
        assert degrade.NOISE_RANGE[0] <= float(str(d["noise_sigma"])) <= degrade.NOISE_RANGE[1]
        quality = d["jpeg_quality"]
        assert quality is None or degrade.JPEG_RANGE[0] <= int(str(quality)) <= degrade.JPEG_RANGE[1]
        assert degrade.FADE_RANGE[0] <= float(str(d["fade"])) <= 1.0
        applied = d["applied"]
        assert isinstance(applied, dict)
        stamp = d["stamp"]
        if stamp is not None:
            assert isinstance(stamp, dict)
            assert stamp["field"] in fields and stamp["color"] in degrade.STAMP_COLORS
            assert degrade.STAMP_OPACITY[0] <= float(str(stamp["opacity"])) <= degrade.STAMP_OPACITY[1]
            assert "stamp" in applied and "RGB" in d["mode"]  # type: ignore[operator]
            stamped += 1
        handwriting = d["handwriting_fields"]
        assert isinstance(handwriting, list) and set(handwriting) <= set(fields)
        if handwriting:
            assert set(applied["handwriting"]) == set(handwriting)
            handwritten += 1
        if d["family"] == "clean":
            clean = (d["skew_degrees"], d["noise_sigma"], d["blur_radius"], d["fade"], stamp)
            assert clean == (0.0, 0.0, 0.0, 1.0, None)
    assert stamped >= 2 and handwritten >= 2


def _text_twin(out: Path, record: dict[str, object]) -> Path:
    name = Path(str(record["file"])).name.split("_scan_")[0] + "_text.pdf"
    return (out / "docs" / str(record["file"])).with_name(name)


def test_scan_images_have_the_recorded_resolution(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    for record in _truth(out):
        path = out / "docs" / str(record["file"])
        d = _degradation(record)
        if path.suffix == ".pdf" or d["family"] == "text":
            continue
        twin = BLANK_FORM if record.get("filler") else _text_twin(out, record)  # third-party fills have no text PDF
        with pdfplumber.open(twin) as pdf:
            page_width, page_height = float(pdf.pages[0].width), float(pdf.pages[0].height)
        dpi = int(str(d["dpi"]))
        with Image.open(path) as image:
            assert round(float(image.info["dpi"][0])) == dpi, record["file"]
            width, height = image.size if d["rotation"] in (0, 180) else image.size[::-1]
        assert abs(width - page_width / 72 * dpi) < 3 and abs(height - page_height / 72 * dpi) < 3, record["file"]


def _ink(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    small = image.convert("L").resize(size, Image.Resampling.BOX)
    return 1.0 - np.asarray(small, dtype=np.float64) / 255.0


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_rotated_variants_really_are_rotated(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    rotated = [r for r in _truth(out) if r["variant"] == "scan_rotated"]
    assert {_degradation(r)["rotation"] for r in rotated} == {90, 180}
    for record in rotated:
        angle = int(str(_degradation(record)["rotation"]))
        original = render_page(_text_twin(out, record).read_bytes(), 0, dpi=40)
        with Image.open(out / "docs" / str(record["file"])) as scan:
            if angle == 90:
                assert scan.width > scan.height
            size = scan.size[0] // 24, scan.size[1] // 24
            seen = _ink(scan, size)
        turned = _ink(original.rotate(angle, expand=True), size)
        wrong = _ink(original.rotate((angle + 180) % 360, expand=True), size)
        assert _correlation(seen, turned) > 0.4, record["file"]
        assert _correlation(seen, turned) > _correlation(seen, wrong) + 0.2, record["file"]


def _label_box(words: list[dict[str, object]], label: str) -> tuple[float, float, float, float]:
    wanted = label.replace("\u2019", "'").split()
    texts = [str(w["text"]).replace("\u2019", "'") for w in words]
    for start in range(len(words) - len(wanted) + 1):
        if texts[start : start + len(wanted)] == wanted:
            run = words[start : start + len(wanted)]
            return (min(float(str(w["x0"])) for w in run), min(float(str(w["top"])) for w in run),
                    max(float(str(w["x1"])) for w in run), max(float(str(w["bottom"])) for w in run))
    raise AssertionError(f"label {label!r} not on the page")


def _gap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    dx = max(0.0, b[0] - a[2], a[0] - b[2])
    dy = max(0.0, b[1] - a[3], a[1] - b[3])
    return float(np.hypot(dx, dy))


def _box(word: dict[str, object]) -> tuple[float, float, float, float]:
    return (float(str(word["x0"])), float(str(word["top"])), float(str(word["x1"])), float(str(word["bottom"])))


def test_cms_values_sit_inside_the_page_near_their_labels(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    with pdfplumber.open(BLANK_FORM) as pdf:
        blank_words = pdf.pages[0].extract_words()
    records = [r for r in _truth(out) if r["document_type"] == "cms1500" and r["variant"] == "text_pdf"]
    assert records
    for record in records:
        fields, labels = record["fields"], record["labels"]
        assert isinstance(fields, dict) and isinstance(labels, dict)
        with pdfplumber.open(out / "docs" / str(record["file"])) as pdf:
            page = pdf.pages[0]
            words = page.extract_words()
            width, height = float(page.width), float(page.height)
        blank_boxes = [_box(w) for w in blank_words]
        values = [w for w in words if _box(w) not in blank_boxes]
        for word in values:  # typed values stay on the page and never cover a printed label
            x0, top, x1, bottom = _box(word)
            assert 0 <= x0 < x1 <= width and 0 <= top < bottom <= height
            assert all(_gap((x0, top, x1, bottom), box) > 0 or box[2] - box[0] < 1 for box in blank_boxes), word
        scalars = {name: str(value) for name, value in fields.items() if isinstance(value, str)}
        scalars["diagnosis_codes"] = str(fields["diagnosis_codes"][0])
        scalars["patient_birth_date"] = str(fields["patient_birth_date"])[:4]
        for name, value in scalars.items():
            first = value.split()[0]
            hits = [w for w in values if w["text"] == first]
            assert hits, f"{record['file']}: {name} value {first!r} not in the text layer"
            label = _label_box(words, str(labels[name]))
            assert min(_gap(_box(w), label) for w in hits) <= 2 * INCH, (record["file"], name)
        total = sum(Decimal(line["charge"]) for line in fields["service_lines"])
        assert str(total) == fields["total_charge"]
        service = _label_box(words, "DATE(S) OF SERVICE")
        for number, line in enumerate(fields["service_lines"], start=1):  # row i sits on the line of marker i
            marker = next(_box(w) for w in words if w["text"] == str(number) and float(str(w["x1"])) < service[0])
            codes = [_box(w) for w in values if w["text"] == line["procedure_code"]]
            assert any(abs((c[1] + c[3]) / 2 - (marker[1] + marker[3]) / 2) < 12 and c[0] > service[2] for c in codes)


def test_multi_document_and_two_page_files(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    records = _truth(out)
    bundles = [r for r in records if r.get("multi_document")]
    two_page = [r for r in records if "2page" in str(r["file"])]
    assert bundles and two_page
    for record in bundles + two_page:
        pages = record["pages"]
        assert isinstance(pages, list)
        assert record["page_count"] == len(pages)
        if record["variant"] == "text_pdf":
            with pdfplumber.open(out / "docs" / str(record["file"])) as pdf:
                assert len(pdf.pages) == len(pages)
                if record.get("multi_document"):
                    assert [p["document_type"] for p in pages] == ["motor_claim_form", "invoice", "receipt"]
                    assert float(pdf.pages[2].width) < 80 / 25.4 * 72 + 1  # the receipt is a till roll
                    assert "MOTOR CLAIM FORM" in (pdf.pages[0].extract_text() or "")


def test_receipts_are_narrow_and_print_their_truth(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    receipts = [r for r in _truth(out) if r["document_type"] == "receipt" and r["variant"] == "text_pdf"]
    assert len({r["fields"]["currency"] for r in receipts}) >= 3  # type: ignore[index]
    for record in receipts:
        fields = record["fields"]
        assert isinstance(fields, dict)
        with pdfplumber.open(out / "docs" / str(record["file"])) as pdf:
            page = pdf.pages[0]
            text = page.extract_text() or ""
            assert float(page.width) < 230 and float(page.height) > float(page.width)
        assert fields["issuer"] in text and fields["invoice_number"] in text
        assert f"{Decimal(fields['total_amount']):,.2f}" in text and f"{Decimal(fields['tax_amount']):,.2f}" in text
        assert Decimal(fields["tax_amount"]) < Decimal(fields["total_amount"])


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown corpus size"):
        write_corpus(tmp_path, size="huge")


def test_invoice_text_truth_is_as_printed(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    invoices = [r for r in _truth(out) if r["document_type"] == "invoice" and r["variant"] == "text_pdf"]
    assert invoices
    for record in invoices:
        fields = record["fields"]
        assert isinstance(fields, dict)
        with pdfplumber.open(out / "docs" / str(record["file"])) as pdf:
            text = " ".join((page.extract_text() or "") for page in pdf.pages)
        for name in ("issuer", "invoice_number", "claim_reference"):
            assert fields[name] in text, (record["file"], name)
        lines = text.splitlines()
        address = str(fields["issuer_address"])
        # one printed line (layout c: `street - town - country`) or consecutive printed lines joined by ", "
        assert address in text or ", ".join(address.split(", ")) in ", ".join(lines), (record["file"], address)


def test_multi_document_parts_carry_their_own_truth(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    for record in (r for r in _truth(out) if r.get("multi_document")):
        pages = record["pages"]
        assert isinstance(pages, list)
        kinds = {p["document_type"]: set(p["fields"]) for p in pages}
        assert "tax_amount" in kinds["invoice"] and "tax_amount" not in kinds["motor_claim_form"]
        assert "issuer_address" not in kinds["motor_claim_form"]


def test_skew_pushing_text_off_the_page_is_recorded_as_illegible() -> None:
    size = (1000, 1400)
    assert degrade._cut_off((20, 10, 300, 40), size, 5.0)  # top-left corner: turned out of the frame
    assert not degrade._cut_off((400, 600, 600, 640), size, 5.0)  # the middle stays
    assert not degrade._cut_off((20, 10, 300, 40), size, 0.0)


def test_third_party_cms_forms_come_in_both_fillers_as_images_only(corpus: tuple[Path, CorpusSummary]) -> None:
    out, _ = corpus
    records = [r for r in _truth(out) if r.get("filler")]
    assert {r["filler"] for r in records} == {"acroform", "preprinted"}
    assert {str(r["variant"]) for r in records} == {"scan_clean", "scan_degraded"}
    for record in records:
        fields = record["fields"]
        assert isinstance(fields, dict) and record["document_type"] == "cms1500"
        assert all("." in code or len(code) == 3 for code in fields["diagnosis_codes"])  # canonical, dotted
        path = out / "docs" / str(record["file"])
        if path.suffix == ".pdf":  # an image-only PDF: the values are pixels, not text
            with pdfplumber.open(path) as pdf:
                assert not pdf.pages[0].extract_words()
    printed = [r for r in records if r["filler"] == "preprinted"]
    assert any(abs(float(str(v))) > 1.0 for r in printed for v in r["print_offset_pt"])  # type: ignore[attr-defined]


def test_selected_kinds_write_the_same_bytes_as_the_whole(corpus: tuple[Path, CorpusSummary], tmp_path: Path) -> None:
    out, _ = corpus
    # the last document type's scans too: their noise must not depend on which kinds came before
    write_corpus(tmp_path, seed=11, size="small", types=["cms1500_thirdparty", "claim_application_zh"])
    selected = _hashes(tmp_path / "docs")
    whole = _hashes(out / "docs")
    assert any("zh" in name or "application" in name for name in selected)
    assert selected and all(whole[name] == digest for name, digest in selected.items())
    with pytest.raises(ValueError, match="unknown corpus kinds"):
        write_corpus(tmp_path, seed=11, size="small", types=["cms1501"])
