"""Poll results (protocols.md 1.9): NuObsValue, the reply tree, and its numeric content.

This is the reference decoder of what the monitor reports every second; the driver's fast path
in :mod:`.numeric_rows` must give exactly what :func:`numeric_observations` gives.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from devices.model import ReadingFlag
from devices.protocols.philips_intellivue.constants import (
    ATTR_GRP_ALL,
    CMD_CONFIRMED_ACTION,
    NOM_ACT_POLL_MDIB_DATA,
    NOM_ACT_POLL_MDIB_DATA_EXT,
    NOM_ATTR_ID_LABEL,
    NOM_ATTR_ID_LABEL_STRING,
    NOM_ATTR_NU_CMPD_VAL_OBS,
    NOM_ATTR_NU_VAL_OBS,
    NOM_ATTR_TIME_STAMP_ABS,
    NOM_ATTR_TIME_STAMP_REL,
    NOM_MOC_VMO_METRIC_NU,
    NOM_PART_OBJ,
    NOM_PART_SCADA,
    P_CONTEXT_ID,
    RORLS_APDU,
    RORS_APDU,
)
from devices.protocols.philips_intellivue.data_export import (
    DataExportMessage,
    _data_export,
    _linked_export,
)
from devices.protocols.philips_intellivue.floats import (
    FLOAT_SPECIAL_FLAGS,
    FloatSpecial,
    decode_float,
    encode_float,
)
from devices.protocols.philips_intellivue.nomenclature import state_flags, state_is_valid
from devices.protocols.philips_intellivue.primitives import (
    _U16,
    _U32,
    MDS,
    AbsoluteTime,
    Ava,
    ManagedObjectId,
    _read_attribute_list,
    _read_list_header,
    _read_managed_object,
    _Reader,
    decode_label_string,
    encode_attribute_list,
    encode_label_string,
    encode_list,
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
