"""Sections 1 to 3, read from the cycles: the nature of the need (each assessment), attainment
and progress (each review against the outcomes planned), and the action taken (provision as
costed, and the delivery logged during Do).
"""

from typing import Any

from reportlab.platypus import Flowable

from app.evidence.pdf.layout import data_table, empty_note, labelled, para
from app.evidence.pdf.story import EvidenceStory, cycle_name
from app.evidence.pdf.style import CONTENT_WIDTH
from app.evidence.pdf.text import (
    DECISIONS,
    STAGES,
    TIMES,
    format_day,
    literal,
    money,
    need_name,
    readable,
)
from app.evidence.schemas import BundleCycle, BundlePlan


def nature_of_need(story: EvidenceStory) -> None:
    pupil = story.bundle.pupil
    story.heading("1. Nature of the need")
    primary = need_name(pupil.primary_need) if pupil.primary_need else "not recorded"
    secondary = need_name(pupil.secondary_need) if pupil.secondary_need else "none recorded"
    story.add(
        para(f"Primary need: <b>{literal(primary)}</b>. Secondary need: {literal(secondary)}.")
    )
    if not story.bundle.support_plans:
        story.add(empty_note("No support plans recorded."))
        return
    for plan_number, plan in enumerate(story.bundle.support_plans, start=1):
        story.heading(f"Plan {plan_number}: {_plan_span(plan)}", level=1)
        areas = ", ".join(readable(a) for a in plan.areas_of_need) or "none recorded"
        people = [
            f"class teacher {plan.class_teacher}" if plan.class_teacher else None,
            f"SENCo {plan.senco}" if plan.senco else None,
        ]
        staff = "; ".join(p for p in people if p)
        story.add(
            para(
                f"<b>Areas of need:</b> {literal(areas)}."
                + (f" <b>Staff:</b> {literal(staff)}." if staff else "")
            )
        )
        for cycle in plan.cycles:
            story.add(para(literal(_cycle_title(plan_number, cycle)), "h3"))
            assessment = cycle.assessment
            if not (assessment.summary or assessment.needs or assessment.strengths):
                story.add(empty_note("No assessment recorded for this cycle."))
                continue
            story.add(*labelled("Summary of the assessment", assessment.summary))
            if assessment.needs:
                story.add(para("Needs identified", "label"))
                story.add(
                    data_table(
                        ["Area of need", "Description"],
                        [[readable(n.area), n.description] for n in assessment.needs],
                        [120, CONTENT_WIDTH - 120],
                    )
                )
            else:
                story.add(empty_note("No needs recorded in this assessment."))
            story.add(*labelled("Strengths", assessment.strengths))
            if assessment.sources:
                sources = ", ".join(readable(s).lower() for s in assessment.sources)
                story.add(para(f"<b>Evidence drawn on:</b> {literal(sources)}.", "note"))
            story.add(*labelled("External advice", assessment.external_advice))


def attainment_and_progress(story: EvidenceStory) -> None:
    story.heading("2. Attainment and progress")
    reviewed = 0
    for plan_number, _plan, cycle in story.cycles():
        review = cycle.review
        if not (review.held_on or review.outcome_progress or cycle.plan.outcomes):
            continue
        title = cycle_name(plan_number, cycle)
        if review.held_on:
            reviewed += 1
            title += f": review held {format_day(review.held_on)}"
            if review.decision:
                title += f", decision: {DECISIONS.get(review.decision, review.decision)}"
        else:
            title += f": not reviewed yet ({STAGES.get(cycle.stage, cycle.stage)} stage)"
        story.add(para(literal(title), "h3"))
        ratings = {entry.outcome_id: entry for entry in review.outcome_progress}
        unrated = "Not rated" if review.held_on else "Not yet reviewed"
        rows = []
        for outcome in cycle.plan.outcomes:
            entry = ratings.get(outcome.id)
            detail = literal(outcome.description)
            if outcome.success_criteria:
                criteria = literal(outcome.success_criteria)
                detail += f"<br/><font color='#5F6B7A'>Success: {criteria}</font>"
            if outcome.target_date:
                detail += f"<br/><font color='#5F6B7A'>By {format_day(outcome.target_date)}</font>"
            rows.append(
                [
                    para(detail, "cell"),
                    readable(entry.rating) if entry and entry.rating else unrated,
                    readable(entry.progress) if entry and entry.progress else unrated,
                    entry.comment if entry and entry.comment else "",
                ]
            )
        if rows:
            story.add(
                data_table(
                    ["Outcome", "Rating", "Progress", "Comment"],
                    rows,
                    [175, 70, 62, CONTENT_WIDTH - 307],
                )
            )
        else:
            story.add(empty_note("No outcomes recorded for this cycle."))
        story.add(*labelled("Impact of the support", review.impact_summary))
    if reviewed == 0:
        story.add(empty_note("No reviews recorded."))


def action_and_support(story: EvidenceStory) -> None:
    story.heading("3. Action taken and extra support given")
    story.add(
        para(
            "Provision over and above what is ordinarily available, as planned and costed "
            "for each cycle, and the delivery logged during the Do stage. Annual cost = "
            f"hourly rate {TIMES} minutes/60 {TIMES} sessions a week {TIMES} weeks a year "
            "÷ group size, plus "
            "any fixed annual cost.",
            "note",
        )
    )
    any_provision = False
    for plan_number, _plan, cycle in story.cycles():
        plan = cycle.plan
        if not plan.provisions:
            continue
        any_provision = True
        story.add(
            para(
                literal(f"{cycle_name(plan_number, cycle)}: annual cost {money(plan.annual_cost)}"),
                "h3",
            )
        )
        notices = [
            ("parents notified", plan.parents_notified_on),
            ("parents consulted", plan.parents_consulted_on),
            ("pupil consulted", plan.pupil_consulted_on),
            ("staff informed", plan.staff_informed_on),
        ]
        said = [f"{what} {format_day(when)}" for what, when in notices if when is not None]
        if said:
            method = f" (by {plan.notification_method})" if plan.notification_method else ""
            story.add(para(literal(f"Plan shared: {'; '.join(said)}{method}."), "note"))
        rows: list[list[Any]] = []
        for provision in plan.provisions:
            pattern = "—"
            if provision.sessions_per_week is not None:
                parts = [
                    str(provision.sessions_per_week),
                    f"{provision.minutes_per_session} min",
                    f"{provision.weeks_per_year} wk",
                ]
                pattern = f" {TIMES} ".join(parts)
            rows.append(
                [
                    para(
                        f"{literal(provision.description)}<br/>"
                        f"<font color='#5F6B7A'>{literal(readable(provision.kind))}</font>",
                        "cell",
                    ),
                    readable(provision.delivered_by),
                    provision.group_size,
                    pattern,
                    money(provision.hourly_rate),
                    money(provision.fixed_annual_cost),
                    money(provision.annual_cost),
                ]
            )
        rows.append(["Total annual cost", "", "", "", "", "", money(plan.annual_cost)])
        table = data_table(
            [
                "Provision",
                "Delivered by",
                "Group",
                f"Sessions {TIMES} minutes {TIMES} weeks",
                "Hourly rate",
                "Fixed cost",
                "Annual cost",
            ],
            rows,
            [150, 72, 34, 82, 48, 45, CONTENT_WIDTH - 431],
            right=(2, 4, 5, 6),
            total_row=True,
        )
        story.add(table)
        story.add(*_delivery(cycle))
    if not any_provision:
        story.add(empty_note("No provision recorded."))


def _delivery(cycle: BundleCycle) -> list[Flowable]:
    delivery = cycle.delivery
    if delivery.sessions == 0:
        return [empty_note("No delivery logged for this cycle.")]
    share = round(100 * delivery.sessions_attended / delivery.sessions)
    first, last = delivery.first_delivered_on, delivery.last_delivered_on
    span = f" from {format_day(first)} to {format_day(last)}" if first and last else ""
    flowables: list[Flowable] = [
        para(
            f"<b>Delivery logged{literal(span)}:</b> {delivery.sessions:,} sessions, "
            f"{delivery.sessions_attended:,} attended ({share}%), {delivery.minutes:,} minutes "
            f"({delivery.minutes / 60:,.1f} hours).",
        )
    ]
    if delivery.by_provision:
        flowables.append(
            data_table(
                ["Provision delivered", "Sessions", "Attended", "Minutes"],
                [
                    [d.description, d.sessions, d.sessions_attended, f"{d.minutes:,}"]
                    for d in delivery.by_provision
                ],
                [CONTENT_WIDTH - 180, 60, 60, 60],
                right=(1, 2, 3),
            )
        )
    return flowables


def _plan_span(plan: BundlePlan) -> str:
    text = f"opened {format_day(plan.opened_on)}"
    if plan.closed_on:
        text += f", closed {format_day(plan.closed_on)}"
        if plan.close_reason:
            text += f" ({readable(plan.close_reason).lower()})"
    else:
        text += f", {plan.status}"
    return text


def _cycle_title(plan_number: int, cycle: BundleCycle) -> str:
    stage = STAGES.get(cycle.stage, cycle.stage)
    state = "complete" if cycle.completed_at else f"now at the {stage} stage"
    return f"{cycle_name(plan_number, cycle)} (opened {format_day(cycle.started_at)}, {state})"
