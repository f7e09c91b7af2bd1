"""Fixtures shared by the contract tests."""

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.core.config import Settings
from tests.contract.world import World, build_world


async def truncate_everything(db: asyncpg.Connection) -> None:
    tables = await db.fetch(
        "select tablename from pg_tables where schemaname = 'public' "
        "and tablename not in ('alembic_version', 'event_counter')"
    )
    if tables:
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await db.execute(f"truncate {names} restart identity cascade")


@pytest.fixture(scope="module")
async def seeded_world(
    app: object, settings: Settings, db: asyncpg.Connection
) -> AsyncIterator[World]:
    """One world for a whole module (the fuzzers may change it); emptied afterwards so that
    the tests after this module start from empty tables, as `clean_tables` promises."""
    await truncate_everything(db)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        try:
            yield await build_world(http, settings)
        finally:
            await truncate_everything(db)
