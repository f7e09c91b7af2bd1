"""The EHC evidence bundle (SPEC.md §6): everything an LA panel weighs, in date order.

Sections follow what the Code says the LA considers (DOMAIN.md §4.2, CoP 9.14): the nature of
the need, attainment and progress, the action taken, the extra support given and its cost, and
health and social needs (specialist advice), with the views of the pupil and parents throughout.
"""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from app.core.departures import DepartureOut
from app.cycles.schemas import AssessmentRecord, PlanRecord, ReviewRecord, ViewEntry


class BundleRequest(BaseModel):
    id: uuid.UUID
    status: str
    requested_by: str
    reason: str | None
    la_code: str | None
    submitted_on: date | None
    decision_due_on: date | None
    issue_decision_due_on: date | None
    final_plan_due_on: date | None
    decided_on: date | None
    decision_note: str | None
    departures: list[DepartureOut]


class BundlePupil(BaseModel):
    id: uuid.UUID
    upn: str
    first_name: str
    last_name: str
    date_of_birth: date
    year_group: str
    home_la_code: str
    pupil_premium: bool
    sen_status: str
    primary_need: str | None
    secondary_need: str | None


class BundleSchool(BaseModel):
    id: uuid.UUID
    urn: str
    name: str
    la_code: str
    establishment_type: str


class ProvisionDelivery(BaseModel):
    provision_id: uuid.UUID
    description: str
    sessions: int
    sessions_attended: int
    minutes: int


class DeliveryTotals(BaseModel):
    sessions: int
    sessions_attended: int
    minutes: int
    first_delivered_on: date | None
    last_delivered_on: date | None
    by_provision: list[ProvisionDelivery]


class BundleCycle(BaseModel):
    id: uuid.UUID
    number: int
    stage: str
    started_at: datetime = Field(description="When the cycle was opened (entered assess)")
    stage_entered_at: datetime
    completed_at: datetime | None
    assessment: AssessmentRecord
    plan: PlanRecord
    delivery: DeliveryTotals
    review: ReviewRecord
    departures: list[DepartureOut]
    views_log: list[ViewEntry]


class BundlePlan(BaseModel):
    id: uuid.UUID
    status: str
    opened_on: date
    closed_on: date | None
    close_reason: str | None
    class_teacher: str | None
    senco: str | None
    areas_of_need: list[str]
    cycles: list[BundleCycle]


class OutcomeProgressPoint(BaseModel):
    description: str
    rating: str | None
    progress: str | None


class CycleProgress(BaseModel):
    """One point of the trajectory: how the outcomes of one completed cycle were rated."""

    plan_id: uuid.UUID
    cycle_number: int
    held_on: date | None
    decision: str | None
    good: int
    expected: int
    little_or_none: int
    not_rated: int
    outcomes: list[OutcomeProgressPoint]


class BundleSpecialist(BaseModel):
    id: uuid.UUID
    service: str
    parents_involved_on: date | None
    parental_consent: bool
    requested_on: date | None
    advice_received_on: date | None
    advice_summary: str | None
    waiting_days: int | None
    departures: list[DepartureOut]


class BundleConcern(BaseModel):
    id: uuid.UUID
    raised_by: str
    raised_on: date
    description: str
    status: str
    response: str | None
    responded_on: date | None


class BundleClaim(BaseModel):
    id: uuid.UUID
    period: str
    status: str
    la_code: str | None
    threshold: str | None
    provision_cost: str | None
    requested_amount: str | None
    decided_amount: str | None
    decided_at: datetime | None


class BundleDeparture(DepartureOut):
    where: str = Field(description='e.g. "plan 2026-09-01, cycle 2" or "specialist involvement"')


class TimelineEntry(BaseModel):
    on: date
    kind: str = Field(description="plan_opened, stage, review, specialist, concern, claim, …")
    summary: str


class BundleSummary(BaseModel):
    support_since: date | None
    plans: int
    cycles_completed: int
    latest_annual_provision_cost: str = Field(description="Of the latest cycle that reached do")
    specialist_involvements: int
    open_concerns: int


class EvidenceBundle(BaseModel):
    generated_at: datetime
    request: BundleRequest
    pupil: BundlePupil
    school: BundleSchool
    summary: BundleSummary
    support_plans: list[BundlePlan] = Field(description="Oldest first, cycles by number")
    progress: list[CycleProgress] = Field(description="Completed cycles in order: the trajectory")
    specialist_involvements: list[BundleSpecialist]
    concerns: list[BundleConcern]
    funding_claims: list[BundleClaim]
    departures: list[BundleDeparture] = Field(description="Every accepted departure, by date")
    timeline: list[TimelineEntry] = Field(description="Everything above, in date order")
