"""Sections 5 to 9, the dated records: pupil and parent views, concerns and responses,
accepted departures from guidance, funding claims and the chronology of events.
"""

from datetime import date
from typing import Any

from app.evidence.pdf.layout import data_table, empty_note, para
from app.evidence.pdf.story import EvidenceStory, cycle_name
from app.evidence.pdf.style import CONTENT_WIDTH
from app.evidence.pdf.text import (
    VIEW_STAGES,
    format_day,
    format_stamp_day,
    literal,
    local_time,
    money,
    readable,
)


def pupil_and_parent_views(story: EvidenceStory) -> None:
    story.heading("5. Pupil and parent views")
    entries: list[tuple[date, int, str, str, str, str]] = []
    order = 0
    for plan_number, _plan, cycle in story.cycles():
        name = cycle_name(plan_number, cycle)
        opened = local_time(cycle.started_at).date()
        logged = {(v.author, v.text.strip()) for v in cycle.views_log}
        for view in cycle.views_log:
            day = local_time(view.recorded_at).date()
            context = f"{name}, {VIEW_STAGES.get(view.stage, view.stage)}"
            entries.append((day, order, format_day(day), readable(view.author), context, view.text))
            order += 1
        # The stage records hold the same views when posted through the views endpoint;
        # only those written straight into the record are added here.
        # Views written into the assessment carry no date of their own: they are placed at
        # the cycle's opening and say so.
        records = [
            ("parent", cycle.assessment.parent_views, None, "assessment"),
            ("pupil", cycle.assessment.pupil_views, None, "assessment"),
            ("parent", cycle.review.parent_views, cycle.review.held_on, "review"),
            ("pupil", cycle.review.pupil_views, cycle.review.held_on, "review"),
        ]
        for author, text, held_on, where in records:
            if not text or (author, text.strip()) in logged:
                continue
            if held_on is not None:
                shown, context = format_day(held_on), f"{name}, {where}"
            else:
                shown = f"During {where}"
                context = f"{name}, {where} (cycle opened {format_day(opened)})"
            entries.append((held_on or opened, order, shown, readable(author), context, text))
            order += 1
    if not entries:
        story.add(empty_note("No pupil or parent views recorded."))
        return
    entries.sort(key=lambda e: (e[0], e[1]))
    story.add(
        data_table(
            ["Date", "Whose view", "Where recorded", "View"],
            [list(e[2:]) for e in entries],
            [56, 40, 112, CONTENT_WIDTH - 208],
        )
    )


def concerns(story: EvidenceStory) -> None:
    story.heading("6. Concerns and responses")
    concerns = sorted(story.bundle.concerns, key=lambda c: c.raised_on)
    if not concerns:
        story.add(empty_note("No concerns recorded."))
        return
    rows = []
    for concern in concerns:
        if concern.response:
            response: Any = para(
                f"<font color='#5F6B7A'>{format_day(concern.responded_on)}:</font> "
                f"{literal(concern.response)}",
                "cell",
            )
        else:
            response = "No response yet."
        rows.append(
            [
                format_day(concern.raised_on),
                readable(concern.raised_by),
                concern.description,
                readable(concern.status),
                response,
            ]
        )
    story.add(
        data_table(
            ["Raised", "Raised by", "Concern", "Status", "Response"],
            rows,
            [55, 58, 170, 50, CONTENT_WIDTH - 333],
        )
    )


def departures(story: EvidenceStory) -> None:
    story.heading("7. Accepted departures from guidance")
    story.add(
        para(
            "Where the Code's guidance (a should rule) was not followed, the reason given "
            "at the time.",
            "note",
        )
    )
    departures = story.bundle.departures
    if not departures:
        story.add(empty_note("No departures from guidance recorded."))
        return
    rows = [
        [
            format_stamp_day(d.recorded_at),
            d.where,
            para(
                f"{literal(d.rule)}<br/><font color='#5F6B7A'>{literal(d.transition)}</font>",
                "cell",
            ),
            d.reason,
        ]
        for d in departures
    ]
    story.add(
        data_table(
            ["Recorded", "Where", "Rule", "Reason"],
            rows,
            [55, 105, 130, CONTENT_WIDTH - 290],
        )
    )


def funding_claims(story: EvidenceStory) -> None:
    story.heading("8. Funding claims")
    claims = story.bundle.funding_claims
    if not claims:
        story.add(empty_note("No funding claims recorded."))
        return
    rows = [
        [
            c.period,
            readable(c.status),
            money(c.threshold),
            money(c.provision_cost),
            money(c.requested_amount),
            money(c.decided_amount),
            format_day(c.decided_at),
        ]
        for c in claims
    ]
    story.add(
        data_table(
            [
                "Period",
                "Status",
                "Threshold",
                "Provision cost",
                "Requested",
                "Decided",
                "Decided on",
            ],
            rows,
            [50, 80, 65, 75, 65, 65, CONTENT_WIDTH - 400],
            right=(2, 3, 4, 5, 6),
        )
    )


def chronology(story: EvidenceStory) -> None:
    story.heading("9. Chronology")
    timeline = story.bundle.timeline
    if not timeline:
        story.add(empty_note("No events recorded."))
        return
    story.add(
        data_table(
            ["Date", "Event", "Summary"],
            [[format_day(e.on), readable(e.kind), e.summary] for e in timeline],
            [62, 90, CONTENT_WIDTH - 152],
        )
    )


# helpers
