"""Compose a virtual monitor and the pty it is served on."""

from __future__ import annotations

from datetime import datetime

from devices.clock import Clock
from devices.simulator.monitor import DatexMonitorSim, NibpSchedule
from devices.simulator.pty_endpoint import PtyEndpoint
from devices.simulator.signals import PatientModel, SessionTimeline


def start_datex_on_pty(
    clock: Clock,
    *,
    profile: str = "routine",
    seed: int = 0,
    nibp_interval_s: float = 300.0,
    timeline: SessionTimeline | None = None,
    session_start: datetime | None = None,
    name: str = "sim-pty",
) -> PtyEndpoint:
    """Start a simulated Datex monitor on a fresh pty; open ``endpoint.path`` to read it."""
    patient = PatientModel(profile, seed=seed, timeline=timeline)
    monitor = DatexMonitorSim(
        patient,
        session_start or clock.now(),
        nibp=NibpSchedule(interval_s=nibp_interval_s),
    )
    endpoint = PtyEndpoint(monitor, clock=clock, name=name)
    endpoint.start()
    return endpoint
