"""Technical alarm detection: the monitor, the link and the console itself (clinical.md b3).

Conditions judged here, each reported to
:class:`~console.domain.alarm_signalling.AlarmSignaller` as present or absent at every judgement:

* communication lost: no data for 10 s (or a gateway's push gap); high after 60 s while the
  infusion runs; at once when the port disappeared (issue 12);
* no heart-rate source: ECG HR and SpO2 pulse rate both absent or flagged;
* SpO2 sensor off / no signal: the device said so, or SpO2 has been invalid for a while;
* wrong patient: the gateway's patient does not match the session (console.domain.wrong_patient);
* NIBP overdue: cycle + grace without a valid cuff reading, during the infusion and the first
  part of recovery;
* faults of the console itself (:data:`CONSOLE_FAULTS`): no alarm audio, no session record,
  a session record falling behind;
* invalid value: a number the device flagged, low priority, per metric.

Pure Python, no clock, not thread-safe (the engine's caller serialises calls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.domain import wrong_patient
from console.domain.alarm_conditions import (
    Condition,
    InfusionState,
    duration_text,
    technical_condition,
)
from console.domain.alarm_events import TechnicalAlarmKind
from console.domain.alarm_profiles import AlarmTimings
from console.domain.alarm_rules import METRIC_LABELS, LimitError, Priority
from console.domain.alarm_signalling import AlarmSignaller
from devices.model import (
    NIBP_METRICS,
    DeviceState,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)

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


@dataclass(frozen=True, slots=True)
class ConsoleFault:
    """How a fault of the console itself is shown while it lasts."""

    priority: Priority
    message: str  # with ``{why}``
    end_message: str
    default_reason: str


#: Faults of the console itself, listed at their priority for as long as they last: an alarm
#: system that cannot sound must be seen to be unable to (b3 "Alarm audio unavailable"), and
#: the nurse must know when the session record is not being kept (I: data integrity).
CONSOLE_FAULTS: dict[TechnicalAlarmKind, ConsoleFault] = {
    TechnicalAlarmKind.AUDIO_UNAVAILABLE: ConsoleFault(
        Priority.HIGH,
        "ALARM AUDIO UNAVAILABLE: {why}; watch the screen",
        "Alarm audio available",
        "no audio output",
    ),
    TechnicalAlarmKind.STORAGE_UNAVAILABLE: ConsoleFault(
        Priority.MEDIUM,
        "SESSION NOT RECORDED: {why}; data are held and written when it returns",
        "Session recording again",
        "database unavailable",
    ),
    TechnicalAlarmKind.STORAGE_BEHIND: ConsoleFault(
        Priority.MEDIUM,
        "RECORDING FALLING BEHIND: {why}; nothing is lost, the record catches up in order",
        "Recording caught up",
        "the database is slower than the monitors",
    ),
}

#: How the storage writer starts its status detail when the record is kept but late
#: (console.storage.writer imports it): the writer has one status channel, and this tells the
#: chair to show RECORDING FALLING BEHIND rather than SESSION NOT RECORDED, which would be
#: untrue (every value is in the local journal and reaches the database later, in order).
RECORDING_BEHIND = "recording falling behind"


def storage_fault(reason: str) -> TechnicalAlarmKind:
    """Which storage condition the writer's status ``reason`` describes."""
    if reason.startswith(RECORDING_BEHIND):
        return TechnicalAlarmKind.STORAGE_BEHIND
    return TechnicalAlarmKind.STORAGE_UNAVAILABLE


def check_nibp_interval(interval_s: float) -> None:
    """Refuse an NIBP cycle no monitor offers (it drives the overdue timer).

    Raises:
        LimitError: outside 30-3600 s.
    """
    if not 30 <= interval_s <= 3600:
        raise LimitError(f"NIBP interval {interval_s:g} s must be 30-3600 s")


@dataclass(slots=True)
class _Flagged:
    """A metric whose latest reading the device flagged."""

    since: datetime
    flags: tuple[ReadingFlag, ...]


class TechnicalDetector:
    """What the device, the link and the console report about themselves, judged over time.

    Args:
        timings: returns the timings in force (a callable: a profile change swaps them).
        infusion: the infusion state the engine keeps (escalation, NIBP overdue window).
        signals: where present/absent conditions go.
        nibp_interval_s: the monitor's automatic NIBP cycle.
    """

    def __init__(
        self,
        timings: Callable[[], AlarmTimings],
        infusion: InfusionState,
        signals: AlarmSignaller,
        nibp_interval_s: float,
    ) -> None:
        check_nibp_interval(nibp_interval_s)
        self._timings = timings
        self._infusion = infusion
        self._signals = signals
        self.nibp_interval_s = float(nibp_interval_s)
        self._flagged: dict[Metric, _Flagged] = {}
        self._spo2_invalid_since: datetime | None = None
        self._sensor_off_event_at: datetime | None = None
        self._wrong_patient = wrong_patient.WrongPatientWatch()
        #: False for a monitor with no cuff (a pulse oximeter): "NIBP overdue" would be noise.
        self.nibp_expected = True
        #: Longest silence a healthy link shows (a gateway's push interval, x2); set by the chair.
        self.link_gap_s = 0.0
        self._port_gone = False  # DISCONNECTED seen, no data since: comm lost at once (issue 12)
        #: Since when there has been no heart-rate source (console.domain.heart_rate_source).
        self.hr_missing_since: datetime | None = None
        #: Faults of the console itself (no sound, no record): kind -> (reason, since).
        self._console_faults: dict[TechnicalAlarmKind, tuple[str, datetime]] = {}
        self._last_data_at: datetime | None = None
        self.last_nibp_at: datetime | None = None
        self._link_state: DeviceState | None = None

    # -- what happened ----------------------------------------------------------------------
    def note_data(self, at: datetime) -> None:
        """A reading of any kind arrived: the link is alive."""
        self._last_data_at = at
        self._port_gone = False

    def note_usable(self, metric: Metric, at: datetime, *, pulse: bool = False) -> None:
        """A usable value of ``metric`` (``pulse``: a pulse rate judged as HR) arrived."""
        if not pulse:  # a pulse judged as HR says nothing about the ECG's flag
            self._flagged.pop(metric, None)
        if metric is Metric.SPO2:
            self._spo2_invalid_since = None
            self._sensor_off_event_at = None
        if metric in NIBP_METRICS:
            self.last_nibp_at = at

    def note_unusable(self, reading: Reading, at: datetime) -> None:
        """A reading the device flagged, or one without a value, arrived."""
        # Only a *number* the device flagged is an "invalid value" (b3); a marker without a
        # number (no measurement yet, probe off) says there is no value, not a doubtful one.
        quality = tuple(f for f in reading.flags if f in QUALITY_FLAGS)
        if quality and reading.value is not None:
            previous = self._flagged.get(reading.metric)
            self._flagged[reading.metric] = _Flagged(previous.since if previous else at, quality)
        if reading.metric is Metric.SPO2 and self._spo2_invalid_since is None:
            self._spo2_invalid_since = at

    def note_event(self, event: TechnicalEvent, at: datetime) -> None:
        """A device/link event; SENSOR_OFF raises the sensor-off condition at once (b3)."""
        if event.kind is TechnicalEventKind.SENSOR_OFF and self._sensor_off_event_at is None:
            self._sensor_off_event_at = at
        if event.kind is TechnicalEventKind.WRONG_PATIENT:
            self._wrong_patient.note(at)

    def note_link_state(self, state: DeviceState) -> None:
        """The link's state; STOPPED (a deliberate stop) ends communication-lost watching."""
        self._link_state = state
        self._port_gone = self._port_gone or state is DeviceState.DISCONNECTED

    def set_console_fault(
        self, kind: TechnicalAlarmKind, available: bool, reason: str, now: datetime
    ) -> None:
        """The console's ``kind`` works again (``available``) or fails for ``reason``."""
        if available:
            self._console_faults.pop(kind, None)
        else:
            self._console_faults[kind] = (reason or CONSOLE_FAULTS[kind].default_reason, now)

    # -- judging ------------------------------------------------------------------------------
    def judge(self, now: datetime, started_at: datetime | None) -> None:
        """Judge every technical condition at ``now`` (``started_at``: monitoring began)."""
        timings = self._timings()
        comm = self._judge_link(now, started_at, timings)
        self._signals.set(
            TechnicalAlarmKind.COMM_LOST.value, comm, now, "Monitor communication restored"
        )
        no_hr, missing = None, self.hr_missing_since
        if missing is not None and comm is None:
            text = "No heart rate: ECG HR and SpO2 pulse rate both absent or invalid"
            no_hr = technical_condition(
                TechnicalAlarmKind.NO_HR_SOURCE, Priority.MEDIUM, text, missing
            )
        self._signals.set(
            TechnicalAlarmKind.NO_HR_SOURCE.value, no_hr, now, "Heart rate source back"
        )

        # SpO2 sensor off / no signal (b3): the device's event, or invalid SpO2 for a while.
        starts = []
        if self._sensor_off_event_at is not None:
            starts.append(self._sensor_off_event_at)
        if self._spo2_invalid_since is not None and now - self._spo2_invalid_since >= timedelta(
            seconds=timings.sensor_off_after_s
        ):
            starts.append(self._spo2_invalid_since)
        sensor: Condition | None = None
        if starts:
            sensor = technical_condition(
                TechnicalAlarmKind.SENSOR_OFF,
                Priority.MEDIUM,
                "SpO2 sensor off / no signal",
                min(starts),
                tile=Metric.SPO2,
            )
        self._signals.set(TechnicalAlarmKind.SENSOR_OFF.value, sensor, now, "SpO2 signal back")
        wp_at, wp_kind = self._wrong_patient.active_since(now), TechnicalAlarmKind.WRONG_PATIENT
        wp = (
            technical_condition(wp_kind, Priority.MEDIUM, wrong_patient.MESSAGE, wp_at)
            if wp_at
            else None
        )
        self._signals.set(wp_kind.value, wp, now, wrong_patient.END_MESSAGE)

        overdue = self._judge_nibp_overdue(now, timings)
        self._signals.set(
            TechnicalAlarmKind.NIBP_OVERDUE.value, overdue, now, "NIBP reading received"
        )

        # Faults of the console itself (b3 audio unavailable; I: record not written): listed at
        # their priority for as long as they last.
        for kind, fault in CONSOLE_FAULTS.items():
            cond: Condition | None = None
            if kind in self._console_faults:
                why, since_at = self._console_faults[kind]
                cond = technical_condition(
                    kind, fault.priority, fault.message.format(why=why), since_at
                )
            self._signals.set(kind.value, cond, now, fault.end_message)

        self._judge_flagged(now, sensor_off=sensor is not None)

    def _judge_link(
        self, now: datetime, started_at: datetime | None, timings: AlarmTimings
    ) -> Condition | None:
        """Communication lost (b3): silence since the last reading of any kind."""
        origin = self._last_data_at or started_at
        if origin is None or self._link_state is DeviceState.STOPPED:
            return None
        silence = (now - origin).total_seconds()
        if silence < max(timings.comm_lost_after_s, self.link_gap_s) and not self._port_gone:
            return None
        high = self._infusion.running and silence >= timings.comm_lost_escalate_s
        link = (
            f", link {self._link_state.value}"
            if self._link_state in (DeviceState.QUIET, DeviceState.DISCONNECTED)
            else ""
        )
        return technical_condition(
            TechnicalAlarmKind.COMM_LOST,
            Priority.HIGH if high else Priority.MEDIUM,
            f"Monitor communication lost: no data for {duration_text(silence)}{link}",
            origin,
            value=round(silence, 1),
        )

    def _judge_nibp_overdue(self, now: datetime, timings: AlarmTimings) -> Condition | None:
        """NIBP overdue (b3): during the infusion and the first part of recovery."""
        stopped_at = self._infusion.stopped_at
        in_recovery = stopped_at is not None and now - stopped_at <= timedelta(
            seconds=timings.nibp_overdue_recovery_s
        )
        watching = self.nibp_expected and (self._infusion.running or in_recovery)
        reference = self.last_nibp_at or self._infusion.started_at
        if not watching or reference is None:
            return None
        due = reference + timedelta(seconds=self.nibp_interval_s + timings.nibp_overdue_grace_s)
        if now < due:
            return None
        since = "no valid NIBP yet" if self.last_nibp_at is None else "last valid NIBP"
        return technical_condition(
            TechnicalAlarmKind.NIBP_OVERDUE,
            Priority.MEDIUM,
            f"NIBP overdue: {since} {duration_text((now - reference).total_seconds())} ago "
            f"(cycle {duration_text(self.nibp_interval_s)})",
            due,
            tile=Metric.NIBP_SYS,
        )

    def _judge_flagged(self, now: datetime, *, sensor_off: bool) -> None:
        """Values the device flagged (b3): low-priority information per metric."""
        flagged_keys = set()
        for metric, flagged in self._flagged.items():
            if metric is Metric.SPO2 and sensor_off:
                continue  # sensor off says it better
            key = f"{TechnicalAlarmKind.INVALID_VALUE.value}:{metric.value}"
            flagged_keys.add(key)
            flags = ", ".join(f.value.replace("_", " ") for f in flagged.flags)
            self._signals.set(
                key,
                technical_condition(
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
        for key, alarm in list(self._signals.alarms.items()):
            if (
                alarm.cond.technical_kind is TechnicalAlarmKind.INVALID_VALUE
                and key not in flagged_keys
            ):
                superseded = key.endswith(Metric.SPO2.value) and sensor_off
                self._signals.end(
                    key,
                    now,
                    "SpO2 flag now reported as sensor off"
                    if superseded
                    else f"{alarm.cond.message}: valid values again",
                )
