"""The support-plan queries of opening, closing and listing plans.

Reading one plan in scope and locking the active one are shared with other packages and live in
`app/lifecycle/repository.py`.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.db import DbSession
from app.core.errors import ActivePlanExists
from app.core.http import keyset_page
from app.models import Cycle, SupportPlan
from app.models.enums import PlanStatus


async def active_plan_id(session: DbSession, pupil_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(SupportPlan.id).where(
            SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.ACTIVE.value
        )
    )


async def insert_plan(session: DbSession, plan: SupportPlan, first_cycle: Cycle) -> None:
    """Writes a new plan, then its first cycle (the cycle's foreign key needs the plan first).

    A second active plan that a concurrent opening wrote first is refused by the partial
    unique index, and answered as `ActivePlanExists` like the check before it."""
    session.add(plan)
    try:
        await session.flush()
        session.add(first_cycle)
        await session.flush()
    except IntegrityError as error:
        if "uq_support_plans_one_active_per_pupil" in str(error.orig):
            raise ActivePlanExists("The pupil already has an active support plan") from None
        raise


async def save_plan(session: DbSession, plan: SupportPlan) -> None:
    """Writes the pending changes and reloads the plan: its version is the database's."""
    await session.flush()
    await session.refresh(plan)


async def plan_page(
    session: DbSession, pupil_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[SupportPlan], str | None]:
    """A page of the pupil's plans, oldest first."""
    return await keyset_page(
        session,
        select(SupportPlan).where(SupportPlan.pupil_id == pupil_id),
        (SupportPlan.opened_on, SupportPlan.id),
        limit,
        cursor,
    )
