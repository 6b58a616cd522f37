"""An alarm as the engine lists it, for tests that set a chair's alarm list by hand."""

from __future__ import annotations

from datetime import timedelta

from console.domain.alarm_engine import AlarmStatus
from console.domain.alarm_rules import AlarmCategory, Direction
from console.domain.alarms import Priority
from console.services.chair_service import ChairService
from devices.model import Metric


def sbp_high(
    chair: ChairService,
    minutes: float,
    *,
    active: bool = True,
    priority: Priority = Priority.MEDIUM,
) -> AlarmStatus:
    """A high systolic alarm with its onset ``minutes`` into ``chair``'s session; ended but
    latched when not ``active``."""
    onset = chair.session_start + timedelta(minutes=minutes)
    return AlarmStatus(
        key="NIBP_SYS:high",
        category=AlarmCategory.PHYSIOLOGICAL,
        priority=priority,
        onset=onset,
        condition_start=onset,
        message="SBP 185 > 180",
        value=185.0,
        limit=180.0,
        metric=Metric.NIBP_SYS,
        direction=Direction.HIGH,
        technical_kind=None,
        tile_metric=Metric.NIBP_SYS,
        condition_active=active,
        latched=not active,
        acknowledged_by=None,
        acknowledged_at=None,
        audio_paused_until=None,
        escalated_unanswered=False,
    )
