"""What the alarm engine tells the rest of the console: immutable events and requests.

Every change of alarm state is an :class:`AlarmEvent`, so the record (clinical.md c10: the log
shall hold occurrence and identity of high-priority conditions and should hold time, limits and
inactivation states) and the screen are fed from the same facts.  Events are frozen dataclasses
and can be handed between threads without locks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from console.domain.alarm_rules import AlarmCategory, Direction, Priority
from devices.model import Metric


class AlarmEventKind(enum.StrEnum):
    """Kinds of alarm events; values are stored verbatim (at most 16 characters)."""

    ONSET = "onset"
    """An alarm condition was declared (after its delay, if any)."""
    ESCALATED = "escalated"
    """The alarm's priority rose (a higher tier, a confirming repeat, or no acknowledgement)."""
    DEESCALATED = "deescalated"
    """The alarm's priority fell while the condition continues."""
    END = "end"
    """The alarm left the list: its condition ended, or (latched) it was acknowledged after
    that — then ``actor`` says who cleared it.  The storage writer closes the alarm row here."""
    LATCHED = "latched"
    """A latching alarm's condition ended; the alarm stays shown until acknowledged (c5).  The
    log row keeps when the condition ended."""
    RETRIGGERED = "retriggered"
    """A latched alarm's condition came back before anyone acknowledged it."""
    ACKNOWLEDGED = "acknowledged"
    """A user acknowledged the alarm (c4 ACKNOWLEDGED)."""
    AUDIO_PAUSED = "audio_paused"
    """A user paused alarm audio for a limited time (c4 AUDIO PAUSED)."""
    AUDIO_RESUMED = "audio_resumed"
    """Audio pause ended: expired, broken by a new condition/escalation, or resumed by a user."""
    REPEAT_REQUESTED = "repeat_requested"
    """An NIBP reading over a confirm-type limit asks for a repeat measurement (b2); asked
    again once, :data:`REPEAT_PROMPT_AGAIN_S` later, while still unanswered."""
    SIGNAL_ESCALATED = "signal_escalated"
    """Nobody acknowledged a medium alarm in time: its *signal* escalates (the high tone and the
    overview), its priority stays what the condition is (issue 11 item 10)."""
    REPEAT_DONE = "repeat_done"
    """The requested repeat NIBP arrived."""
    REPEAT_EXPIRED = "repeat_expired"
    """No NIBP arrived within the confirm window."""
    PROFILE_CHANGED = "profile_changed"
    """A limit or alarm setting changed (who, when, why, old -> new)."""
    BASELINE_SET = "baseline_set"
    """The pre-dose baseline used by baseline-relative limits was set or derived."""


#: An unanswered repeat-NIBP request is prompted again this long after it was made (b2: the
#: repeat is due "within 2 min"; the confirm window may be longer).
REPEAT_PROMPT_AGAIN_S = 120.0


class TechnicalAlarmKind(enum.StrEnum):
    """Technical alarm conditions (clinical.md b3); values are the stored parameter names."""

    COMM_LOST = "comm_lost"
    SENSOR_OFF = "sensor_off"
    NIBP_OVERDUE = "nibp_overdue"
    INVALID_VALUE = "invalid_value"
    AUDIO_UNAVAILABLE = "audio_unavailable"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    STORAGE_BEHIND = "storage_behind"
    """The record is kept, but late: the database writes slower than the monitors produce, and
    the excess waits in the local journal (console.storage.writer)."""
    WRONG_PATIENT = "wrong_patient"
    NO_HR_SOURCE = "no_hr_source"
    """Neither ECG HR nor the SpO2 pulse rate is usable (console.domain.heart_rate_source)."""


@dataclass(frozen=True, slots=True)
class LimitChange:
    """One changed limit or alarm setting, for the record (clinical.md H.36: logged changes).

    Attributes:
        parameter: nurse-facing parameter (``HR``) or ``alarms`` for a timing setting.
        setting: what changed, e.g. ``high limit, medium`` or ``audio_pause_s``.
        old: previous value as text, None when the setting was added.
        new: new value as text, None when the setting was removed.
        actor: who changed it.
        reason: why.
        at: when.
        profile: name of the profile after the change.
    """

    parameter: str
    setting: str
    old: str | None
    new: str | None
    actor: str
    reason: str
    at: datetime
    profile: str

    def describe(self) -> str:
        """``HR high limit, medium: > 110 for 30 s -> > 120 for 30 s (by dr.b: athlete)``."""
        return (
            f"{self.parameter} {self.setting}: {self.old or '(none)'} -> {self.new or '(none)'}"
            f" (by {self.actor}: {self.reason})"
        )


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One change of alarm state.

    The first nine fields are what :mod:`console.storage.writer` has always stored; the rest
    default so older producers keep working.

    Attributes:
        kind: what happened.
        key: the alarm condition (``HR:high``, ``comm_lost``, ``invalid_value:SPO2``) or, for
            events not about one condition, ``audio`` / ``profile:<parameter>`` / ``baseline``.
        metric: the physiological parameter; None for technical alarms and general events.
        direction: the abnormal side for physiological alarms.
        priority: the alarm's priority after the event; None when the event has no priority
            (audio pause with nothing active, profile changes).
        value: the value involved (reading, new limit, pause seconds).
        limit: the limit involved (violated limit, old limit).
        at: when it happened (for ONSET: when the condition was declared).
        message: nurse-readable text.
        actor: the user who caused it, if any.
        category: physiological or technical.
        technical_kind: which technical condition, for technical alarms.
        condition_start: when the abnormal condition began (before its delay ran out).
        change: the structured change, for PROFILE_CHANGED.
    """

    kind: AlarmEventKind
    key: str
    metric: Metric | None
    direction: Direction | None
    priority: Priority | None
    value: float | None
    limit: float | None
    at: datetime
    message: str
    actor: str | None = None
    category: AlarmCategory = AlarmCategory.PHYSIOLOGICAL
    technical_kind: TechnicalAlarmKind | None = None
    condition_start: datetime | None = None
    change: LimitChange | None = None

    @property
    def parameter(self) -> str:
        """What the event is about, as stored: the metric, the technical kind, or the key."""
        if self.metric is not None:
            return self.metric.value
        if self.technical_kind is not None:
            return self.technical_kind.value
        return self.key.split(":")[0]


@dataclass(frozen=True, slots=True)
class RepeatRequest:
    """A pending request for a repeat NIBP measurement (confirm-by-repeat, clinical.md b2).

    Attributes:
        key: the alarm condition that asked (``NIBP_SYS:high``).
        metric: the NIBP metric whose limit was crossed.
        requested_at: when the first reading arrived.
        due_by: end of the confirm window; a later reading does not confirm.
        message: what to show, e.g. ``Repeat NIBP: SBP 186 >= 180``.
        prompted_again: the request was repeated (:data:`REPEAT_PROMPT_AGAIN_S`).
    """

    key: str
    metric: Metric
    requested_at: datetime
    due_by: datetime
    message: str
    prompted_again: bool = False
