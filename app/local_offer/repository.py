"""The queries behind the Local Offer. Entries hold no pupil data, so no read here carries a
scope: who may change an entry is the service's decision, made on the entry it gets back.
"""

import uuid

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.http import keyset_page
from app.models import LocalOfferService
from app.models.enums import SpecialistService

# The columns that cannot hold null: a PATCH may leave them out but never clear them.
NOT_NULL_COLUMNS = frozenset(
    key for key, column in inspect(LocalOfferService).columns.items() if not column.nullable
)
# By LA, service type, then publication order: ix_local_offer_services_list_order.
LIST_ORDER = (
    LocalOfferService.la_code,
    LocalOfferService.service,
    LocalOfferService.created_at,
    LocalOfferService.id,
)


async def insert_entry(session: AsyncSession, entry: LocalOfferService) -> LocalOfferService:
    """Written now, and read back for the timestamps the database fills."""
    session.add(entry)
    await session.flush()
    await session.refresh(entry)
    return entry


async def save_entry(session: AsyncSession, entry: LocalOfferService) -> LocalOfferService:
    """The changes made to a loaded entry, written, and read back for its new `updated_at`."""
    await session.flush()
    await session.refresh(entry)
    return entry


async def get_entry(
    session: AsyncSession, service_id: uuid.UUID, *, for_update: bool = False
) -> LocalOfferService | None:
    if for_update:
        return await session.scalar(
            select(LocalOfferService).where(LocalOfferService.id == service_id).with_for_update()
        )
    return await session.get(LocalOfferService, service_id)


async def list_entries(
    session: AsyncSession,
    la_code: str | None,
    service: SpecialistService | None,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[LocalOfferService], str | None]:
    """Filters left as None do not apply; keyset-paged in `LIST_ORDER`."""
    query = select(LocalOfferService)
    if la_code is not None:
        query = query.where(LocalOfferService.la_code == la_code)
    if service is not None:
        query = query.where(LocalOfferService.service == service.value)
    if active is not None:
        query = query.where(LocalOfferService.active.is_(active))
    return await keyset_page(session, query, LIST_ORDER, limit, cursor)
