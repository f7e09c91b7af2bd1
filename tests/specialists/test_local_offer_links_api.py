"""A referral may name the Local Offer service it went to: one of the pupil's home LA or of the
school's LA, and no other."""

import json
import uuid

from tests.core.test_errors import assert_problem
from tests.local_offer.helpers import days_ago, officer, publish

FIELD = "local_offer_service_id"


def body(**overrides):
    return {
        "service": "educational_psychologist",
        "parents_involved_on": days_ago(20),
        "parental_consent": True,
        "requested_on": days_ago(10),
    } | overrides


async def create(api, school, pupil, **overrides):
    return await api.http.post(
        f"/v1/pupils/{pupil['id']}/specialist-involvements",
        json=body(**overrides),
        headers=api.senco(school),
    )


async def patch(api, school, involvement, changes):
    return await api.http.patch(
        f"/v1/specialist-involvements/{involvement['id']}",
        json=changes,
        headers=api.senco(school),
    )


async def setting(api):
    """A pupil living in LA 331 at a school in LA 330, and services of 330, 331 and 332."""
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="331")
    services = {la: await publish(api, la, name=f"EPS {la}") for la in ("330", "331", "332")}
    return school, pupil, services


async def test_a_referral_names_a_service_of_the_home_la_or_the_schools_la(api):
    school, pupil, services = await setting(api)
    for la in ("331", "330"):
        created = await create(api, school, pupil, local_offer_service_id=services[la]["id"])
        assert created.status_code == 201, created.text
        assert created.json()[FIELD] == services[la]["id"]
        assert created.json()["waiting_days"] == 10
    # A retired entry can still be named: the referral may predate its retirement.
    retired = await api.http.patch(
        f"/v1/local-offer/{services['331']['id']}",
        json={"active": False},
        headers=officer(api, "331"),
    )
    assert retired.status_code == 200, retired.text
    old = await create(api, school, pupil, local_offer_service_id=services["331"]["id"])
    assert old.status_code == 201, old.text
    unlinked = await create(api, school, pupil)
    assert unlinked.json()[FIELD] is None
    assert unlinked.json()["waiting_days"] == 10


async def test_another_las_service_or_an_unknown_one_is_refused(api, db):
    school, pupil, services = await setting(api)
    for service_id in (services["332"]["id"], str(uuid.uuid4())):
        refused = await create(api, school, pupil, local_offer_service_id=service_id)
        problem = assert_problem(refused, 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == [FIELD]
    other_la = await create(api, school, pupil, local_offer_service_id=services["332"]["id"])
    message = other_la.json()["errors"][0]["message"]
    assert "332" in message and "331" in message and "330" in message
    # Reported together with the body's other faults.
    both = await create(
        api,
        school,
        pupil,
        advice_received_on=days_ago(15),
        local_offer_service_id=services["332"]["id"],
    )
    problem = assert_problem(both, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {"advice_received_on", FIELD}
    assert await db.fetchval("select count(*) from specialist_involvements") == 0
    assert (
        await db.fetchval("select count(*) from events where resource = 'specialist_involvement'")
        == 0
    )


async def test_a_patch_links_relinks_and_unlinks(api, db):
    school, pupil, services = await setting(api)
    involvement = (await create(api, school, pupil)).json()
    before = await db.fetchrow("select * from specialist_involvements")
    for service_id in (services["332"]["id"], str(uuid.uuid4())):
        refused = await patch(api, school, involvement, {FIELD: service_id, "advice_summary": "x"})
        problem = assert_problem(refused, 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == [FIELD]
    assert await db.fetchrow("select * from specialist_involvements") == before

    linked = await patch(api, school, involvement, {FIELD: services["331"]["id"]})
    assert linked.status_code == 200, linked.text
    assert linked.json()[FIELD] == services["331"]["id"]
    assert linked.json()["version"] == 2
    relinked = await patch(api, school, involvement, {FIELD: services["330"]["id"]})
    assert relinked.json()[FIELD] == services["330"]["id"]
    unlinked = await patch(api, school, involvement, {FIELD: None})
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()[FIELD] is None
    assert unlinked.json()["waiting_days"] == 10
    changed = [
        json.loads(row["data"])["changed"]
        for row in await db.fetch(
            "select data from events where type = 'specialist_involvement.updated' order by seq"
        )
    ]
    assert changed == [[FIELD], [FIELD], [FIELD]]


async def test_a_link_made_while_valid_survives_a_move_of_home_la(api):
    school, pupil, services = await setting(api)
    involvement = (
        await create(api, school, pupil, local_offer_service_id=services["331"]["id"])
    ).json()
    moved = await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"home_la_code": "332"}, headers=api.senco(school)
    )
    assert moved.status_code == 200, moved.text
    # Changing something else does not re-check the link the referral was made with.
    updated = await patch(api, school, involvement, {"advice_received_on": days_ago(1)})
    assert updated.status_code == 200, updated.text
    assert updated.json()[FIELD] == services["331"]["id"]
    assert updated.json()["waiting_days"] == 9
