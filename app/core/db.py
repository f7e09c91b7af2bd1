"""Engine, sessions and the unit of work: one transaction per request (STYLE.md point 3).

`UnitOfWorkRoute` runs each request's handler inside one session and one transaction and commits
*before* the response leaves: a 2xx always describes durable work, and any error rolls
everything back. Owning the transaction in the route (rather than in a dependency) lets the
stored idempotent answer and the change-feed events go into that same transaction.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from starlette.responses import Response

from app.core import idempotency
from app.core.audit import forget_touched
from app.core.config import Settings
from app.core.errors import (
    DatabaseUnavailable,
    client_error_response,
    is_database_unavailable,
    sqlstate_of,
)
from app.core.outbox import discard_pending, write_pending
from app.core.security import current_principal

logger = logging.getLogger("app.db")

# The unit of work's session as services see it: they pass it to their repositories and never
# build a query themselves (services import no SQLAlchemy; the import contract checks it).
DbSession = AsyncSession


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


_ASYNCPG_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class DirectStatement:
    """One statement that is a whole unit of work (the hot pupil read with its audit entry in a
    data-modifying CTE), compiled once from SQLAlchemy to asyncpg's SQL and run on the direct
    pool outside any transaction. PostgreSQL makes a single statement atomic, and durable once
    it returns, on its own: no BEGIN and COMMIT round trips, no session, no ORM objects."""

    def __init__(self, statement: ClauseElement):
        compiled = statement.compile(dialect=_ASYNCPG_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Values fixed in the statement itself (literals); the rest come with each execution.
        self.fixed = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and name in self.names
        }

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        fixed = self.fixed
        return [fixed[name] if name in fixed else params[name] for name in self.names]


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Direct statements change no session state, so a released connection needs no
    `RESET ALL`/`UNLISTEN *` round trip before its next use."""


async def _init_direct(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_json_text, decoder=orjson.loads, format="text"
    )


def _server_settings(settings: Settings) -> dict[str, str]:
    server_settings = {
        "application_name": "sen-support-api",
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "lock_timeout": "5000",
    }
    if settings.db_role:
        # `role` is what SET ROLE sets; as a startup parameter it is also what RESET ROLE and
        # RESET ALL return to, so neither pool's reset undoes it.
        server_settings["role"] = settings.db_role
    return server_settings


class Database:
    """The engine and its pool, with every wait bounded.

    A request waits at most `db_pool_timeout_seconds` (2 s) for a pooled connection and as long
    again to open a new one (asyncpg's connect timeout), then answers 503. A stopped server
    refuses connections at once, so during an outage requests answer 503 in milliseconds. A
    statement runs at most `db_statement_timeout_ms` on the server, and the client gives up
    after the same time if the server stops answering altogether (`command_timeout`).

    No pre-ping: a connection broken by a database restart fails on its first use, which makes
    SQLAlchemy invalidate the whole pool (every connection opened before the failure is
    replaced on its next checkout), so recovery costs a 503 for the requests that were holding
    one, not a round trip on every checkout for ever.
    """

    def __init__(self, url: str, settings: Settings):
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=False,
            pool_recycle=1800,
            # JSONB columns (stage records, contacts, event data) through orjson, not stdlib json.
            json_serializer=_json_text,
            json_deserializer=orjson.loads,
            connect_args={
                "timeout": settings.db_pool_timeout_seconds,
                "command_timeout": settings.db_statement_timeout_ms / 1000 or None,
                "server_settings": _server_settings(settings),
            },
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.settings = settings
        self._direct_pool: asyncpg.Pool | None = None
        self._direct_pool_lock = asyncio.Lock()

    async def direct_pool(self) -> asyncpg.Pool:
        """asyncpg's own pool for `DirectStatement`s, opened on first use. Its connections have
        the engine's timeouts and server settings; waiting for one is bounded the same way."""
        if self._direct_pool is None:
            async with self._direct_pool_lock:
                if self._direct_pool is None:
                    settings = self.settings
                    self._direct_pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=0,
                        max_size=settings.db_direct_pool_size,
                        init=_init_direct,
                        reset=_no_reset,
                        timeout=settings.db_pool_timeout_seconds,
                        command_timeout=settings.db_statement_timeout_ms / 1000 or None,
                        server_settings=_server_settings(settings),
                    )
        return self._direct_pool

    @asynccontextmanager
    async def direct_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the direct pool, waited for at most the pool timeout (then 503)."""
        pool = await self.direct_pool()
        if pool.get_idle_size():
            # One is free: no wait to bound, so no timer to arm and cancel.
            connection = await pool.acquire()
        else:
            # asyncio.timeout rather than acquire(timeout=...), which spawns a task per call.
            async with asyncio.timeout(self.settings.db_pool_timeout_seconds):
                connection = await pool.acquire()
        try:
            yield connection
        finally:
            await pool.release(connection)

    async def fetch_all(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        """The statement's rows (asyncpg Records: read-only mappings)."""
        async with self.direct_connection() as connection:
            rows: list[Mapping[str, Any]] = await connection.fetch(
                statement.sql, *statement.arguments(params)
            )
        return rows

    async def fetch_one(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The statement's first row (an asyncpg Record: a read-only mapping), or None."""
        async with self.direct_connection() as connection:
            row: Mapping[str, Any] | None = await connection.fetchrow(
                statement.sql, *statement.arguments(params)
            )
        return row

    async def ping(self, wait_seconds: float) -> None:
        """One query on a connection of its own, not from the pool: readiness says whether the
        database answers, and an exhausted pool (overload) must not take every replica out of
        rotation at once."""
        connection = await asyncpg.connect(self.dsn, timeout=wait_seconds)
        try:
            await connection.fetchval("select 1", timeout=wait_seconds)
        finally:
            await connection.close(timeout=wait_seconds)

    async def dispose(self) -> None:
        if self._direct_pool is not None:
            await self._direct_pool.close()
            self._direct_pool = None
        await self.engine.dispose()


async def _run_idempotently(
    session: AsyncSession,
    request: Request,
    handler: Callable[[Request], Awaitable[Response]],
    key: str,
) -> Response:
    # The whole caller check, API-client revocation included, before any stored answer is
    # replayed; the route's own dependencies check it again (cached) for a first request.
    principal = await current_principal(request)
    claimed = await idempotency.claim(session, request, principal, key)
    if isinstance(claimed, idempotency.StoredAnswer):
        return await idempotency.replay(session, principal, claimed)
    try:
        # A savepoint, so that a refused request (4xx) undoes its partial work but keeps the
        # key's lock and can still store its answer in this transaction.
        async with session.begin_nested():
            response = await handler(request)
    except Exception as error:
        discard_pending(session)
        forget_touched(session)
        refused = client_error_response(error)
        if refused is None:
            raise
        response = refused
    if idempotency.is_stored(response):
        await idempotency.store(session, claimed, response)
    return response


def _asks_for_session(dependant: Dependant) -> bool:
    return any(
        sub.call is request_session or _asks_for_session(sub) for sub in dependant.dependencies
    )


class UnitOfWorkRoute(APIRoute):
    """Every request in one transaction, except reads that never ask for a `Session` (they run
    `DirectStatement`s, each atomic on its own): those get no session and no BEGIN/COMMIT."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        sessionless = (self.methods or set()) <= {"GET", "HEAD"} and not _asks_for_session(
            self.dependant
        )

        async def run_in_transaction(request: Request) -> Response:
            database: Database = request.app.state.database
            key = None if sessionless else idempotency.requested_key(request)
            try:
                if sessionless:
                    return await handler(request)
                async with database.sessionmaker() as session:
                    request.state.session = session
                    async with session.begin():
                        if key is None:
                            response = await handler(request)
                        else:
                            response = await _run_idempotently(session, request, handler, key)
                        await write_pending(session)
                    # Committed: only now may the answer leave.
            except Exception as error:
                # Whatever the handler was doing, a lost database (or no free connection) is a
                # 503 to retry, not a 500; nothing was committed, or the commit's fate is
                # unknown and the Idempotency-Key retry settles it.
                if not is_database_unavailable(error):
                    raise
                logger.warning(
                    "database unavailable: %s",
                    type(error).__name__,
                    extra={"route": self.path, "sqlstate": sqlstate_of(error)},
                )
                raise DatabaseUnavailable("The database cannot be reached; retry shortly") from None
            return response

        return run_in_transaction


class BulkWriteRoute(UnitOfWorkRoute):
    """A unit of work that is a large write (a 1,000-pupil batch: ~100 ms of CPU with a
    connection held): a few run at once per process (`SEN_BULK_WRITES`), the others wait their
    turn, holding no connection. Admitted all at once, 32 batches held every pooled connection
    for seconds and most answered 503; queued, they complete at the same total rate and reads
    keep their connections.

    A request takes its turn only once its token is checked and its whole body has arrived
    (SPEC.md §5): a caller with no valid token is answered 401 without queueing, and one that
    trickles its body waits for it outside the queue (and gets 408 after
    `SEN_REQUEST_READ_TIMEOUT`), so neither can hold the turns real batches need. The route's
    own dependencies check the token again from the verified-token cache, and read the body
    Starlette kept on the request."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def admitted(request: Request) -> Response:
            # Revocation included; its database check (at most every 2 s per client) is done
            # and its connection returned before the wait.
            await current_principal(request)
            await request.body()
            slots: asyncio.Semaphore = request.app.state.bulk_write_slots
            wait = request.app.state.settings.bulk_write_queue_seconds
            try:
                async with asyncio.timeout(wait):
                    await slots.acquire()
            except TimeoutError:
                raise DatabaseUnavailable(
                    "Too many bulk writes are queued; retry shortly"
                ) from None
            try:
                return await handler(request)
            finally:
                slots.release()

        return admitted


async def request_session(request: Request) -> AsyncSession:
    # async, so FastAPI calls it on the event loop rather than in a worker thread.
    session: AsyncSession = request.state.session
    return session


Session = Annotated[AsyncSession, Depends(request_session)]


async def request_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


CurrentDatabase = Annotated[Database, Depends(request_database)]
