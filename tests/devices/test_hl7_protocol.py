"""The HL7 PCD-01 / MLLP codec against the spec-built vectors and generated hostile streams.

Expected values come from the comments in ``tests/data/hl7`` (copies of
``shared/protocol_vectors/spec_built/hl7``) and protocols.md section 4.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.model import Metric, ReadingFlag
from devices.protocols.hl7_pcd01 import (
    MAX_MESSAGE_LEN,
    Hl7ParseError,
    MllpFramer,
    OruObservation,
    decode_ack,
    decode_message,
    encode_ack,
    encode_oru,
    escape,
    format_number,
    frame,
    metric_for,
    observation_for,
    parse_timestamp,
)
from tests.devices.vectors import load_hex

DATA = Path(__file__).resolve().parents[1] / "data" / "hl7"
T0 = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)
CUFF = datetime(2024, 3, 15, 10, 28, 10, tzinfo=UTC)


def _segments() -> list[str]:
    text = (DATA / "01_oru_r01_pcd01.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _message(segments: list[str] | None = None, terminator: str = "\r") -> bytes:
    return (terminator.join(segments or _segments()) + terminator).encode("utf-8")


def _replace(old: str, new: str) -> bytes:
    text = _message().decode()
    assert old in text
    return text.replace(old, new).encode()


def _vector_observations() -> list[OruObservation]:
    return [
        observation_for(Metric.HR, 72, T0, reference_range="50-120"),
        observation_for(Metric.NIBP_SYS, 120, CUFF, reference_range="90-160"),
        observation_for(Metric.NIBP_DIA, 80, CUFF),
        observation_for(Metric.NIBP_MEAN, 93, CUFF),
        observation_for(Metric.SPO2, 98, T0, reference_range="90-100"),
        observation_for(Metric.PR, 71, T0),
        observation_for(Metric.RR, 16, T0),
        observation_for(Metric.TEMP, 36.8, T0),
    ]


# -- spec-built vectors --------------------------------------------------------------------------
def test_vector_02_is_vector_01_in_an_mllp_envelope() -> None:
    wire = load_hex(DATA / "02_oru_r01_pcd01.mllp.hex")

    assert len(wire) == 1430
    assert wire == frame(_message())


def test_vector_02_decodes_to_the_stated_values() -> None:
    framer = MllpFramer()
    result = framer.feed(load_hex(DATA / "02_oru_r01_pcd01.mllp.hex"))
    assert result.errors == []
    (raw,) = result.messages

    message = decode_message(raw)

    header = message.header
    assert message.control_id == "MSG00001"
    assert (header.message_type, header.trigger_event, header.version) == ("ORU", "R01", "2.6")
    assert header.sending_application == "VSGW^0A1B2C3D4E5F6071^EUI-64"
    assert header.message_time == T0
    assert message.patient_ids == ("MRN12345",)
    values = {o.metric: (o.value, o.unit, o.observation_time) for o in message.observations}
    assert values == {
        Metric.HR: (72, "/min", T0),
        Metric.NIBP_SYS: (120, "mm[Hg]", CUFF),
        Metric.NIBP_DIA: (80, "mm[Hg]", CUFF),
        Metric.NIBP_MEAN: (93, "mm[Hg]", CUFF),
        Metric.SPO2: (98, "%", T0),
        Metric.PR: (71, "/min", T0),
        Metric.RR: (16, "/min", T0),
        Metric.TEMP: (36.8, "Cel", T0),
    }
    assert len(message.observations) == 8  # the MDS containment row is not an observation
    assert all(o.valid and o.flags == () and o.result_status == "R" for o in message.observations)
    hr = message.observations[0]
    assert (hr.code, hr.code_text, hr.coding_system) == ("147842", "MDC_ECG_HEART_RATE", "MDC")
    assert (hr.sub_id, hr.reference_range, hr.raw_unit) == ("1.1.1.1", "50-120", "264864")
    assert hr.patient_id == "MRN12345"


def test_ack_for_vector_02_equals_vector_03_byte_for_byte() -> None:
    (raw,) = MllpFramer().feed(load_hex(DATA / "02_oru_r01_pcd01.mllp.hex")).messages
    message = decode_message(raw)

    ack = encode_ack(
        message.header,
        control_id="ACK00001",
        now=datetime(2024, 3, 15, 10, 30, 1, tzinfo=UTC),
    )

    assert frame(ack) == load_hex(DATA / "03_ack.mllp.hex")
    assert decode_ack(ack) == ("AA", "MSG00001")


def test_encoder_reproduces_vector_02_byte_for_byte() -> None:
    built = encode_oru(control_id="MSG00001", message_time=T0, observations=_vector_observations())

    assert frame(built) == load_hex(DATA / "02_oru_r01_pcd01.mllp.hex")


# -- decoder tolerance (4.4) ---------------------------------------------------------------------
@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_segment_terminators_cr_lf_and_crlf_are_all_accepted(terminator: str) -> None:
    message = decode_message(_message(terminator=terminator))

    assert [o.value for o in message.observations] == [72, 120, 80, 93, 98, 71, 16, 36.8]


def test_time_zones_and_missing_zones() -> None:
    plus8 = decode_message(_replace("20240315102810+0000", "20240315182810+0800"))
    naive = decode_message(
        _replace("20240315102810+0000", "20240315102810"), default_tz=timezone(timedelta(hours=2))
    )

    nibp_plus8 = next(o for o in plus8.observations if o.metric is Metric.NIBP_SYS)
    nibp_naive = next(o for o in naive.observations if o.metric is Metric.NIBP_SYS)
    assert nibp_plus8.observation_time == CUFF
    assert nibp_naive.observation_time == CUFF - timedelta(hours=2)


def test_observation_time_falls_back_to_obr7_then_msh7() -> None:
    no_obx14 = decode_message(_replace("R|||20240315102810+0000", "R|||"))
    sys_ = next(o for o in no_obx14.observations if o.metric is Metric.NIBP_SYS)
    assert sys_.observation_time == T0  # OBR-7

    text = _message().decode().replace("R|||20240315102810+0000", "R|||")
    text = text.replace("SCT|||20240315103000+0000", "SCT|||")
    only_msh = decode_message(
        text.replace("20240315103000+0000||ORU", "20240315103005+0000||ORU").encode()
    )
    sys_ = next(o for o in only_msh.observations if o.metric is Metric.NIBP_SYS)
    assert sys_.observation_time == T0 + timedelta(seconds=5)


@pytest.mark.parametrize("value", ["", "---", "abc", "nan", "1e400", "12.3.4"])
def test_missing_or_non_numeric_values_are_kept_as_invalid(value: str) -> None:
    message = decode_message(_replace("|1.3.1.1|98|", f"|1.3.1.1|{value}|"))

    spo2 = next(o for o in message.observations if o.metric is Metric.SPO2)
    assert spo2.value is None
    assert not spo2.valid
    assert spo2.flags == (ReadingFlag.INVALID,)
    assert spo2.raw_value == value


@pytest.mark.parametrize(
    ("status", "valid", "flags"),
    [
        ("F", True, ()),
        ("C", True, ()),
        ("X", False, (ReadingFlag.INVALID,)),
        ("W", False, (ReadingFlag.INVALID,)),
        ("P", True, (ReadingFlag.QUESTIONABLE,)),
    ],
)
def test_result_status_obx11(status: str, valid: bool, flags: tuple[ReadingFlag, ...]) -> None:
    message = decode_message(_replace("90-100||||R|", f"90-100||||{status}|"))

    spo2 = next(o for o in message.observations if o.metric is Metric.SPO2)
    assert (spo2.result_status, spo2.valid, spo2.flags) == (status, valid, flags)


def test_abnormal_flags_obx8_are_kept() -> None:
    message = decode_message(_replace("|90-160||||R|", "|90-160|H~HH|||R|"))

    sys_ = next(o for o in message.observations if o.metric is Metric.NIBP_SYS)
    assert sys_.abnormal_flags == ("H", "HH")
    assert sys_.valid


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [
        ("mm[Hg]^mm[Hg]^UCUM", "120", (120.0, "mm[Hg]")),
        ("mmHg^mmHg^99LOCAL", "120", (120.0, "mm[Hg]")),
        ("265987^MDC_DIM_KILO_PASCAL^MDC", "16", (120.0, "mm[Hg]")),
        ("^^", "120", (120.0, "mm[Hg]")),
    ],
)
def test_unit_variants_are_converted_to_ucum(
    unit: str, value: str, expected: tuple[float, str]
) -> None:
    message = decode_message(
        _replace("|1.2.1.1|120|266016^MDC_DIM_MMHG^MDC|", f"|1.2.1.1|{value}|{unit}|")
    )

    sys_ = next(o for o in message.observations if o.metric is Metric.NIBP_SYS)
    assert (sys_.value, sys_.unit) == expected
    assert sys_.valid


def test_fahrenheit_and_beat_units() -> None:
    temp = decode_message(
        _replace("|36.8|268192^MDC_DIM_DEGC^MDC|", "|98.6|266560^MDC_DIM_FAHR^MDC|")
    )
    pr = decode_message(_replace("|71|264864^MDC_DIM_BEAT_PER_MIN^MDC|", "|71|{beat}/min^^UCUM|"))

    assert next(o for o in temp.observations if o.metric is Metric.TEMP).value == 37.0
    assert next(o for o in pr.observations if o.metric is Metric.PR).unit == "/min"


def test_a_unit_that_does_not_fit_the_metric_makes_the_value_invalid() -> None:
    message = decode_message(_replace("|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|", "|72|%^%^UCUM|"))

    hr = next(o for o in message.observations if o.metric is Metric.HR)
    assert not hr.valid
    assert hr.unit == "%"


def test_loinc_vendor_and_unknown_codes() -> None:
    loinc = decode_message(_replace("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "8480-6^Systolic^LN"))
    vendor = decode_message(_replace("150456^MDC_PULS_OXIM_SAT_O2^MDC", "SPO2^SpO2^99MNDRY"))
    override = decode_message(
        _replace("150456^MDC_PULS_OXIM_SAT_O2^MDC", "SPO2^SpO2^99MNDRY"),
        extra_codes={("99MNDRY", "SPO2"): Metric.SPO2},
    )

    assert Metric.NIBP_SYS in {o.metric for o in loinc.observations}
    unknown = [o for o in vendor.observations if o.metric is None]
    assert [(o.code, o.value) for o in unknown] == [("SPO2", 98)]
    assert Metric.SPO2 in {o.metric for o in override.observations}
    assert metric_for("149546", "MDC") is None  # NIBP pulse rate: not the console's PR
    assert metric_for("149538", "") is Metric.PR


def test_extra_segments_several_obr_groups_and_patients() -> None:
    segs = _segments()
    second_patient = [
        "PID|||MRN99999^^^CLINIC^MR||ROE^RICHARD||19700101|M",
        "OBR|2|X^VSGW|X^VSGW|182777000^monitoring of patient^SCT|||20240315103100+0000",
        "NTE|1||free text with \\F\\ escaped bar",
        "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.1|91|262688^MDC_DIM_PERCENT^MDC|||||R",
    ]
    text = [segs[0], "EVN||20240315103000", *segs[1:4], "ORC|RE", *segs[4:], *second_patient]

    message = decode_message(_message(text))

    assert message.patient_ids == ("MRN12345", "MRN99999")
    spo2 = [o for o in message.observations if o.metric is Metric.SPO2]
    assert [(o.value, o.patient_id) for o in spo2] == [(98, "MRN12345"), (91, "MRN99999")]
    assert spo2[1].observation_time == T0 + timedelta(minutes=1)  # its own OBR-7


def test_escaped_delimiters_in_text_fields_are_unescaped() -> None:
    message = decode_message(_replace("150344^MDC_TEMP^MDC", "150344^MDC\\S\\TEMP\\F\\X^MDC"))

    temp = next(o for o in message.observations if o.metric is Metric.TEMP)
    assert temp.code_text == "MDC^TEMP|X"
    assert escape("a|b^c~d\\e&f") == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f"


# -- parse failures and negative acknowledgements --------------------------------------------------
@pytest.mark.parametrize("garbage", [b"", b"hello", b"\x00\xff\xfe", b"PID|||x\rOBX|1", b"MSH"])
def test_garbage_is_rejected_without_a_header(garbage: bytes) -> None:
    with pytest.raises(Hl7ParseError) as info:
        decode_message(garbage)

    assert info.value.header is None
    nak = encode_ack(
        info.value.header,
        control_id="ACK00009",
        now=T0,
        code="AR",
        text=str(info.value),
        error_code=info.value.error_code,
    )
    assert decode_ack(nak) == ("AR", "")
    assert nak.startswith(b"MSH|^~\\&|KETCONSOLE|")
    assert b"\rERR|||100^" in nak


def test_a_bad_segment_after_a_good_msh_is_rejected_with_the_control_id() -> None:
    segs = _segments()
    broken = _message([*segs[:5], "\x00\x01garbage in the middle", *segs[5:]])

    with pytest.raises(Hl7ParseError, match="segment 6") as info:
        decode_message(broken)

    header = info.value.header
    assert header is not None
    assert header.control_id == "MSG00001"
    nak = encode_ack(header, control_id="ACK00002", now=T0, code="AE", text="bad", error_code="100")
    assert decode_ack(nak) == ("AE", "MSG00001")
    assert nak.split(b"\r")[0].split(b"|")[2:6] == [
        b"KETCONSOLE",
        b"CLINIC",
        b"VSGW^0A1B2C3D4E5F6071^EUI-64",
        b"CLINIC",
    ]


def test_a_message_without_control_id_is_an_error_with_header() -> None:
    with pytest.raises(Hl7ParseError, match="MSH-10") as info:
        decode_message(_replace("|MSG00001|", "||"))

    assert info.value.header is not None
    assert info.value.error_code == "101"


def test_timestamps() -> None:
    assert parse_timestamp("2024") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_timestamp("20240315103000.25-0500") == datetime(
        2024, 3, 15, 10, 30, 0, 250000, tzinfo=timezone(timedelta(hours=-5))
    )
    assert parse_timestamp("20241315") is None
    assert parse_timestamp("not a time") is None
    assert format_number(36.8) == "36.8"
    assert format_number(72.0) == "72"


# -- MLLP framer ---------------------------------------------------------------------------------
def test_framer_skips_bytes_outside_blocks_and_splits_coalesced_messages() -> None:
    framer = MllpFramer()

    result = framer.feed(b"noise" + frame(b"A\r") + b"\r\n" + frame(b"B\r") + frame(b"C\r"))

    assert result.messages == [b"A\r", b"B\r", b"C\r"]
    assert result.errors == []
    assert framer.skipped_bytes == len(b"noise") + 2


def test_a_new_start_block_drops_the_unfinished_fragment() -> None:
    framer = MllpFramer()

    result = framer.feed(b"\x0bMSH|half a mess" + frame(b"MSH|whole\r"))

    assert result.messages == [b"MSH|whole\r"]
    assert len(result.errors) == 1
    assert result.errors[0].raw == b"MSH|half a mess"


def test_end_block_split_between_reads() -> None:
    framer = MllpFramer()

    assert framer.feed(b"\x0bMSH|x\r\x1c").messages == []
    assert framer.feed(b"\x0d").messages == [b"MSH|x\r"]
    assert framer.buffered == 0


def test_an_endless_message_is_bounded() -> None:
    framer = MllpFramer()

    result = framer.feed(b"\x0b" + b"x" * (MAX_MESSAGE_LEN + 1))
    later = framer.feed(b"y" * 1000 + frame(b"MSH|ok\r"))

    assert len(result.errors) == 1
    assert later.messages == [b"MSH|ok\r"]


# -- properties ----------------------------------------------------------------------------------
VITALS = st.tuples(
    st.integers(20, 250), st.integers(50, 100), st.integers(60, 250), st.integers(300, 420)
)


def _oru(index: int, hr: int, spo2: int, sys_: int, temp10: int) -> bytes:
    return encode_oru(
        control_id=f"MSG{index:05d}",
        message_time=T0 + timedelta(seconds=index),
        observations=[
            observation_for(Metric.HR, hr, T0),
            observation_for(Metric.SPO2, spo2, T0),
            observation_for(Metric.NIBP_SYS, sys_, CUFF),
            observation_for(Metric.TEMP, temp10 / 10, T0),
        ],
    )


@settings(max_examples=100)
@given(
    st.lists(VITALS, min_size=1, max_size=5),
    st.lists(st.integers(0, 10_000), max_size=25),
    st.data(),
)
def test_round_trip_through_any_chunking_with_garbage_between_messages(
    vitals: list[tuple[int, int, int, int]], cuts: list[int], data: st.DataObject
) -> None:
    garbage = st.binary(max_size=30).map(lambda b: b.replace(b"\x0b", b""))
    stream = b"".join(
        data.draw(garbage) + frame(_oru(i, *v)) for i, v in enumerate(vitals)
    ) + data.draw(garbage)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    framer = MllpFramer()

    messages = []
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        result = framer.feed(stream[a:b])
        assert result.errors == []
        messages += result.messages

    decoded = [decode_message(m) for m in messages]
    assert [m.control_id for m in decoded] == [f"MSG{i:05d}" for i in range(len(vitals))]
    for message, (hr, spo2, sys_, temp10) in zip(decoded, vitals, strict=True):
        assert [o.value for o in message.observations] == [hr, spo2, sys_, temp10 / 10]


@settings(max_examples=100)
@given(VITALS, VITALS, st.data())
def test_a_truncated_message_costs_only_itself(
    first: tuple[int, int, int, int], second: tuple[int, int, int, int], data: st.DataObject
) -> None:
    whole = frame(_oru(1, *first))
    cut = whole[: data.draw(st.integers(1, len(whole) - 2))]  # sender died mid-message
    framer = MllpFramer()

    result = framer.feed(cut + frame(_oru(2, *second)))

    assert len(result.errors) == 1
    assert [decode_message(m).control_id for m in result.messages] == ["MSG00002"]
