import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UuidPrimaryKey, Versioned, one_of


class ApiClientRole(StrEnum):
    """The roles a registered client may hold: every role but `parent` (SPEC.md §4)."""

    MIS_INTEGRATION = "mis_integration"
    SENCO = "senco"
    TEACHER = "teacher"
    LA_OFFICER = "la_officer"
    PLATFORM_ADMIN = "platform_admin"


class ApiClient(UuidPrimaryKey, Timestamps, Versioned, Base):
    """A registered OAuth client (client credentials). `id` is the public `client_id`.

    Only an argon2 hash of the secret is kept. Revoking sets `active` false; the row stays, so
    tokens naming it can be refused and the audit trail keeps meaning something.
    """

    __tablename__ = "api_clients"
    __table_args__ = (
        one_of("role", [r.value for r in ApiClientRole], "role"),
        CheckConstraint("la_code ~ '^[0-9]{3}$'", name="la_code"),
        # The scope a token will carry is fixed here, so a client can never mint a token
        # that `principal_from_claims` would refuse.
        CheckConstraint(
            "(role IN ('mis_integration', 'senco', 'teacher') "
            "AND school_id IS NOT NULL AND la_code IS NULL) "
            "OR (role = 'la_officer' AND la_code IS NOT NULL AND school_id IS NULL) "
            "OR (role = 'platform_admin' AND school_id IS NULL AND la_code IS NULL)",
            name="scope_matches_role",
        ),
        CheckConstraint("revoked_at IS NULL OR NOT active", name="revoked_is_inactive"),
        Index("ix_api_clients_created_order", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    school_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schools.id", ondelete="RESTRICT")
    )
    la_code: Mapped[str | None] = mapped_column(String(3))
    secret_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
