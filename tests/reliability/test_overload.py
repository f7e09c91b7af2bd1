"""The connection pool is exhausted: extra requests wait about 2 s, then answer 503; memory
stays flat.

uvicorn serves the app in a child process with one pooled connection (SEN_DB_POOL_SIZE=1, no
overflow); a test-only route keeps that connection busy in pg_sleep while bursts of requests
that need the database arrive.
"""

import asyncio
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.security import Role, mint_token
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem
from tests.reliability.serving import Served, uvicorn_process

BURST = 200
# Long enough for a slow client to get the whole burst out while the connection is held.
HOLD_S = 6.0
POOL_TIMEOUT_S = 2.0
# The server's own time for a 503 (its access log): the pool wait plus the work of answering
# a burst of timeouts at once on a busy machine. The client's clock adds its own work on a few
# hundred connections at once (httpx, same machine), so it is only held to "no hang".
SERVER_503_BOUND_S = POOL_TIMEOUT_S + 2.0
CLIENT_TIMEOUT_S = POOL_TIMEOUT_S + 10.0
RSS_GROWTH_BOUND = 40 * 1024 * 1024  # first burst, against a warmed-up process
RSS_LEAK_BOUND = 8 * 1024 * 1024  # second burst, against the first: a leak would show here


@pytest.fixture
def served_with_one_connection(database_url: str, tmp_path: Path) -> Iterator[Served]:
    env = {
        "DATABASE_URL": database_url,
        "SEN_JWT_SECRET": JWT_SECRET,
        "SEN_DB_POOL_SIZE": "1",
        "SEN_DB_MAX_OVERFLOW": "0",
        "SEN_DB_POOL_TIMEOUT": str(POOL_TIMEOUT_S),
    }
    with uvicorn_process(
        "tests.reliability.apps:app_with_test_routes", env, tmp_path / "server.log", factory=True
    ) as served:
        yield served


async def _burst(base_url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Hold the only connection, send BURST requests that need one, and probe the process.

    Fresh clients each time: connections kept alive from an earlier burst would meet the
    server's keep-alive timeout half-way."""
    limits = httpx.Limits(max_connections=BURST + 10, max_keepalive_connections=BURST + 10)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT_S + HOLD_S) as holding,
        httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT_S, limits=limits) as http,
    ):

        async def timed(
            client: httpx.AsyncClient, path: str, **kwargs: Any
        ) -> tuple[float, httpx.Response]:
            started = time.monotonic()
            response = await client.get(path, **kwargs)
            return time.monotonic() - started, response

        holder = asyncio.create_task(timed(holding, "/test/hold", params={"seconds": HOLD_S}))
        await asyncio.sleep(0.3)  # the holder has the connection
        waiting = [
            asyncio.create_task(timed(http, "/v1/schools", headers=headers)) for _ in range(BURST)
        ]
        await asyncio.sleep(0.5)
        healthz = await timed(holding, "/healthz")
        readyz = await timed(holding, "/readyz")
        answers = await asyncio.gather(*waiting)
        held = await holder
    return {"answers": answers, "healthz": healthz, "readyz": readyz, "holder": held}


async def test_an_exhausted_pool_answers_503_after_the_pool_timeout_with_memory_bounded(
    served_with_one_connection: Served, settings: Any, capsys: Any
) -> None:
    served = served_with_one_connection
    headers = {
        "Authorization": f"Bearer {mint_token(settings, sub='overload', role=Role.PLATFORM_ADMIN)}"
    }
    async with httpx.AsyncClient(base_url=served.base_url, timeout=CLIENT_TIMEOUT_S) as http:
        for _ in range(20):  # warm up: imports, first connection, caches
            assert (await http.get("/v1/schools", headers=headers)).status_code == 200
    rss_before = served.rss_bytes()
    first = await _burst(served.base_url, headers)
    rss_after_first = served.rss_bytes()
    second = await _burst(served.base_url, headers)
    rss_after_second = served.rss_bytes()
    async with httpx.AsyncClient(base_url=served.base_url, timeout=CLIENT_TIMEOUT_S) as http:
        after = await http.get("/v1/schools", headers=headers)

    answers = first["answers"] + second["answers"]
    latencies = [seconds for seconds, _ in answers]
    statuses = {r.status_code for _, r in answers}
    server_seconds = {
        r["request_id"]: r["duration_ms"] / 1000
        for r in served.log_records()
        if r["logger"] == "app.access"
    }
    waited = [server_seconds[r.headers["x-request-id"]] for _, r in answers]
    with capsys.disabled():
        print(
            "\n[overload] "
            f"pool 1 connection held {HOLD_S} s; 2 bursts of {BURST} requests: "
            f"statuses {sorted(statuses)}; 503 after (server) min {min(waited):.2f} s / "
            f"median {statistics.median(waited):.2f} s / max {max(waited):.2f} s, "
            f"(client) min {min(latencies):.2f} s / median {statistics.median(latencies):.2f} s"
            f" / max {max(latencies):.2f} s; "
            f"healthz during the burst {first['healthz'][0] * 1000:.0f} ms, "
            f"readyz {first['readyz'][1].status_code} after {first['readyz'][0]:.2f} s; "
            f"RSS {rss_before / 2**20:.1f} MiB before, {rss_after_first / 2**20:.1f} after "
            f"the first burst, {rss_after_second / 2**20:.1f} after the second"
        )

    for _, response in answers:
        assert_problem(response, 503, "database_unavailable")
        assert response.headers["retry-after"] == "2"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    # Each waited for the pool (about 2 s), and not much longer.
    assert all(POOL_TIMEOUT_S - 0.05 <= s < SERVER_503_BOUND_S for s in waited), sorted(waited)
    for burst in (first, second):
        # The process stays responsive, and readiness asks the database on a connection of its
        # own: an exhausted pool is overload, not an outage, and must not take every replica
        # out of rotation at once.
        assert burst["healthz"][1].status_code == 200
        assert burst["healthz"][0] < POOL_TIMEOUT_S
        assert burst["readyz"][1].status_code == 200
        assert burst["readyz"][0] < POOL_TIMEOUT_S
        # The request holding the connection finishes normally.
        assert burst["holder"][1].status_code == 200
    assert after.status_code == 200
    assert rss_after_first - rss_before < RSS_GROWTH_BOUND
    assert rss_after_second - rss_after_first < RSS_LEAK_BOUND
