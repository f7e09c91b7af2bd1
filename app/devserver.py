"""The embedded development database: used when DATABASE_URL is unset (SPEC.md §7)."""

import asyncio
import logging

import asyncpg

from app.core.config import Settings
from app.core.embedded_postgres import EmbeddedServer, start_embedded_postgres
from app.migrate import upgrade_to_head

logger = logging.getLogger("app.devserver")

DEV_DATABASE = "sen_support"


async def ensure_database(server_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(server_dsn)
    try:
        exists = await connection.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await connection.execute(f'create database "{name}"')
    finally:
        await connection.close()


def start_embedded_database(settings: Settings) -> tuple[EmbeddedServer, str]:
    """Start (or reuse) the embedded server under the data folder and migrate it.

    Blocking: call it from a thread when an event loop is running.
    """
    server = start_embedded_postgres(settings.data_dir.resolve() / "postgres")
    asyncio.run(ensure_database(server.dsn(), DEV_DATABASE))
    url = server.url(DEV_DATABASE)
    upgrade_to_head(url)
    logger.info("embedded PostgreSQL on 127.0.0.1:%s, database %s", server.port, DEV_DATABASE)
    return server, url


def prepare_embedded_database(settings: Settings) -> str:
    return start_embedded_database(settings)[1]
