"""Reading the audit trail (`GET /v1/audit`); entries are written through `app.core.audit`."""

from app.audit import repository
from app.audit.schemas import AuditFilters
from app.core.db import DbSession
from app.core.errors import FieldError, ValidationFailed
from app.core.security import Principal, Role
from app.models import AuditEntry

AUDIT_READERS = (Role.SENCO, Role.PLATFORM_ADMIN)


async def list_entries(
    session: DbSession,
    principal: Principal,
    filters: AuditFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditEntry], str | None]:
    """Newest first; a SENCO sees its own school's entries. Not itself audited (SPEC.md §4)."""
    principal.require(*AUDIT_READERS)
    if filters.from_ is not None and filters.to is not None and filters.from_ > filters.to:
        raise ValidationFailed([FieldError(field="from", message="Must not be after 'to'")])
    return await repository.list_readable(session, principal, filters, limit, cursor)
