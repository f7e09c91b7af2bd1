"""EHC needs assessment requests through the API (SPEC.md §3.5)."""

from datetime import timedelta

from app.core.clock import today_london
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles


async def create(api, pupil, headers, **body):
    response = await api.http.post(
        f"/v1/pupils/{pupil['id']}/ehc-requests", json=body, headers=headers
    )
    return response


async def move(api, request, headers, to, **body):
    return await api.http.post(
        f"/v1/ehc-requests/{request['id']}/transitions", json={"to": to, **body}, headers=headers
    )


async def test_school_request_lifecycle_to_plan_issued(api, db):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="331")
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    await cycles.complete(plan["current_cycle_id"])
    senco = cycles.senco
    officer = api.headers("la_officer", la_code="331")

    draft = (await create(api, pupil, senco, reason="Little progress despite two cycles")).json()
    assert (draft["status"], draft["requested_by"], draft["la_code"]) == ("draft", "school", None)
    # Drafts are invisible to the LA, and so is the pupil.
    assert (await api.http.get("/v1/ehc-requests", headers=officer)).json()["items"] == []
    assert_problem(
        await api.http.get(f"/v1/pupils/{pupil['id']}", headers=officer), 404, "not_found"
    )

    submitted = await move(api, draft, senco, "submitted")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    today = today_london()
    assert body["la_code"] == "331"
    assert body["submitted_on"] == today.isoformat()
    assert body["decision_due_on"] == (today + timedelta(weeks=6)).isoformat()
    assert body["issue_decision_due_on"] == (today + timedelta(weeks=16)).isoformat()
    assert body["final_plan_due_on"] == (today + timedelta(weeks=20)).isoformat()

    # Now the home LA sees the request and the pupil; another LA does not.
    assert [
        r["id"] for r in (await api.http.get("/v1/ehc-requests", headers=officer)).json()["items"]
    ] == [draft["id"]]
    assert (await api.http.get(f"/v1/pupils/{pupil['id']}", headers=officer)).status_code == 200
    other_la = api.headers("la_officer", la_code="330")
    assert_problem(
        await api.http.get(f"/v1/ehc-requests/{draft['id']}", headers=other_la), 404, "not_found"
    )

    # Only the LA decides.
    assert_problem(await move(api, draft, senco, "assessing"), 403, "forbidden")
    assessing = await move(api, draft, officer, "assessing", note="Agreed to assess")
    assert assessing.json()["status"] == "assessing"
    issued = await move(api, draft, officer, "plan_issued")
    assert issued.json()["status"] == "plan_issued"
    pupil_now = (await api.http.get(f"/v1/pupils/{pupil['id']}", headers=senco)).json()
    assert pupil_now["sen_status"] == "E"
    plan_now = (await api.http.get(f"/v1/support-plans/{plan['id']}", headers=senco)).json()
    assert plan_now["status"] == "superseded"
    feed = (await api.http.get("/v1/events", params={"limit": 200}, headers=officer)).json()[
        "items"
    ]
    assert "ehc_request.plan_issued" in [e["type"] for e in feed]


async def test_submission_rules(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    first = (await create(api, pupil, senco)).json()
    refused = await move(api, first, senco, "submitted")
    body = assert_problem(refused, 409, "rule_violation")
    assert [v["rule"] for v in body["violations"]] == ["ehc.evidence_of_sen_support"]
    departure = [
        {
            "rule": "ehc.evidence_of_sen_support",
            "reason": "Needs identified at entry; no time for cycles",
        }
    ]
    accepted = await move(api, first, senco, "submitted", departures=departure)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["departures"][0]["transition"] == "draft->submitted"

    second = (await create(api, pupil, senco)).json()
    blocked = await move(api, second, senco, "submitted", departures=departure)
    body = assert_problem(blocked, 409, "rule_violation")
    assert [v["rule"] for v in body["violations"]] == ["ehc.single_open_request"]
    assert_problem(await move(api, second, senco, "assessing"), 403, "forbidden")
    assert_problem(await move(api, first, senco, "plan_issued"), 403, "forbidden")
    withdrawn = await move(api, first, senco, "withdrawn")
    assert withdrawn.json()["status"] == "withdrawn"
    assert_problem(await move(api, first, senco, "submitted"), 409, "invalid_transition")


async def test_parents_make_their_own_requests(api):
    school = await api.create_school()
    child = await api.create_pupil(school)
    other = await api.create_pupil(school)
    parent = api.parent(child)
    created = await create(api, child, parent, reason="We think she needs more help")
    assert created.status_code == 201, created.text
    assert created.json()["requested_by"] == "parent"
    assert_problem(await create(api, child, parent, requested_by="school"), 403, "forbidden")
    assert_problem(await create(api, other, parent), 404, "not_found")
    submitted = await move(api, created.json(), parent, "submitted")
    assert submitted.status_code == 200, submitted.text  # no cycle evidence needed for parents
    school_draft = (await create(api, child, api.senco(school))).json()
    assert_problem(await move(api, school_draft, parent, "withdrawn"), 403, "forbidden")
    assert_problem(await create(api, child, api.staff("mis_integration", school)), 403, "forbidden")


async def test_overdue_filter(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    senco = api.senco(school)
    request = (await create(api, pupil, api.parent(pupil))).json()
    await move(api, request, api.parent(pupil), "submitted")
    officer = api.headers("la_officer", la_code="801")
    assert (
        await api.http.get("/v1/ehc-requests", params={"overdue": "true"}, headers=officer)
    ).json()["items"] == []
    await db.execute("update ehc_requests set decision_due_on = current_date - 1")
    overdue = (
        await api.http.get("/v1/ehc-requests", params={"overdue": "true"}, headers=officer)
    ).json()["items"]
    assert [r["id"] for r in overdue] == [request["id"]] and overdue[0]["overdue"] is True
    listed = await api.http.get(
        "/v1/ehc-requests", params={"status": "submitted", "la_code": "801"}, headers=senco
    )
    assert len(listed.json()["items"]) == 1


async def test_a_school_cannot_move_a_parents_request_nor_a_parent_the_schools(api, db):
    school = await api.create_school()
    child = await api.create_pupil(school)
    senco, parent = api.senco(school), api.parent(child)
    parents = (await create(api, child, parent, reason="Our own request")).json()
    # The review's attack: the school withdrew (or submitted) the parent's own request.
    for to in ("submitted", "withdrawn"):
        assert_problem(await move(api, parents, senco, to), 403, "forbidden")
    assert (
        await db.fetchval("select status from ehc_requests where id = $1", parents["id"]) == "draft"
    )
    submitted = await move(api, parents, parent, "submitted")
    assert submitted.status_code == 200, submitted.text
    assert_problem(await move(api, parents, senco, "withdrawn"), 403, "forbidden")
    assert (await move(api, parents, parent, "withdrawn")).json()["status"] == "withdrawn"

    # A young person's request is recorded and moved by the school; a parent cannot move it.
    young = (await create(api, child, senco, requested_by="young_person")).json()
    assert_problem(await move(api, young, parent, "withdrawn"), 403, "forbidden")
    assert (await move(api, young, senco, "withdrawn")).json()["status"] == "withdrawn"
    events = await db.fetch(
        "select type from events where resource_id = $1 order by seq", parents["id"]
    )
    assert [e["type"] for e in events] == [
        "ehc_request.created",
        "ehc_request.submitted",
        "ehc_request.withdrawn",
    ]
