from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from app.rules.catalogue import CREATE
from app.rules.evaluation import Departure, Evaluation, settle_departures

INVOLVE_SPECIALIST = "involve_specialist"


@dataclass(frozen=True)
class SpecialistState:
    """One specialist involvement of the pupil, as far as the rules read it."""

    parental_consent: bool
    requested_on: date | None
    parents_involved_on: date | None = None


@dataclass(frozen=True)
class CompletedCycleSummary:
    """A completed cycle of the pupil, from any of its plans.

    `little_or_none_count` counts the cycle's outcomes whose review progress is
    `little_or_none`, out of `outcome_count` outcomes. `completed_at` orders cycles by when
    they were completed (it is the cycle's `stage_entered_at` once it is `complete`).
    """

    outcome_count: int
    little_or_none_count: int
    decision: str | None
    held_on: date | None
    completed_at: datetime

    @property
    def mostly_little_or_no_progress(self) -> bool:
        # "More than half", strictly: two of four outcomes is not enough.
        return 2 * self.little_or_none_count > self.outcome_count


def specialist_required_since(completed_cycles: Sequence[CompletedCycleSummary]) -> date | None:
    """The date from which a consented specialist involvement is expected, or None.

    Triggered when each of the two most recently completed cycles had more than half of its
    outcomes at `little_or_none` progress, or when the most recent one decided
    `involve_specialist`. The date is the most recent cycle's review `held_on` (its completion
    date when the review date was never recorded).
    """
    newest_first = sorted(completed_cycles, key=lambda cycle: cycle.completed_at, reverse=True)
    if not newest_first:
        return None
    latest = newest_first[0]
    two_cycles_of_little_progress = len(newest_first) >= 2 and all(
        cycle.mostly_little_or_no_progress for cycle in newest_first[:2]
    )
    if not (two_cycles_of_little_progress or latest.decision == INVOLVE_SPECIALIST):
        return None
    return latest.held_on if latest.held_on is not None else latest.completed_at.date()


def has_consented_specialist_since(involvements: Sequence[SpecialistState], since: date) -> bool:
    return any(
        involvement.parental_consent
        and involvement.requested_on is not None
        and involvement.requested_on >= since
        for involvement in involvements
    )


def little_or_no_progress_violated(
    completed_cycles: Sequence[CompletedCycleSummary], involvements: Sequence[SpecialistState]
) -> bool:
    since = specialist_required_since(completed_cycles)
    return since is not None and not has_consented_specialist_since(involvements, since)


def evaluate_specialist_create(
    involvement: SpecialistState, departures: Sequence[Departure] = ()
) -> Evaluation:
    violated = (
        [] if involvement.parents_involved_on is not None else ["specialist.parents_involved"]
    )
    return settle_departures(CREATE, violated, departures)
