"""Learning from reviewers: turn field corrections into proposed spec changes, measured before anyone accepts them.

For each corrected field the stored page reading (words and boxes, kept by the pipeline) is searched for the
corrected value; the words printed before it on its line (or the line above) are the label the document used.
If no anchor of the field matches that label, adding it as a synonym is proposed. Each proposal is replayed on
every stored document of that type: how many corrected fields it gets right before and after, and on how many
other documents the field's value would change. Nothing changes until a person applies the diff.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from claimflow.extract import extract_documents
from claimflow.extract_layout import Line, build_lines, find_anchors, simplify
from claimflow.models import BBox, Money, ReadDocument, Word
from claimflow.serialise import public_value
from claimflow.specs import SpecSet
from claimflow.store.repository import Repository
from claimflow.store.tables import DocumentRow, FieldCorrectionRow

MAX_LABEL_WORDS = 6


@dataclass(slots=True)
class Proposal:
    """One proposed spec change with its measured effect."""

    document_type: str
    field_name: str
    label: str
    spec_path: Path
    new_text: str
    diff: str
    corrections: int = 0
    right_before: int = 0
    right_after: int = 0
    changed_elsewhere: int = 0
    documents_replayed: int = 0
    notes: list[str] = field(default_factory=list)


def _compact(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _amount(text: str) -> Decimal | None:
    cleaned = re.sub(r"[^\d.,-]", "", text).replace(",", "")
    try:
        return Decimal(cleaned) if cleaned else None
    except InvalidOperation:
        return None


def find_label(read: ReadDocument, value: str, page: int | None) -> str | None:
    """Return the label printed before `value` (to its left on the same baseline, else just above it), or None."""
    target, amount = _compact(value), _amount(value)
    for candidate in read.pages:
        if page is not None and candidate.number != page:
            continue
        for line in build_lines(candidate):
            start = _value_start(line, target, amount)
            if start is None:
                continue
            box = line.words[start].bbox
            label = _words_left(candidate.words, box) or _words_above(candidate.words, box)
            label = label.strip().rstrip(":").strip()
            if simplify(label):
                return label + ":"
    return None


def _words_left(words: list[Word], box: BBox) -> str:
    height = box[3] - box[1]
    left = [
        w
        for w in words
        if w.bbox[2] <= box[0] + 0.002 and min(w.bbox[3], box[3]) - max(w.bbox[1], box[1]) > 0.5 * height
    ]
    left.sort(key=lambda w: w.bbox[0])
    return " ".join(w.text for w in left[-MAX_LABEL_WORDS:])


def _words_above(words: list[Word], box: BBox) -> str:
    height = box[3] - box[1]
    above = [
        w for w in words if box[1] - 2.5 * height <= w.bbox[3] <= box[1] and w.bbox[0] < box[2] and w.bbox[2] > box[0]
    ]
    above.sort(key=lambda w: w.bbox[0])
    return " ".join(w.text for w in above[:MAX_LABEL_WORDS])


def _value_start(line: Line, target: str, amount: Decimal | None) -> int | None:
    words = line.words
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + 8) + 1):
            text = " ".join(word.text for word in words[start:end])
            if _compact(text) == target or (amount is not None and _is_amount_text(text) and _amount(text) == amount):
                return start
    return None


def _is_amount_text(text: str) -> bool:
    """Return True for text that is only an amount (with an optional currency code or sign)."""
    bare = re.sub(r"\b[A-Z]{3}\b|[€£$]", "", text).strip()
    return bool(re.fullmatch(r"-?[\d][\d.,\s]*", bare))


def _add_anchor(spec_text: str, field_name: str, label: str) -> str | None:
    """Return the spec text with `label` added to the field's anchors, or None when the layout is not recognised."""
    lines = spec_text.splitlines(keepends=True)
    in_field = False
    indent = ""
    for i, line in enumerate(lines):
        head = re.match(rf"^(\s*){re.escape(field_name)}:\s*$", line)
        if head:
            in_field, indent = True, head.group(1)
            continue
        if in_field and line.strip() and not line.startswith(indent + " "):
            return None  # left the field's block without finding anchors
        flow = re.match(r"^(\s*anchors:\s*\[)(.*)(\]\s*)$", line) if in_field else None
        if flow:
            quoted = '"' + label.replace('"', '\\"') + '"'
            items = flow.group(2).strip()
            lines[i] = f"{flow.group(1)}{items + ', ' if items else ''}{quoted}{flow.group(3)}"
            return "".join(lines)
    return None


def _value_of(read: ReadDocument, specs: SpecSet, document_type: str, name: str) -> str | None:
    for part in extract_documents(read, specs):
        if part.document_type == document_type and name in part.fields:
            value = part.fields[name].value
            plain = public_value(value.amount if isinstance(value, Money) else value)
            return str(plain)
    return None


def _same(got: str | None, expected: str) -> bool:
    if got is None:
        return False
    if _compact(got) == _compact(expected):
        return True
    a, b = _amount(got), _amount(expected)
    return a is not None and a == b


def propose_from_corrections(
    corrections: list[FieldCorrectionRow],
    documents: dict[int, DocumentRow],
    read_of: dict[int, ReadDocument],
    specs: SpecSet,
) -> list[Proposal]:
    """Propose anchor synonyms for corrected fields and measure each proposal on the stored readings."""
    latest: dict[tuple[int, str], FieldCorrectionRow] = {}
    for correction in corrections:
        if correction.document_id is not None:
            latest[(correction.document_id, correction.field)] = correction
    proposals: dict[tuple[str, str, str], Proposal] = {}
    for (document_id, name), correction in latest.items():
        doc, read = documents.get(document_id), read_of.get(document_id)
        kind = correction.document_type or (doc.document_type if doc else None)
        if doc is None or read is None or not kind or kind not in specs.specs or name not in specs.get(kind).fields:
            continue
        label = find_label(read, correction.new_value, correction.page)
        if label is None:
            continue
        field_spec = specs.get(kind).fields[name]
        covered = any(
            find_anchors(build_lines(page), anchor, field_spec.fuzzy) and _compact(anchor) == _compact(label)
            for anchor in field_spec.anchors
            for page in read.pages[:1]
        ) or any(_compact(anchor) == _compact(label) for anchor in field_spec.anchors)
        if covered:
            continue
        key = (kind, name, simplify(label))
        if key not in proposals:
            path = specs.sources[kind]
            original = path.read_text(encoding="utf-8")
            new_text = _add_anchor(original, name, label)
            if new_text is None:
                continue
            diff = "".join(
                difflib.unified_diff(
                    original.splitlines(keepends=True), new_text.splitlines(keepends=True), str(path), str(path)
                )
            )
            proposals[key] = Proposal(kind, name, label, path, new_text, diff)
    for proposal in proposals.values():
        _measure(proposal, latest, documents, read_of, specs)
    return sorted(proposals.values(), key=lambda p: (-(p.right_after - p.right_before), p.changed_elsewhere))


def _measure(
    proposal: Proposal,
    latest: dict[tuple[int, str], FieldCorrectionRow],
    documents: dict[int, DocumentRow],
    read_of: dict[int, ReadDocument],
    specs: SpecSet,
) -> None:
    from claimflow.specs import load_spec_text  # local: only the learning loop builds specs from text

    candidate_spec = load_spec_text(proposal.new_text, proposal.spec_path)
    candidate = SpecSet({**specs.specs, proposal.document_type: candidate_spec}, dict(specs.sources))
    for document_id, doc in documents.items():
        read = read_of.get(document_id)
        if read is None or doc.document_type is None or proposal.document_type not in doc.document_type.split("+"):
            continue
        proposal.documents_replayed += 1
        before = _value_of(read, specs, proposal.document_type, proposal.field_name)
        after = _value_of(read, candidate, proposal.document_type, proposal.field_name)
        correction = latest.get((document_id, proposal.field_name))
        if correction is not None:
            proposal.corrections += 1
            proposal.right_before += _same(before, correction.new_value)
            proposal.right_after += _same(after, correction.new_value)
        elif before != after:
            proposal.changed_elsewhere += 1


def load_learning_inputs(
    repo: Repository, reads_dir: Path
) -> tuple[list[FieldCorrectionRow], dict[int, DocumentRow], dict[int, ReadDocument]]:
    """Return the corrections, the documents of the corrected types, and their stored readings."""
    from claimflow.pipeline import load_read  # local: pipeline imports this module's neighbours

    corrections = repo.corrections()
    kinds = {c.document_type for c in corrections if c.document_type}
    documents: dict[int, DocumentRow] = {}
    for kind in kinds:
        for doc in repo.documents_of_type(kind):
            documents[doc.id or 0] = doc
    read_of = {}
    for document_id, doc in documents.items():
        read = load_read(reads_dir, doc.sha256)
        if read is not None:
            read_of[document_id] = read
    return corrections, documents, read_of
