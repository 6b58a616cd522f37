"""The PDF session report, laid out with Qt (QPdfWriter + QTextDocument; QtGui only).

Qt is already in the console, lays out tables and embedded images well, and writes real text
into the PDF (searchable, extractable by ``pdftotext``), so no second PDF library is needed.
Painting text needs a QGuiApplication; the headless ``export`` command gets one on the
``offscreen`` platform when no display is present (:func:`ensure_gui_application`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, QUrl
from PySide6.QtGui import (
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.review import ReviewSummary, summarize
from console.reports.html import report_html
from console.reports.plot import render_trends
from console.storage.review import StoredSession

#: Print resolution; 300 dpi keeps the embedded plot sharp.
RESOLUTION_DPI = 300
PLOT_URL = "report://trends.png"

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
    writer = QPdfWriter(str(out))
    writer.setResolution(RESOLUTION_DPI)
    writer.setTitle(f"Infusion session {stored.record.id}")
    writer.setCreator("Infusion Console")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    page = writer.pageLayout().paintRectPixels(RESOLUTION_DPI)
    doc = QTextDocument()
    # Lay the document out in points at the page's physical size, then scale to device pixels:
    # font sizes in pt then come out right on paper.
    scale = RESOLUTION_DPI / 72.0
    page_pt = QSizeF(page.width() / scale, page.height() / scale)
    doc.setPageSize(page_pt)
    doc.setDefaultStyleSheet(
        "body { font-family: 'DejaVu Sans'; font-size: 8pt; }"
        " h1 { font-size: 15pt; } h2 { font-size: 11pt; margin-top: 10px; }"
        " th { font-weight: bold; }"
    )
    shown, _stored = stored.thresholds(profile)
    image = render_trends(summary, stored.trends, shown)
    doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(PLOT_URL), image)
    doc.setHtml(
        report_html(
            stored, summary, profile, plot_url=PLOT_URL, plot_width=int(page_pt.width() - 10)
        )
    )
    pages = doc.pageCount()
    painter = QPainter(writer)
    try:
        painter.scale(scale, scale)
        for i in range(pages):
            if i:
                writer.newPage()
            painter.save()
            painter.translate(0, -i * page_pt.height())
            doc.drawContents(
                painter, QRectF(0, i * page_pt.height(), page_pt.width(), page_pt.height())
            )
            painter.restore()
    finally:
        painter.end()
    return pages
