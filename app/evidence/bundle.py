"""Assembling the EHC evidence bundle: a fixed number of queries whatever the history's size."""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Touched, record_access
from app.core.clock import today_london, utcnow
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
from app.models import (
    Concern,
    Cycle,
    DeliveryLog,
    FundingClaim,
    LocalOfferService,
    School,
    SpecialistInvolvement,
    SupportPlan,
)
from app.models.enums import AuditAction, ConcernStatus, Stage
from app.specialists.schemas import waiting_days

# The school, an officer of the request's LA, and the platform admin, who reads everything
# (SPEC.md §4).
EVIDENCE_READERS = (Role.SENCO, Role.TEACHER, Role.LA_OFFICER, Role.PLATFORM_ADMIN)
REACHED_DO = (Stage.DO.value, Stage.REVIEW.value, Stage.COMPLETE.value)


async def _delivery_totals(
    session: AsyncSession, pupil_id: uuid.UUID
) -> dict[uuid.UUID, list[Any]]:
    """Per cycle, per provision: sessions, attended, minutes, first and last date. One query."""
    rows = await session.execute(
        select(
            DeliveryLog.cycle_id,
            DeliveryLog.provision_id,
            func.count(),
            func.count().filter(DeliveryLog.attended),
            func.coalesce(func.sum(DeliveryLog.minutes), 0),
            func.min(DeliveryLog.delivered_on),
            func.max(DeliveryLog.delivered_on),
        )
        .join(Cycle, Cycle.id == DeliveryLog.cycle_id)
        .where(Cycle.pupil_id == pupil_id)
        .group_by(DeliveryLog.cycle_id, DeliveryLog.provision_id)
    )
    by_cycle: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_cycle[row[0]].append(row)
    return by_cycle


def _delivery(cycle: Cycle, rows: list[Any]) -> DeliveryTotals:
    descriptions = {p["id"]: p["description"] for p in cycle.plan["provisions"]}
    firsts = [row[5] for row in rows]
    lasts = [row[6] for row in rows]
    return DeliveryTotals(
        sessions=sum(row[2] for row in rows),
        sessions_attended=sum(row[3] for row in rows),
        minutes=sum(int(row[4]) for row in rows),
        first_delivered_on=min(firsts) if firsts else None,
        last_delivered_on=max(lasts) if lasts else None,
        by_provision=[
            ProvisionDelivery(
                provision_id=row[1],
                description=descriptions.get(str(row[1]), "(provision since removed)"),
                sessions=row[2],
                sessions_attended=row[3],
                minutes=int(row[4]),
            )
            for row in rows
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
    session: AsyncSession, principal: Principal, request_id: uuid.UUID
) -> EvidenceBundle:
    request, pupil = await get_request_in_scope(session, principal, request_id)
    principal.require(*EVIDENCE_READERS)
    school = await session.get_one(School, pupil.school_id)
    plans = list(
        (
            await session.scalars(
                select(SupportPlan)
                .where(SupportPlan.pupil_id == pupil.id)
                .order_by(SupportPlan.opened_on, SupportPlan.created_at)
            )
        ).all()
    )
    cycles_by_plan: dict[uuid.UUID, list[Cycle]] = defaultdict(list)
    for cycle in await session.scalars(
        select(Cycle).where(Cycle.pupil_id == pupil.id).order_by(Cycle.number)
    ):
        cycles_by_plan[cycle.plan_id].append(cycle)
    delivery = await _delivery_totals(session, pupil.id)
    specialists = list(
        (
            await session.execute(
                select(SpecialistInvolvement, LocalOfferService)
                .outerjoin(
                    LocalOfferService,
                    LocalOfferService.id == SpecialistInvolvement.local_offer_service_id,
                )
                .where(SpecialistInvolvement.pupil_id == pupil.id)
                .order_by(SpecialistInvolvement.requested_on, SpecialistInvolvement.created_at)
            )
        ).all()
    )
    concerns = list(
        (
            await session.scalars(
                select(Concern)
                .where(Concern.pupil_id == pupil.id)
                .order_by(Concern.raised_on, Concern.created_at)
            )
        ).all()
    )
    claim_query = select(FundingClaim).where(FundingClaim.pupil_id == pupil.id)
    if principal.role is Role.LA_OFFICER:
        # Drafts stay the school's (SPEC.md §4): `la_code` is set on submission.
        claim_query = claim_query.where(FundingClaim.la_code.is_not(None))
    claims = list(
        (
            await session.scalars(
                claim_query.order_by(FundingClaim.period, FundingClaim.created_at)
            )
        ).all()
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
