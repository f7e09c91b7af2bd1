from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules import (
    CATALOGUE,
    RULES_BY_ID,
    STAGES,
    CycleContext,
    CycleState,
    Departure,
    Violation,
    annual_provision_cost,
    ehc_due_dates,
    evaluate_cycle_transition,
    financial_year_of,
    is_valid_period,
    next_stage,
    period_bounds,
)
from tests.rules.strategies import (
    Evaluate,
    any_requests,
    cycle_contexts,
    cycles,
    dates,
    departure_lists,
    departures,
)

SOUND_REASON = "Agreed with the family at the planning meeting."
CATALOGUE_ORDER = [rule.rule for rule in CATALOGUE]

# More examples than the default: the interesting states (two stuck cycles, a must and a
# should rule broken together) are a small corner of the input space.
thorough = settings(max_examples=300, deadline=None, database=None)


def must_rules(rule_ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(rule_id for rule_id in rule_ids if RULES_BY_ID[rule_id].severity == "must")


@thorough
@given(any_requests, departure_lists)
def test_violations_are_catalogue_rules_in_catalogue_order(
    evaluate: Evaluate, given_departures: list[Departure]
) -> None:
    evaluation = evaluate(given_departures)
    for violation in evaluation.violations:
        assert violation == Violation.of(RULES_BY_ID[violation.rule])
    positions = [CATALOGUE_ORDER.index(rule_id) for rule_id in evaluation.violated_rules]
    assert positions == sorted(set(positions))
    assert evaluation.allowed is (len(evaluation.violations) == 0)


@thorough
@given(any_requests)
def test_departures_for_every_violated_should_rule_leave_only_must_rules(
    evaluate: Evaluate,
) -> None:
    bare = evaluate(())
    should = [
        rule_id for rule_id in bare.violated_rules if RULES_BY_ID[rule_id].severity == "should"
    ]
    covered = evaluate([Departure(rule_id, SOUND_REASON) for rule_id in should])
    assert covered.violated_rules == must_rules(bare.violated_rules)
    assert covered.allowed is (not must_rules(bare.violated_rules))
    assert [departure.rule for departure in covered.accepted_departures] == should


@thorough
@given(any_requests, departure_lists)
def test_a_departure_never_removes_a_must_violation(
    evaluate: Evaluate, given_departures: list[Departure]
) -> None:
    bare = evaluate(())
    with_departures = evaluate(given_departures)
    assert must_rules(with_departures.violated_rules) == must_rules(bare.violated_rules)


@thorough
@given(any_requests, departure_lists, departures)
def test_adding_a_departure_never_adds_a_violation(
    evaluate: Evaluate, given_departures: list[Departure], extra: Departure
) -> None:
    before = set(evaluate(given_departures).violated_rules)
    after = set(evaluate([*given_departures, extra]).violated_rules)
    assert after <= before


@thorough
@given(any_requests, departure_lists)
def test_departures_only_trade_should_violations_for_accepted_departures(
    evaluate: Evaluate, given_departures: list[Departure]
) -> None:
    bare = evaluate(())
    with_departures = evaluate(given_departures)
    accepted = [departure.rule for departure in with_departures.accepted_departures]
    assert len(accepted) == len(set(accepted))
    assert all(departure in given_departures for departure in with_departures.accepted_departures)
    assert all(RULES_BY_ID[rule_id].severity == "should" for rule_id in accepted)
    assert set(with_departures.violated_rules).isdisjoint(accepted)
    assert set(with_departures.violated_rules) | set(accepted) == set(bare.violated_rules)


@thorough
@given(cycles, st.sampled_from([*STAGES, "closed"]), cycle_contexts, dates, departure_lists)
def test_the_stage_machine_only_moves_one_step_forward(
    cycle: CycleState,
    to: str,
    context: CycleContext,
    today: date,
    given_departures: list[Departure],
) -> None:
    evaluation = evaluate_cycle_transition(cycle, to, context, today, given_departures)
    if "cycle.next_stage" in evaluation.violated_rules:
        assert evaluation.violated_rules == ("cycle.next_stage",)
        assert to != next_stage(cycle.stage)
        assert evaluation.accepted_departures == ()
    else:
        assert STAGES.index(to) == STAGES.index(cycle.stage) + 1


non_negative_decimals = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("100000"), places=4, allow_nan=False
)
cost_inputs = st.none() | non_negative_decimals | st.integers(0, 10_000)


@thorough
@given(
    st.none() | non_negative_decimals,
    cost_inputs,
    cost_inputs,
    cost_inputs,
    st.none() | st.integers(1, 40) | st.decimals(min_value=1, max_value=40, places=2),
    cost_inputs,
)
def test_annual_cost_is_the_exact_value_rounded_half_up(
    rate: Decimal | None,
    minutes: Decimal | int | None,
    sessions: Decimal | int | None,
    weeks: Decimal | int | None,
    group: Decimal | int | None,
    fixed: Decimal | int | None,
) -> None:
    result = annual_provision_cost(rate, minutes, sessions, weeks, group, fixed)
    staffed = Fraction(0)
    if rate is not None and minutes is not None and sessions is not None and weeks is not None:
        staffed = (
            Fraction(rate) * Fraction(minutes) / 60 * Fraction(sessions) * Fraction(weeks)
        ) / Fraction(1 if group is None else group)
    exact = staffed + Fraction(0 if fixed is None else fixed)

    assert result >= 0
    assert result.as_tuple().exponent == -2
    assert abs(Fraction(result) - exact) <= Fraction(1, 200)
    # An independent oracle: decimal division at a precision no tie can hide in.
    with localcontext() as context:
        context.prec = 200
        oracle = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    assert result == oracle


@thorough
@given(st.integers(0, 10_000_000))
def test_half_penny_ties_always_round_up(pennies: int) -> None:
    tie = Decimal(pennies).scaleb(-2) + Decimal("0.005")
    result = annual_provision_cost(None, None, None, None, None, tie)
    assert result == Decimal(pennies + 1).scaleb(-2)


@thorough
@given(st.dates(min_value=date(1, 4, 1), max_value=date(9998, 12, 31)))
def test_every_day_lies_in_its_financial_year(day: date) -> None:
    period = financial_year_of(day)
    assert is_valid_period(period)
    start, end = period_bounds(period)
    assert start <= day <= end
    assert (start.month, start.day, end.month, end.day) == (4, 1, 3, 31)
    assert end.year == start.year + 1
    assert financial_year_of(end + timedelta(days=1)) != period


@thorough
@given(dates)
def test_ehc_due_dates_are_ordered_weeks_after_submission(submitted_on: date) -> None:
    due = ehc_due_dates(submitted_on)
    assert due.decision_due_on - submitted_on == timedelta(weeks=6)
    assert due.issue_decision_due_on - submitted_on == timedelta(weeks=16)
    assert due.final_plan_due_on - submitted_on == timedelta(weeks=20)
    assert due.decision_due_on.weekday() == submitted_on.weekday()
