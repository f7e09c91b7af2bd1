"""Top-up funding thresholds and claims through the API (SPEC.md §3.6)."""

import uuid

import pytest

from app.core.errors import RuleViolation
from app.funding import repository
from app.models import FundingClaim
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles, full_plan

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


async def pupil_in_do(api, school, provisions):
    pupil = await api.create_pupil(school, home_la_code="331")
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    await cycles.to_do(plan["current_cycle_id"], provisions=provisions)
    return pupil


async def claim(api, pupil, headers, period="2026-27"):
    response = await api.http.post(
        f"/v1/pupils/{pupil['id']}/funding-claims", json={"period": period}, headers=headers
    )
    return response


async def move(api, claim_body, headers, to, **body):
    return await api.http.post(
        f"/v1/funding-claims/{claim_body['id']}/transitions",
        json={"to": to, **body},
        headers=headers,
    )


async def test_claim_submitted_and_part_approved_by_the_home_la(api, db):
    school = await api.create_school()
    pupil = await pupil_in_do(api, school, [EXPENSIVE])
    senco = api.senco(school)
    draft = (await claim(api, pupil, senco)).json()
    assert draft["status"] == "draft" and draft["requested_amount"] is None
    submitted = await move(api, draft, senco, "submitted")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert (
        body["threshold"],
        body["provision_cost"],
        body["requested_amount"],
        body["la_code"],
    ) == ("6000.00", "8480.00", "2480.00", "331")
    officer = api.headers("la_officer", la_code="331")
    officer_sub = api.last_sub
    too_much = await move(api, draft, officer, "partially_approved", decided_amount="2480.00")
    assert [v["rule"] for v in assert_problem(too_much, 409, "rule_violation")["violations"]] == [
        "claim.decided_amount"
    ]
    as_number = await move(api, draft, officer, "partially_approved", decided_amount=2000)
    assert_problem(as_number, 422, "validation_error")
    three_decimals = await move(
        api, draft, officer, "partially_approved", decided_amount="2000.001"
    )
    assert_problem(three_decimals, 422, "validation_error")
    negative = await move(api, draft, officer, "partially_approved", decided_amount="-1.00")
    assert_problem(negative, 422, "validation_error")
    assert_problem(
        await move(api, draft, api.headers("la_officer", la_code="330"), "approved"),
        404,
        "not_found",
    )
    decided = await move(
        api, draft, officer, "partially_approved", decided_amount="2000.00", note="Band 3"
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["decided_amount"], decided.json()["decided_by"]) == (
        "2000.00",
        officer_sub,
    )
    assert_problem(await move(api, draft, officer, "approved"), 409, "invalid_transition")


async def test_submission_rules_and_one_live_claim_per_period(api):
    school = await api.create_school()
    cheap = await pupil_in_do(api, school, full_plan()["provisions"])
    senco = api.senco(school)
    draft = (await claim(api, cheap, senco)).json()
    refused = await move(api, draft, senco, "submitted")
    assert [v["rule"] for v in assert_problem(refused, 409, "rule_violation")["violations"]] == [
        "claim.exceeds_threshold"
    ]

    pupil = await pupil_in_do(api, school, [EXPENSIVE])
    first = (await claim(api, pupil, senco)).json()
    second = (await claim(api, pupil, senco)).json()
    assert (await move(api, first, senco, "submitted")).status_code == 200
    blocked = await move(api, second, senco, "submitted")
    assert [v["rule"] for v in assert_problem(blocked, 409, "rule_violation")["violations"]] == [
        "claim.single_per_period"
    ]
    other_year = (await claim(api, pupil, senco, period="2027-28")).json()
    assert (await move(api, other_year, senco, "submitted")).status_code == 200

    unsupported = await api.create_pupil(school)
    no_plan = (await claim(api, unsupported, senco)).json()
    body = assert_problem(await move(api, no_plan, senco, "submitted"), 409, "rule_violation")
    assert [v["rule"] for v in body["violations"]] == [
        "claim.exceeds_threshold",
        "claim.support_in_place",
    ]


async def test_thresholds_and_bad_periods(api):
    school = await api.create_school()
    listed = (await api.http.get("/v1/funding-thresholds", headers=api.senco(school))).json()
    assert listed == {"items": [], "default_amount": "6000.00"}
    assert_problem(
        await api.http.put(
            "/v1/funding-thresholds/2026-27", json={"amount": "7000.00"}, headers=api.senco(school)
        ),
        403,
        "forbidden",
    )
    put = await api.http.put(
        "/v1/funding-thresholds/2026-27", json={"amount": "7000"}, headers=api.admin()
    )
    assert {k: put.json()[k] for k in ("period", "amount", "version")} == {
        "period": "2026-27",
        "amount": "7000.00",
        "version": 1,
    }
    for period in ("2026-28", "2026", "26-27", "2026-2027"):
        response = await api.http.put(
            f"/v1/funding-thresholds/{period}", json={"amount": "1.00"}, headers=api.admin()
        )
        assert_problem(response, 422, "validation_error")
        pupil = await api.create_pupil(school)
        assert_problem(
            await claim(api, pupil, api.senco(school), period=period), 422, "validation_error"
        )
    pupil = await pupil_in_do(api, school, [EXPENSIVE])
    draft = (await claim(api, pupil, api.senco(school))).json()
    submitted = (await move(api, draft, api.senco(school), "submitted")).json()
    assert (submitted["threshold"], submitted["requested_amount"]) == ("7000.00", "1480.00")
    assert_problem(await claim(api, pupil, api.staff("teacher", school)), 403, "forbidden")


async def test_threshold_put_honours_if_match_and_answers_its_version(api):
    url = "/v1/funding-thresholds/2027-28"
    admin = api.admin()
    # Before the first PUT there is no version to match.
    stale_first = await api.http.put(
        url, json={"amount": "6100.00"}, headers={**admin, "If-Match": '"1"'}
    )
    assert_problem(stale_first, 412, "stale_version")
    first = await api.http.put(url, json={"amount": "6100.00"}, headers=admin)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["version"], first.headers["etag"]) == (1, '"1"')
    assert body["created_at"] and body["updated_at"]
    # The review's attack: two PUTs with a version that never existed both answered 200.
    for _ in range(2):
        stale = await api.http.put(
            url, json={"amount": "9999.00"}, headers={**admin, "If-Match": '"999"'}
        )
        assert_problem(stale, 412, "stale_version")
    matched = await api.http.put(
        url, json={"amount": "6200.00"}, headers={**admin, "If-Match": '"1"'}
    )
    assert matched.status_code == 200, matched.text
    assert (matched.json()["amount"], matched.json()["version"]) == ("6200.00", 2)
    assert_problem(
        await api.http.put(url, json={"amount": "1.00"}, headers={**admin, "If-Match": '"1"'}),
        412,
        "stale_version",
    )
    listed = (await api.http.get("/v1/funding-thresholds", headers=admin)).json()["items"]
    assert [(t["period"], t["amount"], t["version"]) for t in listed] == [("2027-28", "6200.00", 2)]


async def test_the_database_refuses_a_second_live_claim_as_the_rule_does(api, app):
    """A second live claim that got past the rule check (two submissions racing) answers as
    claim.single_per_period, from the unique index, not as a 500."""
    school = await api.create_school()
    pupil = await pupil_in_do(api, school, [EXPENSIVE])
    senco = api.senco(school)
    first = (await claim(api, pupil, senco)).json()
    second = (await claim(api, pupil, senco)).json()
    assert (await move(api, first, senco, "submitted")).status_code == 200
    # Rolled back when the session closes.
    async with app.state.database.sessionmaker() as session:
        racing = await session.get_one(FundingClaim, uuid.UUID(second["id"]))
        racing.status = "submitted"
        with pytest.raises(RuleViolation) as refused:
            await repository.update_claim(session, racing)
        assert [item.rule for item in refused.value.violations] == ["claim.single_per_period"]
