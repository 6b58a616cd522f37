"""MasimoDriver and MasimoMonitorSim: lines to readings, sensor-off episodes, simulator output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from devices.base import DriverOutput
from devices.drivers.masimo_radical import MasimoDriver
from devices.model import METRIC_UNITS, Metric, Reading, ReadingFlag, TechnicalEventKind
from devices.protocols.masimo_ascii import EXC_SENSOR_OFF, encode_line, parse_line
from devices.registry import driver_class, list_kinds
from devices.simulator.masimo_monitor import MAX_CATCH_UP_LINES, MasimoMonitorSim
from devices.simulator.signals import PatientModel

RECEIVED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[1] / "data" / "masimo"
SPEC = [
    line
    for line in (DATA / "01_rad8_ascii1_lines.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


def _wire(*lines: str) -> bytes:
    return b"".join(line.encode("ascii") + b"\r\n" for line in lines)


def _line(
    second: int, *, spo2: float | None = 97, pr: float | None = 70, exc: int = 0x800
) -> bytes:
    return encode_line(
        device_time=datetime(2026, 1, 5, 9, 0, second), spo2=spo2, pr=pr, pi=3.0, exc=exc
    )


def _of(readings: list[Reading], metric: Metric) -> list[Reading]:
    return [r for r in readings if r.metric is metric]


# -- metadata and conversation -----------------------------------------------------------------
def test_static_description_and_registration() -> None:
    info = MasimoDriver.info()

    assert info.kind == "masimo-radical"
    assert info.default_baud == 9600
    assert MasimoDriver.parity == "N"
    assert info.metrics == frozenset({Metric.SPO2, Metric.PR})
    assert "masimo-radical" in list_kinds()
    assert driver_class("masimo-radical") is MasimoDriver


def test_the_monitor_only_talks() -> None:
    driver = MasimoDriver()

    assert driver.handshake() == []
    assert driver.poll_requests(RECEIVED) == []
    assert driver.on_quiet() == []
    assert driver.close() == []
    assert 3.0 <= driver.quiet_after_s <= 6.0


# -- readings ----------------------------------------------------------------------------------
def test_spec_vector_lines_become_readings() -> None:
    driver = MasimoDriver(device_id="chair-2")

    out = driver.feed(_wire(*SPEC), RECEIVED)

    assert out.errors == []
    spo2 = _of(out.readings, Metric.SPO2)
    pr = _of(out.readings, Metric.PR)
    assert [r.value for r in spo2] == [98, None, 88, 97]
    assert [r.value for r in pr] == [72, None, 122, 70]
    assert [r.valid for r in spo2] == [True, False, False, True]
    assert [r.flags for r in pr] == [
        (),
        (ReadingFlag.SENSOR_OFF,),
        (ReadingFlag.QUESTIONABLE,),
        (),
    ]
    assert spo2[0].device_time == datetime(2024, 3, 15, 10, 30, 0, tzinfo=UTC)
    assert all(r.unit == METRIC_UNITS[r.metric] for r in out.readings)
    assert all(r.received_at == RECEIVED and r.device_id == "chair-2" for r in out.readings)
    assert [e.kind for e in out.events] == [TechnicalEventKind.SENSOR_OFF]
    assert "sensor off" in out.events[0].detail
    assert out.events[0].device_id == "chair-2"


def test_every_real_line_gives_one_spo2_and_one_pr() -> None:
    real = [
        line
        for line in (DATA / "real_lines.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    # The lines come from several monitors; each is read over a link of its own, as on a real
    # cable (one monitor's lines with another's serial number in between would be damage).
    out = DriverOutput()
    for serial in dict.fromkeys(line.split()[2] for line in real):
        driver = MasimoDriver()
        driver.feed(b"\r\n", RECEIVED)  # in sync: no line is taken for a partial first one
        got = driver.feed(_wire(*(x for x in real if x.split()[2] == serial)), RECEIVED)
        out.readings += got.readings
        out.errors += got.errors

    assert out.errors == []
    assert len(_of(out.readings, Metric.SPO2)) == len(real)
    assert len(_of(out.readings, Metric.PR)) == len(real)
    # The 2021 line prints numbers with the sensor-off bit set: recorded, never usable.
    sensor_off_line = [r for r in out.readings if ReadingFlag.SENSOR_OFF in r.flags]
    assert {r.value for r in sensor_off_line} == {98, 101}
    assert not any(r.usable for r in sensor_off_line)
    # Dashes with no exception bit still say why there is no value.
    dashed = [r for r in out.readings if r.value is None]
    assert dashed
    assert all(r.flags == (ReadingFlag.INVALID,) and not r.valid for r in dashed)


def test_byte_by_byte_feeding_gives_the_same_readings() -> None:
    wire = _wire(*SPEC)
    whole = MasimoDriver().feed(wire, RECEIVED).readings
    driver = MasimoDriver()

    pieces = [driver.feed(wire[i : i + 1], RECEIVED).readings for i in range(len(wire))]

    assert [r for piece in pieces for r in piece] == whole


def test_device_clock_zone_is_configurable() -> None:
    tz = timezone(timedelta(hours=-5))
    driver = MasimoDriver(device_tz=tz)

    reading = driver.feed(_wire(SPEC[0]), RECEIVED).readings[0]

    assert reading.device_time == datetime(2024, 3, 15, 10, 30, tzinfo=tz)


def test_a_partial_first_line_is_dropped_silently_later_damage_is_reported() -> None:
    driver = MasimoDriver()
    tail_of_a_line = b"M=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"

    first = driver.feed(tail_of_a_line + _line(0), RECEIVED)
    later = driver.feed(b"garbage line\r\n" + _line(1), RECEIVED)

    assert first.errors == []
    assert len(first.readings) == 2
    assert len(later.errors) == 1
    assert len(later.readings) == 2


def test_a_whole_first_line_is_kept() -> None:
    out = MasimoDriver().feed(_line(0), RECEIVED)

    assert [r.value for r in out.readings] == [97, 70]


def test_reconnecting_resynchronises() -> None:
    driver = MasimoDriver()
    driver.feed(_line(0) + b"03/15/24 10:3", RECEIVED)

    driver.handshake()  # the runner reconnected: the half line belongs to the old stream
    out = driver.feed(b"0:00 SN=00" + _line(1), RECEIVED)

    assert out.errors == []
    assert [r.value for r in out.readings] == [97, 70]


# -- sensor-off episodes -----------------------------------------------------------------------
def test_sensor_off_is_reported_once_per_episode() -> None:
    driver = MasimoDriver()
    off = {"spo2": None, "pr": None, "exc": EXC_SENSOR_OFF}
    sequence = [
        _line(0),
        _line(1, **off),  # type: ignore[arg-type]
        _line(2, **off),  # type: ignore[arg-type]
        _line(3, **off),  # type: ignore[arg-type]
        _line(4),
        _line(5),
        _line(6, spo2=None, pr=None, exc=0x001),  # no sensor at all
        _line(7, spo2=None, pr=None, exc=0x001 | EXC_SENSOR_OFF),
    ]

    events = [e for line in sequence for e in driver.feed(line, RECEIVED).events]

    assert [e.kind for e in events] == [TechnicalEventKind.SENSOR_OFF] * 2
    assert "sensor off" in events[0].detail
    assert "no sensor" in events[1].detail
    assert driver.sensor_off is True


def test_sensor_off_state_starts_unknown_and_resets_on_reconnect() -> None:
    driver = MasimoDriver()
    assert driver.sensor_off is None
    off_line = _line(0, spo2=None, pr=None, exc=EXC_SENSOR_OFF)

    assert len(driver.feed(off_line, RECEIVED).events) == 1
    driver.handshake()
    # After a reconnect the console may have cleared its state: say it again.
    assert len(driver.feed(off_line, RECEIVED).events) == 1


# -- simulator ---------------------------------------------------------------------------------
def _sim(seed: int = 3, **kwargs: object) -> MasimoMonitorSim:
    return MasimoMonitorSim(PatientModel("routine", seed=seed), START, **kwargs)  # type: ignore[arg-type]


def _run(sim: MasimoMonitorSim, seconds: int, step_s: float = 1.0) -> list[bytes]:
    lines: list[bytes] = []
    t = START
    while t <= START + timedelta(seconds=seconds):
        lines += sim.due(t)
        t += timedelta(seconds=step_s)
    return lines


def test_simulator_emits_one_parsable_line_per_second_with_pr_equal_to_hr() -> None:
    sim = _sim()
    model = PatientModel("routine", seed=3)

    lines = _run(sim, 59, step_s=0.25)

    assert len(lines) == 60
    assert all(line.endswith(b"\r\n") for line in lines)
    records = [parse_line(line.rstrip()) for line in lines]
    assert [r.device_time for r in records[:2]] == [
        datetime(2026, 1, 5, 9, 0, 0),
        datetime(2026, 1, 5, 9, 0, 1),
    ]
    expected_hr = [round(model.vitals_at(float(t)).hr) for t in range(60)]
    assert [r.pr for r in records] == expected_hr
    assert all(r.pvi is not None and r.exc == 0x800 for r in records)
    assert all(r.serial_number == "0000123456" for r in records)


def test_simulator_is_deterministic_per_seed() -> None:
    assert _run(_sim(5), 30) == _run(_sim(5), 30)
    assert _run(_sim(5), 30) != _run(_sim(6), 30)


def test_simulator_sensor_off_and_back() -> None:
    sim = _sim()
    driver = MasimoDriver()
    t = START
    events = []
    for second in range(12):
        sim.set_sensor_off(3 <= second < 7)
        for line in sim.due(t + timedelta(seconds=second)):
            out = driver.feed(line, t)
            events += out.events
            assert all(r.usable != sim.sensor_off for r in out.readings)

    assert [e.kind for e in events] == [TechnicalEventKind.SENSOR_OFF]


def test_simulator_ignores_host_bytes_and_bounds_catch_up() -> None:
    sim = _sim(radical7=False)
    sim.receive(b"anything", START)
    assert sim.bytes_received == 8

    first = sim.due(START)
    late = sim.due(START + timedelta(hours=1))  # the pty was starved for an hour
    after = sim.due(START + timedelta(hours=1, seconds=1))

    assert len(first) == 1
    assert len(late) == MAX_CATCH_UP_LINES
    assert len(after) == 1
    assert b"PVI=" not in first[0]
    assert sim.seconds_until_due(START + timedelta(hours=1, seconds=1)) == 1.0
