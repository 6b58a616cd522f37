"""A bedside-monitor style sweep of one waveform (pleth, ECG): fixed time axis, erase bar.

Why not a pyqtgraph curve: a scrolling x axis makes pyqtgraph repaint everything twice per
frame, and even a fixed-axis curve repaints its whole bounding box when its data change
(shared/performance.md: 16 chairs with a pyqtgraph sweep needed 74 % of a core for 24 fps).
A monitor's sweep only changes a narrow strip per frame: the samples written since the last
frame and the gap ahead of them.  So this widget keeps the trace in an off-screen pixmap, draws
only the new segment into it, and asks Qt to repaint only that strip; a frame costs a few
line segments and a small blit, whatever the sweep width.

The widget is passive: the owner pushes samples with :meth:`PlethSweep.append` (from a timer that
drains the chair's waveform queue); nothing here polls.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPixmap, QPolygonF, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from console.ui import theme
from devices.model import Metric

#: Blank gap ahead of the newest sample, in seconds: it shows where the trace is writing.
GAP_S = 0.25


class PlethSweep(QWidget):
    """One waveform drawn as a sweep that overwrites itself every ``window_s`` seconds.

    Args:
        rate_hz: samples per second of the waveform (125 Hz for a pleth).
        window_s: seconds across the widget; the sweep restarts at the left after that.
        y_range: values mapped to the bottom and top edge (fixed: no autoscale jitter).
        colour: the trace colour (the parameter's colour, e.g. SpO2 cyan).
        label: text in the top-left corner.
        parent: Qt parent.
    """

    def __init__(
        self,
        *,
        rate_hz: float = 125.0,
        window_s: float = 6.0,
        y_range: tuple[float, float] = (0.0, 1.0),
        colour: str = theme.METRIC_COLOURS[Metric.SPO2],
        label: str = "Pleth",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if rate_hz <= 0 or window_s <= 0:
            raise ValueError("rate_hz and window_s must be positive")
        if y_range[1] <= y_range[0]:
            raise ValueError(f"y_range must be (low, high), got {y_range!r}")
        self.rate_hz = rate_hz
        self.window_s = window_s
        self.capacity = max(2, round(rate_hz * window_s))
        self._gap = max(1, round(rate_hz * GAP_S))
        self._y_low, self._y_high = y_range
        self._buf: npt.NDArray[np.float64] = np.full(self.capacity, np.nan)
        self._pos = 0  # index the next sample is written to
        self._label = label
        self._pen = QPen(QColor(colour), 2)
        self._pen.setCosmetic(True)
        self._background = QColor(theme.BACKGROUND)
        self._label_colour = QColor(theme.MUTED)
        self._pixmap = QPixmap()
        self._stale = True  # the pixmap must be redrawn from the buffer before the next paint
        #: Samples written since creation (tests, benchmarks).
        self.samples_written = 0
        # We paint every pixel ourselves: Qt need not paint the parent underneath first.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(40)

    # -- public ---------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        """A strip wider than tall, like a monitor's waveform channel."""
        return QSize(480, 90)

    @property
    def write_index(self) -> int:
        """Buffer index the next sample goes to (0 after a full sweep)."""
        return self._pos

    def values(self) -> npt.NDArray[np.float64]:
        """A copy of the sweep buffer in screen order (NaN where nothing is drawn)."""
        return self._buf.copy()

    def append(self, samples: npt.ArrayLike) -> None:
        """Write new samples at the sweep position and repaint just the strip they cover."""
        data = np.asarray(samples, dtype=np.float64).ravel()
        if data.size == 0:
            return
        if data.size > self.capacity:  # more than one sweep at once (a stall): keep the newest
            skipped = data.size - self.capacity
            self._pos = (self._pos + skipped) % self.capacity
            self.samples_written += skipped
            data = data[-self.capacity :]
        start = self._pos
        n = data.size
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = data[:first]
        if first < n:
            self._buf[: n - first] = data[first:]
        self._pos = (start + n) % self.capacity
        self.samples_written += n
        if self._stale or not self.isVisible() or self._pixmap.isNull():
            self._stale = True  # drawn whole on the next paint
            self.update()
            return
        self._draw_segment(start, n)

    def clear(self) -> None:
        """Blank the sweep (e.g. the sensor came off) and restart at the left edge."""
        self._buf[:] = np.nan
        self._pos = 0
        self._stale = True
        self.update()

    # -- Qt overrides ---------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        """A new size needs a new pixmap, drawn whole from the buffer."""
        self._stale = True
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Blit the dirty part of the pixmap; rebuild the pixmap first when it is stale."""
        if self._stale or self._pixmap.isNull():
            self._rebuild()
        painter = QPainter(self)
        rect = event.rect()
        dpr = self._pixmap.devicePixelRatio()
        source = QRectF(rect.x() * dpr, rect.y() * dpr, rect.width() * dpr, rect.height() * dpr)
        painter.drawPixmap(QRectF(rect), self._pixmap, source)
        if rect.top() < 20 and rect.left() < 80:
            painter.setPen(self._label_colour)
            painter.drawText(QRect(6, 2, 74, 18), Qt.AlignmentFlag.AlignLeft, self._label)
        painter.end()

    # -- drawing --------------------------------------------------------------------------
    def _x(self, index: float) -> float:
        return index * self.width() / self.capacity

    def _ys(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        h = self.height()
        margin = 3.0
        span = self._y_high - self._y_low
        clipped = np.clip(values, self._y_low, self._y_high)
        return h - margin - (clipped - self._y_low) / span * (h - 2 * margin)

    def _rebuild(self) -> None:
        """Draw the whole buffer into a fresh pixmap (after a resize, a show or a clear)."""
        dpr = self.devicePixelRatioF()
        size = self.size()
        pixmap = QPixmap(
            max(1, math.ceil(size.width() * dpr)), max(1, math.ceil(size.height() * dpr))
        )
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(self._background)
        self._pixmap = pixmap
        self._stale = False
        # Everything except the gap ahead of the write position, drawn as one or two runs.
        valid_end = self._pos  # samples [pos + gap, capacity) and [0, pos) hold the trace
        painter = self._painter()
        self._polyline(painter, 0, valid_end)
        self._polyline(painter, min(self.capacity, self._pos + self._gap), self.capacity)
        painter.end()

    def _draw_segment(self, start: int, n: int) -> None:
        """Erase the strip the new samples and the gap cover; draw the new samples into it."""
        painter = self._painter()
        end = start + n  # may run past capacity: split at the wrap
        dirty = QRect()
        for a, b in ((start, min(end, self.capacity)), (0, max(0, end - self.capacity))):
            if b <= a:
                continue
            dirty = dirty.united(self._erase(painter, a, b + self._gap))
            self._polyline(painter, max(0, a - 1), b)
        if end + self._gap > self.capacity and end <= self.capacity:
            # The gap itself wraps to the left edge.
            dirty = dirty.united(self._erase(painter, 0, end + self._gap - self.capacity))
        painter.end()
        self.update(dirty)

    def _erase(self, painter: QPainter, a: int, b: int) -> QRect:
        """Blank columns of samples ``a`` (exclusive of its left pixel) to ``b``."""
        b = min(b, self.capacity)
        x0 = math.floor(self._x(a)) + (1 if a > 0 else 0)
        x1 = math.ceil(self._x(b)) + (1 if b >= self.capacity else 0)
        rect = QRect(x0, 0, max(1, x1 - x0), self.height())
        painter.fillRect(rect, self._background)
        # The antialiased pen reaches a pixel either side of its points.
        return rect.adjusted(-2, 0, 2, 0)

    def _polyline(self, painter: QPainter, a: int, b: int) -> None:
        """Draw samples ``a``..``b-1`` as connected segments, broken at NaN gaps."""
        if b - a < 2:
            return
        values = self._buf[a:b]
        ys = self._ys(values)
        xs = np.arange(a, b, dtype=np.float64) * (self.width() / self.capacity)
        finite = np.isfinite(values)
        if finite.all():
            runs = [(0, b - a)]
        else:
            edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
            runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
        for r0, r1 in runs:
            if r1 - r0 < 2:
                continue
            painter.drawPolyline(
                QPolygonF(
                    [
                        QPointF(x, y)
                        for x, y in zip(xs[r0:r1].tolist(), ys[r0:r1].tolist(), strict=True)
                    ]
                )
            )

    def _painter(self) -> QPainter:
        painter = QPainter(self._pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self._pen)
        return painter
