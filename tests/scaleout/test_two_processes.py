"""Two server processes, one database: the service keeps no state in process.

Two real uvicorn processes serve `app.main:app` on two loopback ports, against the suite's test
database with the same JWT secret, as two replicas behind a load balancer would. Requests are
split between them, and everything the API promises must hold whichever process answers:
Idempotency-Key replays and refusals, single-winner transitions, the gap-free change feed and
client revocation.

Each test's own data is built through the API and truncated afterwards (`clean_tables`); the
processes live for the whole module.
"""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import Settings
from tests.clients.helpers import access_token, bearer, register
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Ctx, in_assess, new_ctx, today
from tests.factories import Api, pupil_body
from tests.reliability.serving import Served, uvicorn_process

READY_TIMEOUT_S = 30.0
# Generous: other work may be loading the machine. A hang still shows as a failure.
REQUEST_TIMEOUT_S = 30.0
RACERS = 12
FEED_WRITES = 20
REVOCATION_BOUND_S = 5.0  # SPEC.md §4: a revoked client's tokens stop working within 5 s

PROCESS = ("A", "B")


# --- the two processes ---------------------------------------------------------------------


def _wait_until_ready(served: Served, name: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"process {name} exited:\n{served.log_text()[-3000:]}")
        try:
            response = httpx.get(f"{served.base_url}/readyz", timeout=5.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as error:
            last = repr(error)
        time.sleep(0.1)
    raise AssertionError(f"process {name} not ready within {READY_TIMEOUT_S} s: {last}")


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Served]]:
    """Processes A and B: same DATABASE_URL, same secret; both stopped when the module ends."""
    logs: Path = tmp_path_factory.mktemp("scaleout")
    env = {"DATABASE_URL": database_url, "SEN_JWT_SECRET": JWT_SECRET}
    with ExitStack() as stack:
        started = [
            stack.enter_context(uvicorn_process("app.main:app", env, logs / f"{name}.log"))
            for name in PROCESS
        ]
        for served, name in zip(started, PROCESS, strict=True):
            _wait_until_ready(served, name)
        assert started[0].process.pid != started[1].process.pid
        assert started[0].base_url != started[1].base_url
        yield started


@pytest.fixture
async def clients(
    servers: list[Served], clean_tables: None
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """[A, B]; tables are emptied after each test."""
    async with (
        httpx.AsyncClient(base_url=servers[0].base_url, timeout=REQUEST_TIMEOUT_S) as a,
        httpx.AsyncClient(base_url=servers[1].base_url, timeout=REQUEST_TIMEOUT_S) as b,
    ):
        yield [a, b]


@pytest.fixture
def api_a(clients: list[httpx.AsyncClient], settings: Settings) -> Api:
    """Builds test data through process A."""
    return Api(clients[0], settings)


def alternate(clients: list[httpx.AsyncClient], count: int) -> list[httpx.AsyncClient]:
    """A, B, A, B, ... `count` long."""
    return [clients[i % len(clients)] for i in range(count)]


def statuses(responses: list[httpx.Response]) -> list[tuple[str, int]]:
    """(process, status) of each response, for assertion messages."""
    return [(PROCESS[i % len(PROCESS)], r.status_code) for i, r in enumerate(responses)]


async def requests_counted(servers: list[Served], method: str, route: str) -> list[Counter[int]]:
    """Per process: how many requests of this method and route template it answered, by status
    (its own Prometheus counters, so they are per process by construction)."""
    counts: list[Counter[int]] = []
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as http:
        for served in servers:
            response = await http.get(f"{served.base_url}/metrics")
            assert response.status_code == 200, response.text
            counted: Counter[int] = Counter()
            for family in text_string_to_metric_families(response.text):
                for sample in family.samples:
                    labels = sample.labels
                    if (
                        sample.name == "sen_http_requests_total"
                        and labels.get("method") == method
                        and labels.get("route") == route
                    ):
                        counted[int(labels["status"])] += int(sample.value)
            counts.append(counted)
    return counts


async def counted_after(
    servers: list[Served], method: str, route: str, before: list[Counter[int]], expected: int
) -> list[Counter[int]]:
    """The requests each process answered since `before`. The counter is bumped as the response
    finishes, a moment after the client has it: wait a little for all `expected`."""
    deadline = time.monotonic() + 5.0
    while True:
        now = await requests_counted(servers, method, route)
        delta = [n - b for n, b in zip(now, before, strict=True)]
        if sum(sum(d.values()) for d in delta) >= expected or time.monotonic() > deadline:
            return delta
        await asyncio.sleep(0.05)


# --- idempotency ---------------------------------------------------------------------------


def involvement_body() -> dict[str, Any]:
    return {
        "service": "educational_psychologist",
        "parents_involved_on": today(),
        "parental_consent": True,
        "requested_on": today(),
    }


async def test_a_key_used_on_a_replays_on_b_and_another_body_is_refused(
    api_a: Api, clients: list[httpx.AsyncClient], db: asyncpg.Connection
) -> None:
    a, b = clients
    school = await api_a.create_school()
    senco = api_a.senco(school)  # one caller (role and sub) for both processes
    key = f"scaleout-{uuid.uuid4()}"
    url = f"/v1/schools/{school['id']}/pupils"
    body = pupil_body()
    headers = {**senco, "Idempotency-Key": key}

    first = await a.post(url, json=body, headers=headers)
    assert first.status_code == 201, f"A: {first.text}"
    assert "idempotent-replayed" not in first.headers

    replay = await b.post(url, json=body, headers=headers)
    assert replay.status_code == first.status_code, f"B did not replay A's answer: {replay.text}"
    assert replay.headers.get("idempotent-replayed") == "true", dict(replay.headers)
    assert replay.content == first.content, "B's replay differs from A's answer"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers["location"] == first.headers["location"]
    assert replay.headers["etag"] == first.headers["etag"]
    pupils = await db.fetchval(
        "select count(*) from pupils where school_id = $1 and upn = $2",
        uuid.UUID(school["id"]),
        body["upn"],
    )
    assert pupils == 1

    # The key is the caller's, wherever it arrives: another body under it is refused on B...
    other = await b.post(url, json=pupil_body(), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    # ...and the first answer is still the one replayed, on both.
    for http, name in zip(clients, PROCESS, strict=True):
        again = await http.post(url, json=body, headers=headers)
        assert again.status_code == 201, f"{name}: {again.text}"
        assert again.content == first.content, f"{name} replayed something else"
    assert (
        await db.fetchval(
            "select count(*) from pupils where school_id = $1", uuid.UUID(school["id"])
        )
        == 1
    )

    # Another caller's identical key is another key: it creates (here: a duplicate UPN, 409).
    stranger = {**api_a.senco(school), "Idempotency-Key": key}
    assert_problem(await b.post(url, json=body, headers=stranger), 409, "conflict")


@pytest.mark.parametrize("stagger_s", [0.0, 0.01, 0.03], ids=["at-once", "10ms", "30ms"])
async def test_simultaneous_same_key_requests_on_both_processes_create_once(
    api_a: Api, clients: list[httpx.AsyncClient], db: asyncpg.Connection, stagger_s: float
) -> None:
    """A specialist involvement has no natural key: only the Idempotency-Key stands between a
    retry storm and duplicate rows. Sent all at once the duplicates mostly find the key in
    flight (409); staggered, the later ones find it settled and replay."""
    school = await api_a.create_school()
    pupil = await api_a.create_pupil(school)
    senco = api_a.senco(school)
    headers = {**senco, "Idempotency-Key": f"storm-{uuid.uuid4()}"}
    url = f"/v1/pupils/{pupil['id']}/specialist-involvements"
    body = involvement_body()

    async def send(http: httpx.AsyncClient, index: int) -> httpx.Response:
        await asyncio.sleep(index * stagger_s)
        return await http.post(url, json=body, headers=headers)

    responses = list(
        await asyncio.gather(*(send(http, i) for i, http in enumerate(alternate(clients, RACERS))))
    )
    seen = statuses(responses)
    created = [
        r
        for r in responses
        if r.status_code == 201 and r.headers.get("idempotent-replayed") != "true"
    ]
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    in_flight = [r for r in responses if r.status_code == 409]
    assert len(created) == 1, f"expected one creation: {seen}"
    assert len(created) + len(replayed) + len(in_flight) == RACERS, f"unexpected answers: {seen}"
    for response in replayed:
        assert response.status_code == 201, seen
        assert response.content == created[0].content, "a replay differs from the creation"
    for response in in_flight:
        assert_problem(response, 409, "idempotency_key_in_progress")

    rows = await db.fetchval(
        "select count(*) from specialist_involvements where pupil_id = $1",
        uuid.UUID(pupil["id"]),
    )
    assert rows == 1, f"{rows} rows for one key; answers {seen}"
    events = await db.fetchval(
        "select count(*) from events where type = 'specialist_involvement.created' "
        "and pupil_id = $1",
        uuid.UUID(pupil["id"]),
    )
    assert events == 1

    # Once settled, a retry on either process replays the one creation.
    for http, name in zip(clients, PROCESS, strict=True):
        retry = await http.post(url, json=body, headers=headers)
        assert retry.status_code == 201, f"{name}: {retry.text}"
        assert retry.headers.get("idempotent-replayed") == "true"
        assert retry.content == created[0].content


# --- single-winner transitions -------------------------------------------------------------


async def race_transition(
    ctx: Ctx, clients: list[httpx.AsyncClient], to: str, headers: dict[str, str]
) -> list[httpx.Response]:
    url = f"/v1/cycles/{ctx.cycle_id}/transitions"
    body = {"to": to, "departures": []}
    return list(
        await asyncio.gather(
            *(http.post(url, json=body, headers=headers) for http in alternate(clients, RACERS))
        )
    )


async def read_back_from_both(
    clients: list[httpx.AsyncClient], url: str, headers: dict[str, str]
) -> dict[str, Any]:
    """The resource read from A and from B: the same answer, which is returned."""
    answers = [await http.get(url, headers=headers) for http in clients]
    for response, name in zip(answers, PROCESS, strict=True):
        assert response.status_code == 200, f"{name}: {response.text}"
    assert answers[0].json() == answers[1].json(), "A and B disagree on the final state"
    assert answers[0].headers.get("etag") == answers[1].headers.get("etag")
    return dict(answers[0].json())


@pytest.mark.parametrize("if_match", [False, True], ids=["no-if-match", "same-if-match"])
async def test_simultaneous_transitions_on_both_processes_have_one_winner(
    api_a: Api,
    clients: list[httpx.AsyncClient],
    db: asyncpg.Connection,
    servers: list[Served],
    if_match: bool,
) -> None:
    ctx = await new_ctx(api_a, db)
    await in_assess(ctx)
    cycle_url = f"/v1/cycles/{ctx.cycle_id}"
    before = await read_back_from_both(clients, cycle_url, ctx.cycles.senco)
    assert before["stage"] == "assess"
    headers = dict(ctx.cycles.senco)
    if if_match:
        headers["If-Match"] = f'"{before["version"]}"'
    route = "/v1/cycles/{cycle_id}/transitions"
    counted_before = await requests_counted(servers, "POST", route)

    responses = await race_transition(ctx, clients, "plan", headers)

    seen = statuses(responses)
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, f"expected exactly one 200: {seen}"
    for response in responses:
        if response.status_code == 200:
            continue
        if if_match:
            assert_problem(response, 412, "stale_version")
        else:
            problem = assert_problem(response, 409, "invalid_transition")
            assert [v["rule"] for v in problem["violations"]] == ["cycle.next_stage"], problem
    assert winners[0].json()["stage"] == "plan"

    after = await read_back_from_both(clients, cycle_url, ctx.cycles.senco)
    assert after["stage"] == "plan"
    assert after["version"] == before["version"] + 1
    assert after == winners[0].json()
    transitioned = await db.fetchval(
        "select count(*) from events where type = 'cycle.transitioned' and resource_id = $1",
        uuid.UUID(ctx.cycle_id),
    )
    assert transitioned == 1

    # Both processes really took their half of the race (their own request counters).
    served = await counted_after(servers, "POST", route, counted_before, RACERS)
    assert [sum(c.values()) for c in served] == [RACERS // 2, RACERS // 2], served
    assert sum(c[200] for c in served) == 1, served


async def test_simultaneous_plan_openings_on_both_processes_give_one_plan(
    api_a: Api, clients: list[httpx.AsyncClient], db: asyncpg.Connection
) -> None:
    school = await api_a.create_school()
    pupil = await api_a.create_pupil(school)
    senco = api_a.senco(school)
    url = f"/v1/pupils/{pupil['id']}/support-plans"
    openers = 8
    responses = list(
        await asyncio.gather(
            *(http.post(url, json={}, headers=senco) for http in alternate(clients, openers))
        )
    )
    seen = statuses(responses)
    assert sorted(r.status_code for r in responses) == [201] + [409] * (openers - 1), seen
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "active_plan_exists")
    (plan,) = [r.json() for r in responses if r.status_code == 201]
    plans = await db.fetchval(
        "select count(*) from support_plans where pupil_id = $1", uuid.UUID(pupil["id"])
    )
    assert plans == 1
    read = await read_back_from_both(clients, f"/v1/support-plans/{plan['id']}", senco)
    assert read["id"] == plan["id"]
    pupil_read = await read_back_from_both(clients, f"/v1/pupils/{pupil['id']}", senco)
    assert pupil_read["sen_status"] == "K"


# --- the change feed -----------------------------------------------------------------------


async def feed_page(
    http: httpx.AsyncClient, headers: dict[str, str], after: int, limit: int
) -> dict[str, Any]:
    response = await http.get(
        "/v1/events", params={"after": after, "limit": limit}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def create_pupils_at_once(
    clients: list[httpx.AsyncClient], school: dict[str, Any], senco: dict[str, str], count: int
) -> list[str]:
    """`count` pupil creations split between A and B, all in flight at once; their ids."""

    async def one(http: httpx.AsyncClient) -> str:
        response = await http.post(
            f"/v1/schools/{school['id']}/pupils", json=pupil_body(), headers=senco
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return list(await asyncio.gather(*(one(http) for http in alternate(clients, count))))


def assert_contiguous(items: list[dict[str, Any]], first: int, what: str) -> None:
    seqs = [int(item["seq"]) for item in items]
    assert seqs == list(range(first, first + len(seqs))), f"{what}: seqs not gap-free: {seqs}"


async def test_writes_on_both_processes_form_one_ordered_gap_free_feed(
    api_a: Api, clients: list[httpx.AsyncClient], db: asyncpg.Connection
) -> None:
    admin = api_a.admin()
    school = await api_a.create_school()  # a school makes no event
    senco = api_a.senco(school)
    start = int(await db.fetchval("select last_seq from event_counter where id = 1"))

    # One after another, alternating A and B: the feed has them in the order they were made.
    made: list[str] = []
    for http in alternate(clients, FEED_WRITES):
        response = await http.post(
            f"/v1/schools/{school['id']}/pupils", json=pupil_body(), headers=senco
        )
        assert response.status_code == 201, response.text
        made.append(str(response.json()["id"]))

    pages = [await feed_page(http, admin, start, 1000) for http in clients]
    assert pages[0] == pages[1], "A and B answer different feeds"
    items = pages[0]["items"]
    assert [e["resource_id"] for e in items] == made, "the feed is not in the order of the writes"
    assert {e["type"] for e in items} == {"pupil.created"}
    assert_contiguous(items, start + 1, "sequential writes")
    assert pages[0]["next_cursor"] == items[-1]["seq"]

    # Small pages, each read from both: identical, and together the whole feed once.
    paged: list[dict[str, Any]] = []
    after = start
    for turn in range(100):
        page = await feed_page(clients[turn % 2], admin, after, 7)
        twin = await feed_page(clients[(turn + 1) % 2], admin, after, 7)
        assert page == twin, f"after={after}: A and B answer different pages"
        if not page["items"]:
            assert page["next_cursor"] is None
            break
        paged.extend(page["items"])
        after = int(page["next_cursor"])
    assert paged == items

    # Writes landing at once on both processes, while a poller reads from A and B in turn:
    # it sees every event exactly once, in seq order, with no gap.
    burst_start = start + FEED_WRITES
    polled: list[dict[str, Any]] = []
    writing = asyncio.create_task(create_pupils_at_once(clients, school, senco, FEED_WRITES))
    after, turn = burst_start, 0
    deadline = time.monotonic() + 4 * REQUEST_TIMEOUT_S
    while time.monotonic() < deadline:
        # Done only on an empty page asked for after every write was acknowledged.
        writes_acknowledged = writing.done()
        page = await feed_page(clients[turn % 2], admin, after, 5)
        turn += 1
        polled.extend(page["items"])
        if page["items"]:
            after = int(page["next_cursor"])
        elif writes_acknowledged:
            break
        else:
            await asyncio.sleep(0.01)
    burst = await writing
    assert_contiguous(polled, burst_start + 1, "the poller across A and B")
    assert len(polled) == FEED_WRITES, f"the poller saw {len(polled)} of {FEED_WRITES} events"
    assert Counter(e["resource_id"] for e in polled) == Counter(burst), "missed or doubled"

    final = [await feed_page(http, admin, start, 1000) for http in clients]
    assert final[0] == final[1], "A and B answer different feeds after the burst"
    assert final[0]["items"] == items + polled
    assert_contiguous(final[0]["items"], start + 1, "the whole feed")
    assert await db.fetchval("select count(*) from events where seq > $1", start) == 2 * FEED_WRITES
    for http in clients:
        assert await feed_page(http, admin, int(final[0]["next_cursor"]), 50) == {
            "items": [],
            "next_cursor": None,
        }


# --- revocation ----------------------------------------------------------------------------


async def test_a_client_revoked_through_a_is_refused_by_b_within_5_seconds(
    api_a: Api, clients: list[httpx.AsyncClient]
) -> None:
    a, b = clients
    client = await register(api_a, "platform_admin")
    token = await access_token(Api(b, api_a.settings), client)  # issued by B
    for http, name in zip(clients, PROCESS, strict=True):
        # Both processes have now seen the client active (and may remember it briefly).
        used = await http.get("/v1/schools", headers=bearer(token))
        assert used.status_code == 200, f"{name}: {used.text}"

    revoked = await a.delete(f"/v1/api-clients/{client['client_id']}", headers=api_a.admin())
    assert revoked.status_code == 204, revoked.text
    revoked_at = time.monotonic()

    refused_after: dict[str, float] = {}
    while len(refused_after) < len(clients) and time.monotonic() - revoked_at < 10:
        for http, name in zip(clients, PROCESS, strict=True):
            if name in refused_after:
                continue
            response = await http.get("/v1/schools", headers=bearer(token))
            if response.status_code == 401:
                assert_problem(response, 401, "unauthorized")
                refused_after[name] = time.monotonic() - revoked_at
            else:
                assert response.status_code == 200, f"{name}: {response.text}"
        await asyncio.sleep(0.05)
    assert set(refused_after) == set(PROCESS), f"still accepted after 10 s: {refused_after}"
    assert max(refused_after.values()) <= REVOCATION_BOUND_S, refused_after
    # No new token from either.
    again = await a.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert again.status_code == 401, again.text
