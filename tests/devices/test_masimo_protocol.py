"""The Masimo ASCII 1 codec against the real lines, the spec-built vectors and generated streams.

Expected values come from the comments in ``tests/data/masimo/*.txt`` (copies of
``shared/protocol_vectors/masimo``) and protocols.md section 3.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import ProtocolError
from devices.model import ReadingFlag
from devices.protocols import masimo_ascii
from devices.protocols.masimo_ascii import (
    EXC_LOW_PERFUSION,
    EXC_MASIMO_SET,
    EXC_PULSE_SEARCH,
    EXC_SENSOR_OFF,
    MAX_LINE_LEN,
    MasimoFramer,
    MasimoRecord,
    encode_line,
    encode_radical7_line,
    exc_invalidates,
    parse_line,
    parse_pidelta,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "masimo"


def _vector_lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


REAL = _vector_lines("real_lines.txt")
SPEC = _vector_lines("01_rad8_ascii1_lines.txt")

Q = ReadingFlag.QUESTIONABLE
OFF = ReadingFlag.SENSOR_OFF

#: (device time, SN, SpO2, BPM, PI, PVI, ALARM, EXC, flags, numbers usable) per real line.
REAL_EXPECTED: list[tuple[object, ...]] = [
    # Source A: Rad-8, yahnatan/pulseox
    (datetime(2016, 2, 22, 22, 47, 45), "0000056661", 98, 97, 3.60, None, 0, 0x800, (), True),
    (datetime(2016, 2, 22, 22, 47, 46), "0000056661", 98, 96, 3.95, None, 0, 0x800, (), True),
    (datetime(2016, 2, 22, 22, 47, 47), "0000056661", 98, 96, 4.25, None, 0, 0x800, (), True),
    (datetime(2016, 2, 22, 22, 47, 48), "0000056661", 98, 96, 3.19, None, 0, 0x800, (), True),
    (datetime(2016, 2, 22, 22, 47, 49), "0000056661", 98, 97, 2.41, None, 0, 0x800, (), True),
    # Source B: Rad-8, Java reader
    (datetime(2018, 2, 24, 4, 48, 53), "0000145838", 97, 80, 4.96, None, 0, 0x800, (), True),
    (datetime(2018, 2, 24, 4, 48, 54), "0000145838", 97, 81, 5.04, None, 0, 0x800, (), True),
    (datetime(2018, 2, 24, 4, 48, 55), "0000145838", 97, 81, 5.04, None, 0, 0x800, (), True),
    # Source C: ALARM 0x10 (alarm active), EXC 0x824 = SET + sensor off + low perfusion, PI
    # missing: the numbers are still printed but the sensor is off, so they are not patient data.
    (
        datetime(2021, 5, 20, 14, 6, 2),
        "0000182948",
        98,
        101,
        None,
        None,
        0x10,
        0x824,
        (OFF, Q),
        False,
    ),
    # Source D: ALARM 0x38 = bits 3, 4, 5 (PR low, active, silenced)
    (datetime(2005, 3, 6, 21, 11, 30), "0000066575", 98, 57, 7.02, None, 0x38, 0x800, (), True),
    # Source E: Radical-7 with every value dashed; EXC 0 (no SET, no exception)
    (datetime(2007, 5, 15, 8, 12, 21), "0000070986", None, None, None, None, 0, 0, (), False),
    # Source E: Rad-7 colour: SN dashed, PI without %, 6-digit ALARM, EXC 0xC00 = SET + low IQ
    (datetime(2016, 3, 17, 19, 19, 36), None, 98, 123, 0.55, None, 0, 0xC00, (Q,), True),
]


def _usable(record: MasimoRecord) -> bool:
    return record.spo2 is not None and not exc_invalidates(record.exc_bits)


# -- real lines --------------------------------------------------------------------------------
def test_every_real_line_is_covered() -> None:
    # The file holds 12 lines although its README says 13; every one of them is checked.
    assert len(REAL) == len(REAL_EXPECTED) == 12


@pytest.mark.parametrize(("line", "expected"), list(zip(REAL, REAL_EXPECTED, strict=True)))
def test_real_line_parses_to_the_values_it_states(line: str, expected: tuple[object, ...]) -> None:
    when, serial, spo2, bpm, pi, pvi, alarm, exc, flags, usable = expected

    record = parse_line(line.encode("ascii"))

    assert record.device_time == when
    assert record.serial_number == serial
    assert record.spo2 == spo2
    assert record.pr == bpm
    assert record.pi == pi
    assert record.pvi == pvi
    assert record.alarm == alarm
    assert record.exc == exc
    assert record.flags == flags
    assert _usable(record) is usable


def test_rad7_colour_keeps_unknown_fields() -> None:
    record = parse_line(REAL[-1])

    assert record.fields["SPHB"] == "--.-"
    assert record.fields["EXC1"] == "00000000"
    assert record.spco is None
    assert record.exception_names == ("low signal IQ", "Masimo SET")


def test_alarm_bits_are_hexadecimal() -> None:
    record = parse_line(REAL[9])  # ALARM=0038

    assert record.alarm is not None
    assert record.alarm & masimo_ascii.ALARM_PR_LOW
    assert record.alarm & masimo_ascii.ALARM_ACTIVE
    assert record.alarm & masimo_ascii.ALARM_SILENCED
    assert not record.alarm & masimo_ascii.ALARM_SPO2_LOW


# -- spec-built vectors --------------------------------------------------------------------------
def test_spec_vector_lines_decode_as_documented() -> None:
    first, off, alarm, radical7 = (parse_line(line) for line in SPEC)

    assert (first.spo2, first.pr, first.pi, first.alarm, first.exc) == (98, 72, 3.45, 0, 0x800)
    assert first.device_time == datetime(2024, 3, 15, 10, 30, 0)
    assert first.flags == ()
    assert _usable(first)

    assert (off.spo2, off.pr, off.pi) == (None, None, None)
    assert off.exc == EXC_SENSOR_OFF
    assert off.sensor_off
    assert off.flags == (OFF,)

    assert (alarm.spo2, alarm.pr, alarm.pi) == (88, 122, 1.10)
    assert alarm.alarm == 0x16  # SpO2 low + PR high + audible
    assert alarm.exc == EXC_MASIMO_SET | EXC_PULSE_SEARCH
    assert alarm.flags == (Q,)
    assert not _usable(alarm)  # pulse search: the numbers are not yet patient data

    assert (radical7.spo2, radical7.pr, radical7.pi, radical7.pvi) == (97, 70, 2.50, 12)
    assert radical7.alarm == 0
    assert parse_pidelta(radical7) is None


def test_encoder_reproduces_the_spec_vector_lines_byte_for_byte() -> None:
    t = datetime(2024, 3, 15, 10, 30, 0)
    sn = "0000123456"
    built = [
        encode_line(device_time=t, serial_number=sn, spo2=98, pr=72, pi=3.45),
        encode_line(
            device_time=t.replace(second=1), serial_number=sn, spo2=None, pr=None, exc=0x20
        ),
        encode_line(
            device_time=t.replace(second=2),
            serial_number=sn,
            spo2=88,
            pr=122,
            pi=1.10,
            alarm=0x16,
            exc=0x808,
        ),
        encode_line(
            device_time=t.replace(second=3), serial_number=sn, spo2=97, pr=70, pi=2.5, pvi=12
        ),
    ]

    assert built == [(line + "\r\n").encode("ascii") for line in SPEC]


def test_radical7_encoder_writes_dashes_for_a_missing_pvi() -> None:
    line = encode_radical7_line(device_time=datetime(2026, 1, 5, 9, 0), spo2=None, pr=None)

    assert b" PVI=--- ALARM=0000 EXC=000800\r\n" in line
    assert b"SPO2=---% BPM=--- PI=--.--%" in line
    assert parse_line(line.rstrip()).pvi is None


@pytest.mark.parametrize(
    "kwargs",
    [{"spo2": 1000}, {"spo2": -1}, {"pi": 123.4}, {"serial_number": "123"}, {"exc": 1 << 24}],
)
def test_encoder_rejects_values_that_do_not_fit(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"device_time": datetime(2026, 1, 1), "spo2": 98, "pr": 70}
    args.update(kwargs)
    with pytest.raises(ValueError, match=r"fit|unsigned|serial|range"):
        encode_line(**args)  # type: ignore[arg-type]


# -- parser rejections ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("", "MM/DD/YY"),
        ("SPO2=098% BPM=072", "MM/DD/YY"),
        ("02/30/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 ALARM=0000 EXC=000800", "impossible"),
        # ASCII 2 mode: a different layout without SN=/SPO2= (3.6: show a hint)
        ("02/22/16 22:47:45 98 97 3.60 0000 000800", "ASCII 1"),
        ("02/22/16 22:47:45 SN=0000056661 BPM=097 ALARM=0000 EXC=000800", "ASCII 1"),
        ("02/22/16 22:47:45 SN=0000056661 SPO2=9x8% BPM=097 ALARM=0000 EXC=000800", "width|number"),
        ("02/22/16 22:47:45 SN=0000056661 SPO2=98% BPM=097 ALARM=0000 EXC=000800", "width"),
        ("02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 ALARM=0000 EXC=0008", "width"),
        ("02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 ALARM=0000 EXC=00080G", "hex"),
        ("02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60%", "ALARM/EXC"),
        ("02/22/16 22:47:45 SN=0000056661 SPO2=098% junk BPM=097 ALARM=0000 EXC=000800", "KEY"),
    ],
)
def test_malformed_lines_are_rejected_with_a_reason(line: str, match: str) -> None:
    with pytest.raises(ProtocolError, match=match) as info:
        parse_line(line.encode("latin-1"))
    assert info.value.raw == line.encode("latin-1")


def test_noise_before_the_timestamp_is_skipped() -> None:
    noisy = b"\x00\xff\x1bxx12" + SPEC[0].encode("ascii")

    assert parse_line(noisy) == parse_line(SPEC[0])


def test_every_cut_of_a_line_is_rejected_not_misread() -> None:
    # No checksum protects a line: a pulled cable must not turn EXC=000800 into EXC=0008.
    for line in [SPEC[0], SPEC[3], REAL[0]]:
        for cut in range(1, len(line)):
            with pytest.raises(ProtocolError):
                parse_line(line[:cut])


def test_questionable_bits_keep_the_value_valid_sensor_bits_do_not() -> None:
    assert not exc_invalidates(EXC_MASIMO_SET | EXC_LOW_PERFUSION)
    assert exc_invalidates(EXC_PULSE_SEARCH)
    for bit in (0x001, 0x002, 0x020, 0x080):
        assert exc_invalidates(bit)
    assert masimo_ascii.exc_flags(0x001 | 0x002) == (OFF, ReadingFlag.INVALID)
    assert masimo_ascii.exc_flags(0x300 | EXC_MASIMO_SET) == ()  # reserved bits and SET


# -- framer --------------------------------------------------------------------------------------
def test_framer_accepts_crlf_lone_cr_lone_lf_and_blank_lines() -> None:
    framer = MasimoFramer()

    result = framer.feed(b"a\r\nb\rc\nd\n\r\n\r\re\r\n")

    assert result.lines == [b"a", b"b", b"c", b"d", b"e"]
    assert result.errors == []
    assert framer.buffered == 0


def test_framer_keeps_a_partial_line_until_its_terminator() -> None:
    framer = MasimoFramer()

    assert framer.feed(b"03/15/24 10:30:00 SN=").lines == []
    assert framer.buffered == len(b"03/15/24 10:30:00 SN=")
    assert framer.feed(b"0000123456\r").lines == [b"03/15/24 10:30:00 SN=0000123456"]
    assert framer.feed(b"\n").lines == []


def test_overlong_line_is_reported_once_and_skipped_to_the_next_terminator() -> None:
    framer = MasimoFramer()
    good = SPEC[0].encode("ascii") + b"\r\n"

    first = framer.feed(b"\xaa" * (MAX_LINE_LEN + 10))
    second = framer.feed(b"\xbb" * 5000)
    third = framer.feed(b"tail\r\n" + good)

    assert len(first.errors) == 1
    assert second.errors == []
    assert second.lines == []
    assert third.lines == [good.rstrip()]
    assert framer.buffered == 0
    assert framer.overlong_lines == 1


def test_reset_forgets_a_partial_line() -> None:
    framer = MasimoFramer()
    framer.feed(b"half a li")

    framer.reset()

    assert framer.feed(b"ne\r\n").lines == [b"ne"]


# -- properties ----------------------------------------------------------------------------------
def _stream(records: list[tuple[int, int, int]]) -> bytes:
    return b"".join(
        encode_line(
            device_time=datetime(2026, 1, 5, 9, 0, i % 60),
            spo2=spo2,
            pr=pr,
            pi=pi / 100,
            exc=EXC_MASIMO_SET,
        )
        for i, (spo2, pr, pi) in enumerate(records)
    )


RECORDS = st.lists(
    st.tuples(st.integers(0, 100), st.integers(0, 300), st.integers(0, 9999)),
    min_size=1,
    max_size=8,
)


def _decode(chunks: list[bytes]) -> tuple[list[MasimoRecord], int]:
    framer = MasimoFramer()
    records: list[MasimoRecord] = []
    errors = 0
    for chunk in chunks:
        result = framer.feed(chunk)
        errors += len(result.errors)
        for line in result.lines:
            try:
                records.append(parse_line(line))
            except ProtocolError:
                errors += 1
    return records, errors


@settings(max_examples=150)
@given(RECORDS, st.lists(st.integers(0, 2000), max_size=20))
def test_round_trip_survives_any_chunking(
    records: list[tuple[int, int, int]], cuts: list[int]
) -> None:
    data = _stream(records)
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]

    decoded, errors = _decode(chunks)

    assert errors == 0
    assert [(r.spo2, r.pr, r.pi) for r in decoded] == [
        (float(s), float(p), round(i / 100, 2)) for s, p, i in records
    ]


@settings(max_examples=150)
@given(RECORDS, st.data())
def test_garbage_between_lines_costs_no_good_line(
    records: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    lines = _stream(records).splitlines(keepends=True)
    garbled = b""
    for line in lines:
        garbled += data.draw(st.binary(max_size=40)) + line

    decoded, _errors = _decode([garbled])

    # Garbage with its own terminator is a rejected line; garbage without one sits in front of
    # the next timestamp and is skipped.  Either way every real line is recovered.
    assert [(r.spo2, r.pr) for r in decoded] == [(float(s), float(p)) for s, p, _ in records]


@settings(max_examples=100)
@given(RECORDS, st.data())
def test_a_truncated_line_is_an_error_and_the_others_survive(
    records: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    lines = _stream(records).splitlines(keepends=True)
    victim = data.draw(st.integers(0, len(lines) - 1))
    body = lines[victim].rstrip(b"\r\n")
    lines[victim] = body[: data.draw(st.integers(1, len(body) - 1))] + b"\r\n"

    decoded, errors = _decode([b"".join(lines)])

    assert errors == 1
    expected = [(float(s), float(p)) for i, (s, p, _) in enumerate(records) if i != victim]
    assert [(r.spo2, r.pr) for r in decoded] == expected
