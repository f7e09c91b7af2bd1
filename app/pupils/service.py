"""Pupil use cases: create, read, update, list and the MIS batch upsert."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from app.core.audit import Touched, record_access
from app.core.db import Database, DbSession
from app.core.errors import BatchTooLarge, Conflict, FieldError, NotFound, ValidationFailed
from app.core.http import after_values, check_if_match, encode_cursor
from app.core.outbox import emit
from app.core.scope import (
    get_pupil_in_scope,
    get_school_in_scope,
)
from app.core.security import Principal, Role
from app.lifecycle.service import (
    Leaver,
    close_active_plan_of_leaver,
    close_active_plans_of_leavers,
    pupil_event,
    pupil_event_of,
)
from app.models import Pupil, School
from app.models.enums import AuditAction, SenStatus, YearGroup
from app.pupils import repository
from app.pupils.repository import BATCH_COLUMN_NAMES
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

MAX_BATCH_ITEMS = 1000
# What `PupilCreate` refuses as null beyond the required fields (home_la_code may be null:
# it then defaults to the school's LA).
CREATE_NOT_NULLABLE = ("pupil_premium", "contacts")
PUPIL_WRITERS = (Role.SENCO, Role.MIS_INTEGRATION)


def touched(pupil: Pupil) -> Touched:
    return Touched(resource_id=pupil.id, pupil_id=pupil.id, school_id=pupil.school_id)


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


def planned_changes(pupil: Any, fields: PupilFields) -> dict[str, Any]:
    """The column values a partial update would change (only fields sent, only if different).
    `pupil` is a `Pupil` or a row of the pupils table: only its attributes are read."""
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


def new_pupil_values(school: School, data: PupilCreate | PupilFields) -> dict[str, Any]:
    """A new pupil's column values (the server-side ones, such as timestamps, aside), from a
    validated `PupilCreate` or from batch fields already checked to have what creating needs."""
    return {
        "id": uuid.uuid4(),
        "school_id": school.id,
        "upn": data.upn,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "date_of_birth": data.date_of_birth,
        "year_group": data.year_group.value if data.year_group else None,
        "home_la_code": data.home_la_code or school.la_code,
        "pupil_premium": bool(data.pupil_premium),
        "primary_need": data.primary_need.value if data.primary_need else None,
        "secondary_need": data.secondary_need.value if data.secondary_need else None,
        "contacts": merge_contacts([], data.contacts or []),
        "left_on": data.left_on,
        "sen_status": SenStatus.N.value,
    }


def new_pupil(school: School, data: PupilCreate) -> Pupil:
    return Pupil(**new_pupil_values(school, data))


async def create_pupil(
    session: DbSession, principal: Principal, school_id: uuid.UUID, data: PupilCreate
) -> Pupil:
    school = await get_school_in_scope(session, principal, school_id)
    principal.require(*PUPIL_WRITERS)
    if await repository.upn_taken(session, school.id, data.upn):
        raise Conflict(repository.UPN_TAKEN)
    pupil = new_pupil(school, data)
    await repository.add_pupil(session, pupil)
    await record_access(session, principal, AuditAction.CREATE, "pupil", [touched(pupil)])
    emit(session, pupil_event("pupil.created", pupil))
    return pupil


def pupil_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of `pupil_out_columns` as `PupilOut`'s JSON: orjson writes it (`json_body`) with
    the stored contacts passed through, rather than validated into models and dumped again
    (tests/pupils/test_pupil_json.py compares the two)."""
    pupil = dict(row)
    pupil["contacts"] = orjson.Fragment(pupil["contacts"])
    return pupil


async def read_pupil(
    database: Database, principal: Principal, pupil_id: uuid.UUID
) -> Mapping[str, Any]:
    """One pupil in the caller's scope, as the columns `PupilOut` shows; the read is audited in
    the same statement."""
    row = await repository.read_pupil_row(database, principal, pupil_id)
    if row is None:
        raise NotFound("No such pupil")
    return row


async def update_pupil(
    session: DbSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    data: PupilUpdate,
    if_match: str | None,
) -> Pupil:
    pupil = await get_pupil_in_scope(session, principal, pupil_id, for_update=True)
    principal.require(*PUPIL_WRITERS)
    check_if_match(if_match, pupil.version)
    changes = planned_changes(pupil, data)
    if "upn" in changes and await repository.upn_taken(
        session, pupil.school_id, changes["upn"], pupil.id
    ):
        raise Conflict(repository.UPN_TAKEN)
    for name, value in changes.items():
        setattr(pupil, name, value)
    if changes:
        await repository.flush_unique(session)
        if changes.get("left_on") is not None:
            await close_active_plan_of_leaver(session, principal, pupil)
            await repository.flush_unique(session)
        await repository.refresh_updated_at(session, pupil)
        emit(session, pupil_event("pupil.updated", pupil, changed=sorted(changes)))
    await record_access(session, principal, AuditAction.UPDATE, "pupil", [touched(pupil)])
    return pupil


@dataclass(frozen=True)
class PupilFilters:
    sen_status: SenStatus | None = None
    year_group: YearGroup | None = None
    updated_since: datetime | None = None
    q: str | None = None


async def list_pupils(
    database: Database,
    principal: Principal,
    school_id: uuid.UUID,
    filters: PupilFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Mapping[str, Any]], str | None]:
    """A page of a school's pupils in name order (rows of `pupil_out_columns`), each shown
    pupil's read audited, in one statement without a transaction (like `read_pupil`)."""
    params: dict[str, Any] = {"school_id": school_id, "limit": limit, "probe_limit": limit + 1}
    used = set()
    if filters.sen_status is not None:
        used.add("sen_status")
        params["sen_status"] = filters.sen_status.value
    if filters.year_group is not None:
        used.add("year_group")
        params["year_group"] = filters.year_group.value
    if filters.updated_since is not None:
        used.add("updated_since")
        params["updated_since"] = filters.updated_since
    if filters.q:
        used.add("q")
        term = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["q_like"] = f"%{term}%"
        params["q_upn"] = filters.q.upper()
    if cursor is not None:
        used.add("cursor")
        after = after_values(repository.LIST_ORDER, cursor)
        params["after_last_name"], params["after_first_name"], params["after_id"] = after
    rows = await repository.read_pupil_page(database, principal, frozenset(used), params)
    if not rows:
        raise NotFound("No such school")
    pupils = [row for row in rows if row["id"] is not None]
    if len(pupils) <= limit:
        return pupils, None
    pupils = pupils[:limit]
    last = pupils[-1]
    return pupils, encode_cursor([last["last_name"], last["first_name"], str(last["id"])])


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
    session: DbSession, principal: Principal, school_id: uuid.UUID, items: list[Any]
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

    # Rows, not ORM objects: the writes below are set-based, and 1,000 tracked objects would
    # cost more than the statements.
    existing = await repository.lock_existing_by_upn(session, school.id, list(valid))
    created: list[dict[str, Any]] = []
    updated: list[tuple[Any, dict[str, Any], list[str]]] = []
    for upn, (index, fields) in valid.items():
        current = existing.get(upn)
        try:
            if current is None:
                missing = [name for name in REQUIRED_ON_CREATE if getattr(fields, name) is None]
                if missing:
                    raise ValidationFailed(
                        [FieldError(field=name, message="Field required") for name in missing]
                    )
                # Every field was validated with the item; what creating adds is checked here
                # (no nulls for required fields, needs ranked) rather than validating it again.
                fields.refuse_nulls(*CREATE_NOT_NULLABLE)
                problem = needs_problem(fields.primary_need, fields.secondary_need)
                if problem:
                    raise ValidationFailed([FieldError(field="secondary_need", message=problem)])
                state = new_pupil_values(school, fields)
                created.append(state)
                status, pupil_id = "created", state["id"]
            else:
                changes = planned_changes(current, fields)
                if changes:
                    state = {name: getattr(current, name) for name in BATCH_COLUMN_NAMES}
                    updated.append((current, state | changes, sorted(changes)))
                status, pupil_id = ("updated" if changes else "unchanged"), current.id
        except ValidationFailed as error:
            results[index] = _refused(
                index, upn, [BatchItemError(**e.model_dump()) for e in error.errors]
            )
            continue
        except ValidationError as error:
            results[index] = _refused(index, upn, _item_errors(error))
            continue
        results[index] = BatchItemResult(
            index=index, upn=upn, status=status, id=pupil_id, errors=[]
        )

    await repository.insert_pupils(session, school.id, SenStatus.N.value, created)
    await repository.update_pupils(
        session, [(current.id, current.version, state) for current, state, _ in updated]
    )
    leavers: list[Leaver] = []
    for current, state, changed in updated:
        emit(
            session,
            pupil_event_of(
                "pupil.updated",
                pupil_id=current.id,
                school_id=school.id,
                upn=current.upn,
                la_code=state["home_la_code"],
                changed=changed,
            ),
        )
        if "left_on" in changed and state["left_on"] is not None:
            leavers.append(
                Leaver(
                    pupil_id=current.id,
                    school_id=school.id,
                    upn=current.upn,
                    home_la_code=state["home_la_code"],
                )
            )
    await close_active_plans_of_leavers(session, principal, leavers)
    for state in created:
        emit(
            session,
            pupil_event_of(
                "pupil.created",
                pupil_id=state["id"],
                school_id=school.id,
                upn=state["upn"],
                la_code=state["home_la_code"],
            ),
        )
    await record_access(
        session,
        principal,
        AuditAction.CREATE,
        "pupil",
        [Touched(resource_id=s["id"], pupil_id=s["id"], school_id=school.id) for s in created],
    )
    await record_access(
        session,
        principal,
        AuditAction.UPDATE,
        "pupil",
        [Touched(resource_id=c.id, pupil_id=c.id, school_id=school.id) for c, _, _ in updated],
    )
    return [result for result in results if result is not None]
