import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.core.clock import today_london
from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, answer_headers, set_etag
from app.core.schemas import IsoDate, Page
from app.core.security import CurrentPrincipal
from app.specialists import service, waits
from app.specialists.schemas import (
    LaSpecialistWaits,
    SchoolSpecialistWaits,
    SpecialistInvolvementCreate,
    SpecialistInvolvementOut,
    SpecialistInvolvementUpdate,
)

router = APIRouter(prefix=API_PREFIX, tags=["specialists"], route_class=UnitOfWorkRoute)


@router.post(
    "/pupils/{pupil_id}/specialist-involvements",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404, 409) | answer_headers(201, "ETag"),
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
    description=(
        "The pupil's specialist involvements ordered by request date, for callers whose scope "
        "includes the pupil; out of scope is 404, a role without access 403."
    ),
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
    responses=error_responses(403, 404, 412) | answer_headers(200, "ETag"),
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


RangeFrom = Annotated[
    IsoDate | None,
    Query(alias="from", description="First request date counted; default a year before `to`"),
]
RangeTo = Annotated[
    IsoDate | None,
    Query(alias="to", description="Last request date counted (inclusive); default today"),
]
_WAITS = (
    "Per service type: involvements requested in the range, the median and 90th-percentile "
    "(nearest-rank) `waiting_days` of those answered, how many still wait, and how many "
    "exceeded their Local Offer service's `target_days` (answered or still waiting); then the "
    "same per Local Offer entry named. Aggregates only: no pupil is named, and a group with "
    f"fewer than {waits.SMALL_NUMBERS} referrals shows counts but null percentiles. `from` "
    "after `to` answers 422. "
)


@router.get(
    "/local-authorities/{la_code}/specialist-waits",
    responses=error_responses(404),
    summary="How long children wait for specialist advice: an LA's report",
    description=_WAITS
    + "Counts referrals to the LA's Local Offer entries, plus referrals naming no entry of "
    "pupils whose `home_la_code` is the LA. For that LA's `la_officer` and `platform_admin`; "
    "every other caller is outside the scope (404).",
)
async def get_la_specialist_waits(
    la_code: Annotated[str, Path(pattern=r"^[0-9]{3}$", description="The LA's 3-digit code")],
    session: Session,
    principal: CurrentPrincipal,
    start: RangeFrom = None,
    end: RangeTo = None,
) -> LaSpecialistWaits:
    return await waits.la_waits(session, principal, la_code, start, end)


@router.get(
    "/schools/{school_id}/specialist-waits",
    responses=error_responses(403, 404),
    summary="How long children wait for specialist advice: a school's report",
    description=_WAITS
    + "Counts every referral of the school's pupils, whichever LA's service it went to. For "
    "the school's `senco` and `platform_admin`; others who can see the school get 403.",
)
async def get_school_specialist_waits(
    school_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    start: RangeFrom = None,
    end: RangeTo = None,
) -> SchoolSpecialistWaits:
    return await waits.school_waits(session, principal, school_id, start, end)
