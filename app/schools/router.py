import uuid

from fastapi import APIRouter, Response, status

from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, answer_headers, set_etag
from app.core.schemas import Page
from app.core.security import CurrentPrincipal
from app.schools import service
from app.schools.schemas import SchoolCreate, SchoolOut, SchoolUpdate

router = APIRouter(prefix=API_PREFIX, tags=["schools"], route_class=UnitOfWorkRoute)


@router.post(
    "/schools",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 409) | answer_headers(201, "ETag", "Location"),
    summary="Register a school (platform_admin)",
    description=(
        "Only `platform_admin` registers schools. Answers 201 with the school, its `ETag` and "
        "`Location`; a clash with a registered school is 409."
    ),
)
async def create_school(
    body: SchoolCreate, session: Session, principal: CurrentPrincipal, response: Response
) -> SchoolOut:
    school = await service.create_school(session, principal, body)
    set_etag(response, school.version)
    response.headers["Location"] = f"/v1/schools/{school.id}"
    return SchoolOut.model_validate(school)


@router.get(
    "/schools",
    responses=error_responses(),
    summary="List the schools you can see",
    description=(
        "The schools in the caller's scope (every school for `platform_admin`, its own school for a"
        " school role), by URN, paged with `limit` and an opaque `cursor`."
    ),
)
async def list_schools(
    session: Session, principal: CurrentPrincipal, limit: Limit = 50, cursor: Cursor = None
) -> Page[SchoolOut]:
    schools, next_cursor = await service.list_schools(session, principal, limit, cursor)
    return Page[SchoolOut](
        items=[SchoolOut.model_validate(s) for s in schools], next_cursor=next_cursor
    )


@router.get(
    "/schools/{school_id}",
    responses=error_responses(404) | answer_headers(200, "ETag"),
    summary="Read one school",
    description=(
        "Any caller whose scope includes the school; a school outside it is 404. The `ETag` is the "
        "version to send as `If-Match` when changing it."
    ),
)
async def get_school(
    school_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> SchoolOut:
    school = await service.read_school(session, principal, school_id)
    set_etag(response, school.version)
    return SchoolOut.model_validate(school)


@router.patch(
    "/schools/{school_id}",
    responses=error_responses(403, 404, 409, 412) | answer_headers(200, "ETag"),
    summary="Change a school (platform_admin)",
    description=(
        "Only `platform_admin`. A partial update; send the school's `ETag` in `If-Match` (412 when "
        "stale)."
    ),
)
async def update_school(
    school_id: uuid.UUID,
    body: SchoolUpdate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> SchoolOut:
    school = await service.update_school(session, principal, school_id, body, if_match)
    set_etag(response, school.version)
    return SchoolOut.model_validate(school)
