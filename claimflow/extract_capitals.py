"""Capital amounts (大写) the page reading could not read, read again beside their label with other models.

chi_sim misreads the capital numerals of one amount in many places at once on a scan (`吉万喜什玖佰制#全膏元光角抽分`
for 壹万壹仟玖佰捌拾壹元柒角捌分): too many for `fill_unread` to lay the figures' writing over, so the words
field stays empty and the figures have nothing to agree with. For an `agree` check with `fill_unread` whose
words field was not read while the figures were, and whose spec names `vote` models, the row right of the
words' label is read again with each model at VOTE_SCALES (one OCR call per model and page). Each reading is
asked what it says (`says`):

- it says the figures' amount, exactly (the strict parser) or with a few unreadable characters (`unread_fits`):
  the words take the figures' amount at UNREAD_FILL_CONFIDENCE with `field_ambiguous`: one of several readings
  fitting is evidence, not proof, and the figures gain nothing from it;
- at least MIN_OTHER readings parse strictly to one other amount and none says the figures': the figures are
  capped at DISAGREE_CAP with `amounts_inconsistent` (the words were read, and they say something else);
- anything else changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from claimflow.capital_numerals import parse_capital_amount, unread_fits
from claimflow.errors import ReasonCode
from claimflow.extract_checks import DISAGREE_CAP, UNREAD_FILL_CONFIDENCE
from claimflow.extract_reread import put_found
from claimflow.extract_votes import VOTE_SCALES, LineReader
from claimflow.extract_words import row_right_of_label
from claimflow.models import Extraction, Field, Money, Page, Problem, Provenance, ReadDocument, ReadMethod
from claimflow.specs import AgreeCheck, SpecSet

MIN_OTHER = 2
"""Readings that must parse to one other amount before the figures are doubted."""
_LEAD = re.compile(r"^.*(?:[:：;；]|人民币|人民幣|RMB|CNY)")
"""What a reading of the row may hold before the amount: the rest of the label, its colon, 人民币."""


def unread_capitals(part: Extraction, specs: SpecSet) -> list[tuple[str, str]]:
    """Return (words field, figures field) of `fill_unread` checks whose words were not read and figures were.

    Only words fields whose spec names `vote` models are returned: those models read them again.
    """
    spec = specs.specs.get(part.document_type)
    if spec is None:
        return []
    out = []
    for check in spec.checks:
        if not isinstance(check, AgreeCheck) or not check.fill_unread:
            continue
        known = next((n for n in check.fields if isinstance(getattr(part.fields.get(n), "value", None), Money)), None)
        if known is None:
            continue
        out += [(n, known) for n in check.fields if n not in part.fields and spec.fields[n].vote]
    return out


def says(text: str, amount: Decimal) -> Decimal | bool | None:
    """Return what a reading of the words' row says of `amount`.

    True when it says `amount` (exactly, or with a few unreadable characters that fit it), the other amount it
    says when read strictly as another one, None when it says nothing readable.
    """
    bare = _LEAD.sub("", "".join(text.split()))
    try:
        read = parse_capital_amount(bare)
    except ValueError:
        return True if bare and unread_fits(bare, amount) is not None else None
    return True if read == amount else read


def read_capitals_again(
    read: ReadDocument, parts: list[Extraction], specs: SpecSet, reader: LineReader, *, only: Sequence[str] = ()
) -> int:
    """Read the rows of unread capital amounts again with their `vote` models (module docstring); return the calls."""
    pages = [p for p in read.pages if p.method is ReadMethod.OCR and p.image is not None]
    calls = 0
    for part in parts:
        spec = specs.specs.get(part.document_type)
        if spec is None:
            continue
        for name, known in unread_capitals(part, specs):
            if only and name not in only:
                continue
            figures = part.fields[known]
            field_spec = spec.fields[name]
            page = next((p for p in pages if figures.provenance.page in (None, p.number)), None)
            box = row_right_of_label(page, field_spec) if page is not None else None
            if page is None or box is None:
                continue
            texts: list[str] = []
            for model in field_spec.vote:
                texts += reader.reread(page, [box] * len(VOTE_SCALES), lang=model, scales=VOTE_SCALES) or []
                calls += 1
            _decide(part, name, figures, page, Provenance(ReadMethod.OCR, page.number, box), texts)
    return calls


def _decide(part: Extraction, name: str, figures: Field, page: Page, where: Provenance, texts: list[str]) -> None:
    """Fill the words or doubt the figures from the readings (module docstring)."""
    if not isinstance(figures.value, Money):
        return
    amount = figures.value.amount
    said = [(text, says(text, amount)) for text in texts]
    fitting = [text for text, verdict in said if verdict is True]
    others = Counter(verdict for _, verdict in said if isinstance(verdict, Decimal))
    if fitting:
        put_found(part, Field(name, figures.value, UNREAD_FILL_CONFIDENCE, where, fitting[0]))
        part.problems.append(
            Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{name}: not read on the page; read again, one reading fits {figures.name} = {amount}; "
                "check it on the document",
                page=page.number,
                field=name,
            )
        )
        return
    if others and others.most_common(1)[0][1] >= MIN_OTHER:
        other = others.most_common(1)[0][0]
        part.fields[figures.name] = dataclasses.replace(
            figures, confidence=round(min(figures.confidence, DISAGREE_CAP), 4)
        )
        part.problems.append(
            Problem(
                ReasonCode.AMOUNTS_INCONSISTENT,
                f"{figures.name} = {amount} but {name} read again says {other}; check the amount on the document",
                page=page.number,
                field=figures.name,
            )
        )
