"""Session trend plots (pyqtgraph): NIBP, HR and SpO2 with the alarm limits drawn.

Cheap by construction (shared/performance.md): curves read numpy ring buffers and are only
re-set when their buffer changed; the x axis spans the whole session and grows in 30-minute
steps instead of scrolling every frame, which would make pyqtgraph paint twice per frame.

The nurse can look back while the session runs: dragging or wheeling over a plot pans and
zooms the (linked) x axis only.  From then on the view stays where it was put while new data
keep arriving, until "Live" (or a double-click) returns to following the whole session.
NIBP is drawn as a sys/dia band with the mean curve; alarm periods are shaded behind the
curves of their parameter in the priority colour.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QPushButton, QWidget

from console.domain.alarms import AlarmPolicy, Priority
from console.services.plot_buffer import RingBuffer
from console.ui import theme
from devices.model import Metric

#: The x axis always shows at least this many minutes, then grows by the same step.
X_STEP_MIN = 30.0

#: The narrowest x span (minutes) the nurse can zoom in to.
MIN_X_SPAN_MIN = 2.0
#: Opacity (0-255) of the sys/dia band and of the shaded alarm periods.
BAND_ALPHA = 60
ALARM_ALPHA = 45

_CURVE_NAMES = {Metric.NIBP_SYS: "sys", Metric.NIBP_DIA: "dia", Metric.NIBP_MEAN: "mean"}

_PLOTS: tuple[tuple[str, str, tuple[float, float], tuple[Metric, ...]], ...] = (
    ("bp", "NIBP mmHg", (40.0, 230.0), (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)),
    ("hr", "HR /min", (30.0, 170.0), (Metric.HR,)),
    ("spo2", "SpO2 %", (80.0, 101.0), (Metric.SPO2,)),
)


#: Which plot shows a parameter's alarm periods.
PLOT_OF_METRIC: dict[Metric, str] = {
    Metric.NIBP_SYS: "bp",
    Metric.NIBP_DIA: "bp",
    Metric.NIBP_MEAN: "bp",
    Metric.HR: "hr",
    Metric.PR: "hr",
    Metric.SPO2: "spo2",
}


@dataclass(frozen=True)
class AlarmPeriod:
    """One physiological alarm's time on the trends, in session minutes.

    Attributes:
        key: the alarm's condition key (``NIBP_SYS:high``); with ``start_min`` its identity.
        metric: the parameter alarmed; chooses the plot.
        priority: the colour (the highest priority the alarm reached).
        start_min: onset.
        end_min: when it ended; None while it is still active (drawn up to now).
    """

    key: str
    metric: Metric
    priority: Priority
    start_min: float
    end_min: float | None = None


def _translucent(colour: str, alpha: int) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


class TrendPlots(pg.GraphicsLayoutWidget):  # type: ignore[misc]  # pyqtgraph is untyped
    """Stacked trend plots sharing one session-minutes x axis."""

    #: Emitted with True when the view follows the session again, False when the nurse
    #: panned or zoomed to look at the past.
    sig_following_changed = Signal(bool)

    def __init__(
        self,
        trends: dict[Metric, RingBuffer],
        policy: AlarmPolicy,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.trends = trends
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[Metric, pg.PlotDataItem] = {}
        self.limit_lines: dict[Metric, list[pg.InfiniteLine]] = {}
        self._versions: dict[Metric, int] = {}
        self._x_max = X_STEP_MIN
        self.updates = 0
        #: Session markers drawn (minutes, label), oldest first.
        self.markers: list[tuple[float, str]] = []
        self._marker_items: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        #: Shaded alarm periods on screen: (key, start_min) -> (period, plot, region).
        self.alarm_regions: dict[
            tuple[str, float], tuple[AlarmPeriod, pg.PlotItem, pg.LinearRegionItem]
        ] = {}
        self._now_min = 0.0
        self._following = True
        self.band: pg.FillBetweenItem | None = None
        first: pg.PlotItem | None = None
        for row, (name, label, y_range, metrics) in enumerate(_PLOTS):
            plot = self.addPlot(row=row, col=0)
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.15)
            # Pan and zoom in time only: the y scales are fixed so that levels read the same.
            plot.setMouseEnabled(x=True, y=False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setYRange(*y_range, padding=0)
            plot.setXRange(0, self._x_max, padding=0)
            plot.setLimits(xMin=0.0, xMax=self._x_max, minXRange=MIN_X_SPAN_MIN)
            plot.getViewBox().sigRangeChangedManually.connect(self._on_view_range_changed_manually)
            plot.setClipToView(True)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            if row == len(_PLOTS) - 1:
                plot.setLabel("bottom", "session time (min)")
            self.plots[name] = plot
            if len(metrics) > 1:
                plot.addLegend(offset=(10, 5), labelTextColor=theme.TEXT, brush=theme.PANEL)
            for metric in metrics:
                nibp = name == "bp"
                curve = plot.plot(
                    pen=pg.mkPen(theme.METRIC_COLOURS[metric], width=2),
                    symbol="o" if nibp else None,
                    symbolSize=6,
                    symbolBrush=theme.METRIC_COLOURS[metric],
                    symbolPen=None,
                    connect="finite",
                    name=_CURVE_NAMES.get(metric, metric.value),
                    # Peak downsampling keeps each pixel column's min and max; pyqtgraph's
                    # default factor (5 samples per pixel) draws 2,700 points for 45 minutes
                    # where ~2 per pixel look the same: half the cost of a chair's 1 Hz redraw
                    # (benchmarks/plot_bench.py).
                    autoDownsampleFactor=1.0,
                )
                if not nibp:
                    curve.setDownsampling(auto=True, method="peak")
                self.curves[metric] = curve
                self._versions[metric] = -1
            if name == "bp":
                # The band between systolic and diastolic: a translucent fill below the
                # curves (FillBetweenItem follows the curves' own updates: no extra work).
                self.band = pg.FillBetweenItem(
                    self.curves[Metric.NIBP_SYS],
                    self.curves[Metric.NIBP_DIA],
                    brush=_translucent(theme.METRIC_COLOURS[Metric.NIBP_SYS], BAND_ALPHA),
                )
                plot.addItem(self.band, ignoreBounds=True)
        self.set_policy(policy)

        self.live_button = QPushButton("\u25b6 Live", self)
        self.live_button.setObjectName("trendLive")
        self.live_button.setToolTip("Back to following the whole session (or double-click)")
        self.live_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.live_button.setStyleSheet(
            "QPushButton { background: #1565c0; color: #ffffff; font-weight: 700;"
            " font-size: 14px; padding: 4px 12px; border-radius: 4px; }"
        )
        self.live_button.clicked.connect(self.go_live)
        self.live_button.hide()

    def set_policy(self, policy: AlarmPolicy) -> None:
        """Draw a dashed line at every limit, coloured by its priority."""
        for name, _label, _y, metrics in _PLOTS:
            plot = self.plots[name]
            for metric in metrics:
                for old in self.limit_lines.get(metric, []):
                    plot.removeItem(old)
                lines = []
                for rule in policy.limit_lines(metric):
                    pen = pg.mkPen(
                        theme.PRIORITY_COLOURS[rule.priority], width=1, style=Qt.PenStyle.DashLine
                    )
                    line = pg.InfiniteLine(pos=rule.limit, angle=0, pen=pen, movable=False)
                    plot.addItem(line)
                    lines.append(line)
                self.limit_lines[metric] = lines

    def refresh(self, now_min: float) -> None:
        """Push changed buffers into their curves; grow the x axis when needed.

        While the nurse looks at the past the axis end still grows (so that panning reaches
        the newest data), but the view is left where it was put.
        """
        self._now_min = now_min
        if now_min > self._x_max:
            while now_min > self._x_max:
                self._x_max += X_STEP_MIN
            for plot in self.plots.values():
                plot.setLimits(xMax=self._x_max)
            if self._following:
                self.plots["bp"].setXRange(0, self._x_max, padding=0)
        for period, _plot, region in self.alarm_regions.values():
            if period.end_min is None:
                self._set_region(region, period)
        for metric, curve in self.curves.items():
            buf = self.trends[metric]
            if buf.version == self._versions[metric]:
                continue
            self._versions[metric] = buf.version
            x, y = buf.arrays()
            curve.setData(x, y, connect="finite")
            self.updates += 1

    def add_marker(self, minutes: float, label: str, colour: str) -> None:
        """Draw a vertical session marker (infusion start/stop, rate change, annotation).

        The line crosses every plot, so a BP rise or a desaturation can be read against what
        was done; the label is written once, on the top plot, staggered in height so that
        markers a minute apart stay legible.
        """
        pen = pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine)
        for name, plot in self.plots.items():
            labelled = name == "bp"
            line = pg.InfiniteLine(
                pos=minutes,
                angle=90,
                pen=pen,
                movable=False,
                label=label if labelled else None,
                labelOpts={
                    # Low in the BP plot: the legend owns the top left, and readings sit
                    # well above 80 mmHg systolic in this clinic.
                    "position": 0.05 + 0.08 * (len(self.markers) % 3),
                    "color": colour,
                    "anchors": [(0, 0.5), (0, 0.5)],
                }
                if labelled
                else None,
            )
            plot.addItem(line, ignoreBounds=True)
            self._marker_items.append((plot, line))
        self.markers.append((minutes, label))

    def clear_markers(self) -> None:
        """Remove every session marker (a new session starts at minute 0)."""
        for plot, line in self._marker_items:
            plot.removeItem(line)
        self._marker_items.clear()
        self.markers.clear()

    # -- alarm periods ---------------------------------------------------------------------
    def set_alarm_periods(self, periods: Iterable[AlarmPeriod]) -> None:
        """Show exactly these alarm periods (new ones added, changed ones updated).

        Periods of parameters without a trend plot (RR, temperature) are ignored.
        """
        wanted: dict[tuple[str, float], AlarmPeriod] = {}
        for period in periods:
            if period.metric in PLOT_OF_METRIC:
                wanted[(period.key, period.start_min)] = period
        for ident in [i for i in self.alarm_regions if i not in wanted]:
            _old, plot, region = self.alarm_regions.pop(ident)
            plot.removeItem(region)
        for ident, period in wanted.items():
            shown = self.alarm_regions.get(ident)
            if shown is None:
                plot = self.plots[PLOT_OF_METRIC[period.metric]]
                region = pg.LinearRegionItem(
                    values=(period.start_min, period.start_min),
                    orientation="vertical",
                    movable=False,
                )
                region.setZValue(-100)  # behind the curves, the band and the limit lines
                plot.addItem(region, ignoreBounds=True)
            else:
                old, plot, region = shown
                if old == period:
                    continue
            colour = theme.PRIORITY_COLOURS[period.priority]
            region.setBrush(_translucent(colour, ALARM_ALPHA))
            region.setHoverBrush(_translucent(colour, ALARM_ALPHA))
            for line in region.lines:
                line.setPen(pg.mkPen(_translucent(colour, 110), width=1))
                line.setHoverPen(pg.mkPen(_translucent(colour, 110), width=1))
            self._set_region(region, period)
            self.alarm_regions[ident] = (period, plot, region)

    def _set_region(self, region: pg.LinearRegionItem, period: AlarmPeriod) -> None:
        end = period.end_min if period.end_min is not None else self._now_min
        bounds = (period.start_min, max(end, period.start_min))
        if tuple(region.getRegion()) != bounds:
            region.setRegion(bounds)

    # -- looking back while live ----------------------------------------------------------
    @property
    def following(self) -> bool:
        """True while the view follows the whole session (the default)."""
        return self._following

    def go_live(self) -> None:
        """Follow the whole session again: the x axis from 0 to the current 30-minute step."""
        self.plots["bp"].setXRange(0, self._x_max, padding=0)
        self.live_button.hide()
        if not self._following:
            self._following = True
            self.sig_following_changed.emit(True)

    def _on_view_range_changed_manually(self, _mask: object) -> None:
        if self._following:
            self._following = False
            self._place_live_button()
            self.live_button.show()
            self.live_button.raise_()
            self.sig_following_changed.emit(False)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """A double-click anywhere on the trends returns to following the session."""
        super().mouseDoubleClickEvent(event)
        self.go_live()

    def _place_live_button(self) -> None:
        self.live_button.adjustSize()
        self.live_button.move(self.width() - self.live_button.width() - 12, 8)

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        """Keep the Live button in the top right corner (pyqtgraph also calls this early)."""
        super().resizeEvent(event)
        if hasattr(self, "live_button"):
            self._place_live_button()

    @property
    def x_max(self) -> float:
        """Right end of the x axis in session minutes."""
        return self._x_max
