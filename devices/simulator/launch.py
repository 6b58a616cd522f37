"""Compose a virtual monitor, its scenario and the pty it is served on.

Which monitor plays which protocol is the protocol's registration
(:data:`devices.registry.PROTOCOLS`); nothing here names a protocol but the replay of a GE
capture and the factories of the two monitors that need arguments of their own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.clock import Clock
from devices.registry import PROTOCOLS, load_target, simulated_protocols
from devices.simulator.monitor import NibpSchedule
from devices.simulator.pty_endpoint import PtyEndpoint, TcpEndpoint, WireEndpoint, pty_supported
from devices.simulator.scenario import Scenario, ScenarioDirector, load_scenario
from devices.simulator.signals import PatientModel, SessionTimeline


class _SimMonitors(Mapping[str, tuple[str, str]]):
    """Protocol name -> ("module:factory" of its virtual monitor, driver kind that reads it).

    A live view of the registry (kept for the callers that index it), so a protocol registered
    later is here too.  A factory is called as ``factory(patient, session_start, nibp=...)``.
    """

    def __getitem__(self, protocol: str) -> tuple[str, str]:
        spec = PROTOCOLS[protocol]
        if spec.monitor is None:
            raise KeyError(protocol)
        return spec.monitor, spec.kind

    def __iter__(self) -> Iterator[str]:
        return iter(simulated_protocols())

    def __len__(self) -> int:
        return len(simulated_protocols())


SIM_MONITORS: Mapping[str, tuple[str, str]] = _SimMonitors()


def masimo_monitor(patient: PatientModel, session_start: datetime, *, nibp: NibpSchedule) -> Any:
    """A Masimo pulse oximeter (no cuff: ``nibp`` is not used)."""
    from devices.simulator.masimo_monitor import MasimoMonitorSim

    del nibp
    return MasimoMonitorSim(patient, session_start)


def hl7_gateway(patient: PatientModel, session_start: datetime, *, nibp: NibpSchedule) -> Any:
    """A vital-signs gateway pushing ORU^R01 on a serial line every 10 s."""
    from devices.simulator.hl7_gateway_sim import Hl7GatewaySim, Hl7MessageSource

    source = Hl7MessageSource(
        patient,
        session_start,
        nibp_interval_s=nibp.interval_s,
        nibp_first_start_s=nibp.first_start_s,
    )
    return Hl7GatewaySim(source, interval_s=10.0)


def protocols() -> list[str]:
    """Protocols the simulator can speak (sorted, as the tools list them)."""
    return sorted(SIM_MONITORS)


def driver_kind(protocol: str) -> str:
    """The registry kind of the driver that reads ``protocol``."""
    return SIM_MONITORS[protocol][1]


def make_monitor(
    protocol: str, patient: PatientModel, session_start: datetime, nibp: NibpSchedule
) -> Any:
    """Instantiate the virtual monitor for ``protocol``."""
    try:
        target, _kind = SIM_MONITORS[protocol]
    except KeyError:
        raise ValueError(
            f"the simulator does not speak {protocol!r}; one of: {', '.join(protocols())}"
        ) from None
    return load_target(target)(patient, session_start, nibp=nibp)


def make_scenario_monitor(
    protocol: str, scenario: Scenario, seed: int, session_start: datetime
) -> Any:
    """The virtual monitor that plays ``scenario`` in ``protocol`` (a replay or the model)."""
    capture = scenario.replay_path
    if capture is not None:
        if protocol != "datex":
            raise ValueError(
                f"scenario {scenario.name!r} replays a GE Datex capture; use protocol 'datex'"
            )
        from devices.simulator.replay import DatexReplayMonitor

        return DatexReplayMonitor(capture, session_start)
    return make_monitor(protocol, scenario.make_patient(seed), session_start, scenario.nibp)


@dataclass
class SimulatedMonitor:
    """A running virtual monitor: its wire, the monitor and the scenario director."""

    endpoint: WireEndpoint
    monitor: Any
    director: ScenarioDirector
    scenario: Scenario
    protocol: str
    session_start: datetime

    @property
    def path(self) -> str:
        """Device path to open with pyserial."""
        return self.endpoint.path

    def stop(self) -> None:
        """Stop the simulator thread and close its wire."""
        self.endpoint.stop()


def open_wire(monitor: Any, clock: Clock, name: str) -> WireEndpoint:
    """The simulated monitor's wire: a pty where the system has them, as a USB adapter would
    be; on Windows, which has none, a TCP port on the loopback interface (a free one), which
    the chair opens as ``socket://127.0.0.1:PORT``: same bytes, same driver, no cable."""
    if pty_supported():
        return PtyEndpoint(monitor, clock=clock, name=name)
    return TcpEndpoint(monitor, 0, clock=clock, name=name)


def start_simulator(
    clock: Clock,
    *,
    protocol: str = "datex",
    scenario: Scenario | str = "routine",
    seed: int = 1,
    session_start: datetime | None = None,
    name: str = "sim-pty",
) -> SimulatedMonitor:
    """Start a scripted virtual monitor on a fresh pty (Windows: a loopback TCP port)."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    start = session_start or clock.now()
    monitor = make_scenario_monitor(protocol, scenario, seed, start)
    endpoint = open_wire(monitor, clock, name)
    director = ScenarioDirector(
        scenario, monitor, endpoint, lambda: (clock.now() - start).total_seconds()
    )
    endpoint.tick_hooks.append(director.step)
    endpoint.wake_hooks.append(director.seconds_until_next)
    endpoint.start()
    return SimulatedMonitor(endpoint, monitor, director, scenario, protocol, start)


def start_on_pty(
    clock: Clock,
    protocol: str = "datex",
    *,
    profile: str = "routine",
    seed: int = 0,
    nibp_interval_s: float = 300.0,
    timeline: SessionTimeline | None = None,
    session_start: datetime | None = None,
    name: str = "sim-pty",
) -> PtyEndpoint:
    """Start an unscripted virtual monitor of ``protocol`` on a fresh pty (tests, benchmarks);
    open ``endpoint.path`` with the protocol's driver's baud rate and parity."""
    patient = PatientModel(profile, seed=seed, timeline=timeline)
    monitor = make_monitor(
        protocol, patient, session_start or clock.now(), NibpSchedule(interval_s=nibp_interval_s)
    )
    endpoint = PtyEndpoint(monitor, clock=clock, name=name)
    endpoint.start()
    return endpoint


def start_datex_on_pty(clock: Clock, **options: Any) -> PtyEndpoint:
    """Start an unscripted simulated Datex monitor on a fresh pty (see :func:`start_on_pty`)."""
    return start_on_pty(clock, "datex", **options)
