import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from app.models import AuditEntry
from app.models.enums import AuditAction


@dataclass(frozen=True)
class AuditFilters:
    """What `GET /v1/audit` narrows the trail to; None leaves a filter out."""

    pupil_id: uuid.UUID | None = None
    actor: str | None = None
    from_: datetime | None = None
    to: datetime | None = None


class AuditActor(BaseModel):
    sub: str
    role: str


class AuditEntryOut(BaseModel):
    id: uuid.UUID
    at: datetime
    actor: AuditActor
    action: AuditAction
    resource: str
    resource_id: uuid.UUID | None
    pupil_id: uuid.UUID | None
    request_id: str

    @classmethod
    def of(cls, entry: AuditEntry) -> "AuditEntryOut":
        return cls(
            id=entry.id,
            at=entry.at,
            actor=AuditActor(sub=entry.actor_sub, role=entry.actor_role),
            action=AuditAction(entry.action),
            resource=entry.resource,
            resource_id=entry.resource_id,
            pupil_id=entry.pupil_id,
            request_id=entry.request_id,
        )
