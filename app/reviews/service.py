"""Reviews across cycles and plans: what was reviewed, and what is due."""

import uuid
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Touched, record_access
from app.core.clock import today_london
from app.core.errors import FieldError, ValidationFailed
from app.core.http import after_cursor, cursor_for, keyset_page
from app.core.scope import get_pupil_in_scope, get_school_in_scope, pupil_scope
from app.core.security import Principal, Role
from app.cycles.schemas import review_overdue
from app.models import Cycle, Pupil, SupportPlan
from app.models.enums import AuditAction, PlanStatus, Stage
from app.reviews.schemas import ReviewDueItem, ReviewItem
from app.specialists.schemas import OpenReferral
from app.specialists.service import INVOLVEMENT_READERS, open_referrals

REVIEW_READERS = (
    Role.SENCO,
    Role.TEACHER,
    Role.MIS_INTEGRATION,
    Role.PARENT,
    Role.PLATFORM_ADMIN,
    Role.LA_OFFICER,
)
DUE_READERS = (Role.SENCO, Role.TEACHER, Role.MIS_INTEGRATION, Role.PLATFORM_ADMIN)


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed([FieldError(field="cursor", message="Not a cursor from this list")])


async def _completed_reviews(
    session: AsyncSession,
    principal: Principal,
    query: Select[Cycle],
    limit: int,
    cursor: str | None,
) -> tuple[list[ReviewItem], str | None]:
    # Newest first: by the date held, then by when the cycle was completed.
    rows, next_cursor = await keyset_page(
        session,
        query.where(Cycle.stage == Stage.COMPLETE.value),
        (Cycle.review_held_on, Cycle.completed_at, Cycle.id),
        limit,
        cursor,
        descending=True,
    )
    await record_access(
        session,
        principal,
        AuditAction.READ,
        "review",
        [Touched(resource_id=c.id, pupil_id=c.pupil_id, school_id=c.school_id) for c in rows],
    )
    items = [
        ReviewItem.model_validate(
            {
                **c.review,
                "cycle_id": c.id,
                "cycle_number": c.number,
                "plan_id": c.plan_id,
                "pupil_id": c.pupil_id,
            }
        )
        for c in rows
    ]
    return items, next_cursor


async def pupil_reviews(
    session: AsyncSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReviewItem], str | None]:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*REVIEW_READERS)
    return await _completed_reviews(
        session, principal, select(Cycle).where(Cycle.pupil_id == pupil.id), limit, cursor
    )


async def school_reviews(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    held_from: date | None,
    held_to: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReviewItem], str | None]:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*REVIEW_READERS)
    if held_from is not None and held_to is not None and held_from > held_to:
        raise ValidationFailed([FieldError(field="from", message="Must not be after to")])
    query = (
        select(Cycle)
        .join(Pupil, Pupil.id == Cycle.pupil_id)
        .where(Cycle.school_id == school.id, pupil_scope(principal))
    )
    if held_from is not None:
        query = query.where(Cycle.review_held_on >= held_from)
    if held_to is not None:
        query = query.where(Cycle.review_held_on <= held_to)
    return await _completed_reviews(session, principal, query, limit, cursor)


async def reviews_due(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    before: date,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReviewDueItem], str | None]:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*DUE_READERS)
    order = (Cycle.review_date, Cycle.id)
    query = (
        select(Cycle, Pupil)
        .join(Pupil, Pupil.id == Cycle.pupil_id)
        .join(SupportPlan, SupportPlan.id == Cycle.plan_id)
        .where(
            Cycle.school_id == school.id,
            Cycle.stage != Stage.COMPLETE.value,
            Cycle.review_date < before,
            SupportPlan.status == PlanStatus.ACTIVE.value,
            pupil_scope(principal),
        )
    )
    if cursor is not None:
        query = query.where(after_cursor(order, cursor))
    rows = list((await session.execute(query.order_by(*order).limit(limit + 1))).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor_for(order, rows[-1][0])
    await record_access(
        session,
        principal,
        AuditAction.READ,
        "cycle",
        [Touched(resource_id=c.id, pupil_id=p.id, school_id=p.school_id) for c, p in rows],
    )
    today = today_london()
    # The audit entries above cover these pupils: the referrals add no pupil to the answer.
    referrals: dict[uuid.UUID, list[OpenReferral]] | None = None
    if principal.role in INVOLVEMENT_READERS:
        referrals = await open_referrals(session, {p.id for _, p in rows}, today)
    items = []
    for cycle, pupil in rows:
        assert cycle.review_date is not None
        items.append(
            ReviewDueItem(
                cycle_id=cycle.id,
                plan_id=cycle.plan_id,
                pupil_id=pupil.id,
                upn=pupil.upn,
                first_name=pupil.first_name,
                last_name=pupil.last_name,
                cycle_number=cycle.number,
                stage=Stage(cycle.stage),
                review_date=cycle.review_date,
                review_overdue=review_overdue(cycle, today),
                open_referrals=None if referrals is None else referrals[pupil.id],
            )
        )
    return items, next_cursor
