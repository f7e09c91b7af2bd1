"""School use cases. Schools are managed by platform admins; other roles read their own."""

import uuid

from app.core.db import DbSession
from app.core.http import check_if_match
from app.core.schemas import changed_fields
from app.core.scope import get_school_in_scope
from app.core.security import Principal, Role
from app.models import School
from app.schools import repository
from app.schools.schemas import SchoolCreate, SchoolUpdate

# A PATCH may leave out any field, but may clear none that the table requires.
NOT_NULLABLE = tuple(
    name for name in SchoolUpdate.model_fields if name in repository.NOT_NULL_COLUMNS
)


async def create_school(session: DbSession, principal: Principal, data: SchoolCreate) -> School:
    principal.require(Role.PLATFORM_ADMIN)
    await repository.refuse_taken_urn(session, data.urn)
    school = School(
        id=uuid.uuid4(),
        urn=data.urn,
        name=data.name,
        la_code=data.la_code,
        establishment_type=data.establishment_type.value,
    )
    return await repository.insert_school(session, school)


async def read_school(session: DbSession, principal: Principal, school_id: uuid.UUID) -> School:
    return await get_school_in_scope(session, principal, school_id)


async def update_school(
    session: DbSession,
    principal: Principal,
    school_id: uuid.UUID,
    data: SchoolUpdate,
    if_match: str | None,
) -> School:
    school = await get_school_in_scope(session, principal, school_id, for_update=True)
    principal.require(Role.PLATFORM_ADMIN)
    check_if_match(if_match, school.version)
    data.refuse_nulls(*NOT_NULLABLE)
    changes = {
        name: getattr(value, "value", value)
        for name, value in changed_fields(data).items()
        if getattr(school, name) != getattr(value, "value", value)
    }
    for name, value in changes.items():
        setattr(school, name, value)
    if changes:
        await repository.save_school(session, school)
    return school


async def list_schools(
    session: DbSession, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[School], str | None]:
    return await repository.list_in_scope(session, principal, limit, cursor)
