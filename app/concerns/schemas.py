import uuid
from datetime import date

from pydantic import Field

from app.core.schemas import LongText, PastDate, ResourceOut, StrictModel
from app.models.enums import ConcernRaisedBy, ConcernStatus


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
