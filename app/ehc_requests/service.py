"""EHC needs assessment requests (SPEC.md §3.5): the school's or family's side and the LA's.

The queries, the caller's scope among them, are in `repository.py`.
"""

import uuid
from datetime import date

from app.core.audit import Touched, record_access
from app.core.clock import today_london
from app.core.db import DbSession
from app.core.departures import checked_departures, departure_records, refuse_unless_allowed
from app.core.errors import (
    Forbidden,
    InvalidTransition,
    RuleViolation,
    RuleViolationItem,
)
from app.core.http import check_if_match
from app.core.outbox import PendingEvent, emit
from app.core.scope import get_pupil_in_scope
from app.core.security import Principal, Role
from app.ehc_requests import repository
from app.ehc_requests.schemas import EhcRequestCreate, EhcRequestOut, EhcTransitionIn
from app.lifecycle.repository import lock_active_plan
from app.lifecycle.service import end_plan, set_sen_status
from app.models import EhcRequest, Pupil
from app.models.enums import (
    AuditAction,
    EhcRequestedBy,
    EhcRequestStatus,
    PlanStatus,
    SenStatus,
)
from app.rules import (
    EhcContext,
    EhcRequestState,
    InvalidMove,
    ehc_due_dates,
    evaluate_ehc_transition,
)

READERS = (Role.SENCO, Role.TEACHER, Role.PARENT, Role.LA_OFFICER, Role.PLATFORM_ADMIN)
FAMILY_OR_SCHOOL_MOVES = frozenset({EhcRequestStatus.SUBMITTED, EhcRequestStatus.WITHDRAWN})
DECIDED = frozenset(
    {
        EhcRequestStatus.ASSESSING,
        EhcRequestStatus.DECLINED,
        EhcRequestStatus.PLAN_ISSUED,
        EhcRequestStatus.PLAN_NOT_ISSUED,
    }
)
SUPERSEDED_BY_EHC_PLAN = "ehc_plan_issued"


def is_overdue(request: EhcRequest, today: date) -> bool:
    """Past the next statutory date; `repository.overdue_condition` says the same in SQL."""
    if request.status == EhcRequestStatus.SUBMITTED.value:
        return request.decision_due_on is not None and request.decision_due_on < today
    if request.status == EhcRequestStatus.ASSESSING.value:
        return request.final_plan_due_on is not None and request.final_plan_due_on < today
    return False


def request_out(request: EhcRequest, today: date) -> EhcRequestOut:
    return EhcRequestOut.model_validate(
        {
            **{c.key: getattr(request, c.key) for c in EhcRequest.__table__.columns},
            "overdue": is_overdue(request, today),
        }
    )


def _touched(request: EhcRequest) -> Touched:
    return Touched(resource_id=request.id, pupil_id=request.pupil_id, school_id=request.school_id)


def request_event(type_: str, request: EhcRequest, pupil: Pupil) -> PendingEvent:
    return PendingEvent(
        type=type_,
        resource="ehc_request",
        resource_id=request.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        # Null until submission: a draft's events never reach an LA's feed (SPEC.md §4).
        la_code=request.la_code,
        data={"upn": pupil.upn, "status": request.status, "requested_by": request.requested_by},
    )


async def create_request(
    session: DbSession, principal: Principal, pupil_id: uuid.UUID, data: EhcRequestCreate
) -> EhcRequest:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(Role.SENCO, Role.PARENT)
    if principal.role is Role.PARENT:
        if data.requested_by not in (None, EhcRequestedBy.PARENT):
            raise Forbidden("A parent's request is always requested_by parent")
        requested_by = EhcRequestedBy.PARENT
    else:
        if data.requested_by is EhcRequestedBy.PARENT:
            raise Forbidden("A parent makes a parent's request with its own token")
        requested_by = data.requested_by or EhcRequestedBy.SCHOOL
    request = add_draft_request(session, pupil, requested_by, data.reason)
    await repository.save_request(session, request)
    await record_access(session, principal, AuditAction.CREATE, "ehc_request", [_touched(request)])
    return request


def add_draft_request(
    session: DbSession, pupil: Pupil, requested_by: EhcRequestedBy, reason: str | None
) -> EhcRequest:
    """A new draft request for the pupil, with its `ehc_request.created` event: the one way a
    request comes to be, whether asked for directly or decided at a review."""
    request = EhcRequest(
        id=uuid.uuid4(),
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        requested_by=requested_by.value,
        status=EhcRequestStatus.DRAFT.value,
        reason=reason,
        departures=[],
    )
    repository.add_request(session, request)
    emit(session, request_event("ehc_request.created", request, pupil))
    return request


async def read_request(
    session: DbSession, principal: Principal, request_id: uuid.UUID
) -> EhcRequest:
    request, _ = await repository.get_request_in_scope(session, principal, request_id)
    principal.require(*READERS)
    await record_access(session, principal, AuditAction.READ, "ehc_request", [_touched(request)])
    return request


async def list_requests(
    session: DbSession,
    principal: Principal,
    *,
    la_code: str | None,
    status: EhcRequestStatus | None,
    overdue: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[EhcRequest], str | None]:
    principal.require(*READERS)
    rows, next_cursor = await repository.request_page(
        session,
        principal,
        la_code=la_code,
        status=status,
        overdue=overdue,
        today=today_london(),
        limit=limit,
        cursor=cursor,
    )
    await record_access(session, principal, AuditAction.READ, "ehc_request", map(_touched, rows))
    return rows, next_cursor


async def _context(session: DbSession, request: EhcRequest) -> EhcContext:
    return EhcContext(
        completed_cycle_count=await repository.completed_cycle_count(session, request.pupil_id),
        other_request_statuses=await repository.other_request_statuses(session, request),
    )


def _check_mover(principal: Principal, request: EhcRequest, to: EhcRequestStatus) -> None:
    """Families and schools submit and withdraw; only the request's LA decides."""
    if to in DECIDED:
        if principal.role is not Role.LA_OFFICER or principal.la_code != request.la_code:
            raise Forbidden("Only an officer of the request's LA decides it")
        return
    # A parent's request is the parent's statutory right (Children and Families Act 2014
    # s.36(1)): the school cannot submit or withdraw it, nor a parent the school's.
    by_parent = request.requested_by == EhcRequestedBy.PARENT.value
    if principal.role is Role.PARENT and by_parent:
        return
    if principal.role is Role.SENCO and not by_parent:
        return
    raise Forbidden(
        "A parent's request is submitted or withdrawn only by the parent, "
        "a school's or young person's only by the school's SENCO"
    )


async def transition_request(
    session: DbSession,
    principal: Principal,
    request_id: uuid.UUID,
    body: EhcTransitionIn,
    if_match: str | None,
) -> EhcRequest:
    departures = checked_departures(body.departures)
    request, pupil = await repository.get_request_in_scope(
        session, principal, request_id, for_update=True
    )
    principal.require(Role.SENCO, Role.PARENT, Role.LA_OFFICER)
    _check_mover(principal, request, body.to)
    check_if_match(if_match, request.version)
    # Serialise with the pupil's other requests: ehc.single_open_request reads them.
    await repository.lock_pupil(session, pupil.id)
    try:
        evaluation = evaluate_ehc_transition(
            EhcRequestState(status=request.status, requested_by=request.requested_by),
            body.to.value,
            await _context(session, request),
            departures,
        )
    except InvalidMove:
        raise InvalidTransition(
            [], f"An EHC request cannot move from {request.status} to {body.to.value}"
        ) from None
    refuse_unless_allowed(evaluation)

    today = today_london()
    request.status = body.to.value
    request.departures = [*request.departures, *departure_records(evaluation, principal)]
    if body.to is EhcRequestStatus.SUBMITTED:
        due = ehc_due_dates(today)
        request.la_code = pupil.home_la_code
        request.submitted_on = today
        request.decision_due_on = due.decision_due_on
        request.issue_decision_due_on = due.issue_decision_due_on
        request.final_plan_due_on = due.final_plan_due_on
    if body.note is not None:
        request.decision_note = body.note
    if body.to in DECIDED:
        request.decided_on = today
    if body.to is EhcRequestStatus.PLAN_ISSUED:
        await _issue_plan(session, pupil)
    if not await repository.save_moved_request(session, request):
        # The database holds ehc.single_open_request too, whatever the check above saw.
        raise RuleViolation(
            [
                RuleViolationItem(
                    rule="ehc.single_open_request",
                    severity="must",
                    message="Another request for this pupil is already with the LA",
                )
            ]
        )
    await record_access(
        session, principal, AuditAction.TRANSITION, "ehc_request", [_touched(request)]
    )
    emit(session, request_event(f"ehc_request.{request.status}", request, pupil))
    return request


async def _issue_plan(session: DbSession, pupil: Pupil) -> None:
    """An EHC plan replaces SEN support: the pupil becomes E, the active plan is superseded."""
    plan = await lock_active_plan(session, pupil.id)
    set_sen_status(session, pupil, SenStatus.E)
    if plan is not None:
        end_plan(session, plan, pupil, PlanStatus.SUPERSEDED, SUPERSEDED_BY_EHC_PLAN)
