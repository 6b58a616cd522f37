"""Codec edge cases found by the fault campaign (issue 12 item 13).

- A flood of escape bytes must not grow the Datex or IntelliVue framer without limit: the
  escape-free length check let 50 MB of ``7D`` pile up, and the reader then stalled 4.2 s.
  The framers bound their buffers and resync on the next delimiter.
- An IntelliVue MDS create event whose absolute time lies near year 9999 or 0001 made every
  later poll raise ``OverflowError`` out of ``feed()`` until the next association.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.drivers.philips_intellivue import IntelliVueDriver, Phase
from devices.protocols import ge_datex
from devices.protocols import philips_intellivue as piv
from devices.protocols.ge_datex import DatexFramer, encode_phdb_request, frame_record
from devices.protocols.philips_intellivue import (
    AbsoluteTime,
    IntelliVueFramer,
    NuObsValue,
    ObservationPoll,
    SingleContextPoll,
    frame_message,
)
from tests.devices.vectors import intellivue_data, load_hex

T0 = datetime(2024, 3, 15, 10, 29, 58, tzinfo=UTC)
AARE = load_hex(intellivue_data("02_association_result.hex"))
IV_RESULT = load_hex(intellivue_data("06_extended_poll_result_numerics.hex"))
CHUNK = 4096

# -- bounded framer buffers -------------------------------------------------------------------


def _datex_bound() -> int:
    # Every byte of a legal frame is at most two bytes on the wire.
    return 2 * ge_datex.MAX_FRAME_LEN + CHUNK


def _intellivue_bound() -> int:
    return 2 * piv.MAX_FRAME_LEN + CHUNK


def _feed_flood(framer: DatexFramer | IntelliVueFramer, flood: bytes, bound: int) -> int:
    """Feed 2 MB of ``flood`` in reader-sized chunks; the buffer must stay bounded throughout."""
    errors = 0
    body = flood * (2_000_000 // len(flood))
    for start in range(0, len(body), CHUNK):
        errors += len(framer.feed(body[start : start + CHUNK]).errors)
        assert framer.buffered <= bound
    return errors


@pytest.mark.parametrize("flood", [b"\x7d", b"\x7d\x5e", b"\x7d\x7d\x41"])
def test_datex_escape_flood_stays_bounded_and_resyncs(flood: bytes) -> None:
    record = encode_phdb_request(5)
    framer = DatexFramer()
    framer.feed(b"\x7e")
    errors = _feed_flood(framer, flood, _datex_bound())
    result = framer.feed(b"\x7e" + frame_record(record))

    assert result.records == [record]
    assert errors + len(result.errors) >= 1


@pytest.mark.parametrize("flood", [b"\x7d", b"\x7d\x7d\x41"])
def test_intellivue_escape_flood_stays_bounded_and_resyncs(flood: bytes) -> None:
    framer = IntelliVueFramer()
    framer.feed(b"\xc0")
    errors = _feed_flood(framer, flood, _intellivue_bound())
    result = framer.feed(b"\xc1" + IV_RESULT)

    assert len(result.messages) == 1
    assert errors + len(result.errors) >= 1


_NOISE = st.lists(
    st.sampled_from([0x7D, 0x7E, 0xC0, 0xC1, 0x5E, 0x5D, 0x00, 0x41]), max_size=12_000
).map(bytes)


@settings(max_examples=60, deadline=None)
@given(noise=_NOISE, chunk=st.integers(1, 5000))
def test_datex_framer_is_bounded_and_recovers_after_any_noise(noise: bytes, chunk: int) -> None:
    record = encode_phdb_request(7)
    stream = noise + b"\x7e" + frame_record(record)
    framer = DatexFramer()
    records: list[bytes] = []
    for start in range(0, len(stream), chunk):
        records += framer.feed(stream[start : start + chunk]).records
        assert framer.buffered <= 2 * ge_datex.MAX_FRAME_LEN + chunk
    assert records[-1:] == [record]


@settings(max_examples=60, deadline=None)
@given(noise=_NOISE, chunk=st.integers(1, 5000))
def test_intellivue_framer_is_bounded_and_recovers_after_any_noise(
    noise: bytes, chunk: int
) -> None:
    stream = noise + b"\xc1" + IV_RESULT
    framer = IntelliVueFramer()
    messages: list[bytes] = []
    for start in range(0, len(stream), chunk):
        messages += framer.feed(stream[start : start + chunk]).messages
        assert framer.buffered <= 2 * piv.MAX_FRAME_LEN + chunk
    assert len(messages) >= 1
    assert messages[-1] == IntelliVueFramer().feed(IV_RESULT).messages[0]


# -- IntelliVue absolute time at the edge of the calendar ----------------------------------------


def _hr_poll(rel: int) -> bytes:
    hr = ObservationPoll(
        1,
        piv.numeric_attributes(
            label=piv.label_of(piv.NOM_ECG_CARD_BEAT_RATE),
            value=NuObsValue.of(piv.NOM_ECG_CARD_BEAT_RATE, 70, piv.NOM_DIM_BEAT_PER_MIN),
        ),
    )
    message = piv.encode_poll_result(
        7,
        poll_number=1,
        sequence_no=1,
        rel_time_stamp=rel,
        abs_time_stamp=AbsoluteTime.not_set(),
        contexts=[SingleContextPoll(0, (hr,))],
    )
    return frame_message(message)


def _driver_with_clock(time_abs: bytes, time_rel: int) -> IntelliVueDriver:
    driver = IntelliVueDriver("chair-1")
    driver.handshake()
    driver.feed(AARE, T0)
    attributes = piv.mds_create_attributes(time_abs=AbsoluteTime(time_abs), time_rel=time_rel)
    driver.feed(frame_message(piv.encode_mds_create_event_report(4, 0, attributes)), T0)
    assert driver.phase is Phase.ASSOCIATED
    return driver


@pytest.mark.parametrize(
    ("when", "rel"),
    [
        (datetime(9999, 12, 31, 23, 59, 59), 0x00200000),
        (datetime(1, 1, 1, 0, 0, 0), 0x00000000),
    ],
)
def test_absolute_time_at_the_calendar_edge_does_not_break_polls(when: datetime, rel: int) -> None:
    driver = _driver_with_clock(AbsoluteTime.from_datetime(when).raw, 0x00100000)

    for _ in range(3):  # not only the first poll: every later one too
        out = driver.feed(_hr_poll(rel), T0)
        (reading,) = out.readings
        assert reading.value == 70
        assert reading.device_time is None or reading.device_time.year in (1, 9999)


@settings(max_examples=200, deadline=None)
@given(
    time_abs=st.one_of(
        st.binary(min_size=8, max_size=8),
        st.datetimes().map(lambda when: AbsoluteTime.from_datetime(when).raw),
    ),
    time_rel=st.integers(0, 0xFFFFFFFF),
    rel=st.integers(0, 0xFFFFFFFF),
)
def test_any_mds_clock_and_any_poll_time_never_raise(
    time_abs: bytes, time_rel: int, rel: int
) -> None:
    driver = _driver_with_clock(time_abs, time_rel)

    out = driver.feed(_hr_poll(rel), T0)

    assert [r.value for r in out.readings] == [70]
