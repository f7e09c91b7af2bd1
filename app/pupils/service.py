"""Pupil use cases: create, read, update, list and the MIS batch upsert."""

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Touched, audit_params, audited_read, record_access
from app.core.errors import BatchTooLarge, Conflict, FieldError, NotFound, ValidationFailed
from app.core.http import check_if_match, keyset_page
from app.core.security import Principal, Role
from app.events.service import PendingEvent, emit
from app.models import Pupil, School
from app.models.enums import AuditAction, SenStatus, YearGroup
from app.pupils.access import (
    bound_pupil_scope,
    get_pupil_in_scope,
    get_school_in_scope,
    pupil_scope,
    scope_params,
)
from app.pupils.schemas import (
    NOT_NULLABLE,
    REQUIRED_ON_CREATE,
    BatchItemError,
    BatchItemResult,
    ContactIn,
    PupilCreate,
    PupilFields,
    PupilUpdate,
    needs_problem,
)
from app.support_plans.service import close_active_plan_of_leaver

MAX_BATCH_ITEMS = 1000
PUPIL_WRITERS = (Role.SENCO, Role.MIS_INTEGRATION)


def touched(pupil: Pupil) -> Touched:
    return Touched(resource_id=pupil.id, pupil_id=pupil.id, school_id=pupil.school_id)


def pupil_event(type_: str, pupil: Pupil, **data: Any) -> PendingEvent:
    """Pupil events carry the UPN (the key MIS systems match on) and never other personal data."""
    return PendingEvent(
        type=type_,
        resource="pupil",
        resource_id=pupil.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        la_code=pupil.home_la_code,
        data={"upn": pupil.upn, **data},
    )


def merge_contacts(
    existing: list[dict[str, Any]], incoming: list[ContactIn], field: str = "contacts"
) -> list[dict[str, Any]]:
    """Contacts resent with an id keep it; new ones get one; an unknown id is refused."""
    known = {contact["id"] for contact in existing}
    merged: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for index, contact in enumerate(incoming):
        data = contact.model_dump(mode="json")
        if contact.id is None:
            data["id"] = str(uuid.uuid4())
        elif str(contact.id) not in known:
            errors.append(FieldError(field=f"{field}.{index}.id", message="No such contact"))
        merged.append(data)
    if errors:
        raise ValidationFailed(errors)
    return merged


def planned_changes(pupil: Pupil, fields: PupilFields) -> dict[str, Any]:
    """The column values a partial update would change (only fields sent, only if different)."""
    fields.refuse_nulls(*NOT_NULLABLE)
    changes: dict[str, Any] = {}
    for name in fields.model_fields_set:
        value = getattr(fields, name)
        if name == "contacts":
            value = merge_contacts(pupil.contacts, value)
        elif hasattr(value, "value"):
            value = value.value
        if getattr(pupil, name) != value:
            changes[name] = value
    primary = changes.get("primary_need", pupil.primary_need)
    secondary = changes.get("secondary_need", pupil.secondary_need)
    problem = needs_problem(primary, secondary)
    if problem:
        raise ValidationFailed([FieldError(field="secondary_need", message=problem)])
    return changes


def new_pupil(school: School, data: PupilCreate) -> Pupil:
    return Pupil(
        id=uuid.uuid4(),
        school_id=school.id,
        upn=data.upn,
        first_name=data.first_name,
        last_name=data.last_name,
        date_of_birth=data.date_of_birth,
        year_group=data.year_group.value,
        home_la_code=data.home_la_code or school.la_code,
        pupil_premium=data.pupil_premium,
        primary_need=data.primary_need.value if data.primary_need else None,
        secondary_need=data.secondary_need.value if data.secondary_need else None,
        contacts=merge_contacts([], data.contacts),
        left_on=data.left_on,
        sen_status=SenStatus.N.value,
    )


async def _upn_taken(
    session: AsyncSession, school_id: uuid.UUID, upn: str, other_than: uuid.UUID | None = None
) -> bool:
    query = select(Pupil.id).where(Pupil.school_id == school_id, Pupil.upn == upn)
    if other_than is not None:
        query = query.where(Pupil.id != other_than)
    return (await session.scalar(query)) is not None


async def _flush_unique(session: AsyncSession) -> None:
    # A concurrent writer can take the same UPN between our check and our write.
    try:
        await session.flush()
    except IntegrityError as error:
        if "uq_pupils_school_id_upn" in str(error.orig):
            raise Conflict("Another pupil at this school already has this UPN") from None
        raise


async def create_pupil(
    session: AsyncSession, principal: Principal, school_id: uuid.UUID, data: PupilCreate
) -> Pupil:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*PUPIL_WRITERS)
    if await _upn_taken(session, school.id, data.upn):
        raise Conflict("Another pupil at this school already has this UPN")
    pupil = new_pupil(school, data)
    session.add(pupil)
    await _flush_unique(session)
    await record_access(session, principal, AuditAction.CREATE, "pupil", [touched(pupil)])
    emit(session, pupil_event("pupil.created", pupil))
    return pupil


@functools.cache
def _audited_pupil_read(role: Role) -> Select[tuple[Pupil]]:
    """The hot read, built once per role: the scoped select and its audit entry in one
    statement, so one round trip; the caller's values are bound at execution."""
    scoped = (
        select(*Pupil.__table__.columns, Pupil.id.label("pupil_id"))
        .where(Pupil.id == bindparam("pupil_id"), bound_pupil_scope(role))
        .cte("scoped")
    )
    audited = audited_read("pupil", scoped, resource_id="id", school_id="school_id")
    statement = select(*(scoped.c[c.key] for c in Pupil.__table__.columns)).add_cte(audited)
    return select(Pupil).from_statement(statement)  # type: ignore[return-value]


async def read_pupil(session: AsyncSession, principal: Principal, pupil_id: uuid.UUID) -> Pupil:
    params = {"pupil_id": pupil_id, **scope_params(principal), **audit_params(principal)}
    pupil: Pupil | None = await session.scalar(_audited_pupil_read(principal.role), params)
    if pupil is None:
        raise NotFound("No such pupil")
    return pupil


async def update_pupil(
    session: AsyncSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    data: PupilUpdate,
    if_match: str | None,
) -> Pupil:
    pupil = await get_pupil_in_scope(session, principal, pupil_id, for_update=True)
    principal.require(*PUPIL_WRITERS)
    check_if_match(if_match, pupil.version)
    changes = planned_changes(pupil, data)
    if "upn" in changes and await _upn_taken(session, pupil.school_id, changes["upn"], pupil.id):
        raise Conflict("Another pupil at this school already has this UPN")
    for name, value in changes.items():
        setattr(pupil, name, value)
    if changes:
        await _flush_unique(session)
        if changes.get("left_on") is not None:
            await close_active_plan_of_leaver(session, principal, pupil)
            await session.flush()
        await session.refresh(pupil, ["updated_at"])
        emit(session, pupil_event("pupil.updated", pupil, changed=sorted(changes)))
    await record_access(session, principal, AuditAction.UPDATE, "pupil", [touched(pupil)])
    return pupil


@dataclass(frozen=True)
class PupilFilters:
    sen_status: SenStatus | None = None
    year_group: YearGroup | None = None
    updated_since: datetime | None = None
    q: str | None = None


def _filtered(query: Select[Pupil], filters: PupilFilters) -> Select[Pupil]:
    if filters.sen_status is not None:
        query = query.where(Pupil.sen_status == filters.sen_status.value)
    if filters.year_group is not None:
        query = query.where(Pupil.year_group == filters.year_group.value)
    if filters.updated_since is not None:
        query = query.where(Pupil.updated_at >= filters.updated_since)
    if filters.q:
        # The search text is bound as a parameter; only LIKE's own wildcards need escaping.
        term = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                Pupil.first_name.ilike(f"%{term}%"),
                Pupil.last_name.ilike(f"%{term}%"),
                Pupil.upn == filters.q.upper(),
            )
        )
    return query


async def list_pupils(
    session: AsyncSession,
    principal: Principal,
    school_id: uuid.UUID,
    filters: PupilFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Pupil], str | None]:
    school = await get_school_in_scope(session, principal, school_id)
    query = _filtered(
        select(Pupil).where(Pupil.school_id == school.id, pupil_scope(principal)), filters
    )
    rows, next_cursor = await keyset_page(
        session, query, (Pupil.last_name, Pupil.first_name, Pupil.id), limit, cursor
    )
    await record_access(session, principal, AuditAction.READ, "pupil", map(touched, rows))
    return rows, next_cursor


def _item_errors(error: ValidationError) -> list[BatchItemError]:
    return [
        BatchItemError(field=".".join(str(p) for p in e["loc"]) or "item", message=e["msg"])
        for e in error.errors()
    ]


def _refused(index: int, upn: str | None, errors: list[BatchItemError]) -> BatchItemResult:
    return BatchItemResult(index=index, upn=upn, status="error", id=None, errors=errors)


def _one_error(field: str, message: str) -> list[BatchItemError]:
    return [BatchItemError(field=field, message=message)]


def _parse_batch_items(
    items: list[Any],
) -> tuple[list[BatchItemResult | None], dict[str, tuple[int, PupilFields]]]:
    """Validate every item on its own: per-item errors, and the valid ones by UPN."""
    results: list[BatchItemResult | None] = [None] * len(items)
    valid: dict[str, tuple[int, PupilFields]] = {}

    for index, raw in enumerate(items):
        raw_upn = raw.get("upn") if isinstance(raw, dict) else None
        upn_shown = raw_upn if isinstance(raw_upn, str) else None
        if not isinstance(raw, dict):
            results[index] = _refused(
                index, None, [BatchItemError(field="item", message="Must be an object")]
            )
            continue
        try:
            fields = PupilFields.model_validate(raw)
        except ValidationError as error:
            results[index] = _refused(index, upn_shown, _item_errors(error))
            continue
        if fields.upn is None:
            results[index] = _refused(
                index, upn_shown, [BatchItemError(field="upn", message="Field required")]
            )
        elif fields.upn in valid:
            message = f"The same UPN is item {valid[fields.upn][0]} of this batch"
            results[index] = _refused(
                index, fields.upn, [BatchItemError(field="upn", message=message)]
            )
        else:
            valid[fields.upn] = (index, fields)
    return results, valid


async def batch_upsert(
    session: AsyncSession, principal: Principal, school_id: uuid.UUID, items: list[Any]
) -> list[BatchItemResult]:
    """Upsert by UPN in one transaction. Each item is validated on its own and is either
    applied whole or reported as an error; a bad item never blocks the others."""
    too_many = len(items) > MAX_BATCH_ITEMS
    # Validation is CPU work: done before the first query takes a pooled connection.
    results, valid = ([], {}) if too_many else _parse_batch_items(items)
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*PUPIL_WRITERS)
    if too_many:
        raise BatchTooLarge(f"A batch holds at most {MAX_BATCH_ITEMS} items; got {len(items)}")

    existing = {
        pupil.upn: pupil
        for pupil in await session.scalars(
            select(Pupil)
            .where(Pupil.school_id == school.id, Pupil.upn.in_(list(valid)))
            .with_for_update()
        )
    }
    created: list[Pupil] = []
    updated: list[Pupil] = []
    leavers: list[Pupil] = []
    for upn, (index, fields) in valid.items():
        pupil = existing.get(upn)
        try:
            if pupil is None:
                missing = [name for name in REQUIRED_ON_CREATE if getattr(fields, name) is None]
                if missing:
                    raise ValidationFailed(
                        [FieldError(field=name, message="Field required") for name in missing]
                    )
                data = PupilCreate.model_validate(fields.model_dump(exclude_unset=True))
                pupil = new_pupil(school, data)
                created.append(pupil)
                status = "created"
            else:
                changes = planned_changes(pupil, fields)
                for name, value in changes.items():
                    setattr(pupil, name, value)
                status = "updated" if changes else "unchanged"
                if changes.get("left_on") is not None:
                    leavers.append(pupil)
                if changes:
                    updated.append(pupil)
                    emit(session, pupil_event("pupil.updated", pupil, changed=sorted(changes)))
        except ValidationFailed as error:
            results[index] = _refused(
                index, upn, [BatchItemError(**e.model_dump()) for e in error.errors]
            )
            continue
        except ValidationError as error:
            results[index] = _refused(index, upn, _item_errors(error))
            continue
        results[index] = BatchItemResult(
            index=index, upn=upn, status=status, id=pupil.id, errors=[]
        )

    session.add_all(created)
    await _flush_unique(session)
    for pupil in leavers:
        await close_active_plan_of_leaver(session, principal, pupil)
    for pupil in created:
        emit(session, pupil_event("pupil.created", pupil))
    await record_access(session, principal, AuditAction.CREATE, "pupil", map(touched, created))
    await record_access(session, principal, AuditAction.UPDATE, "pupil", map(touched, updated))
    return [result for result in results if result is not None]
