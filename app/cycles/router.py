import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.core.clock import today_london
from app.core.db import Session, UnitOfWorkRoute
from app.core.departures import violation_items
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, answer_headers, set_etag
from app.core.schemas import Page
from app.core.security import CurrentPrincipal
from app.cycles import logs, records, service, transitions
from app.cycles.schemas import (
    AssessmentRecord,
    ChecksOut,
    CycleOut,
    DeliveryLogIn,
    DeliveryLogOut,
    PlanRecordIn,
    ReviewRecord,
    TransitionIn,
    ViewIn,
    cycle_out,
)
from app.models import Cycle
from app.models.enums import Stage

router = APIRouter(prefix=API_PREFIX, tags=["cycles"], route_class=UnitOfWorkRoute)

RECORD_RESPONSES = error_responses(403, 404, 409, 412) | answer_headers(200, "ETag")


def answer(cycle: Cycle, response: Response) -> CycleOut:
    set_etag(response, cycle.version)
    return cycle_out(cycle, today_london())


@router.get(
    "/support-plans/{plan_id}/cycles",
    responses=error_responses(403, 404),
    summary="List a plan's cycles by number",
    description=(
        "The plan's Assess-Plan-Do-Review cycles by number, for callers whose scope includes the "
        "pupil and whose role may read plans (`mis_integration` is 403). Out of scope is 404."
    ),
)
async def list_cycles(
    plan_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[CycleOut]:
    cycles, next_cursor = await service.list_cycles(session, principal, plan_id, limit, cursor)
    today = today_london()
    return Page[CycleOut](items=[cycle_out(c, today) for c in cycles], next_cursor=next_cursor)


@router.get(
    "/cycles/{cycle_id}",
    responses=error_responses(403, 404) | answer_headers(200, "ETag"),
    summary="Read a cycle",
    description=(
        "One Assess-Plan-Do-Review cycle with its stage and records, for callers whose scope "
        "includes the pupil and whose role may read plans (`mis_integration` is 403). Out of scope "
        "is 404."
    ),
)
async def get_cycle(
    cycle_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> CycleOut:
    return answer(await service.read_cycle(session, principal, cycle_id), response)


@router.put(
    "/cycles/{cycle_id}/assessment",
    responses=RECORD_RESPONSES,
    summary="Replace the assessment (only in assess)",
    description=(
        "School staff (`senco`, `teacher`) replace the cycle's assessment while the cycle is in "
        "`assess` (409 otherwise). Send the cycle's `ETag` in `If-Match` (412 when stale)."
    ),
)
async def put_assessment(
    cycle_id: uuid.UUID,
    body: AssessmentRecord,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> CycleOut:
    cycle = await records.put_assessment(session, principal, cycle_id, body, if_match)
    return answer(cycle, response)


@router.put(
    "/cycles/{cycle_id}/plan",
    responses=RECORD_RESPONSES,
    summary="Replace the plan (only in plan)",
    description=(
        "Outcomes and provisions sent with an existing `id` keep it, those without one get a "
        "new id, an unknown id is 422, and those left out are removed. Each provision's "
        "`annual_cost` is computed by the service."
    ),
)
async def put_plan(
    cycle_id: uuid.UUID,
    body: PlanRecordIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> CycleOut:
    return answer(await records.put_plan(session, principal, cycle_id, body, if_match), response)


@router.put(
    "/cycles/{cycle_id}/review",
    responses=RECORD_RESPONSES,
    summary="Replace the review (only in review)",
    description=(
        "The school's `senco` replaces the cycle's review record while the cycle is in `review` "
        "(409 otherwise). Send the cycle's `ETag` in `If-Match` (412 when stale)."
    ),
)
async def put_review(
    cycle_id: uuid.UUID,
    body: ReviewRecord,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> CycleOut:
    cycle = await records.put_review(session, principal, cycle_id, body, if_match)
    return answer(cycle, response)


@router.post(
    "/cycles/{cycle_id}/views",
    responses=error_responses(403, 404, 409) | answer_headers(200, "ETag"),
    summary="Record the views of a parent or the pupil in the current stage",
    description=(
        "In assess and review the text is added to the stage record's `parent_views` or "
        "`pupil_views`; in plan it records the consultation (`parents_consulted_on` or "
        "`pupil_consulted_on` becomes today). Every view is kept in `views_log`. In do and "
        "complete: 409 `stage_locked`."
    ),
)
async def add_view(
    cycle_id: uuid.UUID,
    body: ViewIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> CycleOut:
    return answer(await logs.add_view(session, principal, cycle_id, body), response)


@router.post(
    "/cycles/{cycle_id}/delivery-logs",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 404, 409),
    summary="Record a delivered session (only in do)",
    description=(
        "School staff (`senco`, `teacher`) record a delivered session while the cycle is in `do` "
        "(409 otherwise). Answers 201 with the log."
    ),
)
async def add_delivery_log(
    cycle_id: uuid.UUID, body: DeliveryLogIn, session: Session, principal: CurrentPrincipal
) -> DeliveryLogOut:
    log = await logs.add_delivery_log(session, principal, cycle_id, body)
    return DeliveryLogOut.model_validate(log, from_attributes=True)


@router.get(
    "/cycles/{cycle_id}/delivery-logs",
    responses=error_responses(403, 404),
    summary="List a cycle's delivery logs by date",
    description=(
        "The cycle's delivered sessions by date, for callers whose scope includes the pupil and "
        "whose role may read plans (`mis_integration` is 403). Out of scope is 404."
    ),
)
async def list_delivery_logs(
    cycle_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryLogOut]:
    delivery_logs, next_cursor = await logs.list_delivery_logs(
        session, principal, cycle_id, limit, cursor
    )
    return Page[DeliveryLogOut](
        items=[DeliveryLogOut.model_validate(log, from_attributes=True) for log in delivery_logs],
        next_cursor=next_cursor,
    )


@router.get(
    "/cycles/{cycle_id}/checks",
    responses=error_responses(403, 404, 409),
    summary="Dry-run the rules of a transition",
    description="Answers as the transition would: 409 `conflict` for a closed plan's cycle.",
)
async def check_cycle_transition(
    cycle_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    to: Annotated[Stage, Query(description="The stage to check a move to")],
) -> ChecksOut:
    evaluation = await transitions.check_transition(session, principal, cycle_id, to)
    return ChecksOut(to=to, allowed=evaluation.allowed, violations=violation_items(evaluation))


@router.post(
    "/cycles/{cycle_id}/transitions",
    responses=error_responses(403, 404, 409, 412) | answer_headers(200, "ETag"),
    summary="Move a cycle to its next stage",
    description=(
        "Refused with 409 `rule_violation` listing every rule in the way, or "
        "`invalid_transition` for anything but the next stage. Should-rules pass with a "
        "departure (`{rule, reason}`, reason of 10 characters or more), which is stored on the "
        "cycle. Completing a cycle applies its review's decision."
    ),
)
async def transition_cycle(
    cycle_id: uuid.UUID,
    body: TransitionIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> CycleOut:
    cycle = await transitions.transition_cycle(session, principal, cycle_id, body, if_match)
    return answer(cycle, response)
