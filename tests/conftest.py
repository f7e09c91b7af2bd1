"""Test harness: a throwaway database built by the migrations, and a clean state per test.

The server is TEST_DATABASE_URL when set (the suite creates its own database there and drops it
afterwards), else an embedded PostgreSQL started in a temporary folder.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.factories import Api

JWT_SECRET = "test-secret-" + "x" * 32


def _plain_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    from app.core.embedded_postgres import start_embedded_postgres

    # Not pytest's tmp_path: as root it sits in a 0700 folder the server's user cannot enter.
    # The new empty folder itself is handed to the server's user by the launcher.
    data_dir = Path(tempfile.mkdtemp(prefix="sen-test-pg-"))
    server = start_embedded_postgres(data_dir)
    try:
        yield server.url("postgres")
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    name = f"sen_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = _plain_dsn(server_url)

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'create database "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(False)
    try:
        upgrade_to_head(url)
        yield url
    finally:
        asyncio.run(admin(f'drop database if exists "{name}" with (force)'))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=SecretStr(JWT_SECRET),
        jwt_audience="sen-support-api",
        data_dir=Path(tempfile.gettempdir()),
        # The suite's one app asks for tokens far faster than any client may; the limit itself
        # is tested on an app of its own (tests/clients/test_token_limits.py).
        token_attempt_burst=100_000,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    yield application
    await application.state.database.dispose()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for assertions on what the database holds."""
    connection = await asyncpg.connect(_plain_dsn(database_url))
    yield connection
    await connection.close()


async def empty_every_table(connection: asyncpg.Connection) -> None:
    """Every table emptied but the migration marker and the event counter.

    The append-only tables refuse TRUNCATE by trigger, to their owner too. The harness (a
    superuser) sets `session_replication_role = replica` for its own transaction, which skips
    ordinary triggers; the app's role may not set it."""
    tables = await connection.fetch(
        "select tablename from pg_tables where schemaname = 'public' "
        "and tablename not in ('alembic_version', 'event_counter')"
    )
    if tables:
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        async with connection.transaction():
            await connection.execute("set local session_replication_role = replica")
            await connection.execute(f"truncate {names} restart identity cascade")


@pytest.fixture
async def clean_tables(db: asyncpg.Connection) -> AsyncIterator[None]:
    """Every test that talks to the API starts and ends with empty tables."""
    yield
    await empty_every_table(db)


@pytest.fixture
async def client(app: object, clean_tables: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient, settings: Settings) -> Api:
    return Api(client, settings)
