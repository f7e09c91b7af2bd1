import functools
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from app.core.clock import today_london
from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import (
    API_PREFIX,
    Cursor,
    IfMatch,
    Limit,
    RenderedLater,
    prefers_over_json,
    set_etag,
)
from app.core.schemas import LaCode, Page
from app.core.security import CurrentPrincipal
from app.ehc_requests import service
from app.ehc_requests.evidence import build_evidence_bundle
from app.ehc_requests.evidence_schemas import EvidenceBundle
from app.ehc_requests.schemas import EhcRequestCreate, EhcRequestOut, EhcTransitionIn
from app.models.enums import EhcRequestStatus

router = APIRouter(prefix=API_PREFIX, tags=["EHC requests"], route_class=UnitOfWorkRoute)


@router.post(
    "/pupils/{pupil_id}/ehc-requests",
    status_code=status.HTTP_201_CREATED,
    # 409: a retry while the first request with its Idempotency-Key is still running.
    responses=error_responses(403, 404, 409),
    summary="Start a draft request for an EHC needs assessment",
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
    responses=error_responses(403, 404),
    summary="Read an EHC request",
)
async def get_ehc_request(
    request_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> EhcRequestOut:
    request = await service.read_request(session, principal, request_id)
    set_etag(response, request.version)
    return service.request_out(request, today_london())


@router.post(
    "/ehc-requests/{request_id}/transitions",
    responses=error_responses(403, 404, 409, 412),
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


PDF = "application/pdf"


@router.get(
    "/ehc-requests/{request_id}/evidence",
    response_model=EvidenceBundle,
    responses={
        **error_responses(403, 404),
        200: {
            "description": "The evidence bundle, as JSON or (Accept: application/pdf) a PDF",
            "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    summary="The evidence bundle the LA weighs: JSON, or PDF with Accept: application/pdf",
    description=(
        "Everything held about the SEN support given: identity and school, needs, every cycle "
        "with its assessment, outcomes, provisions and costs, delivery totals, reviews with "
        "progress, views, accepted departures, specialist advice, concerns and funding claims, "
        "in date order. For the school and for an officer of the request's LA only."
    ),
)
async def get_ehc_evidence(
    request_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    bundle = await build_evidence_bundle(session, principal, request_id)
    if prefers_over_json(accept, PDF):
        # Loaded on first use: reportlab and the fonts cost memory a JSON-only worker needs not.
        from app.ehc_requests.evidence_pdf import render_evidence_pdf

        # Rendered after the commit, with no connection held (RenderedLater).
        return RenderedLater(
            functools.partial(render_evidence_pdf, bundle),
            media_type=PDF,
            headers={"Content-Disposition": f'inline; filename="ehc-evidence-{request_id}.pdf"'},
        )
    # Serialised once: returned as a model, FastAPI would validate the whole bundle again.
    return Response(
        EvidenceBundle.__pydantic_serializer__.to_json(bundle), media_type="application/json"
    )
