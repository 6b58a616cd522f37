"""One chair: its device link, alarm pipeline, session record and live state for the screen.

The service wires the parts together (simulator pty or real port -> runner -> pipeline ->
storage writer and bridge) and keeps the chair's live state on the GUI thread.  Widgets observe
it through signals and never reach into the device layer.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal

from console.config import Settings
from console.domain.alarm_engine import AlarmSnapshot, AlarmStatus, AudioStatus
from console.domain.alarm_events import RepeatRequest
from console.domain.alarms import (
    AlarmCategory,
    AlarmEvent,
    AlarmEventKind,
    AlarmPolicy,
    Direction,
    Priority,
)
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.services.device_bridge import DeviceBridge
from console.services.plot_buffer import RingBuffer
from console.storage.repository import SessionRepository
from console.storage.writer import (
    AlarmItem,
    ProfileChangeItem,
    ReadingsItem,
    SessionEndItem,
    StorageWriter,
    TechnicalItem,
)
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
from devices.simulator.launch import SimulatedMonitor, driver_kind, start_simulator
from devices.simulator.monitor import NibpSchedule
from devices.simulator.pty_endpoint import PtyEndpoint
from devices.simulator.scenario import Scenario, load_scenario
from devices.simulator.signals import SessionTimeline

log = logging.getLogger("ui.chair")

#: Alarm log entries kept for the live view.
ALARM_LOG_SHOWN = 200
#: Trend history kept in memory per metric: 6 h of 1 Hz samples.
TREND_CAPACITY = 6 * 3600


@dataclass(frozen=True, slots=True)
class ShownAlarm:
    """A listed alarm as the screen shows it, grouped under a parameter tile.

    ``metric`` is the tile the alarm belongs to: the parameter of a physiological alarm, or the
    parameter a technical alarm concerns (SpO2 for sensor off, NIBP for NIBP overdue, the
    flagged metric for an invalid value).  Alarms about no parameter (communication lost) are
    in :attr:`ChairService.alarm_list` only.
    """

    key: str
    metric: Metric
    priority: Priority
    onset: datetime
    value: float | None
    message: str
    category: AlarmCategory = AlarmCategory.PHYSIOLOGICAL
    condition_start: datetime | None = None
    limit: float | None = None
    latched: bool = False
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    audio_paused_until: datetime | None = None

    @classmethod
    def from_status(cls, status: AlarmStatus, metric: Metric) -> ShownAlarm:
        """The screen's view of an engine alarm status."""
        return cls(
            status.key,
            metric,
            status.priority,
            status.onset,
            status.value,
            status.message,
            status.category,
            status.condition_start,
            status.limit,
            status.latched,
            status.acknowledged_by,
            status.acknowledged_at,
            status.audio_paused_until,
        )


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The newest usable value of a metric and when it arrived (session seconds)."""

    value: float
    received_at: datetime
    device_time: datetime | None


def simulated_scenario(settings: Settings) -> Scenario:
    """The script of a simulated chair: the configured scenario, or the plain profile.

    Raises:
        ScenarioError: the scenario cannot be found or is invalid.
    """
    sim = settings.simulator
    if sim.scenario:
        return load_scenario(sim.scenario)
    timeline = SessionTimeline(
        baseline_s=sim.baseline_min * 60,
        infusion_s=sim.infusion_min * 60,
        observation_s=sim.observation_min * 60,
    )
    return Scenario(
        name=sim.profile,
        description=f"simulated {sim.profile} patient",
        duration_s=timeline.total_s,
        profile=sim.profile,
        timeline=timeline,
        nibp=NibpSchedule(interval_s=sim.nibp_interval_s),
    )


class ChairService(QObject):
    """Live state and plumbing of one chair.

    Signals:
        sig_vitals_updated(): new readings are in ``latest`` and the trend buffers.
        sig_alarms_changed(): alarm state changed (``active_alarms``, ``alarm_list``, ``audio``,
            ``repeat_requests``).
        sig_link_state_changed(str): the device link changed state.
        sig_technical_event(str, str): a technical event (kind, detail) for the status line.
    """

    sig_vitals_updated = Signal()
    """New readings are in ``latest`` and the trend buffers."""
    sig_alarms_changed = Signal()
    """Alarm state changed: ``active_alarms``, ``alarm_list``, ``audio``, ``repeat_requests``."""
    sig_link_state_changed = Signal(str)
    """The device link changed state."""
    sig_technical_event = Signal(str, str)
    sig_alarm_logged = Signal(list)
    """New alarm log entries (AlarmEvent list, oldest first), as stored."""
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
        #: Every listed alarm (technical ones about no parameter included), most urgent first.
        self.alarm_list: tuple[AlarmStatus, ...] = ()
        #: What the alarm sound should do (the UI's sound player follows it).
        self.audio: AudioStatus = AudioStatus(None)
        #: Pending repeat-NIBP requests to show (confirm-by-repeat, clinical.md b2).
        self.repeat_requests: tuple[RepeatRequest, ...] = ()
        #: The newest alarm log entries of this session (the full log is in the database).
        self.alarm_log: deque[AlarmEvent] = deque(maxlen=ALARM_LOG_SHOWN)
        self.link_state = DeviceState.CONNECTING.value
        self.frame_errors = 0
        self.trends: dict[Metric, RingBuffer] = {m: RingBuffer(TREND_CAPACITY) for m in Metric}
        self.bridge = DeviceBridge(self, name=f"bridge-{settings.chair_name}")
        self.bridge.sig_readings_received.connect(self._on_bridge_readings)
        self.bridge.sig_alarms_changed.connect(self._on_bridge_alarms)
        self.bridge.sig_state_changed.connect(self._on_bridge_state)
        self.bridge.sig_technical_received.connect(self._on_bridge_technical)
        #: The simulated chair's script (None for a real monitor); resolved now so a bad
        #: scenario name is a start-up error, not a surprise when the session starts.
        self.scenario: Scenario | None = simulated_scenario(settings) if self.simulated else None
        self.driver_kind = (
            driver_kind(settings.simulator.protocol) if self.simulated else settings.device.kind
        )
        self.driver_cls = driver_class(self.driver_kind)
        self.pipeline = ChairPipeline(
            settings.alarm_profile,
            [self._storage_outputs(), self.bridge.outputs()],
            nibp_interval_s=self.scenario.nibp.interval_s
            if self.scenario is not None
            else settings.alarm_nibp_interval_s,
            pulse_as_hr=Metric.HR not in self.driver_cls.metrics
            and Metric.PR in self.driver_cls.metrics,
        )
        self.simulator: SimulatedMonitor | None = None
        self._timeline_timers: list[QTimer] = []
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
        if self.scenario is not None:
            self.simulator = start_simulator(
                self.clock,
                protocol=sim.protocol,
                scenario=self.scenario,
                seed=sim.seed,
                session_start=self.session_start,
                name=f"sim-{self.settings.chair_name}",
            )
            self.endpoint = self.simulator.endpoint
        kind, cls = self.driver_kind, self.driver_cls
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
        # Alarm timers run on the pipeline's own thread, not on a QTimer: a busy GUI must not
        # delay "communication lost" (see console.domain.pipeline).
        self.pipeline.start_ticking(self.clock, name=f"alarm-ticker-{self.settings.chair_name}")
        self.bridge.start()
        if self.scenario is not None:
            timeline = self.scenario.timeline
            self._follow_simulated_infusion(timeline.infusion_start_s, timeline.infusion_end_s)

    def stop(self) -> None:
        """Stop reading, close the session record and flush it to the database."""
        self.bridge.stop()
        for timer in self._timeline_timers:
            timer.stop()
        self.pipeline.stop_ticking()  # first: a stopping link is not a lost monitor
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
        self.bridge.drain()
        if self.session_id is not None:
            # Through the writer, behind the session's last readings: with the database away
            # the end is journalled with them instead of raising here.
            self.writer.submit(SessionEndItem(self.session_id, self.clock.now()))
            self.writer.flush()

    def session_seconds(self, at: datetime | None = None) -> float:
        """Seconds since the session started (on the chair's clock)."""
        return ((at or self.clock.now()) - self.session_start).total_seconds()

    def highest_priority(self) -> Priority | None:
        """Priority of the most urgent listed alarm (technical ones included), if any."""
        if not self.alarm_list:
            return None
        return max(a.priority for a in self.alarm_list)

    # -- alarm actions (GUI thread; forwarded to the engine under the pipeline's lock) ---------
    def acknowledge(self, key: str, user: str) -> None:
        """Acknowledge one alarm (a latched, cleared alarm is removed)."""
        self.pipeline.acknowledge(key, user, self.clock.now())
        self.refresh_alarms()

    def acknowledge_all(self, user: str) -> None:
        """Acknowledge every listed alarm."""
        self.pipeline.acknowledge_all(user, self.clock.now())
        self.refresh_alarms()

    def pause_audio(self, user: str, duration_s: float | None = None) -> None:
        """Pause alarm audio (default length from the profile); raises LimitError if refused."""
        self.pipeline.pause_audio(user, self.clock.now(), duration_s)
        self.refresh_alarms()

    def resume_audio(self, user: str) -> None:
        """End an audio pause early."""
        self.pipeline.resume_audio(user, self.clock.now())
        self.refresh_alarms()

    def set_audio_available(self, available: bool, reason: str = "") -> None:
        """Whether alarms can be heard; unavailable raises a visible high technical alarm."""
        self.pipeline.set_audio_available(available, self.clock.now(), reason)
        self.refresh_alarms()

    def set_infusion_running(self, running: bool) -> None:
        """Tell the alarm engine the infusion started or stopped (NIBP overdue, comm lost)."""
        self.pipeline.set_infusion_running(running, self.clock.now())
        self.refresh_alarms()

    def set_baseline(
        self, sbp: float | None, dbp: float | None, hr: float | None, user: str
    ) -> None:
        """Set the pre-dose baseline; raises LimitError for implausible values."""
        self.pipeline.set_baseline(sbp, dbp, hr, self.clock.now(), actor=user)
        self.refresh_alarms()

    def override_limit(
        self,
        metric: Metric,
        direction: Direction,
        priority: Priority,
        limit: float,
        *,
        user: str,
        reason: str,
        unit: str | None = None,
    ) -> None:
        """Change one limit for this patient; raises LimitError (naming the parameter)."""
        self.pipeline.override_limit(
            metric,
            direction,
            priority,
            limit,
            actor=user,
            reason=reason,
            now=self.clock.now(),
            unit=unit,
        )
        self.policy = self.pipeline.policy
        self.refresh_alarms()

    def refresh_alarms(self) -> None:
        """Re-read the engine's alarm state and tell the widgets (safe to call any time)."""
        self._apply_snapshot(self.pipeline.snapshot())
        self.sig_alarms_changed.emit()

    def _apply_snapshot(self, snap: AlarmSnapshot) -> None:
        shown: dict[str, ShownAlarm] = {}
        for status in snap.alarms:
            metric = status.metric or status.tile_metric
            if metric is not None:
                shown[status.key] = ShownAlarm.from_status(status, metric)
        self.active_alarms = shown
        self.alarm_list = snap.alarms
        self.audio = snap.audio
        self.repeat_requests = snap.repeat_requests
        self.policy = snap.profile.policy

    def _follow_simulated_infusion(self, start_s: float, end_s: float) -> None:
        """Tell the engine when the simulated patient's infusion runs (no session UI yet)."""
        for at_s, running in ((start_s, True), (end_s, False)):
            timer = QTimer(self)
            timer.setObjectName(f"sim-infusion-{'start' if running else 'stop'}")
            timer.setSingleShot(True)
            timer.setInterval(max(0, int(at_s / self.clock.speed * 1000)))
            timer.timeout.connect(lambda running=running: self.set_infusion_running(running))
            timer.start()
            self._timeline_timers.append(timer)

    # -- runner-thread side -----------------------------------------------------------------
    def _storage_outputs(self) -> ChairOutputs:
        def readings(rs: list[Reading]) -> None:
            if self.session_id is not None:
                self.writer.submit(ReadingsItem(self.session_id, tuple(rs)))

        def alarms(evs: list[AlarmEvent]) -> None:
            if self.session_id is not None:
                for ev in evs:
                    self.writer.submit(AlarmItem(self.session_id, ev))
                    if ev.kind is AlarmEventKind.PROFILE_CHANGED and ev.change is not None:
                        c = ev.change
                        self.writer.submit(
                            ProfileChangeItem(
                                at=c.at,
                                actor=c.actor,
                                reason=c.reason,
                                old_json=json.dumps(
                                    {"parameter": c.parameter, "setting": c.setting, "value": c.old}
                                ),
                                new_json=json.dumps(
                                    {
                                        "parameter": c.parameter,
                                        "setting": c.setting,
                                        "value": c.new,
                                        "profile": c.profile,
                                    }
                                ),
                                session_id=self.session_id,
                            )
                        )

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
        # The events went to storage in order; the screen shows the engine's current state,
        # which already includes them (and anything newer), so nothing is rebuilt from events.
        # The log view gets the events themselves: onset, escalation, who acknowledged, pauses.
        self.alarm_log.extend(events)
        self.sig_alarm_logged.emit(events)
        self.refresh_alarms()

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
