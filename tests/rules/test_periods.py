from datetime import date

import pytest

from app.rules import financial_year_of, is_valid_period, period_bounds


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 4, 1), "2026-27"),
        (date(2026, 3, 31), "2025-26"),
        (date(2027, 3, 31), "2026-27"),
        (date(2026, 12, 31), "2026-27"),
        (date(2027, 1, 1), "2026-27"),
        (date(1999, 4, 1), "1999-00"),
        (date(2000, 2, 29), "1999-00"),
        (date(9999, 12, 31), "9999-00"),
    ],
)
def test_financial_year_of(day: date, expected: str) -> None:
    assert financial_year_of(day) == expected


@pytest.mark.parametrize(
    ("period", "valid"),
    [
        ("2026-27", True),
        ("1999-00", True),
        ("2099-00", True),
        ("2026-28", False),
        ("2026-26", False),
        ("2026-2027", False),
        ("26-27", False),
        ("2026/27", False),
        (" 2026-27", False),
        ("2026-27\n", False),
        ("\uff12\uff10\uff12\uff16-27", False),  # full-width digits
        ("0000-01", False),
        ("9999-00", False),
        ("", False),
    ],
)
def test_is_valid_period(period: str, valid: bool) -> None:
    assert is_valid_period(period) is valid


def test_period_bounds_run_from_first_april_to_thirty_first_march() -> None:
    assert period_bounds("2026-27") == (date(2026, 4, 1), date(2027, 3, 31))
    assert period_bounds("1999-00") == (date(1999, 4, 1), date(2000, 3, 31))


@pytest.mark.parametrize("period", ["2026-28", "2026", "9999-00"])
def test_period_bounds_refuses_invalid_periods(period: str) -> None:
    with pytest.raises(ValueError, match="financial year"):
        period_bounds(period)
