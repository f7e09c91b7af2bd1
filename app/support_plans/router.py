import uuid

from fastapi import APIRouter, Response, status

from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, answer_headers, set_etag
from app.core.schemas import Page
from app.core.security import CurrentPrincipal
from app.support_plans import service
from app.support_plans.schemas import SupportPlanClose, SupportPlanOpen, SupportPlanOut

router = APIRouter(prefix=API_PREFIX, tags=["support plans"], route_class=UnitOfWorkRoute)


@router.post(
    "/pupils/{pupil_id}/support-plans",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404, 409) | answer_headers(201, "ETag", "Location"),
    summary="Open a support plan (creates cycle 1 at assess)",
    description="409 `active_plan_exists` while the pupil has an active plan.",
)
async def open_support_plan(
    pupil_id: uuid.UUID,
    body: SupportPlanOpen,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> SupportPlanOut:
    plan = await service.open_support_plan(session, principal, pupil_id, body)
    set_etag(response, plan.version)
    response.headers["Location"] = f"/v1/support-plans/{plan.id}"
    return SupportPlanOut.model_validate(plan)


@router.get(
    "/pupils/{pupil_id}/support-plans",
    responses=error_responses(403, 404),
    summary="List a pupil's support plans, oldest first",
    description=(
        "The pupil's support plans, oldest first, for callers whose scope includes the pupil and "
        "whose role may read plans (`mis_integration` is 403). Out of scope is 404."
    ),
)
async def list_support_plans(
    pupil_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SupportPlanOut]:
    plans, next_cursor = await service.list_support_plans(
        session, principal, pupil_id, limit, cursor
    )
    return Page[SupportPlanOut](
        items=[SupportPlanOut.model_validate(p) for p in plans], next_cursor=next_cursor
    )


@router.get(
    "/support-plans/{plan_id}",
    responses=error_responses(403, 404) | answer_headers(200, "ETag"),
    summary="Read a support plan",
    description=(
        "A support plan, for callers whose scope includes the pupil and whose role may read plans "
        "(`mis_integration` is 403). Out of scope is 404."
    ),
)
async def get_support_plan(
    plan_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> SupportPlanOut:
    plan = await service.read_support_plan(session, principal, plan_id)
    set_etag(response, plan.version)
    return SupportPlanOut.model_validate(plan)


@router.post(
    "/support-plans/{plan_id}/close",
    responses=error_responses(403, 404, 409, 412) | answer_headers(200, "ETag"),
    summary="Close a support plan early",
    description=(
        "Ends SEN support with a free-text `close_reason`; `sen_status` returns to N unless the "
        "pupil has an EHC plan. The service itself closes plans with `review_decision` and "
        "`left_school`."
    ),
)
async def close_support_plan(
    plan_id: uuid.UUID,
    body: SupportPlanClose,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> SupportPlanOut:
    plan = await service.close_support_plan(
        session, principal, plan_id, body.close_reason, if_match
    )
    set_etag(response, plan.version)
    return SupportPlanOut.model_validate(plan)
