"""Concurrent requests on one cycle or one pupil: the database serialises them, one wins."""

import asyncio
import uuid
from typing import Any

import pytest

from tests.core.test_errors import assert_problem
from tests.cycles.helpers import EARLY, Ctx, full_review, in_assess, in_do, new_ctx

RACERS = 12


@pytest.fixture
async def ctx(api, db) -> Ctx:
    return await new_ctx(api, db)


async def race(ctx: Ctx, to: str, headers: dict[str, str], departures: list[Any]) -> list[Any]:
    url = f"/v1/cycles/{ctx.cycle_id}/transitions"
    body = {"to": to, "departures": departures}
    return list(
        await asyncio.gather(
            *(ctx.api.http.post(url, json=body, headers=headers) for _ in range(RACERS))
        )
    )


async def transitioned_events(ctx: Ctx, cycle_id: str) -> list[Any]:
    rows = await ctx.db.fetch(
        "select data from events where type = 'cycle.transitioned' and resource_id = $1",
        uuid.UUID(cycle_id),
    )
    return list(rows)


async def test_simultaneous_transitions_move_the_cycle_exactly_once(ctx):
    await in_assess(ctx)
    before = await ctx.get()
    responses = await race(ctx, "plan", ctx.cycles.senco, [])
    winners = [r for r in responses if r.status_code == 200]
    losers = [r for r in responses if r.status_code != 200]
    assert len(winners) == 1, [r.status_code for r in responses]
    for response in losers:
        # The stage has moved on: "plan" is no longer the next stage.
        body = assert_problem(response, 409, "invalid_transition")
        assert [v["rule"] for v in body["violations"]] == ["cycle.next_stage"]
    after = await ctx.get()
    assert after["stage"] == "plan"
    assert after["version"] == before["version"] + 1
    assert len(await transitioned_events(ctx, ctx.cycle_id)) == 1


async def test_simultaneous_completions_apply_the_decision_once(ctx):
    await in_do(ctx)
    cycle = await ctx.advance("review", [EARLY])
    await ctx.put("review", full_review(cycle, decision="request_ehc_assessment"))
    responses = await race(ctx, "complete", ctx.cycles.senco, [])
    assert sorted(r.status_code for r in responses) == [200] + [409] * (RACERS - 1)
    listed = await ctx.api.http.get(
        f"/v1/support-plans/{ctx.plan['id']}/cycles", headers=ctx.cycles.senco
    )
    assert [(c["number"], c["stage"]) for c in listed.json()["items"]] == [
        (1, "complete"),
        (2, "assess"),
    ]
    assert await ctx.db.fetchval("select count(*) from ehc_requests") == 1
    # assess->plan, plan->do, do->review, and one review->complete.
    assert len(await transitioned_events(ctx, ctx.cycle_id)) == 4
    completed = await ctx.db.fetchval(
        "select count(*) from events where type = 'review.completed' and resource_id = $1",
        uuid.UUID(ctx.cycle_id),
    )
    assert completed == 1


async def test_simultaneous_transitions_with_the_same_if_match_one_wins_the_rest_412(ctx):
    await in_assess(ctx)
    version = (await ctx.get())["version"]
    headers = {**ctx.cycles.senco, "If-Match": f'"{version}"'}
    responses = await race(ctx, "plan", headers, [])
    assert sorted(r.status_code for r in responses) == [200] + [412] * (RACERS - 1)
    for response in responses:
        if response.status_code == 412:
            assert_problem(response, 412, "stale_version")
    assert (await ctx.get())["stage"] == "plan"
    assert len(await transitioned_events(ctx, ctx.cycle_id)) == 1


async def test_simultaneous_departures_are_stored_once(ctx):
    await in_do(ctx)
    responses = await race(ctx, "review", ctx.cycles.senco, [EARLY])
    assert sorted(r.status_code for r in responses) == [200] + [409] * (RACERS - 1)
    cycle = await ctx.get()
    assert [d["rule"] for d in cycle["departures"]] == ["review.on_agreed_date"]
    assert len(await transitioned_events(ctx, ctx.cycle_id)) == 3


@pytest.mark.parametrize("openers", [2, 8])
async def test_simultaneous_plan_openings_give_one_plan(ctx, api, openers):
    pupil = await api.create_pupil(ctx.school)
    url = f"/v1/pupils/{pupil['id']}/support-plans"
    responses = await asyncio.gather(
        *(api.http.post(url, json={}, headers=ctx.cycles.senco) for _ in range(openers))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * (openers - 1)
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "active_plan_exists")
    plans = await ctx.db.fetchval(
        "select count(*) from support_plans where pupil_id = $1", uuid.UUID(pupil["id"])
    )
    assert plans == 1
    read = await api.http.get(f"/v1/pupils/{pupil['id']}", headers=ctx.cycles.senco)
    assert read.json()["sen_status"] == "K"
