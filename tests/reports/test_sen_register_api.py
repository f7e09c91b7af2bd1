"""The SEN register: JSON pages and CSV (its own operation, or by Accept), who may read it, and
its audit entries."""

import csv
import io
from datetime import timedelta

import pytest

from app.core.clock import today_london
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles, days_from_today
from tests.reports.helpers import issue_ehc_plan, pupil_in_do
from tests.sql import counted_statements

CSV_HEADER = (
    "upn,first_name,last_name,year_group,sen_status,primary_need,secondary_need,"
    "current_stage,next_review_date"
)


def register_url(school, suffix=""):
    return f"/v1/schools/{school['id']}/sen-register{suffix}"


async def set_left_on(db, pupil, days):
    # Straight in the database: through the API a leaver's plan closes and it drops to N, and
    # these tests are about the roll filter alone.
    await db.execute(
        "update pupils set left_on = $1 where id = $2",
        today_london() + timedelta(days=days),
        pupil["id"],
    )


async def test_register_lists_on_roll_k_and_e_pupils_by_name(api, db):
    school = await api.create_school()
    other_school = await api.create_school()
    cycles = Cycles(api, school)
    zoe = await pupil_in_do(
        api, school, first_name="Zoe", last_name="Baker", primary_need="SPLD", secondary_need="SLCN"
    )
    adam = await api.create_pupil(school, first_name="Adam", last_name="Baker", primary_need="MLD")
    await cycles.open_plan(adam)
    eve = await api.create_pupil(school, first_name="Eve", last_name="Carter", primary_need="ASD")
    await issue_ehc_plan(api, school, eve)
    await api.create_pupil(school, first_name="Nina", last_name="Able", primary_need="MLD")
    leaving = await api.create_pupil(school, first_name="Lena", last_name="Abbott")
    await cycles.open_plan(leaving)
    await set_left_on(db, leaving, 10)
    for first_name, days in (("Liam", -1), ("Lily", 0)):
        left = await api.create_pupil(school, first_name=first_name, last_name="Abbott")
        await cycles.open_plan(left)
        await set_left_on(db, left, days)
    await pupil_in_do(api, other_school, last_name="Aaron")

    response = await api.http.get(register_url(school), headers=api.staff("teacher", school))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert body["items"] == [
        {
            "pupil_id": leaving["id"],
            "upn": leaving["upn"],
            "first_name": "Lena",
            "last_name": "Abbott",
            "year_group": "5",
            "sen_status": "K",
            "primary_need": None,
            "secondary_need": None,
            "needs": [],
            "current_stage": "assess",
            "next_review_date": None,
        },
        {
            "pupil_id": adam["id"],
            "upn": adam["upn"],
            "first_name": "Adam",
            "last_name": "Baker",
            "year_group": "5",
            "sen_status": "K",
            "primary_need": "MLD",
            "secondary_need": None,
            "needs": [{"rank": 1, "code": "MLD"}],
            "current_stage": "assess",
            "next_review_date": None,
        },
        {
            "pupil_id": zoe["id"],
            "upn": zoe["upn"],
            "first_name": "Zoe",
            "last_name": "Baker",
            "year_group": "5",
            "sen_status": "K",
            "primary_need": "SPLD",
            "secondary_need": "SLCN",
            "needs": [{"rank": 1, "code": "SPLD"}, {"rank": 2, "code": "SLCN"}],
            "current_stage": "do",
            "next_review_date": days_from_today(1),
        },
        {
            "pupil_id": eve["id"],
            "upn": eve["upn"],
            "first_name": "Eve",
            "last_name": "Carter",
            "year_group": "5",
            "sen_status": "E",
            "primary_need": "ASD",
            "secondary_need": None,
            "needs": [{"rank": 1, "code": "ASD"}],
            "current_stage": None,
            "next_review_date": None,
        },
    ]

    audited = await db.fetch(
        "select pupil_id, action, school_id from audit_entries where resource = 'sen_register'"
    )
    assert sorted(str(row["pupil_id"]) for row in audited) == sorted(
        item["pupil_id"] for item in body["items"]
    )
    assert {(row["action"], str(row["school_id"])) for row in audited} == {("read", school["id"])}


async def test_register_pages_follow_the_name_order(api):
    school = await api.create_school()
    cycles = Cycles(api, school)
    names = ["Ahmed", "Brown", "Brown", "Chen", "Davies"]
    for index, last_name in enumerate(names):
        pupil = await api.create_pupil(school, first_name=f"P{index}", last_name=last_name)
        await cycles.open_plan(pupil)
    senco = api.senco(school)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.http.get(register_url(school), params=params, headers=senco)).json()
        seen += [(item["last_name"], item["first_name"]) for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [(name, f"P{index}") for index, name in enumerate(names)]
    bad = await api.http.get(register_url(school), params={"cursor": "nope"}, headers=senco)
    assert_problem(bad, 422, "validation_error")
    for limit in (0, 201):
        response = await api.http.get(register_url(school), params={"limit": limit}, headers=senco)
        assert_problem(response, 422, "validation_error")


async def test_register_as_csv_quotes_and_guards_against_formulas(api, db):
    school = await api.create_school()
    quoted = await pupil_in_do(
        api, school, first_name='Mary, "Jo"', last_name="O'Neil", primary_need="SPLD"
    )
    formulas = {}
    for first_name, last_name in (
        ("+44 7700 900123", '=HYPERLINK("http://evil.example","x")'),
        ("-2+3", "@SUM(A1:A9)"),
    ):
        pupil = await api.create_pupil(school, first_name=first_name, last_name=last_name)
        await Cycles(api, school).open_plan(pupil)
        formulas[pupil["upn"]] = (first_name, last_name)
    await api.create_pupil(school, last_name="Unsupported")

    headers = {**api.staff("mis_integration", school), "Accept": "text/csv"}
    # CSV is every row: the page size does not apply.
    response = await api.http.get(register_url(school), params={"limit": 1}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.split("\r\n")
    assert lines[0] == CSV_HEADER
    assert lines[-1] == ""
    rows = {row["upn"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert len(rows) == 3

    assert f'{quoted["upn"]},"Mary, ""Jo""",O\'Neil,5,K,SPLD,,do,{days_from_today(1)}' in lines
    assert rows[quoted["upn"]]["first_name"] == 'Mary, "Jo"'
    for upn, (first_name, last_name) in formulas.items():
        assert (rows[upn]["first_name"], rows[upn]["last_name"]) == (
            "'" + first_name,
            "'" + last_name,
        )
        assert (rows[upn]["current_stage"], rows[upn]["next_review_date"]) == ("assess", "")

    exported = await db.fetch(
        "select action from audit_entries where resource = 'sen_register' and action = 'export'"
    )
    assert len(exported) == 3

    # JSON unless CSV is preferred; JSON keeps the names as entered.
    for accept in ("application/json", "*/*", "text/csv;q=0.5, application/json", "text/csv;q=0"):
        response = await api.http.get(
            register_url(school), headers={**api.senco(school), "Accept": accept}
        )
        assert response.headers["content-type"].startswith("application/json"), accept
    names = {i["upn"]: i["last_name"] for i in response.json()["items"]}
    assert {names[upn] for upn in formulas} == {last for _, last in formulas.values()}


async def test_the_csv_is_its_own_operation_with_the_negotiated_body_and_audit(api, db):
    school = await api.create_school()
    first = await pupil_in_do(api, school, first_name="Ada", last_name="Baker")
    second = await pupil_in_do(api, school, first_name="=1+1", last_name="Carter")
    await api.create_pupil(school, last_name="Unsupported")
    await pupil_in_do(api, await api.create_school(), last_name="Elsewhere")
    mis = api.staff("mis_integration", school)
    exported = (
        "select count(*) from audit_entries where resource = 'sen_register' and action = 'export'"
    )
    before = await db.fetchval(exported)

    # No Accept needed, and whatever Accept says (a generated client sends its own); the
    # page size does not apply to the file.
    for accept in (None, "application/json", "*/*"):
        headers = mis if accept is None else {**mis, "Accept": accept}
        response = await api.http.get(
            register_url(school, ".csv"), params={"limit": 1}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="sen-register-{school["id"]}.csv"'
        )
        lines = response.text.split("\r\n")
        assert lines[0] == CSV_HEADER
        assert lines[0].split(",")[0] == "upn"
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [row["upn"] for row in rows] == [first["upn"], second["upn"]]
        assert rows[1]["first_name"] == "'=1+1"
    # The same file as the negotiated path gives, and the same audit: one export per pupil.
    negotiated = await api.http.get(register_url(school), headers={**mis, "Accept": "text/csv"})
    assert negotiated.headers["content-type"] == response.headers["content-type"]
    assert negotiated.headers["content-disposition"] == response.headers["content-disposition"]
    assert negotiated.content == response.content
    assert await db.fetchval(exported) == before + 4 * 2
    # `.csv` is not read as part of the school's id, nor another suffix as this route.
    for path in (
        f"/v1/schools/{school['id']}.csv/sen-register",
        register_url(school, ".json"),
        register_url(school, ".csv/x"),
    ):
        refused = await api.http.get(path, headers=mis)
        assert refused.status_code in (404, 422), path
        assert refused.headers["content-type"].startswith("application/problem+json"), path


@pytest.mark.parametrize("suffix", ["", ".csv"], ids=["json", "csv_operation"])
async def test_who_may_read_the_register(api, suffix):
    school = await api.create_school(la_code="330")
    other_school = await api.create_school(la_code="331")
    pupil = await api.create_pupil(school)
    url = register_url(school, suffix)
    for headers in (
        api.senco(school),
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.admin(),
    ):
        assert (await api.http.get(url, headers=headers)).status_code == 200
    for headers in (api.parent(pupil), api.headers("la_officer", la_code="330")):
        assert_problem(await api.http.get(url, headers=headers), 403, "forbidden")
    for headers in (
        api.senco(other_school),
        api.headers("la_officer", la_code="332"),
        api.parent(await api.create_pupil(other_school)),
    ):
        assert_problem(await api.http.get(url, headers=headers), 404, "not_found")
    assert_problem(await api.http.get(url), 401, "unauthorized")
    missing = f"/v1/schools/00000000-0000-0000-0000-000000000000/sen-register{suffix}"
    assert_problem(await api.http.get(missing, headers=api.admin()), 404, "not_found")


async def test_register_statements_do_not_grow_with_pupils(api, app):
    school = await api.create_school()
    await pupil_in_do(api, school)
    senco = api.senco(school)
    counts = []
    for suffix, accept in (("", "application/json"), ("", "text/csv"), (".csv", "*/*")):
        for _ in range(2):
            with counted_statements(app) as statements:
                response = await api.http.get(
                    register_url(school, suffix), headers={**senco, "Accept": accept}
                )
            assert response.status_code == 200
            counts.append(len(statements))
            await pupil_in_do(api, school)
    # The school in scope, the register, and one INSERT of the audit entries.
    assert counts == [3] * 6
