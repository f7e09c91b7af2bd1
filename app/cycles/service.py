"""The graduated approach: stage records, views, delivery, and transitions checked by the rules.

Every change to a cycle locks its row first, so concurrent edits and transitions of one cycle
are serialised by the database and each re-checks the rules against what is really there.
"""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Touched, record_access
from app.core.clock import today_london, utcnow
from app.core.departures import checked_departures, departure_records, refuse_unless_allowed
from app.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    StageLocked,
    ValidationFailed,
)
from app.core.http import check_if_match, keyset_page
from app.core.money import money_text
from app.core.outbox import PendingEvent, emit
from app.core.scope import pupil_scope
from app.core.security import Principal, Role
from app.cycles.schemas import (
    AssessmentRecord,
    DeliveryLogIn,
    PlanRecordIn,
    ReviewRecord,
    TransitionIn,
    ViewIn,
    empty_record,
)
from app.ehc_requests.service import add_draft_request
from app.lifecycle.repository import get_plan_in_scope
from app.lifecycle.service import (
    PLAN_READERS,
    REVIEW_DECISION_CLOSE,
    end_plan,
)
from app.models import (
    Concern,
    Cycle,
    DeliveryLog,
    Pupil,
    SpecialistInvolvement,
    SupportPlan,
)
from app.models.enums import (
    AuditAction,
    ConcernStatus,
    EhcRequestedBy,
    PlanStatus,
    Progress,
    ReviewDecision,
    Stage,
    ViewAuthor,
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
    SpecialistState,
    annual_provision_cost,
    evaluate_cycle_transition,
    total_cost,
)

STAFF_WRITERS = (Role.SENCO, Role.TEACHER)
# The largest amount money columns hold (NUMERIC(12, 2)), as MoneyText allows in requests.
LARGEST_AMOUNT = Decimal("9999999999.99")
RECORD_STAGE = {"assessment": Stage.ASSESS, "plan": Stage.PLAN, "review": Stage.REVIEW}
RECORD_EDITORS = {
    "assessment": STAFF_WRITERS,
    "plan": (Role.SENCO,),
    "review": (Role.SENCO,),
}
# In `plan`, a view is the record of consulting parent or pupil: its date is what counts.
CONSULTED_FIELD = {
    ViewAuthor.PARENT: "parents_consulted_on",
    ViewAuthor.PUPIL: "pupil_consulted_on",
}


def cycle_touched(cycle: Cycle, pupil: Pupil) -> Touched:
    return Touched(resource_id=cycle.id, pupil_id=pupil.id, school_id=pupil.school_id)


def cycle_event(type_: str, cycle: Cycle, pupil: Pupil, **data: Any) -> PendingEvent:
    return PendingEvent(
        type=type_,
        resource="cycle",
        resource_id=cycle.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        la_code=pupil.home_la_code,
        data={"upn": pupil.upn, "plan_id": str(cycle.plan_id), "number": cycle.number, **data},
    )


def new_cycle(plan: SupportPlan, pupil: Pupil, number: int) -> Cycle:
    return Cycle(
        id=uuid.uuid4(),
        plan_id=plan.id,
        pupil_id=pupil.id,
        school_id=pupil.school_id,
        number=number,
        stage=Stage.ASSESS.value,
        stage_entered_at=utcnow(),
        assessment=empty_record(AssessmentRecord),
        plan={**empty_record(PlanRecordIn), "annual_cost": "0.00"},
        review=empty_record(ReviewRecord),
        departures=[],
        views_log=[],
    )


async def get_cycle_in_scope(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Cycle, SupportPlan, Pupil]:
    query = (
        select(Cycle, SupportPlan, Pupil)
        .join(SupportPlan, SupportPlan.id == Cycle.plan_id)
        .join(Pupil, Pupil.id == Cycle.pupil_id)
        .where(Cycle.id == cycle_id, pupil_scope(principal))
    )
    if for_update:
        query = query.with_for_update(of=Cycle)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("No such cycle")
    cycle, plan, pupil = row
    return cycle, plan, pupil


def _ensure_plan_active(plan: SupportPlan) -> None:
    if plan.status != PlanStatus.ACTIVE.value:
        raise StageLocked(f"The support plan is {plan.status}; its cycles can no longer change")


def _ensure_in_stage(cycle: Cycle, plan: SupportPlan, record: str, stage: Stage) -> None:
    _ensure_plan_active(plan)
    if cycle.stage != stage.value:
        raise StageLocked(
            f"The {record} can be changed only while the cycle is in {stage.value}; "
            f"it is in {cycle.stage}"
        )


async def read_cycle(session: AsyncSession, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    cycle, _, pupil = await get_cycle_in_scope(session, principal, cycle_id)
    principal.require(*PLAN_READERS)
    await record_access(
        session, principal, AuditAction.READ, "cycle", [cycle_touched(cycle, pupil)]
    )
    return cycle


async def list_cycles(
    session: AsyncSession,
    principal: Principal,
    plan_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[Cycle], str | None]:
    plan, pupil = await get_plan_in_scope(session, principal, plan_id)
    principal.require(*PLAN_READERS)
    rows, next_cursor = await keyset_page(
        session, select(Cycle).where(Cycle.plan_id == plan.id), (Cycle.number,), limit, cursor
    )
    await record_access(
        session, principal, AuditAction.READ, "cycle", [cycle_touched(c, pupil) for c in rows]
    )
    return rows, next_cursor


async def _updated(
    session: AsyncSession, principal: Principal, cycle: Cycle, pupil: Pupil, record: str
) -> Cycle:
    await session.flush()
    await session.refresh(cycle)
    await record_access(
        session, principal, AuditAction.UPDATE, "cycle", [cycle_touched(cycle, pupil)]
    )
    emit(session, cycle_event("cycle.updated", cycle, pupil, stage=cycle.stage, changed=[record]))
    return cycle


async def put_assessment(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: AssessmentRecord,
    if_match: str | None,
) -> Cycle:
    cycle, plan, pupil = await get_cycle_in_scope(session, principal, cycle_id, for_update=True)
    principal.require(*RECORD_EDITORS["assessment"])
    check_if_match(if_match, cycle.version)
    _ensure_in_stage(cycle, plan, "assessment", Stage.ASSESS)
    cycle.assessment = body.model_dump(mode="json")
    return await _updated(session, principal, cycle, pupil, "assessment")


def _kept_ids(
    field: str, incoming: list[Any], existing: list[dict[str, Any]]
) -> tuple[list[str], list[FieldError]]:
    """Items resent with an id keep it; new ones get one; an unknown id is refused."""
    known = {item["id"] for item in existing}
    ids: list[str] = []
    errors: list[FieldError] = []
    for index, item in enumerate(incoming):
        if item.id is None:
            ids.append(str(uuid.uuid4()))
        elif str(item.id) in known:
            ids.append(str(item.id))
        else:
            errors.append(FieldError(field=f"{field}.{index}.id", message="No such item"))
            ids.append(str(item.id))
    if len(set(ids)) != len(ids):
        errors.append(FieldError(field=field, message="The same id appears twice"))
    return ids, errors


def _money(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def stored_plan(body: PlanRecordIn, existing: dict[str, Any]) -> dict[str, Any]:
    outcome_ids, outcome_errors = _kept_ids("outcomes", body.outcomes, existing["outcomes"])
    provision_ids, provision_errors = _kept_ids(
        "provisions", body.provisions, existing["provisions"]
    )
    if outcome_errors or provision_errors:
        raise ValidationFailed(outcome_errors + provision_errors)
    record = body.model_dump(mode="json")
    for outcome, outcome_id in zip(record["outcomes"], outcome_ids, strict=True):
        outcome["id"] = outcome_id
    costs: list[Decimal] = []
    for provision, provision_id in zip(record["provisions"], provision_ids, strict=True):
        provision["id"] = provision_id
        cost = annual_provision_cost(
            _money(provision["hourly_rate"]),
            provision["minutes_per_session"],
            provision["sessions_per_week"],
            provision["weeks_per_year"],
            provision["group_size"],
            _money(provision["fixed_annual_cost"]),
        )
        provision["annual_cost"] = money_text(cost)
        for name in ("hourly_rate", "fixed_annual_cost"):
            if provision[name] is not None:
                provision[name] = money_text(Decimal(provision[name]))
        costs.append(cost)
    total = total_cost(costs)
    if total > LARGEST_AMOUNT:
        # Money columns hold ten digits of pounds: a top-up claim could not snapshot this cost.
        raise ValidationFailed(
            [
                FieldError(
                    field="provisions",
                    message=f"The plan's annual cost {money_text(total)} is over the largest "
                    f"amount the service records, {money_text(LARGEST_AMOUNT)}",
                )
            ]
        )
    record["annual_cost"] = money_text(total)
    return record


async def put_plan(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: PlanRecordIn,
    if_match: str | None,
) -> Cycle:
    cycle, plan, pupil = await get_cycle_in_scope(session, principal, cycle_id, for_update=True)
    principal.require(*RECORD_EDITORS["plan"])
    check_if_match(if_match, cycle.version)
    _ensure_in_stage(cycle, plan, "plan", Stage.PLAN)
    cycle.plan = stored_plan(body, cycle.plan)
    cycle.review_date = body.review_date
    return await _updated(session, principal, cycle, pupil, "plan")


async def put_review(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: ReviewRecord,
    if_match: str | None,
) -> Cycle:
    cycle, plan, pupil = await get_cycle_in_scope(session, principal, cycle_id, for_update=True)
    principal.require(*RECORD_EDITORS["review"])
    check_if_match(if_match, cycle.version)
    _ensure_in_stage(cycle, plan, "review", Stage.REVIEW)
    outcome_ids = {outcome["id"] for outcome in cycle.plan["outcomes"]}
    unknown = [
        FieldError(
            field=f"outcome_progress.{index}.outcome_id", message="Not an outcome of this cycle"
        )
        for index, entry in enumerate(body.outcome_progress)
        if str(entry.outcome_id) not in outcome_ids
    ]
    if unknown:
        raise ValidationFailed(unknown)
    cycle.review = body.model_dump(mode="json")
    cycle.review_held_on = body.held_on
    return await _updated(session, principal, cycle, pupil, "review")


def _appended(existing: str | None, text: str) -> str:
    # Views accumulate: a second contributor's words never overwrite the first's.
    return text if not existing else f"{existing}\n\n{text}"


async def add_view(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, body: ViewIn
) -> Cycle:
    cycle, plan, pupil = await get_cycle_in_scope(session, principal, cycle_id, for_update=True)
    principal.require(Role.SENCO, Role.TEACHER, Role.PARENT)
    if principal.role is Role.PARENT and body.author is not ViewAuthor.PARENT:
        raise Forbidden("A parent records the parent's views only")
    _ensure_plan_active(plan)
    field = f"{body.author.value}_views"
    match cycle.stage:
        case Stage.ASSESS.value:
            cycle.assessment = {
                **cycle.assessment,
                field: _appended(cycle.assessment[field], body.text),
            }
        case Stage.PLAN.value:
            cycle.plan = {**cycle.plan, CONSULTED_FIELD[body.author]: today_london().isoformat()}
        case Stage.REVIEW.value:
            cycle.review = {**cycle.review, field: _appended(cycle.review[field], body.text)}
        case _:
            raise StageLocked(f"Views are not taken while the cycle is in {cycle.stage}")
    cycle.views_log = [
        *cycle.views_log,
        {
            "author": body.author.value,
            "text": body.text,
            "stage": cycle.stage,
            "recorded_at": utcnow().isoformat().replace("+00:00", "Z"),
            "recorded_by": principal.sub,
        },
    ]
    return await _updated(session, principal, cycle, pupil, "views_log")


async def add_delivery_log(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, body: DeliveryLogIn
) -> DeliveryLog:
    cycle, plan, pupil = await get_cycle_in_scope(session, principal, cycle_id, for_update=True)
    principal.require(*STAFF_WRITERS)
    _ensure_in_stage(cycle, plan, "delivery log", Stage.DO)
    if str(body.provision_id) not in {p["id"] for p in cycle.plan["provisions"]}:
        raise ValidationFailed(
            [FieldError(field="provision_id", message="Not a provision of this cycle's plan")]
        )
    log = DeliveryLog(
        id=uuid.uuid4(),
        cycle_id=cycle.id,
        provision_id=body.provision_id,
        delivered_on=body.delivered_on,
        minutes=body.minutes,
        attended=body.attended,
        note=body.note,
        recorded_by=principal.sub,
    )
    session.add(log)
    await session.flush()
    await session.refresh(log)
    await record_access(
        session,
        principal,
        AuditAction.CREATE,
        "delivery_log",
        [Touched(resource_id=log.id, pupil_id=pupil.id, school_id=pupil.school_id)],
    )
    return log


async def list_delivery_logs(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeliveryLog], str | None]:
    cycle, _, pupil = await get_cycle_in_scope(session, principal, cycle_id)
    principal.require(*PLAN_READERS)
    rows, next_cursor = await keyset_page(
        session,
        select(DeliveryLog).where(DeliveryLog.cycle_id == cycle.id),
        (DeliveryLog.delivered_on, DeliveryLog.id),
        limit,
        cursor,
    )
    await record_access(
        session,
        principal,
        AuditAction.READ,
        "delivery_log",
        [Touched(resource_id=log.id, pupil_id=pupil.id, school_id=pupil.school_id) for log in rows],
    )
    return rows, next_cursor


# --- rules: from stored records to the pure states of app/rules ---------------------------


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
                    hourly_rate=_money(p["hourly_rate"]),
                    minutes_per_session=p["minutes_per_session"],
                    sessions_per_week=p["sessions_per_week"],
                    weeks_per_year=p["weeks_per_year"],
                    group_size=p["group_size"],
                    fixed_annual_cost=_money(p["fixed_annual_cost"]),
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


async def cycle_context(session: AsyncSession, pupil: Pupil, to: str) -> CycleContext:
    """Only what the rules of the requested move read is loaded."""
    if to == Stage.PLAN.value:
        open_concerns = await session.scalar(
            select(func.count())
            .select_from(Concern)
            .where(Concern.pupil_id == pupil.id, Concern.status == ConcernStatus.OPEN.value)
        )
        return CycleContext(open_concern_count=int(open_concerns or 0))
    if to == Stage.DO.value:
        completed = await session.scalars(
            select(Cycle).where(Cycle.pupil_id == pupil.id, Cycle.stage == Stage.COMPLETE.value)
        )
        involvements = await session.execute(
            select(
                SpecialistInvolvement.parental_consent,
                SpecialistInvolvement.requested_on,
                SpecialistInvolvement.parents_involved_on,
            ).where(SpecialistInvolvement.pupil_id == pupil.id)
        )
        return CycleContext(
            completed_cycles=tuple(completed_summary(c) for c in completed),
            specialist_involvements=tuple(
                SpecialistState(
                    parental_consent=row.parental_consent,
                    requested_on=row.requested_on,
                    parents_involved_on=row.parents_involved_on,
                )
                for row in involvements
            ),
        )
    return CycleContext()


def _ensure_can_move(plan: SupportPlan) -> None:
    if plan.status != PlanStatus.ACTIVE.value:
        raise Conflict(f"The support plan is {plan.status}; its cycles can no longer move")


async def check_transition(
    session: AsyncSession, principal: Principal, cycle_id: uuid.UUID, to: Stage
) -> Evaluation:
    cycle, plan, pupil = await get_cycle_in_scope(session, principal, cycle_id)
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


async def transition_cycle(
    session: AsyncSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: TransitionIn,
    if_match: str | None,
) -> Cycle:
    departures = checked_departures(body.departures)
    cycle, plan, pupil = await get_cycle_in_scope(session, principal, cycle_id, for_update=True)
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
        await _apply_decision(session, cycle, plan, pupil)
    await session.flush()
    await session.refresh(cycle)
    await record_access(
        session, principal, AuditAction.TRANSITION, "cycle", [cycle_touched(cycle, pupil)]
    )
    return cycle


async def _apply_decision(
    session: AsyncSession, cycle: Cycle, plan: SupportPlan, pupil: Pupil
) -> None:
    """Completing a cycle carries out its review's decision in the same transaction."""
    decision = ReviewDecision(cycle.review["decision"])
    emit(session, cycle_event("review.completed", cycle, pupil, decision=decision.value))
    if decision is ReviewDecision.CLOSE_SUPPORT:
        end_plan(session, plan, pupil, PlanStatus.CLOSED, REVIEW_DECISION_CLOSE)
        return
    following = new_cycle(plan, pupil, cycle.number + 1)
    session.add(following)
    plan.current_cycle_id = following.id
    if decision is ReviewDecision.REQUEST_EHC_ASSESSMENT:
        add_draft_request(session, pupil, EhcRequestedBy.SCHOOL, cycle.review["impact_summary"])
