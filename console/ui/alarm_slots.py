"""Which listed alarm goes where on screen: a chair's slot, or the one console-wide strip.

Every chair's engine lists the faults of the console itself (alarm audio unavailable, session
not recorded) because they concern every patient.  Shown per chair, "ALARM AUDIO UNAVAILABLE"
filled all 16 tiles' alarm lines while chair 4's latched high SpO2 alarm was cut to "(+1 r..."
(issue 11 item 3).  So console conditions go to one console-wide strip (:class:`ConsoleStrip`
in the main window), and a chair's slot shows only that chair's own alarms, most urgent first
(a patient's alarm before a technical one of the same priority), with the count of the others.
Audio is unchanged: the engines still sound them as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from console.domain.alarm_engine import AlarmStatus
from console.domain.alarm_events import TechnicalAlarmKind
from console.domain.alarm_rules import AlarmCategory, Priority
from devices.model import NIBP_METRICS, Metric

#: Technical conditions of the console, not of a chair: shown once, console-wide.
CONSOLE_KINDS: frozenset[TechnicalAlarmKind] = frozenset(
    {
        TechnicalAlarmKind.AUDIO_UNAVAILABLE,
        TechnicalAlarmKind.STORAGE_UNAVAILABLE,
        TechnicalAlarmKind.STORAGE_BEHIND,
    }
)


def is_console_condition(status: AlarmStatus) -> bool:
    """True for a fault of the console itself (the same on every chair)."""
    return status.technical_kind in CONSOLE_KINDS


def chair_alarms(statuses: Iterable[AlarmStatus]) -> list[AlarmStatus]:
    """The chair's own alarms in slot order: priority, patient before technical, oldest."""
    own = [s for s in statuses if not is_console_condition(s)]
    return sorted(
        own,
        key=lambda s: (
            -int(s.priority),
            s.category is not AlarmCategory.PHYSIOLOGICAL,
            s.onset,
            s.key,
        ),
    )


def console_conditions(chairs: Iterable[Sequence[AlarmStatus]]) -> list[AlarmStatus]:
    """Console conditions listed by any chair, once per condition (the earliest onset)."""
    seen: dict[str, AlarmStatus] = {}
    for statuses in chairs:
        for s in statuses:
            if is_console_condition(s):
                old = seen.get(s.key)
                if old is None or (s.priority, -s.onset.timestamp()) > (
                    old.priority,
                    -old.onset.timestamp(),
                ):
                    seen[s.key] = s
    return sorted(seen.values(), key=lambda s: (-int(s.priority), s.onset))


def metric_alarm_priority(statuses: Iterable[AlarmStatus]) -> dict[Metric, Priority]:
    """Highest priority of the alarms on each parameter (NIBP's under ``NIBP_SYS``, pulse
    rate's under ``HR``): the colour its number takes."""
    out: dict[Metric, Priority] = {}
    for s in statuses:
        metric = s.metric or s.tile_metric
        if metric is None or is_console_condition(s):
            continue
        if metric in NIBP_METRICS:
            metric = Metric.NIBP_SYS
        elif metric is Metric.PR:
            metric = Metric.HR
        out[metric] = max(out.get(metric, s.priority), s.priority)
    return out
