"""Cross-field work after extraction: currencies for bare amounts and the spec's consistency checks.

A money value printed without a symbol takes the document's `currency` field if one was read, else
the spec's default currency. Checks (parts sum to a total, one date not after another) never drop a
value: a failure lowers the confidence of the fields involved and adds a Problem, so the claim is reviewed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from rapidfuzz.distance import Levenshtein

from claimflow.capital_numerals import read_share, unread_fits
from claimflow.errors import ReasonCode
from claimflow.models import Field, FieldValueType, Money, Problem, Provenance
from claimflow.normalise import find_currency
from claimflow.specs import AgreeCheck, AlikeCheck, OrderCheck, Spec, SumCheck

CHECK_FAILED_FACTOR = 0.8
AGREE_CAP = 0.99
"""Two readings that agree are at most this confident together."""
DISAGREE_CAP = 0.5
"""Readings of one value that disagree are at most this confident: a person must look."""
UNREAD_FILL_CONFIDENCE = 0.5
"""A value taken from another reading because its own words fit it only in part: a person must look."""
CONTRADICT_SHARE = 0.5
"""Words read in part whose characters are at least this share capital numerals, and that cannot say the figures'
amount, speak against the figures (a lost decimal point: `1832200.00` beside words that fit 18322.00)."""
AGREE_PART_SHARE = 0.3
"""A table whose amounts add up to its total gains this share of its doubt times the total's confidence."""

_AMOUNT = re.compile(r"(?<![\d.,])-?\d{1,3}(?:,\d{3})*\.\s?\d{2}(?!\d)")
_OCR_ZERO = re.compile(r"(?<=RM)[Oo]|(?<![A-Za-z])[Oo](?=[.,]\d{2}(?!\d))")
_TENDERED = re.compile(r"^\W*(?:CASH|TENDERED|AMOUNT TENDERED|PAID|TUNAI)\b", re.IGNORECASE)
_CHANGE = re.compile(r"^\W*(?:CHANGE|CHANGE DUE|BAKI)\b", re.IGNORECASE)


_SIGNED_AMOUNT = re.compile(r"(-)?\s*(?:RM|\$)?\s*(?<![\d.,])(\d{1,3}(?:,\d{3})*\.\s?\d{2})(?!\d)(?!\s*%)")
_SUBTOTAL = re.compile(
    r"\bSUB\s?-?\s?TOTAL\b|\bEXCL(?:UDING|USIVE|\.)?\b.*\b(?:GST|SST|TAX)\b|\b(?:BEFORE|EXCL\.?)\s+(?:GST|SST|TAX)\b",
    re.IGNORECASE,
)
_TAX = re.compile(r"^\W*(?:TOTAL\s+)?(?:GST|SST|TAX|SERVICE\s+TAX|SALES\s+TAX|VAT|MWST|UST|TVA|IVA)\b", re.IGNORECASE)
_NOT_TAX = re.compile(r"\b(?:ID|REG|NO|INVOICE|SUMMARY|CODE|INCL\w*|EXCL\w*|INCLUSIVE|EXCLUSIVE)\b", re.IGNORECASE)
# the point lost (`222 24`) or read as a colon or semicolon (`32:79,`: clean 200-dpi Courier, the comma a speck)
_LOST_POINT = re.compile(r"(?<![\d.,:;])(\d{1,4})(?:\s|\s?[:;]\s?)(\d{2})[\s,.]*$")
_RATE = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d{1,2})?)\s?%")
# `ROUNDING`, `Rour ding Adjustment`, `ROUNDING ADJ`; not `Rounded Total`
_ROUNDING = re.compile(r"\bRO?U\w{0,3}\s?D\w{0,3}NG\b|\bADJ(?:USTMENT)?\b", re.IGNORECASE)
_TOTAL = re.compile(r"\bTOTAL\b(?!\s*(?:QTY|QUANTITY|ITEMS?|DISCOUNT|SAVINGS?)\b)", re.IGNORECASE)
CENT = Decimal("0.01")
MAX_RATE = 30
GARBLED_DIGITS = (3, 7)
"""How many digits a garbled tax amount read after its rate must hold to be compared with the tax a total gives."""


@dataclass(frozen=True, slots=True)
class PageSums:
    """What a receipt's own arithmetic says about its total, from its labelled lines.

    `paid` is cash tendered minus change; `implied` holds subtotal + tax (with and without the rounding
    adjustment), where a tax printed only as a rate (`GST 6%`) is computed from the subtotal, and the last
    total printed above the rounding line plus the adjustment (the rounded total).
    """

    paid: Decimal | None = None
    implied: frozenset[Decimal] = frozenset()
    tax: Decimal | None = None
    """The first tax line's amount as read (a total is never below it)."""
    unread_tax: tuple[int, Decimal, frozenset[Decimal]] | None = None
    """A tax line with a rate whose amount could not be read, or was read as another amount than the rate gives: its
    index among the lines, what the printed rate times the subtotal makes it, and the totals subtotal + that tax
    gives (with and without the rounding adjustment)."""
    unread_tax_lines: int = 1
    """How many lines from that index the tax line takes (2: its amount read on a line of its own below it)."""
    garbled_tax: tuple[int, str, Decimal] | None = None
    """A tax line with a rate whose amount was read garbled while no subtotal was read (`VAT 20% 10). 72,`): its index,
    the digits read after the rate (`1072`) and the rate; the total the document reads may then give the tax."""


def page_sums(lines: Sequence[str]) -> PageSums:
    """Return the arithmetic of one page from its lines of text, top to bottom.

    A subtotal whose decimal point was lost at the line's end (`Subtotal 222 24`: small till print) or read as a
    colon (`Subtotal 32:79,`) counts as 222.24 (32.79) only for `unread_tax` (which the total read must confirm to
    the cent), never for `implied` (a total one slip from `implied` is repaired).
    """
    subtotal = tax = rate = rounding = before_rounding = rate_line = pointless = None
    after_rate = ""
    for index, text in enumerate(lines):
        amount = _last_signed_amount(text)
        if _ROUNDING.search(text):
            if rounding is None and amount is not None and abs(amount) < 1:
                rounding = amount
        elif _SUBTOTAL.search(text):
            if amount is None and pointless is None and (lost := _LOST_POINT.search(text)):
                pointless = Decimal(f"{lost.group(1)}.{lost.group(2)}")
            subtotal = amount if subtotal is None else subtotal
        elif _TAX.search(text):
            if _NOT_TAX.search(text) or tax is not None:
                continue
            found = _RATE.search(text)
            if amount is not None:
                tax = amount
            if found and rate is None:
                rate, rate_line = Decimal(found.group(1)), index
                after_rate = re.sub(r"\D", "", text[found.end() :])
        elif _TOTAL.search(text) and rounding is None and amount is not None and amount > 0:
            before_rounding = amount  # the last total above the rounding line is the one being rounded
    implied: set[Decimal] = set()
    read_tax, unread_tax = tax, None
    if rate is not None and rate < MAX_RATE and rate_line is not None:
        base = subtotal if subtotal is not None else pointless
        if base is not None and base > 0:
            unread = (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            if 0 < unread < base and unread != tax:
                unread_tax = (rate_line, unread, frozenset({base + unread, base + unread + (rounding or 0)}))
    if subtotal is not None and subtotal > 0:
        if tax is None and rate is not None and rate < MAX_RATE:
            tax = (subtotal * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        if tax is not None and 0 <= tax < subtotal:
            implied.add(subtotal + tax)
            if rounding is not None:
                implied.add(subtotal + tax + rounding)
    if before_rounding is not None and rounding is not None:
        implied.add(before_rounding + rounding)
    garbled = None
    unread_base = subtotal is None and pointless is None and tax is None
    if unread_base and rate is not None and rate < MAX_RATE and rate_line is not None:
        garbled = (rate_line, after_rate, rate) if GARBLED_DIGITS[0] <= len(after_rate) <= GARBLED_DIGITS[1] else None
    joined = joined_amounts(lines)
    if unread_tax is None and len(joined) < len(lines):
        split = page_sums([text for text, _ in joined]).unread_tax  # the total read must still give it to the cent
        if split is not None:
            at, amount, totals = split
            first, after = joined[at][1], joined[at + 1][1] if at + 1 < len(joined) else len(lines)
            return PageSums(paid_amount(lines), frozenset(implied), read_tax, (first, amount, totals), after - first)
    return PageSums(paid_amount(lines), frozenset(implied), read_tax, unread_tax, garbled_tax=garbled)


_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


def joined_amounts(lines: Sequence[str]) -> list[tuple[str, int]]:
    """Return the lines with each line of amounts alone joined to the label line above it that has no amount.

    Each joined line comes with the index of its label line among `lines`.

    A skewed or stamped till scan puts a label and its amount on two lines (`Subtotal` / `434.24`, `GST 6%` /
    `7 26.95`: the right column sits lower, a stamp stretches the boxes). A line of figures with no amount in them
    is joined too: tesseract's box of a garbled amount (`29` for 27.12, its box over the `. 12` read after it) set
    `TVA . 12` and `20% 29` on two lines, the rate on the second. Used only for the tax the sums give (`unread_tax`),
    which the total read must confirm to the cent; the sums that repair a total keep the lines.
    """
    out: list[tuple[str, int]] = []
    for index, text in enumerate(lines):
        above = out[-1][0] if out else None
        if (
            above is not None
            and _LETTER.search(above)
            and _last_signed_amount(above) is None
            and _LETTER.search(text) is None
            and _DIGIT.search(text) is not None
        ):
            out[-1] = (f"{above} {text}", out[-1][1])
        else:
            out.append((text, index))
    return out


def _last_signed_amount(text: str) -> Decimal | None:
    """Return the last amount of a line with its sign (`-0.02`, `-RM0.02`), None when it holds none."""
    found = _SIGNED_AMOUNT.findall(_OCR_ZERO.sub("0", text))
    if not found:
        return None
    sign, digits = found[-1]
    amount = Decimal(re.sub(r"[\s,]", "", digits))
    return -amount if sign else amount


def paid_amount(lines: Sequence[str]) -> Decimal | None:
    """Return cash tendered minus change given (the amount a receipt's customer paid), None when not both printed.

    A cash line with no change line says nothing (the customer may have paid a round sum and the change line
    was not read), so both must be present.
    """
    tendered = _line_amount(lines, _TENDERED)
    change = _line_amount(lines, _CHANGE)
    if tendered is None or change is None or change > tendered:
        return None
    return tendered - change


def _line_amount(lines: Sequence[str], label: re.Pattern[str]) -> Decimal | None:
    """Return the last amount on the first line that starts with the label."""
    for line in lines:
        if label.search(line):
            amounts = _AMOUNT.findall(_OCR_ZERO.sub("0", line))
            if amounts:
                return Decimal(re.sub(r"[\s,]", "", amounts[-1]))
    return None


def fill_currencies(fields: dict[str, Field], spec: Spec) -> None:
    """Give bare Money values the document's currency field, else the spec default (in place)."""
    currency_field = fields.get("currency")
    currency = currency_field.value if currency_field is not None and isinstance(currency_field.value, str) else None
    currency = currency or spec.currency
    if currency is None:
        return
    for name, field in fields.items():
        if isinstance(field.value, Money) and field.value.currency is None:
            fields[name] = dataclasses.replace(field, value=Money(field.value.amount, currency))


DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD"})
"""Currencies a bare `$` may stand for: a `$` amount does not speak against any of them."""


def doubt_currency(fields: dict[str, Field]) -> Problem | None:
    """Doubt the document's currency (DISAGREE_CAP, in place) when an amount's own reading names another one.

    The currency field is read once, from the first symbol or code on the page; an amount's line read again (a
    receipt's `TOTAL £ 264.08`, enlarged) may read its symbol otherwise. Full seed 29 receipt 010 degraded: the
    page's `TOTAL € 264.08` gave the currency EUR at 0.976 calibrated, the total's line read at 2x `£ 264.08`
    (the receipt is in GBP): two readings of the document's currency disagree, and a person looks.
    """
    field = fields.get("currency")
    if field is None or not isinstance(field.value, str):
        return None
    others = sorted(
        {
            code
            for name, other in fields.items()
            if isinstance(other.value, Money) and (code := find_currency(other.raw)) is not None
            and code != field.value and not (code == "USD" and "$" in other.raw and field.value in DOLLARS)
        }
    )
    if not others:
        return None
    fields["currency"] = dataclasses.replace(field, confidence=round(min(field.confidence, DISAGREE_CAP), 4))
    return Problem(
        ReasonCode.FIELD_AMBIGUOUS,
        f"currency: read {field.value}, but an amount is printed in {', '.join(others)}; check the currency",
        page=field.provenance.page,
        field="currency",
    )


def apply_checks(fields: dict[str, Field], spec: Spec) -> list[Problem]:
    """Run the spec's checks; on failure lower the fields' confidence (in place) and return Problems."""
    problems: list[Problem] = []
    for check in spec.checks:
        if isinstance(check, SumCheck):
            problem = _sum_check(fields, check)
        elif isinstance(check, AgreeCheck):
            problem = _agree_check(fields, check)
        elif isinstance(check, AlikeCheck):
            continue  # run once the second looks have read the boxes again (check_alike)
        else:
            problem = _order_check(fields, check)
        if problem is not None:
            problems.append(problem)
    return problems


def check_alike(fields: dict[str, Field], spec: Spec, problems: Sequence[Problem]) -> list[Problem]:
    """Run the spec's `alike` checks on the values the second looks left (in place); return the new Problems.

    Not on the first reading: held there, a right value would lose to a closer reading of its box that misread it
    the same way as the other box (seed 29 full cms1500 016 clean: box 2's `Ahmed` on the page, `Anmed` in both boxes
    read closer), and a look may lift a held value back. A Problem already said is not said again.
    """
    said = {(p.field, p.message) for p in problems}
    found: list[Problem] = []
    for check in spec.checks:
        if isinstance(check, AlikeCheck):
            problem = _alike_check(fields, check)
            if problem is not None and (problem.field, problem.message) not in said:
                found.append(problem)
    return found


def _alike_check(fields: dict[str, Field], check: AlikeCheck) -> Problem | None:
    """Values of fields that often hold one value must read the same or clearly apart (specs.AlikeCheck).

    Two readings one misread apart (`Rodriguez, Ahmed L` in box 2, `Rodriguez, Anmed L` in box 4 of a clean scan,
    the h read as n at 0.89, taken at 0.989) say one box was misread, and nothing says which: both are held at most
    DISAGREE_CAP. Values apart in more than one word, or by more than `max_edits` letters, are two values (a
    spouse); an initial alone apart (`J` and `K`) may be two people of one name, and is left alone.
    """
    present = [name for name in check.fields if name in fields and isinstance(fields[name].value, str)]
    for index, first in enumerate(present):
        for second in present[index + 1 :]:
            one, other = str(fields[first].value), str(fields[second].value)
            if not misread_apart(one, other, check.max_edits):
                continue
            for name in (first, second):
                field = fields[name]
                fields[name] = dataclasses.replace(field, confidence=round(min(field.confidence, DISAGREE_CAP), 4))
            return Problem(
                ReasonCode.FIELD_AMBIGUOUS,
                f"{first} {one!r} and {second} {other!r} differ by a letter or two: one of them was misread; "
                "check both",
                page=fields[first].provenance.page,
                field=first,
            )
    return None


def misread_apart(one: str, other: str, max_edits: int) -> bool:
    """Return True when two values differ in one word only, of 2 letters or more, by 1 to `max_edits` edits."""
    words, others = one.split(), other.split()
    if len(words) != len(others):
        return False
    apart = [(a, b) for a, b in zip(words, others, strict=True) if a != b]
    if len(apart) != 1:
        return False
    a, b = (word.strip(",.") for word in apart[0])
    return min(len(a), len(b)) >= 2 and 0 < Levenshtein.distance(a, b) <= max_edits


def failed_sums(fields: dict[str, Field], spec: Spec) -> frozenset[int]:
    """Return the indexes (in `spec.checks`) of the sum checks whose parts do not add up to their total."""
    return frozenset(
        index
        for index, check in enumerate(spec.checks)
        if isinstance(check, SumCheck) and sum_holds(fields, check) is False
    )


def recheck_sums(
    fields: dict[str, Field], spec: Spec, before: dict[str, Field], failed: frozenset[int]
) -> list[Problem]:
    """Run the sum checks again on the values the second looks left (in place); return the new Problems.

    The first checks ran on the first reading (`apply_checks`); a look that reads a total or a tax again changes it
    unchecked (seed 24 invoice 013: the total read again `4,262.40`, its tax `139.76` never compared with it). A
    check that fails now lowers the fields that did not already carry its failure: all of them when it held on the
    first reading (`before`, the fields then; `failed`, the checks that failed then: `failed_sums`), only the ones a
    look changed when it failed already; a check that failed then and nothing of it changed is not run again. The
    repairs of a failed check (`_slipped`, `_part_slipped`, ...) apply as on the first reading. A check that holds
    now is not run again: its parts and total keep the confidence the looks gave them (no second corroboration).
    """
    problems: list[Problem] = []
    for index, check in enumerate(spec.checks):
        if not isinstance(check, SumCheck) or sum_holds(fields, check) is not False:
            continue
        names = [reference.partition(".")[0] for reference in (*check.parts, check.total)]
        changed = [name for name in names if fields.get(name) != before.get(name)]
        if index in failed and not changed:
            continue
        problem = _sum_check(fields, check, lower=changed if index in failed else names)
        if problem is not None:
            problems.append(problem)
    return problems


def drop_stale_sums(fields: dict[str, Field], spec: Spec, problems: list[Problem]) -> list[Problem]:
    """Return `problems` without the sum checks' mismatches that the values as they now stand no longer have.

    A check that failed on the first reading said so (`_sum_check`: `parts = x but total = y`); a look that read a
    part or the total again may have made it hold (seed 29 full cms1500 022 clean: the rows read one by one gave the
    second charge, 18.45 + 78.40 = 96.85, box 28), and the reviewer was still told `service_lines.charge = 78.40 but
    total_charge = 96.85`. Only those messages of a check that holds now are dropped (`sum_holds` is True, not
    None for a part unread); the confidences the failure lowered stay as they are, and other Problems are kept.
    """
    stale = [check for check in spec.checks if isinstance(check, SumCheck) and sum_holds(fields, check) is True]
    if not stale:
        return problems
    return [problem for problem in problems if not any(_mismatch_of(problem, check) for check in stale)]


def _parts_said(check: SumCheck) -> str:
    """Return how a sum check's mismatch (`_sum_check`) opens: its parts, then their sum."""
    return f"{' + '.join(check.parts)} = "


def _mismatch_of(problem: Problem, check: SumCheck) -> bool:
    """Return True when `problem` is the mismatch `_sum_check` says of `check` (not a repair it kept, `_keep_sum`)."""
    return (
        problem.code is ReasonCode.AMOUNTS_INCONSISTENT
        and problem.field == check.total.partition(".")[0]
        and problem.message.startswith(_parts_said(check))
        and f" but {check.total} = " in problem.message
    )


def referenced_amounts(fields: dict[str, Field], reference: str) -> list[Decimal] | None:
    """Return the amounts a reference names (`field` or `table.column`), or None when it was not read."""
    name, _, column = reference.partition(".")
    field = fields.get(name)
    if field is None:
        return None
    values: list[FieldValueType | None] = []
    if column and isinstance(field.value, list):
        values = [row.get(column) for row in field.value if isinstance(row, dict)]
    elif not column:
        values = [field.value]
    amounts = [value.amount for value in values if isinstance(value, Money)]
    return amounts or None


def _lower(fields: dict[str, Field], names: list[str]) -> None:
    """Lower the confidence of the named fields after a failed check."""
    for reference in names:
        name = reference.partition(".")[0]
        if name in fields:
            field = fields[name]
            fields[name] = dataclasses.replace(field, confidence=round(field.confidence * CHECK_FAILED_FACTOR, 4))


def _raise(fields: dict[str, Field], check: SumCheck) -> None:
    """Raise the confidence of a total its parts add up to, and (less) of the parts.

    The total and the parts are separate readings of separate words; both being wrong yet agreeing to the cent
    is unlikely, so the total becomes as sure as either reading leaves it (1 - (1-a)(1-b), capped). A part that
    is a table gains less: the sum vouches only for its amounts, not for its codes and dates.
    """
    total_name = check.total.partition(".")[0]
    part_names = [part.partition(".")[0] for part in check.parts]
    total = fields.get(total_name)
    parts = [fields[name] for name in part_names if name in fields]
    if total is None or not parts:
        return
    weakest = min(part.confidence for part in parts)
    agreed = min(AGREE_CAP, 1.0 - (1.0 - total.confidence) * (1.0 - weakest))
    fields[total_name] = dataclasses.replace(total, confidence=round(max(total.confidence, agreed), 4))
    for name in part_names:
        part = fields[name]
        if isinstance(part.value, list) and any(
            isinstance(row, dict) and any(cell is None for cell in row.values()) for row in part.value
        ):
            continue  # rows with an empty cell: the sum vouches for none of the cells that were not read
        share = AGREE_PART_SHARE if isinstance(part.value, list) else 1.0
        gained = part.confidence + share * (1.0 - part.confidence) * total.confidence
        fields[name] = dataclasses.replace(part, confidence=round(min(AGREE_CAP, max(part.confidence, gained)), 4))


def _sum_check(fields: dict[str, Field], check: SumCheck, lower: Sequence[str] | None = None) -> Problem | None:
    """Parts must add up to the total within the tolerance.

    On failure the fields named in `lower` (default: the check's parts and total) lose confidence.
    """
    total = referenced_amounts(fields, check.total)
    parts = [referenced_amounts(fields, part) for part in check.parts]
    if total is None or any(part is None for part in parts):
        return None
    parts_sum = sum((amount for part in parts if part is not None for amount in part), Decimal(0))
    if abs(parts_sum - total[0]) <= Decimal(str(check.tolerance)):
        if check.corroborates:
            _raise(fields, check)
        return None
    _lower(fields, list(lower) if lower is not None else [*check.parts, check.total])
    summed = f"{_parts_said(check)}{parts_sum}"
    if _slipped(fields, total, parts, check):
        why = f"one figure from {summed}, and read less surely than its parts"
        return _keep_sum(fields, check.total, total[0], parts_sum, why)
    slipped_part = _part_slipped(fields, total, parts, check)
    if slipped_part is not None:
        name, read, rest = slipped_part
        why = f"one figure from {check.total} less the other parts = {rest}, and read less surely than each of them"
        return _keep_sum(fields, name, read, rest, why)
    if _cut_short(total, parts, check):
        why = f"below its own part, and {summed} ends in those figures: the total's first figures were lost"
        return _keep_sum(fields, check.total, total[0], parts_sum, why)
    if _cents_lost(fields, total, parts, check):
        why = f"with no cents, and {summed} has those figures before its cents: the total's cents were lost"
        return _keep_sum(fields, check.total, total[0], parts_sum, why)
    stray = _stray_minus(total, parts, check)
    if stray is not None:
        read = _single(parts, check, stray)
        why = (
            f"with a minus sign, but {check.total} = {total[0]} is the parts' sum with it positive: the sign was noise"
        )
        return _keep_sum(fields, stray, read, -read, why)
    return Problem(
        ReasonCode.AMOUNTS_INCONSISTENT,
        f"{summed} but {check.total} = {total[0]}; check the amounts",
        field=check.total.partition(".")[0],
    )


CUT_TOTAL_CONFIDENCE = 0.5
"""A total whose lost first figures its parts' sum gives (`€!,249.30`) keeps at most this: a person checks it."""


def _cut_short(total: list[Decimal], parts: Sequence[list[Decimal] | None], check: SumCheck) -> bool:
    """Return True when the total read is its parts' sum with its first figures lost.

    A degraded invoice's `€1,249.30` read `€!,249.30` (the 1 a stroke, the `,` kept) gives 249.30, which fails the
    sum check. Such a total is below one of its own parts (impossible for a total of parts that are not negative),
    and the parts' sum ends in its figures (1249.30 in 249.30; 1068.86 in `€/,068.86`'s 068.86): then the total
    read is the sum cut short, not another amount. Single amounts only (no table column).
    """
    if "." in check.total or any("." in part for part in check.parts) or len(total) != 1:
        return False
    amounts = [part[0] for part in parts if part is not None and len(part) == 1]
    if len(amounts) != len(check.parts) or any(amount < 0 for amount in amounts) or total[0] <= 0:
        return False
    parts_sum = sum(amounts, Decimal(0))
    if total[0] >= max(amounts) or parts_sum <= total[0]:
        return False
    read, whole = (f"{abs(a.quantize(CENT)) * 100:.0f}" for a in (total[0], parts_sum))
    return whole.endswith(read.lstrip("0") or "0") and len(whole) > len(read)


CENTS_READ = re.compile(r"[.,]\s?\d{1,2}\s*\W*$")
"""A total read with its cents: a point or comma and one or two figures at its end."""


def _cents_lost(
    fields: dict[str, Field], total: list[Decimal], parts: Sequence[list[Decimal] | None], check: SumCheck
) -> bool:
    """Return True when the total was read without its point and cents and is its parts' sum less them.

    A degraded invoice's `£4,438.22` read `£4,438` at 0.00 (the point and cents faded) under `Subtotal 3,698.52` and
    `VAT 20% 739.70` read at 0.96: 4438 is 4438.22 without its cents. Only a total whose reading holds no cents
    (CENTS_READ), read less surely than each part, whose parts' sum has cents and the same whole units. Single
    amounts only (no table column).
    """
    if "." in check.total or any("." in part for part in check.parts) or len(total) != 1:
        return False
    amounts = [part[0] for part in parts if part is not None and len(part) == 1]
    if len(amounts) != len(check.parts) or any(amount < 0 for amount in amounts) or total[0] <= 0:
        return False
    read = fields[check.total]
    if any(fields[part].confidence <= read.confidence for part in check.parts) or CENTS_READ.search(str(read.raw)):
        return False
    parts_sum = sum(amounts, Decimal(0))
    whole = parts_sum.to_integral_value(rounding=ROUND_DOWN)
    return total[0] == whole and parts_sum != whole


def _single(parts: Sequence[list[Decimal] | None], check: SumCheck, name: str) -> Decimal:
    """Return the single amount read for the part `name` of `check` (callers checked there is one)."""
    part = parts[check.parts.index(name)]
    assert part is not None and len(part) == 1
    return part[0]


def _stray_minus(total: list[Decimal], parts: Sequence[list[Decimal] | None], check: SumCheck) -> str | None:
    """Return the one part read negative whose sign alone breaks the sum, among positive parts and total.

    A degraded invoice's `VAT 19% EUR 99,99` read `EUR-99,99__` (the space between the currency and the figures a
    hyphen: -99.99) under `Subtotal 526.28` and `Total 626.27`: the parts' sum fails by twice the part, and holds
    exactly with the part positive. On a credit note the parts and total are negative together, and a negative
    part that belongs on the page (a discount) makes the sum hold as read; so only one negative part, the total
    and every other part positive, and the sum holding to the cent once its sign is gone. The part keeps at most
    CUT_TOTAL_CONFIDENCE (`_keep_sum`): its figures were read, its sign was chosen by the check. Single amounts only.
    """
    if "." in check.total or any("." in part for part in check.parts) or len(total) != 1 or total[0] <= 0:
        return None
    amounts = [part[0] for part in parts if part is not None and len(part) == 1]
    if len(amounts) != len(check.parts):
        return None
    negative = [name for name, amount in zip(check.parts, amounts, strict=True) if amount < 0]
    if len(negative) != 1 or sum(amounts, Decimal(0)) == total[0]:
        return None
    held = sum((abs(amount) for amount in amounts), Decimal(0))
    return negative[0] if abs(held - total[0]) <= Decimal(str(check.tolerance)) else None


def _keep_sum(fields: dict[str, Field], name: str, read: Decimal, parts_sum: Decimal, why: str) -> Problem:
    """Set the total `name` to its parts' sum, at most CUT_TOTAL_CONFIDENCE, and say why (`why`) it was read wrong."""
    fields[name] = dataclasses.replace(
        fields[name],
        value=Money(parts_sum, fields[name].value.currency),  # type: ignore[union-attr]
        confidence=min(fields[name].confidence, CUT_TOTAL_CONFIDENCE),
    )
    return Problem(
        ReasonCode.AMOUNTS_INCONSISTENT,
        f"{name}: read {read}, {why}; the sum is kept, check the amounts",
        field=name,
    )


def _slipped(
    fields: dict[str, Field], total: list[Decimal], parts: Sequence[list[Decimal] | None], check: SumCheck
) -> bool:
    """Return True when the total read is one figure from its parts' sum and read less surely than each part.

    A degraded invoice's `1,359.00` at 0.77 under `Subtotal 1,106.56` and `VAT 22% 243.44` (both 0.95-0.96): one
    digit of the total misread. Had a part been misread instead, the total would be the surer reading and is kept
    (the check only lowers the fields, as before); so is a total read as one of its parts. Single amounts only.
    """
    if "." in check.total or any("." in part for part in check.parts) or len(total) != 1:
        return False
    amounts = [part[0] for part in parts if part is not None and len(part) == 1]
    if len(amounts) != len(check.parts) or any(amount < 0 for amount in amounts) or total[0] <= 0:
        return False
    read = fields[check.total].confidence
    if any(fields[part].confidence <= read for part in check.parts) or total[0] in amounts:
        return False  # a total read as one of its parts is another line's amount taken, not a misread figure
    return one_slip(total[0], sum(amounts, Decimal(0)))


def _part_slipped(
    fields: dict[str, Field], total: list[Decimal], parts: Sequence[list[Decimal] | None], check: SumCheck
) -> tuple[str, Decimal, Decimal] | None:
    """Return the part read one figure from what the total less the other parts gives, when it is the least sure.

    A degraded invoice's `VAT 739.76` read `139.76` (0.05) under `Subtotal 3,522.64` (0.72) and `Total 4,262.40`
    (0.57), or `555.76` read `55.76` (0.77, a figure lost) beside a subtotal and total read at 0.82-0.83: the total
    less the other parts is a reading of that part from other words, and one figure from it. The part is kept only
    when read less surely than the total and every other part (had the total been misread, it would be the one
    `_slipped` repairs). Returns the part's name, its amount as read and the amount the others give; single amounts
    only, none negative.
    """
    if "." in check.total or any("." in part for part in check.parts) or len(total) != 1:
        return None
    amounts = [part[0] for part in parts if part is not None and len(part) == 1]
    if len(amounts) != len(check.parts) or any(amount < 0 for amount in amounts) or total[0] <= 0:
        return None
    sure = {name: fields[name].confidence for name in (*check.parts, check.total)}
    weakest = min(check.parts, key=lambda name: sure[name])
    if any(sure[name] <= sure[weakest] for name in sure if name != weakest):
        return None
    index = check.parts.index(weakest)
    rest = total[0] - sum(amounts, Decimal(0)) + amounts[index]
    if rest <= 0 or rest in amounts or not one_slip(amounts[index], rest):
        return None
    return weakest, amounts[index], rest


GUESSED_CELL_CONFIDENCE = 0.5
"""A table whose amount cell was made from its total and the other rows (`guess_table_amounts`) keeps at most this."""


def guess_table_amounts(fields: dict[str, Field], spec: Spec) -> list[Problem]:
    """Make the one amount of a table column its total gives, as a guess, where the column does not add up (in place).

    A degraded CMS-1500's charge under box 24F's dashed cents rule may be lost by every reading of its row, or read
    with the rule as a digit of it (`301.72` for 30.72, `1411.60` for 141.60). Where a sum check over one table
    column fails and the total was read:
    - one row that lost its amount (its other cells read) takes the total less the other rows' amounts, when that is
      above zero;
    - else, when the amounts read add up to more than the total, the one row whose amount less one of its digits is
      the total less the other rows takes that (no row, or two such rows: nothing changes).
    The made amount was never read, and the check would now vouch for it with the same total: the table keeps at
    most GUESSED_CELL_CONFIDENCE, the total is not raised, and a Problem says what was made. Run once, on the values
    the second looks left (a guess must not choose between readings). Returns the Problems.
    """
    problems: list[Problem] = []
    for check in spec.checks:
        if not isinstance(check, SumCheck) or len(check.parts) != 1 or "." in check.total:
            continue
        name, _, column = check.parts[0].partition(".")
        table, total = fields.get(name), referenced_amounts(fields, check.total)
        if not column or table is None or total is None or not isinstance(table.value, list):
            continue
        rows = table.value
        if not rows or not all(isinstance(row, dict) for row in rows) or sum_holds(fields, check) is not False:
            continue
        cells = [row.get(column) for row in rows]  # type: ignore[union-attr]
        lost = [index for index, cell in enumerate(cells) if cell is None]
        read = [cell.amount for cell in cells if isinstance(cell, Money)]
        if len(lost) + len(read) != len(cells):
            continue
        guess: tuple[int, Decimal] | None = None
        if len(lost) == 1:
            rest = total[0] - sum(read, Decimal(0))
            guess = (lost[0], rest) if rest > 0 else None
        elif not lost and sum(read, Decimal(0)) > total[0]:
            found = [
                (index, rest)
                for index, amount in enumerate(read)
                if (rest := total[0] - sum(read, Decimal(0)) + amount) > 0 and _one_digit_more(amount, rest)
            ]
            guess = found[0] if len(found) == 1 else None
        if guess is None:
            continue
        index, amount = guess
        was = cells[index]
        currency = next((cell.currency for cell in cells if isinstance(cell, Money) and cell.currency), spec.currency)
        filled = [dict(row) for row in rows]  # type: ignore[arg-type]
        filled[index][column] = Money(amount, currency)
        fields[name] = dataclasses.replace(
            table, value=list(filled), confidence=min(table.confidence, GUESSED_CELL_CONFIDENCE)
        )
        how = "not read" if was is None else f"read {was.amount}"  # type: ignore[union-attr]
        problems.append(
            Problem(
                ReasonCode.AMOUNTS_INCONSISTENT,
                f"{name} row {index + 1}: {column} {how}; {check.total} less the other rows gives {amount}, "
                "kept as a guess; check the amounts",
                page=table.provenance.page,
                field=name,
            )
        )
    return problems


def _one_digit_more(read: Decimal, other: Decimal) -> bool:
    """Return True when `read` is `other` with one digit more (a rule read as a digit of it: `301.72`, 30.72)."""
    a, b = f"{read:.2f}".replace(".", ""), f"{other:.2f}".replace(".", "")
    return len(a) == len(b) + 1 and one_slip(read, other)


def one_slip(read: Decimal, other: Decimal) -> bool:
    """Return True when two amounts' digits differ by one substituted, dropped or added digit."""
    a, b = f"{read:.2f}".replace(".", ""), f"{other:.2f}".replace(".", "")
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def parts_sum(fields: dict[str, Field], check: SumCheck) -> Decimal | None:
    """Return what the check's parts add up to (None when a part was not read)."""
    parts = [referenced_amounts(fields, part) for part in check.parts]
    if any(part is None for part in parts):
        return None
    return sum((amount for part in parts if part is not None for amount in part), Decimal(0))


def sum_holds(fields: dict[str, Field], check: SumCheck) -> bool | None:
    """Return whether the check's parts add up to its total (None when a part or the total was not read)."""
    total = referenced_amounts(fields, check.total)
    summed = parts_sum(fields, check)
    if total is None or summed is None:
        return None
    return abs(summed - total[0]) <= Decimal(str(check.tolerance))


def sum_exceeds(fields: dict[str, Field], check: SumCheck) -> bool:
    """Return True when the parts read (a part may be unread) already add up to more than the check's total.

    Charges are never negative: parts over their total are a misreading of a part (a rule read as a digit of
    it: `1491.50` for 149.50), or of the total.
    """
    total = referenced_amounts(fields, check.total)
    parts = [amount for part in check.parts for amount in referenced_amounts(fields, part) or []]
    if total is None or not parts:
        return False
    return sum(parts, Decimal(0)) - total[0] > Decimal(str(check.tolerance))


def _order_check(fields: dict[str, Field], check: OrderCheck) -> Problem | None:
    """The earlier date must not be after the later one."""
    earlier, later = fields.get(check.earlier), fields.get(check.later)
    if earlier is None or later is None:
        return None
    if not (isinstance(earlier.value, date) and isinstance(later.value, date)) or earlier.value <= later.value:
        return None
    _lower(fields, [check.earlier, check.later])
    return Problem(
        ReasonCode.FIELD_INVALID,
        f"{check.earlier} is after {check.later}; check both dates",
        field=check.earlier,
    )


def _comparable(value: FieldValueType) -> object:
    """Return what two readings of one value are compared by (the amount of money, regardless of currency)."""
    return value.amount if isinstance(value, Money) else value


def _agree_check(fields: dict[str, Field], check: AgreeCheck) -> Problem | None:
    """Readings of one value (figures and words) must agree: agreement adds confidence, disagreement removes it.

    Agreement combines the readings as independent evidence, 1 - (1 - a)(1 - b), capped at AGREE_CAP; a
    disagreement caps every reading at DISAGREE_CAP, below any auto-accept threshold.
    """
    present = [name for name in check.fields if name in fields]
    if len(present) < 2:
        return None
    values = {name: _comparable(fields[name].value) for name in present}
    if len(set(map(repr, values.values()))) == 1:
        doubt = 1.0
        for name in present:
            doubt *= 1.0 - fields[name].confidence
        combined = round(min(AGREE_CAP, 1.0 - doubt), 4)
        for name in present:
            fields[name] = dataclasses.replace(fields[name], confidence=max(fields[name].confidence, combined))
        return None
    for name in present:
        field = fields[name]
        fields[name] = dataclasses.replace(field, confidence=round(min(field.confidence, DISAGREE_CAP), 4))
    shown = ", ".join(f"{name} = {values[name]}" for name in present)
    return Problem(
        ReasonCode.AMOUNTS_INCONSISTENT,
        f"{shown} disagree; check the amount on the document",
        page=fields[present[0]].provenance.page,
        field=present[0],
    )


@dataclass(frozen=True, slots=True)
class Unread:
    """The text found at a field's label that could not be read as its value, and where it was."""

    raw: str
    provenance: Provenance


def fill_unread(fields: dict[str, Field], spec: Spec, unread: dict[str, Unread]) -> list[Problem]:
    """Give a field read only in part the value of the reading it must agree with, when what was read fits.

    For `agree` checks with `fill_unread`: `人民币肆万零壹佰下拾肆元抽角制分` next to figures of 40,124.88 has
    three unreadable characters and fits; the words field then holds 40124.88 at UNREAD_FILL_CONFIDENCE with
    a Problem saying so. It runs after the checks, so a filled value never adds to the other's confidence.
    """
    problems: list[Problem] = []
    for check in spec.checks:
        if not isinstance(check, AgreeCheck) or not check.fill_unread:
            continue
        known = next((fields[n] for n in check.fields if n in fields and isinstance(fields[n].value, Money)), None)
        if known is None or not isinstance(known.value, Money):
            continue
        for name in check.fields:
            if name in fields or name not in unread:
                continue
            missing = unread_fits(unread[name].raw, known.value.amount)
            if missing is None:
                if read_share(unread[name].raw) >= CONTRADICT_SHARE:
                    problems.append(_contradicted(fields, known, name, unread[name]))
                continue
            fields[name] = Field(name, known.value, UNREAD_FILL_CONFIDENCE, unread[name].provenance, unread[name].raw)
            problems.append(
                Problem(
                    ReasonCode.FIELD_AMBIGUOUS,
                    f"{name}: {missing} character(s) could not be read; the rest fits {known.name} = "
                    f"{known.value.amount}; check it on the document",
                    page=unread[name].provenance.page,
                    field=name,
                )
            )
    return problems


def _contradicted(fields: dict[str, Field], known: Field, name: str, words: Unread) -> Problem:
    """Cap the figures that words read in part cannot say at DISAGREE_CAP; return the Problem that says so."""
    fields[known.name] = dataclasses.replace(known, confidence=round(min(known.confidence, DISAGREE_CAP), 4))
    return Problem(
        ReasonCode.AMOUNTS_INCONSISTENT,
        f"{known.name} = {_comparable(known.value)} does not fit {name} as far as it could be read; "
        "check the amount on the document",
        page=words.provenance.page,
        field=known.name,
    )
