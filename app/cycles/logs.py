"""What is added to a cycle as it runs, never replaced: the views of parents and the pupil, and
the sessions of provision delivered in do."""

import uuid

from app.core.audit import Touched, record_access
from app.core.clock import today_london, utcnow
from app.core.db import DbSession
from app.core.errors import FieldError, Forbidden, StageLocked, ValidationFailed
from app.core.security import Principal, Role
from app.cycles import repository
from app.cycles.schemas import DeliveryLogIn, ViewIn
from app.cycles.service import STAFF_WRITERS, ensure_in_stage, ensure_plan_active, saved_cycle
from app.lifecycle.service import PLAN_READERS
from app.models import Cycle, DeliveryLog
from app.models.enums import AuditAction, Stage, ViewAuthor

# In `plan`, a view is the record of consulting parent or pupil: its date is what counts.
CONSULTED_FIELD = {
    ViewAuthor.PARENT: "parents_consulted_on",
    ViewAuthor.PUPIL: "pupil_consulted_on",
}


def _appended(existing: str | None, text: str) -> str:
    # Views accumulate: a second contributor's words never overwrite the first's.
    return text if not existing else f"{existing}\n\n{text}"


async def add_view(
    session: DbSession, principal: Principal, cycle_id: uuid.UUID, body: ViewIn
) -> Cycle:
    cycle, plan, pupil = await repository.get_cycle_in_scope(
        session, principal, cycle_id, for_update=True
    )
    principal.require(Role.SENCO, Role.TEACHER, Role.PARENT)
    if principal.role is Role.PARENT and body.author is not ViewAuthor.PARENT:
        raise Forbidden("A parent records the parent's views only")
    ensure_plan_active(plan)
    field = f"{body.author.value}_views"
    match cycle.stage:
        case Stage.ASSESS.value:
            cycle.assessment = {
                **cycle.assessment,
                field: _appended(cycle.assessment[field], body.text),
            }
        case Stage.PLAN.value:
            cycle.plan = {**cycle.plan, CONSULTED_FIELD[body.author]: today_london().isoformat()}
        case Stage.REVIEW.value:
            cycle.review = {**cycle.review, field: _appended(cycle.review[field], body.text)}
        case _:
            raise StageLocked(f"Views are not taken while the cycle is in {cycle.stage}")
    cycle.views_log = [
        *cycle.views_log,
        {
            "author": body.author.value,
            "text": body.text,
            "stage": cycle.stage,
            "recorded_at": utcnow().isoformat().replace("+00:00", "Z"),
            "recorded_by": principal.sub,
        },
    ]
    return await saved_cycle(session, principal, cycle, pupil, "views_log")


async def add_delivery_log(
    session: DbSession, principal: Principal, cycle_id: uuid.UUID, body: DeliveryLogIn
) -> DeliveryLog:
    cycle, plan, pupil = await repository.get_cycle_in_scope(
        session, principal, cycle_id, for_update=True
    )
    principal.require(*STAFF_WRITERS)
    ensure_in_stage(cycle, plan, "delivery log", Stage.DO)
    if str(body.provision_id) not in {p["id"] for p in cycle.plan["provisions"]}:
        raise ValidationFailed(
            [FieldError(field="provision_id", message="Not a provision of this cycle's plan")]
        )
    log = DeliveryLog(
        id=uuid.uuid4(),
        cycle_id=cycle.id,
        provision_id=body.provision_id,
        delivered_on=body.delivered_on,
        minutes=body.minutes,
        attended=body.attended,
        note=body.note,
        recorded_by=principal.sub,
    )
    await repository.insert_delivery_log(session, log)
    await record_access(
        session,
        principal,
        AuditAction.CREATE,
        "delivery_log",
        [Touched(resource_id=log.id, pupil_id=pupil.id, school_id=pupil.school_id)],
    )
    return log


async def list_delivery_logs(
    session: DbSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeliveryLog], str | None]:
    cycle, _, pupil = await repository.get_cycle_in_scope(session, principal, cycle_id)
    principal.require(*PLAN_READERS)
    rows, next_cursor = await repository.delivery_log_page(session, cycle.id, limit, cursor)
    await record_access(
        session,
        principal,
        AuditAction.READ,
        "delivery_log",
        [Touched(resource_id=log.id, pupil_id=pupil.id, school_id=pupil.school_id) for log in rows],
    )
    return rows, next_cursor
