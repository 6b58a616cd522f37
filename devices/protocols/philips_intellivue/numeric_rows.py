"""The driver's fast path through a poll result: time stamps and numerics as plain rows.

:func:`decode_poll_numeric_rows` walks the bytes once with ``struct``; its reference,
:func:`decode_poll_numeric_rows_reference`, is ``numeric_observations(decode_poll_result(m))``
turned into rows.  tests/devices/test_fast_paths.py proves them equal on generated and captured
input.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from devices.protocols.philips_intellivue.constants import (
    CMD_CONFIRMED_ACTION,
    NOM_ACT_POLL_MDIB_DATA,
    NOM_ACT_POLL_MDIB_DATA_EXT,
    NOM_ATTR_ID_LABEL,
    NOM_ATTR_ID_LABEL_STRING,
    NOM_ATTR_NU_CMPD_VAL_OBS,
    NOM_ATTR_NU_VAL_OBS,
    NOM_ATTR_TIME_STAMP_ABS,
    NOM_ATTR_TIME_STAMP_REL,
    RORLS_APDU,
    RORS_APDU,
)
from devices.protocols.philips_intellivue.data_export import DataExportMessage
from devices.protocols.philips_intellivue.poll_result import (
    _NU_OBS,
    NumericObservation,
    decode_poll_result,
    numeric_observations,
)
from devices.protocols.philips_intellivue.primitives import _U16, _U32, AbsoluteTime

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
    :func:`numeric_row`, with the same None and the same :class:`ProtocolError`:
    :func:`decode_poll_numeric_rows_reference` is that two-step form.  Why a second decoder:
    the reference builds an :class:`Ava`, a :class:`_Reader` and several frozen dataclasses per
    attribute of every object every second, which was most of the driver's decoding time.
    This one walks the bytes once with ``struct.unpack_from`` into tuples, and hands any message
    whose lengths do not fit to the reference, so every error is raised by the reference code
    with its exact text.

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
    return decode_poll_numeric_rows_reference(message)


def decode_poll_numeric_rows_reference(message: DataExportMessage) -> PollNumericRows | None:
    """``numeric_observations(decode_poll_result(message))`` as rows: the reference decoder.

    What :func:`decode_poll_numeric_rows` must equal on every message (tests/devices/
    test_fast_paths.py), and where it sends every message its fast path does not vouch for.

    Raises:
        ProtocolError: as :func:`decode_poll_result` and :func:`numeric_observations`.
    """
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
