"""ORM models, one module per aggregate. Importing this package registers every table."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.concern import Concern
from app.models.event import Event, EventCounter
from app.models.idempotency import IdempotencyRecord
from app.models.pupil import Pupil
from app.models.school import School

__all__ = [
    "AuditEntry",
    "Base",
    "Concern",
    "Event",
    "EventCounter",
    "IdempotencyRecord",
    "Pupil",
    "School",
]
