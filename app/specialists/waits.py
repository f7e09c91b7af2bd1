"""How long children wait for specialist advice, against the Local Offer's targets (SPEC.md §2,
§6): for an LA, and for a school.

Aggregates only: no row names a pupil, and a group with fewer than SMALL_NUMBERS referrals in
the range shows its counts but no percentiles, since a wait in a handful of referrals can
identify a child. Nothing here reads a pupil's data out, so nothing is audited.

One statement computes every figure (`repository.la_wait_figures`, `school_wait_figures`): a
row per service type and a row per Local Offer entry it names, which this module arranges into
the report and hides where the numbers are small.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.core.clock import today_london
from app.core.db import DbSession
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.scope import get_school_in_scope
from app.core.security import Principal, Role
from app.local_offer.service import may_manage
from app.models.enums import SpecialistService
from app.specialists import repository
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


def _service_waits(rows: Sequence[Any]) -> list[ServiceWaits]:
    """The report's services, every type listed, from the rows of the figures' statement."""
    totals: dict[str, Any] = {}
    entries: dict[str, list[LocalOfferWaits]] = {s.value: [] for s in SpecialistService}
    for row in rows:
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
    session: DbSession,
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
    rows = await repository.la_wait_figures(session, la_code, span.start, span.end, today)
    services = _service_waits(rows)
    return LaSpecialistWaits.model_validate({"la_code": la_code, **_report(span, today, services)})


async def school_waits(
    session: DbSession,
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
    rows = await repository.school_wait_figures(session, school.id, span.start, span.end, today)
    services = _service_waits(rows)
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
