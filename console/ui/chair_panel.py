"""The live view of one chair: header, alarm banner, numerics and session trends."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.domain.alarms import Priority
from console.services.chair_service import ChairService
from console.ui import theme
from console.ui.alarm_controls import AlarmControls
from console.ui.alarm_log_view import AlarmLogView
from console.ui.numeric_tile import NumericTile
from console.ui.vitals_plot import TrendPlots
from devices.model import NIBP_METRICS, DeviceState, Metric

#: Trend redraw period (ms): trends change at most once a second per metric, and each redraw
#: of 3 plots holds the GUI thread for milliseconds that a 16-chair alarm banner cannot spare.
PLOT_REFRESH_MS = 1000
#: A continuous numeric older than this (session seconds) is greyed as stale.
CONTINUOUS_STALE_S = 15.0
#: An NIBP value older than the cuff interval plus this margin is greyed (clinical.md b3).
NIBP_STALE_MARGIN_S = 120.0

_LINK_STYLE = {
    DeviceState.STREAMING.value: ("#1b5e20", "#ffffff"),
    DeviceState.CONNECTED.value: ("#33691e", "#ffffff"),
    DeviceState.CONNECTING.value: ("#37474f", "#ffffff"),
    DeviceState.QUIET.value: ("#b71c1c", "#ffffff"),
    DeviceState.DISCONNECTED.value: ("#b71c1c", "#ffffff"),
    DeviceState.STOPPED.value: ("#37474f", "#ffffff"),
}


def _limits_text(service: ChairService, metric: Metric) -> str:
    rules = service.policy.limit_lines(metric)
    lows = [r.limit for r in rules if r.direction == "low"]
    highs = [r.limit for r in rules if r.direction == "high"]
    parts = []
    if lows:
        parts.append(f"low {max(lows):g}")
    if highs:
        parts.append(f"high {min(highs):g}")
    return "alarm limits: " + ", ".join(parts) if parts else "no alarm limits"


class ChairPanel(QWidget):
    """Everything a nurse needs to see about one chair, readable from across the room."""

    def __init__(self, service: ChairService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.title = QLabel(service.settings.chair_name)
        self.title.setObjectName("chairTitle")
        self.sim_badge = QLabel("SIMULATED")
        self.sim_badge.setObjectName("simBadge")
        self.sim_badge.setToolTip("Data come from the built-in simulated monitor, not a patient")
        self.sim_badge.setVisible(service.simulated)
        self.link = QLabel()
        self.link.setObjectName("linkState")
        self.clock = QLabel()
        self.clock.setObjectName("sessionClock")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.sim_badge)
        header.addStretch(1)
        header.addWidget(self.clock)
        header.addWidget(self.link)

        self.alarm_controls = AlarmControls(service)
        self.banner = self.alarm_controls.banner
        self.alarm_log = AlarmLogView(service)
        self.alarm_log.setMaximumHeight(170)
        colours = theme.METRIC_COLOURS
        self.tiles: dict[str, NumericTile] = {
            "nibp": NumericTile("NIBP", "mmHg", colours[Metric.NIBP_SYS], value_pt=60),
            "hr": NumericTile("HR", "/min", colours[Metric.HR]),
            "spo2": NumericTile("SpO2", "%", colours[Metric.SPO2]),
            "rr": NumericTile("RR", "/min", colours[Metric.RR], value_pt=36),
        }
        self.tiles["hr"].set_detail(_limits_text(service, Metric.HR))
        self.tiles["spo2"].set_detail(_limits_text(service, Metric.SPO2))
        self.tiles["rr"].set_detail(_limits_text(service, Metric.RR))
        self._nibp_limits = _limits_text(service, Metric.NIBP_SYS).replace("alarm limits", "SBP")
        self.tiles["nibp"].set_detail(f"no measurement yet\n{self._nibp_limits}")
        numerics = QGridLayout()
        numerics.addWidget(self.tiles["nibp"], 0, 0, 1, 2)
        numerics.addWidget(self.tiles["hr"], 1, 0)
        numerics.addWidget(self.tiles["spo2"], 1, 1)
        numerics.addWidget(self.tiles["rr"], 2, 0, 1, 2)
        log_title = QLabel("Alarm log")
        log_title.setObjectName("tileTitle")
        numerics.addWidget(log_title, 3, 0, 1, 2)
        numerics.addWidget(self.alarm_log, 4, 0, 1, 2)
        numerics_box = QWidget()
        numerics_box.setLayout(numerics)
        numerics_box.setMinimumWidth(420)

        self.plots = TrendPlots(service.trends, service.policy)
        body = QHBoxLayout()
        body.addWidget(self.plots, 3)
        body.addWidget(numerics_box, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.alarm_controls)
        layout.addLayout(body, 1)

        service.sig_vitals_updated.connect(self._on_service_vitals_updated)
        service.sig_alarms_changed.connect(self._on_service_alarms_changed)
        service.sig_link_state_changed.connect(self._on_service_link_state_changed)
        self._plot_timer = QTimer(self)
        self._plot_timer.setObjectName(f"plot-{service.settings.chair_name}")
        self._plot_timer.setInterval(PLOT_REFRESH_MS)
        self._plot_timer.timeout.connect(self._on_plot_timer_timeout)
        self._plot_timer.start()
        #: Delay of the first redraw after the panel is shown, so that panels shown together
        #: redraw their trends in different frames (set by the window; shared/performance.md E).
        self.redraw_offset_ms = 0
        self._on_service_link_state_changed(service.link_state)
        self.refresh()

    # -- redraw only while on screen (16 chairs: hidden panels must cost nothing) -----------
    def showEvent(self, event: QShowEvent) -> None:
        """Catch up with the trends at once, then redraw periodically (staggered)."""
        super().showEvent(event)
        self.refresh()
        QTimer.singleShot(self.redraw_offset_ms, self, self._on_redraw_offset_elapsed)

    def hideEvent(self, event: QHideEvent) -> None:
        """A hidden panel does not redraw; :meth:`showEvent` catches up."""
        self._plot_timer.stop()
        super().hideEvent(event)

    def _on_redraw_offset_elapsed(self) -> None:
        if self.isVisible():
            self._plot_timer.start()

    def _on_plot_timer_timeout(self) -> None:
        if not self.isVisible():  # built but never shown (a stacked page): stop polling
            self._plot_timer.stop()
            return
        self.refresh()

    # -- slots -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Periodic redraw: trends, clock and value ages."""
        now = self.service.clock.now()
        elapsed = max(0, int(self.service.session_seconds(now)))
        self.clock.setText(
            f"Session {elapsed // 3600:02d}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}"
        )
        self.plots.refresh(self.service.session_seconds(now) / 60.0)
        self._update_numerics(now)

    def _on_service_vitals_updated(self) -> None:
        self._update_numerics(self.service.clock.now())

    def _on_service_alarms_changed(self) -> None:
        alarms = list(self.service.active_alarms.values())
        by_tile: dict[str, Priority] = {}
        for a in alarms:
            tile = _tile_of(a.metric)
            if tile is not None:
                by_tile[tile] = max(by_tile.get(tile, a.priority), a.priority)
        for name, tile_widget in self.tiles.items():
            tile_widget.set_alarm(by_tile.get(name))

    def _on_service_link_state_changed(self, state: str) -> None:
        bg, fg = _LINK_STYLE.get(state, ("#37474f", "#ffffff"))
        self.link.setText(f"Monitor: {state.upper()}")
        self.link.setStyleSheet(f"background: {bg}; color: {fg};")

    # -- helpers ---------------------------------------------------------------------------
    def _age_s(self, at: datetime, now: datetime) -> float:
        return (now - at).total_seconds()

    def _update_numerics(self, now: datetime) -> None:
        latest = self.service.latest
        for name, metric in (("hr", Metric.HR), ("spo2", Metric.SPO2), ("rr", Metric.RR)):
            value = latest.get(metric)
            if value is None:
                continue
            stale = self._age_s(value.received_at, now) > CONTINUOUS_STALE_S
            self.tiles[name].set_value(f"{value.value:.0f}", stale=stale)
        sys_, dia, mean = (
            latest.get(m) for m in (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)
        )
        at = self.service.last_nibp_at
        if sys_ is not None and dia is not None and at is not None:
            age = self._age_s(at, now)
            limit = self.service.settings.simulator.nibp_interval_s + NIBP_STALE_MARGIN_S
            stale = age > limit
            self.tiles["nibp"].set_value(f"{sys_.value:.0f}/{dia.value:.0f}", stale=stale)
            mean_text = f"({mean.value:.0f})" if mean is not None else "(--)"
            minutes = int(age // 60)
            state = "STALE - " if stale else ""
            self.tiles["nibp"].set_detail(
                f"mean {mean_text}   {state}last NIBP {at.astimezone():%H:%M:%S}"
                f" ({minutes} min ago)\n{self._nibp_limits}"
            )


def _tile_of(metric: Metric) -> str | None:
    if metric in NIBP_METRICS:
        return "nibp"
    return {Metric.HR: "hr", Metric.SPO2: "spo2", Metric.RR: "rr"}.get(metric)
