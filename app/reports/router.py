import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from app.core.db import DbSession, Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import (
    API_PREFIX,
    Cursor,
    IfMatch,
    Limit,
    answer_headers,
    prefers_over_json,
    set_etag,
)
from app.core.money import money_text
from app.core.schemas import IsoDate, Page
from app.core.security import CurrentPrincipal, Principal
from app.funding.schemas import Period
from app.models.funding import NotionalSenBudget
from app.reports import service
from app.reports.schemas import (
    SEN_REGISTER_CSV_COLUMNS,
    CensusPage,
    NotionalSenBudgetIn,
    NotionalSenBudgetOut,
    ProvisionCosts,
    SenRegisterItem,
)

router = APIRouter(prefix=API_PREFIX, tags=["reports"], route_class=UnitOfWorkRoute)

CSV = "text/csv"

PeriodPath = Annotated[Period, Path(description="Financial year, e.g. 2026-27")]


def _budget_out(budget: NotionalSenBudget) -> NotionalSenBudgetOut:
    return NotionalSenBudgetOut(
        school_id=budget.school_id,
        period=budget.period,
        amount=money_text(budget.amount),
        version=budget.version,
        created_at=budget.created_at,
        updated_at=budget.updated_at,
    )


async def _register_csv(session: DbSession, principal: Principal, school_id: uuid.UUID) -> Response:
    """The whole register as one CSV file (audited as an export), for both the negotiated path
    and `.csv`."""
    body = await service.sen_register_csv(session, principal, school_id)
    return Response(
        body,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sen-register-{school_id}.csv"'},
    )


@router.get(
    "/schools/{school_id}/sen-register",
    response_model=Page[SenRegisterItem],
    responses={
        **error_responses(403, 404),
        200: {
            "description": "A page of the register. The whole register as one CSV file is its "
            "own operation, `get_sen_register_csv` (GET /v1/schools/{school_id}/sen-register.csv); "
            "`Accept: text/csv` here still answers the CSV, for existing clients"
        },
    },
    summary="The SEN register: on-roll pupils with sen_status K or E; JSON or CSV",
    description=(
        "Pupils on roll (no `left_on`, or one in the future) with `sen_status` `K` or `E`, by "
        "last name, first name and id, with their ranked needs and the stage and review date "
        "of the active plan's current cycle. With `Accept: text/csv` the answer is every row "
        "as CSV (`limit` and `cursor` are ignored), with a header row: "
        + ", ".join(SEN_REGISTER_CSV_COLUMNS)
        + ". A cell that a spreadsheet would read as a formula (starting with =, +, -, @, tab "
        "or carriage return) is prefixed with an apostrophe. For the school's staff, its MIS "
        "integration and platform admins."
    ),
)
async def get_sen_register(
    school_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    if prefers_over_json(accept, CSV):
        return await _register_csv(session, principal, school_id)
    items, next_cursor = await service.sen_register_page(
        session, principal, school_id, limit, cursor
    )
    return Page[SenRegisterItem](items=items, next_cursor=next_cursor)


@router.get(
    "/schools/{school_id}/sen-register.csv",
    response_class=Response,
    responses={
        **error_responses(403, 404),
        200: {
            "description": "The whole register as one CSV file",
            "content": {CSV: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    summary="The SEN register as one CSV file",
    description=(
        "Every row of `get_sen_register` (GET /v1/schools/{school_id}/sen-register), the same "
        "pupils in the same order, as UTF-8 CSV with a header row: "
        + ", ".join(SEN_REGISTER_CSV_COLUMNS)
        + ". A cell that a spreadsheet would read as a formula (starting with =, +, -, @, tab "
        "or carriage return) is prefixed with an apostrophe. Audited as an export of each "
        "pupil's data. For the school's staff, its MIS integration and platform admins."
    ),
)
async def get_sen_register_csv(
    school_id: uuid.UUID, session: Session, principal: CurrentPrincipal
) -> Response:
    return await _register_csv(session, principal, school_id)


@router.get(
    "/schools/{school_id}/provision-costs",
    responses=error_responses(403, 404),
    summary="Per-pupil annual provision cost against the threshold, with the school's totals",
    description=(
        "Every pupil of the school on roll during the financial year with a support plan "
        "active during it, or with an EHC plan: the annual provision cost (the latest cycle "
        "that reached `do` in the pupil's most recent plan, as a top-up claim would snapshot "
        "it), `school_funds` = min(cost, threshold), `top_up_needed` = max(cost - threshold, "
        "0), and the top-up claimed and approved for the period. Totals, and the notional SEN "
        "budget with `budget_remaining` = budget - total school-funded (negative when "
        "overspent). Not paginated: the totals cover every row. SENCO and platform admins."
    ),
)
async def get_provision_costs(
    school_id: uuid.UUID,
    period: Annotated[Period, Query(description="Financial year, e.g. 2026-27")],
    session: Session,
    principal: CurrentPrincipal,
) -> ProvisionCosts:
    return await service.provision_costs(session, principal, school_id, period)


@router.put(
    "/schools/{school_id}/notional-sen-budget/{period}",
    responses=error_responses(403, 404, 412) | answer_headers(200, "ETag"),
    summary="Set the school's notional SEN budget for a financial year (the school's SENCO)",
    description=(
        "Creates or replaces the budget; answers 200 either way, with the new `version` in "
        "the ETag. If-Match is honoured when sent (a stale one, or any before the budget "
        "exists, answers 412). Platform admins read budgets but do not set them."
    ),
)
async def put_notional_sen_budget(
    school_id: uuid.UUID,
    period: PeriodPath,
    body: NotionalSenBudgetIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> NotionalSenBudgetOut:
    budget = await service.set_notional_budget(
        session, principal, school_id, period, Decimal(body.amount), if_match
    )
    set_etag(response, budget.version)
    return _budget_out(budget)


@router.get(
    "/schools/{school_id}/notional-sen-budget/{period}",
    responses=error_responses(403, 404) | answer_headers(200, "ETag"),
    summary="The school's notional SEN budget for a financial year (404 when not set)",
    description=(
        "The school's `senco` and `platform_admin` read the notional SEN budget recorded for a "
        "financial year (`period`, e.g. `2026-27`); 404 when none is set."
    ),
)
async def get_notional_sen_budget(
    school_id: uuid.UUID,
    period: PeriodPath,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> NotionalSenBudgetOut:
    budget = await service.read_notional_budget(session, principal, school_id, period)
    set_etag(response, budget.version)
    return _budget_out(budget)


@router.get(
    "/schools/{school_id}/census",
    responses=error_responses(403, 404),
    summary="SEN provision code and ranked SEN type codes per pupil on a census date",
    description=(
        "Every pupil on roll on the date (no `left_on`, or one on or after it), by last name, "
        "first name and id. `sen_provision` as of that date: `E` when an EHC request reached "
        "`plan_issued` on or before it, else `K` when a support plan was active on it "
        "(opened on or before, not closed on or before), else `N`. `sen_types` ranks the "
        "pupil's current needs (primary 1, secondary 2) for `E` and `K`, and is empty for "
        "`N`. `issues` flags `missing_primary_need` (an `E` or `K` pupil without a primary "
        "need) and `nsa_with_ehc_plan` (NSA is valid only with `K`). Any date may be asked "
        "for, so a return can be checked before census day. For the SENCO, the school's MIS "
        "integration and platform admins."
    ),
)
async def get_census(
    school_id: uuid.UUID,
    census_date: Annotated[IsoDate, Query(alias="date", description="The census date, YYYY-MM-DD")],
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CensusPage:
    return await service.census(session, principal, school_id, census_date, limit, cursor)
