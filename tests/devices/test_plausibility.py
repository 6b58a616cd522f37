"""The plausibility gate and the Masimo line sanity check (issue 12 item 12).

The fault campaign found impossible values accepted as valid patient data: one bit flip on a
Masimo line (which has no checksum) gave SpO2 898 and PR 872, or 98 -> 88 (a false
desaturation), and an HL7 gateway's ``HR -72`` was shown.  The tests write the damaged bytes
on a real pty and read them with the production runner, as a USB-serial adapter would.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devices.drivers.hl7_gateway import Hl7Driver
from devices.drivers.masimo_radical import MasimoDriver
from devices.model import Metric, ReadingFlag, TechnicalEventKind
from devices.plausibility import PHYSIOLOGICAL_BOUNDS, is_plausible
from devices.protocols.hl7_pcd01 import encode_oru, frame, observation_for
from devices.protocols.masimo_ascii import encode_line
from devices.protocols.masimo_sanity import MasimoLineCheck
from devices.runner import DeviceRunner, LinkConfig
from tests.devices.sinks import RecordingSink

T0 = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


@contextlib.contextmanager
def _pty_runner(driver: MasimoDriver | Hl7Driver) -> Iterator[tuple[int, RecordingSink]]:
    """A runner reading the slave of a fresh pty; the test writes on the master fd."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    sink = RecordingSink()
    link = LinkConfig(path, driver.default_baud, driver.parity, device_id="chair-p")
    runner = DeviceRunner(driver, link, sink, name="runner-plausibility")
    runner.start()
    try:
        assert sink.wait_for(
            lambda s: any(e.kind is TechnicalEventKind.CONNECTED for e in s.events)
        )
        yield master, sink
    finally:
        runner.stop()
        os.close(slave)
        os.close(master)


def _masimo(second: int, spo2: float, pr: float, serial: str = "0000056661") -> bytes:
    return encode_line(
        device_time=(T0 + timedelta(seconds=second)).replace(tzinfo=None),
        serial_number=serial,
        spo2=spo2,
        pr=pr,
        pi=3.5,
    )


def _flip(line: bytes, old: bytes, new: bytes) -> bytes:
    assert line.count(old) == 1
    return line.replace(old, new)


@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-plausibility: frame error #\d+: Masimo SPO2 jumped 98 -> 88 within 1 s",
)
@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-plausibility: frame error #\d+: Masimo SN=0000056671 differs from the "
    r"monitor's SN=0000056661",
)
@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-plausibility: frame error #\d+: implausible (SPO2 898 %|PR 872 /min) "
    r"\(physiological range",
)
def test_masimo_bit_flips_are_invalid_and_counted_through_a_pty() -> None:
    lines = [
        b"partial tail of a line\r\n",
        _masimo(0, 98, 72),
        _masimo(1, 98, 72),
        _flip(_masimo(2, 98, 72), b"SPO2=098", b"SPO2=898"),  # out of range: SpO2 898
        _flip(_masimo(3, 98, 72), b"BPM=072", b"BPM=872"),  # out of range: PR 872
        _flip(_masimo(4, 98, 72), b"SPO2=098", b"SPO2=088"),  # 9 -> 8: a false desaturation
        _masimo(5, 98, 72),
        _flip(_masimo(6, 98, 72), b"SN=0000056661", b"SN=0000056671"),  # damaged serial
        _masimo(7, 97, 73),
        *[_masimo(8 + i, 97 - 2 * i, 73) for i in range(4)],  # a real, fast fall: all shown
    ]
    with _pty_runner(MasimoDriver("chair-p")) as (master, sink):
        os.write(master, b"".join(lines))
        assert sink.wait_for(lambda s: len(s.readings) >= 2 * 11)
    by_second = {
        (r.device_time.second, r.metric): r for r in sink.readings if r.device_time is not None
    }
    spo2_898 = by_second[(2, Metric.SPO2)]
    pr_872 = by_second[(3, Metric.PR)]
    spo2_88 = by_second[(4, Metric.SPO2)]
    for reading, value in ((spo2_898, 898), (pr_872, 872), (spo2_88, 88)):
        assert reading.value == value  # kept for the record ...
        assert not reading.valid  # ... never shown or alarmed on
        assert ReadingFlag.IMPLAUSIBLE in reading.flags
    assert by_second[(2, Metric.PR)].usable  # the other field of the line is fine
    assert (6, Metric.SPO2) not in by_second  # the damaged serial drops the whole line
    assert sink.values(Metric.SPO2) == [98, 98, 98, 98, 97, 97, 95, 93, 91]
    errors = [e for e in sink.events if e.kind is TechnicalEventKind.FRAME_ERROR]
    details = "\n".join(e.detail for e in errors)
    assert len(errors) == 4
    for what in ("implausible SPO2 898", "implausible PR 872", "jumped 98 -> 88", "SN=0000056671"):
        assert what in details


@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-plausibility: frame error #\d+: implausible HR -72 /min \(physiological "
    r"range 0\.\.350\): kept as invalid",
)
def test_hl7_negative_heart_rate_is_invalid_and_a_frame_error_through_a_pty() -> None:
    message = encode_oru(
        control_id="MSG00001",
        message_time=T0,
        observations=[
            observation_for(Metric.HR, -72, T0),
            observation_for(Metric.SPO2, 98, T0),
        ],
    )
    with _pty_runner(Hl7Driver("chair-p")) as (master, sink):
        os.write(master, frame(message))
        assert sink.wait_for(lambda s: len(s.readings) >= 2)
        assert sink.wait_for(
            lambda s: any(e.kind is TechnicalEventKind.FRAME_ERROR for e in s.events)
        )
    (hr,) = [r for r in sink.readings if r.metric is Metric.HR]
    assert hr.value == -72
    assert not hr.valid
    assert ReadingFlag.IMPLAUSIBLE in hr.flags
    assert sink.values(Metric.SPO2) == [98]


@pytest.mark.parametrize("metric", list(Metric))
def test_bounds_exist_for_every_metric_and_reject_non_finite(metric: Metric) -> None:
    low, high = PHYSIOLOGICAL_BOUNDS[metric]
    assert is_plausible(metric, low)
    assert is_plausible(metric, high)
    assert not is_plausible(metric, high + 1)
    assert not is_plausible(metric, low - 1)
    assert not is_plausible(metric, float("nan"))
    assert not is_plausible(metric, float("inf"))


def test_asystole_is_still_patient_data() -> None:
    assert is_plausible(Metric.HR, 0)


def test_a_new_serial_number_that_persists_is_adopted() -> None:
    check = MasimoLineCheck()
    assert check.check_serial("A") is None
    assert check.check_serial("B") is not None
    assert check.check_serial("B") is not None
    assert check.check_serial("B") is None  # three lines in a row: a new monitor
    assert check.check_serial("B") is None
    assert check.check_serial("A") is not None


def test_a_gap_or_a_clock_reset_restarts_the_step_reference() -> None:
    check = MasimoLineCheck()
    assert check.check_step("SPO2", 98, T0) is None
    assert check.check_step("SPO2", 85, T0 + timedelta(seconds=60)) is None  # after a gap
    assert check.check_step("SPO2", 98, T0) is None  # the clock went back
    assert check.check_step("SPO2", None, T0 + timedelta(seconds=1)) is None  # dashes
    assert check.check_step("SPO2", 80, T0 + timedelta(seconds=2)) is None
