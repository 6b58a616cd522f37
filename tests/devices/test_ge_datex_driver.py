"""DatexDriver: from received bytes to Readings, including NIBP's once-per-measurement rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.drivers.ge_datex import DatexDriver
from devices.model import METRIC_UNITS, Metric, Reading, ReadingFlag
from devices.protocols.ge_datex import (
    DISPL,
    DatexFramer,
    PhdbRequest,
    encode_displayed_values_record,
    encode_phdb_request,
    frame_record,
    parse_phdb_request,
)
from tests.devices.vectors import ge_data, shared_vector

RECEIVED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
NIBP = (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)


def _feed(driver: DatexDriver, data: bytes, chunk: int | None = None) -> list[Reading]:
    size = chunk or len(data) or 1
    readings: list[Reading] = []
    for start in range(0, len(data), size):
        out = driver.feed(data[start : start + size], RECEIVED)
        readings += out.readings
    return readings


def _of(readings: Iterable[Reading], metric: Metric) -> list[Reading]:
    return [r for r in readings if r.metric is metric]


def _nibp_triples(readings: list[Reading]) -> list[tuple[float | None, ...]]:
    sys_, dia, mean = (_of(readings, m) for m in NIBP)
    assert len(sys_) == len(dia) == len(mean)
    for triple in zip(sys_, dia, mean, strict=True):
        assert len({r.device_time for r in triple}) == 1
    return [(s.value, d.value, m.value) for s, d, m in zip(sys_, dia, mean, strict=True)]


def _record(
    *,
    r_time: int = 1_700_000_000,
    nibp: tuple[float | None, float | None, float | None] = (None, None, None),
    nibp_label: int = 0,
    **fields: object,
) -> bytes:
    """One framed displayed-values record; fields default to 'module absent'."""
    kwargs: dict[str, object] = {
        "hr": None,
        "imp_rr": None,
        "spo2": None,
        "pr": None,
        **fields,
    }
    record = encode_displayed_values_record(
        r_nbr=1,
        r_time=r_time,
        dri_level=10,
        nibp_sys=nibp[0],
        nibp_dia=nibp[1],
        nibp_mean=nibp[2],
        nibp_label=nibp_label,
        **kwargs,  # type: ignore[arg-type]
    )
    return frame_record(record)


# -- metadata and conversation -----------------------------------------------------------------
def test_static_description() -> None:
    info = DatexDriver.info()

    assert info.kind == "ge-datex"
    assert info.manufacturer == "GE Healthcare (Datex-Ohmeda)"
    assert info.model == "S/5 / CARESCAPE (DRI)"
    assert info.default_baud == 19200
    assert DatexDriver.parity == "E"
    assert info.metrics == frozenset(Metric)


@pytest.mark.parametrize(("interval", "quiet"), [(1, 5.0), (5, 17.0)])
def test_quiet_time_follows_the_interval(interval: int, quiet: float) -> None:
    assert DatexDriver(interval_s=interval).quiet_after_s == quiet


@pytest.mark.parametrize("interval", [0, -1, 32768])
def test_interval_must_be_a_positive_i16(interval: int) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        DatexDriver(interval_s=interval)


def _parse_frames(frames: list[bytes]) -> list[PhdbRequest | None]:
    framer = DatexFramer()
    return [parse_phdb_request(r) for f in frames for r in framer.feed(f).records]


def test_handshake_asks_for_displayed_values_basic_class() -> None:
    frames = DatexDriver(interval_s=5).handshake()

    assert frames == [frame_record(encode_phdb_request(5))]
    assert _parse_frames(frames) == [PhdbRequest(record_type=DISPL, interval_s=5, class_bits=0)]


def test_close_sends_the_stop_request() -> None:
    (request,) = _parse_frames(DatexDriver().close())

    assert request is not None
    assert request.is_stop


def test_handshake_resynchronises_the_framer() -> None:
    driver = DatexDriver()
    frame = _record(hr=70)
    driver.feed(frame[:50], RECEIVED)

    driver.handshake()
    out = driver.feed(frame[50:] + frame, RECEIVED)

    assert out.errors == []
    assert [r.value for r in _of(out.readings, Metric.HR)] == [70.0]


# -- readings from encoded records -------------------------------------------------------------
def test_reading_fields() -> None:
    driver = DatexDriver(device_id="bed-3")

    readings = _feed(driver, _record(r_time=1_700_000_126, hr=72, t1=36.8))

    hr = _of(readings, Metric.HR)[0]
    assert hr == Reading(
        metric=Metric.HR,
        value=72.0,
        unit="/min",
        received_at=RECEIVED,
        device_time=datetime(2023, 11, 14, 22, 15, 26, tzinfo=UTC),
        valid=True,
        flags=(),
        device_id="bed-3",
    )
    assert all(r.unit == METRIC_UNITS[r.metric] for r in readings)
    assert _of(readings, Metric.TEMP)[0].value == 36.8


def test_absent_modules_give_no_readings() -> None:
    readings = _feed(DatexDriver(), _record(spo2=97.5))

    assert sorted(r.metric for r in readings) == [Metric.PR, Metric.SPO2]
    assert _of(readings, Metric.SPO2)[0].value == 97.5
    assert _of(readings, Metric.PR)[0].flags == (ReadingFlag.INVALID,)


@pytest.mark.parametrize(
    ("fields", "metric", "flag"),
    [
        ({"hr_flag": ReadingFlag.DISCONTINUITY}, Metric.HR, ReadingFlag.DISCONTINUITY),
        ({"spo2_flag": ReadingFlag.INVALID}, Metric.SPO2, ReadingFlag.INVALID),
        ({"pr_flag": ReadingFlag.NOT_UPDATED}, Metric.PR, ReadingFlag.NOT_UPDATED),
        ({"t1_flag": ReadingFlag.UNDER_RANGE}, Metric.TEMP, ReadingFlag.UNDER_RANGE),
        ({"t1_flag": ReadingFlag.OVER_RANGE}, Metric.TEMP, ReadingFlag.OVER_RANGE),
        ({"co2_rr_flag": ReadingFlag.NOT_CALIBRATED}, Metric.RR, ReadingFlag.NOT_CALIBRATED),
    ],
)
def test_marker_values_give_invalid_readings_with_the_flag(
    fields: dict[str, Any], metric: Metric, flag: ReadingFlag
) -> None:
    readings = _feed(DatexDriver(), _record(**fields))

    (reading,) = _of(readings, metric)
    assert reading.value is None
    assert not reading.valid
    assert not reading.usable
    assert reading.flags == (flag,)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"co2_rr": 12, "imp_rr": 18}, (12.0, ())),
        ({"co2_rr_flag": ReadingFlag.INVALID, "imp_rr": 18}, (18.0, ())),
        ({"imp_rr": 18}, (18.0, ())),
        (
            {"co2_rr_flag": ReadingFlag.NOT_UPDATED, "imp_rr_flag": ReadingFlag.INVALID},
            (None, (ReadingFlag.NOT_UPDATED,)),
        ),
        ({"hr": 60}, (None, (ReadingFlag.INVALID,))),  # ECG present, no impedance rate
    ],
)
def test_respiration_prefers_capnography(
    fields: dict[str, Any], expected: tuple[float | None, tuple[ReadingFlag, ...]]
) -> None:
    (rr,) = _of(_feed(DatexDriver(), _record(**fields)), Metric.RR)

    assert (rr.value, rr.flags) == expected


def test_no_respiration_reading_without_ecg_or_co2() -> None:
    assert _of(_feed(DatexDriver(), _record(spo2=98)), Metric.RR) == []


def test_record_that_fails_to_decode_goes_to_errors() -> None:
    # Checksum and r_len are fine, but the PHDB subrecord runs past the end of the record.
    short = bytearray(encode_phdb_request(5))
    short[18] = DISPL  # sr_desc[0] type: displayed values instead of a request
    out = DatexDriver().feed(frame_record(bytes(short)), RECEIVED)

    assert out.readings == []
    (error,) = out.errors
    assert "past the" in str(error)


def test_frame_errors_are_returned_not_raised() -> None:
    out = DatexDriver().feed(b"\x7e\x01\x02\x03\x7e" + _record(hr=61), RECEIVED)

    assert len(out.errors) == 1
    assert [r.value for r in out.readings] == [61.0, None]  # HR, RR (no impedance rate)


# -- NIBP --------------------------------------------------------------------------------------
def _nibp_run(
    steps: Sequence[tuple[int, tuple[float | None, float | None, float | None]]],
) -> list[tuple[int, tuple[float | None, ...]]]:
    driver = DatexDriver()
    emitted: list[tuple[int, tuple[float | None, ...]]] = []
    for second, (label, values) in enumerate(steps):
        readings = _feed(driver, _record(r_time=1_000 + second, nibp=values, nibp_label=label))
        triples = _nibp_triples(readings)
        if triples:
            emitted.append((second, triples[0]))
    return emitted


def test_nibp_is_emitted_once_per_completed_measurement() -> None:
    old = (120.0, 80.0, 93.0)
    new = (118.0, 77.0, 90.0)
    steps = [
        (0x12B, old),  # joined during a cycle: numbers are from before we listened
        (0x12B, old),
        (0x02B, new),  # new numbers, measuring bit still set
        (0x00B, new),  # done -> emit
        (0x00B, new),
        (0x10B, new),  # older than 60 s
        (0x12B, new),  # next cycle
        (0x00B, new),  # finished with identical numbers: still a new measurement
        (0x00B, old),  # numbers changed without a measuring record in between
        (0x003, old),  # AUTO switched off, nothing new
    ]

    assert _nibp_run(steps) == [(3, new), (7, new), (8, old)]


def test_first_completed_record_is_emitted() -> None:
    assert _nibp_run([(0x00B, (100.0, 60.0, 73.0)), (0x00B, (100.0, 60.0, 73.0))]) == [
        (0, (100.0, 60.0, 73.0))
    ]


def test_nibp_device_time_is_the_completion_record_time() -> None:
    driver = DatexDriver()
    _feed(driver, _record(r_time=5_000, nibp=(None, None, None), nibp_label=0x12B))
    readings = _feed(driver, _record(r_time=5_031, nibp=(110.0, 70.0, 83.0), nibp_label=0x00B))

    assert {r.device_time for r in _of(readings, Metric.NIBP_SYS)} == {
        datetime.fromtimestamp(5_031, tz=UTC)
    }


def test_nibp_marker_after_failed_measurement_is_flagged() -> None:
    emitted = _nibp_run(
        [(0x12B, (None, None, None)), (0x00B, (None, None, None))],
    )

    assert emitted == [(1, (None, None, None))]


def test_absent_nibp_module_gives_nothing_and_forgets_state() -> None:
    values = (100.0, 60.0, 73.0)
    emitted = _nibp_run([(0x00B, values), (0x000, (None, None, None)), (0x00B, values)])

    assert emitted == [(0, values), (2, values)]


# -- real captures -----------------------------------------------------------------------------
def test_level10_sample_readings() -> None:
    driver = DatexDriver(device_id="or-1")
    out = driver.feed(ge_data("pycollect_level10_sample_42s.raw").read_bytes(), RECEIVED)

    assert out.errors == []
    assert (driver.framer.good_frames, driver.framer.bad_frames) == (21, 0)
    hr = _of(out.readings, Metric.HR)
    assert len(hr) == 11  # one per PHDB record; the 10 wave records are skipped silently
    assert {r.value for r in hr} == {79.0, 80.0}
    assert hr[0].device_time == datetime(2018, 7, 26, 17, 6, 5, tzinfo=UTC)
    assert all(r.device_id == "or-1" and r.received_at == RECEIVED for r in out.readings)
    spo2 = [r.value for r in _of(out.readings, Metric.SPO2) if r.value is not None]
    assert (min(spo2), max(spo2)) == (95.71, 96.65)
    assert {r.value for r in _of(out.readings, Metric.RR)} <= {15.0, 16.0}  # CO2 rate
    assert _of(out.readings, Metric.TEMP) == []  # T1 module absent
    assert _nibp_triples(out.readings) == [(93.0, 48.0, 69.0)]
    assert all(r.valid for r in out.readings)


@pytest.mark.parametrize("chunk", [1, 13, 4096])
def test_chunking_does_not_change_readings(chunk: int) -> None:
    data = ge_data("pycollect_level10_sample_42s.raw").read_bytes()

    assert _feed(DatexDriver(), data, chunk) == _feed(DatexDriver(), data)


def test_jxs_level9_readings() -> None:
    driver = DatexDriver()
    out = driver.feed(ge_data("vscapture_as3_rawoutput.raw").read_bytes(), RECEIVED)

    assert len(out.errors) == 2
    assert driver.framer.good_frames == 123
    assert {r.value for r in _of(out.readings, Metric.HR)} == {78.0}
    assert len(_of(out.readings, Metric.HR)) == 123
    assert {(r.value, r.valid, r.flags) for r in _of(out.readings, Metric.SPO2)} == {
        (None, False, (ReadingFlag.INVALID,))
    }
    assert {r.flags for r in _of(out.readings, Metric.PR)} == {(ReadingFlag.NOT_UPDATED,)}
    assert {r.flags for r in _of(out.readings, Metric.TEMP)} == {(ReadingFlag.UNDER_RANGE,)}
    # CO2 module present with rr 0 while the impedance rate is invalid: RR 0 from CO2.
    assert {r.value for r in _of(out.readings, Metric.RR)} == {0.0}
    # NIBP label 0x101 (old, no data) throughout: nothing to report.
    assert _nibp_triples(out.readings) == []


DB00_NIBP = [
    (87.0, 61.0, 73.0),
    (86.0, 58.0, 71.0),
    (91.0, 57.0, 69.0),
    (79.0, 55.0, 65.0),
    (94.0, 63.0, 77.0),
    (90.0, 62.0, 74.0),
    (85.0, 62.0, 71.0),
    (84.0, 57.0, 69.0),
    (90.0, 58.0, 71.0),
    (81.0, 52.0, 64.0),
]


def test_db00_nibp_auto_mode_sequence() -> None:
    data = shared_vector("ge_datex/pycollect_db00_30min.raw").read_bytes()
    driver = DatexDriver()

    readings = _feed(driver, data, 4096)

    assert driver.framer.good_frames == 3520
    # The capture starts inside a cuff cycle: 87/61/73 only ever appears with label 0x12B
    # (measuring + older than 60 s), i.e. it was measured before recording began, and is
    # replaced by 86/58/71 in that same cycle.  It is therefore not a measurement completed
    # while we listened, and the driver rightly starts with the second value of the README list.
    assert _nibp_triples(readings) == DB00_NIBP[1:]
    first = _of(readings, Metric.NIBP_SYS)[0]
    assert first.device_time == datetime(2018, 8, 2, 14, 30, 30, tzinfo=UTC)
    assert len(_of(readings, Metric.HR)) == 1760
    assert sum(not r.valid for r in _of(readings, Metric.PR)) == 55


def test_db01_corrupted_capture_does_not_break_the_driver() -> None:
    data = shared_vector("ge_datex/pycollect_db01_with_corruption.raw").read_bytes()
    driver = DatexDriver()
    errors = 0
    readings: list[Reading] = []

    for start in range(0, len(data), 1000):
        out = driver.feed(data[start : start + 1000], RECEIVED)
        errors += len(out.errors)
        readings += out.readings

    assert errors == driver.framer.bad_frames == 320
    assert driver.framer.good_frames == 2126
    assert len(_of(readings, Metric.HR)) == 1151  # one per good PHDB record
    assert {r.value for r in _of(readings, Metric.HR)} <= {77.0, 78.0, 79.0, 80.0}
