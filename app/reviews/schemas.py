import uuid
from datetime import date

from pydantic import BaseModel

from app.cycles.schemas import ReviewRecord
from app.models.enums import Stage


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
