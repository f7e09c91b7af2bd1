"""Support plans: opening an episode of SEN support, closing it, and what follows for the
pupil's `sen_status` (K while a plan is active, back to N when it ends, unless E).

The queries are in `repository.py` (and, for a plan in scope, `app/lifecycle/repository.py`).
"""

import uuid

from app.core.audit import record_access
from app.core.clock import today_london
from app.core.db import DbSession
from app.core.errors import (
    ActivePlanExists,
    Conflict,
    FieldError,
    ValidationFailed,
)
from app.core.http import check_if_match
from app.core.outbox import emit
from app.core.scope import get_pupil_in_scope
from app.core.security import Principal, Role
from app.cycles.service import new_cycle
from app.lifecycle.repository import get_plan_in_scope
from app.lifecycle.service import (
    PLAN_READERS,
    end_plan,
    plan_event,
    plan_touched,
    set_sen_status,
)
from app.models import SupportPlan
from app.models.enums import AuditAction, PlanStatus, SenStatus
from app.support_plans import repository
from app.support_plans.schemas import SupportPlanOpen


async def open_support_plan(
    session: DbSession, principal: Principal, pupil_id: uuid.UUID, data: SupportPlanOpen
) -> SupportPlan:
    # Locking the pupil serialises concurrent openings; the partial unique index backs it up.
    pupil = await get_pupil_in_scope(session, principal, pupil_id, for_update=True)
    principal.require(Role.SENCO)
    if pupil.left_on is not None:
        raise Conflict("The pupil has left the school")
    opened_on = data.opened()
    if opened_on > today_london() or opened_on < pupil.date_of_birth:
        raise ValidationFailed(
            [FieldError(field="opened_on", message="Not in the future, nor before birth")]
        )
    active = await repository.active_plan_id(session, pupil.id)
    if active is not None:
        raise ActivePlanExists(f"Support plan {active} is still active; close it first")
    plan = SupportPlan(
        id=uuid.uuid4(),
        pupil_id=pupil.id,
        status=PlanStatus.ACTIVE.value,
        opened_on=opened_on,
        class_teacher=data.class_teacher,
        senco=data.senco,
        areas_of_need=[area.value for area in data.areas_of_need],
    )
    cycle = new_cycle(plan, pupil, 1)
    plan.current_cycle_id = cycle.id
    await repository.insert_plan(session, plan, cycle)
    if pupil.sen_status == SenStatus.N.value:
        set_sen_status(session, pupil, SenStatus.K)
    await repository.save_plan(session, plan)
    await record_access(
        session, principal, AuditAction.CREATE, "support_plan", [plan_touched(plan, pupil)]
    )
    emit(session, plan_event("plan.opened", plan, pupil))
    return plan


async def close_support_plan(
    session: DbSession,
    principal: Principal,
    plan_id: uuid.UUID,
    reason: str,
    if_match: str | None,
) -> SupportPlan:
    plan, pupil = await get_plan_in_scope(session, principal, plan_id, for_update=True)
    principal.require(Role.SENCO)
    check_if_match(if_match, plan.version)
    if plan.status != PlanStatus.ACTIVE.value:
        raise Conflict(f"The support plan is already {plan.status}")
    end_plan(session, plan, pupil, PlanStatus.CLOSED, reason)
    await repository.save_plan(session, plan)
    await record_access(
        session, principal, AuditAction.UPDATE, "support_plan", [plan_touched(plan, pupil)]
    )
    return plan


async def read_support_plan(
    session: DbSession, principal: Principal, plan_id: uuid.UUID
) -> SupportPlan:
    plan, pupil = await get_plan_in_scope(session, principal, plan_id)
    principal.require(*PLAN_READERS)
    await record_access(
        session, principal, AuditAction.READ, "support_plan", [plan_touched(plan, pupil)]
    )
    return plan


async def list_support_plans(
    session: DbSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[SupportPlan], str | None]:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*PLAN_READERS)
    rows, next_cursor = await repository.plan_page(session, pupil.id, limit, cursor)
    await record_access(
        session, principal, AuditAction.READ, "support_plan", [plan_touched(p, pupil) for p in rows]
    )
    return rows, next_cursor
