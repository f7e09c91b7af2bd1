"""Idempotency-Key on POST (SPEC.md §5)."""

import asyncio

from app.core.idempotency import _lock_id
from tests.core.test_errors import assert_problem
from tests.factories import pupil_body, school_body


async def post_pupil(api, school, body, key, headers=None):
    return await api.http.post(
        f"/v1/schools/{school['id']}/pupils",
        json=body,
        headers={**(headers or api.senco(school)), "Idempotency-Key": key},
    )


async def test_a_retry_replays_the_first_answer_and_writes_nothing_more(api, db):
    school = await api.create_school()
    senco = api.senco(school)
    body = pupil_body()
    first = await post_pupil(api, school, body, "key-1", senco)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await post_pupil(api, school, body, "key-1", senco)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    assert await db.fetchval("select count(*) from pupils") == 1
    assert await db.fetchval("select count(*) from events") == 1
    assert await db.fetchval("select count(*) from audit_entries") == 1


async def test_the_same_key_with_another_body_is_refused(api, db):
    school = await api.create_school()
    senco = api.senco(school)
    await post_pupil(api, school, pupil_body(), "key-2", senco)
    other = await post_pupil(api, school, pupil_body(), "key-2", senco)
    assert_problem(other, 422, "idempotency_key_reused")
    assert await db.fetchval("select count(*) from pupils") == 1


async def test_keys_are_scoped_per_caller(api, db):
    first = await api.http.post(
        "/v1/schools", json=school_body(), headers={**api.admin(), "Idempotency-Key": "same"}
    )
    second = await api.http.post(
        "/v1/schools", json=school_body(), headers={**api.admin(), "Idempotency-Key": "same"}
    )
    # api.admin() mints a token with a new subject each time: two callers, two schools.
    assert (first.status_code, second.status_code) == (201, 201)
    assert "idempotent-replayed" not in second.headers
    assert await db.fetchval("select count(*) from schools") == 2


async def test_refusals_are_stored_and_replayed_but_undo_their_work(api, db):
    school = await api.create_school()
    senco = api.senco(school)
    taken = await api.create_pupil(school)
    body = pupil_body(upn=taken["upn"])
    refused = await post_pupil(api, school, body, "key-3", senco)
    assert_problem(refused, 409, "conflict")
    replay = await post_pupil(api, school, body, "key-3", senco)
    assert replay.status_code == 409
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == refused.json()
    invalid = await post_pupil(api, school, {"upn": "nope"}, "key-4", senco)
    assert_problem(invalid, 422, "validation_error")
    assert (await post_pupil(api, school, {"upn": "nope"}, "key-4", senco)).headers[
        "idempotent-replayed"
    ] == "true"
    assert await db.fetchval("select count(*) from pupils") == 1
    assert await db.fetchval("select count(*) from idempotency_keys") == 2


async def test_a_key_still_in_flight_answers_409(api, db):
    school = await api.create_school()
    senco = api.senco(school)
    caller = f"senco:{api.last_sub}"
    # Hold the key's lock as a first request still running would.
    await db.execute("begin")
    await db.execute("select pg_advisory_xact_lock($1)", _lock_id(caller, "key-5"))
    try:
        response = await post_pupil(api, school, pupil_body(), "key-5", senco)
    finally:
        await db.execute("rollback")
    assert_problem(response, 409, "idempotency_key_in_progress")
    assert await db.fetchval("select count(*) from pupils") == 0
    assert (await post_pupil(api, school, pupil_body(), "key-5", senco)).status_code == 201


async def test_concurrent_duplicates_make_one_pupil(api, db):
    school = await api.create_school()
    senco = api.senco(school)
    body = pupil_body()
    responses = await asyncio.gather(
        *(post_pupil(api, school, body, "key-6", senco) for _ in range(8))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "idempotency_key_in_progress"
    assert await db.fetchval("select count(*) from pupils") == 1


async def test_expired_keys_run_again_and_are_purged(api, db, app):
    from app.core.idempotency import purge_expired

    school = await api.create_school()
    senco = api.senco(school)
    body = pupil_body()
    await post_pupil(api, school, body, "key-7", senco)
    await db.execute("update idempotency_keys set expires_at = now() - interval '1 second'")
    rerun = await post_pupil(api, school, body, "key-7", senco)
    assert_problem(rerun, 409, "conflict")  # ran again: the UPN now exists
    assert "idempotent-replayed" not in rerun.headers
    await db.execute("update idempotency_keys set expires_at = now() - interval '1 second'")
    async with app.state.database.sessionmaker() as session, session.begin():
        assert await purge_expired(session) == 1
    assert await db.fetchval("select count(*) from idempotency_keys") == 0


async def test_malformed_keys_are_refused(api):
    school = await api.create_school()
    for key in ("x" * 256, "tab\there"):
        response = await post_pupil(api, school, pupil_body(), key)
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"][0]["field"] == "Idempotency-Key"
