import uuid

from fastapi import APIRouter, Response, status

from app.concerns import service
from app.concerns.schemas import ConcernCreate, ConcernOut, ConcernUpdate
from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, answer_headers, set_etag
from app.core.schemas import Page
from app.core.security import CurrentPrincipal

router = APIRouter(prefix=API_PREFIX, tags=["concerns"], route_class=UnitOfWorkRoute)


@router.post(
    "/pupils/{pupil_id}/concerns",
    status_code=status.HTTP_201_CREATED,
    # 409: a retry while the first request with its Idempotency-Key is still running.
    responses=error_responses(403, 404, 409) | answer_headers(201, "ETag"),
    summary="Raise a concern about a pupil",
    description=(
        "School staff (`senco`, `teacher`) or the child's parent record a concern about the pupil. "
        "Answers 201 with the concern."
    ),
)
async def raise_concern(
    pupil_id: uuid.UUID,
    body: ConcernCreate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> ConcernOut:
    concern = await service.raise_concern(session, principal, pupil_id, body)
    set_etag(response, concern.version)
    return ConcernOut.model_validate(concern)


@router.get(
    "/pupils/{pupil_id}/concerns",
    responses=error_responses(403, 404),
    summary="List a pupil's concerns, oldest first",
    description=(
        "A pupil's concerns for callers whose scope includes the pupil, oldest first. Out of scope "
        "is 404."
    ),
)
async def list_concerns(
    pupil_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ConcernOut]:
    concerns, next_cursor = await service.list_concerns(session, principal, pupil_id, limit, cursor)
    return Page[ConcernOut](
        items=[ConcernOut.model_validate(c) for c in concerns], next_cursor=next_cursor
    )


@router.patch(
    "/concerns/{concern_id}",
    responses=error_responses(403, 404, 412) | answer_headers(200, "ETag"),
    summary="Respond to a concern, or correct its description",
    description=(
        "School staff (`senco`, `teacher`) respond to a concern (its status becomes `responded`) or"
        " correct its description. Send the concern's `ETag` in `If-Match` (412 when stale)."
    ),
)
async def update_concern(
    concern_id: uuid.UUID,
    body: ConcernUpdate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ConcernOut:
    concern = await service.respond_to_concern(session, principal, concern_id, body, if_match)
    set_etag(response, concern.version)
    return ConcernOut.model_validate(concern)
