"""School reports (issue 5): the SEN register, provision costs against the threshold and the
notional SEN budget, and the census return.

Each report is a fixed number of statements whatever the number of pupils: the scope check,
the report's own query (for provision costs, also the threshold and the budget) and one
INSERT of its audit entries (one per pupil returned).
"""

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, and_, case, literal, or_, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Touched, record_access
from app.core.clock import today_london, utcnow
from app.core.errors import NotFound, StaleVersion
from app.core.http import after_cursor, check_if_match, cursor_for
from app.core.money import money_text
from app.core.scope import get_school_in_scope, pupil_scope
from app.core.security import Principal, Role
from app.funding.repository import REACHED_DO
from app.funding.service import threshold_for
from app.models import Cycle, EhcRequest, FundingClaim, Pupil, SupportPlan
from app.models.enums import AuditAction, EhcRequestStatus, PlanStatus, SenStatus, SenType, Stage
from app.models.funding import NotionalSenBudget
from app.reports.schemas import (
    SEN_REGISTER_CSV_COLUMNS,
    CensusIssue,
    CensusItem,
    CensusPage,
    ProvisionCostItem,
    ProvisionCosts,
    ProvisionCostTotals,
    RankedNeed,
    SenRegisterItem,
)
from app.rules import period_bounds

REGISTER_READERS = (Role.SENCO, Role.TEACHER, Role.MIS_INTEGRATION, Role.PLATFORM_ADMIN)
CENSUS_READERS = (Role.SENCO, Role.MIS_INTEGRATION, Role.PLATFORM_ADMIN)
FINANCE_READERS = (Role.SENCO, Role.PLATFORM_ADMIN)
BUDGET_WRITERS = (Role.SENCO,)

ON_REGISTER = (SenStatus.K.value, SenStatus.E.value)
LIVE_CLAIM_STATUSES = ("submitted", "approved", "partially_approved")
DECIDED_CLAIM_STATUSES = ("approved", "partially_approved")
ZERO = Decimal("0.00")

# A select of plain rows, whatever their columns.
RowsQuery = Select[*tuple[Any, ...]]

# The lists' keyset order, served by ix_pupils_school_name_order.
NAME_ORDER = (Pupil.last_name, Pupil.first_name, Pupil.id)
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

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def ranked_needs(primary: str | None, secondary: str | None) -> list[RankedNeed]:
    return [
        RankedNeed(rank=rank, code=SenType(code))
        for rank, code in ((1, primary), (2, secondary))
        if code is not None
    ]


def _touched(rows: Iterable[Row[Any]], school_id: uuid.UUID) -> list[Touched]:
    return [Touched(resource_id=row.id, pupil_id=row.id, school_id=school_id) for row in rows]


async def _name_ordered(
    session: AsyncSession, query: RowsQuery, limit: int | None, cursor: str | None
) -> tuple[list[Row[Any]], str | None]:
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


def _register_query(principal: Principal, school_id: uuid.UUID, today: date) -> RowsQuery:
    return (
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


def _register_item(row: Row[Any]) -> SenRegisterItem:
    return SenRegisterItem(
        pupil_id=row.id,
        upn=row.upn,
        first_name=row.first_name,
        last_name=row.last_name,
        year_group=row.year_group,
        sen_status=row.sen_status,
        primary_need=row.primary_need,
        secondary_need=row.secondary_need,
        needs=ranked_needs(row.primary_need, row.secondary_need),
        current_stage=None if row.stage is None else Stage(row.stage),
        next_review_date=row.review_date,
    )


async def _register(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    action: AuditAction,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[SenRegisterItem], str | None]:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*REGISTER_READERS)
    query = _register_query(principal, school.id, today_london())
    rows, next_cursor = await _name_ordered(session, query, limit, cursor)
    await record_access(session, principal, action, "sen_register", _touched(rows, school.id))
    return [_register_item(row) for row in rows], next_cursor


async def sen_register_page(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[SenRegisterItem], str | None]:
    """On-roll pupils with sen_status K or E, by last name, first name and id."""
    return await _register(session, principal, school_id, AuditAction.READ, limit, cursor)


async def sen_register_csv(
    session: AsyncSession, principal: Principal, school_id: uuid.UUID
) -> str:
    """The whole register as CSV (audited as an export of each pupil's data)."""
    items, _ = await _register(session, principal, school_id, AuditAction.EXPORT, None, None)
    return register_csv(items)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading
    apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def register_csv(items: Sequence[SenRegisterItem]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(SEN_REGISTER_CSV_COLUMNS)
    for item in items:
        values = item.model_dump(mode="json")
        writer.writerow([safe_cell(values[column]) for column in SEN_REGISTER_CSV_COLUMNS])
    return buffer.getvalue()


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


def _money_or_none(amount: Decimal | None) -> str | None:
    return None if amount is None else money_text(amount)


async def _budget_amount(
    session: AsyncSession, school_id: uuid.UUID, period: str
) -> Decimal | None:
    amount: Decimal | None = await session.scalar(
        select(NotionalSenBudget.amount).where(
            NotionalSenBudget.school_id == school_id, NotionalSenBudget.period == period
        )
    )
    return amount


async def provision_costs(
    session: AsyncSession, principal: Principal, school_id: uuid.UUID, period: str
) -> ProvisionCosts:
    """Per pupil with a plan active during the period (or an EHC plan): the annual cost, the
    part the school funds up to the threshold and the top-up above it; with the school's
    totals against its notional SEN budget. Exact decimals throughout."""
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*FINANCE_READERS)
    threshold = await threshold_for(session, period)
    budget = await _budget_amount(session, school.id, period)
    rows, _ = await _name_ordered(
        session, _provision_cost_query(principal, school.id, period), None, None
    )
    await record_access(
        session, principal, AuditAction.READ, "provision_costs", _touched(rows, school.id)
    )

    items: list[ProvisionCostItem] = []
    cost_total = funded_total = needed_total = claimed_total = approved_total = ZERO
    for row in rows:
        cost = Decimal(row.annual_cost) if row.annual_cost is not None else ZERO
        funded = min(cost, threshold)
        needed = max(cost - threshold, ZERO)
        approved = row.decided_amount if row.claim_status in DECIDED_CLAIM_STATUSES else None
        cost_total += cost
        funded_total += funded
        needed_total += needed
        claimed_total += row.requested_amount or ZERO
        approved_total += approved or ZERO
        items.append(
            ProvisionCostItem(
                pupil_id=row.id,
                upn=row.upn,
                first_name=row.first_name,
                last_name=row.last_name,
                year_group=row.year_group,
                sen_status=row.sen_status,
                annual_provision_cost=money_text(cost),
                school_funds=money_text(funded),
                top_up_needed=money_text(needed),
                claim_id=row.claim_id,
                claim_status=row.claim_status,
                top_up_claimed=_money_or_none(row.requested_amount),
                top_up_approved=_money_or_none(approved),
            )
        )
    return ProvisionCosts(
        school_id=school.id,
        period=period,
        threshold=money_text(threshold),
        items=items,
        totals=ProvisionCostTotals(
            annual_provision_cost=money_text(cost_total),
            school_funds=money_text(funded_total),
            top_up_needed=money_text(needed_total),
            top_up_claimed=money_text(claimed_total),
            top_up_approved=money_text(approved_total),
        ),
        notional_sen_budget=_money_or_none(budget),
        budget_remaining=None if budget is None else money_text(budget - funded_total),
    )


async def read_notional_budget(
    session: AsyncSession, principal: Principal, school_id: uuid.UUID, period: str
) -> NotionalSenBudget:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*FINANCE_READERS)
    budget = await session.scalar(
        select(NotionalSenBudget).where(
            NotionalSenBudget.school_id == school.id, NotionalSenBudget.period == period
        )
    )
    if budget is None:
        raise NotFound(f"No notional SEN budget is set for {period}")
    return budget


async def set_notional_budget(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    period: str,
    amount: Decimal,
    if_match: str | None,
) -> NotionalSenBudget:
    """Create or replace the budget (the school's SENCO only). If-Match, when sent, must name
    the current version; there is none to match before the first PUT."""
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*BUDGET_WRITERS)
    current = await session.scalar(
        select(NotionalSenBudget.version)
        .where(NotionalSenBudget.school_id == school.id, NotionalSenBudget.period == period)
        .with_for_update()
    )
    if current is None:
        if if_match is not None:
            raise StaleVersion(f"No notional SEN budget is set for {period} yet")
    else:
        check_if_match(if_match, current)
    # An upsert: two first PUTs racing both succeed, the later one as an update.
    statement = insert(NotionalSenBudget).values(
        school_id=school.id, period=period, amount=amount, version=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[NotionalSenBudget.school_id, NotionalSenBudget.period],
            set_={
                "amount": statement.excluded.amount,
                "version": NotionalSenBudget.version + 1,
                "updated_at": utcnow(),
            },
        )
    )
    budget = await session.scalar(
        select(NotionalSenBudget)
        .where(NotionalSenBudget.school_id == school.id, NotionalSenBudget.period == period)
        .execution_options(populate_existing=True)
    )
    assert budget is not None
    return budget


# --- Census -------------------------------------------------------------------------------


def _census_query(principal: Principal, school_id: uuid.UUID, census_date: date) -> RowsQuery:
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
    return select(*PUPIL_COLUMNS, provision).where(
        Pupil.school_id == school_id,
        pupil_scope(principal),
        # A pupil leaving on census day is still on roll that day.
        or_(Pupil.left_on.is_(None), Pupil.left_on >= census_date),
    )


def census_issues(provision: str, primary: str | None, secondary: str | None) -> list[CensusIssue]:
    """What the DfE checks would query (DOMAIN.md §2.1-§2.2): an E or K pupil needs a primary
    SEN type, and NSA is valid only with K."""
    if provision == SenStatus.N.value:
        return []
    issues = []
    if primary is None:
        issues.append(CensusIssue.MISSING_PRIMARY_NEED)
    if provision == SenStatus.E.value and SenType.NSA.value in (primary, secondary):
        issues.append(CensusIssue.NSA_WITH_EHC_PLAN)
    return issues


def _census_item(row: Row[Any]) -> CensusItem:
    supported = row.sen_provision != SenStatus.N.value
    return CensusItem(
        pupil_id=row.id,
        upn=row.upn,
        first_name=row.first_name,
        last_name=row.last_name,
        year_group=row.year_group,
        sen_provision=row.sen_provision,
        sen_types=ranked_needs(row.primary_need, row.secondary_need) if supported else [],
        issues=census_issues(row.sen_provision, row.primary_need, row.secondary_need),
    )


async def census(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    census_date: date,
    limit: int,
    cursor: str | None,
) -> CensusPage:
    """Every pupil on roll on the date, with the SEN provision code as of that date."""
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*CENSUS_READERS)
    rows, next_cursor = await _name_ordered(
        session, _census_query(principal, school.id, census_date), limit, cursor
    )
    await record_access(session, principal, AuditAction.READ, "census", _touched(rows, school.id))
    return CensusPage(
        census_date=census_date, items=[_census_item(row) for row in rows], next_cursor=next_cursor
    )
