"""Stage records through the API: stage locks, plan item ids, money, views, If-Match, roles."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.core.test_errors import assert_problem
from tests.cycles.helpers import (
    EARLY,
    FULL_ASSESSMENT,
    REASON,
    Ctx,
    full_plan,
    full_review,
    in_assess,
    in_do,
    in_plan,
    in_review,
    new_ctx,
    to_stage,
    today,
)

RECORD_STAGE = {"assessment": "assess", "plan": "plan", "review": "review"}


@pytest.fixture
async def ctx(api, db) -> Ctx:
    return await new_ctx(api, db)


def provision(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "support",
        "description": "Reading buddy",
        "delivered_by": "teaching_assistant",
        "group_size": 1,
        "sessions_per_week": None,
        "minutes_per_session": None,
        "weeks_per_year": None,
        "hourly_rate": None,
        "fixed_annual_cost": None,
    } | overrides


def record_body(record: str, cycle: dict[str, Any]) -> dict[str, Any]:
    if record == "assessment":
        return FULL_ASSESSMENT
    if record == "plan":
        return full_plan()
    return full_review(cycle)


async def delivery_log(ctx: Ctx, headers: dict[str, str] | None = None, **body: Any) -> Any:
    cycle = await ctx.get()
    provisions = cycle["plan"]["provisions"]
    payload = {
        "provision_id": provisions[0]["id"] if provisions else str(uuid.uuid4()),
        "delivered_on": today(),
        "minutes": 30,
    } | body
    return await ctx.api.http.post(
        f"/v1/cycles/{ctx.cycle_id}/delivery-logs",
        json=payload,
        headers=headers or ctx.cycles.senco,
    )


async def post_view(ctx: Ctx, author: str, headers: dict[str, str] | None = None) -> Any:
    return await ctx.api.http.post(
        f"/v1/cycles/{ctx.cycle_id}/views",
        json={"author": author, "text": f"Views of the {author}"},
        headers=headers or ctx.cycles.senco,
    )


# --- stage locks ----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["assess", "plan", "do", "review", "complete"])
async def test_records_are_locked_outside_their_stage(ctx, stage):
    await to_stage(ctx, stage)
    before = await ctx.get()
    assert before["stage"] == stage
    for record, own_stage in RECORD_STAGE.items():
        if own_stage == stage:
            continue
        response = await ctx.api.http.put(
            f"/v1/cycles/{ctx.cycle_id}/{record}",
            json=record_body(record, before),
            headers=ctx.cycles.senco,
        )
        assert_problem(response, 409, "stage_locked")
    if stage in ("plan", "review", "complete"):  # a provision exists to log against
        assert_problem(await delivery_log(ctx), 409, "stage_locked")
    if stage in ("do", "complete"):
        for author in ("parent", "pupil"):
            assert_problem(await post_view(ctx, author), 409, "stage_locked")
    after = await ctx.get()
    assert after == before
    if stage == "do":
        logged = await delivery_log(ctx, headers=ctx.api.staff("teacher", ctx.school))
        assert logged.status_code == 201, logged.text
        log = logged.json()
        assert (log["minutes"], log["delivered_on"], log["attended"]) == (30, today(), True)
        listed = await ctx.api.http.get(
            f"/v1/cycles/{ctx.cycle_id}/delivery-logs", headers=ctx.cycles.senco
        )
        assert [item["id"] for item in listed.json()["items"]] == [log["id"]]


async def test_a_put_answers_the_whole_cycle(ctx):
    cycle = await ctx.put("assessment", FULL_ASSESSMENT)
    assert {"id", "stage", "number", "assessment", "plan", "review", "departures"} <= set(cycle)
    assert {k: cycle["assessment"][k] for k in FULL_ASSESSMENT} == FULL_ASSESSMENT


async def test_a_delivery_log_for_another_provision_is_refused(ctx):
    await in_do(ctx)
    response = await delivery_log(ctx, provision_id=str(uuid.uuid4()))
    assert_problem(response, 422, "validation_error")


# --- plan items: ids kept, new, unknown, removed -------------------------------------------


async def test_plan_item_ids_are_kept_when_resent_and_others_removed(ctx):
    await in_plan(ctx)
    first = await ctx.put(
        "plan",
        full_plan(
            outcomes=[
                {"description": "Outcome A", "success_criteria": "A"},
                {"description": "Outcome B", "success_criteria": "B"},
            ],
            provisions=[provision(description="P"), provision(description="Q")],
        ),
    )
    outcome_a, outcome_b = first["plan"]["outcomes"]
    provision_p, provision_q = first["plan"]["provisions"]
    given = [outcome_a["id"], outcome_b["id"], provision_p["id"], provision_q["id"]]
    assert len({str(uuid.UUID(item)) for item in given}) == 4

    second = await ctx.put(
        "plan",
        full_plan(
            outcomes=[
                {
                    "id": outcome_b["id"],
                    "description": "Outcome B, sharper",
                    "success_criteria": "B",
                },
                {"description": "Outcome C", "success_criteria": "C"},
            ],
            provisions=[provision(id=provision_p["id"], description="P, weekly")],
        ),
    )
    outcome_b2, outcome_c = second["plan"]["outcomes"]
    assert (outcome_b2["id"], outcome_b2["description"]) == (outcome_b["id"], "Outcome B, sharper")
    assert outcome_c["id"] not in given
    assert [(p["id"], p["description"]) for p in second["plan"]["provisions"]] == [
        (provision_p["id"], "P, weekly")
    ]

    # Unknown ids: a random one, an id of the other list, and a removed item's id.
    for body in (
        full_plan(outcomes=[{"id": str(uuid.uuid4()), "description": "X"}]),
        full_plan(provisions=[provision(id=outcome_c["id"])]),
        full_plan(outcomes=[{"id": outcome_a["id"], "description": "A again"}]),
    ):
        response = await ctx.api.http.put(
            f"/v1/cycles/{ctx.cycle_id}/plan", json=body, headers=ctx.cycles.senco
        )
        assert_problem(response, 422, "validation_error")
    assert (await ctx.get())["version"] == second["version"]


async def test_outcome_ids_of_another_cycle_are_unknown(ctx, api, db):
    other = await new_ctx(api, db)
    await in_plan(other)
    foreign = (await other.get())["plan"]["outcomes"][0]["id"]
    await in_plan(ctx)
    response = await ctx.api.http.put(
        f"/v1/cycles/{ctx.cycle_id}/plan",
        json=full_plan(outcomes=[{"id": foreign, "description": "Borrowed"}]),
        headers=ctx.cycles.senco,
    )
    assert_problem(response, 422, "validation_error")


# --- money --------------------------------------------------------------------------------


async def put_plan_raw(ctx: Ctx, provisions: list[dict[str, Any]]) -> Any:
    return await ctx.api.http.put(
        f"/v1/cycles/{ctx.cycle_id}/plan",
        json=full_plan(provisions=provisions),
        headers=ctx.cycles.senco,
    )


STAFFED = {
    "hourly_rate": "18.50",
    "sessions_per_week": 3,
    "minutes_per_session": 30,
    "weeks_per_year": 38,
}


async def test_money_must_be_a_string_with_at_most_two_decimals(ctx):
    await in_plan(ctx)
    before = (await ctx.get())["version"]
    numbers = await put_plan_raw(
        ctx, [provision(**(STAFFED | {"hourly_rate": 18.5}), fixed_annual_cost=120)]
    )
    body = assert_problem(numbers, 422, "validation_error")
    fields = " ".join(error["field"] for error in body["errors"])
    assert "hourly_rate" in fields and "fixed_annual_cost" in fields, body["errors"]
    for bad in ("18.505", "18.5.0", "-1.00", "£18.50", "1e3"):
        response = await put_plan_raw(ctx, [provision(**(STAFFED | {"hourly_rate": bad}))])
        assert_problem(response, 422, "validation_error")
    assert (await ctx.get())["version"] == before
    stored = await ctx.put(
        "plan", full_plan(provisions=[provision(**STAFFED | {"hourly_rate": "18.5"})])
    )
    assert stored["plan"]["provisions"][0]["hourly_rate"] == "18.50"


@pytest.mark.parametrize("missing", sorted(STAFFED))
async def test_staffed_time_is_all_four_fields_or_none(ctx, missing):
    await in_plan(ctx)
    partial = {name: value for name, value in STAFFED.items() if name != missing}
    assert_problem(await put_plan_raw(ctx, [provision(**partial)]), 422, "validation_error")
    only = {missing: STAFFED[missing]}
    assert_problem(await put_plan_raw(ctx, [provision(**only)]), 422, "validation_error")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # 10.01 x 30/60 = 5.005: half-up gives 5.01 (half-even, or a float, gives 5.00).
        ({"hourly_rate": "10.01", "minutes_per_session": 30}, "5.01"),
        # 18.27 x 30/60 / 3 = 3.045 -> 3.05.
        ({"hourly_rate": "18.27", "minutes_per_session": 30, "group_size": 3}, "3.05"),
        # 0.03 x 10/60 = 0.005 -> 0.01, plus a fixed cost.
        ({"hourly_rate": "0.03", "minutes_per_session": 10, "fixed_annual_cost": "2.5"}, "2.51"),
        # 0.01 x 29/60 = 0.00483... -> 0.00.
        ({"hourly_rate": "0.01", "minutes_per_session": 29}, "0.00"),
        # 18.50 x 30/60 x 3 x 38 / 3 + 120 = 471.50.
        (STAFFED | {"group_size": 3, "fixed_annual_cost": "120.00"}, "471.50"),
        ({"fixed_annual_cost": "250"}, "250.00"),
    ],
)
async def test_annual_cost_is_rounded_half_up_to_the_penny(ctx, fields, expected):
    await in_plan(ctx)
    given = {"sessions_per_week": 1, "weeks_per_year": 1} if "hourly_rate" in fields else {}
    cycle = await ctx.put("plan", full_plan(provisions=[provision(**(given | fields))]))
    assert cycle["plan"]["provisions"][0]["annual_cost"] == expected


# --- review --------------------------------------------------------------------------------


async def test_review_progress_must_name_an_outcome_of_the_plan(ctx):
    await in_review(ctx)
    cycle = await ctx.get()
    review = full_review(cycle)
    review["outcome_progress"].append(
        {"outcome_id": str(uuid.uuid4()), "rating": "achieved", "progress": "good"}
    )
    response = await ctx.api.http.put(
        f"/v1/cycles/{ctx.cycle_id}/review", json=review, headers=ctx.cycles.senco
    )
    assert_problem(response, 422, "validation_error")
    assert (await ctx.get())["version"] == cycle["version"]


# --- views -----------------------------------------------------------------------------------


async def test_views_fill_the_stage_record_and_the_log(ctx):
    # assess: the assessment's views.
    first = (await post_view(ctx, "parent")).json()
    assert first["assessment"]["parent_views"] == "Views of the parent"
    assert first["assessment"]["pupil_views"] is None
    second = (await post_view(ctx, "pupil")).json()
    assert second["assessment"]["pupil_views"] == "Views of the pupil"
    again = await ctx.view("parent", "Dad adds: mornings are hardest")
    assert "Views of the parent" in again["assessment"]["parent_views"]
    assert "Dad adds: mornings are hardest" in again["assessment"]["parent_views"]

    # plan: the consultation dates become today; the text lives in the log only.
    await in_assess(ctx)
    assessment = (await ctx.advance("plan"))["assessment"]
    await ctx.put("plan", full_plan(parents_consulted_on=None, pupil_consulted_on=None))
    in_plan_stage = await ctx.view("parent", "Happy with Tuesday sessions")
    assert in_plan_stage["plan"]["parents_consulted_on"] == today()
    assert in_plan_stage["plan"]["pupil_consulted_on"] is None
    in_plan_stage = await ctx.view("pupil", "I want to read comics")
    assert in_plan_stage["plan"]["pupil_consulted_on"] == today()
    assert in_plan_stage["assessment"] == assessment
    assert "Tuesday" not in str(in_plan_stage["plan"])
    assert "comics" not in str(in_plan_stage["plan"])

    # review: the review's views.
    await ctx.advance("do")
    await ctx.advance("review", [EARLY])
    in_review_stage = await ctx.view("pupil", "Reading is easier now")
    assert in_review_stage["review"]["pupil_views"] == "Reading is easier now"
    in_review_stage = await ctx.view("parent", "Reads to her sister at bedtime")
    assert in_review_stage["review"]["parent_views"] == "Reads to her sister at bedtime"

    log = in_review_stage["views_log"]
    assert [(e["author"], e["stage"]) for e in log] == [
        ("parent", "assess"),
        ("pupil", "assess"),
        ("parent", "assess"),
        ("parent", "plan"),
        ("pupil", "plan"),
        ("pupil", "review"),
        ("parent", "review"),
    ]
    assert [e["text"] for e in log][3:5] == ["Happy with Tuesday sessions", "I want to read comics"]
    now = datetime.now(UTC)
    for entry in log:
        assert set(entry) >= {"author", "text", "stage", "recorded_at", "recorded_by"}
        assert entry["recorded_by"] == ctx.senco_sub
        recorded_at = datetime.fromisoformat(entry["recorded_at"].replace("Z", "+00:00"))
        assert now - timedelta(minutes=1) <= recorded_at <= now


async def test_views_need_text_and_a_known_author(ctx):
    for body in ({"author": "teacher", "text": "x"}, {"author": "parent", "text": "  "}, {}):
        response = await ctx.api.http.post(
            f"/v1/cycles/{ctx.cycle_id}/views", json=body, headers=ctx.cycles.senco
        )
        assert_problem(response, 422, "validation_error")


# --- If-Match ----------------------------------------------------------------------------------


async def test_a_stale_if_match_is_refused_on_puts_and_transitions(ctx):
    async def put(record: str, body: dict[str, Any], etag: str) -> Any:
        return await ctx.api.http.put(
            f"/v1/cycles/{ctx.cycle_id}/{record}",
            json=body,
            headers={**ctx.cycles.senco, "If-Match": etag},
        )

    async def move(to: str, etag: str, departures: list[Any] | None = None) -> Any:
        return await ctx.api.http.post(
            f"/v1/cycles/{ctx.cycle_id}/transitions",
            json={"to": to, "departures": departures or []},
            headers={**ctx.cycles.senco, "If-Match": etag},
        )

    read = await ctx.api.http.get(f"/v1/cycles/{ctx.cycle_id}", headers=ctx.cycles.senco)
    stale = read.headers["ETag"]
    assert stale == f'"{read.json()["version"]}"'
    done = await put("assessment", FULL_ASSESSMENT, stale)
    assert done.status_code == 200, done.text
    current = done.headers["ETag"]
    assert current == f'"{read.json()["version"] + 1}"'
    assert_problem(await put("assessment", FULL_ASSESSMENT, stale), 412, "stale_version")
    assert_problem(await move("plan", stale), 412, "stale_version")
    assert (await ctx.get())["stage"] == "assess"
    moved = await move("plan", current)
    assert moved.status_code == 200, moved.text

    plan_etag = moved.headers["ETag"]
    done = await put("plan", full_plan(), plan_etag)
    assert done.status_code == 200, done.text
    assert_problem(await put("plan", full_plan(), plan_etag), 412, "stale_version")
    assert_problem(await move("do", plan_etag), 412, "stale_version")
    moved = await move("do", done.headers["ETag"])
    moved = await move("review", moved.headers["ETag"], [EARLY])
    assert moved.status_code == 200, moved.text

    review_etag = moved.headers["ETag"]
    review = full_review(moved.json())
    done = await put("review", review, review_etag)
    assert done.status_code == 200, done.text
    assert_problem(await put("review", review, review_etag), 412, "stale_version")
    assert_problem(await move("complete", review_etag), 412, "stale_version")
    assert (await ctx.get())["stage"] == "review"
    assert (await move("complete", done.headers["ETag"])).status_code == 200


# --- roles -------------------------------------------------------------------------------------


async def test_a_teacher_writes_assessment_logs_and_views_but_not_plan_review_or_moves(ctx):
    teacher = ctx.api.staff("teacher", ctx.school)

    async def put(record: str, body: dict[str, Any]) -> Any:
        return await ctx.api.http.put(
            f"/v1/cycles/{ctx.cycle_id}/{record}", json=body, headers=teacher
        )

    async def move(to: str, departures: list[Any] | None = None) -> Any:
        return await ctx.api.http.post(
            f"/v1/cycles/{ctx.cycle_id}/transitions",
            json={"to": to, "departures": departures or []},
            headers=teacher,
        )

    assert (await put("assessment", FULL_ASSESSMENT)).status_code == 200
    assert (await post_view(ctx, "pupil", teacher)).status_code == 200
    assert (await ctx.api.http.get(f"/v1/cycles/{ctx.cycle_id}", headers=teacher)).is_success
    assert_problem(await move("plan"), 403, "forbidden")
    assert (await ctx.get())["stage"] == "assess"

    await ctx.advance("plan")
    assert_problem(await put("plan", full_plan()), 403, "forbidden")
    await ctx.put("plan", full_plan())
    assert (await post_view(ctx, "parent", teacher)).status_code == 200
    assert_problem(await move("do"), 403, "forbidden")

    await ctx.advance("do")
    assert (await delivery_log(ctx, headers=teacher)).status_code == 201
    assert_problem(await move("review", [EARLY]), 403, "forbidden")

    cycle = await ctx.advance("review", [EARLY])
    assert_problem(await put("review", full_review(cycle)), 403, "forbidden")
    assert (await post_view(ctx, "parent", teacher)).status_code == 200
    await ctx.put("review", full_review(cycle))
    assert_problem(await move("complete"), 403, "forbidden")
    assert (await ctx.get())["stage"] == "review"


async def every_cycle_endpoint(ctx: Ctx, headers: dict[str, str]) -> list[tuple[str, Any]]:
    """Each cycle endpoint called once with `headers` (bodies valid for the stage)."""
    base = f"/v1/cycles/{ctx.cycle_id}"
    cycle = await ctx.get()
    provision_id = cycle["plan"]["provisions"][0]["id"]
    log = {"provision_id": provision_id, "delivered_on": today(), "minutes": 20}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", base, {}),
        ("GET", f"/v1/support-plans/{ctx.plan['id']}/cycles", {}),
        ("PUT", f"{base}/assessment", {"json": FULL_ASSESSMENT}),
        ("PUT", f"{base}/plan", {"json": full_plan()}),
        ("PUT", f"{base}/review", {"json": full_review(cycle)}),
        ("POST", f"{base}/views", {"json": {"author": "parent", "text": "Fine"}}),
        ("POST", f"{base}/delivery-logs", {"json": log}),
        ("GET", f"{base}/delivery-logs", {}),
        ("GET", f"{base}/checks", {"params": {"to": "review"}}),
        ("POST", f"{base}/transitions", {"json": {"to": "review", "departures": [EARLY]}}),
    ]
    return [
        (f"{method} {url}", await ctx.api.http.request(method, url, headers=headers, **kwargs))
        for method, url, kwargs in calls
    ]


async def test_an_mis_integration_may_not_touch_cycles_or_plans(ctx):
    await in_do(ctx)
    before = await ctx.get()
    mis = ctx.api.staff("mis_integration", ctx.school)
    for name, response in await every_cycle_endpoint(ctx, mis):
        assert response.status_code == 403, name
        assert_problem(response, 403, "forbidden")
    http, plan_url = ctx.api.http, f"/v1/support-plans/{ctx.plan['id']}"
    plans_url = f"/v1/pupils/{ctx.pupil['id']}/support-plans"
    for response in (
        await http.get(plan_url, headers=mis),
        await http.get(plans_url, headers=mis),
        await http.post(plans_url, json={}, headers=mis),
        await http.post(f"{plan_url}/close", json={"close_reason": "Synced"}, headers=mis),
    ):
        assert_problem(response, 403, "forbidden")
    assert await ctx.get() == before
    assert (await ctx.refresh_plan())["status"] == "active"


async def test_another_schools_senco_finds_nothing(ctx, api):
    await in_do(ctx)
    before = await ctx.get()
    elsewhere = api.senco(await api.create_school())
    for name, response in await every_cycle_endpoint(ctx, elsewhere):
        assert response.status_code == 404, name
        assert_problem(response, 404, "not_found")
    assert await ctx.get() == before


async def test_a_parent_reads_own_childs_cycles_and_adds_parent_views_only(ctx, api):
    await in_plan(ctx)
    parent = api.parent(ctx.pupil)
    parent_sub = api.last_sub
    read = await api.http.get(f"/v1/cycles/{ctx.cycle_id}", headers=parent)
    assert read.status_code == 200, read.text
    listed = await api.http.get(f"/v1/support-plans/{ctx.plan['id']}/cycles", headers=parent)
    assert [c["id"] for c in listed.json()["items"]] == [ctx.cycle_id]

    added = await post_view(ctx, "parent", parent)
    assert added.status_code == 200, added.text
    assert added.json()["views_log"][-1]["recorded_by"] == parent_sub
    assert_problem(await post_view(ctx, "pupil", parent), 403, "forbidden")
    response = await api.http.put(
        f"/v1/cycles/{ctx.cycle_id}/plan", json=full_plan(), headers=parent
    )
    assert_problem(response, 403, "forbidden")
    response = await api.http.post(
        f"/v1/cycles/{ctx.cycle_id}/transitions", json={"to": "do"}, headers=parent
    )
    assert_problem(response, 403, "forbidden")
    assert (await ctx.get())["stage"] == "plan"

    # Another family's child is not there at all.
    other = await api.create_pupil(ctx.school)
    other_plan = await ctx.cycles.open_plan(other)
    other_cycle = other_plan["current_cycle_id"]
    assert_problem(
        await api.http.get(f"/v1/cycles/{other_cycle}", headers=parent), 404, "not_found"
    )
    response = await api.http.post(
        f"/v1/cycles/{other_cycle}/views",
        json={"author": "parent", "text": "Not my child"},
        headers=parent,
    )
    assert_problem(response, 404, "not_found")
    response = await api.http.get(f"/v1/support-plans/{other_plan['id']}/cycles", headers=parent)
    assert_problem(response, 404, "not_found")


# --- closing a plan early ------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["assess", "plan", "do", "review"])
async def test_closing_a_plan_early_locks_its_cycle(ctx, stage):
    await to_stage(ctx, stage)
    closed = await ctx.api.http.post(
        f"/v1/support-plans/{ctx.plan['id']}/close",
        json={"close_reason": "Needs now met through quality-first teaching"},
        headers=ctx.cycles.senco,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["close_reason"] == "Needs now met through quality-first teaching"
    pupil = await ctx.api.http.get(f"/v1/pupils/{ctx.pupil['id']}", headers=ctx.cycles.senco)
    assert pupil.json()["sen_status"] == "N"

    before = await ctx.get()
    assert before["stage"] == stage
    record = {"assess": "assessment", "plan": "plan", "review": "review"}.get(stage)
    if record is not None:
        response = await ctx.api.http.put(
            f"/v1/cycles/{ctx.cycle_id}/{record}",
            json=record_body(record, before),
            headers=ctx.cycles.senco,
        )
        assert_problem(response, 409, "stage_locked")
        assert_problem(await post_view(ctx, "parent"), 409, "stage_locked")
    else:
        assert_problem(await delivery_log(ctx), 409, "stage_locked")
    following = {"assess": "plan", "plan": "do", "do": "review", "review": "complete"}[stage]
    refused = await ctx.move(following, [{"rule": "review.on_agreed_date", "reason": REASON}])
    # SPEC names no code for moving a closed plan's cycle; a 409 of some kind it must be.
    assert refused.status_code == 409, refused.text
    assert await ctx.get() == before

    # SEN support can start again with a new plan.
    reopened = await ctx.cycles.open_plan(ctx.pupil)
    assert reopened["id"] != ctx.plan["id"]
    pupil = await ctx.api.http.get(f"/v1/pupils/{ctx.pupil['id']}", headers=ctx.cycles.senco)
    assert pupil.json()["sen_status"] == "K"


async def test_checks_on_a_closed_plans_cycle_do_not_promise_a_move(ctx):
    """`checks` shows what a transition would do; a closed plan's cycle cannot move."""
    await in_assess(ctx)
    closed = await ctx.api.http.post(
        f"/v1/support-plans/{ctx.plan['id']}/close",
        json={"close_reason": "Moved to a specialist setting"},
        headers=ctx.cycles.senco,
    )
    assert closed.status_code == 200, closed.text
    assert (await ctx.move("plan")).status_code == 409
    checks = await ctx.api.http.get(
        f"/v1/cycles/{ctx.cycle_id}/checks", params={"to": "plan"}, headers=ctx.cycles.senco
    )
    assert checks.status_code == 409
    assert checks.json()["code"] == "conflict"


async def test_a_dry_run_reads_the_pupils_records_and_is_audited_as_a_read(ctx):
    """SPEC.md §4: `checks` reads the pupil's data; the review found it wrote no entry."""
    await in_assess(ctx)
    teacher = ctx.api.staff("teacher", ctx.school)
    teacher_sub = ctx.api.last_sub
    before = await ctx.db.fetchval("select count(*) from audit_entries")
    checks = await ctx.api.http.get(
        f"/v1/cycles/{ctx.cycle_id}/checks", params={"to": "plan"}, headers=teacher
    )
    assert checks.status_code == 200, checks.text
    entries = await ctx.db.fetch(
        "select actor_sub, action, resource, resource_id, pupil_id from audit_entries "
        "order by at desc, id desc limit 1"
    )
    assert await ctx.db.fetchval("select count(*) from audit_entries") == before + 1
    [entry] = entries
    assert (entry["actor_sub"], entry["action"], entry["resource"]) == (
        teacher_sub,
        "read",
        "cycle",
    )
    assert (str(entry["resource_id"]), str(entry["pupil_id"])) == (
        ctx.cycle_id,
        ctx.pupil["id"],
    )
    # A refused dry run (the MIS may not) is logged, not audited.
    mis = ctx.api.staff("mis_integration", ctx.school)
    refused = await ctx.api.http.get(
        f"/v1/cycles/{ctx.cycle_id}/checks", params={"to": "plan"}, headers=mis
    )
    assert refused.status_code == 403
    assert await ctx.db.fetchval("select count(*) from audit_entries") == before + 1
