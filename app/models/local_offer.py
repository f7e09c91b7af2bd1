from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import SpecialistService


class LocalOfferService(UuidPrimaryKey, Timestamps, Versioned, Base):
    """One service an LA publishes in its Local Offer, with its target from referral to first
    advice. Entries are retired (`active` false), never deleted: referrals keep naming them."""

    __tablename__ = "local_offer_services"
    __table_args__ = (
        one_of("service", [s.value for s in SpecialistService], "service"),
        CheckConstraint("la_code ~ '^[0-9]{3}$'", name="la_code"),
        CheckConstraint("target_days > 0", name="target_days"),
        # The list's keyset order, which also serves the la_code and service filters.
        Index("ix_local_offer_services_list_order", "la_code", "service", "created_at", "id"),
    )

    la_code: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    how_to_access: Mapped[str] = mapped_column(Text)
    eligibility: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    target_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
