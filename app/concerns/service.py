"""Concerns about a pupil's progress or needs, and the school's responses."""

import uuid

from app.concerns import repository
from app.concerns.schemas import ConcernCreate, ConcernUpdate
from app.core.audit import Touched, record_access
from app.core.clock import today_london
from app.core.db import DbSession
from app.core.errors import FieldError, Forbidden, ValidationFailed
from app.core.http import check_if_match
from app.core.scope import get_pupil_in_scope
from app.core.security import Principal, Role
from app.models import Concern, Pupil
from app.models.enums import AuditAction, ConcernRaisedBy, ConcernStatus

CONCERN_RAISERS = (Role.SENCO, Role.TEACHER, Role.PARENT)
CONCERN_READERS = (Role.SENCO, Role.TEACHER, Role.PARENT, Role.PLATFORM_ADMIN, Role.LA_OFFICER)
CONCERN_RESPONDERS = (Role.SENCO, Role.TEACHER)
# A parent speaks for itself or relays its child's concern, never for staff.
PARENT_MAY_RAISE_AS = (ConcernRaisedBy.PARENT, ConcernRaisedBy.PUPIL)


def _touched(concern: Concern, pupil: Pupil) -> Touched:
    return Touched(resource_id=concern.id, pupil_id=pupil.id, school_id=pupil.school_id)


async def raise_concern(
    session: DbSession, principal: Principal, pupil_id: uuid.UUID, data: ConcernCreate
) -> Concern:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*CONCERN_RAISERS)
    if principal.role is Role.PARENT and data.raised_by not in PARENT_MAY_RAISE_AS:
        raise Forbidden("A parent may raise a concern as parent or pupil only")
    raised_on = data.raised_on or today_london()
    if raised_on < pupil.date_of_birth:
        raise ValidationFailed(
            [FieldError(field="raised_on", message="Before the pupil's date of birth")]
        )
    concern = Concern(
        id=uuid.uuid4(),
        pupil_id=pupil.id,
        raised_by=data.raised_by.value,
        raised_on=raised_on,
        description=data.description,
        status=ConcernStatus.OPEN.value,
    )
    await repository.insert_concern(session, concern)
    await record_access(
        session, principal, AuditAction.CREATE, "concern", [_touched(concern, pupil)]
    )
    return concern


async def list_concerns(
    session: DbSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[Concern], str | None]:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*CONCERN_READERS)
    rows, next_cursor = await repository.list_for_pupil(session, pupil.id, limit, cursor)
    await record_access(
        session, principal, AuditAction.READ, "concern", [_touched(c, pupil) for c in rows]
    )
    return rows, next_cursor


async def respond_to_concern(
    session: DbSession,
    principal: Principal,
    concern_id: uuid.UUID,
    data: ConcernUpdate,
    if_match: str | None,
) -> Concern:
    concern, pupil = await repository.get_concern_in_scope(
        session, principal, concern_id, for_update=True
    )
    principal.require(*CONCERN_RESPONDERS)
    check_if_match(if_match, concern.version)
    data.refuse_nulls("description", "response", "responded_on")
    if data.description is not None:
        concern.description = data.description
    if data.response is not None:
        concern.response = data.response
        concern.status = ConcernStatus.RESPONDED.value
        concern.responded_on = data.responded_on or concern.responded_on or today_london()
    elif data.responded_on is not None:
        if concern.response is None:
            raise ValidationFailed(
                [FieldError(field="responded_on", message="Give the response with its date")]
            )
        concern.responded_on = data.responded_on
    if concern.responded_on is not None and concern.responded_on < concern.raised_on:
        raise ValidationFailed(
            [FieldError(field="responded_on", message="Before the concern was raised")]
        )
    await repository.save_concern(session, concern)
    await record_access(
        session, principal, AuditAction.UPDATE, "concern", [_touched(concern, pupil)]
    )
    return concern
