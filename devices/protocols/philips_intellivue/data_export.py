"""The ROSE-style data export envelope of protocols.md 1.6 and the top-level message decoder.

Session/presentation header, ROapdus and the remote-operation header.  The common, well-formed
case is read by a fast path; :func:`decode_data_export_reference` is the general decoder it must
equal (tests/devices/test_fast_paths.py proves it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from devices.errors import ProtocolError
from devices.protocols.philips_intellivue.association import AssociationMessage, _decode_association
from devices.protocols.philips_intellivue.constants import (
    DATA_EXPORT,
    ROER_APDU,
    ROIV_APDU,
    RORLS_APDU,
    RORS_APDU,
    SESSION_ID,
)
from devices.protocols.philips_intellivue.primitives import _U16, _Reader

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
    # instead of a _Reader and ten method calls per message.  Anything irregular goes on to
    # decode_data_export_reference, which raises the exact error.
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
    return decode_data_export_reference(data)


def decode_data_export_reference(data: bytes) -> DataExportMessage:
    """A data export message read field by field: the general decoder of the fast path above.

    Every message, regular or not, can be decoded here, and the tests compare the fast path
    with it; the fast path hands it everything it does not vouch for, so errors come from here.

    Raises:
        ProtocolError: wrong session id, unknown ROapdus type, lengths past the end.
    """
    reader = _Reader(data, "data export message")
    session = reader.u16()
    if session != SESSION_ID:
        raise ProtocolError(f"session id 0x{session:04X} is not 0xE100", data)
    context_id = reader.u16()
    ro_type = reader.u16()
    ro = reader.sub(reader.u16(), "ROapdus")
    state: int | None = None
    count: int | None = None
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
