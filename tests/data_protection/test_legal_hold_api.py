"""PUT, GET and DELETE /v1/pupils/{id}/legal-hold: who may, versions, audit, and the database
refusing to delete a held pupil."""

import uuid

import asyncpg
import pytest

from app.core.security import Role
from tests.core.test_errors import assert_problem
from tests.data_protection.helpers import REASON


def hold_path(pupil: dict) -> str:
    return f"/v1/pupils/{pupil['id']}/legal-hold"


async def test_a_hold_is_set_changed_read_and_lifted(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    senco_sub = api.last_sub
    path = hold_path(pupil)

    assert_problem(await api.http.get(path, headers=senco), 404, "not_found")
    created = await api.http.put(path, json={"reason": REASON}, headers=senco)
    assert created.status_code == 200, created.text
    assert created.headers["etag"] == '"1"'
    body = created.json()
    assert (body["pupil_id"], body["reason"], body["set_by"]) == (pupil["id"], REASON, senco_sub)

    admin = api.admin()
    admin_sub = api.last_sub
    changed = await api.http.put(
        path,
        json={"reason": "Extended: a second claim has been filed"},
        headers={**admin, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["set_by"] == admin_sub
    stale = await api.http.put(path, json={"reason": REASON}, headers={**senco, "If-Match": '"1"'})
    assert_problem(stale, 412, "stale_version")

    read = await api.http.get(path, headers=senco)
    assert read.json()["reason"] == "Extended: a second claim has been filed"

    lifted = await api.http.delete(path, headers=senco)
    assert lifted.status_code == 204
    assert_problem(await api.http.get(path, headers=senco), 404, "not_found")
    assert_problem(await api.http.delete(path, headers=senco), 404, "not_found")

    actions = await db.fetch(
        "select action from audit_entries where resource = 'legal_hold' and pupil_id = $1 "
        "order by at, id",
        uuid.UUID(pupil["id"]),
    )
    assert [r["action"] for r in actions] == ["create", "update", "read", "update"]


async def test_if_match_before_any_hold_is_stale(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    response = await api.http.put(
        hold_path(pupil), json={"reason": REASON}, headers={**api.senco(school), "If-Match": '"1"'}
    )
    assert_problem(response, 412, "stale_version")


async def test_a_reason_is_required_and_nothing_else_is_accepted(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    bodies: tuple[dict[str, object], ...] = (
        {},
        {"reason": "short"},
        {"reason": REASON, "set_by": "someone"},
        {"reason": "NUL\u0000 cannot be stored in PostgreSQL text"},
    )
    for body in bodies:
        response = await api.http.put(hold_path(pupil), json=body, headers=senco)
        assert_problem(response, 422, "validation_error")


async def test_other_roles_get_403_and_other_schools_404(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    elsewhere = await api.create_school()
    path = hold_path(pupil)
    for role in (Role.TEACHER, Role.MIS_INTEGRATION):
        headers = api.staff(role, school)
        assert_problem(
            await api.http.put(path, json={"reason": REASON}, headers=headers), 403, "forbidden"
        )
    parent = api.parent(pupil)
    assert_problem(
        await api.http.put(path, json={"reason": REASON}, headers=parent), 403, "forbidden"
    )
    assert_problem(await api.http.delete(path, headers=parent), 403, "forbidden")
    stranger = api.senco(elsewhere)
    for response in (
        await api.http.put(path, json={"reason": REASON}, headers=stranger),
        await api.http.get(path, headers=stranger),
        await api.http.delete(path, headers=stranger),
        await api.http.put(
            f"/v1/pupils/{uuid.uuid4()}/legal-hold", json={"reason": REASON}, headers=api.admin()
        ),
    ):
        assert_problem(response, 404, "not_found")


async def test_the_database_refuses_to_delete_a_held_pupil(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    held = await api.http.put(hold_path(pupil), json={"reason": REASON}, headers=api.admin())
    assert held.status_code == 200
    # PostgreSQL 18 reports a RESTRICT foreign key with its own SQLSTATE (23001); 15 as 23503.
    with pytest.raises((asyncpg.ForeignKeyViolationError, asyncpg.RestrictViolationError)):
        await db.execute("delete from pupils where id = $1", uuid.UUID(pupil["id"]))
    assert await db.fetchval("select count(*) from pupils where id = $1", uuid.UUID(pupil["id"]))
