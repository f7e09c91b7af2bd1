"""School reports (issue 5): the SEN register, provision costs against the threshold and the
notional SEN budget, and the census return.

Each report is a fixed number of statements whatever the number of pupils: the scope check,
the report's own query (for provision costs, also the threshold and the budget) and one
INSERT of its audit entries (one per pupil returned). The statements are in `repository.py`;
this module checks who may read, computes the money and shapes the answers.
"""

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from app.core.audit import Touched, record_access
from app.core.clock import today_london
from app.core.db import DbSession
from app.core.errors import NotFound, StaleVersion
from app.core.http import check_if_match
from app.core.money import money_text
from app.core.scope import get_school_in_scope
from app.core.security import Principal, Role
from app.funding.service import threshold_for
from app.models.enums import AuditAction, SenStatus, SenType, Stage
from app.models.funding import NotionalSenBudget
from app.reports import repository
from app.reports.repository import ReportRow
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

REGISTER_READERS = (Role.SENCO, Role.TEACHER, Role.MIS_INTEGRATION, Role.PLATFORM_ADMIN)
CENSUS_READERS = (Role.SENCO, Role.MIS_INTEGRATION, Role.PLATFORM_ADMIN)
FINANCE_READERS = (Role.SENCO, Role.PLATFORM_ADMIN)
BUDGET_WRITERS = (Role.SENCO,)

DECIDED_CLAIM_STATUSES = ("approved", "partially_approved")
ZERO = Decimal("0.00")

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def ranked_needs(primary: str | None, secondary: str | None) -> list[RankedNeed]:
    return [
        RankedNeed(rank=rank, code=SenType(code))
        for rank, code in ((1, primary), (2, secondary))
        if code is not None
    ]


def _touched(rows: Iterable[ReportRow], school_id: uuid.UUID) -> list[Touched]:
    return [Touched(resource_id=row.id, pupil_id=row.id, school_id=school_id) for row in rows]


# --- SEN register -------------------------------------------------------------------------


def _register_item(row: ReportRow) -> SenRegisterItem:
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
    session: DbSession,
    principal: Principal,
    school_id: uuid.UUID,
    action: AuditAction,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[SenRegisterItem], str | None]:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*REGISTER_READERS)
    rows, next_cursor = await repository.list_register_rows(
        session, principal, school.id, today_london(), limit=limit, cursor=cursor
    )
    await record_access(session, principal, action, "sen_register", _touched(rows, school.id))
    return [_register_item(row) for row in rows], next_cursor


async def sen_register_page(
    session: DbSession,
    principal: Principal,
    school_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[SenRegisterItem], str | None]:
    """On-roll pupils with sen_status K or E, by last name, first name and id."""
    return await _register(session, principal, school_id, AuditAction.READ, limit, cursor)


async def sen_register_csv(session: DbSession, principal: Principal, school_id: uuid.UUID) -> str:
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


def _money_or_none(amount: Decimal | None) -> str | None:
    return None if amount is None else money_text(amount)


async def provision_costs(
    session: DbSession, principal: Principal, school_id: uuid.UUID, period: str
) -> ProvisionCosts:
    """Per pupil with a plan active during the period (or an EHC plan): the annual cost, the
    part the school funds up to the threshold and the top-up above it; with the school's
    totals against its notional SEN budget. Exact decimals throughout."""
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*FINANCE_READERS)
    threshold = await threshold_for(session, period)
    budget = await repository.get_budget_amount(session, school.id, period)
    rows = await repository.list_provision_cost_rows(session, principal, school.id, period)
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
    session: DbSession, principal: Principal, school_id: uuid.UUID, period: str
) -> NotionalSenBudget:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*FINANCE_READERS)
    budget = await repository.get_notional_budget(session, school.id, period)
    if budget is None:
        raise NotFound(f"No notional SEN budget is set for {period}")
    return budget


async def set_notional_budget(
    session: DbSession,
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
    current = await repository.lock_notional_budget_version(session, school.id, period)
    if current is None:
        if if_match is not None:
            raise StaleVersion(f"No notional SEN budget is set for {period} yet")
    else:
        check_if_match(if_match, current)
    return await repository.upsert_notional_budget(session, school.id, period, amount)


# --- Census -------------------------------------------------------------------------------


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


def _census_item(row: ReportRow) -> CensusItem:
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
    session: DbSession,
    principal: Principal,
    school_id: uuid.UUID,
    census_date: date,
    limit: int,
    cursor: str | None,
) -> CensusPage:
    """Every pupil on roll on the date, with the SEN provision code as of that date."""
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*CENSUS_READERS)
    rows, next_cursor = await repository.list_census_rows(
        session, principal, school.id, census_date, limit=limit, cursor=cursor
    )
    await record_access(session, principal, AuditAction.READ, "census", _touched(rows, school.id))
    return CensusPage(
        census_date=census_date, items=[_census_item(row) for row in rows], next_cursor=next_cursor
    )
