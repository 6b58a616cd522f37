"""Datex-Ohmeda S/5 Computer Interface Specification — the Datex Record Interface (DRI) codec.

Covers the serial "computer interface" of GE Datex-Ohmeda S/5 (AS/3, CS/3) and CARESCAPE
(B450/B650/B850) monitors as described in ``shared/protocols.md`` section 2:

* 2.2 framing: ``7E`` flags, ``7D`` escape (bit 5 cleared on the wire), 8-bit sum checksum;
* 2.3 the 40-byte little-endian record header ``datex_hdr``;
* 2.4 the 49-byte physiological-database (PHDB) transmission request and the stop request;
* 2.5/2.6 the 278-byte ``dri_phdb`` subrecord and the 270-byte *basic* class layout;
* 2.7 the special values (-32767 … -32762) that stand in for numbers.

The module is sans-I/O: it turns bytes into records and records into values (and back, for the
simulator) without ports, threads, clocks, Qt or SQL, so every rule here is testable from the real
captures in ``shared/protocol_vectors/ge_datex`` and the hand-built vectors in
``shared/protocol_vectors/spec_built/ge_datex``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Final

from devices.errors import ProtocolError
from devices.model import ReadingFlag

# --------------------------------------------------------------------------------------------
# Constants (protocols.md 2.2-2.7)
# --------------------------------------------------------------------------------------------

#: Flag byte that opens and closes every frame (FRAMECHAR).
FRAME: Final = 0x7E
#: Escape byte (CTRLCHAR): the next byte had bit 5 cleared by the sender.
ESC: Final = 0x7D
#: Bit that the sender clears in an escaped byte and the receiver sets again.
ESC_BIT: Final = 0x20

#: Size of ``datex_hdr``.
HEADER_LEN: Final = 40
#: Number of subrecord descriptors in the header (``sr_desc[8]``).
SR_DESC_COUNT: Final = 8
#: Size of a PHDB transmission request record (header + 9-byte ``phdb request``).
REQUEST_LEN: Final = 49
#: Size of one ``dri_phdb`` subrecord: u32 time + 270-byte class + marker + reserved + u16.
PHDB_SUBRECORD_LEN: Final = 278
#: Size of the class data (basic/ext1/ext2/ext3 union) inside a PHDB subrecord.
CLASS_LEN: Final = 270
#: Largest record the monitor sends (40-byte header + up to 1450 data bytes).
MAX_RECORD_LEN: Final = 1490
#: The framer drops anything longer than this (unstuffed, checksum included); the margin over
#: ``MAX_RECORD_LEN`` tolerates newer DRI levels without letting a lost flag grow the buffer.
MAX_FRAME_LEN: Final = 1600

# r_maintype
DRI_MT_PHDB: Final = 0
DRI_MT_WAVE: Final = 1
DRI_MT_ALARM: Final = 4

# sr_type of PHDB records
DRI_PH_XMIT_REQ: Final = 0
DRI_PH_DISPL: Final = 1
DRI_PH_10S_TREND: Final = 2
DRI_PH_60S_TREND: Final = 3
#: End of the subrecord descriptor list; later descriptors hold garbage on real monitors.
DRI_EOL_SUBR_LIST: Final = 0xFF
#: Short names of the PHDB record types, as used in requests.
XMIT_REQ: Final = DRI_PH_XMIT_REQ
DISPL: Final = DRI_PH_DISPL
TREND_10S: Final = DRI_PH_10S_TREND
TREND_60S: Final = DRI_PH_60S_TREND
PHDB_DATA_TYPES: Final = frozenset({DISPL, TREND_10S, TREND_60S})

# phdb_class_bf bits of a request
#: Set to *deny* the basic class (basic is sent unless this bit is set).
CLASS_DENY_BASIC: Final = 1 << 0
CLASS_EXT1: Final = 1 << 1
CLASS_EXT2: Final = 1 << 2
CLASS_EXT3: Final = 1 << 3

# Class numbers in cl_drilvl_subt bits 8-11
CLASS_BASIC: Final = 0
CLASS_EXT1_NUMBER: Final = 1
CLASS_EXT2_NUMBER: Final = 2
CLASS_EXT3_NUMBER: Final = 3

# DRI levels (r_dri_level and cl_drilvl_subt bits 4-7)
DRI_LEVEL_95: Final = 2
DRI_LEVEL_97: Final = 3
DRI_LEVEL_98: Final = 4
DRI_LEVEL_99: Final = 5
DRI_LEVEL_2000: Final = 6
DRI_LEVEL_2001: Final = 7
DRI_LEVEL_2003: Final = 8
DRI_LEVEL_2005: Final = 9
DRI_LEVEL_2009: Final = 10
DRI_LEVEL_2015: Final = 11

# Special values (2.7): any i16 <= -32001 is a marker, never a measurement.
DATA_INVALID: Final = -32767
DATA_NOT_UPDATED: Final = -32766
DATA_DISCONT: Final = -32765
DATA_UNDER_RANGE: Final = -32764
DATA_OVER_RANGE: Final = -32763
DATA_NOT_CALIBRATED: Final = -32762
#: Smallest i16 that is a real value.
DATA_MIN_VALID: Final = -32000
DATA_MAX_VALID: Final = 32767

#: Marker value -> the flag recorded with the (value-less) reading.
MARKER_FLAGS: Final[dict[int, ReadingFlag]] = {
    DATA_INVALID: ReadingFlag.INVALID,
    DATA_NOT_UPDATED: ReadingFlag.NOT_UPDATED,
    DATA_DISCONT: ReadingFlag.DISCONTINUITY,
    DATA_UNDER_RANGE: ReadingFlag.UNDER_RANGE,
    DATA_OVER_RANGE: ReadingFlag.OVER_RANGE,
    DATA_NOT_CALIBRATED: ReadingFlag.NOT_CALIBRATED,
}
#: Reverse of :data:`MARKER_FLAGS`, for the encoder.
FLAG_MARKERS: Final[dict[ReadingFlag, int]] = {flag: raw for raw, flag in MARKER_FLAGS.items()}

# Group status bits (2.6); other status bits are not reliably documented and are not used.
STATUS_PRESENT: Final = 1 << 0
STATUS_ACTIVE: Final = 1 << 1
#: Status a monitor sends for a connected, measuring module (seen on real captures).
STATUS_PRESENT_ACTIVE: Final = STATUS_PRESENT | STATUS_ACTIVE

# NIBP group label bits (2.6, verified on the 30-min real capture)
NIBP_LABEL_CUFF_MASK: Final = 0x7
NIBP_CUFF_INFANT: Final = 1
NIBP_CUFF_ADULT: Final = 3
NIBP_LABEL_AUTO: Final = 1 << 3
NIBP_LABEL_STAT: Final = 1 << 4
NIBP_LABEL_MEASURING: Final = 1 << 5
NIBP_LABEL_STASIS: Final = 1 << 6
NIBP_LABEL_CALIBRATING: Final = 1 << 7
NIBP_LABEL_OLD: Final = 1 << 8

# Basic class offsets (2.6), relative to the 270-byte class block.
OFF_ECG: Final = 0
OFF_ECG_HR: Final = 6
OFF_ECG_IMP_RR: Final = 14
OFF_NIBP: Final = 72
OFF_NIBP_SYS: Final = 78
OFF_NIBP_DIA: Final = 80
OFF_NIBP_MEAN: Final = 82
OFF_T1: Final = 86
OFF_T1_TEMP: Final = 92
OFF_SPO2: Final = 118
OFF_SPO2_SPO2: Final = 124
OFF_SPO2_PR: Final = 126
OFF_SPO2_IR_AMP: Final = 128
OFF_CO2: Final = 132
OFF_CO2_RR: Final = 142
#: The "ECG extra" block (no group header): hr_ecg, hr_max, hr_min.
OFF_ECG_EXTRA_HR: Final = 226
#: Every group header (u32 status + u16 label) in the basic class; ECG extra has none.
GROUP_HEADER_OFFSETS: Final = (
    0, 16, 30, 44, 58, 72, 86, 94, 102, 110, 118, 132, 146, 156, 166, 178, 200, 214, 232, 240, 254,
)  # fmt: skip
#: The two reserved bytes at the end of the basic class (zero on the wire).
OFF_RESERVED: Final = 268

_HEADER = struct.Struct("<hBBHIBBHh")  # r_len, r_nbr, dri_level, plug_id, r_time, 4 x reserved, mt
_SR_DESC = struct.Struct("<hB")  # sr_offset, sr_type
_PHDB_REQUEST = struct.Struct("<BhIh")  # phdb_rcrd_type, tx_interval, phdb_class_bf, reserved
_I16 = struct.Struct("<h")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_GROUP_HEADER = struct.Struct("<IH")  # status, label

# --------------------------------------------------------------------------------------------
# Framing (2.2)
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class FramerResult:
    """What one :meth:`DatexFramer.feed` call completed.

    Attributes:
        records: unstuffed records with checksum and ``r_len`` verified, checksum byte removed.
        errors: one :class:`ProtocolError` per rejected frame; ``raw`` holds the frame's bytes
            between the flags exactly as received (still stuffed), for the log's hex dump.
    """

    records: list[bytes] = field(default_factory=list)
    errors: list[ProtocolError] = field(default_factory=list)


class DatexFramer:
    """Cuts a received byte stream into verified DRI records.

    Every ``7E`` is treated as a delimiter and every non-empty run of bytes between two flags as a
    frame candidate.  That single rule copes with the monitor's back-to-back ``7E … 7E 7E … 7E``
    frames (the empty run between the flags is skipped) and with a lost flag (the next flag ends
    the damaged frame, which then fails its checksum).  Bytes before the first flag are the tail
    of a frame we joined in the middle of; they are skipped without an error because they cannot
    be judged (protocols.md 2.10).  Work is done per complete frame only, so the result does not
    depend on how the stream was split into chunks.

    Attributes:
        good_frames: frames that passed checksum and length checks.
        bad_frames: frames rejected (each also reported once in :attr:`FramerResult.errors`).
        skipped_bytes: bytes thrown away while hunting for a flag (start-up, after an overlong
            frame).
    """

    def __init__(self) -> None:
        self.good_frames = 0
        self.bad_frames = 0
        self.skipped_bytes = 0
        self._buf = bytearray()
        self._escapes = 0
        self._hunting = True

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished frame held back until its closing flag arrives."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial frame and wait for the next flag; counters are kept.

        Called when a new byte stream starts (reconnect), whose first bytes are unrelated to
        whatever was buffered from the old one.
        """
        self._buf.clear()
        self._escapes = 0
        self._hunting = True

    def feed(self, chunk: bytes) -> FramerResult:
        """Consume ``chunk`` (any size, any split point) and return what it completed."""
        result = FramerResult()
        start = 0
        end = len(chunk)
        if self._hunting:
            flag = chunk.find(FRAME)
            if flag < 0:
                self.skipped_bytes += end
                return result
            self.skipped_bytes += flag
            self._hunting = False
            start = flag + 1
        while (flag := chunk.find(FRAME, start)) >= 0:
            piece = chunk[start:flag]
            if self._buf:
                self._buf += piece
                segment = bytes(self._buf)
                self._buf.clear()
            else:
                segment = piece
            self._escapes = 0
            if segment:
                self._check_frame(segment, result)
            start = flag + 1
        if start < end:
            tail = chunk[start:]
            self._buf += tail
            self._escapes += tail.count(ESC)
            # Escapes are not data, but a legal frame is at most twice MAX_FRAME_LEN on the wire:
            # beyond that a flood of 7D bytes is garbage and must not grow the buffer (issue 12).
            if len(self._buf) - self._escapes > MAX_FRAME_LEN or len(self._buf) > 2 * MAX_FRAME_LEN:
                self._reject(bytes(self._buf), f"frame longer than {MAX_FRAME_LEN} bytes", result)
                self._buf.clear()
                self._escapes = 0
                self._hunting = True
        return result

    def _reject(self, raw: bytes, reason: str, result: FramerResult) -> None:
        self.bad_frames += 1
        result.errors.append(ProtocolError(f"DRI frame rejected: {reason}", raw))

    def _check_frame(self, segment: bytes, result: FramerResult) -> None:
        body = _unstuff(segment)
        if body is None:
            self._reject(segment, "escape byte 7D not followed by a data byte", result)
            return
        if len(body) > MAX_FRAME_LEN:
            self._reject(segment, f"frame longer than {MAX_FRAME_LEN} bytes", result)
            return
        if len(body) < HEADER_LEN + 1:
            self._reject(segment, f"frame of {len(body)} bytes is shorter than a header", result)
            return
        record = body[:-1]
        expected = frame_sum8(record)
        if expected != body[-1]:
            self._reject(
                segment,
                f"checksum 0x{body[-1]:02X} != computed 0x{expected:02X} ({len(record)} bytes)",
                result,
            )
            return
        r_len = _I16.unpack_from(record, 0)[0]
        if r_len != len(record):
            self._reject(segment, f"r_len {r_len} != received length {len(record)}", result)
            return
        self.good_frames += 1
        result.records.append(record)


def _unstuff(segment: bytes) -> bytes | None:
    """Undo the byte stuffing of one frame; None when an escape has no byte to apply to.

    ``7D 7D`` and a trailing ``7D`` cannot come from a correct sender, so they reject the frame
    instead of guessing.
    """
    if ESC not in segment:
        return segment
    parts = segment.split(bytes((ESC,)))
    out = bytearray(parts[0])
    for part in parts[1:]:
        if not part:
            return None
        out.append(part[0] | ESC_BIT)
        out += part[1:]
    return bytes(out)


def _stuff(body: bytes) -> bytes:
    # ESC first: escaping FRAME introduces ESC bytes that must not be escaped again.
    return body.replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")


def checksum(record: bytes) -> int:
    """Low 8 bits of the sum of the unstuffed record bytes (2.2).

    The reference for :func:`checksum_fast`, which the framer uses.
    """
    return sum(record) & 0xFF


#: Bytes per zlib.adler32 call in :func:`checksum_fast`: 1 + 256 * 255 stays below 65521, so the
#: low half of adler32 (1 + sum of the bytes, mod 65521) is the exact sum plus one.
_ADLER_SPAN: Final = 256


def checksum_fast(record: bytes) -> int:
    """:func:`checksum` in C: ``sum()`` walks a 1490-byte record one Python int at a time and was
    the framer's largest cost on the 30-min capture; zlib's adler32 sums in C, 256 bytes a call.
    """
    view = memoryview(record)
    total = 0
    for start in range(0, len(view), _ADLER_SPAN):
        total += (zlib.adler32(view[start : start + _ADLER_SPAN]) & 0xFFFF) - 1
    return total & 0xFF


#: The checksum the framer computes; benchmarks swap in :func:`checksum` to time the reference.
frame_sum8 = checksum_fast


def frame_record(record: bytes) -> bytes:
    """Wrap an unstuffed record for the wire: checksum, stuffing (checksum included), flags.

    The checksum is computed over the original bytes, not the escape sequences — VSC's transmit
    routine gets this wrong (protocols.md 2.2) and we must not copy it.
    """
    return bytes((FRAME,)) + _stuff(record + bytes((checksum(record),))) + bytes((FRAME,))


# --------------------------------------------------------------------------------------------
# Records (2.3) and requests (2.4)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatexRecord:
    """One decoded ``datex_hdr`` plus the data area that follows it.

    Attributes:
        r_len: total record length including the header.
        r_nbr: record counter (mod 256); informative only.
        dri_level: DRI level of the data (0 in requests).
        r_time: monitor clock, seconds since 1970 (real monitors send local wall time).
        maintype: ``DRI_MT_PHDB``, ``DRI_MT_WAVE``, ...
        subrecords: ``(sr_type, sr_offset)`` pairs up to the end-of-list marker; offsets are
            relative to :attr:`data`.
        data: the bytes after the 40-byte header.
    """

    r_len: int
    r_nbr: int
    dri_level: int
    r_time: int
    maintype: int
    subrecords: list[tuple[int, int]]
    data: bytes


def decode_record(record: bytes) -> DatexRecord:
    """Decode the header of an unstuffed record (checksum already removed).

    Descriptors after the ``0xFF`` terminator are ignored because real monitors leave garbage
    there (``BD BD FF`` on the level-9 capture).

    Raises:
        ProtocolError: shorter than a header, ``r_len`` differs from the length, or a subrecord
            offset points outside the data area.
    """
    if len(record) < HEADER_LEN:
        raise ProtocolError(f"DRI record of {len(record)} bytes is shorter than a header", record)
    r_len, r_nbr, dri_level, _plug_id, r_time, _r1, _r2, _r3, maintype = _HEADER.unpack_from(
        record, 0
    )
    if r_len != len(record):
        raise ProtocolError(f"DRI r_len {r_len} != record length {len(record)}", record)
    data = record[HEADER_LEN:]
    subrecords: list[tuple[int, int]] = []
    for index in range(SR_DESC_COUNT):
        offset, sr_type = _SR_DESC.unpack_from(record, 16 + 3 * index)
        if sr_type == DRI_EOL_SUBR_LIST:
            break
        if not 0 <= offset <= len(data):
            raise ProtocolError(
                f"DRI subrecord {index} offset {offset} outside {len(data)} data bytes", record
            )
        subrecords.append((sr_type, offset))
    return DatexRecord(r_len, r_nbr, dri_level, r_time, maintype, subrecords, data)


def _encode_header(
    *,
    r_len: int,
    r_nbr: int,
    dri_level: int,
    r_time: int,
    maintype: int,
    subrecords: list[tuple[int, int]],
) -> bytes:
    header = bytearray(_HEADER.pack(r_len, r_nbr, dri_level, 0, r_time, 0, 0, 0, maintype))
    descs = [*subrecords, (DRI_EOL_SUBR_LIST, 0)]
    for sr_type, offset in descs:
        header += _SR_DESC.pack(offset, sr_type)
    header += bytes(HEADER_LEN - len(header))
    return bytes(header)


@dataclass(frozen=True, slots=True)
class PhdbRequest:
    """What a host asked for in a PHDB transmission request (2.4).

    Attributes:
        record_type: ``DISPL``, ``TREND_10S`` or ``TREND_60S``.
        interval_s: transmission interval; 0 means stop.
        class_bits: ``phdb_class_bf`` (``CLASS_DENY_BASIC``, ``CLASS_EXT1`` ...).
    """

    record_type: int
    interval_s: int
    class_bits: int

    @property
    def is_stop(self) -> bool:
        """True for the stop request (interval 0)."""
        return self.interval_s == 0

    @property
    def wants_basic(self) -> bool:
        """True unless the host denied the basic class."""
        return not self.class_bits & CLASS_DENY_BASIC


def encode_phdb_request(interval_s: int, class_bits: int = 0, record_type: int = DISPL) -> bytes:
    """Build the 49-byte PHDB transmission request record (unframed).

    ``dri_level`` is 0 because the monitor ignores it (2.4); one request with level 0 was enough
    for the real level-10 monitor.

    Raises:
        ValueError: interval outside 0…32767 or class bits outside 32 bits.
    """
    if not 0 <= interval_s <= DATA_MAX_VALID:
        raise ValueError(f"tx_interval {interval_s} s outside 0..{DATA_MAX_VALID}")
    if not 0 <= class_bits <= 0xFFFFFFFF:
        raise ValueError(f"phdb_class_bf {class_bits:#x} is not a u32")
    header = _encode_header(
        r_len=REQUEST_LEN,
        r_nbr=0,
        dri_level=0,
        r_time=0,
        maintype=DRI_MT_PHDB,
        subrecords=[(DRI_PH_XMIT_REQ, 0)],
    )
    return header + _PHDB_REQUEST.pack(record_type, interval_s, class_bits, 0)


def encode_stop_request() -> bytes:
    """The request that ends periodic transmission: interval 0, no classes (VSC StopTransfer)."""
    return encode_phdb_request(0, 0)


def parse_phdb_request(record: bytes | DatexRecord) -> PhdbRequest | None:
    """Read a host's PHDB request; None for anything else (data records, junk).

    Never raises, so a simulator can pass every record it receives straight in.
    """
    if not isinstance(record, DatexRecord):
        try:
            record = decode_record(record)
        except ProtocolError:
            return None
    if record.maintype != DRI_MT_PHDB or not record.subrecords:
        return None
    sr_type, offset = record.subrecords[0]
    if sr_type != DRI_PH_XMIT_REQ or offset + _PHDB_REQUEST.size > len(record.data):
        return None
    record_type, interval_s, class_bits, _reserved = _PHDB_REQUEST.unpack_from(record.data, offset)
    return PhdbRequest(record_type, interval_s, class_bits)


# --------------------------------------------------------------------------------------------
# Physiological data (2.5-2.7)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatexValue:
    """One numeric field: a scaled value, or None with the flag its marker stands for."""

    value: float | None
    flag: ReadingFlag | None = None

    @property
    def valid(self) -> bool:
        """True when the field holds a number."""
        return self.flag is None and self.value is not None


def decode_value(raw: int, divisor: int = 1) -> DatexValue:
    """Turn a raw i16 into a value or a flag (2.7).

    Markers outside the documented six (anything else <= -32001) are reported as INVALID rather
    than passed off as a number.  Division (not multiplication by 0.01) keeps 9571 -> 95.71 the
    closest float.
    """
    if raw < DATA_MIN_VALID:
        return DatexValue(None, MARKER_FLAGS.get(raw, ReadingFlag.INVALID))
    return DatexValue(raw / divisor if divisor != 1 else float(raw), None)


def encode_value(value: float | None, flag: ReadingFlag | None = None, divisor: int = 1) -> int:
    """Inverse of :func:`decode_value`: a flag wins, None is DATA_INVALID.

    Raises:
        ValueError: the flag has no DRI marker, or the scaled value does not fit a valid i16.
    """
    if flag is not None:
        try:
            return FLAG_MARKERS[flag]
        except KeyError:
            raise ValueError(f"flag {flag} has no DRI special value") from None
    if value is None:
        return DATA_INVALID
    raw = round(value * divisor)
    if not DATA_MIN_VALID <= raw <= DATA_MAX_VALID:
        raise ValueError(f"value {value} (raw {raw}) outside the DRI range")
    return raw


@dataclass(frozen=True, slots=True)
class BasicClass:
    """The fields of the 270-byte basic class the console uses (2.6).

    Group statuses are kept so callers can tell an absent module (bit 0 clear: no reading at all)
    from a present one sending a marker (a reading flagged invalid).
    """

    ecg_status: int
    ecg_label: int
    ecg_hr: DatexValue
    imp_rr: DatexValue
    nibp_status: int
    nibp_label: int
    nibp_sys: DatexValue
    nibp_dia: DatexValue
    nibp_mean: DatexValue
    t1_status: int
    t1_label: int
    t1: DatexValue
    spo2_status: int
    spo2: DatexValue
    pr: DatexValue
    co2_status: int
    co2_rr: DatexValue

    @property
    def ecg_present(self) -> bool:
        """ECG module connected (group status bit 0)."""
        return bool(self.ecg_status & STATUS_PRESENT)

    @property
    def nibp_present(self) -> bool:
        """NIBP module connected."""
        return bool(self.nibp_status & STATUS_PRESENT)

    @property
    def t1_present(self) -> bool:
        """Temperature channel 1 connected."""
        return bool(self.t1_status & STATUS_PRESENT)

    @property
    def spo2_present(self) -> bool:
        """SpO2 module connected."""
        return bool(self.spo2_status & STATUS_PRESENT)

    @property
    def co2_present(self) -> bool:
        """CO2 (gas) module connected."""
        return bool(self.co2_status & STATUS_PRESENT)

    @property
    def nibp_measuring(self) -> bool:
        """A cuff cycle is running (label bit 5)."""
        return bool(self.nibp_label & NIBP_LABEL_MEASURING)

    @property
    def nibp_old(self) -> bool:
        """The NIBP numbers are older than 60 s (label bit 8)."""
        return bool(self.nibp_label & NIBP_LABEL_OLD)

    @property
    def nibp_auto(self) -> bool:
        """The cuff runs in AUTO (interval) mode (label bit 3)."""
        return bool(self.nibp_label & NIBP_LABEL_AUTO)


def _i16(block: bytes, offset: int) -> int:
    value: int = _I16.unpack_from(block, offset)[0]
    return value


def _group(block: bytes, offset: int) -> tuple[int, int]:
    status, label = _GROUP_HEADER.unpack_from(block, offset)
    return int(status), int(label)


def decode_basic_class(block: bytes) -> BasicClass:
    """Decode the 270-byte basic class block.

    Raises:
        ProtocolError: the block is shorter than 270 bytes.
    """
    if len(block) < CLASS_LEN:
        raise ProtocolError(f"basic class of {len(block)} bytes, expected {CLASS_LEN}", block)
    ecg_status, ecg_label = _group(block, OFF_ECG)
    nibp_status, nibp_label = _group(block, OFF_NIBP)
    t1_status, t1_label = _group(block, OFF_T1)
    spo2_status, _spo2_label = _group(block, OFF_SPO2)
    co2_status, _co2_label = _group(block, OFF_CO2)
    return BasicClass(
        ecg_status=ecg_status,
        ecg_label=ecg_label,
        ecg_hr=decode_value(_i16(block, OFF_ECG_HR)),
        imp_rr=decode_value(_i16(block, OFF_ECG_IMP_RR)),
        nibp_status=nibp_status,
        nibp_label=nibp_label,
        nibp_sys=decode_value(_i16(block, OFF_NIBP_SYS), 100),
        nibp_dia=decode_value(_i16(block, OFF_NIBP_DIA), 100),
        nibp_mean=decode_value(_i16(block, OFF_NIBP_MEAN), 100),
        t1_status=t1_status,
        t1_label=t1_label,
        t1=decode_value(_i16(block, OFF_T1_TEMP), 100),
        spo2_status=spo2_status,
        spo2=decode_value(_i16(block, OFF_SPO2_SPO2), 100),
        pr=decode_value(_i16(block, OFF_SPO2_PR)),
        co2_status=co2_status,
        co2_rr=decode_value(_i16(block, OFF_CO2_RR)),
    )


@dataclass(frozen=True, slots=True)
class DisplayedValues:
    """The physiological content of one PHDB data record.

    Attributes:
        r_time: header time.
        r_nbr: header record counter.
        dri_level: header DRI level.
        time: the basic subrecord's own time (None when the record carries no basic class).
        record_type: sr_type of the basic subrecord (``DISPL`` or a trend type), else None.
        classes: class numbers of all PHDB subrecords, in wire order.
        basic: the basic class, or None when the host denied it / the monitor left it out.
    """

    r_time: int
    r_nbr: int
    dri_level: int
    time: int | None
    record_type: int | None
    classes: tuple[int, ...]
    basic: BasicClass | None


def decode_displayed_values(record: DatexRecord) -> DisplayedValues | None:
    """Extract the basic class from a PHDB data record; None for every other kind of record.

    Wave and alarm records and echoed requests are not errors — they simply carry no vitals.
    The basic subrecord is found by its class bits (cl_drilvl_subt bits 8-11 == 0), not by
    position, because the spec allows any order and missing classes (2.5).

    Raises:
        ProtocolError: a PHDB subrecord extends past the end of the record.
    """
    if record.maintype != DRI_MT_PHDB:
        return None
    phdb = [(t, off) for t, off in record.subrecords if t in PHDB_DATA_TYPES]
    if not phdb:
        return None
    classes: list[int] = []
    time: int | None = None
    record_type: int | None = None
    basic: BasicClass | None = None
    for sr_type, offset in phdb:
        end = offset + PHDB_SUBRECORD_LEN
        if end > len(record.data):
            raise ProtocolError(
                f"PHDB subrecord at {offset} ends past the {len(record.data)} data bytes",
                record.data,
            )
        cl_drilvl_subt = _U16.unpack_from(record.data, end - 2)[0]
        class_number = (cl_drilvl_subt >> 8) & 0xF
        classes.append(class_number)
        if class_number == CLASS_BASIC and basic is None:
            time = int(_U32.unpack_from(record.data, offset)[0])
            record_type = sr_type
            basic = decode_basic_class(record.data[offset + 4 : offset + 4 + CLASS_LEN])
    return DisplayedValues(
        r_time=record.r_time,
        r_nbr=record.r_nbr,
        dri_level=record.dri_level,
        time=time,
        record_type=record_type,
        classes=tuple(classes),
        basic=basic,
    )


def decode_phdb_record_reference(record: bytes) -> DisplayedValues | None:
    """``decode_displayed_values(decode_record(record))``: the general path, one step at a time.

    Kept as the reference that :func:`devices.protocols.ge_datex_fast.decode_phdb_record` is
    tested against (tests/devices/test_fast_paths_datex.py) and benchmarked beside.

    Raises:
        ProtocolError: as :func:`decode_record` and :func:`decode_displayed_values`.
    """
    return decode_displayed_values(decode_record(record))


def _basic_template() -> bytearray:
    """A basic class with every module absent: headers 0, every value DATA_INVALID."""
    block = bytearray(_I16.pack(DATA_INVALID) * (CLASS_LEN // 2))
    for offset in GROUP_HEADER_OFFSETS:
        block[offset : offset + _GROUP_HEADER.size] = bytes(_GROUP_HEADER.size)
    block[OFF_RESERVED : OFF_RESERVED + 2] = bytes(2)
    return block


def encode_displayed_values_record(
    *,
    r_nbr: int,
    r_time: int,
    dri_level: int,
    hr: float | None,
    imp_rr: float | None,
    nibp_sys: float | None,
    nibp_dia: float | None,
    nibp_mean: float | None,
    nibp_label: int,
    spo2: float | None,
    pr: float | None,
    co2_rr: float | None = None,
    t1: float | None = None,
    hr_flag: ReadingFlag | None = None,
    imp_rr_flag: ReadingFlag | None = None,
    nibp_sys_flag: ReadingFlag | None = None,
    nibp_dia_flag: ReadingFlag | None = None,
    nibp_mean_flag: ReadingFlag | None = None,
    spo2_flag: ReadingFlag | None = None,
    pr_flag: ReadingFlag | None = None,
    co2_rr_flag: ReadingFlag | None = None,
    t1_flag: ReadingFlag | None = None,
    ecg_status: int | None = None,
    ecg_label: int = 0,
    t1_label: int = 0,
    spo2_ir_amp: int | None = None,
    subrecord_time: int | None = None,
    marker: int = 0,
) -> bytes:
    """Build a monitor's displayed-values record with one basic subrecord (unframed, 318 bytes).

    This is what the simulator sends, so it follows what real monitors do rather than the
    minimum a decoder needs: a group is *present* (status 0x3) when any of its fields is given —
    a number or a flag — (NIBP also when ``nibp_label`` is non-zero), otherwise status 0 and
    -32767 throughout.  None inside a present group is sent as DATA_INVALID, a flag as its marker
    (the flag wins over a number).  The ECG-extra ``hr_ecg`` mirrors ``hr`` as on the real
    captures.  ``ecg_status``, ``ecg_label``, ``t1_label`` and ``spo2_ir_amp`` exist so the
    hand-built vector ``spec_built/ge_datex/03`` can be reproduced byte for byte.

    Raises:
        ValueError: a value or flag that cannot be represented, or a header field out of range.
    """
    if not 0 <= dri_level <= 0xF:
        raise ValueError(f"dri_level {dri_level} does not fit cl_drilvl_subt")
    if not 0 <= r_nbr <= 0xFF:
        raise ValueError(f"r_nbr {r_nbr} is not a u8")
    if not 0 <= r_time <= 0xFFFFFFFF:
        raise ValueError(f"r_time {r_time} is not a u32")
    block = _basic_template()

    def put(offset: int, raw: int) -> None:
        _I16.pack_into(block, offset, raw)

    def given(*pairs: tuple[float | None, ReadingFlag | None]) -> bool:
        return any(value is not None or flag is not None for value, flag in pairs)

    ecg_present = given((hr, hr_flag), (imp_rr, imp_rr_flag))
    if ecg_status is None:
        ecg_status = STATUS_PRESENT_ACTIVE if ecg_present else 0
    if ecg_status or ecg_present:
        _GROUP_HEADER.pack_into(block, OFF_ECG, ecg_status, ecg_label)
        hr_raw = encode_value(hr, hr_flag)
        put(OFF_ECG_HR, hr_raw)
        put(OFF_ECG_IMP_RR, encode_value(imp_rr, imp_rr_flag))
        put(OFF_ECG_EXTRA_HR, hr_raw)

    nibp = ((nibp_sys, nibp_sys_flag), (nibp_dia, nibp_dia_flag), (nibp_mean, nibp_mean_flag))
    if nibp_label or given(*nibp):
        _GROUP_HEADER.pack_into(block, OFF_NIBP, STATUS_PRESENT_ACTIVE, nibp_label)
        for offset, (value, flag) in zip(
            (OFF_NIBP_SYS, OFF_NIBP_DIA, OFF_NIBP_MEAN), nibp, strict=True
        ):
            put(offset, encode_value(value, flag, 100))

    if given((t1, t1_flag)):
        _GROUP_HEADER.pack_into(block, OFF_T1, STATUS_PRESENT_ACTIVE, t1_label)
        put(OFF_T1_TEMP, encode_value(t1, t1_flag, 100))

    if spo2_ir_amp is not None or given((spo2, spo2_flag), (pr, pr_flag)):
        _GROUP_HEADER.pack_into(block, OFF_SPO2, STATUS_PRESENT_ACTIVE, 0)
        put(OFF_SPO2_SPO2, encode_value(spo2, spo2_flag, 100))
        put(OFF_SPO2_PR, encode_value(pr, pr_flag))
        if spo2_ir_amp is not None:
            put(OFF_SPO2_IR_AMP, encode_value(spo2_ir_amp))

    if given((co2_rr, co2_rr_flag)):
        _GROUP_HEADER.pack_into(block, OFF_CO2, STATUS_PRESENT_ACTIVE, 0)
        put(OFF_CO2_RR, encode_value(co2_rr, co2_rr_flag))

    cl_drilvl_subt = (CLASS_BASIC << 8) | (dri_level << 4) | DISPL
    sub_time = r_time if subrecord_time is None else subrecord_time
    subrecord = _U32.pack(sub_time) + bytes(block) + bytes((marker, 0)) + _U16.pack(cl_drilvl_subt)
    header = _encode_header(
        r_len=HEADER_LEN + PHDB_SUBRECORD_LEN,
        r_nbr=r_nbr,
        dri_level=dri_level,
        r_time=r_time,
        maintype=DRI_MT_PHDB,
        subrecords=[(DISPL, 0)],
    )
    return header + subrecord
