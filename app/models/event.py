import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Event(Base):
    """One change, written in the transaction that made it (an outbox). See app/events."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_school_seq", "school_id", "seq"),
        Index("ix_events_pupil_seq", "pupil_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(60))
    resource: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[uuid.UUID]
    pupil_id: Mapped[uuid.UUID | None]
    school_id: Mapped[uuid.UUID | None]
    la_code: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class EventCounter(Base):
    """The single row that hands out event numbers in commit order (see app/events/service.py)."""

    __tablename__ = "event_counter"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
