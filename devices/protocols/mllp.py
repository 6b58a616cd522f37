"""MLLP framing (shared/protocols.md 4.1): ``0B`` + message + ``1C 0D``.

The transport layer of HL7 v2 on a serial line or TCP, apart from the HL7 codec
(:mod:`devices.protocols.hl7_pcd01`, which re-exports these names): a bounded, resynchronising
framer and the framing of one message.  Sans-I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from devices.errors import ProtocolError

#: Start block (VT).
START_BLOCK: Final = 0x0B
#: End block: FS followed by CR.
END_BLOCK: Final = b"\x1c\x0d"
#: A PCD-01 message of vital signs is ~1.5 KB; gateways that add waveforms send tens of KB.  A
#: message without an end block beyond this size is dropped so a broken sender cannot grow the
#: buffer without limit.
MAX_MESSAGE_LEN: Final = 256 * 1024


@dataclass(slots=True)
class MllpResult:
    """What one :meth:`MllpFramer.feed` call completed.

    Attributes:
        messages: message bytes between ``0B`` and ``1C 0D``, envelope removed.
        errors: one :class:`ProtocolError` per dropped fragment (aborted by a new start block,
            or too long); ``raw`` holds its first bytes.
    """

    messages: list[bytes] = field(default_factory=list)
    errors: list[ProtocolError] = field(default_factory=list)


class MllpFramer:
    """Cuts a TCP or serial byte stream into MLLP-framed messages.

    Bytes outside a block are noise (a half message from before we connected, line garbage) and
    are skipped without an error: they cannot be answered.  A start block inside an unfinished
    message aborts it (4.4: "drop the fragment").  Work is done per complete message, so the
    result does not depend on how the stream was split into reads.

    Attributes:
        messages_out: complete messages returned so far.
        dropped: fragments dropped.
        skipped_bytes: bytes outside any block.
    """

    def __init__(self, max_message_len: int = MAX_MESSAGE_LEN) -> None:
        self.max_message_len = max_message_len
        self.messages_out = 0
        self.dropped = 0
        self.skipped_bytes = 0
        self._buf = bytearray()
        self._in_block = False

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished message held back until its end block arrives."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial message (a new connection or byte stream starts)."""
        self._buf.clear()
        self._in_block = False

    def feed(self, chunk: bytes) -> MllpResult:
        """Consume ``chunk`` (any size, any split point) and return the messages it completed."""
        result = MllpResult()
        data = bytes(chunk)
        while data:
            if not self._in_block:
                start = data.find(START_BLOCK)
                if start < 0:
                    self.skipped_bytes += len(data)
                    return result
                self.skipped_bytes += start
                self._in_block = True
                self._buf.clear()
                data = data[start + 1 :]
                continue
            seen = len(self._buf)
            self._buf += data
            data = b""
            end = self._buf.find(END_BLOCK, max(0, seen - 1))
            restart = self._buf.find(START_BLOCK, seen)
            if restart >= 0 and (end < 0 or restart < end):
                self._drop(self._buf[:restart], "start block before the end block", result)
                data = bytes(self._buf[restart:])
                self._in_block = False
                self._buf.clear()
                continue
            if end >= 0:
                result.messages.append(bytes(self._buf[:end]))
                self.messages_out += 1
                data = bytes(self._buf[end + len(END_BLOCK) :])
                self._in_block = False
                self._buf.clear()
                continue
            if len(self._buf) > self.max_message_len:
                self._drop(self._buf, f"message longer than {self.max_message_len} bytes", result)
                self._in_block = False
                self._buf.clear()
        return result

    def _drop(self, fragment: bytearray | bytes, reason: str, result: MllpResult) -> None:
        self.dropped += 1
        result.errors.append(
            ProtocolError(
                f"MLLP fragment of {len(fragment)} bytes dropped: {reason}", bytes(fragment[:64])
            )
        )


def frame(message: bytes) -> bytes:
    """Wrap one HL7 message (segments ending in CR) in the MLLP envelope."""
    return bytes((START_BLOCK,)) + message + END_BLOCK
