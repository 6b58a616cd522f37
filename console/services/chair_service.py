"""One chair: its device link, alarm pipeline, session record and live state for the screen.

The service wires the parts together (simulator pty or real port -> runner -> pipeline ->
storage writer and bridge) and keeps the chair's live state on the GUI thread.  Widgets observe
it through signals and never reach into the device layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QObject, Signal

from console.config import Settings
from console.domain.alarms import AlarmEvent, AlarmEventKind, AlarmPolicy, Priority
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.services.device_bridge import DeviceBridge
from console.services.plot_buffer import RingBuffer
from console.storage.repository import SessionRepository
from console.storage.writer import AlarmItem, ReadingsItem, StorageWriter, TechnicalItem
from devices.clock import Clock
from devices.drivers.ge_datex import DatexDriver
from devices.model import (
    NIBP_METRICS,
    DeviceState,
    Metric,
    Reading,
    TechnicalEvent,
    TechnicalEventKind,
)
from devices.registry import driver_class
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.launch import start_datex_on_pty
from devices.simulator.pty_endpoint import PtyEndpoint
from devices.simulator.signals import SessionTimeline

log = logging.getLogger("ui.chair")

#: Trend history kept in memory per metric: 6 h of 1 Hz samples.
TREND_CAPACITY = 6 * 3600


@dataclass(frozen=True, slots=True)
class ShownAlarm:
    """An active alarm as the screen shows it."""

    key: str
    metric: Metric
    priority: Priority
    onset: datetime
    value: float | None
    message: str


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The newest usable value of a metric and when it arrived (session seconds)."""

    value: float
    received_at: datetime
    device_time: datetime | None


class ChairService(QObject):
    """Live state and plumbing of one chair.

    Signals:
        sig_vitals_updated(): new readings are in ``latest`` and the trend buffers.
        sig_alarms_changed(): ``active_alarms`` changed.
        sig_link_state_changed(str): the device link changed state.
        sig_technical_event(str, str): a technical event (kind, detail) for the status line.
    """

    sig_vitals_updated = Signal()
    """New readings are in ``latest`` and the trend buffers."""
    sig_alarms_changed = Signal()
    """``active_alarms`` changed."""
    sig_link_state_changed = Signal(str)
    """The device link changed state."""
    sig_technical_event = Signal(str, str)
    """A technical event: kind and detail."""

    def __init__(
        self,
        settings: Settings,
        *,
        writer: StorageWriter,
        repository: SessionRepository,
        clock: Clock,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.writer = writer
        self.repository = repository
        self.clock = clock
        self.policy: AlarmPolicy = settings.alarm_policy
        self.simulated = settings.device.simulated
        self.session_id: int | None = None
        self.session_start: datetime = clock.now()
        self.latest: dict[Metric, LatestValue] = {}
        self.last_nibp_at: datetime | None = None
        self.active_alarms: dict[str, ShownAlarm] = {}
        self.link_state = DeviceState.CONNECTING.value
        self.frame_errors = 0
        self.trends: dict[Metric, RingBuffer] = {m: RingBuffer(TREND_CAPACITY) for m in Metric}
        self.bridge = DeviceBridge(self, name=f"bridge-{settings.chair_name}")
        self.bridge.sig_readings_received.connect(self._on_bridge_readings)
        self.bridge.sig_alarms_changed.connect(self._on_bridge_alarms)
        self.bridge.sig_state_changed.connect(self._on_bridge_state)
        self.bridge.sig_technical_received.connect(self._on_bridge_technical)
        self.pipeline = ChairPipeline(self.policy, [self._storage_outputs(), self.bridge.outputs()])
        self.endpoint: PtyEndpoint | None = None
        self.runner: DeviceRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def device_url(self) -> str:
        """The pyserial URL the chair reads (the simulator's pty path when simulated)."""
        if self.endpoint is not None:
            return self.endpoint.path
        return self.settings.device.url

    def start(self) -> None:
        """Open the session record, start the simulator if any, and start reading."""
        dev, sim = self.settings.device, self.settings.simulator
        self.session_start = self.clock.now()
        if self.simulated:
            timeline = SessionTimeline(
                baseline_s=sim.baseline_min * 60,
                infusion_s=sim.infusion_min * 60,
                observation_s=sim.observation_min * 60,
            )
            self.endpoint = start_datex_on_pty(
                self.clock,
                profile=sim.profile,
                seed=sim.seed,
                nibp_interval_s=sim.nibp_interval_s,
                timeline=timeline,
                session_start=self.session_start,
                name=f"sim-{self.settings.chair_name}",
            )
            kind = sim.protocol
        else:
            kind = dev.kind
        cls = driver_class(kind)
        driver = DatexDriver(interval_s=dev.interval_s) if cls is DatexDriver else cls()
        link = LinkConfig(
            url=self.device_url,
            baudrate=dev.baud or cls.default_baud,
            parity=cls.parity,
            rtscts=dev.rtscts,
            device_id=self.settings.chair_name,
        )
        self.session_id = self.repository.create_session(
            chair=self.settings.chair_name,
            started_at=self.session_start,
            simulated=self.simulated,
            device_kind=kind,
            device_url=self.device_url,
        )
        log.info(
            "session %s started on %s (%s%s)",
            self.session_id,
            self.device_url,
            kind,
            ", simulated" if self.simulated else "",
        )
        self.runner = DeviceRunner(
            driver, link, self.pipeline, clock=self.clock, name=f"runner-{self.settings.chair_name}"
        )
        self.runner.start()
        self.bridge.start()

    def stop(self) -> None:
        """Stop reading, close the session record and flush it to the database."""
        self.bridge.stop()
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
        self.bridge.drain()
        if self.session_id is not None:
            self.writer.flush()
            self.repository.end_session(self.session_id, self.clock.now())

    def session_seconds(self, at: datetime | None = None) -> float:
        """Seconds since the session started (on the chair's clock)."""
        return ((at or self.clock.now()) - self.session_start).total_seconds()

    def highest_priority(self) -> Priority | None:
        """Priority of the most urgent active alarm, if any."""
        if not self.active_alarms:
            return None
        return max(a.priority for a in self.active_alarms.values())

    # -- runner-thread side -----------------------------------------------------------------
    def _storage_outputs(self) -> ChairOutputs:
        def readings(rs: list[Reading]) -> None:
            if self.session_id is not None:
                self.writer.submit(ReadingsItem(self.session_id, tuple(rs)))

        def alarms(evs: list[AlarmEvent]) -> None:
            if self.session_id is not None:
                for ev in evs:
                    self.writer.submit(AlarmItem(self.session_id, ev))

        def technical(ev: TechnicalEvent) -> None:
            if self.session_id is not None and ev.kind is not TechnicalEventKind.FRAME_ERROR:
                self.writer.submit(TechnicalItem(self.session_id, ev))
            elif self.session_id is not None and ev.count in (1, 10, 100, 1000):
                # Frame errors are counted on the runner; store a sample, not a flood.
                self.writer.submit(TechnicalItem(self.session_id, ev))

        return ChairOutputs(
            readings=readings, alarms=alarms, technical=technical, state=lambda s: None
        )

    # -- GUI-thread side --------------------------------------------------------------------
    def _on_bridge_readings(self, readings: list[Reading]) -> None:
        for r in readings:
            if not r.usable:
                continue
            assert r.value is not None
            self.latest[r.metric] = LatestValue(r.value, r.received_at, r.device_time)
            self.trends[r.metric].append(self.session_seconds(r.received_at) / 60.0, r.value)
            if r.metric in NIBP_METRICS:
                self.last_nibp_at = r.received_at
        self.sig_vitals_updated.emit()

    def _on_bridge_alarms(self, events: list[AlarmEvent]) -> None:
        for ev in events:
            if ev.kind is AlarmEventKind.END:
                self.active_alarms.pop(ev.key, None)
                continue
            previous = self.active_alarms.get(ev.key)
            onset = ev.at if previous is None or ev.kind is AlarmEventKind.ONSET else previous.onset
            self.active_alarms[ev.key] = ShownAlarm(
                ev.key, ev.metric, ev.priority, onset, ev.value, ev.message
            )
        self.sig_alarms_changed.emit()

    def _on_bridge_state(self, state: str) -> None:
        self.link_state = state
        if state in (DeviceState.QUIET.value, DeviceState.DISCONNECTED.value):
            now_min = self.session_seconds() / 60.0
            for buf in self.trends.values():
                buf.append_gap(now_min)
        self.sig_link_state_changed.emit(state)

    def _on_bridge_technical(self, events: list[TechnicalEvent]) -> None:
        for ev in events:
            if ev.kind is TechnicalEventKind.FRAME_ERROR:
                self.frame_errors = ev.count
            self.sig_technical_event.emit(ev.kind.value, ev.detail)
