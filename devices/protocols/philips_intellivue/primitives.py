"""Encoding primitives of protocols.md 1.4: readers, lists, AVAs, strings and time types.

Every layer above (association, remote operations, poll results) is written in these, so the
bounds checks that turn a short message into a ``ProtocolError`` live in one place.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from devices.errors import ProtocolError
from devices.protocols.philips_intellivue.constants import NOM_MOC_VMS_MDS, TICKS_PER_S

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
        return self.to_datetime_reference(tz)

    def to_datetime_reference(self, tz: tzinfo = UTC) -> datetime | None:
        """:meth:`to_datetime` digit by digit: the general decoder its shortcut must equal.

        Handles every input on its own (the tests compare the two on any 8 bytes); the
        shortcut above only takes the all-decimal case and hands the rest here.
        """
        if len(self.raw) != 8 or not self.is_set:
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
