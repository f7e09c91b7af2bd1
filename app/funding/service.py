"""Top-up funding (SPEC.md §3.6): thresholds per financial year and claims to the home LA.

Who may do what, the claim's state machine and what a submission snapshots; the statements
themselves are in `repository.py`.
"""

import uuid
from decimal import Decimal

from app.core.audit import Touched, record_access
from app.core.clock import utcnow
from app.core.db import DbSession
from app.core.departures import checked_departures, departure_records, refuse_unless_allowed
from app.core.errors import Forbidden, InvalidTransition, StaleVersion
from app.core.http import check_if_match
from app.core.outbox import PendingEvent, emit
from app.core.scope import get_pupil_in_scope
from app.core.security import Principal, Role
from app.funding import repository
from app.funding.schemas import ClaimCreate, ClaimTransitionIn
from app.models import FundingClaim, FundingThreshold, Pupil
from app.models.enums import AuditAction
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


async def threshold_for(session: DbSession, period: str) -> Decimal:
    amount = await repository.get_threshold_amount(session, period)
    return amount if amount is not None else DEFAULT_THRESHOLD


async def list_thresholds(session: DbSession) -> list[FundingThreshold]:
    return await repository.list_thresholds(session)


async def set_threshold(
    session: DbSession,
    principal: Principal,
    period: str,
    amount: Decimal,
    if_match: str | None,
) -> FundingThreshold:
    """Create or replace a period's threshold. If-Match, when sent, must name the current
    version; there is none to match before the first PUT."""
    principal.require(Role.PLATFORM_ADMIN)
    current = await repository.lock_threshold_version(session, period)
    if current is None:
        if if_match is not None:
            raise StaleVersion(f"No threshold is set for {period} yet")
    else:
        check_if_match(if_match, current)
    return await repository.upsert_threshold(session, period, amount)


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
    session: DbSession, principal: Principal, pupil_id: uuid.UUID, data: ClaimCreate
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
    await repository.insert_claim(session, claim)
    await record_access(session, principal, AuditAction.CREATE, "funding_claim", [_touched(claim)])
    emit(session, claim_event("funding_claim.created", claim, pupil))
    return claim


async def read_claim(session: DbSession, principal: Principal, claim_id: uuid.UUID) -> FundingClaim:
    claim, _ = await repository.get_claim_in_scope(session, principal, claim_id)
    principal.require(*READERS)
    await record_access(session, principal, AuditAction.READ, "funding_claim", [_touched(claim)])
    return claim


async def list_claims(
    session: DbSession,
    principal: Principal,
    *,
    la_code: str | None,
    status: str | None,
    period: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[FundingClaim], str | None]:
    principal.require(*READERS)
    rows, next_cursor = await repository.list_claims(
        session,
        principal,
        la_code=la_code,
        status=status,
        period=period,
        limit=limit,
        cursor=cursor,
    )
    await record_access(session, principal, AuditAction.READ, "funding_claim", map(_touched, rows))
    return rows, next_cursor


async def annual_provision_cost_of(session: DbSession, pupil: Pupil) -> Decimal:
    """The annual cost of the provisions of the latest cycle that reached `do` in the pupil's
    most recent plan (for an E pupil, that is the superseded plan)."""
    plan_record = await repository.get_costed_plan_record(session, pupil.id)
    return Decimal(plan_record["annual_cost"]) if plan_record else Decimal("0.00")


async def _submission_context(
    session: DbSession, claim: FundingClaim, pupil: Pupil
) -> ClaimSubmissionContext:
    others = await repository.list_other_claim_statuses(session, claim)
    return ClaimSubmissionContext(
        threshold=await threshold_for(session, claim.period),
        provision_cost=await annual_provision_cost_of(session, pupil),
        sen_status=pupil.sen_status,
        current_cycle_stage=await repository.get_active_plan_stage(session, pupil.id),
        other_claim_statuses=tuple(others),
    )


def _check_mover(principal: Principal, claim: FundingClaim, to: str) -> None:
    if to in DECISIONS:
        if principal.role is not Role.LA_OFFICER or principal.la_code != claim.la_code:
            raise Forbidden("Only an officer of the pupil's home LA decides a claim")
    elif principal.role is not Role.SENCO:
        raise Forbidden("Only the school's SENCO submits or withdraws a claim")


async def transition_claim(
    session: DbSession,
    principal: Principal,
    claim_id: uuid.UUID,
    body: ClaimTransitionIn,
    if_match: str | None,
) -> FundingClaim:
    departures = checked_departures(body.departures)
    decided = Decimal(body.decided_amount) if body.decided_amount is not None else None
    claim, pupil = await repository.get_claim_in_scope(
        session, principal, claim_id, for_update=True
    )
    principal.require(Role.SENCO, Role.LA_OFFICER)
    _check_mover(principal, claim, body.to)
    check_if_match(if_match, claim.version)
    # Serialise with the pupil's other claims: claim.single_per_period reads them.
    await repository.lock_pupil(session, pupil.id)
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
    # A concurrent live claim for the period answers as claim.single_per_period.
    await repository.update_claim(session, claim)
    await record_access(
        session, principal, AuditAction.TRANSITION, "funding_claim", [_touched(claim)]
    )
    emit(session, claim_event(f"funding_claim.{claim.status}", claim, pupil))
    return claim
