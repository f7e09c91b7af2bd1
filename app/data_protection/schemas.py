import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.audit.schemas import AuditEntryOut
from app.concerns.schemas import ConcernOut
from app.core.schemas import StrictModel
from app.cycles.schemas import CycleOut, DeliveryLogOut
from app.ehc_requests.schemas import EhcRequestOut
from app.events.schemas import EventOut
from app.funding.schemas import ClaimOut
from app.pupils.schemas import PupilOut
from app.specialists.schemas import SpecialistInvolvementOut
from app.support_plans.schemas import SupportPlanOut

# PostgreSQL text cannot hold NUL: refused as invalid input rather than failing on INSERT.
HoldReason = Annotated[
    str,
    StringConstraints(min_length=10, max_length=2000, pattern=r"^[^\x00]*$"),
]


class LegalHoldIn(StrictModel):
    reason: HoldReason = Field(
        description="Why the pupil's records must outlive their retention period (a claim, "
        "an inquiry, a court order); at least 10 characters"
    )


class LegalHoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    pupil_id: uuid.UUID
    reason: str
    set_by: str = Field(description="The `sub` of whoever set or last changed the hold")
    set_at: datetime
    version: int
    created_at: datetime
    updated_at: datetime


class ExportSchool(BaseModel):
    """The school holding the record: the controller a subject-access request goes to."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    urn: str
    name: str
    la_code: str
    establishment_type: str


class RetentionInfo(BaseModel):
    retention_years: int = Field(description="SEN records are kept to date of birth + this")
    due_for_deletion_on: date = Field(
        description="When the records become due for deletion (a 29 February birthday counts "
        "from 1 March in other years)"
    )
    legal_hold: bool = Field(description="A legal hold suspends deletion while it stands")


class ExportCycle(CycleOut):
    completed_at: datetime | None


class PupilExport(BaseModel):
    """Everything the service holds about one pupil (UK GDPR Art 15), one section per table.

    `audit_entries` says who read or changed the record (the recipients, Art 15(1)(c));
    `retention` the period it is kept for (Art 15(1)(d)).
    """

    generated_at: datetime
    pupil: PupilOut
    school: ExportSchool
    retention: RetentionInfo
    legal_hold: LegalHoldOut | None
    concerns: list[ConcernOut]
    support_plans: list[SupportPlanOut]
    cycles: list[ExportCycle] = Field(description="Every cycle of every plan, oldest first")
    delivery_logs: list[DeliveryLogOut]
    specialist_involvements: list[SpecialistInvolvementOut]
    ehc_requests: list[EhcRequestOut]
    funding_claims: list[ClaimOut]
    events: list[EventOut] = Field(description="The pupil's change-feed events, in seq order")
    audit_entries: list[AuditEntryOut] = Field(
        description="Every read and change of the pupil's data, oldest first, this export included"
    )
