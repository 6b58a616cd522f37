"""Framing of protocols.md 1.2: BOF/EOF, transparency, CRC-16/X-25 and the receiver.

The byte-stream layer: it knows nothing of what a message means, so a framing bug can be found
without decoding a message, and a decoding bug without a serial line.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from typing import Final

from devices.errors import ProtocolError
from devices.protocols.philips_intellivue.constants import (
    BOF,
    EOF,
    ESC,
    ESC_XOR,
    FCS_LEN,
    FRAME_HEADER_LEN,
    GOOD_FCS_RESIDUE,
    MAX_FRAME_LEN,
    MESSAGE_TYPE,
    MIN_FRAME_LEN,
    PROTOCOL_ID,
)
from devices.protocols.philips_intellivue.primitives import _U16

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


def crc16_x25_reference(data: bytes, crc: int = 0xFFFF) -> int:
    """The running CRC of RFC 1662 by its byte-table loop: what :func:`crc16_x25_running` equals.

    Kept callable (not only inlined) so the tests can hold the fast C-backed form to it on any
    input; it is also the form used for start values outside 16 bits.
    """
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def crc16_x25_running(data: bytes, crc: int = 0xFFFF) -> int:
    """The running (uncomplemented) CRC of RFC 1662 over ``data``, starting from ``crc``."""
    if not 0 <= crc <= 0xFFFF:
        # Out-of-range start values keep the table loop's exact (if odd) arithmetic.
        return crc16_x25_reference(data, crc)
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
