"""A tiny script language for timed alarm-engine cases, on a simulated clock.

A case is a list of steps ``(t_s, action, *args)``; :func:`play` feeds them to an
:class:`AlarmEngine` at ``T0 + t_s`` and returns the events as ``(t_s, kind, key, priority)``
tuples, so a table row reads like the clinical rule it checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from console.config import load
from console.domain.alarm_engine import AlarmEngine
from console.domain.alarm_events import AlarmEvent
from console.domain.alarm_profiles import ThresholdProfile
from devices.model import (
    METRIC_UNITS,
    DeviceState,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

#: The clinic default profile, from resources/default_config.toml.
DEFAULT_PROFILE: ThresholdProfile = load(environ={}).alarm_profile

Step = tuple[Any, ...]
Seen = tuple[float, str, str, str | None]


def at(t_s: float) -> datetime:
    """Simulated time ``t_s`` seconds after :data:`T0`."""
    return T0 + timedelta(seconds=t_s)


def reading(
    metric: Metric,
    value: float | None,
    t_s: float,
    *,
    flags: tuple[ReadingFlag, ...] = (),
) -> Reading:
    """A reading received at ``t_s``; any flag makes it invalid."""
    return Reading(
        metric,
        value,
        METRIC_UNITS[metric],
        at(t_s),
        valid=not flags and value is not None,
        flags=flags,
    )


def every(
    metric: Metric, value: float, start_s: float, end_s: float, step_s: float = 1.0
) -> list[Step]:
    """One valid reading of ``metric`` every ``step_s`` from ``start_s`` to ``end_s`` inclusive."""
    steps: list[Step] = []
    t = start_s
    while t <= end_s + 1e-9:
        steps.append((t, "r", metric, value))
        t += step_s
    return steps


def ticks(start_s: float, end_s: float, step_s: float = 1.0) -> list[Step]:
    """Ticks every ``step_s`` from ``start_s`` to ``end_s`` inclusive."""
    out: list[Step] = []
    t = start_s
    while t <= end_s + 1e-9:
        out.append((t, "tick"))
        t += step_s
    return out


def apply(engine: AlarmEngine, step: Step) -> list[AlarmEvent]:
    """Run one step against ``engine``."""
    t, action, *args = step
    now = at(t)
    if action == "r":  # valid reading: metric, value
        return engine.process_readings([reading(args[0], args[1], t)], now)
    if action == "x":  # flagged reading: metric, value, flags
        return engine.process_readings([reading(args[0], args[1], t, flags=args[2])], now)
    if action == "tick":
        return engine.tick(now)
    if action == "ack":
        return engine.acknowledge(args[0], args[1], now)
    if action == "pause":
        return engine.pause_audio(args[0], now, *args[1:])
    if action == "infusion":
        return engine.set_infusion_running(args[0], now)
    if action == "state":
        return engine.on_link_state(args[0], now)
    if action == "sensor_off":
        return engine.on_technical_event(
            TechnicalEvent(TechnicalEventKind.SENSOR_OFF, now, "probe off"), now
        )
    if action == "baseline":
        return engine.set_baseline(args[0], args[1], args[2], now, actor="dr.b")
    if action == "override":  # metric, direction, priority, limit
        return engine.override_limit(
            args[0], args[1], args[2], args[3], actor="dr.b", reason="patient baseline", now=now
        )
    raise ValueError(f"unknown step {action!r}")


def play(
    steps: Iterable[Step],
    *,
    profile: ThresholdProfile | None = None,
    keys: Sequence[str] | None = None,
    engine: AlarmEngine | None = None,
) -> list[Seen]:
    """Play ``steps`` (sorted by time, stable) and return the events, filtered by key."""
    engine = engine or make_engine(profile)
    seen: list[Seen] = []
    for step in sorted(steps, key=lambda s: s[0]):
        for ev in apply(engine, step):
            if keys is None or ev.key in keys:
                seen.append(
                    (
                        round((ev.at - T0).total_seconds(), 3),
                        ev.kind.value,
                        ev.key,
                        None if ev.priority is None else ev.priority.label,
                    )
                )
    return seen


def make_engine(profile: ThresholdProfile | None = None) -> AlarmEngine:
    """An engine on the default profile, started at :data:`T0`."""
    return AlarmEngine(profile or DEFAULT_PROFILE, nibp_interval_s=300, started_at=T0)


__all__ = [
    "DEFAULT_PROFILE",
    "T0",
    "DeviceState",
    "apply",
    "at",
    "every",
    "make_engine",
    "play",
    "reading",
    "ticks",
]
