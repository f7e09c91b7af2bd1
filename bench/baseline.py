"""The bare baselines: the hot read (one pupil by id, as JSON) with no framework, auth or
validation, served by the same uvicorn, event loop (uvloop) and HTTP parser (httptools) as the
service. Every ratio the benchmark prints is against the faster of the two.

They do the same database work as the service's hot read (the issue's definition of the
baseline): the pupil's row and its audit entry, in one statement that commits on its own
(`AUDITED_QUERY`; the caller is a constant, as there is no auth). The same apps also answer
`/select-only/pupils/{id}` with the bare SELECT and no audit entry, a row the benchmark prints
for information: the difference between the two is the cost of writing and committing the
audit entry, which no framework work can remove.

What makes them the fastest honest bare apps on this runtime (STYLE.md, "Performance habits"):

- asyncpg's own pool, sized like the service's pool for this statement
  (`SEN_DB_DIRECT_POOL_SIZE`, default 10), with the reset query switched off: the statement
  changes no session state, so a released connection needs no `RESET ALL`/`UNLISTEN *` round
  trip, and each request is exactly one Bind/Execute/Sync round trip;
- one prepared statement (asyncpg's statement cache) selecting the columns `PupilOut` shows;
- orjson, with `contacts` passed through as the JSON text PostgreSQL sends (`orjson.Fragment`)
  rather than decoded and encoded again.

`app` is a minimal Starlette app (one route); `raw_app` is the same work as a bare ASGI callable,
without even Starlette's routing and request objects.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PUPIL_COLUMNS = (
    "id, version, created_at, updated_at, school_id, upn, first_name, last_name, "
    "date_of_birth, year_group, home_la_code, pupil_premium, primary_need, secondary_need, "
    "contacts, left_on, sen_status"
)
PUPIL_QUERY = f"SELECT {PUPIL_COLUMNS} FROM pupils WHERE id = $1"
AUDITED_QUERY = (
    f"WITH scoped AS (SELECT {PUPIL_COLUMNS} FROM pupils WHERE id = $1), "
    "audited AS (INSERT INTO audit_entries "
    "(actor_sub, actor_role, action, resource, resource_id, pupil_id, school_id, request_id) "
    "SELECT 'bench', 'senco', 'read', 'pupil', id, id, school_id, 'bench' FROM scoped) "
    f"SELECT {PUPIL_COLUMNS} FROM scoped"
)
SELECT_ONLY_PREFIX = "/select-only/pupils/"
NOT_FOUND = b'{"detail":"Not Found"}'

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _dsn() -> str:
    url = os.environ["DATABASE_URL"]
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Released connections are reused as they are: nothing here changes session state."""


async def _init(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=str, decoder=orjson.Fragment, format="text"
    )


async def create_pool() -> asyncpg.Pool:
    size = int(os.environ.get("SEN_DB_DIRECT_POOL_SIZE", "10"))
    pool = await asyncpg.create_pool(
        _dsn(), min_size=size, max_size=size, init=_init, reset=_no_reset
    )
    assert pool is not None
    return pool


def pupil_json(row: asyncpg.Record) -> bytes:
    # asyncpg's UUID type is not one orjson knows; str() is its canonical form.
    return orjson.dumps(dict(row), default=str, option=orjson.OPT_UTC_Z)


async def read_pupil(pool: asyncpg.Pool, pupil_id: str, query: str = AUDITED_QUERY) -> bytes | None:
    try:
        row = await pool.fetchrow(query, pupil_id)
    except asyncpg.DataError:  # not a UUID
        return None
    return None if row is None else pupil_json(row)


# -- Starlette ---------------------------------------------------------------------------------


@asynccontextmanager
async def _lifespan(app: Starlette) -> Any:
    app.state.pool = await create_pool()
    try:
        yield
    finally:
        await app.state.pool.close()


async def _get_pupil(request: Request) -> Response:
    return await _pupil_response(request, AUDITED_QUERY)


async def _get_pupil_select_only(request: Request) -> Response:
    return await _pupil_response(request, PUPIL_QUERY)


async def _pupil_response(request: Request, query: str) -> Response:
    body = await read_pupil(request.app.state.pool, request.path_params["pupil_id"], query)
    if body is None:
        return Response(NOT_FOUND, status_code=404, media_type="application/json")
    return Response(body, media_type="application/json")


async def _healthz(_request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/v1/pupils/{pupil_id}", _get_pupil),
        Route(SELECT_ONLY_PREFIX + "{pupil_id}", _get_pupil_select_only),
        Route("/healthz", _healthz),
    ],
    lifespan=_lifespan,
)


# -- bare ASGI ---------------------------------------------------------------------------------

_raw_pool: asyncpg.Pool | None = None
PUPIL_PREFIX = "/v1/pupils/"


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    global _raw_pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _raw_pool = await create_pool()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _raw_pool is not None:
                    await _raw_pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    path: str = scope["path"]
    if path.startswith(PUPIL_PREFIX) and _raw_pool is not None:
        body = await read_pupil(_raw_pool, path[len(PUPIL_PREFIX) :])
        if body is not None:
            await _send_json(send, 200, body)
            return
    elif path.startswith(SELECT_ONLY_PREFIX) and _raw_pool is not None:
        body = await read_pupil(_raw_pool, path[len(SELECT_ONLY_PREFIX) :], PUPIL_QUERY)
        if body is not None:
            await _send_json(send, 200, body)
            return
    elif path == "/healthz":
        await _send_json(send, 200, b'{"status":"ok"}')
        return
    await _send_json(send, 404, NOT_FOUND)
