"""Second looks run as one plan: proposals ranked by value under a budget, shared OCR memory, liftable fields only."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from PIL import Image

from claimflow.errors import ConfigError, ReasonCode
from claimflow.extract import extract_documents
from claimflow.models import Extraction, Field, Page, Problem, Provenance, ReadDocument, ReadMethod, Word
from claimflow.readers import RecordedOcr
from claimflow.second_looks import LinesLook, LookContext, PagesLook, Request, SharedOcr, run_looks
from claimflow.settings import PROJECT_ROOT, SECOND_LOOK_BUDGET, load_settings
from claimflow.specs import load_specs

SPECS = load_specs(PROJECT_ROOT / "extractors")


@dataclass
class FakeLook:
    """A step that proposes given requests and spends one OCR call per granted request."""

    name: str
    requests: list[Request]
    ran: list[list[str]] = field(default_factory=list)

    def propose(self, ctx: LookContext) -> list[Request]:
        return list(self.requests)

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        self.ran.append([name for r in granted for name in r.fields])
        for index, _ in enumerate(granted):
            ctx.ocr.ocr_image(Image.new("L", (10 + index, 10), 255), page=1)


def _ctx(budget: int) -> LookContext:
    return LookContext(ReadDocument(), [Extraction("receipt", 1.0)], SPECS, SharedOcr(RecordedOcr()), 0.9, budget)


def _req(step: str, name: str, calls: int, value: float) -> Request:
    return Request(step, (name,), calls, value, "weak", page=1, what="band")


def test_requests_are_granted_by_value_within_the_budget() -> None:
    look = FakeLook("lines", [_req("lines", "issuer", 2, 0.2), _req("lines", "total_amount", 2, 0.9)])
    ctx = _ctx(budget=3)
    (record,) = run_looks(ctx, [look])
    assert look.ran == [["total_amount"]]  # the more valuable one fits, the second would pass the budget
    assert record.fields == ("total_amount",) and record.skipped == ("issuer",)
    assert record.calls == 1 and ctx.spent == 1 and ctx.left == 2


@dataclass
class EditLook:
    """A step that spends one OCR call, then applies `edit` to the document's extraction."""

    name: str
    edit: Callable[[Extraction], None]

    def propose(self, ctx: LookContext) -> list[Request]:
        return [_req(self.name, "issuer", 1, 0.5)]

    def run(self, ctx: LookContext, granted: Sequence[Request]) -> None:
        ctx.ocr.ocr_image(Image.new("L", (10, 10), 255), page=1)
        self.edit(ctx.parts[0])


def _field(name: str, value: object, confidence: float) -> Field:
    return Field(name, value, confidence, Provenance(ReadMethod.OCR, page=1))  # type: ignore[arg-type]


def test_records_name_the_fields_each_step_changed_in_value_or_confidence() -> None:
    ctx = _ctx(budget=10)
    part = ctx.parts[0]
    part.fields["issuer"] = _field("issuer", "ACME", 0.8)
    part.fields["diagnosis_codes"] = _field("diagnosis_codes", ["J45.20"], 0.9)

    def nothing(p: Extraction) -> None:
        p.fields["issuer"] = _field("issuer", "ACME", 0.8)  # a new Field with the same value and confidence

    def doubt(p: Extraction) -> None:
        p.fields["issuer"] = dataclasses.replace(p.fields["issuer"], confidence=0.6)

    def in_place(p: Extraction) -> None:
        p.fields["diagnosis_codes"].value.append("E11.9")  # type: ignore[union-attr]

    def add_and_drop(p: Extraction) -> None:
        p.fields["total_amount"] = _field("total_amount", "12.00", 0.9)
        del p.fields["issuer"]

    looks = [EditLook("lines", nothing), EditLook("clean", doubt), EditLook("rows", in_place),
             EditLook("pages", add_and_drop)]  # fmt: skip
    records = run_looks(ctx, looks)
    assert [(r.step, r.calls, r.changed) for r in records] == [
        ("lines", 1, ()),
        ("clean", 0, ("issuer",)),  # the same pixels again: answered from memory, no call, still a change
        ("rows", 0, ("diagnosis_codes",)),
        ("pages", 0, ("issuer", "total_amount")),
    ]


def test_a_step_with_nothing_granted_does_not_run_and_duplicates_are_asked_once() -> None:
    first = FakeLook("pages", [_req("pages", "total_amount", 2, 1.0), _req("pages", "total_amount", 2, 1.0)])
    second = FakeLook("lines", [_req("lines", "document_date", 5, 0.5)])
    ctx = _ctx(budget=2)
    records = run_looks(ctx, [first, second])
    assert first.ran == [["total_amount"]] and records[0].asked == 1
    assert second.ran == [] and records[1].skipped == ("document_date",) and records[1].calls == 0
    assert run_looks(_ctx(budget=0), [FakeLook("x", [_req("x", "a", 1, 1.0)])])[0].granted == 0


def test_safety_checks_run_whatever_is_left_of_the_budget() -> None:
    check = Request("confirm", ("policy_number",), 3, 0.9, "check", page=1, what="words", safety=True)
    look = FakeLook("confirm", [check, _req("confirm", "issuer", 1, 0.5)])
    ctx = _ctx(budget=0)
    (record,) = run_looks(ctx, [look])
    assert look.ran == [["policy_number"]] and record.skipped == ("issuer",) and ctx.spent == 1


def test_the_same_reading_asked_twice_costs_one_ocr_call_and_gives_separate_pages() -> None:
    engine = RecordedOcr(pages={1: [("TOTAL", (0.1, 0.1, 0.3, 0.2), 0.9)]})
    shared = SharedOcr(engine)
    image = Image.new("L", (50, 40), 255)
    one = shared.ocr_image(image, page=1, psm=6)
    one.problems.append(Problem(ReasonCode.PAGE_ROTATED, "note", page=1))
    two = shared.ocr_image(image.copy(), page=1, psm=6)
    assert engine.calls == [(1, 6)] and shared.saved == 1 and shared.calls == {"first": 1}
    assert two.problems == [] and [w.text for w in two.words] == ["TOTAL"]
    shared.ocr_image(image, page=1, psm=11)  # another psm is another reading
    assert engine.calls == [(1, 6), (1, 11)]


def _weak_receipt() -> tuple[ReadDocument, list[Extraction]]:
    lines = [["SOME", "SHOP", "SDN", "BHD"], ["CASH", "RECEIPT"], ["Date:", "28/02/2014"], ["TOTAL", "12.50"],
             ["THANK", "YOU"]]  # fmt: skip
    words = [
        Word(text, (0.1 + 0.2 * j, 0.1 + 0.05 * i, 0.25 + 0.2 * j, 0.13 + 0.05 * i), 0.6, 0, i)
        for i, line in enumerate(lines)
        for j, text in enumerate(line)
    ]
    read = ReadDocument(pages=[Page(1, 800, 1200, ReadMethod.OCR, words=words, image=Image.new("L", (80, 120)))])
    return read, extract_documents(read, SPECS)


def test_band_rereads_are_proposed_only_for_weak_fields_the_spec_marks_reread() -> None:
    read, parts = _weak_receipt()
    assert {"issuer", "document_date"} <= set(parts[0].fields)
    ctx = LookContext(read, parts, SPECS, SharedOcr(RecordedOcr()), 0.99, 10)
    proposed = {name for request in LinesLook().propose(ctx) for name in request.fields}
    spec = SPECS.get("receipt")
    assert "document_date" in proposed and proposed <= {n for n, f in spec.fields.items() if f.reread}
    assert LinesLook().propose(LookContext(read, parts, SPECS, SharedOcr(RecordedOcr()), 0.0, 10)) == []


def _receipt_without_total(confidence: float) -> tuple[ReadDocument, list[Extraction]]:
    lines = [["SOME", "SHOP", "SDN", "BHD"], ["NO.", "12", "JALAN", "MERDEKA", "KUALA", "LUMPUR"],
             ["CASH", "RECEIPT"], ["Date:", "28/02/2014"], ["THANK", "YOU", "PLEASE", "COME", "AGAIN"]]  # fmt: skip
    words = [
        Word(text, (0.1 + 0.12 * j, 0.1 + 0.05 * i, 0.2 + 0.12 * j, 0.13 + 0.05 * i), confidence, 0, i)
        for i, line in enumerate(lines)
        for j, text in enumerate(line)
    ]
    read = ReadDocument(pages=[Page(1, 800, 1200, ReadMethod.OCR, words=words, image=Image.new("L", (80, 120)))])
    return read, extract_documents(read, SPECS)


def test_a_missing_field_on_a_clean_page_costs_no_whole_page_reading() -> None:
    read, parts = _receipt_without_total(0.95)
    assert parts[0].document_type == "receipt" and "total_amount" not in parts[0].fields
    engine = RecordedOcr()
    assert PagesLook().propose(LookContext(read, parts, SPECS, SharedOcr(engine), 0.9, 10)) == []
    run_looks(LookContext(read, parts, SPECS, SharedOcr(engine), 0.9, 10), [PagesLook()])
    assert engine.calls == []
    read, parts = _receipt_without_total(0.6)  # the same page read poorly: other segmentations may find it
    (request,) = PagesLook().propose(LookContext(read, parts, SPECS, SharedOcr(engine), 0.9, 10))
    assert "total_amount" in request.fields and request.calls == 2


def test_budget_and_backend_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().second_look_budget == SECOND_LOOK_BUDGET
    monkeypatch.setenv("CLAIMFLOW_SECOND_LOOK_BUDGET", "3")
    monkeypatch.setenv("CLAIMFLOW_OCR_BACKEND", "cli")
    settings = load_settings()
    assert settings.second_look_budget == 3 and settings.ocr_backend == "cli"
    monkeypatch.setenv("CLAIMFLOW_OCR_BACKEND", "gpu")
    with pytest.raises(ConfigError, match="CLAIMFLOW_OCR_BACKEND"):
        load_settings()


def test_only_images_asked_alike_are_hashed_to_tell_them_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    from claimflow import second_looks

    hashed: list[tuple[int, int]] = []
    digest = second_looks._digest
    monkeypatch.setattr(second_looks, "_digest", lambda image: hashed.append(image.size) or digest(image))
    engine = RecordedOcr(pages={1: [("TOTAL", (0.1, 0.1, 0.3, 0.2), 0.9)]})
    shared = SharedOcr(engine)
    page = Image.new("L", (300, 200), 255)
    shared.ocr_image(page, page=1, psm=6)
    shared.ocr_image(page, page=1, psm=11)
    shared.ocr_image(Image.new("L", (60, 20), 255), page=1, psm=7)
    assert hashed == [] and len(engine.calls) == 3  # each one of a kind: read, not hashed
    other = page.copy()
    other.putpixel((5, 5), 0)
    shared.ocr_image(other, page=1, psm=6)  # its size and call are the page's: both hashed, other pixels: read
    assert hashed == [(300, 200), (300, 200)] and len(engine.calls) == 4
    shared.ocr_image(page.copy(), page=1, psm=6)  # the page's pixels again: from memory, the page hashed once
    assert hashed == [(300, 200), (300, 200), (300, 200)] and len(engine.calls) == 4 and shared.saved == 1


def test_a_reading_that_failed_is_made_again_when_asked_again() -> None:
    class Failing(RecordedOcr):
        def ocr_image(self, image: Image.Image, *, page: int, psm: int = 6, lang: str = "eng") -> Page:
            if not self.calls:
                self.calls.append((page, psm))
                raise RuntimeError("tesseract died")
            return super().ocr_image(image, page=page, psm=psm, lang=lang)

    engine = Failing(pages={1: [("TOTAL", (0.1, 0.1, 0.3, 0.2), 0.9)]})
    shared = SharedOcr(engine)
    image = Image.new("L", (50, 40), 255)
    with pytest.raises(RuntimeError):
        shared.ocr_image(image, page=1, psm=6)
    assert [w.text for w in shared.ocr_image(image, page=1, psm=6).words] == ["TOTAL"]
    assert engine.calls == [(1, 6), (1, 6)] and shared.saved == 0


def test_names_one_misread_apart_are_held_once_the_looks_are_done() -> None:
    from claimflow.extract_checks import DISAGREE_CAP

    def name(field: str, value: str) -> Field:
        return Field(field, value, 0.99, Provenance(ReadMethod.OCR, page=1))

    # seed 29 full cms1500 016 clean: box 4 `Rodriguez, Anmed L` at 0.989 beside box 2's `Rodriguez, Ahmed L`
    fields = {"patient_name": name("patient_name", "Rodriguez, Ahmed L"),
              "insured_name": name("insured_name", "Rodriguez, Anmed L")}
    part = Extraction("cms1500", 1.0, fields=fields)
    run_looks(LookContext(ReadDocument(), [part], SPECS, SharedOcr(RecordedOcr()), 0.98, 10), [])
    assert [f.confidence for f in part.fields.values()] == [DISAGREE_CAP, DISAGREE_CAP]
    assert [p.field for p in part.problems] == ["patient_name"]
