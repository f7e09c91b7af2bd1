"""The support-plan queries every package that ends or reads a plan shares.

Here, below support plans, cycles, EHC requests and pupils, for the same reason as the service:
a package that closes or reads a plan reaches it without importing another domain package.
"""

import uuid
from datetime import date

from sqlalchemy import ARRAY, Uuid, any_, bindparam, func, select, update

from app.core.db import DbSession
from app.core.scope import get_with_pupil, pupil_scope
from app.core.security import Principal
from app.models import Pupil, SupportPlan
from app.models.enums import PlanStatus, SenStatus


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


async def close_active_plans(
    session: DbSession, pupil_ids: list[uuid.UUID], closed_on: date, reason: str
) -> dict[uuid.UUID, uuid.UUID]:
    """Closes the active plan of each of these pupils in one statement, with the version bump
    an ORM update makes; answers pupil id -> the plan closed."""
    rows = await session.execute(
        update(SupportPlan)
        .where(
            SupportPlan.pupil_id == any_(bindparam("pupil_ids", type_=ARRAY(Uuid))),
            SupportPlan.status == PlanStatus.ACTIVE.value,
        )
        .values(
            status=PlanStatus.CLOSED.value,
            closed_on=closed_on,
            close_reason=reason,
            version=SupportPlan.version + 1,
            updated_at=func.now(),
        )
        .returning(SupportPlan.pupil_id, SupportPlan.id)
        # Core rows: no ORM objects of these plans are loaded in the batch's session.
        .execution_options(synchronize_session=False),
        {"pupil_ids": pupil_ids},
    )
    return {pupil_id: plan_id for pupil_id, plan_id in rows}


async def end_sen_support(session: DbSession, pupil_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """`sen_status` K back to N for these pupils (not E: an EHC plan keeps it) in one
    statement; answers the pupils changed."""
    rows = await session.execute(
        update(Pupil)
        .where(
            Pupil.id == any_(bindparam("pupil_ids", type_=ARRAY(Uuid))),
            Pupil.sen_status == SenStatus.K.value,
        )
        .values(sen_status=SenStatus.N.value, version=Pupil.version + 1, updated_at=func.now())
        .returning(Pupil.id)
        .execution_options(synchronize_session=False),
        {"pupil_ids": pupil_ids},
    )
    return set(rows.scalars())
