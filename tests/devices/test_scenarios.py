"""Scenario files and the director that plays their wire and device events."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.model import Metric, ReadingFlag
from devices.simulator.faults import Corruption, MonitorFaults, corrupt_frame
from devices.simulator.scenario import (
    ScenarioDirector,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)

REQUIRED = {
    "routine",
    "hypertensive-surge",
    "bradycardia",
    "desaturation",
    "sensor-off",
    "cable-unplug",
    "noisy-line",
    "clock-jump",
}


def test_every_required_scenario_is_built_in_and_valid() -> None:
    assert set(builtin_scenarios()) >= REQUIRED
    for name in builtin_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.duration_s > 0
        for ex in scenario.expect:
            assert 0 <= ex.from_s < ex.to_s <= scenario.duration_s


def test_physiological_events_shape_the_patient() -> None:
    brady = load_scenario("bradycardia")
    patient = brady.make_patient(seed=1)
    event = brady.events[0]
    before = patient.vitals_at(event.at_s - 60).hr
    during = patient.vitals_at(event.at_s + 90).hr
    after = patient.vitals_at(event.at_s + event.duration_s + event.ramp_s + 60).hr
    assert during < before - 30
    assert abs(after - before) < 10


class FakeWire:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def unplug(self) -> None:
        self.calls.append("unplug")

    def replug(self) -> None:
        self.calls.append("replug")

    def inject(self, data: bytes) -> None:
        self.calls.append(f"inject {len(data)}")


class FakeMonitor:
    def __init__(self) -> None:
        self.faults = MonitorFaults()


def _direct(toml: str, times: list[float]) -> tuple[FakeMonitor, FakeWire, list[MonitorFaults]]:
    import tomllib

    scenario = parse_scenario(tomllib.loads(toml))
    monitor, wire = FakeMonitor(), FakeWire()
    now = [0.0]
    director = ScenarioDirector(scenario, monitor, wire, lambda: now[0])
    snapshots = []
    for t in times:
        now[0] = t
        director.step()
        f = monitor.faults
        snapshots.append(
            MonitorFaults(
                f.sensor_off, f.silent, f.clock_offset_s, dict(f.flags), list(f.corrupt_next)
            )
        )
    return monitor, wire, snapshots


def test_director_plays_wire_events_at_their_times() -> None:
    toml = """
name = "t"
[[events]]
at_min = 1
action = "unplug"
duration_s = 60
[[events]]
at_min = 1
action = "sensor_off"
duration_s = 30
[[events]]
at_min = 3
action = "clock_jump"
offset_s = 300
[[events]]
at_min = 4
action = "flag"
metric = "SPO2"
flag = "questionable"
duration_s = 10
"""
    _m, wire, snaps = _direct(toml, [59, 60, 89, 90, 120, 180, 240, 249, 250])
    assert wire.calls == ["unplug", "replug"]
    assert [s.sensor_off for s in snaps] == [
        False,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert snaps[5].clock_offset_s == 300
    assert snaps[6].flags == {Metric.SPO2: ReadingFlag.QUESTIONABLE}
    assert snaps[8].flags == {}


def test_noise_rotates_garbage_checksum_and_truncation() -> None:
    toml = """
name = "n"
[[events]]
at_min = 0
action = "noise"
duration_s = 30
every_s = 5
"""
    monitor, wire, _ = _direct(toml, [float(t) for t in range(0, 31)])
    assert sum(c.startswith("inject") for c in wire.calls) == 2
    assert monitor.faults.corrupt_next.count(Corruption.CHECKSUM) == 2
    assert monitor.faults.corrupt_next.count(Corruption.TRUNCATE) == 2


def test_corrupt_frame_changes_exactly_what_it_says() -> None:
    frame = b"\x7e" + bytes(range(0x20, 0x60)) + b"\x7e"
    bad = corrupt_frame(frame, Corruption.CHECKSUM)
    assert len(bad) == len(frame)
    assert sum(a != b for a, b in zip(bad, frame, strict=True)) == 1
    cut = corrupt_frame(frame, Corruption.TRUNCATE)
    assert frame.startswith(cut)
    assert len(cut) < len(frame)


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('description = "x"', "'name' is required"),
        ('name = "x"\n[patient]\nprofile = "zombie"', "patient.profile"),
        ('name = "x"\n[patient]\nheight = 3', "patient.height"),
        ('name = "x"\n[[events]]\nat_min = 1\naction = "explode"', "events[0].action"),
        ('name = "x"\n[[events]]\nat_min = 1\naction = "flag"', "needs 'metric' and 'flag'"),
        (
            'name = "x"\n[[expect]]\nparameter = "HR"\npriority = "urgent"\n'
            "from_min = 1\nto_min = 2",
            "priority",
        ),
    ],
)
def test_bad_scenarios_name_the_key(toml: str, fragment: str) -> None:
    import tomllib

    with pytest.raises(ScenarioError) as info:
        parse_scenario(tomllib.loads(toml), source="s.toml")
    assert fragment in str(info.value)


def test_unknown_scenario_lists_the_built_in_ones(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="routine"):
        load_scenario("no-such-scenario")
