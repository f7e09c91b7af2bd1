import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.core.clock import today_london
from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import (
    API_PREFIX,
    Cursor,
    IfMatch,
    Limit,
    answer_headers,
    set_etag,
)
from app.core.schemas import LaCode, Page
from app.core.security import CurrentPrincipal
from app.ehc_requests import service
from app.ehc_requests.schemas import EhcRequestCreate, EhcRequestOut, EhcTransitionIn
from app.models.enums import EhcRequestStatus

router = APIRouter(prefix=API_PREFIX, tags=["EHC requests"], route_class=UnitOfWorkRoute)


@router.post(
    "/pupils/{pupil_id}/ehc-requests",
    status_code=status.HTTP_201_CREATED,
    # 409: a retry while the first request with its Idempotency-Key is still running.
    responses=error_responses(403, 404, 409) | answer_headers(201, "ETag", "Location"),
    summary="Start a draft request for an EHC needs assessment",
    description=(
        "The school's `senco` or the child's parent starts a draft EHC needs assessment request; it"
        " stays invisible to the LA until submitted. Answers 201 with the request."
    ),
)
async def create_ehc_request(
    pupil_id: uuid.UUID,
    body: EhcRequestCreate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> EhcRequestOut:
    request = await service.create_request(session, principal, pupil_id, body)
    set_etag(response, request.version)
    response.headers["Location"] = f"/v1/ehc-requests/{request.id}"
    return service.request_out(request, today_london())


@router.get(
    "/ehc-requests",
    responses=error_responses(403),
    summary="List EHC requests in your scope (an LA's caseload for an LA officer)",
    description=(
        "EHC requests in the caller's scope: a school's for its staff, a parent's children's, and "
        "for an LA officer its LA's submitted requests (drafts never). Paged with `limit` and an "
        "opaque `cursor`."
    ),
)
async def list_ehc_requests(
    session: Session,
    principal: CurrentPrincipal,
    la_code: Annotated[LaCode | None, Query()] = None,
    status: EhcRequestStatus | None = None,
    overdue: Annotated[
        bool | None, Query(description="Past the next statutory date (6 or 20 weeks)")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[EhcRequestOut]:
    requests, next_cursor = await service.list_requests(
        session,
        principal,
        la_code=la_code,
        status=status,
        overdue=overdue,
        limit=limit,
        cursor=cursor,
    )
    today = today_london()
    return Page[EhcRequestOut](
        items=[service.request_out(r, today) for r in requests], next_cursor=next_cursor
    )


@router.get(
    "/ehc-requests/{request_id}",
    responses=error_responses(403, 404) | answer_headers(200, "ETag"),
    summary="Read an EHC request",
    description=(
        "One EHC request with its status and statutory dates, for callers whose scope includes it; "
        "a draft is 404 to an LA officer."
    ),
)
async def get_ehc_request(
    request_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> EhcRequestOut:
    request = await service.read_request(session, principal, request_id)
    set_etag(response, request.version)
    return service.request_out(request, today_london())


@router.post(
    "/ehc-requests/{request_id}/transitions",
    responses=error_responses(403, 404, 409, 412) | answer_headers(200, "ETag"),
    summary="Submit, withdraw or decide an EHC request",
    description=(
        "draft → submitted → assessing | declined; assessing → plan_issued | plan_not_issued; "
        "draft | submitted → withdrawn. The school's SENCO (or the parent, for a parent's "
        "request) submits and withdraws; only an officer of the request's LA decides. "
        "Submission sets `la_code` to the pupil's home LA and the statutory due dates."
    ),
)
async def transition_ehc_request(
    request_id: uuid.UUID,
    body: EhcTransitionIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> EhcRequestOut:
    request = await service.transition_request(session, principal, request_id, body, if_match)
    set_etag(response, request.version)
    return service.request_out(request, today_london())
