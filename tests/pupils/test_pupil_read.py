"""`GET /v1/pupils/{pupil_id}`: one audited statement, through the route like every request."""

from tests.core.test_errors import assert_problem
from tests.sql import counted_statements


async def audited_reads(db, pupil_id):
    return await db.fetchval(
        "select count(*) from audit_entries where pupil_id = $1 and action = 'read'", pupil_id
    )


async def test_a_read_is_one_statement_with_its_audit_entry_and_a_404_one_statement_too(
    api, app, db
):
    """The read is one statement in autocommit (the pupil and its audit entry, a CTE); a
    pupil out of scope or missing costs that one statement too and writes no entry."""
    school, other = await api.create_school(), await api.create_school()
    pupil = await api.create_pupil(
        school, contacts=[{"name": "Zoë", "relationship": "mother"}], primary_need="SPLD"
    )
    senco = api.senco(school)
    with counted_statements(app) as statements:
        read = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=senco)
    assert read.status_code == 200, read.text
    assert len(statements) == 1, statements
    assert read.headers["etag"] == '"1"'
    assert read.json()["contacts"][0]["name"] == "Zoë"
    entry = await db.fetchrow(
        "select actor_role, request_id from audit_entries where pupil_id = $1 and action = 'read'",
        pupil["id"],
    )
    assert (entry["actor_role"], entry["request_id"]) == ("senco", read.headers["x-request-id"])
    for url, headers in (
        (f"/v1/pupils/{pupil['id']}", api.senco(other)),
        ("/v1/pupils/00000000-0000-4000-8000-000000000000", senco),
    ):
        with counted_statements(app) as statements:
            assert_problem(await api.http.get(url, headers=headers), 404, "not_found")
        assert len(statements) == 1, statements
    assert await audited_reads(db, pupil["id"]) == 1


async def test_refusals(api, db):
    school = await api.create_school()
    other = await api.create_school()
    pupil = await api.create_pupil(school)
    url = f"/v1/pupils/{pupil['id']}"
    assert_problem(await api.http.get(url), 401, "unauthorized")
    assert_problem(
        await api.http.get(url, headers={"Authorization": "Bearer nonsense"}), 401, "unauthorized"
    )
    assert_problem(await api.http.get(url, headers=api.senco(other)), 404, "not_found")
    missing = "/v1/pupils/00000000-0000-4000-8000-000000000000"
    assert_problem(await api.http.get(missing, headers=api.senco(school)), 404, "not_found")
    assert_problem(
        await api.http.get("/v1/pupils/not-a-uuid", headers=api.senco(school)),
        422,
        "validation_error",
    )
    assert await audited_reads(db, pupil["id"]) == 0
    assert_problem(await api.http.delete(url, headers=api.senco(school)), 405, "method_not_allowed")


async def test_the_read_is_logged_and_counted_under_its_route(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.senco(school))
    metrics = (await api.http.get("/metrics")).text
    assert 'route="/v1/pupils/{pupil_id}",status="200"' in metrics
    assert pupil["id"] not in metrics
