import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from app.core.departures import DepartureIn, DepartureOut
from app.core.schemas import LongText, PastDate, ResourceOut, StrictModel
from app.models import SpecialistInvolvement
from app.models.enums import SpecialistService

MAX_DEPARTURES = 20


# Written as they are in SpecialistInvolvementCreate; a PATCH may send any subset.
_PARENTS_INVOLVED_ON = "When the parents were involved in the decision to involve a specialist"
_LOCAL_OFFER = (
    "The Local Offer service the pupil was referred to: an entry of the pupil's home LA or of "
    "the school's LA (otherwise 422). Its `target_days` is what `waiting_days` is measured "
    "against in the waiting reports"
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


_PERCENTILES = (
    "Nearest-rank, over the answered referrals; null when the group has fewer than "
    "`small_numbers_threshold` referrals in the range (or none answered)"
)


class WaitFigures(BaseModel):
    referrals: int = Field(description="Involvements requested in the range (both ends included)")
    answered: int = Field(description="Of those, how many have received advice")
    still_waiting: int = Field(description="Of those, how many are still waiting for advice")
    median_waiting_days: int | None = Field(description=_PERCENTILES)
    p90_waiting_days: int | None = Field(description=f"90th percentile. {_PERCENTILES}")
    exceeded_target: int = Field(
        description="Referrals whose waiting_days exceed their Local Offer service's "
        "target_days, answered or still waiting"
    )


class LocalOfferWaits(WaitFigures):
    """The referrals of one service type that named this Local Offer entry."""

    local_offer_service_id: uuid.UUID
    la_code: str
    name: str
    target_days: int


class ServiceWaits(WaitFigures):
    """Every referral of one service type, and (below) those naming each Local Offer entry."""

    service: SpecialistService
    without_target: int = Field(
        description="Referrals naming no Local Offer service: they have no target to exceed"
    )
    local_offer_services: list[LocalOfferWaits]


class SpecialistWaits(BaseModel):
    """Aggregates only: no pupil is named, and small groups show no percentiles."""

    from_: date = Field(alias="from", description="First request date counted")
    to: date = Field(description="Last request date counted")
    as_of: date = Field(description="Today (Europe/London): still-waiting referrals count to it")
    small_numbers_threshold: int = Field(
        description="Groups with fewer referrals than this show counts but no percentiles"
    )
    services: list[ServiceWaits] = Field(description="Every service type, in the enum's order")


class LaSpecialistWaits(SpecialistWaits):
    """Referrals to the LA's Local Offer entries, plus unlinked referrals of pupils whose
    home_la_code is the LA."""

    la_code: str


class SchoolSpecialistWaits(SpecialistWaits):
    """Every referral of the school's pupils."""

    school_id: uuid.UUID


class OpenReferral(BaseModel):
    """A specialist asked for advice that has not arrived yet, and how long it has taken."""

    id: uuid.UUID = Field(description="The specialist involvement")
    service: SpecialistService
    requested_on: date
    waiting_days: int = Field(description="Days since requested_on, to today (Europe/London)")
    local_offer_service_id: uuid.UUID | None
    target_days: int | None = Field(
        description="The named Local Offer service's target; null when none is named"
    )
