import uuid
from datetime import date

from pydantic import Field

from app.core.clock import today_london
from app.core.schemas import LongText, ResourceOut, ShortText, StrictModel
from app.models.enums import AreaOfNeed, PlanStatus


class SupportPlanOpen(StrictModel):
    opened_on: date | None = Field(default=None, description="Defaults to today")
    class_teacher: ShortText | None = None
    senco: ShortText | None = None
    areas_of_need: list[AreaOfNeed] = Field(default_factory=list, max_length=4)

    def opened(self) -> date:
        return self.opened_on or today_london()


class SupportPlanClose(StrictModel):
    close_reason: LongText = Field(description="Why SEN support ends early")


class SupportPlanOut(ResourceOut):
    pupil_id: uuid.UUID
    status: PlanStatus
    opened_on: date
    closed_on: date | None
    close_reason: str | None
    class_teacher: str | None
    senco: str | None
    areas_of_need: list[AreaOfNeed]
    current_cycle_id: uuid.UUID | None
