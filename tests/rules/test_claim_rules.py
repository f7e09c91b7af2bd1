from decimal import Decimal
from typing import Any

import pytest

from app.rules import (
    CLAIM_STATUSES,
    ClaimState,
    Departure,
    InvalidMove,
    evaluate_claim_transition,
    is_claim_move_allowed,
    recorded_decided_amount,
    requested_amount,
)
from tests.rules.factories import GOOD_REASON, RuleCase, claim_submission, submitted_claim

# SPEC.md §3.6, written out by hand.
ALLOWED_CLAIM_MOVES = {
    ("draft", "submitted"),
    ("submitted", "approved"),
    ("submitted", "partially_approved"),
    ("submitted", "rejected"),
    ("draft", "withdrawn"),
    ("submitted", "withdrawn"),
}

EXCEEDS = "claim.exceeds_threshold"
SUPPORT = "claim.support_in_place"
SINGLE = "claim.single_per_period"
DECIDED = "claim.decided_amount"


def submit_case(rule: str, name: str, expected: tuple[str, ...], **changes: Any) -> RuleCase:
    submission = claim_submission(**changes)
    return RuleCase(
        rule,
        name,
        lambda departures: evaluate_claim_transition(
            ClaimState(status="draft"), "submitted", submission, departures=departures
        ),
        expected,
    )


def decide_case(
    name: str, to: str, requested: str, decided: str | None, expected: tuple[str, ...]
) -> RuleCase:
    amount = None if decided is None else Decimal(decided)
    return RuleCase(
        DECIDED,
        name,
        lambda departures: evaluate_claim_transition(
            submitted_claim(requested), to, decided_amount=amount, departures=departures
        ),
        expected,
    )


CLAIM_CASES = [
    submit_case(EXCEEDS, "a penny over the threshold", (), provision_cost=Decimal("6000.01")),
    submit_case(EXCEEDS, "equal to the threshold", (EXCEEDS,), provision_cost=Decimal("6000.00")),
    submit_case(EXCEEDS, "below the threshold", (EXCEEDS,), provision_cost=Decimal("1200.00")),
    submit_case(
        EXCEEDS,
        "a period with a higher threshold",
        (EXCEEDS,),
        threshold=Decimal("8000.00"),
        provision_cost=Decimal("7250.50"),
    ),
    submit_case(SUPPORT, "current cycle in do", (), current_cycle_stage="do"),
    submit_case(SUPPORT, "current cycle in review", (), current_cycle_stage="review"),
    submit_case(SUPPORT, "current cycle still in plan", (SUPPORT,), current_cycle_stage="plan"),
    submit_case(SUPPORT, "current cycle in assess", (SUPPORT,), current_cycle_stage="assess"),
    submit_case(SUPPORT, "no active plan", (SUPPORT,), current_cycle_stage=None),
    submit_case(
        SUPPORT, "an EHC plan without an active plan", (), current_cycle_stage=None, sen_status="E"
    ),
    submit_case(
        SINGLE,
        "other claims are drafts, rejected or withdrawn",
        (),
        other_claim_statuses=("draft", "rejected", "withdrawn"),
    ),
    submit_case(SINGLE, "another claim submitted", (SINGLE,), other_claim_statuses=("submitted",)),
    submit_case(SINGLE, "another claim approved", (SINGLE,), other_claim_statuses=("approved",)),
    submit_case(
        SINGLE,
        "another claim partially approved",
        (SINGLE,),
        other_claim_statuses=("withdrawn", "partially_approved"),
    ),
    submit_case(
        SINGLE,
        "every submission rule at once",
        (EXCEEDS, SUPPORT, SINGLE),
        provision_cost=Decimal("0.00"),
        current_cycle_stage=None,
        other_claim_statuses=("approved",),
    ),
    decide_case("approved without an amount", "approved", "1250.50", None, ()),
    decide_case("approved for the requested amount", "approved", "1250.50", "1250.5", ()),
    decide_case("approved for less", "approved", "1250.50", "1250.49", (DECIDED,)),
    decide_case("approved for more", "approved", "1250.50", "1300.00", (DECIDED,)),
    decide_case("partly approved, a penny", "partially_approved", "1250.50", "0.01", ()),
    decide_case("partly approved, a penny short", "partially_approved", "1250.50", "1250.49", ()),
    decide_case(
        "partly approved without amount", "partially_approved", "1250.50", None, (DECIDED,)
    ),
    decide_case("partly approved for zero", "partially_approved", "1250.50", "0.00", (DECIDED,)),
    decide_case("partly approved in full", "partially_approved", "1250.50", "1250.50", (DECIDED,)),
    decide_case("partly approved for more", "partially_approved", "1250.50", "2000", (DECIDED,)),
    decide_case("partly approved, negative", "partially_approved", "1250.50", "-5", (DECIDED,)),
    decide_case("rejected: no amount rule", "rejected", "1250.50", "99.00", ()),
]


@pytest.mark.parametrize("case", CLAIM_CASES, ids=lambda case: case.id)
def test_claim_rule_table(case: RuleCase) -> None:
    evaluation = case.evaluate(())
    assert evaluation.violated_rules == case.expected
    assert evaluation.allowed is (not case.expected)


@pytest.mark.parametrize("from_status", CLAIM_STATUSES)
@pytest.mark.parametrize("to_status", [*CLAIM_STATUSES, "assessing"])
def test_claim_state_machine(from_status: str, to_status: str) -> None:
    expected = (from_status, to_status) in ALLOWED_CLAIM_MOVES
    assert is_claim_move_allowed(from_status, to_status) is expected
    claim = ClaimState(status=from_status, requested_amount=Decimal("100.00"))
    # A decided amount that suits a partial approval and is ignored by the other moves.
    partial = Decimal("50.00") if to_status == "partially_approved" else None
    if expected:
        evaluation = evaluate_claim_transition(claim, to_status, claim_submission(), partial)
        assert evaluation.allowed
    else:
        with pytest.raises(InvalidMove):
            evaluate_claim_transition(claim, to_status, claim_submission(), partial)


def test_submission_without_its_context_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="ClaimSubmissionContext"):
        evaluate_claim_transition(ClaimState(status="draft"), "submitted")


def test_decision_on_claim_without_requested_amount_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="requested amount"):
        evaluate_claim_transition(ClaimState(status="submitted"), "approved")


def test_departure_never_covers_a_must_claim_rule() -> None:
    departure = Departure(EXCEEDS, GOOD_REASON)
    evaluation = evaluate_claim_transition(
        ClaimState(status="draft"),
        "submitted",
        claim_submission(provision_cost=Decimal("10.00")),
        departures=[departure],
    )
    assert evaluation.violated_rules == (EXCEEDS,)
    assert evaluation.accepted_departures == ()


def test_requested_amount_is_cost_minus_threshold() -> None:
    assert requested_amount(Decimal("7250.50"), Decimal("6000.00")) == Decimal("1250.50")


@pytest.mark.parametrize(
    ("to", "decided", "expected"),
    [
        ("approved", None, Decimal("1250.50")),
        ("approved", Decimal("1250.50"), Decimal("1250.50")),
        ("partially_approved", Decimal("800.00"), Decimal("800.00")),
        ("rejected", None, Decimal("0.00")),
        ("rejected", Decimal("500.00"), Decimal("0.00")),
        ("withdrawn", None, None),
    ],
)
def test_recorded_decided_amount(to: str, decided: Decimal | None, expected: Decimal) -> None:
    recorded = recorded_decided_amount(to, Decimal("1250.50"), decided)
    assert recorded == expected
    if expected is not None:
        assert str(recorded) == str(expected)
