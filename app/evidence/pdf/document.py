"""The evidence PDF put together: the sections in the order the LA weighs the evidence, then
written to A4 pages with the bundle's own time and no name in the metadata.
"""

from collections.abc import Callable

from app.evidence.pdf.chart import progress_chart
from app.evidence.pdf.cycles import (
    action_and_support,
    attainment_and_progress,
    nature_of_need,
)
from app.evidence.pdf.identity import title_block
from app.evidence.pdf.layout import write_pdf
from app.evidence.pdf.records import (
    chronology,
    concerns,
    departures,
    funding_claims,
    pupil_and_parent_views,
)
from app.evidence.pdf.specialists import health_and_social
from app.evidence.pdf.story import EvidenceStory
from app.evidence.pdf.style import register_fonts
from app.evidence.pdf.text import pupil_initials
from app.evidence.pdf.timeline import support_timeline
from app.evidence.schemas import EvidenceBundle

# The title block and the two graphics first, then DOMAIN.md §4.2's order (CoP 9.14).
SECTIONS: tuple[Callable[[EvidenceStory], None], ...] = (
    title_block,
    support_timeline,
    progress_chart,
    nature_of_need,
    attainment_and_progress,
    action_and_support,
    health_and_social,
    pupil_and_parent_views,
    concerns,
    departures,
    funding_claims,
    chronology,
)


def render_evidence_pdf(bundle: EvidenceBundle) -> bytes:
    """The bundle as an A4 PDF. Deterministic: the same bundle gives the same bytes."""
    register_fonts()
    story = EvidenceStory(bundle)
    for section in SECTIONS:
        section(story)
    pupil = bundle.pupil
    initials = pupil_initials(pupil.first_name, pupil.last_name)
    return write_pdf(
        story.flowables,
        # No name in the metadata either: file previews and indexes show it.
        title=f"EHC evidence bundle, UPN {pupil.upn}",
        subject="Evidence of SEN support for a request for an EHC needs assessment",
        author=bundle.school.name,
        header=f"EHC needs assessment request: evidence  ·  {bundle.school.name}",
        footer=f"{initials}  ·  UPN {pupil.upn}",
        created=bundle.generated_at,
    )
