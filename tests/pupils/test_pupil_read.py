"""`GET /v1/pupils/{pupil_id}`: one route, one statement, whichever handler serves it.

The route's lean handler (`SingleStatementRoute`) serves it without dependency solving; with a
dependency overridden, FastAPI's standard handler serves it. Both answer the same."""

from fastapi import Request

from app.core.security import current_principal
from tests.core.test_errors import assert_problem
from tests.sql import counted_statements


async def audited_reads(db, pupil_id):
    return await db.fetchval(
        "select count(*) from audit_entries where pupil_id = $1 and action = 'read'", pupil_id
    )


async def test_the_lean_and_the_standard_handler_answer_the_same(api, app, db):
    school = await api.create_school()
    pupil = await api.create_pupil(
        school, contacts=[{"name": "Zoë", "relationship": "mother"}], primary_need="SPLD"
    )
    senco = api.senco(school)
    lean = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=senco)
    calls = []

    async def principal_seen(request: Request):
        calls.append(request.url.path)
        return await current_principal(request)

    app.dependency_overrides[current_principal] = principal_seen
    try:
        standard = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=senco)
    finally:
        app.dependency_overrides.clear()
    assert calls == [f"/v1/pupils/{pupil['id']}"]  # the override applied to real traffic
    assert lean.status_code == standard.status_code == 200
    assert lean.content == standard.content
    assert lean.json() == {**pupil, "sen_status": "N"} | {"updated_at": lean.json()["updated_at"]}
    assert set(lean.headers) == set(standard.headers)
    for header in ("content-type", "content-length", "etag", "cache-control"):
        assert lean.headers[header] == standard.headers[header], header
    # One audit entry per answered read, whichever handler answered.
    assert await audited_reads(db, pupil["id"]) == 2
    entry = await db.fetchrow(
        "select actor_role, request_id from audit_entries where pupil_id = $1 and request_id = $2",
        pupil["id"],
        lean.headers["x-request-id"],
    )
    assert entry["actor_role"] == "senco"


async def test_a_read_and_a_404_are_one_statement_each(api, app, db):
    school = await api.create_school()
    other = await api.create_school()
    pupil = await api.create_pupil(school)
    url = f"/v1/pupils/{pupil['id']}"
    with counted_statements(app) as found:
        assert (await api.http.get(url, headers=api.senco(school))).status_code == 200
    with counted_statements(app) as out_of_scope:
        assert_problem(await api.http.get(url, headers=api.senco(other)), 404, "not_found")
    missing = "/v1/pupils/00000000-0000-4000-8000-000000000000"
    with counted_statements(app) as not_there:
        assert_problem(await api.http.get(missing, headers=api.senco(school)), 404, "not_found")
    assert len(found) == len(out_of_scope) == len(not_there) == 1
    assert await audited_reads(db, pupil["id"]) == 1  # the 404s read nothing, audit nothing


async def test_refusals(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    url = f"/v1/pupils/{pupil['id']}"
    assert_problem(await api.http.get(url), 401, "unauthorized")
    assert_problem(
        await api.http.get(url, headers={"Authorization": "Bearer nonsense"}), 401, "unauthorized"
    )
    # A malformed id is answered by the standard handler: the same 422 as every route's.
    assert_problem(
        await api.http.get("/v1/pupils/not-a-uuid", headers=api.senco(school)),
        422,
        "validation_error",
    )
    assert await audited_reads(db, pupil["id"]) == 0
    assert_problem(await api.http.delete(url, headers=api.senco(school)), 405, "method_not_allowed")


async def test_the_read_is_logged_and_counted_under_the_route(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.senco(school))
    metrics = (await api.http.get("/metrics")).text
    assert 'route="/v1/pupils/{pupil_id}",status="200"' in metrics
    assert pupil["id"] not in metrics
