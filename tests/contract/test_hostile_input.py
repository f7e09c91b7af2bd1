"""Hostile input: whatever arrives, the answer is a clear 4xx problem (or a 2xx for a request
that happens to be valid), never a 500, and the process's memory stays bounded.

Hypothesis drives arbitrary JSON (bodies of any shape, valid bodies with one field replaced by
anything, query strings of anything) at a handful of parsers; the rest are the classic attacks
one by one: oversized arrays, 10,000-deep nesting, invalid UTF-8, lone surrogates and NUL
characters, 100 KB query strings, large headers, NaN and Infinity, and numbers where money is
text. All run against one seeded world (tests/contract/world.py) on the real database.
"""

import base64
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract.world import World
from tests.cycles.helpers import FULL_ASSESSMENT, Cycles, full_plan, today
from tests.factories import pupil_body

PROBLEM = "application/problem+json"
SENCO, MIS, LA = "senco", "mis_integration", "la_officer"
HOSTILE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Scalars of every JSON kind, text included (NUL, lone surrogates, every plane), nested into
# lists and objects of arbitrary keys.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        ["", "\x00", "\ud800", "a\udfffb", " ", "2026-02-30", "9" * 400, "NaN", "-1", "true"]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)

# (method, path template, role, a valid body): the parsers the properties aim at.
TARGETS: list[tuple[str, str, str, Callable[[World], dict[str, Any]]]] = [
    ("POST", "/v1/schools/{school_id}/pupils", SENCO, lambda w: pupil_body()),
    ("PATCH", "/v1/pupils/{pupil_id}", MIS, lambda w: {"first_name": "Amira", "contacts": []}),
    (
        "POST",
        "/v1/pupils/{pupil_id}/concerns",
        SENCO,
        lambda w: {"raised_by": "teacher", "description": "Falling behind"},
    ),
    ("PUT", "/v1/cycles/{cycle_id}/plan", SENCO, lambda w: full_plan()),
    (
        "POST",
        "/v1/cycles/{cycle_id}/delivery-logs",
        SENCO,
        lambda w: {
            "provision_id": w.a.cycle["plan"]["provisions"][0]["id"],
            "delivered_on": today(),
            "minutes": 30,
        },
    ),
    (
        "POST",
        "/v1/funding-claims/{claim_id}/transitions",
        LA,
        lambda w: {"to": "partially_approved", "decided_amount": "100.00"},
    ),
    ("POST", "/v1/schools/{school_id}/pupils/batch", MIS, lambda w: {"items": [pupil_body()]}),
    (
        "PUT",
        "/v1/schools/{school_id}/notional-sen-budget/{period}",
        SENCO,
        lambda w: {"amount": "45000.00"},
    ),
]


def url(world: World, template: str) -> str:
    path = template
    for name, value in world.a.ids.items():
        path = path.replace("{" + name + "}", value)
    return path


def assert_clear(response: httpx.Response) -> None:
    """A 2xx, or a 4xx problem+json that says what is wrong: never a 5xx."""
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    body = response.json()
    assert body["status"] == response.status_code and body["code"] and body["detail"], body
    if response.status_code == 422 and body["code"] == "validation_error":
        assert body["errors"], body


async def send(
    world: World, method: str, template: str, role: str, content: bytes, **headers: str
) -> httpx.Response:
    return await world.api.http.request(
        method,
        url(world, template),
        content=content,
        headers={
            **world.headers(role),
            "content-type": "application/json",
            **headers,
        },
    )


def as_json(value: Any) -> bytes:
    # Escaped ASCII: lone surrogates travel as \ud800 escapes, as a hostile client would send.
    return json.dumps(value, allow_nan=False).encode()


# --- properties ---------------------------------------------------------------------------


@HOSTILE
@given(target=st.sampled_from(TARGETS), body=json_values)
async def test_a_body_of_any_shape_gets_a_clear_answer(
    seeded_world: World, target: Any, body: Any
) -> None:
    method, template, role, _ = target
    assert_clear(await send(seeded_world, method, template, role, as_json(body)))


@HOSTILE
@given(target=st.sampled_from(TARGETS), data=st.data(), value=json_values)
async def test_a_valid_body_with_one_field_replaced_by_anything_gets_a_clear_answer(
    seeded_world: World, target: Any, data: st.DataObject, value: Any
) -> None:
    method, template, role, valid = target
    body = valid(seeded_world)
    field = data.draw(st.sampled_from(sorted(body)), label="field")
    body[field] = value
    assert_clear(await send(seeded_world, method, template, role, as_json(body)))


@HOSTILE
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["sen_status", "year_group", "updated_since", "q", "limit", "cursor", "x", ""]
        ),
        st.text(max_size=60) | st.sampled_from(["\x00", "0", "-1", "1e9", "9" * 50]),
        max_size=6,
    )
)
async def test_a_query_string_of_anything_gets_a_clear_answer(
    seeded_world: World, params: dict[str, str]
) -> None:
    for template, role in (
        ("/v1/schools/{school_id}/pupils", SENCO),
        ("/v1/audit", SENCO),
        ("/v1/ehc-requests", LA),
    ):
        response = await seeded_world.api.http.get(
            url(seeded_world, template), params=params, headers=seeded_world.headers(role)
        )
        assert_clear(response)


# --- one attack at a time -----------------------------------------------------------------


def assert_refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def test_arrays_over_their_maximum_are_refused(seeded_world: World) -> None:
    world, http = seeded_world, seeded_world.api.http
    senco = world.headers(SENCO)
    batch = await http.post(
        url(world, "/v1/schools/{school_id}/pupils/batch"),
        json={"items": [{"upn": "A"}] * 1001},
        headers=world.headers(MIS),
    )
    assert_refused(batch, 422, "batch_too_large")
    oversized = [
        (
            "PATCH",
            "/v1/pupils/{pupil_id}",
            {"contacts": [{"name": "Aunt", "relationship": "aunt"}] * 21},
            "contacts",
        ),
        (
            "PUT",
            "/v1/cycles/{cycle_id}/plan",
            full_plan(outcomes=[{"description": "Read"}] * 51),
            "outcomes",
        ),
        (
            "POST",
            "/v1/cycles/{cycle_id}/transitions",
            {"to": "review", "departures": [{"rule": "x", "reason": "y" * 10}] * 31},
            "departures",
        ),
        (
            "POST",
            "/v1/pupils/{pupil_id}/support-plans",
            {"areas_of_need": ["cognition_and_learning"] * 5},
            "areas_of_need",
        ),
        ("PUT", "/v1/cycles/{cycle_id}/assessment", {"sources": ["parent_views"] * 9}, "sources"),
    ]
    for method, template, body, field in oversized:
        response = await http.request(method, url(world, template), json=body, headers=senco)
        problem = assert_refused(response, 422, "validation_error")
        assert field in [error["field"] for error in problem["errors"]], problem


@pytest.mark.parametrize("opening,closing", [(b"[", b"]"), (b'{"a":', b"}")])
async def test_json_nested_ten_thousand_deep_is_refused(
    seeded_world: World, opening: bytes, closing: bytes
) -> None:
    deep = opening * 10_000 + b"1" + closing * 10_000
    for method, template, role, _ in TARGETS:
        assert_refused(
            await send(seeded_world, method, template, role, deep), 422, "validation_error"
        )
    # Deep inside a field that takes anything (a batch item), and inside a text field.
    response = await send(seeded_world, "POST", TARGETS[6][1], MIS, b'{"items": [' + deep + b"]}")
    assert_refused(response, 422, "validation_error")
    content = b'{"raised_by": "teacher", "description": ' + deep + b"}"
    response = await send(seeded_world, "POST", TARGETS[2][1], SENCO, content)
    assert_refused(response, 422, "validation_error")
    # Nesting the parser takes (500 deep) still gets a clear answer where anything may go.
    moderate = b'{"items": [' + b"[" * 500 + b"1" + b"]" * 500 + b"]}"
    response = await send(seeded_world, "POST", TARGETS[6][1], MIS, moderate)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "error"


async def test_invalid_utf8_is_refused(seeded_world: World) -> None:
    for content in (
        b'{"raised_by": "teacher", "description": "caf\xe9"}',
        b'{"raised_by": "teacher", "description": "\xff\xfe\xfd"}',
        b"\xc3\x28",
    ):
        response = await send(seeded_world, "POST", TARGETS[2][1], SENCO, content)
        problem = assert_refused(response, 422, "validation_error")
        assert problem["errors"] == [{"field": "body", "message": "The body is not valid JSON"}]
    # An encoded surrogate: Python's JSON reader lets it through, the text check does not.
    content = b'{"raised_by": "teacher", "description": "\xed\xa0\x80"}'
    response = await send(seeded_world, "POST", TARGETS[2][1], SENCO, content)
    problem = assert_refused(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["description"]


# A keyset cursor, as the service encodes them, whose first value holds a NUL.
FORGED_CURSOR = base64.urlsafe_b64encode(json.dumps(["\x00", "", ""]).encode()).decode()


async def test_text_the_database_cannot_store_is_refused(seeded_world: World) -> None:
    """A NUL character or a lone surrogate (valid JSON escapes) cannot be stored as text."""
    for text in ('"a\\u0000b"', '"\\ud800"', '"\\udfff tail"', '"ok \\udbff\\udbff"'):
        body = b'{"raised_by": "teacher", "description": ' + text.encode() + b"}"
        response = await send(seeded_world, "POST", TARGETS[2][1], SENCO, body)
        problem = assert_refused(response, 422, "validation_error")
        assert [error["field"] for error in problem["errors"]] == ["description"], problem
    for params in ({"q": "a\x00b"}, {"cursor": FORGED_CURSOR}):
        response = await seeded_world.api.http.get(
            url(seeded_world, "/v1/schools/{school_id}/pupils"),
            params=params,
            headers=seeded_world.headers(SENCO),
        )
        assert_refused(response, 422, "validation_error")


async def raw_get(app: Any, path: str, query: bytes, headers: dict[str, str]) -> httpx.Response:
    """A GET straight into the ASGI app: HTTP clients refuse URLs this long before sending."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send_message(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    await app(scope, receive, send_message)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers_out = [(name.decode(), value.decode()) for name, value in start["headers"]]
    return httpx.Response(start["status"], headers=headers_out, content=body)


async def test_huge_query_strings_get_a_clear_answer(app: Any, seeded_world: World) -> None:
    world = seeded_world
    pupils = url(world, "/v1/schools/{school_id}/pupils")
    senco = world.headers(SENCO)
    hundred_kb = b"a" * 100_000
    for query in (b"q=" + hundred_kb, b"cursor=" + hundred_kb, b"limit=" + b"9" * 100_000):
        started = time.perf_counter()
        response = await raw_get(app, pupils, query, senco)
        assert time.perf_counter() - started < 2
        assert_refused(response, 422, "validation_error")
    # Parameters the operation does not take are ignored, however large or many.
    for query in (b"unknown=" + hundred_kb, b"&".join([b"q=Okafor"] * 10_000)):
        started = time.perf_counter()
        response = await raw_get(app, pupils, query, senco)
        assert time.perf_counter() - started < 2
        assert response.status_code == 200, response.text


async def test_large_headers_get_a_clear_answer(seeded_world: World) -> None:
    """Values a server accepts (uvicorn reads up to 16 KB of request head)."""
    world, http = seeded_world, seeded_world.api.http
    pupil = url(world, "/v1/pupils/{pupil_id}")
    big = "x" * 8_000
    response = await http.get(pupil, headers={"Authorization": f"Bearer {big}"})
    assert_refused(response, 401, "unauthorized")
    response = await http.get(pupil, headers={"Authorization": big})
    assert_refused(response, 401, "unauthorized")
    response = await http.get(pupil, headers={**world.headers(SENCO), "X-Request-ID": big})
    assert response.status_code == 200
    assert response.headers["x-request-id"] != big and len(response.headers["x-request-id"]) <= 64
    response = await http.patch(
        pupil, json={"first_name": "Amira"}, headers={**world.headers(SENCO), "If-Match": big}
    )
    assert_refused(response, 412, "stale_version")
    response = await http.post(
        url(world, "/v1/pupils/{pupil_id}/concerns"),
        json={"raised_by": "teacher", "description": "Falling behind"},
        headers={**world.headers(SENCO), "Idempotency-Key": big},
    )
    assert_refused(response, 422, "validation_error")
    response = await http.get(
        url(world, "/v1/schools/{school_id}/sen-register"),
        headers={**world.headers(SENCO), "Accept": ",".join(["text/csv;q=0.5"] * 500)},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"])
async def test_nan_and_infinity_are_refused(seeded_world: World, number: bytes) -> None:
    cases = [
        (
            "POST",
            "/v1/cycles/{cycle_id}/delivery-logs",
            b'{"provision_id": "%s", "delivered_on": "%s", "minutes": %s}'
            % (
                seeded_world.a.cycle["plan"]["provisions"][0]["id"].encode(),
                today().encode(),
                number,
            ),
            "minutes",
        ),
        (
            "PUT",
            "/v1/schools/{school_id}/notional-sen-budget/{period}",
            b'{"amount": %s}' % number,
            "amount",
        ),
        (
            "POST",
            "/v1/funding-claims/{claim_id}/transitions",
            b'{"to": "partially_approved", "decided_amount": %s}' % number,
            "decided_amount",
        ),
    ]
    for method, template, content, field in cases:
        role = LA if "funding-claims" in template else SENCO
        response = await send(seeded_world, method, template, role, content)
        problem = assert_refused(response, 422, "validation_error")
        assert field in [error["field"] for error in problem["errors"]], problem


MONEY_REFUSED: list[Any] = [
    6000,
    6000.0,
    6e3,
    True,
    None,
    "6000.001",
    "-1.00",
    "1e3",
    "NaN",
    "Infinity",
    "0x10",
    "6,000.00",
    "£6000.00",
    "00006000.00",
    "12345678901.00",
    "9" * 400,
    "\uff16\uff10\uff10\uff10",  # fullwidth digits
    "",
    [],
    {"amount": "6000.00"},
]


@pytest.mark.parametrize("amount", MONEY_REFUSED, ids=repr)
async def test_money_is_only_a_string_of_pounds_with_two_decimals(
    seeded_world: World, amount: Any
) -> None:
    world = seeded_world
    response = await world.api.http.put(
        url(world, "/v1/schools/{school_id}/notional-sen-budget/{period}"),
        json={"amount": amount},
        headers=world.headers(SENCO),
    )
    problem = assert_refused(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["amount"], problem


async def test_the_largest_money_is_stored_and_read_back(seeded_world: World) -> None:
    world = seeded_world
    path = url(world, "/v1/schools/{school_id}/notional-sen-budget/{period}")
    for amount, stored in (("9999999999.99", "9999999999.99"), ("0", "0.00"), ("0.5", "0.50")):
        response = await world.api.http.put(
            path, json={"amount": amount}, headers=world.headers(SENCO)
        )
        assert response.status_code == 200, response.text
        read = await world.api.http.get(path, headers=world.headers(SENCO))
        assert read.json()["amount"] == stored


async def test_provision_costs_beyond_what_money_can_hold_are_refused(
    seeded_world: World,
) -> None:
    """The largest hourly rate, five 10-hour sessions a week all year, fifty times over: the
    plan's cost would not fit in money (and a claim could not snapshot it)."""
    world = seeded_world
    cycles = Cycles(world.api, world.a.school)
    plan = await cycles.open_plan(world.a.classmate)
    cycle_id = plan["current_cycle_id"]
    await cycles.put(cycle_id, "assessment", FULL_ASSESSMENT)
    await cycles.advance(cycle_id, "plan")
    costly = {
        "kind": "support",
        "description": "1:1 support",
        "delivered_by": "teaching_assistant",
        "group_size": 1,
        "sessions_per_week": 50,
        "minutes_per_session": 600,
        "weeks_per_year": 52,
        "hourly_rate": "9999999999.99",
        "fixed_annual_cost": "9999999999.99",
    }
    response = await world.api.http.put(
        f"/v1/cycles/{cycle_id}/plan",
        json=full_plan(provisions=[costly] * 50),
        headers=cycles.senco,
    )
    problem = assert_refused(response, 422, "validation_error")
    assert problem["errors"][0]["field"].startswith("provisions"), problem
    # The most a plan may cost is accepted, and a claim on it can be submitted.
    affordable = {**costly, "hourly_rate": "1000.00", "fixed_annual_cost": "0.00"}
    cycle = await cycles.put(cycle_id, "plan", full_plan(provisions=[affordable]))
    assert cycle["plan"]["annual_cost"] == "26000000.00"


# --- memory -------------------------------------------------------------------------------


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for this process")


async def test_memory_stays_bounded_under_hostile_input(
    app: Any, seeded_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bodies just under and over the 1 MiB limit, deep nesting, invalid UTF-8 and huge query
    strings, 750 requests: the process's resident memory (the app runs in it) grows by little
    after a warm-up."""
    world = seeded_world
    under_limit = b'{"items": ["' + b"x" * 1_040_000 + b'"]}'
    over_limit = b'{"items": ["' + b"x" * 1_100_000 + b'"]}'
    deep = b"[" * 10_000 + b"]" * 10_000
    query = b"q=" + b"a" * 100_000

    async def round_of_attacks() -> None:
        answers = [
            (await send(world, *TARGETS[6][:3], content)).status_code
            for content in (under_limit, over_limit, deep, b"\xff" * 1000)
        ]
        assert answers == [200, 413, 422, 422]
        path = url(world, "/v1/schools/{school_id}/pupils")
        response = await raw_get(app, path, query, world.headers(SENCO))
        assert response.status_code == 422

    for _ in range(50):
        await round_of_attacks()
    gc.collect()
    before = resident_bytes()
    for _ in range(150):
        await round_of_attacks()
    gc.collect()
    grown = resident_bytes() - before
    with capsys.disabled():
        print(f"\n[hostile] RSS {before / 2**20:.1f} MiB, +{grown / 2**20:.1f} MiB in 750 requests")
    assert grown < 40 * 2**20
