from tests.core.test_errors import assert_problem
from tests.factories import make_upn, pupil_body


async def test_batch_creates_updates_reports_unchanged_and_errors(api, db):
    school = await api.create_school()
    existing = await api.create_pupil(school, year_group="3")
    same = await api.create_pupil(school, year_group="4")
    bad_upn = "A801200005001"
    new_upn = make_upn()
    items = [
        pupil_body(upn=new_upn),
        {"upn": existing["upn"], "year_group": "4"},
        {"upn": same["upn"], "year_group": "4"},
        {"upn": bad_upn, "first_name": "X"},
        {"upn": make_upn(), "first_name": "Only"},
        "not an object",
        {"upn": new_upn, "first_name": "Twice"},
        {"upn": existing["upn"], "sen_status": "E"},
    ]
    response = await api.http.post(
        f"/v1/schools/{school['id']}/pupils/batch", json={"items": items}, headers=api.senco(school)
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in results] == [
        "created",
        "updated",
        "unchanged",
        "error",
        "error",
        "error",
        "error",
        "error",
    ]
    assert (
        results[0]["id"] and results[1]["id"] == existing["id"] and results[2]["id"] == same["id"]
    )
    assert results[3]["errors"][0]["field"] == "upn"
    assert {e["field"] for e in results[4]["errors"]} == {
        "last_name",
        "date_of_birth",
        "year_group",
    }
    assert results[5]["errors"] == [{"field": "item", "message": "Must be an object"}]
    assert "item 0" in results[6]["errors"][0]["message"]
    assert results[7]["errors"][0]["field"] == "sen_status"

    rows = {
        r["upn"]: r
        for r in await db.fetch("select upn, year_group, version, sen_status from pupils")
    }
    assert len(rows) == 3
    assert rows[existing["upn"]]["year_group"] == "4" and rows[existing["upn"]]["version"] == 2
    assert rows[same["upn"]]["version"] == 1
    assert rows[existing["upn"]]["sen_status"] == "N"
    audit = await db.fetch(
        "select action from audit_entries where request_id = $1", response.headers["x-request-id"]
    )
    assert sorted(r["action"] for r in audit) == ["create", "update"]


async def test_batch_of_a_thousand_is_accepted_and_more_is_refused_whole(api, db):
    school = await api.create_school()
    url = f"/v1/schools/{school['id']}/pupils/batch"
    too_many = [pupil_body() for _ in range(1001)]
    refused = await api.http.post(url, json={"items": too_many}, headers=api.senco(school))
    assert_problem(refused, 422, "batch_too_large")
    assert await db.fetchval("select count(*) from pupils") == 0

    response = await api.http.post(
        url, json={"items": too_many[:1000]}, headers=api.staff("mis_integration", school)
    )
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"created"}
    assert await db.fetchval("select count(*) from pupils") == 1000
    again = await api.http.post(url, json={"items": too_many[:1000]}, headers=api.senco(school))
    assert {r["status"] for r in again.json()["results"]} == {"unchanged"}


async def test_batch_roles_and_scope(api):
    school = await api.create_school()
    other = await api.create_school()
    body = {"items": [pupil_body()]}
    teacher = await api.http.post(
        f"/v1/schools/{school['id']}/pupils/batch", json=body, headers=api.staff("teacher", school)
    )
    assert_problem(teacher, 403, "forbidden")
    elsewhere = await api.http.post(
        f"/v1/schools/{other['id']}/pupils/batch", json=body, headers=api.senco(school)
    )
    assert_problem(elsewhere, 404, "not_found")
    not_a_list = await api.http.post(
        f"/v1/schools/{school['id']}/pupils/batch", json={"items": {}}, headers=api.senco(school)
    )
    assert_problem(not_a_list, 422, "validation_error")
