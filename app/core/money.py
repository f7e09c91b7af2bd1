"""Money on the wire: a JSON string in pounds with at most two decimals, never a number."""

from decimal import Decimal
from typing import Annotated

from pydantic import StringConstraints

MoneyText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$", max_length=13
    ),
]


def money_text(amount: Decimal) -> str:
    """Two decimals, e.g. "6000.00"."""
    return f"{amount.quantize(Decimal('0.01')):f}"
