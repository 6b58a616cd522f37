"""The alarm engine of one chair: limits, delays, confirm-by-repeat, latching, pause, timers.

Pure Python with no clock of its own: every method takes ``now`` (timezone-aware UTC) and the
runner calls :meth:`AlarmEngine.tick` periodically, so condition delays, pause expiry,
escalation and the technical-alarm timers behave the same at x1 on the ward and at x300 in a
test.  Not thread-safe: :class:`~console.domain.pipeline.ChairPipeline` serialises calls.

Behaviour, with the clinical.md sections it implements:

* Physiological conditions (b2): one condition per metric and side; its priority is that of the
  most urgent tier violated.  Continuous metrics (HR, SpO2, RR, ...) declare a tier only after
  its violation has lasted the tier's ``delay_s`` (c7 alarm condition delay); the ONSET event
  carries the declaration time as ``at`` and the start of the violation as
  ``condition_start``.  A higher tier needs its own delay to escalate; falling back is
  immediate.  NIBP uses confirm-by-repeat: the first violating reading raises the alarm at the
  tier's priority and emits a REPEAT_REQUESTED; the next NIBP within the confirm window either
  confirms it (``confirmed_priority``, e.g. medium -> high for >= 180/110) or, back in range,
  ends it.  Baseline-relative tiers (SBP +40 / DBP +25 mmHg over the pre-dose baseline) sit
  beside the absolute tiers of the same condition.
* Readings the device flagged never raise, change or end a physiological alarm (I.39); they
  raise a low-priority "invalid value" technical condition instead (b3).
* Technical conditions (b3): communication lost (no data for 10 s; high after 60 s while the
  infusion runs), SpO2 sensor off / no signal, NIBP overdue (cycle + 2 min, during the infusion
  and the first 30 min of recovery), invalid value.
* Latching (b3 note, c5): a high-priority physiological alarm stays shown, at high priority and
  with its original onset, after its condition ends, until someone acknowledges it.
* Acknowledge (c4 ACKNOWLEDGED): stops the audio of an active alarm until it ends (an
  escalation needs a new acknowledgement); acknowledging a latched, cleared alarm removes it.
* Audio pause (c4 AUDIO PAUSED): silences every current alarm for a limited time; a new
  medium/high condition or an escalation to high ends the pause (ISO 7396-1 rule cited in c4).
* Escalation when unanswered (c13): a medium physiological alarm nobody acknowledged within
  ``escalate_unanswered_s`` escalates its *signal* (SIGNAL_ESCALATED: the high tone, the
  overview); its priority and the record's stay medium (issue 11 item 10).  A repeat-NIBP
  request still unanswered after 2 min is prompted again.
* Profile changes (H.36): every changed tier or setting is recorded with who, when, why and
  old -> new, as PROFILE_CHANGED events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from console.domain import wrong_patient
from console.domain.alarm_episode import AlarmEpisode
from console.domain.alarm_events import (
    REPEAT_PROMPT_AGAIN_S,
    AlarmEvent,
    AlarmEventKind,
    RepeatRequest,
    TechnicalAlarmKind,
)
from console.domain.alarm_profiles import ThresholdProfile, diff_profiles
from console.domain.alarm_rules import (
    METRIC_LABELS,
    PLAUSIBLE_RANGE,
    AlarmCategory,
    AlarmPolicy,
    Baseline,
    Direction,
    LimitError,
    LimitRule,
    Priority,
    format_value,
)
from devices.model import (
    NIBP_METRICS,
    DeviceState,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)

log = logging.getLogger("alarms")

#: Device flags that mean "the device says this value is not trustworthy" (b3: reading flagged
#: invalid/questionable -> low-priority information).  "Not updated", "measuring" and "old"
#: only say that no new value exists and raise nothing.
QUALITY_FLAGS: frozenset[ReadingFlag] = frozenset(
    {
        ReadingFlag.INVALID,
        ReadingFlag.QUESTIONABLE,
        ReadingFlag.UNDER_RANGE,
        ReadingFlag.OVER_RANGE,
        ReadingFlag.NOT_CALIBRATED,
        ReadingFlag.DISCONTINUITY,
        ReadingFlag.SENSOR_OFF,
        ReadingFlag.DEMO,
    }
)

#: Where a technical condition is shown when the screen groups alarms by parameter tile.
_TECHNICAL_TILE: dict[TechnicalAlarmKind, Metric | None] = {
    TechnicalAlarmKind.COMM_LOST: None,
    TechnicalAlarmKind.SENSOR_OFF: Metric.SPO2,
    TechnicalAlarmKind.NIBP_OVERDUE: Metric.NIBP_SYS,
    TechnicalAlarmKind.INVALID_VALUE: None,  # the flagged metric itself, set per condition
    TechnicalAlarmKind.AUDIO_UNAVAILABLE: None,
    TechnicalAlarmKind.STORAGE_UNAVAILABLE: None,
    TechnicalAlarmKind.WRONG_PATIENT: None,
    TechnicalAlarmKind.NO_HR_SOURCE: Metric.HR,
}


@dataclass(frozen=True, slots=True)
class _ConsoleFault:
    """How a fault of the console itself is shown while it lasts."""

    priority: Priority
    message: str  # with ``{why}``
    end_message: str
    default_reason: str


_CONSOLE_FAULTS: dict[TechnicalAlarmKind, _ConsoleFault] = {
    TechnicalAlarmKind.AUDIO_UNAVAILABLE: _ConsoleFault(
        Priority.HIGH,
        "ALARM AUDIO UNAVAILABLE: {why}; watch the screen",
        "Alarm audio available",
        "no audio output",
    ),
    TechnicalAlarmKind.STORAGE_UNAVAILABLE: _ConsoleFault(
        Priority.MEDIUM,
        "SESSION NOT RECORDED: {why}; data are held and written when it returns",
        "Session recording again",
        "database unavailable",
    ),
}

#: Longest audio pause a user may ask for (s); mirrors the largest configurable default.
MAX_AUDIO_PAUSE_S = 900.0

#: Pre-dose HR samples averaged into the baseline HR.
PRE_DOSE_HR_SAMPLES = 30

#: A repeat NIBP *started* within the confirm window completes up to one cuff measurement later
#: (about 30 s); such a reading still confirms.  It also keeps a monitor whose automatic cycle
#: equals the window (5 min) confirming on its next regular reading.
CONFIRM_TOLERANCE_S = 30.0

AUDIO_KEY = "audio"
SIGNAL_ESCALATED = AlarmEventKind.SIGNAL_ESCALATED
PROMPT_AGAIN = timedelta(seconds=REPEAT_PROMPT_AGAIN_S)
BASELINE_KEY = "baseline"


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
        infusion_running: as last told by :meth:`AlarmEngine.set_infusion_running`.
    """

    at: datetime | None
    alarms: tuple[AlarmStatus, ...]
    audio: AudioStatus
    repeat_requests: tuple[RepeatRequest, ...]
    profile: ThresholdProfile
    baseline: Baseline | None
    infusion_running: bool


@dataclass(frozen=True, slots=True)
class _Condition:
    """A condition as judged now (present), before it meets the alarm's history."""

    key: str
    category: AlarmCategory
    priority: Priority
    value: float | None
    limit: float | None
    message: str
    condition_start: datetime
    metric: Metric | None = None
    direction: Direction | None = None
    technical_kind: TechnicalAlarmKind | None = None
    tile_metric: Metric | None = None


@dataclass(slots=True)
class _Alarm:
    """Mutable state of one listed alarm."""

    cond: _Condition
    priority: Priority
    onset: datetime
    condition_active: bool = True
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    hold_high: bool = False
    escalated_unanswered: bool = False
    medium_since: datetime | None = None
    episode: AlarmEpisode | None = None


@dataclass(slots=True)
class _ContinuousTrack:
    """Violation start per tier of one continuous metric and side."""

    since: dict[LimitRule, datetime] = field(default_factory=dict)
    last_value: float | None = None
    last_at: datetime | None = None


@dataclass(slots=True)
class _NibpTrack:
    """Which tiers the previous NIBP reading violated, for confirm-by-repeat."""

    last_violated: frozenset[str] = frozenset()
    last_at: datetime | None = None


@dataclass(slots=True)
class _Flagged:
    """A metric whose latest reading the device flagged."""

    since: datetime
    flags: tuple[ReadingFlag, ...]


class AlarmEngine:
    """Alarm state of one chair, driven by readings, device events, user actions and ticks.

    Every method that changes state returns the :class:`AlarmEvent` s it produced, in order.
    ``now`` values are clamped to never run backwards, because readings (timestamped on the
    runner thread) and ticks (from a timer) can arrive slightly out of order.

    Args:
        profile: thresholds and timings; a bare :class:`AlarmPolicy` gets default timings.
        nibp_interval_s: the monitor's automatic NIBP cycle, for NIBP overdue (b3).
        started_at: when monitoring began; None means "at the first call".
    """

    def __init__(
        self,
        profile: ThresholdProfile | AlarmPolicy | None = None,
        *,
        nibp_interval_s: float = 300.0,
        started_at: datetime | None = None,
    ) -> None:
        if profile is None:
            profile = ThresholdProfile()
        elif isinstance(profile, AlarmPolicy):
            profile = ThresholdProfile(policy=profile)
        self._profile: ThresholdProfile = profile
        self._check_interval(nibp_interval_s)
        self._nibp_interval_s = float(nibp_interval_s)
        self._now: datetime | None = started_at
        self._started_at: datetime | None = started_at
        self._out: list[AlarmEvent] = []
        self._alarms: dict[str, _Alarm] = {}
        self._continuous: dict[str, _ContinuousTrack] = {}
        self._nibp: dict[str, _NibpTrack] = {}
        self._repeats: dict[str, RepeatRequest] = {}
        self._flagged: dict[Metric, _Flagged] = {}
        self._spo2_invalid_since: datetime | None = None
        self._sensor_off_event_at: datetime | None = None
        self._wrong_patient = wrong_patient.WrongPatientWatch()
        #: False for a monitor with no cuff (a pulse oximeter): "NIBP overdue" would be noise.
        self.nibp_expected = True
        #: Longest silence a healthy link shows (a gateway's push interval, x2); set by the chair.
        self.link_gap_s = 0.0
        self._port_gone = False  # DISCONNECTED seen, no data since: comm lost at once (issue 12)
        #: The heart-rate source (HR, PR judged as HR, or None) and since when there has been
        #: none, as the pipeline's console.domain.heart_rate_source decides per batch.
        self.hr_source: Metric | None = Metric.HR
        self.hr_missing_since: datetime | None = None
        #: Faults of the console itself (no sound, no record): kind -> (reason, since).
        self._console_faults: dict[TechnicalAlarmKind, tuple[str, datetime]] = {}
        self._last_data_at: datetime | None = None
        self._last_nibp_at: datetime | None = None
        self._link_state: DeviceState | None = None
        self._infusion_running = False
        self._infusion_ever_started = False
        self._infusion_started_at: datetime | None = None
        self._infusion_stopped_at: datetime | None = None
        self._pre_dose: dict[Metric, list[float]] = {}
        self._baseline: Baseline | None = None
        self._pause_until: datetime | None = None
        self._paused_by: str | None = None

    # -- queries ----------------------------------------------------------------------------
    @property
    def profile(self) -> ThresholdProfile:
        """The threshold profile in force."""
        return self._profile

    @property
    def policy(self) -> AlarmPolicy:
        """The limit tiers in force."""
        return self._profile.policy

    @property
    def baseline(self) -> Baseline | None:
        """The pre-dose baseline, once set or derived."""
        return self._baseline

    @property
    def now(self) -> datetime | None:
        """The latest time the engine has seen (None before the first call)."""
        return self._now

    @property
    def infusion_running(self) -> bool:
        """As last told by :meth:`set_infusion_running`."""
        return self._infusion_running

    @property
    def nibp_interval_s(self) -> float:
        """The NIBP cycle used for the overdue timer."""
        return self._nibp_interval_s

    def active_alarms(self) -> tuple[AlarmStatus, ...]:
        """Listed alarms (active and latched), most urgent first, then oldest first."""
        paused = self._pause_until
        out = [
            AlarmStatus(
                key=key,
                category=a.cond.category,
                priority=a.priority,
                onset=a.onset,
                condition_start=a.cond.condition_start,
                message=a.cond.message,
                value=a.cond.value,
                limit=a.cond.limit,
                metric=a.cond.metric,
                direction=a.cond.direction,
                technical_kind=a.cond.technical_kind,
                tile_metric=a.cond.tile_metric,
                condition_active=a.condition_active,
                latched=not a.condition_active,
                acknowledged_by=a.acknowledged_by,
                acknowledged_at=a.acknowledged_at,
                audio_paused_until=paused if a.condition_active else None,
                escalated_unanswered=a.escalated_unanswered,
                episode=a.episode,
            )
            for key, a in self._alarms.items()
        ]
        return tuple(sorted(out, key=lambda s: (-int(s.priority), s.onset, s.key)))

    def audio(self) -> AudioStatus:
        """What the alarm sound should be: the highest unacknowledged, unpaused priority.

        Latched alarms whose condition ended are visual only (c5) and never sound.
        """
        wanting = [
            Priority.HIGH if a.escalated_unanswered else a.priority  # the escalated signal
            for a in self._alarms.values()
            if a.condition_active and a.acknowledged_by is None
        ]
        top = max(wanting) if wanting else None
        if self._pause_until is not None:
            return AudioStatus(None, self._pause_until, self._paused_by, top)
        return AudioStatus(top)

    def pending_repeat_requests(self) -> tuple[RepeatRequest, ...]:
        """Repeat-NIBP requests not yet answered, oldest first."""
        return tuple(sorted(self._repeats.values(), key=lambda r: r.requested_at))

    def snapshot(self) -> AlarmSnapshot:
        """Everything queryable, as one immutable value."""
        return AlarmSnapshot(
            self._now,
            self.active_alarms(),
            self.audio(),
            self.pending_repeat_requests(),
            self._profile,
            self._baseline,
            self._infusion_running,
        )

    # -- inputs from the device -------------------------------------------------------------
    def process_readings(self, readings: Iterable[Reading], now: datetime) -> list[AlarmEvent]:
        """Judge readings (in arrival order, each at its ``received_at``), then run timers."""
        self._begin(now, advance=False)
        for reading in readings:
            at = self._advance(reading.received_at)
            self._last_data_at = at
            self._port_gone = False
            if reading.usable:
                assert reading.value is not None
                pulse = reading.metric is Metric.PR and self.hr_source is Metric.PR
                self._on_usable(Metric.HR if pulse else reading.metric, reading.value, at, pulse)
            else:
                self._on_unusable(reading, at)
            self._judge_technical(at)
        return self._finish(now)

    def on_technical_event(self, event: TechnicalEvent, now: datetime) -> list[AlarmEvent]:
        """A device/link event; SENSOR_OFF raises the sensor-off condition at once (b3)."""
        at = self._begin(now)
        if event.kind is TechnicalEventKind.SENSOR_OFF and self._sensor_off_event_at is None:
            self._sensor_off_event_at = at
        if event.kind is TechnicalEventKind.WRONG_PATIENT:
            self._wrong_patient.note(at)
        return self._finish(now)

    def on_link_state(self, state: DeviceState, now: datetime) -> list[AlarmEvent]:
        """The link's state; STOPPED (a deliberate stop) ends communication-lost watching."""
        self._begin(now)
        self._link_state = state
        self._port_gone = self._port_gone or state is DeviceState.DISCONNECTED
        return self._finish(now)

    def tick(self, now: datetime) -> list[AlarmEvent]:
        """Run the timers: delays, escalation, pause expiry, repeat expiry, technical alarms."""
        self._begin(now)
        return self._finish(now)

    def set_audio_available(
        self, available: bool, now: datetime, reason: str = ""
    ) -> list[AlarmEvent]:
        """The console can (not) sound alarms (clinical.md b3 "Alarm audio unavailable").

        An alarm system that cannot make a sound must be seen to be unable to: while audio is
        unavailable a HIGH technical alarm stays listed (visual only, since it cannot sound).
        """
        return self._set_console_fault(TechnicalAlarmKind.AUDIO_UNAVAILABLE, available, now, reason)

    def set_storage_available(
        self, available: bool, now: datetime, reason: str = ""
    ) -> list[AlarmEvent]:
        """The session record can (not) be written (clinical.md I: data integrity).

        Monitoring and alarming go on regardless; the nurse must know the record is not being
        kept, so a MEDIUM technical alarm stays listed while it lasts.
        """
        return self._set_console_fault(
            TechnicalAlarmKind.STORAGE_UNAVAILABLE, available, now, reason
        )

    def _set_console_fault(
        self, kind: TechnicalAlarmKind, available: bool, now: datetime, reason: str
    ) -> list[AlarmEvent]:
        self._begin(now, advance=False)
        if available:
            self._console_faults.pop(kind, None)
        else:
            self._console_faults[kind] = (reason or _CONSOLE_FAULTS[kind].default_reason, now)
        return self._finish(now)

    # -- inputs from the session ------------------------------------------------------------
    def set_infusion_running(self, running: bool, now: datetime) -> list[AlarmEvent]:
        """Infusion started or stopped (drives comm-lost escalation and NIBP overdue, b3).

        The first start fixes the pre-dose baseline from the NIBP readings seen so far unless
        one was set explicitly.
        """
        at = self._begin(now)
        if running and not self._infusion_running:
            self._infusion_running = True
            self._infusion_started_at = at
            if not self._infusion_ever_started:
                self._infusion_ever_started = True
                if self._baseline is None:
                    self._derive_baseline(at)
        elif not running and self._infusion_running:
            self._infusion_running = False
            self._infusion_stopped_at = at
        return self._finish(now)

    def set_nibp_interval(self, interval_s: float, now: datetime) -> list[AlarmEvent]:
        """The monitor's NIBP cycle changed (the overdue timer follows it)."""
        self._check_interval(interval_s)
        self._begin(now)
        self._nibp_interval_s = float(interval_s)
        return self._finish(now)

    def set_baseline(
        self,
        sbp: float | None,
        dbp: float | None,
        hr: float | None,
        at: datetime,
        *,
        actor: str | None = None,
    ) -> list[AlarmEvent]:
        """Set the pre-dose baseline explicitly (it then wins over the derived one).

        Raises:
            LimitError: a value outside the physiological range.
        """
        for metric, value in ((Metric.NIBP_SYS, sbp), (Metric.NIBP_DIA, dbp), (Metric.HR, hr)):
            if value is not None:
                _check_plausible(metric, value)
        now = self._begin(at)
        source = f"set by {actor}" if actor else "set"
        self._set_baseline(Baseline(sbp, dbp, hr, now, source), now, actor)
        return self._finish(at)

    def close_session(self, now: datetime, reason: str) -> list[AlarmEvent]:
        """The session ended: end every listed alarm (latched or not), drop repeat requests,
        the audio pause, baseline, tracks and infusion state (issue 11 item 2).

        Timers do not run here: conditions of the monitor or the console that still hold come
        back at the next :meth:`tick`, in whichever record is current by then.
        """
        at = self._begin(now)
        for key, alarm in list(self._alarms.items()):
            del self._alarms[key]
            self._emit(AlarmEventKind.END, alarm, at, f"{alarm.cond.message}: closed, {reason}")
        for key, req in list(self._repeats.items()):
            text = f"Repeat NIBP request closed, {reason}"
            kind = AlarmEventKind.REPEAT_EXPIRED
            self._out.append(AlarmEvent(kind, key, req.metric, None, None, None, None, at, text))
        self._repeats.clear()
        self._end_pause(at, reason, None)
        for state in (self._continuous, self._nibp, self._pre_dose):
            state.clear()
        self._baseline = self._last_nibp_at = None
        self._infusion_running = self._infusion_ever_started = False
        self._infusion_started_at = self._infusion_stopped_at = None
        out, self._out = self._out, []
        return out

    # -- inputs from users ------------------------------------------------------------------
    def acknowledge(self, key: str, user: str, now: datetime) -> list[AlarmEvent]:
        """Acknowledge one alarm (c4).

        An active alarm is marked acknowledged (its sound stops; it stays listed until its
        condition ends); a latched alarm whose condition already ended is removed.  Unknown
        keys are ignored: the alarm may have ended while the user was clicking.
        """
        at = self._begin(now)
        alarm = self._alarms.get(key)
        if alarm is None:
            log.debug("acknowledge of %s by %s: no such alarm", key, user)
            return self._finish(now)
        if not alarm.condition_active:
            self._emit(AlarmEventKind.ACKNOWLEDGED, alarm, at, f"{alarm.cond.message}", user)
            del self._alarms[key]
            self._emit(
                AlarmEventKind.END,
                alarm,
                at,
                f"{_name(alarm.cond)} latched alarm cleared by {user} (condition had ended)",
                user,
            )
            return self._finish(now)
        if alarm.acknowledged_by is None:
            alarm.acknowledged_by, alarm.acknowledged_at = user, at
            alarm.hold_high = False
            alarm.escalated_unanswered = False
            self._emit(AlarmEventKind.ACKNOWLEDGED, alarm, at, alarm.cond.message, user)
            self._reprioritise(alarm, at, note="acknowledged")
        return self._finish(now)

    def acknowledge_all(self, user: str, now: datetime) -> list[AlarmEvent]:
        """Acknowledge every listed alarm."""
        events: list[AlarmEvent] = []
        for key in list(self._alarms):
            events += self.acknowledge(key, user, now)
        return events

    def pause_audio(
        self, user: str, now: datetime, duration_s: float | None = None
    ) -> list[AlarmEvent]:
        """Silence alarm audio for every current alarm for a limited time (c4 AUDIO PAUSED).

        Visual signals continue.  A new medium/high condition or an escalation to high ends the
        pause early; :meth:`tick` ends it when it expires.

        Raises:
            LimitError: a duration outside 1 s to :data:`MAX_AUDIO_PAUSE_S`.
        """
        seconds = self._profile.timings.audio_pause_s if duration_s is None else duration_s
        if not 1 <= seconds <= MAX_AUDIO_PAUSE_S:
            raise LimitError(f"audio pause {seconds:g} s must be 1-{MAX_AUDIO_PAUSE_S:g} s")
        at = self._begin(now)
        audio = self.audio()
        silenced = audio.silenced_priority or audio.priority
        self._pause_until = at + timedelta(seconds=seconds)
        self._paused_by = user
        self._out.append(
            AlarmEvent(
                AlarmEventKind.AUDIO_PAUSED,
                AUDIO_KEY,
                None,
                None,
                silenced,
                float(seconds),
                None,
                at,
                f"Alarm audio paused for {_duration(seconds)} by {user}",
                actor=user,
            )
        )
        return self._finish(now)

    def resume_audio(self, user: str, now: datetime) -> list[AlarmEvent]:
        """End an audio pause early."""
        at = self._begin(now)
        self._end_pause(at, f"resumed by {user}", user)
        return self._finish(now)

    def change_profile(
        self, profile: ThresholdProfile, *, actor: str, reason: str, now: datetime
    ) -> list[AlarmEvent]:
        """Put another profile in force and record every difference (H.36).

        Continuous conditions are re-judged at once against the newest value (a tier that is
        still violated keeps its start time, so a lowered limit does not restart the delay);
        an NIBP condition is re-judged at the next cuff reading.

        Raises:
            LimitError: no actor or no reason given.
        """
        if not actor.strip():
            raise LimitError("a limit change must name who makes it")
        if not reason.strip():
            raise LimitError("a limit change must say why")
        at = self._begin(now)
        changes = diff_profiles(self._profile, profile, actor=actor, reason=reason, at=at)
        self._profile = profile
        self._rejudge_tracks(at)
        for change in changes:
            self._out.append(
                AlarmEvent(
                    AlarmEventKind.PROFILE_CHANGED,
                    f"profile:{change.parameter}",
                    None,
                    None,
                    None,
                    None,
                    None,
                    at,
                    change.describe(),
                    actor=actor,
                    change=change,
                )
            )
        return self._finish(now)

    def override_limit(
        self,
        metric: Metric,
        direction: Direction,
        priority: Priority,
        limit: float,
        *,
        actor: str,
        reason: str,
        now: datetime,
        unit: str | None = None,
        delay_s: float | None = None,
    ) -> list[AlarmEvent]:
        """Change one tier for this patient during the session (validated, recorded).

        Raises:
            LimitError: the limit is refused (message names the parameter); nothing changes.
        """
        name = self._profile.name
        if "patient" not in name:
            name = f"{name} + patient overrides"
        profile = self._profile.with_limit(
            metric, direction, priority, limit, unit=unit, delay_s=delay_s, name=name
        )
        return self.change_profile(profile, actor=actor, reason=reason, now=now)

    # -- readings ---------------------------------------------------------------------------
    def _on_usable(self, metric: Metric, value: float, at: datetime, pulse: bool = False) -> None:
        if not pulse:  # a pulse judged as HR says nothing about the ECG's flag
            self._flagged.pop(metric, None)
        if metric is Metric.SPO2:
            self._spo2_invalid_since = None
            self._sensor_off_event_at = None
        if metric in NIBP_METRICS:
            self._last_nibp_at = at
            self._answer_repeats(at)
            if not self._infusion_ever_started and self._baseline is None:
                self._pre_dose.setdefault(metric, []).append(value)
            for direction in Direction:
                self._judge_nibp(metric, direction, value, at)
            return
        if metric is Metric.HR and not self._infusion_ever_started:
            pre = self._pre_dose.setdefault(metric, [])
            pre.append(value)
            del pre[:-PRE_DOSE_HR_SAMPLES]
        for direction in Direction:
            key = _key(metric, direction)
            tiers = self._tiers(metric, direction)
            if not tiers and key not in self._continuous:
                continue
            track = self._continuous.setdefault(key, _ContinuousTrack())
            for rule in tiers:
                if rule.violated_by(value):
                    track.since.setdefault(rule, at)
                else:
                    track.since.pop(rule, None)
            for rule in [r for r in track.since if r not in tiers]:
                del track.since[rule]  # the profile changed under it
            track.last_value, track.last_at = value, at
            self._judge_continuous(metric, direction, track, at)

    def _rejudge_tracks(self, at: datetime) -> None:
        """Re-map continuous violation starts onto the new tiers after a profile change.

        A tier the newest value violates keeps the earliest start the side already had (the
        value has been abnormal since then), or starts now; the timers then re-judge every
        condition at once against the newest value.
        """
        for key, track in self._continuous.items():
            if track.last_value is None:
                continue
            metric, direction = _split_key(key)
            earliest = min(track.since.values(), default=at)
            track.since = {
                rule: earliest
                for rule in self._tiers(metric, direction)
                if rule.violated_by(track.last_value)
            }

    def _on_unusable(self, reading: Reading, at: datetime) -> None:
        # Only a *number* the device flagged is an "invalid value" (b3); a marker without a
        # number (no measurement yet, probe off) says there is no value, not a doubtful one.
        quality = tuple(f for f in reading.flags if f in QUALITY_FLAGS)
        if quality and reading.value is not None:
            previous = self._flagged.get(reading.metric)
            self._flagged[reading.metric] = _Flagged(previous.since if previous else at, quality)
        if reading.metric is Metric.SPO2 and self._spo2_invalid_since is None:
            self._spo2_invalid_since = at

    def _tiers(self, metric: Metric, direction: Direction) -> list[LimitRule]:
        tiers = self._profile.policy.rules_for(metric, direction)
        if direction is Direction.HIGH and self._baseline is not None:
            for rule in self._profile.baseline_rules:
                base = self._baseline.value_of(rule.metric)
                if rule.metric is metric and base is not None:
                    tiers.append(rule.rule_for(base))
        return tiers

    def _judge_continuous(
        self, metric: Metric, direction: Direction, track: _ContinuousTrack, now: datetime
    ) -> None:
        key = _key(metric, direction)
        if track.last_at is None or track.last_value is None:
            return
        if now - track.last_at > timedelta(seconds=self._profile.timings.comm_lost_after_s):
            return  # stale: no new evidence either way (communication lost covers it)
        tiers = self._tiers(metric, direction)
        violated = {r: s for r, s in track.since.items() if r in tiers}
        if not violated:
            value = track.last_value
            self._end(
                key,
                now,
                f"{METRIC_LABELS[metric]} {format_value(metric, value)} back within limits",
                value,
            )
            return
        alarm = self._alarms.get(key)
        active = alarm is not None and alarm.condition_active
        declared = [r for r, s in violated.items() if now - s >= timedelta(seconds=r.delay_s)]
        candidates = declared or (list(violated) if active else [])
        if not candidates:
            return  # still within the condition delay
        rule = max(candidates, key=lambda r: (r.priority, r.extremeness()))
        value = track.last_value
        self._present(
            _Condition(
                key,
                AlarmCategory.PHYSIOLOGICAL,
                rule.priority,
                value,
                rule.limit,
                f"{rule.label} {format_value(metric, value)} {rule.describe()}",
                min(violated.values()),
                metric=metric,
                direction=direction,
                tile_metric=metric,
            ),
            now,
        )

    def _judge_nibp(self, metric: Metric, direction: Direction, value: float, at: datetime) -> None:
        key = _key(metric, direction)
        tiers = self._tiers(metric, direction)
        track = self._nibp.setdefault(key, _NibpTrack())
        window = timedelta(
            seconds=self._profile.timings.nibp_confirm_window_s + CONFIRM_TOLERANCE_S
        )
        within = track.last_at is not None and at - track.last_at <= window
        confirmable = track.last_violated if within else frozenset()
        violated = [r for r in tiers if r.violated_by(value)]
        track.last_violated = frozenset(r.tier_id for r in violated)
        track.last_at = at

        def effective(rule: LimitRule) -> Priority:
            if rule.confirm and rule.tier_id in confirmable:
                return rule.priority_when_confirmed
            return rule.priority

        label = METRIC_LABELS[metric]
        if not violated:
            self._end(key, at, f"{label} {format_value(metric, value)} back within limits", value)
            return
        rule = max(violated, key=lambda r: (effective(r), r.extremeness()))
        priority = effective(rule)
        confirmed = rule.confirm and rule.tier_id in confirmable
        message = f"{label} {format_value(metric, value)} {rule.describe()}"
        if confirmed:
            message += ", confirmed by repeat"
        self._present(
            _Condition(
                key,
                AlarmCategory.PHYSIOLOGICAL,
                priority,
                value,
                rule.limit,
                message,
                at,
                metric=metric,
                direction=direction,
                tile_metric=metric,
            ),
            at,
        )
        unconfirmed = [
            r
            for r in violated
            if r.confirm
            and r.tier_id not in confirmable
            and (r is rule or r.priority_when_confirmed > priority)
        ]
        if unconfirmed and key not in self._repeats:
            asked = max(unconfirmed, key=lambda r: (r.priority_when_confirmed, r.extremeness()))
            request = RepeatRequest(
                key,
                metric,
                at,
                at + timedelta(seconds=self._profile.timings.nibp_confirm_window_s),
                f"Repeat NIBP now: {label} {format_value(metric, value)} {asked.describe()} "
                "needs confirmation",
            )
            self._repeats[key] = request
            self._out.append(
                AlarmEvent(
                    AlarmEventKind.REPEAT_REQUESTED,
                    key,
                    metric,
                    direction,
                    self._alarms[key].priority,
                    value,
                    asked.limit,
                    at,
                    request.message,
                )
            )

    def _answer_repeats(self, at: datetime) -> None:
        """A valid NIBP reading answers every repeat requested before it."""
        late_after = timedelta(seconds=CONFIRM_TOLERANCE_S)
        for key, request in list(self._repeats.items()):
            if request.requested_at < at:
                if at > request.due_by + late_after:
                    self._expire_repeat(key, at)
                    continue
                del self._repeats[key]
                self._out.append(
                    AlarmEvent(
                        AlarmEventKind.REPEAT_DONE,
                        key,
                        request.metric,
                        None,
                        None,
                        None,
                        None,
                        at,
                        f"Repeat NIBP done ({METRIC_LABELS[request.metric]})",
                    )
                )

    def _prompt_repeat_again(self, key: str, request: RepeatRequest, at: datetime) -> None:
        again = f"Repeat NIBP still needed (asked {_duration(REPEAT_PROMPT_AGAIN_S)} ago): "
        message = again + request.message.removeprefix("Repeat NIBP now: ")
        self._repeats[key] = replace(request, message=message, prompted_again=True)
        alarm = self._alarms.get(key)
        prio, kind = None if alarm is None else alarm.priority, AlarmEventKind.REPEAT_REQUESTED
        self._out.append(AlarmEvent(kind, key, request.metric, None, prio, None, None, at, message))

    def _expire_repeat(self, key: str, at: datetime) -> None:
        request = self._repeats.pop(key)
        window = _duration(self._profile.timings.nibp_confirm_window_s)
        self._out.append(
            AlarmEvent(
                AlarmEventKind.REPEAT_EXPIRED,
                key,
                request.metric,
                None,
                None,
                None,
                None,
                at,
                f"Repeat NIBP not received within {window}",
            )
        )

    # -- baseline ---------------------------------------------------------------------------
    def _derive_baseline(self, at: datetime) -> None:
        """Baseline from the last two pre-dose NIBP readings (b4: 2 readings before dosing)."""
        sbp = _mean_of_last(self._pre_dose.get(Metric.NIBP_SYS, []), 2)
        dbp = _mean_of_last(self._pre_dose.get(Metric.NIBP_DIA, []), 2)
        hr = _mean_of_last(self._pre_dose.get(Metric.HR, []), PRE_DOSE_HR_SAMPLES)
        if sbp is None and dbp is None:
            log.info("infusion started without a pre-dose NIBP: no baseline-relative limits")
            return
        count = min(2, len(self._pre_dose.get(Metric.NIBP_SYS, [])))
        source = f"derived from {count} pre-dose NIBP reading{'s' if count != 1 else ''}"
        self._set_baseline(Baseline(sbp, dbp, hr, at, source), at, None)

    def _set_baseline(self, baseline: Baseline, at: datetime, actor: str | None) -> None:
        self._baseline = baseline
        self._out.append(
            AlarmEvent(
                AlarmEventKind.BASELINE_SET,
                BASELINE_KEY,
                None,
                None,
                None,
                baseline.sbp,
                None,
                at,
                f"Pre-dose baseline {baseline.describe()} ({baseline.source})",
                actor=actor,
            )
        )

    # -- technical conditions -----------------------------------------------------------------
    def _judge_technical(self, now: datetime) -> None:
        timings = self._profile.timings
        # Communication lost (b3): silence since the last reading of any kind.
        origin = self._last_data_at or self._started_at
        comm: _Condition | None = None
        if origin is not None and self._link_state is not DeviceState.STOPPED:
            silence = (now - origin).total_seconds()
            if silence >= max(timings.comm_lost_after_s, self.link_gap_s) or self._port_gone:
                high = self._infusion_running and silence >= timings.comm_lost_escalate_s
                link = (
                    f", link {self._link_state.value}"
                    if self._link_state in (DeviceState.QUIET, DeviceState.DISCONNECTED)
                    else ""
                )
                comm = _technical(
                    TechnicalAlarmKind.COMM_LOST,
                    Priority.HIGH if high else Priority.MEDIUM,
                    f"Monitor communication lost: no data for {_duration(silence)}{link}",
                    origin,
                    value=round(silence, 1),
                )
        self._set(TechnicalAlarmKind.COMM_LOST.value, comm, now, "Monitor communication restored")
        no_hr, missing = None, self.hr_missing_since
        if missing is not None and comm is None:
            text = "No heart rate: ECG HR and SpO2 pulse rate both absent or invalid"
            no_hr = _technical(TechnicalAlarmKind.NO_HR_SOURCE, Priority.MEDIUM, text, missing)
        self._set(TechnicalAlarmKind.NO_HR_SOURCE.value, no_hr, now, "Heart rate source back")

        # SpO2 sensor off / no signal (b3): the device's event, or invalid SpO2 for a while.
        starts = []
        if self._sensor_off_event_at is not None:
            starts.append(self._sensor_off_event_at)
        if self._spo2_invalid_since is not None and now - self._spo2_invalid_since >= timedelta(
            seconds=timings.sensor_off_after_s
        ):
            starts.append(self._spo2_invalid_since)
        sensor: _Condition | None = None
        if starts:
            sensor = _technical(
                TechnicalAlarmKind.SENSOR_OFF,
                Priority.MEDIUM,
                "SpO2 sensor off / no signal",
                min(starts),
                tile=Metric.SPO2,
            )
        self._set(TechnicalAlarmKind.SENSOR_OFF.value, sensor, now, "SpO2 signal back")
        wp_at, wp_kind = self._wrong_patient.active_since(now), TechnicalAlarmKind.WRONG_PATIENT
        wp = _technical(wp_kind, Priority.MEDIUM, wrong_patient.MESSAGE, wp_at) if wp_at else None
        self._set(wp_kind.value, wp, now, wrong_patient.END_MESSAGE)

        # NIBP overdue (b3): during the infusion and the first part of recovery.
        overdue: _Condition | None = None
        in_recovery = (
            self._infusion_stopped_at is not None
            and now - self._infusion_stopped_at
            <= timedelta(seconds=timings.nibp_overdue_recovery_s)
        )
        watching = self.nibp_expected and (self._infusion_running or in_recovery)
        reference = self._last_nibp_at or self._infusion_started_at
        if watching and reference is not None:
            due = reference + timedelta(
                seconds=self._nibp_interval_s + timings.nibp_overdue_grace_s
            )
            if now >= due:
                since = "no valid NIBP yet" if self._last_nibp_at is None else "last valid NIBP"
                overdue = _technical(
                    TechnicalAlarmKind.NIBP_OVERDUE,
                    Priority.MEDIUM,
                    f"NIBP overdue: {since} {_duration((now - reference).total_seconds())} ago "
                    f"(cycle {_duration(self._nibp_interval_s)})",
                    due,
                    tile=Metric.NIBP_SYS,
                )
        self._set(TechnicalAlarmKind.NIBP_OVERDUE.value, overdue, now, "NIBP reading received")

        # Faults of the console itself (b3 audio unavailable; I: record not written): listed at
        # their priority for as long as they last.
        for kind, fault in _CONSOLE_FAULTS.items():
            cond: _Condition | None = None
            if kind in self._console_faults:
                why, since_at = self._console_faults[kind]
                cond = _technical(kind, fault.priority, fault.message.format(why=why), since_at)
            self._set(kind.value, cond, now, fault.end_message)

        # Values the device flagged (b3): low-priority information per metric.
        flagged_keys = set()
        for metric, flagged in self._flagged.items():
            if metric is Metric.SPO2 and sensor is not None:
                continue  # sensor off says it better
            key = f"{TechnicalAlarmKind.INVALID_VALUE.value}:{metric.value}"
            flagged_keys.add(key)
            flags = ", ".join(f.value.replace("_", " ") for f in flagged.flags)
            self._set(
                key,
                _technical(
                    TechnicalAlarmKind.INVALID_VALUE,
                    Priority.LOW,
                    f"{METRIC_LABELS[metric]} value flagged by the monitor ({flags})",
                    flagged.since,
                    tile=metric,
                    key=key,
                ),
                now,
                "",
            )
        for key, alarm in list(self._alarms.items()):
            if (
                alarm.cond.technical_kind is TechnicalAlarmKind.INVALID_VALUE
                and key not in flagged_keys
            ):
                superseded = key.endswith(Metric.SPO2.value) and sensor is not None
                self._end(
                    key,
                    now,
                    "SpO2 flag now reported as sensor off"
                    if superseded
                    else f"{alarm.cond.message}: valid values again",
                )

    # -- timers -------------------------------------------------------------------------------
    def _run_timers(self, now: datetime) -> None:
        if self._pause_until is not None and now >= self._pause_until:
            self._end_pause(now, "pause expired", None)
        for key, track in list(self._continuous.items()):
            metric, direction = _split_key(key)
            self._judge_continuous(metric, direction, track, now)
        self._judge_technical(now)
        escalate_s = self._profile.timings.escalate_unanswered_s
        if escalate_s > 0:
            limit = timedelta(seconds=escalate_s)
            for alarm in list(self._alarms.values()):
                if (
                    alarm.cond.category is AlarmCategory.PHYSIOLOGICAL
                    and alarm.condition_active
                    and alarm.priority is Priority.MEDIUM
                    and alarm.acknowledged_by is None
                    and not alarm.escalated_unanswered
                    and alarm.medium_since is not None
                    and now - alarm.medium_since >= limit
                ):
                    # The signal escalates, not the priority (issue 11 item 10): an unconfirmed
                    # cuff reading must not be recorded as high because nobody answered.
                    alarm.escalated_unanswered = True
                    text = f"not acknowledged within {_duration(escalate_s)}: signal escalated"
                    self._emit(SIGNAL_ESCALATED, alarm, now, f"{alarm.cond.message} ({text})")
                    self._end_pause(now, f"unanswered: {alarm.cond.message}", None)
        for key, request in list(self._repeats.items()):
            if now > request.due_by + timedelta(seconds=CONFIRM_TOLERANCE_S):
                self._expire_repeat(key, now)
            elif not request.prompted_again and now >= request.requested_at + PROMPT_AGAIN:
                self._prompt_repeat_again(key, request, now)

    # -- alarm state transitions ----------------------------------------------------------------
    def _set(self, key: str, cond: _Condition | None, now: datetime, end_message: str) -> None:
        if cond is None:
            self._end(key, now, end_message)
        else:
            self._present(cond, now)

    def _present(self, cond: _Condition, now: datetime) -> None:
        """The condition ``cond.key`` is present now."""
        alarm = self._alarms.get(cond.key)
        latch = self._profile.timings.latch_high and cond.category is AlarmCategory.PHYSIOLOGICAL
        if alarm is None:
            alarm = _Alarm(cond, cond.priority, now)
            alarm.episode = AlarmEpisode.begin(
                cond.priority, cond.value, cond.message, cond.direction
            )
            alarm.hold_high = latch and cond.priority is Priority.HIGH
            alarm.medium_since = now if cond.priority is Priority.MEDIUM else None
            self._alarms[cond.key] = alarm
            self._emit(AlarmEventKind.ONSET, alarm, now, cond.message)
            if cond.priority >= Priority.MEDIUM:
                self._end_pause(now, f"new alarm: {cond.message}", None)
            return
        assert alarm.episode is not None
        alarm.episode = alarm.episode.widen(cond.priority, cond.value, cond.message)
        if not alarm.condition_active:
            alarm.condition_active = True
            alarm.cond = cond
            self._emit(AlarmEventKind.RETRIGGERED, alarm, now, f"{cond.message} (again)")
            if cond.priority >= Priority.MEDIUM:
                self._end_pause(now, f"alarm again: {cond.message}", None)
            self._reprioritise(alarm, now)
            return
        # Keep the original condition start across tier changes.
        alarm.cond = _Condition(
            cond.key,
            cond.category,
            cond.priority,
            cond.value,
            cond.limit,
            cond.message,
            alarm.cond.condition_start,
            cond.metric,
            cond.direction,
            cond.technical_kind,
            cond.tile_metric,
        )
        self._reprioritise(alarm, now)

    def _end(self, key: str, now: datetime, message: str, value: float | None = None) -> None:
        """The condition ``key`` is absent now (``value``: the reading that ended it)."""
        alarm = self._alarms.get(key)
        if alarm is None or not alarm.condition_active:
            return
        message = message or f"{_name(alarm.cond)} ended"
        if alarm.hold_high:
            alarm.condition_active = False
            self._emit(
                AlarmEventKind.LATCHED,
                alarm,
                now,
                f"{message}; {_headline(alarm)} stays latched until acknowledged",
                value=value,
            )
            return
        del self._alarms[key]
        self._emit(AlarmEventKind.END, alarm, now, message, value=value)

    def _reprioritise(self, alarm: _Alarm, now: datetime, note: str = "") -> None:
        """Recompute the shown priority from the condition, the latch and escalation."""
        shown = alarm.cond.priority
        if alarm.hold_high:
            shown = Priority.HIGH
        old = alarm.priority
        if shown == old:
            return
        alarm.priority = shown
        alarm.escalated_unanswered = False  # a new priority: its own unanswered timer
        alarm.medium_since = now if shown is Priority.MEDIUM else None
        message = f"{alarm.cond.message} ({note})" if note else alarm.cond.message
        if shown > old:
            alarm.acknowledged_by = alarm.acknowledged_at = None  # worse: needs a new look
            if shown is Priority.HIGH:
                alarm.hold_high = (
                    self._profile.timings.latch_high
                    and alarm.cond.category is AlarmCategory.PHYSIOLOGICAL
                )
            self._emit(AlarmEventKind.ESCALATED, alarm, now, message)
            if shown is Priority.HIGH:
                self._end_pause(now, f"escalated to high: {alarm.cond.message}", None)
        else:
            self._emit(AlarmEventKind.DEESCALATED, alarm, now, message)

    def _end_pause(self, now: datetime, reason: str, actor: str | None) -> None:
        if self._pause_until is None:
            return
        self._pause_until = self._paused_by = None
        self._out.append(
            AlarmEvent(
                AlarmEventKind.AUDIO_RESUMED,
                AUDIO_KEY,
                None,
                None,
                self.audio().priority,
                None,
                None,
                now,
                f"Alarm audio on: {reason}",
                actor=actor,
            )
        )

    def _emit(
        self,
        kind: AlarmEventKind,
        alarm: _Alarm,
        at: datetime,
        message: str,
        actor: str | None = None,
        *,
        value: float | None = None,
    ) -> None:
        c = alarm.cond
        self._out.append(
            AlarmEvent(
                kind,
                c.key,
                c.metric,
                c.direction,
                alarm.priority,
                c.value if value is None else value,
                c.limit,
                at,
                message,
                actor=actor,
                category=c.category,
                technical_kind=c.technical_kind,
                condition_start=c.condition_start,
            )
        )

    # -- bookkeeping ----------------------------------------------------------------------------
    def _advance(self, at: datetime) -> datetime:
        if self._now is not None and at < self._now:
            return self._now
        self._now = at
        if self._started_at is None:
            self._started_at = at
        return at

    def _begin(self, now: datetime, *, advance: bool = True) -> datetime:
        if now.tzinfo is None:
            raise ValueError("alarm engine times must be timezone-aware (UTC)")
        if self._out:
            # A previous call raised half-way (a refused limit, a bug): its state changes are
            # made, so its events must still be published - with this call's, never dropped,
            # and the engine must keep working (one exception must not silence a chair).
            log.error(
                "alarm engine: %d events from an interrupted call carried over", len(self._out)
            )
        return self._advance(now) if advance else now

    def _finish(self, now: datetime) -> list[AlarmEvent]:
        self._run_timers(self._advance(now))
        out, self._out = self._out, []
        return out

    @staticmethod
    def _check_interval(interval_s: float) -> None:
        if not 30 <= interval_s <= 3600:
            raise LimitError(f"NIBP interval {interval_s:g} s must be 30-3600 s")


def _key(metric: Metric, direction: Direction) -> str:
    return f"{metric.value}:{direction.value}"


def _split_key(key: str) -> tuple[Metric, Direction]:
    metric, direction = key.split(":")
    return Metric(metric), Direction(direction)


def _technical(
    kind: TechnicalAlarmKind,
    priority: Priority,
    message: str,
    start: datetime,
    *,
    tile: Metric | None = None,
    key: str | None = None,
    value: float | None = None,
) -> _Condition:
    return _Condition(
        key or kind.value,
        AlarmCategory.TECHNICAL,
        priority,
        value,
        None,
        message,
        start,
        technical_kind=kind,
        tile_metric=tile if tile is not None else _TECHNICAL_TILE[kind],
    )


def _headline(alarm: _Alarm) -> str:
    """The condition that explains the alarm's priority (its episode's top when held)."""
    ep = alarm.episode
    return ep.headline(alarm.priority, alarm.cond.message) if ep else alarm.cond.message


def _name(cond: _Condition) -> str:
    if cond.metric is not None:
        return METRIC_LABELS[cond.metric]
    assert cond.technical_kind is not None
    return cond.technical_kind.value.replace("_", " ")


def _duration(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _mean_of_last(values: list[float], n: int) -> float | None:
    if not values:
        return None
    tail = values[-n:]
    return round(sum(tail) / len(tail), 1)


def _check_plausible(metric: Metric, value: float) -> None:
    lo, hi = PLAUSIBLE_RANGE[metric]
    if not lo <= value <= hi:
        raise LimitError(
            f"{METRIC_LABELS[metric]} baseline {value:g} is outside the physiological range "
            f"{lo:g}-{hi:g}"
        )


__all__ = ["AlarmEngine", "AlarmSnapshot", "AlarmStatus", "AudioStatus"]
