"""The simulator's scripted demo infusion: the chair's script, apart from its record keeping.

A simulated chair whose scenario says ``session = "scripted"`` runs a demo session whose
infusion starts and stops on the scenario's timeline (author :data:`SCRIPT_AUTHOR`), until a
nurse takes over; after that the simulated patient's infusion follows the record instead
(:func:`retime_simulated_patient`).  Split out of the chair service (issue 13): the script is
one job, the device link, the record and the nurse's workflow are others.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from console.domain.scripted_gate import scripted_gate_decision
from console.domain.session import (
    InfusionState,
    Phase,
    SessionLifecycle,
    SessionRuleError,
)
from console.services.chair_record import DEMO_PATIENT
from console.services.session_values import SessionPlan
from devices.simulator.launch import SimulatedMonitor
from devices.simulator.scenario import Scenario
from devices.simulator.signals import PatientModel, SessionTimeline

if TYPE_CHECKING:
    from console.services.chair_service import ChairService

log = logging.getLogger("ui.chair")

#: Author of the steps the simulator's script takes in a demo session (never a person).
SCRIPT_AUTHOR = "simulator script"


class DemoScript(QObject):
    """Timers at the scenario's infusion start and stop, taking those steps on the record
    while :attr:`active` (the demo session, until a nurse acts on the infusion).

    Args:
        chair: the chair whose record the script writes.
    """

    def __init__(self, chair: ChairService) -> None:
        super().__init__(chair)
        self._chair = chair
        #: True while the script drives the demo session's infusion.
        self.active = False
        self._timers: list[QTimer] = []

    def follow(self, start_s: float, end_s: float) -> None:
        """Run the demo session's infusion on the scenario's script until a nurse takes over.

        The timers fire at the script's start and stop; each takes the lifecycle step (author
        :data:`SCRIPT_AUTHOR`) and tells the alarm engine, so a simulated chair nobody touches
        behaves exactly as before the session workflow existed.
        """
        chair = self._chair
        for at_s, running in ((start_s, True), (end_s, False)):
            timer = QTimer(self)
            timer.setObjectName(f"sim-infusion-{'start' if running else 'stop'}")
            timer.setSingleShot(True)
            delay_s = at_s - chair.session_seconds()
            timer.setInterval(max(0, int(delay_s / chair.clock.speed * 1000)))
            timer.timeout.connect(lambda running=running: self._step(running))
            timer.start()
            self._timers.append(timer)

    def take_over(self) -> None:
        """A person acts on the infusion: the script stops driving the record."""
        if self.active:
            self.active = False
            log.info("chair %s: the nurse drives the infusion now", self._chair.settings.chair_name)
        self.cancel()

    def cancel(self) -> None:
        """Stop the script's pending steps (the chair stops, or a session is resumed)."""
        for timer in self._timers:
            timer.stop()
        self._timers.clear()

    def _step(self, running: bool) -> None:
        """The scenario's scripted infusion start or stop (demo session only)."""
        if not self.active:
            return
        chair, flow = self._chair, self._chair.workflow
        life, now = flow.lifecycle, chair.clock.now()
        try:
            if running and life.phase is Phase.BASELINE and life.plan is not None:
                decision = scripted_gate_decision(
                    life, now, author=SCRIPT_AUTHOR, what="scripted simulated session"
                )
                if decision is not None:
                    flow.record_step(decision)
                flow.record_step(life.start_infusion(now, author=SCRIPT_AUTHOR, reason="scripted"))
                flow.apply_baseline(SCRIPT_AUTHOR)
            elif not running and life.infusion in (InfusionState.RUNNING, InfusionState.PAUSED):
                progress = flow.progress(now)
                flow.record_step(
                    life.stop_infusion(
                        now,
                        author=SCRIPT_AUTHOR,
                        reason="completed",
                        dose_given_mg=None if progress is None else progress.dose_given_mg,
                    )
                )
        except SessionRuleError as err:
            log.info("the script's infusion step is not on the record: %s", err)
        chair.alarms.set_infusion_running(running)
        chair.sig_session_changed.emit()


def demo_plan(scenario: Scenario, started_at: datetime, profile: str) -> SessionPlan:
    """The demo patient's plan: 0.5 mg/kg for 70 kg over the scenario's infusion time."""
    mrn, name, weight = DEMO_PATIENT
    return SessionPlan(
        mrn=mrn,
        display_name=name,
        weight_kg=weight,
        weight_measured_on=started_at.date(),
        dose_mg_per_kg=0.5,
        volume_ml=100.0,
        infusion_min=max(1.0, scenario.timeline.infusion_s / 60.0),
        pump="simulated",
        profile=profile,
    )


def simulated_patient(monitor: Any) -> PatientModel | None:
    """The patient model inside a virtual monitor (Datex, IntelliVue, Masimo or HL7 gateway)."""
    for holder in (monitor, getattr(monitor, "source", None)):
        patient = getattr(holder, "patient", None)
        if isinstance(patient, PatientModel):
            return patient
    return None


def retime_simulated_patient(
    simulator: SimulatedMonitor, life: SessionLifecycle, planned_min: float | None
) -> None:
    """Make the simulated patient's infusion follow the record (the nurse's buttons)."""
    patient = simulated_patient(simulator.monitor)
    if patient is None:
        return
    t0, old = simulator.session_start, patient.timeline
    planned_s = planned_min * 60.0 if planned_min is not None else old.infusion_s
    started, stopped = life.infusion_started_at, life.infusion_stopped_at
    if started is None:
        start_s, length_s = 1e9, planned_s  # not yet: no ketamine response
    else:
        start_s = (started - t0).total_seconds()
        length_s = (stopped - started).total_seconds() if stopped else planned_s
    # One attribute swap: the pty thread reads it whole on its next sample.
    patient.timeline = SessionTimeline(
        baseline_s=start_s, infusion_s=max(length_s, 1.0), observation_s=old.observation_s
    )
