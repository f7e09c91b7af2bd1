from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of
from app.models.enums import EstablishmentType


class School(UuidPrimaryKey, Timestamps, Versioned, Base):
    __tablename__ = "schools"
    __table_args__ = (
        one_of("establishment_type", [e.value for e in EstablishmentType], "establishment_type"),
        CheckConstraint("urn ~ '^[0-9]{6}$'", name="urn"),
        CheckConstraint("la_code ~ '^[0-9]{3}$'", name="la_code"),
    )

    urn: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    la_code: Mapped[str] = mapped_column(String(3), index=True)
    establishment_type: Mapped[str] = mapped_column(String(40))
