import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEntryOut, AuditFilters
from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, Limit
from app.core.schemas import Page, Rfc3339DateTime, SearchText
from app.core.security import CurrentPrincipal

router = APIRouter(prefix=API_PREFIX, tags=["audit"], route_class=UnitOfWorkRoute)


@router.get(
    "/audit",
    responses=error_responses(403),
    summary="The audit trail, newest first (senco: its school's entries; platform_admin)",
    description=(
        "Who read or changed which pupil's data. Filters combine; `from` and `to` are "
        "RFC 3339 timestamps with an offset, both inclusive (`from` after `to` answers 422). "
        "Items are ordered by `at`, newest first, then by `id`. Reading the trail is not "
        "itself audited."
    ),
)
async def list_audit_entries(
    session: Session,
    principal: CurrentPrincipal,
    pupil_id: Annotated[uuid.UUID | None, Query(description="Entries about this pupil")] = None,
    actor: Annotated[
        SearchText | None,
        Query(min_length=1, max_length=200, description="Entries by this caller (its `sub`)"),
    ] = None,
    from_: Annotated[
        Rfc3339DateTime | None, Query(alias="from", description="At or after this time")
    ] = None,
    to: Annotated[Rfc3339DateTime | None, Query(description="At or before this time")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditEntryOut]:
    filters = AuditFilters(pupil_id=pupil_id, actor=actor, from_=from_, to=to)
    entries, next_cursor = await service.list_entries(session, principal, filters, limit, cursor)
    return Page[AuditEntryOut](
        items=[AuditEntryOut.of(e) for e in entries], next_cursor=next_cursor
    )
