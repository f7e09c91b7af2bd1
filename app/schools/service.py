"""School use cases. Schools are managed by platform admins; other roles read their own."""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict
from app.core.http import check_if_match, keyset_page
from app.core.schemas import changed_fields
from app.core.scope import get_school_in_scope, school_scope
from app.core.security import Principal, Role
from app.models import School
from app.schools.schemas import SchoolCreate, SchoolUpdate


async def _flush_unique_urn(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        if "uq_schools_urn" in str(error.orig):
            raise Conflict("A school with this URN already exists") from None
        raise


async def create_school(session: AsyncSession, principal: Principal, data: SchoolCreate) -> School:
    principal.require(Role.PLATFORM_ADMIN)
    if await session.scalar(select(School.id).where(School.urn == data.urn)):
        raise Conflict("A school with this URN already exists")
    school = School(
        id=uuid.uuid4(),
        urn=data.urn,
        name=data.name,
        la_code=data.la_code,
        establishment_type=data.establishment_type.value,
    )
    session.add(school)
    await _flush_unique_urn(session)
    await session.refresh(school)
    return school


async def read_school(session: AsyncSession, principal: Principal, school_id: uuid.UUID) -> School:
    return await get_school_in_scope(session, principal, school_id)


async def update_school(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    data: SchoolUpdate,
    if_match: str | None,
) -> School:
    school = await get_school_in_scope(session, principal, school_id, for_update=True)
    principal.require(Role.PLATFORM_ADMIN)
    check_if_match(if_match, school.version)
    data.refuse_nulls("urn", "name", "la_code", "establishment_type")
    changes = {
        name: getattr(value, "value", value)
        for name, value in changed_fields(data).items()
        if getattr(school, name) != getattr(value, "value", value)
    }
    for name, value in changes.items():
        setattr(school, name, value)
    if changes:
        await _flush_unique_urn(session)
        await session.refresh(school)
    return school


async def list_schools(
    session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[School], str | None]:
    return await keyset_page(
        session, select(School).where(school_scope(principal)), (School.urn,), limit, cursor
    )
