"""Reviews across cycles and plans: what was reviewed, and what is due."""

import uuid
from datetime import date

from app.core.audit import Touched, record_access
from app.core.clock import today_london
from app.core.db import DbSession
from app.core.errors import FieldError, ValidationFailed
from app.core.scope import get_pupil_in_scope, get_school_in_scope
from app.core.security import Principal, Role
from app.cycles.schemas import review_overdue
from app.models import Cycle
from app.models.enums import AuditAction, Stage
from app.reviews import repository
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


async def _reviews_read(
    session: DbSession, principal: Principal, rows: list[Cycle]
) -> list[ReviewItem]:
    """The completed cycles' review records, their reading audited."""
    await record_access(
        session,
        principal,
        AuditAction.READ,
        "review",
        [Touched(resource_id=c.id, pupil_id=c.pupil_id, school_id=c.school_id) for c in rows],
    )
    return [
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


async def pupil_reviews(
    session: DbSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReviewItem], str | None]:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*REVIEW_READERS)
    rows, next_cursor = await repository.completed_for_pupil(session, pupil.id, limit, cursor)
    return await _reviews_read(session, principal, rows), next_cursor


async def school_reviews(
    session: DbSession,
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
    rows, next_cursor = await repository.completed_for_school(
        session, principal, school.id, held_from, held_to, limit, cursor
    )
    return await _reviews_read(session, principal, rows), next_cursor


async def reviews_due(
    session: DbSession,
    principal: Principal,
    school_id: uuid.UUID,
    before: date,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReviewDueItem], str | None]:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*DUE_READERS)
    rows, next_cursor = await repository.due_for_school(
        session, principal, school.id, before, limit, cursor
    )
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
