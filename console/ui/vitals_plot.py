"""Session trend plots (pyqtgraph): NIBP, HR and SpO2 with the alarm limits drawn.

Cheap by construction (shared/performance.md): curves read numpy ring buffers and are only
re-set when their buffer changed; the x axis spans the whole session and grows in 30-minute
steps instead of scrolling every frame, which would make pyqtgraph paint twice per frame.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from console.domain.alarms import AlarmPolicy
from console.services.plot_buffer import RingBuffer
from console.ui import theme
from devices.model import Metric

#: The x axis always shows at least this many minutes, then grows by the same step.
X_STEP_MIN = 30.0

_CURVE_NAMES = {Metric.NIBP_SYS: "sys", Metric.NIBP_DIA: "dia", Metric.NIBP_MEAN: "mean"}

_PLOTS: tuple[tuple[str, str, tuple[float, float], tuple[Metric, ...]], ...] = (
    ("bp", "NIBP mmHg", (40.0, 230.0), (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)),
    ("hr", "HR /min", (30.0, 170.0), (Metric.HR,)),
    ("spo2", "SpO2 %", (80.0, 101.0), (Metric.SPO2,)),
)


class TrendPlots(pg.GraphicsLayoutWidget):  # type: ignore[misc]  # pyqtgraph is untyped
    """Stacked trend plots sharing one session-minutes x axis."""

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
        first: pg.PlotItem | None = None
        for row, (name, label, y_range, metrics) in enumerate(_PLOTS):
            plot = self.addPlot(row=row, col=0)
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setYRange(*y_range, padding=0)
            plot.setXRange(0, self._x_max, padding=0)
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
        self.set_policy(policy)

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
        """Push changed buffers into their curves; grow the x axis when needed."""
        if now_min > self._x_max:
            while now_min > self._x_max:
                self._x_max += X_STEP_MIN
            self.plots["bp"].setXRange(0, self._x_max, padding=0)
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

    @property
    def x_max(self) -> float:
        """Right end of the x axis in session minutes."""
        return self._x_max
