from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.db import CurrentDatabase, SingleStatementRoute
from app.core.errors import FieldError, ValidationFailed, error_responses
from app.core.http import API_PREFIX
from app.core.security import CurrentPrincipal
from app.events.schemas import EventPage
from app.events.service import feed_page

# The feed is one statement per page: no session, no transaction.
router = APIRouter(prefix=API_PREFIX, tags=["events"], route_class=SingleStatementRoute)

# The largest seq the counter can hand out and the feed compares with (a bigint, with room).
MAX_SEQ = 2**62


def seq_after(after: str) -> int:
    """`after` travels as text, as `seq` and `next_cursor` do (one type for generated clients);
    the feed compares numbers."""
    value = int(after)
    if value > MAX_SEQ:
        raise ValidationFailed([FieldError(field="after", message=f"At most {MAX_SEQ}")])
    return value


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
        str,
        Query(
            pattern=r"^[0-9]{1,19}$",
            description="The last seq seen (a `seq`, or the previous page's `next_cursor`); "
            '"0" for the beginning',
        ),
    ] = "0",
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Page size (default 50; up to 1,000 for catch-up)")
    ] = 50,
) -> Response:
    page = await feed_page(database, principal, seq_after(after), limit)
    return Response(page, media_type="application/json")
