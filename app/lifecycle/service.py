"""Pupil and plan events, `sen_status` changes and the end of a support plan.

Plain changes to loaded rows and the events they owe; the queries are in `repository.py`.
"""

import uuid
from typing import Any

from app.core.audit import Touched, record_access
from app.core.clock import today_london
from app.core.db import DbSession
from app.core.outbox import PendingEvent, emit
from app.core.security import Principal, Role
from app.lifecycle import repository
from app.models import Pupil, SupportPlan
from app.models.enums import AuditAction, PlanStatus, SenStatus

PLAN_READERS = (Role.SENCO, Role.TEACHER, Role.PARENT, Role.PLATFORM_ADMIN, Role.LA_OFFICER)
REVIEW_DECISION_CLOSE = "review_decision"
LEFT_SCHOOL_CLOSE = "left_school"


def pupil_event(type_: str, pupil: Pupil, **data: Any) -> PendingEvent:
    return pupil_event_of(
        type_,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        upn=pupil.upn,
        la_code=pupil.home_la_code,
        **data,
    )


def pupil_event_of(
    type_: str, *, pupil_id: uuid.UUID, school_id: uuid.UUID, upn: str, la_code: str, **data: Any
) -> PendingEvent:
    """Pupil events carry the UPN (the key MIS systems match on) and never other personal data.
    From column values: the batch writes rows, not ORM objects."""
    return PendingEvent(
        type=type_,
        resource="pupil",
        resource_id=pupil_id,
        pupil_id=pupil_id,
        school_id=school_id,
        la_code=la_code,
        data={"upn": upn, **data},
    )


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


def set_sen_status(session: DbSession, pupil: Pupil, status: SenStatus) -> None:
    if pupil.sen_status == status.value:
        return
    pupil.sen_status = status.value
    emit(
        session,
        pupil_event("pupil.updated", pupil, changed=["sen_status"], sen_status=status.value),
    )


def end_plan(
    session: DbSession, plan: SupportPlan, pupil: Pupil, status: PlanStatus, reason: str | None
) -> None:
    """Ends an active plan; `sen_status` goes back to N unless an EHC plan makes it E."""
    plan.status = status.value
    plan.closed_on = today_london()
    plan.close_reason = reason
    if pupil.sen_status == SenStatus.K.value:
        set_sen_status(session, pupil, SenStatus.N)
    emit(session, plan_event("plan.closed", plan, pupil))


async def close_active_plan_of_leaver(
    session: DbSession, principal: Principal, pupil: Pupil
) -> None:
    """A pupil who leaves the school leaves SEN support there too (SPEC.md §3.3)."""
    plan = await repository.lock_active_plan(session, pupil.id)
    if plan is None:
        return
    end_plan(session, plan, pupil, PlanStatus.CLOSED, LEFT_SCHOOL_CLOSE)
    await repository.write_changes(session)
    await record_access(
        session, principal, AuditAction.UPDATE, "support_plan", [plan_touched(plan, pupil)]
    )
