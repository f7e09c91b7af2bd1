"""Engine, sessions and the unit of work: one transaction per request (STYLE.md point 3).

`UnitOfWorkRoute` runs each request's handler inside one session and one transaction and commits
*before* the response leaves: a 2xx always describes durable work, and any error rolls
everything back. Owning the transaction in the route (rather than in a dependency) lets the
stored idempotent answer and the change-feed events go into that same transaction.
"""

import asyncio
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _effective_route_context_var
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
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


# The connection, or the server behind it, is gone (or its protocol state is in doubt).
_LOST = (
    OSError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


class _Compiled:
    """A statement as the driver takes it: SQL with positional parameters, the names in their
    order, and the values fixed in the statement itself (literals)."""

    __slots__ = ("fixed", "names", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.fixed = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and name in self.names
        }

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        fixed = self.fixed
        return [fixed[name] if name in fixed else params[name] for name in self.names]


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Single statements change no session state, so a released connection needs no
    `RESET ALL`/`UNLISTEN *` round trip before its next use."""


async def _init_connection(connection: asyncpg.Connection) -> None:
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
        self._compiled: weakref.WeakKeyDictionary[ClauseElement, _Compiled] = (
            weakref.WeakKeyDictionary()
        )
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        # Called with each single statement's SQL as it is sent, as SQLAlchemy's
        # `before_cursor_execute` is for the rest (tests/sql.py counts both).
        self.statement_listeners: list[Callable[[str], None]] = []

    async def _statement_pool(self) -> asyncpg.Pool:
        """asyncpg's pool for single statements, opened on first use, with the engine's
        timeouts and server settings (`SEN_DB_DIRECT_POOL_SIZE` connections at most)."""
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    settings = self.settings
                    self._pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=0,
                        max_size=settings.db_direct_pool_size,
                        init=_init_connection,
                        reset=_no_reset,
                        timeout=settings.db_pool_timeout_seconds,
                        command_timeout=settings.db_statement_timeout_ms / 1000 or None,
                        server_settings=_server_settings(settings),
                    )
        return self._pool

    async def statement_rows(
        self, statement: ClauseElement, params: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        """Run one statement that is a whole unit of work by itself (a read with its audit entry
        in a data-modifying CTE) and return its rows (read-only mappings).

        It runs outside any transaction: PostgreSQL makes one statement atomic, and durable once
        it returns, so BEGIN and COMMIT would be two round trips for nothing. It goes to asyncpg
        directly, compiled once per statement object, on a pool of asyncpg's own: through the
        engine (an AUTOCOMMIT connection, or the driver connection of a pooled one) the hot read
        cost 386 µs of CPU per request at 32 concurrent callers against 269 µs this way
        (bench/README.md, "Findings"). That pool is this method's private detail; its errors are
        SQLAlchemy's `DBAPIError`s, as from a session, so one classifier serves both."""
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = _Compiled(statement, self.engine.dialect)
        arguments = compiled.arguments(params)
        for listener in self.statement_listeners:
            listener(compiled.sql)
        pool: asyncpg.Pool | None = None
        connection: asyncpg.Connection | None = None
        closed = False
        # Everything in this block talks to the database, so any error here is the database's.
        try:
            pool = await self._statement_pool()
            if pool.get_idle_size():
                # One is free: no wait to bound, so no timer to arm and cancel.
                connection = await pool.acquire()
            else:
                # asyncio.timeout rather than acquire(timeout=...), which spawns a task per call.
                async with asyncio.timeout(self.settings.db_pool_timeout_seconds):
                    connection = await pool.acquire()
            try:
                rows: list[Mapping[str, Any]] = await connection.fetch(compiled.sql, *arguments)
            finally:
                closed = connection.is_closed()  # (a released proxy answers nothing)
                # A connection in doubt is closed by the pool on release rather than reused.
                await pool.release(connection)
        except TimeoutError:
            raise PoolTimeoutError("No connection, or no answer, in time") from None
        except Exception as error:
            # No connection at all, or it (or the server) gone: as SQLAlchemy does for a
            # session's disconnect, every pooled connection is replaced on its next use, so a
            # database restart costs one 503, not one per pooled connection (tests/reliability/).
            lost = connection is None or closed or isinstance(error, _LOST)
            if lost and pool is not None:
                pool.expire_connections()
            raise DBAPIError.instance(
                compiled.sql, None, error, Exception, connection_invalidated=lost
            ) from error
        return rows

    async def statement_row(
        self, statement: ClauseElement, params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The first row of `statement_rows`, or None."""
        rows = await self.statement_rows(statement, params)
        return rows[0] if rows else None

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
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
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


async def _answer(route: APIRoute, run: Callable[[], Awaitable[Response]]) -> Response:
    try:
        return await run()
    except Exception as error:
        # Whatever the handler was doing, a lost database (or no free connection) is a 503 to
        # retry, not a 500; nothing was committed, or the commit's fate is unknown and the
        # Idempotency-Key retry settles it.
        if not is_database_unavailable(error):
            raise
        logger.warning(
            "database unavailable: %s",
            type(error).__name__,
            extra={"route": route.path, "sqlstate": sqlstate_of(error)},
        )
        raise DatabaseUnavailable("The database cannot be reached; retry shortly") from None


class UnitOfWorkRoute(APIRoute):
    """Every request in one session and one transaction, committed before the answer leaves.

    The route class is the declaration: a router's routes are units of work unless a route says
    otherwise (`SingleStatementRoute`, `BulkWriteRoute`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def in_transaction(request: Request) -> Response:
            database: Database = request.app.state.database
            key = idempotency.requested_key(request)
            async with database.sessionmaker() as session:
                request.state.session = session
                async with session.begin():
                    if key is None:
                        response = await handler(request)
                    else:
                        response = await _run_idempotently(session, request, handler, key)
                    await write_pending(session)
                # Committed: only now may the answer leave.
            return response

        async def run_in_transaction(request: Request) -> Response:
            return await _answer(self, lambda: in_transaction(request))

        return run_in_transaction


# What a lean handler does not provide: parameters from the query, headers, cookies or body,
# and the special objects FastAPI injects.
_NOT_LEAN = (
    "query_params",
    "header_params",
    "cookie_params",
    "body_params",
    "websocket_param_name",
    "http_connection_param_name",
    "response_param_name",
    "background_tasks_param_name",
    "security_scopes_param_name",
)

LeanHandler = Callable[[Request], Awaitable[Response | None]]


def _asks_for_more(dependant: Dependant) -> bool:
    return any(getattr(dependant, name) for name in _NOT_LEAN)


def _takes_only_the_request(dependant: Dependant) -> bool:
    return not (dependant.dependencies or dependant.path_params or _asks_for_more(dependant))


def lean_handler(dependant: Dependant) -> LeanHandler | None:
    """A handler for an endpoint that needs no dependency solving, or None.

    It serves an endpoint that takes only path parameters, the `Request`, and dependencies that
    are coroutines of the request alone (the caller, the database), and that answers a
    `Response` itself: it validates the path parameters with the route's own fields and calls
    the dependencies and the endpoint directly. FastAPI's solving of two such dependencies (its
    generic walk over every kind of parameter) was ~8% of the hot read's CPU under py-spy. A
    path parameter that does not validate gives None, and the route's standard handler answers
    it (the same 422)."""
    endpoint = dependant.call
    if endpoint is None or not inspect.iscoroutinefunction(endpoint):
        return None
    returns = inspect.signature(endpoint).return_annotation
    if not (inspect.isclass(returns) and issubclass(returns, Response)):
        return None
    if _asks_for_more(dependant):
        return None
    # (the parameter's name, or None for a router's `dependencies=`; the coroutine function)
    dependencies: list[tuple[str | None, Callable[[Request], Awaitable[Any]]]] = []
    for sub in dependant.dependencies:
        if not (
            sub.call is not None
            and inspect.iscoroutinefunction(sub.call)
            and sub.request_param_name
            and _takes_only_the_request(sub)
        ):
            return None
        dependencies.append((sub.name, sub.call))
    path_fields = [(field.name, field.alias, field) for field in dependant.path_params]
    request_name = dependant.request_param_name

    async def lean(request: Request) -> Response | None:
        values: dict[str, Any] = {}
        path_params = request.path_params
        for name, alias, field in path_fields:
            value, errors = field.validate(path_params[alias], loc=("path", alias))
            if errors:
                return None
            values[name] = value
        if request_name:
            values[request_name] = request
        solved: dict[Any, Any] = {}  # each dependency once per request, as FastAPI caches them
        for dependency_name, call in dependencies:
            if call not in solved:
                solved[call] = await call(request)
            if dependency_name is not None:
                values[dependency_name] = solved[call]
        response: Response = await endpoint(**values)
        return response

    return lean


class SingleStatementRoute(APIRoute):
    """A read whose statements are each a whole unit of work (`Database.statement_rows`: a read
    and its audit entry in one statement), so it gets no session and no BEGIN/COMMIT.

    Where the endpoint allows it (`lean_handler`), the request skips FastAPI's dependency
    solving; the route is otherwise an ordinary FastAPI route: in the OpenAPI document, behind
    the same middleware and exception handlers, and with its standard handler for what the lean
    one does not serve (a malformed path parameter) and whenever dependencies are overridden
    or added by `include_router`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any):
        super().__init__(path, endpoint, **kwargs)
        if not (self.methods or set()) <= {"GET", "HEAD"}:
            raise TypeError(f"{path}: a single-statement route only reads")

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        dependant = _effective_dependant(self)
        if _asks_for(dependant, request_session):
            raise TypeError(f"{self.path}: a single-statement route has no session")
        lean = lean_handler(dependant)

        async def answer(request: Request) -> Response:
            if lean is not None and not request.app.dependency_overrides:
                response = await lean(request)
                if response is not None:
                    return response
            return await handler(request)

        async def single_statements(request: Request) -> Response:
            return await _answer(self, lambda: answer(request))

        return single_statements


def _effective_dependant(route: APIRoute) -> Dependant:
    """The route's dependant as included (with `include_router`'s dependencies), which FastAPI
    passes to `get_route_handler` through its context variable."""
    context = _effective_route_context_var.get()
    if context is not None and context.original_route is route and context.dependant:
        dependant: Dependant = context.dependant
        return dependant
    return route.dependant


def _asks_for(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _asks_for(sub, call) for sub in dependant.dependencies)


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
