from datetime import date
from decimal import Decimal

import pytest

from app.rules import (
    STAGES,
    AssessmentState,
    CycleState,
    Departure,
    OutcomeProgressState,
    OutcomeState,
    PlanState,
    ProvisionState,
    ReviewState,
    evaluate_cycle_transition,
    next_stage,
)
from tests.rules.factories import (
    GOOD_REASON,
    TODAY,
    RuleCase,
    context,
    cycle_case,
    cycle_in,
    days,
    with_assessment,
    with_plan,
    with_review,
)

ASSESS_TO_PLAN_CASES = [
    cycle_case("assessment.needs_identified", "one need", cycle_in("assess"), "plan", ()),
    cycle_case(
        "assessment.needs_identified",
        "no need recorded",
        with_assessment("assess", need_count=0),
        "plan",
        ("assessment.needs_identified",),
    ),
    cycle_case(
        "assessment.teacher_assessment",
        "teacher assessment is the only source",
        with_assessment("assess", sources=frozenset({"teacher_assessment"})),
        "plan",
        (),
    ),
    cycle_case(
        "assessment.teacher_assessment",
        "other sources only",
        with_assessment(
            "assess", sources=frozenset({"subject_teacher_assessments", "parent_views"})
        ),
        "plan",
        ("assessment.teacher_assessment",),
    ),
    cycle_case(
        "assessment.parent_views",
        "text without the parent_views source",
        with_assessment("assess", sources=frozenset({"teacher_assessment"})),
        "plan",
        (),
    ),
    cycle_case(
        "assessment.parent_views",
        "not recorded",
        with_assessment("assess", parent_views=None),
        "plan",
        ("assessment.parent_views",),
    ),
    cycle_case(
        "assessment.parent_views",
        "whitespace only, although listed as a source",
        with_assessment("assess", parent_views=" \n\t "),
        "plan",
        ("assessment.parent_views",),
    ),
    cycle_case(
        "assessment.pupil_views",
        "one character of text",
        with_assessment("assess", pupil_views=" x "),
        "plan",
        (),
    ),
    cycle_case(
        "assessment.pupil_views",
        "not recorded",
        with_assessment("assess", pupil_views=None),
        "plan",
        ("assessment.pupil_views",),
    ),
    cycle_case(
        "assessment.pupil_views",
        "empty text",
        with_assessment("assess", pupil_views=""),
        "plan",
        ("assessment.pupil_views",),
    ),
    cycle_case(
        "assessment.concerns_considered",
        "no open concern",
        cycle_in("assess"),
        "plan",
        (),
        context(open_concern_count=0),
    ),
    cycle_case(
        "assessment.concerns_considered",
        "one concern still open",
        cycle_in("assess"),
        "plan",
        ("assessment.concerns_considered",),
        context(open_concern_count=1),
    ),
    cycle_case(
        "assessment.needs_identified",
        "empty assessment breaks every assess rule",
        cycle_in("assess", assessment=AssessmentState()),
        "plan",
        (
            "assessment.needs_identified",
            "assessment.teacher_assessment",
            "assessment.parent_views",
            "assessment.pupil_views",
            "assessment.concerns_considered",
        ),
        context(open_concern_count=2),
    ),
]

PLAN_TO_DO_CASES = [
    cycle_case("plan.parents_notified", "notified", cycle_in("plan"), "do", ()),
    cycle_case(
        "plan.parents_notified",
        "not notified",
        with_plan("plan", parents_notified_on=None),
        "do",
        ("plan.parents_notified",),
    ),
    cycle_case(
        "plan.provision_set",
        "a provision with only a fixed cost",
        with_plan(
            "plan",
            provisions=(ProvisionState(id="p9", fixed_annual_cost=Decimal("120.00")),),
        ),
        "do",
        (),
    ),
    cycle_case(
        "plan.provision_set",
        "no provision",
        with_plan("plan", provisions=()),
        "do",
        ("plan.provision_set",),
    ),
    cycle_case(
        "plan.review_date_set",
        "review date tomorrow",
        with_plan("plan", review_date=TODAY + days(1)),
        "do",
        (),
    ),
    cycle_case(
        "plan.review_date_set",
        "no review date",
        with_plan("plan", review_date=None),
        "do",
        ("plan.review_date_set",),
    ),
    cycle_case(
        "plan.review_date_set",
        "review date is today",
        with_plan("plan", review_date=TODAY),
        "do",
        ("plan.review_date_set",),
    ),
    cycle_case(
        "plan.review_date_set",
        "review date in the past",
        with_plan("plan", review_date=TODAY - days(30)),
        "do",
        ("plan.review_date_set",),
    ),
    cycle_case(
        "plan.review_date_set",
        "the date passed in decides, not the clock",
        with_plan("plan", review_date=date(2026, 6, 1)),
        "do",
        ("plan.review_date_set",),
        today=date(2026, 6, 1),
    ),
    cycle_case(
        "plan.outcomes_set",
        "one outcome with success criteria",
        with_plan("plan", outcomes=(OutcomeState(id="o1", success_criteria="Reads a page"),)),
        "do",
        (),
    ),
    cycle_case(
        "plan.outcomes_set",
        "no outcome",
        with_plan("plan", outcomes=()),
        "do",
        ("plan.outcomes_set",),
    ),
    cycle_case(
        "plan.outcomes_set",
        "an outcome without success criteria",
        with_plan(
            "plan",
            outcomes=(
                OutcomeState(id="o1", success_criteria="Reads a page"),
                OutcomeState(id="o2", success_criteria=None),
            ),
        ),
        "do",
        ("plan.outcomes_set",),
    ),
    cycle_case(
        "plan.outcomes_set",
        "success criteria of blanks",
        with_plan("plan", outcomes=(OutcomeState(id="o1", success_criteria="   "),)),
        "do",
        ("plan.outcomes_set",),
    ),
    cycle_case(
        "plan.parents_consulted",
        "consulted today",
        with_plan("plan", parents_consulted_on=TODAY),
        "do",
        (),
    ),
    cycle_case(
        "plan.parents_consulted",
        "not consulted",
        with_plan("plan", parents_consulted_on=None),
        "do",
        ("plan.parents_consulted",),
    ),
    cycle_case(
        "plan.pupil_consulted",
        "consulted a month ago",
        with_plan("plan", pupil_consulted_on=TODAY - days(30)),
        "do",
        (),
    ),
    cycle_case(
        "plan.pupil_consulted",
        "not consulted",
        with_plan("plan", pupil_consulted_on=None),
        "do",
        ("plan.pupil_consulted",),
    ),
    cycle_case(
        "plan.staff_informed",
        "informed today",
        with_plan("plan", staff_informed_on=TODAY),
        "do",
        (),
    ),
    cycle_case(
        "plan.staff_informed",
        "not informed",
        with_plan("plan", staff_informed_on=None),
        "do",
        ("plan.staff_informed",),
    ),
    cycle_case(
        "plan.parents_notified",
        "empty plan breaks every plan rule",
        cycle_in("plan", plan=PlanState()),
        "do",
        (
            "plan.parents_notified",
            "plan.provision_set",
            "plan.review_date_set",
            "plan.outcomes_set",
            "plan.parents_consulted",
            "plan.pupil_consulted",
            "plan.staff_informed",
        ),
    ),
]

DO_TO_REVIEW_CASES = [
    cycle_case(
        "review.on_agreed_date",
        "on the review date",
        with_plan("do", review_date=TODAY),
        "review",
        (),
    ),
    cycle_case(
        "review.on_agreed_date",
        "after the review date",
        with_plan("do", review_date=TODAY - days(10)),
        "review",
        (),
    ),
    cycle_case(
        "review.on_agreed_date",
        "the day before the review date",
        with_plan("do", review_date=TODAY + days(1)),
        "review",
        ("review.on_agreed_date",),
    ),
    cycle_case(
        "review.on_agreed_date",
        "no review date to be early against",
        with_plan("do", review_date=None),
        "review",
        (),
    ),
]

REVIEW_TO_COMPLETE_CASES = [
    cycle_case("review.all_outcomes_rated", "all rated", cycle_in("review"), "complete", ()),
    cycle_case(
        "review.all_outcomes_rated",
        "a plan without outcomes has none to rate",
        cycle_in(
            "review",
            plan=PlanState(review_date=TODAY - days(1)),
            review=ReviewState(
                outcome_progress=(),
                pupil_views="ok",
                parent_views="ok",
                parents_informed_on=TODAY,
                decision="close_support",
            ),
        ),
        "complete",
        (),
    ),
    cycle_case(
        "review.all_outcomes_rated",
        "an outcome with no entry",
        with_review(
            "review",
            outcome_progress=(
                OutcomeProgressState(outcome_id="o1", rating="achieved", progress="good"),
            ),
        ),
        "complete",
        ("review.all_outcomes_rated",),
    ),
    cycle_case(
        "review.all_outcomes_rated",
        "an outcome without a rating",
        with_review(
            "review",
            outcome_progress=(
                OutcomeProgressState(outcome_id="o1", rating="achieved", progress="good"),
                OutcomeProgressState(outcome_id="o2", rating=None, progress="expected"),
            ),
        ),
        "complete",
        ("review.all_outcomes_rated",),
    ),
    cycle_case(
        "review.all_outcomes_rated",
        "an outcome without a progress value",
        with_review(
            "review",
            outcome_progress=(
                OutcomeProgressState(outcome_id="o1", rating="achieved", progress=None),
                OutcomeProgressState(outcome_id="o2", rating="not_achieved", progress="good"),
            ),
        ),
        "complete",
        ("review.all_outcomes_rated",),
    ),
    cycle_case(
        "review.all_outcomes_rated",
        "entries for other outcomes do not count",
        with_review(
            "review",
            outcome_progress=(
                OutcomeProgressState(outcome_id="o1", rating="achieved", progress="good"),
                OutcomeProgressState(outcome_id="o9", rating="achieved", progress="good"),
            ),
        ),
        "complete",
        ("review.all_outcomes_rated",),
    ),
    *[
        cycle_case(
            "review.decision_recorded",
            f"decided {decision}",
            with_review("review", decision=decision),
            "complete",
            (),
        )
        for decision in (
            "continue",
            "involve_specialist",
            "close_support",
            "request_ehc_assessment",
        )
    ],
    cycle_case(
        "review.decision_recorded",
        "no decision",
        with_review("review", decision=None),
        "complete",
        ("review.decision_recorded",),
    ),
    cycle_case(
        "review.pupil_views",
        "a short view",
        with_review("review", pupil_views="Good"),
        "complete",
        (),
    ),
    cycle_case(
        "review.pupil_views",
        "not recorded",
        with_review("review", pupil_views=None),
        "complete",
        ("review.pupil_views",),
    ),
    cycle_case(
        "review.pupil_views",
        "blank",
        with_review("review", pupil_views="  "),
        "complete",
        ("review.pupil_views",),
    ),
    cycle_case(
        "review.parent_views",
        "recorded",
        with_review("review", parent_views="Happier about school"),
        "complete",
        (),
    ),
    cycle_case(
        "review.parent_views",
        "not recorded",
        with_review("review", parent_views=None),
        "complete",
        ("review.parent_views",),
    ),
    cycle_case(
        "review.parent_views",
        "blank",
        with_review("review", parent_views="\n"),
        "complete",
        ("review.parent_views",),
    ),
    cycle_case(
        "review.parents_informed",
        "informed the day after the review",
        with_review("review", parents_informed_on=TODAY + days(1)),
        "complete",
        (),
    ),
    cycle_case(
        "review.parents_informed",
        "not informed",
        with_review("review", parents_informed_on=None),
        "complete",
        ("review.parents_informed",),
    ),
    cycle_case(
        "review.all_outcomes_rated",
        "empty review breaks every completion rule",
        cycle_in("review", review=ReviewState()),
        "complete",
        (
            "review.all_outcomes_rated",
            "review.decision_recorded",
            "review.pupil_views",
            "review.parent_views",
            "review.parents_informed",
        ),
    ),
]

NEXT_STAGE_CASES = [
    cycle_case("cycle.next_stage", "assess to plan", cycle_in("assess"), "plan", ()),
    cycle_case(
        "cycle.next_stage",
        "skipping plan",
        cycle_in("assess"),
        "do",
        ("cycle.next_stage",),
    ),
    cycle_case(
        "cycle.next_stage",
        "going back",
        cycle_in("review"),
        "do",
        ("cycle.next_stage",),
    ),
    cycle_case(
        "cycle.next_stage",
        "staying put",
        cycle_in("plan"),
        "plan",
        ("cycle.next_stage",),
    ),
    cycle_case(
        "cycle.next_stage",
        "out of complete",
        cycle_in("complete"),
        "assess",
        ("cycle.next_stage",),
    ),
    cycle_case(
        "cycle.next_stage",
        "unknown target",
        cycle_in("assess"),
        "planning",
        ("cycle.next_stage",),
    ),
    cycle_case(
        "cycle.next_stage",
        "an invalid move reports no stage rule, even on an empty cycle",
        CycleState(stage="assess"),
        "do",
        ("cycle.next_stage",),
        context(open_concern_count=3),
    ),
]

CYCLE_CASES: list[RuleCase] = (
    ASSESS_TO_PLAN_CASES
    + PLAN_TO_DO_CASES
    + DO_TO_REVIEW_CASES
    + REVIEW_TO_COMPLETE_CASES
    + NEXT_STAGE_CASES
)


@pytest.mark.parametrize("case", CYCLE_CASES, ids=lambda case: case.id)
def test_cycle_rule_table(case: RuleCase) -> None:
    evaluation = case.evaluate(())
    assert evaluation.violated_rules == case.expected
    assert evaluation.allowed is (not case.expected)
    assert evaluation.accepted_departures == ()


def test_next_stage_is_the_one_step_forward() -> None:
    assert [next_stage(stage) for stage in STAGES] == ["plan", "do", "review", "complete", None]
    assert next_stage("unknown") is None


@pytest.mark.parametrize("from_stage", STAGES)
@pytest.mark.parametrize("to_stage", [*STAGES, "closed"])
def test_only_the_next_stage_escapes_cycle_next_stage(from_stage: str, to_stage: str) -> None:
    evaluation = evaluate_cycle_transition(cycle_in(from_stage), to_stage, context(), TODAY, ())
    if to_stage == next_stage(from_stage):
        assert evaluation.allowed
    else:
        assert evaluation.violated_rules == ("cycle.next_stage",)
        assert evaluation.violations[0].severity == "must"


def test_invalid_move_ignores_departures_even_for_next_stage() -> None:
    evaluation = evaluate_cycle_transition(
        cycle_in("assess"),
        "review",
        context(),
        TODAY,
        [Departure("cycle.next_stage", GOOD_REASON), Departure("plan.outcomes_set", GOOD_REASON)],
    )
    assert evaluation.violated_rules == ("cycle.next_stage",)
    assert evaluation.accepted_departures == ()


@pytest.mark.parametrize(
    ("from_stage", "to_stage", "expected"),
    [
        ("assess", "plan", "assess->plan"),
        ("plan", "do", "plan->do"),
        ("do", "review", "do->review"),
        ("review", "complete", "review->complete"),
        ("complete", "assess", "complete->assess"),
    ],
)
def test_evaluation_names_the_requested_transition(
    from_stage: str, to_stage: str, expected: str
) -> None:
    evaluation = evaluate_cycle_transition(cycle_in(from_stage), to_stage, context(), TODAY)
    assert evaluation.transition == expected


def test_review_date_rule_reads_today_parameter_not_the_clock() -> None:
    cycle = with_plan("plan", review_date=date(2000, 1, 2))
    assert evaluate_cycle_transition(cycle, "do", context(), date(2000, 1, 1)).allowed
    refused = evaluate_cycle_transition(cycle, "do", context(), date(2000, 1, 2))
    assert refused.violated_rules == ("plan.review_date_set",)
