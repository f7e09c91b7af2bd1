"""The reviews-due report shows each pupil's open referrals and how long they have waited."""

from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles
from tests.local_offer.helpers import publish, refer


async def reviews_due(api, school, headers):
    response = await api.http.get(f"/v1/schools/{school['id']}/reviews-due", headers=headers)
    assert response.status_code == 200, response.text
    return {item["pupil_id"]: item for item in response.json()["items"]}


async def due_pupil(api, school, cycles):
    pupil = await api.create_pupil(school, home_la_code="330")
    plan = await cycles.open_plan(pupil)
    await cycles.to_do(plan["current_cycle_id"])  # review date tomorrow
    return pupil


async def test_open_referrals_are_listed_longest_waiting_first(api, db):
    school = await api.create_school(la_code="330")
    cycles = Cycles(api, school)
    waiting = await due_pupil(api, school, cycles)
    without = await due_pupil(api, school, cycles)
    not_due = await api.create_pupil(school, home_la_code="330")
    salt = await publish(
        api, "330", name="SALT", service="speech_and_language_therapy", target_days=21
    )
    recent = await refer(api, school, waiting, service="camhs", requested=10)
    oldest = await refer(
        api,
        school,
        waiting,
        service="speech_and_language_therapy",
        requested=30,
        local_offer=salt,
    )
    await refer(api, school, waiting, requested=50, answered=5)  # answered: not open
    await refer(api, school, waiting, requested=None)  # not yet requested: not open
    await refer(api, school, without, requested=40, answered=1)
    await refer(api, school, not_due, requested=12)

    items = await reviews_due(api, school, api.senco(school))
    assert set(items) == {waiting["id"], without["id"]}
    assert items[waiting["id"]]["open_referrals"] == [
        {
            "id": oldest["id"],
            "service": "speech_and_language_therapy",
            "requested_on": oldest["requested_on"],
            "waiting_days": 30,
            "local_offer_service_id": salt["id"],
            "target_days": 21,
        },
        {
            "id": recent["id"],
            "service": "camhs",
            "requested_on": recent["requested_on"],
            "waiting_days": 10,
            "local_offer_service_id": None,
            "target_days": None,
        },
    ]
    assert items[without["id"]]["open_referrals"] == []
    # One audit entry per pupil listed, as before: the referrals add no pupil.
    reads = await db.fetch(
        "select resource, pupil_id from audit_entries where action = 'read' order by pupil_id"
    )
    assert sorted((r["resource"], str(r["pupil_id"])) for r in reads) == sorted(
        [("cycle", waiting["id"]), ("cycle", without["id"])]
    )


async def test_callers_who_may_not_read_involvements_get_no_referrals(api):
    school = await api.create_school(la_code="330")
    cycles = Cycles(api, school)
    pupil = await due_pupil(api, school, cycles)
    await refer(api, school, pupil, service="camhs", requested=10)
    for headers in (api.staff("teacher", school), api.admin()):
        items = await reviews_due(api, school, headers)
        assert [r["service"] for r in items[pupil["id"]]["open_referrals"]] == ["camhs"]
    # An MIS reads the reviews list but not specialist involvements (SPEC.md §4).
    items = await reviews_due(api, school, api.staff("mis_integration", school))
    assert items[pupil["id"]]["open_referrals"] is None
    assert_problem(
        await api.http.get(f"/v1/schools/{school['id']}/reviews-due", headers=api.parent(pupil)),
        403,
        "forbidden",
    )
