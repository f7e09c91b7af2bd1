"""The Local Offer (SPEC.md §2): the services each LA publishes, how to reach them, and the
target it sets itself from referral to first advice.

Every authenticated caller reads it. Writes belong to the LA's own officers and platform
admins; for everyone else an entry is outside their scope (404), as SPEC.md §2 says, even
though they can read it. Entries hold no pupil data, so nothing here is audited. Nor do changes
go to the change feed: the feed's scopes are pupils and schools, an entry belongs to neither,
and the whole offer is one short list a client can re-read (`updated_at` and `version` show
what moved).
"""

import uuid

from app.core.db import DbSession
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.http import check_if_match
from app.core.schemas import changed_fields
from app.core.security import Principal, Role
from app.local_offer import repository
from app.local_offer.schemas import LocalOfferServiceCreate, LocalOfferServiceUpdate
from app.models import LocalOfferService
from app.models.enums import SpecialistService

# A PATCH may leave out any field, but may clear none that the table requires.
NOT_NULLABLE = tuple(
    name for name in LocalOfferServiceUpdate.model_fields if name in repository.NOT_NULL_COLUMNS
)


def may_manage(principal: Principal, la_code: str) -> bool:
    """Whether the caller may write to `la_code`'s Local Offer (or read its waiting report)."""
    if principal.role is Role.PLATFORM_ADMIN:
        return True
    return principal.role is Role.LA_OFFICER and principal.la_code == la_code


def _publishing_la(principal: Principal, data: LocalOfferServiceCreate) -> str:
    if principal.role not in (Role.LA_OFFICER, Role.PLATFORM_ADMIN):
        raise NotFound("No Local Offer in your scope to publish to")
    la_code = data.la_code or principal.la_code
    if la_code is None:
        raise ValidationFailed(
            [FieldError(field="la_code", message="Required: name the LA publishing the service")]
        )
    if not may_manage(principal, la_code):
        raise NotFound(f"No Local Offer in your scope for LA {la_code}")
    return la_code


async def create_service(
    session: DbSession, principal: Principal, data: LocalOfferServiceCreate
) -> LocalOfferService:
    entry = LocalOfferService(
        id=uuid.uuid4(),
        la_code=_publishing_la(principal, data),
        name=data.name,
        service=data.service.value,
        description=data.description,
        how_to_access=data.how_to_access,
        eligibility=data.eligibility,
        contact=data.contact,
        target_days=data.target_days,
        active=data.active,
    )
    return await repository.insert_entry(session, entry)


async def read_service(session: DbSession, service_id: uuid.UUID) -> LocalOfferService:
    entry = await repository.get_entry(session, service_id)
    if entry is None:
        raise NotFound("No such Local Offer service")
    return entry


async def list_services(
    session: DbSession,
    la_code: str | None,
    service: SpecialistService | None,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[LocalOfferService], str | None]:
    """By LA, service type, then publication order; keyset-paged."""
    return await repository.list_entries(session, la_code, service, active, limit, cursor)


async def update_service(
    session: DbSession,
    principal: Principal,
    service_id: uuid.UUID,
    data: LocalOfferServiceUpdate,
    if_match: str | None,
) -> LocalOfferService:
    entry = await repository.get_entry(session, service_id, for_update=True)
    if entry is None or not may_manage(principal, entry.la_code):
        raise NotFound("No such Local Offer service")
    check_if_match(if_match, entry.version)
    data.refuse_nulls(*NOT_NULLABLE)
    changes = {
        name: getattr(value, "value", value)
        for name, value in changed_fields(data).items()
        if getattr(entry, name) != getattr(value, "value", value)
    }
    for name, value in changes.items():
        setattr(entry, name, value)
    if changes:
        await repository.save_entry(session, entry)
    return entry
