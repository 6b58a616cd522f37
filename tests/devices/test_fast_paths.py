"""Every fast decoding path equals its reference path, on generated and on captured input.

The codecs keep a few hand-optimised decoders for the per-second hot path (issue 13: "about 450
lines of fast decoding compared with nothing").  Each one promises to give exactly what a plain,
general decoder gives, value for value and error for error; these properties hold them to it:

* IntelliVue ``crc16_x25_running`` (binascii.crc_hqx on bit-reversed bytes) against the table loop
  ``crc16_x25_reference``;
* IntelliVue ``AbsoluteTime.to_datetime`` (int() on the hex text) against
  ``to_datetime_reference`` (digit by digit);
* IntelliVue data export envelope (``struct`` shortcut in ``decode_message``) against
  ``decode_data_export_reference``;
* IntelliVue ``decode_poll_numeric_rows`` (one ``struct`` walk) against
  ``decode_poll_numeric_rows_reference`` (``numeric_observations(decode_poll_result(m))``);
* HL7 ``decode_message`` (str.split for plain delimiters) against ``decode_message_reference``
  (python-hl7's parse tree for every message).

Generated input is built to reach the corners (lengths that run past their parent, unset and
non-BCD times, odd delimiters, escapes, malformed segments); captured input is every vector in
``tests/data`` and, when present, ``shared/protocol_vectors``, plus streams from the simulators,
each also mangled at random.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from devices.model import Metric
from devices.protocols import hl7_pcd01 as hl7
from devices.protocols import philips_intellivue as piv
from devices.protocols.philips_intellivue import (
    AbsoluteTime,
    Ava,
    DataExportMessage,
    IntelliVueFramer,
    NuObsValue,
    ObservationPoll,
    SingleContextPoll,
)
from devices.protocols.philips_intellivue.data_export import _decode_data_export
from devices.registry import driver_class
from devices.simulator.launch import SIM_MONITORS, make_monitor
from devices.simulator.monitor import NibpSchedule
from devices.simulator.signals import PatientModel
from tests.devices.vectors import INTELLIVUE_DATA_DIR, load_hex, vectors_dir

# python-hl7 0.4 calls the deprecated Logger.warn on escapes it does not know; the generated
# messages are full of them on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'warn' method is deprecated:DeprecationWarning:hl7.util"
)

HL7_DATA = Path(__file__).resolve().parents[1] / "data" / "hl7"
SIM_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


#: python-hl7 logs (under its file path) a WARNING or ERROR for every escape it cannot decode;
#: the generated and mangled messages carry such escapes on purpose (the reference meets them).
PYTHON_HL7_ESCAPES = pytest.mark.expected_log(
    "", r"^Error (decoding|unescaping|inline character sets)"
)


def outcome(decode: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a decoder did, comparable across decoders: its value, or its error in full.

    Errors are compared by type, text and (for HL7) the NAK they lead to, because the fast
    paths promise the reference's exact error, not just "an error".
    """
    try:
        return ("value", decode(*args, **kwargs))
    except Exception as err:  # any exception: a bug in one path must show as a difference
        extra = (getattr(err, "header", None), getattr(err, "error_code", None))
        return ("error", type(err).__name__, str(err), getattr(err, "raw", None), *extra)


# ============================================================================================
# Captured input
# ============================================================================================


def _intellivue_frames_from(wire: bytes) -> list[bytes]:
    return IntelliVueFramer().feed(wire).messages


def _devif_messages(text: str) -> list[bytes]:
    out = []
    for block in re.split(
        r"^\S.* (?:Association Request|Release Request) COM4:115200$", text, flags=re.M
    )[1:]:
        hex_lines = [ln for ln in block.splitlines() if re.fullmatch(r"(?:[0-9A-F]{2} ?)+", ln)]
        out.append(bytes.fromhex(" ".join(hex_lines)))
    return out


def _vector_files(relative_dir: str, local_dir: Path) -> list[Path]:
    """The vectors in ``tests/data/...`` and their shared originals (when the shared dir exists)."""
    shared = vectors_dir() / relative_dir
    files = sorted(local_dir.iterdir())
    if shared.is_dir():
        files += sorted(p for p in shared.iterdir() if p.is_file())
    return files


@functools.cache
def _simulated_stream(protocol: str, seconds: int) -> bytes:
    """What the simulated monitor of ``protocol`` sends in ``seconds``, answered by the driver
    (the benchmark's stream: the production encoder, NIBP cycles included)."""
    driver = driver_class(SIM_MONITORS[protocol][1])()
    monitor = make_monitor(protocol, PatientModel("routine", seed=3), SIM_START, NibpSchedule())
    for message in driver.handshake():
        monitor.receive(message, SIM_START)
    stream = bytearray()
    t = SIM_START
    for _ in range(seconds * 10):
        t += timedelta(seconds=0.1)
        for chunk in monitor.due(t):
            stream += chunk
            for reply in driver.feed(chunk, t).replies:
                monitor.receive(reply, t)
        for message in driver.poll_requests(t):
            monitor.receive(message, t)
    return bytes(stream)


@functools.cache
def intellivue_captured() -> tuple[bytes, ...]:
    """User data of every IntelliVue message we hold: real captures, spec-built, simulated."""
    messages: list[bytes] = []
    for path in _vector_files("philips_intellivue", INTELLIVUE_DATA_DIR):
        if path.suffix == ".hex":
            messages += _intellivue_frames_from(load_hex(path))
        elif path.suffix == ".raw":
            messages += _intellivue_frames_from(path.read_bytes())
        elif path.name.startswith("devif_test_log"):
            messages += _devif_messages(path.read_text(encoding="utf-8"))
    spec_built = vectors_dir() / "spec_built" / "philips_intellivue"
    if spec_built.is_dir():
        for path in sorted(spec_built.glob("*.hex")):
            messages += _intellivue_frames_from(load_hex(path))
    messages += _intellivue_frames_from(_simulated_stream("intellivue", 90))
    return tuple(messages)


@functools.cache
def hl7_captured() -> tuple[bytes, ...]:
    """Every HL7 message we hold: the spec-built vectors (both copies) and a simulated gateway."""
    messages: list[bytes] = []
    for path in _vector_files("spec_built/hl7", HL7_DATA):
        if path.suffix == ".txt":
            lines = path.read_text(encoding="utf-8").splitlines()
            segments = [ln for ln in lines if ln and not ln.startswith("#")]
            messages.append(("\r".join(segments) + "\r").encode("utf-8"))
        elif path.suffix == ".hex":
            messages += hl7.MllpFramer().feed(load_hex(path)).messages
    messages += hl7.MllpFramer().feed(_simulated_stream("hl7", 120)).messages
    return tuple(messages)


def test_the_captured_input_is_there() -> None:
    """The captured-input properties below are only as good as what they are fed."""
    iv = intellivue_captured()
    polls = [m for m in iv if _rows_reference(m) not in (None, "n/a")]
    assert len(iv) > 200  # 182 loopback frames alone
    assert len(polls) >= 50  # spec-built 06 and the simulated minute and a half
    assert any(row[2] for m in polls for row in _rows_reference(m).rows)  # a compound NIBP
    assert len(hl7_captured()) >= 10


def _rows_reference(user_data: bytes) -> Any:
    message = piv.decode_message(user_data)
    if not isinstance(message, DataExportMessage):
        return "n/a"
    return piv.decode_poll_numeric_rows_reference(message)


# ============================================================================================
# IntelliVue: CRC
# ============================================================================================


@settings(max_examples=300)
@given(data=st.binary(max_size=600), crc=st.integers(0, 0xFFFF))
@example(data=b"123456789", crc=0xFFFF)
def test_crc_fast_equals_the_table_loop(data: bytes, crc: int) -> None:
    assert piv.crc16_x25_running(data, crc) == piv.crc16_x25_reference(data, crc)


def test_crc_fast_equals_the_table_loop_on_captured_frames() -> None:
    for user_data in intellivue_captured():
        body = bytes((piv.PROTOCOL_ID, piv.MESSAGE_TYPE)) + len(user_data).to_bytes(2, "big")
        body += user_data
        assert piv.crc16_x25_running(body) == piv.crc16_x25_reference(body)
        assert piv.fcs16(body) == piv.crc16_x25_reference(body) ^ 0xFFFF


# ============================================================================================
# IntelliVue: AbsoluteTime
# ============================================================================================

_bcd_byte = st.integers(0, 99).map(lambda n: (n // 10) << 4 | n % 10)
_time_byte = st.one_of(_bcd_byte, st.just(0xFF), st.integers(0, 255))
_plausible_time = st.tuples(
    st.sampled_from([0x19, 0x20, 0x21, 0x00, 0x99]),
    _bcd_byte,
    st.sampled_from([0x01, 0x02, 0x09, 0x10, 0x12, 0x13, 0x00]),
    st.sampled_from([0x01, 0x28, 0x29, 0x30, 0x31, 0x32, 0x00]),
    st.sampled_from([0x00, 0x09, 0x10, 0x23, 0x24]),
    st.sampled_from([0x00, 0x30, 0x59, 0x60]),
    st.sampled_from([0x00, 0x30, 0x59, 0x60]),
    st.one_of(_bcd_byte, st.just(0xFF)),
).map(bytes)
_tz = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
)


@settings(max_examples=400)
@given(
    raw=st.one_of(
        _plausible_time,
        st.lists(_time_byte, min_size=8, max_size=8).map(bytes),
        st.binary(max_size=10),
    ),
    tz=_tz,
)
@example(raw=bytes.fromhex("2024031510300000"), tz=UTC)
@example(raw=bytes.fromhex("20240229103000FF"), tz=UTC)
@example(raw=bytes.fromhex("2023022910300000"), tz=UTC)
def test_absolute_time_shortcut_equals_the_digit_decoder(raw: bytes, tz: tzinfo) -> None:
    stamp = AbsoluteTime(raw)

    assert stamp.to_datetime(tz) == stamp.to_datetime_reference(tz)


def test_absolute_time_shortcut_equals_the_digit_decoder_on_captured_stamps() -> None:
    stamps = set()
    for user_data in intellivue_captured():
        message = piv.decode_message(user_data)
        if not isinstance(message, DataExportMessage):
            continue
        result = piv.decode_poll_result(message)
        if result is not None:
            stamps.add(result.abs_time_stamp.raw)
            stamps |= {o.time_abs.raw for o in piv.numeric_observations(result) if o.time_abs}
        if piv.is_mds_create_event(message):
            time_abs = piv.decode_mds_create_event(message).time_abs
            if time_abs is not None:
                stamps.add(time_abs.raw)
    assert len(stamps) > 10
    for raw in stamps:
        assert AbsoluteTime(raw).to_datetime() == AbsoluteTime(raw).to_datetime_reference()


# ============================================================================================
# IntelliVue: data export envelope and poll-result rows
# ============================================================================================

_u16 = st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0, 1, 2, 4, 6, 8, 10, 0xFFFF]))
_nu_obs = st.builds(
    NuObsValue,
    physio_id=st.one_of(st.sampled_from(sorted(piv.PHYSIO_METRICS)), _u16),
    state=st.sampled_from([0, piv.MSMT_INVALID, piv.MSMT_DEMO_DATA, 0xFFFF]),
    unit_code=st.one_of(st.sampled_from(sorted(piv.UNIT_CONVERSIONS)), _u16),
    raw_value=st.integers(0, 0xFFFFFFFF),
)
_time_abs_bytes = st.one_of(_plausible_time, st.just(b"\xff" * 8), st.binary(max_size=10))
_attribute = st.one_of(
    st.builds(lambda v: Ava(piv.NOM_ATTR_NU_VAL_OBS, v.encode()), _nu_obs),
    st.builds(
        lambda vs: Ava(piv.NOM_ATTR_NU_CMPD_VAL_OBS, piv.encode_list([v.encode() for v in vs])),
        st.lists(_nu_obs, max_size=4),
    ),
    st.builds(lambda b: Ava(piv.NOM_ATTR_ID_LABEL, b), st.binary(min_size=3, max_size=5)),
    st.builds(
        lambda s: Ava(piv.NOM_ATTR_ID_LABEL_STRING, piv.encode_label_string(s)),
        st.text(max_size=6),
    ),
    st.builds(lambda b: Ava(piv.NOM_ATTR_TIME_STAMP_ABS, b), _time_abs_bytes),
    st.builds(lambda b: Ava(piv.NOM_ATTR_TIME_STAMP_REL, b), st.binary(min_size=3, max_size=5)),
    st.builds(
        Ava,
        st.sampled_from(
            [
                piv.NOM_ATTR_NU_VAL_OBS,
                piv.NOM_ATTR_NU_CMPD_VAL_OBS,
                piv.NOM_ATTR_ID_LABEL_STRING,
                piv.NOM_ATTR_ID_TYPE,
                0xBEEF,
            ]
        ),
        st.binary(max_size=14),
    ),
)
_observation = st.builds(ObservationPoll, _u16, st.lists(_attribute, max_size=6).map(tuple))
_context = st.builds(
    SingleContextPoll, _u16, st.lists(_observation, min_size=1, max_size=4).map(tuple)
)


@st.composite
def _poll_result(draw: st.DrawFn) -> bytes:
    """User data of a single or extended poll result, a RORS or a RORLS fragment."""
    return piv.encode_poll_result(
        draw(_u16),
        poll_number=draw(_u16),
        rel_time_stamp=draw(st.integers(0, 0xFFFFFFFF)),
        abs_time_stamp=AbsoluteTime(draw(_plausible_time)),
        contexts=draw(st.lists(_context, min_size=draw(st.sampled_from([0, 1, 1])), max_size=3)),
        sequence_no=draw(st.one_of(st.none(), _u16)),
        linked=draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(0, 255)))),
    )


@st.composite
def _mangled(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` untouched, cut short, with bytes overwritten, inserted or removed.

    Overwrites favour the values that make length fields run short or long (0, 1, FF).
    """
    data = bytearray(original)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["cut", "set", "set", "insert", "delete"]))
        if action == "cut":
            del data[draw(st.integers(0, len(data))) :]
            continue
        if not data:
            break
        index = draw(st.integers(0, len(data) - 1))
        value = draw(st.one_of(st.sampled_from([0, 1, 2, 0x7F, 0xFF]), st.integers(0, 255)))
        if action == "set":
            data[index] = value
        elif action == "insert":
            data.insert(index, value)
        else:
            del data[index]
    return bytes(data)


#: A length or count as encoded: usually right, sometimes a little off either way, which is
#: what reaches each bound check of the fast paths (random byte damage rarely hits one).
_skew = st.integers(0, 24).flatmap(lambda k: st.just(0) if k else st.integers(-12, 12))


def _u16_bytes(value: int) -> bytes:
    return (value & 0xFFFF).to_bytes(2, "big")


@st.composite
def _skewed_list(draw: st.DrawFn, items: list[bytes]) -> bytes:
    body = b"".join(items)
    return _u16_bytes(len(items) + draw(_skew)) + _u16_bytes(len(body) + draw(_skew)) + body


@st.composite
def _skewed_ava(draw: st.DrawFn) -> bytes:
    ava = draw(_attribute)
    value = ava.value
    if ava.attribute_id == piv.NOM_ATTR_NU_CMPD_VAL_OBS:
        values = draw(st.lists(_nu_obs, max_size=4))
        value = draw(_skewed_list([v.encode() for v in values]))
    elif ava.attribute_id == piv.NOM_ATTR_ID_LABEL_STRING and len(value) >= 2:
        value = _u16_bytes(len(value) - 2 + draw(_skew)) + value[2:]
    return bytes(_u16_bytes(ava.attribute_id) + _u16_bytes(len(value) + draw(_skew)) + value)


@st.composite
def _skewed_poll_result(draw: st.DrawFn) -> bytes:
    """A poll result encoded here, level by level, with any length or count a little off."""
    contexts = []
    for _ in range(draw(st.integers(0, 3))):
        observations = []
        for _ in range(draw(st.integers(0, 4))):
            avas = draw(st.lists(_skewed_ava(), max_size=6))
            observations.append(_u16_bytes(draw(_u16)) + draw(_skewed_list(avas)))
        contexts.append(_u16_bytes(draw(_u16)) + draw(_skewed_list(observations)))
    action = draw(st.sampled_from([piv.NOM_ACT_POLL_MDIB_DATA_EXT, piv.NOM_ACT_POLL_MDIB_DATA]))
    reply = _u16_bytes(draw(_u16))
    if action == piv.NOM_ACT_POLL_MDIB_DATA_EXT:
        reply += _u16_bytes(draw(_u16))
    reply += draw(st.binary(min_size=4, max_size=4)) + draw(_time_abs_bytes).ljust(8, b"\0")[:8]
    reply += bytes(6) + draw(_skewed_list(contexts)) + draw(st.binary(max_size=3))
    body = piv.MDS.encode() + _u16_bytes(action) + _u16_bytes(len(reply) + draw(_skew)) + reply
    return draw(_skewed_envelope(body))


@st.composite
def _skewed_envelope(draw: st.DrawFn, body: bytes) -> bytes:
    """Data export envelope around ``body`` (mostly a confirmed-action RORS or RORLS)."""
    ro_type = draw(st.sampled_from([piv.RORS_APDU] * 3 + [piv.RORLS_APDU] * 2 + [piv.ROIV_APDU]))
    remote_op = bytes((1, 2)) if ro_type == piv.RORLS_APDU else b""
    command = draw(st.sampled_from([piv.CMD_CONFIRMED_ACTION] * 5 + [piv.CMD_GET]))
    remote_op += _u16_bytes(draw(_u16)) + _u16_bytes(command)
    remote_op += _u16_bytes(len(body) + draw(_skew)) + body
    head = _u16_bytes(piv.SESSION_ID if draw(_skew) == 0 else draw(_u16))
    head += _u16_bytes(draw(_u16)) + _u16_bytes(ro_type if draw(_skew) == 0 else draw(_u16))
    tail = draw(st.binary(max_size=3))
    return head + _u16_bytes(len(remote_op) + draw(_skew)) + remote_op + tail


def assert_intellivue_paths_agree(user_data: bytes) -> None:
    """Envelope and rows, fast against reference, for one message's user data."""
    envelope = outcome(_decode_data_export, user_data)
    assert envelope == outcome(piv.decode_data_export_reference, user_data)
    if envelope[0] != "value":
        return
    message = envelope[1]
    rows = outcome(piv.decode_poll_numeric_rows, message)
    assert rows == outcome(piv.decode_poll_numeric_rows_reference, message)


@settings(max_examples=300)
@given(user_data=_poll_result())
def test_poll_rows_fast_equals_reference_on_generated_results(user_data: bytes) -> None:
    assert_intellivue_paths_agree(user_data)


@settings(max_examples=400)
@given(user_data=_poll_result(), data=st.data())
def test_poll_rows_fast_equals_reference_on_mangled_generated_results(
    user_data: bytes, data: st.DataObject
) -> None:
    assert_intellivue_paths_agree(data.draw(_mangled(user_data)))
    # The same damage inside an intact envelope, so that it reaches the rows decoders.
    message = piv.decode_data_export_reference(user_data)
    message = dataclasses.replace(message, body=data.draw(_mangled(message.body)))
    fast = outcome(piv.decode_poll_numeric_rows, message)
    assert fast == outcome(piv.decode_poll_numeric_rows_reference, message)


@settings(max_examples=500)
@given(user_data=_skewed_poll_result())
def test_poll_rows_fast_equals_reference_on_results_with_lengths_off(user_data: bytes) -> None:
    assert_intellivue_paths_agree(user_data)


def test_skewed_results_reach_rows_and_every_kind_of_error() -> None:
    """The lengths-off generator must keep making good rows as well as every failure."""
    seen: set[str] = set()

    @settings(max_examples=200, database=None, derandomize=True)
    @given(user_data=_skewed_poll_result())
    def collect(user_data: bytes) -> None:
        envelope = outcome(piv.decode_data_export_reference, user_data)
        if envelope[0] == "error":
            seen.add("envelope error")
            return
        rows = outcome(piv.decode_poll_numeric_rows_reference, envelope[1])
        if rows[0] == "error":
            seen.add("rows error")
        else:
            seen.add("not a poll" if rows[1] is None else "rows" if rows[1].rows else "no rows")

    collect()
    assert seen == {"envelope error", "rows error", "not a poll", "rows", "no rows"}


@settings(max_examples=300)
@given(user_data=st.binary(max_size=40).flatmap(_skewed_envelope))
def test_data_export_fast_equals_reference_on_envelopes_with_lengths_off(user_data: bytes) -> None:
    assert_intellivue_paths_agree(user_data)


@settings(max_examples=100)
@given(user_data=st.binary(max_size=60).map(lambda b: b"\xe1\x00" + b))
def test_data_export_fast_equals_reference_on_arbitrary_bytes(user_data: bytes) -> None:
    assert_intellivue_paths_agree(user_data)


def test_intellivue_fast_paths_equal_reference_on_captured_messages() -> None:
    for user_data in intellivue_captured():
        if user_data[:1] == b"\xe1":
            assert_intellivue_paths_agree(user_data)


@settings(max_examples=300)
@given(data=st.data())
def test_intellivue_fast_paths_equal_reference_on_mangled_captured_messages(
    data: st.DataObject,
) -> None:
    captured = [m for m in intellivue_captured() if m[:1] == b"\xe1"]
    original = data.draw(st.sampled_from(captured))
    assert_intellivue_paths_agree(data.draw(_mangled(original)))


# ============================================================================================
# HL7: str.split against python-hl7
# ============================================================================================

_STANDARD = "|^~\\&"
_PLAIN = "|^~\\&#!$%*+/:;<=>?@_`{}"


@st.composite
def _delimiters(draw: st.DrawFn) -> str:
    """Field, component, repetition, escape, subcomponent: mostly standard, often other plain
    punctuation, sometimes characters the fast path must refuse (letters, digits, a space,
    repeats)."""
    kind = draw(st.sampled_from(["standard", "plain", "plain", "one odd", "odd"]))
    if kind == "standard":
        return _STANDARD
    if kind == "plain":
        return "".join(draw(st.permutations(list(_PLAIN)))[:5])
    if kind == "one odd":
        index = draw(st.integers(0, 4))
        odd = draw(st.sampled_from("aZ9 .|^"))
        return _STANDARD[:index] + odd + _STANDARD[index + 1 :]
    pool = _PLAIN[:8] + "aZ9 ."
    return "".join(draw(st.lists(st.sampled_from(pool), min_size=5, max_size=5)))


# Field text is drawn as tokens; the upper-case placeholders become the message's delimiters
# when rendered, so every delimiter set sees the same structures.
_COMP, _REP, _SUB, _ESC = "\x01", "\x02", "\x03", "\x04"
_escape_seq = st.sampled_from(
    ["F", "S", "T", "R", "E", "X41", "X0D0A", "H", "N", ".br", "Zx", "", "XZZ", "C2842"]
).map(lambda code: _ESC + code + _ESC)
_token = st.one_of(
    st.sampled_from(["", "72", "36.8", "-3", "+.5", "1e3", "MDC", "LN", "99X", "150456", "R", "X"]),
    st.sampled_from(["MDC_PULS_OXIM_SAT_O2", "262688", "8867-4", "20240315103000+0000", "é"]),
    st.sampled_from([_COMP, _REP, _SUB, _ESC, " "]),
    _escape_seq,
    st.text(alphabet="abcXYZ0123456789.-+ ", max_size=5),
)
_soup = st.lists(_token, max_size=6).map("".join)


def _coded(code: object, text: str, system: str) -> str:
    return f"{code}{_COMP}{text}{_COMP}{system}"


_obx_code = st.one_of(
    st.sampled_from([_coded(c, t, "MDC") for c, t, _u, _ut in hl7.METRIC_MDC.values()]),
    st.sampled_from([_coded(c, "", "LN") for c in hl7.LOINC_METRICS]),
    st.just(_coded("abc", "private", "99X")),
    _soup,
)
_obx_unit = st.one_of(
    st.sampled_from([_coded(u, t, "MDC") for _c, _t, u, t in hl7.METRIC_MDC.values()]),
    st.sampled_from(["mm[Hg]", "kPa", "/min", "%", "Cel", "[degF]", "bpm"]),
    _soup,
)
_number = st.one_of(
    st.integers(-50, 400).map(str),
    st.floats(-10, 400, allow_nan=False).map(lambda f: f"{f:.2f}"),
)
_time_text = st.one_of(
    st.sampled_from(["20240315103000+0000", "202403151030", "20240315", "2024", "20241332"]),
    _soup,
)


def _maybe(value: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(value, value, value, _soup)


@st.composite
def _obx(draw: st.DrawFn) -> list[str]:
    fields = [draw(_soup) for _ in range(19)]
    fields[0] = "OBX"
    fields[1] = draw(_maybe(st.integers(1, 99).map(str)))
    fields[2] = draw(_maybe(st.sampled_from(["NM", "ST", "", "CWE"])))
    fields[3] = draw(_maybe(_obx_code))
    fields[4] = draw(_maybe(st.sampled_from(["1.1.1.1", "1.2.1.1", "1.3.1.1"])))
    fields[5] = draw(_maybe(_number))
    fields[6] = draw(_maybe(_obx_unit))
    fields[7] = draw(_maybe(st.sampled_from(["50-120", "", "90-160"])))
    fields[8] = draw(_maybe(st.sampled_from(["", "H", f"H{_REP}LL"])))
    fields[11] = draw(_maybe(st.sampled_from(["R", "F", "X", "P", "D"])))
    fields[14] = draw(_maybe(_time_text))
    return fields[: draw(st.integers(1, 19))]


@st.composite
def _segment(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["OBX", "OBX", "OBX", "PID", "OBR", "PV1", "NTE", "odd"]))
    if kind == "OBX":
        return draw(_obx())
    if kind == "PID":
        return ["PID", "", "", draw(_maybe(st.just(f"MRN12345{_COMP}{_COMP}{_COMP}CLINIC")))]
    if kind == "OBR":
        return ["OBR", "1", "", "", draw(_soup), "", "", draw(_maybe(_time_text))]
    if kind == "odd":
        return [draw(st.sampled_from(["ZZ1", "obx", "O", "OBXX", "12A", "MSH"])), draw(_soup)]
    return [kind, *draw(st.lists(_soup, max_size=4))]


@st.composite
def hl7_messages(draw: st.DrawFn) -> bytes:
    """One ORU-like message with drawn delimiters, fields, escapes and segment terminators."""
    delims = draw(_delimiters())
    field, component, repetition, esc, sub = tuple(delims)
    encoding = (component + repetition + esc + sub)[: draw(st.sampled_from([4, 4, 4, 3, 2, 1]))]
    msh = [
        draw(_maybe(st.just(f"VSGW{_COMP}0A1B{_COMP}EUI-64"))),
        draw(_soup),
        draw(_maybe(st.just("KETCONSOLE"))),
        draw(_soup),
        draw(_maybe(_time_text)),
        "",
        draw(_maybe(st.just(f"ORU{_COMP}R01{_COMP}ORU_R01"))),
        draw(st.one_of(st.just("MSG00001"), _soup)),
        "P",
        "2.6",
    ]
    msh = msh[: draw(st.integers(7, len(msh)))]
    segments = ["MSH" + field + encoding + field + field.join(msh)]
    for fields in draw(st.lists(_segment(), max_size=6)):
        segments.append(field.join(fields))
        if draw(st.integers(0, 9)) == 0:
            segments.append("")
    text = draw(st.sampled_from(["\r", "\n", "\r\n"])).join(segments)
    text += draw(st.sampled_from(["\r", "", "\r\r", " \r"]))
    placeholders = str.maketrans({_COMP: component, _REP: repetition, _SUB: sub, _ESC: esc})
    return text.translate(placeholders).encode(draw(st.sampled_from(["utf-8", "latin-1"])))


_EXTRA_CODES = {("99X", "abc"): Metric.HR}


def assert_hl7_paths_agree(message: bytes, tz: tzinfo = UTC) -> None:
    """The fast and the python-hl7 decoder agree on ``message``, with and without extra codes."""
    for extra in (None, _EXTRA_CODES):
        fast = outcome(hl7.decode_message, message, default_tz=tz, extra_codes=extra)
        reference = outcome(hl7.decode_message_reference, message, default_tz=tz, extra_codes=extra)
        assert fast == reference


@PYTHON_HL7_ESCAPES
@settings(max_examples=400)
@given(message=hl7_messages(), tz=_tz)
def test_hl7_fast_equals_python_hl7_on_generated_messages(message: bytes, tz: tzinfo) -> None:
    assert_hl7_paths_agree(message, tz)


@PYTHON_HL7_ESCAPES
def test_hl7_generated_messages_reach_both_paths_and_both_outcomes() -> None:
    """The generator is no good if it only ever makes errors, or never a non-plain delimiter."""
    seen: set[tuple[bool, str]] = set()

    @settings(max_examples=150, database=None, derandomize=True)
    @given(message=hl7_messages())
    def collect(message: bytes) -> None:
        first = message.split(b"\r")[0].split(b"\n")[0].decode("latin-1")
        plain = hl7._Delimiters.plain(first) is not None
        seen.add((plain, outcome(hl7.decode_message, message)[0]))

    collect()
    assert {(True, "value"), (True, "error"), (False, "value")} <= seen


@PYTHON_HL7_ESCAPES
def test_hl7_fast_equals_python_hl7_on_captured_messages() -> None:
    for message in hl7_captured():
        assert_hl7_paths_agree(message)
        assert outcome(hl7.decode_message, message)[0] == "value"


@PYTHON_HL7_ESCAPES
@settings(max_examples=300)
@given(data=st.data())
def test_hl7_fast_equals_python_hl7_on_mangled_captured_messages(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(hl7_captured()))
    text = original.decode("utf-8")
    # Swap the standard delimiters for others throughout, then mangle single characters.
    new = data.draw(_delimiters())
    text = text.translate(str.maketrans(_STANDARD, new)) if len(set(new)) == 5 else text
    chars = list(text)
    for _ in range(data.draw(st.integers(0, 4))):
        if not chars:
            break
        index = data.draw(st.integers(0, len(chars) - 1))
        chars[index] = data.draw(st.sampled_from([*new, *_STANDARD, "\r", "\n", "x", "7", ""]))
    assert_hl7_paths_agree("".join(chars).encode("utf-8"))


# Combinations a reviewer may wish to read as plain examples.
@PYTHON_HL7_ESCAPES
@pytest.mark.parametrize(
    "text",
    [
        "MSH|^~\\&|A|B|C|D|20240315103000||ORU^R01|M1|P|2.6\rOBX|1|NM|150456^X^MDC||9\\E\\8|%",
        "MSH|^~\\&|A|B|C|D|2024||ORU^R01|M1|P|2.6\rOBX|1|NM|150456^X^MDC||98~99|262688^^MDC",
        "MSH#^~\\&#A#B#C#D#2024##ORU^R01#M1#P#2.6\rOBX#1#NM#150456^X^MDC##98&1#262688^^MDC",
        "MSH|^~|A|B|C|D|2024||ORU^R01|M1\rOBX|1|NM|150456^X^MDC||98|%",
        "MSH|^~\\&|A|B|C|D|2024||ORU^R01|M1\rOBX|1|NM|150456\\.spO3\\^X^MDC||98|%",
        "MSHa^~\\&aAaBaCaDa2024aaORU^R01aM1\rOBXa1aNMa150456^X^MDCaa98a%",
    ],
)
def test_hl7_fast_equals_python_hl7_on_examples(text: str) -> None:
    assert_hl7_paths_agree(text.encode())
