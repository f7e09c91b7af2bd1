"""The audit trail: who read or changed which pupil's data (SPEC.md §2, §4).

Entries are written in the request's own transaction, so work that rolls back leaves no entry
and work that commits always has one.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.middleware import request_id_var
from app.core.security import Principal
from app.models import AuditEntry
from app.models.enums import AuditAction


@dataclass(frozen=True)
class Touched:
    resource_id: uuid.UUID
    pupil_id: uuid.UUID
    school_id: uuid.UUID


async def record_access(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    resource: str,
    touched: Iterable[Touched],
) -> None:
    """One entry per resource touched, all in a single INSERT."""
    request_id = request_id_var.get()
    rows = [
        {
            "actor_sub": principal.sub,
            "actor_role": principal.role.value,
            "action": action.value,
            "resource": resource,
            "resource_id": item.resource_id,
            "pupil_id": item.pupil_id,
            "school_id": item.school_id,
            "request_id": request_id,
        }
        for item in touched
    ]
    if rows:
        await session.execute(insert(AuditEntry), rows)
