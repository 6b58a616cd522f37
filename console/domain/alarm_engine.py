"""The alarm engine of one chair: the one object the pipeline drives.

Pure Python with no clock of its own: every method takes ``now`` (timezone-aware UTC) and the
runner calls :meth:`AlarmEngine.tick` periodically, so condition delays, pause expiry,
escalation and the technical-alarm timers behave the same at x1 on the ward and at x300 in a
test.  Not thread-safe: :class:`~console.domain.pipeline.ChairPipeline` serialises calls.

The engine is a façade over parts with one job each:

* :mod:`console.domain.alarm_detection` — physiological conditions: limit tiers, condition
  delays (c7), NIBP confirm-by-repeat and baseline-relative limits (b2, b4);
* :mod:`console.domain.alarm_technical` — technical conditions of the monitor, the link and the
  console itself (b3), including the console faults;
* :mod:`console.domain.alarm_signalling` — what the nurse sees and hears: latching (c5),
  acknowledge and audio pause (c4), escalation when unanswered (c13), repeat-NIBP requests;
* :mod:`console.domain.alarm_status` — the immutable snapshots it returns (re-exported here);
* :mod:`console.domain.alarm_conditions` — the :class:`Condition` that passes from detection to
  signalling.

Readings the device flagged never raise, change or end a physiological alarm (I.39); they raise
a low-priority "invalid value" technical condition instead (b3).  Profile changes (H.36): every
changed tier or setting is recorded with who, when, why and old -> new, as PROFILE_CHANGED
events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from console.domain.alarm_conditions import InfusionState
from console.domain.alarm_detection import PhysiologicalDetector, check_plausible
from console.domain.alarm_events import (
    AlarmEvent,
    AlarmEventKind,
    RepeatRequest,
    TechnicalAlarmKind,
)
from console.domain.alarm_profiles import ThresholdProfile, diff_profiles
from console.domain.alarm_rules import AlarmPolicy, Baseline, Direction, LimitError, Priority
from console.domain.alarm_signalling import AlarmSignaller
from console.domain.alarm_status import AlarmSnapshot, AlarmStatus, AudioStatus
from console.domain.alarm_technical import TechnicalDetector, check_nibp_interval, storage_fault
from devices.model import DeviceState, Metric, Reading, TechnicalEvent

log = logging.getLogger("alarms")

#: Longest audio pause a user may ask for (s); mirrors the largest configurable default.
MAX_AUDIO_PAUSE_S = 900.0


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
        check_nibp_interval(nibp_interval_s)
        self._now: datetime | None = started_at
        self._started_at: datetime | None = started_at
        self._infusion = InfusionState()
        self._signals = AlarmSignaller(lambda: self._profile.timings)
        self._physio = PhysiologicalDetector(lambda: self._profile, self._infusion, self._signals)
        self._technical = TechnicalDetector(
            lambda: self._profile.timings, self._infusion, self._signals, nibp_interval_s
        )
        #: The heart-rate source (HR, PR judged as HR, or None), as the pipeline's
        #: console.domain.heart_rate_source decides per batch.
        self.hr_source: Metric | None = Metric.HR

    # -- settings the chair gives (forwarded to the technical detector) -----------------------
    @property
    def nibp_expected(self) -> bool:
        """False for a monitor with no cuff (a pulse oximeter): "NIBP overdue" would be noise."""
        return self._technical.nibp_expected

    @nibp_expected.setter
    def nibp_expected(self, value: bool) -> None:
        self._technical.nibp_expected = value

    @property
    def link_gap_s(self) -> float:
        """Longest silence a healthy link shows (a gateway's push interval, x2)."""
        return self._technical.link_gap_s

    @link_gap_s.setter
    def link_gap_s(self, value: float) -> None:
        self._technical.link_gap_s = value

    @property
    def hr_missing_since(self) -> datetime | None:
        """Since when there has been no heart-rate source (None: there is one)."""
        return self._technical.hr_missing_since

    @hr_missing_since.setter
    def hr_missing_since(self, value: datetime | None) -> None:
        self._technical.hr_missing_since = value

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
        return self._physio.baseline

    @property
    def now(self) -> datetime | None:
        """The latest time the engine has seen (None before the first call)."""
        return self._now

    @property
    def infusion_running(self) -> bool:
        """As last told by :meth:`set_infusion_running`."""
        return self._infusion.running

    @property
    def nibp_interval_s(self) -> float:
        """The NIBP cycle used for the overdue timer."""
        return self._technical.nibp_interval_s

    def active_alarms(self) -> tuple[AlarmStatus, ...]:
        """Listed alarms (active and latched), most urgent first, then oldest first."""
        return self._signals.active_alarms()

    def audio(self) -> AudioStatus:
        """What the alarm sound should be: the highest unacknowledged, unpaused priority.

        Latched alarms whose condition ended are visual only (c5) and never sound.
        """
        return self._signals.audio()

    def pending_repeat_requests(self) -> tuple[RepeatRequest, ...]:
        """Repeat-NIBP requests not yet answered, oldest first."""
        return self._signals.pending_repeat_requests()

    def snapshot(self) -> AlarmSnapshot:
        """Everything queryable, as one immutable value."""
        return AlarmSnapshot(
            self._now,
            self.active_alarms(),
            self.audio(),
            self.pending_repeat_requests(),
            self._profile,
            self.baseline,
            self._infusion.running,
        )

    # -- inputs from the device -------------------------------------------------------------
    def process_readings(self, readings: Iterable[Reading], now: datetime) -> list[AlarmEvent]:
        """Judge readings (in arrival order, each at its ``received_at``), then run timers."""
        self._begin(now, advance=False)
        for reading in readings:
            at = self._advance(reading.received_at)
            self._technical.note_data(at)
            if reading.usable:
                assert reading.value is not None
                pulse = reading.metric is Metric.PR and self.hr_source is Metric.PR
                metric = Metric.HR if pulse else reading.metric
                self._technical.note_usable(metric, at, pulse=pulse)
                self._physio.on_usable(metric, reading.value, at)
            else:
                self._technical.note_unusable(reading, at)
            self._judge_technical(at)
        return self._finish(now)

    def on_technical_event(self, event: TechnicalEvent, now: datetime) -> list[AlarmEvent]:
        """A device/link event; SENSOR_OFF raises the sensor-off condition at once (b3)."""
        at = self._begin(now)
        self._technical.note_event(event, at)
        return self._finish(now)

    def on_link_state(self, state: DeviceState, now: datetime) -> list[AlarmEvent]:
        """The link's state; STOPPED (a deliberate stop) ends communication-lost watching."""
        self._begin(now)
        self._technical.note_link_state(state)
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
        kept, so a MEDIUM technical alarm stays listed while it lasts.  A writer that keeps
        everything but falls behind (its ``reason`` starts with
        :data:`~console.domain.alarm_technical.RECORDING_BEHIND`) is a condition of its own,
        RECORDING FALLING BEHIND; one storage condition replaces the other.
        """
        self._begin(now, advance=False)
        kinds = (TechnicalAlarmKind.STORAGE_UNAVAILABLE, TechnicalAlarmKind.STORAGE_BEHIND)
        failing = None if available else storage_fault(reason)
        for kind in kinds:
            self._technical.set_console_fault(kind, kind is not failing, reason, now)
        return self._finish(now)

    def _set_console_fault(
        self, kind: TechnicalAlarmKind, available: bool, now: datetime, reason: str
    ) -> list[AlarmEvent]:
        self._begin(now, advance=False)
        self._technical.set_console_fault(kind, available, reason, now)
        return self._finish(now)

    # -- inputs from the session ------------------------------------------------------------
    def set_infusion_running(self, running: bool, now: datetime) -> list[AlarmEvent]:
        """Infusion started or stopped (drives comm-lost escalation and NIBP overdue, b3).

        The first start fixes the pre-dose baseline from the NIBP readings seen so far unless
        one was set explicitly.
        """
        at = self._begin(now)
        infusion = self._infusion
        if running and not infusion.running:
            infusion.running = True
            infusion.started_at = at
            if not infusion.ever_started:
                infusion.ever_started = True
                if self._physio.baseline is None:
                    self._physio.derive_baseline(at)
        elif not running and infusion.running:
            infusion.running = False
            infusion.stopped_at = at
        return self._finish(now)

    def set_nibp_interval(self, interval_s: float, now: datetime) -> list[AlarmEvent]:
        """The monitor's NIBP cycle changed (the overdue timer follows it)."""
        check_nibp_interval(interval_s)
        self._begin(now)
        self._technical.nibp_interval_s = float(interval_s)
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
                check_plausible(metric, value)
        now = self._begin(at)
        source = f"set by {actor}" if actor else "set"
        self._physio.set_baseline(Baseline(sbp, dbp, hr, now, source), now, actor)
        return self._finish(at)

    def close_session(self, now: datetime, reason: str) -> list[AlarmEvent]:
        """The session ended: end every listed alarm (latched or not), drop repeat requests,
        the audio pause, baseline, tracks and infusion state (issue 11 item 2).

        Timers do not run here: conditions of the monitor or the console that still hold come
        back at the next :meth:`tick`, in whichever record is current by then.
        """
        at = self._begin(now)
        self._signals.close(at, reason)
        self._physio.clear()
        self._technical.last_nibp_at = None
        self._infusion.reset()
        return self._signals.take()

    # -- inputs from users ------------------------------------------------------------------
    def acknowledge(self, key: str, user: str, now: datetime) -> list[AlarmEvent]:
        """Acknowledge one alarm (c4).

        An active alarm is marked acknowledged (its sound stops; it stays listed until its
        condition ends); a latched alarm whose condition already ended is removed.  Unknown
        keys are ignored: the alarm may have ended while the user was clicking.
        """
        at = self._begin(now)
        self._signals.acknowledge(key, user, at)
        return self._finish(now)

    def acknowledge_all(self, user: str, now: datetime) -> list[AlarmEvent]:
        """Acknowledge every listed alarm."""
        events: list[AlarmEvent] = []
        for key in list(self._signals.alarms):
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
        self._signals.pause(user, at, seconds)
        return self._finish(now)

    def resume_audio(self, user: str, now: datetime) -> list[AlarmEvent]:
        """End an audio pause early."""
        at = self._begin(now)
        self._signals.end_pause(at, f"resumed by {user}", user)
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
        self._physio.rejudge_tracks(at)
        for change in changes:
            self._signals.record(
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

    # -- timers and bookkeeping -----------------------------------------------------------------
    def _judge_technical(self, now: datetime) -> None:
        self._technical.judge(now, self._started_at)

    def _run_timers(self, now: datetime) -> None:
        """Every timer, in the engine's one order: the record shows a pause expiring before
        the conditions judged at the same instant, and escalation sees those conditions."""
        self._signals.expire_pause(now)
        self._physio.run_timers(now)
        self._judge_technical(now)
        self._signals.run_timers(now)

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
        if self._signals.pending:
            # A previous call raised half-way (a refused limit, a bug): its state changes are
            # made, so its events must still be published - with this call's, never dropped,
            # and the engine must keep working (one exception must not silence a chair).
            log.error(
                "alarm engine: %d events from an interrupted call carried over",
                self._signals.pending,
            )
        return self._advance(now) if advance else now

    def _finish(self, now: datetime) -> list[AlarmEvent]:
        self._run_timers(self._advance(now))
        return self._signals.take()


__all__ = ["AlarmEngine", "AlarmSnapshot", "AlarmStatus", "AudioStatus"]
