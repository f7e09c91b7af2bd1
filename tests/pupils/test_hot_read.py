"""The hot read (app/pupils/hot.py) answers exactly as the FastAPI route does, and leaves
every other answer to it."""

from tests.core.test_errors import assert_problem


async def audited_reads(db, pupil_id):
    return await db.fetchval(
        "select count(*) from audit_entries where pupil_id = $1 and action = 'read'", pupil_id
    )


async def test_the_hot_path_and_the_route_answer_the_same(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(
        school, contacts=[{"name": "Zoë", "relationship": "mother"}], primary_need="SPLD"
    )
    senco = api.senco(school)
    hot = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=senco)
    # An upper-case id is not the canonical form the hot path takes: the route answers it.
    routed = await api.http.get(f"/v1/pupils/{pupil['id'].upper()}", headers=senco)
    assert hot.status_code == routed.status_code == 200
    assert hot.content == routed.content
    for header in ("content-type", "content-length", "etag", "cache-control"):
        assert hot.headers[header] == routed.headers[header], header
    assert hot.headers["x-request-id"] != routed.headers["x-request-id"]
    # One audit entry per answered read, whichever path answered.
    assert await audited_reads(db, pupil["id"]) == 2
    entry = await db.fetchrow(
        "select actor_role, request_id from audit_entries where pupil_id = $1 and request_id = $2",
        pupil["id"],
        hot.headers["x-request-id"],
    )
    assert entry["actor_role"] == "senco"


async def test_refusals_are_the_routes(api, db):
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
    # Other methods on the same path are the route's too.
    assert_problem(await api.http.delete(url, headers=api.senco(school)), 405, "method_not_allowed")


async def test_the_hot_path_is_logged_and_counted_under_the_route(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.senco(school))
    metrics = (await api.http.get("/metrics")).text
    assert 'route="/v1/pupils/{pupil_id}",status="200"' in metrics
    assert pupil["id"] not in metrics
