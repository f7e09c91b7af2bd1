"""The funding package's queries: thresholds and top-up claims (SPEC.md §3.6).

Every statement the funding service sends is built here, so the service holds only the rules
and the order of the work. Locks are taken where the service asks for them and nowhere else;
the one constraint the service acts on (one live claim per pupil and period) is translated
here into its rule violation.
"""

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.core.errors import RuleViolation, RuleViolationItem
from app.core.http import keyset_page
from app.core.scope import get_with_pupil
from app.core.security import Principal, Role
from app.models import Cycle, FundingClaim, FundingThreshold, Pupil, SupportPlan
from app.models.enums import PlanStatus, Stage

# The stages of a cycle whose plan has been put in place: its provision is what a claim costs.
REACHED_DO = (Stage.DO.value, Stage.REVIEW.value, Stage.COMPLETE.value)

ONE_LIVE_CLAIM_PER_PERIOD = "uq_funding_claims_one_live_per_period"


# --- Thresholds -------------------------------------------------------------------------------


async def get_threshold_amount(session: AsyncSession, period: str) -> Decimal | None:
    amount: Decimal | None = await session.scalar(
        select(FundingThreshold.amount).where(FundingThreshold.period == period)
    )
    return amount


async def list_thresholds(session: AsyncSession) -> list[FundingThreshold]:
    return list(
        (await session.scalars(select(FundingThreshold).order_by(FundingThreshold.period))).all()
    )


async def lock_threshold_version(session: AsyncSession, period: str) -> int | None:
    """The period's threshold version, its row locked until the transaction ends; None when
    no threshold is set for the period."""
    version: int | None = await session.scalar(
        select(FundingThreshold.version).where(FundingThreshold.period == period).with_for_update()
    )
    return version


async def upsert_threshold(session: AsyncSession, period: str, amount: Decimal) -> FundingThreshold:
    """Create the period's threshold at version 1, or replace its amount and bump its version.
    An upsert: two first PUTs racing both succeed, the later one as an update."""
    statement = insert(FundingThreshold).values(period=period, amount=amount, version=1)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[FundingThreshold.period],
            set_={
                FundingThreshold.amount: statement.excluded.amount,
                FundingThreshold.version: FundingThreshold.version + 1,
                FundingThreshold.updated_at: utcnow(),
            },
        )
    )
    threshold = await session.scalar(
        select(FundingThreshold)
        .where(FundingThreshold.period == period)
        .execution_options(populate_existing=True)
    )
    assert threshold is not None
    return threshold


# --- Claims -----------------------------------------------------------------------------------


def claim_scope(principal: Principal) -> ColumnElement[bool]:
    """An LA sees claims once submitted to it (`la_code` is set on submission)."""
    match principal.role:
        case Role.PLATFORM_ADMIN:
            return true()
        case Role.SENCO | Role.TEACHER | Role.MIS_INTEGRATION:
            return FundingClaim.school_id == principal.school_id
        case Role.LA_OFFICER:
            return FundingClaim.la_code == principal.la_code
        case Role.PARENT:
            if not principal.pupil_ids:
                return false()
            return FundingClaim.pupil_id.in_(principal.pupil_ids)
    return false()


async def get_claim_in_scope(
    session: AsyncSession, principal: Principal, claim_id: uuid.UUID, *, for_update: bool = False
) -> tuple[FundingClaim, Pupil]:
    """The claim and its pupil in one statement; 404 outside the caller's scope. With
    `for_update`, the claim row (not the pupil's) is locked."""
    return await get_with_pupil(
        session,
        FundingClaim,
        claim_id,
        claim_scope(principal),
        what="funding claim",
        for_update=for_update,
    )


async def list_claims(
    session: AsyncSession,
    principal: Principal,
    *,
    la_code: str | None,
    status: str | None,
    period: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[FundingClaim], str | None]:
    """One keyset page of the claims in scope, oldest first, and the next page's cursor."""
    query = select(FundingClaim).where(claim_scope(principal))
    if la_code is not None:
        query = query.where(FundingClaim.la_code == la_code)
    if status is not None:
        query = query.where(FundingClaim.status == status)
    if period is not None:
        query = query.where(FundingClaim.period == period)
    return await keyset_page(
        session, query, (FundingClaim.created_at, FundingClaim.id), limit, cursor
    )


async def insert_claim(session: AsyncSession, claim: FundingClaim) -> None:
    """Write a new claim and read back what the database filled in (version, timestamps)."""
    session.add(claim)
    await session.flush()
    await session.refresh(claim)


async def update_claim(session: AsyncSession, claim: FundingClaim) -> None:
    """Write the claim's changes and read it back. The database holds claim.single_per_period
    too (a partial unique index): a live claim that slipped past the rule check answers as
    that rule's violation, never as a 500."""
    try:
        await session.flush()
    except IntegrityError as error:
        if ONE_LIVE_CLAIM_PER_PERIOD in str(error.orig):
            raise RuleViolation(
                [
                    RuleViolationItem(
                        rule="claim.single_per_period",
                        severity="must",
                        message="The pupil already has a live claim for this period",
                    )
                ]
            ) from None
        raise
    await session.refresh(claim)


async def lock_pupil(session: AsyncSession, pupil_id: uuid.UUID) -> None:
    """Lock the pupil row: transitions of one pupil's claims run one at a time, so the
    claim.single_per_period check reads claims no concurrent transition is changing."""
    await session.execute(select(Pupil.id).where(Pupil.id == pupil_id).with_for_update())


async def list_other_claim_statuses(session: AsyncSession, claim: FundingClaim) -> Sequence[str]:
    """The statuses of the pupil's other claims for the claim's period."""
    return (
        await session.scalars(
            select(FundingClaim.status).where(
                FundingClaim.pupil_id == claim.pupil_id,
                FundingClaim.period == claim.period,
                FundingClaim.id != claim.id,
            )
        )
    ).all()


# --- What a claim snapshots -------------------------------------------------------------------


async def get_costed_plan_record(
    session: AsyncSession, pupil_id: uuid.UUID
) -> dict[str, Any] | None:
    """The plan record (with its `annual_cost`) of the latest cycle that reached `do` in the
    pupil's most recent plan; None when no cycle of that plan has."""
    latest_plan = (
        select(SupportPlan.id)
        .where(SupportPlan.pupil_id == pupil_id)
        .order_by(SupportPlan.opened_on.desc(), SupportPlan.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    plan_record: dict[str, Any] | None = await session.scalar(
        select(Cycle.plan)
        .where(Cycle.plan_id == latest_plan, Cycle.stage.in_(REACHED_DO))
        .order_by(Cycle.number.desc())
        .limit(1)
    )
    return plan_record


async def get_active_plan_stage(session: AsyncSession, pupil_id: uuid.UUID) -> str | None:
    """The stage of the current cycle of the pupil's active plan, if it has one."""
    stage: str | None = await session.scalar(
        select(Cycle.stage)
        .join(SupportPlan, SupportPlan.current_cycle_id == Cycle.id)
        .where(SupportPlan.pupil_id == pupil_id, SupportPlan.status == PlanStatus.ACTIVE.value)
    )
    return stage
