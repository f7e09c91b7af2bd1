"""Support plans: opening an episode of SEN support, closing it, and what follows for the
pupil's `sen_status` (K while a plan is active, back to N when it ends, unless E)."""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Touched, record_access
from app.core.clock import today_london, utcnow
from app.core.errors import (
    ActivePlanExists,
    Conflict,
    FieldError,
    ValidationFailed,
)
from app.core.http import check_if_match, keyset_page
from app.core.security import Principal, Role
from app.cycles.schemas import AssessmentRecord, PlanRecordIn, ReviewRecord, empty_record
from app.events.service import PendingEvent, emit
from app.models import Cycle, Pupil, SupportPlan
from app.models.enums import AuditAction, PlanStatus, SenStatus, Stage
from app.pupils.access import get_pupil_in_scope, get_with_pupil, pupil_scope
from app.support_plans.schemas import SupportPlanOpen

PLAN_READERS = (Role.SENCO, Role.TEACHER, Role.PARENT, Role.PLATFORM_ADMIN, Role.LA_OFFICER)
REVIEW_DECISION_CLOSE = "review_decision"
LEFT_SCHOOL_CLOSE = "left_school"


def plan_touched(plan: SupportPlan, pupil: Pupil) -> Touched:
    return Touched(resource_id=plan.id, pupil_id=pupil.id, school_id=pupil.school_id)


def plan_event(type_: str, plan: SupportPlan, pupil: Pupil) -> PendingEvent:
    return PendingEvent(
        type=type_,
        resource="support_plan",
        resource_id=plan.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        la_code=pupil.home_la_code,
        data={"upn": pupil.upn, "status": plan.status},
    )


def set_sen_status(session: AsyncSession, pupil: Pupil, status: SenStatus) -> None:
    if pupil.sen_status == status.value:
        return
    pupil.sen_status = status.value
    emit(
        session,
        PendingEvent(
            type="pupil.updated",
            resource="pupil",
            resource_id=pupil.id,
            pupil_id=pupil.id,
            school_id=pupil.school_id,
            la_code=pupil.home_la_code,
            data={"upn": pupil.upn, "changed": ["sen_status"], "sen_status": status.value},
        ),
    )


def new_cycle(plan: SupportPlan, pupil: Pupil, number: int) -> Cycle:
    return Cycle(
        id=uuid.uuid4(),
        plan_id=plan.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        number=number,
        stage=Stage.ASSESS.value,
        stage_entered_at=utcnow(),
        assessment=empty_record(AssessmentRecord),
        plan={**empty_record(PlanRecordIn), "annual_cost": "0.00"},
        review=empty_record(ReviewRecord),
        departures=[],
        views_log=[],
    )


async def get_plan_in_scope(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID, *, for_update: bool = False
) -> tuple[SupportPlan, Pupil]:
    return await get_with_pupil(
        session,
        SupportPlan,
        plan_id,
        pupil_scope(principal),
        what="support plan",
        for_update=for_update,
    )


async def open_support_plan(
    session: AsyncSession, principal: Principal, pupil_id: uuid.UUID, data: SupportPlanOpen
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
    active = await session.scalar(
        select(SupportPlan.id).where(
            SupportPlan.pupil_id == pupil.id, SupportPlan.status == PlanStatus.ACTIVE.value
        )
    )
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
    session.add(plan)
    try:
        await session.flush()
        session.add(cycle)
        await session.flush()
    except IntegrityError as error:
        if "uq_support_plans_one_active_per_pupil" in str(error.orig):
            raise ActivePlanExists("The pupil already has an active support plan") from None
        raise
    if pupil.sen_status == SenStatus.N.value:
        set_sen_status(session, pupil, SenStatus.K)
    await session.refresh(plan)
    await record_access(
        session, principal, AuditAction.CREATE, "support_plan", [plan_touched(plan, pupil)]
    )
    emit(session, plan_event("plan.opened", plan, pupil))
    return plan


def end_plan(
    session: AsyncSession, plan: SupportPlan, pupil: Pupil, status: PlanStatus, reason: str | None
) -> None:
    """Ends an active plan; `sen_status` goes back to N unless an EHC plan makes it E."""
    plan.status = status.value
    plan.closed_on = today_london()
    plan.close_reason = reason
    if pupil.sen_status == SenStatus.K.value:
        set_sen_status(session, pupil, SenStatus.N)
    emit(session, plan_event("plan.closed", plan, pupil))


async def close_support_plan(
    session: AsyncSession,
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
    await session.flush()
    await session.refresh(plan)
    await record_access(
        session, principal, AuditAction.UPDATE, "support_plan", [plan_touched(plan, pupil)]
    )
    return plan


async def close_active_plan_of_leaver(
    session: AsyncSession, principal: Principal, pupil: Pupil
) -> None:
    """A pupil who leaves the school leaves SEN support there too (SPEC.md §3.3)."""
    plan = await session.scalar(
        select(SupportPlan)
        .where(SupportPlan.pupil_id == pupil.id, SupportPlan.status == PlanStatus.ACTIVE.value)
        .with_for_update()
    )
    if plan is None:
        return
    end_plan(session, plan, pupil, PlanStatus.CLOSED, LEFT_SCHOOL_CLOSE)
    await session.flush()
    await record_access(
        session, principal, AuditAction.UPDATE, "support_plan", [plan_touched(plan, pupil)]
    )


async def read_support_plan(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID
) -> SupportPlan:
    plan, pupil = await get_plan_in_scope(session, principal, plan_id)
    principal.require(*PLAN_READERS)
    await record_access(
        session, principal, AuditAction.READ, "support_plan", [plan_touched(plan, pupil)]
    )
    return plan


async def list_support_plans(
    session: AsyncSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[SupportPlan], str | None]:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*PLAN_READERS)
    rows, next_cursor = await keyset_page(
        session,
        select(SupportPlan).where(SupportPlan.pupil_id == pupil.id),
        (SupportPlan.opened_on, SupportPlan.id),
        limit,
        cursor,
    )
    await record_access(
        session, principal, AuditAction.READ, "support_plan", [plan_touched(p, pupil) for p in rows]
    )
    return rows, next_cursor
