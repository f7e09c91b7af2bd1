"""Date parameters of the reviews lists are `YYYY-MM-DD` (SPEC.md §2): a number is not taken as
a Unix time (`to=0` would otherwise quietly mean 1970-01-01) but refused, naming the field."""

import pytest

from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles, days_ago, days_from_today, today

NOT_DATES = ["1700000000", "0", "-1", "20260101", "1700000000.5"]


async def school_reviews(api, school, headers, **params):
    return await api.http.get(f"/v1/schools/{school['id']}/reviews", params=params, headers=headers)


async def reviews_due(api, school, headers, **params):
    return await api.http.get(
        f"/v1/schools/{school['id']}/reviews-due", params=params, headers=headers
    )


def refused_fields(response):
    problem = assert_problem(response, 422, "validation_error")
    return [error["field"] for error in problem["errors"]]


async def test_school_reviews_filter_by_iso_dates(api):
    school = await api.create_school()
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(await api.create_pupil(school))
    await cycles.complete(plan["current_cycle_id"])  # held today

    def cycle_ids(response):
        assert response.status_code == 200, response.text
        return [item["cycle_id"] for item in response.json()["items"]]

    senco = cycles.senco
    held = [plan["current_cycle_id"]]
    assert cycle_ids(await school_reviews(api, school, senco, **{"from": today()})) == held
    assert cycle_ids(await school_reviews(api, school, senco, to=today())) == held
    assert cycle_ids(await school_reviews(api, school, senco, to=days_ago(1))) == []
    assert cycle_ids(await school_reviews(api, school, senco, **{"from": "2026-01-01"})) == held
    window = {"from": "2026-01-01", "to": "2026-01-31"}
    assert (await school_reviews(api, school, senco, **window)).status_code == 200


@pytest.mark.parametrize("value", NOT_DATES)
async def test_school_reviews_refuse_numbers_as_dates(api, value):
    school = await api.create_school()
    senco = api.senco(school)
    assert refused_fields(await school_reviews(api, school, senco, **{"from": value})) == ["from"]
    assert refused_fields(await school_reviews(api, school, senco, to=value)) == ["to"]
    both = await school_reviews(api, school, senco, **{"from": value, "to": value})
    assert sorted(refused_fields(both)) == ["from", "to"]


async def test_reviews_due_take_an_iso_before_and_refuse_a_number(api):
    school = await api.create_school()
    cycles = Cycles(api, school)
    pupil = await api.create_pupil(school)
    plan = await cycles.open_plan(pupil)
    await cycles.to_do(plan["current_cycle_id"])  # review date tomorrow
    senco = cycles.senco

    def pupil_ids(response):
        assert response.status_code == 200, response.text
        return [item["pupil_id"] for item in response.json()["items"]]

    assert pupil_ids(await reviews_due(api, school, senco, before=days_from_today(2))) == [
        pupil["id"]
    ]
    assert pupil_ids(await reviews_due(api, school, senco, before=today())) == []
    assert (await reviews_due(api, school, senco, before="2026-01-01")).status_code == 200
    for value in NOT_DATES:
        assert refused_fields(await reviews_due(api, school, senco, before=value)) == ["before"]
