"""SIGTERM lets in-flight requests finish, refuses new connections, and ends the process promptly.

The exit status is uvicorn's: after a complete graceful shutdown it re-raises the signal it
caught (uvicorn >= 0.29), so the process ends "terminated by SIGTERM" (143 in a shell), which is
what supervisors expect of a process they sent SIGTERM to, rather than 0. The log shows the
shutdown ran to its end.
"""

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import JWT_SECRET
from tests.reliability.serving import Served, uvicorn_process

SLOW_S = 2.0
GRACE_S = 10  # uvicorn --timeout-graceful-shutdown, as in the Dockerfile (20 there)


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    env = {"DATABASE_URL": database_url, "SEN_JWT_SECRET": JWT_SECRET}
    with uvicorn_process(
        "tests.reliability.apps:app_with_test_routes",
        env,
        tmp_path / "server.log",
        factory=True,
        graceful_shutdown_s=GRACE_S,
    ) as served:
        yield served


async def test_sigterm_lets_the_request_in_flight_finish_and_exits_cleanly(
    served: Served, capsys: Any
) -> None:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=GRACE_S + 5) as http:
        # A request that holds a database connection in a transaction for SLOW_S seconds.
        in_flight = asyncio.create_task(http.get("/test/hold", params={"seconds": SLOW_S}))
        await asyncio.sleep(0.5)
        assert not in_flight.done()
        served.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.sleep(0.3)
        with pytest.raises(httpx.ConnectError):
            # A new client: the listening socket is closed, nothing new is taken on.
            async with httpx.AsyncClient(base_url=served.base_url, timeout=2) as late:
                await late.get("/healthz")
        response = await in_flight
        answered = time.monotonic() - signalled
    returncode = await asyncio.to_thread(served.process.wait, GRACE_S + 5)
    exited = time.monotonic() - signalled

    with capsys.disabled():
        print(
            f"\n[shutdown] SIGTERM with a {SLOW_S} s request in flight: it answered "
            f"{response.status_code} {answered:.2f} s after the signal; the process ended "
            f"(status {returncode}) {exited:.2f} s after the signal"
        )
    assert response.status_code == 200 and response.json() == {"held": SLOW_S}
    assert returncode == -signal.SIGTERM  # the signal re-raised after shutdown, not a kill
    assert exited < SLOW_S + 2.0  # promptly: not the whole grace period
    records = served.log_records()  # every line JSON, uvicorn's included
    messages = [r["message"] for r in records]
    assert "Waiting for connections to close. (CTRL+C to force quit)" in messages
    assert "Application shutdown complete." in messages  # lifespan ran: the pool was disposed
    assert messages[-1].startswith("Finished server process")
    access = [r for r in records if r["logger"] == "app.access" and r["route"] == "/test/hold"]
    assert [r["status"] for r in access] == [200]
