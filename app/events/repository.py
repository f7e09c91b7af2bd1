"""The change feed's query: a page of events after a seq, in the caller's scope.

The hot path of catch-up (pages of 1,000): one statement (`Database.statement_rows`), no transaction
(a read of committed rows), and the stored event data passed through as the JSON text
PostgreSQL holds rather than decoded and encoded again. The body is exactly `EventPage`'s
(tests/events/test_feed_body.py compares them).
"""

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    false,
    or_,
    select,
    true,
)

from app.core.db import Database
from app.core.scope import la_scope, scope_params
from app.core.security import Principal, Role
from app.models import Pupil
from app.models.event import Event

# Resources whose drafts LA officers never see (SPEC.md §4).
LA_WITHHELD_WHILE_DRAFT = ("ehc_request", "funding_claim")


def _bound_event_scope(role: Role) -> ColumnElement[bool]:
    """Which events a caller may read; its values bound as `scope_params` names them."""
    match role:
        case Role.PLATFORM_ADMIN:
            return true()
        case Role.SENCO | Role.TEACHER:
            return Event.school_id == bindparam("scope_school_id")
        case Role.MIS_INTEGRATION:
            # An MIS syncs pupil records; plans and cycles are not its business (SPEC.md §4).
            return (Event.school_id == bindparam("scope_school_id")) & (Event.resource == "pupil")
        case Role.PARENT:
            return Event.pupil_id == any_(bindparam("scope_pupil_ids", type_=ARRAY(Uuid)))
        case Role.LA_OFFICER:
            # An LA follows the pupils with a request or claim submitted to it: all their
            # events, except those of drafts. A request's or claim's events carry its `la_code`,
            # which is null until submission, so its submission is the first event an LA sees.
            followed = select(Pupil.id).where(la_scope(bindparam("scope_la_code")))
            not_a_draft = or_(
                Event.la_code.is_not(None),
                # One comparison per resource: an IN list would expand at execution.
                and_(*(Event.resource != resource for resource in LA_WITHHELD_WHILE_DRAFT)),
            )
            return Event.pupil_id.in_(followed) & not_a_draft
    return false()


@functools.cache
def _feed_statement(role: Role) -> Select[Any]:
    # As the JSON wants them: seq and ids as text (no Python call per value to write them),
    # data as the stored JSON text.
    columns: list[Any] = [
        cast(Event.seq, String).label("seq"),
        Event.type,
        Event.resource,
        cast(Event.resource_id, String).label("resource_id"),
        cast(Event.pupil_id, String).label("pupil_id"),
        cast(Event.school_id, String).label("school_id"),
        Event.la_code,
        Event.occurred_at,
        cast(Event.data, String).label("data"),
    ]
    return (
        select(*columns)
        .where(Event.seq > bindparam("after"), _bound_event_scope(role))
        .order_by(Event.seq)
        .limit(bindparam("limit"))
    )


async def read_feed_rows(
    database: Database, principal: Principal, after: int, limit: int
) -> list[Mapping[str, Any]]:
    """The events after `after` in the caller's scope, in seq order, at most `limit`."""
    params = {"after": after, "limit": limit, **scope_params(principal)}
    return await database.statement_rows(_feed_statement(principal.role), params)
