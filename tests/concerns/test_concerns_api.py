import uuid

from tests.core.test_errors import assert_problem


async def raise_concern(api, pupil, headers, **overrides):
    body = {
        "raised_by": "teacher",
        "description": "Struggling to follow spoken instructions",
    } | overrides
    return await api.http.post(f"/v1/pupils/{pupil['id']}/concerns", json=body, headers=headers)


async def test_concern_is_raised_listed_and_answered(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    teacher = api.staff("teacher", school)
    created = await raise_concern(api, pupil, teacher, raised_on="2026-09-10")
    assert created.status_code == 201, created.text
    concern = created.json()
    assert (concern["status"], concern["response"], concern["responded_on"]) == ("open", None, None)

    listed = await api.http.get(f"/v1/pupils/{pupil['id']}/concerns", headers=api.parent(pupil))
    assert [c["id"] for c in listed.json()["items"]] == [concern["id"]]

    answered = await api.http.patch(
        f"/v1/concerns/{concern['id']}",
        json={"response": "Speech and language screening booked", "responded_on": "2026-09-12"},
        headers={**api.senco(school), "If-Match": '"1"'},
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "responded"
    assert answered.json()["version"] == 2
    resources = {r["resource"] for r in await db.fetch("select resource from audit_entries")}
    assert resources == {"pupil", "concern"}


async def test_parent_raises_for_its_own_child_only_and_cannot_respond(api):
    school = await api.create_school()
    child = await api.create_pupil(school)
    other = await api.create_pupil(school)
    parent = api.parent(child)
    own = await raise_concern(api, child, parent, raised_by="parent")
    assert own.status_code == 201
    assert_problem(await raise_concern(api, child, parent, raised_by="teacher"), 403, "forbidden")
    assert_problem(await raise_concern(api, other, parent, raised_by="parent"), 404, "not_found")
    respond = await api.http.patch(
        f"/v1/concerns/{own.json()['id']}", json={"response": "Thanks"}, headers=parent
    )
    assert_problem(respond, 403, "forbidden")


async def test_mis_integration_and_admin_may_not_raise(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    assert_problem(
        await raise_concern(api, pupil, api.staff("mis_integration", school)), 403, "forbidden"
    )
    assert_problem(await raise_concern(api, pupil, api.admin()), 403, "forbidden")
    listing = await api.http.get(
        f"/v1/pupils/{pupil['id']}/concerns", headers=api.staff("mis_integration", school)
    )
    assert_problem(listing, 403, "forbidden")


async def test_bad_concerns_are_refused_and_nothing_changes(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    for overrides in (
        {"raised_by": "headteacher"},
        {"raised_on": "2999-01-01"},
        {"description": ""},
        {"status": "responded"},
    ):
        assert_problem(await raise_concern(api, pupil, senco, **overrides), 422, "validation_error")
    assert_problem(
        await raise_concern(api, pupil, senco, raised_on="2001-01-01"), 422, "validation_error"
    )
    assert await db.fetchval("select count(*) from concerns") == 0

    concern = (await raise_concern(api, pupil, senco, raised_on="2026-09-10")).json()
    before = await db.fetchrow("select * from concerns")
    early = await api.http.patch(
        f"/v1/concerns/{concern['id']}",
        json={"response": "x", "responded_on": "2026-09-01"},
        headers=senco,
    )
    assert_problem(early, 422, "validation_error")
    date_only = await api.http.patch(
        f"/v1/concerns/{concern['id']}", json={"responded_on": "2026-09-11"}, headers=senco
    )
    assert_problem(date_only, 422, "validation_error")
    assert await db.fetchrow("select * from concerns") == before
    assert_problem(
        await api.http.patch(f"/v1/concerns/{uuid.uuid4()}", json={"response": "x"}, headers=senco),
        404,
        "not_found",
    )
    other = await api.create_school()
    elsewhere = await api.http.patch(
        f"/v1/concerns/{concern['id']}", json={"response": "x"}, headers=api.senco(other)
    )
    assert_problem(elsewhere, 404, "not_found")
