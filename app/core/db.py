"""Engine, sessions and the unit of work: one transaction per request (STYLE.md point 3).

`UnitOfWorkRoute` runs each request's handler inside one session and one transaction and commits
*before* the response leaves: a 2xx always describes durable work, and any error rolls
everything back. Owning the transaction in the route (rather than in a dependency) lets the
stored idempotent answer and the change-feed events go into that same transaction.
"""

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from starlette.responses import Response

from app.core import idempotency
from app.core.config import Settings
from app.core.errors import (
    DatabaseUnavailable,
    client_error_response,
    is_database_unavailable,
    sqlstate_of,
)
from app.core.security import authenticate, bearer_token
from app.events.service import discard_pending, write_pending

logger = logging.getLogger("app.db")


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


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
                "server_settings": {
                    "application_name": "sen-support-api",
                    "statement_timeout": str(settings.db_statement_timeout_ms),
                    "lock_timeout": "5000",
                },
            },
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)

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
        await self.engine.dispose()


async def _run_idempotently(
    session: AsyncSession,
    request: Request,
    handler: Callable[[Request], Awaitable[Response]],
    key: str,
) -> Response:
    # Only who is calling matters here; the route's own dependencies do the full check.
    principal = await authenticate(request.app.state.settings, bearer_token(request))
    claimed = await idempotency.claim(session, request, principal, key)
    if isinstance(claimed, Response):
        return claimed
    try:
        # A savepoint, so that a refused request (4xx) undoes its partial work but keeps the
        # key's lock and can still store its answer in this transaction.
        async with session.begin_nested():
            response = await handler(request)
    except Exception as error:
        discard_pending(session)
        refused = client_error_response(error)
        if refused is None:
            raise
        response = refused
    if idempotency.is_stored(response):
        await idempotency.store(session, claimed, response)
    return response


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            database: Database = request.app.state.database
            key = idempotency.requested_key(request)
            try:
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


async def request_session(request: Request) -> AsyncSession:
    # async, so FastAPI calls it on the event loop rather than in a worker thread.
    session: AsyncSession = request.state.session
    return session


Session = Annotated[AsyncSession, Depends(request_session)]
