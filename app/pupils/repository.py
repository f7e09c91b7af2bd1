"""The pupils' queries: single-statement audited reads, the UPN checks and the batch's set writes.

The batch writes as sets: one INSERT and one UPDATE whatever the number of pupils, each column
travelling as an array, so 1,000 items cost two statements rather than one UPDATE per changed
pupil (the ORM's version counter issues those one by one). The columns and their types come
from the `Pupil` model, so a new pupil column is one edit here (`BATCH_COLUMN_NAMES`).
"""

import functools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    CTE,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Uuid,
    any_,
    bindparam,
    cast,
    exists,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import audit_params, audited_read
from app.core.db import Database
from app.core.errors import Conflict
from app.core.scope import bound_pupil_scope, bound_school_scope, scope_params
from app.core.security import Principal, Role
from app.models import Pupil, School
from app.pupils.schemas import PupilOut

UPN_TAKEN = "Another pupil at this school already has this UPN"
LIST_ORDER = (Pupil.last_name, Pupil.first_name, Pupil.id)
# What a batch item may set, in the order the set statements list them.
BATCH_COLUMN_NAMES = (
    "first_name",
    "last_name",
    "date_of_birth",
    "year_group",
    "home_la_code",
    "pupil_premium",
    "primary_need",
    "secondary_need",
    "contacts",
    "left_on",
)


async def upn_taken(
    session: AsyncSession, school_id: uuid.UUID, upn: str, other_than: uuid.UUID | None = None
) -> bool:
    query = select(Pupil.id).where(Pupil.school_id == school_id, Pupil.upn == upn)
    if other_than is not None:
        query = query.where(Pupil.id != other_than)
    return (await session.scalar(query)) is not None


async def add_pupil(session: AsyncSession, pupil: Pupil) -> None:
    session.add(pupil)
    await flush_unique(session)


async def flush_unique(session: AsyncSession) -> None:
    """Flush, answering 409 when a concurrent writer took the same UPN between our check and
    our write."""
    try:
        await session.flush()
    except IntegrityError as error:
        if "uq_pupils_school_id_upn" in str(error.orig):
            raise Conflict(UPN_TAKEN) from None
        raise


async def refresh_updated_at(session: AsyncSession, pupil: Pupil) -> None:
    await session.refresh(pupil, ["updated_at"])


def _pupil_out_columns(rows: CTE) -> list[ColumnElement[Any]]:
    """`PupilOut`'s fields in its order, from a CTE of pupil rows; ids as text and contacts as
    the JSON text stored (passed through to the answer, see `pupil_json`)."""
    as_text = {"id", "school_id", "contacts"}  # written as they come, no Python call each
    return [
        cast(rows.c[name], String).label(name) if name in as_text else rows.c[name]
        for name in PupilOut.model_fields
    ]


@functools.cache
def _audited_pupil_read(role: Role) -> Select[Any]:
    """The hot read, built once per role: the scoped select and its audit entry in one
    statement, so one round trip and no transaction; the caller's values are bound at
    execution."""
    scoped = (
        select(*Pupil.__table__.columns, Pupil.id.label("pupil_id"))
        .where(Pupil.id == bindparam("pupil_id"), bound_pupil_scope(role))
        .cte("scoped")
    )
    audited = audited_read("pupil", scoped, resource_id="id", school_id="school_id")
    columns = _pupil_out_columns(scoped)
    return select(*columns).add_cte(audited)


async def read_pupil_row(
    database: Database, principal: Principal, pupil_id: uuid.UUID
) -> Mapping[str, Any] | None:
    """One pupil in the caller's scope, as the columns `PupilOut` shows; the read is audited in
    the same statement (no row: nothing was read, nothing audited)."""
    params = {"pupil_id": pupil_id, **scope_params(principal), **audit_params(principal)}
    return await database.statement_row(_audited_pupil_read(principal.role), params)


@functools.cache
def _audited_pupil_page(role: Role, filters: frozenset[str]) -> Select[Any]:
    """A page of a school's pupils and the audit entries of the pupils shown, in one
    statement, built once per role and set of filters used; values are bound at execution.

    It answers no row when the school is out of scope (404), one row of nulls when the page is
    empty, else up to `limit + 1` pupils (the last only tells whether there is a next page: it
    is neither shown nor audited)."""
    school = (
        select(School.id)
        .where(School.id == bindparam("school_id"), bound_school_scope(role))
        .cte("school")
    )
    # The school's id as a parameter, not a join to `school`: the planner then walks the
    # name-order index of that school and stops at the limit. The EXISTS is evaluated once.
    conditions = [
        Pupil.school_id == bindparam("school_id"),
        bound_pupil_scope(role),
        exists(select(school.c.id)),
    ]
    if "sen_status" in filters:
        conditions.append(Pupil.sen_status == bindparam("sen_status"))
    if "year_group" in filters:
        conditions.append(Pupil.year_group == bindparam("year_group"))
    if "updated_since" in filters:
        conditions.append(Pupil.updated_at >= bindparam("updated_since"))
    if "q" in filters:
        # The search text is bound as a parameter; only LIKE's own wildcards are escaped.
        conditions.append(
            or_(
                Pupil.first_name.ilike(bindparam("q_like")),
                Pupil.last_name.ilike(bindparam("q_like")),
                Pupil.upn == bindparam("q_upn"),
            )
        )
    if "cursor" in filters:
        conditions.append(
            tuple_(*LIST_ORDER)
            > tuple_(
                bindparam("after_last_name"),
                bindparam("after_first_name"),
                bindparam("after_id", type_=Uuid),
            )
        )
    page = (
        select(*Pupil.__table__.columns, Pupil.id.label("pupil_id"))
        .where(*conditions)
        .order_by(*LIST_ORDER)
        .limit(bindparam("probe_limit"))
        .cte("page")
    )
    shown = (
        select(page)
        .order_by(page.c.last_name, page.c.first_name, page.c.id)
        .limit(bindparam("limit"))
        .cte("shown")
    )
    audited = audited_read("pupil", shown, resource_id="id", school_id="school_id")
    columns = _pupil_out_columns(page)
    statement = (
        select(*columns)
        .select_from(school.outerjoin(page, true()))
        .order_by(page.c.last_name, page.c.first_name, page.c.id)
        .add_cte(audited)
    )
    return statement


async def read_pupil_page(
    database: Database, principal: Principal, filters: frozenset[str], params: dict[str, Any]
) -> list[Mapping[str, Any]]:
    """The rows of `_audited_pupil_page` for the filters used, bound to `params` and the
    caller's scope and audit values."""
    statement = _audited_pupil_page(principal.role, filters)
    return await database.statement_rows(
        statement, {**params, **scope_params(principal), **audit_params(principal)}
    )


_BATCH_TYPES = {
    # JSON travels as text and is cast in SQL: asyncpg takes no array of jsonb values.
    name: ARRAY(String)
    if isinstance(Pupil.__table__.c[name].type, JSONB)
    else ARRAY(Pupil.__table__.c[name].type)
    for name in BATCH_COLUMN_NAMES
}
_JSON_COLUMNS = frozenset(
    name for name in BATCH_COLUMN_NAMES if isinstance(Pupil.__table__.c[name].type, JSONB)
)
_BATCH_NAMES = ", ".join(BATCH_COLUMN_NAMES)
_BATCH_ARRAYS = ", ".join(f":{name}" for name in BATCH_COLUMN_NAMES)
_BATCH_ITEMS = ", ".join(
    f"item.{name}::jsonb" if name in _JSON_COLUMNS else f"item.{name}"
    for name in BATCH_COLUMN_NAMES
)
_BATCH_SETS = ", ".join(
    f"{name} = item.{name}::jsonb" if name in _JSON_COLUMNS else f"{name} = item.{name}"
    for name in BATCH_COLUMN_NAMES
)
_BATCH_BINDS = [bindparam(name, type_=type_) for name, type_ in _BATCH_TYPES.items()]

_INSERT_PUPILS = text(
    f"INSERT INTO pupils (id, school_id, upn, {_BATCH_NAMES}, sen_status, version) "
    f"SELECT item.id, :school_id, item.upn, {_BATCH_ITEMS}, :sen_status, 1 "
    f"FROM unnest(:ids, :upns, {_BATCH_ARRAYS}) AS item(id, upn, {_BATCH_NAMES})"
).bindparams(
    bindparam("school_id", type_=Uuid),
    bindparam("ids", type_=ARRAY(Uuid)),
    bindparam("upns", type_=ARRAY(String)),
    *_BATCH_BINDS,
)

# The version check of an ORM update, in SQL: a row whose version moved is not updated, and
# the count of rows returned tells (the rows are locked FOR UPDATE first, so it never moves).
_UPDATE_PUPILS = text(
    f"UPDATE pupils SET {_BATCH_SETS}, version = pupils.version + 1, updated_at = now() "
    f"FROM unnest(:ids, :versions, {_BATCH_ARRAYS}) AS item(id, version, {_BATCH_NAMES}) "
    "WHERE pupils.id = item.id AND pupils.version = item.version "
    "RETURNING pupils.id"
).bindparams(
    bindparam("ids", type_=ARRAY(Uuid)),
    bindparam("versions", type_=ARRAY(Integer)),
    *_BATCH_BINDS,
)


_EXISTING_PUPILS = (
    select(Pupil.__table__)
    .where(
        Pupil.school_id == bindparam("school_id"),
        # `= ANY(array)`: one statement text (and prepared plan) for 1 UPN or 1,000.
        Pupil.upn == any_(bindparam("upns", type_=ARRAY(String))),
    )
    .with_for_update()
)


async def lock_existing_by_upn(
    session: AsyncSession, school_id: uuid.UUID, upns: list[str]
) -> dict[str, Row[Any]]:
    """The school's pupils with these UPNs, locked for the batch's writes, by UPN."""
    rows = await session.execute(_EXISTING_PUPILS, {"school_id": school_id, "upns": upns})
    return {row.upn: row for row in rows}


def _column_arrays(states: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    arrays: dict[str, list[Any]] = {name: [] for name in BATCH_COLUMN_NAMES}
    for state in states:
        for name, values in arrays.items():
            value = state[name]
            values.append(orjson.dumps(value).decode() if name in _JSON_COLUMNS else value)
    return arrays


async def insert_pupils(
    session: AsyncSession,
    school_id: uuid.UUID,
    sen_status: str,
    created: Sequence[Mapping[str, Any]],
) -> None:
    """One INSERT for every new pupil (409 if a concurrent writer took one of the UPNs)."""
    if not created:
        return
    try:
        await session.execute(
            _INSERT_PUPILS,
            {
                "school_id": school_id,
                "sen_status": sen_status,
                "ids": [state["id"] for state in created],
                "upns": [state["upn"] for state in created],
                **_column_arrays(created),
            },
        )
    except IntegrityError as error:
        # A concurrent writer took one of these UPNs between our read and our write.
        if "uq_pupils_school_id_upn" in str(error.orig):
            raise Conflict(UPN_TAKEN) from None
        raise


async def update_pupils(
    session: AsyncSession, updated: Sequence[tuple[uuid.UUID, int, Mapping[str, Any]]]
) -> None:
    """One version-checked UPDATE for every changed pupil: (id, version read, new state)."""
    if not updated:
        return
    written = await session.execute(
        _UPDATE_PUPILS,
        {
            "ids": [pupil_id for pupil_id, _, _ in updated],
            "versions": [version for _, version, _ in updated],
            **_column_arrays([state for _, _, state in updated]),
        },
    )
    if len(written.all()) != len(updated):
        raise Conflict("A pupil in this batch was changed meanwhile; send the batch again")
