from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from app.core.schemas import LaCode, LongText, ResourceOut, ShortText, StrictModel
from app.models.enums import SpecialistService

MAX_TARGET_DAYS = 730


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refused here as a 422 rather than failing the INSERT.
    if "\x00" in value:
        raise ValueError("May not contain the NUL character")
    return value


Name = Annotated[ShortText, AfterValidator(_storable)]
OfferText = Annotated[LongText, AfterValidator(_storable)]
ContactText = Annotated[
    str, StringConstraints(min_length=1, max_length=1_000), AfterValidator(_storable)
]
# Whole days only: strict, so 42.0, "42" and true are refused rather than coerced.
TargetDays = Annotated[int, Field(strict=True, gt=0, le=MAX_TARGET_DAYS)]
_TARGET_DAYS = (
    "The LA's published target from referral to first advice, in whole days "
    f"(1 to {MAX_TARGET_DAYS})"
)

_LA_CODE = (
    "The LA publishing the service. An la_officer may leave it out (its own LA) and may name "
    "only its own; a platform_admin must name one"
)


class LocalOfferServiceCreate(StrictModel):
    la_code: LaCode | None = Field(default=None, description=_LA_CODE)
    name: Name
    service: SpecialistService
    description: OfferText | None = None
    how_to_access: OfferText = Field(description="How a school or family refers or applies")
    eligibility: OfferText | None = None
    contact: ContactText | None = None
    target_days: TargetDays = Field(description=_TARGET_DAYS)
    active: bool = Field(default=True, description="False retires the entry; it stays readable")


class LocalOfferServiceUpdate(StrictModel):
    """Any subset of the fields; `la_code` is fixed once published (the entry's referrals and
    their statistics belong to that LA)."""

    name: Name | None = None
    service: SpecialistService | None = None
    description: OfferText | None = None
    how_to_access: OfferText | None = None
    eligibility: OfferText | None = None
    contact: ContactText | None = None
    target_days: TargetDays | None = Field(default=None, description=_TARGET_DAYS)
    active: bool | None = None


class LocalOfferServiceOut(ResourceOut):
    la_code: str
    name: str
    service: SpecialistService
    description: str | None
    how_to_access: str
    eligibility: str | None
    contact: str | None
    target_days: int
    active: bool
