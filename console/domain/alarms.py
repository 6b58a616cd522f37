"""Alarm vocabulary in one import.

The alarm system lives in focused modules:

* :mod:`console.domain.alarm_rules` — priorities, limit tiers, baseline-relative rules and their
  validation (clinical.md b2);
* :mod:`console.domain.alarm_events` — the immutable events and repeat requests the engine emits;
* :mod:`console.domain.alarm_profiles` — threshold profiles, per-patient overrides, change records;
* :mod:`console.domain.alarm_engine` — :class:`AlarmEngine`, the stateful engine the console runs,
  a façade over detection (``alarm_detection``, ``alarm_technical``) and signalling
  (``alarm_signalling``).

This module re-exports that vocabulary so ``from console.domain.alarms import Priority`` keeps
working.  The instantaneous ``AlarmEvaluator`` that used to live here was removed (issue 13):
nothing but its own tests used it, and a second, simpler judge of the same limits invited
replays that disagree with the console.
"""

from __future__ import annotations

from console.domain.alarm_engine import AlarmEngine, AlarmSnapshot, AlarmStatus, AudioStatus
from console.domain.alarm_events import (
    AlarmEvent,
    AlarmEventKind,
    LimitChange,
    RepeatRequest,
    TechnicalAlarmKind,
)
from console.domain.alarm_profiles import (
    AlarmTimings,
    LimitOverride,
    ThresholdProfile,
    diff_profiles,
)
from console.domain.alarm_rules import (
    METRIC_LABELS,
    PLAUSIBLE_RANGE,
    AlarmCategory,
    AlarmPolicy,
    Baseline,
    BaselineRule,
    Direction,
    LimitError,
    LimitRule,
    Priority,
)

__all__ = [
    "METRIC_LABELS",
    "PLAUSIBLE_RANGE",
    "AlarmCategory",
    "AlarmEngine",
    "AlarmEvent",
    "AlarmEventKind",
    "AlarmPolicy",
    "AlarmSnapshot",
    "AlarmStatus",
    "AlarmTimings",
    "AudioStatus",
    "Baseline",
    "BaselineRule",
    "Direction",
    "LimitChange",
    "LimitError",
    "LimitOverride",
    "LimitRule",
    "Priority",
    "RepeatRequest",
    "TechnicalAlarmKind",
    "ThresholdProfile",
    "diff_profiles",
]
