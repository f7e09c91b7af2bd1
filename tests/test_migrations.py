import asyncio
import uuid

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from app.migrate import alembic_config
from tests.conftest import _plain_dsn


def test_migrations_build_an_empty_database_without_drift_and_reverse(server_url):
    name = f"sen_migrations_{uuid.uuid4().hex[:10]}"
    admin = _plain_dsn(server_url)

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def app_role_and_default_grants(url: str) -> tuple[bool, int]:
        connection = await asyncpg.connect(_plain_dsn(url))
        try:
            role = await connection.fetchval(
                "select exists (select from pg_roles where rolname = 'sen_app')"
            )
            grants = await connection.fetchval("select count(*) from pg_default_acl")
        finally:
            await connection.close()
        return role, grants

    async def tables(url: str) -> set[str]:
        connection = await asyncpg.connect(_plain_dsn(url))
        try:
            rows = await connection.fetch(
                "select tablename from pg_tables where schemaname = 'public'"
            )
        finally:
            await connection.close()
        return {row["tablename"] for row in rows}

    asyncio.run(run(f'create database "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(False)
    config = alembic_config(url)
    try:
        command.upgrade(config, "head")
        assert {"schools", "pupils", "concerns", "audit_entries"} <= asyncio.run(tables(url))
        command.check(config)  # raises when the models and the migrations disagree
        assert asyncio.run(app_role_and_default_grants(url)) == (True, 2)
        command.downgrade(config, "base")
        assert asyncio.run(tables(url)) == {"alembic_version"}
        # The role is shared by the server's databases and stays; this database's grants go.
        assert asyncio.run(app_role_and_default_grants(url)) == (True, 0)
        command.upgrade(config, "head")
    finally:
        asyncio.run(run(f'drop database if exists "{name}" with (force)'))
