import uuid
from datetime import date

from pydantic import Field

from app.core.departures import DepartureIn, DepartureOut
from app.core.schemas import LongText, ResourceOut, StrictModel
from app.models.enums import EhcRequestedBy, EhcRequestStatus


class EhcRequestCreate(StrictModel):
    requested_by: EhcRequestedBy | None = Field(
        default=None,
        description="school (default for staff), young_person (a SENCO recording a young "
        "person's own request), or parent (always, for a parent's token)",
    )
    reason: LongText | None = None


class EhcTransitionIn(StrictModel):
    to: EhcRequestStatus
    note: LongText | None = None
    departures: list[DepartureIn] = Field(default_factory=list, max_length=10)


class EhcRequestOut(ResourceOut):
    pupil_id: uuid.UUID
    school_id: uuid.UUID
    la_code: str | None = Field(description="The pupil's home LA, set on submission")
    requested_by: EhcRequestedBy
    status: EhcRequestStatus
    reason: str | None
    submitted_on: date | None
    decision_due_on: date | None = Field(description="Submitted + 6 weeks (reg 5)")
    issue_decision_due_on: date | None = Field(
        description="Submitted + 16 weeks: the LA's date to say it will not issue (reg 10)"
    )
    final_plan_due_on: date | None = Field(description="Submitted + 20 weeks (reg 13)")
    decided_on: date | None
    decision_note: str | None
    departures: list[DepartureOut]
    overdue: bool = Field(
        description="Submitted and past decision_due_on, or assessing and past final_plan_due_on"
    )
