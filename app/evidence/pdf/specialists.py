"""Section 4, health and social needs: each specialist involvement, with the referrals still
waiting for advice first, measured against the Local Offer's published target.
"""

from collections.abc import Sequence
from typing import Any

from reportlab.platypus import Flowable

from app.evidence.pdf.layout import data_table, empty_note, para
from app.evidence.pdf.story import EvidenceStory
from app.evidence.pdf.style import CONTENT_WIDTH
from app.evidence.pdf.text import SERVICES, format_day, literal, readable
from app.evidence.schemas import BundleSpecialist


def _open_referrals(involvements: Sequence[BundleSpecialist]) -> list[Flowable]:
    """The referrals still waiting for advice, longest first, against the Local Offer's target:
    the delay the panel should see before the table's detail."""
    waiting = sorted(
        (i for i in involvements if i.still_waiting),
        key=lambda i: -(i.waiting_days or 0),
    )
    if not waiting:
        return [para("No referral is waiting for advice.", "note")]
    flowables: list[Flowable] = [
        para(f"Still waiting for advice ({len(waiting)})", "label"),
    ]
    for involvement in waiting:
        service = SERVICES.get(involvement.service, readable(involvement.service))
        text = (
            f"referred {format_day(involvement.requested_on)}, "
            f"waiting {involvement.waiting_days} days so far"
        )
        offer = involvement.local_offer_service
        if offer is None:
            text += " (no Local Offer service named, so no published target)."
        else:
            text += (
                f" against a Local Offer target of {offer.target_days} days "
                f"({offer.name}, LA {offer.la_code})"
            )
            text += ": target exceeded." if involvement.over_target else "."
        flowables.append(para(f"<b>{literal(service)}:</b> {literal(text)}", "advice"))
    return flowables


def health_and_social(story: EvidenceStory) -> None:
    story.heading("4. Health and social needs: specialist involvement")
    involvements = story.bundle.specialist_involvements
    if not involvements:
        story.add(empty_note("No specialist involvement recorded."))
        return
    story.add(*_open_referrals(involvements))
    rows: list[list[Any]] = []
    for involvement in involvements:
        waiting = "—" if involvement.waiting_days is None else str(involvement.waiting_days)
        if involvement.still_waiting:
            waiting += " (still waiting)"
        offer = involvement.local_offer_service
        target = "—" if offer is None else f"{offer.target_days}"
        if involvement.over_target:
            target += " (exceeded)"
        rows.append(
            [
                SERVICES.get(involvement.service, readable(involvement.service)),
                format_day(involvement.parents_involved_on),
                "Yes" if involvement.parental_consent else "No",
                format_day(involvement.requested_on),
                format_day(involvement.advice_received_on),
                waiting,
                target,
            ]
        )
    story.add(
        data_table(
            [
                "Service",
                "Parents involved",
                "Parental consent",
                "Requested",
                "Advice received",
                "Waiting days",
                "Target days",
            ],
            rows,
            [100, 62, 50, 62, 62, 84, CONTENT_WIDTH - 420],
            right=(5, 6),
        )
    )
    # Advice runs long (a report's summary), so it is full-width text under the table
    # rather than a thin column pages deep.
    story.add(para("Advice summaries", "label"))
    for involvement in involvements:
        service = SERVICES.get(involvement.service, readable(involvement.service))
        if involvement.advice_summary:
            when = format_day(involvement.advice_received_on)
            story.add(
                para(
                    f"<b>{literal(service)}</b> "
                    f"<font color='#5F6B7A'>(advice of {when}):</font> "
                    f"{literal(involvement.advice_summary)}",
                    "advice",
                )
            )
        else:
            story.add(para(f"<b>{literal(service)}:</b> <i>no advice recorded yet.</i>", "advice"))
