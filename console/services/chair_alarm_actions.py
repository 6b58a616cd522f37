"""A chair's alarm actions, from the nurse's buttons to the alarm engine and back to the screen.

One job of the chair (issue 13): every action goes to the alarm pipeline (which serialises it
with the device thread under its lock), then the chair re-reads the engine's state for the
widgets.  Nothing here runs a widget's slot under the pipeline's lock: the signal is emitted
after the pipeline call returned, and the alarm events the call produced reach the screen
through the bridge's queue (console.services.device_bridge).

A mixin of :class:`~console.services.chair_service.ChairService`: the actions share the
chair's live alarm state, which the screen reads from the chair.
"""

from __future__ import annotations

from PySide6.QtCore import SignalInstance

from console.domain.alarm_engine import AlarmSnapshot, AlarmStatus, AudioStatus
from console.domain.alarm_events import RepeatRequest
from console.domain.alarms import AlarmPolicy, Direction, Priority
from console.domain.pipeline import ChairPipeline
from console.services.session_values import ShownAlarm
from devices.clock import Clock
from devices.model import Metric


class ChairAlarmActions:
    """Alarm actions of a chair and the alarm state the screen shows (GUI thread)."""

    pipeline: ChairPipeline
    clock: Clock
    policy: AlarmPolicy
    active_alarms: dict[str, ShownAlarm]
    alarm_list: tuple[AlarmStatus, ...]
    audio: AudioStatus
    repeat_requests: tuple[RepeatRequest, ...]
    sig_alarms_changed: SignalInstance

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

    def highest_priority(self) -> Priority | None:
        """Priority of the most urgent listed alarm (technical ones included), if any."""
        if not self.alarm_list:
            return None
        return max(a.priority for a in self.alarm_list)
