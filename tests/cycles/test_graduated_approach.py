"""A pupil through whole cycles, with the API alone."""

from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles, full_review


async def test_a_full_cycle_then_the_next_one(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    assert plan["status"] == "active"
    read = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=cycles.senco)
    assert read.json()["sen_status"] == "K"

    first_id = plan["current_cycle_id"]
    first = await cycles.cycle(first_id)
    assert (first["number"], first["stage"]) == (1, "assess")

    in_do = await cycles.to_do(first_id)
    provision = in_do["plan"]["provisions"][0]
    # 18.50 x 30/60 x 3 x 38 / 3 + 120.00 = 351.50 + 120.00
    assert provision["annual_cost"] == "471.50"
    assert in_do["plan"]["annual_cost"] == "471.50"

    log = await api.http.post(
        f"/v1/cycles/{first_id}/delivery-logs",
        json={
            "provision_id": provision["id"],
            "delivered_on": in_do["plan"]["parents_notified_on"],
            "minutes": 30,
        },
        headers=api.staff("teacher", school),
    )
    assert log.status_code == 201, log.text

    departure = [
        {"rule": "review.on_agreed_date", "reason": "Reviewed early at the parents' request"}
    ]
    in_review = await cycles.advance(first_id, "review", departure)
    assert in_review["departures"][0]["rule"] == "review.on_agreed_date"
    assert in_review["departures"][0]["transition"] == "do->review"
    await cycles.put(first_id, "review", full_review(in_review))
    done = await cycles.advance(first_id, "complete")
    assert done["stage"] == "complete"

    plan_now = (await api.http.get(f"/v1/support-plans/{plan['id']}", headers=cycles.senco)).json()
    assert plan_now["current_cycle_id"] != first_id
    second = await cycles.cycle(plan_now["current_cycle_id"])
    assert (second["number"], second["stage"]) == (2, "assess")

    listed = (
        await api.http.get(f"/v1/support-plans/{plan['id']}/cycles", headers=cycles.senco)
    ).json()
    assert [c["number"] for c in listed["items"]] == [1, 2]
    reviews = (await api.http.get(f"/v1/pupils/{pupil['id']}/reviews", headers=cycles.senco)).json()
    assert [r["cycle_id"] for r in reviews["items"]] == [first_id]
    types = [r["type"] for r in await db.fetch("select type from events order by seq")]
    assert "plan.opened" in types and "review.completed" in types and "cycle.transitioned" in types


async def test_close_support_decision_closes_the_plan_and_status_returns_to_n(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    await cycles.complete(plan["current_cycle_id"], decision="close_support")
    plan_now = (await api.http.get(f"/v1/support-plans/{plan['id']}", headers=cycles.senco)).json()
    assert (plan_now["status"], plan_now["close_reason"]) == ("closed", "review_decision")
    pupil_now = (await api.http.get(f"/v1/pupils/{pupil['id']}", headers=cycles.senco)).json()
    assert pupil_now["sen_status"] == "N"


async def test_request_ehc_decision_opens_next_cycle_and_a_draft_request(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    await cycles.complete(plan["current_cycle_id"], decision="request_ehc_assessment")
    row = await db.fetchrow("select status, requested_by, reason from ehc_requests")
    assert dict(row) == {
        "status": "draft",
        "requested_by": "school",
        "reason": "Steady progress; gap narrowing slowly",
    }
    plan_now = (await api.http.get(f"/v1/support-plans/{plan['id']}", headers=cycles.senco)).json()
    assert plan_now["status"] == "active"


async def test_one_active_plan_per_pupil(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    cycles = Cycles(api, school)
    await cycles.open_plan(pupil)
    again = await api.http.post(
        f"/v1/pupils/{pupil['id']}/support-plans", json={}, headers=cycles.senco
    )
    assert_problem(again, 409, "active_plan_exists")


async def test_leaving_school_closes_the_active_plan(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    left = await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"left_on": "2026-07-20"}, headers=cycles.senco
    )
    assert left.status_code == 200, left.text
    assert left.json()["sen_status"] == "N"
    plan_now = (await api.http.get(f"/v1/support-plans/{plan['id']}", headers=cycles.senco)).json()
    assert (plan_now["status"], plan_now["close_reason"]) == ("closed", "left_school")
