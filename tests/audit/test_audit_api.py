"""GET /v1/audit: the trail of who read or changed a pupil's data (SPEC.md §2, §4)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.core.security import Role, mint_token
from tests.core.test_errors import assert_problem

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def insert_entry(
    db,
    *,
    at: datetime,
    school_id: uuid.UUID,
    pupil_id: uuid.UUID | None = None,
    sub: str = "senco-1",
    role: str = "senco",
    action: str = "read",
) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await db.execute(
        "insert into audit_entries (id, at, actor_sub, actor_role, action, resource, "
        "resource_id, pupil_id, school_id, request_id) "
        "values ($1, $2, $3, $4, $5, 'pupil', $6, $6, $7, 'req-1')",
        entry_id,
        at,
        sub,
        role,
        action,
        pupil_id or uuid.uuid4(),
        school_id,
    )
    return entry_id


def senco_of(api, school_id: uuid.UUID, sub: str = "senco-1") -> dict[str, str]:
    token = mint_token(api.settings, sub=sub, role=Role.SENCO, school_id=school_id)
    return {"Authorization": f"Bearer {token}"}


async def audit(api, headers, **params):
    return await api.http.get("/v1/audit", params=params, headers=headers)


async def test_reads_and_writes_appear_with_actor_and_request_id_newest_first(api, db):
    school = await api.create_school()
    school_id = uuid.UUID(school["id"])
    headers = senco_of(api, school_id, sub="senco-amara")
    from tests.factories import pupil_body

    created = await api.http.post(
        f"/v1/schools/{school['id']}/pupils", json=pupil_body(), headers=headers
    )
    assert created.status_code == 201, created.text
    pupil_id = created.json()["id"]
    read = await api.http.get(f"/v1/pupils/{pupil_id}", headers=headers)
    assert read.status_code == 200

    response = await audit(api, headers, pupil_id=pupil_id)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    assert [item["action"] for item in page["items"]] == ["read", "create"]
    newest, oldest = page["items"]
    assert set(newest) == {
        "id",
        "at",
        "actor",
        "action",
        "resource",
        "resource_id",
        "pupil_id",
        "request_id",
    }
    assert newest["actor"] == {"sub": "senco-amara", "role": "senco"}
    assert newest["resource"] == "pupil"
    assert newest["resource_id"] == pupil_id
    assert newest["pupil_id"] == pupil_id
    assert newest["request_id"] == read.headers["x-request-id"]
    assert oldest["request_id"] == created.headers["x-request-id"]
    assert newest["at"] >= oldest["at"]


async def test_reading_the_trail_is_not_itself_audited(api, db):
    school = await api.create_school()
    school_id = uuid.UUID(school["id"])
    await insert_entry(db, at=T0, school_id=school_id)
    for headers in (senco_of(api, school_id), api.admin()):
        assert (await audit(api, headers)).status_code == 200
        assert (await audit(api, headers, pupil_id=str(uuid.uuid4()))).status_code == 200
    assert await db.fetchval("select count(*) from audit_entries") == 1


async def test_a_senco_sees_only_its_schools_entries_and_an_admin_sees_all(api, db):
    mine = uuid.UUID((await api.create_school())["id"])
    theirs = uuid.UUID((await api.create_school())["id"])
    own = await insert_entry(db, at=T0, school_id=mine)
    other_pupil = uuid.uuid4()
    other = await insert_entry(
        db, at=T0 + timedelta(minutes=1), school_id=theirs, pupil_id=other_pupil
    )

    senco = senco_of(api, mine)
    assert [i["id"] for i in (await audit(api, senco)).json()["items"]] == [str(own)]
    filtered = await audit(api, senco, pupil_id=str(other_pupil))
    assert filtered.status_code == 200
    assert filtered.json()["items"] == []

    everything = (await audit(api, api.admin())).json()["items"]
    assert [i["id"] for i in everything] == [str(other), str(own)]


@pytest.mark.parametrize("role", ["teacher", "mis_integration", "la_officer", "parent"])
async def test_other_roles_are_403(api, role):
    school = await api.create_school()
    school_id = uuid.UUID(school["id"])
    scopes: dict[str, dict[str, Any]] = {
        "teacher": {"school_id": school_id},
        "mis_integration": {"school_id": school_id},
        "la_officer": {"la_code": "801"},
        "parent": {"pupil_ids": [uuid.uuid4()]},
    }
    scope = scopes[role]
    assert_problem(await audit(api, api.headers(role, **scope)), 403, "forbidden")


async def test_no_token_is_401(api):
    assert_problem(await api.http.get("/v1/audit"), 401, "unauthorized")


async def test_filters_by_actor_pupil_and_an_inclusive_time_range(api, db):
    school_id = uuid.UUID((await api.create_school())["id"])
    pupil = uuid.uuid4()
    first = await insert_entry(db, at=T0, school_id=school_id, pupil_id=pupil, sub="alice")
    second = await insert_entry(
        db, at=T0 + timedelta(hours=1), school_id=school_id, pupil_id=pupil, sub="bob"
    )
    third = await insert_entry(db, at=T0 + timedelta(hours=2), school_id=school_id, sub="alice")
    admin = api.admin()

    def ids(response):
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(await audit(api, admin, actor="alice")) == [str(third), str(first)]
    assert ids(await audit(api, admin, pupil_id=str(pupil))) == [str(second), str(first)]
    assert ids(await audit(api, admin, pupil_id=str(pupil), actor="bob")) == [str(second)]
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
    assert ids(await audit(api, admin, **window)) == [str(second), str(first)]
    after = {"from": (T0 + timedelta(minutes=1)).isoformat()}
    assert ids(await audit(api, admin, **after)) == [str(third), str(second)]
    before = {"to": (T0 + timedelta(minutes=59)).isoformat()}
    assert ids(await audit(api, admin, **before)) == [str(first)]
    london = {"from": "2026-11-02T10:30:00+01:00"}  # 09:30 UTC
    assert ids(await audit(api, admin, **london)) == [str(third), str(second)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param(
            {"from": "2026-11-03T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
            "from",
            id="from-after-to",
        ),
        pytest.param({"from": "2026-11-02T09:00:00"}, "from", id="no-offset"),
        pytest.param({"to": "yesterday"}, "to", id="not-a-timestamp"),
        pytest.param({"pupil_id": "nope"}, "pupil_id", id="bad-pupil-id"),
        pytest.param({"limit": 0}, "limit", id="limit-zero"),
        pytest.param({"limit": 201}, "limit", id="limit-too-large"),
        pytest.param({"cursor": "bm90LWEtY3Vyc29y"}, "cursor", id="bad-cursor"),
    ],
)
async def test_bad_queries_are_422(api, params, field):
    body = assert_problem(await audit(api, api.admin(), **params), 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == [field]


async def test_pages_newest_first_without_gaps_or_repeats_when_times_tie(api, db):
    school_id = uuid.UUID((await api.create_school())["id"])
    # Entries written by one statement share `at`: the order must still be total.
    times = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=1)]
    times += [T0 + timedelta(seconds=2)]
    created = [(at, await insert_entry(db, at=at, school_id=school_id)) for at in times]
    expected = [str(i) for _, i in sorted(created, key=lambda e: (e[0], e[1]), reverse=True)]

    for headers in (api.admin(), senco_of(api, school_id)):
        seen = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await audit(api, headers, **params)).json()
            assert len(page["items"]) <= 2
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
