"""The pupil list is one statement: the shown pupils' reads are audited, the probe row for the
next page is not, and an out-of-scope school is a 404 that writes nothing."""

from tests.core.test_errors import assert_problem


async def audit_of(db, response):
    return await db.fetch(
        "select action, resource, resource_id, pupil_id, school_id, actor_role "
        "from audit_entries where request_id = $1",
        response.headers["x-request-id"],
    )


async def test_only_the_pupils_shown_are_audited(api, db):
    school = await api.create_school()
    pupils = [await api.create_pupil(school, last_name=name) for name in ("Abel", "Baker", "Cole")]
    first = await api.http.get(
        f"/v1/schools/{school['id']}/pupils?limit=2", headers=api.staff("teacher", school)
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert [p["last_name"] for p in body["items"]] == ["Abel", "Baker"] and body["next_cursor"]
    entries = await audit_of(db, first)
    assert sorted(str(e["pupil_id"]) for e in entries) == sorted(p["id"] for p in pupils[:2])
    assert all(
        (e["action"], e["resource"], e["actor_role"]) == ("read", "pupil", "teacher")
        and e["resource_id"] == e["pupil_id"]
        and str(e["school_id"]) == school["id"]
        for e in entries
    )

    second = await api.http.get(
        f"/v1/schools/{school['id']}/pupils?limit=2&cursor={body['next_cursor']}",
        headers=api.staff("teacher", school),
    )
    assert [p["id"] for p in second.json()["items"]] == [pupils[2]["id"]]
    assert second.json()["next_cursor"] is None
    assert [str(e["pupil_id"]) for e in await audit_of(db, second)] == [pupils[2]["id"]]


async def test_an_empty_page_and_an_out_of_scope_school(api, db):
    school = await api.create_school()
    other = await api.create_school()
    await api.create_pupil(other)
    empty = await api.http.get(f"/v1/schools/{school['id']}/pupils", headers=api.senco(school))
    assert empty.status_code == 200 and empty.json() == {"items": [], "next_cursor": None}
    assert await audit_of(db, empty) == []

    elsewhere = await api.http.get(f"/v1/schools/{other['id']}/pupils", headers=api.senco(school))
    assert_problem(elsewhere, 404, "not_found")
    assert await audit_of(db, elsewhere) == []
    forged = await api.http.get(
        f"/v1/schools/{school['id']}/pupils?cursor=WyJ4Il0", headers=api.senco(school)
    )
    assert_problem(forged, 422, "validation_error")
