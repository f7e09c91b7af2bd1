"""The EHC evidence bundle as a PDF for the LA panel deciding whether to assess (SPEC.md §6).

Pure: the bundle in, the bytes out. No clock reads (dates, ages and the PDF's own timestamps all
come from `bundle.generated_at`); the only files read are the DejaVu fonts in
`app/evidence/fonts`, embedded because pupils' names need more than the Latin-1 of the
standard PDF fonts. Every piece of user text goes through `text.literal`, which escapes it, so a
description can never be read as Paragraph markup.

Layout (A4 portrait): a title block with the pupil, school, request and a summary; a timeline
of the cycles and a chart of outcome progress; then the sections in the order the LA weighs the
evidence (DOMAIN.md §4.2, CoP 9.14), ending with the dated chronology. Every page carries the
confidentiality footer with the pupil's initials and UPN (never the name) and "Page n of m".

The family, each module importing only those before it: `text` (words and formats, no
reportlab), `style` (geometry, colours, fonts, paragraph styles), `layout` (pages, headings,
tables), `story` (what the sections share), then one module per part of the document
(`identity`, `timeline`, `chart`, `cycles`, `specialists`, `records`) and `document`, which puts
them in order and writes the file. The router calls `render_evidence_pdf` through this package, so
tests can replace it here.
"""

from app.evidence.pdf.document import render_evidence_pdf
from app.evidence.pdf.layout import FOOTER_NOTICE

__all__ = ["FOOTER_NOTICE", "render_evidence_pdf"]
