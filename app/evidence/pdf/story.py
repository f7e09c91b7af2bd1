"""The document as the sections build it: the flowables so far, plus what every section reads
(the bundle, the day it was generated, the plans' numbers) and the outline's heading keys.

Sections are functions of an `EvidenceStory` that only append to it, so their order is set in
one place (`document.SECTIONS`) and none of them depends on another having run.
"""

from collections.abc import Iterable

from reportlab.platypus import Flowable

from app.evidence.pdf.layout import SectionHeading
from app.evidence.pdf.text import literal, local_time
from app.evidence.schemas import BundleCycle, BundlePlan, EvidenceBundle


def cycle_name(plan_number: int, cycle: BundleCycle) -> str:
    return f"Plan {plan_number} · Cycle {cycle.number}"


class EvidenceStory:
    def __init__(self, bundle: EvidenceBundle) -> None:
        self.bundle = bundle
        self.generated = local_time(bundle.generated_at).date()
        self.plan_numbers = {plan.id: n for n, plan in enumerate(bundle.support_plans, start=1)}
        self.flowables: list[Flowable] = []
        self.headings = 0

    def cycles(self) -> Iterable[tuple[int, BundlePlan, BundleCycle]]:
        """Every cycle of every plan, oldest plan first, with the plan's number as printed."""
        for number, plan in enumerate(self.bundle.support_plans, start=1):
            for cycle in plan.cycles:
                yield number, plan, cycle

    def add(self, *flowables: Flowable) -> None:
        self.flowables.extend(flowables)

    def heading(self, text: str, level: int = 0, style: str | None = None) -> None:
        # Keys are counted, not derived from object ids, so the same bundle gives the same bytes.
        self.headings += 1
        key = f"section-{self.headings}"
        self.add(SectionHeading(literal(text), style or ("h1" if level == 0 else "h2"), level, key))
