from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.db import CurrentDatabase, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX
from app.core.security import CurrentPrincipal
from app.events.schemas import EventPage
from app.events.service import feed_page

router = APIRouter(prefix=API_PREFIX, tags=["events"], route_class=UnitOfWorkRoute)


@router.get(
    "/events",
    response_model=EventPage,
    responses=error_responses(),
    summary="The change feed: events after a sequence number, in order, gap-free",
    description=(
        "Poll with `after` = the last `seq` you processed. Items come in `seq` order; a page "
        "never skips an event that a later page could still show. An empty page has "
        "`next_cursor` null: there is no last page, poll again later with the same `after`."
    ),
)
async def list_events(
    database: CurrentDatabase,
    principal: CurrentPrincipal,
    after: Annotated[
        int, Query(ge=0, le=2**62, description="The last seq seen; 0 for the beginning")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Page size (default 50; up to 1,000 for catch-up)")
    ] = 50,
) -> Response:
    page = await feed_page(database, principal, after, limit)
    return Response(page, media_type="application/json")
