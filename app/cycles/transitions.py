"""Moving a cycle to its next stage under the rules of SPEC.md §3, and the dry run of a move.

`POST /v1/cycles/{id}/transitions` reads top to bottom here: the cycle is locked
(`repository`), what the move's rules read is loaded (`repository`), the stored records become
the pure states of `app/rules`, which judge the move; an accepted move is applied, its events
queued on the outbox (`emit`), and the cycle written (`repository`). Completing a cycle carries
out its review's decision in the same transaction.
"""

import uuid
from datetime import date

from app.core.audit import record_access
from app.core.clock import today_london, utcnow
from app.core.db import DbSession
from app.core.departures import checked_departures, departure_records, refuse_unless_allowed
from app.core.errors import Conflict
from app.core.http import check_if_match
from app.core.outbox import emit
from app.core.security import Principal, Role
from app.cycles import repository
from app.cycles.schemas import TransitionIn
from app.cycles.service import cycle_event, cycle_touched, new_cycle, stored_money
from app.ehc_requests.service import add_draft_request
from app.lifecycle.service import PLAN_READERS, REVIEW_DECISION_CLOSE, end_plan
from app.models import Cycle, Pupil, SupportPlan
from app.models.enums import (
    AuditAction,
    EhcRequestedBy,
    PlanStatus,
    Progress,
    ReviewDecision,
    Stage,
)
from app.rules import (
    AssessmentState,
    CompletedCycleSummary,
    CycleContext,
    CycleState,
    Evaluation,
    OutcomeProgressState,
    OutcomeState,
    PlanState,
    ProvisionState,
    ReviewState,
    evaluate_cycle_transition,
)


async def transition_cycle(
    session: DbSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: TransitionIn,
    if_match: str | None,
) -> Cycle:
    departures = checked_departures(body.departures)
    cycle, plan, pupil = await repository.get_cycle_in_scope(
        session, principal, cycle_id, for_update=True
    )
    principal.require(Role.SENCO)
    check_if_match(if_match, cycle.version)
    _ensure_can_move(plan)
    context = await cycle_context(session, pupil, body.to.value)
    evaluation = evaluate_cycle_transition(
        cycle_state(cycle), body.to.value, context, today_london(), departures
    )
    refuse_unless_allowed(evaluation)

    from_stage = cycle.stage
    now = utcnow()
    cycle.stage = body.to.value
    cycle.stage_entered_at = now
    cycle.departures = [*cycle.departures, *departure_records(evaluation, principal)]
    emit(
        session,
        cycle_event("cycle.transitioned", cycle, pupil, **{"from": from_stage, "to": cycle.stage}),
    )
    if body.to is Stage.COMPLETE:
        cycle.completed_at = now
        if cycle.review["held_on"] is None:
            # A review completed without a meeting date is taken as held that day.
            cycle.review = {**cycle.review, "held_on": today_london().isoformat()}
        cycle.review_held_on = date.fromisoformat(cycle.review["held_on"])
        _apply_decision(session, cycle, plan, pupil)
    await repository.save_cycle(session, cycle)
    await record_access(
        session, principal, AuditAction.TRANSITION, "cycle", [cycle_touched(cycle, pupil)]
    )
    return cycle


async def check_transition(
    session: DbSession, principal: Principal, cycle_id: uuid.UUID, to: Stage
) -> Evaluation:
    cycle, plan, pupil = await repository.get_cycle_in_scope(session, principal, cycle_id)
    principal.require(*PLAN_READERS)
    # The dry run answers as the transition would: a closed plan's cycles cannot move at all.
    _ensure_can_move(plan)
    context = await cycle_context(session, pupil, to.value)
    evaluation = evaluate_cycle_transition(cycle_state(cycle), to.value, context, today_london())
    # A dry run reads the pupil's records to judge them: audited as a read (SPEC.md §4).
    await record_access(
        session, principal, AuditAction.READ, "cycle", [cycle_touched(cycle, pupil)]
    )
    return evaluation


def _ensure_can_move(plan: SupportPlan) -> None:
    if plan.status != PlanStatus.ACTIVE.value:
        raise Conflict(f"The support plan is {plan.status}; its cycles can no longer move")


def _apply_decision(session: DbSession, cycle: Cycle, plan: SupportPlan, pupil: Pupil) -> None:
    """Completing a cycle carries out its review's decision in the same transaction."""
    decision = ReviewDecision(cycle.review["decision"])
    emit(session, cycle_event("review.completed", cycle, pupil, decision=decision.value))
    if decision is ReviewDecision.CLOSE_SUPPORT:
        end_plan(session, plan, pupil, PlanStatus.CLOSED, REVIEW_DECISION_CLOSE)
        return
    following = new_cycle(plan, pupil, cycle.number + 1)
    repository.add_cycle(session, following)
    plan.current_cycle_id = following.id
    if decision is ReviewDecision.REQUEST_EHC_ASSESSMENT:
        add_draft_request(session, pupil, EhcRequestedBy.SCHOOL, cycle.review["impact_summary"])


# --- what the rules read: the pupil's other records, and the stored ones as pure states ------


async def cycle_context(session: DbSession, pupil: Pupil, to: str) -> CycleContext:
    """Only what the rules of the requested move read is loaded."""
    if to == Stage.PLAN.value:
        return CycleContext(
            open_concern_count=await repository.open_concern_count(session, pupil.id)
        )
    if to == Stage.DO.value:
        completed = await repository.completed_cycles(session, pupil.id)
        involvements = await repository.specialist_states(session, pupil.id)
        return CycleContext(
            completed_cycles=tuple(completed_summary(c) for c in completed),
            specialist_involvements=tuple(involvements),
        )
    return CycleContext()


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def cycle_state(cycle: Cycle) -> CycleState:
    assessment, plan, review = cycle.assessment, cycle.plan, cycle.review
    return CycleState(
        stage=cycle.stage,
        assessment=AssessmentState(
            need_count=len(assessment["needs"]),
            sources=frozenset(assessment["sources"]),
            parent_views=assessment["parent_views"],
            pupil_views=assessment["pupil_views"],
        ),
        plan=PlanState(
            outcomes=tuple(
                OutcomeState(id=o["id"], success_criteria=o["success_criteria"])
                for o in plan["outcomes"]
            ),
            provisions=tuple(
                ProvisionState(
                    id=p["id"],
                    hourly_rate=stored_money(p["hourly_rate"]),
                    minutes_per_session=p["minutes_per_session"],
                    sessions_per_week=p["sessions_per_week"],
                    weeks_per_year=p["weeks_per_year"],
                    group_size=p["group_size"],
                    fixed_annual_cost=stored_money(p["fixed_annual_cost"]),
                )
                for p in plan["provisions"]
            ),
            review_date=_date(plan["review_date"]),
            parents_notified_on=_date(plan["parents_notified_on"]),
            parents_consulted_on=_date(plan["parents_consulted_on"]),
            pupil_consulted_on=_date(plan["pupil_consulted_on"]),
            staff_informed_on=_date(plan["staff_informed_on"]),
        ),
        review=ReviewState(
            held_on=_date(review["held_on"]),
            outcome_progress=tuple(
                OutcomeProgressState(
                    outcome_id=e["outcome_id"], rating=e["rating"], progress=e["progress"]
                )
                for e in review["outcome_progress"]
            ),
            pupil_views=review["pupil_views"],
            parent_views=review["parent_views"],
            parents_informed_on=_date(review["parents_informed_on"]),
            decision=review["decision"],
        ),
    )


def completed_summary(cycle: Cycle) -> CompletedCycleSummary:
    assert cycle.completed_at is not None
    progress = {e["outcome_id"]: e["progress"] for e in cycle.review["outcome_progress"]}
    outcome_ids = [o["id"] for o in cycle.plan["outcomes"]]
    return CompletedCycleSummary(
        outcome_count=len(outcome_ids),
        little_or_none_count=sum(
            progress.get(o) == Progress.LITTLE_OR_NONE.value for o in outcome_ids
        ),
        decision=cycle.review["decision"],
        held_on=_date(cycle.review["held_on"]),
        completed_at=cycle.completed_at,
    )
