"""idempotent replays keep what they touched; drafts' events carry no LA

Revision ID: f1a2b3c4d5e6
Revises: 4840272a66b2
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f1a2b3c4d5e6"
down_revision: str | None = "4840272a66b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column(
            "audited",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    # Stored answers were keyed on role and subject only; keys are now per whole caller, so
    # the old ones could only be replayed to a caller they may not belong to: drop them.
    op.execute("DELETE FROM idempotency_keys")
    # A request's or claim's events now carry its `la_code`, null until submission, and LA
    # feeds withhold such events (SPEC.md §4). Events written before carried the pupil's home
    # LA: a draft's events (its creation, and a withdrawal before submission) lose it.
    op.execute(
        """
        UPDATE events SET la_code = NULL
        WHERE la_code IS NOT NULL AND (
            (resource = 'ehc_request' AND (
                type = 'ehc_request.created'
                OR resource_id IN (SELECT id FROM ehc_requests WHERE la_code IS NULL)))
            OR (resource = 'funding_claim' AND (
                type = 'funding_claim.created'
                OR resource_id IN (SELECT id FROM funding_claims WHERE la_code IS NULL)))
        )
        """
    )


def downgrade() -> None:
    # The events keep their null LA: which home LA they once named is not worth restoring.
    op.drop_column("idempotency_keys", "audited")
