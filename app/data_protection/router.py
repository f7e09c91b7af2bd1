import uuid

from fastapi import APIRouter, Request, Response, status

from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, IfMatch, answer_headers, set_etag
from app.core.security import CurrentPrincipal
from app.data_protection import service
from app.data_protection.schemas import LegalHoldIn, LegalHoldOut, PupilExport

router = APIRouter(prefix=API_PREFIX, tags=["data protection"], route_class=UnitOfWorkRoute)


@router.get(
    "/pupils/{pupil_id}/export",
    responses=error_responses(403, 404),
    summary="Subject-access export: everything held about a pupil (senco, platform_admin)",
    description=(
        "One JSON document with a section for every table that refers to the pupil: the pupil "
        "record, concerns, support plans, cycles (stage records, departures, views), delivery "
        "logs, specialist involvements, EHC requests, top-up claims, the pupil's change-feed "
        "events and the audit trail of who read or changed the record, this export included; "
        "plus the retention period and any legal hold. For the school's SENCO and platform "
        "admins: the school answers a subject-access request, a parent's made on the child's "
        "behalf included. Audited as an `export`."
    ),
)
async def export_pupil(
    pupil_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> PupilExport:
    response.headers["Cache-Control"] = "no-store"
    return await service.export_pupil(
        session, principal, pupil_id, request.app.state.settings.retention_years
    )


@router.get(
    "/pupils/{pupil_id}/legal-hold",
    responses=error_responses(403, 404) | answer_headers(200, "ETag"),
    summary="The legal hold on a pupil's records (404 when there is none)",
    description=(
        "The legal hold on the pupil's records, which stops the retention purge, with its `ETag`; "
        "404 when there is none. For the school's `senco` and `platform_admin`."
    ),
)
async def get_legal_hold(
    pupil_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> LegalHoldOut:
    hold = await service.read_legal_hold(session, principal, pupil_id)
    set_etag(response, hold.version)
    return LegalHoldOut.model_validate(hold)


@router.put(
    "/pupils/{pupil_id}/legal-hold",
    responses=error_responses(403, 404, 412) | answer_headers(200, "ETag"),
    summary="Set or change a legal hold: the retention purge leaves the pupil's records alone",
    description=(
        "For the school's SENCO and platform admins. Creates or replaces the hold (the reason, "
        "who set it and when); answers 200 either way. If-Match is honoured when sent (a stale "
        "one, or any before a hold exists, answers 412). While a hold stands the database "
        "refuses to delete the pupil."
    ),
)
async def put_legal_hold(
    pupil_id: uuid.UUID,
    body: LegalHoldIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> LegalHoldOut:
    hold = await service.set_legal_hold(session, principal, pupil_id, body.reason, if_match)
    set_etag(response, hold.version)
    return LegalHoldOut.model_validate(hold)


@router.delete(
    "/pupils/{pupil_id}/legal-hold",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(403, 404, 412),
    summary="Lift a legal hold: the records fall under the retention purge again",
    description=(
        "The school's `senco` or `platform_admin` lifts the hold, so the pupil's records fall under"
        " the retention purge again; answers 204. An `If-Match` that is not the hold's current "
        "`ETag` is 412."
    ),
)
async def delete_legal_hold(
    pupil_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    await service.lift_legal_hold(session, principal, pupil_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
