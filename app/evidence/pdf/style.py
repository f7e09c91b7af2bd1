"""How the evidence PDF looks: A4 geometry, colours, the embedded fonts and paragraph styles.

One place for every module's measurements and colours, so the timeline, the chart and the
tables agree. The fonts stay package data of `app.ehc_requests` (pyproject's
`[tool.setuptools.package-data]`), in `fonts/` beside this package rather than inside it.
"""

from functools import lru_cache
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

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


# Package data of app.ehc_requests, one level up: see pyproject's package-data.
FONTS_DIR = Path(__file__).resolve().parents[1] / "fonts"
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
