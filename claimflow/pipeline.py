"""The path of a document, stage by stage: intake -> read -> classify/extract -> assemble -> decide -> route.

`Engine` holds the resources (settings, repository, specs, compiled rules, OCR engine) and is the one
place that orders the stages. A bad document is a result (quarantine or review), never an exception;
the only broad `except` is here, per document, and turns the unexpected into a review plus an audit event.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import logging
import threading
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from claimflow import assemble, intake, routing
from claimflow.decide import CompiledRuleSet, compile_ruleset
from claimflow.enrich import AmountHistory, EnrichmentConfig, load_enrichment_config
from claimflow.errors import ClaimFlowError, DocumentError, ReasonCode
from claimflow.extract import extract_documents
from claimflow.models import DocumentStatus, Extraction, Problem, ReadDocument, ReadMethod
from claimflow.near_duplicates import page_signatures
from claimflow.readers import read_document
from claimflow.readers.ocr import OcrEngine, TesseractOcr, check_tesseract
from claimflow.replay import archive_versions, shadow_decide
from claimflow.rules import RuleSet, load_candidate, load_versions, pick_version
from claimflow.second_looks import LookContext, LookRecord, SharedOcr, run_looks
from claimflow.serialise import extraction_to_json, public_field, read_from_json, read_to_json, stored_extractions
from claimflow.settings import SECOND_LOOK_BUDGET, Settings
from claimflow.sniff import sniff_file
from claimflow.specs import SpecSet, load_specs
from claimflow.store.repository import Repository
from claimflow.store.tables import DocumentRow, utcnow

log = logging.getLogger(__name__)

PRELOAD_COPIES = 2
"""Copies of each model `Engine.preload_ocr` loads: one per thread that reads at once (the watcher's two sweeps)."""



@dataclass(slots=True)
class DocumentOutcome:
    """What happened to one file; `status` is processed, duplicate, quarantined or waiting."""

    file: str
    sha256: str | None
    status: str
    reason_code: str | None = None
    reason: str | None = None
    document_id: int | None = None
    document_type: str | None = None
    pages: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    claim_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the public `--json` form."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "status": self.status,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "document_id": self.document_id,
            "document_type": self.document_type,
            "pages": self.pages,
            "fields": self.fields,
            "claim_ids": self.claim_ids,
        }


@dataclass(slots=True)
class BatchResult:
    """Documents and claims of one run."""

    documents: list[DocumentOutcome] = field(default_factory=list)
    claims: list[routing.ClaimOutcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the public `--json` object: documents, claims, summary."""
        return {
            "documents": [d.to_json() for d in self.documents],
            "claims": [c.to_json() for c in self.claims],
            "summary": summarise_batch(self),
        }


def summarise_batch(result: BatchResult) -> dict[str, Any]:
    """Return counts per document status and claim route, the STP rate and top reasons: no personal data."""
    statuses: dict[str, int] = {}
    for doc in result.documents:
        statuses[doc.status] = statuses.get(doc.status, 0) + 1
    routes: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for claim in result.claims:
        routes[claim.route] = routes.get(claim.route, 0) + 1
        for reason in {r.code for r in claim.reasons}:
            reasons[reason] = reasons.get(reason, 0) + 1
    decided = len(result.claims)
    settled = routes.get("settle", 0)
    return {
        "documents": len(result.documents),
        "documents_by_status": dict(sorted(statuses.items())),
        "claims": decided,
        "claims_by_route": dict(sorted(routes.items())),
        "stp_rate": round(settled / decided, 4) if decided else 0.0,
        "top_reasons": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
    }


class Engine:
    """The claims engine with its resources; build with `Engine.open(settings)`."""

    def __init__(
        self,
        settings: Settings,
        repo: Repository,
        specs: SpecSet,
        ruleset: RuleSet,
        compiled: CompiledRuleSet,
        enrichment: EnrichmentConfig | None = None,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.specs = specs
        self.ruleset = ruleset
        self.compiled = compiled
        self.versions: list[RuleSet] = [ruleset]
        self._by_sha: dict[str, CompiledRuleSet] = {ruleset.sha256: compiled}
        self.shadow: CompiledRuleSet | None = None
        self.enrichment = enrichment or load_enrichment_config(settings.enrichment)
        self.ocr = engine_ocr(settings, specs)

    @classmethod
    def open(cls, settings: Settings, *, check_ocr: bool = True, preload: bool = False) -> Engine:
        """Load specs and rules (stop on any problem), check tesseract, open the database.

        `preload`: load every OCR model the specs name in a background thread (`preload_ocr`), for a long-running
        engine whose first scanned page should not wait for them; the engine is usable at once.
        """
        specs = load_specs(settings.extractors)
        versions = load_versions(settings.rules)
        ruleset = pick_version(versions, settings.rules, on=date.today())
        compiled = compile_ruleset(ruleset)
        shadow = compile_ruleset(load_candidate(settings.shadow_rules)) if settings.shadow_rules else None
        enrichment = load_enrichment_config(settings.enrichment)
        if check_ocr:
            check_tesseract()
        settings.home.mkdir(parents=True, exist_ok=True)
        repo = Repository.open(settings.db_url)
        engine = cls(settings, repo, specs, ruleset, compiled, enrichment)
        engine.versions = versions
        engine.shadow = shadow
        # every version that may decide stays loadable by its hash, whatever happens to the files later
        archive_versions(repo, [*versions, *([shadow.ruleset] if shadow else [])])
        if preload:
            threading.Thread(target=engine.preload_ocr, name="claimflow-ocr-preload", daemon=True).start()
        return engine

    def preload_ocr(self, copies: int = PRELOAD_COPIES) -> int:
        """Load the OCR models the specs may read with (`ocr_models`), `copies` of each; return how many loaded.

        Each model costs 0.15-0.25 s to load, on first use otherwise: 28 models (languages, osd, accent, confirm
        and vote models) took 3.9 s of one thread, which a server's first scanned documents would wait for.
        """
        if not isinstance(self.ocr, TesseractOcr):
            return 0
        loaded = self.ocr.preload(ocr_models(self.specs), copies=copies)
        log.info("%d OCR models loaded ahead of the first scanned page", loaded)
        return loaded

    def compiled_for(self, day: date) -> CompiledRuleSet:
        """Return the rule set version in force on `day`, compiled (the one loaded at start for today)."""
        ruleset = pick_version(self.versions, self.settings.rules, on=day, name=self.ruleset.name)
        if ruleset.sha256 not in self._by_sha:
            self._by_sha[ruleset.sha256] = compile_ruleset(ruleset)
        return self._by_sha[ruleset.sha256]

    def close(self) -> None:
        """Release the database."""
        self.repo.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the whole chain
    def run(self, paths: Sequence[Path], *, consume: bool) -> BatchResult:
        """Process files or folders, then decide every claim they touched."""
        result = BatchResult()
        result.documents.extend(self.resume_pending())
        files = self.discover(paths)
        roots = [p for p in paths if p.is_dir()]
        with ThreadPoolExecutor(max_workers=self.settings.ocr_workers) as pool:
            outcomes = list(pool.map(lambda p: self.process_file(p, consume=consume, roots=roots), files))
        result.documents.extend(outcomes)
        touched = sorted({cid for doc in result.documents if doc.status == "processed" for cid in doc.claim_ids})
        result.claims = self.decide_claims(touched)
        return result

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        """Return candidate files under the given paths, sorted, ignoring README, hidden and temporary files."""
        return intake.discover_files(paths)

    # ------------------------------------------------------------------ one document
    def process_file(self, path: Path, *, consume: bool, roots: Sequence[Path] = ()) -> DocumentOutcome:
        """Take one file in and process it; never raises for a bad document."""
        name = _display_name(path, roots or [self.settings.inbox])
        if not path.exists():
            return DocumentOutcome(name, None, "waiting", "file_not_stable", "the file disappeared before intake")
        if not intake.is_stable(path, self.settings.stable_seconds if consume else 0.0):
            return DocumentOutcome(
                name, None, "waiting", ReasonCode.FILE_NOT_STABLE.value, "still being written; taken on the next sweep"
            )
        sha = intake.hash_file(path)
        taken = self._take_in(path, name, sha, consume=consume)
        if taken is not None:
            return taken
        row = self._document_by_sha(sha)
        return self.process_document(row.id or 0, display_name=name)

    def _document_by_sha(self, sha: str) -> DocumentRow:
        with self.repo.reading() as s:
            row = self.repo.document_by_sha(s, sha)
        if row is None:  # pragma: no cover - recorded just before
            raise ClaimFlowError(f"document {sha[:12]} vanished from the database")
        return row

    def _take_in(self, path: Path, name: str, sha: str, *, consume: bool) -> DocumentOutcome | None:
        """Record the file once; return an outcome when there is nothing more to do (duplicate, quarantine)."""
        with self.repo.transaction() as s:
            existing = self.repo.document_by_sha(s, sha)
            if existing is not None and existing.status != DocumentStatus.RECEIVED:
                claim_ids = self.repo.claim_ids_of_document(s, existing.id or 0)
                outcome = DocumentOutcome(
                    name,
                    sha,
                    DocumentStatus.DUPLICATE.value,
                    ReasonCode.DUPLICATE_DOCUMENT.value,
                    f"same content as document {existing.id} ({existing.status}); not processed again",
                    document_id=existing.id,
                    document_type=existing.document_type,
                    claim_ids=claim_ids,
                )
            elif existing is not None:
                outcome = None  # taken before a crash: resume from the archive
            else:
                outcome = self._record_new(s, path, name, sha)
        if consume:
            intake.remove_from_inbox(path)
        return outcome

    def _record_new(self, s: Any, path: Path, name: str, sha: str) -> DocumentOutcome | None:
        archived = intake.archive_file(path, sha, self.settings.archive_dir)
        row = DocumentRow(
            sha256=sha,
            original_name=name,
            source_path=str(path),
            size=path.stat().st_size,
            archive_path=str(archived),
            status=DocumentStatus.RECEIVED.value,
        )
        try:
            row.kind = sniff_file(path).value
        except DocumentError as exc:
            self._quarantine_row(s, row, archived, exc.reason_code.value, exc.message)
            return DocumentOutcome(name, sha, row.status, row.reason_code, row.reason, document_id=row.id, pages=None)
        s.add(row)
        s.flush()
        self.repo.audit(
            s,
            actor="system",
            action="document_received",
            entity="document",
            entity_id=row.id or 0,
            data={"sha256": sha, "kind": row.kind, "size": row.size},
        )
        return None

    def _quarantine_row(self, s: Any, row: DocumentRow, source: Path, code: str, message: str) -> None:
        qpath = intake.quarantine_file(
            source, row.sha256, code, message, self.settings.quarantine_dir, original_name=Path(row.original_name).name
        )
        row.status = DocumentStatus.QUARANTINED.value
        row.reason_code = code
        row.reason = message
        row.updated_at = utcnow()
        s.add(row)
        s.flush()
        self.repo.audit(
            s,
            actor="system",
            action="document_quarantined",
            entity="document",
            entity_id=row.id or 0,
            reason=code,
            data={"sha256": row.sha256, "quarantine": qpath.name},
        )

    def resume_pending(self) -> list[DocumentOutcome]:
        """Process documents that were taken in but not finished (after a crash)."""
        return [
            self.process_document(row.id or 0, display_name=row.original_name)
            for row in self.repo.documents_in_status(DocumentStatus.RECEIVED.value)
        ]

    def process_document(self, document_id: int, *, display_name: str | None = None) -> DocumentOutcome:
        """Read, classify and extract a recorded document, then link it to its claims."""
        row = self.repo.document(document_id)
        if row is None:
            raise ClaimFlowError(f"document {document_id} is not in the database")
        name = display_name or row.original_name
        archived = Path(row.archive_path or "")
        try:
            read, parts = read_and_extract(
                archived,
                self.ocr,
                self.specs,
                threshold=self.settings.look_threshold,
                budget=self.settings.second_look_budget,
            )
            if read.pages:
                save_read(self.settings.reads_dir, row.sha256, read)
        except DocumentError as exc:
            message = exc.message.replace(archived.name, Path(row.original_name).name)  # readers saw the archive copy
            with self.repo.transaction() as s:
                fresh = s.get(DocumentRow, document_id)
                if fresh is not None:
                    self._quarantine_row(s, fresh, archived, exc.reason_code.value, message)
            return DocumentOutcome(
                name,
                row.sha256,
                DocumentStatus.QUARANTINED.value,
                exc.reason_code.value,
                message,
                document_id=document_id,
            )
        except Exception as exc:  # noqa: BLE001 - the one per-document boundary: unexpected -> review, not lost
            log.error("document %s: unexpected error %s", document_id, type(exc).__name__)
            log.debug("%s", traceback.format_exc())
            read = ReadDocument()
            parts = [
                Extraction(
                    document_type="unknown",
                    type_confidence=0.0,
                    problems=[
                        Problem(
                            ReasonCode.EXTRACTION_ERROR, f"reading failed ({type(exc).__name__}); a person must look"
                        )
                    ],
                )
            ]
        return self._store_extraction(document_id, name, read, parts)

    def _store_extraction(
        self, document_id: int, name: str, read: ReadDocument, parts: list[Extraction]
    ) -> DocumentOutcome:
        """Store the extraction(s) of a document, load policies, link claims, mark it processed (one transaction)."""
        first = parts[0]  # reading problems (file and pages) are kept with the first document of the file
        first.problems = [*read.problems, *(p for page in read.pages for p in page.problems), *first.problems]
        signatures = page_signatures(read.pages)
        with self.repo.transaction() as s:
            for sig in signatures:
                self.repo.add_page_signature(s, document_id, sig.page, sig.shingles, sig.minhash, sig.bands)
            row = s.get(DocumentRow, document_id)
            if row is None:  # pragma: no cover
                raise ClaimFlowError(f"document {document_id} vanished")
            links: list[assemble.ClaimLink] = []
            for index, part in enumerate(parts):
                part_links = assemble.claim_links(part, row.sha256 if index == 0 else f"{row.sha256}-{index}")
                if len(parts) > 1:  # the link's record names the part of a split file
                    part_links = [dataclasses.replace(link, record=index) for link in part_links]
                links.extend(part_links)
                if part.document_type in assemble.REFERENCE_DATA:
                    loaded = routing.load_policies(self.repo, s, part, document_id)
                    log.info("document %s: %d policies loaded", document_id, loaded)
            for link in links:
                routing.ensure_claim(self.repo, s, link, document_id)
            row.status = DocumentStatus.PROCESSED.value
            row.document_type = "+".join(part.document_type for part in parts)
            row.type_confidence = min(part.type_confidence for part in parts)
            row.pages = len(read.pages) or len(read.sheets) or None
            stored = [extraction_to_json(part) for part in parts]
            row.extraction_json = _dumps(stored[0] if len(stored) == 1 else {"parts": stored})
            row.updated_at = utcnow()
            s.add(row)
            self.repo.audit(
                s,
                actor="system",
                action="document_processed",
                entity="document",
                entity_id=document_id,
                data={
                    "document_type": row.document_type,
                    "claims": len(links),
                    "problems": sum(len(p.problems) for p in parts),
                },
            )
        fields: dict[str, Any] = {}
        for part in reversed(parts):  # the first part's fields win
            fields.update({n: public_field(f) for n, f in part.fields.items()})
        return DocumentOutcome(
            name,
            row.sha256,
            DocumentStatus.PROCESSED.value,
            document_id=document_id,
            document_type=row.document_type,
            pages=row.pages,
            fields=fields,
            claim_ids=sorted({link.claim_id for link in links}),
        )

    # ------------------------------------------------------------------ claims
    def decide_claims(self, claim_ids: Sequence[str], *, on: date | None = None) -> list[routing.ClaimOutcome]:
        """Decide (or re-decide, while no person has it) each claim and route it."""
        today = on or datetime.now(UTC).date()
        compiled = self.compiled_for(today)
        cache: dict[int, list[Extraction]] = {}
        histories: dict[str, AmountHistory] = {}
        outcomes = []
        for claim_id in claim_ids:
            outcomes.append(
                routing.decide_and_route(
                    self.repo,
                    claim_id,
                    compiled,
                    settings=self.settings,
                    processing_date=today,
                    cache=cache,
                    enrichment=self.enrichment,
                    histories=histories,
                )
            )
            if self.shadow is not None:  # stored next to the live decision, never acted on
                shadow_decide(self.repo, claim_id, self.shadow)
        return outcomes

    def open_claim_ids(self) -> list[str]:
        """Return claims that wait for documents or were never decided."""
        return [c.claim_id for c in self.repo.claims(["received", "pending_documents"])]

    def status(self) -> dict[str, Any]:
        """Return what is in the system now: documents by status, claims by status, review backlog."""
        return self.repo.counts()

    def extraction_of(self, document_id: int) -> Extraction | None:
        """Return the stored extraction of a document."""
        row = self.repo.document(document_id)
        if row is None or not row.extraction_json:
            return None
        return stored_extractions(json.loads(row.extraction_json))[0]


def ocr_models(specs: SpecSet) -> list[str]:
    """Return every tesseract model the specs may read with: eng, osd, their languages, accent, confirm, vote."""
    models = ["eng", "osd", *specs.ocr_languages()]
    for spec in specs.ordered():
        models += spec.ocr.accents
        models += [model for field_spec in spec.fields.values() for model in (*field_spec.confirm, *field_spec.vote)]
    return list(dict.fromkeys(models))


def engine_ocr(settings: Settings, specs: SpecSet) -> TesseractOcr:
    """Return the engine's OCR reader: the settings' time-out and every language the specs name.

    Benches build their reader here too: one built without the specs' languages reads Chinese scans as eng,
    and they are then not classified.
    """
    return TesseractOcr(
        timeout_seconds=settings.ocr_timeout_seconds, languages=specs.ocr_languages(), backend=settings.ocr_backend
    )


def read_and_extract(
    path: Path,
    ocr: OcrEngine,
    specs: SpecSet,
    *,
    threshold: float,
    calibrate: bool = True,
    budget: int = SECOND_LOOK_BUDGET,
    looks: list[LookRecord] | None = None,
    ocr_usage: dict[str, tuple[int, float, float]] | None = None,
    helper_cpu: list[float] | None = None,
) -> tuple[ReadDocument, list[Extraction]]:
    """Read a file and extract its document(s), reading OCR pages again where a field needs it.

    The second readings are one plan (claimflow.second_looks): each step proposes re-reads for the fields that
    need them, and they run by expected value within `budget` OCR calls for the document
    (`Settings.second_look_budget`). `looks`, when given, receives what each step asked for and spent;
    `ocr_usage` the OCR calls made per step (`first` is the first reading, `first:osd` its orientation queries)
    with their wall and thread CPU seconds (SharedOcr.usage); `helper_cpu` the thread CPU seconds of the idle cores
    the document's independent reads borrowed (`SharedOcr.map`: their calls are counted in `ocr_usage`, but the
    calling thread's CPU time leaves them out). While the document is read it holds one of the OCR engine's cores.
    The final confidences are calibrated with the extractors' fitted curves (claimflow.calibration), so
    they are probabilities; `calibrate=False` keeps the raw scores (used to fit the curves).
    """
    shared = SharedOcr(ocr)
    with shared.cores.reading() if shared.cores is not None else contextlib.nullcontext():
        read = read_document(path, sniff_file(path), shared)
        parts = extract_documents(read, specs)
        if any(page.method is ReadMethod.OCR and page.image is not None for page in read.pages):
            ctx = LookContext(read, parts, specs, shared, threshold, budget)
            run_looks(ctx)
            parts = ctx.parts
            if looks is not None:
                looks.extend(ctx.records)
    if ocr_usage is not None:
        ocr_usage.update(shared.usage())
    if helper_cpu is not None:
        helper_cpu.extend(shared.helper_cpu)
    if calibrate and specs.calibration is not None:
        specs.calibration.apply(parts)
    for page in read.pages:
        page.image = None  # images are kept only while the document is being read
    return read, parts


def save_read(reads_dir: Path, sha256: str, read: ReadDocument) -> Path:
    """Keep the words and boxes of a read document (gzip JSON by sha256) so it can be re-extracted without OCR."""
    path = reads_dir / f"{sha256}.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(gzip.compress(json.dumps(read_to_json(read), separators=(",", ":")).encode(), mtime=0))
    tmp.replace(path)
    return path


def load_read(reads_dir: Path, sha256: str) -> ReadDocument | None:
    """Return a stored reading, or None when the document was never read into pages."""
    path = reads_dir / f"{sha256}.json.gz"
    if not path.exists():
        return None
    return read_from_json(json.loads(gzip.decompress(path.read_bytes())))


def _display_name(path: Path, roots: Sequence[Path]) -> str:
    for root in roots:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
    return path.name


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
