"""The PDF documents (session report, session note, REMS form), laid out with Qt.

Qt is already in the console, lays out tables and embedded images well, and writes real text
into the PDF (searchable, extractable by ``pdftotext``), so no second PDF library is needed.
Painting text needs a QGuiApplication; the headless ``export`` command gets one on the
``offscreen`` platform when no display is present (:func:`ensure_gui_application`).

Every page carries a running head (patient, date of birth, session, date) and "page X of Y",
painted outside the text area, so a page that gets separated from the others still says whose
it is.  A table row is never split across pages: Qt's table layout moves a row to the next page
only when none of its cells fits; a row whose first line fits is split line by line.  After
layout, :func:`keep_rows_together` finds such rows and lengthens the row before them to the
page bottom (what Qt itself does with a row it moves), until no row crosses a page boundary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextFrame,
    QTextTable,
)

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.review import ReviewSummary, local_time, summarize
from console.reports.documents_html import note_html, rems_html
from console.reports.html import report_html
from console.reports.plot import render_trends
from console.reports.rems import RemsForm, rems_form
from console.reports.session_note import SessionNote, session_note
from console.storage.review import StoredSession

#: Print resolution; 300 dpi keeps the embedded plot sharp.
RESOLUTION_DPI = 300
PLOT_URL = "report://trends.png"
#: Height of the running head and of the footer, in points.
HEAD_PT = 16.0
FOOT_PT = 14.0
#: Body font sizes the note tries, largest first, before it condenses its content.
NOTE_FONT_PT: tuple[float, ...] = (8.0, 7.0, 6.5)
#: Rounds of :func:`keep_rows_together` before giving up (each moves one row).
MAX_ROW_FIXES = 400

_app: QGuiApplication | None = None


def ensure_gui_application() -> None:
    """Make sure a Qt GUI application exists (fonts and painting need one).

    Without a display (a server, a cron job) the offscreen platform is chosen, so the export
    works headless; inside the running console the existing application is used.
    """
    global _app
    if QGuiApplication.instance() is not None:
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and (
        sys.platform.startswith("linux")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication([sys.argv[0] if sys.argv else "infusion-console"])


@dataclass(frozen=True, slots=True)
class RowSpan:
    """Where one table row lies in the laid-out document (points from the document top)."""

    table: QTextTable
    row: int
    top: float
    bottom: float


def _stylesheet(font_pt: float, *, compact: bool = False) -> str:
    """Body and table-header style; ``compact`` (note, form) tightens the heading margins.

    Qt sizes headings from the document's default font (h1 2x, h2 1.5x, h3 1.2x) and ignores
    a CSS font-size on them, so :func:`_layout` sets that font to the body size.
    """
    heads = (
        " h1 { margin-top: 0px; margin-bottom: 2px; } h3 { margin-top: 4px; margin-bottom: 1px; }"
        if compact
        else f" h2 {{ margin-top: {font_pt:.0f}px; }}"
    )
    return (
        f"body {{ font-family: 'DejaVu Sans'; font-size: {font_pt:g}pt; }}"
        f" th {{ font-weight: bold; }}{heads}"
    )


def _new_writer(out: Path, title: str) -> QPdfWriter:
    writer = QPdfWriter(str(out))
    writer.setResolution(RESOLUTION_DPI)
    writer.setTitle(title)
    writer.setCreator("Infusion Console")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 12, 15, 12),
            QPageLayout.Unit.Millimeter,
        )
    )
    return writer


def _paint_size(writer: QPdfWriter) -> QSizeF:
    """The printable area in points."""
    page = writer.pageLayout().paintRectPixels(RESOLUTION_DPI)
    scale = RESOLUTION_DPI / 72.0
    return QSizeF(page.width() / scale, page.height() / scale)


def _tables(frame: QTextFrame) -> Iterator[QTextTable]:
    for child in frame.childFrames():
        if isinstance(child, QTextTable):
            yield child
        yield from _tables(child)


def row_spans(doc: QTextDocument) -> list[RowSpan]:
    """Every table row's vertical extent, from the text of its cells, in document order."""
    layout = doc.documentLayout()
    out: list[RowSpan] = []
    for table in _tables(doc.rootFrame()):
        for r in range(table.rows()):
            tops, bottoms = [], []
            for c in range(table.columns()):
                cell = table.cellAt(r, c)
                if cell.row() != r or cell.column() != c:
                    continue  # part of a spanned cell
                tops.append(layout.blockBoundingRect(cell.firstCursorPosition().block()).top())
                bottoms.append(layout.blockBoundingRect(cell.lastCursorPosition().block()).bottom())
            if tops:
                out.append(RowSpan(table, r, min(tops), max(bottoms)))
    return out


def rows_across_pages(doc: QTextDocument) -> list[RowSpan]:
    """Table rows whose text starts on one page and ends on another (rows taller than a page
    are left out: they cannot be kept on one)."""
    ph = doc.pageSize().height()
    return [
        s
        for s in row_spans(doc)
        if int(s.top // ph) != int((s.bottom - 0.5) // ph) and s.bottom - s.top < 0.9 * ph
    ]


def keep_rows_together(doc: QTextDocument) -> int:
    """Move every row that crosses a page boundary to the next page; returns how many moved.

    The row before it is lengthened to the page bottom (a bottom padding on its first cell);
    a table whose first row crosses starts on the next page instead.
    """
    ph = doc.pageSize().height()
    moved = 0
    for _ in range(MAX_ROW_FIXES):
        crossing = rows_across_pages(doc)
        if not crossing:
            break
        span = crossing[0]
        if span.row == 0:
            table_fmt = span.table.format()
            table_fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
            span.table.setFormat(table_fmt)
        else:
            # A cell's bottom padding counts in its row's height (a block margin would not).
            cell = span.table.cellAt(span.row - 1, 0)
            fmt = cell.format().toTableCellFormat()
            pad = (
                fmt.bottomPadding()
                if fmt.hasProperty(QTextFormat.Property.TableCellBottomPadding)
                else span.table.format().cellPadding()
            )
            boundary = (int(span.top // ph) + 1) * ph
            fmt.setBottomPadding(pad + boundary - span.top + 8.0)
            cell.setFormat(fmt)
        moved += 1
    return moved + _keep_headings_with_tables(doc)


def _keep_headings_with_tables(doc: QTextDocument) -> int:
    """A heading left at the bottom of a page whose table starts the next page goes with it."""
    ph = doc.pageSize().height()
    layout = doc.documentLayout()
    moved = 0
    for table in list(_tables(doc.rootFrame())):
        heading = doc.findBlock(table.firstPosition() - 1)
        while heading.isValid() and not heading.text().strip():
            heading = heading.previous()  # the empty block Qt puts before a table
        if not heading.isValid() or heading.blockFormat().headingLevel() == 0:
            continue
        first = layout.blockBoundingRect(table.cellAt(0, 0).firstCursorPosition().block())
        head = layout.blockBoundingRect(heading)
        if int(head.top() // ph) < int(first.top() // ph):
            fmt = heading.blockFormat()
            fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
            QTextCursor(heading).setBlockFormat(fmt)
            moved += 1
    return moved


def _font(pt: float) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPointSizeF(pt)
    return font


def _layout(
    html: str, size: QSizeF, font_pt: float, images: dict[str, QImage], *, compact: bool = False
) -> QTextDocument:
    doc = QTextDocument()
    # Lay the document out in points at the page's physical size (minus the running head and
    # footer), then scale to device pixels when painting: font sizes in pt come out right.
    doc.setPageSize(QSizeF(size.width(), size.height() - HEAD_PT - FOOT_PT))
    doc.setDefaultFont(_font(font_pt))
    doc.setDefaultStyleSheet(_stylesheet(font_pt, compact=compact))
    for url, image in images.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
    doc.setHtml(html)
    keep_rows_together(doc)
    return doc


def _paint(writer: QPdfWriter, doc: QTextDocument, head: str, title: str) -> int:
    """Paint every page with the running head and "page X of Y"; returns the page count."""
    scale = RESOLUTION_DPI / 72.0
    size = _paint_size(writer)
    body_h = doc.pageSize().height()
    pages = doc.pageCount()
    painter = QPainter(writer)
    try:
        painter.scale(scale, scale)
        small = QFont("DejaVu Sans")
        # the painter is scaled to points already; the writer's 300 dpi would scale again
        small.setPointSizeF(6.5 * 72.0 / RESOLUTION_DPI)
        for i in range(pages):
            if i:
                writer.newPage()
            painter.setFont(small)
            painter.setPen(Qt.GlobalColor.black)
            top = QRectF(0, 0, size.width(), HEAD_PT - 4)
            painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, head)
            painter.drawText(
                top, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, title
            )
            painter.drawLine(QPointF(0, HEAD_PT - 3), QPointF(size.width(), HEAD_PT - 3))
            foot = QRectF(0, size.height() - FOOT_PT + 4, size.width(), FOOT_PT - 4)
            painter.drawText(
                foot,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"page {i + 1} of {pages}",
            )
            painter.save()
            painter.translate(0, HEAD_PT - i * body_h)
            doc.drawContents(painter, QRectF(0, i * body_h, size.width(), body_h))
            painter.restore()
    finally:
        painter.end()
    return pages


def running_head(stored: StoredSession) -> str:
    """Patient (name, MRN, date of birth) and session (id, date): the top of every page."""
    pt, r = stored.patient, stored.record
    if pt is None:
        who = "no patient linked"
    else:
        dob = "missing" if pt.date_of_birth is None else pt.date_of_birth.isoformat()
        who = f"{pt.display_name or '-'}  MRN {pt.mrn}  DOB {dob}"
    sim = "  SIMULATED" if r.simulated else ""
    return f"{who}  |  session {r.id}, {local_time(r.started_at, day=True, seconds=False)}{sim}"


def write_pdf(
    stored: StoredSession,
    out: Path,
    profile: ThresholdProfile,
    *,
    summary: ReviewSummary | None = None,
    nibp_interval_s: float = 300.0,
) -> int:
    """Write the session report as a PDF; returns the number of pages.

    Args:
        stored: the record.
        out: target file (overwritten).
        profile: the console's configured threshold profile, listed and drawn only when the
            session has none stored with it (older records; the report says so).
        summary: the computed review, if the caller has it already.
        nibp_interval_s: NIBP cycle for completeness, when ``summary`` is computed here.
    """
    ensure_gui_application()
    summary = summary or summarize(stored.inputs(nibp_interval_s))
    writer = _new_writer(out, f"Infusion session {stored.record.id}")
    size = _paint_size(writer)
    shown, _stored = stored.thresholds(profile)
    image = render_trends(summary, stored.trends, shown)
    html = report_html(
        stored, summary, profile, plot_url=PLOT_URL, plot_width=int(size.width() - 10)
    )
    doc = _layout(html, size, 8.0, {PLOT_URL: image})
    return _paint(writer, doc, running_head(stored), "Infusion session report")


@dataclass(frozen=True, slots=True)
class NoteLayout:
    """How the note was fitted: pages, body font, whether its content was condensed."""

    pages: int
    font_pt: float
    condensed: bool


def layout_note(note: SessionNote, size: QSizeF) -> tuple[QTextDocument, NoteLayout]:
    """The note laid out on as few pages as it takes, one if at all possible.

    Tried in order: the full note at 8, 7 and 6.5 pt; then condensed (key events only, the
    discharge checklist as one line) at the same sizes.  When even that is more than a page
    (a very long session with many alarms or rows), the note runs onto further pages, each
    with the running head and "page X of Y", and the caller says so.
    """
    last: tuple[QTextDocument, NoteLayout] | None = None
    for condensed in (False, True):
        for font in NOTE_FONT_PT:
            doc = _layout(note_html(note, condensed=condensed), size, font, {}, compact=True)
            last = doc, NoteLayout(doc.pageCount(), font, condensed)
            if doc.pageCount() == 1:
                return last
    assert last is not None
    return last


def write_note_pdf(
    stored: StoredSession,
    out: Path,
    *,
    summary: ReviewSummary | None = None,
    nibp_interval_s: float = 300.0,
) -> NoteLayout:
    """Write the one-page session note; returns how it was fitted."""
    ensure_gui_application()
    summary = summary or summarize(stored.inputs(nibp_interval_s))
    note = session_note(stored, summary)
    writer = _new_writer(out, f"Session note {stored.record.id}")
    doc, fitted = layout_note(note, _paint_size(writer))
    _paint(writer, doc, running_head(stored), "Session note")
    return fitted


def write_rems_pdf(
    stored: StoredSession,
    out: Path,
    *,
    summary: ReviewSummary | None = None,
    nibp_interval_s: float = 300.0,
) -> tuple[int, RemsForm]:
    """Write the REMS Patient Monitoring Form; returns the page count and the form."""
    ensure_gui_application()
    summary = summary or summarize(stored.inputs(nibp_interval_s))
    form = rems_form(stored, summary)
    writer = _new_writer(out, f"REMS monitoring form, session {stored.record.id}")
    doc = _layout(rems_html(form), _paint_size(writer), 8.0, {}, compact=True)
    return _paint(writer, doc, running_head(stored), "SPRAVATO REMS Patient Monitoring Form"), form
