import uuid
from datetime import date
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import SenStatus, SenType, YearGroup

SEN_TYPES = [t.value for t in SenType]


class Pupil(UuidPrimaryKey, Timestamps, Versioned, Base):
    __tablename__ = "pupils"
    __table_args__ = (
        UniqueConstraint("school_id", "upn"),
        one_of("year_group", [y.value for y in YearGroup], "year_group"),
        one_of("sen_status", [s.value for s in SenStatus], "sen_status"),
        one_of("primary_need", SEN_TYPES, "primary_need"),
        one_of("secondary_need", SEN_TYPES, "secondary_need"),
        CheckConstraint("home_la_code ~ '^[0-9]{3}$'", name="home_la_code"),
        CheckConstraint("secondary_need IS NULL OR primary_need IS NOT NULL", name="need_rank"),
        # The list's keyset order (last name, first name, id) within a school.
        Index("ix_pupils_school_name_order", "school_id", "last_name", "first_name", "id"),
        Index("ix_pupils_school_updated", "school_id", "updated_at", "id"),
    )

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    upn: Mapped[str] = mapped_column(String(13))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    year_group: Mapped[str] = mapped_column(String(2))
    home_la_code: Mapped[str] = mapped_column(String(3))
    pupil_premium: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_need: Mapped[str | None] = mapped_column(String(4))
    secondary_need: Mapped[str | None] = mapped_column(String(4))
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    left_on: Mapped[date | None] = mapped_column(Date)
    sen_status: Mapped[str] = mapped_column(String(1), default=SenStatus.N.value)
