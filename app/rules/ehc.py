from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from app.rules.evaluation import (
    Departure,
    Evaluation,
    InvalidMove,
    settle_departures,
    transition_name,
)

EHC_STATUSES: tuple[str, ...] = (
    "draft",
    "submitted",
    "assessing",
    "declined",
    "plan_issued",
    "plan_not_issued",
    "withdrawn",
)

EHC_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "withdrawn"}),
    "submitted": frozenset({"assessing", "declined", "withdrawn"}),
    "assessing": frozenset({"plan_issued", "plan_not_issued"}),
    "declined": frozenset(),
    "plan_issued": frozenset(),
    "plan_not_issued": frozenset(),
    "withdrawn": frozenset(),
}

# The statuses in which the LA is still working on a request (ehc.single_open_request).
EHC_OPEN_STATUSES = frozenset({"submitted", "assessing"})

# Statutory limits from the date the LA receives the request (SEND Regulations 2014 reg 5,
# reg 10 and reg 13).
DECISION_TO_ASSESS_WEEKS = 6
DECISION_TO_ISSUE_WEEKS = 16
FINAL_PLAN_WEEKS = 20


class EhcDueDates(NamedTuple):
    decision_due_on: date
    issue_decision_due_on: date
    final_plan_due_on: date


def ehc_due_dates(submitted_on: date) -> EhcDueDates:
    return EhcDueDates(
        decision_due_on=submitted_on + timedelta(weeks=DECISION_TO_ASSESS_WEEKS),
        issue_decision_due_on=submitted_on + timedelta(weeks=DECISION_TO_ISSUE_WEEKS),
        final_plan_due_on=submitted_on + timedelta(weeks=FINAL_PLAN_WEEKS),
    )


def is_ehc_move_allowed(from_status: str, to_status: str) -> bool:
    return to_status in EHC_TRANSITIONS.get(from_status, frozenset())


@dataclass(frozen=True)
class EhcRequestState:
    status: str
    requested_by: str


@dataclass(frozen=True)
class EhcContext:
    """About the same pupil: `completed_cycle_count` across all its plans, and the statuses of
    its other EHC requests (not the one being moved)."""

    completed_cycle_count: int = 0
    other_request_statuses: tuple[str, ...] = ()


def evaluate_ehc_transition(
    request: EhcRequestState,
    to: str,
    context: EhcContext,
    departures: Sequence[Departure] = (),
) -> Evaluation:
    """Raises `InvalidMove` for a move outside `EHC_TRANSITIONS`; rules run on submission only."""
    if not is_ehc_move_allowed(request.status, to):
        raise InvalidMove(request.status, to)
    violated: list[str] = []
    if to == "submitted":
        if request.requested_by == "school" and context.completed_cycle_count < 1:
            violated.append("ehc.evidence_of_sen_support")
        if any(status in EHC_OPEN_STATUSES for status in context.other_request_statuses):
            violated.append("ehc.single_open_request")
    return settle_departures(transition_name(request.status, to), violated, departures)
