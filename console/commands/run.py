"""``python main.py run``: a whole session headless, for QA automation and field service.

With ``--scenario`` it starts a virtual monitor on a pty and reads it through the production path
(pty -> pyserial -> runner -> decoding -> alarm pipeline -> storage), then prints a JSON summary
and exits 0 when every expected alarm came in its window and no unexpected physiological alarm
did, 1 otherwise (saying which on stderr).  With ``--device KIND --port URL --duration S`` it
monitors a real or external device for S seconds and prints the same summary.

Summary (stdout, one JSON object; field names are a contract)::

    {"session_id": 12, "scenario": "bradycardia", "protocol": "datex", "speed": 1000.0,
     "seed": 1, "duration_s": 2400.0, "simulated": true,
     "readings": {"HR": 2399, ...}, "invalid_readings": {"SPO2": 90, ...},
     "frame_errors": 0,
     "alarms": [{"parameter": "HR", "priority": "medium", "category": "physiological",
                 "onset_s": 1521.0, "end_s": 1712.0, "message": "..."}],
     "expected": [{"parameter": "HR", "priority": "medium", "from_s": 1500.0, "to_s": 1740.0,
                   "met": true, "at_s": 1521.0}],
     "unexpected": [], "passed": true}
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from console.config import ConfigError, load
from console.domain.alarms import AlarmEvent, AlarmEventKind
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.storage.engine import describe_url, make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import (
    AlarmItem,
    ReadingsItem,
    StorageWriter,
    TechnicalItem,
    worth_recording,
)
from devices.cli_parser import OneLineParser
from devices.clock import Clock, ScaledClock, SystemClock
from devices.errors import BackendUnavailable
from devices.model import DeviceState, Metric, Reading, TechnicalEvent, TechnicalEventKind
from devices.registry import driver_class
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.cli import parse_speed
from devices.simulator.launch import SIM_MONITORS, driver_kind, protocols, start_simulator
from devices.simulator.scenario import ExpectedAlarm, ScenarioError, load_scenario

PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3}


def _priority_name(ev: AlarmEvent) -> str:
    return str(getattr(ev.priority, "label", str(ev.priority))).lower()


def pulse_is_hr_source(metrics: frozenset[Metric]) -> bool:
    """True for a monitor with a pulse rate but no ECG HR (a pulse oximeter)."""
    return Metric.HR not in metrics and Metric.PR in metrics


def alarm_parameter(ev: AlarmEvent) -> str:
    """The parameter an alarm is about: the metric, or the technical condition's name."""
    metric = getattr(ev, "metric", None)
    if metric is not None:
        return str(metric.value)
    return ev.key.split(":")[0].upper()


def alarm_category(ev: AlarmEvent) -> str:
    """``physiological`` or ``technical``."""
    category = getattr(ev, "category", None)
    if category is not None:
        return str(getattr(category, "value", category))
    return "physiological" if getattr(ev, "metric", None) is not None else "technical"


@dataclass
class AlarmRecord:
    """One alarm condition from onset to end, in session seconds."""

    parameter: str
    category: str
    onset_s: float
    message: str
    priority: str
    end_s: float | None = None
    #: (session seconds, priority) each time the priority changed, onset included.
    steps: list[tuple[float, str]] = field(default_factory=list)

    def reached(self, priority: str) -> float | None:
        """Session time at which the alarm first reached ``priority`` or above."""
        for at, prio in self.steps:
            if PRIORITY_RANK[prio] >= PRIORITY_RANK[priority]:
                return at
        return None


class SessionRecorder:
    """Collects what a headless session produced (called on the runner thread)."""

    def __init__(self, session_start: datetime) -> None:
        self.session_start = session_start
        self.readings: Counter[str] = Counter()
        self.invalid: Counter[str] = Counter()
        self.frame_errors = 0
        self.alarms: list[AlarmRecord] = []
        self._open: dict[str, AlarmRecord] = {}
        self._lock = threading.Lock()

    def _s(self, at: datetime) -> float:
        return round((at - self.session_start).total_seconds(), 1)

    def outputs(self) -> ChairOutputs:
        """Pipeline outputs feeding this recorder."""
        return ChairOutputs(self._on_readings, self._on_alarms, self._on_technical, self._on_state)

    def _on_readings(self, readings: list[Reading]) -> None:
        with self._lock:
            for r in readings:
                (self.readings if r.usable else self.invalid)[r.metric.value] += 1

    def _on_alarms(self, events: list[AlarmEvent]) -> None:
        with self._lock:
            for ev in events:
                kind = str(getattr(ev.kind, "value", ev.kind))
                prio = _priority_name(ev)
                current = self._open.get(ev.key)
                if kind == AlarmEventKind.ONSET.value or current is None:
                    if kind == AlarmEventKind.END.value:
                        continue
                    if kind != AlarmEventKind.ONSET.value and prio not in PRIORITY_RANK:
                        continue
                    record = AlarmRecord(
                        alarm_parameter(ev), alarm_category(ev), self._s(ev.at), ev.message, prio
                    )
                    record.steps.append((record.onset_s, prio))
                    self.alarms.append(record)
                    self._open[ev.key] = record
                elif kind == AlarmEventKind.END.value:
                    current.end_s = self._s(ev.at)
                    del self._open[ev.key]
                elif prio in PRIORITY_RANK and prio != current.steps[-1][1]:
                    current.steps.append((self._s(ev.at), prio))
                    if PRIORITY_RANK[prio] > PRIORITY_RANK[current.priority]:
                        current.priority = prio
                        current.message = ev.message

    def _on_technical(self, event: TechnicalEvent) -> None:
        if event.kind is TechnicalEventKind.FRAME_ERROR:
            with self._lock:
                self.frame_errors = max(self.frame_errors, event.count)

    def _on_state(self, state: DeviceState) -> None:
        del state


def judge(
    alarms: list[AlarmRecord],
    expect: Sequence[ExpectedAlarm],
    allow: Sequence[str],
    measured: frozenset[Metric] | None = None,
) -> tuple[list[dict[str, Any]], list[AlarmRecord]]:
    """Match expectations against alarms; return (expectation results, unexpected alarms).

    ``measured`` is what the device measures: an expectation on a parameter it cannot measure
    is reported as not met with that reason (a pulse oximeter cannot show a BP surge).
    """
    results = []
    for ex in expect:
        if measured is not None and ex.parameter in Metric.__members__:
            metric = Metric(ex.parameter)
            hr_from_pulse = metric is Metric.HR and pulse_is_hr_source(measured)
            if metric not in measured and not hr_from_pulse:
                results.append(
                    {
                        "parameter": ex.parameter,
                        "priority": ex.priority,
                        "from_s": ex.from_s,
                        "to_s": ex.to_s,
                        "met": False,
                        "at_s": None,
                        "reason": "the device does not measure this parameter",
                    }
                )
                continue
        hit = None
        for a in alarms:
            at = a.reached(ex.priority) if a.parameter == ex.parameter else None
            if at is not None and ex.from_s <= at <= ex.to_s:
                hit = at
                break
        results.append(
            {
                "parameter": ex.parameter,
                "priority": ex.priority,
                "from_s": ex.from_s,
                "to_s": ex.to_s,
                "met": hit is not None,
                "at_s": hit,
            }
        )
    tolerated = {ex.parameter for ex in expect} | set(allow)
    unexpected = [
        a for a in alarms if a.category == "physiological" and a.parameter not in tolerated
    ]
    return results, unexpected


def _alarm_json(a: AlarmRecord) -> dict[str, Any]:
    return {
        "parameter": a.parameter,
        "priority": a.priority,
        "category": a.category,
        "onset_s": a.onset_s,
        "end_s": a.end_s,
        "message": a.message,
    }


def build_parser() -> argparse.ArgumentParser:
    """The ``run`` command line."""
    p = OneLineParser(
        prog="infusion-console run",
        description="Run one whole monitoring session headless and print a JSON summary. "
        "Exit 0: every expected alarm came in its window and no unexpected physiological "
        "alarm did; 1: otherwise; 2: bad arguments.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--scenario", metavar="NAME|FILE", help="built-in scenario or a .toml file")
    src.add_argument("--device", metavar="KIND", help="monitor a real device of this driver kind")
    p.add_argument(
        "--protocol", default="datex", help=f"simulator protocol: {', '.join(protocols())}"
    )
    p.add_argument("--speed", type=parse_speed, default=None, help="1..1000 or max (default max)")
    p.add_argument("--seed", type=int, default=1, help="simulated patient seed (default 1)")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL (default: the console's database)")
    p.add_argument("--config", metavar="FILE", type=Path, help="user TOML configuration")
    p.add_argument("--port", metavar="URL", help="with --device: pyserial URL of the monitor")
    p.add_argument("--baud", type=int, metavar="N", help="with --device: baud rate")
    p.add_argument("--duration", type=float, metavar="S", help="with --device: seconds to monitor")
    p.add_argument("--chair", default="QA", help="chair name stored with the session")
    return p


def main(argv: Sequence[str]) -> int:
    """Entry point of ``run``."""
    parser = build_parser()
    args = parser.parse_args(argv)

    def usage(msg: str) -> int:
        sys.stderr.write(f"{parser.prog}: error: {msg}\n")
        return 2

    duration_ok = args.duration is not None and math.isfinite(args.duration) and args.duration > 0
    if args.device and (not args.port or not duration_ok):
        return usage("--device needs --port URL and --duration S (S > 0)")
    try:
        settings = load(args.config, {"storage.db_url": args.db})
    except ConfigError as err:
        return usage(f"configuration: {err}")
    scenario = None
    clock: Clock
    if args.scenario:
        if args.protocol not in SIM_MONITORS:
            return usage(f"protocol {args.protocol!r} is not one of: {', '.join(protocols())}")
        try:
            scenario = load_scenario(args.scenario)
        except ScenarioError as err:
            return usage(str(err))
        clock = ScaledClock(args.speed or parse_speed("max"))
        kind = driver_kind(args.protocol)
    else:
        clock = SystemClock() if args.speed in (None, 1.0) else ScaledClock(args.speed)
        kind = args.device
    try:
        driver_cls = driver_class(kind)
    except BackendUnavailable as err:
        return usage(str(err))
    try:
        engine = make_engine(settings.db_url)
        repo = SessionRepository(engine)
        repo.upgrade()
    except Exception as err:  # a bad URL, no server, a newer schema: reported, not raised
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        return usage(f"database {describe_url(settings.db_url)}: {reason}")

    session_start = clock.now()
    sim = None
    if scenario is not None:
        sim = start_simulator(
            clock,
            protocol=args.protocol,
            scenario=scenario,
            seed=args.seed,
            session_start=session_start,
            name="sim-run",
        )
        url = sim.path
        duration_s = scenario.duration_s
    else:
        url = args.port
        duration_s = float(args.duration)
    session_id = repo.create_session(
        chair=args.chair,
        started_at=session_start,
        simulated=scenario is not None,
        device_kind=kind,
        device_url=url,
    )
    repo.store_session_profile(session_id, settings.alarm_profile, at=session_start)
    writer = StorageWriter(engine)
    writer.start()
    recorder = SessionRecorder(session_start)

    def store_readings(rs: list[Reading]) -> None:
        writer.submit(ReadingsItem(session_id, tuple(rs)))

    def store_alarms(evs: list[AlarmEvent]) -> None:
        for ev in evs:
            writer.submit(AlarmItem(session_id, ev))

    def store_technical(ev: TechnicalEvent) -> None:
        if worth_recording(ev):
            writer.submit(TechnicalItem(session_id, ev))

    storage = ChairOutputs(store_readings, store_alarms, store_technical, lambda s: None)
    pipeline = ChairPipeline(
        settings.alarm_profile,
        [storage, recorder.outputs()],
        nibp_interval_s=scenario.nibp.interval_s if scenario else settings.alarm_nibp_interval_s,
        # None: the communication-lost watch starts with the ticker, once the link is up (at
        # x300 the set-up before it is tens of simulated seconds that are not silence).
        started_at=None,
        pulse_as_hr=pulse_is_hr_source(driver_cls.metrics),
        measures_nibp=Metric.NIBP_SYS in driver_cls.metrics,
    )
    link = LinkConfig(
        url, args.baud or driver_cls.default_baud, driver_cls.parity, device_id=args.chair
    )
    runner = DeviceRunner(driver_cls(), link, pipeline, clock=clock, name="runner-run")
    runner.start()
    pipeline.start_ticking(clock, name="alarm-ticker-run")
    # The scripted infusion: the engine escalates a lost monitor and watches the NIBP schedule
    # only while the infusion runs (clinical.md b3).
    infusion = (
        [(scenario.timeline.infusion_start_s, True), (scenario.timeline.infusion_end_s, False)]
        if scenario
        else []
    )
    try:
        while (elapsed := (clock.now() - session_start).total_seconds()) < duration_s:
            while infusion and infusion[0][0] <= elapsed:
                _at, running = infusion.pop(0)
                pipeline.set_infusion_running(running, clock.now())
            time.sleep(0.02)
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.stop_ticking()  # first: a stopping link is not a lost monitor
        runner.stop()
        if sim is not None:
            sim.stop()
        writer.flush()
        writer.stop()
        repo.end_session(session_id, clock.now())
        engine.dispose()

    expected, unexpected = judge(
        recorder.alarms,
        scenario.expect if scenario else (),
        scenario.allow if scenario else (),
        driver_cls.metrics,
    )
    passed = all(e["met"] for e in expected) and not unexpected
    summary = {
        "session_id": session_id,
        "scenario": scenario.name if scenario else None,
        "protocol": args.protocol if scenario else None,
        "device": kind,
        "speed": clock.speed,
        "seed": args.seed if scenario else None,
        "duration_s": duration_s,
        "simulated": scenario is not None,
        "readings": dict(sorted(recorder.readings.items())),
        "invalid_readings": dict(sorted(recorder.invalid.items())),
        "frame_errors": runner.frame_errors,
        "alarms": [_alarm_json(a) for a in recorder.alarms],
        "expected": expected,
        "unexpected": [_alarm_json(a) for a in unexpected],
        "passed": passed,
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    for e in expected:
        if not e["met"]:
            why = e.get("reason", "it did not come")
            sys.stderr.write(
                f"FAIL: expected {e['parameter']} {e['priority']} alarm between "
                f"{e['from_s']:.0f} s and {e['to_s']:.0f} s; {why}\n"
            )
    for a in unexpected:
        sys.stderr.write(
            f"FAIL: unexpected {a.parameter} {a.priority} alarm at {a.onset_s:.0f} s\n"
        )
    return 0 if passed else 1
