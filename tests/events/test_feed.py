"""The change feed: scoped, ordered and gap-free under concurrent out-of-order commits."""

import asyncio
import random
import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.core.outbox import PendingEvent, emit, write_pending
from tests.core.test_errors import assert_problem


async def feed(api, headers, after=0, limit=50):
    response = await api.http.get(
        "/v1/events", params={"after": after, "limit": limit}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_pupil_changes_appear_in_order_with_their_keys(api):
    school = await api.create_school(la_code="330")
    pupil = await api.create_pupil(school, home_la_code="331")
    senco = api.senco(school)
    await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"year_group": "6", "pupil_premium": True}, headers=senco
    )
    page = await feed(api, senco)
    assert [e["type"] for e in page["items"]] == ["pupil.created", "pupil.updated"]
    created, updated = page["items"]
    assert created["resource"] == "pupil" and created["resource_id"] == pupil["id"]
    assert created["pupil_id"] == pupil["id"] and created["school_id"] == school["id"]
    assert created["la_code"] == "331"  # the pupil's home LA
    assert created["data"] == {"upn": pupil["upn"]}
    assert updated["data"] == {"upn": pupil["upn"], "changed": ["pupil_premium", "year_group"]}
    assert int(updated["seq"]) > int(created["seq"])
    assert page["next_cursor"] == updated["seq"]
    # Nothing personal beyond the key travels in the feed.
    assert pupil["last_name"] not in str(page)

    empty = await feed(api, senco, after=page["next_cursor"])
    assert empty == {"items": [], "next_cursor": None}


async def test_the_feed_is_scoped_to_the_caller(api):
    school = await api.create_school()
    other = await api.create_school()
    mine = await api.create_pupil(school)
    await api.create_pupil(school)
    await api.create_pupil(other)
    assert len((await feed(api, api.senco(school)))["items"]) == 2
    assert len((await feed(api, api.staff("mis_integration", school)))["items"]) == 2
    assert len((await feed(api, api.senco(other)))["items"]) == 1
    parent_view = (await feed(api, api.parent(mine)))["items"]
    assert [e["pupil_id"] for e in parent_view] == [mine["id"]]
    assert (await feed(api, api.headers("la_officer", la_code="801")))["items"] == []
    assert len((await feed(api, api.admin()))["items"]) == 3


async def test_refused_writes_leave_no_event(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"year_group": "99"}, headers=api.senco(school)
    )
    await api.http.post(
        f"/v1/schools/{school['id']}/pupils", json={"upn": pupil["upn"]}, headers=api.senco(school)
    )
    assert await db.fetchval("select count(*) from events") == 1


async def test_bad_feed_parameters(api):
    for params in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 1001}):
        response = await api.http.get("/v1/events", params=params, headers=api.admin())
        assert_problem(response, 422, "validation_error")


async def test_a_poller_sees_every_event_exactly_once_while_commits_land_out_of_order(
    api, database_url
):
    """Writers take their numbers and then wait a random time before committing, in random
    order; a poller pages through the feed all the while. A plain sequence would let it skip
    numbers held by slow transactions; the commit-ordered counter must not."""
    writers, events_per_writer = 60, 3
    engine = create_async_engine(database_url, pool_size=20, max_overflow=10)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    written: set[str] = set()
    done = asyncio.Event()
    rng = random.Random(20261128)

    async def writer(number: int) -> None:
        await asyncio.sleep(rng.random() * 0.05)
        async with sessions() as session, session.begin():
            for index in range(events_per_writer):
                marker = f"{number}-{index}"
                emit(
                    session,
                    PendingEvent(
                        type="test.written",
                        resource="test",
                        resource_id=uuid.uuid4(),
                        pupil_id=None,
                        school_id=None,
                        la_code=None,
                        data={"marker": marker},
                    ),
                )
            await write_pending(session)
            # The numbers are taken; the commit is delayed at random.
            await asyncio.sleep(rng.random() * 0.02)
        for index in range(events_per_writer):
            written.add(f"{number}-{index}")

    seen: list[tuple[int, str]] = []

    async def poller() -> None:
        after = 0
        headers = api.admin()
        while True:
            finished = done.is_set()
            page = await feed(api, headers, after=after, limit=7)
            for item in page["items"]:
                seen.append((int(item["seq"]), item["data"]["marker"]))
            if page["next_cursor"] is not None:
                after = int(page["next_cursor"])
            elif finished:
                return
            else:
                await asyncio.sleep(0.005)

    async def all_writers() -> None:
        await asyncio.gather(*(writer(n) for n in range(writers)))
        done.set()

    try:
        await asyncio.gather(all_writers(), poller())
    finally:
        await engine.dispose()

    numbers = [seq for seq, _ in seen]
    markers = [marker for _, marker in seen]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), "out of order or twice"
    assert len(markers) == len(set(markers)) == writers * events_per_writer
    assert set(markers) == written


async def test_drafts_never_reach_an_las_feed(api):
    """SPEC.md §4: a draft's events are withheld from LA feeds; its submission is the first
    event they see. The pupil is already followed (a submitted claim), so only the withholding
    rule, not the pupil scope, keeps the new drafts out."""
    from tests.funding.test_claims_api import EXPENSIVE, pupil_in_do

    school = await api.create_school()
    pupil = await pupil_in_do(api, school, [EXPENSIVE])  # home LA 331
    senco = api.senco(school)
    officer = api.headers("la_officer", la_code="331")

    async def la_types() -> list[str]:
        return [e["type"] for e in (await feed(api, officer, limit=200))["items"]]

    claim = await api.http.post(
        f"/v1/pupils/{pupil['id']}/funding-claims", json={"period": "2026-27"}, headers=senco
    )
    await api.http.post(
        f"/v1/funding-claims/{claim.json()['id']}/transitions",
        json={"to": "submitted"},
        headers=senco,
    )
    assert "funding_claim.submitted" in await la_types()
    assert "funding_claim.created" not in await la_types()

    # Drafts made while the LA already follows the pupil: none of their events reach it.
    second_claim = await api.http.post(
        f"/v1/pupils/{pupil['id']}/funding-claims", json={"period": "2027-28"}, headers=senco
    )
    assert second_claim.status_code == 201, second_claim.text
    request = await api.http.post(
        f"/v1/pupils/{pupil['id']}/ehc-requests", json={"reason": "x"}, headers=senco
    )
    withdrawn_draft = await api.http.post(
        f"/v1/pupils/{pupil['id']}/ehc-requests", json={"reason": "y"}, headers=senco
    )
    await api.http.post(
        f"/v1/ehc-requests/{withdrawn_draft.json()['id']}/transitions",
        json={"to": "withdrawn"},
        headers=senco,
    )
    school_types = [e["type"] for e in (await feed(api, senco, limit=200))["items"]]
    assert school_types.count("funding_claim.created") == 2
    assert school_types.count("ehc_request.created") == 2
    la_seen = await la_types()
    assert "funding_claim.created" not in la_seen
    assert not [t for t in la_seen if t.startswith("ehc_request.")]

    # Submission is the first event of the request the LA sees.
    await api.http.post(
        f"/v1/ehc-requests/{request.json()['id']}/transitions",
        json={
            "to": "submitted",
            "departures": [
                {"rule": "ehc.evidence_of_sen_support", "reason": "Assessed urgently on entry"}
            ],
        },
        headers=senco,
    )
    la_items = (await feed(api, officer, limit=200))["items"]
    request_events = [e for e in la_items if e["resource_id"] == request.json()["id"]]
    assert [(e["type"], e["la_code"]) for e in request_events] == [("ehc_request.submitted", "331")]


async def test_both_producers_of_ehc_request_created_emit_the_same_shape(api):
    """A request comes to be when asked for directly, or when a review decides to ask: one
    builder (`ehc_requests.service.add_draft_request`), one shape, whichever the path."""
    from tests.cycles.helpers import Cycles

    school = await api.create_school()
    asked, reviewed = await api.create_pupil(school), await api.create_pupil(school)
    senco = api.senco(school)
    direct = await api.http.post(
        f"/v1/pupils/{asked['id']}/ehc-requests", json={"reason": "x"}, headers=senco
    )
    assert direct.status_code == 201, direct.text
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(reviewed)
    await cycles.complete(plan["current_cycle_id"], decision="request_ehc_assessment")

    created = [
        e
        for e in (await feed(api, senco, limit=200))["items"]
        if e["type"] == "ehc_request.created"
    ]
    assert {e["pupil_id"] for e in created} == {asked["id"], reviewed["id"]}
    shapes = {
        (
            tuple(sorted(e)),
            tuple(sorted(e["data"])),
            e["resource"],
            e["la_code"],
            e["data"]["status"],
            e["data"]["requested_by"],
        )
        for e in created
    }
    assert shapes == {
        (
            (
                "data",
                "la_code",
                "occurred_at",
                "pupil_id",
                "resource",
                "resource_id",
                "school_id",
                "seq",
                "type",
            ),
            ("requested_by", "status", "upn"),
            "ehc_request",
            None,
            "draft",
            "school",
        )
    }
