from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from app.rules import (
    PlanState,
    ProvisionState,
    annual_provision_cost,
    round_half_up_to_penny,
    total_cost,
)


def cost(
    hourly_rate: Any = None,
    minutes: Any = None,
    sessions: Any = None,
    weeks: Any = None,
    group: Any = None,
    fixed: Any = None,
) -> Decimal:
    return annual_provision_cost(hourly_rate, minutes, sessions, weeks, group, fixed)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        # A teaching assistant one-to-one: 25.00 x 30/60 x 3 x 38.
        ((Decimal("25.00"), 30, 3, 38, 1, None), "1425.00"),
        # Shared by a group of three, plus bought-in materials.
        ((Decimal("21.60"), 45, 2, 39, 3, Decimal("150.00")), "571.20"),
        # One third of a penny never becomes a penny.
        ((Decimal("1.00"), 20, 1, 1, 1, None), "0.33"),
        ((Decimal("10.00"), 20, 1, 1, 3, None), "1.11"),
        # Ties round up, where banker's rounding would go to the even penny.
        ((Decimal("0.01"), 30, 1, 1, 1, None), "0.01"),
        ((Decimal("0.05"), 30, 1, 1, 1, None), "0.03"),
        ((Decimal("2.01"), 30, 1, 1, 1, None), "1.01"),
        ((Decimal("0.25"), 6, 1, 1, 1, None), "0.03"),
        # Just below a tie rounds down.
        ((Decimal("0.2999"), 1, 1, 1, 1, None), "0.00"),
        ((Decimal("0.3001"), 1, 1, 1, 1, None), "0.01"),
        # A tie that only appears after dividing by the group.
        ((Decimal("0.05"), 60, 1, 1, 2, Decimal("10.00")), "10.03"),
        # 1.005 is 1.00499999... as a float: exact arithmetic keeps it a tie.
        ((None, None, None, None, None, Decimal("1.005")), "1.01"),
        # Fractional sessions (fortnightly) and minutes are allowed.
        ((Decimal("30.00"), Decimal("52.5"), Decimal("0.5"), 38, 1, None), "498.75"),
    ],
)
def test_annual_provision_cost(arguments: tuple[Any, ...], expected: str) -> None:
    result = cost(*arguments)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ((None, None, None, None, None, None), "0.00"),
        ((None, None, None, None, None, Decimal("450")), "450.00"),
        # Staffed time needs all four of rate, minutes, sessions and weeks.
        ((Decimal("25.00"), 30, 3, None, 1, Decimal("80.00")), "80.00"),
        ((None, 30, 3, 38, 1, None), "0.00"),
        # A missing group size is a single pupil.
        ((Decimal("25.00"), 30, 3, 38, None, None), "1425.00"),
        ((Decimal("0"), 30, 3, 38, 1, None), "0.00"),
    ],
)
def test_missing_values(arguments: tuple[Any, ...], expected: str) -> None:
    assert str(cost(*arguments)) == expected


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ((25.0, 30, 3, 38, 1, None), TypeError),
        ((Decimal("25"), 30.0, 3, 38, 1, None), TypeError),
        ((None, None, None, None, None, 1.5), TypeError),
        ((Decimal("25"), True, 3, 38, 1, None), TypeError),
        ((Decimal("25"), "30", 3, 38, 1, None), TypeError),
        ((Decimal("-25"), 30, 3, 38, 1, None), ValueError),
        ((Decimal("25"), 30, 3, 38, 1, Decimal("-0.01")), ValueError),
        ((Decimal("25"), 30, 3, 38, 0, None), ValueError),
        ((Decimal("25"), 30, 3, 38, Decimal("0.5"), None), ValueError),
        ((Decimal("NaN"), 30, 3, 38, 1, None), ValueError),
        ((Decimal("Infinity"), 30, 3, 38, 1, None), ValueError),
    ],
)
def test_invalid_inputs_raise(arguments: tuple[Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        cost(*arguments)


def test_large_amounts_keep_every_penny() -> None:
    # 99999.99 x 10 x 35 x 39 / 11 + 123456789.01 = 247547685.6918...
    result = cost(Decimal("99999.99"), 600, 35, 39, 11, Decimal("123456789.01"))
    assert str(result) == "247547685.69"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Fraction(1, 200), "0.01"),
        (Fraction(3, 200), "0.02"),
        (Fraction(-1, 200), "-0.01"),
        (Fraction(0), "0.00"),
        (Fraction(1, 3), "0.33"),
        (Fraction(2, 3), "0.67"),
    ],
)
def test_round_half_up_to_penny(amount: Fraction, expected: str) -> None:
    assert str(round_half_up_to_penny(amount)) == expected


def test_plan_cost_sums_rounded_provision_costs() -> None:
    thirds = ProvisionState(
        id="p1",
        hourly_rate=Decimal("1.00"),
        minutes_per_session=20,
        sessions_per_week=1,
        weeks_per_year=1,
    )
    plan = PlanState(provisions=(thirds, thirds, thirds))
    # Each provision shows 0.33, so the plan shows 0.99, not a rounded 1.00.
    assert thirds.annual_cost() == Decimal("0.33")
    assert str(plan.annual_cost()) == "0.99"
    assert str(PlanState().annual_cost()) == "0.00"


def test_total_cost_of_nothing_is_zero_pounds() -> None:
    assert str(total_cost([])) == "0.00"
    assert total_cost([Decimal("1.10"), Decimal("2.25")]) == Decimal("3.35")
