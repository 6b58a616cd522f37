"""One alarm episode as a nurse must read it: onset, worst value, and what set its priority.

The engine replaces an alarm's condition at every reading, so a latched SpO2 alarm that had
reached 84.65 < 88 (high) showed only its last abnormal text, "SpO2 91.04 < 92", and a latched
high NIBP alarm whose value had fallen to the low tier read "*** SBP 165 >= 160": text and
priority disagreed (issue 11 item 9).  An :class:`AlarmEpisode` is kept per listed alarm from
its onset until it leaves the list, and records:

* the onset: the text the alarm was declared with;
* the top: the condition that set the highest priority of the episode (the most extreme value
  at that priority), i.e. the words that justify a held (latched) priority;
* the worst value on the abnormal side.

:func:`alarm_text` writes the one line every screen shows for a listed alarm; its words always
describe the priority shown.  Pure data, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from console.domain.alarm_rules import AlarmCategory, Direction, Priority, format_value

if TYPE_CHECKING:
    from console.domain.alarm_engine import AlarmStatus


@dataclass(frozen=True, slots=True)
class AlarmEpisode:
    """What one alarm went through since its onset.

    Attributes:
        direction: abnormal side (None for technical alarms: no worst value).
        onset_text: the message the alarm was declared with.
        top_priority: the highest priority any of its conditions had.
        top_text: the message of the condition that had it (most extreme value at it).
        top_value: that condition's value.
        worst_value: the most extreme value on the abnormal side.
        latest_priority: the priority of the latest condition (what the value merits now).
    """

    direction: Direction | None
    onset_text: str
    top_priority: Priority
    top_text: str
    top_value: float | None
    worst_value: float | None
    latest_priority: Priority

    @classmethod
    def begin(
        cls, priority: Priority, value: float | None, text: str, direction: Direction | None
    ) -> AlarmEpisode:
        """The episode of an alarm declared now with this condition."""
        return cls(direction, text, priority, text, value, value, priority)

    def widen(self, priority: Priority, value: float | None, text: str) -> AlarmEpisode:
        """The episode after one more condition of the same alarm."""
        worse = self._more_extreme(value, self.worst_value)
        top = priority > self.top_priority or (
            priority == self.top_priority and self._more_extreme(value, self.top_value)
        )
        return replace(
            self,
            worst_value=value if worse else self.worst_value,
            top_priority=priority if top else self.top_priority,
            top_text=text if top else self.top_text,
            top_value=value if top else self.top_value,
            latest_priority=priority,
        )

    def headline(self, shown: Priority, current_text: str) -> str:
        """The condition that explains priority ``shown``: the current one when it merits
        ``shown``, else the episode's top (a latched or held priority)."""
        if self.latest_priority >= shown or self.top_priority < shown:
            return current_text
        return self.top_text

    def _more_extreme(self, value: float | None, than: float | None) -> bool:
        if value is None or self.direction is None:
            return False
        if than is None:
            return True
        return value > than if self.direction is Direction.HIGH else value < than


def alarm_text(status: AlarmStatus) -> str:
    """The line the banner, the overview tile and the alarm list show for ``status``.

    Physiological alarms name the condition that explains the priority shown, then what else
    the nurse needs: the worst value of the episode, the onset, the value now, and whether it
    was raised because nobody answered.  Technical alarms show their message.
    """
    episode = status.episode
    if status.category is not AlarmCategory.PHYSIOLOGICAL or episode is None:
        return status.message
    head = episode.headline(status.priority, status.message)
    extras: list[str] = []
    head_value = status.value if head == status.message else episode.top_value
    if status.metric is not None and episode.worst_value not in (None, head_value):
        worst = format_value(status.metric, episode.worst_value)
        if head_value is None or worst != format_value(status.metric, head_value):
            extras.append(f"worst {worst}")
    if episode.onset_text != head:
        extras.append(f"onset {episode.onset_text}")
    if status.condition_active and head != status.message:
        extras.append(f"now {status.message}")
    if status.escalated_unanswered:
        extras.append("raised: not acknowledged in time")
    return f"{head} ({'; '.join(extras)})" if extras else head


def priority_tag(priority: Priority) -> str:
    """IEC-style marker and word: ``*** high``, ``** medium``, ``* low``."""
    return f"{priority.marker} {priority.label}"
