from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.rules.catalogue import CATALOGUE_POSITION, RULES_BY_ID, Rule, Severity

MIN_DEPARTURE_REASON_LENGTH = 10


class InvalidMove(ValueError):
    """Raised for a status move that is not in a state machine (the API's `invalid_transition`).

    Cycle stages do not raise: their invalid moves are the catalogue rule `cycle.next_stage`.
    """

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(f"cannot move from {from_status!r} to {to_status!r}")
        self.from_status = from_status
        self.to_status = to_status


@dataclass(frozen=True)
class Departure:
    rule: str
    reason: str


@dataclass(frozen=True)
class DepartureError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: Severity
    message: str

    @classmethod
    def of(cls, rule: Rule) -> "Violation":
        return cls(rule=rule.rule, severity=rule.severity, message=rule.message)


@dataclass(frozen=True)
class Evaluation:
    """The outcome of checking one requested transition.

    `violations` are the rules still standing in the way, in catalogue order.
    `accepted_departures` cover should rules that were actually violated, one per rule; they
    are what the service stores and audits when the transition goes ahead.
    """

    transition: str
    violations: tuple[Violation, ...]
    accepted_departures: tuple[Departure, ...]

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def violated_rules(self) -> tuple[str, ...]:
        return tuple(violation.rule for violation in self.violations)


def transition_name(from_state: str, to_state: str) -> str:
    return f"{from_state}->{to_state}"


def has_text(value: str | None) -> bool:
    return value is not None and bool(value.strip())


def departure_errors(departures: Sequence[Departure]) -> list[DepartureError]:
    """Every invalid departure in a request body, for a `422` listing them all.

    A departure naming a must rule is valid here: it simply has no effect when evaluated.
    """
    errors: list[DepartureError] = []
    for index, departure in enumerate(departures):
        if departure.rule not in RULES_BY_ID:
            errors.append(
                DepartureError(
                    field=f"departures.{index}.rule",
                    message=f"unknown rule {departure.rule!r}",
                )
            )
        if len(departure.reason.strip()) < MIN_DEPARTURE_REASON_LENGTH:
            errors.append(
                DepartureError(
                    field=f"departures.{index}.reason",
                    message=(
                        f"a reason of at least {MIN_DEPARTURE_REASON_LENGTH} characters is required"
                    ),
                )
            )
    return errors


def settle_departures(
    transition: str, violated_rules: Iterable[str], departures: Sequence[Departure]
) -> Evaluation:
    """Apply departures to the rules a transition breaks.

    Invariants: a must violation always stands; a departure only ever removes the violation of
    the should rule it names; departures that are invalid, name a must rule, or name a rule
    that is not violated are dropped.
    """
    violated = {RULES_BY_ID[rule_id].rule for rule_id in violated_rules}
    covered: dict[str, Departure] = {}
    for departure in departures:
        rule = RULES_BY_ID.get(departure.rule)
        if (
            rule is None
            or rule.severity != "should"
            or rule.rule not in violated
            or rule.rule in covered
            or len(departure.reason.strip()) < MIN_DEPARTURE_REASON_LENGTH
        ):
            continue
        covered[rule.rule] = departure
    standing = sorted(violated - covered.keys(), key=CATALOGUE_POSITION.__getitem__)
    return Evaluation(
        transition=transition,
        violations=tuple(Violation.of(RULES_BY_ID[rule_id]) for rule_id in standing),
        accepted_departures=tuple(covered.values()),
    )
