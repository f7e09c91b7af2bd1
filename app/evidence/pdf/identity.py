"""The title block: who the pupil is, the school, a summary of the support and the
request with its statutory dates (6, 16 and 20 weeks), as three cards on the first page.

The pupil's name is printed here only; headers, footers and the PDF's metadata carry the
initials and UPN.
"""

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from app.evidence.pdf.layout import facts_table, labelled, para
from app.evidence.pdf.story import EvidenceStory
from app.evidence.pdf.style import ACCENT, CONTENT_WIDTH
from app.evidence.pdf.text import (
    SEN_STATUSES,
    age_on,
    format_day,
    format_due,
    format_moment,
    literal,
    money,
    need_name,
    readable,
    year_group_name,
)
from app.evidence.schemas import EvidenceBundle


def title_block(story: EvidenceStory) -> None:
    bundle, pupil, school, request = (
        story.bundle,
        story.bundle.pupil,
        story.bundle.school,
        story.bundle.request,
    )
    story.heading("Request for an EHC needs assessment: evidence", style="title")
    story.add(
        para(
            f"Evidence of SEN support for the local authority's EHC panel · "
            f"generated {literal(format_moment(bundle.generated_at))}",
            "subtitle",
        )
    )
    half = (CONTENT_WIDTH - 8 * mm) / 2
    age = age_on(pupil.date_of_birth, story.generated)
    cost = money(bundle.summary.latest_annual_provision_cost)
    pupil_card = [
        para("Pupil", "card_title"),
        facts_table(
            [
                ("Name", f"<b>{literal(pupil.first_name)} {literal(pupil.last_name)}</b>"),
                ("UPN", literal(pupil.upn)),
                ("Date of birth", f"{format_day(pupil.date_of_birth)} (age {age})"),
                ("Year group", literal(year_group_name(pupil.year_group))),
                ("Home LA", literal(pupil.home_la_code)),
                ("SEN status", literal(SEN_STATUSES.get(pupil.sen_status, pupil.sen_status))),
                ("Primary need", literal(need_name(pupil.primary_need))),
                ("Secondary need", literal(need_name(pupil.secondary_need))),
                ("Pupil premium", "Yes" if pupil.pupil_premium else "No"),
            ],
            half,
        ),
    ]
    school_card = [
        para("School", "card_title"),
        facts_table(
            [
                ("Name", f"<b>{literal(school.name)}</b>"),
                ("URN", literal(school.urn)),
                ("LA", literal(school.la_code)),
                ("Type", literal(readable(school.establishment_type))),
            ],
            half,
        ),
        Spacer(1, 6),
        para("Summary", "card_title"),
        facts_table(
            [
                ("Support since", format_day(bundle.summary.support_since)),
                ("Support plans", str(bundle.summary.plans)),
                ("Completed cycles", str(bundle.summary.cycles_completed)),
                ("Annual provision", f"<b>{literal(cost)}</b> (latest cycle that reached Do)"),
                ("Specialists", str(bundle.summary.specialist_involvements)),
                ("Open referrals", literal(_open_referral_summary(bundle))),
                ("Open concerns", str(bundle.summary.open_concerns)),
            ],
            half,
        ),
    ]
    request_rows = [
        ("Status", f"<b>{literal(readable(request.status))}</b>"),
        ("Requested by", literal(readable(request.requested_by))),
        ("LA", literal(request.la_code or "—")),
        ("Submitted on", format_day(request.submitted_on)),
        ("Decision due", format_due(request.decision_due_on, "6 weeks: whether to assess")),
        ("16-week date", format_due(request.issue_decision_due_on, "whether to issue a plan")),
        ("20-week date", format_due(request.final_plan_due_on, "final plan")),
    ]
    if request.decided_on is not None:
        request_rows.append(("Decided on", format_day(request.decided_on)))
    request_card = [para("The request", "card_title"), facts_table(request_rows, half)]
    grid = Table(
        [[pupil_card, school_card], [request_card, ""]],
        colWidths=[half + 8 * mm, half],
    )
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 1), (-1, 1), 8),
                ("LINEABOVE", (0, 0), (-1, 0), 1.2, ACCENT),
            ]
        )
    )
    story.add(grid)
    story.add(*labelled("Reason for the request", request.reason))
    story.add(*labelled("Decision note", request.decision_note))


def _open_referral_summary(bundle: EvidenceBundle) -> str:
    summary = bundle.summary
    if not summary.open_referrals:
        return "None"
    return f"{summary.open_referrals} (longest waiting {summary.longest_open_referral_days} days)"
