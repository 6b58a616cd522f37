"""An accelerated simulated chair in the console loses nothing when its reader is starved.

Seen in CI (2-core machine, whole suite running): a x300 console chair's reader thread was not
scheduled for a moment, its simulated monitor kept writing a minute of frames per wall second
onto a pty with no flow control, the pty filled, bytes were dropped and the runner rejected cut
Datex frames ("checksum 0x00 != computed 0xB7"); one chair of four did not show its values within
20 s.  ``run`` had the cure already (:class:`devices.pacing.PacedClock`); the console's chairs
ran on a free :class:`~devices.clock.ScaledClock`.  Here the reader is stalled on purpose,
through the real pty, on the chair the console's own fleet builds.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import ChairFleet
from console.config import load
from console.services.session_values import ResumePolicy
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import StorageWriter
from devices.model import DeviceState, Metric, Reading
from devices.pacing import PacedClock

pytestmark = pytest.mark.gui

#: Real seconds each stall keeps the reader away (180 simulated seconds at x300).
STALL_S = 0.6


def test_a_starved_reader_slows_an_accelerated_chair_down_and_loses_nothing(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load(
        overrides={
            "simulator.protocol": "datex",
            "simulator.speed": 300.0,
            "simulator.scenario": "routine",
        },
        environ={},
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'pace.sqlite3'}")
    writer = StorageWriter(engine, journal_dir=tmp_path / "journal")
    writer.start()
    fleet = ChairFleet(
        writer=writer, repository=SessionRepository(engine), speed=settings.simulator.speed
    )
    chair = fleet.make(settings)
    chair.resume_policy = ResumePolicy.NEW
    assert isinstance(chair.clock, PacedClock)
    stalls: list[float] = []
    states: list[DeviceState] = []
    seen: list[Reading] = []
    pipeline = chair.pipeline
    feed, on_state = pipeline.on_readings, pipeline.on_state

    def starved(readings: list[Reading]) -> None:
        """The reader's thread, not scheduled for a while three times (a loaded machine)."""
        seen.extend(readings)
        t = chair.session_seconds(chair.clock.now())
        if t >= 100 * (len(stalls) + 1) and len(stalls) < 3:
            stalls.append(t)
            time.sleep(STALL_S)
        feed(readings)

    def state(s: DeviceState) -> None:
        states.append(s)
        on_state(s)

    monkeypatch.setattr(pipeline, "on_readings", starved)
    monkeypatch.setattr(pipeline, "on_state", state)
    fleet.chairs.append(chair)
    chair.start()
    endpoint, runner = chair.endpoint, chair.runner
    assert endpoint is not None
    assert runner is not None
    try:
        qtbot.waitUntil(
            lambda: len(stalls) == 3 and chair.session_seconds(chair.clock.now()) > 360,
            timeout=30_000,
        )
    finally:
        fleet.stop_all()
        writer.stop()
        engine.dispose()
    assert endpoint.bytes_sent > 0
    assert endpoint.bytes_dropped == 0  # nothing fell off a full pty
    assert runner.frame_errors == 0  # no frame arrived cut
    runner_errors = [s for s in states if s in (DeviceState.QUIET, DeviceState.DISCONNECTED)]
    assert runner_errors == []  # a stall is not silence
    hr_times = sorted(
        r.device_time for r in seen if r.metric is Metric.HR and r.device_time is not None
    )
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(hr_times)}
    assert max(gaps) <= 10.0, gaps  # no stretch of the session missing
