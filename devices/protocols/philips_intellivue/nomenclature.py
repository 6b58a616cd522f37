"""Physiological ids, unit codes and the measurement-state rule (protocols.md 1.10, 1.11).

The mapping from IntelliVue codes to console metrics and UCUM units lives here, with the
validity rule, so that the decoder and the simulator read them from one table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from devices.model import Metric, ReadingFlag

# --------------------------------------------------------------------------------------------
# Physiological ids, units and measurement state (1.10, 1.11)
# --------------------------------------------------------------------------------------------

NOM_ECG_CARD_BEAT_RATE: Final = 0x4182
NOM_ECG_CARD_BEAT_RATE_BTB: Final = 0x418A
NOM_PRESS_BLD_NONINV: Final = 0x4A04
NOM_PRESS_BLD_NONINV_SYS: Final = 0x4A05
NOM_PRESS_BLD_NONINV_DIA: Final = 0x4A06
NOM_PRESS_BLD_NONINV_MEAN: Final = 0x4A07
NOM_PRESS_BLD_NONINV_PULS_RATE: Final = 0xF0E5
NOM_PULS_OXIM_SAT_O2: Final = 0x4BB8
NOM_PLETH_PULS_RATE: Final = 0x4822
NOM_PULS_RATE: Final = 0x480A
NOM_PULS_OXIM_PERF_REL: Final = 0x4BB0
NOM_RESP_RATE: Final = 0x500A
NOM_AWAY_RESP_RATE: Final = 0x5012
NOM_TEMP: Final = 0x4B48

#: Physio id -> (metric, preference).  When one poll result carries several sources of the same
#: metric, the valid one with the lowest preference wins: airway (CO2) respiration rate over
#: ECG impedance, as for Datex (protocols.md 2.6), and the SpO2 pleth pulse over the generic one.
#: HR beat-to-beat and the NIBP pulse rate are deliberately unmapped: they are separate
#: measurements that would otherwise interleave with HR/PR at a different cadence.
PHYSIO_METRICS: Final[dict[int, tuple[Metric, int]]] = {
    NOM_ECG_CARD_BEAT_RATE: (Metric.HR, 0),
    NOM_PLETH_PULS_RATE: (Metric.PR, 0),
    NOM_PULS_RATE: (Metric.PR, 1),
    NOM_PULS_OXIM_SAT_O2: (Metric.SPO2, 0),
    NOM_AWAY_RESP_RATE: (Metric.RR, 0),
    NOM_RESP_RATE: (Metric.RR, 1),
    NOM_PRESS_BLD_NONINV_SYS: (Metric.NIBP_SYS, 0),
    NOM_PRESS_BLD_NONINV_DIA: (Metric.NIBP_DIA, 0),
    NOM_PRESS_BLD_NONINV_MEAN: (Metric.NIBP_MEAN, 0),
    NOM_TEMP: (Metric.TEMP, 0),
}

# Unit codes (partition 4, 1.10)
NOM_DIM_NOS: Final = 0x0000
NOM_DIM_DIMLESS: Final = 0x0200
NOM_DIM_PERCENT: Final = 0x0220
NOM_DIM_BEAT_PER_MIN: Final = 0x0AA0
NOM_DIM_PULS_PER_MIN: Final = 0x0AC0
NOM_DIM_RESP_PER_MIN: Final = 0x0AE0
NOM_DIM_PER_MIN: Final = 0x09E0
NOM_DIM_MMHG: Final = 0x0F20
NOM_DIM_KILO_PASCAL: Final = 0x0F03
NOM_DIM_DEGC: Final = 0x17A0
NOM_DIM_FAHR: Final = 0x1140

#: mmHg per kPa.
_MMHG_PER_KPA: Final = 7.500617


def _identity(value: float) -> float:
    return value


def _kpa_to_mmhg(value: float) -> float:
    return value * _MMHG_PER_KPA


def _fahrenheit_to_celsius(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


#: unit_code -> (UCUM unit the console uses, conversion into it).  Never assume a unit: a
#: monitor configured for kPa or °F sends those codes (1.10 "Always convert using unit_code").
UNIT_CONVERSIONS: Final[dict[int, tuple[str, Callable[[float], float]]]] = {
    NOM_DIM_BEAT_PER_MIN: ("/min", _identity),
    NOM_DIM_PULS_PER_MIN: ("/min", _identity),
    NOM_DIM_RESP_PER_MIN: ("/min", _identity),
    NOM_DIM_PER_MIN: ("/min", _identity),
    NOM_DIM_PERCENT: ("%", _identity),
    NOM_DIM_MMHG: ("mm[Hg]", _identity),
    NOM_DIM_KILO_PASCAL: ("mm[Hg]", _kpa_to_mmhg),
    NOM_DIM_DEGC: ("Cel", _identity),
    NOM_DIM_FAHR: ("Cel", _fahrenheit_to_celsius),
}


def to_ucum(value: float, unit_code: int, ucum: str) -> float | None:
    """Convert ``value`` sent in ``unit_code`` into the UCUM unit ``ucum``.

    Returns:
        The converted value (rounded to 4 decimals so a unit conversion does not invent
        precision noise), or None when the code is unknown or measures something else.
    """
    entry = UNIT_CONVERSIONS.get(unit_code)
    if entry is None or entry[0] != ucum:
        return None
    return round(entry[1](value), 4)


# MeasurementState bits (1.11)
MSMT_INVALID: Final = 0x8000
MSMT_QUESTIONABLE: Final = 0x4000
MSMT_UNAVAILABLE: Final = 0x2000
MSMT_CALIBRATION_ONGOING: Final = 0x1000
MSMT_TEST_DATA: Final = 0x0800
MSMT_DEMO_DATA: Final = 0x0400
MSMT_VALIDATED_DATA: Final = 0x0080
MSMT_EARLY_INDICATION: Final = 0x0040
MSMT_ONGOING: Final = 0x0020
MSMT_STATE_IN_ALARM: Final = 0x0002
MSMT_STATE_AL_INHIBITED: Final = 0x0001
#: "A measurement is valid only if the first (high) octet of state is 0" (1.11, PIPG-77).
MSMT_INVALIDATING_MASK: Final = 0xFF00

#: State bit -> the flag recorded with the reading, in a fixed order so flags compare in tests.
#: Test data is reported as DEMO: neither is ever patient data (1.11).
STATE_FLAGS: Final[tuple[tuple[int, ReadingFlag], ...]] = (
    (MSMT_INVALID, ReadingFlag.INVALID),
    (MSMT_UNAVAILABLE, ReadingFlag.INVALID),
    (MSMT_QUESTIONABLE, ReadingFlag.QUESTIONABLE),
    (MSMT_CALIBRATION_ONGOING, ReadingFlag.NOT_CALIBRATED),
    (MSMT_DEMO_DATA, ReadingFlag.DEMO),
    (MSMT_TEST_DATA, ReadingFlag.DEMO),
    (MSMT_ONGOING, ReadingFlag.MEASURING),
)


def state_flags(state: int) -> tuple[ReadingFlag, ...]:
    """Flags for a MeasurementState word, without duplicates.

    Undocumented bits of the high octet still invalidate the value (the guide's rule is about
    the whole octet), so they give INVALID too.
    """
    if not state:
        return ()  # the usual case, answered without walking the table
    flags: list[ReadingFlag] = []
    known_high = 0
    for bit, flag in STATE_FLAGS:
        known_high |= bit & MSMT_INVALIDATING_MASK
        if state & bit and flag not in flags:
            flags.append(flag)
    if state & MSMT_INVALIDATING_MASK & ~known_high and ReadingFlag.INVALID not in flags:
        flags.insert(0, ReadingFlag.INVALID)
    return tuple(flags)


def state_is_valid(state: int) -> bool:
    """True when the MeasurementState allows the value to be used as patient data (1.11)."""
    return state & MSMT_INVALIDATING_MASK == 0
