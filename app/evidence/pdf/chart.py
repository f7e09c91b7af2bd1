"""Progress across cycles: a stacked reportlab bar chart of each completed cycle's
outcomes by the progress recorded at its review, with the same figures as a table beneath.

Stacked bars rather than a line plot: each cycle is a category holding a handful of counts,
not a point on a continuous scale. The table repeats the numbers for a reader who cannot tell
the colours apart (the Okabe-Ito colours of `style.PROGRESS_SERIES` help too) and for text
extraction, which cannot read a chart.
"""

import uuid
from collections.abc import Mapping, Sequence

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Table

from app.evidence.pdf.layout import data_table, empty_note, para
from app.evidence.pdf.story import EvidenceStory
from app.evidence.pdf.style import (
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    INK,
    MUTED,
    PROGRESS_SERIES,
    RULE,
)
from app.evidence.pdf.text import format_day, readable
from app.evidence.schemas import CycleProgress


def progress_chart(story: EvidenceStory) -> None:
    story.add(CondPageBreak(85 * mm))
    story.heading("Progress across cycles")
    points = story.bundle.progress
    if not points:
        story.add(empty_note("No completed cycles recorded, so there is no progress to chart yet."))
        return
    story.add(
        para(
            "Outcomes of each completed cycle by the progress recorded at its review.",
            "note",
        )
    )
    story.add(_stacked_bars(points, story.plan_numbers))
    story.add(_progress_table(points, story.plan_numbers))


def _stacked_bars(
    points: Sequence[CycleProgress], plan_numbers: Mapping[uuid.UUID, int]
) -> Drawing:
    compact = len(points) > 8
    names = []
    for point in points:
        plan_number = plan_numbers.get(point.plan_id, 0)
        held = f"{point.held_on:%b %Y}" if point.held_on else "not held"
        if compact:
            names.append(f"P{plan_number} C{point.cycle_number}")
        else:
            names.append(f"Plan {plan_number}\nCycle {point.cycle_number}\n{held}")
    series = [
        [p.good for p in points],
        [p.expected for p in points],
        [p.little_or_none for p in points],
        [p.not_rated for p in points],
    ]
    highest = max(max(sum(column) for column in zip(*series, strict=True)), 1)

    drawing = Drawing(CONTENT_WIDTH, 190)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.height = 34, 44, 132
    chart.width = min(330.0, max(140.0, 62.0 * len(points)))
    chart.data = series
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.dy = -3
    if compact:
        # Many narrow bars: upright labels would run into each other.
        chart.categoryAxis.labels.angle = 90
        chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.leading = 8
    chart.categoryAxis.strokeColor = MUTED
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = highest
    chart.valueAxis.valueStep = 1 if highest <= 10 else None
    chart.valueAxis.labelTextFormat = "%d"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.strokeColor = MUTED
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.valueAxis.gridStrokeWidth = 0.4
    chart.barWidth = 10
    chart.groupSpacing = 8
    chart.barLabelFormat = lambda value: f"{value:.0f}" if value else ""
    chart.barLabels.fontName = FONT_BOLD
    chart.barLabels.fontSize = 7
    chart.barLabels.fillColor = colors.white
    chart.barLabels.boxTarget = "mid"
    for index, (_name, colour) in enumerate(PROGRESS_SERIES):
        chart.bars[index].fillColor = colour
        chart.bars[index].strokeColor = colors.white
        chart.bars[index].strokeWidth = 0.5
    drawing.add(chart)
    drawing.add(
        String(
            chart.x - 6,
            chart.y + chart.height + 8,
            "Outcomes",
            fontName=FONT,
            fontSize=7,
            fillColor=MUTED,
            textAnchor="end",
        )
    )

    legend = Legend()
    legend.x = chart.x + chart.width + 28
    legend.y = chart.y + chart.height
    legend.alignment = "right"
    legend.fontName = FONT
    legend.fontSize = 8
    legend.columnMaximum = 4
    legend.dy = 8
    legend.dx = 8
    legend.deltay = 14
    legend.colorNamePairs = [(colour, name) for name, colour in PROGRESS_SERIES]
    drawing.add(legend)
    drawing.add(
        String(
            legend.x,
            chart.y + chart.height + 10,
            "Outcomes by progress at review",
            fontName=FONT_BOLD,
            fontSize=7.5,
            fillColor=INK,
        )
    )
    return drawing


def _progress_table(
    points: Sequence[CycleProgress], plan_numbers: Mapping[uuid.UUID, int]
) -> Table:
    rows = [
        [
            f"Plan {plan_numbers.get(p.plan_id, 0)} · Cycle {p.cycle_number}",
            format_day(p.held_on),
            p.good,
            p.expected,
            p.little_or_none,
            p.not_rated,
            readable(p.decision),
        ]
        for p in points
    ]
    return data_table(
        [
            "Cycle",
            "Review held",
            "Good",
            "Expected",
            "Little or none",
            "Not rated",
            "Decision",
        ],
        rows,
        [95, 70, 45, 50, 60, 50, CONTENT_WIDTH - 370],
        right=(2, 3, 4, 5),
    )
