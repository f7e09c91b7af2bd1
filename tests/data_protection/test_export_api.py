"""GET /v1/pupils/{id}/export: everything held about a pupil, for whom, audited, in a fixed
number of queries."""

import uuid

from app.core.security import Role
from app.data_protection.service import EXPORT_SECTIONS
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles
from tests.data_protection.helpers import (
    REASON,
    primary_keys,
    pupil_tables,
    seed_every_record,
)
from tests.sql import counted_statements


def section_items(export: dict, section: str) -> list[dict]:
    value = export[section]
    return value if isinstance(value, list) else [value] if value else []


def section_ids(export: dict, section: str, key: str = "id") -> set[str]:
    if section == "legal_hold":
        key = "pupil_id"
    return {str(item[key]) for item in section_items(export, section)}


async def test_the_export_holds_a_seeded_row_of_every_pupil_table(api, app):
    school = await api.create_school()
    pupil, ids = await seed_every_record(api, school, primary_need="SPLD")
    other, _ = await seed_every_record(api, school)

    response = await api.http.get(f"/v1/pupils/{pupil['id']}/export", headers=api.senco(school))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    export = response.json()
    for table, row_id in ids.items():
        assert row_id in section_ids(export, EXPORT_SECTIONS[table]), table
    # Events and audit entries are written by the seeding itself.
    assert {e["type"] for e in export["events"]} >= {"pupil.created", "plan.opened"}
    assert all(e["pupil_id"] == pupil["id"] for e in export["events"])
    assert {e["action"] for e in export["audit_entries"]} >= {"create", "update", "export"}
    # The stage records, departures and views of the cycle come whole.
    cycle = export["cycles"][0]
    assert cycle["assessment"]["needs"][0]["area"] == "cognition_and_learning"
    assert cycle["plan"]["provisions"][0]["annual_cost"]
    assert cycle["departures"][0]["rule"] == "review.on_agreed_date"
    assert cycle["views_log"][0]["text"] == "I want help with reading"
    assert export["pupil"]["primary_need"] == "SPLD"
    assert export["school"]["urn"] == school["urn"]
    assert export["legal_hold"]["reason"] == REASON
    assert export["retention"] == {
        "retention_years": 31,
        "due_for_deletion_on": "2047-03-14",
        "legal_hold": True,
    }
    # Nothing of the other pupil.
    assert other["id"] not in response.text


async def test_the_export_holds_exactly_the_rows_the_database_holds(api, app):
    school = await api.create_school()
    pupil, _ = await seed_every_record(api, school)
    cycles = Cycles(api, school)
    await api.http.post(
        f"/v1/pupils/{pupil['id']}/concerns",
        json={"raised_by": "teacher", "description": "Second concern"},
        headers=cycles.senco,
    )
    export = (await api.http.get(f"/v1/pupils/{pupil['id']}/export", headers=cycles.senco)).json()

    async with app.state.database.sessionmaker() as session:
        held = await primary_keys(session, uuid.UUID(pupil["id"]))
    for table, section in EXPORT_SECTIONS.items():
        (key,) = pupil_tables()[table].primary_key.columns.keys()
        assert section_ids(export, section, key) == held[table], table
    assert len(held["concerns"]) == 2
    assert all(held[table] for table in EXPORT_SECTIONS)


async def test_senco_and_platform_admin_may_export(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    for headers in (api.senco(school), api.admin()):
        response = await api.http.get(f"/v1/pupils/{pupil['id']}/export", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["pupil"]["id"] == pupil["id"]


async def test_other_roles_in_scope_get_403_and_out_of_scope_404_as_for_nothing(api, db):
    school = await api.create_school(la_code="801")
    pupil, _ = await seed_every_record(api, school, home_la_code="801")
    # The LA follows the pupil once a request is submitted to it.
    request_id = await db.fetchval(
        "select id from ehc_requests where pupil_id = $1", uuid.UUID(pupil["id"])
    )
    submitted = await api.http.post(
        f"/v1/ehc-requests/{request_id}/transitions",
        json={
            "to": "submitted",
            "departures": [
                {"rule": "ehc.evidence_of_sen_support", "reason": "The LA asked us not to wait"}
            ],
        },
        headers=api.senco(school),
    )
    assert submitted.status_code == 200, submitted.text
    elsewhere = await api.create_school(la_code="802")
    stranger = await api.create_pupil(elsewhere)
    path = f"/v1/pupils/{pupil['id']}/export"

    in_scope = {
        "teacher": api.staff(Role.TEACHER, school),
        "mis_integration": api.staff(Role.MIS_INTEGRATION, school),
        "parent": api.parent(pupil),
        "la_officer": api.headers(Role.LA_OFFICER, la_code="801"),
    }
    for role, headers in in_scope.items():
        response = await api.http.get(path, headers=headers)
        assert response.status_code == 403, role
        assert_problem(response, 403, "forbidden")

    missing = await api.http.get(f"/v1/pupils/{uuid.uuid4()}/export", headers=api.senco(school))
    expected = assert_problem(missing, 404, "not_found")
    out_of_scope = {
        "senco": api.senco(elsewhere),
        "teacher": api.staff(Role.TEACHER, elsewhere),
        "parent": api.parent(stranger),
        "la_officer": api.headers(Role.LA_OFFICER, la_code="802"),
    }
    for role, headers in out_of_scope.items():
        response = await api.http.get(path, headers=headers)
        assert assert_problem(response, 404, "not_found") == expected, role

    exports = await db.fetchval(
        "select count(*) from audit_entries where action = 'export' and pupil_id = $1",
        uuid.UUID(pupil["id"]),
    )
    assert exports == 0  # refusals are not audited as reads


async def test_the_export_is_audited_as_an_export_by_its_reader(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    headers = api.senco(school)
    sub = api.last_sub
    response = await api.http.get(f"/v1/pupils/{pupil['id']}/export", headers=headers)
    assert response.status_code == 200
    rows = await db.fetch(
        "select actor_sub, actor_role, resource, resource_id from audit_entries "
        "where action = 'export' and pupil_id = $1",
        uuid.UUID(pupil["id"]),
    )
    assert [dict(r) for r in rows] == [
        {
            "actor_sub": sub,
            "actor_role": "senco",
            "resource": "pupil_export",
            "resource_id": uuid.UUID(pupil["id"]),
        }
    ]
    # The export lists itself among the recipients.
    listed = response.json()["audit_entries"][-1]
    assert (listed["action"], listed["actor"]["sub"]) == ("export", sub)


async def test_the_number_of_queries_does_not_grow_with_the_history(api, app):
    school = await api.create_school()
    small = await api.create_pupil(school)
    large, _ = await seed_every_record(api, school)
    cycles = Cycles(api, school)
    for n in range(3):
        await api.http.post(
            f"/v1/pupils/{large['id']}/concerns",
            json={"raised_by": "teacher", "description": f"Concern {n}"},
            headers=cycles.senco,
        )
    counts = []
    for pupil in (small, large):
        with counted_statements(app) as statements:
            response = await api.http.get(f"/v1/pupils/{pupil['id']}/export", headers=cycles.senco)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 13, counts  # pupil, audit insert, school, hold and one per section
