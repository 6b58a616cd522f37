"""What the alarm engine shows: immutable snapshots for the screen, the sound and the tests.

Kept apart from the engine so that readers (the banner, the discharge gate, the episode text)
depend on these small frozen values, not on the engine's machinery.  The engine
(:mod:`console.domain.alarm_engine`) re-exports them, so existing imports keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.domain.alarm_episode import AlarmEpisode
from console.domain.alarm_events import RepeatRequest, TechnicalAlarmKind
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import AlarmCategory, Baseline, Direction, Priority
from devices.model import Metric


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """One listed alarm, as the screen and the tests see it (an immutable snapshot).

    Attributes:
        key: condition identity (``HR:high``, ``comm_lost``).
        category: physiological or technical.
        priority: the priority shown (a latched alarm keeps high).
        onset: when the alarm was declared.
        condition_start: when the abnormal condition began (before the delay ran out).
        message: nurse-readable text with value and limit.
        value: the latest value behind the condition.
        limit: the limit violated.
        metric: physiological parameter (None for technical alarms).
        direction: abnormal side (physiological alarms).
        technical_kind: which technical condition (technical alarms).
        tile_metric: the parameter whose numeric display this alarm belongs to, if any.
        condition_active: False once the condition has ended (latched alarms only).
        latched: the condition ended but the alarm is held until acknowledged (c5).
        acknowledged_by: who acknowledged it.
        acknowledged_at: when.
        audio_paused_until: end of the audio pause covering it, if paused.
        escalated_unanswered: raised to high because nobody acknowledged it in time.
        episode: onset, worst value and top condition since the onset (alarm_episode).
    """

    key: str
    category: AlarmCategory
    priority: Priority
    onset: datetime
    condition_start: datetime
    message: str
    value: float | None
    limit: float | None
    metric: Metric | None
    direction: Direction | None
    technical_kind: TechnicalAlarmKind | None
    tile_metric: Metric | None
    condition_active: bool
    latched: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    audio_paused_until: datetime | None
    escalated_unanswered: bool
    episode: AlarmEpisode | None = None

    @property
    def signal_priority(self) -> Priority:
        """The priority of its signal (tone, flash, overview): high once nobody answered it in
        time, while :attr:`priority` (and the record) stay the condition's (issue 11 item 10)."""
        return Priority.HIGH if self.escalated_unanswered else self.priority

    @property
    def parameter(self) -> str:
        """The metric value or the technical kind, as stored."""
        if self.metric is not None:
            return self.metric.value
        assert self.technical_kind is not None
        return self.technical_kind.value


@dataclass(frozen=True, slots=True)
class AudioStatus:
    """Whether alarm audio should sound now, and at which priority.

    Attributes:
        priority: priority of the sound to play: the highest among active, unacknowledged
            alarms; None when nothing should sound (none, all acknowledged, or paused).
        paused_until: end of the audio pause, if one is running.
        paused_by: who paused it.
        silenced_priority: while paused, what would sound without the pause.
    """

    priority: Priority | None
    paused_until: datetime | None = None
    paused_by: str | None = None
    silenced_priority: Priority | None = None

    @property
    def sounding(self) -> bool:
        """True when an alarm sound should play."""
        return self.priority is not None


@dataclass(frozen=True, slots=True)
class AlarmSnapshot:
    """Everything queryable about the engine at one moment.

    Attributes:
        at: engine time of the snapshot (None before the engine heard of any time).
        alarms: listed alarms, most urgent first, then by onset.
        audio: what the speaker should do.
        repeat_requests: pending repeat-NIBP requests, oldest first.
        profile: the profile in force.
        baseline: the pre-dose baseline, if known.
        infusion_running: as last told by ``AlarmEngine.set_infusion_running``.
    """

    at: datetime | None
    alarms: tuple[AlarmStatus, ...]
    audio: AudioStatus
    repeat_requests: tuple[RepeatRequest, ...]
    profile: ThresholdProfile
    baseline: Baseline | None
    infusion_running: bool
