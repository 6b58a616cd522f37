"""The simulated patient and monitor: deterministic, and shaped like a ketamine session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devices.drivers.ge_datex import DatexDriver
from devices.model import Metric
from devices.protocols import ge_datex
from devices.simulator.monitor import DatexMonitorSim, NibpSchedule
from devices.simulator.signals import PatientModel, SessionTimeline

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _run_session(seed: int, minutes: float, profile: str = "routine") -> list:  # type: ignore[type-arg]
    patient = PatientModel(profile, seed=seed)
    monitor = DatexMonitorSim(patient, START, nibp=NibpSchedule(interval_s=300))
    driver = DatexDriver(interval_s=1)
    for msg in driver.handshake():
        monitor.receive(msg, START)
    readings = []
    t = START
    end = START + timedelta(minutes=minutes)
    while t < end:
        t += timedelta(seconds=1)
        for frame in monitor.due(t):
            readings.extend(driver.feed(frame, t).readings)
    return readings


def test_same_seed_same_numbers_different_seed_different_patient() -> None:
    a = [(r.metric, r.value) for r in _run_session(7, 12)]
    b = [(r.metric, r.value) for r in _run_session(7, 12)]
    c = [(r.metric, r.value) for r in _run_session(8, 12)]
    assert a == b
    assert a != c


def test_bp_rises_during_infusion_and_peaks_late() -> None:
    model = PatientModel("routine", seed=1, timeline=SessionTimeline())
    start, end = model.timeline.infusion_start_s, model.timeline.infusion_end_s
    assert model.response(start) == 0.0
    assert model.response(start + 15 * 60) > 0.8
    assert abs(model.response(end) - 1.0) < 1e-9
    assert model.response(end + 90 * 60) < 0.05


def test_hypertensive_surge_exceeds_180_by_minute_20_of_infusion() -> None:
    model = PatientModel("hypertensive-surge", seed=1)
    t = model.timeline.infusion_start_s + 20 * 60
    sys_, _dia, _mean = model.cuff_measurement(t)
    assert sys_ > 180


def test_nibp_arrives_once_per_cuff_cycle_with_the_cycle_time() -> None:
    readings = _run_session(5, 21.1)
    nibp = [r for r in readings if r.metric is Metric.NIBP_SYS and r.usable]
    # Cycles complete at 60 s, 360 s, ... 1260 s; each is reported one record later, when the
    # monitor drops the 'measuring' label bit (real sequence 0x02B -> 0x00B).
    assert len(nibp) == 5
    offsets = [(r.received_at - START).total_seconds() for r in nibp]
    assert offsets == [61, 361, 661, 961, 1261]


def test_stop_request_ends_transmission() -> None:
    patient = PatientModel("routine", seed=1)
    monitor = DatexMonitorSim(patient, START)
    monitor.receive(ge_datex.frame_record(ge_datex.encode_phdb_request(1)), START)
    assert monitor.due(START + timedelta(seconds=3))
    monitor.receive(ge_datex.frame_record(ge_datex.encode_stop_request()), START)
    assert not monitor.streaming
    assert monitor.due(START + timedelta(seconds=10)) == []
