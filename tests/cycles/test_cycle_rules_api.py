"""Every cycle rule of SPEC.md §3.1-§3.3 through the API: refused, allowed, and departed from.

The expected severities and transitions are written out from the SPEC tables here, not read from
`app.rules`, so the service is held to the contract rather than to itself.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from app.core.clock import today_london
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import (
    EARLY,
    FULL_ASSESSMENT,
    REASON,
    Ctx,
    ReviewFn,
    complete_current,
    days_ago,
    full_plan,
    full_review,
    in_assess,
    in_do,
    in_plan,
    in_review,
    new_ctx,
    rated_review,
    to_stage,
    today,
)

STAGES = ("assess", "plan", "do", "review", "complete")
NEXT = dict(pairwise(STAGES))
PREVIOUS = {to: frm for frm, to in NEXT.items()}

# SPEC.md §3.1-§3.3 (and the must rule `cycle.next_stage` of §3).
SEVERITY = {
    "cycle.next_stage": "must",
    "assessment.needs_identified": "must",
    "assessment.teacher_assessment": "should",
    "assessment.parent_views": "should",
    "assessment.pupil_views": "should",
    "assessment.concerns_considered": "should",
    "plan.parents_notified": "must",
    "plan.provision_set": "must",
    "plan.review_date_set": "must",
    "plan.outcomes_set": "should",
    "plan.parents_consulted": "should",
    "plan.pupil_consulted": "should",
    "plan.staff_informed": "should",
    "specialist.little_or_no_progress": "should",
    "review.on_agreed_date": "should",
    "review.all_outcomes_rated": "must",
    "review.decision_recorded": "must",
    "review.pupil_views": "should",
    "review.parent_views": "should",
    "review.parents_informed": "should",
}
TRANSITION = {
    **{rule: "assess->plan" for rule in SEVERITY if rule.startswith("assessment.")},
    **{rule: "plan->do" for rule in SEVERITY if rule.startswith("plan.")},
    "specialist.little_or_no_progress": "plan->do",
    "review.on_agreed_date": "do->review",
    **{
        rule: "review->complete"
        for rule in SEVERITY
        if rule.startswith("review.") and rule != "review.on_agreed_date"
    },
}
# Every rule identifier of SPEC.md §3, with its severity, for GET /v1/rules.
ALL_SPEC_RULES = {
    **SEVERITY,
    "specialist.parents_involved": "should",
    "ehc.evidence_of_sen_support": "should",
    "ehc.single_open_request": "must",
    "claim.exceeds_threshold": "must",
    "claim.support_in_place": "must",
    "claim.single_per_period": "must",
    "claim.decided_amount": "must",
}


@pytest.fixture
async def ctx(api, db) -> Ctx:
    return await new_ctx(api, db)


def assert_items(items: list[dict[str, Any]], rules: list[str]) -> None:
    """The violations name exactly `rules`, each as `{rule, severity, message}`."""
    assert sorted(item["rule"] for item in items) == sorted(rules), items
    for item in items:
        assert {"rule", "severity", "message"} <= set(item), item
        assert item["severity"] == SEVERITY[item["rule"]], item
        assert isinstance(item["message"], str) and item["message"].strip(), item


def by_rule(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: str(item["rule"]))


async def assert_refused(
    ctx: Ctx, to: str, rules: list[str], departures: list[Any] | None = None
) -> dict[str, Any]:
    """The move is refused with exactly `rules`; `checks` says the same; nothing changed."""
    before = await ctx.get()
    code = "invalid_transition" if rules == ["cycle.next_stage"] else "rule_violation"
    body = assert_problem(await ctx.move(to, departures), 409, code)
    assert_items(body["violations"], rules)
    if not departures:
        check = await ctx.checks(to)
        assert (check["to"], check["allowed"]) == (to, False)
        assert by_rule(check["violations"]) == by_rule(body["violations"])
    after = await ctx.get()
    for name in ("stage", "version", "updated_at", "departures", "number"):
        assert after[name] == before[name], name
    return body


def departures_of(cycle: dict[str, Any], transition: str) -> list[dict[str, Any]]:
    return [d for d in cycle["departures"] if d["transition"] == transition]


# --- bringing the current cycle to a stage, with one thing missing -----------------------


async def with_open_concern(ctx: Ctx) -> None:
    await in_assess(ctx)
    response = await ctx.api.http.post(
        f"/v1/pupils/{ctx.pupil['id']}/concerns",
        json={"raised_by": "parent", "description": "Not sleeping before reading tests"},
        headers=ctx.cycles.senco,
    )
    assert response.status_code == 201, response.text
    ctx.notes["concern"] = response.json()["id"]


async def respond_to_concern(ctx: Ctx) -> None:
    response = await ctx.api.http.patch(
        f"/v1/concerns/{ctx.notes['concern']}",
        json={"response": "Discussed at the assessment meeting; reading at home reduced"},
        headers=ctx.cycles.senco,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "responded"


async def review_date_arrives(ctx: Ctx, days_past: int = 0) -> None:
    """Time passes: the agreed review date (tomorrow when planned) becomes today or earlier.

    `plan.review_date_set` makes the date later than the day of plan->do, so only the clock
    can bring it; the test moves the stored date instead of the clock.
    """
    day = today_london() - timedelta(days=days_past)
    await ctx.db.execute(
        "update cycles set review_date = $1, "
        "plan = jsonb_set(plan, '{review_date}', to_jsonb($2::text)) where id = $3",
        day,
        day.isoformat(),
        uuid.UUID(ctx.cycle_id),
    )


async def after_two_cycles_of_little_progress(ctx: Ctx) -> None:
    await complete_current(ctx, "little_or_none")
    await complete_current(ctx, "little_or_none")
    await in_plan(ctx)


async def consented_involvement(ctx: Ctx) -> None:
    await ctx.involvement()


def review_with(**overrides: Any) -> ReviewFn:
    return lambda cycle: full_review(cycle, **overrides)


def progress_with(**entry: Any) -> ReviewFn:
    def build(cycle: dict[str, Any]) -> dict[str, Any]:
        rated = [
            {"outcome_id": o["id"], "rating": "achieved", "progress": "good"} | entry
            for o in cycle["plan"]["outcomes"]
        ]
        return full_review(cycle, outcome_progress=rated)

    return build


def first_outcome_only(cycle: dict[str, Any]) -> dict[str, Any]:
    first = cycle["plan"]["outcomes"][0]
    rated = [{"outcome_id": first["id"], "rating": "achieved", "progress": "good"}]
    return full_review(cycle, outcome_progress=rated)


async def put_full_plan(ctx: Ctx) -> None:
    await ctx.put("plan", full_plan())


async def put_full_review(ctx: Ctx) -> None:
    await ctx.put("review", full_review(await ctx.get()))


TWO_OUTCOMES = [
    {"description": "Decode CVC words", "success_criteria": "40 of 50 words", "target_date": None},
    {"description": "Write a sentence", "success_criteria": "3 days of 5", "target_date": None},
]

Step = Callable[[Ctx], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    name: str
    rule: str
    setup: Step  # the current cycle in the move's from-stage, with only `rule` broken
    fix: Step  # makes the rule hold, through the API (or the passing of time)

    @property
    def transition(self) -> str:
        return TRANSITION[self.rule]

    @property
    def to(self) -> str:
        return self.transition.split("->")[1]

    @property
    def severity(self) -> str:
        return SEVERITY[self.rule]


CASES = [
    # 3.1 assess -> plan
    Case("no needs", "assessment.needs_identified", lambda c: in_assess(c, needs=[]), in_assess),
    Case(
        "no teacher assessment",
        "assessment.teacher_assessment",
        lambda c: in_assess(c, sources=["attainment_and_progress_data", "parent_views"]),
        in_assess,
    ),
    Case(
        "no parent views",
        "assessment.parent_views",
        lambda c: in_assess(c, parent_views=None, sources=["teacher_assessment", "parent_views"]),
        lambda c: c.view("parent", "We see the same struggle at home"),
    ),
    Case(
        "no pupil views",
        "assessment.pupil_views",
        lambda c: in_assess(c, pupil_views=None, sources=["teacher_assessment", "pupil_views"]),
        lambda c: c.view("pupil", "Reading out loud is scary"),
    ),
    Case("open concern", "assessment.concerns_considered", with_open_concern, respond_to_concern),
    # 3.2 plan -> do
    Case(
        "parents not notified",
        "plan.parents_notified",
        lambda c: in_plan(c, parents_notified_on=None, notification_method=None),
        put_full_plan,
    ),
    Case("no provision", "plan.provision_set", lambda c: in_plan(c, provisions=[]), put_full_plan),
    Case(
        "no review date",
        "plan.review_date_set",
        lambda c: in_plan(c, review_date=None),
        put_full_plan,
    ),
    Case(
        "review date today",
        "plan.review_date_set",
        lambda c: in_plan(c, review_date=today()),
        put_full_plan,
    ),
    Case(
        "review date past",
        "plan.review_date_set",
        lambda c: in_plan(c, review_date=days_ago(3)),
        put_full_plan,
    ),
    Case("no outcomes", "plan.outcomes_set", lambda c: in_plan(c, outcomes=[]), put_full_plan),
    Case(
        "outcome without criteria",
        "plan.outcomes_set",
        lambda c: in_plan(
            c, outcomes=[{"description": "Decode CVC words", "success_criteria": None}]
        ),
        put_full_plan,
    ),
    Case(
        "one of two outcomes without criteria",
        "plan.outcomes_set",
        lambda c: in_plan(c, outcomes=[TWO_OUTCOMES[0], {"description": "Write a sentence"}]),
        lambda c: c.put("plan", full_plan(outcomes=TWO_OUTCOMES)),
    ),
    Case(
        "parents not consulted",
        "plan.parents_consulted",
        lambda c: in_plan(c, parents_consulted_on=None),
        lambda c: c.view("parent"),
    ),
    Case(
        "pupil not consulted",
        "plan.pupil_consulted",
        lambda c: in_plan(c, pupil_consulted_on=None),
        lambda c: c.view("pupil"),
    ),
    Case(
        "staff not informed",
        "plan.staff_informed",
        lambda c: in_plan(c, staff_informed_on=None),
        put_full_plan,
    ),
    Case(
        "two cycles of little progress",
        "specialist.little_or_no_progress",
        after_two_cycles_of_little_progress,
        consented_involvement,
    ),
    # 3.3 do -> review
    Case("before the review date", "review.on_agreed_date", in_do, review_date_arrives),
    Case(
        "review date passed",
        "review.on_agreed_date",
        lambda c: in_do(c, review_date=(today_london() + timedelta(days=30)).isoformat()),
        lambda c: review_date_arrives(c, days_past=2),
    ),
    # 3.3 review -> complete
    Case(
        "nothing rated",
        "review.all_outcomes_rated",
        lambda c: in_review(c, review=review_with(outcome_progress=[])),
        put_full_review,
    ),
    Case(
        "progress missing",
        "review.all_outcomes_rated",
        lambda c: in_review(c, review=progress_with(progress=None)),
        put_full_review,
    ),
    Case(
        "rating missing",
        "review.all_outcomes_rated",
        lambda c: in_review(c, review=progress_with(rating=None)),
        put_full_review,
    ),
    Case(
        "one of two outcomes rated",
        "review.all_outcomes_rated",
        lambda c: in_review(c, plan={"outcomes": TWO_OUTCOMES}, review=first_outcome_only),
        put_full_review,
    ),
    Case(
        "no decision",
        "review.decision_recorded",
        lambda c: in_review(c, review=review_with(decision=None)),
        put_full_review,
    ),
    Case(
        "no pupil views in review",
        "review.pupil_views",
        lambda c: in_review(c, review=review_with(pupil_views=None)),
        lambda c: c.view("pupil", "I can read my reading book now"),
    ),
    Case(
        "no parent views in review",
        "review.parent_views",
        lambda c: in_review(c, review=review_with(parent_views=None)),
        lambda c: c.view("parent", "Much happier about school"),
    ),
    Case(
        "parents not informed",
        "review.parents_informed",
        lambda c: in_review(c, review=review_with(parents_informed_on=None)),
        put_full_review,
    ),
]
SHOULD_CASES = [case for case in CASES if case.severity == "should"]
MUST_CASES = [case for case in CASES if case.severity == "must"]


def ids(cases: list[Case]) -> list[str]:
    return [f"{case.rule}:{case.name}" for case in cases]


def test_every_rule_of_spec_3_1_to_3_3_has_a_case():
    assert {case.rule for case in CASES} == set(SEVERITY) - {"cycle.next_stage"}


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
async def test_refused_while_broken_and_allowed_once_met(ctx, case):
    await case.setup(ctx)
    assert (await ctx.get())["stage"] == PREVIOUS[case.to]
    await assert_refused(ctx, case.to, [case.rule])

    await case.fix(ctx)
    assert await ctx.checks(case.to) == {"to": case.to, "allowed": True, "violations": []}
    moved = await ctx.advance(case.to)
    assert moved["stage"] == case.to
    assert departures_of(moved, case.transition) == []


@pytest.mark.parametrize("case", SHOULD_CASES, ids=ids(SHOULD_CASES))
async def test_should_rule_passes_with_a_departure_that_is_stored(ctx, case):
    await case.setup(ctx)
    # First invalid departures: a reason under ten characters, an unknown rule.
    before = await ctx.get()
    for departures in (
        [{"rule": case.rule, "reason": "Too short"}],
        [{"rule": case.rule, "reason": REASON}, {"rule": "plan.no_such_rule", "reason": REASON}],
    ):
        body = assert_problem(await ctx.move(case.to, departures), 422, "validation_error")
        assert any("departures" in error["field"] for error in body["errors"]), body
    after = await ctx.get()
    assert (after["stage"], after["version"]) == (before["stage"], before["version"])

    started = datetime.now(UTC)
    moved = await ctx.advance(case.to, [{"rule": case.rule, "reason": REASON}])
    assert moved["stage"] == case.to
    [departure] = departures_of(moved, case.transition)
    recorded_at = datetime.fromisoformat(departure.pop("recorded_at").replace("Z", "+00:00"))
    assert recorded_at.tzinfo is not None
    assert started - timedelta(seconds=5) <= recorded_at <= datetime.now(UTC)
    assert departure == {
        "rule": case.rule,
        "reason": REASON,
        "transition": case.transition,
        "recorded_by": ctx.senco_sub,
    }
    stored = await ctx.cycles.cycle(str(moved["id"]))
    assert [d["rule"] for d in departures_of(stored, case.transition)] == [case.rule]


async def test_a_reason_of_ten_characters_is_enough(ctx):
    await in_assess(ctx, parent_views=None)
    moved = await ctx.advance("plan", [{"rule": "assessment.parent_views", "reason": "Ten chars!"}])
    assert [d["reason"] for d in moved["departures"]] == ["Ten chars!"]


@pytest.mark.parametrize("case", SHOULD_CASES, ids=ids(SHOULD_CASES))
async def test_departure_for_a_rule_not_violated_is_ignored(ctx, case):
    await case.setup(ctx)
    await case.fix(ctx)
    moved = await ctx.advance(case.to, [{"rule": case.rule, "reason": REASON}])
    assert moved["stage"] == case.to
    assert departures_of(moved, case.transition) == []
    assert departures_of(await ctx.cycles.cycle(str(moved["id"])), case.transition) == []


@pytest.mark.parametrize("case", MUST_CASES, ids=ids(MUST_CASES))
async def test_departure_naming_a_must_rule_has_no_effect(ctx, case):
    await case.setup(ctx)
    await assert_refused(ctx, case.to, [case.rule], [{"rule": case.rule, "reason": REASON}])
    assert departures_of(await ctx.get(), case.transition) == []


# --- every rule in the way, in one answer -------------------------------------------------


async def test_an_empty_assessment_lists_every_violated_rule(ctx):
    assess_rules = [
        "assessment.needs_identified",
        "assessment.teacher_assessment",
        "assessment.parent_views",
        "assessment.pupil_views",
    ]
    await assert_refused(ctx, "plan", assess_rules)
    await with_open_concern(ctx)
    await ctx.put("assessment", {})
    await assert_refused(ctx, "plan", [*assess_rules, "assessment.concerns_considered"])
    # Departures remove only the should rules they name; the must rule always stands.
    covered = [
        {"rule": "assessment.teacher_assessment", "reason": REASON},
        {"rule": "assessment.parent_views", "reason": REASON},
        {"rule": "assessment.needs_identified", "reason": REASON},
    ]
    await assert_refused(
        ctx,
        "plan",
        ["assessment.needs_identified", "assessment.pupil_views", "assessment.concerns_considered"],
        covered,
    )


async def test_an_empty_plan_lists_every_violated_rule(ctx):
    await in_assess(ctx)
    await ctx.advance("plan")
    musts = ["plan.parents_notified", "plan.provision_set", "plan.review_date_set"]
    shoulds = [
        "plan.outcomes_set",
        "plan.parents_consulted",
        "plan.pupil_consulted",
        "plan.staff_informed",
    ]
    await assert_refused(ctx, "do", musts + shoulds)
    await assert_refused(ctx, "do", musts, [{"rule": rule, "reason": REASON} for rule in shoulds])


async def test_an_empty_review_lists_every_violated_rule(ctx):
    await in_do(ctx)
    await ctx.advance("review", [EARLY])
    await assert_refused(
        ctx,
        "complete",
        [
            "review.all_outcomes_rated",
            "review.decision_recorded",
            "review.pupil_views",
            "review.parent_views",
            "review.parents_informed",
        ],
    )


async def test_covering_every_should_rule_moves_and_stores_each_departure_once(ctx):
    await in_assess(ctx, needs=FULL_ASSESSMENT["needs"], sources=[], parent_views=None)
    departures = [
        {"rule": "assessment.teacher_assessment", "reason": REASON},
        {"rule": "assessment.parent_views", "reason": "Parents could not be reached by phone"},
        # Not violated: ignored and not stored.
        {"rule": "assessment.pupil_views", "reason": REASON},
        {"rule": "plan.staff_informed", "reason": REASON},
        {"rule": "assessment.needs_identified", "reason": REASON},
    ]
    moved = await ctx.advance("plan", departures)
    assert sorted((d["rule"], d["reason"]) for d in moved["departures"]) == [
        ("assessment.parent_views", "Parents could not be reached by phone"),
        ("assessment.teacher_assessment", REASON),
    ]
    assert {d["transition"] for d in moved["departures"]} == {"assess->plan"}


# --- cycle.next_stage -----------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
async def test_only_the_next_stage_may_be_asked_for(ctx, stage):
    await to_stage(ctx, stage)
    for target in STAGES:
        if target == NEXT.get(stage):
            continue
        check = await ctx.checks(target)
        assert (check["to"], check["allowed"]) == (target, False)
        assert_items(check["violations"], ["cycle.next_stage"])
        body = await assert_refused(ctx, target, ["cycle.next_stage"])
        assert body["code"] == "invalid_transition"
        # A must rule: a departure changes nothing.
        departure = [{"rule": "cycle.next_stage", "reason": REASON}]
        await assert_refused(ctx, target, ["cycle.next_stage"], departure)
    if stage == "assess":
        # The next stage with its own rules broken is a rule violation, not an invalid move.
        assert_problem(await ctx.move("plan"), 409, "rule_violation")
        await in_assess(ctx)
    if stage in NEXT:
        moved = await ctx.advance(NEXT[stage], [EARLY] if stage == "do" else None)
        assert moved["stage"] == NEXT[stage]


async def test_an_unknown_stage_is_a_validation_error(ctx):
    assert_problem(await ctx.move("done"), 422, "validation_error")
    response = await ctx.api.http.get(
        f"/v1/cycles/{ctx.cycle_id}/checks", params={"to": "done"}, headers=ctx.cycles.senco
    )
    assert_problem(response, 422, "validation_error")


# --- the catalogue ----------------------------------------------------------------------------


async def test_the_catalogue_lists_every_rule_of_the_spec(ctx):
    response = await ctx.api.http.get("/v1/rules", headers=ctx.cycles.senco)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    listed = {item["rule"]: item for item in items}
    assert len(listed) == len(items)
    assert {rule: item["severity"] for rule, item in listed.items()} == ALL_SPEC_RULES
    for rule, transition in TRANSITION.items():
        assert listed[rule]["transition"] == transition, rule
    for item in items:
        assert {"rule", "severity", "transition", "source", "message"} <= set(item)
        assert item["source"].strip() and item["message"].strip()


# --- specialist.little_or_no_progress beyond the plain case -----------------------------------


async def test_specialist_needs_consent_and_a_request_since_the_last_review(ctx):
    await complete_current(ctx, "little_or_none")
    # One cycle of little progress is not enough.
    await in_plan(ctx)
    assert (await ctx.checks("do"))["allowed"] is True
    await ctx.advance("do")
    await ctx.advance("review", [EARLY])
    cycle = await ctx.get()
    await ctx.put("review", rated_review(cycle, "little_or_none", held_on=days_ago(3)))
    await ctx.advance("complete")
    await ctx.refresh_plan()
    await in_plan(ctx)
    rule = ["specialist.little_or_no_progress"]
    await assert_refused(ctx, "do", rule)
    await ctx.involvement(parental_consent=False, requested_on=today())
    await assert_refused(ctx, "do", rule)
    await ctx.involvement(requested_on=days_ago(4), parents_involved_on=days_ago(4))
    await assert_refused(ctx, "do", rule)
    # Requested on the day of the review counts.
    await ctx.involvement(requested_on=days_ago(3), parents_involved_on=days_ago(3))
    assert (await ctx.advance("do"))["stage"] == "do"


async def test_consent_recorded_later_by_the_parent_counts(ctx):
    await complete_current(ctx, "expected", decision="involve_specialist")
    await in_plan(ctx)
    involvement = await ctx.involvement(parental_consent=False)
    await assert_refused(ctx, "do", ["specialist.little_or_no_progress"])
    consent = await ctx.api.http.patch(
        f"/v1/specialist-involvements/{involvement['id']}",
        json={"parental_consent": True},
        headers=ctx.api.parent(ctx.pupil),
    )
    assert consent.status_code == 200, consent.text
    assert (await ctx.advance("do"))["stage"] == "do"


async def test_a_decision_to_involve_a_specialist_triggers_the_rule(ctx):
    await complete_current(ctx, "expected", decision="involve_specialist")
    await in_plan(ctx)
    await assert_refused(ctx, "do", ["specialist.little_or_no_progress"])
    await ctx.involvement()
    assert (await ctx.advance("do"))["stage"] == "do"


async def test_exactly_half_of_the_outcomes_is_not_more_than_half(ctx):
    def half(cycle: dict[str, Any]) -> list[dict[str, Any]]:
        first, second = cycle["plan"]["outcomes"]
        return [
            {"outcome_id": first["id"], "rating": "not_achieved", "progress": "little_or_none"},
            {"outcome_id": second["id"], "rating": "achieved", "progress": "good"},
        ]

    for _ in range(2):
        await complete_current(
            ctx, "little_or_none", plan={"outcomes": TWO_OUTCOMES}, outcome_progress=half
        )
    await in_plan(ctx)
    assert await ctx.checks("do") == {"to": "do", "allowed": True, "violations": []}


async def test_only_the_two_most_recent_cycles_count(ctx):
    await complete_current(ctx, "little_or_none")
    await complete_current(ctx, "little_or_none")
    await in_plan(ctx)
    await ctx.involvement()
    await ctx.advance("do")
    await ctx.advance("review", [EARLY])
    await ctx.put("review", rated_review(await ctx.get(), "expected"))
    await ctx.advance("complete")
    await ctx.refresh_plan()
    # The last two are (little, expected): no specialist expected for cycle 4.
    await in_plan(ctx)
    assert (await ctx.checks("do"))["allowed"] is True


async def test_the_rule_looks_across_the_pupils_plans(ctx):
    await complete_current(ctx, "little_or_none", decision="close_support")
    assert (await ctx.refresh_plan())["status"] == "closed"
    ctx.plan = await ctx.cycles.open_plan(ctx.pupil)
    await complete_current(ctx, "little_or_none")
    assert (await ctx.get())["number"] == 2
    await in_plan(ctx)
    await assert_refused(ctx, "do", ["specialist.little_or_no_progress"])
