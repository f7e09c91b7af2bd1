"""Builders of states that pass every rule of their transition; tests change one thing."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.rules import (
    AssessmentState,
    ClaimState,
    ClaimSubmissionContext,
    CompletedCycleSummary,
    CycleContext,
    CycleState,
    Departure,
    Evaluation,
    OutcomeProgressState,
    OutcomeState,
    PlanState,
    ProvisionState,
    ReviewState,
    SpecialistState,
    evaluate_cycle_transition,
)

TODAY = date(2026, 5, 14)
GOOD_REASON = "Parents asked to start before the half-term break."


def days(n: int) -> timedelta:
    return timedelta(days=n)


def complete_assessment(**changes: Any) -> AssessmentState:
    assessment = AssessmentState(
        need_count=1,
        sources=frozenset({"teacher_assessment", "parent_views", "pupil_views"}),
        parent_views="We see the same difficulties with reading at home.",
        pupil_views="I like it when words are read out to me.",
    )
    return replace(assessment, **changes)


def complete_plan(**changes: Any) -> PlanState:
    plan = PlanState(
        outcomes=(
            OutcomeState(id="o1", success_criteria="Reads 40 words a minute"),
            OutcomeState(id="o2", success_criteria="Joins in group discussion weekly"),
        ),
        provisions=(
            ProvisionState(
                id="p1",
                hourly_rate=Decimal("18.00"),
                minutes_per_session=30,
                sessions_per_week=3,
                weeks_per_year=38,
                group_size=1,
            ),
        ),
        review_date=TODAY + days(42),
        parents_notified_on=TODAY - days(3),
        parents_consulted_on=TODAY - days(3),
        pupil_consulted_on=TODAY - days(2),
        staff_informed_on=TODAY - days(1),
    )
    return replace(plan, **changes)


def complete_review(**changes: Any) -> ReviewState:
    review = ReviewState(
        held_on=TODAY,
        outcome_progress=(
            OutcomeProgressState(outcome_id="o1", rating="achieved", progress="good"),
            OutcomeProgressState(outcome_id="o2", rating="partially_achieved", progress="expected"),
        ),
        pupil_views="Reading group helps me.",
        parent_views="Reading at home is much better.",
        parents_informed_on=TODAY,
        decision="continue",
    )
    return replace(review, **changes)


def cycle_in(stage: str, **changes: Any) -> CycleState:
    """A cycle at `stage` whose records satisfy every rule of the move out of it."""
    review_date = TODAY - days(1) if stage in {"do", "review"} else TODAY + days(42)
    cycle = CycleState(
        stage=stage,
        assessment=complete_assessment(),
        plan=complete_plan(review_date=review_date),
        review=complete_review(),
    )
    return replace(cycle, **changes)


def with_assessment(stage: str, **changes: Any) -> CycleState:
    return cycle_in(stage, assessment=complete_assessment(**changes))


def with_plan(stage: str, **changes: Any) -> CycleState:
    base = cycle_in(stage)
    return replace(base, plan=replace(base.plan, **changes))


def with_review(stage: str, **changes: Any) -> CycleState:
    return cycle_in(stage, review=complete_review(**changes))


def completed_cycle(
    *,
    completed_on: date,
    outcome_count: int = 2,
    little_or_none_count: int = 0,
    decision: str | None = "continue",
    held_on: date | None = None,
) -> CompletedCycleSummary:
    return CompletedCycleSummary(
        outcome_count=outcome_count,
        little_or_none_count=little_or_none_count,
        decision=decision,
        held_on=completed_on if held_on is None else held_on,
        completed_at=datetime(
            completed_on.year, completed_on.month, completed_on.day, 15, 30, tzinfo=UTC
        ),
    )


def consented_specialist(requested_on: date | None) -> SpecialistState:
    return SpecialistState(parental_consent=True, requested_on=requested_on)


def context(**changes: Any) -> CycleContext:
    return replace(CycleContext(), **changes)


def claim_submission(**changes: Any) -> ClaimSubmissionContext:
    submission = ClaimSubmissionContext(
        threshold=Decimal("6000.00"),
        provision_cost=Decimal("7250.50"),
        sen_status="K",
        current_cycle_stage="do",
        other_claim_statuses=(),
    )
    return replace(submission, **changes)


def submitted_claim(requested: str = "1250.50") -> ClaimState:
    return ClaimState(status="submitted", requested_amount=Decimal(requested))


@dataclass(frozen=True)
class RuleCase:
    """One row of a rule table: a request and the rules it must be refused for (none when it
    must be allowed). `rule` names the rule the row is about."""

    rule: str
    name: str
    evaluate: Callable[[Sequence[Departure]], Evaluation]
    expected: tuple[str, ...]

    @property
    def id(self) -> str:
        outcome = "refused" if self.expected else "allowed"
        return f"{self.rule} {outcome}: {self.name}"


def cycle_case(
    rule: str,
    name: str,
    cycle: CycleState,
    to: str,
    expected: tuple[str, ...],
    cycle_context: CycleContext | None = None,
    today: date = TODAY,
) -> RuleCase:
    def evaluate(departures: Sequence[Departure]) -> Evaluation:
        return evaluate_cycle_transition(
            cycle, to, cycle_context or CycleContext(), today, departures
        )

    return RuleCase(rule, name, evaluate, expected)
