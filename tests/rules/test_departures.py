import pytest

from app.rules import (
    MIN_DEPARTURE_REASON_LENGTH,
    RULES_BY_ID,
    Departure,
    DepartureError,
    Violation,
    departure_errors,
    evaluate_cycle_transition,
    settle_departures,
)
from tests.rules.factories import GOOD_REASON, TODAY, context, cycle_in, with_assessment, with_plan


def test_should_violation_covered_by_a_departure_is_allowed() -> None:
    departure = Departure("assessment.pupil_views", GOOD_REASON)
    evaluation = evaluate_cycle_transition(
        with_assessment("assess", pupil_views=None), "plan", context(), TODAY, [departure]
    )
    assert evaluation.allowed
    assert evaluation.violations == ()
    assert evaluation.accepted_departures == (departure,)


def test_each_should_rule_needs_its_own_departure() -> None:
    cycle = with_assessment("assess", pupil_views=None, parent_views=None)
    departure = Departure("assessment.parent_views", GOOD_REASON)
    evaluation = evaluate_cycle_transition(cycle, "plan", context(), TODAY, [departure])
    assert evaluation.violated_rules == ("assessment.pupil_views",)
    assert evaluation.accepted_departures == (departure,)


def test_departure_naming_a_must_rule_has_no_effect() -> None:
    cycle = with_plan("plan", parents_notified_on=None, staff_informed_on=None)
    must = Departure("plan.parents_notified", GOOD_REASON)
    should = Departure("plan.staff_informed", GOOD_REASON)
    evaluation = evaluate_cycle_transition(cycle, "do", context(), TODAY, [must, should])
    assert evaluation.violated_rules == ("plan.parents_notified",)
    assert not evaluation.allowed
    assert evaluation.accepted_departures == (should,)


def test_departure_for_a_rule_that_is_not_violated_is_dropped() -> None:
    departures = [
        Departure("plan.staff_informed", GOOD_REASON),
        Departure("assessment.pupil_views", GOOD_REASON),
    ]
    evaluation = evaluate_cycle_transition(cycle_in("plan"), "do", context(), TODAY, departures)
    assert evaluation.allowed
    assert evaluation.accepted_departures == ()


def test_unknown_rule_or_short_reason_never_covers_a_violation() -> None:
    cycle = with_plan("plan", staff_informed_on=None)
    departures = [
        Departure("plan.staff_informed", "too short"),
        Departure("plan.staff_told", GOOD_REASON),
    ]
    evaluation = evaluate_cycle_transition(cycle, "do", context(), TODAY, departures)
    assert evaluation.violated_rules == ("plan.staff_informed",)
    assert evaluation.accepted_departures == ()


def test_repeated_departure_for_one_rule_is_accepted_once() -> None:
    cycle = with_plan("plan", staff_informed_on=None)
    first = Departure("plan.staff_informed", GOOD_REASON)
    second = Departure("plan.staff_informed", "Another reason, also long enough.")
    evaluation = evaluate_cycle_transition(cycle, "do", context(), TODAY, [first, second])
    assert evaluation.allowed
    assert evaluation.accepted_departures == (first,)


def test_violations_are_listed_in_catalogue_order_with_catalogue_text() -> None:
    evaluation = settle_departures(
        "plan->do", ["plan.staff_informed", "plan.provision_set", "plan.parents_notified"], []
    )
    assert evaluation.violated_rules == (
        "plan.parents_notified",
        "plan.provision_set",
        "plan.staff_informed",
    )
    assert evaluation.violations[1] == Violation(
        rule="plan.provision_set",
        severity="must",
        message=RULES_BY_ID["plan.provision_set"].message,
    )


def test_settling_an_unknown_rule_id_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        settle_departures("plan->do", ["plan.typo"], [])


@pytest.mark.parametrize(
    ("departures", "expected"),
    [
        ([], []),
        ([Departure("plan.staff_informed", GOOD_REASON)], []),
        # Naming a must rule is valid input: it is refused later with 409, not 422.
        ([Departure("plan.parents_notified", GOOD_REASON)], []),
        ([Departure("plan.staff_informed", "1234567890")], []),
        (
            [Departure("plan.staff_informed", "123456789")],
            [
                DepartureError(
                    "departures.0.reason", "a reason of at least 10 characters is required"
                )
            ],
        ),
        (
            [Departure("plan.staff_informed", "    12345678 9    ")],
            [],
        ),
        (
            [Departure("plan.staff_informed", "   123456789   ")],
            [
                DepartureError(
                    "departures.0.reason", "a reason of at least 10 characters is required"
                )
            ],
        ),
        (
            [
                Departure("plan.staff_informed", GOOD_REASON),
                Departure("plan.nonsense", GOOD_REASON),
            ],
            [DepartureError("departures.1.rule", "unknown rule 'plan.nonsense'")],
        ),
        (
            [Departure("", "")],
            [
                DepartureError("departures.0.rule", "unknown rule ''"),
                DepartureError(
                    "departures.0.reason", "a reason of at least 10 characters is required"
                ),
            ],
        ),
    ],
)
def test_departure_errors(departures: list[Departure], expected: list[DepartureError]) -> None:
    assert departure_errors(departures) == expected


def test_minimum_reason_length_is_ten() -> None:
    assert MIN_DEPARTURE_REASON_LENGTH == 10


def test_departure_error_reads_as_field_and_message() -> None:
    error = departure_errors([Departure("x", GOOD_REASON)])[0]
    assert str(error) == "departures.0.rule: unknown rule 'x'"
