"""POST /v1/oauth/token under a flood (SPEC.md §4): attempts are limited per client id and per
remote address before any database work, and secrets are verified with no connection held."""

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.clients import service
from app.main import create_app
from tests.clients.helpers import assert_oauth_error, register, token_by_basic
from tests.sql import counted_statements

# A window of 3 s holding 3 attempts: small enough to reach in a test.
LIMITED = {"token_attempts_per_second": 1.0, "token_attempt_burst": 3}


@asynccontextmanager
async def limited_app(settings, **overrides) -> AsyncIterator[tuple[Any, Callable]]:
    application = create_app(settings.model_copy(update={**LIMITED, **overrides}))

    def client_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=application, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    try:
        yield application, client_from
    finally:
        await application.state.database.dispose()


async def test_wrong_secrets_from_one_address_are_refused_429_before_any_database_work(
    api, settings
):
    client = await register(api, "platform_admin")
    async with limited_app(settings) as (application, client_from):
        async with client_from("192.0.2.10") as http:
            for _ in range(3):
                wrong = await token_by_basic(http, str(uuid.uuid4()), "sencs_wrong")
                assert_oauth_error(wrong, 401, "invalid_client")
            with counted_statements(application) as statements:
                flooded = await token_by_basic(http, str(uuid.uuid4()), "sencs_wrong")
            assert flooded.status_code == 429, flooded.text
            assert flooded.json()["error"] == "slow_down"
            assert 1 <= int(flooded.headers["retry-after"]) <= 3
            assert flooded.headers["cache-control"] == "no-store"
            assert statements == []
            # Even the right secret waits its turn from this address.
            right = await token_by_basic(http, client["client_id"], client["client_secret"])
            assert right.status_code == 429
        # Another address is not held back by this one's flood.
        async with client_from("192.0.2.11") as http:
            ok = await token_by_basic(http, client["client_id"], client["client_secret"])
            assert ok.status_code == 200, ok.text


async def test_one_client_id_tried_from_many_addresses_is_limited_too(api, settings):
    client = await register(api, "platform_admin")
    async with limited_app(settings) as (_, client_from):
        for number in range(3):
            async with client_from(f"198.51.100.{number}") as http:
                wrong = await token_by_basic(http, client["client_id"], "sencs_wrong")
                assert_oauth_error(wrong, 401, "invalid_client")
        async with client_from("198.51.100.99") as http:
            limited = await token_by_basic(http, client["client_id"], client["client_secret"])
            assert limited.status_code == 429
            assert limited.json()["error"] == "slow_down"
            # Other clients from a fresh address are unaffected.
            other = await register(api, "platform_admin")
            ok = await token_by_basic(http, other["client_id"], other["client_secret"])
            assert ok.status_code == 200, ok.text


async def test_the_limit_lets_attempts_through_again_after_its_window(api, settings):
    client = await register(api, "platform_admin")
    async with limited_app(settings) as (_, client_from), client_from("203.0.113.5") as http:
        for _ in range(3):
            await token_by_basic(http, client["client_id"], "sencs_wrong")
        refused = await token_by_basic(http, client["client_id"], client["client_secret"])
        assert refused.status_code == 429
        await asyncio.sleep(int(refused.headers["retry-after"]) + 0.2)
        ok = await token_by_basic(http, client["client_id"], client["client_secret"])
        assert ok.status_code == 200, ok.text


async def test_a_secret_is_verified_with_no_connection_held(api, settings, monkeypatch):
    """The review's attack: argon2 ran while the request held a pooled connection, so a burst
    of wrong secrets slowed every other endpoint. With a pool of one connection, a read still
    answers while a verification is under way."""
    client = await register(api, "platform_admin")
    school = await api.create_school()
    started, release = threading.Event(), threading.Event()
    held_during_verification: list[int] = []
    real_verify = service._verify

    async with limited_app(settings, db_pool_size=1, db_max_overflow=0) as (
        application,
        client_from,
    ):
        pool = application.state.database.engine.pool

        def slow_verify(stored_hash, secret):
            held_during_verification.append(pool.checkedout())
            started.set()
            release.wait(10)
            return real_verify(stored_hash, secret)

        monkeypatch.setattr(service, "_verify", slow_verify)
        async with client_from("192.0.2.20") as http:
            asking = asyncio.create_task(
                token_by_basic(http, client["client_id"], client["client_secret"])
            )
            try:
                await asyncio.to_thread(started.wait, 10)
                read = await http.get(f"/v1/schools/{school['id']}", headers=api.admin())
                assert read.status_code == 200, read.text
            finally:
                release.set()
            answered = await asking
        assert answered.status_code == 200, answered.text
        assert held_during_verification == [0]
