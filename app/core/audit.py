"""The audit trail's write side: who read or changed which pupil's data (SPEC.md §2, §4).

Every domain writes entries, so this is core policy; reading the trail is `app.audit`'s.
Entries are written in the request's own transaction (or, for a single-statement read, in the
same statement as the read), so work that rolls back leaves no entry and work that commits
always has one.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    ARRAY,
    CTE,
    String,
    Uuid,
    bindparam,
    insert,
    literal,
    select,
    text,
)
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


TOUCHED_KEY = "audited"


def touched_in(session: AsyncSession) -> list[tuple[str, Touched]]:
    """The (resource, touched) pairs audited so far in this session's unit of work."""
    touched: list[tuple[str, Touched]] = session.info.get(TOUCHED_KEY, [])
    return touched


def forget_touched(session: AsyncSession) -> None:
    """For work rolled back (a refused request's savepoint): its entries went with it."""
    session.info.pop(TOUCHED_KEY, None)


def audited_read(resource: str, rows: CTE, *, resource_id: str, school_id: str) -> CTE:
    """A data-modifying CTE that writes a read entry for every row of `rows` (a CTE of pupil
    data with `pupil_id` among its columns): the read and its audit entry in one statement.
    Who reads is bound at execution (`audit_params`), so the statement can be built once."""
    entry = select(
        bindparam("audit_actor_sub", type_=String).label("actor_sub"),
        bindparam("audit_actor_role", type_=String).label("actor_role"),
        literal(AuditAction.READ.value).label("action"),
        literal(resource).label("resource"),
        rows.c[resource_id],
        rows.c.pupil_id,
        rows.c[school_id],
        bindparam("audit_request_id", type_=String).label("request_id"),
    )
    columns = [
        "actor_sub",
        "actor_role",
        "action",
        "resource",
        "resource_id",
        "pupil_id",
        "school_id",
        "request_id",
    ]
    return insert(AuditEntry).from_select(columns, entry).cte(f"audited_{resource}")


def audit_params(principal: Principal) -> dict[str, str]:
    return {
        "audit_actor_sub": principal.sub,
        "audit_actor_role": principal.role.value,
        "audit_request_id": request_id_var.get(),
    }


# One INSERT whatever the number of entries: the three varying columns travel as arrays, so
# the statement (and its prepared plan) is the same for 1 row or 1,000.
_INSERT_ENTRIES = text(
    "INSERT INTO audit_entries "
    "(actor_sub, actor_role, action, resource, resource_id, pupil_id, school_id, request_id) "
    "SELECT :actor_sub, :actor_role, :action, :resource, entry.resource_id, entry.pupil_id, "
    "entry.school_id, :request_id "
    "FROM unnest(:resource_ids, :pupil_ids, :school_ids) "
    "AS entry(resource_id, pupil_id, school_id)"
).bindparams(
    bindparam("resource_ids", type_=ARRAY(Uuid)),
    bindparam("pupil_ids", type_=ARRAY(Uuid)),
    bindparam("school_ids", type_=ARRAY(Uuid)),
)


async def record_access(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    resource: str,
    touched: Iterable[Touched],
) -> None:
    """One entry per resource touched, all in a single INSERT. What was touched is also kept
    on the session (`touched_in`), so that an idempotent replay can re-check and audit it."""
    entries = list(touched)
    if not entries:
        return
    session.info.setdefault(TOUCHED_KEY, []).extend((resource, e) for e in entries)
    await session.execute(
        _INSERT_ENTRIES,
        {
            "actor_sub": principal.sub,
            "actor_role": principal.role.value,
            "action": action.value,
            "resource": resource,
            "request_id": request_id_var.get(),
            "resource_ids": [e.resource_id for e in entries],
            "pupil_ids": [e.pupil_id for e in entries],
            "school_ids": [e.school_id for e in entries],
        },
    )
