"""The FLOAT-Type of protocols.md 1.4: 8-bit exponent, 24-bit mantissa, special values.

Its own module because both directions (decoder and simulator encoder) and the reading flags of
the special values must agree exactly, and are tested as a pair.
"""

from __future__ import annotations

import enum
from typing import Final

from devices.model import ReadingFlag

# --------------------------------------------------------------------------------------------
# FLOAT-Type (1.4)
# --------------------------------------------------------------------------------------------


class FloatSpecial(enum.Enum):
    """The reserved mantissas of FLOAT-Type: markers, never numbers."""

    NAN = 0x7FFFFF
    NRES = 0x800000
    POS_INF = 0x7FFFFE
    NEG_INF = 0x800002
    RESERVED = 0x800001


#: What each special value means for a reading.
FLOAT_SPECIAL_FLAGS: Final[dict[FloatSpecial, ReadingFlag]] = {
    FloatSpecial.NAN: ReadingFlag.INVALID,
    FloatSpecial.NRES: ReadingFlag.INVALID,
    FloatSpecial.RESERVED: ReadingFlag.INVALID,
    FloatSpecial.POS_INF: ReadingFlag.OVER_RANGE,
    FloatSpecial.NEG_INF: ReadingFlag.UNDER_RANGE,
}

_SPECIAL_MANTISSAS: Final = {member.value: member for member in FloatSpecial}
#: Largest mantissa magnitude an encoder may use (the values above are reserved).
FLOAT_MAX_MANTISSA: Final = 8_388_605


def decode_float(raw: int) -> float | FloatSpecial:
    """Decode a 32-bit FLOAT-Type: ``i8`` exponent, ``i24`` mantissa, value = m × 10^e.

    Special mantissas are checked on the 24-bit field whatever the exponent, as MDL does (1.4);
    VSC-MP compares the whole word and would read ``01 7F FF FF`` as a huge number.
    """
    if not 0 <= raw <= 0xFFFFFFFF:
        raise ValueError(f"FLOAT-Type {raw!r} is not a u32")
    mantissa = raw & 0xFFFFFF
    special = _SPECIAL_MANTISSAS.get(mantissa)
    if special is not None:
        return special
    exponent = raw >> 24
    if exponent >= 0x80:
        exponent -= 0x100
    if mantissa >= 0x800000:
        mantissa -= 0x1000000
    if exponent >= 0:
        return float(mantissa * int(10**exponent))
    # Division keeps 368e-1 at 36.8 instead of 36.800000000000004.
    return mantissa / int(10**-exponent)


def encode_float(value: float | FloatSpecial) -> int:
    """Encode a number (or a special value) as FLOAT-Type.

    Integers go out with exponent 0 (1.4); other numbers with the smallest negative exponent
    that represents them exactly (36.8 -> ``FF 00 01 70``), or else with the finest exponent
    whose mantissa still fits (rounded).  Very large numbers get a positive exponent.

    Raises:
        ValueError: NaN/infinite floats (send a :class:`FloatSpecial`) or magnitudes beyond
            FLOAT-Type's range.
    """
    if isinstance(value, FloatSpecial):
        return value.value
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} must be sent as a FloatSpecial")
    exponent = 0
    mantissa_f = float(value)
    while abs(round(mantissa_f)) > FLOAT_MAX_MANTISSA:
        exponent += 1
        if exponent > 127:
            raise ValueError(f"{value!r} is outside the FLOAT-Type range")
        mantissa_f = value / 10**exponent
    if exponent == 0:
        for candidate in range(0, 128):
            scaled = value * 10**candidate
            if abs(round(scaled)) > FLOAT_MAX_MANTISSA:
                break
            exponent = -candidate
            mantissa_f = scaled
            # Exact when the decoder's own arithmetic gives the value back.
            if round(scaled) / int(10**candidate) == value:
                break
    mantissa = round(mantissa_f)
    return ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)
