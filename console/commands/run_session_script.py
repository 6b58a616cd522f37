"""The session a scenario scripts on the record, taken by ``python main.py run`` (issue 17).

An ``esketamine-routine`` run must leave the record a REMS form is filled from: the session
type, the start-of-session answers, the dose and lot, each device with its time, the three BP
checkpoints, the end checks and the ready-to-leave time.  :class:`ScriptedSession` takes those
steps at their session times through the console's own rules
(:class:`~console.domain.session.SessionLifecycle`, as a nurse's buttons do) and stores them on
the writer's path; :meth:`ScriptedSession.judge` then reads the stored record back as the
reports read it (:class:`~console.storage.review.StoredSession`) and says what is missing or
wrong, so the run's verdict is about the record, not about what the run meant to do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from console.domain.discharge_gate import assess_discharge
from console.domain.esketamine import (
    CONCOMITANT_MEDICATIONS,
    END_CHECK_EFFECTS,
    BpReading,
    Checkpoint,
    EsketamineRuleError,
    SessionIntake,
    SessionType,
    bp_checkpoints,
    esketamine_discharge_reasons,
    esketamine_plan,
)
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.domain.scripted_gate import scripted_gate_decision
from console.domain.session import (
    BaselineVitals,
    SessionEvent,
    SessionLifecycle,
    SessionRuleError,
)
from console.storage.repository import SessionRepository
from console.storage.review import ReviewRepository
from console.storage.writer import SessionEventItem, StorageWriter
from devices.model import Metric, Reading
from devices.simulator.scenario import Scenario

#: A scripted step: called with its session time once the run reached it.
Step = tuple[float, Callable[[datetime], None]]
#: Author of the steps a run takes on the record (never a person).
RUN_AUTHOR = "qa run script"
#: The patient a scripted run registers (a run's record has a patient for the REMS form).
RUN_PATIENT = ("SIM-QA-ESK", "Simulated QA patient")
#: A stored device time may differ from the scripted one by this much (the run's hold).
TIME_TOLERANCE_S = 1.0


class CuffWatch:
    """The cuff readings a run received (for the pre-dose baseline and the checkpoints)."""

    def __init__(self) -> None:
        self.sbp: list[tuple[datetime, float]] = []
        self.dbp: list[tuple[datetime, float]] = []
        self.latest: dict[Metric, tuple[datetime, float]] = {}
        self._lock = threading.Lock()

    def outputs(self) -> ChairOutputs:
        """Pipeline outputs feeding this watch."""
        return ChairOutputs(self._on_readings, lambda evs: None, lambda ev: None, lambda s: None)

    def _on_readings(self, readings: list[Reading]) -> None:
        with self._lock:
            for r in readings:
                if not r.usable or r.value is None:
                    continue
                self.latest[r.metric] = (r.received_at, r.value)
                if r.metric is Metric.NIBP_SYS:
                    self.sbp.append((r.received_at, r.value))
                elif r.metric is Metric.NIBP_DIA:
                    self.dbp.append((r.received_at, r.value))

    def baseline(self, at: datetime) -> BaselineVitals | None:
        """The newest cuff reading with HR and SpO2 as a pre-dose set, dated ``at``."""
        with self._lock:
            sys_, dia = self.latest.get(Metric.NIBP_SYS), self.latest.get(Metric.NIBP_DIA)
            if sys_ is None or dia is None:
                return None
            hr, spo2 = self.latest.get(Metric.HR), self.latest.get(Metric.SPO2)
            return BaselineVitals(
                at,
                sys_[1],
                dia[1],
                None if hr is None else hr[1],
                None if spo2 is None else spo2[1],
            )

    def series(self) -> tuple[list[tuple[datetime, float]], list[tuple[datetime, float]]]:
        """Copies of the SBP and DBP readings so far."""
        with self._lock:
            return list(self.sbp), list(self.dbp)


class ScriptedSession:
    """A scenario's ``[esketamine]`` and ``[intake]`` steps on one run's record.

    Args:
        scenario: the scenario (with ``esketamine`` and/or ``intake``).
        repo: the run's repository (the patient and the intake are stored at once).
    """

    def __init__(self, scenario: Scenario, repo: SessionRepository) -> None:
        self.scenario = scenario
        self.repo = repo
        self.cuff = CuffWatch()
        self.life = SessionLifecycle()
        self.failures: list[str] = []
        self._writer: StorageWriter | None = None
        self._session_id: int | None = None
        self._start: datetime | None = None
        self._pipeline: ChairPipeline | None = None

    @staticmethod
    def wanted(scenario: Scenario | None) -> bool:
        """True when the scenario scripts a session on the record."""
        return scenario is not None and (
            scenario.esketamine is not None or scenario.intake is not None
        )

    def intake(self) -> SessionIntake | None:
        """The scripted start-of-session answers (None without ``[intake]``)."""
        script = self.scenario.intake
        if script is None:
            return None
        kind = SessionType.ESKETAMINE if self.scenario.esketamine else SessionType.IV_KETAMINE
        return SessionIntake(
            session_type=kind,
            medications={k: k in script.medications_yes for k in CONCOMITANT_MEDICATIONS},
            setting_name=script.setting_name,
            setting_type=script.setting_type,
            date_of_birth=script.date_of_birth,
            sex=script.sex,
        )

    def register_patient(self, today: datetime) -> int:
        """The run's patient, registered (or found) with the scripted date of birth and sex.

        Raises:
            EsketamineRuleError: the scripted answers, dose or lot break a rule (the run
                exits 2 before anything is recorded).
        """
        intake = self.intake()
        if intake is not None:
            intake.validated(today.date())
        if self.scenario.esketamine is not None:
            esketamine_plan(self.scenario.esketamine.dose_mg, self.scenario.esketamine.lot)
        mrn, name = RUN_PATIENT
        found = self.repo.patient(mrn)
        pid = found.id if found is not None else self.repo.add_patient(mrn, name)
        if intake is not None:
            self.repo.set_patient_identity(pid, date_of_birth=intake.date_of_birth, sex=intake.sex)
        return pid

    def begin(
        self,
        session_id: int,
        start: datetime,
        writer: StorageWriter,
        pipeline: ChairPipeline,
    ) -> None:
        """Store the intake and plan the dose at the session start.

        Raises:
            SessionRuleError: the scripted dose or lot breaks a rule (the run exits 2).
        """
        self._writer, self._session_id, self._start = writer, session_id, start
        self._pipeline = pipeline
        intake = self.intake()
        if intake is not None:
            self.repo.store_intake(session_id, intake, at=start, by=RUN_AUTHOR)
        script = self.scenario.esketamine
        if script is not None:
            self.life.plan_esketamine(
                start, dose_mg=script.dose_mg, lot=script.lot, author=RUN_AUTHOR
            )
            self._store(self.life.events[-1])

    def steps(self) -> list[Step]:
        """(session seconds, step) in time order: each device, then the discharge."""
        script = self.scenario.esketamine
        if script is None:
            return []
        out: list[Step] = [(at_s, self._device) for at_s in script.devices_at_s]
        out.append((script.discharge_s, self._discharge))
        return out

    # -- the steps ---------------------------------------------------------------------------
    def _store(self, ev: SessionEvent) -> None:
        assert self._writer is not None
        assert self._session_id is not None
        self._writer.submit(SessionEventItem(self._session_id, ev))

    def _device(self, at: datetime) -> None:
        life = self.life
        try:
            if not life.devices_given:
                vitals = self.cuff.baseline(at)
                if vitals is not None:
                    life.record_baseline(vitals, author="monitor")
                    self._store(life.events[-1])
                decision = scripted_gate_decision(
                    life, at, author=RUN_AUTHOR, what="scripted QA session"
                )
                if decision is not None:
                    self._store(decision)
            self._store(life.give_device(at, author=RUN_AUTHOR))
        except SessionRuleError as err:
            self.failures.append(f"device at {self._s(at):.0f} s not recorded: {err}")

    def _discharge(self, at: datetime) -> None:
        script = self.scenario.esketamine
        assert script is not None
        assert self._start is not None
        life = self.life
        ready = self._start + timedelta(seconds=script.ready_to_leave_s)
        occurred = {k: k in script.occurred for k in END_CHECK_EFFECTS}
        try:
            self._store(life.begin_discharge(at, author=RUN_AUTHOR))
            self._store(
                life.record_end_checks(
                    at,
                    occurred=occurred,
                    resolved=dict.fromkeys(END_CHECK_EFFECTS, True),
                    ready_to_leave_at=ready,
                    author=RUN_AUTHOR,
                )
            )
            for item in life.policy.discharge_items:
                self._store(
                    life.check_discharge_item(at, item=item, passed=True, author=RUN_AUTHOR)
                )
            gate = self._gate(at)
            if gate:
                self.failures.append(f"discharge refused at {self._s(at):.0f} s: {gate}")
                return
            self._store(life.close(at, author=RUN_AUTHOR))
        except (SessionRuleError, EsketamineRuleError) as err:
            self.failures.append(f"discharge at {self._s(at):.0f} s refused: {err}")

    def _gate(self, at: datetime) -> str:
        """The discharge gate as the chair applies it ("" when it passes)."""
        assert self._pipeline is not None
        sbp, dbp = self.cuff.series()
        points = bp_checkpoints(
            self.life.devices_given[0] if self.life.devices_given else None, at, sbp, dbp
        )
        snap = self._pipeline.snapshot()
        base = None if snap.baseline is None else (snap.baseline.sbp, snap.baseline.dbp)
        gate = assess_discharge(
            snap.alarms,
            policy=snap.profile.policy,
            last_nibp=(sbp[-1][1], dbp[-1][1]) if sbp and dbp else None,
            baseline=base,
            session_reasons=esketamine_discharge_reasons(
                plan=self.life.esketamine,
                devices_given=self.life.devices_given,
                checkpoints=points,
                checks=self.life.end_checks,
                now=at,
            ),
        )
        return "" if gate.passed else gate.describe()

    def _s(self, at: datetime) -> float:
        assert self._start is not None
        return (at - self._start).total_seconds()

    # -- the verdict -------------------------------------------------------------------------
    def judge(self, engine: Engine, session_id: int) -> tuple[dict[str, Any], list[str]]:
        """Read the stored record back and judge it against the script.

        Returns:
            The summary's ``session`` section and the reasons the run fails (none: passed).
        """
        reasons = list(self.failures)
        try:
            stored = ReviewRepository(engine).load(session_id)
        except Exception as err:  # the database is gone: the record cannot be judged
            return {}, [*reasons, f"the session record could not be read back: {err}"]
        start = stored.record.started_at
        out: dict[str, Any] = {"session_type": stored.session_type.value}
        want = self.intake()
        got = stored.intake
        if want is not None:
            if got is None:
                reasons.append("the start-of-session answers were not stored")
            else:
                out["intake"] = _intake_json(got)
                if (got.session_type, dict(got.medications)) != (
                    want.session_type,
                    dict(want.medications),
                ) or (got.setting_name, got.setting_type) != (want.setting_name, want.setting_type):
                    reasons.append("the stored start-of-session answers differ from the script")
                if (got.date_of_birth, got.sex) != (want.date_of_birth, want.sex):
                    reasons.append("the patient's date of birth or sex was not stored")
        script = self.scenario.esketamine
        if script is None:
            return out, reasons
        rec = stored.esketamine
        if rec is None:
            return out, [*reasons, "no esketamine plan on the stored record"]

        def s(at: datetime | None) -> float | None:
            return None if at is None else round((at - start).total_seconds(), 1)

        def bp(r: BpReading | None) -> dict[str, Any] | None:
            return None if r is None else {"at_s": s(r.at), "sbp": r.sbp, "dbp": r.dbp}

        checks = rec.end_checks
        out["esketamine"] = {
            "dose_mg": rec.dose_mg,
            "devices_planned": rec.devices_planned,
            "lot": rec.lot,
            "devices_given_s": [s(t) for t in rec.devices_given_at],
            "device_warnings": list(rec.device_warnings),
            "bp_before_dosing": bp(rec.bp_before_dosing),
            "bp_at_40_min": bp(rec.bp_at_40_min),
            "bp_before_end": bp(rec.bp_before_end),
            "end_checks": None if checks is None else checks.data(),
            "ready_to_leave_s": None if checks is None else s(checks.ready_to_leave_at),
            "end_of_monitoring_s": s(rec.end_of_monitoring_at),
            "monitoring_min": rec.monitoring_min,
            "vitals_acceptable_before_dosing": rec.vitals_acceptable_before_dosing,
            "vitals_acceptable_before_completion": rec.vitals_acceptable_before_completion,
            "monitored_by": list(rec.monitored_by),
            "phase": stored.record.phase,
        }
        if (rec.dose_mg, rec.lot) != (script.dose_mg, script.lot):
            reasons.append(f"stored dose/lot {rec.dose_mg:g} mg/{rec.lot} differ from the script")
        given = [s(t) or 0.0 for t in rec.devices_given_at]
        if len(given) != rec.devices_planned or len(given) != len(script.devices_at_s):
            reasons.append(f"{len(given)} devices stored, {rec.devices_planned} planned")
        elif any(
            abs(g - w) > TIME_TOLERANCE_S for g, w in zip(given, script.devices_at_s, strict=True)
        ):
            reasons.append(f"stored device times {given} differ from the script")
        for cp, reading in zip(
            Checkpoint, (rec.bp_before_dosing, rec.bp_at_40_min, rec.bp_before_end), strict=True
        ):
            if reading is None:
                reasons.append(f"no stored reading answers the {cp.label}")
        if checks is None:
            reasons.append("the end checks were not stored")
        elif abs((s(checks.ready_to_leave_at) or 0.0) - script.ready_to_leave_s) > TIME_TOLERANCE_S:
            reasons.append("the stored ready-to-leave time differs from the script")
        if rec.monitoring_min is None or rec.monitoring_min < 120.0:
            reasons.append(
                f"monitoring time {rec.monitoring_min} min: the session was not closed after 2 h"
            )
        return out, reasons


def _intake_json(intake: SessionIntake) -> dict[str, Any]:
    return {
        "session_type": intake.session_type.value,
        "medications": dict(intake.medications),
        "setting_name": intake.setting_name,
        "setting_type": intake.setting_type,
        "date_of_birth": None if intake.date_of_birth is None else intake.date_of_birth.isoformat(),
        "sex": intake.sex,
    }


__all__ = ["RUN_AUTHOR", "CuffWatch", "ScriptedSession"]
