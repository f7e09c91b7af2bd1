import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from app.core.departures import DepartureIn, DepartureOut
from app.core.money import MoneyText, money_text
from app.core.schemas import LongText, ResourceOut, StrictModel
from app.models.enums import ClaimStatus, ClaimTransitionTarget
from app.rules import is_valid_period


def _period(value: str) -> str:
    if not is_valid_period(value):
        raise ValueError("A financial year written YYYY-YY with consecutive years, e.g. 2026-27")
    return value


Period = Annotated[str, AfterValidator(_period)]


class ThresholdIn(StrictModel):
    amount: MoneyText


class ThresholdOut(BaseModel):
    period: str
    amount: str
    version: int
    created_at: datetime
    updated_at: datetime


class ThresholdList(BaseModel):
    items: list[ThresholdOut]
    default_amount: str = Field(description="The threshold of any period not set")


class ClaimCreate(StrictModel):
    period: Period = Field(description="Financial year, e.g. 2026-27")


class ClaimTransitionIn(StrictModel):
    to: ClaimTransitionTarget
    decided_amount: MoneyText | None = Field(
        default=None, description='For a decision: pounds as a string, e.g. "2500.00"'
    )
    note: LongText | None = None
    departures: list[DepartureIn] = Field(default_factory=list, max_length=10)


class ClaimOut(ResourceOut):
    pupil_id: uuid.UUID
    school_id: uuid.UUID
    la_code: str | None = Field(description="The pupil's home LA, snapshot at submission")
    period: str
    status: ClaimStatus
    threshold: str | None = Field(description="Pounds, snapshot at submission")
    provision_cost: str | None = Field(description="Pounds, snapshot at submission")
    requested_amount: str | None = Field(description="provision_cost - threshold")
    decided_amount: str | None
    decision_note: str | None
    decided_by: str | None
    decided_at: datetime | None
    submitted_at: datetime | None
    departures: list[DepartureOut]


MONEY_FIELDS = ("threshold", "provision_cost", "requested_amount", "decided_amount")


def claim_out(claim: object) -> ClaimOut:
    values = {name: getattr(claim, name) for name in ClaimOut.model_fields}
    for name in MONEY_FIELDS:
        amount: Decimal | None = values[name]
        values[name] = None if amount is None else money_text(amount)
    return ClaimOut.model_validate(values)
