"""The queries behind reviews. A review is a completed cycle's record, and a review due is an
open cycle of an active plan: both are rows of `cycles`, read here in keyset pages.
"""

import uuid
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.http import after_cursor, cursor_for, keyset_page
from app.core.scope import pupil_scope
from app.core.security import Principal
from app.models import Cycle, Pupil, SupportPlan
from app.models.enums import PlanStatus, Stage

# Newest first: by the date held, then by when the cycle was completed.
COMPLETED_ORDER = (Cycle.review_held_on, Cycle.completed_at, Cycle.id)
DUE_ORDER = (Cycle.review_date, Cycle.id)


async def _completed_page(
    session: AsyncSession, query: Select[Cycle], limit: int, cursor: str | None
) -> tuple[list[Cycle], str | None]:
    return await keyset_page(
        session,
        query.where(Cycle.stage == Stage.COMPLETE.value),
        COMPLETED_ORDER,
        limit,
        cursor,
        descending=True,
    )


async def completed_for_pupil(
    session: AsyncSession, pupil_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[Cycle], str | None]:
    return await _completed_page(
        session, select(Cycle).where(Cycle.pupil_id == pupil_id), limit, cursor
    )


async def completed_for_school(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    held_from: date | None,
    held_to: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Cycle], str | None]:
    """The school's completed cycles of pupils in the caller's scope, held from `held_from` to
    `held_to` (inclusive; None leaves that end open)."""
    query = (
        select(Cycle)
        .join(Pupil, Pupil.id == Cycle.pupil_id)
        .where(Cycle.school_id == school_id, pupil_scope(principal))
    )
    if held_from is not None:
        query = query.where(Cycle.review_held_on >= held_from)
    if held_to is not None:
        query = query.where(Cycle.review_held_on <= held_to)
    return await _completed_page(session, query, limit, cursor)


async def due_for_school(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    before: date,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Cycle, Pupil]], str | None]:
    """The school's open cycles of active plans whose review date is before `before`, with
    their pupils (in the caller's scope), soonest first; keyset-paged."""
    query = (
        select(Cycle, Pupil)
        .join(Pupil, Pupil.id == Cycle.pupil_id)
        .join(SupportPlan, SupportPlan.id == Cycle.plan_id)
        .where(
            Cycle.school_id == school_id,
            Cycle.stage != Stage.COMPLETE.value,
            Cycle.review_date < before,
            SupportPlan.status == PlanStatus.ACTIVE.value,
            pupil_scope(principal),
        )
    )
    if cursor is not None:
        query = query.where(after_cursor(DUE_ORDER, cursor))
    result = await session.execute(query.order_by(*DUE_ORDER).limit(limit + 1))
    rows: list[tuple[Cycle, Pupil]] = list(result.all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, cursor_for(DUE_ORDER, rows[-1][0])
