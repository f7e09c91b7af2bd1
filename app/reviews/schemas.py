import uuid
from datetime import date

from pydantic import BaseModel, Field

from app.cycles.schemas import ReviewRecord
from app.models.enums import Stage
from app.specialists.schemas import OpenReferral


class ReviewItem(ReviewRecord):
    """A completed review with the cycle it closed."""

    cycle_id: uuid.UUID
    cycle_number: int
    plan_id: uuid.UUID
    pupil_id: uuid.UUID


class ReviewDueItem(BaseModel):
    cycle_id: uuid.UUID
    plan_id: uuid.UUID
    pupil_id: uuid.UUID
    upn: str
    first_name: str
    last_name: str
    cycle_number: int
    stage: Stage
    review_date: date
    review_overdue: bool
    open_referrals: list[OpenReferral] | None = Field(
        description="The pupil's specialist referrals still waiting for advice, longest "
        "waiting first; null for callers who may not read specialist involvements "
        "(mis_integration)"
    )
