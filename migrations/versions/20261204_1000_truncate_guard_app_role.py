"""truncate guard on the append-only tables, and the application role

Revision ID: 4840272a66b2
Revises: e8f9a0b1c2d3
Create Date: 2026-12-04 10:00:00.000000

Row triggers refuse UPDATE and DELETE on the append-only tables but never fire for TRUNCATE,
so the owner could empty the audit trail in one statement. A statement-level BEFORE TRUNCATE
trigger closes that for the owner (only a superuser, or the owner disabling the trigger, gets
past it). The application itself gets a role of its own, `sen_app`, that owns nothing: it may
read and write the ordinary tables, only read and insert the append-only ones, and may not
truncate, drop, alter or disable a trigger on any of them.

Roles are cluster-wide, privileges are per database: the role is created only when it is
missing (several databases on one server share it), and the downgrade revokes what this
database granted but never drops the role (another database, or the operator who created it,
may still rely on it). See deploy/README.md, "The database roles".
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4840272a66b2"
down_revision: str | None = "e8f9a0b1c2d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "sen_app"
# Each append-only table with the function its UPDATE/DELETE trigger already calls: the same
# message and SQLSTATE (42501, insufficient_privilege) for TRUNCATE.
APPEND_ONLY_TABLES = {
    "audit_entries": "audit_entries_refuse_change",
    "retention_purges": "retention_purges_refuse_change",
}
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"

# The migrating role may lack CREATEROLE (a managed server's database owner usually does): then
# the role must exist beforehand, and the migration stops with a hint rather than carrying on
# without the role split. Two databases migrating at once may both find the role missing; the
# loser of that race sees duplicate_object or unique_violation and goes on.
CREATE_APP_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role {APP_ROLE} does not exist and % may not create it',
                    current_user
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'Create it once as an administrator '
                              || '(CREATE ROLE {APP_ROLE} NOLOGIN, or LOGIN PASSWORD ...), '
                              || 'then run the migration again.';
        END;
    END IF;
END
$$
"""


def upgrade() -> None:
    for table, function in APPEND_ONLY_TABLES.items():
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )

    op.execute(CREATE_APP_ROLE)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    # The migration marker is the migrating role's business alone.
    op.execute(f"REVOKE ALL ON alembic_version FROM {APP_ROLE}")
    op.execute(f"REVOKE UPDATE, DELETE ON {', '.join(APPEND_ONLY_TABLES)} FROM {APP_ROLE}")
    # Tables and sequences later migrations create (as this same migrating role) get the same
    # grants; a migration adding an append-only table must revoke UPDATE and DELETE on it, and
    # tests/audit/test_append_only.py fails until it does.
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT {APP_TABLE_PRIVILEGES} ON TABLES TO {APP_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}"
    )


def downgrade() -> None:
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"REVOKE {APP_TABLE_PRIVILEGES} ON TABLES FROM {APP_ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    # The role itself stays: it is shared by every database on the server (see the docstring).
    for table in APPEND_ONLY_TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
