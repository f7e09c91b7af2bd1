"""Fixtures shared by the contract tests."""

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.core.config import Settings
from tests.conftest import empty_every_table
from tests.contract.world import World, build_world


@pytest.fixture(scope="module")
async def seeded_world(
    app: object, settings: Settings, db: asyncpg.Connection
) -> AsyncIterator[World]:
    """One world for a whole module (the fuzzers may change it); emptied afterwards so that
    the tests after this module start from empty tables, as `clean_tables` promises."""
    await empty_every_table(db)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        try:
            yield await build_world(http, settings)
        finally:
            await empty_every_table(db)
