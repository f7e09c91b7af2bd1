"""Limits the app enforces itself (SPEC.md §5), whatever server runs it: headers over 16 KiB
answer 431, a body that stops arriving answers 408, and a pupil batch takes its turn only
after its token was checked and its body read. tests/reliability/test_slow_clients.py drives
the same through a real server."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.core.test_errors import assert_problem
from tests.factories import Api, pupil_body

READ_TIMEOUT_S = 0.3


async def test_an_authorization_header_of_17_kib_answers_431(api: Api) -> None:
    token = api.token("platform_admin")
    padded = {"Authorization": f"Bearer {token}", "X-Padding": "a" * (17 * 1024 - len(token))}
    response = await api.http.get(
        "/v1/schools", headers={"Authorization": "Bearer " + "a" * 17 * 1024}
    )
    body = assert_problem(response, 431, "request_header_fields_too_large")
    assert "16384" in body["detail"]
    assert response.headers["x-request-id"]
    assert_problem(
        await api.http.get("/v1/schools", headers=padded), 431, "request_header_fields_too_large"
    )
    under = {"Authorization": f"Bearer {token}", "X-Padding": "a" * (15 * 1024)}
    assert (await api.http.get("/v1/schools", headers=under)).status_code == 200


def _app(settings: Settings, **changes: Any) -> FastAPI:
    return create_app(settings.model_copy(update=changes))


async def _stalled_body(first: bytes) -> AsyncIterator[bytes]:
    yield first
    await asyncio.sleep(30)  # the test's client is gone long before
    yield b"}"


async def test_a_body_that_stops_arriving_answers_408_and_closes(
    api: Api, settings: Settings
) -> None:
    app = _app(settings, request_read_timeout_seconds=READ_TIMEOUT_S)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            started = time.monotonic()
            response = await http.post(
                "/v1/schools",
                content=_stalled_body(b'{"name": '),
                headers={**api.admin(), "content-type": "application/json"},
            )
            waited = time.monotonic() - started
    finally:
        await app.state.database.dispose()
    assert_problem(response, 408, "request_timeout")
    assert response.headers["connection"] == "close"
    assert READ_TIMEOUT_S - 0.05 <= waited < READ_TIMEOUT_S + 2


async def test_a_batch_without_a_token_is_refused_without_waiting_for_a_turn(
    settings: Settings,
) -> None:
    # No turn free at all: only a request that never queues can be answered before the wait.
    app = _app(settings, bulk_write_queue_seconds=5.0)
    app.state.bulk_write_slots = asyncio.Semaphore(0)
    transport = httpx.ASGITransport(app=app)
    path = f"/v1/schools/{uuid.uuid4()}/pupils/batch"
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            started = time.monotonic()
            response = await http.post(path, json={"items": [pupil_body()]})
            bad_token = await http.post(
                path, json={"items": [pupil_body()]}, headers={"Authorization": "Bearer nope"}
            )
            waited = time.monotonic() - started
    finally:
        await app.state.database.dispose()
    assert_problem(response, 401, "unauthorized")
    assert_problem(bad_token, 401, "unauthorized")
    assert waited < 2.0


async def test_a_batch_reads_its_body_before_it_waits_for_a_turn(
    api: Api, settings: Settings
) -> None:
    app = _app(settings, bulk_write_queue_seconds=5.0, request_read_timeout_seconds=READ_TIMEOUT_S)
    app.state.bulk_write_slots = asyncio.Semaphore(0)
    transport = httpx.ASGITransport(app=app)
    school_id = uuid.uuid4()
    headers = {
        **api.headers("mis_integration", school_id=school_id),
        "content-type": "application/json",
    }
    path = f"/v1/schools/{school_id}/pupils/batch"
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            started = time.monotonic()
            stalled = await http.post(path, content=_stalled_body(b'{"items": ['), headers=headers)
            stalled_s = time.monotonic() - started
            # A whole body and still no turn: it waits for one, then 503 as before.
            app.state.settings = app.state.settings.model_copy(
                update={"bulk_write_queue_seconds": 0.5}
            )
            queued = await http.post(path, json={"items": [pupil_body()]}, headers=headers)
    finally:
        await app.state.database.dispose()
    assert_problem(stalled, 408, "request_timeout")
    assert stalled_s < 2.0, "it waited for a turn before its body had arrived"
    assert_problem(queued, 503, "database_unavailable")
    assert queued.headers["retry-after"]
