"""The census return: SEN provision as of a date, ranked SEN types, and what it would fail on."""

from datetime import timedelta

from app.core.clock import today_london
from tests.core.test_errors import assert_problem
from tests.reports.helpers import close_plan, issue_ehc_plan, open_plan
from tests.sql import counted_statements

TODAY = today_london()
CENSUS_DAY = TODAY - timedelta(days=30)


def day(offset_from_census_day):
    return (CENSUS_DAY + timedelta(days=offset_from_census_day)).isoformat()


def census_url(school):
    return f"/v1/schools/{school['id']}/census"


async def census(api, school, on, headers=None, **params):
    response = await api.http.get(
        census_url(school), params={"date": str(on), **params}, headers=headers or api.senco(school)
    )
    assert response.status_code == 200, response.text
    return response.json()


def returned(body):
    return {
        item["last_name"]: (
            item["sen_provision"],
            [(t["rank"], t["code"]) for t in item["sen_types"]],
            item["issues"],
        )
        for item in body["items"]
    }


async def test_provision_codes_as_of_the_census_date(api, db):
    school = await api.create_school()
    other_school = await api.create_school()
    supported = await api.create_pupil(
        school, last_name="Adams", primary_need="SPLD", secondary_need="MLD"
    )
    await open_plan(api, school, supported, opened_on=day(-60))
    opened_later = await api.create_pupil(school, last_name="Brown", primary_need="SEMH")
    await open_plan(api, school, opened_later)
    closed_before = await api.create_pupil(school, last_name="Clark", primary_need="SLCN")
    closed = await open_plan(api, school, closed_before, opened_on=day(-60))
    await close_plan(api, school, closed)
    await db.execute(
        "update support_plans set closed_on = $1 where id = $2",
        CENSUS_DAY - timedelta(days=10),
        closed["id"],
    )
    closed_on_the_day = await api.create_pupil(school, last_name="Cross", primary_need="HI")
    closed = await open_plan(api, school, closed_on_the_day, opened_on=day(-60))
    await close_plan(api, school, closed)
    await db.execute(
        "update support_plans set closed_on = $1 where id = $2", CENSUS_DAY, closed["id"]
    )
    no_type = await api.create_pupil(school, last_name="Davies")
    await open_plan(api, school, no_type, opened_on=day(-60))
    ehc = await api.create_pupil(school, last_name="Evans", primary_need="NSA")
    await open_plan(api, school, ehc, opened_on=day(-60))
    await issue_ehc_plan(api, school, ehc)
    await api.create_pupil(school, last_name="Foster", primary_need="OTH")
    await api.create_pupil(school, last_name="Green", left_on=day(-1))
    await api.create_pupil(school, last_name="Hughes", left_on=day(0))
    await open_plan(api, other_school, await api.create_pupil(other_school, last_name="Aaron"))

    body = await census(api, school, CENSUS_DAY, headers=api.staff("mis_integration", school))
    assert (body["census_date"], body["next_cursor"]) == (CENSUS_DAY.isoformat(), None)
    assert [item["last_name"] for item in body["items"]] == [
        "Adams",
        "Brown",
        "Clark",
        "Cross",
        "Davies",
        "Evans",
        "Foster",
        "Hughes",
    ]
    assert body["items"][0] == {
        "pupil_id": supported["id"],
        "upn": supported["upn"],
        "first_name": "Amara",
        "last_name": "Adams",
        "year_group": "5",
        "sen_provision": "K",
        "sen_types": [{"rank": 1, "code": "SPLD"}, {"rank": 2, "code": "MLD"}],
        "issues": [],
    }
    assert returned(body) == {
        "Adams": ("K", [(1, "SPLD"), (2, "MLD")], []),
        "Brown": ("N", [], []),  # opened after the date
        "Clark": ("N", [], []),  # closed before it
        "Cross": ("N", [], []),  # closed on it
        "Davies": ("K", [], ["missing_primary_need"]),
        # Before its EHC plan was issued the pupil was on SEN support, where NSA is valid.
        "Evans": ("K", [(1, "NSA")], []),
        "Foster": ("N", [], []),  # a need recorded, but no special provision
        "Hughes": ("N", [], []),  # leaves on census day: still on roll
    }

    now = returned(await census(api, school, TODAY))
    assert now["Brown"] == ("K", [(1, "SEMH")], [])
    assert now["Evans"] == ("E", [(1, "NSA")], ["nsa_with_ehc_plan"])
    assert "Hughes" not in now and "Green" not in now

    earlier = returned(await census(api, school, CENSUS_DAY - timedelta(days=20)))
    assert earlier["Clark"] == ("K", [(1, "SLCN")], [])
    assert earlier["Cross"] == ("K", [(1, "HI")], [])
    assert earlier["Green"] == ("N", [], [])
    assert returned(await census(api, school, day(-61)))["Adams"] == ("N", [], [])

    audited = await db.fetch("select pupil_id, action from audit_entries where resource = 'census'")
    assert len(audited) == 8 + 7 + 9 + 9
    assert {row["action"] for row in audited} == {"read"}


async def test_census_pages_and_dates(api):
    school = await api.create_school()
    names = ["Ahmed", "Baker", "Baker", "Chen", "Dunn"]
    for index, last_name in enumerate(names):
        await api.create_pupil(school, first_name=f"P{index}", last_name=last_name)
    seen, cursor = [], None
    while True:
        page = await census(api, school, TODAY, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["census_date"] == TODAY.isoformat()
        seen += [(i["last_name"], i["first_name"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [(name, f"P{index}") for index, name in enumerate(names)]

    senco = api.senco(school)
    for params in ({}, {"date": ""}, {"date": "2026-02-30"}, {"date": "15/01/2026"}):
        response = await api.http.get(census_url(school), params=params, headers=senco)
        body = assert_problem(response, 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["date"]
    for extra in ({"limit": "0"}, {"cursor": "x"}):
        response = await api.http.get(
            census_url(school), params={"date": "2026-01-15", **extra}, headers=senco
        )
        assert_problem(response, 422, "validation_error")


async def test_who_may_read_the_census(api, app):
    school = await api.create_school(la_code="330")
    other_school = await api.create_school()
    pupil = await api.create_pupil(school)
    params = {"date": TODAY.isoformat()}
    url = census_url(school)
    for headers in (api.senco(school), api.staff("mis_integration", school), api.admin()):
        assert (await api.http.get(url, params=params, headers=headers)).status_code == 200
    for headers in (
        api.staff("teacher", school),
        api.parent(pupil),
        api.headers("la_officer", la_code="330"),
    ):
        assert_problem(await api.http.get(url, params=params, headers=headers), 403, "forbidden")
    for headers in (api.senco(other_school), api.headers("la_officer", la_code="331")):
        assert_problem(await api.http.get(url, params=params, headers=headers), 404, "not_found")

    counts = []
    for _ in range(2):
        with counted_statements(app) as statements:
            await census(api, school, TODAY)
        counts.append(len(statements))
        await open_plan(api, school, await api.create_pupil(school))
    # The school in scope, the census rows, and one INSERT of the audit entries.
    assert counts == [3, 3]
