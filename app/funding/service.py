"""Top-up funding (SPEC.md §3.6): thresholds per financial year and claims to the home LA."""

import uuid
from decimal import Decimal

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Touched, record_access
from app.core.clock import utcnow
from app.core.departures import checked_departures, departure_records, refuse_unless_allowed
from app.core.errors import (
    Forbidden,
    InvalidTransition,
    RuleViolation,
    RuleViolationItem,
    StaleVersion,
)
from app.core.http import check_if_match, keyset_page
from app.core.outbox import PendingEvent, emit
from app.core.scope import get_pupil_in_scope, get_with_pupil
from app.core.security import Principal, Role
from app.funding.schemas import ClaimCreate, ClaimTransitionIn
from app.models import Cycle, FundingClaim, FundingThreshold, Pupil, SupportPlan
from app.models.enums import AuditAction, PlanStatus, Stage
from app.rules import (
    DEFAULT_THRESHOLD,
    ClaimState,
    ClaimSubmissionContext,
    InvalidMove,
    evaluate_claim_transition,
    recorded_decided_amount,
    requested_amount,
)

READERS = (Role.SENCO, Role.TEACHER, Role.LA_OFFICER, Role.PLATFORM_ADMIN)
DECISIONS = frozenset({"approved", "partially_approved", "rejected"})
REACHED_DO = (Stage.DO.value, Stage.REVIEW.value, Stage.COMPLETE.value)


async def threshold_for(session: AsyncSession, period: str) -> Decimal:
    amount = await session.scalar(
        select(FundingThreshold.amount).where(FundingThreshold.period == period)
    )
    return amount if amount is not None else DEFAULT_THRESHOLD


async def list_thresholds(session: AsyncSession) -> list[FundingThreshold]:
    return list(
        (await session.scalars(select(FundingThreshold).order_by(FundingThreshold.period))).all()
    )


async def set_threshold(
    session: AsyncSession,
    principal: Principal,
    period: str,
    amount: Decimal,
    if_match: str | None,
) -> FundingThreshold:
    """Create or replace a period's threshold. If-Match, when sent, must name the current
    version; there is none to match before the first PUT."""
    principal.require(Role.PLATFORM_ADMIN)
    current = await session.scalar(
        select(FundingThreshold.version).where(FundingThreshold.period == period).with_for_update()
    )
    if current is None:
        if if_match is not None:
            raise StaleVersion(f"No threshold is set for {period} yet")
    else:
        check_if_match(if_match, current)
    # An upsert: two first PUTs racing both succeed, the later one as an update.
    statement = insert(FundingThreshold).values(period=period, amount=amount, version=1)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[FundingThreshold.period],
            set_={
                "amount": statement.excluded.amount,
                "version": FundingThreshold.version + 1,
                "updated_at": utcnow(),
            },
        )
    )
    threshold = await session.scalar(
        select(FundingThreshold)
        .where(FundingThreshold.period == period)
        .execution_options(populate_existing=True)
    )
    assert threshold is not None
    return threshold


def claim_scope(principal: Principal) -> ColumnElement[bool]:
    """An LA sees claims once submitted to it (`la_code` is set on submission)."""
    match principal.role:
        case Role.PLATFORM_ADMIN:
            return true()
        case Role.SENCO | Role.TEACHER | Role.MIS_INTEGRATION:
            return FundingClaim.school_id == principal.school_id
        case Role.LA_OFFICER:
            return FundingClaim.la_code == principal.la_code
        case Role.PARENT:
            if not principal.pupil_ids:
                return false()
            return FundingClaim.pupil_id.in_(principal.pupil_ids)
    return false()


def _touched(claim: FundingClaim) -> Touched:
    return Touched(resource_id=claim.id, pupil_id=claim.pupil_id, school_id=claim.school_id)


def claim_event(type_: str, claim: FundingClaim, pupil: Pupil) -> PendingEvent:
    return PendingEvent(
        type=type_,
        resource="funding_claim",
        resource_id=claim.id,
        pupil_id=pupil.id,
        school_id=claim.school_id,
        # Null until submission: a draft's events never reach an LA's feed (SPEC.md §4).
        la_code=claim.la_code,
        data={"upn": pupil.upn, "period": claim.period, "status": claim.status},
    )


async def create_claim(
    session: AsyncSession, principal: Principal, pupil_id: uuid.UUID, data: ClaimCreate
) -> FundingClaim:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(Role.SENCO)
    claim = FundingClaim(
        id=uuid.uuid4(),
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        period=data.period,
        status="draft",
        departures=[],
    )
    session.add(claim)
    await session.flush()
    await session.refresh(claim)
    await record_access(session, principal, AuditAction.CREATE, "funding_claim", [_touched(claim)])
    emit(session, claim_event("funding_claim.created", claim, pupil))
    return claim


async def _claim_in_scope(
    session: AsyncSession, principal: Principal, claim_id: uuid.UUID, *, for_update: bool
) -> tuple[FundingClaim, Pupil]:
    return await get_with_pupil(
        session,
        FundingClaim,
        claim_id,
        claim_scope(principal),
        what="funding claim",
        for_update=for_update,
    )


async def read_claim(
    session: AsyncSession, principal: Principal, claim_id: uuid.UUID
) -> FundingClaim:
    claim, _ = await _claim_in_scope(session, principal, claim_id, for_update=False)
    principal.require(*READERS)
    await record_access(session, principal, AuditAction.READ, "funding_claim", [_touched(claim)])
    return claim


async def list_claims(
    session: AsyncSession,
    principal: Principal,
    *,
    la_code: str | None,
    status: str | None,
    period: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[FundingClaim], str | None]:
    principal.require(*READERS)
    query = select(FundingClaim).where(claim_scope(principal))
    if la_code is not None:
        query = query.where(FundingClaim.la_code == la_code)
    if status is not None:
        query = query.where(FundingClaim.status == status)
    if period is not None:
        query = query.where(FundingClaim.period == period)
    rows, next_cursor = await keyset_page(
        session, query, (FundingClaim.created_at, FundingClaim.id), limit, cursor
    )
    await record_access(session, principal, AuditAction.READ, "funding_claim", map(_touched, rows))
    return rows, next_cursor


async def annual_provision_cost_of(session: AsyncSession, pupil: Pupil) -> Decimal:
    """The annual cost of the provisions of the latest cycle that reached `do` in the pupil's
    most recent plan (for an E pupil, that is the superseded plan)."""
    latest_plan = (
        select(SupportPlan.id)
        .where(SupportPlan.pupil_id == pupil.id)
        .order_by(SupportPlan.opened_on.desc(), SupportPlan.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    plan_record = await session.scalar(
        select(Cycle.plan)
        .where(Cycle.plan_id == latest_plan, Cycle.stage.in_(REACHED_DO))
        .order_by(Cycle.number.desc())
        .limit(1)
    )
    return Decimal(plan_record["annual_cost"]) if plan_record else Decimal("0.00")


async def _current_cycle_stage(session: AsyncSession, pupil: Pupil) -> str | None:
    stage: str | None = await session.scalar(
        select(Cycle.stage)
        .join(SupportPlan, SupportPlan.current_cycle_id == Cycle.id)
        .where(SupportPlan.pupil_id == pupil.id, SupportPlan.status == PlanStatus.ACTIVE.value)
    )
    return stage


async def _submission_context(
    session: AsyncSession, claim: FundingClaim, pupil: Pupil
) -> ClaimSubmissionContext:
    others = await session.scalars(
        select(FundingClaim.status).where(
            FundingClaim.pupil_id == pupil.id,
            FundingClaim.period == claim.period,
            FundingClaim.id != claim.id,
        )
    )
    return ClaimSubmissionContext(
        threshold=await threshold_for(session, claim.period),
        provision_cost=await annual_provision_cost_of(session, pupil),
        sen_status=pupil.sen_status,
        current_cycle_stage=await _current_cycle_stage(session, pupil),
        other_claim_statuses=tuple(others),
    )


def _check_mover(principal: Principal, claim: FundingClaim, to: str) -> None:
    if to in DECISIONS:
        if principal.role is not Role.LA_OFFICER or principal.la_code != claim.la_code:
            raise Forbidden("Only an officer of the pupil's home LA decides a claim")
    elif principal.role is not Role.SENCO:
        raise Forbidden("Only the school's SENCO submits or withdraws a claim")


async def transition_claim(
    session: AsyncSession,
    principal: Principal,
    claim_id: uuid.UUID,
    body: ClaimTransitionIn,
    if_match: str | None,
) -> FundingClaim:
    departures = checked_departures(body.departures)
    decided = Decimal(body.decided_amount) if body.decided_amount is not None else None
    claim, pupil = await _claim_in_scope(session, principal, claim_id, for_update=True)
    principal.require(Role.SENCO, Role.LA_OFFICER)
    _check_mover(principal, claim, body.to)
    check_if_match(if_match, claim.version)
    # Serialise with the pupil's other claims: claim.single_per_period reads them.
    await session.execute(select(Pupil.id).where(Pupil.id == pupil.id).with_for_update())
    submission = (
        await _submission_context(session, claim, pupil) if body.to == "submitted" else None
    )
    try:
        evaluation = evaluate_claim_transition(
            ClaimState(status=claim.status, requested_amount=claim.requested_amount),
            body.to,
            submission,
            decided,
            departures,
        )
    except InvalidMove:
        raise InvalidTransition(
            [], f"A funding claim cannot move from {claim.status} to {body.to}"
        ) from None
    refuse_unless_allowed(evaluation)

    claim.status = body.to
    claim.departures = [*claim.departures, *departure_records(evaluation, principal)]
    if submission is not None:
        claim.la_code = pupil.home_la_code
        claim.threshold = submission.threshold
        claim.provision_cost = submission.provision_cost
        claim.requested_amount = requested_amount(submission.provision_cost, submission.threshold)
        claim.submitted_at = utcnow()
    if body.to in DECISIONS:
        assert claim.requested_amount is not None
        claim.decided_amount = recorded_decided_amount(body.to, claim.requested_amount, decided)
        claim.decided_by = principal.sub
        claim.decided_at = utcnow()
    if body.note is not None:
        claim.decision_note = body.note
    try:
        await session.flush()
    except IntegrityError as error:
        if "uq_funding_claims_one_live_per_period" in str(error.orig):
            raise RuleViolation(
                [
                    RuleViolationItem(
                        rule="claim.single_per_period",
                        severity="must",
                        message="The pupil already has a live claim for this period",
                    )
                ]
            ) from None
        raise
    await session.refresh(claim)
    await record_access(
        session, principal, AuditAction.TRANSITION, "funding_claim", [_touched(claim)]
    )
    emit(session, claim_event(f"funding_claim.{claim.status}", claim, pupil))
    return claim
