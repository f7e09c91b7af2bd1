"""Slow and oversized clients, against uvicorn serving the app for real (loopback only).

The server runs with the settings scaled down (SEN_REQUEST_READ_TIMEOUT 3 s, two bulk-write
slots) so that each test takes seconds; every wait below is bounded, and every "closed within"
bound sits well above the configured timeout, for a loaded two-core machine.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.security import Role, mint_token
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem
from tests.factories import pupil_body, school_body
from tests.reliability.serving import Served, uvicorn_process

READ_TIMEOUT_S = 3.0
BULK_SLOTS = 2
QUEUE_S = 5.0
MAX_HEADER_BYTES = 16 * 1024
# "Closed within the timeout": the timeout plus the server's 1 s of grace for a body, plus
# room for a busy machine. Nothing legitimate is closed before the timeout either.
CLOSE_BOUND_S = READ_TIMEOUT_S + 4.0
TRICKLE_EVERY_S = 0.25
GIVE_UP_S = 15.0  # every loop below ends by then, fixed or not
ENDLESS_HEAD_BYTES = 20 * 1024 * 1024
RSS_GROWTH_BOUND = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {
        "DATABASE_URL": database_url,
        "SEN_JWT_SECRET": JWT_SECRET,
        "SEN_REQUEST_READ_TIMEOUT": str(READ_TIMEOUT_S),
        "SEN_BULK_WRITES": str(BULK_SLOTS),
        "SEN_BULK_WRITE_QUEUE_SECONDS": str(QUEUE_S),
    }
    log = tmp_path_factory.mktemp("slow-clients") / "server.log"
    with uvicorn_process("app.main:app", env, log) as served:
        yield served


def _address(served: Served) -> tuple[str, int]:
    host, port = served.base_url.removeprefix("http://").split(":")
    return host, int(port)


def _bearer(settings: Settings, role: Role, **scope: Any) -> str:
    return f"Bearer {mint_token(settings, sub=f'slow-{uuid.uuid4().hex[:6]}', role=role, **scope)}"


class RawClient:
    """One TCP connection that writes exactly what a test says, and reads whatever comes back
    until the server closes it (or GIVE_UP_S passes)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.opened = time.monotonic()
        self.received = b""
        self.first_byte_after: float | None = None
        self.closed_after: float | None = None
        self.reading = asyncio.create_task(self._read_until_closed())

    @classmethod
    async def connect(cls, served: Served) -> "RawClient":
        reader, writer = await asyncio.open_connection(*_address(served))
        return cls(reader, writer)

    async def _read_until_closed(self) -> None:
        try:
            async with asyncio.timeout(GIVE_UP_S):
                while True:
                    try:
                        chunk = await self.reader.read(65536)
                    except ConnectionError:
                        chunk = b""
                    if not chunk:
                        self.closed_after = time.monotonic() - self.opened
                        return
                    if self.first_byte_after is None:
                        self.first_byte_after = time.monotonic() - self.opened
                    self.received += chunk
        except TimeoutError:
            return

    async def send(self, data: bytes) -> bool:
        """False once the server has gone."""
        if self.writer.is_closing() or self.reading.done():
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError:
            return False
        return True

    async def trickle(self, piece: bytes) -> None:
        """`piece` every TRICKLE_EVERY_S until the server answers or closes, or GIVE_UP_S."""
        deadline = self.opened + GIVE_UP_S
        while time.monotonic() < deadline and not self.received:
            if not await self.send(piece):
                return
            await asyncio.sleep(TRICKLE_EVERY_S)

    async def wait_closed(self) -> None:
        await self.reading
        self.writer.close()

    @property
    def status(self) -> int | None:
        if not self.received.startswith(b"HTTP/1.1 "):
            return None
        return int(self.received[9:12])


def _head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


async def _school(served: Served, settings: Settings) -> dict[str, Any]:
    admin = {"Authorization": _bearer(settings, Role.PLATFORM_ADMIN)}
    async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:
        response = await http.post("/v1/schools", json=school_body(), headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_trickled_batches_with_no_token_or_a_slow_body_hold_no_bulk_slot(
    served: Served, settings: Settings, clean_tables: None, capsys: Any
) -> None:
    """The review's starvation: batches that never finish arriving, twice as many as there are
    slots, while an MIS sends a real batch. Half have no token, half a valid one."""
    school = await _school(served, settings)
    path = f"/v1/schools/{school['id']}/pupils/batch"
    mis = {"Authorization": _bearer(settings, Role.MIS_INTEGRATION, school_id=school["id"])}
    async with httpx.AsyncClient(base_url=served.base_url, timeout=QUEUE_S + 10) as http:
        warm = await http.post(path, json={"items": [pupil_body()]}, headers=mis)
        assert warm.status_code == 200, warm.text

        declared = "Content-Length: 100000"
        json_type = "Content-Type: application/json"
        anonymous = [await RawClient.connect(served) for _ in range(BULK_SLOTS)]
        signed = [await RawClient.connect(served) for _ in range(BULK_SLOTS)]
        for client in anonymous:
            await client.send(_head("POST", path, json_type, declared) + b'{"items": [')
        for client in signed:
            head = _head(
                "POST", path, json_type, declared, f"Authorization: {mis['Authorization']}"
            )
            await client.send(head + b'{"items": [')
        trickling = [asyncio.create_task(c.trickle(b" ")) for c in anonymous + signed]
        await asyncio.sleep(0.5)  # every one of them has reached the app

        started = time.monotonic()
        response = await http.post(
            path, json={"items": [pupil_body() for _ in range(3)]}, headers=mis
        )
        batch_s = time.monotonic() - started
        signed_still_sending = [c.closed_after is None and not c.received for c in signed]

    await asyncio.gather(*trickling)
    for client in anonymous + signed:
        await client.wait_closed()

    with capsys.disabled():
        print(
            f"\n[slow clients] batch beside {2 * BULK_SLOTS} trickled ones: "
            f"{response.status_code} in {batch_s:.2f} s; without a token: answered after "
            f"{[round(c.first_byte_after or -1, 2) for c in anonymous]} s, closed after "
            f"{[round(c.closed_after or -1, 2) for c in anonymous]} s; slow body: answered "
            f"after {[round(c.first_byte_after or -1, 2) for c in signed]} s, closed after "
            f"{[round(c.closed_after or -1, 2) for c in signed]} s"
        )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["created"] * 3
    # It did not wait for a slot: the slow bodies were still arriving when it was answered.
    assert batch_s < READ_TIMEOUT_S
    assert all(signed_still_sending)
    for client in anonymous:
        # Refused at once, for the token alone, and the connection closed once the body was
        # overdue (the server does not keep reading a refused request's body for ever).
        assert client.status == 401, client.received[:200]
        assert client.first_byte_after is not None and client.first_byte_after < 1.5
        assert client.closed_after is not None and client.closed_after < CLOSE_BOUND_S
    for client in signed:
        assert client.status == 408, client.received[:200]
        assert b"request_timeout" in client.received
        assert client.closed_after is not None
        assert READ_TIMEOUT_S - 0.1 <= client.closed_after < CLOSE_BOUND_S


async def test_a_head_that_never_completes_is_answered_408_and_closed(
    served: Served, capsys: Any
) -> None:
    client = await RawClient.connect(served)
    await client.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await client.trickle(b"X-Slow: 1\r\n")
    await client.wait_closed()
    with capsys.disabled():
        print(f"\n[slow clients] trickled head closed after {client.closed_after} s")
    assert client.closed_after is not None, "still open after GIVE_UP_S"
    assert READ_TIMEOUT_S - 0.1 <= client.closed_after < CLOSE_BOUND_S
    assert client.status == 408, client.received[:200]
    assert b"application/problem+json" in client.received
    assert b"request_timeout" in client.received


async def test_a_connection_that_sends_nothing_is_closed(served: Served) -> None:
    client = await RawClient.connect(served)
    await client.wait_closed()
    assert client.closed_after is not None, "still open after GIVE_UP_S"
    assert READ_TIMEOUT_S - 0.1 <= client.closed_after < CLOSE_BOUND_S
    assert client.received == b""


async def test_blank_lines_do_not_keep_a_connection_open(served: Served) -> None:
    """llhttp skips empty lines before a request line without starting a request."""
    client = await RawClient.connect(served)
    await client.trickle(b"\r\n")
    await client.wait_closed()
    assert client.closed_after is not None, "still open after GIVE_UP_S"
    assert READ_TIMEOUT_S - 0.1 <= client.closed_after < CLOSE_BOUND_S


async def test_a_body_that_never_completes_is_answered_408_and_closed(
    served: Served, settings: Settings, capsys: Any
) -> None:
    client = await RawClient.connect(served)
    head = _head(
        "POST",
        "/v1/schools",
        "Content-Type: application/json",
        "Content-Length: 1000",
        f"Authorization: {_bearer(settings, Role.PLATFORM_ADMIN)}",
    )
    await client.send(head + b'{"name": ')
    await client.trickle(b" ")
    await client.wait_closed()
    with capsys.disabled():
        print(
            f"\n[slow clients] trickled body answered after {client.first_byte_after} s, "
            f"closed after {client.closed_after} s"
        )
    assert client.status == 408, client.received[:200]
    assert b"request_timeout" in client.received
    assert b"connection: close" in client.received.lower()
    assert client.closed_after is not None
    assert READ_TIMEOUT_S - 0.1 <= client.closed_after < CLOSE_BOUND_S


async def test_a_connection_that_keeps_within_the_limits_is_never_cut(
    served: Served, settings: Settings, clean_tables: None
) -> None:
    """Requests split across reads, with pauses under the timeout, on one connection kept
    alive past the timeout: every one is answered and the connection stays open."""
    client = await RawClient.connect(served)
    await client.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await asyncio.sleep(READ_TIMEOUT_S / 2)
    await client.send(b"X-Late: 1\r\n\r\n")
    await asyncio.sleep(READ_TIMEOUT_S * 0.8)  # past the connection's first deadline
    body = json.dumps(school_body()).encode()
    head = _head(
        "POST",
        "/v1/schools",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Authorization: {_bearer(settings, Role.PLATFORM_ADMIN)}",
    )
    await client.send(head + body[:10])
    await asyncio.sleep(READ_TIMEOUT_S / 2)
    await client.send(body[10:])
    await asyncio.sleep(1.0)
    answers = client.received
    still_open = client.closed_after is None
    client.writer.close()
    await client.wait_closed()
    assert answers.startswith(b"HTTP/1.1 200 "), answers[:200]
    assert b"HTTP/1.1 201 " in answers, answers[-300:]
    assert still_open


async def test_headers_over_16_kib_answer_431_and_under_pass(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as http:
        under = await http.get("/healthz", headers={"X-Filler": "a" * (MAX_HEADER_BYTES - 1024)})
        over = await http.get("/healthz", headers={"X-Filler": "a" * (20 * 1024)})
        many = await http.get("/healthz", headers={f"X-Filler-{n}": "a" * 1024 for n in range(20)})
    assert under.status_code == 200
    assert_problem(over, 431, "request_header_fields_too_large")
    assert_problem(many, 431, "request_header_fields_too_large")


async def test_a_target_over_64_kib_answers_414_and_a_long_query_passes(served: Served) -> None:
    answers = {}
    for length in (60_000, 70_000):  # sent whole: the limit holds however the reads fall
        client = await RawClient.connect(served)
        await client.send(_head("GET", f"/healthz?q={'a' * length}", "Connection: close"))
        await client.wait_closed()
        answers[length] = client
    assert answers[60_000].status == 200, answers[60_000].received[:200]
    assert answers[70_000].status == 414, answers[70_000].received[:200]
    assert b"uri_too_long" in answers[70_000].received


def _sample_rss(served: Served, stop: asyncio.Event, peaks: list[int]) -> None:
    while not stop.is_set():
        peaks.append(served.rss_bytes())
        time.sleep(0.01)


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ", id="header"),
        pytest.param(b"GET /healthz?q=", id="target"),
    ],
)
async def test_an_endless_head_is_cut_off_with_memory_bounded(
    served: Served, start: bytes, capsys: Any
) -> None:
    """20 MB of one header, or of a URL, that never ends: refused after the first 16 or 64 KiB
    or so, with the server's memory (sampled every 10 ms while it lasts) flat."""
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as http:
        for _ in range(5):
            assert (await http.get("/healthz")).status_code == 200
    rss_before = served.rss_bytes()
    stop = asyncio.Event()
    peaks: list[int] = []
    sampler = asyncio.create_task(asyncio.to_thread(_sample_rss, served, stop, peaks))

    client = await RawClient.connect(served)
    sent = 0
    piece = b"a" * 65536
    started = time.monotonic()
    if await client.send(start):
        while sent < ENDLESS_HEAD_BYTES and time.monotonic() - started < GIVE_UP_S:
            if not await client.send(piece):
                break
            sent += len(piece)
    refused_s = time.monotonic() - started
    await client.wait_closed()
    stop.set()
    await sampler
    growth = max(peaks, default=rss_before) - rss_before
    with capsys.disabled():
        print(
            f"\n[slow clients] endless {start[:16]!r}: {sent / 2**20:.1f} MiB sent before the "
            f"server cut it off after {refused_s:.2f} s (status {client.status}); RSS "
            f"{rss_before / 2**20:.1f} MiB before, peak growth {growth / 2**20:.2f} MiB"
        )
    assert sent < ENDLESS_HEAD_BYTES, "the server took the whole endless head"
    assert client.closed_after is not None and client.closed_after < 5.0
    assert growth < RSS_GROWTH_BOUND
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200
