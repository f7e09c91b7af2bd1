"""The queries behind API clients: registration, the oldest-first list, the lookup a token
request starts with, revocation's locked read, and a secret's rehash.
"""

import uuid
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, ValidationFailed
from app.core.http import decode_cursor, encode_cursor
from app.models import ApiClient, School

# Oldest first: ix_api_clients_created_order.
ORDER = (ApiClient.created_at, ApiClient.id)


async def school_exists(session: AsyncSession, school_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(School.id).where(School.id == school_id)))


async def insert_client(session: AsyncSession, client: ApiClient) -> ApiClient:
    """Written now, and read back for the timestamps the database fills."""
    session.add(client)
    await session.flush()
    await session.refresh(client)
    return client


async def save_client(session: AsyncSession, client: ApiClient) -> ApiClient:
    """The changes made to a loaded client, written (nothing is read back)."""
    await session.flush()
    return client


async def get_client(
    session: AsyncSession, client_id: uuid.UUID, *, for_update: bool = False
) -> ApiClient | None:
    query = select(ApiClient).where(ApiClient.id == client_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


def _after_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    last_created, last_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(str(last_created)), uuid.UUID(str(last_id))
    except ValueError:
        raise ValidationFailed(
            [FieldError(field="cursor", message="Not a cursor from this list")]
        ) from None


async def list_clients(
    session: AsyncSession, active: bool | None, limit: int, cursor: str | None
) -> tuple[list[ApiClient], str | None]:
    """Every client, or only active (or only revoked) ones: one page and the next cursor."""
    query = select(ApiClient)
    if active is not None:
        query = query.where(ApiClient.active.is_(active))
    if cursor is not None:
        query = query.where(tuple_(*ORDER) > tuple_(*_after_cursor(cursor)))
    rows = list((await session.scalars(query.order_by(*ORDER).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([last.created_at.isoformat(), str(last.id)])


async def update_secret_hash(session: AsyncSession, client_id: uuid.UUID, secret_hash: str) -> None:
    """One UPDATE, with no read of the row first."""
    await session.execute(
        update(ApiClient).where(ApiClient.id == client_id).values(secret_hash=secret_hash)
    )
