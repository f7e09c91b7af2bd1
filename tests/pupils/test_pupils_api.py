import uuid

import pytest

from app.core.clock import today_london
from tests.core.test_errors import assert_problem
from tests.factories import make_upn, pupil_body


async def count(db, table):
    return await db.fetchval(f"select count(*) from {table}")


async def test_create_then_read_with_etag(api):
    school = await api.create_school(la_code="330")
    body = pupil_body(
        home_la_code=None,
        primary_need="SLCN",
        secondary_need="ASD",
        contacts=[
            {
                "name": "Grace Okafor",
                "relationship": "mother",
                "has_parental_responsibility": True,
                "email": "grace@example.org",
            }
        ],
    )
    body.pop("home_la_code")
    response = await api.http.post(
        f"/v1/schools/{school['id']}/pupils", json=body, headers=api.senco(school)
    )
    assert response.status_code == 201, response.text
    pupil = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/v1/pupils/{pupil['id']}"
    assert pupil["sen_status"] == "N"
    assert pupil["home_la_code"] == "330"  # defaults to the school's LA
    assert pupil["contacts"][0]["id"]
    assert pupil["contacts"][0]["phone"] is None

    read = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.staff("teacher", school))
    assert read.status_code == 200
    assert read.json() == pupil


async def test_lowercase_upn_is_normalised(api):
    school = await api.create_school()
    upn = make_upn()
    pupil = await api.create_pupil(school, upn=upn.lower())
    assert pupil["upn"] == upn


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"upn": "A801200005001"}, "upn"),
        ({"upn": "123"}, "upn"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "14/03/2016"}, "date_of_birth"),
        ({"year_group": "15"}, "year_group"),
        ({"home_la_code": "80"}, "home_la_code"),
        ({"primary_need": "XYZ"}, "primary_need"),
        ({"sen_status": "K"}, "sen_status"),
        ({"version": 7}, "version"),
        ({"school_id": str(uuid.uuid4())}, "school_id"),
        ({"first_name": ""}, "first_name"),
        ({"pupil_premium": "maybe"}, "pupil_premium"),
        (
            {"contacts": [{"name": "X", "relationship": "aunt", "email": "not-an-email"}]},
            "contacts.0.email",
        ),
    ],
)
async def test_bad_pupil_fields_are_refused_and_nothing_is_written(api, db, overrides, field):
    school = await api.create_school()
    response = await api.http.post(
        f"/v1/schools/{school['id']}/pupils",
        json=pupil_body(**overrides),
        headers=api.senco(school),
    )
    body = assert_problem(response, 422, "validation_error")
    assert field in {error["field"] for error in body["errors"]}
    assert await count(db, "pupils") == 0
    assert await count(db, "audit_entries") == 0


async def test_missing_fields_are_all_listed(api):
    school = await api.create_school()
    response = await api.http.post(
        f"/v1/schools/{school['id']}/pupils", json={}, headers=api.senco(school)
    )
    body = assert_problem(response, 422, "validation_error")
    assert {e["field"] for e in body["errors"]} == {
        "upn",
        "first_name",
        "last_name",
        "date_of_birth",
        "year_group",
    }


async def test_secondary_need_without_primary_is_refused(api):
    school = await api.create_school()
    response = await api.http.post(
        f"/v1/schools/{school['id']}/pupils",
        json=pupil_body(secondary_need="ASD"),
        headers=api.senco(school),
    )
    assert_problem(response, 422, "validation_error")
    pupil = await api.create_pupil(school)
    patched = await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"secondary_need": "ASD"}, headers=api.senco(school)
    )
    body = assert_problem(patched, 422, "validation_error")
    assert body["errors"][0]["field"] == "secondary_need"


async def test_upn_is_unique_within_a_school_not_across_schools(api, db):
    first = await api.create_school()
    second = await api.create_school()
    pupil = await api.create_pupil(first)
    again = await api.http.post(
        f"/v1/schools/{first['id']}/pupils",
        json=pupil_body(upn=pupil["upn"]),
        headers=api.senco(first),
    )
    assert_problem(again, 409, "conflict")
    await api.create_pupil(second, upn=pupil["upn"])
    assert await count(db, "pupils") == 2


async def test_patch_updates_sent_fields_and_honours_if_match(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    response = await api.http.patch(
        f"/v1/pupils/{pupil['id']}",
        json={"year_group": "6", "primary_need": "SPLD"},
        headers={**senco, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["year_group"], updated["primary_need"], updated["version"]) == ("6", "SPLD", 2)
    assert updated["first_name"] == pupil["first_name"]
    assert updated["updated_at"] > pupil["updated_at"]

    stale = await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"year_group": "7"}, headers={**senco, "If-Match": '"1"'}
    )
    assert_problem(stale, 412, "stale_version")
    unchanged = await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"year_group": "6"}, headers=senco
    )
    assert unchanged.json()["version"] == 2


async def test_sen_status_cannot_be_written(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    response = await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"sen_status": "E"}, headers=api.senco(school)
    )
    assert_problem(response, 422, "validation_error")
    read = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.senco(school))
    assert read.json()["sen_status"] == "N"


async def test_contacts_keep_their_ids_and_unknown_ids_are_refused(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school, contacts=[{"name": "Sam", "relationship": "father"}])
    kept = pupil["contacts"][0]
    senco = api.senco(school)
    response = await api.http.patch(
        f"/v1/pupils/{pupil['id']}",
        json={
            "contacts": [
                {**kept, "phone": "01234 567890"},
                {"name": "Ana", "relationship": "carer"},
            ]
        },
        headers=senco,
    )
    assert response.status_code == 200, response.text
    contacts = response.json()["contacts"]
    assert contacts[0]["id"] == kept["id"] and contacts[0]["phone"] == "01234 567890"
    assert contacts[1]["id"] not in (None, kept["id"])
    unknown = await api.http.patch(
        f"/v1/pupils/{pupil['id']}",
        json={"contacts": [{"id": str(uuid.uuid4()), "name": "Z", "relationship": "x"}]},
        headers=senco,
    )
    body = assert_problem(unknown, 422, "validation_error")
    assert body["errors"][0]["field"] == "contacts.0.id"


async def test_roles_and_scope_on_pupils(api):
    school = await api.create_school()
    other = await api.create_school()
    pupil = await api.create_pupil(school)
    sibling = await api.create_pupil(school)
    url = f"/v1/pupils/{pupil['id']}"

    # Out of scope is 404, exactly like a pupil that does not exist.
    for headers in (
        api.senco(other),
        api.parent(sibling),
        api.headers("la_officer", la_code="801"),
    ):
        assert_problem(await api.http.get(url, headers=headers), 404, "not_found")
    assert_problem(
        await api.http.get(f"/v1/pupils/{uuid.uuid4()}", headers=api.senco(school)),
        404,
        "not_found",
    )

    # In scope but lacking the action is 403.
    for role in ("teacher",):
        response = await api.http.patch(
            url, json={"year_group": "6"}, headers=api.staff(role, school)
        )
        assert_problem(response, 403, "forbidden")
    assert_problem(
        await api.http.patch(url, json={"year_group": "6"}, headers=api.parent(pupil)),
        403,
        "forbidden",
    )
    assert_problem(
        await api.http.patch(url, json={"year_group": "6"}, headers=api.admin()), 403, "forbidden"
    )
    create = await api.http.post(
        f"/v1/schools/{school['id']}/pupils",
        json=pupil_body(),
        headers=api.staff("teacher", school),
    )
    assert_problem(create, 403, "forbidden")
    create_elsewhere = await api.http.post(
        f"/v1/schools/{other['id']}/pupils", json=pupil_body(), headers=api.senco(school)
    )
    assert_problem(create_elsewhere, 404, "not_found")

    # Readers.
    for headers in (
        api.parent(pupil),
        api.admin(),
        api.staff("mis_integration", school),
        api.staff("teacher", school),
    ):
        assert (await api.http.get(url, headers=headers)).status_code == 200
    mis_patch = await api.http.patch(
        url, json={"year_group": "6"}, headers=api.staff("mis_integration", school)
    )
    assert mis_patch.status_code == 200


async def test_parent_lists_only_its_own_children(api):
    school = await api.create_school()
    mine = await api.create_pupil(school)
    await api.create_pupil(school)
    listed = await api.http.get(f"/v1/schools/{school['id']}/pupils", headers=api.parent(mine))
    assert [p["id"] for p in listed.json()["items"]] == [mine["id"]]


async def test_list_filters(api):
    school = await api.create_school()
    alpha = await api.create_pupil(school, first_name="Zed", last_name="Alpha", year_group="3")
    beta = await api.create_pupil(school, first_name="Yara", last_name="Beta", year_group="4")
    senco = api.senco(school)
    url = f"/v1/schools/{school['id']}/pupils"

    async def ids(**params):
        response = await api.http.get(url, params=params, headers=senco)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    assert await ids() == [alpha["id"], beta["id"]]
    assert await ids(year_group="4") == [beta["id"]]
    assert await ids(sen_status="N") == [alpha["id"], beta["id"]]
    assert await ids(sen_status="K") == []
    assert await ids(q="alp") == [alpha["id"]]
    assert await ids(q=beta["upn"]) == [beta["id"]]
    assert await ids(q="%") == []
    await api.http.patch(f"/v1/pupils/{alpha['id']}", json={"year_group": "4"}, headers=senco)
    changed = (await api.http.get(f"/v1/pupils/{alpha['id']}", headers=senco)).json()
    assert await ids(updated_since=changed["updated_at"]) == [alpha["id"]]
    assert_problem(
        await api.http.get(url, params={"sen_status": "X"}, headers=senco), 422, "validation_error"
    )


async def test_list_pages_are_stable_and_complete(api):
    school = await api.create_school()
    created = [await api.create_pupil(school, last_name="Same", first_name="Kit") for _ in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (
            await api.http.get(
                f"/v1/schools/{school['id']}/pupils", params=params, headers=api.senco(school)
            )
        ).json()
        assert len(page["items"]) <= 3
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(p["id"] for p in created)
    assert len(seen) == len(set(seen))


async def test_reads_and_writes_are_audited_in_the_same_transaction(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    await api.http.get(f"/v1/pupils/{pupil['id']}", headers=senco)
    await api.http.patch(f"/v1/pupils/{pupil['id']}", json={"year_group": "6"}, headers=senco)
    await api.create_pupil(school)
    await api.http.get(f"/v1/schools/{school['id']}/pupils", headers=senco)
    rows = await db.fetch(
        "select action, resource, pupil_id, actor_role, request_id from audit_entries"
    )
    actions = sorted((r["action"], str(r["pupil_id"]) == pupil["id"]) for r in rows)
    assert actions == sorted(
        [
            ("create", True),
            ("read", True),
            ("update", True),
            ("create", False),
            ("read", True),
            ("read", False),
        ]
    )
    assert {r["actor_role"] for r in rows} == {"senco"}
    assert all(r["request_id"] != "-" for r in rows)

    before = await count(db, "audit_entries")
    await api.http.get(f"/v1/pupils/{uuid.uuid4()}", headers=senco)
    await api.http.patch(f"/v1/pupils/{pupil['id']}", json={"year_group": "99"}, headers=senco)
    assert await count(db, "audit_entries") == before  # refused requests audit nothing


async def test_audit_entries_are_append_only_in_the_database(api, db):
    import asyncpg

    school = await api.create_school()
    await api.create_pupil(school)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("update audit_entries set actor_sub = 'someone else'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("delete from audit_entries")
    assert await count(db, "audit_entries") == 1


async def test_a_201_is_committed_before_it_is_answered(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    # Read over another connection the instant the answer arrives.
    assert (
        await db.fetchval("select upn from pupils where id = $1", uuid.UUID(pupil["id"]))
        == pupil["upn"]
    )


async def test_future_date_is_relative_to_london_today(api):
    school = await api.create_school()
    today = today_london().isoformat()
    pupil = await api.create_pupil(school, date_of_birth=today)
    assert pupil["date_of_birth"] == today
