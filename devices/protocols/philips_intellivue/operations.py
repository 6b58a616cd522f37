"""The remote operations the client and monitor exchange: MDS create (1.7) and polls (1.8).

Encoders for both sides (the simulator plays the monitor) and the decoders the driver needs to
run the conversation.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo

from devices.errors import ProtocolError
from devices.protocols.philips_intellivue.constants import (
    ATTR_GRP_ALL,
    CMD_CONFIRMED_ACTION,
    CMD_CONFIRMED_EVENT_REPORT,
    CMD_EVENT_REPORT,
    NOM_ACT_POLL_MDIB_DATA,
    NOM_ACT_POLL_MDIB_DATA_EXT,
    NOM_ATTR_ID_MODEL,
    NOM_ATTR_POLL_OBJ_PRIO_NUM,
    NOM_ATTR_SYS_TYPE,
    NOM_ATTR_TIME_ABS,
    NOM_ATTR_TIME_PD_POLL,
    NOM_ATTR_TIME_REL,
    NOM_ATTR_VMS_MDS_STAT,
    NOM_MOC_VMO_METRIC_NU,
    NOM_MOC_VMS_MDS,
    NOM_NOTI_MDS_CREAT,
    NOM_PART_OBJ,
    P_CONTEXT_ID,
    ROIV_APDU,
    RORS_APDU,
    SYS_TYPE_MULTI_PARAM_MONITOR,
    TICKS_PER_S,
)
from devices.protocols.philips_intellivue.data_export import DataExportMessage, _data_export
from devices.protocols.philips_intellivue.primitives import (
    _U16,
    _U32,
    MDS,
    AbsoluteTime,
    Ava,
    ClockMapping,
    ManagedObjectId,
    _read_attribute_list,
    _read_managed_object,
    _read_string,
    _Reader,
    decode_ascii,
    encode_attribute_list,
    encode_string,
    find_attribute,
)

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
