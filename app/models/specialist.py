import uuid
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import SpecialistService


class SpecialistInvolvement(UuidPrimaryKey, Timestamps, Versioned, Base):
    __tablename__ = "specialist_involvements"
    __table_args__ = (
        one_of("service", [s.value for s in SpecialistService], "service"),
        Index("ix_specialist_involvements_pupil_requested", "pupil_id", "requested_on"),
    )

    pupil_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(40))
    parents_involved_on: Mapped[date | None] = mapped_column(Date)
    parental_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_on: Mapped[date | None] = mapped_column(Date)
    advice_received_on: Mapped[date | None] = mapped_column(Date)
    advice_summary: Mapped[str | None] = mapped_column(Text)
    departures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Refers to a Local Offer entry once the Local Offer exists (issue 8).
    local_offer_service_id: Mapped[uuid.UUID | None]
