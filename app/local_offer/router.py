import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, answer_headers, set_etag
from app.core.schemas import Page
from app.core.security import CurrentPrincipal
from app.local_offer import service
from app.local_offer.schemas import (
    LocalOfferServiceCreate,
    LocalOfferServiceOut,
    LocalOfferServiceUpdate,
)
from app.models.enums import SpecialistService

router = APIRouter(prefix=API_PREFIX, tags=["local offer"], route_class=UnitOfWorkRoute)

_WRITERS = (
    "An `la_officer` manages its own LA's entries, a `platform_admin` any LA's; for every other "
    "caller the entry is outside their scope (`404`), though everyone may read it."
)


@router.post(
    "/local-offer",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404, 409) | answer_headers(201, "ETag", "Location"),
    summary="Publish a service in an LA's Local Offer (la_officer, platform_admin)",
    description=_WRITERS + " An `la_officer` may leave out `la_code` (its own LA).",
)
async def create_local_offer_service(
    body: LocalOfferServiceCreate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> LocalOfferServiceOut:
    entry = await service.create_service(session, principal, body)
    set_etag(response, entry.version)
    response.headers["Location"] = f"{API_PREFIX}/local-offer/{entry.id}"
    return LocalOfferServiceOut.model_validate(entry)


@router.get(
    "/local-offer",
    responses=error_responses(),
    summary="Read the Local Offer, filtered by LA and service type",
    description="Every authenticated caller reads it. Ordered by `la_code`, `service`, then "
    "publication order. Retired entries (`active` false) are listed unless `active=true`.",
)
async def list_local_offer_services(
    session: Session,
    principal: CurrentPrincipal,
    la_code: Annotated[
        str | None, Query(pattern=r"^[0-9]{3}$", description="Only this LA's entries")
    ] = None,
    service_type: Annotated[
        SpecialistService | None, Query(alias="service", description="Only this service type")
    ] = None,
    active: Annotated[bool | None, Query(description="Only active (or only retired) ones")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LocalOfferServiceOut]:
    entries, next_cursor = await service.list_services(
        session, la_code, service_type, active, limit, cursor
    )
    return Page[LocalOfferServiceOut](
        items=[LocalOfferServiceOut.model_validate(e) for e in entries], next_cursor=next_cursor
    )


@router.get(
    "/local-offer/{service_id}",
    responses=error_responses(404) | answer_headers(200, "ETag"),
    summary="Read one Local Offer service",
    description=(
        "Any authenticated caller reads a Local Offer service; an unknown id is 404. The `ETag` is "
        "the version to send as `If-Match` when changing it."
    ),
)
async def get_local_offer_service(
    service_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> LocalOfferServiceOut:
    entry = await service.read_service(session, service_id)
    set_etag(response, entry.version)
    return LocalOfferServiceOut.model_validate(entry)


@router.patch(
    "/local-offer/{service_id}",
    responses=error_responses(404, 412) | answer_headers(200, "ETag"),
    summary="Change a Local Offer service, or retire it with active false",
    description=_WRITERS + " `la_code` cannot change.",
)
async def update_local_offer_service(
    service_id: uuid.UUID,
    body: LocalOfferServiceUpdate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> LocalOfferServiceOut:
    entry = await service.update_service(session, principal, service_id, body, if_match)
    set_etag(response, entry.version)
    return LocalOfferServiceOut.model_validate(entry)
