"""The report's trend plot, painted with QPainter on a QImage (QtGui only, no widgets).

pyqtgraph needs a widget scene, and only ``console.ui`` may use widgets; a report must also
render in a headless export.  So the printed plot is painted directly: BP, HR and SpO2 panels on
one minutes-from-infusion-start axis, limit lines dashed, alarm periods shaded in their priority
colour, gaps hatched grey and left as gaps, and the infusion period as a bar along the top.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import Priority
from console.domain.observations import score_label, score_sets
from console.domain.review import (
    DBP,
    HR,
    SBP,
    SPO2,
    ReviewSummary,
    TrendLike,
    with_gap_breaks,
)
from devices.model import Metric

COLOURS = {SBP: "#d84315", DBP: "#ef6c00", HR: "#2e7d32", SPO2: "#0277bd"}
PRIORITY_FILL = {"high": "#e53935", "medium": "#fbc02d", "low": "#26c6da"}
PRIORITY_LINE = {Priority.HIGH: "#c62828", Priority.MEDIUM: "#f9a825", Priority.LOW: "#00838f"}


@dataclass(frozen=True, slots=True)
class Panel:
    """One plot panel: its label, y range and parameters."""

    label: str
    y_range: tuple[float, float]
    parameters: tuple[str, ...]


PANELS: tuple[Panel, ...] = (
    Panel("BP mmHg", (40.0, 220.0), (SBP, DBP)),
    Panel("HR /min", (30.0, 160.0), (HR,)),
    Panel("SpO2 %", (80.0, 101.0), (SPO2,)),
)


def render_trends(
    summary: ReviewSummary,
    trends: Mapping[str, TrendLike],
    profile: ThresholdProfile,
    *,
    width: int = 1800,
    height: int = 1100,
) -> QImage:
    """Paint the session's trends into an image for the report.

    Args:
        summary: the computed review (alarms, gaps, infusion, origin).
        trends: the stored numerics.
        profile: limit lines to draw.
        width, height: pixels.
    """
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _paint(painter, summary, trends, profile, width, height)
    finally:
        painter.end()
    return image


def _paint(
    p: QPainter,
    s: ReviewSummary,
    trends: Mapping[str, TrendLike],
    profile: ThresholdProfile,
    width: int,
    height: int,
) -> None:
    font = QFont("DejaVu Sans")
    font.setPixelSize(max(12, height // 55))
    p.setFont(font)
    left, right, top, bottom = int(width * 0.075), 20, int(height * 0.06), int(height * 0.07)
    origin = s.origin.timestamp()
    x0 = (s.started_at.timestamp() - origin) / 60.0
    x1 = max((s.monitoring_end.timestamp() - origin) / 60.0, x0 + 1.0)
    plot_w = width - left - right
    gap = int(height * 0.025)
    panel_h = (height - top - bottom - gap * (len(PANELS) - 1)) / len(PANELS)

    def xpix(minutes: float) -> float:
        return left + (minutes - x0) / (x1 - x0) * plot_w

    # infusion bar along the top
    inf = s.infusion
    if inf.start is not None:
        a = xpix((inf.start.timestamp() - origin) / 60.0)
        b = xpix(((inf.stop or s.monitoring_end).timestamp() - origin) / 60.0)
        p.fillRect(QRectF(a, top * 0.35, max(2.0, b - a), top * 0.35), QColor("#7e57c2"))
        p.setPen(QColor("#4527a0"))
        p.drawText(QPointF(a + 4, top * 0.3), f"infusion {inf.dose_text()}")

    for i, panel in enumerate(PANELS):
        y_top = top + i * (panel_h + gap)
        rect = QRectF(left, y_top, plot_w, panel_h)
        lo, hi = panel.y_range

        def ypix(v: float, rect: QRectF = rect, lo: float = lo, hi: float = hi) -> float:
            return rect.bottom() - (min(max(v, lo), hi) - lo) / (hi - lo) * rect.height()

        # alarm periods (this panel's parameters), then gaps
        for al in s.alarms:
            if al.parameter not in panel.parameters and not (
                i == 0 and al.parameter == "NIBP_MEAN"
            ):
                continue
            a = xpix((al.onset.timestamp() - origin) / 60.0)
            b = xpix((al.shade_end.timestamp() - origin) / 60.0)
            fill = QColor(PRIORITY_FILL.get(al.priority, "#9e9e9e"))
            fill.setAlpha(60)
            p.fillRect(QRectF(a, rect.top(), max(3.0, b - a), rect.height()), fill)
        for c in s.completeness:
            if c.parameter not in panel.parameters[:1]:
                continue
            for g in c.gaps:
                a = xpix((g.start.timestamp() - origin) / 60.0)
                b = xpix((g.end.timestamp() - origin) / 60.0)
                p.fillRect(
                    QRectF(a, rect.top(), max(2.0, b - a), rect.height()),
                    QBrush(QColor("#9e9e9e"), Qt.BrushStyle.BDiagPattern),
                )
        # frame, grid, labels
        p.setPen(QPen(QColor("#cfcfcf"), 1))
        for v in _ticks(lo, hi, 5):
            p.drawLine(QPointF(rect.left(), ypix(v)), QPointF(rect.right(), ypix(v)))
            p.setPen(QColor("#444444"))
            p.drawText(QRectF(0, ypix(v) - 10, left - 6, 20), Qt.AlignmentFlag.AlignRight, f"{v:g}")
            p.setPen(QPen(QColor("#cfcfcf"), 1))
        for m in _ticks(x0, x1, 10):
            p.drawLine(QPointF(xpix(m), rect.top()), QPointF(xpix(m), rect.bottom()))
        p.setPen(QPen(QColor("#444444"), 1))
        p.drawRect(rect)
        p.drawText(QPointF(rect.left() + 6, rect.top() + font.pixelSize() + 4), panel.label)
        # limit lines
        for name in panel.parameters:
            metric = Metric(name)
            for rule in profile.policy.limit_lines(metric):
                if lo <= rule.limit <= hi:
                    pen = QPen(QColor(PRIORITY_LINE[rule.priority]), 1.5, Qt.PenStyle.DashLine)
                    p.setPen(pen)
                    p.drawLine(
                        QPointF(rect.left(), ypix(rule.limit)),
                        QPointF(rect.right(), ypix(rule.limit)),
                    )
        # curves
        for name in panel.parameters:
            trend = trends.get(name)
            if trend is None or not len(trend.t):
                continue
            tt, vv = with_gap_breaks(trend.t, trend.value, s.gap_breaks_s.get(name, math.inf))
            _curve(
                p,
                (tt - origin) / 60.0,
                vv,
                xpix,
                ypix,
                QColor(COLOURS[name]),
                markers=name in (SBP, DBP),
            )
        # event markers
        p.setPen(QPen(QColor("#5e35b1"), 1, Qt.PenStyle.DotLine))
        for step in s.infusion.steps:
            x = xpix((step.at.timestamp() - origin) / 60.0)
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        p.setPen(QPen(QColor("#6d4c41"), 1, Qt.PenStyle.DotLine))
        row_ends: list[float] = []  # a label that would run into the one before goes up a row
        for at, text in _event_marks(s):
            x = xpix((at.timestamp() - origin) / 60.0)
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            if i == 0:
                w = p.fontMetrics().horizontalAdvance(text)
                # Right of its line, or left of it where it would run off the plot.
                start = x + 3 if x + 3 + w <= rect.right() else x - 3 - w
                n = next((r for r, end in enumerate(row_ends) if end < start), len(row_ends))
                row_ends[n : n + 1] = [start + w + 6]
                y = rect.bottom() - 4 - n * font.pixelSize() * 1.25
                p.drawText(QPointF(start, y), text)
    # x axis
    p.setPen(QColor("#444444"))
    base = top + len(PANELS) * panel_h + (len(PANELS) - 1) * gap
    for m in _ticks(x0, x1, 10):
        p.drawText(QRectF(xpix(m) - 40, base + 4, 80, 20), Qt.AlignmentFlag.AlignHCenter, f"{m:g}")
    axis = "minutes from infusion start" if s.infusion.start else "minutes from session start"
    p.drawText(
        QRectF(left, base + 4 + font.pixelSize() * 1.4, plot_w, 24),
        Qt.AlignmentFlag.AlignHCenter,
        f"{axis}  (shaded: alarms; hatched: no data; dashed: limits)",
    )


def _curve(
    p: QPainter,
    x: np.ndarray,
    y: np.ndarray,
    xpix: object,
    ypix: object,
    colour: QColor,
    *,
    markers: bool,
) -> None:
    fx = xpix  # callables, typed loosely to keep the closure signatures simple
    fy = ypix
    assert callable(fx)
    assert callable(fy)
    path = QPainterPath()
    pen_down = False
    points: list[QPointF] = []
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        if not math.isfinite(yi):
            pen_down = False
            continue
        pt = QPointF(fx(xi), fy(yi))
        points.append(pt)
        if pen_down:
            path.lineTo(pt)
        else:
            path.moveTo(pt)
            pen_down = True
    p.setPen(QPen(colour, 2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    if markers:
        p.setBrush(colour)
        for pt in points:
            p.drawEllipse(pt, 4, 4)
        p.setBrush(Qt.BrushStyle.NoBrush)


def _ticks(lo: float, hi: float, target: int) -> Sequence[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + 1e-9:
        out.append(round(v, 6))
        v += step
    return out


def _event_marks(s: ReviewSummary) -> list[tuple[datetime, str]]:
    """Adverse events and the timed scores (one text per set, with the values), in time
    order; the outcome scores (PHQ-9, MADRS) belong to the session, not to a moment."""
    free = [(e.at, e.kind) for e in s.adverse_events if score_label(e) is None]
    return sorted([*free, *score_sets(s.scores)], key=lambda m: m[0])
