import json
import uuid
from datetime import timedelta

from app.core.clock import today_london
from tests.core.test_errors import assert_problem
from tests.local_offer.helpers import publish

RULE = "specialist.parents_involved"
REASON = "Parents could not be reached before the referral deadline"


def days_ago(days):
    return (today_london() - timedelta(days=days)).isoformat()


def involvement_body(**overrides):
    return {
        "service": "speech_and_language_therapy",
        "parents_involved_on": days_ago(20),
        "requested_on": days_ago(10),
    } | overrides


async def create(api, pupil, headers, **overrides):
    return await api.http.post(
        f"/v1/pupils/{pupil['id']}/specialist-involvements",
        json=involvement_body(**overrides),
        headers=headers,
    )


async def patch(api, involvement, headers, body, if_match=None):
    if if_match is not None:
        headers = {**headers, "If-Match": if_match}
    return await api.http.patch(
        f"/v1/specialist-involvements/{involvement['id']}", json=body, headers=headers
    )


async def listing(api, pupil, headers, **params):
    return await api.http.get(
        f"/v1/pupils/{pupil['id']}/specialist-involvements", params=params, headers=headers
    )


async def count(db):
    return await db.fetchval("select count(*) from specialist_involvements")


async def events(db):
    rows = await db.fetch(
        "select type, resource, resource_id, pupil_id, school_id, la_code, data "
        "from events where resource = 'specialist_involvement' order by seq"
    )
    return [dict(row) | {"data": json.loads(row["data"])} for row in rows]


async def test_senco_records_an_involvement_with_parents_involved(api, db):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="331")
    local_offer_id = (await publish(api, "331", service="speech_and_language_therapy"))["id"]
    created = await create(
        api,
        pupil,
        api.senco(school),
        parental_consent=True,
        advice_summary="Assessment booked for next term",
        local_offer_service_id=local_offer_id,
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    body = created.json()
    assert body["pupil_id"] == pupil["id"]
    assert body["service"] == "speech_and_language_therapy"
    assert body["parents_involved_on"] == days_ago(20)
    assert body["parental_consent"] is True
    assert body["requested_on"] == days_ago(10)
    assert body["advice_received_on"] is None
    assert body["advice_summary"] == "Assessment booked for next term"
    assert body["local_offer_service_id"] == local_offer_id
    assert body["departures"] == []
    assert body["version"] == 1
    assert body["created_at"] and body["updated_at"]
    assert body["waiting_days"] == 10

    audit = await db.fetch(
        "select action, resource, resource_id, pupil_id, school_id from audit_entries "
        "where resource = 'specialist_involvement'"
    )
    assert [tuple(map(str, row.values())) for row in audit] == [
        ("create", "specialist_involvement", body["id"], pupil["id"], school["id"])
    ]
    [event] = await events(db)
    assert event["type"] == "specialist_involvement.created"
    assert str(event["resource_id"]) == body["id"]
    assert (str(event["pupil_id"]), str(event["school_id"])) == (pupil["id"], school["id"])
    assert event["la_code"] == "331"
    assert event["data"] == {"upn": pupil["upn"], "service": "speech_and_language_therapy"}


async def test_without_parents_involved_on_is_refused_unless_a_departure_covers_it(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    refused = await create(api, pupil, senco, parents_involved_on=None)
    problem = assert_problem(refused, 409, "rule_violation")
    assert [v["rule"] for v in problem["violations"]] == [RULE]
    assert problem["violations"][0]["severity"] == "should"
    assert problem["violations"][0]["message"]
    assert_problem(
        await create(api, pupil, senco, parents_involved_on=None, departures=[]),
        409,
        "rule_violation",
    )
    assert await count(db) == 0
    assert await db.fetchval("select count(*) from audit_entries where resource <> 'pupil'") == 0
    assert await events(db) == []

    recorded_by = api.token("senco", school_id=uuid.UUID(school["id"]))
    allowed = await api.http.post(
        f"/v1/pupils/{pupil['id']}/specialist-involvements",
        json=involvement_body(
            parents_involved_on=None, departures=[{"rule": RULE, "reason": REASON}]
        ),
        headers={"Authorization": f"Bearer {recorded_by}"},
    )
    assert allowed.status_code == 201, allowed.text
    [departure] = allowed.json()["departures"]
    assert departure["rule"] == RULE
    assert departure["reason"] == REASON
    assert departure["transition"] == "create"
    assert departure["recorded_by"] == api.last_sub
    assert departure["recorded_at"].endswith("Z")
    stored = json.loads(await db.fetchval("select departures from specialist_involvements"))
    assert stored == [departure]


async def test_a_departure_for_a_rule_not_broken_is_not_stored(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    created = await create(
        api, pupil, api.senco(school), departures=[{"rule": RULE, "reason": REASON}]
    )
    assert created.status_code == 201, created.text
    assert created.json()["departures"] == []


async def test_invalid_departures_are_refused_with_every_bad_field(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    short = await create(
        api, pupil, senco, parents_involved_on=None, departures=[{"rule": RULE, "reason": "busy"}]
    )
    problem = assert_problem(short, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["departures.0.reason"]
    unknown = await create(
        api,
        pupil,
        senco,
        parents_involved_on=None,
        departures=[{"rule": "specialist.made_up", "reason": REASON}],
    )
    problem = assert_problem(unknown, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["departures.0.rule"]
    # A date out of order and a bad departure are reported together.
    both = await create(
        api,
        pupil,
        senco,
        advice_received_on=days_ago(15),
        departures=[{"rule": RULE, "reason": "x"}],
    )
    problem = assert_problem(both, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {
        "advice_received_on",
        "departures.0.reason",
    }
    assert await count(db) == 0


async def test_invalid_bodies_are_refused_and_nothing_is_written(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    tomorrow = (today_london() + timedelta(days=1)).isoformat()
    for overrides in (
        {"service": "homeopathy"},
        {"parents_involved_on": tomorrow},
        {"requested_on": tomorrow},
        {"advice_received_on": tomorrow},
        {"advice_received_on": days_ago(11)},
        {"advice_summary": ""},
        {"advice_summary": "x" * 20_001},
        {"parental_consent": None},
        {"local_offer_service_id": "not-a-uuid"},
        {"version": 3},
        {"pupil_id": pupil["id"]},
        {"waiting_days": 1},
        {"parents_involved_on": "2001-01-01"},
    ):
        response = await create(api, pupil, senco, **overrides)
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"], overrides
    several = await create(
        api, pupil, senco, service="homeopathy", requested_on=tomorrow, advice_summary=""
    )
    problem = assert_problem(several, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {
        "service",
        "requested_on",
        "advice_summary",
    }
    assert await count(db) == 0
    assert await events(db) == []
    assert await db.fetchval("select count(*) from audit_entries where resource <> 'pupil'") == 0


async def test_only_a_senco_in_scope_creates(api, db):
    school = await api.create_school()
    other = await api.create_school()
    pupil = await api.create_pupil(school)
    for headers in (
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.admin(),
        api.parent(pupil),
    ):
        assert_problem(await create(api, pupil, headers), 403, "forbidden")
    assert_problem(await create(api, pupil, api.senco(other)), 404, "not_found")
    assert_problem(
        await create(api, pupil, api.headers("la_officer", la_code="801")), 404, "not_found"
    )
    missing = {"id": str(uuid.uuid4())}
    assert_problem(await create(api, missing, api.senco(school)), 404, "not_found")
    assert await count(db) == 0


async def test_waiting_days_run_to_the_advice_or_to_today(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    answered = await create(
        api, pupil, senco, requested_on=days_ago(40), advice_received_on=days_ago(10)
    )
    assert answered.json()["waiting_days"] == 30
    same_day = await create(
        api, pupil, senco, requested_on=days_ago(5), advice_received_on=days_ago(5)
    )
    assert same_day.json()["waiting_days"] == 0
    waiting = await create(api, pupil, senco, requested_on=days_ago(12))
    assert waiting.json()["waiting_days"] == 12
    not_requested = await create(api, pupil, senco, requested_on=None)
    assert not_requested.json()["waiting_days"] is None

    listed = await listing(api, pupil, senco)
    waits = {item["id"]: item["waiting_days"] for item in listed.json()["items"]}
    assert waits == {
        answered.json()["id"]: 30,
        same_day.json()["id"]: 0,
        waiting.json()["id"]: 12,
        not_requested.json()["id"]: None,
    }


async def test_list_is_ordered_by_request_date_paged_and_audited(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    other_pupil = await api.create_pupil(school)
    senco = api.senco(school)
    not_requested = (await create(api, pupil, senco, requested_on=None)).json()
    late = (await create(api, pupil, senco, requested_on=days_ago(3))).json()
    early = (await create(api, pupil, senco, requested_on=days_ago(15))).json()
    late_twin = (await create(api, pupil, senco, requested_on=days_ago(3))).json()
    await create(api, other_pupil, senco)

    expected = [early["id"], late["id"], late_twin["id"], not_requested["id"]]
    seen = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await listing(api, pupil, senco, **params)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == expected
    assert pages == 2

    reads = await db.fetch(
        "select resource_id, pupil_id, school_id from audit_entries "
        "where resource = 'specialist_involvement' and action = 'read'"
    )
    assert sorted(str(r["resource_id"]) for r in reads) == sorted(expected)
    assert {(str(r["pupil_id"]), str(r["school_id"])) for r in reads} == {
        (pupil["id"], school["id"])
    }
    assert_problem(await listing(api, pupil, senco, cursor="garbage"), 422, "validation_error")
    assert_problem(await listing(api, pupil, senco, limit=0), 422, "validation_error")


async def test_who_may_read_the_list(api):
    school = await api.create_school()
    other = await api.create_school()
    pupil = await api.create_pupil(school)
    sibling = await api.create_pupil(school)
    await create(api, pupil, api.senco(school))
    for headers in (
        api.senco(school),
        api.staff("teacher", school),
        api.parent(pupil),
        api.admin(),
    ):
        response = await listing(api, pupil, headers)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 1
    assert_problem(
        await listing(api, pupil, api.staff("mis_integration", school)), 403, "forbidden"
    )
    assert_problem(await listing(api, pupil, api.senco(other)), 404, "not_found")
    assert_problem(await listing(api, pupil, api.parent(sibling)), 404, "not_found")
    # No pupil is in an LA's scope until EHC requests and claims exist.
    assert_problem(
        await listing(api, pupil, api.headers("la_officer", la_code="801")), 404, "not_found"
    )


async def test_a_parent_records_consent_and_nothing_else(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    sibling = await api.create_pupil(school)
    involvement = (await create(api, pupil, api.senco(school))).json()
    parent = api.parent(pupil)

    consented = await patch(api, involvement, parent, {"parental_consent": True}, '"1"')
    assert consented.status_code == 200, consented.text
    assert consented.headers["ETag"] == '"2"'
    assert consented.json()["parental_consent"] is True
    assert consented.json()["version"] == 2

    before = await db.fetchrow("select * from specialist_involvements")
    for body in (
        {"advice_summary": "Not my job"},
        {"parental_consent": False, "requested_on": days_ago(1)},
    ):
        assert_problem(await patch(api, involvement, parent, body), 403, "forbidden")
    assert_problem(
        await patch(api, involvement, parent, {"parental_consent": None}), 422, "validation_error"
    )
    assert_problem(
        await patch(api, involvement, api.parent(sibling), {"parental_consent": False}),
        404,
        "not_found",
    )
    assert await db.fetchrow("select * from specialist_involvements") == before

    updates = [e for e in await events(db) if e["type"] == "specialist_involvement.updated"]
    assert [e["data"] for e in updates] == [
        {
            "upn": pupil["upn"],
            "service": "speech_and_language_therapy",
            "changed": ["parental_consent"],
        }
    ]
    audit = await db.fetch(
        "select actor_role, resource_id, pupil_id, school_id from audit_entries "
        "where resource = 'specialist_involvement' and action = 'update'"
    )
    assert [tuple(map(str, row.values())) for row in audit] == [
        ("parent", involvement["id"], pupil["id"], school["id"])
    ]


async def test_senco_updates_fields_and_the_feed_names_them(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    involvement = (await create(api, pupil, senco, requested_on=days_ago(30))).json()
    updated = await patch(
        api,
        involvement,
        senco,
        {
            "service": "educational_psychologist",
            "advice_received_on": days_ago(2),
            "advice_summary": "Recommends a structured phonics programme",
            "parental_consent": False,
        },
        '"1"',
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["service"] == "educational_psychologist"
    assert body["advice_received_on"] == days_ago(2)
    assert body["waiting_days"] == 28
    assert body["version"] == 2
    assert body["updated_at"] >= involvement["updated_at"]
    [_, event] = await events(db)
    assert event["type"] == "specialist_involvement.updated"
    # Unchanged fields are not named; the advice text never travels in the feed.
    assert event["data"] == {
        "upn": pupil["upn"],
        "service": "educational_psychologist",
        "changed": ["advice_received_on", "advice_summary", "service"],
    }
    assert "phonics" not in json.dumps(event["data"])

    cleared = await patch(api, involvement, senco, {"advice_received_on": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["waiting_days"] == 30


async def test_bad_updates_are_refused_and_nothing_changes(api, db):
    school = await api.create_school()
    other = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    involvement = (await create(api, pupil, senco)).json()
    before = await db.fetchrow("select * from specialist_involvements")
    tomorrow = (today_london() + timedelta(days=1)).isoformat()
    for body in (
        {"departures": [{"rule": RULE, "reason": REASON}]},
        {"pupil_id": str(uuid.uuid4())},
        {"service": "homeopathy"},
        {"service": None},
        {"parents_involved_on": None},
        {"requested_on": tomorrow},
        {"advice_received_on": days_ago(11)},
        {"requested_on": days_ago(5), "advice_received_on": days_ago(6)},
        {"waiting_days": 3},
    ):
        assert_problem(await patch(api, involvement, senco, body), 422, "validation_error")
    stale = await patch(api, involvement, senco, {"advice_summary": "Late"}, '"7"')
    assert_problem(stale, 412, "stale_version")
    for headers in (
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.admin(),
    ):
        assert_problem(
            await patch(api, involvement, headers, {"parental_consent": True}), 403, "forbidden"
        )
    assert_problem(
        await patch(api, involvement, api.senco(other), {"parental_consent": True}),
        404,
        "not_found",
    )
    assert_problem(
        await patch(api, {"id": str(uuid.uuid4())}, senco, {"parental_consent": True}),
        404,
        "not_found",
    )
    assert await db.fetchrow("select * from specialist_involvements") == before
    assert [e["type"] for e in await events(db)] == ["specialist_involvement.created"]
    assert (
        await db.fetchval(
            "select count(*) from audit_entries where resource = 'specialist_involvement' "
            "and action = 'update'"
        )
        == 0
    )
