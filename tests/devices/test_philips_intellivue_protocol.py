"""The IntelliVue codec against real client captures, the spec-built vectors and generated streams.

Expected numbers come from ``shared/protocol_vectors/README.md`` and protocols.md section 1;
where the data disagrees with the README, the test follows the data and says why.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import struct
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import ProtocolError
from devices.model import ReadingFlag
from devices.protocols import philips_intellivue as piv
from devices.protocols.philips_intellivue import (
    AbsoluteTime,
    AssociationMessage,
    Ava,
    ClockMapping,
    DataExportMessage,
    FloatSpecial,
    IntelliVueFramer,
    MdseUserInfo,
    NuObsValue,
    ObservationPoll,
    PollProfileSupport,
    SingleContextPoll,
    decode_float,
    decode_message,
    encode_float,
    frame_message,
)
from tests.devices.vectors import intellivue_data, load_hex

LOOPBACK = "vscapturemp_client_frames_loopback.raw"
DEVIF_LOG = "devif_test_log_association_request.txt"
CONNECT_INDICATION = "intellivue_connect_indication_udp_wireshark.txt"


def _vector(name: str) -> bytes:
    return load_hex(intellivue_data(name))


def _deframe(data: bytes) -> tuple[IntelliVueFramer, piv.FramerResult]:
    framer = IntelliVueFramer()
    return framer, framer.feed(data)


def _only_message(wire: bytes) -> bytes:
    framer, result = _deframe(wire)
    assert result.errors == []
    assert framer.good_frames == 1
    (message,) = result.messages
    return message


def _data_export(user_data: bytes) -> DataExportMessage:
    message = decode_message(user_data)
    assert isinstance(message, DataExportMessage)
    return message


def _at(*args: int) -> AbsoluteTime:
    return AbsoluteTime.from_datetime(datetime(*args))  # type: ignore[arg-type]


# -- FCS (1.2) ---------------------------------------------------------------------------------
def test_fcs_is_crc16_x25() -> None:
    assert piv.fcs16(b"123456789") == 0x906E
    # OpenICE TestFCSOutputStream: 3A 71 -> FCS bytes 9B 26; 3A 91 -> 95 C1.
    assert piv.fcs16(b"\x3a\x71").to_bytes(2, "little") == b"\x9b\x26"
    assert piv.fcs16(b"\x3a\x91").to_bytes(2, "little") == b"\x95\xc1"
    body = b"\x3a\x91"
    good = body + piv.fcs16(body).to_bytes(2, "little")
    assert piv.crc16_x25_running(good) == piv.GOOD_FCS_RESIDUE


def test_fcs_byte_equal_to_eof_is_escaped_and_recovered() -> None:
    # Search user data whose FCS contains each special byte; the frame must survive.
    for special in (piv.BOF, piv.EOF, piv.ESC):
        for n in range(5000):
            data = n.to_bytes(2, "big")
            body = bytes((0x11, 0x01, 0, 2)) + data
            if special in piv.fcs16(body).to_bytes(2, "little"):
                break
        else:  # pragma: no cover - the search space always contains one
            pytest.fail(f"no FCS with 0x{special:02X}")
        wire = frame_message(data)
        assert bytes((piv.ESC, special ^ 0x20)) in wire[-4:-1]
        assert _only_message(wire) == data


# -- spec-built vectors (1.15) -----------------------------------------------------------------
def test_vector_01_association_request_is_reproduced_byte_for_byte() -> None:
    wire = _vector("01_association_request.hex")

    assert frame_message(piv.encode_association_request()) == wire
    assert len(wire) == 247
    assert b"\x7d\xe1" in wire  # the 0xC1 presentation tag is escaped on the wire


def test_vector_01_decodes_as_documented() -> None:
    user_data = _only_message(_vector("01_association_request.hex"))
    assert len(user_data) == 238
    message = decode_message(user_data)

    assert isinstance(message, AssociationMessage)
    assert message.kind == piv.CN_SPDU_SI
    assert user_data[1] == 0xEC
    info = message.user_info
    assert info is not None
    assert (info.protocol_version, info.nomenclature_version) == (0x80000000, 0x40000000)
    assert (info.functional_units, info.system_type) == (0, piv.SYSTEM_TYPE_CLIENT)
    assert info.startup_mode == piv.STARTUP_COLD
    assert info.option_list == ()
    assert info.poll_profile == PollProfileSupport(
        min_poll_period=8000,
        max_mtu_rx=2500,
        max_mtu_tx=1000,
        max_bw_tx=0xFFFFFFFF,
        options=0x60000000,
        ext_options=0x80000000,
    )
    assert info.extra_aprofiles == ()


def test_vector_02_association_result_round_trips() -> None:
    wire = _vector("02_association_result.hex")
    message = decode_message(_only_message(wire))

    assert isinstance(message, AssociationMessage)
    assert message.kind == piv.AC_SPDU_SI
    info = message.user_info
    assert info is not None
    assert info.system_type == piv.SYSTEM_TYPE_SERVER
    assert info.poll_profile is not None
    assert (info.poll_profile.min_poll_period, info.poll_profile.max_mtu_rx) == (8000, 1000)
    assert (info.poll_profile.max_mtu_tx, info.poll_profile.ext_options) == (1000, 0x80000000)
    assert frame_message(piv.encode_association_result()) == wire
    assert wire.endswith(b"\x7d\xe1\xc1")  # an FCS byte 0xC1, escaped


def test_vector_03_mds_create_event_round_trips() -> None:
    wire = _vector("03_mds_create_event_report.hex")
    message = _data_export(_only_message(wire))

    assert piv.is_mds_create_event(message)
    assert (message.ro_type, message.invoke_id) == (piv.ROIV_APDU, 1)
    assert message.command_type == piv.CMD_CONFIRMED_EVENT_REPORT
    event = piv.decode_mds_create_event(message)
    assert event.managed_object == piv.MDS
    assert event.mds_object == piv.ManagedObjectId(0x21, 0, 0)
    assert event.event_time == 0x0010C8E0
    assert [a.attribute_id for a in event.attributes] == [0x0986, 0x0928, 0x0987, 0x098F, 0x09A7]
    assert event.model == ("Philips", "MX450")
    assert event.time_rel == 0x0010C8E0
    mapping = event.clock_mapping()
    assert mapping == ClockMapping(datetime(2024, 3, 15, 10, 29, 58, tzinfo=UTC), 0x0010C8E0)
    assert mapping.at(0x00110760) == datetime(2024, 3, 15, 10, 30, 0, tzinfo=UTC)

    attributes = piv.mds_create_attributes(
        time_abs=_at(2024, 3, 15, 10, 29, 58), time_rel=0x0010C8E0
    )
    rebuilt = piv.encode_mds_create_event_report(1, 0x0010C8E0, attributes)
    assert frame_message(rebuilt) == wire


def test_vector_05_extended_poll_request_round_trips() -> None:
    wire = _vector("05_extended_poll_request_numerics.hex")

    assert frame_message(piv.encode_extended_poll_request(2, 1)) == wire
    request = piv.decode_poll_request(_data_export(_only_message(wire)))
    assert request is not None
    assert request.extended
    assert (request.invoke_id, request.poll_number) == (2, 1)
    assert (request.obj_class, request.attr_group) == (piv.NOM_MOC_VMO_METRIC_NU, 0)
    assert request.period_ticks == 480000


def _vector_06_observations() -> list[ObservationPoll]:
    """The six numerics of spec_built/.../06, from its comment."""
    now = _at(2024, 3, 15, 10, 30, 0)

    def numeric(handle: int, physio: int, unit: int, value: float) -> ObservationPoll:
        attributes = piv.numeric_attributes(
            label=piv.label_of(physio), value=NuObsValue.of(physio, value, unit), time_abs=now
        )
        return ObservationPoll(handle, attributes)

    nibp = [
        NuObsValue.of(piv.NOM_PRESS_BLD_NONINV_SYS, 120, piv.NOM_DIM_MMHG),
        NuObsValue.of(piv.NOM_PRESS_BLD_NONINV_DIA, 80, piv.NOM_DIM_MMHG),
        NuObsValue.of(piv.NOM_PRESS_BLD_NONINV_MEAN, 93, piv.NOM_DIM_MMHG),
    ]
    return [
        numeric(0x31, piv.NOM_ECG_CARD_BEAT_RATE, piv.NOM_DIM_BEAT_PER_MIN, 72),
        ObservationPoll(
            0xC0,
            piv.numeric_attributes(
                label=piv.label_of(piv.NOM_PRESS_BLD_NONINV),
                value=nibp,
                time_abs=_at(2024, 3, 15, 10, 28, 10),
            ),
        ),
        numeric(0x33, piv.NOM_PULS_OXIM_SAT_O2, piv.NOM_DIM_PERCENT, 98),
        numeric(0x34, piv.NOM_PLETH_PULS_RATE, piv.NOM_DIM_BEAT_PER_MIN, 71),
        numeric(0x35, piv.NOM_RESP_RATE, piv.NOM_DIM_RESP_PER_MIN, 16),
        numeric(0x36, piv.NOM_TEMP, piv.NOM_DIM_DEGC, 36.8),
    ]


def test_vector_06_poll_result_is_reproduced_byte_for_byte() -> None:
    message = piv.encode_poll_result(
        2,
        poll_number=1,
        sequence_no=1,
        rel_time_stamp=0x00110760,
        abs_time_stamp=_at(2024, 3, 15, 10, 30, 0),
        contexts=[SingleContextPoll(0, tuple(_vector_06_observations()))],
    )

    wire = frame_message(message)

    assert wire == _vector("06_extended_poll_result_numerics.hex")
    assert b"\x7d\xe0" in wire  # handle 0x00C0


def test_vector_06_decodes_to_the_listed_values() -> None:
    message = _data_export(_only_message(_vector("06_extended_poll_result_numerics.hex")))
    result = piv.decode_poll_result(message)

    assert result is not None
    assert (result.invoke_id, result.action_type) == (2, piv.NOM_ACT_POLL_MDIB_DATA_EXT)
    assert (result.poll_number, result.sequence_no, result.rel_time_stamp) == (1, 1, 0x00110760)
    assert result.abs_time_stamp.to_datetime() == datetime(2024, 3, 15, 10, 30, tzinfo=UTC)
    assert (result.obj_class, result.attr_group) == (piv.NOM_MOC_VMO_METRIC_NU, 0)
    assert [c.context_id for c in result.contexts] == [0]
    numerics = piv.numeric_observations(result)
    table = {
        obs.handle: (obs.label, [(v.physio_id, v.value, v.unit_code, v.state) for v in obs.values])
        for obs in numerics
    }
    assert table == {
        0x31: (0x00024182, [(0x4182, 72.0, 0x0AA0, 0)]),
        0xC0: (
            0x00024A04,
            [(0x4A05, 120.0, 0x0F20, 0), (0x4A06, 80.0, 0x0F20, 0), (0x4A07, 93.0, 0x0F20, 0)],
        ),
        0x33: (0x00024BB8, [(0x4BB8, 98.0, 0x0220, 0)]),
        0x34: (0x00024822, [(0x4822, 71.0, 0x0AA0, 0)]),
        0x35: (0x0002500A, [(0x500A, 16.0, 0x0AE0, 0)]),
        0x36: (0x00024B48, [(0x4B48, 36.8, 0x17A0, 0)]),
    }
    nibp = next(obs for obs in numerics if obs.handle == 0xC0)
    assert nibp.compound
    assert nibp.time_abs is not None
    assert nibp.time_abs.to_datetime() == datetime(2024, 3, 15, 10, 28, 10, tzinfo=UTC)
    assert all(not obs.compound for obs in numerics if obs.handle != 0xC0)
    temp = next(obs for obs in numerics if obs.handle == 0x36)
    assert temp.values[0].raw_value == 0xFF000170


# -- real captures ------------------------------------------------------------------------------
def _devif_messages() -> list[tuple[str, bytes]]:
    """(kind, user data) of each request in the DevIfTest text log."""
    text = intellivue_data(DEVIF_LOG).read_text(encoding="utf-8")
    out: list[tuple[str, bytes]] = []
    blocks = re.split(r"^\S.* (Association Request|Release Request) COM4:115200$", text, flags=re.M)
    for kind, body in itertools.pairwise(blocks[1:]):
        if kind not in ("Association Request", "Release Request"):
            continue
        hex_lines = [ln for ln in body.splitlines() if re.fullmatch(r"(?:[0-9A-F]{2} ?)+", ln)]
        out.append((kind, bytes.fromhex(" ".join(hex_lines))))
    return out


def test_devif_log_association_request_is_reproduced_exactly() -> None:
    messages = _devif_messages()
    requests = [data for kind, data in messages if kind == "Association Request"]
    releases = [data for kind, data in messages if kind == "Release Request"]
    # README: "ten identical 238-byte association requests"; the log holds nine.
    assert len(requests) == 9
    assert {len(r) for r in requests} == {238}
    assert len(set(requests)) == 1
    profile = PollProfileSupport(
        min_poll_period=0x000FDE80,  # 130 s
        max_mtu_rx=1000,
        max_mtu_tx=1000,
        max_bw_tx=0,
        ext_options=0x89000000,
    )

    assert piv.encode_association_request(MdseUserInfo(poll_profile=profile)) == requests[0]
    message = decode_message(requests[0])
    assert isinstance(message, AssociationMessage)
    assert message.user_info == MdseUserInfo(poll_profile=profile)
    assert releases == [piv.encode_release_request()]
    release = decode_message(releases[0])
    assert release == AssociationMessage(piv.FN_SPDU_SI)


def test_vscapturemp_loopback_frames_deframe_and_are_reproduced() -> None:
    framer, result = _deframe(intellivue_data(LOOPBACK).read_bytes())

    assert framer.good_frames == len(result.messages) == 182
    # The one partial frame: an abort (header length 0x30) cut after 14 bytes by the next BOF.
    (error,) = result.errors
    assert "truncated" in str(error)
    assert error.raw[:5] == bytes.fromhex("11 01 00 30 19")
    assert framer.skipped_bytes == 0
    kinds: Counter[str] = Counter()
    for user_data in result.messages:
        message = decode_message(user_data)
        if isinstance(message, AssociationMessage):
            kinds["association request"] += 1
            assert message.kind == piv.CN_SPDU_SI
            info = message.user_info
            assert info is not None
            assert info.poll_profile is not None
            assert info.poll_profile.ext_options == 0x8E000000  # numerics + waves profile
            (obj_support,) = info.extra_aprofiles
            assert obj_support == piv.mdib_obj_support(
                [(0x21, 1), (6, 0xC9), (9, 0x3C), (5, 0x10), (0x2A, 1), (0x36, 1)]
            )
            assert user_data[:4] == bytes.fromhex("0D FF 01 28")  # LI > 254
            assert piv.encode_association_request(info) == user_data
            continue
        if piv.is_mds_create_result(message):
            kinds["mds create result"] += 1
            assert user_data == piv.encode_mds_create_result(1, 0x000ABD00)
            continue
        request = piv.decode_poll_request(message)
        if request is not None:
            kinds[f"extended poll of class {request.obj_class}"] += 1
            assert request.extended
            rebuilt = piv.encode_extended_poll_request(
                message.invoke_id,
                request.poll_number,
                obj_class=request.obj_class,
                attr_group=request.attr_group,
                period_ticks=request.period_ticks,
            )
            assert rebuilt == user_data
            continue
        kinds[f"command {message.command_type}"] += 1
    assert kinds == {
        "association request": 4,
        "mds create result": 4,
        "extended poll of class 6": 85,
        "extended poll of class 9": 84,
        "command 3": 4,  # GET of the wave priority list
        "command 5": 1,  # CONFIRMED_SET
    }


def test_vscapturemp_numeric_poll_is_the_canonical_30_s_request() -> None:
    canonical = bytes.fromhex(
        "E1 00 00 02 00 01 00 28 00 01 00 07 00 22 00 21 00 00 00 00 00 00 00 00 F1 3B 00 14"
        " 00 01 00 01 00 06 00 00 00 01 00 08 F1 3E 00 04 00 03 A9 80"
    )
    _, result = _deframe(intellivue_data(LOOPBACK).read_bytes())

    assert canonical in result.messages
    assert piv.encode_extended_poll_request(1, 1, period_ticks=240000) == canonical


def test_vscapturemp_single_poll_bytes_from_the_spec() -> None:
    expected = bytes.fromhex(
        "E1 00 00 02 00 01 00 1C 00 00 00 07 00 16 00 21 00 00 00 00 00 00 00 00 0C 16 00 08"
        " 00 01 00 01 00 21 00 00"
    )

    assert piv.encode_single_poll_request(0, 1) == expected
    request = piv.decode_poll_request(_data_export(expected))
    assert request is not None
    assert not request.extended
    assert request.period_ticks is None


def _wireshark_bytes(text: str) -> bytes:
    out = bytearray()
    for line in text.splitlines():
        parts = line.split()
        if parts and re.fullmatch(r"[0-9a-f]{4}", parts[0]):
            out += bytes.fromhex(" ".join(parts[1:17]))
    return bytes(out)


def test_real_connect_indication_attribute_list_is_walked_by_lengths() -> None:
    packet = _wireshark_bytes(intellivue_data(CONNECT_INDICATION).read_text(encoding="utf-8"))
    payload = packet[14 + 20 + 8 :]  # Ethernet, IPv4, UDP headers
    # ROIV event report of NOM_NOTI_MDS_CONNECT_INDIC; attribute list at payload offset 28.
    assert payload[10:12] == b"\x00\x00"  # command EVENT_REPORT
    assert struct.unpack_from(">H", payload, 14)[0] == 0x0023  # composite single bed MDS
    assert payload[24:26] == b"\x0d\x17"

    attributes = piv.decode_attribute_list(payload[28:])

    assert len(attributes) == 16
    sys_type = piv.find_attribute(attributes, piv.NOM_ATTR_SYS_TYPE)
    assert sys_type == struct.pack(">HH", piv.NOM_PART_OBJ, piv.SYS_TYPE_MULTI_PARAM_MONITOR)
    model = piv.find_attribute(attributes, piv.NOM_ATTR_ID_MODEL)
    assert model is not None
    assert model.startswith(b"\x00\x08Philips\x00\x00\x08866062\x00\x00")
    assert piv.find_attribute(attributes, 0xFFFF) is None


# -- association layer details -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("length", "encoded"), [(15, "0F"), (254, "FE"), (255, "FF 00 FF"), (256, "FF 01 00")]
)
def test_length_indicator(length: int, encoded: str) -> None:
    assert piv.encode_li(length) == bytes.fromhex(encoded)


@pytest.mark.parametrize(("length", "encoded"), [(72, "48"), (127, "7F"), (128, "82 00 80")])
def test_asn1_length(length: int, encoded: str) -> None:
    assert piv.encode_asn1_length(length) == bytes.fromhex(encoded)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (piv.encode_refuse(), piv.RF_SPDU_SI),
        (piv.encode_abort(), piv.AB_SPDU_SI),
        (piv.encode_release_request(), piv.FN_SPDU_SI),
        (piv.encode_release_result(), piv.DN_SPDU_SI),
    ],
)
def test_short_association_messages(data: bytes, kind: int) -> None:
    assert decode_message(data) == AssociationMessage(kind)


def test_fixed_association_messages_have_the_documented_sizes() -> None:
    assert len(piv.encode_release_request()) == 26
    assert len(piv.encode_abort()) == 48
    assert piv.encode_release_result()[13] == 0x63


def test_unfamiliar_presentation_part_still_gives_the_kind() -> None:
    weird = bytes((piv.AC_SPDU_SI, 4)) + b"\x01\x02\x03\x04"

    assert decode_message(weird) == AssociationMessage(piv.AC_SPDU_SI, None)


def test_association_li_past_the_end_is_an_error() -> None:
    with pytest.raises(ProtocolError, match="LI"):
        decode_message(bytes((piv.AC_SPDU_SI, 40, 1, 2)))


@settings(max_examples=50, deadline=None)
@given(
    min_poll=st.integers(0, 0xFFFFFFFF),
    rx=st.integers(0, 0xFFFFFFFF),
    ext=st.one_of(st.none(), st.integers(0, 0xFFFFFFFF)),
    pad=st.integers(0, 60),
    server=st.booleans(),
)
def test_association_user_info_round_trips(
    min_poll: int, rx: int, ext: int | None, pad: int, server: bool
) -> None:
    option = (Ava(0x1234, bytes(pad)),) if pad else ()
    info = MdseUserInfo(
        system_type=piv.SYSTEM_TYPE_SERVER if server else piv.SYSTEM_TYPE_CLIENT,
        poll_profile=PollProfileSupport(min_poll_period=min_poll, max_mtu_rx=rx, ext_options=ext),
        option_list=option,
    )
    encode = piv.encode_association_result if server else piv.encode_association_request

    message = decode_message(_only_message(frame_message(encode(info))))

    assert isinstance(message, AssociationMessage)
    assert message.user_info == info


# -- FLOAT-Type (1.4) --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("FD 00 7D 00", 32.0),
        ("FF 00 01 40", 32.0),
        ("01 00 01 40", 3200.0),
        ("02 00 00 20", 3200.0),
        ("FF 00 00 0F", 1.5),
        ("FF 00 01 70", 36.8),
        ("00 FF FF FF", -1.0),
        ("FE FF FF 9C", -1.0),
        ("00 80 00 03", -8388605.0),
        ("00 00 00 00", 0.0),
    ],
)
def test_float_examples(raw: str, value: float) -> None:
    assert decode_float(int(raw.replace(" ", ""), 16)) == value


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        (0x007FFFFF, FloatSpecial.NAN),
        (0x00800000, FloatSpecial.NRES),
        (0x007FFFFE, FloatSpecial.POS_INF),
        (0x00800002, FloatSpecial.NEG_INF),
        (0x00800001, FloatSpecial.RESERVED),
        # Special mantissas count whatever the exponent (MDL; VSC-MP would read a number).
        (0x017FFFFF, FloatSpecial.NAN),
        (0xFF7FFFFE, FloatSpecial.POS_INF),
    ],
)
def test_float_special_values(raw: int, special: FloatSpecial) -> None:
    assert decode_float(raw) is special
    assert encode_float(special) == raw & 0xFFFFFF


@pytest.mark.parametrize(
    ("value", "raw"),
    [(72, 0x00000048), (98.0, 0x00000062), (36.8, 0xFF000170), (1.5, 0xFF00000F), (-3, 0x00FFFFFD)],
)
def test_float_encoder_prefers_exponent_zero_and_exact_decimals(value: float, raw: int) -> None:
    assert encode_float(value) == raw


def test_float_encoder_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ValueError, match="FloatSpecial"):
        encode_float(float("nan"))
    with pytest.raises(ValueError, match="FloatSpecial"):
        encode_float(float("inf"))
    with pytest.raises(ValueError, match="range"):
        encode_float(1e200)


@given(mantissa=st.integers(-8388605, 8388605), exponent=st.integers(-8, 8))
def test_float_round_trips_through_its_value(mantissa: int, exponent: int) -> None:
    raw = ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)
    value = decode_float(raw)
    assert isinstance(value, float)

    again = decode_float(encode_float(value))

    assert again == pytest.approx(value, rel=1e-9, abs=1e-12)


# -- measurement state (1.11) ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "valid", "flags"),
    [
        (0x0000, True, ()),
        (0x8000, False, (ReadingFlag.INVALID,)),
        (0x4000, False, (ReadingFlag.QUESTIONABLE,)),
        (0x2000, False, (ReadingFlag.INVALID,)),
        (0x1000, False, (ReadingFlag.NOT_CALIBRATED,)),
        (0x0800, False, (ReadingFlag.DEMO,)),
        (0x0400, False, (ReadingFlag.DEMO,)),
        (0x0C00, False, (ReadingFlag.DEMO,)),
        (0x0100, False, (ReadingFlag.INVALID,)),  # undocumented high-octet bit
        (0xA000, False, (ReadingFlag.INVALID,)),
        (0x0020, True, (ReadingFlag.MEASURING,)),
        (0x0002, True, ()),  # in alarm: informative only
        (0x0080, True, ()),
    ],
)
def test_state_flags(state: int, valid: bool, flags: tuple[ReadingFlag, ...]) -> None:
    assert piv.state_is_valid(state) is valid
    assert piv.state_flags(state) == flags
    value = NuObsValue.of(0x4182, 60, piv.NOM_DIM_BEAT_PER_MIN, state)
    assert value.valid is valid
    assert value.flags() == flags


def test_special_float_makes_a_value_invalid_with_its_flag() -> None:
    assert NuObsValue.of(0x4182, FloatSpecial.POS_INF, 0x0AA0).flags() == (ReadingFlag.OVER_RANGE,)
    assert NuObsValue.of(0x4182, FloatSpecial.NEG_INF, 0x0AA0).flags() == (ReadingFlag.UNDER_RANGE,)
    nan = NuObsValue.of(0x4182, FloatSpecial.NAN, 0x0AA0, 0x8000)
    assert not nan.valid
    assert nan.flags() == (ReadingFlag.INVALID,)


@pytest.mark.parametrize(
    ("value", "unit", "ucum", "expected"),
    [
        (16.0, piv.NOM_DIM_KILO_PASCAL, "mm[Hg]", 120.0099),
        (98.6, piv.NOM_DIM_FAHR, "Cel", 37.0),
        (72.0, piv.NOM_DIM_BEAT_PER_MIN, "/min", 72.0),
        (72.0, piv.NOM_DIM_PULS_PER_MIN, "/min", 72.0),
        (120.0, piv.NOM_DIM_KILO_PASCAL, "/min", None),
        (120.0, 0x1234, "mm[Hg]", None),
        (120.0, piv.NOM_DIM_NOS, "mm[Hg]", None),
    ],
)
def test_units_convert_to_ucum(value: float, unit: int, ucum: str, expected: float | None) -> None:
    assert piv.to_ucum(value, unit, ucum) == expected


# -- times -------------------------------------------------------------------------------------
def test_absolute_time_handles_unset_and_bad_bcd() -> None:
    assert AbsoluteTime.not_set().to_datetime() is None
    assert not AbsoluteTime.not_set().is_set
    assert AbsoluteTime(bytes.fromhex("20 24 13 15 10 30 00 00")).to_datetime() is None  # month 13
    assert AbsoluteTime(bytes.fromhex("20 24 03 1A 10 30 00 00")).to_datetime() is None
    hundredths_unset = AbsoluteTime(bytes.fromhex("20 24 03 15 10 30 00 FF"))
    assert hundredths_unset.to_datetime() == datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


def test_absolute_time_round_trip_and_zone() -> None:
    when = datetime(2031, 12, 31, 23, 59, 58, 990_000)
    stamp = AbsoluteTime.from_datetime(when)
    assert stamp.raw == bytes.fromhex("20 31 12 31 23 59 58 99")
    zone = timezone(timedelta(hours=1))
    assert stamp.to_datetime(zone) == when.replace(tzinfo=zone)


def test_clock_mapping_survives_the_relative_counter_wrap() -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    mapping = ClockMapping(base, 0xFFFFFF00)

    assert mapping.at(0x00000000) == base + timedelta(seconds=0x100 / 8000)
    assert mapping.at(0xFFFFFE00) == base - timedelta(seconds=0x100 / 8000)


# -- framer robustness (1.14) ------------------------------------------------------------------
_MDS = _vector("03_mds_create_event_report.hex")
_RESULT = _vector("06_extended_poll_result_numerics.hex")


def test_framer_ignores_garbage_and_stray_delimiters_outside_frames() -> None:
    stream = b"\x00\x7d\xc1\x55" + _MDS + b"\xc1\xc1\x7d\x13" + _RESULT + b"\x99"

    framer, result = _deframe(stream)

    assert len(result.messages) == 2
    assert result.errors == []
    assert framer.skipped_bytes == 9


def test_new_bof_inside_a_frame_reports_the_truncated_one() -> None:
    framer, result = _deframe(_MDS[:30] + _RESULT)

    assert result.messages == [_only_message(_RESULT)]
    (error,) = result.errors
    assert "truncated" in str(error)
    assert error.raw == _MDS[1:30]
    assert framer.bad_frames == 1


def test_frame_abort_drops_the_frame_silently() -> None:
    framer, result = _deframe(_MDS[:40] + piv.FRAME_ABORT + _RESULT)

    assert result.messages == [_only_message(_RESULT)]
    assert result.errors == []
    assert framer.aborted_frames == 1


def _corrupt(wire: bytes, index: int) -> bytes:
    data = bytearray(wire)
    data[index] ^= 0x01
    return bytes(data)


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (_corrupt(_MDS, 40), "FCS"),
        (b"\xc0\x11\x01\x00\xc1", "shorter than 6"),
        (b"\xc0\xc1", "shorter than 6"),
        (frame_message(b"abc")[:-3] + b"\x00\x00\xc1", "FCS"),
    ],
)
def test_framer_reports_bad_frames(wire: bytes, reason: str) -> None:
    framer, result = _deframe(wire + _RESULT)

    assert len(result.messages) == 1
    (error,) = result.errors
    assert reason in str(error)
    assert framer.bad_frames == 1


def _frame_raw(body: bytes) -> bytes:
    """A frame around ``body`` (header included) with a correct FCS, for bad-header tests."""
    fcs = piv.fcs16(body)
    return b"\xc0" + piv._escape(body + fcs.to_bytes(2, "little")) + b"\xc1"


def test_framer_checks_header_fields() -> None:
    wrong_id = _frame_raw(b"\x12\x01\x00\x02ab")
    wrong_type = _frame_raw(b"\x11\x02\x00\x02ab")
    wrong_length = _frame_raw(b"\x11\x01\x00\x05ab")

    framer, result = _deframe(wrong_id + wrong_type + wrong_length)

    assert result.messages == []
    assert ["is not 11 01" in str(e) for e in result.errors] == [True, True, False]
    assert "header length 5 != 2" in str(result.errors[2])
    assert framer.bad_frames == 3


@pytest.mark.parametrize("chunk_size", [1, 13, 100_000])
def test_framer_bounds_an_endless_frame_and_recovers(chunk_size: int) -> None:
    stream = b"\xc0" + b"\x55\x7d\x5d" * 3000 + _RESULT
    framer = IntelliVueFramer()
    messages: list[bytes] = []
    errors: list[ProtocolError] = []

    for start in range(0, len(stream), chunk_size):
        result = framer.feed(stream[start : start + chunk_size])
        messages += result.messages
        errors += result.errors
        assert framer.buffered <= 2 * piv.MAX_FRAME_LEN + chunk_size

    assert messages == [_only_message(_RESULT)]
    assert len(errors) == 1
    assert "longer than" in str(errors[0])


def test_escape_split_across_reads() -> None:
    split = _RESULT.index(b"\x7d\xe0") + 1
    framer = IntelliVueFramer()

    first = framer.feed(_RESULT[:split])
    second = framer.feed(_RESULT[split:])

    assert first.messages == []
    assert second.messages == [_only_message(_RESULT)]


def test_reset_drops_a_partial_frame() -> None:
    framer = IntelliVueFramer()
    framer.feed(_MDS[:20])

    framer.reset()
    result = framer.feed(_MDS[20:] + _RESULT)

    assert result.messages == [_only_message(_RESULT)]
    assert result.errors == []


def test_frame_message_refuses_oversized_user_data() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        frame_message(bytes(0x10000))


# -- data export decoding errors ---------------------------------------------------------------
def test_decode_message_rejects_nonsense_without_crashing() -> None:
    with pytest.raises(ProtocolError, match="empty"):
        decode_message(b"")
    with pytest.raises(ProtocolError, match="session id"):
        decode_message(b"\xe1\x01\x00\x02\x00\x01\x00\x00")
    with pytest.raises(ProtocolError, match="ROapdus type"):
        decode_message(bytes.fromhex("E1 00 00 02 00 09 00 06 00 01 00 00 00 00"))


_MESSAGES = [
    _only_message(_vector(name))
    for name in (
        "03_mds_create_event_report.hex",
        "05_extended_poll_request_numerics.hex",
        "06_extended_poll_result_numerics.hex",
    )
]


def _decode_fully(user_data: bytes) -> None:
    message = decode_message(user_data)
    if isinstance(message, DataExportMessage):
        if piv.is_mds_create_event(message):
            piv.decode_mds_create_event(message)
        piv.decode_poll_request(message)
        result = piv.decode_poll_result(message)
        if result is not None:
            piv.numeric_observations(result)


@settings(max_examples=200, deadline=None)
@given(which=st.integers(0, len(_MESSAGES) - 1), cut=st.integers(0, 400), data=st.data())
def test_truncated_or_mangled_messages_raise_protocol_error_only(
    which: int, cut: int, data: st.DataObject
) -> None:
    message = bytearray(_MESSAGES[which][:cut])
    if message and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(message) - 1))
        message[index] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ProtocolError):
        _decode_fully(bytes(message))


def test_linked_fragment_decodes_on_its_own() -> None:
    observations = _vector_06_observations()
    fragment = piv.encode_poll_result(
        9,
        poll_number=4,
        sequence_no=7,
        rel_time_stamp=1234,
        abs_time_stamp=AbsoluteTime.not_set(),
        contexts=[SingleContextPoll(0, tuple(observations[:2]))],
        linked=(piv.RORLS_FIRST, 1),
    )

    message = _data_export(_only_message(frame_message(fragment)))
    result = piv.decode_poll_result(message)

    assert (message.ro_type, message.linked_state, message.linked_count) == (5, 1, 1)
    assert result is not None
    assert (result.linked_state, result.linked_count, result.sequence_no) == (1, 1, 7)
    assert result.abs_time_stamp.to_datetime() is None
    assert [o.handle for o in piv.numeric_observations(result)] == [0x31, 0xC0]


def test_roer_and_other_results_are_not_poll_results() -> None:
    roer = piv._data_export(piv.ROER_APDU, 5, 9, b"", context=2)
    message = _data_export(roer)

    assert message.error_value == 9
    assert piv.decode_poll_result(message) is None
    assert piv.decode_poll_request(message) is None
    assert not piv.is_mds_create_event(message)
    mds_result = _data_export(piv.encode_mds_create_result(3, 0))
    assert piv.decode_poll_result(mds_result) is None
    assert piv.is_mds_create_result(mds_result)


def test_unknown_attributes_and_empty_contexts_are_skipped() -> None:
    odd = ObservationPoll(
        0x77,
        (
            Ava(0xBEEF, b"\x01\x02\x03"),
            Ava(piv.NOM_ATTR_ID_LABEL_STRING, piv.encode_label_string("NBP")),
            Ava(piv.NOM_ATTR_NU_VAL_OBS, NuObsValue.of(0, 5, piv.NOM_DIM_DIMLESS).encode()),
            Ava(piv.NOM_ATTR_TIME_STAMP_REL, b"\x00\x00\x10\x00"),
        ),
    )
    no_value = ObservationPoll(0x78, (Ava(piv.NOM_ATTR_ID_LABEL, b"\x00\x02\x41\x82"),))
    message = piv.encode_poll_result(
        1,
        poll_number=1,
        rel_time_stamp=0,
        abs_time_stamp=AbsoluteTime.not_set(),
        contexts=[SingleContextPoll(0, ()), SingleContextPoll(1, (odd, no_value))],
        sequence_no=None,
    )

    result = piv.decode_poll_result(_data_export(message))

    assert result is not None
    assert result.action_type == piv.NOM_ACT_POLL_MDIB_DATA
    assert result.sequence_no is None
    (numeric,) = piv.numeric_observations(result)
    assert (numeric.handle, numeric.label, numeric.label_string) == (0x77, None, "NBP")
    assert numeric.time_rel == 0x1000


# -- properties --------------------------------------------------------------------------------
_STREAM = (
    b"\x13\x7d\xc1"
    + intellivue_data(LOOPBACK).read_bytes()[:3000]
    + _MDS[:25]
    + piv.FRAME_ABORT
    + _corrupt(_RESULT, 50)
    + b"\xc0"
    + b"\x55\x7d\x5d" * 2500  # oversized, ended by EOF
    + b"\xc1\xc0"
    + b"\x56" * 4500  # oversized, ended by the next BOF
    + _RESULT
    + b"\xc0\x11"
)


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(_STREAM)), max_size=40))
def test_any_split_of_the_stream_gives_the_same_frames(cuts: list[int]) -> None:
    whole_framer, whole = _deframe(_STREAM)
    framer = IntelliVueFramer()
    messages: list[bytes] = []
    errors: list[str] = []

    for start, end in itertools.pairwise([0, *sorted(cuts), len(_STREAM)]):
        result = framer.feed(_STREAM[start:end])
        messages += result.messages
        errors += [str(e) for e in result.errors]

    assert messages == whole.messages
    assert errors == [str(e) for e in whole.errors]
    counters = ("good_frames", "bad_frames", "aborted_frames", "skipped_bytes")
    assert [getattr(framer, c) for c in counters] == [getattr(whole_framer, c) for c in counters]
    assert whole_framer.aborted_frames == 1
    # The truncated capture frame, the corrupted result and the two oversized frames.
    assert whole_framer.bad_frames == 4
    assert sum("longer than" in e for e in errors) == 2


_stuffy = st.lists(
    st.one_of(st.sampled_from([0xC0, 0xC1, 0x7D, 0xE0, 0xE1, 0x5D]), st.integers(0, 255)),
    max_size=300,
)


@given(payload=_stuffy)
def test_frame_message_round_trips_through_the_framer(payload: list[int]) -> None:
    data = bytes(payload)

    wire = frame_message(data)

    assert wire.count(piv.BOF) == 1
    assert wire.count(piv.EOF) == 1
    _, result = _deframe(b"\xc1\x7d" + wire + wire)
    assert result.messages == [data, data]


@given(garbage=st.binary(max_size=200))
def test_any_garbage_between_frames_never_loses_the_next_frame(garbage: bytes) -> None:
    _, result = _deframe(_MDS + garbage + _RESULT)

    assert result.messages[0] == _only_message(_MDS)
    assert result.messages[-1] == _only_message(_RESULT)
    assert len(result.messages) <= 2 + garbage.count(piv.BOF)


@given(cut=st.integers(1, len(_RESULT) - 1))
def test_a_truncated_frame_costs_at_most_itself(cut: int) -> None:
    _, result = _deframe(_RESULT[:cut] + _MDS)

    assert result.messages == [_only_message(_MDS)]
    assert len(result.errors) <= 1


@given(index=st.integers(1, len(_RESULT) - 2), value=st.integers(0, 255))
def test_a_corrupted_byte_is_never_delivered_as_a_wrong_message(index: int, value: int) -> None:
    wire = bytearray(_RESULT)
    wire[index] = value

    _, result = _deframe(bytes(wire) + _MDS)

    assert result.messages[-1] == _only_message(_MDS)
    assert all(m == _only_message(_RESULT) for m in result.messages[:-1])


_numeric = st.tuples(
    st.sampled_from(sorted(piv.PHYSIO_METRICS)),
    st.integers(-8388605, 8388605),
    st.integers(-4, 2),
    st.integers(0, 0xFFFF),
    st.sampled_from(sorted(piv.UNIT_CONVERSIONS)),
)


@settings(max_examples=50, deadline=None)
@given(
    numerics=st.lists(_numeric, max_size=12),
    rel=st.integers(0, 0xFFFFFFFF),
    seq=st.integers(0, 0xFFFF),
    invoke=st.integers(0, 0xFFFF),
    compound=st.booleans(),
)
def test_poll_result_encode_frame_decode_round_trip(
    numerics: list[tuple[int, int, int, int, int]], rel: int, seq: int, invoke: int, compound: bool
) -> None:
    values = [
        NuObsValue(physio, state, unit, ((exp & 0xFF) << 24) | (mantissa & 0xFFFFFF))
        for physio, mantissa, exp, state, unit in numerics
    ]
    if compound and values:
        observations = [ObservationPoll(1, piv.numeric_attributes(label=None, value=values))]
    else:
        observations = [
            ObservationPoll(i, piv.numeric_attributes(label=piv.label_of(v.physio_id), value=v))
            for i, v in enumerate(values)
        ]
    message = piv.encode_poll_result(
        invoke,
        poll_number=3,
        sequence_no=seq,
        rel_time_stamp=rel,
        abs_time_stamp=_at(2025, 6, 1, 12, 0, 0),
        contexts=[SingleContextPoll(0, tuple(observations))],
    )

    result = piv.decode_poll_result(_data_export(_only_message(frame_message(message))))

    assert result is not None
    assert (result.invoke_id, result.sequence_no, result.rel_time_stamp) == (invoke, seq, rel)
    decoded = [v for obs in piv.numeric_observations(result) for v in obs.values]
    assert decoded == values
