"""Which pupils a caller may see (SPEC.md §4): out of scope is always 404, never 403."""

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Uuid,
    any_,
    bindparam,
    exists,
    false,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.security import Principal, Role
from app.models import EhcRequest, Pupil, School
from app.models.funding import FundingClaim

RowT = TypeVar("RowT")


def _scope_value(
    name: str, values: Mapping[str, Any] | None, type_: Any = None
) -> BindParameter[Any]:
    """The parameter `name` of a scope: left open for statements that bind the caller's values
    at execution (`scope_params`), or holding the value now (unique, so that scopes used twice
    in one statement never clash)."""
    if values is None:
        return bindparam(name, type_=type_)
    return bindparam(name, values[name], type_=type_, unique=True)


def pupil_scope(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on `Pupil` that holds for exactly the pupils in the caller's scope."""
    return bound_pupil_scope(principal.role, scope_params(principal))


def bound_pupil_scope(role: Role, values: Mapping[str, Any] | None = None) -> ColumnElement[bool]:
    """The pupils a role's caller may see. Without `values`, the caller's values are left as
    parameters (`scope_params` names them) for statements built once per role and bound at
    execution; `pupil_scope` passes them."""
    match role:
        case Role.PLATFORM_ADMIN:
            return true()
        case Role.SENCO | Role.TEACHER | Role.MIS_INTEGRATION:
            return Pupil.school_id == _scope_value("scope_school_id", values)
        case Role.PARENT:
            # `= ANY(array)` rather than an expanding IN list: the SQL stays the same whatever
            # the number of children, so it compiles once.
            return Pupil.id == any_(_scope_value("scope_pupil_ids", values, ARRAY(Uuid)))
        case Role.LA_OFFICER:
            return la_scope(_scope_value("scope_la_code", values))
    return false()


def scope_params(principal: Principal) -> dict[str, Any]:
    match principal.role:
        case Role.SENCO | Role.TEACHER | Role.MIS_INTEGRATION:
            return {"scope_school_id": principal.school_id}
        case Role.PARENT:
            # An empty array matches nothing, as a parent with no children should.
            return {"scope_pupil_ids": list(principal.pupil_ids)}
        case Role.LA_OFFICER:
            return {"scope_la_code": principal.la_code}
    return {}


def la_scope(la_code: BindParameter[Any] | str | None) -> ColumnElement[bool]:
    """An LA sees a pupil once an EHC request or top-up claim to it has been submitted, and
    keeps seeing it after the decision or a withdrawal. Drafts stay invisible: `la_code` is
    only set on submission."""
    if la_code is None:
        return false()
    return or_(
        exists().where(EhcRequest.pupil_id == Pupil.id, EhcRequest.la_code == la_code),
        exists().where(FundingClaim.pupil_id == Pupil.id, FundingClaim.la_code == la_code),
    )


def school_scope(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on `School`: the schools a caller may read."""
    return bound_school_scope(principal.role, scope_params(principal))


def bound_school_scope(role: Role, values: Mapping[str, Any] | None = None) -> ColumnElement[bool]:
    """The schools a role's caller may read: its own school, an LA's own schools and the
    schools of the pupils it follows elsewhere, a parent's children's schools. `values` as in
    `bound_pupil_scope`."""
    match role:
        case Role.PLATFORM_ADMIN:
            return true()
        case Role.SENCO | Role.TEACHER | Role.MIS_INTEGRATION:
            return School.id == _scope_value("scope_school_id", values)
        case Role.LA_OFFICER:
            la_code = _scope_value("scope_la_code", values)
            return or_(
                School.la_code == la_code,
                School.id.in_(select(Pupil.school_id).where(la_scope(la_code))),
            )
        case Role.PARENT:
            return School.id.in_(select(Pupil.school_id).where(bound_pupil_scope(role, values)))
    return false()


async def get_school_in_scope(
    session: AsyncSession, principal: Principal, school_id: uuid.UUID, *, for_update: bool = False
) -> School:
    query = select(School).where(School.id == school_id, school_scope(principal))
    if for_update:
        query = query.with_for_update()
    school = await session.scalar(query)
    if school is None:
        raise NotFound("No such school")
    return school


async def get_pupil_in_scope(
    session: AsyncSession, principal: Principal, pupil_id: uuid.UUID, *, for_update: bool = False
) -> Pupil:
    query = select(Pupil).where(Pupil.id == pupil_id, pupil_scope(principal))
    if for_update:
        query = query.with_for_update()
    pupil = await session.scalar(query)
    if pupil is None:
        raise NotFound("No such pupil")
    return pupil


async def get_with_pupil(
    session: AsyncSession,
    model: type[RowT],
    row_id: uuid.UUID,
    scope: ColumnElement[bool],
    *,
    what: str,
    for_update: bool = False,
) -> tuple[RowT, Pupil]:
    """A row of a pupil-owned table and its pupil, if `scope` allows it; else 404 (never 403:
    a row outside the caller's scope is answered exactly as one that does not exist)."""
    table: Any = model
    query = (
        select(table, Pupil)
        .join(Pupil, Pupil.id == table.pupil_id)
        .where(table.id == row_id, scope)
    )
    if for_update:
        query = query.with_for_update(of=table)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"No such {what}")
    found, pupil = row
    return found, pupil
