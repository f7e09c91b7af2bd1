"""Driving a pupil through the graduated approach with the API alone."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.core.clock import today_london


def today() -> str:
    return today_london().isoformat()


def days_from_today(days: int) -> str:
    return (today_london() + timedelta(days=days)).isoformat()


FULL_ASSESSMENT = {
    "summary": "Reading age two years behind; struggles to decode multi-syllable words",
    "needs": [{"area": "cognition_and_learning", "description": "Phonological processing"}],
    "strengths": "Strong verbal reasoning",
    "sources": ["teacher_assessment", "attainment_and_progress_data"],
    "parent_views": "Mum says homework reading is a daily struggle",
    "pupil_views": "I like stories but reading them is hard",
    "external_advice": None,
}


def full_plan(**overrides: Any) -> dict[str, Any]:
    plan = {
        "outcomes": [
            {
                "description": "Decode CVC and CCVC words fluently",
                "success_criteria": "Reads 40 of 50 words from the probe list",
                "target_date": days_from_today(80),
            }
        ],
        "provisions": [
            {
                "kind": "intervention",
                "description": "Phonics catch-up in a small group",
                "delivered_by": "teaching_assistant",
                "group_size": 3,
                "sessions_per_week": 3,
                "minutes_per_session": 30,
                "weeks_per_year": 38,
                "hourly_rate": "18.50",
                "fixed_annual_cost": "120.00",
            }
        ],
        "review_date": days_from_today(1),
        "parents_notified_on": today(),
        "notification_method": "letter",
        "parents_consulted_on": today(),
        "pupil_consulted_on": today(),
        "staff_informed_on": today(),
    }
    plan.update(overrides)
    return plan


def full_review(cycle: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    review = {
        "held_on": today(),
        "outcome_progress": [
            {"outcome_id": o["id"], "rating": "partially_achieved", "progress": "expected"}
            for o in cycle["plan"]["outcomes"]
        ],
        "pupil_views": "Reading is getting easier",
        "parent_views": "More confident at home",
        "impact_summary": "Steady progress; gap narrowing slowly",
        "parents_informed_on": today(),
        "decision": "continue",
    }
    review.update(overrides)
    return review


class Cycles:
    """Short verbs over the cycle endpoints, asserting each call did what it should."""

    def __init__(self, api: Any, school: dict[str, Any]):
        self.api = api
        self.school = school
        self.senco = api.senco(school)

    async def open_plan(self, pupil: dict[str, Any]) -> dict[str, Any]:
        response = await self.api.http.post(
            f"/v1/pupils/{pupil['id']}/support-plans",
            json={"class_teacher": "Ms Patel", "areas_of_need": ["cognition_and_learning"]},
            headers=self.senco,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def cycle(self, cycle_id: str) -> dict[str, Any]:
        response = await self.api.http.get(f"/v1/cycles/{cycle_id}", headers=self.senco)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def put(self, cycle_id: str, record: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.api.http.put(
            f"/v1/cycles/{cycle_id}/{record}", json=body, headers=self.senco
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def move(self, cycle_id: str, to: str, departures: list[Any] | None = None) -> Any:
        return await self.api.http.post(
            f"/v1/cycles/{cycle_id}/transitions",
            json={"to": to, "departures": departures or []},
            headers=self.senco,
        )

    async def advance(self, cycle_id: str, to: str, departures: list[Any] | None = None) -> Any:
        response = await self.move(cycle_id, to, departures)
        assert response.status_code == 200, response.text
        return response.json()

    async def to_do(self, cycle_id: str, **plan: Any) -> dict[str, Any]:
        await self.put(cycle_id, "assessment", FULL_ASSESSMENT)
        await self.advance(cycle_id, "plan")
        await self.put(cycle_id, "plan", full_plan(**plan))
        return dict(await self.advance(cycle_id, "do"))

    async def to_review(self, cycle_id: str) -> dict[str, Any]:
        await self.to_do(cycle_id)
        departure = [
            {"rule": "review.on_agreed_date", "reason": "Reviewed early at the parents' request"}
        ]
        return dict(await self.advance(cycle_id, "review", departure))

    async def complete(self, cycle_id: str, **review: Any) -> dict[str, Any]:
        cycle = await self.to_review(cycle_id)
        await self.put(cycle_id, "review", full_review(cycle, **review))
        return dict(await self.advance(cycle_id, "complete"))


# --- additions for the rule, lock and state-machine tests --------------------------------

REASON = "Agreed with the parents at the planning meeting"


def days_ago(days: int) -> str:
    return days_from_today(-days)


def rated_review(cycle: dict[str, Any], progress: str, **overrides: Any) -> dict[str, Any]:
    """A complete review rating every outcome of the cycle with the same `progress`."""
    review = full_review(cycle, **overrides)
    if "outcome_progress" not in overrides:
        review["outcome_progress"] = [
            {"outcome_id": o["id"], "rating": "not_achieved", "progress": progress}
            for o in cycle["plan"]["outcomes"]
        ]
    return review


EARLY = {"rule": "review.on_agreed_date", "reason": "Reviewed early at the parents' request"}


@dataclass
class Ctx:
    """One pupil with an open plan, and short verbs over its current cycle."""

    api: Any
    db: Any
    school: dict[str, Any]
    pupil: dict[str, Any]
    cycles: Cycles
    senco_sub: str
    plan: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def cycle_id(self) -> str:
        return str(self.plan["current_cycle_id"])

    async def refresh_plan(self) -> dict[str, Any]:
        response = await self.api.http.get(
            f"/v1/support-plans/{self.plan['id']}", headers=self.cycles.senco
        )
        assert response.status_code == 200, response.text
        self.plan = response.json()
        return self.plan

    async def get(self) -> dict[str, Any]:
        return await self.cycles.cycle(self.cycle_id)

    async def checks(self, to: str) -> dict[str, Any]:
        response = await self.api.http.get(
            f"/v1/cycles/{self.cycle_id}/checks", params={"to": to}, headers=self.cycles.senco
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def move(self, to: str, departures: list[Any] | None = None) -> Any:
        return await self.cycles.move(self.cycle_id, to, departures)

    async def advance(self, to: str, departures: list[Any] | None = None) -> dict[str, Any]:
        return dict(await self.cycles.advance(self.cycle_id, to, departures))

    async def put(self, record: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.cycles.put(self.cycle_id, record, body)

    async def view(self, author: str, text: str = "Happy with the plan") -> dict[str, Any]:
        response = await self.api.http.post(
            f"/v1/cycles/{self.cycle_id}/views",
            json={"author": author, "text": text},
            headers=self.cycles.senco,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def involvement(self, **body: Any) -> dict[str, Any]:
        payload = {
            "service": "educational_psychologist",
            "parents_involved_on": today(),
            "parental_consent": True,
            "requested_on": today(),
        } | body
        response = await self.api.http.post(
            f"/v1/pupils/{self.pupil['id']}/specialist-involvements",
            json=payload,
            headers=self.cycles.senco,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


async def new_ctx(api: Any, db: Any) -> Ctx:
    school = await api.create_school()
    cycles = Cycles(api, school)
    senco_sub = api.last_sub
    pupil = await api.create_pupil(school)
    plan = await cycles.open_plan(pupil)
    return Ctx(api, db, school, pupil, cycles, senco_sub, plan)


async def in_assess(ctx: Ctx, **assessment: Any) -> None:
    await ctx.put("assessment", {**FULL_ASSESSMENT, **assessment})


async def in_plan(ctx: Ctx, **plan: Any) -> None:
    await in_assess(ctx)
    await ctx.advance("plan")
    await ctx.put("plan", full_plan(**plan))


async def in_do(ctx: Ctx, **plan: Any) -> None:
    await in_plan(ctx, **plan)
    await ctx.advance("do")


ReviewFn = Callable[[dict[str, Any]], dict[str, Any]]


async def in_review(
    ctx: Ctx, plan: dict[str, Any] | None = None, review: ReviewFn = full_review
) -> None:
    await in_do(ctx, **(plan or {}))
    cycle = await ctx.advance("review", [EARLY])
    await ctx.put("review", review(cycle))


async def complete_current(
    ctx: Ctx,
    progress: str,
    decision: str = "continue",
    held_on: str | None = None,
    plan: dict[str, Any] | None = None,
    outcome_progress: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Runs the current cycle to `complete` with every outcome at `progress`."""
    await in_do(ctx, **(plan or {}))
    cycle = await ctx.advance("review", [EARLY])
    review = rated_review(cycle, progress, decision=decision, held_on=held_on or today())
    if outcome_progress is not None:
        review["outcome_progress"] = outcome_progress(cycle)
    await ctx.put("review", review)
    done = await ctx.advance("complete")
    await ctx.refresh_plan()
    return done


async def to_stage(ctx: Ctx, stage: str) -> None:
    """The current cycle in `stage`, with every record complete (assess left empty)."""
    if stage == "plan":
        await in_plan(ctx)
    elif stage == "do":
        await in_do(ctx)
    elif stage == "review":
        await in_review(ctx)
    elif stage == "complete":
        await in_review(ctx)
        await ctx.advance("complete")
