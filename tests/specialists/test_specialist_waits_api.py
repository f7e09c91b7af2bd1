"""Waiting-time reports for an LA and a school: statistics on known data, the small-number
rule, which referrals each report counts, and who may read them."""

import json
import uuid
from datetime import timedelta

from app.core.clock import today_london
from app.models.enums import SpecialistService
from tests.core.test_errors import assert_problem
from tests.local_offer.helpers import days_ago, officer, publish, refer

SERVICES = [s.value for s in SpecialistService]


async def la_report(api, la_code, headers=None, **params):
    return await api.http.get(
        f"/v1/local-authorities/{la_code}/specialist-waits",
        params=params,
        headers=headers or officer(api, la_code),
    )


async def school_report(api, school, headers=None, **params):
    return await api.http.get(
        f"/v1/schools/{school['id']}/specialist-waits",
        params=params,
        headers=headers or api.senco(school),
    )


def by_service(report):
    assert [row["service"] for row in report["services"]] == SERVICES
    return {row["service"]: row for row in report["services"]}


def figures(row):
    return {
        key: row[key]
        for key in (
            "referrals",
            "answered",
            "still_waiting",
            "median_waiting_days",
            "p90_waiting_days",
            "exceeded_target",
        )
    }


async def test_the_la_report_on_known_data_uses_nearest_rank_percentiles(api):
    school = await api.create_school(la_code="330")
    pupils = [await api.create_pupil(school, home_la_code="330") for _ in range(3)]
    eps = await publish(api, "330", target_days=42)
    # Ten answered referrals; linear interpolation would give a median of 23 and a 90th
    # percentile of 58.5, nearest rank gives 20 and 55.
    waits = [90, 3, 41, 7, 55, 10, 26, 15, 30, 20]
    for index, wait in enumerate(waits):
        requested = 150 - index
        await refer(
            api,
            school,
            pupils[index % 3],
            requested=requested,
            answered=requested - wait,
            local_offer=eps,
        )
    await refer(api, school, pupils[0], requested=50, local_offer=eps)  # waiting, over target
    await refer(api, school, pupils[1], requested=10, local_offer=eps)  # waiting, within it
    # Outside the range, or never requested: not counted.
    await refer(api, school, pupils[2], requested=170, answered=100, local_offer=eps)
    await refer(api, school, pupils[2], requested=2, local_offer=eps)
    await refer(api, school, pupils[2], requested=None, local_offer=eps)

    response = await la_report(api, "330", **{"from": days_ago(160), "to": days_ago(5)})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["la_code"] == "330"
    assert (report["from"], report["to"]) == (days_ago(160), days_ago(5))
    assert report["as_of"] == today_london().isoformat()
    assert report["small_numbers_threshold"] == 5
    rows = by_service(report)
    expected = {
        "referrals": 12,
        "answered": 10,
        "still_waiting": 2,
        "median_waiting_days": 20,
        "p90_waiting_days": 55,
        # 55 and 90 answered late; 50 days and still waiting.
        "exceeded_target": 3,
    }
    assert figures(rows["educational_psychologist"]) == expected
    assert rows["educational_psychologist"]["without_target"] == 0
    [entry] = rows["educational_psychologist"]["local_offer_services"]
    assert figures(entry) == expected
    assert (entry["local_offer_service_id"], entry["la_code"], entry["name"]) == (
        eps["id"],
        "330",
        eps["name"],
    )
    assert entry["target_days"] == 42
    for service in SERVICES[1:]:
        assert figures(rows[service]) == {
            "referrals": 0,
            "answered": 0,
            "still_waiting": 0,
            "median_waiting_days": None,
            "p90_waiting_days": None,
            "exceeded_target": 0,
        }
        assert rows[service]["local_offer_services"] == []

    # Both ends of the range are inclusive: a single day holds the referral made on it.
    one_day = await la_report(api, "330", **{"from": days_ago(150), "to": days_ago(150)})
    assert one_day.json()["services"][0]["referrals"] == 1


async def test_an_odd_count_and_a_second_target(api):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="330")
    salt = await publish(
        api, "330", name="SALT", service="speech_and_language_therapy", target_days=8
    )
    for index, wait in enumerate([5, 1, 9, 3, 7, 11, 13]):
        await refer(
            api,
            school,
            pupil,
            service="speech_and_language_therapy",
            requested=60 - index,
            answered=60 - index - wait,
            local_offer=salt,
        )
    row = by_service((await la_report(api, "330")).json())["speech_and_language_therapy"]
    # Sorted 1 3 5 7 9 11 13: ranks ceil(3.5) = 4 and ceil(6.3) = 7.
    assert (row["median_waiting_days"], row["p90_waiting_days"]) == (7, 13)
    assert row["exceeded_target"] == 3  # 9, 11 and 13 days against a target of 8


async def test_fewer_than_five_referrals_show_counts_but_no_percentiles(api):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="330")
    ot = await publish(api, "330", name="OT", service="occupational_therapy", target_days=10)
    small_ot = await publish(
        api, "330", name="OT (sensory)", service="occupational_therapy", target_days=10
    )
    for wait in (4, 8, 12, 16):
        await refer(
            api,
            school,
            pupil,
            service="occupational_therapy",
            requested=40,
            answered=40 - wait,
            local_offer=ot,
        )
    row = by_service((await la_report(api, "330")).json())["occupational_therapy"]
    assert figures(row) == {
        "referrals": 4,
        "answered": 4,
        "still_waiting": 0,
        "median_waiting_days": None,
        "p90_waiting_days": None,
        "exceeded_target": 2,
    }

    # A fifth referral, still waiting: the group reaches five, and the percentiles are over
    # the four answered (ranks 2 and 4).
    await refer(
        api, school, pupil, service="occupational_therapy", requested=3, local_offer=small_ot
    )
    response = await school_report(api, school)
    row = by_service(response.json())["occupational_therapy"]
    assert figures(row) == {
        "referrals": 5,
        "answered": 4,
        "still_waiting": 1,
        "median_waiting_days": 8,
        "p90_waiting_days": 16,
        "exceeded_target": 2,
    }
    # Each Local Offer entry is its own group, under the same rule.
    entries = {e["name"]: e for e in row["local_offer_services"]}
    assert [e["name"] for e in row["local_offer_services"]] == ["OT", "OT (sensory)"]
    assert figures(entries["OT"])["median_waiting_days"] is None
    assert figures(entries["OT (sensory)"]) == {
        "referrals": 1,
        "answered": 0,
        "still_waiting": 1,
        "median_waiting_days": None,
        "p90_waiting_days": None,
        "exceeded_target": 0,
    }


async def test_which_referrals_each_report_counts(api, db):
    school_330 = await api.create_school(la_code="330")
    school_331 = await api.create_school(la_code="331")
    eps_330 = await publish(api, "330", target_days=42)
    eps_331 = await publish(api, "331", name="EPS North", target_days=20)
    # Lives in 330, school in 331, names no service: 330's (its home LA).
    lives_330 = await api.create_pupil(school_331, home_la_code="330")
    await refer(api, school_331, lives_330, requested=30, answered=10)
    # Lives in 331, referred to the 330 service of its school: 330's, not 331's.
    lives_331 = await api.create_pupil(school_330, home_la_code="331")
    await refer(api, school_330, lives_331, requested=60, answered=10, local_offer=eps_330)
    # Lives in 330, referred to the 331 service of its school: 331's, not 330's.
    crosses = await api.create_pupil(school_331, home_la_code="330")
    await refer(api, school_331, crosses, requested=40, answered=15, local_offer=eps_331)
    # Lives in 332 and names no service: neither LA's.
    lives_332 = await api.create_pupil(school_330, home_la_code="332")
    await refer(api, school_330, lives_332, requested=20)
    # Lives in 330, with an id stored before the Local Offer existed: an unlinked referral.
    legacy_pupil = await api.create_pupil(school_330, home_la_code="330")
    legacy = await refer(api, school_330, legacy_pupil, requested=12)
    await db.execute(
        "update specialist_involvements set local_offer_service_id = $1 where id = $2",
        uuid.uuid4(),
        uuid.UUID(legacy["id"]),
    )

    rows_330 = by_service((await la_report(api, "330")).json())
    ep = rows_330["educational_psychologist"]
    assert (ep["referrals"], ep["answered"], ep["still_waiting"]) == (3, 2, 1)
    assert ep["without_target"] == 2
    assert ep["exceeded_target"] == 1  # 50 days against 42; the unlinked have no target
    assert [(e["local_offer_service_id"], e["referrals"]) for e in ep["local_offer_services"]] == [
        (eps_330["id"], 1)
    ]

    ep_331 = by_service((await la_report(api, "331")).json())["educational_psychologist"]
    assert (ep_331["referrals"], ep_331["without_target"], ep_331["exceeded_target"]) == (
        1,
        0,
        1,
    )
    assert [e["local_offer_service_id"] for e in ep_331["local_offer_services"]] == [eps_331["id"]]
    empty = by_service((await la_report(api, "333")).json())
    assert sum(row["referrals"] for row in empty.values()) == 0

    # A school's report counts its own pupils' referrals, whichever LA they went to.
    at_330 = by_service((await school_report(api, school_330)).json())["educational_psychologist"]
    assert (at_330["referrals"], at_330["without_target"]) == (3, 2)
    at_331 = by_service((await school_report(api, school_331)).json())["educational_psychologist"]
    assert (at_331["referrals"], at_331["without_target"]) == (2, 1)
    assert [e["la_code"] for e in at_331["local_offer_services"]] == ["331"]


async def test_the_reports_hold_no_pupil_data_and_are_not_audited(api, db):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="330")
    eps = await publish(api, "330")
    involvement = await refer(api, school, pupil, requested=20, answered=5, local_offer=eps)
    audited = await db.fetchval("select count(*) from audit_entries")
    for response in (await la_report(api, "330"), await school_report(api, school)):
        assert response.status_code == 200, response.text
        text = json.dumps(response.json())
        for secret in (pupil["id"], pupil["upn"], pupil["last_name"], involvement["id"]):
            assert secret not in text
    assert await db.fetchval("select count(*) from audit_entries") == audited


async def test_who_may_read_the_la_report(api):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="330")
    for headers in (officer(api, "330"), api.admin()):
        response = await la_report(api, "330", headers)
        assert response.status_code == 200, response.text
    # Everyone else is outside the LA's scope, even those who can see its schools and pupils.
    for headers in (
        officer(api, "331"),
        api.senco(school),
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.parent(pupil),
    ):
        assert_problem(await la_report(api, "330", headers), 404, "not_found")
    assert_problem(
        await api.http.get("/v1/local-authorities/330/specialist-waits"), 401, "unauthorized"
    )


async def test_who_may_read_the_school_report(api):
    school = await api.create_school(la_code="330")
    other = await api.create_school(la_code="331")
    pupil = await api.create_pupil(school, home_la_code="330")
    for headers in (api.senco(school), api.admin()):
        response = await school_report(api, school, headers)
        assert response.status_code == 200, response.text
        assert response.json()["school_id"] == school["id"]
    # In scope of the school, but not readers of the report.
    for headers in (
        api.staff("teacher", school),
        api.staff("mis_integration", school),
        api.parent(pupil),
        officer(api, "330"),
    ):
        assert_problem(await school_report(api, school, headers), 403, "forbidden")
    for headers in (api.senco(other), officer(api, "331")):
        assert_problem(await school_report(api, school, headers), 404, "not_found")
    assert_problem(
        await school_report(api, {"id": str(uuid.uuid4())}, api.admin()), 404, "not_found"
    )


async def test_ranges_default_to_a_year_and_bad_ranges_are_refused(api):
    school = await api.create_school(la_code="330")
    today = today_london()
    default = (await la_report(api, "330")).json()
    assert (default["from"], default["to"]) == (
        (today - timedelta(days=365)).isoformat(),
        today.isoformat(),
    )
    from_only = (await school_report(api, school, **{"from": days_ago(30)})).json()
    assert (from_only["from"], from_only["to"]) == (days_ago(30), today.isoformat())

    backwards = {"from": days_ago(5), "to": days_ago(6)}
    for response in (
        await la_report(api, "330", **backwards),
        await school_report(api, school, **backwards),
    ):
        problem = assert_problem(response, 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == ["from"]
    for params in ({"from": "2026-02-30"}, {"to": "yesterday"}, {"from": "01/02/2026"}):
        assert_problem(await la_report(api, "330", **params), 422, "validation_error")
        assert_problem(await school_report(api, school, **params), 422, "validation_error")
    assert_problem(
        await api.http.get("/v1/local-authorities/33/specialist-waits", headers=api.admin()),
        422,
        "validation_error",
    )


async def test_numbers_are_not_taken_as_unix_times(api):
    """`from`/`to` are `YYYY-MM-DD` (SPEC.md §2); a number would otherwise be read as a Unix time
    (`to=0` as 1970-01-01) and quietly answer for the wrong range."""
    school = await api.create_school(la_code="330")
    for value in ("1700000000", "0", "-1", "20260101", "1700000000.5"):
        for name in ("from", "to"):
            for response in (
                await la_report(api, "330", **{name: value}),
                await school_report(api, school, **{name: value}),
            ):
                problem = assert_problem(response, 422, "validation_error")
                assert [e["field"] for e in problem["errors"]] == [name]
    for response in (
        await la_report(api, "330", **{"from": "2026-01-01", "to": "2026-01-31"}),
        await school_report(api, school, **{"from": "2026-01-01", "to": "2026-01-31"}),
    ):
        assert response.status_code == 200, response.text
        assert (response.json()["from"], response.json()["to"]) == ("2026-01-01", "2026-01-31")


async def test_ranges_at_the_ends_of_the_calendar_are_answered(api):
    earliest = await la_report(api, "330", to="0001-01-01")
    assert earliest.status_code == 200, earliest.text
    assert (earliest.json()["from"], earliest.json()["to"]) == ("0001-01-01", "0001-01-01")
    widest = await la_report(api, "330", **{"from": "0001-01-01", "to": "9999-12-31"})
    assert widest.status_code == 200, widest.text
