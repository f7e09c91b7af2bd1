"""Assembling the EHC evidence bundle: a fixed number of queries whatever the history's size.

The queries, one per section, are in `repository.py`; this module turns their rows into the
bundle's sections, its timeline and its departures.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.core.audit import Touched, record_access
from app.core.clock import today_london, utcnow
from app.core.db import DbSession
from app.core.departures import DepartureOut
from app.core.money import money_text
from app.core.schemas import STORED
from app.core.security import Principal, Role
from app.cycles.schemas import (
    AssessmentRecord,
    PlanRecord,
    ReviewRecord,
    ViewEntry,
)
from app.ehc_requests.repository import get_request_in_scope
from app.evidence import repository
from app.evidence.repository import ProvisionDeliveryTotals
from app.evidence.schemas import (
    BundleClaim,
    BundleConcern,
    BundleCycle,
    BundleDeparture,
    BundleLocalOfferService,
    BundlePlan,
    BundlePupil,
    BundleRequest,
    BundleSchool,
    BundleSpecialist,
    BundleSummary,
    CycleProgress,
    DeliveryTotals,
    EvidenceBundle,
    OutcomeProgressPoint,
    ProvisionDelivery,
    TimelineEntry,
)
from app.models import Cycle, SupportPlan
from app.models.enums import AuditAction, ConcernStatus, Stage
from app.specialists.schemas import waiting_days

# The school, an officer of the request's LA, and the platform admin, who reads everything
# (SPEC.md §4).
EVIDENCE_READERS = (Role.SENCO, Role.TEACHER, Role.LA_OFFICER, Role.PLATFORM_ADMIN)
REACHED_DO = (Stage.DO.value, Stage.REVIEW.value, Stage.COMPLETE.value)


def _delivery(cycle: Cycle, totals: list[ProvisionDeliveryTotals]) -> DeliveryTotals:
    descriptions = {p["id"]: p["description"] for p in cycle.plan["provisions"]}
    firsts = [t.first_delivered_on for t in totals]
    lasts = [t.last_delivered_on for t in totals]
    return DeliveryTotals(
        sessions=sum(t.sessions for t in totals),
        sessions_attended=sum(t.attended for t in totals),
        minutes=sum(t.minutes for t in totals),
        first_delivered_on=min(firsts) if firsts else None,
        last_delivered_on=max(lasts) if lasts else None,
        by_provision=[
            ProvisionDelivery(
                provision_id=t.provision_id,
                description=descriptions.get(str(t.provision_id), "(provision since removed)"),
                sessions=t.sessions,
                sessions_attended=t.attended,
                minutes=t.minutes,
            )
            for t in totals
        ],
    )


def _progress(plan: SupportPlan, cycle: Cycle) -> CycleProgress:
    rated = {e["outcome_id"]: e for e in cycle.review["outcome_progress"]}
    points = [
        OutcomeProgressPoint(
            description=o["description"],
            rating=rated.get(o["id"], {}).get("rating"),
            progress=rated.get(o["id"], {}).get("progress"),
        )
        for o in cycle.plan["outcomes"]
    ]
    counts = {"good": 0, "expected": 0, "little_or_none": 0, "not_rated": 0}
    for point in points:
        counts[point.progress or "not_rated"] += 1
    return CycleProgress(
        plan_id=plan.id,
        cycle_number=cycle.number,
        held_on=cycle.review_held_on,
        decision=cycle.review["decision"],
        outcomes=points,
        **counts,
    )


@dataclass
class _Log:
    """The bundle's dated timeline and accepted departures, gathered section by section."""

    timeline: list[TimelineEntry] = field(default_factory=list)
    departures: list[BundleDeparture] = field(default_factory=list)

    def event(self, on: date, kind: str, summary: str) -> None:
        self.timeline.append(TimelineEntry(on=on, kind=kind, summary=summary))


def _departures(records: list[dict[str, Any]], where: str) -> list[BundleDeparture]:
    return [BundleDeparture(**record, where=where) for record in records]


async def build_evidence_bundle(
    session: DbSession, principal: Principal, request_id: uuid.UUID
) -> EvidenceBundle:
    request, pupil = await get_request_in_scope(session, principal, request_id)
    principal.require(*EVIDENCE_READERS)
    school = await repository.get_school(session, pupil.school_id)
    plans = await repository.plans_of_pupil(session, pupil.id)
    cycles_by_plan = await repository.cycles_by_plan(session, pupil.id)
    delivery = await repository.delivery_totals_by_cycle(session, pupil.id)
    specialists = await repository.involvements_with_offer(session, pupil.id)
    concerns = await repository.concerns_of_pupil(session, pupil.id)
    # Drafts stay the school's (SPEC.md §4), in an LA officer's bundle as everywhere else.
    claims = await repository.claims_of_pupil(
        session, pupil.id, submitted_only=principal.role is Role.LA_OFFICER
    )
    today = today_london()
    log = _Log()
    progress: list[CycleProgress] = []
    bundle_plans: list[BundlePlan] = []
    for plan in plans:
        log.event(plan.opened_on, "plan_opened", "SEN support plan opened")
        if plan.closed_on is not None:
            log.event(
                plan.closed_on,
                "plan_closed",
                f"Support plan {plan.status} ({plan.close_reason or 'no reason given'})",
            )
        bundle_cycles = []
        for cycle in cycles_by_plan[plan.id]:
            where = f"plan opened {plan.opened_on.isoformat()}, cycle {cycle.number}"
            log.departures += _departures(cycle.departures, where)
            log.event(
                cycle.created_at.date(), "cycle_started", f"Cycle {cycle.number} began (assess)"
            )
            if cycle.completed_at is not None:
                progress.append(_progress(plan, cycle))
                log.event(
                    cycle.review_held_on or cycle.completed_at.date(),
                    "review",
                    f"Cycle {cycle.number} reviewed: decision {cycle.review['decision']}",
                )
            bundle_cycles.append(
                BundleCycle(
                    id=cycle.id,
                    number=cycle.number,
                    stage=cycle.stage,
                    started_at=cycle.created_at,
                    stage_entered_at=cycle.stage_entered_at,
                    completed_at=cycle.completed_at,
                    assessment=AssessmentRecord.model_validate(cycle.assessment, context=STORED),
                    plan=PlanRecord.model_validate(cycle.plan, context=STORED),
                    delivery=_delivery(cycle, delivery.get(cycle.id, [])),
                    review=ReviewRecord.model_validate(cycle.review, context=STORED),
                    departures=[
                        DepartureOut.model_validate(d, context=STORED) for d in cycle.departures
                    ],
                    views_log=[
                        ViewEntry.model_validate(v, context=STORED) for v in cycle.views_log
                    ],
                )
            )
        bundle_plans.append(
            BundlePlan(
                id=plan.id,
                status=plan.status,
                opened_on=plan.opened_on,
                closed_on=plan.closed_on,
                close_reason=plan.close_reason,
                class_teacher=plan.class_teacher,
                senco=plan.senco,
                areas_of_need=plan.areas_of_need,
                cycles=bundle_cycles,
            )
        )

    bundle_specialists = []
    for involvement, local_offer in specialists:
        log.departures += _departures(involvement.departures, f"{involvement.service} involvement")
        if involvement.requested_on is not None:
            log.event(involvement.requested_on, "specialist", f"Referred to {involvement.service}")
        if involvement.advice_received_on is not None:
            log.event(
                involvement.advice_received_on,
                "specialist",
                f"Advice received from {involvement.service}",
            )
        bundle_specialists.append(
            BundleSpecialist(
                id=involvement.id,
                service=involvement.service,
                parents_involved_on=involvement.parents_involved_on,
                parental_consent=involvement.parental_consent,
                requested_on=involvement.requested_on,
                advice_received_on=involvement.advice_received_on,
                advice_summary=involvement.advice_summary,
                waiting_days=waiting_days(
                    involvement.requested_on, involvement.advice_received_on, today
                ),
                local_offer_service=None
                if local_offer is None
                else BundleLocalOfferService.model_validate(local_offer, from_attributes=True),
                departures=[DepartureOut.model_validate(d) for d in involvement.departures],
            )
        )
    open_waits = [
        s.waiting_days for s in bundle_specialists if s.still_waiting and s.waiting_days is not None
    ]
    for concern in concerns:
        log.event(concern.raised_on, "concern", f"Concern raised by {concern.raised_by}")
        if concern.responded_on is not None:
            log.event(concern.responded_on, "concern", "Concern responded to")
    bundle_claims = []
    for claim in claims:
        log.departures += _departures(claim.departures, f"top-up claim {claim.period}")
        if claim.submitted_at is not None:
            log.event(claim.submitted_at.date(), "claim", f"Top-up claim {claim.period} submitted")
        if claim.decided_at is not None:
            log.event(
                claim.decided_at.date(), "claim", f"Top-up claim {claim.period} {claim.status}"
            )
        bundle_claims.append(
            BundleClaim(
                id=claim.id,
                period=claim.period,
                status=claim.status,
                la_code=claim.la_code,
                threshold=_money(claim.threshold),
                provision_cost=_money(claim.provision_cost),
                requested_amount=_money(claim.requested_amount),
                decided_amount=_money(claim.decided_amount),
                decided_at=claim.decided_at,
            )
        )
    log.departures += _departures(request.departures, "this EHC request")
    if request.submitted_on is not None:
        log.event(request.submitted_on, "ehc_request", "EHC needs assessment requested")

    await record_access(
        session,
        principal,
        AuditAction.EXPORT,
        "ehc_evidence",
        [Touched(resource_id=request.id, pupil_id=pupil.id, school_id=pupil.school_id)],
    )
    return EvidenceBundle(
        generated_at=utcnow(),
        request=BundleRequest.model_validate(request, from_attributes=True),
        pupil=BundlePupil.model_validate(pupil, from_attributes=True),
        school=BundleSchool.model_validate(school, from_attributes=True),
        summary=BundleSummary(
            support_since=plans[0].opened_on if plans else None,
            plans=len(plans),
            cycles_completed=len(progress),
            latest_annual_provision_cost=_latest_cost(plans, cycles_by_plan),
            specialist_involvements=len(specialists),
            open_referrals=len(open_waits),
            longest_open_referral_days=max(open_waits, default=None),
            open_concerns=sum(c.status == ConcernStatus.OPEN.value for c in concerns),
        ),
        support_plans=bundle_plans,
        progress=progress,
        specialist_involvements=bundle_specialists,
        concerns=[BundleConcern.model_validate(c, from_attributes=True) for c in concerns],
        funding_claims=bundle_claims,
        departures=sorted(log.departures, key=lambda d: d.recorded_at),
        timeline=sorted(log.timeline, key=lambda entry: entry.on),
    )


def _money(amount: Any) -> str | None:
    return None if amount is None else money_text(amount)


def _latest_cost(plans: list[SupportPlan], cycles_by_plan: dict[uuid.UUID, list[Cycle]]) -> str:
    """As a top-up claim counts it: the latest cycle that reached do, in the latest plan."""
    if not plans:
        return "0.00"
    reached = [c for c in cycles_by_plan[plans[-1].id] if c.stage in REACHED_DO]
    return str(reached[-1].plan["annual_cost"]) if reached else "0.00"
