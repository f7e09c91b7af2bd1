"""The data-protection queries: everything held about a pupil, legal holds and the purge.

The export reads a fixed number of statements whatever the pupil's history (one per table);
the purge locks the pupils due, deletes their rows table by table with one statement each,
and records what went. Which tables are exported and purged, and why, is the service's.
"""

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Uuid, any_, bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningDelete

from app.models import (
    AuditEntry,
    Concern,
    Cycle,
    DeliveryLog,
    EhcRequest,
    Event,
    FundingClaim,
    LegalHold,
    Pupil,
    RetentionPurge,
    School,
    SpecialistInvolvement,
    SupportPlan,
)

# --- The subject-access export ----------------------------------------------------------------


@dataclass(frozen=True)
class PupilRecords:
    """The rows of every table that refers to a pupil, each list in a stable order."""

    school: School
    legal_hold: LegalHold | None
    concerns: list[Concern]
    support_plans: list[SupportPlan]
    cycles: list[Cycle]
    delivery_logs: list[DeliveryLog]
    specialist_involvements: list[SpecialistInvolvement]
    ehc_requests: list[EhcRequest]
    funding_claims: list[FundingClaim]
    events: list[Event]
    audit_entries: list[AuditEntry]


async def load_pupil_records(session: AsyncSession, pupil: Pupil) -> PupilRecords:
    """Everything held about the pupil besides its own row: one statement per table, so the
    count does not grow with the pupil's history."""

    async def rows(query: Any) -> list[Any]:
        return list((await session.scalars(query)).all())

    school = await session.get_one(School, pupil.school_id)
    hold = await session.scalar(select(LegalHold).where(LegalHold.pupil_id == pupil.id))
    return PupilRecords(
        school=school,
        legal_hold=hold,
        concerns=await rows(
            select(Concern)
            .where(Concern.pupil_id == pupil.id)
            .order_by(Concern.raised_on, Concern.id)
        ),
        support_plans=await rows(
            select(SupportPlan)
            .where(SupportPlan.pupil_id == pupil.id)
            .order_by(SupportPlan.opened_on, SupportPlan.created_at, SupportPlan.id)
        ),
        cycles=await rows(
            select(Cycle)
            .where(Cycle.pupil_id == pupil.id)
            .order_by(Cycle.created_at, Cycle.number, Cycle.id)
        ),
        delivery_logs=await rows(
            select(DeliveryLog)
            .join(Cycle, Cycle.id == DeliveryLog.cycle_id)
            .where(Cycle.pupil_id == pupil.id)
            .order_by(DeliveryLog.delivered_on, DeliveryLog.created_at, DeliveryLog.id)
        ),
        specialist_involvements=await rows(
            select(SpecialistInvolvement)
            .where(SpecialistInvolvement.pupil_id == pupil.id)
            .order_by(SpecialistInvolvement.created_at, SpecialistInvolvement.id)
        ),
        ehc_requests=await rows(
            select(EhcRequest)
            .where(EhcRequest.pupil_id == pupil.id)
            .order_by(EhcRequest.created_at, EhcRequest.id)
        ),
        funding_claims=await rows(
            select(FundingClaim)
            .where(FundingClaim.pupil_id == pupil.id)
            .order_by(FundingClaim.created_at, FundingClaim.id)
        ),
        events=await rows(select(Event).where(Event.pupil_id == pupil.id).order_by(Event.seq)),
        audit_entries=await rows(
            select(AuditEntry)
            .where(AuditEntry.pupil_id == pupil.id)
            .order_by(AuditEntry.at, AuditEntry.id)
        ),
    )


# --- Legal holds ------------------------------------------------------------------------------


async def get_legal_hold(session: AsyncSession, pupil_id: uuid.UUID) -> LegalHold | None:
    return await session.get(LegalHold, pupil_id)


async def insert_legal_hold(session: AsyncSession, hold: LegalHold) -> None:
    """Write a new hold and read back what the database filled in (version, timestamps)."""
    session.add(hold)
    await session.flush()
    await session.refresh(hold)


async def update_legal_hold(session: AsyncSession, hold: LegalHold) -> None:
    """Write the hold's changes and read back its new version."""
    await session.flush()
    await session.refresh(hold)


async def delete_legal_hold(session: AsyncSession, hold: LegalHold) -> None:
    await session.delete(hold)
    await session.flush()


# --- The retention purge ----------------------------------------------------------------------


class DuePupil(NamedTuple):
    id: uuid.UUID
    school_id: uuid.UUID
    upn: str


def _among(column: Any, ids: list[uuid.UUID]) -> Any:
    # One array parameter, however many pupils (an IN list is capped at 32,767 parameters).
    return column == any_(bindparam("pupil_ids", ids, type_=ARRAY(Uuid())))


async def lock_pupils_born_on_or_before(session: AsyncSession, cutoff: date) -> list[DuePupil]:
    """The pupils born on or before `cutoff`, by id, each row locked until the transaction
    ends: no hold can be set on them (the hold's write locks the pupil too) and no record
    added to them meanwhile."""
    result = await session.execute(
        select(Pupil.id, Pupil.school_id, Pupil.upn)
        .where(Pupil.date_of_birth <= cutoff)
        .order_by(Pupil.id)
        .with_for_update()
    )
    return [DuePupil(*row) for row in result.all()]


async def held_pupil_ids(session: AsyncSession, pupil_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the pupils are under a legal hold. Run after the pupils are locked, it sees
    every hold committed before the locks."""
    return set(
        await session.scalars(
            select(LegalHold.pupil_id).where(_among(LegalHold.pupil_id, pupil_ids))
        )
    )


def _purge_statements(ids: list[uuid.UUID]) -> dict[str, ReturningDelete[tuple[uuid.UUID]]]:
    """For each table the purge knows, a DELETE of the pupils' rows returning each row's
    pupil id."""
    return {
        "delivery_logs": delete(DeliveryLog)
        .where(DeliveryLog.cycle_id == Cycle.id, _among(Cycle.pupil_id, ids))
        .returning(Cycle.pupil_id),
        **{
            model.__tablename__: delete(model)
            .where(_among(model.pupil_id, ids))
            .returning(model.pupil_id)
            for model in (
                Cycle,
                SupportPlan,
                Concern,
                SpecialistInvolvement,
                EhcRequest,
                FundingClaim,
                Event,
            )
        },
        "pupils": delete(Pupil).where(_among(Pupil.id, ids)).returning(Pupil.id),
    }


async def delete_pupils_records(
    session: AsyncSession, tables: Sequence[str], pupil_ids: list[uuid.UUID]
) -> dict[str, Counter[str]]:
    """Delete the pupils' rows from each of `tables`, in that order (children before
    parents); rows deleted, by table then by pupil id (as text)."""
    statements = _purge_statements(pupil_ids)
    deleted: dict[str, Counter[str]] = {}
    for table in tables:
        result = await session.execute(
            statements[table], execution_options={"synchronize_session": False}
        )
        deleted[table] = Counter(str(pupil_id) for pupil_id in result.scalars())
    return deleted


async def insert_retention_purges(session: AsyncSession, purges: Iterable[dict[str, Any]]) -> None:
    """One row of `retention_purges` per purged pupil, in one executemany."""
    await session.execute(insert(RetentionPurge), list(purges))
