import uuid

from fastapi import APIRouter, Response, status

from app.core.clock import today_london
from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, set_etag
from app.core.schemas import Page
from app.core.security import CurrentPrincipal
from app.specialists import service
from app.specialists.schemas import (
    SpecialistInvolvementCreate,
    SpecialistInvolvementOut,
    SpecialistInvolvementUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["specialists"], route_class=UnitOfWorkRoute)


@router.post(
    "/pupils/{pupil_id}/specialist-involvements",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404, 409),
    summary="Record a specialist involvement (SENCO)",
    description="Without `parents_involved_on` the body needs a departure for the should rule "
    "`specialist.parents_involved`; otherwise `409 rule_violation`.",
)
async def create_specialist_involvement(
    pupil_id: uuid.UUID,
    body: SpecialistInvolvementCreate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> SpecialistInvolvementOut:
    involvement = await service.create_involvement(session, principal, pupil_id, body)
    set_etag(response, involvement.version)
    return SpecialistInvolvementOut.of(involvement, today_london())


@router.get(
    "/pupils/{pupil_id}/specialist-involvements",
    responses=error_responses(403, 404),
    summary="List a pupil's specialist involvements, by request date",
)
async def list_specialist_involvements(
    pupil_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SpecialistInvolvementOut]:
    involvements, next_cursor = await service.list_involvements(
        session, principal, pupil_id, limit, cursor
    )
    today = today_london()
    return Page[SpecialistInvolvementOut](
        items=[SpecialistInvolvementOut.of(i, today) for i in involvements],
        next_cursor=next_cursor,
    )


@router.patch(
    "/specialist-involvements/{involvement_id}",
    responses=error_responses(403, 404, 412),
    summary="Update a specialist involvement, or record parental consent",
    description="A SENCO may change any field; a parent of the child may send "
    "`parental_consent` and nothing else.",
)
async def update_specialist_involvement(
    involvement_id: uuid.UUID,
    body: SpecialistInvolvementUpdate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> SpecialistInvolvementOut:
    involvement = await service.update_involvement(
        session, principal, involvement_id, body, if_match
    )
    set_etag(response, involvement.version)
    return SpecialistInvolvementOut.of(involvement, today_london())
