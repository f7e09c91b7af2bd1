"""The queries behind schools. A URN names one school: a second one is a 409 `Conflict`,
whether the check before writing sees it or the unique constraint (a concurrent writer) does.
"""

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict
from app.core.http import keyset_page
from app.core.scope import school_scope
from app.core.security import Principal
from app.models import School

# The columns that cannot hold null: a PATCH may leave them out but never clear them.
NOT_NULL_COLUMNS = frozenset(
    key for key, column in inspect(School).columns.items() if not column.nullable
)
_URN_TAKEN = "A school with this URN already exists"


async def _flush_unique_urn(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        if "uq_schools_urn" in str(error.orig):
            raise Conflict(_URN_TAKEN) from None
        raise


async def refuse_taken_urn(session: AsyncSession, urn: str) -> None:
    """409 if a school already has `urn`; the unique constraint still decides a race."""
    if await session.scalar(select(School.id).where(School.urn == urn)):
        raise Conflict(_URN_TAKEN)


async def insert_school(session: AsyncSession, school: School) -> School:
    """Written now, and read back for the timestamps the database fills."""
    session.add(school)
    await _flush_unique_urn(session)
    await session.refresh(school)
    return school


async def save_school(session: AsyncSession, school: School) -> School:
    """The changes made to a loaded school, written, and read back for its new `updated_at`."""
    await _flush_unique_urn(session)
    await session.refresh(school)
    return school


async def list_in_scope(
    session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[School], str | None]:
    """By URN, keyset-paged."""
    return await keyset_page(
        session, select(School).where(school_scope(principal)), (School.urn,), limit, cursor
    )
