import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.core.db import (
    BulkWriteRoute,
    CurrentDatabase,
    Session,
    SingleStatementRoute,
    UnitOfWorkRoute,
)
from app.core.errors import error_responses
from app.core.http import (
    API_PREFIX,
    Cursor,
    IfMatch,
    Limit,
    answer_headers,
    etag,
    json_body,
    set_etag,
)
from app.core.schemas import Page, Rfc3339DateTime, SearchText
from app.core.security import CurrentPrincipal
from app.models.enums import SenStatus, YearGroup
from app.pupils import service
from app.pupils.schemas import PupilBatch, PupilBatchResult, PupilCreate, PupilOut, PupilUpdate

router = APIRouter(prefix=API_PREFIX, tags=["pupils"], route_class=UnitOfWorkRoute)
# The reads that are one audited statement each: no session, no transaction.
reads = APIRouter(prefix=API_PREFIX, tags=["pupils"], route_class=SingleStatementRoute)


@router.post(
    "/schools/{school_id}/pupils",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404, 409) | answer_headers(201, "ETag", "Location"),
    summary="Add a pupil to a school",
    description=(
        "A `senco` or `mis_integration` token of the school adds a pupil; the UPN must be unique "
        "(409 otherwise). Answers 201 with the pupil, its `ETag` and `Location`."
    ),
)
async def create_pupil(
    school_id: uuid.UUID,
    body: PupilCreate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> PupilOut:
    pupil = await service.create_pupil(session, principal, school_id, body)
    set_etag(response, pupil.version)
    response.headers["Location"] = f"/v1/pupils/{pupil.id}"
    return PupilOut.model_validate(pupil)


@reads.get(
    "/schools/{school_id}/pupils",
    response_model=Page[PupilOut],
    responses=error_responses(403, 404),
    summary="List a school's pupils",
    description=(
        "The school's pupils for callers whose scope includes the school, paged with `limit` and an"
        " opaque `cursor`. A school outside the caller's scope is 404."
    ),
)
async def list_pupils(
    school_id: uuid.UUID,
    database: CurrentDatabase,
    principal: CurrentPrincipal,
    sen_status: SenStatus | None = None,
    year_group: YearGroup | None = None,
    updated_since: Annotated[
        Rfc3339DateTime | None, Query(description="Only pupils changed at or after this time")
    ] = None,
    q: Annotated[
        SearchText | None,
        Query(min_length=1, max_length=100, description="Name part or exact UPN"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    filters = service.PupilFilters(
        sen_status=sen_status, year_group=year_group, updated_since=updated_since, q=q
    )
    pupils, next_cursor = await service.list_pupils(
        database, principal, school_id, filters, limit, cursor
    )
    items = [service.pupil_json(row) for row in pupils]
    return Response(
        json_body({"items": items, "next_cursor": next_cursor}), media_type="application/json"
    )


async def batch_upsert_pupils(
    school_id: uuid.UUID, body: PupilBatch, session: Session, principal: CurrentPrincipal
) -> Response:
    results = await service.batch_upsert(session, principal, school_id, body.items)
    # Serialised once here: FastAPI would validate the 1,000 results again before dumping them.
    answer = PupilBatchResult(results=results)
    return Response(
        PupilBatchResult.__pydantic_serializer__.to_json(answer), media_type="application/json"
    )


router.add_api_route(
    "/schools/{school_id}/pupils/batch",
    batch_upsert_pupils,
    methods=["POST"],
    route_class_override=BulkWriteRoute,
    response_model=PupilBatchResult,
    responses=error_responses(403, 404, 409),
    summary="Upsert up to 1,000 pupils by UPN",
    description=(
        "Items are matched by UPN within the school: new UPNs are created, known ones updated "
        "with the fields sent. Each item answers created, updated, unchanged or error; valid "
        "items are applied even when others fail. More than 1,000 items answers 422 "
        "batch_too_large. A few batches run at once per server process; others wait their turn "
        "(503 with Retry-After if the wait is long)."
    ),
)


@reads.get(
    "/pupils/{pupil_id}",
    response_model=PupilOut,
    responses=error_responses(404) | answer_headers(200, "ETag"),
    summary="Read one pupil",
    description=(
        "Any caller whose scope includes the pupil: the school's staff, a parent of the child, an "
        "LA officer with a submitted request, claim or plan for the child, `platform_admin`. Out of"
        " scope is 404."
    ),
)
async def get_pupil(
    pupil_id: uuid.UUID, database: CurrentDatabase, principal: CurrentPrincipal
) -> Response:
    # The hot read: one statement, no session, the row written as PupilOut's JSON directly
    # (and served without dependency solving: `SingleStatementRoute`).
    row = await service.read_pupil(database, principal, pupil_id)
    return Response(
        json_body(service.pupil_json(row)),
        media_type="application/json",
        headers={"ETag": etag(row["version"])},
    )


@router.patch(
    "/pupils/{pupil_id}",
    responses=error_responses(403, 404, 409, 412) | answer_headers(200, "ETag"),
    summary="Change a pupil's fields",
    description=(
        "A partial update by the school's `senco` or `mis_integration` token; send the pupil's "
        "`ETag` in `If-Match` (412 when stale). Other roles are 403."
    ),
)
async def update_pupil(
    pupil_id: uuid.UUID,
    body: PupilUpdate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> PupilOut:
    pupil = await service.update_pupil(session, principal, pupil_id, body, if_match)
    set_etag(response, pupil.version)
    return PupilOut.model_validate(pupil)
