"""Departures from should-rules (SPEC.md §3): request shape, validation, refusal and storage."""

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from app.core.clock import utcnow
from app.core.errors import (
    FieldError,
    InvalidTransition,
    RuleViolation,
    RuleViolationItem,
    ValidationFailed,
)
from app.core.security import Principal
from app.rules import Departure, Evaluation, departure_errors


class DepartureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: Annotated[str, StringConstraints(max_length=100)]
    reason: Annotated[str, StringConstraints(max_length=5000)]


class DepartureOut(BaseModel):
    rule: str
    reason: str
    transition: str
    recorded_at: str
    recorded_by: str


def checked_departures(departures: Sequence[DepartureIn]) -> list[Departure]:
    """The request's departures, refusing unknown rules and short reasons with 422."""
    parsed = [Departure(rule=d.rule, reason=d.reason.strip()) for d in departures]
    errors = departure_errors(parsed)
    if errors:
        raise ValidationFailed([FieldError(field=e.field, message=e.message) for e in errors])
    return parsed


def violation_items(evaluation: Evaluation) -> list[RuleViolationItem]:
    return [
        RuleViolationItem(rule=v.rule, severity=v.severity, message=v.message)
        for v in evaluation.violations
    ]


def refuse_unless_allowed(evaluation: Evaluation) -> None:
    """409 listing every rule that still stands; `invalid_transition` for a move that is not
    the next stage at all."""
    if evaluation.allowed:
        return
    items = violation_items(evaluation)
    if any(item.rule == "cycle.next_stage" for item in items):
        raise InvalidTransition(items, "Stages move one step forward at a time")
    raise RuleViolation(items)


def departure_records(evaluation: Evaluation, principal: Principal) -> list[dict[str, Any]]:
    """The accepted departures as stored on the resource: who, when and for which move."""
    recorded_at = utcnow().isoformat().replace("+00:00", "Z")
    return [
        {
            "rule": departure.rule,
            "reason": departure.reason,
            "transition": evaluation.transition,
            "recorded_at": recorded_at,
            "recorded_by": principal.sub,
        }
        for departure in evaluation.accepted_departures
    ]
