"""The queries behind specialist involvements: the rows, their keyset list, the open referrals
of many pupils at once, the two LA codes a referral's Local Offer link is checked against, and
the one statement of the waiting-time report (`app.specialists.waits`).

The report's statement groups referrals twice over (GROUPING SETS): by the referral's `service`
type, and by type and the Local Offer entry it names. Percentiles are nearest-rank:
PostgreSQL's `percentile_disc(p)` returns the value at rank ceil(p * N) of the N sorted values,
and for p = 0.5 and 0.9 that product is exact in float8 (0.5 is a power of two; 0.9's
representation error is under half an ulp of any whole 0.9 * N).
"""

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, Row, and_, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, ValidationFailed
from app.core.http import decode_cursor, encode_cursor
from app.core.scope import get_with_pupil, pupil_scope
from app.core.security import Principal
from app.models import LocalOfferService, Pupil, School, SpecialistInvolvement

# Not yet requested sorts after every requested involvement (asyncpg sends date.max as
# 'infinity'); the keyset needs a non-null key.
NOT_REQUESTED = date.max


async def local_offer_la_code(
    session: AsyncSession, local_offer_service_id: uuid.UUID
) -> str | None:
    """The LA publishing a Local Offer entry, retired or not; None if there is no such entry."""
    return await session.scalar(
        select(LocalOfferService.la_code).where(LocalOfferService.id == local_offer_service_id)
    )


async def school_la_code(session: AsyncSession, school_id: uuid.UUID) -> str | None:
    return await session.scalar(select(School.la_code).where(School.id == school_id))


async def insert_involvement(
    session: AsyncSession, involvement: SpecialistInvolvement
) -> SpecialistInvolvement:
    """Written now, and read back for the timestamps the database fills."""
    session.add(involvement)
    await session.flush()
    await session.refresh(involvement)
    return involvement


async def save_involvement(
    session: AsyncSession, involvement: SpecialistInvolvement
) -> SpecialistInvolvement:
    """The changes made to a loaded involvement, written; SQLAlchemy counts `version` itself,
    so only `updated_at` is read back."""
    await session.flush()
    await session.refresh(involvement, ["updated_at"])
    return involvement


async def get_involvement_in_scope(
    session: AsyncSession,
    principal: Principal,
    involvement_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> tuple[SpecialistInvolvement, Pupil]:
    """The involvement and its pupil if the caller's scope holds the pupil; 404 otherwise."""
    return await get_with_pupil(
        session,
        SpecialistInvolvement,
        involvement_id,
        pupil_scope(principal),
        what="specialist involvement",
        for_update=for_update,
    )


def _order_key() -> tuple[Any, ...]:
    return (
        func.coalesce(SpecialistInvolvement.requested_on, literal(NOT_REQUESTED)),
        SpecialistInvolvement.created_at,
        SpecialistInvolvement.id,
    )


def _after_cursor(cursor: str) -> tuple[date, datetime, uuid.UUID]:
    requested_on, created_at, last_id = decode_cursor(cursor, 3)
    try:
        return (
            date.fromisoformat(str(requested_on)),
            datetime.fromisoformat(str(created_at)),
            uuid.UUID(str(last_id)),
        )
    except ValueError:
        raise ValidationFailed(
            [FieldError(field="cursor", message="Not a cursor from this list")]
        ) from None


async def list_for_pupil(
    session: AsyncSession, pupil_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[SpecialistInvolvement], str | None]:
    """By `requested_on` (not yet requested last), then creation; keyset-paged."""
    order = _order_key()
    query = select(SpecialistInvolvement).where(SpecialistInvolvement.pupil_id == pupil_id)
    if cursor is not None:
        query = query.where(tuple_(*order) > tuple_(*_after_cursor(cursor)))
    rows = list((await session.scalars(query.order_by(*order).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    next_cursor = encode_cursor(
        [
            (last.requested_on or NOT_REQUESTED).isoformat(),
            last.created_at.isoformat(),
            str(last.id),
        ]
    )
    return rows, next_cursor


async def open_referrals_of(
    session: AsyncSession, pupil_ids: Collection[uuid.UUID]
) -> Sequence[tuple[SpecialistInvolvement, int | None]]:
    """The pupils' involvements requested and still without advice, each with the target days
    of the Local Offer entry it names (None if unlinked), longest-waiting first: one query."""
    involvement = SpecialistInvolvement
    rows = await session.execute(
        select(involvement, LocalOfferService.target_days)
        .outerjoin(LocalOfferService, LocalOfferService.id == involvement.local_offer_service_id)
        .where(
            involvement.pupil_id.in_(pupil_ids),
            involvement.requested_on.is_not(None),
            involvement.advice_received_on.is_(None),
        )
        .order_by(involvement.requested_on, involvement.created_at, involvement.id)
    )
    return rows.all()


async def _wait_figures(
    session: AsyncSession, scope: ColumnElement[bool], start: date, end: date, today: date
) -> Sequence[Row[Any]]:
    involvement, entry = SpecialistInvolvement, LocalOfferService
    answered = involvement.advice_received_on.is_not(None)
    waited = func.coalesce(involvement.advice_received_on, literal(today, Date)) - (
        involvement.requested_on
    )
    by_entry = (involvement.service, entry.id, entry.la_code, entry.name, entry.target_days)
    query = (
        select(
            *by_entry,
            func.grouping(entry.id).label("rolled_up"),
            func.count().label("referrals"),
            func.count().filter(answered).label("answered"),
            func.count().filter(~answered).label("still_waiting"),
            func.percentile_disc(0.5).within_group(waited).filter(answered).label("median"),
            func.percentile_disc(0.9).within_group(waited).filter(answered).label("p90"),
            # Unlinked referrals have no target (a NULL comparison): never counted as exceeded.
            func.count().filter(waited > entry.target_days).label("exceeded"),
            func.count().filter(entry.id.is_(None)).label("without_target"),
        )
        .select_from(involvement)
        .join(Pupil, Pupil.id == involvement.pupil_id)
        # An id stored before the Local Offer existed names no entry: it counts as unlinked.
        .outerjoin(entry, entry.id == involvement.local_offer_service_id)
        .where(involvement.requested_on.between(start, end), scope)
        .group_by(func.grouping_sets(tuple_(involvement.service), tuple_(*by_entry)))
    )
    return (await session.execute(query)).all()


async def la_wait_figures(
    session: AsyncSession, la_code: str, start: date, end: date, today: date
) -> Sequence[Row[Any]]:
    """Per service type (`rolled_up`) and per Local Offer entry, the waits of referrals
    requested from `start` to `end` (inclusive) to the LA's own entries, and of unlinked
    referrals of pupils who live in the LA; still-open ones wait until `today`."""
    scope = or_(
        LocalOfferService.la_code == la_code,
        and_(LocalOfferService.id.is_(None), Pupil.home_la_code == la_code),
    )
    return await _wait_figures(session, scope, start, end, today)


async def school_wait_figures(
    session: AsyncSession, school_id: uuid.UUID, start: date, end: date, today: date
) -> Sequence[Row[Any]]:
    """As `la_wait_figures`, for every referral of the school's pupils (those who left
    included), whichever LA's service it went to."""
    return await _wait_figures(session, Pupil.school_id == school_id, start, end, today)
