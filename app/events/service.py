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

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.event import Event, EventCounter

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
        insert(Event).values(
            [
                {
                    "seq": first + offset,
                    "type": event.type,
                    "resource": event.resource,
                    "resource_id": event.resource_id,
                    "pupil_id": event.pupil_id,
                    "school_id": event.school_id,
                    "la_code": event.la_code,
                    "data": event.data,
                }
                for offset, event in enumerate(pending)
            ]
        )
    )
