"""Data Export Interface Programming Guide, IntelliVue X2, MP Series & MX Series (4535 642 59271).

The IntelliVue "Data Export" protocol over the MIB/RS232 port, as specified in
``shared/protocols.md`` section 1 (no revision of the Philips guide was readable in full; the
section is the reference, and every rule below cites it):

* 1.2 the "fixed baudrate protocol" framing: ``C0`` BOF / ``C1`` EOF, ``7D`` escape with XOR
  0x20, a 4-byte frame header and the CRC-16/X-25 FCS sent least-significant byte first;
* 1.3/1.5 the association layer (request, result, refuse, release, abort) with its
  ``MDSEUserInfoStd`` and poll profile;
* 1.4 the encoding primitives (BE integers, lists, AVAs, FLOAT-Type, relative and BCD time);
* 1.6-1.9 the ROSE-style data export messages: MDS create event report and result, single and
  extended poll requests and results, linked (RORLS) results, ``NuObsValue`` and the compound
  ``NuObsValueCmp`` that carries NIBP;
* 1.10/1.11 the physiological and unit codes and the measurement-state validity rule.

No maintained library implements IntelliVue MIB for Python (the open implementations are C#,
Java and Go programs, none packaged), so this codec is hand-rolled.  It is sans-I/O: bytes in,
values out (and back, for the simulator), with no ports, threads, clocks, Qt or SQL, so every rule
is testable from ``shared/protocol_vectors/philips_intellivue`` (real client frames) and
``shared/protocol_vectors/spec_built/philips_intellivue`` (monitor messages built from the spec).
"""

from __future__ import annotations

import binascii
import enum
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final, NamedTuple

from devices.errors import ProtocolError
from devices.model import Metric, ReadingFlag

# --------------------------------------------------------------------------------------------
# Framing constants (protocols.md 1.2)
# --------------------------------------------------------------------------------------------

#: Beginning of frame.
BOF: Final = 0xC0
#: End of frame.
EOF: Final = 0xC1
#: Control escape: the next byte was XORed with :data:`ESC_XOR` by the sender.
ESC: Final = 0x7D
ESC_XOR: Final = 0x20
#: ``7D C1``: the sender abandons the frame in progress (1.2 "Frame abort").
FRAME_ABORT: Final = bytes((ESC, EOF))
#: Frame header: protocol id of Data Export and the one message type both layers use.
PROTOCOL_ID: Final = 0x11
MESSAGE_TYPE: Final = 0x01
FRAME_HEADER_LEN: Final = 4
FCS_LEN: Final = 2
#: Smallest frame: header + FCS with no user data.
MIN_FRAME_LEN: Final = FRAME_HEADER_LEN + FCS_LEN
#: Longest unescaped frame accepted; far above the 2500-byte receive MTU we announce (1.2).
MAX_FRAME_LEN: Final = 4096
#: CRC residue of a good frame when the FCS bytes are run through the CRC too (RFC 1662).
GOOD_FCS_RESIDUE: Final = 0xF0B8

# --------------------------------------------------------------------------------------------
# Message kinds (1.3) and data export constants (1.6-1.8)
# --------------------------------------------------------------------------------------------

CN_SPDU_SI: Final = 0x0D  # association request
AC_SPDU_SI: Final = 0x0E  # association result (accepted)
RF_SPDU_SI: Final = 0x0C  # association refuse
FN_SPDU_SI: Final = 0x09  # release request
DN_SPDU_SI: Final = 0x0A  # release result
AB_SPDU_SI: Final = 0x19  # abort
#: First user-data byte (high byte of session id 0xE100) of every data export message.
DATA_EXPORT: Final = 0xE1
SESSION_ID: Final = 0xE100
#: Presentation context id used with the association above (1.6).
P_CONTEXT_ID: Final = 2

ROIV_APDU: Final = 1
RORS_APDU: Final = 2
ROER_APDU: Final = 3
RORLS_APDU: Final = 5

CMD_EVENT_REPORT: Final = 0
CMD_CONFIRMED_EVENT_REPORT: Final = 1
CMD_GET: Final = 3
CMD_SET: Final = 4
CMD_CONFIRMED_SET: Final = 5
CMD_CONFIRMED_ACTION: Final = 7

RORLS_FIRST: Final = 1
RORLS_NOT_FIRST_NOT_LAST: Final = 2
RORLS_LAST: Final = 3

NOM_NOTI_MDS_CREAT: Final = 0x0D06
NOM_ACT_POLL_MDIB_DATA: Final = 0x0C16
NOM_ACT_POLL_MDIB_DATA_EXT: Final = 0xF13B

# Nomenclature partitions (1.4)
NOM_PART_OBJ: Final = 1
NOM_PART_SCADA: Final = 2
NOM_PART_DIM: Final = 4

# Object classes (1.8)
NOM_MOC_VMO_METRIC_NU: Final = 6
NOM_MOC_VMO_METRIC_SA_RT: Final = 9
NOM_MOC_VMO_METRIC_ENUM: Final = 5
NOM_MOC_VMS_MDS: Final = 0x21
NOM_MOC_PT_DEMOG: Final = 0x2A
NOM_MOC_VMO_AL_MON: Final = 0x36

# Attribute groups (1.8)
ATTR_GRP_ALL: Final = 0x0000
NOM_ATTR_GRP_METRIC_VAL_OBS: Final = 0x0803
NOM_ATTR_GRP_SYS_PROD: Final = 0x080C
NOM_ATTR_GRP_VMO_STATIC: Final = 0x0811

# Attribute ids (1.5, 1.7, 1.8, 1.9.3)
NOM_POLL_PROFILE_SUPPORT: Final = 0x0001
NOM_MDIB_OBJ_SUPPORT: Final = 0x0102
NOM_ATTR_POLL_PROFILE_EXT: Final = 0xF001
NOM_ATTR_ID_HANDLE: Final = 0x0921
NOM_ATTR_ID_LABEL: Final = 0x0924
NOM_ATTR_ID_LABEL_STRING: Final = 0x0927
NOM_ATTR_ID_MODEL: Final = 0x0928
NOM_ATTR_ID_TYPE: Final = 0x092F
NOM_ATTR_NU_CMPD_VAL_OBS: Final = 0x094B
NOM_ATTR_NU_VAL_OBS: Final = 0x0950
NOM_ATTR_SYS_ID: Final = 0x0984
NOM_ATTR_SYS_TYPE: Final = 0x0986
NOM_ATTR_TIME_ABS: Final = 0x0987
NOM_ATTR_TIME_REL: Final = 0x098F
NOM_ATTR_TIME_STAMP_ABS: Final = 0x0990
NOM_ATTR_TIME_STAMP_REL: Final = 0x0991
NOM_ATTR_UNIT_CODE: Final = 0x0996
NOM_ATTR_VMS_MDS_STAT: Final = 0x09A7
NOM_ATTR_TIME_PD_POLL: Final = 0xF13E
NOM_ATTR_POLL_OBJ_PRIO_NUM: Final = 0xF228

#: System type of a multi-parameter physiological monitor MDS (1.7).
SYS_TYPE_MULTI_PARAM_MONITOR: Final = 0x114D

# MDSEUserInfoStd values (1.5)
PROTOCOL_VERSION: Final = 0x80000000
NOMENCLATURE_VERSION: Final = 0x40000000
SYSTEM_TYPE_CLIENT: Final = 0x80000000
SYSTEM_TYPE_SERVER: Final = 0x00800000
STARTUP_COLD: Final = 0x20000000
POLL_PROFILE_REVISION: Final = 0x80000000
POLL_OPTION_DYN_CREATE: Final = 0x40000000
POLL_OPTION_DYN_DELETE: Final = 0x20000000
POLL_EXT_PERIOD_NU_1SEC: Final = 0x80000000
POLL_EXT_PERIOD_RTSA: Final = 0x08000000
#: max_bw_tx "unlimited".
UNLIMITED_BANDWIDTH: Final = 0xFFFFFFFF

#: RelativeTime ticks per second (1 tick = 125 µs, 1.4).
TICKS_PER_S: Final = 8000

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


# --------------------------------------------------------------------------------------------
# FCS and framing (1.2)
# --------------------------------------------------------------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _crc_table()
#: Each byte value with its 8 bits in reverse order (bit 0 <-> bit 7).
_BIT_REVERSED: Final = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def _reflect16(value: int) -> int:
    """``value`` (16 bits) with its bit order reversed."""
    return _BIT_REVERSED[value & 0xFF] << 8 | _BIT_REVERSED[value >> 8]


def crc16_x25_running(data: bytes, crc: int = 0xFFFF) -> int:
    """The running (uncomplemented) CRC of RFC 1662 over ``data``, starting from ``crc``."""
    if not 0 <= crc <= 0xFFFF:
        # Out-of-range start values keep the table loop's exact (if odd) arithmetic.
        for byte in data:
            crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
        return crc
    # Why not the table loop: a Python loop costs ~50 ns per byte, the largest single cost of
    # decoding.  CRC-16/X-25 is the bit-reflected form of CRC-CCITT (poly 0x1021), which
    # binascii.crc_hqx computes in C most-significant-bit first; reflecting every input byte, the
    # start value and the result turns one into the other exactly, giving the table loop's
    # value for every input (residue 0xF0B8 and check 0x906E included).
    raw = data if isinstance(data, bytes | bytearray) else bytes(data)  # e.g. a memoryview
    return _reflect16(binascii.crc_hqx(raw.translate(_BIT_REVERSED), _reflect16(crc)))


def fcs16(data: bytes) -> int:
    """CRC-16/X-25 of ``data``: the ones' complement of the running CRC (check 0x906E)."""
    return crc16_x25_running(data) ^ 0xFFFF


def _escape(data: bytes) -> bytes:
    # ESC first: escaping BOF/EOF introduces ESC bytes that must not be escaped again.
    return (
        data.replace(b"\x7d", b"\x7d\x5d")
        .replace(b"\xc0", b"\x7d\xe0")
        .replace(b"\xc1", b"\x7d\xe1")
    )


def frame_message(user_data: bytes) -> bytes:
    """Wrap one message for the wire: header, FCS (LSB first), transparency, BOF/EOF (1.2).

    Raises:
        ValueError: user data longer than the u16 length field (split into linked results).
    """
    if len(user_data) > 0xFFFF:
        raise ValueError(f"user data of {len(user_data)} bytes does not fit one frame")
    body = bytes((PROTOCOL_ID, MESSAGE_TYPE)) + _U16.pack(len(user_data)) + user_data
    fcs = fcs16(body)
    return bytes((BOF,)) + _escape(body + bytes((fcs & 0xFF, fcs >> 8))) + bytes((EOF,))


@dataclass(slots=True)
class FramerResult:
    """What one :meth:`IntelliVueFramer.feed` call completed.

    Attributes:
        messages: user data of each good frame (frame header and FCS removed), in order.
        errors: one :class:`ProtocolError` per rejected frame; ``raw`` holds the bytes between
            BOF and EOF exactly as received (still escaped), for the log's hex dump.
    """

    messages: list[bytes] = field(default_factory=list)
    errors: list[ProtocolError] = field(default_factory=list)


_DELIMITER = re.compile(b"[\xc0\xc1]")


class IntelliVueFramer:
    """Reassembles IntelliVue frames from arbitrary chunks (the 1.2 receiver state machine).

    ``HUNT`` skips everything up to a BOF; inside a frame a new BOF restarts the frame (the
    previous one was truncated and is reported), ``7D C1`` aborts it silently (the sender asked
    for that), and EOF ends it.  Escapes are undone only once the frame is complete, so an escape
    split across two reads costs nothing special.  Work happens per delimiter, so the result does
    not depend on how the stream was cut into chunks.

    Attributes:
        good_frames: frames delivered.
        bad_frames: frames rejected (each reported once in :attr:`FramerResult.errors`).
        aborted_frames: frames the sender aborted with ``7D C1``.
        skipped_bytes: bytes outside frames (garbage, stray EOF/escape bytes).
    """

    def __init__(self, max_frame_len: int = MAX_FRAME_LEN) -> None:
        self.max_frame_len = max_frame_len
        self.good_frames = 0
        self.bad_frames = 0
        self.aborted_frames = 0
        self.skipped_bytes = 0
        self._buf = bytearray()
        self._escapes = 0
        self._in_frame = False
        self._overflow = False

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished frame held until its EOF arrives."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial frame and hunt for the next BOF; counters are kept.

        Called when a new byte stream starts (reconnect): its first bytes have nothing to do with
        what was buffered from the old one.
        """
        self._buf.clear()
        self._escapes = 0
        self._in_frame = False
        self._overflow = False

    def feed(self, chunk: bytes) -> FramerResult:
        """Consume ``chunk`` (any size, any split point) and return what it completed."""
        result = FramerResult()
        pos = 0
        end = len(chunk)
        while pos < end:
            if not self._in_frame:
                bof = chunk.find(BOF, pos)
                if bof < 0:
                    self.skipped_bytes += end - pos
                    break
                self.skipped_bytes += bof - pos
                self._start_frame()
                pos = bof + 1
                continue
            match = _DELIMITER.search(chunk, pos)
            if match is None:
                if not self._overflow:
                    tail = chunk[pos:]
                    self._buf += tail
                    self._escapes += tail.count(ESC)
                    if self._too_big(len(self._buf)):
                        # Report now, drop the bytes up to the next delimiter (bounded memory).
                        self._reject(bytes(self._buf), self._too_long(), result)
                        self._overflow = True
                        self._buf.clear()
                break
            delimiter = match.start()
            if not self._overflow:
                self._buf += chunk[pos:delimiter]
                self._escapes += chunk.count(ESC, pos, delimiter)
            pos = delimiter + 1
            raw = bytes(self._buf)
            overflowed = self._overflow or self._too_big(len(raw))
            if overflowed and not self._overflow:
                self._reject(raw, self._too_long(), result)
            if chunk[delimiter] == BOF:
                if raw and not overflowed:
                    self._reject(raw, "frame truncated: BOF before EOF", result)
                self._start_frame()
                continue
            self._in_frame = False
            self._overflow = False
            self._buf.clear()
            if not overflowed:
                self._end_frame(raw, result)
        return result

    # -- internals ------------------------------------------------------------------------
    def _start_frame(self) -> None:
        self._in_frame = True
        self._overflow = False
        self._buf.clear()
        self._escapes = 0

    def _too_big(self, size: int) -> bool:  # legal frames are at most 2x escaped (issue 12)
        return size - self._escapes > self.max_frame_len or size > 2 * self.max_frame_len

    def _too_long(self) -> str:
        return f"frame longer than {self.max_frame_len} bytes"

    def _reject(self, raw: bytes, reason: str, result: FramerResult) -> None:
        self.bad_frames += 1
        result.errors.append(ProtocolError(f"IntelliVue frame rejected: {reason}", raw))

    def _end_frame(self, raw: bytes, result: FramerResult) -> None:
        if raw.endswith(bytes((ESC,))):
            self.aborted_frames += 1  # 7D C1: the sender abandoned it on purpose
            return
        body = _unescape(raw)
        if len(body) < MIN_FRAME_LEN:
            self._reject(raw, f"frame of {len(body)} bytes is shorter than {MIN_FRAME_LEN}", result)
            return
        residue = crc16_x25_running(body)
        if residue != GOOD_FCS_RESIDUE:
            fcs = body[-2] | body[-1] << 8
            computed = fcs16(body[:-2])
            self._reject(raw, f"FCS 0x{fcs:04X} != computed 0x{computed:04X}", result)
            return
        if body[0] != PROTOCOL_ID or body[1] != MESSAGE_TYPE:
            self._reject(raw, f"header {body[:2].hex(' ')} is not 11 01", result)
            return
        length = _U16.unpack_from(body, 2)[0]
        if length != len(body) - MIN_FRAME_LEN:
            self._reject(
                raw, f"header length {length} != {len(body) - MIN_FRAME_LEN} data bytes", result
            )
            return
        self.good_frames += 1
        result.messages.append(body[FRAME_HEADER_LEN:-FCS_LEN])


def _unescape(raw: bytes) -> bytes:
    """Undo transparency: ``7D x`` -> ``x ^ 0x20``; a repeated ``7D`` just stays pending (1.2)."""
    if ESC not in raw:
        return raw
    parts = raw.split(bytes((ESC,)))
    out = bytearray(parts[0])
    for part in parts[1:]:
        if part:
            out.append(part[0] ^ ESC_XOR)
            out += part[1:]
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Primitives (1.4)
# --------------------------------------------------------------------------------------------

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class _Reader:
    """Bounds-checked big-endian reader: running off the end is a ProtocolError, not a crash."""

    def __init__(self, data: bytes, what: str, offset: int = 0, end: int | None = None) -> None:
        self.data = data
        self.what = what
        self.pos = offset
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise ProtocolError(
                f"{self.what}: needs {n} bytes at offset {self.pos}, only {self.remaining} left",
                self.data,
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def sub(self, n: int, what: str) -> _Reader:
        start = self.pos
        self.take(n)
        return _Reader(self.data, what, start, start + n)


@dataclass(frozen=True, slots=True)
class Ava:
    """An attribute value assertion: attribute id and its still-encoded value (1.4)."""

    attribute_id: int
    value: bytes

    def encode(self) -> bytes:
        """``u16 id, u16 length, value``."""
        return _U16.pack(self.attribute_id) + _U16.pack(len(self.value)) + self.value


def encode_list(items: Sequence[bytes]) -> bytes:
    """A List: ``u16 count, u16 length`` and the encoded items (1.4)."""
    body = b"".join(items)
    return _U16.pack(len(items)) + _U16.pack(len(body)) + body


def encode_attribute_list(avas: Sequence[Ava]) -> bytes:
    """An AttributeList of AVAs."""
    return encode_list([ava.encode() for ava in avas])


def _read_list_header(reader: _Reader, what: str) -> tuple[int, _Reader]:
    count = reader.u16()
    length = reader.u16()
    return count, reader.sub(length, what)


def _read_attribute_list(reader: _Reader, what: str) -> tuple[Ava, ...]:
    count, body = _read_list_header(reader, what)
    avas: list[Ava] = []
    for _ in range(count):
        attribute_id = body.u16()
        length = body.u16()
        avas.append(Ava(attribute_id, body.take(length)))
    return tuple(avas)


def decode_attribute_list(data: bytes) -> tuple[Ava, ...]:
    """Decode an AttributeList; unknown attribute ids are kept, to be skipped by the caller.

    Raises:
        ProtocolError: the list's lengths run past the data.
    """
    return _read_attribute_list(_Reader(data, "AttributeList"), "AttributeList")


def find_attribute(avas: Iterable[Ava], attribute_id: int) -> bytes | None:
    """Value of the first AVA with ``attribute_id``, or None."""
    for ava in avas:
        if ava.attribute_id == attribute_id:
            return ava.value
    return None


def encode_li(length: int) -> bytes:
    """Association-layer length indicator: one byte up to 254, else ``FF`` + u16 (1.4)."""
    if not 0 <= length <= 0xFFFF:
        raise ValueError(f"LI {length} out of range")
    return bytes((length,)) if length <= 254 else b"\xff" + _U16.pack(length)


def _read_li(reader: _Reader) -> int:
    first = reader.u8()
    return reader.u16() if first == 0xFF else first


def encode_asn1_length(length: int) -> bytes:
    """BER definite length: one byte below 128, else the ``82 hh ll`` form VSC-MP sends (1.4)."""
    if not 0 <= length <= 0xFFFF:
        raise ValueError(f"ASN.1 length {length} out of range")
    return bytes((length,)) if length < 0x80 else b"\x82" + _U16.pack(length)


def _read_asn1_length(reader: _Reader) -> int:
    first = reader.u8()
    if first < 0x80:
        return first
    value = 0
    for _ in range(first & 0x7F):
        value = value << 8 | reader.u8()
    return value


def encode_string(text: str) -> bytes:
    """An 8-bit String as monitors send model names: NUL-terminated, padded to even (1.4)."""
    raw = text.encode("ascii") + b"\x00"
    if len(raw) % 2:
        raw += b"\x00"
    return _U16.pack(len(raw)) + raw


def encode_label_string(text: str) -> bytes:
    """A label String: UTF-16BE with a trailing NUL (1.4)."""
    raw = (text + "\x00").encode("utf-16-be")
    return _U16.pack(len(raw)) + raw


def _read_string(reader: _Reader) -> bytes:
    return reader.take(reader.u16())


def decode_ascii(raw: bytes) -> str:
    """Text of an 8-bit String value, without the NUL padding."""
    return raw.split(b"\x00", 1)[0].decode("ascii", errors="replace")


def decode_label_string(value: bytes) -> str:
    """Text of a NOM_ATTR_ID_LABEL_STRING value (u16 length + UTF-16BE)."""
    reader = _Reader(value, "label string")
    raw = _read_string(reader)
    return raw.decode("utf-16-be", errors="replace").split("\x00", 1)[0]


@dataclass(frozen=True, slots=True)
class ManagedObjectId:
    """``u16 m_obj_class`` + GlbHandle ``(u16 context_id, u16 handle)`` (1.4)."""

    obj_class: int = NOM_MOC_VMS_MDS
    context_id: int = 0
    handle: int = 0

    def encode(self) -> bytes:
        """Six bytes, big-endian."""
        return struct.pack(">HHH", self.obj_class, self.context_id, self.handle)


#: The MDS as every request addresses it (1.4).
MDS: Final = ManagedObjectId()


def _read_managed_object(reader: _Reader) -> ManagedObjectId:
    return ManagedObjectId(reader.u16(), reader.u16(), reader.u16())


@dataclass(frozen=True, slots=True)
class AbsoluteTime:
    """The 8-byte BCD AbsoluteTime (1.4): century … second and hundredths.

    Kept as raw bytes because all-``FF`` ("not set") is common and because the driver uses the
    exact bytes to recognise a repeated NIBP time stamp.
    """

    raw: bytes

    NOT_SET_BYTE = 0xFF

    @classmethod
    def not_set(cls) -> AbsoluteTime:
        """All ``FF``: what many monitors put in poll headers."""
        return cls(b"\xff" * 8)

    @classmethod
    def from_datetime(cls, when: datetime) -> AbsoluteTime:
        """BCD of ``when`` as given (wall time, no zone on the wire); sub-second in 1/100 s."""
        parts = (
            when.year // 100,
            when.year % 100,
            when.month,
            when.day,
            when.hour,
            when.minute,
            when.second,
            when.microsecond // 10_000,
        )
        return cls(bytes((p // 10) << 4 | p % 10 for p in parts))

    @property
    def is_set(self) -> bool:
        """False when the monitor left the time unset (any ``FF`` in the date or time)."""
        return self.NOT_SET_BYTE not in self.raw[:7]

    def to_datetime(self, tz: tzinfo = UTC) -> datetime | None:
        """The time in zone ``tz``, or None when unset or not a valid BCD date."""
        if len(self.raw) != 8 or not self.is_set:
            return None
        text = self.raw.hex()
        if text.isdigit():
            # Every nibble 0-9 (the usual case): the hex text is the decimal text, so the fields
            # are read with int() on slices instead of a per-byte loop; the year is its first
            # four digits (century × 100 + year).
            try:
                return datetime(
                    int(text[0:4]),
                    int(text[4:6]),
                    int(text[6:8]),
                    int(text[8:10]),
                    int(text[10:12]),
                    int(text[12:14]),
                    int(text[14:16]) * 10_000,
                    tz,
                )
            except ValueError:
                return None
        digits: list[int] = []
        for byte in self.raw:
            high, low = byte >> 4, byte & 0xF
            if byte == self.NOT_SET_BYTE:
                digits.append(0)  # unset hundredths only
                continue
            if high > 9 or low > 9:
                return None
            digits.append(high * 10 + low)
        century, year, month, day, hour, minute, second, hundredths = digits
        try:
            return datetime(
                century * 100 + year, month, day, hour, minute, second, hundredths * 10_000, tz
            )
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class ClockMapping:
    """Maps the monitor's free-running RelativeTime onto wall time (1.7).

    ``abs(rel) = TIME_ABS + (rel − TIME_REL) × 125 µs``; the tick difference is taken modulo
    2^32 as a signed number so a counter wrap (every 6.2 days) does not jump the clock.
    """

    absolute: datetime
    relative: int

    def at(self, relative: int) -> datetime:
        """Wall time of relative time ``relative``."""
        delta = (relative - self.relative) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 0x100000000
        return self.absolute + timedelta(seconds=delta / TICKS_PER_S)


# --------------------------------------------------------------------------------------------
# Association layer (1.5)
# --------------------------------------------------------------------------------------------

#: Session data of request and result (14 bytes, constant).
SESSION_DATA: Final = bytes.fromhex("05 08 13 01 00 16 01 02 80 00 14 02 00 02")
#: Presentation part of the request up to the user info (131 bytes, ends with 0x81).
AARQ_PRESENTATION: Final = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A4 80 30 80 02 01 01 06 04 52 01 00 01 30 80"
    " 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0C 2A 86 48 CE 14 02 01 00 00 00 01 01 30 80 06 0C"
    " 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 00 00 61 80 30 80 02 01 01 A0 80 60 80 A1 80"
    " 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 BE 80 28 80 06 0C 2A 86 48 CE 14 02 01 00 00"
    " 00 01 01 02 01 02 81"
)
#: Presentation part of the result up to the user info (101 bytes).
AARE_PRESENTATION: Final = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A5 80 30 80 80 01 00 81 02 51 01 00 00 30 80"
    " 80 01 00 81 0C 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 61 80 30 80 02 01 01 A0 80 61"
    " 80 A1 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 A2 03 02 01 00 A3 05 A1 03 02 01 00"
    " BE 80 28 80 02 01 02 81"
)
#: The bytes just before the user info's ASN.1 length in both presentation parts; used to find
#: the user info when a monitor's presentation part differs from the one we know.
_USER_INFO_MARKER: Final = bytes.fromhex("02 01 02 81")
PRESENTATION_TRAILER: Final = bytes(16)
RELEASE_REQUEST: Final = bytes.fromhex(
    "09 18 C1 16 61 80 30 80 02 01 01 A0 80 62 80 80 01 00 00 00 00 00 00 00 00 00"
)
RELEASE_RESULT: Final = bytes.fromhex(
    "0A 18 C1 16 61 80 30 80 02 01 01 A0 80 63 80 80 01 00 00 00 00 00 00 00 00 00"
)
ABORT: Final = bytes.fromhex(
    "19 2E 11 01 03 C1 29 A0 80 A0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 30 80 02 01 01"
    " A0 80 64 80 80 01 01 00 00 00 00 00 00 00 00 00 00"
)
REFUSE: Final = bytes.fromhex("0C 03 32 01 00")


@dataclass(frozen=True, slots=True)
class PollProfileSupport:
    """NOM_POLL_PROFILE_SUPPORT with its PollProfileExt optional package (1.5).

    Defaults are the numerics-only request of ``spec_built/philips_intellivue/01``: 1 s minimum
    poll period, rx/tx MTU 2500/1000 (MDL), unlimited bandwidth, dynamic create/delete objects,
    numerics every second.
    """

    min_poll_period: int = TICKS_PER_S
    max_mtu_rx: int = 2500
    max_mtu_tx: int = 1000
    max_bw_tx: int = UNLIMITED_BANDWIDTH
    options: int = POLL_OPTION_DYN_CREATE | POLL_OPTION_DYN_DELETE
    ext_options: int | None = POLL_EXT_PERIOD_NU_1SEC
    ext_attributes: tuple[Ava, ...] = ()
    revision: int = POLL_PROFILE_REVISION

    def encode(self) -> bytes:
        """The AVA value (without the AVA header)."""
        packages: list[Ava] = []
        if self.ext_options is not None:
            ext = _U32.pack(self.ext_options) + encode_attribute_list(self.ext_attributes)
            packages.append(Ava(NOM_ATTR_POLL_PROFILE_EXT, ext))
        return struct.pack(
            ">IIIIII",
            self.revision,
            self.min_poll_period,
            self.max_mtu_rx,
            self.max_mtu_tx,
            self.max_bw_tx,
            self.options,
        ) + encode_attribute_list(packages)

    @classmethod
    def decode(cls, value: bytes) -> PollProfileSupport:
        """Parse the AVA value; an absent PollProfileExt gives ``ext_options`` None."""
        reader = _Reader(value, "PollProfileSupport")
        revision, min_poll, rx, tx, bw, options = (reader.u32() for _ in range(6))
        packages = _read_attribute_list(reader, "PollProfileSupport optional packages")
        ext_options: int | None = None
        ext_attributes: tuple[Ava, ...] = ()
        ext = find_attribute(packages, NOM_ATTR_POLL_PROFILE_EXT)
        if ext is not None:
            ext_reader = _Reader(ext, "PollProfileExt")
            ext_options = ext_reader.u32()
            ext_attributes = _read_attribute_list(ext_reader, "PollProfileExt attributes")
        return cls(min_poll, rx, tx, bw, options, ext_options, ext_attributes, revision)


@dataclass(frozen=True, slots=True)
class MdseUserInfo:
    """MDSEUserInfoStd: who is talking and what it supports (1.5).

    Attributes:
        poll_profile: the NOM_POLL_PROFILE_SUPPORT aprofile, None if absent.
        extra_aprofiles: further supported aprofiles after the poll profile, e.g.
            NOM_MDIB_OBJ_SUPPORT as VSC-MP sends with its wave request.
    """

    system_type: int = SYSTEM_TYPE_CLIENT
    poll_profile: PollProfileSupport | None = field(default_factory=PollProfileSupport)
    extra_aprofiles: tuple[Ava, ...] = ()
    protocol_version: int = PROTOCOL_VERSION
    nomenclature_version: int = NOMENCLATURE_VERSION
    functional_units: int = 0
    startup_mode: int = STARTUP_COLD
    option_list: tuple[Ava, ...] = ()

    def encode(self) -> bytes:
        """The user info bytes (without the ASN.1 length)."""
        aprofiles: list[Ava] = []
        if self.poll_profile is not None:
            aprofiles.append(Ava(NOM_POLL_PROFILE_SUPPORT, self.poll_profile.encode()))
        aprofiles.extend(self.extra_aprofiles)
        return (
            struct.pack(
                ">IIIII",
                self.protocol_version,
                self.nomenclature_version,
                self.functional_units,
                self.system_type,
                self.startup_mode,
            )
            + encode_attribute_list(self.option_list)
            + encode_attribute_list(aprofiles)
        )

    @classmethod
    def decode(cls, data: bytes) -> MdseUserInfo:
        """Parse user info bytes.

        Raises:
            ProtocolError: truncated or inconsistent lengths.
        """
        reader = _Reader(data, "MDSEUserInfoStd")
        protocol_version, nomenclature_version, functional_units, system_type, startup = (
            reader.u32() for _ in range(5)
        )
        options = _read_attribute_list(reader, "MDSEUserInfoStd option list")
        aprofiles = _read_attribute_list(reader, "MDSEUserInfoStd aprofiles")
        poll_profile: PollProfileSupport | None = None
        extra: list[Ava] = []
        for ava in aprofiles:
            if ava.attribute_id == NOM_POLL_PROFILE_SUPPORT and poll_profile is None:
                poll_profile = PollProfileSupport.decode(ava.value)
            else:
                extra.append(ava)
        return cls(
            system_type,
            poll_profile,
            tuple(extra),
            protocol_version,
            nomenclature_version,
            functional_units,
            startup,
            options,
        )


def mdib_obj_support(entries: Sequence[tuple[int, int]]) -> Ava:
    """NOM_MDIB_OBJ_SUPPORT aprofile: ``(object class, max instances)`` pairs (1.5)."""
    items = [struct.pack(">HHI", NOM_PART_OBJ, obj_class, count) for obj_class, count in entries]
    return Ava(NOM_MDIB_OBJ_SUPPORT, encode_list(items))


def _association(kind: int, presentation: bytes, user_info: MdseUserInfo) -> bytes:
    info = user_info.encode()
    rest = presentation + encode_asn1_length(len(info)) + info + PRESENTATION_TRAILER
    after_session_li = SESSION_DATA + bytes((0xC1,)) + encode_li(len(rest)) + rest
    return bytes((kind,)) + encode_li(len(after_session_li)) + after_session_li


def encode_association_request(user_info: MdseUserInfo | None = None) -> bytes:
    """Association request user data (1.5); frame it with :func:`frame_message`.

    With ``MdseUserInfo(poll_profile=PollProfileSupport(0x000FDE80, 1000, 1000, 0,
    ext_options=0x89000000))`` this reproduces the Philips DevIfTest request byte for byte.
    """
    return _association(CN_SPDU_SI, AARQ_PRESENTATION, user_info or MdseUserInfo())


def encode_association_result(user_info: MdseUserInfo | None = None) -> bytes:
    """Association result (accept), the monitor's answer; for the simulator (1.5)."""
    info = user_info or MdseUserInfo(
        system_type=SYSTEM_TYPE_SERVER, poll_profile=PollProfileSupport(max_mtu_rx=1000)
    )
    return _association(AC_SPDU_SI, AARE_PRESENTATION, info)


def encode_release_request() -> bytes:
    """Release request (identical in the DevIfTest log and VSC-MP)."""
    return RELEASE_REQUEST


def encode_release_result() -> bytes:
    """Release result, the monitor's answer to a release request."""
    return RELEASE_RESULT


def encode_abort() -> bytes:
    """Abort: either side drops the association at once."""
    return ABORT


def encode_refuse() -> bytes:
    """Association refuse (MDL's bytes)."""
    return REFUSE


@dataclass(frozen=True, slots=True)
class AssociationMessage:
    """A message of the association layer (first byte not ``E1``).

    Attributes:
        kind: the session header byte (:data:`CN_SPDU_SI`, :data:`AC_SPDU_SI`, ...).
        user_info: the MDSEUserInfoStd of a request or result when it could be found and parsed;
            None for the other kinds, or when a monitor's presentation part is unfamiliar (the
            state machine only needs ``kind``, 1.5).
    """

    kind: int
    user_info: MdseUserInfo | None = None


def _decode_association(data: bytes) -> AssociationMessage:
    reader = _Reader(data, "association message")
    kind = reader.u8()
    length = _read_li(reader)
    if length > reader.remaining:
        raise ProtocolError(
            f"association message 0x{kind:02X}: LI {length} > {reader.remaining} bytes", data
        )
    user_info: MdseUserInfo | None = None
    if kind in (CN_SPDU_SI, AC_SPDU_SI):
        user_info = _find_user_info(data)
    return AssociationMessage(kind, user_info)


def _find_user_info(data: bytes) -> MdseUserInfo | None:
    """The user info of a request/result, found after the last ``02 01 02 81`` marker."""
    marker = data.rfind(_USER_INFO_MARKER)
    if marker < 0:
        return None
    reader = _Reader(data, "association user info", marker + len(_USER_INFO_MARKER))
    try:
        length = _read_asn1_length(reader)
        return MdseUserInfo.decode(reader.take(length))
    except ProtocolError:
        return None


# --------------------------------------------------------------------------------------------
# Data export layer (1.6)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataExportMessage:
    """SPpdu + ROapdus + the remote-operation header; ``body`` is what follows it.

    Attributes:
        ro_type: ROIV/RORS/ROER/RORLS.
        command_type: for ROIV/RORS/RORLS; for ROER this holds the ``error_value``.
        linked_state: RORLS state (first/middle/last), else None.
        linked_count: RORLS counter, else None.
    """

    context_id: int
    ro_type: int
    invoke_id: int
    command_type: int
    body: bytes
    linked_state: int | None = None
    linked_count: int | None = None

    @property
    def error_value(self) -> int | None:
        """The ROER error value, None for other kinds."""
        return self.command_type if self.ro_type == ROER_APDU else None


#: SPpdu (session id, context id) and ROapdus head (ro_type, length) of a data export message.
_DATA_EXPORT_HEAD: Final = struct.Struct(">HHHH")
#: Remote operation head: invoke id, command type (or error value), body length.
_REMOTE_OP_HEAD: Final = struct.Struct(">HHH")


def _decode_data_export(data: bytes) -> DataExportMessage:
    # Fast path for well-formed messages (all of them, normally): three unpack_from calls
    # instead of a _Reader and ten method calls per message.  Anything irregular goes on to the
    # reference code below, which raises the exact error.
    size = len(data)
    if size >= 14:
        session, context_id, ro_type, ro_len = _DATA_EXPORT_HEAD.unpack_from(data)
        ro_end = 8 + ro_len
        if session == SESSION_ID and ro_end <= size:
            if ro_type == RORLS_APDU:
                head = 10
                state: int | None = data[8]
                count: int | None = data[9]
            else:
                head = 8
                state = count = None
            if ro_type in (ROIV_APDU, RORS_APDU, ROER_APDU, RORLS_APDU) and head + 6 <= ro_end:
                invoke_id, command, body_len = _REMOTE_OP_HEAD.unpack_from(data, head)
                if head + 6 + body_len <= ro_end:
                    body = data[head + 6 : head + 6 + body_len]
                    return DataExportMessage(
                        context_id, ro_type, invoke_id, command, body, state, count
                    )
    reader = _Reader(data, "data export message")
    session = reader.u16()
    if session != SESSION_ID:
        raise ProtocolError(f"session id 0x{session:04X} is not 0xE100", data)
    context_id = reader.u16()
    ro_type = reader.u16()
    ro = reader.sub(reader.u16(), "ROapdus")
    state = count = None
    if ro_type == RORLS_APDU:
        state = ro.u8()
        count = ro.u8()
    elif ro_type not in (ROIV_APDU, RORS_APDU, ROER_APDU):
        raise ProtocolError(f"unknown ROapdus type {ro_type}", data)
    invoke_id = ro.u16()
    command = ro.u16()
    body = ro.take(ro.u16())
    return DataExportMessage(context_id, ro_type, invoke_id, command, body, state, count)


def decode_message(user_data: bytes) -> AssociationMessage | DataExportMessage:
    """Decode the user data of one frame into its layer's message (1.3).

    Raises:
        ProtocolError: empty data or lengths that run past the end.
    """
    if not user_data:
        raise ProtocolError("empty user data", user_data)
    if user_data[0] == DATA_EXPORT:
        return _decode_data_export(user_data)
    return _decode_association(user_data)


def _data_export(ro_type: int, invoke_id: int, command: int, body: bytes, *, context: int) -> bytes:
    remote_op = _U16.pack(invoke_id) + _U16.pack(command) + _U16.pack(len(body)) + body
    return struct.pack(">HHHH", SESSION_ID, context, ro_type, len(remote_op)) + remote_op


def _linked_export(
    state: int, count: int, invoke_id: int, command: int, body: bytes, *, context: int
) -> bytes:
    remote_op = (
        bytes((state, count & 0xFF))
        + _U16.pack(invoke_id)
        + _U16.pack(command)
        + _U16.pack(len(body))
        + body
    )
    return struct.pack(">HHHH", SESSION_ID, context, RORLS_APDU, len(remote_op)) + remote_op


# -- MDS create (1.7) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MdsCreateEvent:
    """The MDS Create Event Report the monitor sends after accepting the association (1.7)."""

    invoke_id: int
    managed_object: ManagedObjectId
    event_time: int
    mds_object: ManagedObjectId
    attributes: tuple[Ava, ...]

    @property
    def time_abs(self) -> AbsoluteTime | None:
        """NOM_ATTR_TIME_ABS, None when absent."""
        value = find_attribute(self.attributes, NOM_ATTR_TIME_ABS)
        return AbsoluteTime(value) if value is not None and len(value) == 8 else None

    @property
    def time_rel(self) -> int | None:
        """NOM_ATTR_TIME_REL in ticks, None when absent."""
        value = find_attribute(self.attributes, NOM_ATTR_TIME_REL)
        return int(_U32.unpack(value)[0]) if value is not None and len(value) == 4 else None

    def clock_mapping(self, tz: tzinfo = UTC) -> ClockMapping | None:
        """Relative-to-wall-time mapping, None unless both times are present and set."""
        time_abs = self.time_abs
        time_rel = self.time_rel
        when = time_abs.to_datetime(tz) if time_abs is not None else None
        if when is None or time_rel is None:
            return None
        return ClockMapping(when, time_rel)

    @property
    def model(self) -> tuple[str, str] | None:
        """(manufacturer, model) from NOM_ATTR_ID_MODEL, None when absent or malformed."""
        value = find_attribute(self.attributes, NOM_ATTR_ID_MODEL)
        if value is None:
            return None
        reader = _Reader(value, "NOM_ATTR_ID_MODEL")
        try:
            return decode_ascii(_read_string(reader)), decode_ascii(_read_string(reader))
        except ProtocolError:
            return None


def is_mds_create_event(message: DataExportMessage) -> bool:
    """True for a (confirmed) event report whose event type is NOM_NOTI_MDS_CREAT."""
    return (
        message.ro_type == ROIV_APDU
        and message.command_type in (CMD_EVENT_REPORT, CMD_CONFIRMED_EVENT_REPORT)
        and len(message.body) >= 12
        and _U16.unpack_from(message.body, 10)[0] == NOM_NOTI_MDS_CREAT
    )


def decode_mds_create_event(message: DataExportMessage) -> MdsCreateEvent:
    """Decode an MDS create event report (check :func:`is_mds_create_event` first).

    Raises:
        ProtocolError: lengths that run past the message.
    """
    reader = _Reader(message.body, "MDS create event report")
    managed_object = _read_managed_object(reader)
    event_time = reader.u32()
    reader.u16()  # event type
    info = reader.sub(reader.u16(), "MdsCreateInfo")
    mds_object = _read_managed_object(info)
    attributes = _read_attribute_list(info, "MdsCreateInfo attributes")
    return MdsCreateEvent(message.invoke_id, managed_object, event_time, mds_object, attributes)


def mds_create_attributes(
    *,
    time_abs: AbsoluteTime,
    time_rel: int,
    manufacturer: str = "Philips",
    model: str = "MX450",
    system_type: int = SYS_TYPE_MULTI_PARAM_MONITOR,
    mds_status: int = 6,
) -> list[Ava]:
    """The attributes of ``spec_built/philips_intellivue/03``, in its order (simulator)."""
    return [
        Ava(NOM_ATTR_SYS_TYPE, struct.pack(">HH", NOM_PART_OBJ, system_type)),
        Ava(NOM_ATTR_ID_MODEL, encode_string(manufacturer) + encode_string(model)),
        Ava(NOM_ATTR_TIME_ABS, time_abs.raw),
        Ava(NOM_ATTR_TIME_REL, _U32.pack(time_rel)),
        Ava(NOM_ATTR_VMS_MDS_STAT, _U16.pack(mds_status)),
    ]


def encode_mds_create_event_report(
    invoke_id: int,
    event_time: int,
    attributes: Sequence[Ava],
    *,
    mds: ManagedObjectId = MDS,
    context_id: int = P_CONTEXT_ID,
) -> bytes:
    """MDS create event report user data (ROIV, confirmed event report); for the simulator."""
    info = mds.encode() + encode_attribute_list(attributes)
    body = (
        mds.encode()
        + _U32.pack(event_time)
        + _U16.pack(NOM_NOTI_MDS_CREAT)
        + _U16.pack(len(info))
        + info
    )
    return _data_export(ROIV_APDU, invoke_id, CMD_CONFIRMED_EVENT_REPORT, body, context=context_id)


def encode_mds_create_result(
    invoke_id: int,
    current_time: int,
    *,
    mds: ManagedObjectId = MDS,
    context_id: int = P_CONTEXT_ID,
) -> bytes:
    """MDS create event result (RORS) the client owes the monitor (1.7).

    ``encode_mds_create_result(1, 0x000ABD00)`` gives VSC-MP's bytes seen on the real capture.
    Echo the monitor's invoke id and managed object.
    """
    body = mds.encode() + _U32.pack(current_time) + _U16.pack(NOM_NOTI_MDS_CREAT) + _U16.pack(0)
    return _data_export(RORS_APDU, invoke_id, CMD_CONFIRMED_EVENT_REPORT, body, context=context_id)


def is_mds_create_result(message: DataExportMessage) -> bool:
    """True for the client's answer to the MDS create event report."""
    return (
        message.ro_type == RORS_APDU
        and message.command_type == CMD_CONFIRMED_EVENT_REPORT
        and len(message.body) >= 12
        and _U16.unpack_from(message.body, 10)[0] == NOM_NOTI_MDS_CREAT
    )


# -- Poll requests (1.8) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollRequest:
    """A single (0C16) or extended (F13B) poll request, as the monitor sees it."""

    invoke_id: int
    action_type: int
    poll_number: int
    obj_class: int
    attr_group: int
    attributes: tuple[Ava, ...] = ()

    @property
    def extended(self) -> bool:
        """True for NOM_ACT_POLL_MDIB_DATA_EXT."""
        return self.action_type == NOM_ACT_POLL_MDIB_DATA_EXT

    @property
    def period_ticks(self) -> int | None:
        """NOM_ATTR_TIME_PD_POLL: how long periodic results should be sent; None if absent."""
        value = find_attribute(self.attributes, NOM_ATTR_TIME_PD_POLL)
        return int(_U32.unpack(value)[0]) if value is not None and len(value) == 4 else None


def _action_argument(action_type: int, body: bytes, mds: ManagedObjectId) -> bytes:
    return mds.encode() + _U32.pack(0) + _U16.pack(action_type) + _U16.pack(len(body)) + body


def encode_extended_poll_request(
    invoke_id: int,
    poll_number: int,
    *,
    obj_class: int = NOM_MOC_VMO_METRIC_NU,
    attr_group: int = ATTR_GRP_ALL,
    period_ticks: int | None = 60 * TICKS_PER_S,
    priority_objects: int | None = None,
    context_id: int = P_CONTEXT_ID,
) -> bytes:
    """Extended poll request user data (1.8).

    The monitor answers at once and then every second until ``period_ticks`` expire, so the
    client must re-send it before then (1.12).  Defaults give ``spec_built/.../05`` for
    invoke id 2, poll number 1; ``period_ticks=240000`` gives VSC-MP's 30-s request.
    """
    attributes: list[Ava] = []
    if period_ticks is not None:
        attributes.append(Ava(NOM_ATTR_TIME_PD_POLL, _U32.pack(period_ticks)))
    if priority_objects is not None:
        attributes.append(Ava(NOM_ATTR_POLL_OBJ_PRIO_NUM, _U16.pack(priority_objects)))
    req = (
        _U16.pack(poll_number)
        + struct.pack(">HH", NOM_PART_OBJ, obj_class)
        + _U16.pack(attr_group)
        + encode_attribute_list(attributes)
    )
    body = _action_argument(NOM_ACT_POLL_MDIB_DATA_EXT, req, MDS)
    return _data_export(ROIV_APDU, invoke_id, CMD_CONFIRMED_ACTION, body, context=context_id)


def encode_single_poll_request(
    invoke_id: int,
    poll_number: int,
    *,
    obj_class: int = NOM_MOC_VMS_MDS,
    attr_group: int = ATTR_GRP_ALL,
    context_id: int = P_CONTEXT_ID,
) -> bytes:
    """Single poll request user data (1.8); the monitor answers once.

    The default (MDS object) is VSC-MP's MDS re-read; a cheap message that doubles as a
    keep-alive (1.12).
    """
    req = (
        _U16.pack(poll_number) + struct.pack(">HH", NOM_PART_OBJ, obj_class) + _U16.pack(attr_group)
    )
    body = _action_argument(NOM_ACT_POLL_MDIB_DATA, req, MDS)
    return _data_export(ROIV_APDU, invoke_id, CMD_CONFIRMED_ACTION, body, context=context_id)


def decode_poll_request(message: DataExportMessage) -> PollRequest | None:
    """A poll request, or None when ``message`` is some other ROIV/RORS.

    Raises:
        ProtocolError: a poll action whose lengths run past the message.
    """
    if message.ro_type != ROIV_APDU or message.command_type != CMD_CONFIRMED_ACTION:
        return None
    reader = _Reader(message.body, "ActionArgument")
    _read_managed_object(reader)
    reader.u32()  # scope
    action_type = reader.u16()
    if action_type not in (NOM_ACT_POLL_MDIB_DATA, NOM_ACT_POLL_MDIB_DATA_EXT):
        return None
    body = reader.sub(reader.u16(), "PollMdibDataReq")
    poll_number = body.u16()
    body.u16()  # partition
    obj_class = body.u16()
    attr_group = body.u16()
    attributes: tuple[Ava, ...] = ()
    if action_type == NOM_ACT_POLL_MDIB_DATA_EXT and body.remaining:
        attributes = _read_attribute_list(body, "poll_ext_attr")
    return PollRequest(
        message.invoke_id, action_type, poll_number, obj_class, attr_group, attributes
    )


# -- Poll results (1.9) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NuObsValue:
    """NuObsValue (10 bytes): physio id, MeasurementState, unit code and a raw FLOAT (1.9.3)."""

    physio_id: int
    state: int
    unit_code: int
    raw_value: int

    @classmethod
    def of(
        cls, physio_id: int, value: float | FloatSpecial, unit_code: int, state: int = 0
    ) -> NuObsValue:
        """Build one from a number (encoded as FLOAT-Type)."""
        return cls(physio_id, state, unit_code, encode_float(value))

    @property
    def value(self) -> float | FloatSpecial:
        """The decoded FLOAT-Type."""
        return decode_float(self.raw_value)

    @property
    def valid(self) -> bool:
        """Valid ⇔ high state octet 0 and not a special FLOAT (1.11)."""
        return self.decoded()[1]

    def flags(self) -> tuple[ReadingFlag, ...]:
        """State flags plus the flag of a special FLOAT value."""
        return self.decoded()[2]

    def decoded(self) -> tuple[float | FloatSpecial, bool, tuple[ReadingFlag, ...]]:
        """``(value, valid, flags())`` at once: see :func:`decode_nu_obs`."""
        return decode_nu_obs(self.state, self.raw_value)

    def encode(self) -> bytes:
        """The 10 bytes."""
        return struct.pack(">HHHI", self.physio_id, self.state, self.unit_code, self.raw_value)


_NU_OBS = struct.Struct(">HHHI")


def decode_nu_obs(
    state: int, raw_value: int
) -> tuple[float | FloatSpecial, bool, tuple[ReadingFlag, ...]]:
    """``(value, valid, flags)`` of a NuObsValue's state and raw FLOAT, decoding it once.

    The driver needs all three for every value it turns into a reading; the properties of
    :class:`NuObsValue`, asked one by one, would decode the same FLOAT three times.
    """
    value = decode_float(raw_value)
    flags = state_flags(state)
    if isinstance(value, FloatSpecial):
        flag = FLOAT_SPECIAL_FLAGS[value]
        if flag not in flags:
            flags = (flag, *flags)
        return value, False, flags
    return value, state_is_valid(state), flags


def _decode_nu_obs(reader: _Reader) -> NuObsValue:
    physio_id, state, unit, raw = _NU_OBS.unpack(reader.take(_NU_OBS.size))
    return NuObsValue(physio_id, state, unit, raw)


@dataclass(frozen=True, slots=True)
class ObservationPoll:
    """One object in a poll result: its handle and attributes (1.9.2)."""

    handle: int
    attributes: tuple[Ava, ...]

    def encode(self) -> bytes:
        """``u16 handle`` + AttributeList."""
        return _U16.pack(self.handle) + encode_attribute_list(self.attributes)


@dataclass(frozen=True, slots=True)
class SingleContextPoll:
    """All polled objects of one MDS context (1.9.2)."""

    context_id: int
    observations: tuple[ObservationPoll, ...]

    def encode(self) -> bytes:
        """``u16 context_id`` + List of ObservationPoll."""
        return _U16.pack(self.context_id) + encode_list([o.encode() for o in self.observations])


@dataclass(frozen=True, slots=True)
class PollResult:
    """A single or extended poll reply, possibly one RORLS fragment of a linked reply (1.9)."""

    invoke_id: int
    action_type: int
    poll_number: int
    sequence_no: int | None
    rel_time_stamp: int
    abs_time_stamp: AbsoluteTime
    obj_class: int
    attr_group: int
    contexts: tuple[SingleContextPoll, ...]
    linked_state: int | None = None
    linked_count: int | None = None

    @property
    def observations(self) -> list[ObservationPoll]:
        """Every ObservationPoll of every context, in order."""
        return [obs for ctx in self.contexts for obs in ctx.observations]


def decode_poll_result(message: DataExportMessage) -> PollResult | None:
    """A poll result (RORS or RORLS with a poll action), or None for other messages.

    Every RORLS fragment carries a complete reply header and part of the list, so each is
    decoded on its own (1.9.4).  Nested lists are walked by their length fields, never by
    fixed offsets (1.9.1).

    Raises:
        ProtocolError: lengths that run past the message.
    """
    if message.ro_type not in (RORS_APDU, RORLS_APDU):
        return None
    if message.command_type != CMD_CONFIRMED_ACTION:
        return None
    reader = _Reader(message.body, "ActionResult")
    _read_managed_object(reader)
    action_type = reader.u16()
    if action_type not in (NOM_ACT_POLL_MDIB_DATA, NOM_ACT_POLL_MDIB_DATA_EXT):
        return None
    body = reader.sub(reader.u16(), "PollMdibDataReply")
    poll_number = body.u16()
    sequence_no = body.u16() if action_type == NOM_ACT_POLL_MDIB_DATA_EXT else None
    rel_time = body.u32()
    abs_time = AbsoluteTime(body.take(8))
    body.u16()  # partition
    obj_class = body.u16()
    attr_group = body.u16()
    count, items = _read_list_header(body, "poll_info_list")
    contexts: list[SingleContextPoll] = []
    for _ in range(count):
        context_id = items.u16()
        n_obs, obs_reader = _read_list_header(items, "ObservationPoll list")
        observations: list[ObservationPoll] = []
        for _ in range(n_obs):
            handle = obs_reader.u16()
            observations.append(ObservationPoll(handle, _read_attribute_list(obs_reader, "AVAs")))
        contexts.append(SingleContextPoll(context_id, tuple(observations)))
    return PollResult(
        message.invoke_id,
        action_type,
        poll_number,
        sequence_no,
        rel_time,
        abs_time,
        obj_class,
        attr_group,
        tuple(contexts),
        message.linked_state,
        message.linked_count,
    )


def encode_poll_result(
    invoke_id: int,
    *,
    poll_number: int,
    rel_time_stamp: int,
    abs_time_stamp: AbsoluteTime,
    contexts: Sequence[SingleContextPoll],
    sequence_no: int | None = 0,
    obj_class: int = NOM_MOC_VMO_METRIC_NU,
    attr_group: int = ATTR_GRP_ALL,
    linked: tuple[int, int] | None = None,
    mds: ManagedObjectId = MDS,
    context_id: int = P_CONTEXT_ID,
) -> bytes:
    """Poll result user data (the monitor's side); for the simulator and tests.

    Args:
        sequence_no: None for a single-poll reply (0C16), else the extended reply's counter.
        linked: ``(state, count)`` to send a RORLS fragment instead of a RORS.
    """
    action = NOM_ACT_POLL_MDIB_DATA if sequence_no is None else NOM_ACT_POLL_MDIB_DATA_EXT
    reply = _U16.pack(poll_number)
    if sequence_no is not None:
        reply += _U16.pack(sequence_no)
    reply += (
        _U32.pack(rel_time_stamp)
        + abs_time_stamp.raw
        + struct.pack(">HHH", NOM_PART_OBJ, obj_class, attr_group)
        + encode_list([c.encode() for c in contexts])
    )
    body = mds.encode() + _U16.pack(action) + _U16.pack(len(reply)) + reply
    if linked is not None:
        state, count = linked
        return _linked_export(
            state, count, invoke_id, CMD_CONFIRMED_ACTION, body, context=context_id
        )
    return _data_export(RORS_APDU, invoke_id, CMD_CONFIRMED_ACTION, body, context=context_id)


def numeric_attributes(
    *,
    label: int | None,
    value: NuObsValue | Sequence[NuObsValue],
    time_abs: AbsoluteTime | None = None,
    time_rel: int | None = None,
    label_string: str | None = None,
) -> tuple[Ava, ...]:
    """Attributes of one numeric object, in the order of ``spec_built/.../06``.

    A sequence of values becomes a compound NuObsValueCmp (NIBP), one value a NuObsValue.
    """
    avas: list[Ava] = []
    if label is not None:
        avas.append(Ava(NOM_ATTR_ID_LABEL, _U32.pack(label)))
    if label_string is not None:
        avas.append(Ava(NOM_ATTR_ID_LABEL_STRING, encode_label_string(label_string)))
    if isinstance(value, NuObsValue):
        avas.append(Ava(NOM_ATTR_NU_VAL_OBS, value.encode()))
    else:
        avas.append(Ava(NOM_ATTR_NU_CMPD_VAL_OBS, encode_list([v.encode() for v in value])))
    if time_abs is not None:
        avas.append(Ava(NOM_ATTR_TIME_STAMP_ABS, time_abs.raw))
    if time_rel is not None:
        avas.append(Ava(NOM_ATTR_TIME_STAMP_REL, _U32.pack(time_rel)))
    return tuple(avas)


def label_of(physio_id: int) -> int:
    """The TextId label of a measurement: ``0x0002`` ‖ physio code (1.4)."""
    return NOM_PART_SCADA << 16 | physio_id


@dataclass(frozen=True, slots=True)
class NumericObservation:
    """The numeric content of one ObservationPoll (1.9.3).

    Attributes:
        values: one NuObsValue, or the entries of a compound NuObsValueCmp.
        compound: True when the values came from NOM_ATTR_NU_CMPD_VAL_OBS.
        label: NOM_ATTR_ID_LABEL TextId, None if the attribute was not in this poll.
        time_abs: the object's own NOM_ATTR_TIME_STAMP_ABS when present and set.
        time_rel: the object's own NOM_ATTR_TIME_STAMP_REL when present.
    """

    handle: int
    values: tuple[NuObsValue, ...]
    compound: bool
    label: int | None = None
    label_string: str | None = None
    time_abs: AbsoluteTime | None = None
    time_rel: int | None = None


def numeric_observations(result: PollResult) -> list[NumericObservation]:
    """The numerics in a poll result; objects without a value attribute are skipped.

    Unknown attribute ids are skipped by their length (1.9.3, 1.14).

    Raises:
        ProtocolError: a value attribute too short for its declared content.
    """
    out: list[NumericObservation] = []
    for obs in result.observations:
        values: list[NuObsValue] = []
        compound = False
        label: int | None = None
        label_string: str | None = None
        time_abs: AbsoluteTime | None = None
        time_rel: int | None = None
        for ava in obs.attributes:
            attribute = ava.attribute_id
            if attribute == NOM_ATTR_NU_VAL_OBS:
                values.append(_decode_nu_obs(_Reader(ava.value, "NuObsValue")))
            elif attribute == NOM_ATTR_NU_CMPD_VAL_OBS:
                compound = True
                reader = _Reader(ava.value, "NuObsValueCmp")
                count, entries = _read_list_header(reader, "NuObsValueCmp")
                values.extend(_decode_nu_obs(entries) for _ in range(count))
            elif attribute == NOM_ATTR_ID_LABEL and len(ava.value) == 4:
                label = int(_U32.unpack(ava.value)[0])
            elif attribute == NOM_ATTR_ID_LABEL_STRING:
                label_string = decode_label_string(ava.value)
            elif attribute == NOM_ATTR_TIME_STAMP_ABS and len(ava.value) == 8:
                stamp = AbsoluteTime(ava.value)
                time_abs = stamp if stamp.is_set else None
            elif attribute == NOM_ATTR_TIME_STAMP_REL and len(ava.value) == 4:
                time_rel = int(_U32.unpack(ava.value)[0])
        if values:
            out.append(
                NumericObservation(
                    obs.handle,
                    tuple(values),
                    compound,
                    label,
                    label_string,
                    time_abs,
                    time_rel,
                )
            )
    return out


#: A NuObsValue as plain values: ``(physio_id, state, unit_code, raw_value)``, the field order
#: of :class:`NuObsValue`.
NuObsTuple = tuple[int, int, int, int]
#: One :class:`NumericObservation` as plain values, for the driver's per-second hot path:
#: ``(handle, values, compound, label, time_abs, time_rel)`` where ``time_abs`` is the raw
#: bytes of a *set* NOM_ATTR_TIME_STAMP_ABS (else None).  ``label_string`` is left out.
NumericRow = tuple[int, list[NuObsTuple], bool, int | None, bytes | None, int | None]


class PollNumericRows(NamedTuple):
    """What the driver needs of a poll result: its time stamps and its numerics as rows.

    Attributes:
        rel_time_stamp: the reply's RelativeTime (as :attr:`PollResult.rel_time_stamp`).
        abs_time_stamp: the reply's AbsoluteTime (as :attr:`PollResult.abs_time_stamp`, its
            ``raw`` always bytes).
        rows: ``numeric_observations`` of the reply, each as a :data:`NumericRow`.
    """

    rel_time_stamp: int
    abs_time_stamp: AbsoluteTime
    rows: list[NumericRow]


def numeric_row(obs: NumericObservation) -> NumericRow:
    """The :data:`NumericRow` of a decoded observation (its time stamp as bytes)."""
    return (
        obs.handle,
        [(v.physio_id, v.state, v.unit_code, v.raw_value) for v in obs.values],
        obs.compound,
        obs.label,
        bytes(obs.time_abs.raw) if obs.time_abs is not None else None,
        obs.time_rel,
    )


def decode_poll_numeric_rows(message: DataExportMessage) -> PollNumericRows | None:
    """The time stamps and numerics of a poll result, fast; None for other messages.

    Equal to ``numeric_observations(decode_poll_result(message))`` turned into rows by
    :func:`numeric_row`, with the same None and the same :class:`ProtocolError`; the two-step
    form stays the reference.  Why a second decoder: the reference builds an :class:`Ava`, a
    :class:`_Reader` and several frozen dataclasses per attribute of every object every second,
    which was most of the driver's decoding time.  This one walks the bytes once with
    ``struct.unpack_from`` into tuples, and hands any message whose lengths do not fit to the
    reference, so every error is raised by the reference code with its exact text.

    Raises:
        ProtocolError: as :func:`decode_poll_result` and :func:`numeric_observations`.
    """
    if message.ro_type not in (RORS_APDU, RORLS_APDU):
        return None
    if message.command_type != CMD_CONFIRMED_ACTION:
        return None
    body = message.body
    # decode_message always gives bytes; any other body type is left to the reference.
    fast = _poll_numeric_rows_fast(body) if type(body) is bytes else None
    if fast is not None:
        return fast
    result = decode_poll_result(message)
    if result is None:
        return None
    rows = [numeric_row(obs) for obs in numeric_observations(result)]
    # Time stamps as bytes whatever the body was, so callers can use them as dict keys.
    abs_time = AbsoluteTime(bytes(result.abs_time_stamp.raw))
    return PollNumericRows(result.rel_time_stamp, abs_time, rows)


#: Managed object (skipped), action type and the length of the action's reply (1.9).
_ACTION_RESULT_HEAD: Final = struct.Struct(">6xHH")
#: PollMdibDataReplyExt up to and including the poll_info_list header (1.9.2): poll number and
#: sequence number skipped, rel/abs time, type and attribute group skipped, list count/length.
_POLL_REPLY_EXT_HEAD: Final = struct.Struct(">4xI8s6xHH")
#: PollMdibDataReply (no sequence number) up to and including the poll_info_list header.
_POLL_REPLY_HEAD: Final = struct.Struct(">2xI8s6xHH")
#: A u16 and a List header (count, length): SingleContextPoll and ObservationPoll heads.
_U16_LIST_HEAD: Final = struct.Struct(">HHH")
_U16_PAIR: Final = struct.Struct(">HH")


def _poll_numeric_rows_fast(data: bytes) -> PollNumericRows | None:
    """The happy path of :func:`decode_poll_numeric_rows`; None for anything it does not vouch for.

    Every bound checked here is one the reference's :class:`_Reader` checks (a nested list may
    not run past its parent's length field, a value not past its AVA); None sends the message
    to the reference, which then returns None or raises.
    """
    size = len(data)
    if size < _ACTION_RESULT_HEAD.size:
        return None
    action_type, reply_len = _ACTION_RESULT_HEAD.unpack_from(data)
    if action_type == NOM_ACT_POLL_MDIB_DATA_EXT:
        head = _POLL_REPLY_EXT_HEAD
    elif action_type == NOM_ACT_POLL_MDIB_DATA:
        head = _POLL_REPLY_HEAD
    else:
        return None  # not a poll: the reference says None as well
    pos = _ACTION_RESULT_HEAD.size
    reply_end = pos + reply_len
    if reply_end > size or pos + head.size > reply_end:
        return None
    rel_time, abs_raw, n_contexts, contexts_len = head.unpack_from(data, pos)
    pos += head.size
    contexts_end = pos + contexts_len
    if contexts_end > reply_end:
        return None
    # Bound methods and constants in locals: this loop runs for every attribute of every object.
    unpack_list_head = _U16_LIST_HEAD.unpack_from
    unpack_pair = _U16_PAIR.unpack_from
    unpack_u32 = _U32.unpack_from
    unpack_nu_obs = _NU_OBS.unpack_from
    nu_val, nu_cmpd = NOM_ATTR_NU_VAL_OBS, NOM_ATTR_NU_CMPD_VAL_OBS
    out: list[NumericRow] = []
    for _ in range(n_contexts):
        if pos + 6 > contexts_end:
            return None
        _context_id, n_obs, obs_len = unpack_list_head(data, pos)
        pos += 6
        obs_end = pos + obs_len
        if obs_end > contexts_end:
            return None
        for _ in range(n_obs):
            if pos + 6 > obs_end:
                return None
            handle, n_avas, avas_len = unpack_list_head(data, pos)
            pos += 6
            avas_end = pos + avas_len
            if avas_end > obs_end:
                return None
            values: list[NuObsTuple] = []
            compound = False
            label: int | None = None
            time_abs: bytes | None = None
            time_rel: int | None = None
            for _ in range(n_avas):
                if pos + 4 > avas_end:
                    return None
                attribute, length = unpack_pair(data, pos)
                pos += 4
                value_end = pos + length
                if value_end > avas_end:
                    return None
                if attribute == nu_val:
                    if length < 10:
                        return None
                    values.append(unpack_nu_obs(data, pos))
                elif attribute == nu_cmpd:
                    compound = True
                    if length < 4:
                        return None
                    count, entries_len = unpack_pair(data, pos)
                    if 4 + entries_len > length or 10 * count > entries_len:
                        return None
                    values.extend(unpack_nu_obs(data, pos + 4 + 10 * k) for k in range(count))
                elif attribute == NOM_ATTR_ID_LABEL and length == 4:
                    label = unpack_u32(data, pos)[0]
                elif attribute == NOM_ATTR_ID_LABEL_STRING:
                    # Not needed in a row, but a string running past its AVA is an error.
                    if length < 2 or _U16.unpack_from(data, pos)[0] > length - 2:
                        return None
                elif attribute == NOM_ATTR_TIME_STAMP_ABS and length == 8:
                    raw = data[pos:value_end]
                    # AbsoluteTime.is_set, without creating the object.
                    time_abs = None if AbsoluteTime.NOT_SET_BYTE in raw[:7] else raw
                elif attribute == NOM_ATTR_TIME_STAMP_REL and length == 4:
                    time_rel = unpack_u32(data, pos)[0]
                pos = value_end
            pos = avas_end
            if values:
                out.append((handle, values, compound, label, time_abs, time_rel))
        pos = obs_end
    return PollNumericRows(rel_time, AbsoluteTime(abs_raw), out)
