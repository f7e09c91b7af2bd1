"""The rule catalogue of SPEC.md §3, as data.

Identifiers and severities are public API (clients and `GET /v1/rules` depend on them).
`transition` is written `"<from>-><to>"`; three rules are not tied to a single move:

- `cycle.next_stage` uses `"*"`: it guards every cycle transition request.
- `specialist.parents_involved` uses `"create"`: it runs when an involvement is created.
- `claim.decided_amount` uses `"submitted->approved|partially_approved"`: the two decisions
  that carry an amount.

`source` is the SEND Code of Practice 0-25 paragraph the rule comes from, or
`"service integrity"` for rules the service needs to keep its records consistent. Paragraph
numbers follow DOMAIN.md; several of them are from secondary sources (see DOMAIN.md §8).
"""

from dataclasses import dataclass
from typing import Literal

Severity = Literal["must", "should"]

SERVICE_INTEGRITY = "service integrity"
ANY_CYCLE_TRANSITION = "*"
CREATE = "create"


def code_of_practice(paragraph: str) -> str:
    return f"SEND Code of Practice {paragraph}"


@dataclass(frozen=True)
class Rule:
    rule: str
    severity: Severity
    transition: str
    source: str
    message: str


CATALOGUE: tuple[Rule, ...] = (
    Rule(
        rule="cycle.next_stage",
        severity="must",
        transition=ANY_CYCLE_TRANSITION,
        source=SERVICE_INTEGRITY,
        message=(
            "A cycle moves forward one stage at a time: assess, plan, do, review, complete. "
            "Ask for this cycle's next stage instead."
        ),
    ),
    # 3.1 assess -> plan
    Rule(
        rule="assessment.needs_identified",
        severity="must",
        transition="assess->plan",
        source=code_of_practice("6.45"),
        message=(
            "The assessment does not record any need. Add at least one need, with its area "
            "and a description, before planning support."
        ),
    ),
    Rule(
        rule="assessment.teacher_assessment",
        severity="should",
        transition="assess->plan",
        source=code_of_practice("6.45"),
        message=(
            "The assessment does not draw on the class or subject teacher's assessment. Add "
            "teacher assessment to its sources, or give a reason for going ahead without it."
        ),
    ),
    Rule(
        rule="assessment.parent_views",
        severity="should",
        transition="assess->plan",
        source=code_of_practice("6.45"),
        message=(
            "The parents' views are not recorded in the assessment. Record them, or give a "
            "reason (for example, the parents could not be reached)."
        ),
    ),
    Rule(
        rule="assessment.pupil_views",
        severity="should",
        transition="assess->plan",
        source=code_of_practice("6.45"),
        message=(
            "The pupil's views are not recorded in the assessment. Record them, or give a "
            "reason why they could not be gathered."
        ),
    ),
    Rule(
        rule="assessment.concerns_considered",
        severity="should",
        transition="assess->plan",
        source=code_of_practice("6.45"),
        message=(
            "A concern raised about this pupil is still open. Respond to it and take it into "
            "account in the assessment, or give a reason for going ahead."
        ),
    ),
    # 3.2 plan -> do
    Rule(
        rule="plan.parents_notified",
        severity="must",
        transition="plan->do",
        source=code_of_practice("6.48"),
        message=(
            "The parents have not been formally notified that their child is receiving SEN "
            "support. Record the date and how they were notified."
        ),
    ),
    Rule(
        rule="plan.provision_set",
        severity="must",
        transition="plan->do",
        source=code_of_practice("6.48"),
        message=(
            "The plan has no provision. Add at least one adjustment, intervention or support "
            "to be put in place."
        ),
    ),
    Rule(
        rule="plan.review_date_set",
        severity="must",
        transition="plan->do",
        source=code_of_practice("6.48"),
        message=(
            "The plan needs a review date after today. Agree a clear date for the review and "
            "record it."
        ),
    ),
    Rule(
        rule="plan.outcomes_set",
        severity="should",
        transition="plan->do",
        source=code_of_practice("6.48"),
        message=(
            "The plan needs at least one outcome, each with success criteria saying how "
            "progress will be judged. Add them, or give a reason."
        ),
    ),
    Rule(
        rule="plan.parents_consulted",
        severity="should",
        transition="plan->do",
        source=code_of_practice("6.48"),
        message=(
            "The parents have not been consulted on the plan. Record their views, or give a reason."
        ),
    ),
    Rule(
        rule="plan.pupil_consulted",
        severity="should",
        transition="plan->do",
        source=code_of_practice("6.48"),
        message=(
            "The pupil has not been consulted on the plan. Record their views, or give a reason."
        ),
    ),
    Rule(
        rule="plan.staff_informed",
        severity="should",
        transition="plan->do",
        source=code_of_practice("6.49"),
        message=(
            "The staff who work with the pupil have not been told about the plan. Record the "
            "date they were informed, or give a reason."
        ),
    ),
    Rule(
        rule="specialist.little_or_no_progress",
        severity="should",
        transition="plan->do",
        source=code_of_practice("6.59"),
        message=(
            "The pupil made little or no progress in the last two cycles, or the last review "
            "decided to involve a specialist, but no specialist has been asked for advice with "
            "the parents' consent since that review. Request a specialist involvement with "
            "consent, or give a reason."
        ),
    ),
    # 3.3 do -> review, review -> complete
    Rule(
        rule="review.on_agreed_date",
        severity="should",
        transition="do->review",
        source=code_of_practice("6.53"),
        message=(
            "The agreed review date has not been reached yet. Wait until the review date, or "
            "give a reason for reviewing early."
        ),
    ),
    Rule(
        rule="review.all_outcomes_rated",
        severity="must",
        transition="review->complete",
        source=code_of_practice("6.54"),
        message=(
            "Every outcome in the plan needs a rating and a progress value before the review "
            "can be completed."
        ),
    ),
    Rule(
        rule="review.decision_recorded",
        severity="must",
        transition="review->complete",
        source=code_of_practice("6.54"),
        message=(
            "Record the review's decision: continue, involve a specialist, close SEN support, "
            "or request an EHC needs assessment."
        ),
    ),
    Rule(
        rule="review.pupil_views",
        severity="should",
        transition="review->complete",
        source=code_of_practice("6.54"),
        message=(
            "The pupil's views are not recorded in the review. Record them, or give a reason."
        ),
    ),
    Rule(
        rule="review.parent_views",
        severity="should",
        transition="review->complete",
        source=code_of_practice("6.54"),
        message=(
            "The parents' views are not recorded in the review. Record them, or give a reason."
        ),
    ),
    Rule(
        rule="review.parents_informed",
        severity="should",
        transition="review->complete",
        source=code_of_practice("6.55"),
        message=(
            "The parents have not been told about the impact of the support. Record the date "
            "they were informed, or give a reason."
        ),
    ),
    # 3.4 specialist involvement
    Rule(
        rule="specialist.parents_involved",
        severity="should",
        transition=CREATE,
        source=code_of_practice("6.59"),
        message=(
            "The parents have not been involved in the decision to involve a specialist. "
            "Record the date they were involved, or give a reason."
        ),
    ),
    # 3.5 EHC requests
    Rule(
        rule="ehc.evidence_of_sen_support",
        severity="should",
        transition="draft->submitted",
        source=code_of_practice("9.14"),
        message=(
            "The local authority will look for evidence of SEN support, but this pupil has no "
            "completed assess-plan-do-review cycle. Complete one first, or give a reason."
        ),
    ),
    Rule(
        rule="ehc.single_open_request",
        severity="must",
        transition="draft->submitted",
        source=SERVICE_INTEGRITY,
        message=(
            "This pupil already has an EHC needs assessment request that is submitted or being "
            "assessed. Wait for the local authority's decision, or withdraw that request first."
        ),
    ),
    # 3.6 top-up funding claims
    Rule(
        rule="claim.exceeds_threshold",
        severity="must",
        transition="draft->submitted",
        source=code_of_practice("6.99"),
        message=(
            "The annual cost of the pupil's provision is not above the threshold the school "
            "meets from its own budget for this period, so there is no top-up to claim."
        ),
    ),
    Rule(
        rule="claim.support_in_place",
        severity="must",
        transition="draft->submitted",
        source=SERVICE_INTEGRITY,
        message=(
            "A top-up claim needs support in place: an active support plan whose current cycle "
            "is in the do or review stage, or an EHC plan."
        ),
    ),
    Rule(
        rule="claim.single_per_period",
        severity="must",
        transition="draft->submitted",
        source=SERVICE_INTEGRITY,
        message=(
            "This pupil already has a claim for this period that is submitted or approved. "
            "Only one live claim per pupil per period is allowed."
        ),
    ),
    Rule(
        rule="claim.decided_amount",
        severity="must",
        transition="submitted->approved|partially_approved",
        source=SERVICE_INTEGRITY,
        message=(
            "An approval must be for the requested amount; a partial approval must be for more "
            "than zero and less than the requested amount."
        ),
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.rule: rule for rule in CATALOGUE}

# Catalogue order is the order violations are reported in, so a client sees them in the
# same order as the checklist it shows from `GET /v1/rules`.
CATALOGUE_POSITION: dict[str, int] = {rule.rule: index for index, rule in enumerate(CATALOGUE)}
