"""Intranasal esketamine (Spravato) sessions, and the start-of-session data of both types.

Issue 17: a ketamine clinic also gives esketamine, whose rules differ from the IV infusion's
(clinical.md section 0, C 13, F 28, F 31, G 32):

* the dose is 56 mg or 84 mg, i.e. 2 or 3 nasal devices of 28 mg, one every 5 minutes; each
  device is recorded with its time, and a device given sooner than 5 minutes after the last
  is recorded with a warning (the nurse may have a reason; the record must show it);
* the lot number is recorded (the REMS form asks for it);
* blood pressure is checked before dosing, at about 40 minutes after the first device, and
  before the end of monitoring (three checkpoints instead of the IV session's one);
* the patient is observed for at least 2 hours from the first device; the end checks
  (sedation, dissociation and respiratory depression resolved) and the time the patient was
  ready to leave are recorded.

At the start of every session (IV or esketamine) the REMS form's other questions are asked:
the concomitant medications (each Yes/No), the healthcare setting, the patient's date of birth
and sex: :class:`SessionIntake`.

Qt- and SQL-free; times are passed in, so the rules are exact in tests and replays.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from console.domain.checkpoint import CHECKPOINT_WINDOW_MIN, SAME_READING_MIN


class EsketamineRuleError(ValueError):
    """An esketamine or start-of-session entry breaks a rule; the message says which."""


class SessionType(enum.StrEnum):
    """What the session gives; the values are stored and must never be renamed."""

    IV_KETAMINE = "iv_ketamine"
    ESKETAMINE = "esketamine"

    @property
    def label(self) -> str:
        """How the dialog and the review name it."""
        return {
            SessionType.IV_KETAMINE: "IV ketamine infusion",
            SessionType.ESKETAMINE: "Intranasal esketamine (Spravato)",
        }[self]


#: Esketamine per nasal device (mg).
DEVICE_MG = 28.0
#: The doses the label allows (mg): 2 or 3 devices.
DOSES_MG = (56.0, 84.0)
#: Minutes between two devices (the label's "wait 5 minutes between devices").
DEVICE_SPACING_MIN = 5.0
#: Minimum observation from the first device (minutes; clinical.md F 28).
OBSERVATION_MIN = 120.0
#: The "before the end of monitoring" BP must be taken at most this long before the end.
BEFORE_END_WINDOW_MIN = 30.0

#: The REMS form's concomitant medications, each answered Yes/No (clinical.md b 7).
CONCOMITANT_MEDICATIONS: dict[str, str] = {
    "benzodiazepines": "Benzodiazepines",
    "non_benzodiazepine_sedative_hypnotics": "Non-benzodiazepine sedative hypnotics",
    "psychostimulants": "Psychostimulants",
    "maois": "Monoamine oxidase inhibitors (MAOIs)",
    "opioids": "Opioids",
}
#: Healthcare setting types (the REMS-certified setting the session takes place in).
SETTING_TYPES = ("outpatient clinic", "physician office", "hospital outpatient", "other")
#: Sex as recorded on the patient (the REMS form's patient identity).
SEXES = ("female", "male", "other", "unknown")

#: The end checks of an esketamine session: what occurred and whether it resolved.
END_CHECK_EFFECTS: dict[str, str] = {
    "sedation": "sedation",
    "dissociation": "dissociation",
    "respiratory_depression": "respiratory depression",
}


@dataclass(frozen=True, slots=True)
class SessionIntake:
    """What the nurse answers at the start of every session (both types).

    The REMS form needs every answer of an esketamine session; an IV session may leave them
    unanswered (None: "not asked"), so a clinic that does not use them is not held up.

    Attributes:
        session_type: IV ketamine or intranasal esketamine.
        medications: each of :data:`CONCOMITANT_MEDICATIONS` answered True (Yes), False (No)
            or None / absent (not asked; IV only).
        setting_name: the healthcare setting's name (e.g. "Northside Ketamine Clinic").
        setting_type: one of :data:`SETTING_TYPES` ("" when not given; IV only).
        date_of_birth, sex: the patient's (stored on the patient).
    """

    session_type: SessionType
    medications: Mapping[str, bool | None]
    setting_name: str
    setting_type: str
    date_of_birth: date | None = None
    sex: str | None = None

    def validated(self, today: date) -> SessionIntake:
        """This intake when every answer is given and plausible.

        Raises:
            EsketamineRuleError: for esketamine, a medication unanswered or no setting; for
                both, an unknown medication, setting type or sex, or a date of birth in the
                future or more than 120 years ago.
        """
        unknown = sorted(set(self.medications) - set(CONCOMITANT_MEDICATIONS))
        if unknown:
            raise EsketamineRuleError(f"unknown concomitant medication(s): {', '.join(unknown)}")
        required = self.session_type is SessionType.ESKETAMINE
        missing = [
            label for k, label in CONCOMITANT_MEDICATIONS.items() if self.medications.get(k) is None
        ]
        if missing and required:
            raise EsketamineRuleError(f"answer Yes or No for: {', '.join(missing)}")
        if required and not self.setting_name.strip():
            raise EsketamineRuleError("the healthcare setting's name is required")
        if (required or self.setting_type) and self.setting_type not in SETTING_TYPES:
            raise EsketamineRuleError(
                f"setting type {self.setting_type!r} is not one of {', '.join(SETTING_TYPES)}"
            )
        if self.sex is not None and self.sex not in SEXES:
            raise EsketamineRuleError(f"sex {self.sex!r} is not one of {', '.join(SEXES)}")
        dob = self.date_of_birth
        if dob is not None and (dob > today or today.year - dob.year > 120):
            raise EsketamineRuleError(f"date of birth {dob.isoformat()} is not plausible")
        return self

    def medication_text(self) -> str:
        """``Benzodiazepines: No; ...; Opioids: Yes`` for the record and the review."""
        answer = {True: "Yes", False: "No", None: "not asked"}
        return "; ".join(
            f"{label}: {answer[self.medications.get(k)]}"
            for k, label in CONCOMITANT_MEDICATIONS.items()
        )


@dataclass(frozen=True, slots=True)
class EsketaminePlan:
    """The dose (56 or 84 mg) and the lot of the devices used."""

    dose_mg: float
    lot: str

    @property
    def devices(self) -> int:
        """Number of 28 mg devices the dose takes (2 or 3)."""
        return round(self.dose_mg / DEVICE_MG)


def esketamine_plan(dose_mg: float, lot: str) -> EsketaminePlan:
    """A checked plan.

    Raises:
        EsketamineRuleError: a dose other than 56 or 84 mg, or no lot number.
    """
    if not any(math.isclose(dose_mg, d) for d in DOSES_MG):
        doses = " or ".join(f"{d:g} mg" for d in DOSES_MG)
        raise EsketamineRuleError(f"esketamine dose {dose_mg:g} mg: give {doses} (28 mg devices)")
    lot = lot.strip()
    if not lot:
        raise EsketamineRuleError("the lot number of the devices is required")
    return EsketaminePlan(float(dose_mg), lot)


@dataclass(frozen=True, slots=True)
class DeviceCheck:
    """The next device's number and, when it comes too soon, the warning recorded with it."""

    number: int
    of: int
    early_min: float | None = None

    @property
    def warning(self) -> str:
        """The warning text ("" when the spacing was kept)."""
        if self.early_min is None:
            return ""
        return (
            f"device {self.number} given {self.early_min:.1f} min early "
            f"(less than {DEVICE_SPACING_MIN:g} min after device {self.number - 1})"
        )


def check_device(plan: EsketaminePlan, given: Sequence[datetime], at: datetime) -> DeviceCheck:
    """Judge one more device at ``at`` after the devices ``given`` (in time order).

    Raises:
        EsketamineRuleError: every planned device is given already, or ``at`` is before the last.
    """
    if len(given) >= plan.devices:
        raise EsketamineRuleError(
            f"all {plan.devices} devices ({plan.dose_mg:g} mg) are given already"
        )
    number = len(given) + 1
    if not given:
        return DeviceCheck(number, plan.devices)
    since = (at - given[-1]).total_seconds() / 60.0
    if since < 0:
        raise EsketamineRuleError("a device cannot be given before the previous one")
    early = DEVICE_SPACING_MIN - since if since < DEVICE_SPACING_MIN else None
    return DeviceCheck(number, plan.devices, early)


def next_device_due(given: Sequence[datetime]) -> datetime | None:
    """When the next device may be given (5 min after the last), None before the first."""
    return given[-1] + timedelta(minutes=DEVICE_SPACING_MIN) if given else None


def observation_ends(first_device_at: datetime) -> datetime:
    """When the 2-hour observation from the first device is complete."""
    return first_device_at + timedelta(minutes=OBSERVATION_MIN)


@dataclass(frozen=True, slots=True)
class EndChecks:
    """The end of an esketamine session: what occurred, whether it resolved, and when the
    patient was ready to leave (REMS: "when would the patient have been ready")."""

    occurred: Mapping[str, bool]
    resolved: Mapping[str, bool]
    ready_to_leave_at: datetime

    def unresolved(self) -> list[str]:
        """The effects that occurred and are not resolved, by name."""
        return [
            label
            for k, label in END_CHECK_EFFECTS.items()
            if self.occurred.get(k) and not self.resolved.get(k)
        ]

    def data(self) -> dict[str, Any]:
        """JSON-able values (stored with the ``end_checks`` event)."""
        return {
            "occurred": {k: bool(self.occurred.get(k)) for k in END_CHECK_EFFECTS},
            "resolved": {k: bool(self.resolved.get(k)) for k in END_CHECK_EFFECTS},
            "ready_to_leave_at": self.ready_to_leave_at.isoformat(),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> EndChecks:
        """The inverse of :meth:`data`."""
        return cls(
            occurred=dict(data.get("occurred", {})),
            resolved=dict(data.get("resolved", {})),
            ready_to_leave_at=datetime.fromisoformat(str(data["ready_to_leave_at"])),
        )


def end_checks(
    occurred: Mapping[str, bool],
    resolved: Mapping[str, bool],
    ready_to_leave_at: datetime,
    *,
    first_device_at: datetime | None,
    now: datetime,
) -> EndChecks:
    """Checked end checks.

    Raises:
        EsketamineRuleError: an effect unanswered, or a ready-to-leave time before the first
            device or in the future.
    """
    for k, label in END_CHECK_EFFECTS.items():
        if k not in occurred:
            raise EsketamineRuleError(f"answer whether {label} occurred")
        if occurred[k] and k not in resolved:
            raise EsketamineRuleError(f"answer whether the {label} resolved")
    if first_device_at is not None and ready_to_leave_at < first_device_at:
        raise EsketamineRuleError("the ready-to-leave time is before the first device")
    if ready_to_leave_at > now:
        raise EsketamineRuleError("the ready-to-leave time is in the future")
    return EndChecks(dict(occurred), dict(resolved), ready_to_leave_at)


class Checkpoint(enum.StrEnum):
    """The three esketamine BP checkpoints; the values are field names of the record."""

    BEFORE_DOSING = "before_dosing"
    AT_40_MIN = "at_40_min"
    BEFORE_END = "before_end"

    @property
    def label(self) -> str:
        """How the strip and the review name it."""
        return {
            Checkpoint.BEFORE_DOSING: "BP before dosing",
            Checkpoint.AT_40_MIN: "BP at 40 min",
            Checkpoint.BEFORE_END: "BP before end of monitoring",
        }[self]


@dataclass(frozen=True, slots=True)
class BpReading:
    """A cuff reading answering a checkpoint: its time, SBP and DBP."""

    at: datetime
    sbp: float
    dbp: float | None

    def text(self, first_device_at: datetime | None = None) -> str:
        """``128/80 at 10:42`` (with ``+40 min`` after the first device when given)."""
        bp = f"{self.sbp:.0f}" + ("" if self.dbp is None else f"/{self.dbp:.0f}")
        if first_device_at is None:
            return f"{bp} at {self.at:%H:%M}"
        rel = (self.at - first_device_at).total_seconds() / 60.0
        return f"{bp} at {rel:+.0f} min"


Series = Sequence[tuple[datetime, float]]


def bp_checkpoints(
    first_device_at: datetime | None,
    end_at: datetime | None,
    sbp: Series,
    dbp: Series = (),
) -> dict[Checkpoint, BpReading | None]:
    """The readings answering the three checkpoints (None for one not answered).

    * before dosing: the last valid cuff reading before the first device;
    * at 40 min: the first valid reading 35-45 min after the first device (the IV rule of
      :mod:`console.domain.checkpoint`, counted from the first device);
    * before the end: the last valid reading in the :data:`BEFORE_END_WINDOW_MIN` before
      ``end_at`` (the end of monitoring; None while it is not known) and after the 40-min
      window opened.

    Args:
        first_device_at: the first device's time (None before dosing).
        end_at: the end of monitoring (ready to leave, discharge), if known.
        sbp, dbp: (time, value) cuff readings in time order; NaN marks a flagged value.
    """
    valid = [(t, v) for t, v in sbp if math.isfinite(v)]
    out: dict[Checkpoint, BpReading | None] = dict.fromkeys(Checkpoint)
    if first_device_at is None:
        before = valid
    else:
        before = [(t, v) for t, v in valid if t <= first_device_at]
    if before:
        out[Checkpoint.BEFORE_DOSING] = _reading(before[-1], dbp)
    if first_device_at is None:
        return out
    lo, hi = CHECKPOINT_WINDOW_MIN
    for t, v in valid:
        minutes = (t - first_device_at).total_seconds() / 60.0
        if lo <= minutes <= hi:
            out[Checkpoint.AT_40_MIN] = _reading((t, v), dbp)
            break
    if end_at is not None:
        start = max(end_at - timedelta(minutes=BEFORE_END_WINDOW_MIN), first_device_at)
        start = max(start, first_device_at + timedelta(minutes=lo))
        late = [(t, v) for t, v in valid if start <= t <= end_at]
        if late:
            out[Checkpoint.BEFORE_END] = _reading(late[-1], dbp)
    return out


def _reading(point: tuple[datetime, float], dbp: Series) -> BpReading:
    at, value = point
    best: tuple[float, float] | None = None
    for t, v in dbp:
        gap = abs((t - at).total_seconds()) / 60.0
        if gap <= SAME_READING_MIN and math.isfinite(v) and (best is None or gap < best[0]):
            best = (gap, v)
    return BpReading(at, float(value), None if best is None else float(best[1]))


def esketamine_discharge_reasons(
    *,
    plan: EsketaminePlan | None,
    devices_given: Sequence[datetime],
    checkpoints: Mapping[Checkpoint, BpReading | None],
    checks: EndChecks | None,
    now: datetime,
) -> list[str]:
    """What stands against discharge in an esketamine session, in plain words (none: may go).

    The 2-hour observation, the three BP checkpoints, the end checks and the ready-to-leave
    time: the REMS form cannot be completed without them.
    """
    reasons: list[str] = []
    if not devices_given:
        return ["no esketamine device given"]
    ends = observation_ends(devices_given[0])
    if now < ends:
        left = (ends - now).total_seconds() / 60.0
        reasons.append(
            f"{OBSERVATION_MIN:g} min observation from the first device not reached "
            f"({left:.0f} min left)"
        )
    if plan is not None and len(devices_given) < plan.devices:
        reasons.append(f"{len(devices_given)} of {plan.devices} devices recorded")
    for cp in Checkpoint:
        if checkpoints.get(cp) is None:
            reasons.append(f"no reading for the {cp.label}")
    if checks is None:
        reasons.append("end checks (sedation, dissociation, respiratory depression) not recorded")
    else:
        reasons.extend(f"{name} not resolved" for name in checks.unresolved())
    return reasons


@dataclass(frozen=True, slots=True)
class EsketamineRecord:
    """An esketamine session as stored, in the REMS form's terms (the reports read this).

    Attributes:
        dose_mg, devices_planned, lot: the plan.
        devices_given_at: each device's time, in order.
        device_warnings: the spacing warnings recorded with the devices.
        first_device_at: the first administration (REMS "time of first administration").
        end_of_monitoring_at: when monitoring ended (the close), None while open.
        monitoring_min: total minutes from the first device to the end of monitoring.
        bp_before_dosing, bp_at_40_min, bp_before_end: the three checkpoints' readings.
        end_checks: sedation / dissociation / respiratory depression occurred and resolved,
            and the ready-to-leave time; None when not recorded.
        ready_to_leave_min: minutes from the first device to ready-to-leave.
        vitals_acceptable_before_dosing: the pre-dose gate was clear at the first device (False:
            a physician reviewed or overrode it; None: no device given).
        vitals_acceptable_before_completion: the session closed with the discharge gate
            passed (False: a physician overrode it; None: not closed).
        monitored_by: who recorded the devices, end checks and close (the monitoring HCPs).
    """

    dose_mg: float
    devices_planned: int
    lot: str
    devices_given_at: tuple[datetime, ...]
    device_warnings: tuple[str, ...]
    first_device_at: datetime | None
    end_of_monitoring_at: datetime | None
    bp_before_dosing: BpReading | None
    bp_at_40_min: BpReading | None
    bp_before_end: BpReading | None
    end_checks: EndChecks | None
    vitals_acceptable_before_dosing: bool | None = None
    vitals_acceptable_before_completion: bool | None = None
    monitored_by: tuple[str, ...] = ()

    @property
    def monitoring_min(self) -> float | None:
        """Minutes from the first device to the end of monitoring (None while open)."""
        if self.first_device_at is None or self.end_of_monitoring_at is None:
            return None
        return (self.end_of_monitoring_at - self.first_device_at).total_seconds() / 60.0

    @property
    def ready_to_leave_min(self) -> float | None:
        """Minutes from the first device to the time the patient was ready to leave."""
        if self.first_device_at is None or self.end_checks is None:
            return None
        return (self.end_checks.ready_to_leave_at - self.first_device_at).total_seconds() / 60.0


__all__ = [
    "BEFORE_END_WINDOW_MIN",
    "CONCOMITANT_MEDICATIONS",
    "DEVICE_MG",
    "DEVICE_SPACING_MIN",
    "DOSES_MG",
    "END_CHECK_EFFECTS",
    "OBSERVATION_MIN",
    "SETTING_TYPES",
    "SEXES",
    "BpReading",
    "Checkpoint",
    "DeviceCheck",
    "EndChecks",
    "EsketaminePlan",
    "EsketamineRecord",
    "EsketamineRuleError",
    "SessionIntake",
    "SessionType",
    "bp_checkpoints",
    "check_device",
    "end_checks",
    "esketamine_discharge_reasons",
    "esketamine_plan",
    "next_device_due",
    "observation_ends",
]
