import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from app.core.clock import today_london
from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, Limit
from app.core.schemas import IsoDate, Page
from app.core.security import CurrentPrincipal
from app.reviews import service
from app.reviews.schemas import ReviewDueItem, ReviewItem

router = APIRouter(prefix=API_PREFIX, tags=["reviews"], route_class=UnitOfWorkRoute)

DEFAULT_DUE_WINDOW = timedelta(weeks=4)


@router.get(
    "/pupils/{pupil_id}/reviews",
    responses=error_responses(403, 404),
    summary="A pupil's completed reviews across cycles and plans, newest first",
    description=(
        "Every completed review of the pupil, across its cycles and plans, newest first, for "
        "callers whose scope includes the pupil. Out of scope is 404."
    ),
)
async def list_pupil_reviews(
    pupil_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReviewItem]:
    items, next_cursor = await service.pupil_reviews(session, principal, pupil_id, limit, cursor)
    return Page[ReviewItem](items=items, next_cursor=next_cursor)


@router.get(
    "/schools/{school_id}/reviews",
    responses=error_responses(403, 404),
    summary="A school's completed reviews, newest first; from/to filter held_on (inclusive)",
    description=(
        "The school's completed reviews, newest first, for callers whose scope includes the school;"
        " `from` and `to` bound `held_on` inclusively. A school out of scope is 404."
    ),
)
async def list_school_reviews(
    school_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    held_from: Annotated[IsoDate | None, Query(alias="from")] = None,
    held_to: Annotated[IsoDate | None, Query(alias="to")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReviewItem]:
    items, next_cursor = await service.school_reviews(
        session, principal, school_id, held_from, held_to, limit, cursor
    )
    return Page[ReviewItem](items=items, next_cursor=next_cursor)


@router.get(
    "/schools/{school_id}/reviews-due",
    responses=error_responses(403, 404),
    summary="Open cycles of active plans whose review date falls before a date",
    description="`before` defaults to four weeks from today; overdue reviews are flagged.",
)
async def list_reviews_due(
    school_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    before: Annotated[
        IsoDate | None, Query(description="Exclusive; default today + 4 weeks")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReviewDueItem]:
    items, next_cursor = await service.reviews_due(
        session,
        principal,
        school_id,
        before or today_london() + DEFAULT_DUE_WINDOW,
        limit,
        cursor,
    )
    return Page[ReviewDueItem](items=items, next_cursor=next_cursor)
