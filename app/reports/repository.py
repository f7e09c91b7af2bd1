"""The school reports' queries: one statement per report whatever the number of pupils.

The register, provision costs and the census each read every row they show in a single
SELECT, ordered by name for stable keyset pages; the notional SEN budget is read, locked and
upserted here too. The service turns rows into answers and audits them.
"""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, and_, case, literal, or_, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.core.http import after_cursor, cursor_for
from app.core.scope import pupil_scope
from app.core.security import Principal
from app.funding.repository import REACHED_DO
from app.models import Cycle, EhcRequest, FundingClaim, Pupil, SupportPlan
from app.models.enums import EhcRequestStatus, PlanStatus, SenStatus
from app.models.funding import NotionalSenBudget
from app.rules import period_bounds

# One row of a report: the pupil's PUPIL_COLUMNS and the report's own, read by name.
ReportRow = Row[Any]
# A select of plain rows, whatever their columns.
RowsQuery = Select[*tuple[Any, ...]]

ON_REGISTER = (SenStatus.K.value, SenStatus.E.value)
LIVE_CLAIM_STATUSES = ("submitted", "approved", "partially_approved")

# The lists' keyset order, served by ix_pupils_school_name_order.
NAME_ORDER = (Pupil.last_name, Pupil.first_name, Pupil.id)
# What every report shows of a pupil.
PUPIL_COLUMNS = (
    Pupil.id,
    Pupil.school_id,
    Pupil.upn,
    Pupil.first_name,
    Pupil.last_name,
    Pupil.year_group,
    Pupil.sen_status,
    Pupil.primary_need,
    Pupil.secondary_need,
)


async def _name_ordered(
    session: AsyncSession, query: RowsQuery, limit: int | None, cursor: str | None
) -> tuple[list[ReportRow], str | None]:
    """One keyset page by name (or every row when `limit` is None), and the next cursor."""
    if cursor is not None:
        query = query.where(after_cursor(NAME_ORDER, cursor))
    query = query.order_by(*NAME_ORDER)
    if limit is None:
        return list((await session.execute(query)).all()), None
    rows = list((await session.execute(query.limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, cursor_for(NAME_ORDER, rows[-1])


# --- SEN register -------------------------------------------------------------------------


async def list_register_rows(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    today: date,
    *,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[ReportRow], str | None]:
    """The school's on-roll pupils with sen_status K or E, with the stage and review date of
    their active plan's current cycle (`stage`, `review_date`; None without one). Every row
    when `limit` is None."""
    query = (
        select(*PUPIL_COLUMNS, Cycle.stage, Cycle.review_date)
        .outerjoin(
            SupportPlan,
            and_(
                SupportPlan.pupil_id == Pupil.id,
                SupportPlan.status == PlanStatus.ACTIVE.value,
            ),
        )
        .outerjoin(Cycle, Cycle.id == SupportPlan.current_cycle_id)
        .where(
            Pupil.school_id == school_id,
            Pupil.sen_status.in_(ON_REGISTER),
            or_(Pupil.left_on.is_(None), Pupil.left_on > today),
            pupil_scope(principal),
        )
    )
    return await _name_ordered(session, query, limit, cursor)


# --- Provision costs and the notional SEN budget -------------------------------------------


def _provision_cost_query(principal: Principal, school_id: uuid.UUID, period: str) -> RowsQuery:
    start, end = period_bounds(period)
    # The cost a claim would snapshot (app.funding.service.annual_provision_cost_of), for every
    # pupil at once: the latest cycle that reached `do` in the pupil's most recent plan.
    latest_plan = (
        select(SupportPlan.id.label("plan_id"), SupportPlan.pupil_id)
        .join(Pupil, Pupil.id == SupportPlan.pupil_id)
        .where(Pupil.school_id == school_id)
        .ext(distinct_on(SupportPlan.pupil_id))
        .order_by(
            SupportPlan.pupil_id,
            SupportPlan.opened_on.desc(),
            SupportPlan.created_at.desc(),
            SupportPlan.id.desc(),
        )
        .subquery("latest_plan")
    )
    latest_cost = (
        select(latest_plan.c.pupil_id, Cycle.plan["annual_cost"].astext.label("annual_cost"))
        .select_from(latest_plan)
        .join(Cycle, Cycle.plan_id == latest_plan.c.plan_id)
        .where(Cycle.stage.in_(REACHED_DO))
        .ext(distinct_on(latest_plan.c.pupil_id))
        .order_by(latest_plan.c.pupil_id, Cycle.number.desc())
        .subquery("latest_cost")
    )
    active_during_period = (
        select(SupportPlan.id)
        .where(
            SupportPlan.pupil_id == Pupil.id,
            SupportPlan.opened_on <= end,
            or_(SupportPlan.closed_on.is_(None), SupportPlan.closed_on > start),
        )
        .exists()
    )
    return (
        select(
            *PUPIL_COLUMNS,
            latest_cost.c.annual_cost,
            FundingClaim.id.label("claim_id"),
            FundingClaim.status.label("claim_status"),
            FundingClaim.requested_amount,
            FundingClaim.decided_amount,
        )
        .outerjoin(latest_cost, latest_cost.c.pupil_id == Pupil.id)
        # At most one live claim per pupil and period (uq_funding_claims_one_live_per_period).
        .outerjoin(
            FundingClaim,
            and_(
                FundingClaim.pupil_id == Pupil.id,
                FundingClaim.period == period,
                FundingClaim.status.in_(LIVE_CLAIM_STATUSES),
            ),
        )
        .where(
            Pupil.school_id == school_id,
            pupil_scope(principal),
            or_(Pupil.sen_status == SenStatus.E.value, active_during_period),
            # On roll on some day of the period.
            or_(Pupil.left_on.is_(None), Pupil.left_on >= start),
        )
    )


async def list_provision_cost_rows(
    session: AsyncSession, principal: Principal, school_id: uuid.UUID, period: str
) -> list[ReportRow]:
    """Every pupil of the school on roll during the period with a plan active during it (or
    sen_status E), by name: the annual cost as text (`annual_cost`, None without a costed
    cycle) and the period's live claim, if any (`claim_id`, `claim_status`,
    `requested_amount`, `decided_amount`)."""
    rows, _ = await _name_ordered(
        session, _provision_cost_query(principal, school_id, period), None, None
    )
    return rows


async def get_budget_amount(
    session: AsyncSession, school_id: uuid.UUID, period: str
) -> Decimal | None:
    amount: Decimal | None = await session.scalar(
        select(NotionalSenBudget.amount).where(
            NotionalSenBudget.school_id == school_id, NotionalSenBudget.period == period
        )
    )
    return amount


async def get_notional_budget(
    session: AsyncSession, school_id: uuid.UUID, period: str
) -> NotionalSenBudget | None:
    budget: NotionalSenBudget | None = await session.scalar(
        select(NotionalSenBudget).where(
            NotionalSenBudget.school_id == school_id, NotionalSenBudget.period == period
        )
    )
    return budget


async def lock_notional_budget_version(
    session: AsyncSession, school_id: uuid.UUID, period: str
) -> int | None:
    """The budget's version, its row locked until the transaction ends; None when the school
    has no budget for the period."""
    version: int | None = await session.scalar(
        select(NotionalSenBudget.version)
        .where(NotionalSenBudget.school_id == school_id, NotionalSenBudget.period == period)
        .with_for_update()
    )
    return version


async def upsert_notional_budget(
    session: AsyncSession, school_id: uuid.UUID, period: str, amount: Decimal
) -> NotionalSenBudget:
    """Create the budget at version 1, or replace its amount and bump its version. An upsert:
    two first PUTs racing both succeed, the later one as an update."""
    statement = insert(NotionalSenBudget).values(
        school_id=school_id, period=period, amount=amount, version=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[NotionalSenBudget.school_id, NotionalSenBudget.period],
            set_={
                NotionalSenBudget.amount: statement.excluded.amount,
                NotionalSenBudget.version: NotionalSenBudget.version + 1,
                NotionalSenBudget.updated_at: utcnow(),
            },
        )
    )
    budget = await session.scalar(
        select(NotionalSenBudget)
        .where(NotionalSenBudget.school_id == school_id, NotionalSenBudget.period == period)
        .execution_options(populate_existing=True)
    )
    assert budget is not None
    return budget


# --- Census -------------------------------------------------------------------------------


async def list_census_rows(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    census_date: date,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[ReportRow], str | None]:
    """Every pupil on roll on the date, with its SEN provision code as of that date
    (`sen_provision`): E when an EHC request reached plan_issued on or before it, else K when
    a support plan was active on it, else N."""
    ehc_plan_issued = (
        select(EhcRequest.id)
        .where(
            EhcRequest.pupil_id == Pupil.id,
            EhcRequest.status == EhcRequestStatus.PLAN_ISSUED.value,
            EhcRequest.decided_on <= census_date,
        )
        .exists()
    )
    plan_active = (
        select(SupportPlan.id)
        .where(
            SupportPlan.pupil_id == Pupil.id,
            SupportPlan.opened_on <= census_date,
            or_(SupportPlan.closed_on.is_(None), SupportPlan.closed_on > census_date),
        )
        .exists()
    )
    provision = case(
        (ehc_plan_issued, literal(SenStatus.E.value)),
        (plan_active, literal(SenStatus.K.value)),
        else_=literal(SenStatus.N.value),
    ).label("sen_provision")
    query = select(*PUPIL_COLUMNS, provision).where(
        Pupil.school_id == school_id,
        pupil_scope(principal),
        # A pupil leaving on census day is still on roll that day.
        or_(Pupil.left_on.is_(None), Pupil.left_on >= census_date),
    )
    return await _name_ordered(session, query, limit, cursor)
