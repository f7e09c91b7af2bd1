"""The EHC evidence bundle as a PDF for the LA panel deciding whether to assess (SPEC.md §6).

Pure: the bundle in, the bytes out. No clock reads (dates, ages and the PDF's own timestamps all
come from `bundle.generated_at`); the only files read are the DejaVu fonts shipped beside this
module, embedded because pupils' names need more than the Latin-1 of the standard PDF fonts.
Every piece of user text goes through `_text`, which escapes it, so a description can never be
read as Paragraph markup.

Layout (A4 portrait): a title block with the pupil, school, request and a summary; a timeline
of the cycles and a chart of outcome progress; then the sections in the order the LA weighs the
evidence (DOMAIN.md §4.2, CoP 9.14), ending with the dated chronology. Every page carries the
confidentiality footer with the pupil's initials and UPN (never the name) and "Page n of m".
"""

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.ehc_requests.evidence_schemas import (
    BundleCycle,
    BundlePlan,
    BundleSpecialist,
    EvidenceBundle,
)

LONDON = ZoneInfo("Europe/London")
FOOTER_NOTICE = "Confidential: special category data about a child"
TIMES = "\N{MULTIPLICATION SIGN}"

PAGE_WIDTH: float = A4[0]
PAGE_HEIGHT: float = A4[1]
MARGIN_X: float = 18 * mm
MARGIN_TOP: float = 20 * mm
MARGIN_BOTTOM: float = 20 * mm
CONTENT_WIDTH: float = PAGE_WIDTH - 2 * MARGIN_X

INK = colors.HexColor("#1F2933")
MUTED = colors.HexColor("#5F6B7A")
ACCENT = colors.HexColor("#1D3F6E")
RULE = colors.HexColor("#C5CED9")
HEADER_FILL = colors.HexColor("#E4EAF2")
STRIPE_FILL = colors.HexColor("#F6F8FB")
PLAN_COLOURS = [colors.HexColor(c) for c in ("#2E6DB4", "#7A4EAB", "#1B8A8A", "#B5651D")]
# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies and in greyscale.
PROGRESS_SERIES = (
    ("Good progress", colors.HexColor("#009E73")),
    ("Expected progress", colors.HexColor("#56B4E9")),
    ("Little or no progress", colors.HexColor("#D55E00")),
    ("Not rated", colors.HexColor("#BBBBBB")),
)

SEN_TYPES = {
    "SPLD": "Specific learning difficulty",
    "MLD": "Moderate learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "SEMH": "Social, emotional and mental health",
    "SLCN": "Speech, language and communication needs",
    "ASD": "Autistic spectrum disorder",
    "HI": "Hearing impairment",
    "VI": "Vision impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "OTH": "Other difficulty/disability",
    "NSA": "SEN support but no specialist assessment of type of need",
}
SEN_STATUSES = {"N": "N: no special provision", "K": "K: SEN support", "E": "E: EHC plan"}
SERVICES = {
    "educational_psychologist": "Educational psychologist",
    "speech_and_language_therapy": "Speech and language therapy",
    "occupational_therapy": "Occupational therapy",
    "physiotherapy": "Physiotherapy",
    "camhs": "CAMHS",
    "specialist_teacher": "Specialist teacher",
    "paediatrician": "Paediatrician",
    "social_care": "Social care",
    "other": "Other service",
}
SERVICE_SHORT = {
    "educational_psychologist": "Ed. psychologist",
    "speech_and_language_therapy": "Speech & language",
    "occupational_therapy": "Occupational ther.",
    "specialist_teacher": "Specialist teacher",
}
LABELS = {
    "little_or_none": "Little or none",
    "social_emotional_and_mental_health": "Social, emotional and mental health",
    "request_ehc_assessment": "Request EHC assessment",
    "ehc_request": "EHC request",
    "senco": "SENCo",
    "plan_issued": "Plan issued",
    "plan_not_issued": "Plan not issued",
}
DECISIONS = {
    "continue": "continue",
    "involve_specialist": "involve a specialist",
    "close_support": "close support",
    "request_ehc_assessment": "request an EHC needs assessment",
}
VIEW_STAGES = {"assess": "assessment", "plan": "plan consultation", "review": "review"}
STAGES = {
    "assess": "Assess",
    "plan": "Plan",
    "do": "Do",
    "review": "Review",
    "complete": "Complete",
}

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_ITALIC = "DejaVuSans-Oblique"


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Once per process: DejaVu covers the Latin, Greek and Cyrillic letters of names (Ł, ș,
    ğ…) that Helvetica's Latin-1 would print as boxes."""
    for name in (FONT, FONT_BOLD, FONT_ITALIC):
        pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / f"{name}.ttf")))
    for bold, italic, face in (
        (0, 0, FONT),
        (1, 0, FONT_BOLD),
        (0, 1, FONT_ITALIC),
        (1, 1, FONT_BOLD),
    ):
        addMapping(FONT, bold, italic, face)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK)
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    return {
        "body": body,
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=17,
            leading=21,
            textColor=ACCENT,
            spaceAfter=2,
        ),
        "subtitle": ParagraphStyle("subtitle", parent=body, textColor=MUTED, spaceAfter=8),
        "h1": ParagraphStyle(
            "h1",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=13,
            leading=16,
            textColor=ACCENT,
            spaceBefore=12,
            spaceAfter=5,
            keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=10.5,
            leading=13,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "h3": ParagraphStyle(
            "h3",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=9.5,
            leading=12,
            textColor=ACCENT,
            spaceBefore=6,
            spaceAfter=2,
            keepWithNext=1,
        ),
        "note": ParagraphStyle("note", parent=body, textColor=MUTED, spaceAfter=4),
        "advice": ParagraphStyle("advice", parent=body, spaceAfter=4),
        "empty": ParagraphStyle(
            "empty", parent=body, fontName=FONT_ITALIC, textColor=MUTED, spaceAfter=4
        ),
        "label": ParagraphStyle(
            "label",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=8.5,
            leading=11,
            textColor=MUTED,
            spaceBefore=3,
            keepWithNext=1,
        ),
        "cell": cell,
        "cell_head": ParagraphStyle("cell_head", parent=cell, fontName=FONT_BOLD),
        "cell_right": ParagraphStyle("cell_right", parent=cell, alignment=TA_RIGHT),
        "cell_head_right": ParagraphStyle(
            "cell_head_right", parent=cell, fontName=FONT_BOLD, alignment=TA_RIGHT
        ),
        "cell_muted": ParagraphStyle("cell_muted", parent=cell, textColor=MUTED),
        "card_title": ParagraphStyle(
            "card_title",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=10,
            leading=12,
            textColor=ACCENT,
        ),
    }


STYLES = _styles()


# -- text ---------------------------------------------------------------------------------------


def _text(value: object) -> str:
    """User text as Paragraph source: escaped, so it is always shown literally, never as markup.
    Line breaks are kept; other control characters are dropped (they have no glyph)."""
    raw = "" if value is None else str(value)
    cleaned = "".join(ch for ch in raw if ch in "\n\t" or ord(ch) >= 32)
    return escape(cleaned.replace("\r\n", "\n")).replace("\n", "<br/>")


def _plain(value: str) -> str:
    """Text for a graphics String, which draws characters as they are (no markup at all)."""
    return "".join(ch for ch in value if ord(ch) >= 32)


def _label(value: str | None) -> str:
    if not value:
        return "—"
    return LABELS.get(value, value.replace("_", " ").capitalize())


def _money(value: str | None) -> str:
    """Pounds for people to read: "1234.5" is £1,234.50; a value that is no number stays as is."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    if not amount.is_finite():
        return value
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"


def _local(moment: datetime) -> datetime:
    # A naive timestamp is taken to be UTC, as the service stores them.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(LONDON)


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = _local(value).date()
    return f"{value.day} {value:%b %Y}"


def _moment(value: datetime) -> str:
    local = _local(value)
    return f"{local.day} {local:%b %Y}, {local:%H:%M} {local.tzname()}"


def _stamp_day(value: str) -> str:
    """A stored departure's `recorded_at` (RFC 3339 text) as a day, or the text as it is."""
    try:
        return _day(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return value


def _due(day: date | None, meaning: str) -> str:
    return "—" if day is None else f"{_day(day)} ({meaning})"


def _year_group(value: str) -> str:
    names = {"N1": "Nursery 1", "N2": "Nursery 2", "R": "Reception"}
    return names.get(value, f"Year {value}")


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _initials(first_name: str, last_name: str) -> str:
    return "".join(f"{part.strip()[:1].upper()}." for part in (first_name, last_name) if part)


def _need(code: str | None) -> str:
    if not code:
        return "—"
    return f"{code}: {SEN_TYPES[code]}" if code in SEN_TYPES else code


# -- building blocks ----------------------------------------------------------------------------


def _p(text: str, style: str = "body") -> Paragraph:
    """A paragraph of trusted markup (our own labels); user text must come through `_text`."""
    return Paragraph(text, STYLES[style])


def _cell(value: object, style: str = "cell") -> Paragraph:
    return Paragraph(_text(value), STYLES[style])


def _empty(sentence: str) -> Paragraph:
    return _p(_text(sentence), "empty")


def _open_referrals(involvements: Sequence[BundleSpecialist]) -> list[Flowable]:
    """The referrals still waiting for advice, longest first, against the Local Offer's target:
    the delay the panel should see before the table's detail."""
    waiting = sorted(
        (i for i in involvements if i.still_waiting),
        key=lambda i: -(i.waiting_days or 0),
    )
    if not waiting:
        return [_p("No referral is waiting for advice.", "note")]
    flowables: list[Flowable] = [
        _p(f"Still waiting for advice ({len(waiting)})", "label"),
    ]
    for involvement in waiting:
        service = SERVICES.get(involvement.service, _label(involvement.service))
        text = (
            f"referred {_day(involvement.requested_on)}, "
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
        flowables.append(_p(f"<b>{_text(service)}:</b> {_text(text)}", "advice"))
    return flowables


def _labelled(label: str, value: str | None) -> list[Flowable]:
    """A long free-text field under its own label; nothing when the field is empty."""
    if not value or not value.strip():
        return []
    return [_p(_text(label), "label"), _p(_text(value))]


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    right: Iterable[int] = (),
    total_row: bool = False,
    striped: bool = True,
    extra: Sequence[tuple[Any, ...]] = (),
) -> Table:
    """A table that repeats its header on every page and splits long rows across pages.
    Unstriped tables draw no rules between rows: the caller's `extra` commands do."""
    right = set(right)
    head = [
        _cell(h, "cell_head_right" if i in right else "cell_head") for i, h in enumerate(header)
    ]
    body = [
        [
            value
            if isinstance(value, Flowable)
            else _cell(value, "cell_right" if i in right else "cell")
            for i, value in enumerate(row)
        ]
        for row in rows
    ]
    table = Table([head, *body], colWidths=list(widths), repeatRows=1, splitInRow=1)
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3.5),
    ]
    if striped:
        commands += [
            ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE_FILL]),
        ]
    commands += extra
    if total_row:
        commands += [
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
            ("BACKGROUND", (0, -1), (-1, -1), HEADER_FILL),
        ]
    table.setStyle(TableStyle(commands))
    table.spaceBefore = 2
    table.spaceAfter = 6
    return table


def _facts(rows: Sequence[tuple[str, str]], width: float) -> Table:
    """Label/value pairs for the title block's cards (values already escaped)."""
    label_width = 30 * mm
    data = [[_p(_text(label), "cell_muted"), _p(value, "cell")] for label, value in rows]
    table = Table(data, colWidths=[label_width, width - label_width])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


class _Heading(Paragraph):  # type: ignore[misc]  # reportlab has no type information
    """A section heading that also becomes a bookmark in the PDF's outline."""

    def __init__(self, text: str, style: str, level: int, key: str) -> None:
        super().__init__(text, STYLES[style])
        self.outline_level = level
        self.outline_key = key


class _EvidenceDocTemplate(BaseDocTemplate):  # type: ignore[misc]
    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, _Heading):
            self.canv.bookmarkPage(flowable.outline_key)
            self.canv.addOutlineEntry(
                flowable.getPlainText(), flowable.outline_key, flowable.outline_level, closed=True
            )


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Holds back every page until the end so the footer can say "Page n of m"."""

    def __init__(self, *args: Any, footer: str, header: str, created: datetime, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pending_pages: list[dict[str, Any]] = []
        self._footer = footer
        self._header = header
        stamp = created.astimezone(UTC) if created.tzinfo is not None else created
        # The PDF's CreationDate/ModDate: the bundle's time, not the wall clock.
        self.setDateFormatter(
            lambda *_parts: stamp.strftime("D:%Y%m%d%H%M%S+00'00'"),
        )

    def showPage(self) -> None:
        self._pending_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pending_pages)
        for number, state in enumerate(self._pending_pages, start=1):
            self.__dict__.update(state)
            self._draw_page_furniture(number, total)
            super().showPage()
        super().save()

    def _draw_page_furniture(self, number: int, total: int) -> None:
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        top = PAGE_HEIGHT - MARGIN_TOP + 6 * mm
        self.line(MARGIN_X, top - 2.5 * mm, PAGE_WIDTH - MARGIN_X, top - 2.5 * mm)
        self.setFont(FONT, 7.5)
        self.setFillColor(MUTED)
        self.drawString(MARGIN_X, top, self._header)
        bottom = 10 * mm
        self.line(MARGIN_X, bottom + 4 * mm, PAGE_WIDTH - MARGIN_X, bottom + 4 * mm)
        self.setFont(FONT_BOLD, 7.5)
        self.setFillColor(INK)
        self.drawString(MARGIN_X, bottom, FOOTER_NOTICE)
        self.setFont(FONT, 7.5)
        self.drawRightString(
            PAGE_WIDTH - MARGIN_X, bottom, f"{self._footer}  ·  Page {number} of {total}"
        )
        self.restoreState()


# -- the cycle timeline -------------------------------------------------------------------------


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
        x, y, _plain(text), fontName=font, fontSize=size, fillColor=colour, textAnchor=anchor
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
            label = f"EHC request submitted {_day(self.submitted)}"
            # Leftwards where it fits, so it never crosses the generated line to its right.
            fits = self.x(self.submitted) - len(label) * 3.4 > self.x0
            self._marker_line(drawing, self.submitted, axis_y, plot_top + 13, label, ACCENT, fits)
        label = f"Bundle generated {_day(self.generated)}"
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


# -- the document -------------------------------------------------------------------------------


class _EvidenceDocument:
    def __init__(self, bundle: EvidenceBundle) -> None:
        self.bundle = bundle
        self.generated = _local(bundle.generated_at).date()
        self.plan_numbers = {plan.id: n for n, plan in enumerate(bundle.support_plans, start=1)}
        self.story: list[Flowable] = []
        self.headings = 0

    def cycles(self) -> Iterable[tuple[int, BundlePlan, BundleCycle]]:
        for number, plan in enumerate(self.bundle.support_plans, start=1):
            for cycle in plan.cycles:
                yield number, plan, cycle

    @staticmethod
    def cycle_name(plan_number: int, cycle: BundleCycle) -> str:
        return f"Plan {plan_number} · Cycle {cycle.number}"

    def add(self, *flowables: Flowable) -> None:
        self.story.extend(flowables)

    def heading(self, text: str, level: int = 0, style: str | None = None) -> None:
        # Keys are counted, not derived from object ids, so the same bundle gives the same bytes.
        self.headings += 1
        key = f"section-{self.headings}"
        self.add(_Heading(_text(text), style or ("h1" if level == 0 else "h2"), level, key))

    def build(self) -> list[Flowable]:
        self.title_block()
        self.timeline()
        self.progress_chart()
        self.nature_of_need()
        self.attainment_and_progress()
        self.action_and_support()
        self.health_and_social()
        self.views()
        self.concerns()
        self.departures()
        self.funding_claims()
        self.chronology()
        return self.story

    # title block

    def title_block(self) -> None:
        bundle, pupil, school, request = (
            self.bundle,
            self.bundle.pupil,
            self.bundle.school,
            self.bundle.request,
        )
        self.heading("Request for an EHC needs assessment: evidence", style="title")
        self.add(
            _p(
                f"Evidence of SEN support for the local authority's EHC panel · "
                f"generated {_text(_moment(bundle.generated_at))}",
                "subtitle",
            )
        )
        half = (CONTENT_WIDTH - 8 * mm) / 2
        age = _age(pupil.date_of_birth, self.generated)
        cost = _money(bundle.summary.latest_annual_provision_cost)
        pupil_card = [
            _p("Pupil", "card_title"),
            _facts(
                [
                    ("Name", f"<b>{_text(pupil.first_name)} {_text(pupil.last_name)}</b>"),
                    ("UPN", _text(pupil.upn)),
                    ("Date of birth", f"{_day(pupil.date_of_birth)} (age {age})"),
                    ("Year group", _text(_year_group(pupil.year_group))),
                    ("Home LA", _text(pupil.home_la_code)),
                    ("SEN status", _text(SEN_STATUSES.get(pupil.sen_status, pupil.sen_status))),
                    ("Primary need", _text(_need(pupil.primary_need))),
                    ("Secondary need", _text(_need(pupil.secondary_need))),
                    ("Pupil premium", "Yes" if pupil.pupil_premium else "No"),
                ],
                half,
            ),
        ]
        school_card = [
            _p("School", "card_title"),
            _facts(
                [
                    ("Name", f"<b>{_text(school.name)}</b>"),
                    ("URN", _text(school.urn)),
                    ("LA", _text(school.la_code)),
                    ("Type", _text(_label(school.establishment_type))),
                ],
                half,
            ),
            Spacer(1, 6),
            _p("Summary", "card_title"),
            _facts(
                [
                    ("Support since", _day(bundle.summary.support_since)),
                    ("Support plans", str(bundle.summary.plans)),
                    ("Completed cycles", str(bundle.summary.cycles_completed)),
                    ("Annual provision", f"<b>{_text(cost)}</b> (latest cycle that reached Do)"),
                    ("Specialists", str(bundle.summary.specialist_involvements)),
                    ("Open referrals", _text(_open_referral_summary(bundle))),
                    ("Open concerns", str(bundle.summary.open_concerns)),
                ],
                half,
            ),
        ]
        request_rows = [
            ("Status", f"<b>{_text(_label(request.status))}</b>"),
            ("Requested by", _text(_label(request.requested_by))),
            ("LA", _text(request.la_code or "—")),
            ("Submitted on", _day(request.submitted_on)),
            ("Decision due", _due(request.decision_due_on, "6 weeks: whether to assess")),
            ("16-week date", _due(request.issue_decision_due_on, "whether to issue a plan")),
            ("20-week date", _due(request.final_plan_due_on, "final plan")),
        ]
        if request.decided_on is not None:
            request_rows.append(("Decided on", _day(request.decided_on)))
        request_card = [_p("The request", "card_title"), _facts(request_rows, half)]
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
        self.add(grid)
        self.add(*_labelled("Reason for the request", request.reason))
        self.add(*_labelled("Decision note", request.decision_note))

    # graphics

    def timeline(self) -> None:
        self.add(CondPageBreak(70 * mm))
        self.heading("Support timeline")
        bars = []
        for plan_number, _plan, cycle in self.cycles():
            running = cycle.completed_at is None
            end = _local(cycle.completed_at).date() if cycle.completed_at else self.generated
            if running:
                note = f"In progress: {STAGES.get(cycle.stage, cycle.stage)}"
            else:
                note = _label(cycle.review.decision) if cycle.review.decision else "Complete"
            bars.append(
                _CycleBar(
                    label=self.cycle_name(plan_number, cycle),
                    start=_local(cycle.started_at).date(),
                    end=end,
                    running=running,
                    colour=PLAN_COLOURS[(plan_number - 1) % len(PLAN_COLOURS)],
                    held_on=cycle.review.held_on,
                    review_due=None if cycle.review.held_on else cycle.plan.review_date,
                    note=note,
                )
            )
        if not bars:
            self.add(_empty("No support cycles recorded."))
            return
        specialists = [self._specialist_line(s) for s in self.bundle.specialist_involvements]
        chart = _Timeline(bars, specialists, self.generated, self.bundle.request.submitted_on)
        self.add(
            _p(
                "Each bar is one assess-plan-do-review cycle, from when it opened to its "
                "completion; the diamond marks the review and the right-hand column its decision.",
                "note",
            )
        )
        self.add(*chart.drawings())

    def _specialist_line(self, involvement: BundleSpecialist) -> _SpecialistLine:
        if involvement.requested_on is None:
            note = "Not yet requested"
        elif involvement.advice_received_on is not None:
            note = f"Advice after {involvement.waiting_days} days"
        else:
            note = f"Waiting {involvement.waiting_days} days"
        label = SERVICE_SHORT.get(involvement.service) or SERVICES.get(
            involvement.service, _label(involvement.service)
        )
        return _SpecialistLine(
            label=label,
            requested=involvement.requested_on,
            received=involvement.advice_received_on,
            note=note,
        )

    def progress_chart(self) -> None:
        self.add(CondPageBreak(85 * mm))
        self.heading("Progress across cycles")
        points = self.bundle.progress
        if not points:
            self.add(_empty("No completed cycles recorded, so there is no progress to chart yet."))
            return
        self.add(
            _p(
                "Outcomes of each completed cycle by the progress recorded at its review.",
                "note",
            )
        )
        compact = len(points) > 8
        names = []
        for point in points:
            plan_number = self.plan_numbers.get(point.plan_id, 0)
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
        self.add(drawing)

        rows = [
            [
                f"Plan {self.plan_numbers.get(p.plan_id, 0)} · Cycle {p.cycle_number}",
                _day(p.held_on),
                p.good,
                p.expected,
                p.little_or_none,
                p.not_rated,
                _label(p.decision),
            ]
            for p in points
        ]
        self.add(
            _table(
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
        )

    # sections, in the order the LA weighs the evidence (DOMAIN.md §4.2)

    def nature_of_need(self) -> None:
        pupil = self.bundle.pupil
        self.heading("1. Nature of the need")
        primary = _need(pupil.primary_need) if pupil.primary_need else "not recorded"
        secondary = _need(pupil.secondary_need) if pupil.secondary_need else "none recorded"
        self.add(_p(f"Primary need: <b>{_text(primary)}</b>. Secondary need: {_text(secondary)}."))
        if not self.bundle.support_plans:
            self.add(_empty("No support plans recorded."))
            return
        for plan_number, plan in enumerate(self.bundle.support_plans, start=1):
            self.heading(f"Plan {plan_number}: {self._plan_span(plan)}", level=1)
            areas = ", ".join(_label(a) for a in plan.areas_of_need) or "none recorded"
            people = [
                f"class teacher {plan.class_teacher}" if plan.class_teacher else None,
                f"SENCo {plan.senco}" if plan.senco else None,
            ]
            staff = "; ".join(p for p in people if p)
            self.add(
                _p(
                    f"<b>Areas of need:</b> {_text(areas)}."
                    + (f" <b>Staff:</b> {_text(staff)}." if staff else "")
                )
            )
            for cycle in plan.cycles:
                self.add(_p(_text(self._cycle_title(plan_number, cycle)), "h3"))
                assessment = cycle.assessment
                if not (assessment.summary or assessment.needs or assessment.strengths):
                    self.add(_empty("No assessment recorded for this cycle."))
                    continue
                self.add(*_labelled("Summary of the assessment", assessment.summary))
                if assessment.needs:
                    self.add(_p("Needs identified", "label"))
                    self.add(
                        _table(
                            ["Area of need", "Description"],
                            [[_label(n.area), n.description] for n in assessment.needs],
                            [120, CONTENT_WIDTH - 120],
                        )
                    )
                else:
                    self.add(_empty("No needs recorded in this assessment."))
                self.add(*_labelled("Strengths", assessment.strengths))
                if assessment.sources:
                    sources = ", ".join(_label(s).lower() for s in assessment.sources)
                    self.add(_p(f"<b>Evidence drawn on:</b> {_text(sources)}.", "note"))
                self.add(*_labelled("External advice", assessment.external_advice))

    def attainment_and_progress(self) -> None:
        self.heading("2. Attainment and progress")
        reviewed = 0
        for plan_number, _plan, cycle in self.cycles():
            review = cycle.review
            if not (review.held_on or review.outcome_progress or cycle.plan.outcomes):
                continue
            title = self.cycle_name(plan_number, cycle)
            if review.held_on:
                reviewed += 1
                title += f": review held {_day(review.held_on)}"
                if review.decision:
                    title += f", decision: {DECISIONS.get(review.decision, review.decision)}"
            else:
                title += f": not reviewed yet ({STAGES.get(cycle.stage, cycle.stage)} stage)"
            self.add(_p(_text(title), "h3"))
            ratings = {entry.outcome_id: entry for entry in review.outcome_progress}
            unrated = "Not rated" if review.held_on else "Not yet reviewed"
            rows = []
            for outcome in cycle.plan.outcomes:
                entry = ratings.get(outcome.id)
                detail = _text(outcome.description)
                if outcome.success_criteria:
                    criteria = _text(outcome.success_criteria)
                    detail += f"<br/><font color='#5F6B7A'>Success: {criteria}</font>"
                if outcome.target_date:
                    detail += f"<br/><font color='#5F6B7A'>By {_day(outcome.target_date)}</font>"
                rows.append(
                    [
                        _p(detail, "cell"),
                        _label(entry.rating) if entry and entry.rating else unrated,
                        _label(entry.progress) if entry and entry.progress else unrated,
                        entry.comment if entry and entry.comment else "",
                    ]
                )
            if rows:
                self.add(
                    _table(
                        ["Outcome", "Rating", "Progress", "Comment"],
                        rows,
                        [175, 70, 62, CONTENT_WIDTH - 307],
                    )
                )
            else:
                self.add(_empty("No outcomes recorded for this cycle."))
            self.add(*_labelled("Impact of the support", review.impact_summary))
        if reviewed == 0:
            self.add(_empty("No reviews recorded."))

    def action_and_support(self) -> None:
        self.heading("3. Action taken and extra support given")
        self.add(
            _p(
                "Provision over and above what is ordinarily available, as planned and costed "
                "for each cycle, and the delivery logged during the Do stage. Annual cost = "
                f"hourly rate {TIMES} minutes/60 {TIMES} sessions a week {TIMES} weeks a year "
                "÷ group size, plus "
                "any fixed annual cost.",
                "note",
            )
        )
        any_provision = False
        for plan_number, _plan, cycle in self.cycles():
            plan = cycle.plan
            if not plan.provisions:
                continue
            any_provision = True
            self.add(
                _p(
                    _text(
                        f"{self.cycle_name(plan_number, cycle)}: "
                        f"annual cost {_money(plan.annual_cost)}"
                    ),
                    "h3",
                )
            )
            notices = [
                ("parents notified", plan.parents_notified_on),
                ("parents consulted", plan.parents_consulted_on),
                ("pupil consulted", plan.pupil_consulted_on),
                ("staff informed", plan.staff_informed_on),
            ]
            said = [f"{what} {_day(when)}" for what, when in notices if when is not None]
            if said:
                method = f" (by {plan.notification_method})" if plan.notification_method else ""
                self.add(_p(_text(f"Plan shared: {'; '.join(said)}{method}."), "note"))
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
                        _p(
                            f"{_text(provision.description)}<br/>"
                            f"<font color='#5F6B7A'>{_text(_label(provision.kind))}</font>",
                            "cell",
                        ),
                        _label(provision.delivered_by),
                        provision.group_size,
                        pattern,
                        _money(provision.hourly_rate),
                        _money(provision.fixed_annual_cost),
                        _money(provision.annual_cost),
                    ]
                )
            rows.append(["Total annual cost", "", "", "", "", "", _money(plan.annual_cost)])
            table = _table(
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
            self.add(table)
            self.add(*self._delivery(cycle))
        if not any_provision:
            self.add(_empty("No provision recorded."))

    def _delivery(self, cycle: BundleCycle) -> list[Flowable]:
        delivery = cycle.delivery
        if delivery.sessions == 0:
            return [_empty("No delivery logged for this cycle.")]
        share = round(100 * delivery.sessions_attended / delivery.sessions)
        span = ""
        if delivery.first_delivered_on and delivery.last_delivered_on:
            span = (
                f" from {_day(delivery.first_delivered_on)} to {_day(delivery.last_delivered_on)}"
            )
        flowables: list[Flowable] = [
            _p(
                f"<b>Delivery logged{_text(span)}:</b> {delivery.sessions:,} sessions, "
                f"{delivery.sessions_attended:,} attended ({share}%), {delivery.minutes:,} minutes "
                f"({delivery.minutes / 60:,.1f} hours).",
            )
        ]
        if delivery.by_provision:
            flowables.append(
                _table(
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

    def health_and_social(self) -> None:
        self.heading("4. Health and social needs: specialist involvement")
        involvements = self.bundle.specialist_involvements
        if not involvements:
            self.add(_empty("No specialist involvement recorded."))
            return
        self.add(*_open_referrals(involvements))
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
                    SERVICES.get(involvement.service, _label(involvement.service)),
                    _day(involvement.parents_involved_on),
                    "Yes" if involvement.parental_consent else "No",
                    _day(involvement.requested_on),
                    _day(involvement.advice_received_on),
                    waiting,
                    target,
                ]
            )
        self.add(
            _table(
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
        self.add(_p("Advice summaries", "label"))
        for involvement in involvements:
            service = SERVICES.get(involvement.service, _label(involvement.service))
            if involvement.advice_summary:
                when = _day(involvement.advice_received_on)
                self.add(
                    _p(
                        f"<b>{_text(service)}</b> "
                        f"<font color='#5F6B7A'>(advice of {when}):</font> "
                        f"{_text(involvement.advice_summary)}",
                        "advice",
                    )
                )
            else:
                self.add(_p(f"<b>{_text(service)}:</b> <i>no advice recorded yet.</i>", "advice"))

    def views(self) -> None:
        self.heading("5. Pupil and parent views")
        entries: list[tuple[date, int, str, str, str, str]] = []
        order = 0
        for plan_number, _plan, cycle in self.cycles():
            name = self.cycle_name(plan_number, cycle)
            opened = _local(cycle.started_at).date()
            logged = {(v.author, v.text.strip()) for v in cycle.views_log}
            for view in cycle.views_log:
                day = _local(view.recorded_at).date()
                context = f"{name}, {VIEW_STAGES.get(view.stage, view.stage)}"
                entries.append((day, order, _day(day), _label(view.author), context, view.text))
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
                    shown, context = _day(held_on), f"{name}, {where}"
                else:
                    shown = f"During {where}"
                    context = f"{name}, {where} (cycle opened {_day(opened)})"
                entries.append((held_on or opened, order, shown, _label(author), context, text))
                order += 1
        if not entries:
            self.add(_empty("No pupil or parent views recorded."))
            return
        entries.sort(key=lambda e: (e[0], e[1]))
        self.add(
            _table(
                ["Date", "Whose view", "Where recorded", "View"],
                [list(e[2:]) for e in entries],
                [56, 40, 112, CONTENT_WIDTH - 208],
            )
        )

    def concerns(self) -> None:
        self.heading("6. Concerns and responses")
        concerns = sorted(self.bundle.concerns, key=lambda c: c.raised_on)
        if not concerns:
            self.add(_empty("No concerns recorded."))
            return
        rows = []
        for concern in concerns:
            if concern.response:
                response: Any = _p(
                    f"<font color='#5F6B7A'>{_day(concern.responded_on)}:</font> "
                    f"{_text(concern.response)}",
                    "cell",
                )
            else:
                response = "No response yet."
            rows.append(
                [
                    _day(concern.raised_on),
                    _label(concern.raised_by),
                    concern.description,
                    _label(concern.status),
                    response,
                ]
            )
        self.add(
            _table(
                ["Raised", "Raised by", "Concern", "Status", "Response"],
                rows,
                [55, 58, 170, 50, CONTENT_WIDTH - 333],
            )
        )

    def departures(self) -> None:
        self.heading("7. Accepted departures from guidance")
        self.add(
            _p(
                "Where the Code's guidance (a should rule) was not followed, the reason given "
                "at the time.",
                "note",
            )
        )
        departures = self.bundle.departures
        if not departures:
            self.add(_empty("No departures from guidance recorded."))
            return
        rows = [
            [
                _stamp_day(d.recorded_at),
                d.where,
                _p(
                    f"{_text(d.rule)}<br/><font color='#5F6B7A'>{_text(d.transition)}</font>",
                    "cell",
                ),
                d.reason,
            ]
            for d in departures
        ]
        self.add(
            _table(
                ["Recorded", "Where", "Rule", "Reason"],
                rows,
                [55, 105, 130, CONTENT_WIDTH - 290],
            )
        )

    def funding_claims(self) -> None:
        self.heading("8. Funding claims")
        claims = self.bundle.funding_claims
        if not claims:
            self.add(_empty("No funding claims recorded."))
            return
        rows = [
            [
                c.period,
                _label(c.status),
                _money(c.threshold),
                _money(c.provision_cost),
                _money(c.requested_amount),
                _money(c.decided_amount),
                _day(c.decided_at),
            ]
            for c in claims
        ]
        self.add(
            _table(
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

    def chronology(self) -> None:
        self.heading("9. Chronology")
        timeline = self.bundle.timeline
        if not timeline:
            self.add(_empty("No events recorded."))
            return
        self.add(
            _table(
                ["Date", "Event", "Summary"],
                [[_day(e.on), _label(e.kind), e.summary] for e in timeline],
                [62, 90, CONTENT_WIDTH - 152],
            )
        )

    # helpers

    def _plan_span(self, plan: BundlePlan) -> str:
        text = f"opened {_day(plan.opened_on)}"
        if plan.closed_on:
            text += f", closed {_day(plan.closed_on)}"
            if plan.close_reason:
                text += f" ({_label(plan.close_reason).lower()})"
        else:
            text += f", {plan.status}"
        return text

    def _cycle_title(self, plan_number: int, cycle: BundleCycle) -> str:
        stage = STAGES.get(cycle.stage, cycle.stage)
        state = "complete" if cycle.completed_at else f"now at the {stage} stage"
        return f"{self.cycle_name(plan_number, cycle)} (opened {_day(cycle.started_at)}, {state})"


def _open_referral_summary(bundle: EvidenceBundle) -> str:
    summary = bundle.summary
    if not summary.open_referrals:
        return "None"
    return f"{summary.open_referrals} (longest waiting {summary.longest_open_referral_days} days)"


def render_evidence_pdf(bundle: EvidenceBundle) -> bytes:
    """The bundle as an A4 PDF. Deterministic: the same bundle gives the same bytes."""
    register_fonts()
    pupil = bundle.pupil
    buffer = io.BytesIO()
    doc = _EvidenceDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        # No name in the metadata either: file previews and indexes show it.
        title=f"EHC evidence bundle, UPN {pupil.upn}",
        subject="Evidence of SEN support for a request for an EHC needs assessment",
        author=bundle.school.name,
        creator="SEN Support API",
        producer="SEN Support API (ReportLab)",
        invariant=True,
        lang="en-GB",
        initialFontName=FONT,
    )
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        CONTENT_WIDTH,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    initials = _initials(pupil.first_name, pupil.last_name)
    canvasmaker = partial(
        _NumberedCanvas,
        footer=_plain(f"{initials}  ·  UPN {pupil.upn}"),
        header=_plain(f"EHC needs assessment request: evidence  ·  {bundle.school.name}"),
        created=bundle.generated_at,
    )
    doc.build(_EvidenceDocument(bundle).build(), canvasmaker=canvasmaker)
    return buffer.getvalue()
