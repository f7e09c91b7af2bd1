"""Engine, sessions and the one-transaction-per-request unit of work (STYLE.md point 3)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings


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


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request.

    Declared with `scope="function"` below, so the commit happens before the response is sent: a
    2xx is only ever answered for work that is durable. Any exception rolls everything back.
    """
    database: Database = request.app.state.database
    async with database.sessionmaker() as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(request_session, scope="function")]
