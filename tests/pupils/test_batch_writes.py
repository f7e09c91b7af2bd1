"""What a batch writes: rows, versions, events, audit entries and leavers, in a fixed number of
statements whatever the number of pupils."""

import uuid

from tests.cycles.helpers import Cycles
from tests.factories import make_upn, pupil_body
from tests.sql import counted_statements


async def batch(api, school, items, headers=None):
    response = await api.http.post(
        f"/v1/schools/{school['id']}/pupils/batch",
        json={"items": items},
        headers=headers or api.senco(school),
    )
    assert response.status_code == 200, response.text
    return response


async def test_updated_pupils_read_back_with_a_new_version_and_etag(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school, first_name="Ada", pupil_premium=False)
    contact = {"name": "Grace Hopper", "relationship": "mother", "phone": "07700900123"}
    await batch(api, school, [{"upn": pupil["upn"], "contacts": [contact]}])
    first = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.senco(school))
    kept_id = first.json()["contacts"][0]["id"]

    await batch(
        api,
        school,
        [
            {
                "upn": pupil["upn"],
                "first_name": "Ada May",
                "pupil_premium": True,
                "contacts": [{**contact, "id": kept_id, "phone": "07700900456"}],
            }
        ],
    )
    read = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=api.senco(school))
    body = read.json()
    assert (body["first_name"], body["pupil_premium"], body["version"]) == ("Ada May", True, 3)
    assert read.headers["etag"] == '"3"'
    assert [(c["id"], c["name"], c["phone"]) for c in body["contacts"]] == [
        (kept_id, "Grace Hopper", "07700900456")
    ]
    assert body["updated_at"] > pupil["updated_at"]
    # Fields not sent keep their values.
    assert (body["last_name"], body["date_of_birth"]) == (
        pupil["last_name"],
        pupil["date_of_birth"],
    )


async def test_an_unknown_contact_id_refuses_that_item_only(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    unknown = {"id": "00000000-0000-4000-8000-000000000000", "name": "X", "relationship": "other"}
    response = await batch(
        api, school, [{"upn": pupil["upn"], "contacts": [unknown]}, pupil_body(first_name="New")]
    )
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["error", "created"]
    assert response.json()["results"][0]["errors"][0]["field"] == "contacts.0.id"
    assert await db.fetchval("select version from pupils where id = $1", pupil["id"]) == 1


async def test_events_and_audit_entries_for_every_pupil_written(api, db):
    school = await api.create_school()
    kept = await api.create_pupil(school, year_group="5")
    changed = await api.create_pupil(school, year_group="5")
    after = await db.fetchval("select last_seq from event_counter")
    new = [pupil_body(upn=make_upn()) for _ in range(3)]
    response = await batch(
        api,
        school,
        [*new, {"upn": changed["upn"], "year_group": "6"}, {"upn": kept["upn"], "year_group": "5"}],
        headers=api.staff("mis_integration", school),
    )
    ids = [r["id"] for r in response.json()["results"]]

    events = await db.fetch(
        "select seq, type, pupil_id, school_id, la_code, data from events where seq > $1 "
        "order by seq",
        after,
    )
    assert [e["seq"] for e in events] == list(range(after + 1, after + 5))
    assert [(e["type"], str(e["pupil_id"])) for e in events] == [
        ("pupil.updated", changed["id"]),
        *(("pupil.created", pupil_id) for pupil_id in ids[:3]),
    ]
    assert all(str(e["school_id"]) == school["id"] for e in events)
    assert events[0]["la_code"] == changed["home_la_code"]
    assert '"changed": ["year_group"]' in events[0]["data"]
    assert all(
        f'"upn": "{item["upn"]}"' in e["data"] for e, item in zip(events[1:], new, strict=True)
    )

    audit = await db.fetch(
        "select action, resource, resource_id, pupil_id, school_id, actor_role "
        "from audit_entries where request_id = $1",
        response.headers["x-request-id"],
    )
    assert sorted((a["action"], str(a["pupil_id"])) for a in audit) == sorted(
        [("update", changed["id"]), *(("create", pupil_id) for pupil_id in ids[:3])]
    )
    assert all(
        a["resource"] == "pupil"
        and a["resource_id"] == a["pupil_id"]
        and str(a["school_id"]) == school["id"]
        and a["actor_role"] == "mis_integration"
        for a in audit
    )


async def test_a_leaver_in_a_batch_leaves_sen_support(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    await batch(api, school, [{"upn": pupil["upn"], "left_on": "2026-07-20"}])
    read = (await api.http.get(f"/v1/pupils/{pupil['id']}", headers=cycles.senco)).json()
    assert (read["left_on"], read["sen_status"]) == ("2026-07-20", "N")
    plan_now = (await api.http.get(f"/v1/support-plans/{plan['id']}", headers=cycles.senco)).json()
    assert (plan_now["status"], plan_now["close_reason"]) == ("closed", "left_school")


async def test_leavers_are_closed_as_a_set_whatever_their_number(api, app, db):
    """Each leaver's active plan closed and its pupil back to N, with the same events and
    audit entries as a single leaver gets, in statements that do not grow with the leavers."""
    school = await api.create_school()
    cycles = Cycles(api, school)
    pupils = [await api.create_pupil(school) for _ in range(6)]
    plans = [await cycles.open_plan(pupil) for pupil in pupils]

    async def leave(group):
        return await batch(api, school, [{"upn": p["upn"], "left_on": "2026-07-20"} for p in group])

    with counted_statements(app) as one:
        await leave(pupils[:1])
    with counted_statements(app) as five:
        await leave(pupils[1:])
    assert len(five) == len(one), "\n".join(five)
    for pupil, plan in zip(pupils, plans, strict=True):
        read = (await api.http.get(f"/v1/pupils/{pupil['id']}", headers=cycles.senco)).json()
        # created 1, K on the plan 2, left 3, N 4: as one leaver at a time had it
        assert (read["left_on"], read["sen_status"], read["version"]) == ("2026-07-20", "N", 4)
        plan_now = (
            await api.http.get(f"/v1/support-plans/{plan['id']}", headers=cycles.senco)
        ).json()
        assert (plan_now["status"], plan_now["close_reason"]) == ("closed", "left_school")
        events = await db.fetch(
            "select type, resource, data from events where pupil_id = $1 and seq > "
            "(select max(seq) from events where pupil_id = $1 and type = 'plan.opened') "
            "order by seq",
            uuid.UUID(pupil["id"]),
        )
        assert [(e["type"], e["resource"]) for e in events] == [
            ("pupil.updated", "pupil"),
            ("pupil.updated", "pupil"),
            ("plan.closed", "support_plan"),
        ]
        audited = await db.fetchval(
            "select count(*) from audit_entries where resource = 'support_plan' "
            "and action = 'update' and resource_id = $1",
            uuid.UUID(plan["id"]),
        )
        assert audited == 1


async def test_a_batch_costs_the_same_statements_for_ten_pupils_or_a_thousand(api, app):
    school = await api.create_school()
    small = [pupil_body(upn=make_upn()) for _ in range(10)]
    large = [pupil_body(upn=make_upn()) for _ in range(1000)]
    await batch(api, school, small[:5] + large[:500])

    def half_updates(items):
        return [{"upn": i["upn"], "first_name": "Changed"} for i in items[: len(items) // 2]] + [
            pupil_body(upn=make_upn()) for _ in items[len(items) // 2 :]
        ]

    with counted_statements(app) as few:
        await batch(api, school, half_updates(small))
    with counted_statements(app) as many:
        response = await batch(api, school, half_updates(large))
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses.count("updated") == 500 and statuses.count("created") == 500
    assert len(many) == len(few), "\n".join(many)
    assert len(many) <= 10, "\n".join(many)


async def test_a_new_pupil_in_a_batch_is_checked_as_a_create_is(api, db):
    school = await api.create_school(la_code="802")
    items = [
        pupil_body(upn=make_upn(), home_la_code=None),
        pupil_body(upn=make_upn(), pupil_premium=None),
        pupil_body(upn=make_upn(), contacts=None),
        pupil_body(upn=make_upn(), primary_need=None, secondary_need="SPLD"),
        pupil_body(upn=make_upn(), first_name=None),
    ]
    results = (await batch(api, school, items)).json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error", "error", "error"]
    assert [r["errors"][0]["field"] for r in results[1:]] == [
        "pupil_premium",
        "contacts",
        "secondary_need",
        "first_name",
    ]
    created = await db.fetchrow(
        "select home_la_code, pupil_premium, contacts, sen_status, version from pupils"
    )
    assert (created["home_la_code"], created["pupil_premium"], created["sen_status"]) == (
        "802",
        False,
        "N",
    )
    assert (created["contacts"], created["version"]) == ("[]", 1)
