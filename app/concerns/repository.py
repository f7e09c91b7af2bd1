"""The queries behind concerns: the service decides, this module reads and writes the rows.

A concern is reached through its pupil, so every read of one by id carries the caller's pupil
scope: a concern outside it is answered as one that does not exist.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.http import keyset_page
from app.core.scope import get_with_pupil, pupil_scope
from app.core.security import Principal
from app.models import Concern, Pupil

# Oldest first; the index ix_concerns_pupil_raised serves it.
LIST_ORDER = (Concern.raised_on, Concern.id)


async def insert_concern(session: AsyncSession, concern: Concern) -> Concern:
    """Written now, and read back for the timestamps the database fills."""
    session.add(concern)
    await session.flush()
    await session.refresh(concern)
    return concern


async def save_concern(session: AsyncSession, concern: Concern) -> Concern:
    """The changes made to a loaded concern, written, and read back for its new `updated_at`."""
    await session.flush()
    await session.refresh(concern)
    return concern


async def get_concern_in_scope(
    session: AsyncSession, principal: Principal, concern_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Concern, Pupil]:
    """The concern and its pupil if the caller's scope holds the pupil; 404 otherwise."""
    return await get_with_pupil(
        session,
        Concern,
        concern_id,
        pupil_scope(principal),
        what="concern",
        for_update=for_update,
    )


async def list_for_pupil(
    session: AsyncSession, pupil_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[Concern], str | None]:
    return await keyset_page(
        session, select(Concern).where(Concern.pupil_id == pupil_id), LIST_ORDER, limit, cursor
    )
