"""The graduated approach: reading cycles, and what every change to a cycle shares.

A cycle's changes are split by purpose: `records.py` replaces the stage records, `logs.py`
appends views and delivered sessions, `transitions.py` moves the cycle on under the rules. Each
starts by locking the cycle's row (`repository.get_cycle_in_scope(..., for_update=True)`), so
concurrent edits and transitions of one cycle are serialised by the database and each re-checks
against what is really there.
"""

import uuid
from decimal import Decimal
from typing import Any

from app.core.audit import Touched, record_access
from app.core.clock import utcnow
from app.core.db import DbSession
from app.core.errors import StageLocked
from app.core.outbox import PendingEvent, emit
from app.core.security import Principal, Role
from app.cycles import repository
from app.cycles.schemas import AssessmentRecord, PlanRecordIn, ReviewRecord, empty_record
from app.lifecycle.repository import get_plan_in_scope
from app.lifecycle.service import PLAN_READERS
from app.models import Cycle, Pupil, SupportPlan
from app.models.enums import AuditAction, PlanStatus, Stage

STAFF_WRITERS = (Role.SENCO, Role.TEACHER)


def cycle_touched(cycle: Cycle, pupil: Pupil) -> Touched:
    return Touched(resource_id=cycle.id, pupil_id=pupil.id, school_id=pupil.school_id)


def cycle_event(type_: str, cycle: Cycle, pupil: Pupil, **data: Any) -> PendingEvent:
    return PendingEvent(
        type=type_,
        resource="cycle",
        resource_id=cycle.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        la_code=pupil.home_la_code,
        data={"upn": pupil.upn, "plan_id": str(cycle.plan_id), "number": cycle.number, **data},
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


def stored_money(value: str | None) -> Decimal | None:
    """An amount as stage records store it (text), for arithmetic."""
    return Decimal(value) if value is not None else None


def ensure_plan_active(plan: SupportPlan) -> None:
    if plan.status != PlanStatus.ACTIVE.value:
        raise StageLocked(f"The support plan is {plan.status}; its cycles can no longer change")


def ensure_in_stage(cycle: Cycle, plan: SupportPlan, record: str, stage: Stage) -> None:
    ensure_plan_active(plan)
    if cycle.stage != stage.value:
        raise StageLocked(
            f"The {record} can be changed only while the cycle is in {stage.value}; "
            f"it is in {cycle.stage}"
        )


async def saved_cycle(
    session: DbSession, principal: Principal, cycle: Cycle, pupil: Pupil, record: str
) -> Cycle:
    """A changed record (`record` names it) written, audited and put on the feed."""
    await repository.save_cycle(session, cycle)
    await record_access(
        session, principal, AuditAction.UPDATE, "cycle", [cycle_touched(cycle, pupil)]
    )
    emit(session, cycle_event("cycle.updated", cycle, pupil, stage=cycle.stage, changed=[record]))
    return cycle


async def read_cycle(session: DbSession, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    cycle, _, pupil = await repository.get_cycle_in_scope(session, principal, cycle_id)
    principal.require(*PLAN_READERS)
    await record_access(
        session, principal, AuditAction.READ, "cycle", [cycle_touched(cycle, pupil)]
    )
    return cycle


async def list_cycles(
    session: DbSession,
    principal: Principal,
    plan_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[Cycle], str | None]:
    plan, pupil = await get_plan_in_scope(session, principal, plan_id)
    principal.require(*PLAN_READERS)
    rows, next_cursor = await repository.cycle_page(session, plan.id, limit, cursor)
    await record_access(
        session, principal, AuditAction.READ, "cycle", [cycle_touched(c, pupil) for c in rows]
    )
    return rows, next_cursor
