"""The queries of the evidence bundle: one per section, each for the whole of the pupil's
history, so that the bundle takes the same number of statements however long that history is
(tests/evidence pins the number)."""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.core.db import DbSession
from app.models import (
    Concern,
    Cycle,
    DeliveryLog,
    FundingClaim,
    LocalOfferService,
    School,
    SpecialistInvolvement,
    SupportPlan,
)


@dataclass(frozen=True)
class ProvisionDeliveryTotals:
    """The delivery logs of one provision in one cycle, summed."""

    provision_id: uuid.UUID
    sessions: int
    attended: int
    minutes: int
    first_delivered_on: date
    last_delivered_on: date


async def get_school(session: DbSession, school_id: uuid.UUID) -> School:
    return await session.get_one(School, school_id)


async def plans_of_pupil(session: DbSession, pupil_id: uuid.UUID) -> list[SupportPlan]:
    """Oldest first."""
    return list(
        await session.scalars(
            select(SupportPlan)
            .where(SupportPlan.pupil_id == pupil_id)
            .order_by(SupportPlan.opened_on, SupportPlan.created_at)
        )
    )


async def cycles_by_plan(
    session: DbSession, pupil_id: uuid.UUID
) -> defaultdict[uuid.UUID, list[Cycle]]:
    """The pupil's cycles of every plan, by plan id, each plan's by number."""
    by_plan: defaultdict[uuid.UUID, list[Cycle]] = defaultdict(list)
    for cycle in await session.scalars(
        select(Cycle).where(Cycle.pupil_id == pupil_id).order_by(Cycle.number)
    ):
        by_plan[cycle.plan_id].append(cycle)
    return by_plan


async def delivery_totals_by_cycle(
    session: DbSession, pupil_id: uuid.UUID
) -> defaultdict[uuid.UUID, list[ProvisionDeliveryTotals]]:
    """Per cycle, per provision: sessions, attended, minutes, first and last date."""
    rows = await session.execute(
        select(
            DeliveryLog.cycle_id,
            DeliveryLog.provision_id,
            func.count(),
            func.count().filter(DeliveryLog.attended),
            func.coalesce(func.sum(DeliveryLog.minutes), 0),
            func.min(DeliveryLog.delivered_on),
            func.max(DeliveryLog.delivered_on),
        )
        .join(Cycle, Cycle.id == DeliveryLog.cycle_id)
        .where(Cycle.pupil_id == pupil_id)
        .group_by(DeliveryLog.cycle_id, DeliveryLog.provision_id)
    )
    by_cycle: defaultdict[uuid.UUID, list[ProvisionDeliveryTotals]] = defaultdict(list)
    for cycle_id, provision_id, sessions, attended, minutes, first, last in rows:
        by_cycle[cycle_id].append(
            ProvisionDeliveryTotals(provision_id, sessions, attended, int(minutes), first, last)
        )
    return by_cycle


async def involvements_with_offer(
    session: DbSession, pupil_id: uuid.UUID
) -> list[tuple[SpecialistInvolvement, LocalOfferService | None]]:
    """The pupil's specialist involvements by request date, each with the Local Offer service
    it names, if any."""
    rows = await session.execute(
        select(SpecialistInvolvement, LocalOfferService)
        .outerjoin(
            LocalOfferService,
            LocalOfferService.id == SpecialistInvolvement.local_offer_service_id,
        )
        .where(SpecialistInvolvement.pupil_id == pupil_id)
        .order_by(SpecialistInvolvement.requested_on, SpecialistInvolvement.created_at)
    )
    return [(involvement, offer) for involvement, offer in rows]


async def concerns_of_pupil(session: DbSession, pupil_id: uuid.UUID) -> list[Concern]:
    """Oldest first."""
    return list(
        await session.scalars(
            select(Concern)
            .where(Concern.pupil_id == pupil_id)
            .order_by(Concern.raised_on, Concern.created_at)
        )
    )


async def claims_of_pupil(
    session: DbSession, pupil_id: uuid.UUID, *, submitted_only: bool
) -> list[FundingClaim]:
    """By period. `submitted_only` leaves out drafts: `la_code` is set on submission."""
    query = select(FundingClaim).where(FundingClaim.pupil_id == pupil_id)
    if submitted_only:
        query = query.where(FundingClaim.la_code.is_not(None))
    return list(await session.scalars(query.order_by(FundingClaim.period, FundingClaim.created_at)))
