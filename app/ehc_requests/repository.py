"""Every query of the EHC request service: requests in the caller's scope, the LA caseload list,
and what the EHC rules read about the pupil's other records."""

import uuid
from datetime import date

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError

from app.core.db import DbSession
from app.core.http import keyset_page
from app.core.scope import get_with_pupil
from app.core.security import Principal, Role
from app.models import Cycle, EhcRequest, Pupil
from app.models.enums import EhcRequestStatus, Stage


def request_scope(principal: Principal) -> ColumnElement[bool]:
    """The requests a caller may see. An LA sees its submitted requests only: `la_code` is set
    on submission, so drafts (and drafts withdrawn unsubmitted) never show."""
    match principal.role:
        case Role.PLATFORM_ADMIN:
            return true()
        case Role.SENCO | Role.TEACHER | Role.MIS_INTEGRATION:
            return EhcRequest.school_id == principal.school_id
        case Role.PARENT:
            if not principal.pupil_ids:
                return false()
            return EhcRequest.pupil_id.in_(principal.pupil_ids)
        case Role.LA_OFFICER:
            return EhcRequest.la_code == principal.la_code
    return false()


def overdue_condition(today: date) -> ColumnElement[bool]:
    """`is_overdue` of the service, in SQL."""
    return or_(
        and_(
            EhcRequest.status == EhcRequestStatus.SUBMITTED.value,
            EhcRequest.decision_due_on < today,
        ),
        and_(
            EhcRequest.status == EhcRequestStatus.ASSESSING.value,
            EhcRequest.final_plan_due_on < today,
        ),
    )


async def get_request_in_scope(
    session: DbSession, principal: Principal, request_id: uuid.UUID, *, for_update: bool = False
) -> tuple[EhcRequest, Pupil]:
    """The request and its pupil in one statement; 404 when out of the caller's scope.
    `for_update` locks the request row only."""
    return await get_with_pupil(
        session,
        EhcRequest,
        request_id,
        request_scope(principal),
        what="EHC request",
        for_update=for_update,
    )


async def request_page(
    session: DbSession,
    principal: Principal,
    *,
    la_code: str | None,
    status: EhcRequestStatus | None,
    overdue: bool | None,
    today: date,
    limit: int,
    cursor: str | None,
) -> tuple[list[EhcRequest], str | None]:
    """A page of the requests in scope, oldest first, narrowed by the filters that are set
    (`overdue` as of `today`)."""
    query = select(EhcRequest).where(request_scope(principal))
    if la_code is not None:
        query = query.where(EhcRequest.la_code == la_code)
    if status is not None:
        query = query.where(EhcRequest.status == status.value)
    if overdue is not None:
        condition = overdue_condition(today)
        query = query.where(condition if overdue else ~condition)
    return await keyset_page(session, query, (EhcRequest.created_at, EhcRequest.id), limit, cursor)


def add_request(session: DbSession, request: EhcRequest) -> None:
    """A new request, written with the next flush."""
    session.add(request)


async def save_request(session: DbSession, request: EhcRequest) -> None:
    """Writes the pending changes and reloads the request: its version is the database's."""
    await session.flush()
    await session.refresh(request)


async def save_moved_request(session: DbSession, request: EhcRequest) -> bool:
    """`save_request` for a request that has changed status. False when the database refused
    it as a second open request of the pupil (the partial unique index that holds
    ehc.single_open_request when two moves race); the transaction is then unusable, and the
    caller must raise."""
    try:
        await session.flush()
    except IntegrityError as error:
        if "uq_ehc_requests_one_open_per_pupil" in str(error.orig):
            return False
        raise
    await session.refresh(request)
    return True


async def lock_pupil(session: DbSession, pupil_id: uuid.UUID) -> None:
    """Locks the pupil's row until the end of the transaction: moves of the pupil's requests
    wait for each other, so each reads the others' statuses as they are."""
    await session.execute(select(Pupil.id).where(Pupil.id == pupil_id).with_for_update())


async def completed_cycle_count(session: DbSession, pupil_id: uuid.UUID) -> int:
    """The pupil's completed cycles across all its plans."""
    count = await session.scalar(
        select(func.count())
        .select_from(Cycle)
        .where(Cycle.pupil_id == pupil_id, Cycle.stage == Stage.COMPLETE.value)
    )
    return int(count or 0)


async def other_request_statuses(session: DbSession, request: EhcRequest) -> tuple[str, ...]:
    """The statuses of the pupil's requests other than `request`."""
    statuses = await session.scalars(
        select(EhcRequest.status).where(
            EhcRequest.pupil_id == request.pupil_id, EhcRequest.id != request.id
        )
    )
    return tuple(statuses)
