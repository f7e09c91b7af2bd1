"""Engine, sessions and the unit of work: one transaction per request (STYLE.md point 3).

`UnitOfWorkRoute` runs each request's handler inside one session and one transaction and commits
*before* the response leaves: a 2xx always describes durable work, and any error rolls
everything back. Owning the transaction in the route (rather than in a dependency) lets the
stored idempotent answer and the change-feed events go into that same transaction.
"""

from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from starlette.responses import Response

from app.core import idempotency
from app.core.config import Settings
from app.core.errors import client_error_response
from app.core.security import authenticate, bearer_token
from app.events.service import discard_pending, write_pending


class Database:
    def __init__(self, url: str, settings: Settings):
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=False,
            # Stale connections after a database restart are found on use and recycled.
            pool_recycle=1800,
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

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("select 1"))

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

        return run_in_transaction


def request_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


Session = Annotated[AsyncSession, Depends(request_session)]
