"""Idempotency-Key on POST (SPEC.md §5)."""

import asyncio
import uuid

from app.core.idempotency import _lock_id, caller_key
from app.core.security import Principal, Role, mint_token
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
    # The replay shows the pupil again: audited as a read of the same record (SPEC.md §5).
    entries = await db.fetch("select action, resource_id from audit_entries order by at, action")
    assert [(e["action"], str(e["resource_id"])) for e in entries] == [
        ("create", first.json()["id"]),
        ("read", first.json()["id"]),
    ]


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
    caller = caller_key(
        Principal(sub=api.last_sub, role=Role.SENCO, school_id=uuid.UUID(school["id"]))
    )
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


async def test_a_replay_is_for_the_same_school_not_the_same_subject(api, db):
    """The review's attack: two SENCO tokens with one `sub` for different schools shared
    replays, so school B received school A's concern."""
    school_a, school_b = await api.create_school(), await api.create_school()
    pupil = await api.create_pupil(school_a)
    body = {"raised_by": "parent", "description": "Struggling with reading at home"}
    url = f"/v1/pupils/{pupil['id']}/concerns"
    token_a = mint_token(api.settings, sub="shared-sub", role=Role.SENCO, school_id=_id(school_a))
    token_b = mint_token(api.settings, sub="shared-sub", role=Role.SENCO, school_id=_id(school_b))
    first = await api.http.post(
        url, json=body, headers={"Authorization": f"Bearer {token_a}", "Idempotency-Key": "k"}
    )
    assert first.status_code == 201, first.text
    other_school = await api.http.post(
        url, json=body, headers={"Authorization": f"Bearer {token_b}", "Idempotency-Key": "k"}
    )
    assert_problem(other_school, 404, "not_found")
    assert "idempotent-replayed" not in other_school.headers
    assert body["description"] not in other_school.text
    assert await db.fetchval("select count(*) from concerns") == 1


async def test_a_revoked_clients_key_replays_nothing(api, db):
    from app.core import security
    from tests.clients.helpers import access_token, register

    client = await register(api, "platform_admin")
    token = await access_token(api, client)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "sync-1"}
    body = school_body()
    first = await api.http.post("/v1/schools", json=body, headers=headers)
    assert first.status_code == 201, first.text
    replayed = await api.http.post("/v1/schools", json=body, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    revoked = await api.http.delete(f"/v1/api-clients/{client['client_id']}", headers=api.admin())
    assert revoked.status_code == 204
    # Past the per-process status cache (2 s), as any later request would be.
    security._client_status._entries.clear()
    after = await api.http.post("/v1/schools", json=body, headers=headers)
    assert_problem(after, 401, "unauthorized")
    assert body["name"] not in after.text
    assert await db.fetchval("select count(*) from schools") == 1


async def test_a_replay_rechecks_scope_and_is_audited_as_a_read(api, db):
    school, elsewhere = await api.create_school(), await api.create_school()
    pupil = await api.create_pupil(school)
    senco = {**api.senco(school), "Idempotency-Key": "concern-1"}
    senco_sub = api.last_sub
    body = {"raised_by": "parent", "description": "Struggling with reading at home"}
    url = f"/v1/pupils/{pupil['id']}/concerns"
    first = await api.http.post(url, json=body, headers=senco)
    assert first.status_code == 201, first.text
    concern_id = first.json()["id"]
    before = await db.fetchval("select count(*) from audit_entries")
    replayed = await api.http.post(url, json=body, headers=senco)
    assert replayed.headers["idempotent-replayed"] == "true"
    entries = await db.fetch(
        "select actor_sub, action, resource, resource_id from audit_entries "
        "order by at desc, id desc limit 1"
    )
    assert await db.fetchval("select count(*) from audit_entries") == before + 1
    assert [tuple(map(str, e.values())) for e in entries] == [
        (senco_sub, "read", "concern", concern_id)
    ]
    # The pupil leaves the school's scope: the stored answer is no longer the caller's to see.
    await db.execute("update pupils set school_id = $1 where id = $2", _id(elsewhere), _id(pupil))
    gone = await api.http.post(url, json=body, headers=senco)
    assert_problem(gone, 404, "not_found")
    assert body["description"] not in gone.text
    assert await db.fetchval("select count(*) from audit_entries") == before + 1


def _id(record):
    return uuid.UUID(record["id"])
