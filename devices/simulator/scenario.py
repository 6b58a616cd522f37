"""Scripted clinical scenarios for QA: a TOML file per scenario, and the director that plays it.

A scenario sets the simulated patient (profile, per-patient overrides, timeline, NIBP cycle),
scripts events on the session timeline (physiological effects and faults on the wire) and
declares the alarms QA expects.  The format is documented in ``resources/scenarios/README.md``;
an example::

    name = "bradycardia"
    description = "Vasovagal episode 20 minutes into the infusion."
    duration_min = 50

    [patient]
    profile = "routine"

    [[events]]
    at_min = 25            # session time (baseline included)
    action = "hr"          # hr, spo2, sbp, dbp, rr: add ``delta`` over ``duration_s``
    delta = -40
    duration_s = 180
    ramp_s = 20

    [[expect]]
    parameter = "HR"
    priority = "medium"    # at least this priority
    from_min = 25
    to_min = 29

The director runs on the simulator's thread (a tick hook of the endpoint), so events land at
the right simulated time at any ``--speed``.
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Protocol

from devices.model import Metric, ReadingFlag
from devices.resources import resource, resource_path
from devices.simulator.faults import Corruption, FaultableMonitor
from devices.simulator.monitor import NibpSchedule
from devices.simulator.session_script import (
    EsketamineScript,
    IntakeScript,
    SessionScriptError,
    parse_esketamine,
    parse_intake,
)
from devices.simulator.signals import PROFILES, VITALS, Effect, PatientModel, SessionTimeline

log = logging.getLogger("devices.simulator")

#: The built-in scenarios' directory among the shipped resources (devices.resources).
SCENARIO_DIR = "scenarios"

PRIORITIES = ("low", "medium", "high")
WIRE_ACTIONS = ("sensor_off", "unplug", "silence", "noise", "clock_jump", "flag")
ACTIONS = (*VITALS, *WIRE_ACTIONS)


class ScenarioError(ValueError):
    """A scenario file is missing or wrong; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    """One scripted happening on the session timeline."""

    at_s: float
    action: str
    duration_s: float = 0.0
    delta: float = 0.0
    ramp_s: float = 30.0
    offset_s: float = 0.0
    metric: Metric | None = None
    flag: ReadingFlag | None = None
    #: noise: seconds between damaged frames / garbage bursts while the event lasts.
    every_s: float = 5.0


@dataclass(frozen=True, slots=True)
class ExpectedAlarm:
    """An alarm QA expects: ``parameter`` at ``priority`` or above, with onset in the window."""

    parameter: str
    priority: str
    from_s: float
    to_s: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scripted session."""

    name: str
    description: str
    duration_s: float
    profile: str
    timeline: SessionTimeline
    nibp: NibpSchedule
    events: tuple[ScenarioEvent, ...] = ()
    expect: tuple[ExpectedAlarm, ...] = ()
    #: Physiological alarm parameters tolerated besides the expected ones (e.g. a DBP advisory
    #: that comes with an SBP surge).
    allow: tuple[str, ...] = ()
    patient_overrides: dict[str, float] = field(default_factory=dict)
    source: str = ""
    #: A real capture to replay instead of the patient model: a path under the shipped
    #: resources (``captures/...``), or an absolute path.
    replay: str = ""
    #: ``session = "scripted"``: the console's simulated chair opens a demo session whose
    #: infusion start and stop follow this script.  Without it (the default) the workflow is
    #: the nurse's: nothing is started or stopped on the record by the simulator.
    scripted_session: bool = False
    #: ``[esketamine]``: an intranasal esketamine session scripted on the record (issue 17;
    #: ``python main.py run`` takes its steps).
    esketamine: EsketamineScript | None = None
    #: ``[intake]``: the start-of-session answers a run records.
    intake: IntakeScript | None = None

    @property
    def replay_path(self) -> Path | None:
        """The capture file to replay, if this is a replay scenario."""
        if not self.replay:
            return None
        return _capture_path(self.replay)

    def make_patient(self, seed: int) -> PatientModel:
        """The scripted patient for ``seed``, with every physiological event applied."""
        patient = PatientModel(self.profile, seed=seed, timeline=self.timeline)
        for key, value in self.patient_overrides.items():
            setattr(patient, key, float(value))
        for ev in self.events:
            if ev.action in VITALS:
                patient.add_effect(
                    Effect(ev.action, ev.at_s, ev.at_s + ev.duration_s, ev.delta, ev.ramp_s)
                )
        return patient


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped in ``resources/scenarios``."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in resource(SCENARIO_DIR).iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    )


def _capture_path(replay: str) -> Path:
    """A replay capture: absolute as given, else a file among the shipped resources."""
    path = Path(replay)
    return path if path.is_absolute() else resource_path(*path.parts)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a scenario file by path.

    Raises:
        ScenarioError: unknown name, unreadable file, or a bad value (naming the key).
    """
    own_file = Path(name_or_path)  # a user's .toml, anywhere: read as given
    path: Path | Traversable = own_file
    if own_file.suffix != ".toml" or not own_file.exists():
        path = resource(SCENARIO_DIR, f"{name_or_path}.toml")
        if not path.is_file():
            known = ", ".join(builtin_scenarios())
            raise ScenarioError(
                f"no scenario {str(name_or_path)!r}: not a .toml file, and not one of: {known}"
            )
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: {err}") from None
    return parse_scenario(raw, source=str(path))


_OVERRIDABLE = {
    "base_sbp",
    "base_dbp",
    "base_hr",
    "base_spo2",
    "base_rr",
    "rise_sbp",
    "rise_dbp",
    "rise_hr",
}


#: The longest session a scenario may describe (minutes): longer is a typo, and a run or a
#: simulator would play it for days.
MAX_SESSION_MIN = 24 * 60


def _num(
    table: dict[str, Any],
    key: str,
    where: str,
    default: float | None = None,
    *,
    lo: float | None = None,
    hi: float | None = None,
    above: float | None = None,
) -> float:
    """A finite number, within ``lo <= x <= hi`` and ``x > above`` when given."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}.{key} must be a number, got {value!r}")
    number = float(value)
    if (
        not math.isfinite(number)
        or (lo is not None and number < lo)
        or (hi is not None and number > hi)
        or (above is not None and number <= above)
    ):
        low = f"> {above:g}" if above is not None else f">= {lo:g}" if lo is not None else ""
        bounds = " and ".join(b for b in (low, f"<= {hi:g}" if hi is not None else "") if b)
        raise ScenarioError(f"{where}.{key} must be {bounds or 'finite'}, got {value!r}")
    return number


def parse_scenario(raw: dict[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario table (as read from TOML)."""
    where = source
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: 'name' is required")
    patient = raw.get("patient", {})
    profile = patient.get("profile", "routine")
    if profile not in PROFILES:
        raise ScenarioError(f"{where}: patient.profile {profile!r} not in {sorted(PROFILES)}")
    overrides = {}
    for key, _value in patient.items():
        if key == "profile":
            continue
        if key not in _OVERRIDABLE:
            raise ScenarioError(f"{where}: patient.{key} is not a known patient setting")
        overrides[key] = _num(patient, key, f"{where}: patient")
    tl = raw.get("timeline", {})
    timeline = SessionTimeline(
        baseline_s=_num(tl, "baseline_min", f"{where}: timeline", 5, lo=0, hi=MAX_SESSION_MIN) * 60,
        infusion_s=_num(tl, "infusion_min", f"{where}: timeline", 40, lo=0, hi=MAX_SESSION_MIN)
        * 60,
        observation_s=_num(
            tl, "observation_min", f"{where}: timeline", 30, lo=0, hi=MAX_SESSION_MIN
        )
        * 60,
    )
    nb = raw.get("nibp", {})
    nibp = NibpSchedule(
        first_start_s=_num(
            nb, "first_start_s", f"{where}: nibp", 30, lo=0, hi=MAX_SESSION_MIN * 60
        ),
        interval_s=_num(nb, "interval_s", f"{where}: nibp", 300, lo=30, hi=3600),
    )
    if timeline.total_s > MAX_SESSION_MIN * 60:
        raise ScenarioError(f"{where}: the timeline is longer than {MAX_SESSION_MIN} min")
    duration_s = (
        _num(raw, "duration_min", where, timeline.total_s / 60, above=0, hi=MAX_SESSION_MIN) * 60
    )
    events = []
    for i, ev in enumerate(raw.get("events", [])):
        at = f"{where}: events[{i}]"
        action = ev.get("action")
        if action not in ACTIONS:
            raise ScenarioError(f"{at}.action {action!r} is not one of {', '.join(ACTIONS)}")
        metric = None
        if "metric" in ev:
            try:
                metric = Metric(ev["metric"])
            except ValueError:
                raise ScenarioError(f"{at}.metric {ev['metric']!r} is not a parameter") from None
        flag = None
        if "flag" in ev:
            try:
                flag = ReadingFlag(ev["flag"])
            except ValueError:
                raise ScenarioError(f"{at}.flag {ev['flag']!r} is not a device flag") from None
        if action == "flag" and (metric is None or flag is None):
            raise ScenarioError(f"{at}: action 'flag' needs 'metric' and 'flag'")
        events.append(
            ScenarioEvent(
                at_s=_num(ev, "at_min", at, lo=0, hi=MAX_SESSION_MIN) * 60,
                action=action,
                duration_s=_num(ev, "duration_s", at, 0, lo=0, hi=MAX_SESSION_MIN * 60),
                delta=_num(ev, "delta", at, 0),
                ramp_s=_num(ev, "ramp_s", at, 30, lo=0, hi=MAX_SESSION_MIN * 60),
                offset_s=_num(
                    ev, "offset_s", at, 0, lo=-MAX_SESSION_MIN * 60, hi=MAX_SESSION_MIN * 60
                ),
                metric=metric,
                flag=flag,
                every_s=_num(ev, "every_s", at, 5, above=0, hi=MAX_SESSION_MIN * 60),
            )
        )
    expect = []
    for i, ex in enumerate(raw.get("expect", [])):
        at = f"{where}: expect[{i}]"
        prio = ex.get("priority", "medium")
        if prio not in PRIORITIES:
            raise ScenarioError(f"{at}.priority {prio!r} is not one of {', '.join(PRIORITIES)}")
        param = ex.get("parameter")
        if not isinstance(param, str) or not param:
            raise ScenarioError(f"{at}.parameter is required")
        expect.append(
            ExpectedAlarm(
                param,
                prio,
                _num(ex, "from_min", at, lo=0, hi=MAX_SESSION_MIN) * 60,
                _num(ex, "to_min", at, lo=0, hi=MAX_SESSION_MIN) * 60,
            )
        )
    replay = raw.get("replay", "")
    if not isinstance(replay, str):
        raise ScenarioError(f"{where}: 'replay' must be a capture path under resources/")
    if replay:
        capture: Path | Traversable = (
            Path(replay) if Path(replay).is_absolute() else resource(*Path(replay).parts)
        )
        if not capture.is_file():
            raise ScenarioError(f"{where}: replay capture {str(capture)!r} does not exist")
    allow = raw.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise ScenarioError(f"{where}: 'allow' must be a list of parameter names")
    session = raw.get("session", "nurse")
    if session not in ("nurse", "scripted"):
        raise ScenarioError(f"{where}: 'session' must be 'nurse' or 'scripted', got {session!r}")
    try:
        esketamine = parse_esketamine(raw["esketamine"], where) if "esketamine" in raw else None
        intake = parse_intake(raw["intake"], where) if "intake" in raw else None
    except SessionScriptError as err:
        raise ScenarioError(str(err)) from None
    return Scenario(
        name=name,
        description=str(raw.get("description", "")),
        duration_s=duration_s,
        profile=profile,
        timeline=timeline,
        nibp=nibp,
        events=tuple(sorted(events, key=lambda e: e.at_s)),
        expect=tuple(expect),
        allow=tuple(allow),
        patient_overrides=overrides,
        source=source,
        replay=replay,
        scripted_session=session == "scripted",
        esketamine=esketamine,
        intake=intake,
    )


class WireControl(Protocol):
    """What the director may do to the cable (implemented by :class:`PtyEndpoint`)."""

    def unplug(self) -> None:  # pragma: no cover - protocol documentation
        """Pull the cable."""

    def replug(self) -> None:  # pragma: no cover
        """Plug it back."""

    def inject(self, data: bytes) -> None:  # pragma: no cover
        """Put raw bytes on the wire."""


#: Line noise between frames: bytes that are neither flags nor escapes of any framing.
GARBAGE = bytes([0x00, 0xFF, 0x55, 0xAA, 0x13, 0x37, 0x42]) * 3


class ScenarioDirector:
    """Applies wire and device events at their session times.

    Physiological events are already in the patient model (:meth:`Scenario.make_patient`);
    the director handles what changes the monitor's behaviour or the line.
    """

    def __init__(
        self,
        scenario: Scenario,
        monitor: FaultableMonitor,
        wire: WireControl,
        session_seconds: Callable[[], float],
    ) -> None:
        self.scenario = scenario
        self.monitor = monitor
        self.wire = wire
        self.session_seconds = session_seconds
        self._pending = [e for e in scenario.events if e.action in WIRE_ACTIONS]
        self._active: list[ScenarioEvent] = []
        self._next_noise_s: dict[int, float] = {}
        self.log: list[tuple[float, str]] = []

    def step(self) -> None:
        """Start and end whatever is due now; called from the simulator's loop."""
        t = self.session_seconds()
        while self._pending and self._pending[0].at_s <= t:
            ev = self._pending.pop(0)
            self._start(ev, t)
            if ev.action == "clock_jump":
                continue  # a step, not a span
            self._active.append(ev)
        for ev in list(self._active):
            if t >= ev.at_s + ev.duration_s:
                self._active.remove(ev)
                self._end(ev, t)
            elif ev.action == "noise":
                self._noise(ev, t)

    def seconds_until_next(self) -> float | None:
        """Session seconds until :meth:`step` has something to do (None: nothing left).

        A paced clock is held there, so each event starts and ends at the same simulated time
        however late the simulator's thread runs.
        """
        t = self.session_seconds()
        times = [e.at_s for e in self._pending[:1]]
        times += [e.at_s + e.duration_s for e in self._active]
        times += [self._next_noise_s.get(id(e), t) for e in self._active if e.action == "noise"]
        return max(0.0, min(times) - t) if times else None

    def _start(self, ev: ScenarioEvent, t: float) -> None:
        faults = self.monitor.faults
        self.log.append((t, f"start {ev.action}"))
        log.info("scenario %s: %s at %.0f s", self.scenario.name, ev.action, t)
        if ev.action == "sensor_off":
            faults.sensor_off = True
        elif ev.action == "unplug":
            self.wire.unplug()
        elif ev.action == "silence":
            faults.silent = True
        elif ev.action == "clock_jump":
            faults.clock_offset_s += ev.offset_s
        elif ev.action == "flag":
            assert ev.metric is not None
            assert ev.flag is not None
            faults.flags[ev.metric] = ev.flag
        elif ev.action == "noise":
            self._next_noise_s[id(ev)] = t

    def _end(self, ev: ScenarioEvent, t: float) -> None:
        faults = self.monitor.faults
        self.log.append((t, f"end {ev.action}"))
        if ev.action == "sensor_off":
            faults.sensor_off = False
        elif ev.action == "unplug":
            self.wire.replug()
        elif ev.action == "silence":
            faults.silent = False
        elif ev.action == "flag":
            assert ev.metric is not None
            faults.flags.pop(ev.metric, None)

    def _noise(self, ev: ScenarioEvent, t: float) -> None:
        due = self._next_noise_s.get(id(ev), t)
        if t < due:
            return
        self._next_noise_s[id(ev)] = due + ev.every_s
        # Rotate through the three kinds of damage a real line shows.
        kind = int(due // max(ev.every_s, 1e-9)) % 3
        if kind == 0:
            self.wire.inject(GARBAGE)
        elif kind == 1:
            self.monitor.faults.corrupt_next.append(Corruption.CHECKSUM)
        else:
            self.monitor.faults.corrupt_next.append(Corruption.TRUNCATE)
