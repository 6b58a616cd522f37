"""What a chair's session is made of, as plain values: the nurse's plan, the infusion's
progress, the alarms and values as the screen shows them.

Kept apart from :mod:`console.services.chair_service` (issue 13): these are Qt-free values
that the dialogs, the overview, the headless ``run`` and the tests use without a chair.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from console.domain.alarm_engine import AlarmStatus
from console.domain.alarms import AlarmCategory, Priority
from console.domain.esketamine import DEVICE_MG, DEVICE_SPACING_MIN, SessionIntake, SessionType
from console.domain.session import EventKind, SessionEvent, SessionLifecycle
from console.storage.repository import PatientRecord
from devices.model import Metric

#: How the discharge items (SessionPolicy.discharge_items) read on screen (clinical.md F 29).
DISCHARGE_LABELS: dict[str, str] = {
    "vitals_stable": "vitals stable, back toward baseline",
    "alert_and_oriented": "alert and oriented (pre-treatment verbalization, movement)",
    "dissociation_resolved": "sedation and dissociation resolved",
    "escort_present": "responsible adult escort present",
    "instructions_given": "written instructions given (no driving for 24 h)",
}
#: The same items in a few words, for the timeline strip.
DISCHARGE_SHORT: dict[str, str] = {
    "vitals_stable": "vitals stable",
    "alert_and_oriented": "alert and oriented",
    "dissociation_resolved": "dissociation resolved",
    "escort_present": "escort",
    "instructions_given": "instructions",
}


class ResumePolicy(enum.StrEnum):
    """What :meth:`ChairService.start` does with the chair's unfinished session."""

    ASK = "ask"
    """Monitor at once, hold the data, and wait for :meth:`ChairService.decide_resume`."""
    RESUME = "resume"
    """Continue the newest unfinished session (headless restarts, tests)."""
    NEW = "new"
    """Close the unfinished sessions and open a new one."""


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """What the start-session dialog collects: patient, weight, dose, infusion, pump, limits.

    The dose in mg and the pump rate are computed, never typed (clinical.md A 1: a typed total
    is where 10x errors come from).
    """

    mrn: str
    display_name: str
    weight_kg: float
    weight_measured_on: date
    dose_mg_per_kg: float
    volume_ml: float = 100.0
    infusion_min: float = 40.0
    route: str = "IV"
    pump: str = ""
    profile: str = "clinic default"
    #: IV ketamine or intranasal esketamine (issue 17); the IV fields above are unused for an
    #: esketamine session (but the weight is still recorded on the patient).
    session_type: SessionType = SessionType.IV_KETAMINE
    #: Esketamine: 56 or 84 mg, and the devices' lot number.
    esketamine_dose_mg: float = 0.0
    lot: str = ""
    #: The start-of-session answers (concomitant medications, setting, date of birth, sex).
    intake: SessionIntake | None = None

    @property
    def esketamine(self) -> bool:
        """True for an intranasal esketamine session."""
        return self.session_type is SessionType.ESKETAMINE

    @property
    def dose_mg(self) -> float:
        """Total planned dose (mg)."""
        if self.esketamine:
            return self.esketamine_dose_mg
        return round(self.weight_kg * self.dose_mg_per_kg, 2)

    @property
    def rate_ml_per_h(self) -> float:
        """Pump rate that delivers the bag over the planned duration (mL/h)."""
        return round(self.volume_ml / self.infusion_min * 60.0, 1) if self.infusion_min else 0.0

    def data(self) -> dict[str, Any]:
        """The plan's extras as JSON-able values (stored with the plan note for resume)."""
        return {
            "plan": "session",
            "mrn": self.mrn,
            "volume_ml": self.volume_ml,
            "infusion_min": self.infusion_min,
            "pump": self.pump,
            "profile": self.profile,
            **({"session_type": self.session_type.value} if self.esketamine else {}),
        }

    def summary(self) -> str:
        """One line for the record and the screen."""
        if self.esketamine:
            devices = round(self.esketamine_dose_mg / DEVICE_MG)
            return (
                f"plan: esketamine {self.esketamine_dose_mg:g} mg intranasal ({devices} x "
                f"{DEVICE_MG:g} mg devices, {DEVICE_SPACING_MIN:g} min apart), lot {self.lot}; "
                f"limits: {self.profile}"
            )
        pump = f"; pump {self.pump}" if self.pump else ""
        return (
            f"plan: {self.dose_mg_per_kg:g} mg/kg x {self.weight_kg:g} kg = {self.dose_mg:g} mg "
            f"{self.route} in {self.volume_ml:g} mL over {self.infusion_min:g} min "
            f"at {self.rate_ml_per_h:g} mL/h; limits: {self.profile}{pump}"
        )


@dataclass(frozen=True, slots=True)
class InfusionProgress:
    """How far the infusion is, integrated from the pump events (pauses and rate changes)."""

    running_s: float
    infused_ml: float
    volume_ml: float
    remaining_min: float | None
    dose_given_mg: float | None


def infusion_progress(
    events: Iterable[SessionEvent], *, volume_ml: float, dose_mg: float, now: datetime
) -> InfusionProgress:
    """Integrate the pump's rate over its running time from the lifecycle events.

    Why from events: the record is the single truth after a restart, and a pause or a rate
    change moves the end of the infusion; the remaining time is what is left of the bag at the
    current rate.

    Args:
        events: the session's events in time order.
        volume_ml: the bag's volume.
        dose_mg: the dose the full bag holds.
        now: evaluate up to this time (the stop time once stopped).
    """
    rate: float | None = None
    since: datetime | None = None
    running_s = infused = 0.0
    for ev in events:
        kind = ev.kind
        if kind in (EventKind.INFUSION_START, EventKind.INFUSION_RESUME):
            rate = ev.rate_ml_per_h if ev.rate_ml_per_h is not None else rate
            since = ev.at
        elif kind == EventKind.RATE_CHANGE:
            if since is not None and rate is not None:
                dt = (ev.at - since).total_seconds()
                running_s += dt
                infused += rate * dt / 3600.0
                since = ev.at
            rate = ev.rate_ml_per_h
        elif kind in (EventKind.INFUSION_PAUSE, EventKind.INFUSION_STOP):
            if since is not None and rate is not None:
                dt = (ev.at - since).total_seconds()
                running_s += dt
                infused += rate * dt / 3600.0
            since = None
    if since is not None and rate is not None:
        dt = max(0.0, (now - since).total_seconds())
        running_s += dt
        infused += rate * dt / 3600.0
    infused = min(infused, volume_ml)
    left = volume_ml - infused
    remaining = left / rate * 60.0 if rate else None
    given = round(dose_mg * infused / volume_ml, 2) if volume_ml > 0 else None
    return InfusionProgress(running_s, infused, volume_ml, remaining, given)


@dataclass(frozen=True, slots=True)
class ShownAlarm:
    """A listed alarm as the screen shows it, grouped under a parameter tile.

    ``metric`` is the tile the alarm belongs to: the parameter of a physiological alarm, or the
    parameter a technical alarm concerns (SpO2 for sensor off, NIBP for NIBP overdue, the
    flagged metric for an invalid value).  Alarms about no parameter (communication lost) are
    in :attr:`ChairService.alarm_list` only.
    """

    key: str
    metric: Metric
    priority: Priority
    onset: datetime
    value: float | None
    message: str
    category: AlarmCategory = AlarmCategory.PHYSIOLOGICAL
    condition_start: datetime | None = None
    limit: float | None = None
    latched: bool = False
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    audio_paused_until: datetime | None = None

    @classmethod
    def from_status(cls, status: AlarmStatus, metric: Metric) -> ShownAlarm:
        """The screen's view of an engine alarm status."""
        return cls(
            status.key,
            metric,
            status.priority,
            status.onset,
            status.value,
            status.message,
            status.category,
            status.condition_start,
            status.limit,
            status.latched,
            status.acknowledged_by,
            status.acknowledged_at,
            status.audio_paused_until,
        )


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The newest usable value of a metric and when it arrived (session seconds)."""

    value: float
    received_at: datetime
    device_time: datetime | None


def plan_from(life: SessionLifecycle, patient: PatientRecord | None) -> SessionPlan | None:
    """The start-session plan of a resumed session, from its plan note (or sensible guesses)."""
    extras: dict[str, Any] = {}
    for ev in life.events:
        if ev.kind == EventKind.NOTE and ev.data.get("plan") == "session":
            extras = ev.data
    if life.esketamine is not None:
        return SessionPlan(
            mrn=str(extras.get("mrn", patient.mrn if patient else "")),
            display_name=patient.display_name if patient else "",
            weight_kg=patient.weight_kg or 0.0 if patient else 0.0,
            weight_measured_on=(patient.weight_measured_on if patient else None) or date.today(),
            dose_mg_per_kg=0.0,
            infusion_min=float(extras.get("infusion_min", DEVICE_SPACING_MIN)),
            profile=str(extras.get("profile", "clinic default")),
            session_type=SessionType.ESKETAMINE,
            esketamine_dose_mg=life.esketamine.dose_mg,
            lot=life.esketamine.lot,
        )
    if life.plan is None:
        return None
    p = life.plan
    infusion_min = float(extras.get("infusion_min", 40.0))
    return SessionPlan(
        mrn=str(extras.get("mrn", patient.mrn if patient else "")),
        display_name=patient.display_name if patient else "",
        weight_kg=p.weight_kg,
        weight_measured_on=p.weight_measured_on,
        dose_mg_per_kg=p.dose_mg_per_kg,
        volume_ml=float(extras.get("volume_ml", p.rate_ml_per_h * infusion_min / 60.0)),
        infusion_min=infusion_min,
        route=p.route,
        pump=str(extras.get("pump", "")),
        profile=str(extras.get("profile", "clinic default")),
    )
