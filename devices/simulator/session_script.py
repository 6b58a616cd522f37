"""The session a scenario scripts on the record (issue 17): an esketamine session's devices,
lot, end checks and ready-to-leave time, and the start-of-session answers.

The simulator itself never acts on a record; ``python main.py run`` reads these tables and
takes the steps through the console's session rules at their session times, so a headless run
leaves the record a REMS form is filled from.  Plain values only (devices/ knows nothing of the
console): the console's rules check them when the run takes the steps.

TOML::

    [esketamine]
    dose_mg = 56                       # 56 (2 devices) or 84 (3 devices)
    lot = "SIM-ESK-24A"
    devices_at_min = [5, 10]           # session minutes of each device
    ready_to_leave_min = 120           # when the patient was ready to leave
    discharge_min = 127                # end of monitoring: the session is closed then
    occurred = []                      # effects seen: "sedation", "dissociation",
                                       # "respiratory_depression" (all resolved by the end)

    [intake]                           # the start-of-session answers (IV or esketamine)
    medications_yes = []               # any of: benzodiazepines,
                                       # non_benzodiazepine_sedative_hypnotics,
                                       # psychostimulants, maois, opioids (the rest are "No")
    setting_name = "Simulated clinic"
    setting_type = "outpatient clinic"
    date_of_birth = "1975-06-14"
    sex = "female"
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

#: Longest session a script may describe (minutes), as for the scenario itself.
_MAX_MIN = 24 * 60


class SessionScriptError(ValueError):
    """A scripted session table is wrong; the message names the key."""


@dataclass(frozen=True, slots=True)
class EsketamineScript:
    """An esketamine session's scripted steps, in session seconds."""

    dose_mg: float
    lot: str
    devices_at_s: tuple[float, ...]
    ready_to_leave_s: float
    discharge_s: float
    occurred: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IntakeScript:
    """The start-of-session answers a run records."""

    medications_yes: tuple[str, ...]
    setting_name: str
    setting_type: str
    date_of_birth: date | None
    sex: str | None


def _minutes(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SessionScriptError(f"{key} must be a number of minutes, got {value!r}")
    if not math.isfinite(value) or not 0 <= value <= _MAX_MIN:
        raise SessionScriptError(f"{key} must be within 0-{_MAX_MIN} min, got {value!r}")
    return float(value) * 60.0


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SessionScriptError(f"{key} must be a list of names")
    return tuple(value)


def parse_esketamine(table: Any, where: str) -> EsketamineScript:
    """The ``[esketamine]`` table.

    Raises:
        SessionScriptError: a missing or wrong key (named with ``where``).
    """
    if not isinstance(table, dict):
        raise SessionScriptError(f"{where}: [esketamine] must be a table")
    at = f"{where}: esketamine"
    dose = table.get("dose_mg")
    if isinstance(dose, bool) or not isinstance(dose, int | float):
        raise SessionScriptError(f"{at}.dose_mg must be a number, got {dose!r}")
    lot = table.get("lot")
    if not isinstance(lot, str) or not lot.strip():
        raise SessionScriptError(f"{at}.lot is required (the devices' lot number)")
    raw_devices = table.get("devices_at_min")
    if not isinstance(raw_devices, list) or not raw_devices:
        raise SessionScriptError(f"{at}.devices_at_min must list each device's session minute")
    devices = tuple(_minutes(m, f"{at}.devices_at_min") for m in raw_devices)
    if list(devices) != sorted(devices):
        raise SessionScriptError(f"{at}.devices_at_min must be in time order")
    ready = _minutes(table.get("ready_to_leave_min"), f"{at}.ready_to_leave_min")
    discharge = _minutes(table.get("discharge_min"), f"{at}.discharge_min")
    if not devices[0] <= ready <= discharge:
        raise SessionScriptError(
            f"{at}: ready_to_leave_min must be between the first device and discharge_min"
        )
    return EsketamineScript(
        dose_mg=float(dose),
        lot=lot.strip(),
        devices_at_s=devices,
        ready_to_leave_s=ready,
        discharge_s=discharge,
        occurred=_strings(table.get("occurred", []), f"{at}.occurred"),
    )


def parse_intake(table: Any, where: str) -> IntakeScript:
    """The ``[intake]`` table.

    Raises:
        SessionScriptError: a wrong key (named with ``where``).
    """
    if not isinstance(table, dict):
        raise SessionScriptError(f"{where}: [intake] must be a table")
    at = f"{where}: intake"
    dob = table.get("date_of_birth")
    born: date | None = None
    if dob is not None:
        try:
            born = dob if isinstance(dob, date) else date.fromisoformat(str(dob))
        except ValueError:
            raise SessionScriptError(
                f"{at}.date_of_birth must be YYYY-MM-DD, got {dob!r}"
            ) from None
    sex = table.get("sex")
    if sex is not None and not isinstance(sex, str):
        raise SessionScriptError(f"{at}.sex must be text, got {sex!r}")
    name = table.get("setting_name", "")
    kind = table.get("setting_type", "")
    if not isinstance(name, str) or not isinstance(kind, str):
        raise SessionScriptError(f"{at}.setting_name and setting_type must be text")
    return IntakeScript(
        medications_yes=_strings(table.get("medications_yes", []), f"{at}.medications_yes"),
        setting_name=name,
        setting_type=kind,
        date_of_birth=born,
        sex=sex,
    )


__all__ = [
    "EsketamineScript",
    "IntakeScript",
    "SessionScriptError",
    "parse_esketamine",
    "parse_intake",
]
