"""Exact money arithmetic for provision costs.

Amounts are `Decimal` pounds with two places. Intermediate values are `Fraction`s, so a rate
divided by 60 minutes or by a group of 3 is never truncated before the final rounding.
"""

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

PENNY = Decimal("0.01")
ZERO_POUNDS = Decimal("0.00")
MINUTES_PER_HOUR = 60

Quantity = Decimal | int


def _exact(value: Quantity, name: str) -> Fraction:
    # bool is an int subclass and float would smuggle binary rounding into money.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal or an int, not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{name} must be finite")
    exact = Fraction(value)
    if exact < 0:
        raise ValueError(f"{name} must not be negative")
    return exact


def round_half_up_to_penny(amount: Fraction) -> Decimal:
    """Ties go away from zero, like `decimal.ROUND_HALF_UP`; the result has exponent -2."""
    pennies = amount * 100
    magnitude = abs(pennies)
    rounded = int(magnitude + Fraction(1, 2))  # floor, since the value is non-negative
    signed = -rounded if pennies < 0 else rounded
    return Decimal(signed).scaleb(-2)


def annual_provision_cost(
    hourly_rate: Quantity | None,
    minutes_per_session: Quantity | None,
    sessions_per_week: Quantity | None,
    weeks_per_year: Quantity | None,
    group_size: Quantity | None,
    fixed_annual_cost: Quantity | None,
) -> Decimal:
    """`hourly_rate * minutes_per_session / 60 * sessions_per_week * weeks_per_year / group_size
    + fixed_annual_cost`, rounded half-up to the penny.

    Missing values: the staffed-time part counts only when all four of `hourly_rate`,
    `minutes_per_session`, `sessions_per_week` and `weeks_per_year` are set (an adjustment or a
    bought-in resource has no staffed time); a missing `group_size` means one pupil; a missing
    `fixed_annual_cost` is zero. Negative values, a group smaller than one and floats raise.
    """
    staffed_time_cost = Fraction(0)
    if (
        hourly_rate is not None
        and minutes_per_session is not None
        and sessions_per_week is not None
        and weeks_per_year is not None
    ):
        group = Fraction(1) if group_size is None else _exact(group_size, "group_size")
        if group < 1:
            raise ValueError("group_size must be at least 1")
        staffed_time_cost = (
            _exact(hourly_rate, "hourly_rate")
            * _exact(minutes_per_session, "minutes_per_session")
            / MINUTES_PER_HOUR
            * _exact(sessions_per_week, "sessions_per_week")
            * _exact(weeks_per_year, "weeks_per_year")
            / group
        )
    fixed = (
        Fraction(0) if fixed_annual_cost is None else _exact(fixed_annual_cost, "fixed_annual_cost")
    )
    return round_half_up_to_penny(staffed_time_cost + fixed)


def total_cost(amounts: Iterable[Decimal]) -> Decimal:
    """Sums per-provision costs already rounded to the penny, so a total always matches the
    per-provision figures a SENCO sees."""
    return sum(amounts, ZERO_POUNDS)
