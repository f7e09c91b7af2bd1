"""Specialist involvements: who was asked for advice about a pupil, when, and what came back."""

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from app.core.audit import Touched, record_access
from app.core.db import DbSession
from app.core.departures import checked_departures, departure_records, refuse_unless_allowed
from app.core.errors import FieldError, Forbidden, ValidationFailed
from app.core.http import check_if_match
from app.core.outbox import PendingEvent, emit
from app.core.scope import get_pupil_in_scope
from app.core.security import Principal, Role
from app.models import Pupil, SpecialistInvolvement
from app.models.enums import AuditAction, SpecialistService
from app.rules import SpecialistState, evaluate_specialist_create
from app.specialists import repository
from app.specialists.schemas import (
    OpenReferral,
    SpecialistInvolvementCreate,
    SpecialistInvolvementUpdate,
)

RESOURCE = "specialist_involvement"
INVOLVEMENT_WRITERS = (Role.SENCO,)
INVOLVEMENT_READERS = (Role.SENCO, Role.TEACHER, Role.PARENT, Role.PLATFORM_ADMIN, Role.LA_OFFICER)
INVOLVEMENT_UPDATERS = (Role.SENCO, Role.PARENT)
# SPEC.md §3.4: a parent records consent for its own child, and changes nothing else.
PARENT_MAY_CHANGE = frozenset({"parental_consent"})
# Clearing these would rewrite history rather than correct it.
NOT_NULLABLE = ("service", "parental_consent", "parents_involved_on")
DATE_FIELDS = ("parents_involved_on", "requested_on", "advice_received_on")
LOCAL_OFFER_FIELD = "local_offer_service_id"


def _touched(involvement: SpecialistInvolvement, pupil: Pupil) -> Touched:
    return Touched(resource_id=involvement.id, pupil_id=pupil.id, school_id=pupil.school_id)


def _event(
    type_: str, involvement: SpecialistInvolvement, pupil: Pupil, **data: Any
) -> PendingEvent:
    """Keys and field names only: the advice itself never travels in the feed."""
    return PendingEvent(
        type=type_,
        resource=RESOURCE,
        resource_id=involvement.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        la_code=pupil.home_la_code,
        data={"upn": pupil.upn, "service": involvement.service, **data},
    )


def _date_errors(pupil: Pupil, dates: dict[str, date | None], sent: set[str]) -> list[FieldError]:
    """Cross-field checks on the dates the involvement would have, reported on fields sent."""
    errors = [
        FieldError(field=name, message="Before the pupil's date of birth")
        for name in DATE_FIELDS
        if name in sent and (value := dates[name]) is not None and value < pupil.date_of_birth
    ]
    requested_on, advice_received_on = dates["requested_on"], dates["advice_received_on"]
    if (
        requested_on is not None
        and advice_received_on is not None
        and advice_received_on < requested_on
    ):
        field = "advice_received_on" if "advice_received_on" in sent else "requested_on"
        errors.append(FieldError(field=field, message="Advice cannot arrive before the request"))
    return errors


async def _local_offer_error(
    session: DbSession, pupil: Pupil, local_offer_service_id: uuid.UUID
) -> FieldError | None:
    """A referral names a service of the pupil's home LA or of the school's LA: the two whose
    Local Offers can apply to the child. Retired entries may be named (an old referral)."""
    entry_la = await repository.local_offer_la_code(session, local_offer_service_id)
    if entry_la is None:
        return FieldError(field=LOCAL_OFFER_FIELD, message="No Local Offer service has this id")
    if entry_la == pupil.home_la_code:
        return None
    school_la = await repository.school_la_code(session, pupil.school_id)
    if entry_la == school_la:
        return None
    return FieldError(
        field=LOCAL_OFFER_FIELD,
        message=f"A service of LA {entry_la}: name one of the pupil's home LA "
        f"({pupil.home_la_code}) or of the school's LA ({school_la})",
    )


async def create_involvement(
    session: DbSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    data: SpecialistInvolvementCreate,
) -> SpecialistInvolvement:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*INVOLVEMENT_WRITERS)
    sent = set(data.model_fields_set)
    errors = _date_errors(pupil, {name: getattr(data, name) for name in DATE_FIELDS}, sent)
    if data.local_offer_service_id is not None and (
        link_error := await _local_offer_error(session, pupil, data.local_offer_service_id)
    ):
        errors.append(link_error)
    try:
        departures = checked_departures(data.departures)
    except ValidationFailed as invalid:
        errors.extend(invalid.errors)
    if errors:
        raise ValidationFailed(errors)
    evaluation = evaluate_specialist_create(
        SpecialistState(
            parental_consent=data.parental_consent,
            requested_on=data.requested_on,
            parents_involved_on=data.parents_involved_on,
        ),
        departures,
    )
    refuse_unless_allowed(evaluation)
    involvement = SpecialistInvolvement(
        id=uuid.uuid4(),
        pupil_id=pupil.id,
        service=data.service.value,
        parents_involved_on=data.parents_involved_on,
        parental_consent=data.parental_consent,
        requested_on=data.requested_on,
        advice_received_on=data.advice_received_on,
        advice_summary=data.advice_summary,
        local_offer_service_id=data.local_offer_service_id,
        departures=departure_records(evaluation, principal),
    )
    await repository.insert_involvement(session, involvement)
    await record_access(
        session, principal, AuditAction.CREATE, RESOURCE, [_touched(involvement, pupil)]
    )
    emit(session, _event("specialist_involvement.created", involvement, pupil))
    return involvement


async def list_involvements(
    session: DbSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[SpecialistInvolvement], str | None]:
    """Ordered by `requested_on` (not yet requested last), then creation; keyset-paged."""
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*INVOLVEMENT_READERS)
    rows, next_cursor = await repository.list_for_pupil(session, pupil.id, limit, cursor)
    await record_access(
        session, principal, AuditAction.READ, RESOURCE, [_touched(row, pupil) for row in rows]
    )
    return rows, next_cursor


def _planned_changes(
    involvement: SpecialistInvolvement, data: SpecialistInvolvementUpdate
) -> dict[str, Any]:
    """The column values the PATCH would change (only fields sent, only if different)."""
    changes: dict[str, Any] = {}
    for name in data.model_fields_set:
        value = getattr(data, name)
        if hasattr(value, "value"):
            value = value.value
        if getattr(involvement, name) != value:
            changes[name] = value
    return changes


async def update_involvement(
    session: DbSession,
    principal: Principal,
    involvement_id: uuid.UUID,
    data: SpecialistInvolvementUpdate,
    if_match: str | None,
) -> SpecialistInvolvement:
    involvement, pupil = await repository.get_involvement_in_scope(
        session, principal, involvement_id, for_update=True
    )
    principal.require(*INVOLVEMENT_UPDATERS)
    sent = set(data.model_fields_set)
    if principal.role is Role.PARENT and sent - PARENT_MAY_CHANGE:
        raise Forbidden("A parent may record parental_consent and nothing else")
    check_if_match(if_match, involvement.version)
    data.refuse_nulls(*NOT_NULLABLE)
    changes = _planned_changes(involvement, data)
    dates = {name: changes.get(name, getattr(involvement, name)) for name in DATE_FIELDS}
    errors = _date_errors(pupil, dates, sent)
    # Checked only when it changes: a link made while valid stays when the pupil later moves LA.
    if (linked := changes.get(LOCAL_OFFER_FIELD)) is not None and (
        link_error := await _local_offer_error(session, pupil, linked)
    ):
        errors.append(link_error)
    if errors:
        raise ValidationFailed(errors)
    for name, value in changes.items():
        setattr(involvement, name, value)
    if changes:
        await repository.save_involvement(session, involvement)
        emit(
            session,
            _event("specialist_involvement.updated", involvement, pupil, changed=sorted(changes)),
        )
    await record_access(
        session, principal, AuditAction.UPDATE, RESOURCE, [_touched(involvement, pupil)]
    )
    return involvement


async def open_referrals(
    session: DbSession, pupil_ids: Collection[uuid.UUID], today: date
) -> dict[uuid.UUID, list[OpenReferral]]:
    """Per pupil, the referrals still waiting for advice, longest-waiting first. One query for
    any number of pupils; the caller has checked scope and role, and audits the pupils."""
    by_pupil: dict[uuid.UUID, list[OpenReferral]] = {pupil_id: [] for pupil_id in pupil_ids}
    if not by_pupil:
        return by_pupil
    for referral, target_days in await repository.open_referrals_of(session, list(by_pupil)):
        assert referral.requested_on is not None
        by_pupil[referral.pupil_id].append(
            OpenReferral(
                id=referral.id,
                service=SpecialistService(referral.service),
                requested_on=referral.requested_on,
                waiting_days=(today - referral.requested_on).days,
                local_offer_service_id=referral.local_offer_service_id,
                target_days=target_days,
            )
        )
    return by_pupil
