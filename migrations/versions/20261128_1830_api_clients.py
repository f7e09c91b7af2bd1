"""api clients

Revision ID: a1c1e0t0k0n1
Revises: 5dcf75ad2707
Create Date: 2026-11-28 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c1e0t0k0n1"
down_revision: str | None = "5dcf75ad2707"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=True),
        sa.Column("la_code", sa.String(length=3), nullable=True),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('mis_integration', 'senco', 'teacher', 'la_officer', 'platform_admin')",
            name=op.f("ck_api_clients_role"),
        ),
        sa.CheckConstraint("la_code ~ '^[0-9]{3}$'", name=op.f("ck_api_clients_la_code")),
        sa.CheckConstraint(
            "(role IN ('mis_integration', 'senco', 'teacher') AND school_id IS NOT NULL AND la_code IS NULL) OR (role = 'la_officer' AND la_code IS NOT NULL AND school_id IS NULL) OR (role = 'platform_admin' AND school_id IS NULL AND la_code IS NULL)",
            name=op.f("ck_api_clients_scope_matches_role"),
        ),
        sa.CheckConstraint(
            "revoked_at IS NULL OR NOT active", name=op.f("ck_api_clients_revoked_is_inactive")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_api_clients_school_id_schools"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
    )
    op.create_index(
        "ix_api_clients_created_order", "api_clients", ["created_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_api_clients_created_order", table_name="api_clients")
    op.drop_table("api_clients")
