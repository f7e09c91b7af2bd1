"""The Local Offer: an LA publishes and maintains its services; everyone reads them."""

import uuid

from app.core.idempotency import _lock_id, caller_key
from app.core.security import Principal, Role
from tests.core.test_errors import assert_problem
from tests.local_offer.helpers import offer_body, officer, publish

FIELDS = {
    "id",
    "la_code",
    "name",
    "service",
    "description",
    "how_to_access",
    "eligibility",
    "contact",
    "target_days",
    "active",
    "version",
    "created_at",
    "updated_at",
}


async def count(db):
    return await db.fetchval("select count(*) from local_offer_services")


async def row(db, entry):
    return await db.fetchrow(
        "select * from local_offer_services where id = $1", uuid.UUID(entry["id"])
    )


async def patch(api, entry, headers, body, if_match=None):
    if if_match is not None:
        headers = {**headers, "If-Match": if_match}
    return await api.http.patch(f"/v1/local-offer/{entry['id']}", json=body, headers=headers)


async def test_an_officer_publishes_a_service_of_its_own_la(api, db):
    response = await api.http.post(
        "/v1/local-offer", json=offer_body(), headers=officer(api, "330")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == FIELDS
    assert body["la_code"] == "330"
    assert body["service"] == "educational_psychologist"
    assert body["target_days"] == 42
    assert body["active"] is True
    assert body["contact"] == "EPS duty line 01632 960123, eps@la.example"
    assert body["version"] == 1
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/local-offer/{body['id']}"
    # No pupil data: nothing audited; no pupil or school to scope a feed event by.
    assert await db.fetchval("select count(*) from audit_entries") == 0
    assert await db.fetchval("select count(*) from events") == 0

    explicit = await api.http.post(
        "/v1/local-offer",
        json=offer_body(la_code="330", description=None, eligibility=None, contact=None),
        headers=officer(api, "330"),
    )
    assert explicit.status_code == 201, explicit.text
    assert explicit.json()["description"] is None
    assert await count(db) == 2


async def test_every_authenticated_caller_reads_the_local_offer(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    entry = await publish(api, "330")
    for headers in (
        api.senco(school),
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.parent(pupil),
        officer(api, "331"),
        officer(api, "330"),
        api.admin(),
    ):
        one = await api.http.get(f"/v1/local-offer/{entry['id']}", headers=headers)
        assert one.status_code == 200, one.text
        assert one.json() == entry
        assert one.headers["ETag"] == '"1"'
        listed = await api.http.get("/v1/local-offer", headers=headers)
        assert [item["id"] for item in listed.json()["items"]] == [entry["id"]]
    assert_problem(await api.http.get("/v1/local-offer"), 401, "unauthorized")
    assert_problem(
        await api.http.get(f"/v1/local-offer/{uuid.uuid4()}", headers=api.admin()),
        404,
        "not_found",
    )


async def test_a_platform_admin_publishes_for_an_la_it_names(api, db):
    missing = await api.http.post("/v1/local-offer", json=offer_body(), headers=api.admin())
    problem = assert_problem(missing, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["la_code"]
    assert await count(db) == 0
    created = await api.http.post(
        "/v1/local-offer", json=offer_body(la_code="873"), headers=api.admin()
    )
    assert created.status_code == 201, created.text
    assert created.json()["la_code"] == "873"
    changed = await patch(api, created.json(), api.admin(), {"target_days": 30})
    assert changed.status_code == 200, changed.text
    assert changed.json()["target_days"] == 30


async def test_writes_by_anyone_but_the_las_officer_or_an_admin_are_out_of_scope(api, db):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school)
    entry = await publish(api, "330")
    before = await row(db, entry)
    outsiders = (
        officer(api, "331"),
        api.senco(school),
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.parent(pupil),
    )
    for headers in outsiders:
        assert_problem(
            await api.http.post("/v1/local-offer", json=offer_body(la_code="330"), headers=headers),
            404,
            "not_found",
        )
        assert_problem(await patch(api, entry, headers, {"target_days": 10}), 404, "not_found")
    # The same answer with no la_code: for them there is no Local Offer to publish to.
    for headers in outsiders[1:]:
        assert_problem(
            await api.http.post("/v1/local-offer", json=offer_body(), headers=headers),
            404,
            "not_found",
        )
    assert await row(db, entry) == before
    assert await count(db) == 1


async def test_bad_bodies_are_refused_with_every_field_and_nothing_is_written(api, db):
    headers = officer(api, "330")
    for overrides in (
        {"service": "homeopathy"},
        {"target_days": 0},
        {"target_days": -5},
        {"target_days": 1.5},
        {"target_days": 42.0},
        {"target_days": "42"},
        {"target_days": True},
        {"target_days": 731},
        {"target_days": None},
        {"name": ""},
        {"name": "x" * 201},
        {"how_to_access": None},
        {"how_to_access": "Refer by email\u0000"},
        {"contact": "\u0000"},
        {"la_code": "33"},
        {"active": None},
        {"id": str(uuid.uuid4())},
        {"version": 4},
        {"waits": "long"},
    ):
        response = await api.http.post(
            "/v1/local-offer", json=offer_body(**overrides), headers=headers
        )
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"], overrides
    body = offer_body(service="reiki", target_days=0)
    del body["name"], body["how_to_access"]
    several = await api.http.post("/v1/local-offer", json=body, headers=headers)
    problem = assert_problem(several, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {
        "name",
        "how_to_access",
        "service",
        "target_days",
    }
    not_json = await api.http.post(
        "/v1/local-offer",
        content=b"{nope",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_problem(not_json, 422, "validation_error")
    assert await count(db) == 0


async def test_the_list_filters_by_la_service_and_activity_and_pages(api):
    ep_330 = await publish(api, "330")
    salt_330 = await publish(
        api, "330", name="Speech and Language Therapy", service="speech_and_language_therapy"
    )
    ep_330_early_years = await publish(api, "330", name="Early Years EP", target_days=28)
    ep_331 = await publish(api, "331", name="EPS North")
    retired = await publish(api, "331", name="Old CAMHS", service="camhs", active=False)
    reader = api.admin()

    async def ids(**params):
        response = await api.http.get("/v1/local-offer", params=params, headers=reader)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    # By LA, then service type, then publication order.
    everything = [
        ep_330["id"],
        ep_330_early_years["id"],
        salt_330["id"],
        retired["id"],
        ep_331["id"],
    ]
    assert await ids() == everything
    assert await ids(la_code="330") == [
        ep_330["id"],
        ep_330_early_years["id"],
        salt_330["id"],
    ]
    assert await ids(service="educational_psychologist") == [
        ep_330["id"],
        ep_330_early_years["id"],
        ep_331["id"],
    ]
    assert await ids(la_code="331", service="camhs") == [retired["id"]]
    assert await ids(active="false") == [retired["id"]]
    assert retired["id"] not in await ids(active="true")
    assert await ids(la_code="999") == []

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await api.http.get("/v1/local-offer", params=params, headers=reader)
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= 2
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == everything

    for params in (
        {"service": "homeopathy"},
        {"la_code": "33"},
        {"la_code": "abc"},
        {"limit": 0},
        {"limit": 201},
        {"cursor": "garbage"},
        {"active": "perhaps"},
    ):
        response = await api.http.get("/v1/local-offer", params=params, headers=reader)
        assert_problem(response, 422, "validation_error")


async def test_the_officer_changes_and_retires_its_entry(api, db):
    headers = officer(api, "330")
    entry = await publish(api, "330")
    changed = await patch(
        api,
        entry,
        headers,
        {"target_days": 35, "contact": "eps.referrals@la.example", "eligibility": None},
        '"1"',
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["target_days"], body["contact"], body["eligibility"]) == (
        35,
        "eps.referrals@la.example",
        None,
    )
    assert body["version"] == 2
    assert changed.headers["ETag"] == '"2"'
    assert body["updated_at"] >= entry["updated_at"]
    assert body["created_at"] == entry["created_at"]

    unchanged = await patch(api, entry, headers, {"target_days": 35})
    assert unchanged.json()["version"] == 2

    retired = await patch(api, entry, headers, {"active": False})
    assert retired.json()["active"] is False
    assert retired.json()["version"] == 3
    read = await api.http.get(f"/v1/local-offer/{entry['id']}", headers=api.admin())
    assert read.json() == retired.json()
    assert await db.fetchval("select count(*) from audit_entries") == 0
    assert await db.fetchval("select count(*) from events") == 0


async def test_bad_changes_are_refused_and_nothing_changes(api, db):
    headers = officer(api, "330")
    entry = await publish(api, "330")
    before = await row(db, entry)
    for body in (
        {"la_code": "331"},
        {"service": "homeopathy"},
        {"target_days": 0},
        {"target_days": 2.5},
        {"target_days": "30"},
        {"target_days": None},
        {"name": None},
        {"name": "EPS\u0000"},
        {"how_to_access": None},
        {"active": None},
        {"service": None},
        {"version": 7},
    ):
        assert_problem(await patch(api, entry, headers, body), 422, "validation_error")
    both = await patch(api, entry, headers, {"target_days": -1, "service": "reiki"})
    problem = assert_problem(both, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {"target_days", "service"}
    stale = await patch(api, entry, headers, {"target_days": 20}, '"9"')
    assert_problem(stale, 412, "stale_version")
    missing = {"id": str(uuid.uuid4())}
    assert_problem(await patch(api, missing, headers, {"target_days": 20}), 404, "not_found")
    assert await row(db, entry) == before


async def test_a_retried_publication_is_replayed_not_repeated(api, db):
    headers = {**officer(api, "330"), "Idempotency-Key": "publish-eps-1"}
    first = await api.http.post("/v1/local-offer", json=offer_body(), headers=headers)
    again = await api.http.post("/v1/local-offer", json=offer_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await count(db) == 1


async def test_a_retry_while_the_first_publication_runs_answers_409(api, db, app):
    headers = {**officer(api, "330"), "Idempotency-Key": "publish-eps-2"}
    # Hold the key's lock as a first request still running would.
    await db.execute("begin")
    caller = caller_key(Principal(sub=api.last_sub, role=Role.LA_OFFICER, la_code="330"))
    await db.execute("select pg_advisory_xact_lock($1)", _lock_id(caller, "publish-eps-2"))
    try:
        response = await api.http.post("/v1/local-offer", json=offer_body(), headers=headers)
    finally:
        await db.execute("rollback")
    assert_problem(response, 409, "idempotency_key_in_progress")
    assert await count(db) == 0
    # The contract declares that answer.
    assert "409" in app.openapi()["paths"]["/v1/local-offer"]["post"]["responses"]
    retried = await api.http.post("/v1/local-offer", json=offer_body(), headers=headers)
    assert retried.status_code == 201, retried.text
    assert await count(db) == 1
