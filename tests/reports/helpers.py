"""Building known data for the school reports through the API (and counting statements)."""

from tests.cycles.helpers import Cycles

# The funding tests' provisions: full_plan()'s phonics group costs 471.50 a year.
EXPENSIVE = {
    "kind": "support",
    "description": "1:1 teaching assistant support",
    "delivered_by": "teaching_assistant",
    "group_size": 1,
    "sessions_per_week": 10,
    "minutes_per_session": 60,
    "weeks_per_year": 38,
    "hourly_rate": "21.00",
    "fixed_annual_cost": "500.00",
}  # 21.00 x 1 x 10 x 38 + 500.00 = 8480.00

NO_EVIDENCE = {
    "rule": "ehc.evidence_of_sen_support",
    "reason": "Needs are severe and were evident on entry",
}


async def open_plan(api, school, pupil, opened_on=None):
    body = {"class_teacher": "Ms Patel", "areas_of_need": ["cognition_and_learning"]}
    if opened_on is not None:
        body["opened_on"] = opened_on
    response = await api.http.post(
        f"/v1/pupils/{pupil['id']}/support-plans", json=body, headers=api.senco(school)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def pupil_in_do(api, school, provisions=None, **pupil):
    """A pupil whose active plan's first cycle is in `do` (with the full plan's provisions,
    471.50 a year, unless others are given)."""
    created = await api.create_pupil(school, **pupil)
    plan = await Cycles(api, school).open_plan(created)
    extra = {} if provisions is None else {"provisions": provisions}
    await Cycles(api, school).to_do(plan["current_cycle_id"], **extra)
    return created


async def close_plan(api, school, plan):
    response = await api.http.post(
        f"/v1/support-plans/{plan['id']}/close",
        json={"close_reason": "Needs met by quality first teaching"},
        headers=api.senco(school),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def issue_ehc_plan(api, school, pupil):
    """A school's EHC request taken to plan_issued today: the pupil becomes E."""
    senco = api.senco(school)
    created = await api.http.post(
        f"/v1/pupils/{pupil['id']}/ehc-requests", json={"reason": "Gap widening"}, headers=senco
    )
    assert created.status_code == 201, created.text
    request = created.json()
    officer = api.headers("la_officer", la_code=pupil["home_la_code"])
    for to, headers, departures in (
        ("submitted", senco, [NO_EVIDENCE]),
        ("assessing", officer, []),
        ("plan_issued", officer, []),
    ):
        moved = await api.http.post(
            f"/v1/ehc-requests/{request['id']}/transitions",
            json={"to": to, "departures": departures},
            headers=headers,
        )
        assert moved.status_code == 200, moved.text
    return request
