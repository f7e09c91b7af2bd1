import uuid
from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import ConcernRaisedBy, ConcernStatus


class Concern(UuidPrimaryKey, Timestamps, Versioned, Base):
    __tablename__ = "concerns"
    __table_args__ = (
        one_of("raised_by", [r.value for r in ConcernRaisedBy], "raised_by"),
        one_of("status", [s.value for s in ConcernStatus], "status"),
        CheckConstraint(
            "(status = 'responded') = (response IS NOT NULL AND responded_on IS NOT NULL)",
            name="response_matches_status",
        ),
        Index("ix_concerns_pupil_raised", "pupil_id", "raised_on", "id"),
    )

    pupil_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    raised_by: Mapped[str] = mapped_column(String(30))
    raised_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ConcernStatus.OPEN.value)
    response: Mapped[str | None] = mapped_column(Text)
    responded_on: Mapped[date | None] = mapped_column(Date)
