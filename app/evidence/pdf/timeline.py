"""The support timeline: one bar per cycle along a shared date axis, the specialists
beneath, and dashed lines for the request's submission and the bundle's generation.

Drawn from reportlab's graphics shapes rather than one of its charts: reportlab.graphics.charts
has no range-bar (Gantt) chart, and bending a LinePlot into one would still leave the in-progress
bars, the labelled date lines, the month-and-year axis and the decision column to draw by hand,
on a second set of coordinates.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak

from app.evidence.pdf.layout import empty_note, para
from app.evidence.pdf.story import EvidenceStory, cycle_name
from app.evidence.pdf.style import (
    ACCENT,
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    INK,
    MUTED,
    PLAN_COLOURS,
    RULE,
)
from app.evidence.pdf.text import (
    SERVICE_SHORT,
    SERVICES,
    STAGES,
    format_day,
    local_time,
    plain,
    readable,
)
from app.evidence.schemas import BundleSpecialist


@dataclass(frozen=True)
class _CycleBar:
    label: str
    start: date
    end: date
    running: bool
    colour: Any
    held_on: date | None
    review_due: date | None
    note: str


@dataclass(frozen=True)
class _SpecialistLine:
    label: str
    requested: date | None
    received: date | None
    note: str


TIMELINE_LABEL_WIDTH = 88.0
TIMELINE_NOTE_WIDTH = 100.0
TIMELINE_ROW = 17.0
# A Drawing cannot split across pages: a long history becomes several drawings on one axis.
TIMELINE_ROWS_PER_DRAWING = 32


def _string(
    x: float,
    y: float,
    text: str,
    *,
    size: float = 6.5,
    colour: Any = MUTED,
    anchor: str = "start",
    bold: bool = False,
) -> String:
    font = FONT_BOLD if bold else FONT
    return String(
        x, y, plain(text), fontName=font, fontSize=size, fillColor=colour, textAnchor=anchor
    )


def _line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    colour: Any = INK,
    width: float = 1.0,
    dash: list[float] | None = None,
) -> Line:
    return Line(x1, y1, x2, y2, strokeColor=colour, strokeWidth=width, strokeDashArray=dash)


def _faded(colour: Any) -> Any:
    return colors.Color(colour.red, colour.green, colour.blue, alpha=0.3)


def _bar_shape(x: float, y: float, width: float, colour: Any, running: bool) -> Rect:
    if running:
        return Rect(x, y, width, 9, fillColor=_faded(colour), strokeColor=colour,
                    strokeWidth=0.8, strokeDashArray=[2, 1.5])  # fmt: skip
    return Rect(x, y, width, 9, fillColor=colour, strokeColor=colour, strokeWidth=0.5)


def _diamond(x: float, y: float, size: float, filled: bool) -> Polygon:
    return Polygon(
        [x, y + size, x + size, y, x, y - size, x - size, y],
        fillColor=INK if filled else colors.white,
        strokeColor=INK,
        strokeWidth=0.9,
    )


def _triangle(x: float, y: float, size: float) -> Polygon:
    return Polygon(
        [x - size, y - size * 0.85, x + size, y - size * 0.85, x, y + size],
        fillColor=colors.white,
        strokeColor=INK,
        strokeWidth=0.9,
    )


def _month_ticks(start: date, end: date) -> list[date]:
    """First days of months between the dates: monthly, thinning out as the span grows."""
    months = (end.year - start.year) * 12 + end.month - start.month
    step = next((s for limit, s in ((12, 1), (24, 2), (48, 3), (96, 6)) if months <= limit), 12)
    ticks: list[date] = []
    year, month = start.year, start.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        tick = date(year, month, 1)
        if tick > end:
            return ticks
        if (month - 1) % step == 0:
            ticks.append(tick)


class _Timeline:
    """One horizontal bar per cycle along a shared date axis, with specialists beneath."""

    def __init__(
        self,
        bars: list[_CycleBar],
        specialists: list[_SpecialistLine],
        generated: date,
        submitted: date | None,
    ) -> None:
        self.bars = bars
        self.specialists = specialists
        self.generated = generated
        self.submitted = submitted
        days: list[date] = [generated]
        for bar in bars:
            days += [bar.start, bar.end]
            days += [d for d in (bar.held_on, bar.review_due) if d is not None]
        for line in specialists:
            days += [d for d in (line.requested, line.received) if d is not None]
        if submitted is not None:
            days.append(submitted)
        self.start = min(days) - timedelta(days=10)
        self.end = max(days) + timedelta(days=10)
        self.ticks = _month_ticks(self.start, self.end)
        self.x0 = TIMELINE_LABEL_WIDTH
        self.x1 = CONTENT_WIDTH - TIMELINE_NOTE_WIDTH

    def x(self, day: date) -> float:
        share = (day - self.start).days / (self.end - self.start).days
        return self.x0 + share * (self.x1 - self.x0)

    def drawings(self) -> list[Drawing]:
        rows: list[_CycleBar | _SpecialistLine] = [*self.bars, *self.specialists]
        size = TIMELINE_ROWS_PER_DRAWING
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
        return [self._drawing(chunk, last=i == len(chunks) - 1) for i, chunk in enumerate(chunks)]

    def _drawing(self, rows: Sequence[_CycleBar | _SpecialistLine], last: bool) -> Drawing:
        top_band, axis_band, legend_band = 22.0, 26.0, 16.0 if last else 0.0
        plot_height = len(rows) * TIMELINE_ROW
        drawing = Drawing(CONTENT_WIDTH, top_band + plot_height + axis_band + legend_band)
        axis_y = legend_band + axis_band
        plot_top = axis_y + plot_height

        for tick in self.ticks:
            x = self.x(tick)
            drawing.add(_line(x, axis_y, x, plot_top, RULE, 0.4))
            drawing.add(_line(x, axis_y, x, axis_y - 3, MUTED, 0.6))
            drawing.add(_string(x, axis_y - 11, f"{tick:%b}", anchor="middle"))
            if tick.month == 1 or tick == self.ticks[0]:
                drawing.add(_string(x, axis_y - 19, str(tick.year), anchor="middle", bold=True))
        drawing.add(_line(self.x0, axis_y, self.x1, axis_y, MUTED, 0.8))

        if self.submitted is not None:
            label = f"EHC request submitted {format_day(self.submitted)}"
            # Leftwards where it fits, so it never crosses the generated line to its right.
            fits = self.x(self.submitted) - len(label) * 3.4 > self.x0
            self._marker_line(drawing, self.submitted, axis_y, plot_top + 13, label, ACCENT, fits)
        label = f"Bundle generated {format_day(self.generated)}"
        self._marker_line(drawing, self.generated, axis_y, plot_top + 4, label, MUTED, False)

        for index, row in enumerate(rows):
            y = plot_top - (index + 0.5) * TIMELINE_ROW
            previous = rows[index - 1] if index else None
            if isinstance(row, _SpecialistLine) and isinstance(previous, _CycleBar):
                boundary = plot_top - index * TIMELINE_ROW
                drawing.add(_line(0, boundary, CONTENT_WIDTH, boundary, RULE, 0.6, [2, 2]))
            drawing.add(_string(0, y - 2.5, row.label, size=7.5, colour=INK))
            drawing.add(_string(self.x1 + 8, y - 2.5, row.note, size=7))
            if isinstance(row, _CycleBar):
                self._bar(drawing, row, y)
            else:
                self._specialist(drawing, row, y)

        if last:
            self._legend(drawing, 2.0)
        return drawing

    def _marker_line(
        self,
        drawing: Drawing,
        day: date,
        bottom: float,
        label_y: float,
        label: str,
        colour: Any,
        leftwards: bool,
    ) -> None:
        """A dashed vertical line through the rows, labelled in the band above them (which is
        empty across the notes column too, so a rightward label has room)."""
        x = self.x(day)
        drawing.add(_line(x, bottom, x, label_y + 7, colour, 0.9, [3, 2]))
        if leftwards:
            drawing.add(_string(x - 3, label_y, label, colour=colour, anchor="end"))
        else:
            drawing.add(_string(x + 3, label_y, label, colour=colour))

    def _bar(self, drawing: Drawing, bar: _CycleBar, y: float) -> None:
        left = self.x(bar.start)
        width = max(self.x(bar.end) - left, 2)
        drawing.add(_bar_shape(left, y - 4.5, width, bar.colour, bar.running))
        if bar.held_on is not None:
            drawing.add(_diamond(self.x(bar.held_on), y, 4.5, filled=True))
        elif bar.review_due is not None:
            drawing.add(_diamond(self.x(bar.review_due), y, 4.5, filled=False))

    def _specialist(self, drawing: Drawing, line: _SpecialistLine, y: float) -> None:
        if line.requested is None:
            return
        start = self.x(line.requested)
        if line.received is not None:
            drawing.add(_line(start, y, self.x(line.received), y, INK, 1.2))
            drawing.add(Circle(self.x(line.received), y, 3.2, fillColor=INK, strokeColor=INK))
        else:
            drawing.add(_line(start, y, self.x(self.generated), y, INK, 1.2, [2, 2]))
        drawing.add(_triangle(start, y, 3.8))

    def _legend(self, drawing: Drawing, y: float) -> None:
        colour, mid = PLAN_COLOURS[0], y + 5
        items: list[tuple[Callable[[float], Any], str]] = [
            (lambda cx: _bar_shape(cx - 6, mid - 4.5, 12, colour, False), "Completed cycle"),
            (lambda cx: _bar_shape(cx - 6, mid - 4.5, 12, colour, True), "Cycle in progress"),
            (lambda cx: _diamond(cx, mid, 4, filled=True), "Review held"),
            (lambda cx: _diamond(cx, mid, 4, filled=False), "Review due"),
            (lambda cx: _triangle(cx, mid, 3.5), "Specialist requested"),
            (lambda cx: Circle(cx, mid, 3, fillColor=INK, strokeColor=INK), "Advice received"),
        ]
        x = 0.0
        for make, text in items:
            drawing.add(make(x + 7))
            drawing.add(_string(x + 17, y + 2.5, text))
            x += 17 + len(text) * 3.3 + 12


def support_timeline(story: EvidenceStory) -> None:
    story.add(CondPageBreak(70 * mm))
    story.heading("Support timeline")
    bars = []
    for plan_number, _plan, cycle in story.cycles():
        running = cycle.completed_at is None
        end = local_time(cycle.completed_at).date() if cycle.completed_at else story.generated
        if running:
            note = f"In progress: {STAGES.get(cycle.stage, cycle.stage)}"
        else:
            note = readable(cycle.review.decision) if cycle.review.decision else "Complete"
        bars.append(
            _CycleBar(
                label=cycle_name(plan_number, cycle),
                start=local_time(cycle.started_at).date(),
                end=end,
                running=running,
                colour=PLAN_COLOURS[(plan_number - 1) % len(PLAN_COLOURS)],
                held_on=cycle.review.held_on,
                review_due=None if cycle.review.held_on else cycle.plan.review_date,
                note=note,
            )
        )
    if not bars:
        story.add(empty_note("No support cycles recorded."))
        return
    specialists = [_specialist_line(s) for s in story.bundle.specialist_involvements]
    chart = _Timeline(bars, specialists, story.generated, story.bundle.request.submitted_on)
    story.add(
        para(
            "Each bar is one assess-plan-do-review cycle, from when it opened to its "
            "completion; the diamond marks the review and the right-hand column its decision.",
            "note",
        )
    )
    story.add(*chart.drawings())


def _specialist_line(involvement: BundleSpecialist) -> _SpecialistLine:
    if involvement.requested_on is None:
        note = "Not yet requested"
    elif involvement.advice_received_on is not None:
        note = f"Advice after {involvement.waiting_days} days"
    else:
        note = f"Waiting {involvement.waiting_days} days"
    label = SERVICE_SHORT.get(involvement.service) or SERVICES.get(
        involvement.service, readable(involvement.service)
    )
    return _SpecialistLine(
        label=label,
        requested=involvement.requested_on,
        received=involvement.advice_received_on,
        note=note,
    )
