"""The support-plan queries every package that ends or reads a plan shares.

Here, below support plans, cycles, EHC requests and pupils, for the same reason as the service:
a package that closes or reads a plan reaches it without importing another domain package.
"""

import uuid

from sqlalchemy import select

from app.core.db import DbSession
from app.core.scope import get_with_pupil, pupil_scope
from app.core.security import Principal
from app.models import Pupil, SupportPlan
from app.models.enums import PlanStatus


async def get_plan_in_scope(
    session: DbSession, principal: Principal, plan_id: uuid.UUID, *, for_update: bool = False
) -> tuple[SupportPlan, Pupil]:
    """The plan and its pupil in one statement; 404 when out of the caller's scope."""
    return await get_with_pupil(
        session,
        SupportPlan,
        plan_id,
        pupil_scope(principal),
        what="support plan",
        for_update=for_update,
    )


async def lock_active_plan(session: DbSession, pupil_id: uuid.UUID) -> SupportPlan | None:
    """The pupil's active plan, locked until the end of the transaction, so that whoever ends
    it (a leaver, an EHC plan) sees its last state and a concurrent change waits."""
    return await session.scalar(
        select(SupportPlan)
        .where(SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.ACTIVE.value)
        .with_for_update()
    )


async def write_changes(session: DbSession) -> None:
    """Sends the pending changes now. The audit INSERT that follows a change is plain SQL,
    which does not flush the ORM's changes by itself."""
    await session.flush()
