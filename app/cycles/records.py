"""The stage records of a cycle (assessment, plan, review): documents replaced whole by `PUT`,
each only while the cycle is in its stage and the plan is active.

The plan record also gets what the service computes: kept ids for resent outcomes and
provisions, each provision's annual cost and the plan's total.
"""

import uuid
from decimal import Decimal
from typing import Any

from app.core.db import DbSession
from app.core.errors import FieldError, ValidationFailed
from app.core.http import check_if_match
from app.core.money import money_text
from app.core.security import Principal, Role
from app.cycles import repository
from app.cycles.schemas import AssessmentRecord, PlanRecordIn, ReviewRecord
from app.cycles.service import STAFF_WRITERS, ensure_in_stage, saved_cycle, stored_money
from app.models import Cycle
from app.models.enums import Stage
from app.rules import annual_provision_cost, total_cost

RECORD_EDITORS = {
    "assessment": STAFF_WRITERS,
    "plan": (Role.SENCO,),
    "review": (Role.SENCO,),
}
# The largest amount money columns hold (NUMERIC(12, 2)), as MoneyText allows in requests.
LARGEST_AMOUNT = Decimal("9999999999.99")


async def put_assessment(
    session: DbSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: AssessmentRecord,
    if_match: str | None,
) -> Cycle:
    cycle, plan, pupil = await repository.get_cycle_in_scope(
        session, principal, cycle_id, for_update=True
    )
    principal.require(*RECORD_EDITORS["assessment"])
    check_if_match(if_match, cycle.version)
    ensure_in_stage(cycle, plan, "assessment", Stage.ASSESS)
    cycle.assessment = body.model_dump(mode="json")
    return await saved_cycle(session, principal, cycle, pupil, "assessment")


async def put_plan(
    session: DbSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: PlanRecordIn,
    if_match: str | None,
) -> Cycle:
    cycle, plan, pupil = await repository.get_cycle_in_scope(
        session, principal, cycle_id, for_update=True
    )
    principal.require(*RECORD_EDITORS["plan"])
    check_if_match(if_match, cycle.version)
    ensure_in_stage(cycle, plan, "plan", Stage.PLAN)
    cycle.plan = stored_plan(body, cycle.plan)
    cycle.review_date = body.review_date
    return await saved_cycle(session, principal, cycle, pupil, "plan")


async def put_review(
    session: DbSession,
    principal: Principal,
    cycle_id: uuid.UUID,
    body: ReviewRecord,
    if_match: str | None,
) -> Cycle:
    cycle, plan, pupil = await repository.get_cycle_in_scope(
        session, principal, cycle_id, for_update=True
    )
    principal.require(*RECORD_EDITORS["review"])
    check_if_match(if_match, cycle.version)
    ensure_in_stage(cycle, plan, "review", Stage.REVIEW)
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
    return await saved_cycle(session, principal, cycle, pupil, "review")


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
            stored_money(provision["hourly_rate"]),
            provision["minutes_per_session"],
            provision["sessions_per_week"],
            provision["weeks_per_year"],
            provision["group_size"],
            stored_money(provision["fixed_annual_cost"]),
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
