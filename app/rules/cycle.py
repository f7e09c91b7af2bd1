from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.rules.evaluation import (
    Departure,
    Evaluation,
    has_text,
    settle_departures,
    transition_name,
)
from app.rules.money import annual_provision_cost, total_cost
from app.rules.specialist import (
    CompletedCycleSummary,
    SpecialistState,
    little_or_no_progress_violated,
)

STAGES: tuple[str, ...] = ("assess", "plan", "do", "review", "complete")
TEACHER_ASSESSMENT = "teacher_assessment"


def next_stage(stage: str) -> str | None:
    """The only stage a cycle may move to from `stage`; None from `complete` or an unknown
    stage."""
    if stage not in STAGES:
        return None
    position = STAGES.index(stage)
    return STAGES[position + 1] if position + 1 < len(STAGES) else None


@dataclass(frozen=True)
class AssessmentState:
    need_count: int = 0
    sources: frozenset[str] = frozenset()
    parent_views: str | None = None
    pupil_views: str | None = None


@dataclass(frozen=True)
class OutcomeState:
    id: str
    success_criteria: str | None = None


@dataclass(frozen=True)
class ProvisionState:
    id: str
    hourly_rate: Decimal | None = None
    minutes_per_session: Decimal | int | None = None
    sessions_per_week: Decimal | int | None = None
    weeks_per_year: Decimal | int | None = None
    group_size: Decimal | int | None = None
    fixed_annual_cost: Decimal | None = None

    def annual_cost(self) -> Decimal:
        return annual_provision_cost(
            self.hourly_rate,
            self.minutes_per_session,
            self.sessions_per_week,
            self.weeks_per_year,
            self.group_size,
            self.fixed_annual_cost,
        )


@dataclass(frozen=True)
class PlanState:
    outcomes: tuple[OutcomeState, ...] = ()
    provisions: tuple[ProvisionState, ...] = ()
    review_date: date | None = None
    parents_notified_on: date | None = None
    parents_consulted_on: date | None = None
    pupil_consulted_on: date | None = None
    staff_informed_on: date | None = None

    def annual_cost(self) -> Decimal:
        return total_cost(provision.annual_cost() for provision in self.provisions)


@dataclass(frozen=True)
class OutcomeProgressState:
    outcome_id: str
    rating: str | None = None
    progress: str | None = None


@dataclass(frozen=True)
class ReviewState:
    held_on: date | None = None
    outcome_progress: tuple[OutcomeProgressState, ...] = ()
    pupil_views: str | None = None
    parent_views: str | None = None
    parents_informed_on: date | None = None
    decision: str | None = None


@dataclass(frozen=True)
class CycleState:
    stage: str
    assessment: AssessmentState = field(default_factory=AssessmentState)
    plan: PlanState = field(default_factory=PlanState)
    review: ReviewState = field(default_factory=ReviewState)


@dataclass(frozen=True)
class CycleContext:
    """What the cycle rules read beyond the cycle itself, all about the same pupil.

    `completed_cycles` are the pupil's completed cycles across all its plans, in any order.
    """

    open_concern_count: int = 0
    completed_cycles: tuple[CompletedCycleSummary, ...] = ()
    specialist_involvements: tuple[SpecialistState, ...] = ()


def _assess_to_plan(cycle: CycleState, context: CycleContext, today: date) -> list[str]:
    assessment = cycle.assessment
    return [
        rule_id
        for rule_id, broken in (
            ("assessment.needs_identified", assessment.need_count < 1),
            ("assessment.teacher_assessment", TEACHER_ASSESSMENT not in assessment.sources),
            ("assessment.parent_views", not has_text(assessment.parent_views)),
            ("assessment.pupil_views", not has_text(assessment.pupil_views)),
            ("assessment.concerns_considered", context.open_concern_count > 0),
        )
        if broken
    ]


def _plan_to_do(cycle: CycleState, context: CycleContext, today: date) -> list[str]:
    plan = cycle.plan
    outcomes_complete = bool(plan.outcomes) and all(
        has_text(outcome.success_criteria) for outcome in plan.outcomes
    )
    return [
        rule_id
        for rule_id, broken in (
            ("plan.parents_notified", plan.parents_notified_on is None),
            ("plan.provision_set", not plan.provisions),
            ("plan.review_date_set", plan.review_date is None or plan.review_date <= today),
            ("plan.outcomes_set", not outcomes_complete),
            ("plan.parents_consulted", plan.parents_consulted_on is None),
            ("plan.pupil_consulted", plan.pupil_consulted_on is None),
            ("plan.staff_informed", plan.staff_informed_on is None),
            (
                "specialist.little_or_no_progress",
                little_or_no_progress_violated(
                    context.completed_cycles, context.specialist_involvements
                ),
            ),
        )
        if broken
    ]


def _do_to_review(cycle: CycleState, context: CycleContext, today: date) -> list[str]:
    review_date = cycle.plan.review_date
    # Without an agreed date there is nothing to be early against (plan->do requires one).
    if review_date is not None and today < review_date:
        return ["review.on_agreed_date"]
    return []


def _every_outcome_rated(plan: PlanState, review: ReviewState) -> bool:
    rated = {
        entry.outcome_id
        for entry in review.outcome_progress
        if entry.rating is not None and entry.progress is not None
    }
    return all(outcome.id in rated for outcome in plan.outcomes)


def _review_to_complete(cycle: CycleState, context: CycleContext, today: date) -> list[str]:
    review = cycle.review
    return [
        rule_id
        for rule_id, broken in (
            ("review.all_outcomes_rated", not _every_outcome_rated(cycle.plan, review)),
            ("review.decision_recorded", review.decision is None),
            ("review.pupil_views", not has_text(review.pupil_views)),
            ("review.parent_views", not has_text(review.parent_views)),
            ("review.parents_informed", review.parents_informed_on is None),
        )
        if broken
    ]


_CHECKS_BY_TARGET: dict[str, Callable[[CycleState, CycleContext, date], list[str]]] = {
    "plan": _assess_to_plan,
    "do": _plan_to_do,
    "review": _do_to_review,
    "complete": _review_to_complete,
}


def evaluate_cycle_transition(
    cycle: CycleState,
    to: str,
    context: CycleContext,
    today: date,
    departures: Sequence[Departure] = (),
) -> Evaluation:
    """Any target other than the next stage yields exactly `cycle.next_stage`, and no stage
    rule is evaluated."""
    transition = transition_name(cycle.stage, to)
    if to != next_stage(cycle.stage):
        return settle_departures(transition, ["cycle.next_stage"], departures)
    violated = _CHECKS_BY_TARGET[to](cycle, context, today)
    return settle_departures(transition, violated, departures)
