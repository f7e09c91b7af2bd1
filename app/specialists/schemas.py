import uuid
from datetime import date
from typing import Any

from pydantic import Field

from app.core.departures import DepartureIn, DepartureOut
from app.core.schemas import LongText, PastDate, ResourceOut, StrictModel
from app.models import SpecialistInvolvement
from app.models.enums import SpecialistService

MAX_DEPARTURES = 20


# Written as they are in SpecialistInvolvementCreate; a PATCH may send any subset.
_PARENTS_INVOLVED_ON = "When the parents were involved in the decision to involve a specialist"
_LOCAL_OFFER = (
    "The Local Offer entry this service was found through. Stored as given: the Local Offer is "
    "not part of the service yet, so the id is not checked"
)


class SpecialistInvolvementCreate(StrictModel):
    service: SpecialistService
    parents_involved_on: PastDate | None = Field(
        default=None,
        description=f"{_PARENTS_INVOLVED_ON}; without it the body needs a departure for "
        "`specialist.parents_involved`",
    )
    parental_consent: bool = False
    requested_on: PastDate | None = Field(
        default=None, description="When the specialist was asked for advice"
    )
    advice_received_on: PastDate | None = Field(
        default=None, description="When the advice arrived; not before requested_on"
    )
    advice_summary: LongText | None = None
    local_offer_service_id: uuid.UUID | None = Field(default=None, description=_LOCAL_OFFER)
    departures: list[DepartureIn] = Field(default_factory=list, max_length=MAX_DEPARTURES)


class SpecialistInvolvementUpdate(StrictModel):
    """A SENCO may send any of these; a parent only `parental_consent`."""

    service: SpecialistService | None = None
    parents_involved_on: PastDate | None = Field(default=None, description=_PARENTS_INVOLVED_ON)
    parental_consent: bool | None = None
    requested_on: PastDate | None = None
    advice_received_on: PastDate | None = None
    advice_summary: LongText | None = None
    local_offer_service_id: uuid.UUID | None = Field(default=None, description=_LOCAL_OFFER)


def waiting_days(
    requested_on: date | None, advice_received_on: date | None, today: date
) -> int | None:
    """Days from the request to the advice, or to `today` while still waiting."""
    if requested_on is None:
        return None
    return ((advice_received_on or today) - requested_on).days


class SpecialistInvolvementOut(ResourceOut):
    pupil_id: uuid.UUID
    service: SpecialistService
    parents_involved_on: date | None
    parental_consent: bool
    requested_on: date | None
    advice_received_on: date | None
    advice_summary: str | None
    local_offer_service_id: uuid.UUID | None
    departures: list[DepartureOut]
    waiting_days: int | None = Field(
        json_schema_extra={"readOnly": True},
        description="Read-only: days from requested_on to advice_received_on, or to today "
        "(Europe/London) while waiting; null without requested_on",
    )

    @classmethod
    def of(cls, involvement: SpecialistInvolvement, today: date) -> "SpecialistInvolvementOut":
        fields: dict[str, Any] = {
            name: getattr(involvement, name) for name in cls.model_fields if name != "waiting_days"
        }
        fields["waiting_days"] = waiting_days(
            involvement.requested_on, involvement.advice_received_on, today
        )
        return cls.model_validate(fields)
