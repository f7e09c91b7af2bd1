"""Pupil and plan events, `sen_status` changes and the end of a support plan.

Plain changes to loaded rows and the events they owe; the queries are in `repository.py`.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
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
    return plan_event_of(
        type_,
        plan_id=plan.id,
        status=plan.status,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        upn=pupil.upn,
        la_code=pupil.home_la_code,
    )


def plan_event_of(
    type_: str,
    *,
    plan_id: uuid.UUID,
    status: str,
    pupil_id: uuid.UUID,
    school_id: uuid.UUID,
    upn: str,
    la_code: str,
) -> PendingEvent:
    """From column values, as `pupil_event_of`: the batch closes leavers' plans as a set."""
    return PendingEvent(
        type=type_,
        resource="support_plan",
        resource_id=plan_id,
        pupil_id=pupil_id,
        school_id=school_id,
        la_code=la_code,
        data={"upn": upn, "status": status},
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


@dataclass(frozen=True)
class Leaver:
    """A pupil a batch has just marked as left, by the column values its events carry."""

    pupil_id: uuid.UUID
    school_id: uuid.UUID
    upn: str
    home_la_code: str


async def close_active_plans_of_leavers(
    session: DbSession, principal: Principal, leavers: Sequence[Leaver]
) -> None:
    """`close_active_plan_of_leaver` for a whole batch, as sets: every leaver's active plan
    closed in one statement and their `sen_status` K back to N in one more, whatever the
    number of leavers; the same events and audit entries, each pupil's in the same order."""
    if not leavers:
        return
    closed = await repository.close_active_plans(
        session, [leaver.pupil_id for leaver in leavers], today_london(), LEFT_SCHOOL_CLOSE
    )
    if not closed:
        return
    back_to_n = await repository.end_sen_support(session, list(closed))
    by_pupil = {leaver.pupil_id: leaver for leaver in leavers}
    touched = []
    for pupil_id, plan_id in closed.items():
        leaver = by_pupil[pupil_id]
        if pupil_id in back_to_n:
            emit(
                session,
                pupil_event_of(
                    "pupil.updated",
                    pupil_id=pupil_id,
                    school_id=leaver.school_id,
                    upn=leaver.upn,
                    la_code=leaver.home_la_code,
                    changed=["sen_status"],
                    sen_status=SenStatus.N.value,
                ),
            )
        emit(
            session,
            plan_event_of(
                "plan.closed",
                plan_id=plan_id,
                status=PlanStatus.CLOSED.value,
                pupil_id=pupil_id,
                school_id=leaver.school_id,
                upn=leaver.upn,
                la_code=leaver.home_la_code,
            ),
        )
        touched.append(Touched(resource_id=plan_id, pupil_id=pupil_id, school_id=leaver.school_id))
    await record_access(session, principal, AuditAction.UPDATE, "support_plan", touched)
