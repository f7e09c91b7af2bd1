"""Cycle stage records (SPEC.md §2): what a PUT sends and what every cycle answer carries."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, model_validator

from app.core.departures import DepartureIn, DepartureOut
from app.core.errors import RuleViolationItem
from app.core.money import MoneyText
from app.core.schemas import LongText, PastDate, ResourceOut, StrictModel
from app.models.enums import (
    AreaOfNeed,
    AssessmentSource,
    DeliveredBy,
    NotificationMethod,
    Progress,
    ProvisionKind,
    Rating,
    ReviewDecision,
    Stage,
    ViewAuthor,
)

MAX_ITEMS = 50


class Need(StrictModel):
    area: AreaOfNeed
    description: LongText


class AssessmentRecord(StrictModel):
    """The Assess stage: a clear analysis of the pupil's needs (Code 6.45)."""

    summary: LongText | None = None
    needs: list[Need] = Field(default_factory=list, max_length=MAX_ITEMS)
    strengths: LongText | None = None
    sources: list[AssessmentSource] = Field(default_factory=list, max_length=8)
    parent_views: LongText | None = None
    pupil_views: LongText | None = None
    external_advice: LongText | None = None

    @model_validator(mode="after")
    def _sources_once(self) -> Self:
        if len(set(self.sources)) != len(self.sources):
            raise ValueError("sources lists each source once")
        return self


class OutcomeIn(StrictModel):
    id: uuid.UUID | None = Field(default=None, description="Keep an existing outcome's id")
    description: LongText
    success_criteria: LongText | None = None
    target_date: date | None = None


class ProvisionIn(StrictModel):
    id: uuid.UUID | None = Field(default=None, description="Keep an existing provision's id")
    kind: ProvisionKind
    description: LongText
    delivered_by: DeliveredBy
    group_size: int = Field(default=1, ge=1, le=100)
    sessions_per_week: int | None = Field(default=None, ge=0, le=50)
    minutes_per_session: int | None = Field(default=None, ge=1, le=600)
    weeks_per_year: int | None = Field(default=None, ge=1, le=52)
    hourly_rate: MoneyText | None = Field(default=None, description='Pounds, e.g. "18.50"')
    fixed_annual_cost: MoneyText | None = Field(default=None, description='e.g. "250.00"')

    @model_validator(mode="after")
    def _staffed_time_whole(self) -> Self:
        staffed = (
            self.hourly_rate,
            self.sessions_per_week,
            self.minutes_per_session,
            self.weeks_per_year,
        )
        given = sum(value is not None for value in staffed)
        if given not in (0, len(staffed)):
            raise ValueError(
                "hourly_rate, sessions_per_week, minutes_per_session and weeks_per_year "
                "go together: give all four or none"
            )
        return self


class PlanRecordIn(StrictModel):
    """The Plan stage: outcomes, costed provision and a date for review (Code 6.48-6.51)."""

    outcomes: list[OutcomeIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    provisions: list[ProvisionIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    review_date: date | None = None
    parents_notified_on: PastDate | None = None
    notification_method: NotificationMethod | None = None
    parents_consulted_on: PastDate | None = None
    pupil_consulted_on: PastDate | None = None
    staff_informed_on: PastDate | None = None


class OutcomeProgress(StrictModel):
    outcome_id: uuid.UUID
    rating: Rating | None = None
    progress: Progress | None = None
    comment: LongText | None = None


class ReviewRecord(StrictModel):
    """The Review stage: impact against each outcome, views, and the decision (Code 6.52-6.56)."""

    held_on: PastDate | None = None
    outcome_progress: list[OutcomeProgress] = Field(default_factory=list, max_length=MAX_ITEMS)
    pupil_views: LongText | None = None
    parent_views: LongText | None = None
    impact_summary: LongText | None = None
    parents_informed_on: PastDate | None = None
    decision: ReviewDecision | None = None

    @model_validator(mode="after")
    def _each_outcome_once(self) -> Self:
        ids = [entry.outcome_id for entry in self.outcome_progress]
        if len(set(ids)) != len(ids):
            raise ValueError("outcome_progress lists each outcome once")
        return self


class Outcome(BaseModel):
    id: uuid.UUID
    description: str
    success_criteria: str | None
    target_date: date | None


class Provision(BaseModel):
    id: uuid.UUID
    kind: ProvisionKind
    description: str
    delivered_by: DeliveredBy
    group_size: int
    sessions_per_week: int | None
    minutes_per_session: int | None
    weeks_per_year: int | None
    hourly_rate: str | None
    fixed_annual_cost: str | None
    annual_cost: str = Field(
        description="hourly_rate * minutes/60 * sessions * weeks / group_size + fixed cost, "
        "rounded half-up to the penny"
    )


class PlanRecord(BaseModel):
    outcomes: list[Outcome]
    provisions: list[Provision]
    review_date: date | None
    parents_notified_on: date | None
    notification_method: NotificationMethod | None
    parents_consulted_on: date | None
    pupil_consulted_on: date | None
    staff_informed_on: date | None
    annual_cost: str = Field(description="The sum of the provisions' annual costs")


class ViewEntry(BaseModel):
    author: ViewAuthor
    text: str
    stage: Stage
    recorded_at: datetime
    recorded_by: str


class CycleOut(ResourceOut):
    plan_id: uuid.UUID
    pupil_id: uuid.UUID
    number: int
    stage: Stage
    stage_entered_at: datetime
    review_overdue: bool = Field(description="The review date has passed and review has not begun")
    departures: list[DepartureOut]
    views_log: list[ViewEntry]
    assessment: AssessmentRecord
    plan: PlanRecord
    review: ReviewRecord


class TransitionIn(StrictModel):
    to: Stage
    departures: list[DepartureIn] = Field(default_factory=list, max_length=30)


class ChecksOut(BaseModel):
    to: Stage
    allowed: bool
    violations: list[RuleViolationItem]


class ViewIn(StrictModel):
    author: ViewAuthor
    text: LongText


class DeliveryLogIn(StrictModel):
    provision_id: uuid.UUID
    delivered_on: PastDate
    minutes: int = Field(ge=0, le=1440)
    attended: bool = True
    note: Annotated[str, Field(max_length=2000)] | None = None


class DeliveryLogOut(BaseModel):
    id: uuid.UUID
    cycle_id: uuid.UUID
    provision_id: uuid.UUID
    delivered_on: date
    minutes: int
    attended: bool
    note: str | None
    recorded_by: str
    created_at: datetime


def empty_record(model: type[StrictModel]) -> dict[str, Any]:
    return model().model_dump(mode="json")


def review_overdue(cycle: Any, today: date) -> bool:
    """Past its agreed review date and not yet at review."""
    return (
        cycle.stage not in (Stage.REVIEW.value, Stage.COMPLETE.value)
        and cycle.review_date is not None
        and cycle.review_date < today
    )


def cycle_out(cycle: Any, today: date) -> CycleOut:
    """The whole cycle as every cycle answer shows it."""
    return CycleOut(
        id=cycle.id,
        version=cycle.version,
        created_at=cycle.created_at,
        updated_at=cycle.updated_at,
        plan_id=cycle.plan_id,
        pupil_id=cycle.pupil_id,
        number=cycle.number,
        stage=cycle.stage,
        stage_entered_at=cycle.stage_entered_at,
        review_overdue=review_overdue(cycle, today),
        departures=[DepartureOut.model_validate(d) for d in cycle.departures],
        views_log=[ViewEntry.model_validate(v) for v in cycle.views_log],
        assessment=AssessmentRecord.model_validate(cycle.assessment),
        plan=PlanRecord.model_validate(cycle.plan),
        review=ReviewRecord.model_validate(cycle.review),
    )
