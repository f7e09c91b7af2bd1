"""How long children wait for specialist advice, against the Local Offer's targets (SPEC.md §2,
§6): for an LA, and for a school.

Aggregates only: no row names a pupil, and a group with fewer than SMALL_NUMBERS referrals in
the range shows its counts but no percentiles, since a wait in a handful of referrals can
identify a child. Nothing here reads a pupil's data out, so nothing is audited.

One statement computes every figure. Rows are grouped twice over (GROUPING SETS): by the
referral's `service` type, and by type and the Local Offer entry it names. Percentiles are
nearest-rank: PostgreSQL's `percentile_disc(p)` returns the value at rank ceil(p * N) of the N
sorted values, and for p = 0.5 and 0.9 that product is exact in float8 (0.5 is a power of two;
0.9's representation error is under half an ulp of any whole 0.9 * N).
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import today_london
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.scope import get_school_in_scope
from app.core.security import Principal, Role
from app.local_offer.service import may_manage
from app.models import LocalOfferService, Pupil, SpecialistInvolvement
from app.models.enums import SpecialistService
from app.specialists.schemas import (
    LaSpecialistWaits,
    LocalOfferWaits,
    SchoolSpecialistWaits,
    ServiceWaits,
)

SMALL_NUMBERS = 5
DEFAULT_SPAN = timedelta(days=365)
SCHOOL_WAITS_READERS = (Role.SENCO, Role.PLATFORM_ADMIN)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date


def requested_range(start: date | None, end: date | None, today: date) -> DateRange:
    """Both ends inclusive; `to` defaults to today, `from` to a year before `to`."""
    end = end or today
    if start is None:
        # Not before year 1: `to=0001-01-01` is odd, but no reason for a 500.
        start = end - min(DEFAULT_SPAN, end - date.min)
    if start > end:
        raise ValidationFailed([FieldError(field="from", message="Must not be after to")])
    return DateRange(start, end)


@dataclass(frozen=True)
class _NoReferrals:
    """The figures of a service type nobody was referred to: it still gets its row."""

    referrals: int = 0
    answered: int = 0
    still_waiting: int = 0
    median: int | None = None
    p90: int | None = None
    exceeded: int = 0
    without_target: int = 0


def _figures(row: Any) -> dict[str, Any]:
    shown = row.referrals >= SMALL_NUMBERS
    return {
        "referrals": row.referrals,
        "answered": row.answered,
        "still_waiting": row.still_waiting,
        "median_waiting_days": row.median if shown else None,
        "p90_waiting_days": row.p90 if shown else None,
        "exceeded_target": row.exceeded,
    }


async def _service_waits(
    session: AsyncSession, scope: ColumnElement[bool], span: DateRange, today: date
) -> list[ServiceWaits]:
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
        .where(involvement.requested_on.between(span.start, span.end), scope)
        .group_by(func.grouping_sets(tuple_(involvement.service), tuple_(*by_entry)))
    )
    totals: dict[str, Any] = {}
    entries: dict[str, list[LocalOfferWaits]] = {s.value: [] for s in SpecialistService}
    for row in await session.execute(query):
        if row.rolled_up:
            totals[row.service] = row
        elif row.id is not None:
            entries[row.service].append(
                LocalOfferWaits(
                    local_offer_service_id=row.id,
                    la_code=row.la_code,
                    name=row.name,
                    target_days=row.target_days,
                    **_figures(row),
                )
            )
    services = []
    for service in SpecialistService:
        total = totals.get(service.value, _NoReferrals())
        services.append(
            ServiceWaits(
                service=service,
                without_target=total.without_target,
                local_offer_services=sorted(
                    entries[service.value],
                    key=lambda e: (e.la_code, e.name, e.local_offer_service_id),
                ),
                **_figures(total),
            )
        )
    return services


async def la_waits(
    session: AsyncSession,
    principal: Principal,
    la_code: str,
    start: date | None,
    end: date | None,
) -> LaSpecialistWaits:
    """Referrals to the LA's own Local Offer entries, and unlinked referrals of pupils who live
    in the LA (`home_la_code`)."""
    if not may_manage(principal, la_code):
        raise NotFound("No such local authority report")
    today = today_london()
    span = requested_range(start, end, today)
    scope = or_(
        LocalOfferService.la_code == la_code,
        and_(LocalOfferService.id.is_(None), Pupil.home_la_code == la_code),
    )
    services = await _service_waits(session, scope, span, today)
    return LaSpecialistWaits.model_validate({"la_code": la_code, **_report(span, today, services)})


async def school_waits(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    start: date | None,
    end: date | None,
) -> SchoolSpecialistWaits:
    """Every referral of the school's pupils (those who left included), whichever LA's
    service it went to."""
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*SCHOOL_WAITS_READERS)
    today = today_london()
    span = requested_range(start, end, today)
    services = await _service_waits(session, Pupil.school_id == school.id, span, today)
    return SchoolSpecialistWaits.model_validate(
        {"school_id": school.id, **_report(span, today, services)}
    )


def _report(span: DateRange, today: date, services: list[ServiceWaits]) -> dict[str, Any]:
    return {
        "from": span.start,
        "to": span.end,
        "as_of": today,
        "small_numbers_threshold": SMALL_NUMBERS,
        "services": services,
    }
