"""Provision costs against the threshold and the notional SEN budget, to the penny."""

from app.core.clock import today_london
from app.rules import financial_year_of
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles
from tests.reports.helpers import (
    EXPENSIVE,
    close_plan,
    issue_ehc_plan,
    open_plan,
    pupil_in_do,
)
from tests.sql import counted_statements

PERIOD = financial_year_of(today_london())


def costs_url(school):
    return f"/v1/schools/{school['id']}/provision-costs"


async def get_costs(api, school, period=PERIOD, headers=None):
    response = await api.http.get(
        costs_url(school), params={"period": period}, headers=headers or api.senco(school)
    )
    assert response.status_code == 200, response.text
    return response.json()


def figures(body):
    return {
        item["last_name"]: (
            item["annual_provision_cost"],
            item["school_funds"],
            item["top_up_needed"],
            item["claim_status"],
            item["top_up_claimed"],
            item["top_up_approved"],
        )
        for item in body["items"]
    }


async def claim_move(api, claim, headers, to, **body):
    response = await api.http.post(
        f"/v1/funding-claims/{claim['id']}/transitions", json={"to": to, **body}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_costs_split_at_the_threshold_with_totals_and_budget(api, db):
    school = await api.create_school()
    other_school = await api.create_school()
    cheap = await pupil_in_do(api, school, last_name="Adams")
    dear = await pupil_in_do(api, school, [EXPENSIVE], last_name="Brown", home_la_code="331")
    await api.create_pupil(school, last_name="Cole", primary_need="MLD")
    await pupil_in_do(api, other_school, [EXPENSIVE], last_name="Aaron")
    senco = api.senco(school)

    body = await get_costs(api, school)
    assert (body["school_id"], body["period"], body["threshold"]) == (
        school["id"],
        PERIOD,
        "6000.00",
    )
    assert [(i["pupil_id"], i["upn"], i["sen_status"]) for i in body["items"]] == [
        (cheap["id"], cheap["upn"], "K"),
        (dear["id"], dear["upn"], "K"),
    ]
    assert figures(body) == {
        "Adams": ("471.50", "471.50", "0.00", None, None, None),
        "Brown": ("8480.00", "6000.00", "2480.00", None, None, None),
    }
    assert body["totals"] == {
        "annual_provision_cost": "8951.50",
        "school_funds": "6471.50",
        "top_up_needed": "2480.00",
        "top_up_claimed": "0.00",
        "top_up_approved": "0.00",
    }
    assert (body["notional_sen_budget"], body["budget_remaining"]) == (None, None)

    put = await api.http.put(
        f"/v1/schools/{school['id']}/notional-sen-budget/{PERIOD}",
        json={"amount": "45000.00"},
        headers=senco,
    )
    assert put.status_code == 200, put.text
    created = await api.http.post(
        f"/v1/pupils/{dear['id']}/funding-claims", json={"period": PERIOD}, headers=senco
    )
    claim = created.json()
    await claim_move(api, claim, senco, "submitted")
    body = await get_costs(api, school)
    assert body["items"][1]["claim_id"] == claim["id"]
    assert figures(body)["Brown"] == ("8480.00", "6000.00", "2480.00", "submitted", "2480.00", None)
    assert (body["totals"]["top_up_claimed"], body["totals"]["top_up_approved"]) == (
        "2480.00",
        "0.00",
    )
    assert (body["notional_sen_budget"], body["budget_remaining"]) == ("45000.00", "38528.50")

    officer = api.headers("la_officer", la_code="331")
    await claim_move(api, claim, officer, "partially_approved", decided_amount="2000.00")
    await api.http.put(
        f"/v1/schools/{school['id']}/notional-sen-budget/{PERIOD}",
        json={"amount": "5000"},
        headers=senco,
    )
    body = await get_costs(api, school, headers=api.admin())
    assert figures(body)["Brown"] == (
        "8480.00",
        "6000.00",
        "2480.00",
        "partially_approved",
        "2480.00",
        "2000.00",
    )
    assert body["totals"]["top_up_approved"] == "2000.00"
    # Overspent: the school funds more than its notional budget.
    assert (body["notional_sen_budget"], body["budget_remaining"]) == ("5000.00", "-1471.50")

    # The period's own threshold applies.
    threshold = await api.http.put(
        f"/v1/funding-thresholds/{PERIOD}", json={"amount": "8000.00"}, headers=api.admin()
    )
    assert threshold.status_code == 200
    body = await get_costs(api, school)
    assert body["threshold"] == "8000.00"
    assert figures(body)["Brown"][:3] == ("8480.00", "8000.00", "480.00")
    assert body["totals"]["school_funds"] == "8471.50"

    audited = await db.fetch(
        "select pupil_id from audit_entries where resource = 'provision_costs'"
    )
    # Four reads of two pupils each.
    assert sorted(str(row["pupil_id"]) for row in audited) == sorted([cheap["id"], dear["id"]] * 4)


async def test_which_pupils_count_in_a_period(api, db):
    school = await api.create_school()
    cycles = Cycles(api, school)
    senco = api.senco(school)

    # E: the superseded plan's latest cycle that reached do still sets the cost.
    ehc = await api.create_pupil(school, last_name="Evans")
    plan = await cycles.open_plan(ehc)
    await cycles.complete(plan["current_cycle_id"])
    await issue_ehc_plan(api, school, ehc)
    # A plan still in assess costs nothing yet.
    assessing = await api.create_pupil(school, last_name="Ford")
    await cycles.open_plan(assessing)
    # Left today, after support during the period: counted. Left before it: not.
    left_now = await pupil_in_do(api, school, last_name="Grant")
    left_before = await pupil_in_do(api, school, last_name="Hill")
    for pupil, left_on in ((left_now, today_london()), (left_before, "2026-03-15")):
        response = await api.http.patch(
            f"/v1/pupils/{pupil['id']}", json={"left_on": str(left_on)}, headers=senco
        )
        assert response.status_code == 200, response.text
    # A plan closed on the last day of the previous year is not active in this one.
    earlier = await api.create_pupil(school, last_name="Irwin")
    old_plan = await open_plan(api, school, earlier, opened_on="2025-05-01")
    await close_plan(api, school, old_plan)
    await db.execute(
        "update support_plans set closed_on = '2026-04-01' where id = $1", old_plan["id"]
    )

    body = await get_costs(api, school, period="2026-27")
    assert {i["last_name"]: i["sen_status"] for i in body["items"]} == {
        "Evans": "E",
        "Ford": "K",
        "Grant": "N",
    }
    assert figures(body) == {
        "Evans": ("471.50", "471.50", "0.00", None, None, None),
        "Ford": ("0.00", "0.00", "0.00", None, None, None),
        "Grant": ("471.50", "471.50", "0.00", None, None, None),
    }
    assert body["totals"]["annual_provision_cost"] == "943.00"

    # The year before: only the early plan was active, and the E pupil (E whatever the year).
    previous = await get_costs(api, school, period="2025-26")
    assert [i["last_name"] for i in previous["items"]] == ["Evans", "Irwin"]
    assert previous["totals"]["annual_provision_cost"] == "471.50"
    # A later year: the E pupil and the plan still open.
    later = await get_costs(api, school, period="2030-31")
    assert [i["last_name"] for i in later["items"]] == ["Evans", "Ford"]


async def test_who_may_read_costs_and_bad_periods(api):
    school = await api.create_school(la_code="330")
    other_school = await api.create_school()
    pupil = await api.create_pupil(school)
    url = costs_url(school)
    params = {"period": PERIOD}
    for headers in (api.senco(school), api.admin()):
        assert (await api.http.get(url, params=params, headers=headers)).status_code == 200
    for headers in (
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.parent(pupil),
        api.headers("la_officer", la_code="330"),
    ):
        assert_problem(await api.http.get(url, params=params, headers=headers), 403, "forbidden")
    assert_problem(
        await api.http.get(url, params=params, headers=api.senco(other_school)), 404, "not_found"
    )
    for bad in ({}, {"period": "2026-28"}, {"period": "2026"}, {"period": "26-27"}):
        response = await api.http.get(url, params=bad, headers=api.senco(school))
        body = assert_problem(response, 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["period"]


async def test_cost_statements_do_not_grow_with_pupils(api, app):
    school = await api.create_school()
    senco = api.senco(school)
    counts = []
    for provisions in (None, [EXPENSIVE], [EXPENSIVE]):
        pupil = await pupil_in_do(api, school, provisions, home_la_code="331")
        if provisions:
            claim = (
                await api.http.post(
                    f"/v1/pupils/{pupil['id']}/funding-claims",
                    json={"period": PERIOD},
                    headers=senco,
                )
            ).json()
            await claim_move(api, claim, senco, "submitted")
        with counted_statements(app) as statements:
            body = await get_costs(api, school)
        counts.append(len(statements))
    assert len(body["items"]) == 3
    # The school in scope, the threshold, the budget, the costs, one INSERT of audit entries.
    assert counts == [5] * 3
