import uuid
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

from app.core.clock import today_london
from app.core.schemas import LongText, ResourceOut, StrictModel
from app.models.enums import ConcernRaisedBy, ConcernStatus


def _not_future(value: date) -> date:
    if value > today_london():
        raise ValueError("Cannot be in the future")
    return value


PastDate = Annotated[date, AfterValidator(_not_future)]


class ConcernCreate(StrictModel):
    raised_by: ConcernRaisedBy
    raised_on: PastDate | None = Field(default=None, description="Defaults to today")
    description: LongText


class ConcernUpdate(StrictModel):
    description: LongText | None = None
    response: LongText | None = Field(
        default=None, description="The school's response; setting it marks the concern responded"
    )
    responded_on: PastDate | None = Field(
        default=None, description="Defaults to today when a response is given"
    )


class ConcernOut(ResourceOut):
    pupil_id: uuid.UUID
    raised_by: ConcernRaisedBy
    raised_on: date
    description: str
    status: ConcernStatus
    response: str | None
    responded_on: date | None
