"""Classify a read document into one of the spec document types, or `unknown`.

Pages are scored by the spec's weighted keywords, found fuzzily in the page lines so OCR misspellings
still count; required keywords must all be present and exclude keywords veto the type. Sheets are
scored by how many of the spec's fields have a matching header column. The winner's confidence falls
when the runner-up scores close to it, so a borderline call goes to review rather than auto-accept.
"""

from __future__ import annotations

from claimflow.extract_layout import Line, build_lines, find_anchors
from claimflow.extract_sheets import map_columns
from claimflow.models import ReadDocument
from claimflow.specs import Spec, SpecSet

UNKNOWN = "unknown"
KEYWORD_MATCH = 88.0


def classify_document(read: ReadDocument, specs: SpecSet) -> tuple[str, float]:
    """Return (document_type, confidence in [0, 1]); ('unknown', c) when no spec fits."""
    lines = [line for page in read.pages for line in build_lines(page)]
    scores: list[tuple[float, str]] = []
    for spec in specs.ordered():
        if read.sheets and spec.layout == "sheet":
            score = _sheet_score(read, spec)
        elif lines and spec.layout == "page":
            score = _page_score(lines, spec)
        else:
            continue
        if score > 0:
            scores.append((score, spec.document_type))
    if not scores:
        return UNKNOWN, 0.0
    scores.sort(reverse=True)
    best, name = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    margin = (best - runner_up) / best
    confidence = min(1.0, best) * (0.6 + 0.4 * margin)
    return name, round(confidence, 4)


def _page_score(lines: list[Line], spec: Spec) -> float:
    """Score pages by keywords: found weight over min_score, capped at 1 plus a small bonus for more."""
    rules = spec.classify
    if not rules.keywords:
        return 0.0
    if any(_found(lines, phrase) for phrase in rules.exclude):
        return 0.0
    if not all(_found(lines, phrase) for phrase in rules.required):
        return 0.0
    found = sum(keyword.weight for keyword in rules.keywords if _found(lines, keyword.text))
    if found < rules.min_score or found == 0:
        return 0.0
    total = sum(keyword.weight for keyword in rules.keywords)
    # reaching min_score means "this type"; extra keywords add certainty up to 1.0
    return min(1.0, 0.8 + 0.2 * (found - rules.min_score) / max(total - rules.min_score, 1e-9)) * (1.0 + 0.01 * found)


def _found(lines: list[Line], phrase: str) -> bool:
    """Return True when the phrase appears on any line (fuzzy)."""
    return bool(find_anchors(lines, phrase, KEYWORD_MATCH))  # one scan of the page, not one call per line


def _sheet_score(read: ReadDocument, spec: Spec) -> float:
    """Score sheets by the share of the spec's fields that have a header column."""
    best = 0.0
    for sheet in read.sheets:
        mapping = map_columns(sheet.header, spec)
        wanted = spec.classify.header_columns or list(spec.fields)
        matched = sum(1 for name in wanted if name in mapping)
        share = matched / len(wanted) if wanted else 0.0
        if share >= spec.classify.min_header_overlap:
            best = max(best, share)
    return best
