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
     "unexpected": [], "passed": true,
     "record": {"HR": {"sent": 2399, "received": 2399, "stored": 2399, "journaled": 0,
                       "lost": 0}, ...},
     "technical_episodes": [{"kind": "COMM_LOST", "start_s": 910.5, "end_s": 961.0,
                             "detail": "...", "scripted": true}],
     "storage": {"database": "sqlite:///...", "journal": "/.../journal-....jsonl",
                 "ended_at_stored": true, "ended_at_journaled": false, ...},
     "pace": {"held_real_s": 0.4, "stalled": null}}

A scenario that scripts a session on the record (``[esketamine]``/``[intake]``, issue 17) adds
``"session": {"session_type": ..., "intake": {...}, "esketamine": {...}}``, read back from the
stored record (:mod:`console.commands.run_session_script`); what is missing fails the run.

The verdict's rules are in :mod:`console.commands.run_record` (the record) and :func:`judge` (the
alarms).  A scenario runs on a :class:`~devices.pacing.PacedClock`: the clock stands still while
the console's reader (or the simulator) is behind, so a loaded machine slows the run down and
never changes its readings or its verdict.  The record is written through the same fsync'd
journal as the console's, so a database that is down or full loses nothing that ``run`` reports
as kept.
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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from console.commands.errors import CommandError
from console.commands.login import add_user_option, log_in
from console.commands.run_record import (
    EpisodeLog,
    WireTap,
    alarm_episodes,
    batch_readings,
    mark_scripted,
    record_failures,
    record_table,
    stored_counts,
)
from console.commands.run_session_script import ScriptedSession, Step
from console.config import DB_OPTION, ConfigError, Settings, default_journal_dir, load
from console.domain.alarms import AlarmEvent, AlarmEventKind
from console.domain.esketamine import EsketamineRuleError
from console.domain.pipeline import MIN_SILENCE_REAL_S, ChairOutputs, ChairPipeline
from console.domain.roles import Action
from console.domain.session import SessionRuleError
from console.services.chair_assembly import make_link, make_pipeline, pulse_is_hr_source
from console.services.record_keeper import RecordKeeper
from console.storage.engine import describe_url, make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import (
    SessionEndItem,
    StorageWriter,
)
from devices.base import Driver
from devices.cli_parser import OneLineParser
from devices.clock import Clock, ScaledClock, SystemClock
from devices.errors import BackendUnavailable, DeviceInitError
from devices.model import DeviceState, Metric, Reading, TechnicalEvent, TechnicalEventKind
from devices.pacing import PacedClock
from devices.registry import canonical_kind, driver_class
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.cli import parse_speed
from devices.simulator.launch import SIM_MONITORS, driver_kind, protocols, start_simulator
from devices.simulator.scenario import ExpectedAlarm, Scenario, ScenarioError, load_scenario
from devices.transport import open_transport

PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3}
#: Seconds of real time to wait for the record to reach the database at the end of a run.
FLUSH_TIMEOUT_S = 10.0
#: Real seconds to wait for the storage writer to end: a batch it is writing when the run ends
#: may first wait out the database's own time-outs (SQLite's lock wait, PostgreSQL's connect).
STOP_TIMEOUT_S = 60.0
#: A paced clock that has not moved for this long in real time is stuck, not slow: the run
#: ends and fails, saying what held it (a simulator or reader that died, a port that vanished).
STALL_REAL_S = 30.0
#: The paced run ends this far before ``duration_s``, so a record due exactly at the end is
#: consistently outside the session (never half in, depending on thread timing).
END_MARGIN_S = 1e-3
#: Alarm timers tick half-way between the simulator's whole-second records, so a tick and a
#: record never tie.
TICK_OFFSET_S = 0.5


def _priority_name(ev: AlarmEvent) -> str:
    return str(getattr(ev.priority, "label", str(ev.priority))).lower()


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``run`` command line."""
    p = OneLineParser(
        prog="infusion-console run",
        description="Run one whole monitoring session headless and print a JSON summary. "
        "Exit 0: every expected alarm came in its window, no unexpected physiological alarm "
        "did, every reading sent was stored, and the link was never lost unless the scenario "
        "scripted it; 1: otherwise (reasons on stderr); 2: bad arguments, or a port, "
        "scenario or database that cannot be opened.",
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
    p.add_argument("--baud", type=_positive_int, metavar="N", help="with --device: baud rate")
    p.add_argument("--duration", type=float, metavar="S", help="with --device: seconds to monitor")
    p.add_argument("--chair", default="QA", help="chair name stored with the session")
    add_user_option(p)
    return p


def check_port(url: str, baudrate: int, parity: str) -> str | None:
    """Open and close ``url`` once; the reason in one line when it cannot be opened."""
    try:
        port = open_transport(url, baudrate, parity=parity)
    except DeviceInitError as err:
        return str(err).splitlines()[0]
    port.close()
    return None


@dataclass
class RunSetup:
    """Everything :func:`run_session` needs, checked by :func:`main`."""

    clock: Clock
    scenario: Scenario | None
    protocol: str | None
    seed: int | None
    kind: str
    driver_cls: type[Driver]
    port: str | None
    baud: int | None
    duration_s: float
    chair: str
    #: The QA account that ran it (a database with accounts), credited in the audit trail.
    operator: str = ""


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
        settings = load(args.config, {"storage.db_url": args.db}, option_names=DB_OPTION)
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
        clock = PacedClock(args.speed or parse_speed("max"))
        kind = driver_kind(args.protocol)
    else:
        clock = SystemClock() if args.speed in (None, 1.0) else ScaledClock(args.speed)
        kind = canonical_kind(args.device)
    try:
        driver_cls = driver_class(kind)
    except BackendUnavailable as err:
        return usage(str(err))
    if scenario is None:
        why = check_port(args.port, args.baud or driver_cls.default_baud, driver_cls.parity)
        if why is not None:
            return usage(why)
    try:
        engine = make_engine(settings.db_url)
        repo = SessionRepository(engine)
        repo.upgrade()
    except Exception as err:  # a bad URL, no server, a newer schema: reported, not raised
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        return usage(f"database {describe_url(settings.db_url)}: {reason}")
    try:
        account = log_in(engine, args.user, "run", Action.SCENARIOS)  # run needs the qa role
    except CommandError as err:
        engine.dispose()
        return usage(str(err))
    setup = RunSetup(
        clock=clock,
        scenario=scenario,
        protocol=args.protocol if scenario else None,
        seed=args.seed if scenario else None,
        kind=kind,
        driver_cls=driver_cls,
        port=args.port,
        baud=args.baud,
        duration_s=scenario.duration_s if scenario else float(args.duration),
        chair=args.chair,
        operator="" if account is None else account.name,
    )
    return run_session(setup, settings, engine, repo)


def assemble_chair(
    setup: RunSetup, settings: Settings, outputs: list[ChairOutputs], *, url: str
) -> tuple[ChairPipeline, Driver, LinkConfig]:
    """The chair as the console builds it (:mod:`console.services.chair_assembly`), with
    what only a headless run needs: the communication-lost watch starts with the ticker, once
    the link is up (at x300 the set-up before it is tens of simulated seconds that are not
    silence), and a paced clock, which never runs ahead of the data, needs no real-time
    guard (without it the alarm timing is the same on a loaded machine)."""
    paced = isinstance(setup.clock, PacedClock)
    pipeline = make_pipeline(
        settings,
        setup.driver_cls,
        outputs,
        scenario=setup.scenario,
        started_at=None,
        min_silence_real_s=0.0 if paced else MIN_SILENCE_REAL_S,
    )
    driver, link = make_link(
        setup.driver_cls,
        settings.device,
        pipeline,
        url=url,
        device_id=setup.chair,
        baud=setup.baud,
    )
    return pipeline, driver, link


def run_session(
    setup: RunSetup, settings: Settings, engine: Engine, repo: SessionRepository
) -> int:
    """Play the session, store it, print the summary; returns the exit code."""
    clock, scenario = setup.clock, setup.scenario
    session_start = clock.now()
    sim = None
    tap = WireTap(clock)
    if scenario is not None:
        sim = start_simulator(
            clock,
            protocol=setup.protocol or "datex",
            scenario=scenario,
            seed=setup.seed or 0,
            session_start=session_start,
            name="sim-run",
        )
        sim.endpoint.tap = tap
        url = sim.path
    else:
        assert setup.port is not None
        url = setup.port
    duration_s = setup.duration_s
    script = (
        ScriptedSession(scenario, repo) if scenario and ScriptedSession.wanted(scenario) else None
    )
    try:
        patient_id = None if script is None else script.register_patient(session_start)
        session_id = repo.create_session(
            chair=setup.chair,
            started_at=session_start,
            simulated=scenario is not None,
            device_kind=setup.kind,
            device_url=url,
            profile=settings.alarm_profile,
            patient_id=patient_id,
            by=setup.operator,
        )
    except (EsketamineRuleError, SessionRuleError) as err:  # the scenario's session is wrong
        if sim is not None:
            sim.stop()
        name = scenario.name if scenario else "?"
        sys.stderr.write(f"infusion-console run: error: scenario {name}: {err}\n")
        return 2
    except Exception as err:  # the database went away since upgrade(): one line, exit 2
        if sim is not None:
            sim.stop()
        sys.stderr.write(
            f"infusion-console run: error: database {describe_url(engine.url)}: "
            f"{str(err).splitlines()[0]}\n"
        )
        return 2
    episodes = EpisodeLog(clock, session_start)
    writer = StorageWriter(engine, on_status=episodes.on_storage, journal_dir=default_journal_dir())
    writer.start()
    recorder = SessionRecorder(session_start)

    # The console's record keeper: the same items for the same events (a console's held data
    # for a chair of this name are not the run's: nothing is adopted).
    keeper = RecordKeeper(writer, setup.chair)
    keeper.attach(session_id)
    storage = keeper.outputs()
    watcher = ChairOutputs(
        episodes.on_readings, lambda evs: None, episodes.on_technical, episodes.on_state
    )
    outputs = [storage, recorder.outputs(), watcher]
    if script is not None:
        outputs.append(script.cuff.outputs())
    pipeline, driver, link = assemble_chair(setup, settings, outputs, url=url)
    steps = []
    if script is not None:
        script.begin(session_id, session_start, writer, pipeline)
        steps = script.steps()
    runner = DeviceRunner(driver, link, pipeline, clock=clock, name="runner-run")
    runner.start()
    # The scripted infusion: the engine escalates a lost monitor and watches the NIBP schedule
    # only while the infusion runs (clinical.md b3).
    infusion = (
        [(scenario.timeline.infusion_start_s, True), (scenario.timeline.infusion_end_s, False)]
        if scenario
        else []
    )
    stalled: str | None = None
    try:
        if isinstance(clock, PacedClock):
            stalled = _paced_loop(clock, pipeline, session_start, duration_s, infusion, steps)
        else:
            pipeline.start_ticking(clock, name="alarm-ticker-run")
            _timed_loop(clock, pipeline, session_start, duration_s, infusion, steps)
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.stop_ticking()  # first: a stopping link is not a lost monitor
        runner.stop()
        if sim is not None:
            sim.stop()
        writer.submit(SessionEndItem(session_id, clock.now()))
        writer.flush(FLUSH_TIMEOUT_S)
        writer.stop(STOP_TIMEOUT_S)
    scripted = None if script is None else script.judge(engine, session_id)
    return _report(
        setup,
        session_id,
        engine,
        writer,
        recorder,
        episodes,
        runner,
        tap,
        clock,
        stalled,
        None if sim is None else sim.monitor,
        scripted,
    )


def _timed_loop(
    clock: Clock,
    pipeline: ChairPipeline,
    session_start: datetime,
    duration_s: float,
    infusion: list[tuple[float, bool]],
    steps: list[Step] | None = None,
) -> None:
    """A device run: real (or scaled) time passes; the ticker thread runs the alarm timers."""
    steps = steps or []
    while (elapsed := (clock.now() - session_start).total_seconds()) < duration_s:
        while infusion and infusion[0][0] <= elapsed:
            _at, running = infusion.pop(0)
            pipeline.set_infusion_running(running, clock.now())
        while steps and steps[0][0] <= elapsed:
            steps.pop(0)[1](clock.now())
        time.sleep(0.02)


def _paced_loop(
    clock: PacedClock,
    pipeline: ChairPipeline,
    session_start: datetime,
    duration_s: float,
    infusion: list[tuple[float, bool]],
    steps: list[Step] | None = None,
) -> str | None:
    """A scenario run: hold the clock at each alarm tick and scripted step, in session time.

    ``steps`` (a scripted session's, on the record) are taken once everything sent before
    their time is read and processed (their cuff readings are the record's).

    Returns None when the session reached its end, or what held the clock when it stalled.
    """
    steps = steps or []
    base = (session_start - clock.start).total_seconds()
    end_s = duration_s - END_MARGIN_S
    next_tick = TICK_OFFSET_S
    while True:
        target = min(
            next_tick, end_s, *(at for at, _r in infusion[:1]), *(at for at, _f in steps[:1])
        )
        clock.hold("run", base + target)
        idle = bool(steps) and steps[0][0] <= target
        why = _wait_for(clock, base + target, idle=idle)
        if why is not None:
            return why
        at = session_start + timedelta(seconds=target)
        while infusion and infusion[0][0] <= target:
            _at, running = infusion.pop(0)
            pipeline.set_infusion_running(running, at)
        while steps and steps[0][0] <= target:
            steps.pop(0)[1](at)
        if target >= end_s:
            # Everything sent before the end is read and processed before the run stops.
            return _wait_for(clock, base + target, idle=True)
        if target >= next_tick:
            pipeline.tick(at)
            next_tick += 1.0


def _wait_for(clock: PacedClock, until_s: float, *, idle: bool = False) -> str | None:
    """Wait until the clock reads ``until_s`` (and, with ``idle``, nothing is in flight).

    Returns None, or what holds the clock when it has not moved for :data:`STALL_REAL_S`.
    """
    last = clock.monotonic()
    last_move = time.monotonic()
    while True:
        now_s = clock.monotonic()
        if now_s >= until_s and (not idle or clock.idle()):
            return None
        if now_s != last:
            last, last_move = now_s, time.monotonic()
        elif time.monotonic() - last_move > STALL_REAL_S:
            return f"the run stalled at {now_s:.1f} s: {clock.why_held() or 'unknown'}"
        time.sleep(min(0.01, max(0.0005, (until_s - now_s) / clock.speed)))


def _report(
    setup: RunSetup,
    session_id: int,
    engine: Engine,
    writer: StorageWriter,
    recorder: SessionRecorder,
    episodes: EpisodeLog,
    runner: DeviceRunner,
    tap: WireTap,
    clock: Clock,
    stalled: str | None,
    sim_monitor: Any,
    scripted: tuple[dict[str, Any], list[str]] | None = None,
) -> int:
    """Judge the run, print the JSON summary and the reasons; returns the exit code."""
    scenario = setup.scenario
    expected, unexpected = judge(
        recorder.alarms,
        scenario.expect if scenario else (),
        scenario.allow if scenario else (),
        setup.driver_cls.metrics,
    )
    received = recorder.readings + recorder.invalid
    writer_done = not writer.is_alive()
    on_disk, in_memory = writer.backlog() if writer_done else ([], [])
    journaled, end_journaled = batch_readings(on_disk, session_id)
    unsaved, _end_unsaved = batch_readings(in_memory, session_id)
    stored, end_stored = stored_counts(engine, session_id)
    engine.dispose()
    counted_in_db = stored is not None
    if stored is None:  # the database is down: what the writer neither kept nor lost is in
        stored = received - journaled - unsaved
    sent = tap.readings(setup.driver_cls) if scenario is not None else None
    record = record_table(sent, received, stored, journaled)
    technical = sorted(
        [*episodes.episodes, *alarm_episodes(recorder.alarms)], key=lambda e: e.start_s
    )
    # A replayed recording ends: the monitor's silence after it is part of the scenario.
    recording_s = getattr(sim_monitor, "duration_s", None)
    mark_scripted(technical, scenario, None if recording_s is None else float(recording_s))
    journal = writer.journal_path
    reasons = record_failures(
        record, technical, simulated=scenario is not None, journal=str(journal)
    )
    if stalled is not None:
        reasons.insert(0, stalled)
    if scripted is not None:
        reasons.extend(scripted[1])
    if not writer_done:
        reasons.append("the storage writer did not finish in time: the record may be incomplete")
    if not end_stored and not end_journaled:
        reasons.append("the end of the session (ended_at) was not stored")
    passed = all(e["met"] for e in expected) and not unexpected and not reasons
    summary = {
        "session_id": session_id,
        "scenario": scenario.name if scenario else None,
        "protocol": setup.protocol,
        "device": setup.kind,
        "speed": clock.speed,
        "seed": setup.seed,
        "duration_s": setup.duration_s,
        "simulated": scenario is not None,
        "readings": dict(sorted(recorder.readings.items())),
        "invalid_readings": dict(sorted(recorder.invalid.items())),
        "frame_errors": runner.frame_errors,
        "alarms": [_alarm_json(a) for a in recorder.alarms],
        "expected": expected,
        "unexpected": [_alarm_json(a) for a in unexpected],
        "passed": passed,
        "record": record,
        "technical_episodes": [e.as_json() for e in technical],
        "storage": {
            "database": describe_url(engine.url),
            "counted_in_database": counted_in_db,
            "journal": None if journal is None else str(journal),
            "journaled_batches": len(on_disk),
            "lost_batches": len(in_memory),
            "rejected_batches": writer.batches_rejected,
            "ended_at_stored": end_stored,
            "ended_at_journaled": end_journaled,
        },
        "pace": {
            "held_real_s": round(getattr(clock, "held_real_s", 0.0), 3),
            "stalled": stalled,
        },
    }
    if scripted is not None:
        summary["session"] = scripted[0]
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
    for reason in reasons:
        sys.stderr.write(f"FAIL: {reason}\n")
    return 0 if passed else 1
