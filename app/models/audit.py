import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, one_of
from app.models.enums import AuditAction


class AuditEntry(Base):
    """Who read or changed which pupil's data. Append-only: a trigger refuses UPDATE and DELETE.

    No foreign keys: the trail must outlive the records it describes.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        one_of("action", [a.value for a in AuditAction], "action"),
        Index("ix_audit_entries_pupil_at", "pupil_id", "at"),
        Index("ix_audit_entries_school_at", "school_id", "at"),
        Index("ix_audit_entries_at", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_sub: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(20))
    resource: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[uuid.UUID | None]
    pupil_id: Mapped[uuid.UUID | None]
    school_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str] = mapped_column(String(64))
