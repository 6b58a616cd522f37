"""Alarm signalling: what the nurse sees and hears about the conditions detection reports.

Detection says "condition ``key`` is present now at this priority" or "absent now"
(:meth:`AlarmSignaller.present`, :meth:`AlarmSignaller.end`).  This module keeps the listed
alarms and decides, with the clinical.md sections it implements:

* Latching (b3 note, c5): a high-priority physiological alarm stays shown, at high priority and
  with its original onset, after its condition ends, until someone acknowledges it.
* Acknowledge (c4 ACKNOWLEDGED): stops the audio of an active alarm until it ends (an
  escalation needs a new acknowledgement); acknowledging a latched, cleared alarm removes it.
* Audio pause (c4 AUDIO PAUSED): silences every current alarm for a limited time; a new
  medium/high condition or an escalation to high ends the pause (ISO 7396-1 rule cited in c4).
* Escalation when unanswered (c13): a medium physiological alarm nobody acknowledged within
  ``escalate_unanswered_s`` escalates its *signal* (SIGNAL_ESCALATED); its priority and the
  record's stay medium (issue 11 item 10).
* Repeat-NIBP requests: asked by detection, answered by the next cuff reading, prompted again
  after :data:`~console.domain.alarm_events.REPEAT_PROMPT_AGAIN_S`, expired after the window.

Every transition is appended, in order, to one outbox that the engine hands to its caller.
Pure Python, no clock, not thread-safe (the engine's caller serialises calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from console.domain.alarm_conditions import Condition, condition_name, duration_text
from console.domain.alarm_episode import AlarmEpisode
from console.domain.alarm_events import (
    REPEAT_PROMPT_AGAIN_S,
    AlarmEvent,
    AlarmEventKind,
    RepeatRequest,
)
from console.domain.alarm_profiles import AlarmTimings
from console.domain.alarm_rules import METRIC_LABELS, AlarmCategory, Direction, Priority
from console.domain.alarm_status import AlarmStatus, AudioStatus

log = logging.getLogger("alarms")

#: A repeat NIBP *started* within the confirm window completes up to one cuff measurement later
#: (about 30 s); such a reading still confirms.  It also keeps a monitor whose automatic cycle
#: equals the window (5 min) confirming on its next regular reading.
CONFIRM_TOLERANCE_S = 30.0

AUDIO_KEY = "audio"
SIGNAL_ESCALATED = AlarmEventKind.SIGNAL_ESCALATED
PROMPT_AGAIN = timedelta(seconds=REPEAT_PROMPT_AGAIN_S)


@dataclass(slots=True)
class ListedAlarm:
    """Mutable state of one listed alarm."""

    cond: Condition
    priority: Priority
    onset: datetime
    condition_active: bool = True
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    hold_high: bool = False
    escalated_unanswered: bool = False
    medium_since: datetime | None = None
    episode: AlarmEpisode | None = None


class AlarmSignaller:
    """The listed alarms, the audio pause and the repeat requests of one chair.

    Args:
        timings: returns the timings in force; a callable, not a value, because a profile
            change swaps them and signalling must follow at once without being told.
    """

    def __init__(self, timings: Callable[[], AlarmTimings]) -> None:
        self._timings = timings
        self.alarms: dict[str, ListedAlarm] = {}
        self.repeats: dict[str, RepeatRequest] = {}
        self.pause_until: datetime | None = None
        self.paused_by: str | None = None
        self._out: list[AlarmEvent] = []

    # -- outbox -----------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Events recorded but not yet taken (non-zero only after an interrupted call)."""
        return len(self._out)

    def record(self, event: AlarmEvent) -> None:
        """Append an event the engine made itself (profile change, baseline, audio pause)."""
        self._out.append(event)

    def take(self) -> list[AlarmEvent]:
        """Every event since the last take, in the order they happened."""
        out, self._out = self._out, []
        return out

    # -- queries ----------------------------------------------------------------------------
    def active_alarms(self) -> tuple[AlarmStatus, ...]:
        """Listed alarms (active and latched), most urgent first, then oldest first."""
        paused = self.pause_until
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
            for key, a in self.alarms.items()
        ]
        return tuple(sorted(out, key=lambda s: (-int(s.priority), s.onset, s.key)))

    def audio(self) -> AudioStatus:
        """What the alarm sound should be: the highest unacknowledged, unpaused priority.

        Latched alarms whose condition ended are visual only (c5) and never sound.
        """
        wanting = [
            Priority.HIGH if a.escalated_unanswered else a.priority  # the escalated signal
            for a in self.alarms.values()
            if a.condition_active and a.acknowledged_by is None
        ]
        top = max(wanting) if wanting else None
        if self.pause_until is not None:
            return AudioStatus(None, self.pause_until, self.paused_by, top)
        return AudioStatus(top)

    def pending_repeat_requests(self) -> tuple[RepeatRequest, ...]:
        """Repeat-NIBP requests not yet answered, oldest first."""
        return tuple(sorted(self.repeats.values(), key=lambda r: r.requested_at))

    # -- conditions from detection ------------------------------------------------------------
    def set(self, key: str, cond: Condition | None, now: datetime, end_message: str) -> None:
        """The condition ``key`` is ``cond`` now, or absent when None."""
        if cond is None:
            self.end(key, now, end_message)
        else:
            self.present(cond, now)

    def present(self, cond: Condition, now: datetime) -> None:
        """The condition ``cond.key`` is present now."""
        alarm = self.alarms.get(cond.key)
        latch = self._timings().latch_high and cond.category is AlarmCategory.PHYSIOLOGICAL
        if alarm is None:
            alarm = ListedAlarm(cond, cond.priority, now)
            alarm.episode = AlarmEpisode.begin(
                cond.priority, cond.value, cond.message, cond.direction
            )
            alarm.hold_high = latch and cond.priority is Priority.HIGH
            alarm.medium_since = now if cond.priority is Priority.MEDIUM else None
            self.alarms[cond.key] = alarm
            self._emit(AlarmEventKind.ONSET, alarm, now, cond.message)
            if cond.priority >= Priority.MEDIUM:
                self.end_pause(now, f"new alarm: {cond.message}", None)
            return
        assert alarm.episode is not None
        alarm.episode = alarm.episode.widen(cond.priority, cond.value, cond.message)
        if not alarm.condition_active:
            alarm.condition_active = True
            alarm.cond = cond
            self._emit(AlarmEventKind.RETRIGGERED, alarm, now, f"{cond.message} (again)")
            if cond.priority >= Priority.MEDIUM:
                self.end_pause(now, f"alarm again: {cond.message}", None)
            self._reprioritise(alarm, now)
            return
        # Keep the original condition start across tier changes.
        alarm.cond = replace(cond, condition_start=alarm.cond.condition_start)
        self._reprioritise(alarm, now)

    def end(self, key: str, now: datetime, message: str, value: float | None = None) -> None:
        """The condition ``key`` is absent now (``value``: the reading that ended it)."""
        alarm = self.alarms.get(key)
        if alarm is None or not alarm.condition_active:
            return
        message = message or f"{condition_name(alarm.cond)} ended"
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
        del self.alarms[key]
        self._emit(AlarmEventKind.END, alarm, now, message, value=value)

    # -- users ----------------------------------------------------------------------------------
    def acknowledge(self, key: str, user: str, at: datetime) -> None:
        """Acknowledge one alarm (c4); unknown keys are ignored (it may have just ended)."""
        alarm = self.alarms.get(key)
        if alarm is None:
            log.debug("acknowledge of %s by %s: no such alarm", key, user)
            return
        if not alarm.condition_active:
            self._emit(AlarmEventKind.ACKNOWLEDGED, alarm, at, f"{alarm.cond.message}", user)
            del self.alarms[key]
            self._emit(
                AlarmEventKind.END,
                alarm,
                at,
                f"{condition_name(alarm.cond)} latched alarm cleared by {user} "
                "(condition had ended)",
                user,
            )
            return
        if alarm.acknowledged_by is None:
            alarm.acknowledged_by, alarm.acknowledged_at = user, at
            alarm.hold_high = False
            alarm.escalated_unanswered = False
            self._emit(AlarmEventKind.ACKNOWLEDGED, alarm, at, alarm.cond.message, user)
            self._reprioritise(alarm, at, note="acknowledged")

    def pause(self, user: str, at: datetime, seconds: float) -> None:
        """Silence every current alarm for ``seconds`` (validated by the caller)."""
        audio = self.audio()
        silenced = audio.silenced_priority or audio.priority
        self.pause_until = at + timedelta(seconds=seconds)
        self.paused_by = user
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
                f"Alarm audio paused for {duration_text(seconds)} by {user}",
                actor=user,
            )
        )

    def end_pause(self, now: datetime, reason: str, actor: str | None) -> None:
        """End the audio pause, if one runs, saying why."""
        if self.pause_until is None:
            return
        self.pause_until = self.paused_by = None
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

    # -- timers -----------------------------------------------------------------------------------
    def expire_pause(self, now: datetime) -> None:
        """End the audio pause once its time is up."""
        if self.pause_until is not None and now >= self.pause_until:
            self.end_pause(now, "pause expired", None)

    def run_timers(self, now: datetime) -> None:
        """Escalate unanswered medium alarms; prompt again or expire repeat requests."""
        escalate_s = self._timings().escalate_unanswered_s
        if escalate_s > 0:
            limit = timedelta(seconds=escalate_s)
            for alarm in list(self.alarms.values()):
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
                    text = f"not acknowledged within {duration_text(escalate_s)}: signal escalated"
                    self._emit(SIGNAL_ESCALATED, alarm, now, f"{alarm.cond.message} ({text})")
                    self.end_pause(now, f"unanswered: {alarm.cond.message}", None)
        for key, request in list(self.repeats.items()):
            if now > request.due_by + timedelta(seconds=CONFIRM_TOLERANCE_S):
                self._expire_repeat(key, now)
            elif not request.prompted_again and now >= request.requested_at + PROMPT_AGAIN:
                self._prompt_repeat_again(key, request, now)

    # -- repeat NIBP requests ---------------------------------------------------------------------
    def request_repeat(
        self, request: RepeatRequest, direction: Direction, value: float, limit: float
    ) -> None:
        """Ask for a repeat cuff reading to confirm the listed alarm ``request.key``."""
        self.repeats[request.key] = request
        self._out.append(
            AlarmEvent(
                AlarmEventKind.REPEAT_REQUESTED,
                request.key,
                request.metric,
                direction,
                self.alarms[request.key].priority,
                value,
                limit,
                request.requested_at,
                request.message,
            )
        )

    def answer_repeats(self, at: datetime) -> None:
        """A valid NIBP reading answers every repeat requested before it."""
        late_after = timedelta(seconds=CONFIRM_TOLERANCE_S)
        for key, request in list(self.repeats.items()):
            if request.requested_at < at:
                if at > request.due_by + late_after:
                    self._expire_repeat(key, at)
                    continue
                del self.repeats[key]
                done = f"Repeat NIBP done ({METRIC_LABELS[request.metric]})"
                self._repeat_event(AlarmEventKind.REPEAT_DONE, request, at, done)

    def _prompt_repeat_again(self, key: str, request: RepeatRequest, at: datetime) -> None:
        again = f"Repeat NIBP still needed (asked {duration_text(REPEAT_PROMPT_AGAIN_S)} ago): "
        message = again + request.message.removeprefix("Repeat NIBP now: ")
        self.repeats[key] = replace(request, message=message, prompted_again=True)
        alarm = self.alarms.get(key)
        prio = None if alarm is None else alarm.priority
        self._repeat_event(AlarmEventKind.REPEAT_REQUESTED, request, at, message, prio)

    def _expire_repeat(self, key: str, at: datetime) -> None:
        request = self.repeats.pop(key)
        window = duration_text(self._timings().nibp_confirm_window_s)
        text = f"Repeat NIBP not received within {window}"
        self._repeat_event(AlarmEventKind.REPEAT_EXPIRED, request, at, text)

    def _repeat_event(
        self,
        kind: AlarmEventKind,
        request: RepeatRequest,
        at: datetime,
        message: str,
        priority: Priority | None = None,
    ) -> None:
        """Record a repeat-request event: no side, value or limit, only what to do."""
        key, metric = request.key, request.metric
        self._out.append(AlarmEvent(kind, key, metric, None, priority, None, None, at, message))

    # -- session end ------------------------------------------------------------------------------
    def close(self, at: datetime, reason: str) -> None:
        """End every listed alarm (latched or not), drop repeat requests and the audio pause."""
        for key, alarm in list(self.alarms.items()):
            del self.alarms[key]
            self._emit(AlarmEventKind.END, alarm, at, f"{alarm.cond.message}: closed, {reason}")
        for req in list(self.repeats.values()):
            text = f"Repeat NIBP request closed, {reason}"
            self._repeat_event(AlarmEventKind.REPEAT_EXPIRED, req, at, text)
        self.repeats.clear()
        self.end_pause(at, reason, None)

    # -- internals --------------------------------------------------------------------------------
    def _reprioritise(self, alarm: ListedAlarm, now: datetime, note: str = "") -> None:
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
                    self._timings().latch_high
                    and alarm.cond.category is AlarmCategory.PHYSIOLOGICAL
                )
            self._emit(AlarmEventKind.ESCALATED, alarm, now, message)
            if shown is Priority.HIGH:
                self.end_pause(now, f"escalated to high: {alarm.cond.message}", None)
        else:
            self._emit(AlarmEventKind.DEESCALATED, alarm, now, message)

    def _emit(
        self,
        kind: AlarmEventKind,
        alarm: ListedAlarm,
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


def _headline(alarm: ListedAlarm) -> str:
    """The condition that explains the alarm's priority (its episode's top when held)."""
    ep = alarm.episode
    return ep.headline(alarm.priority, alarm.cond.message) if ep else alarm.cond.message
