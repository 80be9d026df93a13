from decimal import Decimal

from claimflow.assemble import ClaimView
from claimflow.errors import ReasonCode
from claimflow.models import Decision, Problem, Reason, Route
from claimflow.routing import _hold_for_page_problems


def _settle() -> Decision:
    return Decision(Route.SETTLE, Decimal("100.00"), "EUR", [Reason("SMALL_CLEAN_CLAIM", "ok")], None, [],
                    "SMALL_CLEAN_CLAIM", "r", "1", "h", "zen", {})


def test_uncertain_page_orientation_is_never_paid_unseen() -> None:
    view = ClaimView("C1", "motor", "documents")
    view.page_problems.append(Problem(ReasonCode.PAGE_ORIENTATION_UNCERTAIN, "page 1 may be upside down", page=1))
    decision = _settle()
    _hold_for_page_problems(decision, view)
    assert decision.route is Route.REVIEW and decision.payout is None
    assert decision.decided_by == "page_orientation_uncertain"
    assert "page_orientation_uncertain" in [r.code for r in decision.reasons]


def test_clean_pages_change_nothing() -> None:
    decision = _settle()
    _hold_for_page_problems(decision, ClaimView("C1", "motor", "documents"))
    assert decision.route is Route.SETTLE and decision.payout == Decimal("100.00")
