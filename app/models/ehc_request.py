import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import EhcRequestedBy, EhcRequestStatus


class EhcRequest(UuidPrimaryKey, Timestamps, Versioned, Base):
    """A request to the pupil's home LA for an EHC needs assessment (SPEC.md §3.5)."""

    __tablename__ = "ehc_requests"
    __table_args__ = (
        one_of("status", [s.value for s in EhcRequestStatus], "status"),
        one_of("requested_by", [r.value for r in EhcRequestedBy], "requested_by"),
        CheckConstraint("la_code IS NULL OR la_code ~ '^[0-9]{3}$'", name="la_code"),
        # ehc.single_open_request, held by the database too.
        Index(
            "uq_ehc_requests_one_open_per_pupil",
            "pupil_id",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'assessing')"),
        ),
        Index("ix_ehc_requests_la_status", "la_code", "status"),
    )

    pupil_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    la_code: Mapped[str | None] = mapped_column(String(3))
    requested_by: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    decision_due_on: Mapped[date | None] = mapped_column(Date)
    issue_decision_due_on: Mapped[date | None] = mapped_column(Date)
    final_plan_due_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_note: Mapped[str | None] = mapped_column(Text)
    departures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
