"""Policy checks on one claim: active on the loss date, cover, waiting period, and the payout the policy allows.

Pure functions of the register's values and the claim's; each answer is `None` when an input is unknown
(a register without a cover or waiting-period column, a loss date not read), so that the rules send the
claim to a person instead of guessing. `facts.parse_facts` and `assemble.build_facts` both use them, so a
rule set's examples and real claims get the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

ALL_RISKS = frozenset({"all", "all risks", "any", "*"})
"""Register entries meaning the product covers every loss type."""

_CENT = Decimal("0.01")
_SPLIT = re.compile(r"[,;/|\n]+")


@dataclass(frozen=True, slots=True)
class PolicyChecks:
    """The answers of the policy checks; None means "cannot tell" (a person decides)."""

    policy_active_on_loss: bool | None
    loss_covered: bool | None
    in_waiting_period: bool | None
    payout_due: Decimal | None


def parse_covered_losses(text: str | None) -> tuple[str, ...] | None:
    """Split a register cell like "Collision; Theft, Glass" into lower-case entries; None when empty."""
    if text is None:
        return None
    items = tuple(dict.fromkeys(" ".join(part.lower().split()) for part in _SPLIT.split(text) if part.strip()))
    return items or None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def is_loss_covered(loss_type: str | None, covered_losses: tuple[str, ...] | None) -> bool | None:
    """Return whether a loss type is in the cover list; None when either is unknown.

    An entry covers a loss type when every word of the entry is a word of the loss type ("collision" covers
    "Single Vehicle Collision"); "all" / "all risks" / "*" covers everything.
    """
    if loss_type is None or not loss_type.strip() or covered_losses is None:
        return None
    words = _words(loss_type)
    for entry in covered_losses:
        if entry.strip().lower() in ALL_RISKS:
            return True
        needed = _words(entry)
        if needed and needed <= words:
            return True
    return False


def is_active_on(status: str | None, start: date | None, end: date | None, loss: date | None) -> bool | None:
    """Return whether the policy is active and the loss date lies within [start, end]; None when unknown."""
    if status is None or loss is None:
        return None
    if status.strip().lower() != "active":
        return False
    if start is None or end is None:
        return None
    return start <= loss <= end


def is_in_waiting_period(start: date | None, waiting_days: int | None, loss: date | None) -> bool | None:
    """Return whether the loss happened within the first `waiting_days` days of cover; None when unknown."""
    if start is None or waiting_days is None or loss is None:
        return None
    return loss < start + timedelta(days=max(0, waiting_days))


def compute_payout_due(
    amount_claimed: Decimal | None, deductible: Decimal | None, limit: Decimal | None
) -> Decimal | None:
    """Return min(claimed - deductible, limit), never below 0, in cents (half up); None when an input is unknown."""
    if amount_claimed is None or deductible is None or limit is None:
        return None
    due = min(amount_claimed - deductible, limit)
    return max(Decimal("0"), due).quantize(_CENT, rounding=ROUND_HALF_UP)


def policy_checks(
    *,
    status: str | None,
    start: date | None,
    end: date | None,
    loss: date | None,
    loss_type: str | None,
    covered_losses: tuple[str, ...] | None,
    waiting_period_days: int | None,
    amount_claimed: Decimal | None,
    deductible: Decimal | None,
    limit: Decimal | None,
) -> PolicyChecks:
    """Run every policy check on one claim."""
    return PolicyChecks(
        policy_active_on_loss=is_active_on(status, start, end, loss),
        loss_covered=is_loss_covered(loss_type, covered_losses),
        in_waiting_period=is_in_waiting_period(start, waiting_period_days, loss),
        payout_due=compute_payout_due(amount_claimed, deductible, limit),
    )
