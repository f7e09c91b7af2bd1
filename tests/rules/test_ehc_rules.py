from datetime import date

import pytest

from app.rules import (
    EHC_STATUSES,
    Departure,
    EhcContext,
    EhcDueDates,
    EhcRequestState,
    InvalidMove,
    ehc_due_dates,
    evaluate_ehc_transition,
    is_ehc_move_allowed,
)
from tests.rules.factories import GOOD_REASON, RuleCase

# SPEC.md §3.5, written out by hand so a change to the machine has to change this too.
ALLOWED_EHC_MOVES = {
    ("draft", "submitted"),
    ("submitted", "assessing"),
    ("submitted", "declined"),
    ("assessing", "plan_issued"),
    ("assessing", "plan_not_issued"),
    ("draft", "withdrawn"),
    ("submitted", "withdrawn"),
}


def submission_case(
    rule: str,
    name: str,
    requested_by: str,
    expected: tuple[str, ...],
    completed_cycle_count: int = 2,
    other_request_statuses: tuple[str, ...] = (),
) -> RuleCase:
    request = EhcRequestState(status="draft", requested_by=requested_by)
    ehc_context = EhcContext(
        completed_cycle_count=completed_cycle_count,
        other_request_statuses=other_request_statuses,
    )
    return RuleCase(
        rule,
        name,
        lambda departures: evaluate_ehc_transition(request, "submitted", ehc_context, departures),
        expected,
    )


EVIDENCE = "ehc.evidence_of_sen_support"
SINGLE = "ehc.single_open_request"

EHC_CASES = [
    submission_case(EVIDENCE, "school request after one cycle", "school", (), 1),
    submission_case(EVIDENCE, "school request with no completed cycle", "school", (EVIDENCE,), 0),
    submission_case(EVIDENCE, "a parent's request needs no cycle", "parent", (), 0),
    submission_case(EVIDENCE, "a young person's request needs no cycle", "young_person", (), 0),
    submission_case(
        SINGLE,
        "other requests are closed or drafts",
        "parent",
        (),
        other_request_statuses=("draft", "declined", "withdrawn", "plan_not_issued"),
    ),
    submission_case(
        SINGLE,
        "another request is submitted",
        "parent",
        (SINGLE,),
        other_request_statuses=("submitted",),
    ),
    submission_case(
        SINGLE,
        "another request is being assessed",
        "school",
        (SINGLE,),
        other_request_statuses=("withdrawn", "assessing"),
    ),
    submission_case(
        SINGLE,
        "both rules at once",
        "school",
        (EVIDENCE, SINGLE),
        completed_cycle_count=0,
        other_request_statuses=("submitted",),
    ),
]


@pytest.mark.parametrize("case", EHC_CASES, ids=lambda case: case.id)
def test_ehc_rule_table(case: RuleCase) -> None:
    evaluation = case.evaluate(())
    assert evaluation.violated_rules == case.expected
    assert evaluation.allowed is (not case.expected)
    assert evaluation.transition == "draft->submitted"


@pytest.mark.parametrize("from_status", EHC_STATUSES)
@pytest.mark.parametrize("to_status", [*EHC_STATUSES, "approved"])
def test_ehc_state_machine(from_status: str, to_status: str) -> None:
    expected = (from_status, to_status) in ALLOWED_EHC_MOVES
    assert is_ehc_move_allowed(from_status, to_status) is expected
    request = EhcRequestState(status=from_status, requested_by="school")
    if expected:
        evaluation = evaluate_ehc_transition(request, to_status, EhcContext(1))
        assert evaluation.allowed
    else:
        with pytest.raises(InvalidMove):
            evaluate_ehc_transition(request, to_status, EhcContext(1))


def test_rules_run_only_on_submission() -> None:
    busy = EhcContext(completed_cycle_count=0, other_request_statuses=("assessing",))
    request = EhcRequestState(status="submitted", requested_by="school")
    assert evaluate_ehc_transition(request, "assessing", busy).allowed
    assert evaluate_ehc_transition(request, "withdrawn", busy).allowed


def test_departure_covers_missing_evidence_but_not_an_open_request() -> None:
    request = EhcRequestState(status="draft", requested_by="school")
    departures = [Departure(EVIDENCE, GOOD_REASON), Departure(SINGLE, GOOD_REASON)]
    evaluation = evaluate_ehc_transition(
        request, "submitted", EhcContext(0, ("submitted",)), departures
    )
    assert evaluation.violated_rules == (SINGLE,)
    assert evaluation.accepted_departures == (departures[0],)


def test_due_dates_are_six_sixteen_and_twenty_weeks() -> None:
    assert ehc_due_dates(date(2026, 1, 5)) == EhcDueDates(
        decision_due_on=date(2026, 2, 16),
        issue_decision_due_on=date(2026, 4, 27),
        final_plan_due_on=date(2026, 5, 25),
    )


def test_due_dates_cross_a_leap_day() -> None:
    due = ehc_due_dates(date(2028, 2, 1))
    assert due.decision_due_on == date(2028, 3, 14)
    assert due.final_plan_due_on == date(2028, 6, 20)
