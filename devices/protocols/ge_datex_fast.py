"""The Datex driver's hot path: one DRI record's bytes straight to its basic class (issue 14).

Why a second decoder: the general path (:func:`~devices.protocols.ge_datex.decode_record`, then
:func:`~devices.protocols.ge_datex.decode_displayed_values`) builds a ``DatexRecord`` holding a
copy of the up-to-1450-byte data area, walks the eight subrecord descriptors with a ``struct``
call each, and reads the basic class with fifteen more calls and nine fresh ``DatexValue``
objects.  That is the clear way to follow the spec, and it stays as the reference
(:func:`~devices.protocols.ge_datex.decode_phdb_record_reference`).  Here the header and all
descriptors are one ``struct`` call, the basic-class fields another, nothing is copied, and the
immutable ``DatexValue`` of each raw i16 is made once and shared.

The promise, held by tests/devices/test_fast_paths_datex.py on generated, mangled and captured
records: the same :class:`~devices.protocols.ge_datex.DisplayedValues` as the reference, value for
value, and the same :class:`~devices.errors.ProtocolError` (text and bytes) when it raises.
Sans-I/O like the rest of the codec.
"""

from __future__ import annotations

import struct
from typing import Final

from devices.errors import ProtocolError
from devices.protocols.ge_datex import (
    CLASS_BASIC,
    DRI_EOL_SUBR_LIST,
    DRI_MT_PHDB,
    HEADER_LEN,
    PHDB_DATA_TYPES,
    PHDB_SUBRECORD_LEN,
    SR_DESC_COUNT,
    BasicClass,
    DatexValue,
    DisplayedValues,
    decode_value,
)

#: ``datex_hdr`` in one call: r_len, r_nbr, dri_level, plug_id, r_time, 3 reserved, r_maintype,
#: then eight (sr_offset, sr_type) descriptors — exactly the 40 header bytes.
_HEADER_AND_DESCRIPTORS: Final = struct.Struct("<hBBHIBBHh" + "hB" * SR_DESC_COUNT)
#: The basic-class fields the console uses, at their offsets (protocols.md 2.6):
#: ECG status, label, hr (6), imp_rr (14); NIBP status, label, sys, dia, mean (72-82);
#: T1 status, label, temp (86-92); SpO2 status, label, SpO2, PR (118-126);
#: CO2 status, label (132), rr (142).
_BASIC_FIELDS: Final = struct.Struct("<IHh6xh56xIHhhh2xIHh24xIHhh4xIH4xh")
_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")


class _ValueCache(dict[int, DatexValue]):
    """raw i16 -> its :class:`DatexValue` for one divisor, made on first use and then shared.

    Safe because DatexValue is frozen; bounded by the 65536 possible raw values.
    """

    def __init__(self, divisor: int) -> None:
        super().__init__()
        self.divisor = divisor

    def __missing__(self, raw: int) -> DatexValue:
        value = self[raw] = decode_value(raw, self.divisor)
        return value


_UNITS: Final = _ValueCache(1)
_HUNDREDTHS: Final = _ValueCache(100)


def _basic(record: bytes, base: int) -> BasicClass:
    """The basic class whose 270 bytes start at ``record[base]`` (the caller checked the room)."""
    (
        ecg_status,
        ecg_label,
        hr,
        imp_rr,
        nibp_status,
        nibp_label,
        nibp_sys,
        nibp_dia,
        nibp_mean,
        t1_status,
        t1_label,
        t1,
        spo2_status,
        _spo2_label,
        spo2,
        pr,
        co2_status,
        _co2_label,
        co2_rr,
    ) = _BASIC_FIELDS.unpack_from(record, base)
    return BasicClass(
        ecg_status,
        ecg_label,
        _UNITS[hr],
        _UNITS[imp_rr],
        nibp_status,
        nibp_label,
        _HUNDREDTHS[nibp_sys],
        _HUNDREDTHS[nibp_dia],
        _HUNDREDTHS[nibp_mean],
        t1_status,
        t1_label,
        _HUNDREDTHS[t1],
        spo2_status,
        _HUNDREDTHS[spo2],
        _UNITS[pr],
        co2_status,
        _UNITS[co2_rr],
    )


def decode_phdb_record(record: bytes) -> DisplayedValues | None:
    """What ``decode_displayed_values(decode_record(record))`` returns, for an unstuffed record.

    None for every record that carries no PHDB data subrecord (waves, alarms, echoed requests).

    Raises:
        ProtocolError: exactly where and as the reference raises: shorter than a header,
            ``r_len`` not the length, a descriptor offset outside the data area (checked for
            every record type, before the main type), a PHDB subrecord running past the end.
    """
    size = len(record)
    if size < HEADER_LEN:
        raise ProtocolError(f"DRI record of {size} bytes is shorter than a header", record)
    fields = _HEADER_AND_DESCRIPTORS.unpack_from(record, 0)
    r_len = fields[0]
    if r_len != size:
        raise ProtocolError(f"DRI r_len {r_len} != record length {size}", record)
    data_len = size - HEADER_LEN
    phdb: list[tuple[int, int]] = []
    for index in range(SR_DESC_COUNT):
        offset = fields[9 + 2 * index]
        sr_type = fields[10 + 2 * index]
        if sr_type == DRI_EOL_SUBR_LIST:
            break
        if not 0 <= offset <= data_len:
            raise ProtocolError(
                f"DRI subrecord {index} offset {offset} outside {data_len} data bytes", record
            )
        if sr_type in PHDB_DATA_TYPES:
            phdb.append((sr_type, offset))
    if fields[8] != DRI_MT_PHDB or not phdb:
        return None
    classes: list[int] = []
    time: int | None = None
    record_type: int | None = None
    basic: BasicClass | None = None
    for sr_type, offset in phdb:
        end = HEADER_LEN + offset + PHDB_SUBRECORD_LEN
        if end > size:
            raise ProtocolError(
                f"PHDB subrecord at {offset} ends past the {data_len} data bytes",
                record[HEADER_LEN:],
            )
        class_number = (_U16.unpack_from(record, end - 2)[0] >> 8) & 0xF
        classes.append(class_number)
        if class_number == CLASS_BASIC and basic is None:
            time = _U32.unpack_from(record, HEADER_LEN + offset)[0]
            record_type = sr_type
            basic = _basic(record, HEADER_LEN + offset + 4)
    return DisplayedValues(
        fields[4], fields[1], fields[2], time, record_type, tuple(classes), basic
    )
