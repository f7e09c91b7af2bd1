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
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import PlanStatus, Stage


class SupportPlan(UuidPrimaryKey, Timestamps, Versioned, Base):
    """One SEN support episode of a pupil: a run of Assess-Plan-Do-Review cycles."""

    __tablename__ = "support_plans"
    __table_args__ = (
        one_of("status", [s.value for s in PlanStatus], "status"),
        CheckConstraint("(status = 'active') = (closed_on IS NULL)", name="closed_on_matches"),
        # At most one active plan per pupil, whatever the application does.
        Index(
            "uq_support_plans_one_active_per_pupil",
            "pupil_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_support_plans_pupil_opened", "pupil_id", "opened_on", "id"),
    )

    pupil_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12))
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(Text)
    class_teacher: Mapped[str | None] = mapped_column(String(200))
    senco: Mapped[str | None] = mapped_column(String(200))
    areas_of_need: Mapped[list[str]] = mapped_column(JSONB)
    # Not a foreign key: plans and cycles would refer to each other.
    current_cycle_id: Mapped[uuid.UUID | None]


class Cycle(UuidPrimaryKey, Timestamps, Versioned, Base):
    """One Assess-Plan-Do-Review round. The three stage records are documents of the cycle
    (JSONB), replaced whole by PUT; `review_date` and `review_held_on` mirror fields of those
    records as columns so that due and completed reviews can be found by index."""

    __tablename__ = "cycles"
    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        one_of("stage", [s.value for s in Stage], "stage"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("(stage = 'complete') = (completed_at IS NOT NULL)", name="completed_at"),
        Index("ix_cycles_pupil_completed", "pupil_id", "completed_at"),
        Index(
            "ix_cycles_open_review_date",
            "school_id",
            "review_date",
            postgresql_where=text("stage <> 'complete'"),
        ),
        Index(
            "ix_cycles_school_review_held",
            "school_id",
            "review_held_on",
            postgresql_where=text("stage = 'complete'"),
        ),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("support_plans.id", ondelete="CASCADE"))
    # Copied from the plan's pupil (which never changes school) for scoped queries by index.
    pupil_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(10))
    stage_entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assessment: Mapped[dict[str, Any]] = mapped_column(JSONB)
    plan: Mapped[dict[str, Any]] = mapped_column(JSONB)
    review: Mapped[dict[str, Any]] = mapped_column(JSONB)
    departures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    views_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    review_date: Mapped[date | None] = mapped_column(Date)
    review_held_on: Mapped[date | None] = mapped_column(Date)


class DeliveryLog(UuidPrimaryKey, Base):
    """One session of a provision delivered in the Do stage."""

    __tablename__ = "delivery_logs"
    __table_args__ = (
        CheckConstraint("minutes >= 0 AND minutes <= 1440", name="minutes"),
        Index("ix_delivery_logs_cycle_delivered", "cycle_id", "delivered_on", "id"),
    )

    cycle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    provision_id: Mapped[uuid.UUID]
    delivered_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    attended: Mapped[bool]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
