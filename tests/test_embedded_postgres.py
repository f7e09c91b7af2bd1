"""The embedded PostgreSQL launcher starts a real server, also when the tests run as root."""

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg

from app.core.embedded_postgres import start_embedded_postgres


async def _version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        version: str = await conn.fetchval("select version()")
        return version
    finally:
        await conn.close()


def test_embedded_postgres_starts_reuses_and_stops() -> None:
    # Not pytest's tmp_path: as root that lives in /tmp/pytest-of-root (mode 0700), which the
    # unprivileged server user cannot reach. mkdtemp's own 0700 folder becomes the data folder
    # and is handed to that user.
    data_dir = Path(tempfile.mkdtemp(prefix="sen-embedded-pg-test-"))
    server = start_embedded_postgres(data_dir)
    try:
        assert server.url().startswith("postgresql+asyncpg://postgres@127.0.0.1:")
        assert "PostgreSQL" in asyncio.run(_version(server.dsn()))
        assert (data_dir / "PG_VERSION").is_file()
        assert data_dir.stat().st_mode & 0o777 == 0o700

        again = start_embedded_postgres(data_dir)  # idempotent: reuses the running server
        assert again.port == server.port
    finally:
        server.stop()
        server.stop()  # stopping a stopped server is a no-op
        shutil.rmtree(data_dir, ignore_errors=True)
