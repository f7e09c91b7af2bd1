"""Reading the audit trail (`GET /v1/audit`); entries are written through `app.core.audit`."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, ValidationFailed
from app.core.http import decode_cursor, encode_cursor
from app.core.security import Principal, Role
from app.models import AuditEntry


@dataclass(frozen=True)
class AuditFilters:
    pupil_id: uuid.UUID | None = None
    actor: str | None = None
    from_: datetime | None = None
    to: datetime | None = None


def _readable_entries(principal: Principal) -> ColumnElement[bool]:
    """A SENCO reads its own school's trail; a platform admin reads everyone's."""
    principal.require(Role.SENCO, Role.PLATFORM_ADMIN)
    if principal.role is Role.SENCO:
        return AuditEntry.school_id == principal.school_id
    return true()


async def list_entries(
    session: AsyncSession,
    principal: Principal,
    filters: AuditFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditEntry], str | None]:
    """Newest first, keyed on (at, id) so that entries written in one statement (which share
    `at`) still page without gaps or repeats. Not itself audited (SPEC.md §4)."""
    query = select(AuditEntry).where(_readable_entries(principal))
    if filters.from_ is not None and filters.to is not None and filters.from_ > filters.to:
        raise ValidationFailed([FieldError(field="from", message="Must not be after 'to'")])
    if filters.pupil_id is not None:
        query = query.where(AuditEntry.pupil_id == filters.pupil_id)
    if filters.actor is not None:
        query = query.where(AuditEntry.actor_sub == filters.actor)
    if filters.from_ is not None:
        query = query.where(AuditEntry.at >= filters.from_)
    if filters.to is not None:
        query = query.where(AuditEntry.at <= filters.to)
    order = (AuditEntry.at, AuditEntry.id)
    if cursor is not None:
        last_at, last_id = decode_cursor(cursor, 2)
        try:
            before = (datetime.fromisoformat(str(last_at)), uuid.UUID(str(last_id)))
        except ValueError:
            raise ValidationFailed(
                [FieldError(field="cursor", message="Not a cursor from this list")]
            ) from None
        query = query.where(tuple_(*order) < tuple_(*before))
    query = query.order_by(*(column.desc() for column in order)).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode_cursor([last.at.isoformat(), str(last.id)])
    return rows, None
