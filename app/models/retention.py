import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, Versioned


class LegalHold(Timestamps, Versioned, Base):
    """Suspends the retention purge for one pupil (DOMAIN.md §5).

    The foreign key is RESTRICT, so while a hold stands the database itself refuses to delete
    the pupil, whatever the application does.
    """

    __tablename__ = "legal_holds"

    pupil_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pupils.id", ondelete="RESTRICT"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RetentionPurge(Base):
    """What the retention purge removed for one pupil. Append-only (a trigger refuses UPDATE
    and DELETE) and without foreign keys: it must outlive the records it describes.

    It holds no personal data beyond the pupil's id: the UPN only as a keyed hash, so that
    someone who holds the key and a UPN can ask "was this record purged?", and no date of
    birth.
    """

    __tablename__ = "retention_purges"
    __table_args__ = (
        CheckConstraint("retention_years >= 1", name="retention_years"),
        Index("ix_retention_purges_pupil", "pupil_id"),
        Index("ix_retention_purges_school_purged", "school_id", "purged_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pupil_id: Mapped[uuid.UUID]
    school_id: Mapped[uuid.UUID]
    upn_hash: Mapped[str] = mapped_column(String(64))
    # Rows removed, by table name.
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    retention_years: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    purged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    purged_by: Mapped[str] = mapped_column(String(200))
