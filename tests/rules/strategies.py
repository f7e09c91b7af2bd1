"""Hypothesis strategies for rule inputs, biased towards the values the rules turn on."""

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from hypothesis import strategies as st

from app.rules import (
    CATALOGUE,
    CLAIM_STATUSES,
    EHC_STATUSES,
    STAGES,
    AssessmentState,
    ClaimState,
    ClaimSubmissionContext,
    CompletedCycleSummary,
    CycleContext,
    CycleState,
    Departure,
    EhcContext,
    EhcRequestState,
    Evaluation,
    OutcomeProgressState,
    OutcomeState,
    PlanState,
    ProvisionState,
    ReviewState,
    SpecialistState,
    evaluate_claim_transition,
    evaluate_cycle_transition,
    evaluate_ehc_transition,
    evaluate_specialist_create,
    is_claim_move_allowed,
    is_ehc_move_allowed,
)

Evaluate = Callable[[Sequence[Departure]], Evaluation]

ASSESSMENT_SOURCES = (
    "teacher_assessment",
    "subject_teacher_assessments",
    "attainment_and_progress_data",
    "parent_views",
    "pupil_views",
    "external_advice",
)
OUTCOME_IDS = ("o1", "o2", "o3")
DECISIONS = ("continue", "involve_specialist", "close_support", "request_ehc_assessment")

dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
optional_dates = st.none() | dates
texts = st.none() | st.sampled_from(["", "   ", "\n", "Likes maths", "x"]) | st.text(max_size=12)
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("20000"), places=2, allow_nan=False)

assessments = st.builds(
    AssessmentState,
    need_count=st.integers(0, 3),
    sources=st.frozensets(st.sampled_from(ASSESSMENT_SOURCES)),
    parent_views=texts,
    pupil_views=texts,
)

plans = st.builds(
    PlanState,
    outcomes=st.lists(
        st.builds(OutcomeState, id=st.sampled_from(OUTCOME_IDS), success_criteria=texts),
        max_size=3,
    ).map(tuple),
    provisions=st.lists(st.builds(ProvisionState, id=st.just("p1")), max_size=2).map(tuple),
    review_date=optional_dates,
    parents_notified_on=optional_dates,
    parents_consulted_on=optional_dates,
    pupil_consulted_on=optional_dates,
    staff_informed_on=optional_dates,
)

reviews = st.builds(
    ReviewState,
    held_on=optional_dates,
    outcome_progress=st.lists(
        st.builds(
            OutcomeProgressState,
            outcome_id=st.sampled_from((*OUTCOME_IDS, "other")),
            rating=st.none() | st.sampled_from(["achieved", "not_achieved"]),
            progress=st.none() | st.sampled_from(["good", "little_or_none"]),
        ),
        max_size=4,
    ).map(tuple),
    pupil_views=texts,
    parent_views=texts,
    parents_informed_on=optional_dates,
    decision=st.none() | st.sampled_from(DECISIONS),
)

cycles = st.builds(
    CycleState,
    stage=st.sampled_from(STAGES),
    assessment=assessments,
    plan=plans,
    review=reviews,
)


@st.composite
def completed_cycles(draw: st.DrawFn) -> CompletedCycleSummary:
    outcome_count = draw(st.integers(0, 4))
    completed_on = draw(dates)
    return CompletedCycleSummary(
        outcome_count=outcome_count,
        little_or_none_count=draw(st.integers(0, outcome_count)),
        decision=draw(st.none() | st.sampled_from(DECISIONS)),
        held_on=draw(st.none() | st.just(completed_on)),
        completed_at=datetime.combine(completed_on, time(12), tzinfo=UTC),
    )


specialists = st.builds(
    SpecialistState,
    parental_consent=st.booleans(),
    requested_on=optional_dates,
    parents_involved_on=optional_dates,
)

cycle_contexts = st.builds(
    CycleContext,
    open_concern_count=st.integers(0, 2),
    completed_cycles=st.lists(completed_cycles(), max_size=3).map(tuple),
    specialist_involvements=st.lists(specialists, max_size=2).map(tuple),
)

rule_ids = st.sampled_from([rule.rule for rule in CATALOGUE] + ["plan.unknown", ""])
reasons = st.sampled_from(["", "too short", "  123456789  ", "A sound, recorded reason."]) | (
    st.text(max_size=16)
)
departures = st.builds(Departure, rule=rule_ids, reason=reasons)
departure_lists = st.lists(departures, max_size=6)


@st.composite
def cycle_requests(draw: st.DrawFn) -> Evaluate:
    cycle = draw(cycles)
    # Mostly the next stage, so that stage rules are exercised, sometimes anything.
    to = draw(st.sampled_from(STAGES) | st.just("bogus"))
    context = draw(cycle_contexts)
    today = draw(dates)
    return lambda given: evaluate_cycle_transition(cycle, to, context, today, given)


@st.composite
def next_stage_cycle_requests(draw: st.DrawFn) -> Evaluate:
    cycle = draw(cycles.filter(lambda cycle: cycle.stage != "complete"))
    to = STAGES[STAGES.index(cycle.stage) + 1]
    context = draw(cycle_contexts)
    today = draw(dates)
    return lambda given: evaluate_cycle_transition(cycle, to, context, today, given)


@st.composite
def specialist_requests(draw: st.DrawFn) -> Evaluate:
    involvement = draw(specialists)
    return lambda given: evaluate_specialist_create(involvement, given)


@st.composite
def ehc_requests(draw: st.DrawFn) -> Evaluate:
    moves = [(a, b) for a in EHC_STATUSES for b in EHC_STATUSES if is_ehc_move_allowed(a, b)]
    from_status, to = draw(st.sampled_from(moves))
    request = EhcRequestState(
        status=from_status, requested_by=draw(st.sampled_from(["school", "parent"]))
    )
    context = EhcContext(
        completed_cycle_count=draw(st.integers(0, 2)),
        other_request_statuses=tuple(draw(st.lists(st.sampled_from(EHC_STATUSES), max_size=3))),
    )
    return lambda given: evaluate_ehc_transition(request, to, context, given)


@st.composite
def claim_requests(draw: st.DrawFn) -> Evaluate:
    moves = [(a, b) for a in CLAIM_STATUSES for b in CLAIM_STATUSES if is_claim_move_allowed(a, b)]
    from_status, to = draw(st.sampled_from(moves))
    claim = ClaimState(status=from_status, requested_amount=draw(money))
    submission = ClaimSubmissionContext(
        threshold=draw(money),
        provision_cost=draw(money),
        sen_status=draw(st.sampled_from(["K", "E", "N"])),
        current_cycle_stage=draw(st.none() | st.sampled_from(STAGES)),
        other_claim_statuses=tuple(draw(st.lists(st.sampled_from(CLAIM_STATUSES), max_size=3))),
    )
    decided = draw(st.none() | money)
    return lambda given: evaluate_claim_transition(claim, to, submission, decided, given)


any_requests = st.one_of(
    cycle_requests(),
    next_stage_cycle_requests(),
    specialist_requests(),
    ehc_requests(),
    claim_requests(),
)
