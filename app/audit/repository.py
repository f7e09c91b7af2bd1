"""The audit trail's read query. Entries are written through `app.core.audit`; here they are
only listed, newest first, keyed on (at, id) so that entries written in one statement (which
share `at`) still page without gaps or repeats.
"""

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.schemas import AuditFilters
from app.core.errors import FieldError, ValidationFailed
from app.core.http import decode_cursor, encode_cursor
from app.core.security import Principal, Role
from app.models import AuditEntry

ORDER = (AuditEntry.at, AuditEntry.id)


def _readable(principal: Principal) -> ColumnElement[bool]:
    """A SENCO reads its own school's trail; a platform admin reads everyone's."""
    if principal.role is Role.SENCO:
        return AuditEntry.school_id == principal.school_id
    return true()


def _before_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    last_at, last_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(str(last_at)), uuid.UUID(str(last_id))
    except ValueError:
        raise ValidationFailed(
            [FieldError(field="cursor", message="Not a cursor from this list")]
        ) from None


async def list_readable(
    session: AsyncSession,
    principal: Principal,
    filters: AuditFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditEntry], str | None]:
    """The entries the caller's role may read that match `filters`: one page and the cursor
    of the next."""
    query = select(AuditEntry).where(_readable(principal))
    if filters.pupil_id is not None:
        query = query.where(AuditEntry.pupil_id == filters.pupil_id)
    if filters.actor is not None:
        query = query.where(AuditEntry.actor_sub == filters.actor)
    if filters.from_ is not None:
        query = query.where(AuditEntry.at >= filters.from_)
    if filters.to is not None:
        query = query.where(AuditEntry.at <= filters.to)
    if cursor is not None:
        query = query.where(tuple_(*ORDER) < tuple_(*_before_cursor(cursor)))
    query = query.order_by(*(column.desc() for column in ORDER)).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([last.at.isoformat(), str(last.id)])
