from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest

from app.rules import (
    CompletedCycleSummary,
    Departure,
    Evaluation,
    SpecialistState,
    evaluate_specialist_create,
    specialist_required_since,
)
from tests.rules.factories import (
    GOOD_REASON,
    RuleCase,
    completed_cycle,
    consented_specialist,
    context,
    cycle_case,
    cycle_in,
)

RULE = "specialist.little_or_no_progress"
AUTUMN = date(2025, 12, 10)
SPRING = date(2026, 3, 25)

# Three of four outcomes at little_or_none is "more than half"; two of four is not.
STUCK_AUTUMN = completed_cycle(completed_on=AUTUMN, outcome_count=4, little_or_none_count=3)
STUCK_SPRING = completed_cycle(completed_on=SPRING, outcome_count=4, little_or_none_count=3)
HALF_SPRING = completed_cycle(completed_on=SPRING, outcome_count=4, little_or_none_count=2)


def progress_case(
    name: str,
    completed: Sequence[CompletedCycleSummary],
    involvements: Sequence[SpecialistState],
    expected: tuple[str, ...],
) -> RuleCase:
    return cycle_case(
        RULE,
        name,
        cycle_in("plan"),
        "do",
        expected,
        context(
            completed_cycles=tuple(completed),
            specialist_involvements=tuple(involvements),
        ),
    )


LITTLE_OR_NO_PROGRESS_CASES = [
    progress_case("first cycle: nothing completed yet", [], [], ()),
    progress_case("one stuck cycle is not two", [STUCK_SPRING], [], ()),
    progress_case("two stuck cycles, no specialist", [STUCK_AUTUMN, STUCK_SPRING], [], (RULE,)),
    progress_case("two stuck cycles given newest first", [STUCK_SPRING, STUCK_AUTUMN], [], (RULE,)),
    progress_case("exactly half is not more than half", [STUCK_AUTUMN, HALF_SPRING], [], ()),
    progress_case(
        "a cycle without outcomes is not stuck",
        [STUCK_AUTUMN, completed_cycle(completed_on=SPRING, outcome_count=0)],
        [],
        (),
    ),
    progress_case(
        "only the two most recent cycles count",
        [
            completed_cycle(completed_on=date(2025, 7, 1), outcome_count=2, little_or_none_count=2),
            completed_cycle(completed_on=AUTUMN, outcome_count=2, little_or_none_count=0),
            STUCK_SPRING,
        ],
        [],
        (),
    ),
    progress_case(
        "the latest review decided to involve a specialist",
        [completed_cycle(completed_on=SPRING, decision="involve_specialist")],
        [],
        (RULE,),
    ),
    progress_case(
        "an older involve_specialist decision does not trigger",
        [
            completed_cycle(completed_on=AUTUMN, decision="involve_specialist"),
            completed_cycle(completed_on=SPRING, decision="continue"),
        ],
        [],
        (),
    ),
    progress_case(
        "consented specialist requested on the review day",
        [STUCK_AUTUMN, STUCK_SPRING],
        [consented_specialist(SPRING)],
        (),
    ),
    progress_case(
        "consented specialist requested after the review",
        [completed_cycle(completed_on=SPRING, decision="involve_specialist")],
        [consented_specialist(date(2026, 4, 20))],
        (),
    ),
    progress_case(
        "specialist requested the day before the latest review",
        [STUCK_AUTUMN, STUCK_SPRING],
        [consented_specialist(date(2026, 3, 24))],
        (RULE,),
    ),
    progress_case(
        "specialist requested between the two reviews is before the latest one",
        [STUCK_AUTUMN, STUCK_SPRING],
        [consented_specialist(date(2026, 1, 15))],
        (RULE,),
    ),
    progress_case(
        "specialist without parental consent",
        [STUCK_AUTUMN, STUCK_SPRING],
        [SpecialistState(parental_consent=False, requested_on=date(2026, 4, 1))],
        (RULE,),
    ),
    progress_case(
        "consented specialist not yet requested",
        [STUCK_AUTUMN, STUCK_SPRING],
        [consented_specialist(None)],
        (RULE,),
    ),
    progress_case(
        "one of several involvements qualifies",
        [STUCK_AUTUMN, STUCK_SPRING],
        [
            SpecialistState(parental_consent=False, requested_on=date(2026, 4, 1)),
            consented_specialist(date(2026, 4, 2)),
        ],
        (),
    ),
    progress_case(
        "the review date is read from held_on, not from completion",
        [
            STUCK_AUTUMN,
            completed_cycle(
                completed_on=SPRING,
                outcome_count=4,
                little_or_none_count=3,
                held_on=date(2026, 3, 1),
            ),
        ],
        [consented_specialist(date(2026, 3, 2))],
        (),
    ),
]

PARENTS_INVOLVED_CASES = [
    RuleCase(
        "specialist.parents_involved",
        "parents involved",
        lambda departures: evaluate_specialist_create(
            SpecialistState(parental_consent=False, requested_on=None, parents_involved_on=SPRING),
            departures,
        ),
        (),
    ),
    RuleCase(
        "specialist.parents_involved",
        "parents not involved",
        lambda departures: evaluate_specialist_create(
            SpecialistState(parental_consent=True, requested_on=SPRING), departures
        ),
        ("specialist.parents_involved",),
    ),
]

SPECIALIST_CASES = LITTLE_OR_NO_PROGRESS_CASES + PARENTS_INVOLVED_CASES


@pytest.mark.parametrize("case", SPECIALIST_CASES, ids=lambda case: case.id)
def test_specialist_rule_table(case: RuleCase) -> None:
    evaluation: Evaluation = case.evaluate(())
    assert evaluation.violated_rules == case.expected
    assert evaluation.allowed is (not case.expected)


def test_required_since_is_the_latest_review_day() -> None:
    assert specialist_required_since([STUCK_SPRING, STUCK_AUTUMN]) == SPRING
    assert specialist_required_since([STUCK_AUTUMN, HALF_SPRING]) is None


def test_required_since_falls_back_to_completion_day_without_held_on() -> None:
    latest = completed_cycle(completed_on=SPRING, decision="involve_specialist")
    without_held_on = replace(latest, held_on=None)
    assert specialist_required_since([without_held_on]) == SPRING


def test_departure_lets_a_specialist_be_created_without_parents_involved() -> None:
    departure = Departure("specialist.parents_involved", GOOD_REASON)
    evaluation = evaluate_specialist_create(
        SpecialistState(parental_consent=False, requested_on=None), [departure]
    )
    assert evaluation.allowed
    assert evaluation.accepted_departures == (departure,)
    assert evaluation.transition == "create"


def test_little_progress_departure_is_accepted_on_plan_to_do() -> None:
    departure = Departure(RULE, "Educational psychologist already booked by the LA.")
    cycle_context = context(completed_cycles=(STUCK_AUTUMN, STUCK_SPRING))
    evaluation = cycle_case(RULE, "", cycle_in("plan"), "do", (), cycle_context).evaluate(
        [departure]
    )
    assert evaluation.allowed
    assert evaluation.accepted_departures == (departure,)
