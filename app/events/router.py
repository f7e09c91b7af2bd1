from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement, false, select, true

from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX
from app.core.security import CurrentPrincipal, Principal, Role
from app.events.schemas import EventOut, EventPage
from app.models import Pupil
from app.models.event import Event
from app.pupils.access import la_scope

router = APIRouter(prefix=API_PREFIX, tags=["events"], route_class=UnitOfWorkRoute)


def event_scope(principal: Principal) -> ColumnElement[bool]:
    match principal.role:
        case Role.PLATFORM_ADMIN:
            return true()
        case Role.SENCO | Role.TEACHER:
            return Event.school_id == principal.school_id
        case Role.MIS_INTEGRATION:
            # An MIS syncs pupil records; plans and cycles are not its business (SPEC.md §4).
            return (Event.school_id == principal.school_id) & (Event.resource == "pupil")
        case Role.PARENT:
            if not principal.pupil_ids:
                return false()
            return Event.pupil_id.in_(principal.pupil_ids)
        case Role.LA_OFFICER:
            # An LA follows the pupils with a request or claim submitted to it: all their events.
            return Event.pupil_id.in_(select(Pupil.id).where(la_scope(principal.la_code)))
    return false()


@router.get(
    "/events",
    responses=error_responses(),
    summary="The change feed: events after a sequence number, in order, gap-free",
    description=(
        "Poll with `after` = the last `seq` you processed. Items come in `seq` order; a page "
        "never skips an event that a later page could still show. An empty page has "
        "`next_cursor` null: there is no last page, poll again later with the same `after`."
    ),
)
async def list_events(
    session: Session,
    principal: CurrentPrincipal,
    after: Annotated[
        int, Query(ge=0, le=2**62, description="The last seq seen; 0 for the beginning")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Page size (default 50; up to 1,000 for catch-up)")
    ] = 50,
) -> EventPage:
    rows = (
        await session.scalars(
            select(Event)
            .where(Event.seq > after, event_scope(principal))
            .order_by(Event.seq)
            .limit(limit)
        )
    ).all()
    items = [EventOut.model_validate(row) for row in rows]
    return EventPage(items=items, next_cursor=str(rows[-1].seq) if rows else None)
