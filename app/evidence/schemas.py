"""The EHC evidence bundle (SPEC.md §6): everything an LA panel weighs, in date order.

Sections follow what the Code says the LA considers (DOMAIN.md §4.2, CoP 9.14): the nature of
the need, attainment and progress, the action taken, the extra support given and its cost, and
health and social needs (specialist advice), with the views of the pupil and parents throughout.
"""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field, computed_field

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


class BundleLocalOfferService(BaseModel):
    """The Local Offer service a referral named, with the LA's published target."""

    id: uuid.UUID
    la_code: str
    name: str
    target_days: int


class BundleSpecialist(BaseModel):
    id: uuid.UUID
    service: str
    parents_involved_on: date | None
    parental_consent: bool
    requested_on: date | None
    advice_received_on: date | None
    advice_summary: str | None
    waiting_days: int | None = Field(
        description="From requested_on to advice_received_on, or to the bundle's day while "
        "still waiting"
    )
    local_offer_service: BundleLocalOfferService | None = None
    departures: list[DepartureOut]

    @computed_field(description="Requested, and no advice yet: an open referral")  # type: ignore[prop-decorator]
    @property
    def still_waiting(self) -> bool:
        return self.requested_on is not None and self.advice_received_on is None

    @computed_field(  # type: ignore[prop-decorator]
        description="waiting_days beyond the named Local Offer service's target_days; null "
        "when no service with a target is named"
    )
    @property
    def over_target(self) -> bool | None:
        if self.local_offer_service is None or self.waiting_days is None:
            return None
        return self.waiting_days > self.local_offer_service.target_days


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
    open_referrals: int = Field(description="Specialist referrals still waiting for advice")
    longest_open_referral_days: int | None = Field(
        description="How long the longest-waiting open referral has waited; null when none"
    )
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
