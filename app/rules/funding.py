import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.rules.evaluation import (
    Departure,
    Evaluation,
    InvalidMove,
    settle_departures,
    transition_name,
)
from app.rules.money import ZERO_POUNDS

DEFAULT_THRESHOLD = Decimal("6000.00")

CLAIM_STATUSES: tuple[str, ...] = (
    "draft",
    "submitted",
    "approved",
    "partially_approved",
    "rejected",
    "withdrawn",
)

CLAIM_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "withdrawn"}),
    "submitted": frozenset({"approved", "partially_approved", "rejected", "withdrawn"}),
    "approved": frozenset(),
    "partially_approved": frozenset(),
    "rejected": frozenset(),
    "withdrawn": frozenset(),
}

# Claims that hold the pupil's one top-up for a period (claim.single_per_period).
CLAIM_LIVE_STATUSES = frozenset({"submitted", "approved", "partially_approved"})
CLAIM_DECISION_STATUSES = frozenset({"approved", "partially_approved", "rejected"})
CYCLE_STAGES_WITH_SUPPORT_IN_PLACE = frozenset({"do", "review"})
EHC_PLAN_SEN_STATUS = "E"

FINANCIAL_YEAR_START_MONTH = 4
_PERIOD_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})")


def financial_year_of(day: date) -> str:
    start_year = day.year if day.month >= FINANCIAL_YEAR_START_MONTH else day.year - 1
    return f"{start_year:04d}-{(start_year + 1) % 100:02d}"


def is_valid_period(period: str) -> bool:
    match = _PERIOD_PATTERN.fullmatch(period)
    if match is None:
        return False
    start_year = int(match.group(1))
    # Year 9999 has no following 31 March that `date` can represent.
    return 1 <= start_year <= 9998 and int(match.group(2)) == (start_year + 1) % 100


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a financial year, both inclusive (1 April to 31 March)."""
    if not is_valid_period(period):
        raise ValueError(f"not a financial year period: {period!r}")
    start_year = int(period[:4])
    return date(start_year, FINANCIAL_YEAR_START_MONTH, 1), date(start_year + 1, 3, 31)


def requested_amount(provision_cost: Decimal, threshold: Decimal) -> Decimal:
    return provision_cost - threshold


def recorded_decided_amount(to: str, requested: Decimal, decided: Decimal | None) -> Decimal | None:
    """The amount stored on a decision: `approved` without an amount takes the requested one,
    `rejected` always records zero; None for moves that are not decisions."""
    if to == "rejected":
        return ZERO_POUNDS
    if to == "approved" and decided is None:
        return requested
    if to in CLAIM_DECISION_STATUSES:
        return decided
    return None


def is_claim_move_allowed(from_status: str, to_status: str) -> bool:
    return to_status in CLAIM_TRANSITIONS.get(from_status, frozenset())


@dataclass(frozen=True)
class ClaimState:
    status: str
    requested_amount: Decimal | None = None


@dataclass(frozen=True)
class ClaimSubmissionContext:
    """What `draft->submitted` reads, loaded at submission time.

    `current_cycle_stage` is the stage of the current cycle of the pupil's active plan (None
    without an active plan). `other_claim_statuses` are those of the pupil's other claims for
    the same period.
    """

    threshold: Decimal
    provision_cost: Decimal
    sen_status: str
    current_cycle_stage: str | None
    other_claim_statuses: tuple[str, ...] = ()


def _submission_violations(context: ClaimSubmissionContext) -> list[str]:
    support_in_place = (
        context.current_cycle_stage in CYCLE_STAGES_WITH_SUPPORT_IN_PLACE
        or context.sen_status == EHC_PLAN_SEN_STATUS
    )
    return [
        rule_id
        for rule_id, broken in (
            ("claim.exceeds_threshold", not context.provision_cost > context.threshold),
            ("claim.support_in_place", not support_in_place),
            (
                "claim.single_per_period",
                any(status in CLAIM_LIVE_STATUSES for status in context.other_claim_statuses),
            ),
        )
        if broken
    ]


def _decided_amount_violated(to: str, requested: Decimal, decided: Decimal | None) -> bool:
    if to == "approved":
        return decided is not None and decided != requested
    if to == "partially_approved":
        return decided is None or not ZERO_POUNDS < decided < requested
    return False


def evaluate_claim_transition(
    claim: ClaimState,
    to: str,
    submission: ClaimSubmissionContext | None = None,
    decided_amount: Decimal | None = None,
    departures: Sequence[Departure] = (),
) -> Evaluation:
    """Raises `InvalidMove` for a move outside `CLAIM_TRANSITIONS`, and `ValueError` when
    `draft->submitted` comes without its context or a decision on a claim without a requested
    amount."""
    if not is_claim_move_allowed(claim.status, to):
        raise InvalidMove(claim.status, to)
    violated: list[str] = []
    if to == "submitted":
        if submission is None:
            raise ValueError("draft->submitted needs a ClaimSubmissionContext")
        violated = _submission_violations(submission)
    elif to in CLAIM_DECISION_STATUSES:
        if claim.requested_amount is None:
            raise ValueError("a submitted claim has a requested amount")
        if _decided_amount_violated(to, claim.requested_amount, decided_amount):
            violated = ["claim.decided_amount"]
    return settle_departures(transition_name(claim.status, to), violated, departures)
