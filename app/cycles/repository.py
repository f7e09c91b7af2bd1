"""Every query of the cycle modules: cycles in scope, their delivery logs, and what the rules
of a move read about the pupil beyond the cycle itself. (A plan in scope, for its list of
cycles, comes from `app/lifecycle/repository.py`.)

A change to a cycle starts with `get_cycle_in_scope(..., for_update=True)`: the row lock is
what serialises concurrent edits and transitions of one cycle.
"""

import uuid
from dataclasses import fields

from sqlalchemy import func, select

from app.core.db import DbSession
from app.core.errors import NotFound
from app.core.http import keyset_page
from app.core.scope import pupil_scope
from app.core.security import Principal
from app.models import Concern, Cycle, DeliveryLog, Pupil, SpecialistInvolvement, SupportPlan
from app.models.enums import ConcernStatus, Stage
from app.rules import SpecialistState

# The involvement columns the rules read, named by the rules' own state.
_SPECIALIST_STATE_COLUMNS = [
    getattr(SpecialistInvolvement, field.name) for field in fields(SpecialistState)
]


async def get_cycle_in_scope(
    session: DbSession, principal: Principal, cycle_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Cycle, SupportPlan, Pupil]:
    """The cycle, its plan and its pupil in one statement; 404 when out of the caller's
    scope. `for_update` locks the cycle row only."""
    query = (
        select(Cycle, SupportPlan, Pupil)
        .join(SupportPlan, SupportPlan.id == Cycle.plan_id)
        .join(Pupil, Pupil.id == Cycle.pupil_id)
        .where(Cycle.id == cycle_id, pupil_scope(principal))
    )
    if for_update:
        query = query.with_for_update(of=Cycle)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("No such cycle")
    cycle, plan, pupil = row
    return cycle, plan, pupil


async def cycle_page(
    session: DbSession, plan_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[Cycle], str | None]:
    """A page of the plan's cycles by number."""
    return await keyset_page(
        session, select(Cycle).where(Cycle.plan_id == plan_id), (Cycle.number,), limit, cursor
    )


def add_cycle(session: DbSession, cycle: Cycle) -> None:
    """A new cycle, written with the next flush."""
    session.add(cycle)


async def save_cycle(session: DbSession, cycle: Cycle) -> None:
    """Writes the pending changes and reloads the cycle: its version is the database's."""
    await session.flush()
    await session.refresh(cycle)


async def insert_delivery_log(session: DbSession, log: DeliveryLog) -> None:
    """Writes the log and reloads it for `created_at`, which the database sets."""
    session.add(log)
    await session.flush()
    await session.refresh(log)


async def delivery_log_page(
    session: DbSession, cycle_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[DeliveryLog], str | None]:
    """A page of the cycle's delivery logs by date."""
    return await keyset_page(
        session,
        select(DeliveryLog).where(DeliveryLog.cycle_id == cycle_id),
        (DeliveryLog.delivered_on, DeliveryLog.id),
        limit,
        cursor,
    )


async def open_concern_count(session: DbSession, pupil_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Concern)
        .where(Concern.pupil_id == pupil_id, Concern.status == ConcernStatus.OPEN.value)
    )
    return int(count or 0)


async def completed_cycles(session: DbSession, pupil_id: uuid.UUID) -> list[Cycle]:
    """The pupil's completed cycles across all its plans, in no particular order."""
    return list(
        await session.scalars(
            select(Cycle).where(Cycle.pupil_id == pupil_id, Cycle.stage == Stage.COMPLETE.value)
        )
    )


async def specialist_states(session: DbSession, pupil_id: uuid.UUID) -> list[SpecialistState]:
    """The pupil's specialist involvements, as far as the cycle rules read them."""
    rows = await session.execute(
        select(*_SPECIALIST_STATE_COLUMNS).where(SpecialistInvolvement.pupil_id == pupil_id)
    )
    return [SpecialistState(**row._mapping) for row in rows]
