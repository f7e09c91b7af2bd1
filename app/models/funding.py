import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import ClaimStatus

# The CHECK constraint takes its values from the enum the API publishes: one list, not two.
CLAIM_STATUSES = tuple(status.value for status in ClaimStatus)
PERIOD_CHECK = "period ~ '^[0-9]{4}-[0-9]{2}$'"


class FundingThreshold(Timestamps, Versioned, Base):
    """The nationally prescribed threshold for one financial year; other years use the default."""

    __tablename__ = "funding_thresholds"
    __table_args__ = (
        CheckConstraint(PERIOD_CHECK, name="period"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class NotionalSenBudget(Timestamps, Versioned, Base):
    """A school's notional SEN budget (element 2) for one financial year."""

    __tablename__ = "notional_sen_budgets"
    __table_args__ = (
        CheckConstraint(PERIOD_CHECK, name="period"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class FundingClaim(UuidPrimaryKey, Timestamps, Versioned, Base):
    """A top-up claim to the pupil's home LA (SPEC.md §3.6); money in exact decimals."""

    __tablename__ = "funding_claims"
    __table_args__ = (
        one_of("status", CLAIM_STATUSES, "status"),
        CheckConstraint(PERIOD_CHECK, name="period"),
        CheckConstraint("la_code IS NULL OR la_code ~ '^[0-9]{3}$'", name="la_code"),
        CheckConstraint(
            "decided_amount IS NULL "
            "OR (decided_amount >= 0 AND decided_amount <= requested_amount)",
            name="decided_amount",
        ),
        # claim.single_per_period, held by the database too.
        Index(
            "uq_funding_claims_one_live_per_period",
            "pupil_id",
            "period",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'approved', 'partially_approved')"),
        ),
        Index("ix_funding_claims_la_status", "la_code", "status"),
        Index("ix_funding_claims_school_period", "school_id", "period"),
    )

    pupil_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"))
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    la_code: Mapped[str | None] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(20))
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    provision_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    requested_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    decided_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    departures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
