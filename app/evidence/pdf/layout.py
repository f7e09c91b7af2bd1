"""Pages and the blocks every section is built from: paragraphs, tables, headings that become
the PDF's outline, and the canvas that adds the header and the "Page n of m" footer.

Only `write_pdf` and its canvas know about pages: the sections append flowables (asking at
most for room with a CondPageBreak) and reportlab's platypus decides every page break, tables
repeating their header and splitting long rows.
"""

import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from app.evidence.pdf.style import (
    ACCENT,
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    HEADER_FILL,
    INK,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    RULE,
    STRIPE_FILL,
    STYLES,
)
from app.evidence.pdf.text import literal, plain

FOOTER_NOTICE = "Confidential: special category data about a child"


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of trusted markup (our own labels); user text must come through `literal`."""
    return Paragraph(text, STYLES[style])


def table_cell(value: object, style: str = "cell") -> Paragraph:
    return Paragraph(literal(value), STYLES[style])


def empty_note(sentence: str) -> Paragraph:
    return para(literal(sentence), "empty")


def labelled(label: str, value: str | None) -> list[Flowable]:
    """A long free-text field under its own label; nothing when the field is empty."""
    if not value or not value.strip():
        return []
    return [para(literal(label), "label"), para(literal(value))]


def data_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    right: Iterable[int] = (),
    total_row: bool = False,
) -> Table:
    """A striped table that repeats its header on every page and splits long rows across pages.
    Columns in `right` are right-aligned (numbers and money)."""
    right = set(right)
    head = [
        table_cell(h, "cell_head_right" if i in right else "cell_head")
        for i, h in enumerate(header)
    ]
    body = [
        [
            value
            if isinstance(value, Flowable)
            else table_cell(value, "cell_right" if i in right else "cell")
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
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE_FILL]),
    ]
    if total_row:
        commands += [
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
            ("BACKGROUND", (0, -1), (-1, -1), HEADER_FILL),
        ]
    table.setStyle(TableStyle(commands))
    table.spaceBefore = 2
    table.spaceAfter = 6
    return table


def facts_table(rows: Sequence[tuple[str, str]], width: float) -> Table:
    """Label/value pairs for the title block's cards (values already escaped)."""
    label_width = 30 * mm
    data = [[para(literal(label), "cell_muted"), para(value, "cell")] for label, value in rows]
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


class SectionHeading(Paragraph):  # type: ignore[misc]  # reportlab has no type information
    """A section heading that also becomes a bookmark in the PDF's outline."""

    def __init__(self, text: str, style: str, level: int, key: str) -> None:
        super().__init__(text, STYLES[style])
        self.outline_level = level
        self.outline_key = key


class _EvidenceDocTemplate(BaseDocTemplate):  # type: ignore[misc]
    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, SectionHeading):
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


def write_pdf(
    flowables: list[Flowable],
    *,
    title: str,
    subject: str,
    author: str,
    header: str,
    footer: str,
    created: datetime,
) -> bytes:
    """The flowables on A4 pages. `created` is the PDF's CreationDate, and `invariant` keeps
    reportlab's own ids stable, so the same flowables give the same bytes."""
    buffer = io.BytesIO()
    doc = _EvidenceDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        subject=subject,
        author=author,
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
    canvasmaker = partial(
        _NumberedCanvas, footer=plain(footer), header=plain(header), created=created
    )
    doc.build(flowables, canvasmaker=canvasmaker)
    return buffer.getvalue()
