"""The change feed's write side: an outbox written in the same transaction as the change.

Gap-free by construction. A plain sequence is not enough: a number taken by a transaction that
commits late becomes visible after larger numbers a poller has already passed, so the poller
skips it. Here numbers are handed out at the very end of the unit of work, from one counter row
that stays locked until COMMIT. Event-writing transactions therefore take their numbers in
commit order: when seq N is visible, every seq below N is already committed (or was never
handed out, since a rolled-back transaction also rolls back its counter update). A poller that
reads `seq > after` in seq order can neither skip an event nor see one twice. The price is that
event-writing commits serialise on that row for the short time between the counter update and
the commit.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import ARRAY, BigInteger, String, Uuid, bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.event import EventCounter

PENDING_KEY = "pending_events"


@dataclass(frozen=True)
class PendingEvent:
    type: str
    resource: str
    resource_id: uuid.UUID
    pupil_id: uuid.UUID | None
    school_id: uuid.UUID | None
    la_code: str | None
    data: dict[str, Any] = field(default_factory=dict)


def emit(session: AsyncSession, event: PendingEvent) -> None:
    """Queue an event; the unit of work writes it just before the transaction commits."""
    session.info.setdefault(PENDING_KEY, []).append(event)


def discard_pending(session: AsyncSession) -> None:
    session.info.pop(PENDING_KEY, None)


# One INSERT whatever the number of events (a 1,000-pupil batch queues 1,000): the columns
# travel as arrays, so the statement and its prepared plan are the same for 1 event or 1,000.
# `WITH ORDINALITY` numbers them in queue order from `first_seq`.
_INSERT_EVENTS = text(
    "INSERT INTO events (seq, type, resource, resource_id, pupil_id, school_id, la_code, data) "
    "SELECT :first_seq + event.n - 1, event.type, event.resource, event.resource_id, "
    "event.pupil_id, event.school_id, event.la_code, event.data::jsonb "
    "FROM unnest(:types, :resources, :resource_ids, :pupil_ids, :school_ids, :la_codes, :data) "
    "WITH ORDINALITY AS event(type, resource, resource_id, pupil_id, school_id, la_code, data, n)"
).bindparams(
    bindparam("first_seq", type_=BigInteger),
    bindparam("types", type_=ARRAY(String)),
    bindparam("resources", type_=ARRAY(String)),
    bindparam("resource_ids", type_=ARRAY(Uuid)),
    bindparam("pupil_ids", type_=ARRAY(Uuid)),
    bindparam("school_ids", type_=ARRAY(Uuid)),
    bindparam("la_codes", type_=ARRAY(String)),
    bindparam("data", type_=ARRAY(String)),
)


async def write_pending(session: AsyncSession) -> None:
    """Number and insert the queued events. Call last before COMMIT: the counter row stays
    locked until then."""
    pending: list[PendingEvent] = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    last = await session.scalar(
        update(EventCounter)
        .where(EventCounter.id == 1)
        .values(last_seq=EventCounter.last_seq + len(pending))
        .returning(EventCounter.last_seq)
    )
    assert last is not None, "the event_counter row is created by the migrations"
    first = last - len(pending) + 1
    await session.execute(
        _INSERT_EVENTS,
        {
            "first_seq": first,
            "types": [event.type for event in pending],
            "resources": [event.resource for event in pending],
            "resource_ids": [event.resource_id for event in pending],
            "pupil_ids": [event.pupil_id for event in pending],
            "school_ids": [event.school_id for event in pending],
            "la_codes": [event.la_code for event in pending],
            "data": [orjson.dumps(event.data).decode() for event in pending],
        },
    )
