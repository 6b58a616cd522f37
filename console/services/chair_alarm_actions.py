"""A chair's alarm actions, from the nurse's buttons to the alarm engine and back to the screen.

One job of the chair (issue 13): every action goes to the alarm pipeline (which serialises it
with the device thread under its lock), then the alarm state shown is re-read from the engine
and ``on_changed`` tells the chair (which emits its Qt signal).  Nothing here runs a widget's
slot under the pipeline's lock: ``on_changed`` is called after the pipeline call returned, and
the alarm events the call produced reach the screen through the bridge's queue
(console.services.device_bridge).

A part the chair *holds* (``ChairService.alarms``), not a mixin, and Qt-free: the widgets call
the actions here directly, so an action's arguments are written once on its way to the engine
(the pipeline only takes the lock: :meth:`ChairPipeline.act`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from console.domain.alarm_engine import AlarmEngine, AlarmSnapshot, AlarmStatus, AudioStatus
from console.domain.alarm_events import AlarmEvent, RepeatRequest
from console.domain.alarms import AlarmPolicy, Direction, Priority
from console.domain.pipeline import ChairPipeline
from console.services.session_values import ShownAlarm
from devices.clock import Clock
from devices.model import Metric


class ChairAlarmActions:
    """Alarm actions of a chair and the alarm state the screen shows (GUI thread).

    Args:
        pipeline: the chair's alarm pipeline.
        clock: the chair's clock (time of each action).
        policy: the limits shown before the engine was first read.
        on_changed: called after every re-read of the engine's state (the chair's signal).
    """

    def __init__(
        self,
        pipeline: ChairPipeline,
        clock: Clock,
        policy: AlarmPolicy,
        on_changed: Callable[[], None],
    ) -> None:
        self.pipeline = pipeline
        self.clock = clock
        #: The limits in force (the patient's changes included).
        self.policy = policy
        #: Listed alarms about a parameter, by key (the tiles and plots show them).
        self.active_alarms: dict[str, ShownAlarm] = {}
        #: Every listed alarm (technical ones about no parameter included), most urgent first.
        self.alarm_list: tuple[AlarmStatus, ...] = ()
        #: What the alarm sound should do (the UI's sound player follows it).
        self.audio: AudioStatus = AudioStatus(None)
        #: Pending repeat-NIBP requests to show (confirm-by-repeat, clinical.md b2).
        self.repeat_requests: tuple[RepeatRequest, ...] = ()
        self._on_changed = on_changed

    def acknowledge(self, key: str, user: str) -> None:
        """Acknowledge one alarm (a latched, cleared alarm is removed)."""
        self._act(lambda engine, now: engine.acknowledge(key, user, now))

    def acknowledge_all(self, user: str) -> None:
        """Acknowledge every listed alarm."""
        self._act(lambda engine, now: engine.acknowledge_all(user, now))

    def pause_audio(self, user: str, duration_s: float | None = None) -> None:
        """Pause alarm audio (default length from the profile); raises LimitError if refused."""
        self._act(lambda engine, now: engine.pause_audio(user, now, duration_s))

    def resume_audio(self, user: str) -> None:
        """End an audio pause early."""
        self._act(lambda engine, now: engine.resume_audio(user, now))

    def set_audio_available(self, available: bool, reason: str = "") -> None:
        """Whether alarms can be heard; unavailable raises a visible high technical alarm."""
        self._act(lambda engine, now: engine.set_audio_available(available, now, reason))

    def set_storage_available(self, available: bool, reason: str = "") -> None:
        """Whether the session is being recorded; unavailable raises a visible alarm."""
        self._act(lambda engine, now: engine.set_storage_available(available, now, reason))

    def set_infusion_running(self, running: bool) -> None:
        """Tell the alarm engine the infusion started or stopped (NIBP overdue, comm lost)."""
        self._act(lambda engine, now: engine.set_infusion_running(running, now))

    def set_baseline(
        self, sbp: float | None, dbp: float | None, hr: float | None, user: str
    ) -> None:
        """Set the pre-dose baseline; raises LimitError for implausible values."""
        self._act(lambda engine, now: engine.set_baseline(sbp, dbp, hr, now, actor=user))

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
        self._act(
            lambda engine, now: engine.override_limit(
                metric, direction, priority, limit, actor=user, reason=reason, now=now, unit=unit
            )
        )

    def _act(self, action: Callable[[AlarmEngine, datetime], list[AlarmEvent]]) -> None:
        """Run ``action`` on the engine (under the pipeline's lock) now, then re-read."""
        now = self.clock.now()
        self.pipeline.act(lambda engine: action(engine, now))
        self.refresh()

    def refresh(self) -> None:
        """Re-read the engine's alarm state and tell the chair (safe to call any time)."""
        self._apply_snapshot(self.pipeline.snapshot())
        self._on_changed()

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
