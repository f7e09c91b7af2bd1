"""The notional SEN budget: the school's SENCO sets it, versioned, If-Match honoured."""

from tests.core.test_errors import assert_problem


def budget_url(school, period="2026-27"):
    return f"/v1/schools/{school['id']}/notional-sen-budget/{period}"


async def test_budget_is_set_read_and_versioned(api):
    school = await api.create_school()
    senco = api.senco(school)
    url = budget_url(school)
    assert_problem(await api.http.get(url, headers=senco), 404, "not_found")
    # Nothing to match before the first PUT.
    early = await api.http.put(url, json={"amount": "1.00"}, headers={**senco, "If-Match": '"1"'})
    assert_problem(early, 412, "stale_version")

    first = await api.http.put(url, json={"amount": "45000.00"}, headers=senco)
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"1"'
    body = first.json()
    assert (body["school_id"], body["period"], body["amount"], body["version"]) == (
        school["id"],
        "2026-27",
        "45000.00",
        1,
    )
    read = await api.http.get(url, headers=api.admin())
    assert (read.status_code, read.headers["etag"], read.json()) == (200, '"1"', body)

    second = await api.http.put(
        url, json={"amount": "47250.5"}, headers={**senco, "If-Match": '"1"'}
    )
    assert second.status_code == 200, second.text
    assert (second.headers["etag"], second.json()["amount"]) == ('"2"', "47250.50")
    stale = await api.http.put(url, json={"amount": "1.00"}, headers={**senco, "If-Match": '"1"'})
    assert_problem(stale, 412, "stale_version")
    blind = await api.http.put(url, json={"amount": "0"}, headers=senco)
    assert (blind.headers["etag"], blind.json()["amount"]) == ('"3"', "0.00")

    # Another year is another budget.
    next_year = await api.http.get(budget_url(school, "2027-28"), headers=senco)
    assert_problem(next_year, 404, "not_found")
    assert (await api.http.get(url, headers=senco)).json()["amount"] == "0.00"


async def test_bad_amounts_and_periods(api):
    school = await api.create_school()
    senco = api.senco(school)
    for body in (
        {"amount": 45000},
        {"amount": 45000.5},
        {"amount": "45000.001"},
        {"amount": "-1.00"},
        {"amount": "1e4"},
        {"amount": "£45,000"},
        {"amount": None},
        {},
        {"amount": "1.00", "version": 3},
    ):
        response = await api.http.put(budget_url(school), json=body, headers=senco)
        assert_problem(response, 422, "validation_error")
    for period in ("2026-28", "2026", "26-27"):
        response = await api.http.put(
            budget_url(school, period), json={"amount": "1.00"}, headers=senco
        )
        assert_problem(response, 422, "validation_error")
        assert_problem(
            await api.http.get(budget_url(school, period), headers=senco), 422, "validation_error"
        )
    assert_problem(await api.http.get(budget_url(school), headers=senco), 404, "not_found")


async def test_who_may_set_and_read_the_budget(api):
    school = await api.create_school(la_code="330")
    other_school = await api.create_school()
    pupil = await api.create_pupil(school)
    url = budget_url(school)
    body = {"amount": "30000.00"}
    assert (await api.http.put(url, json=body, headers=api.senco(school))).status_code == 200
    for headers in (
        api.admin(),
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.parent(pupil),
        api.headers("la_officer", la_code="330"),
    ):
        assert_problem(await api.http.put(url, json=body, headers=headers), 403, "forbidden")
    for headers in (
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.parent(pupil),
    ):
        assert_problem(await api.http.get(url, headers=headers), 403, "forbidden")
    other_senco = api.senco(other_school)
    assert_problem(await api.http.put(url, json=body, headers=other_senco), 404, "not_found")
    assert_problem(await api.http.get(url, headers=other_senco), 404, "not_found")
    assert (await api.http.get(url, headers=api.senco(school))).json()["version"] == 1
