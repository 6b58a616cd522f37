"""The infusion session lifecycle as a pure state machine (clinical.md A-G).

Phases follow the clinic's day: pre-dose **baseline** (vitals and the pre-dose gate, b1),
**infusion** (weight-based dose, start, pause, rate change, stop, each with time and reason),
**observation** (a clinic-set minimum time), **discharge** (the checklist) and **closed**.

Every accepted action returns a :class:`SessionEvent` and appends it to :attr:`events`; storage
persists those events, and :meth:`SessionLifecycle.from_events` rebuilds the state from them, so
the stored timeline *is* the lifecycle (a resumed session after a crash continues where it was).
An action the rules do not allow raises :class:`IllegalTransitionError` and changes nothing: the
caller shows the message; nothing half-happens.

No Qt, no SQL and no clock: every action carries its own time, so tests and replays are exact.
The thresholds are presets for the clinic's medical director to confirm (clinical.md scope note),
hence :class:`SessionPolicy`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from console.domain.esketamine import (
    DEVICE_MG,
    OBSERVATION_MIN,
    EndChecks,
    EsketaminePlan,
    EsketamineRuleError,
    SessionType,
    check_device,
    end_checks,
    esketamine_plan,
)


class SessionRuleError(ValueError):
    """An action breaks a lifecycle rule; the message says which and what to do."""


class IllegalTransitionError(SessionRuleError):
    """The action is not allowed in the session's current phase or state."""


class Phase(enum.StrEnum):
    """Where a session is in its day."""

    BASELINE = "baseline"
    INFUSION = "infusion"
    OBSERVATION = "observation"
    DISCHARGE = "discharge"
    CLOSED = "closed"


class InfusionState(enum.StrEnum):
    """The pump as the record knows it."""

    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class GateVerdict(enum.StrEnum):
    """Outcome of the pre-dose gate (clinical.md b1)."""

    CLEAR = "clear"
    REVIEW = "review"
    """Physician review required before the start; the review is recorded."""
    BLOCKED = "blocked"
    """Do not start unless a physician overrides with a reason."""


class EventKind(enum.StrEnum):
    """Kinds of timeline events; the string values are stored and must never be renamed."""

    BASELINE_VITALS = "baseline_vitals"
    PHYSICIAN_REVIEW = "physician_review"
    PHYSICIAN_OVERRIDE = "physician_override"
    INFUSION_PLANNED = "infusion_planned"
    INFUSION_START = "infusion_start"
    INFUSION_PAUSE = "infusion_pause"
    INFUSION_RESUME = "infusion_resume"
    RATE_CHANGE = "rate_change"
    INFUSION_STOP = "infusion_stop"
    DISCHARGE_START = "discharge_start"
    DISCHARGE_CHECK = "discharge_check"
    CLOSED = "closed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    """The console was closed (or told to stop) with the session open; it may be resumed."""
    DISCHARGE_OVERRIDE = "discharge_override"
    """A physician closed the session although the discharge gate refused (issue 11 item 5)."""
    ESKETAMINE_PLANNED = "esketamine_planned"
    """An intranasal esketamine session's dose (56/84 mg) and lot (issue 17)."""
    DEVICE_GIVEN = "device_given"
    """One 28 mg esketamine nasal device given, with its time (issue 17)."""
    END_CHECKS = "end_checks"
    """Esketamine end checks: sedation, dissociation, respiratory depression; ready to leave."""
    # annotations: allowed in any open phase, they do not change the state
    NAUSEA = "nausea"
    DISSOCIATION = "dissociation"
    SEDATION = "sedation"
    INTERVENTION = "intervention"
    SYMPTOM = "symptom"
    NOTE = "note"
    RESUMED = "resumed"
    OUTCOME_SCORE = "outcome_score"
    """A per-session outcome score (PHQ-9, MADRS) entered before the session (G 34)."""


#: Kinds that annotate the timeline without changing phase or pump state.
ANNOTATION_KINDS: frozenset[EventKind] = frozenset(
    {
        EventKind.NAUSEA,
        EventKind.DISSOCIATION,
        EventKind.SEDATION,
        EventKind.INTERVENTION,
        EventKind.SYMPTOM,
        EventKind.NOTE,
        EventKind.RESUMED,
        EventKind.OUTCOME_SCORE,
    }
)

ROUTES = ("IV", "IM", "SC", "IN")


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Clinic presets for the lifecycle (confirmed by the medical director).

    Attributes:
        observation_min: minimum observation after the infusion stops before discharge may start
            (IV clinics 30-60 min, Spravato 120 min; clinical.md F 28).
        severe_sbp, severe_dbp: baseline at or above either blocks the start (b1).
        review_sbp, review_dbp: baseline at or above either needs physician review (b1).
        hr_low, hr_high: baseline HR outside (hr_low, hr_high] needs review (b1).
        spo2_low: baseline SpO2 below this needs review (b1).
        weight_max_age_days: an older weight blocks the dose calculation (b1).
        max_dose_mg_per_kg: a larger dose is refused as a likely unit error (clinical.md f:
            10x weight-based dosing errors).
        discharge_items: checklist items that must all pass before the session closes (F 29).
    """

    observation_min: float = 30.0
    severe_sbp: float = 180.0
    severe_dbp: float = 110.0
    review_sbp: float = 140.0
    review_dbp: float = 90.0
    hr_low: float = 50.0
    hr_high: float = 110.0
    spo2_low: float = 94.0
    weight_max_age_days: int = 30
    max_dose_mg_per_kg: float = 2.0
    discharge_items: tuple[str, ...] = (
        "vitals_stable",
        "alert_and_oriented",
        "dissociation_resolved",
        "escort_present",
        "instructions_given",
    )


@dataclass(frozen=True, slots=True)
class BaselineVitals:
    """One set of pre-dose vitals (any may be missing; missing BP cannot clear the gate)."""

    at: datetime
    sbp: float | None = None
    dbp: float | None = None
    hr: float | None = None
    spo2: float | None = None


@dataclass(frozen=True, slots=True)
class GateAssessment:
    """The pre-dose gate's verdict and the reasons a nurse sees."""

    verdict: GateVerdict
    reasons: tuple[str, ...] = ()


def assess_baseline(vitals: Iterable[BaselineVitals], policy: SessionPolicy) -> GateAssessment:
    """Apply the pre-dose gate (clinical.md b1) to the baseline readings taken so far.

    The newest set with a blood pressure decides; a severe value is reported as confirmed when
    an earlier set at least 5 min before it was severe too (b1 asks for two readings 5 min
    apart before "do not start"; an unconfirmed one still blocks until repeated).

    Args:
        vitals: the baseline sets in time order.
        policy: the clinic's thresholds.

    Returns:
        CLEAR, REVIEW or BLOCKED with human-readable reasons.
    """
    sets = [v for v in vitals if v.sbp is not None or v.dbp is not None]
    if not sets:
        return GateAssessment(GateVerdict.BLOCKED, ("no baseline blood pressure recorded",))
    last = sets[-1]

    def severe(v: BaselineVitals) -> bool:
        return (v.sbp is not None and v.sbp >= policy.severe_sbp) or (
            v.dbp is not None and v.dbp >= policy.severe_dbp
        )

    bp = f"{_fmt(last.sbp)}/{_fmt(last.dbp)}"
    if severe(last):
        confirmed = any(severe(v) and last.at - v.at >= timedelta(minutes=5) for v in sets[:-1])
        how = "confirmed on a repeat >= 5 min apart" if confirmed else "repeat in 5 min to confirm"
        return GateAssessment(
            GateVerdict.BLOCKED,
            (
                f"baseline BP {bp} >= {policy.severe_sbp:g}/{policy.severe_dbp:g} ({how}); "
                "do not start unless a physician overrides with a reason",
            ),
        )
    reasons: list[str] = []
    if (last.sbp is not None and last.sbp >= policy.review_sbp) or (
        last.dbp is not None and last.dbp >= policy.review_dbp
    ):
        reasons.append(
            f"baseline BP {bp} >= {policy.review_sbp:g}/{policy.review_dbp:g}: physician review"
        )
    hr = next((v.hr for v in reversed(sets) if v.hr is not None), None)
    if hr is not None and (hr > policy.hr_high or hr < policy.hr_low):
        reasons.append(f"baseline HR {hr:g} outside {policy.hr_low:g}-{policy.hr_high:g}")
    spo2 = next((v.spo2 for v in reversed(sets) if v.spo2 is not None), None)
    if spo2 is not None and spo2 < policy.spo2_low:
        reasons.append(f"baseline SpO2 {spo2:g} % < {policy.spo2_low:g} %")
    if reasons:
        return GateAssessment(GateVerdict.REVIEW, tuple(reasons))
    return GateAssessment(GateVerdict.CLEAR)


@dataclass(frozen=True, slots=True)
class InfusionPlan:
    """The weight-based dose (clinical.md A 1): entered once, shown in mg/kg and mg."""

    weight_kg: float
    weight_measured_on: date
    dose_mg_per_kg: float
    dose_mg: float
    rate_ml_per_h: float
    route: str = "IV"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One entry of the session timeline, as stored in the ``events`` table.

    ``data`` carries kind-specific values as JSON-able primitives (baseline vitals, the plan,
    a checklist answer) so the lifecycle can be rebuilt from stored events alone.
    """

    kind: str
    at: datetime
    author: str = ""
    reason: str = ""
    phase: Phase | None = None
    rate_ml_per_h: float | None = None
    dose_mg: float | None = None
    score: float | None = None
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def data_json(self) -> str:
        """``data`` as compact JSON text ("" when empty)."""
        return json.dumps(self.data, sort_keys=True, separators=(",", ":")) if self.data else ""


def _fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def _need(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise SessionRuleError(f"{what} is required")
    return text


class SessionLifecycle:
    """The rules of one session; accepts actions in order and records them as events.

    Not thread-safe: it belongs to the GUI thread's session service.
    """

    def __init__(self, policy: SessionPolicy | None = None) -> None:
        self.policy = policy or SessionPolicy()
        self.phase = Phase.BASELINE
        self.infusion = InfusionState.NOT_STARTED
        self.baseline: list[BaselineVitals] = []
        self.gate = GateAssessment(GateVerdict.BLOCKED, ("no baseline blood pressure recorded",))
        self.reviewed_by: str | None = None
        self.override_by: str | None = None
        self._override_for: GateAssessment | None = None
        self.plan: InfusionPlan | None = None
        self.rate_ml_per_h: float | None = None
        self.infusion_started_at: datetime | None = None
        self.infusion_stopped_at: datetime | None = None
        self.discharge_checks: dict[str, bool] = {}
        self.events: list[SessionEvent] = []
        #: IV ketamine unless an esketamine plan was recorded (issue 17).
        self.session_type = SessionType.IV_KETAMINE
        #: The esketamine dose and lot (None for an IV session).
        self.esketamine: EsketaminePlan | None = None
        #: The times the esketamine devices were given, in order.
        self.devices_given: list[datetime] = []
        #: The esketamine end checks, once recorded.
        self.end_checks: EndChecks | None = None

    # -- queries ----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the session is closed (or aborted)."""
        return self.phase is Phase.CLOSED

    @property
    def planned(self) -> bool:
        """True once the session has a plan: an IV infusion plan or an esketamine dose."""
        return self.plan is not None or self.esketamine is not None

    def may_start_infusion(self) -> bool:
        """True when the pre-dose gate is passed (clear, reviewed or overridden)."""
        if self.gate.verdict is GateVerdict.CLEAR:
            return True
        if self._override_for is not None and (
            self.gate == self._override_for or self.gate.verdict is GateVerdict.REVIEW
        ):
            # An override covers the baseline the physician saw; a new blocking baseline
            # (e.g. the cuff works again and reads 210/120) needs a new decision.
            return True
        return self.gate.verdict is GateVerdict.REVIEW and self.reviewed_by is not None

    def observation_ends_at(self) -> datetime | None:
        """When the minimum observation is complete (None before the infusion stopped, or
        before an esketamine session's first device)."""
        if self.session_type is SessionType.ESKETAMINE and self.infusion_started_at is not None:
            # Spravato: at least 2 h from the first device (clinical.md F 28), whatever the
            # IV preset says; known (and counted down) from the first device on.
            return self.infusion_started_at + timedelta(minutes=OBSERVATION_MIN)
        if self.infusion_stopped_at is None:
            return None
        return self.infusion_stopped_at + timedelta(minutes=self.policy.observation_min)

    def observation_minutes(self) -> float:
        """The minimum observation in force, in minutes (for messages)."""
        if self.session_type is SessionType.ESKETAMINE:
            return OBSERVATION_MIN
        return self.policy.observation_min

    # -- baseline ---------------------------------------------------------------------------
    def record_baseline(self, vitals: BaselineVitals, *, author: str = "") -> GateAssessment:
        """Add a set of pre-dose vitals and re-run the gate.

        Raises:
            IllegalTransitionError: outside the baseline phase.
        """
        self._require(Phase.BASELINE, "record baseline vitals", vitals.at)
        self.baseline.append(vitals)
        self.gate = assess_baseline(self.baseline, self.policy)
        data = {k: getattr(vitals, k) for k in ("sbp", "dbp", "hr", "spo2")}
        self._emit(
            EventKind.BASELINE_VITALS,
            vitals.at,
            author,
            text="; ".join(self.gate.reasons),
            data={**data, "verdict": self.gate.verdict.value},
        )
        return self.gate

    def physician_review(self, at: datetime, *, physician: str, reason: str) -> SessionEvent:
        """A physician reviewed an elevated baseline and agrees to start (b1 "review").

        Raises:
            IllegalTransitionError: outside baseline, or the gate does not ask for a review.
            SessionRuleError: no physician or no reason given.
        """
        self._require(Phase.BASELINE, "record a physician review", at)
        if self.gate.verdict is not GateVerdict.REVIEW:
            raise IllegalTransitionError(
                f"the pre-dose gate is {self.gate.verdict.value}, not 'review'"
                + ("; a blocked start needs a physician override" if self._blocked() else "")
            )
        physician, reason = _need(physician, "the physician"), _need(reason, "a reason")
        self.reviewed_by = physician
        return self._emit(EventKind.PHYSICIAN_REVIEW, at, physician, reason=reason)

    def physician_override(self, at: datetime, *, physician: str, reason: str) -> SessionEvent:
        """A physician allows the start despite a blocked gate (severe or missing baseline).

        Raises:
            IllegalTransitionError: outside baseline.
            SessionRuleError: no physician or no reason given.
        """
        self._require(Phase.BASELINE, "record a physician override", at)
        physician = _need(physician, "the physician")
        reason = _need(reason, "a reason for the override")
        self.override_by = physician
        self._override_for = self.gate
        return self._emit(
            EventKind.PHYSICIAN_OVERRIDE,
            at,
            physician,
            reason=reason,
            data={"verdict": self.gate.verdict.value},
        )

    def plan_infusion(
        self,
        at: datetime,
        *,
        weight_kg: float,
        weight_measured_on: date,
        dose_mg_per_kg: float,
        rate_ml_per_h: float,
        route: str = "IV",
        author: str = "",
    ) -> InfusionPlan:
        """Enter weight, dose and rate; the dose in mg is computed, never typed (A 1).

        Raises:
            IllegalTransitionError: after the infusion started.
            SessionRuleError: implausible weight, dose or rate, unknown route, old weight.
        """
        self._require(Phase.BASELINE, "plan the infusion", at)
        if self.esketamine is not None:
            raise IllegalTransitionError("this session is esketamine; start a new session")
        if not 20.0 <= weight_kg <= 300.0:
            raise SessionRuleError(f"weight {weight_kg:g} kg is outside 20-300 kg")
        age = (at.date() - weight_measured_on).days
        if age > self.policy.weight_max_age_days:
            raise SessionRuleError(
                f"weight is {age} days old (limit {self.policy.weight_max_age_days}); weigh again"
            )
        if age < 0:
            raise SessionRuleError("weight date is in the future")
        if not 0.0 < dose_mg_per_kg <= self.policy.max_dose_mg_per_kg:
            raise SessionRuleError(
                f"dose {dose_mg_per_kg:g} mg/kg is outside 0-{self.policy.max_dose_mg_per_kg:g} "
                "mg/kg (unit error?)"
            )
        if not 0.0 < rate_ml_per_h <= 1000.0:
            raise SessionRuleError(f"rate {rate_ml_per_h:g} mL/h is outside 0-1000 mL/h")
        if route not in ROUTES:
            raise SessionRuleError(f"route {route!r} is not one of {', '.join(ROUTES)}")
        plan = InfusionPlan(
            weight_kg=weight_kg,
            weight_measured_on=weight_measured_on,
            dose_mg_per_kg=dose_mg_per_kg,
            dose_mg=round(weight_kg * dose_mg_per_kg, 2),
            rate_ml_per_h=rate_ml_per_h,
            route=route,
        )
        self.plan = plan
        self._emit(
            EventKind.INFUSION_PLANNED,
            at,
            author,
            rate_ml_per_h=rate_ml_per_h,
            dose_mg=plan.dose_mg,
            data={
                "weight_kg": weight_kg,
                "weight_measured_on": weight_measured_on.isoformat(),
                "dose_mg_per_kg": dose_mg_per_kg,
                "route": route,
            },
        )
        return plan

    # -- intranasal esketamine (issue 17) -----------------------------------------------------
    def plan_esketamine(
        self, at: datetime, *, dose_mg: float, lot: str, author: str = ""
    ) -> EsketaminePlan:
        """Make this an esketamine session: 56 or 84 mg (2 or 3 devices) of lot ``lot``.

        Raises:
            IllegalTransitionError: outside baseline, or an IV infusion is planned.
            SessionRuleError: another dose, or no lot number.
        """
        self._require(Phase.BASELINE, "plan the esketamine dose", at)
        if self.plan is not None:
            raise IllegalTransitionError("this session is an IV infusion; start a new session")
        if self.devices_given:
            raise IllegalTransitionError("the dose cannot change after the first device")
        try:
            plan = esketamine_plan(dose_mg, lot)
        except EsketamineRuleError as err:
            raise SessionRuleError(str(err)) from None
        self.session_type = SessionType.ESKETAMINE
        self.esketamine = plan
        self._emit(
            EventKind.ESKETAMINE_PLANNED,
            at,
            author,
            dose_mg=plan.dose_mg,
            text=f"esketamine {plan.dose_mg:g} mg ({plan.devices} devices), lot {plan.lot}",
            data={"dose_mg": plan.dose_mg, "devices": plan.devices, "lot": plan.lot},
        )
        return plan

    def give_device(self, at: datetime, *, author: str) -> SessionEvent:
        """One esketamine device given at ``at``.  The first passes the pre-dose gate and starts
        dosing (the "infusion" phase); the last ends it (observation).  A device sooner than
        5 min after the previous one is recorded with a warning (the nurse may have had a
        reason; the record shows it).

        Raises:
            IllegalTransitionError: not an esketamine session, the gate not passed, dosing
                ended, or every device given.
        """
        plan = self.esketamine
        if plan is None:
            raise IllegalTransitionError("not an esketamine session: no device to record")
        self._not_before_last(at)
        if not self.devices_given:
            self._require(Phase.BASELINE, "give the first device")
            if not self.may_start_infusion():
                why = "; ".join(self.gate.reasons)
                need = "a physician override" if self._blocked() else "a physician review"
                raise IllegalTransitionError(f"pre-dose gate not passed ({why}): {need} first")
        elif self.infusion is not InfusionState.RUNNING:
            raise IllegalTransitionError(f"dosing has ended ({self.infusion.value})")
        try:
            check = check_device(plan, self.devices_given, at)
        except EsketamineRuleError as err:
            raise IllegalTransitionError(str(err)) from None
        if check.number == 1:
            self.phase = Phase.INFUSION
            self.infusion = InfusionState.RUNNING
            self.infusion_started_at = at
        self.devices_given.append(at)
        ev = self._emit(
            EventKind.DEVICE_GIVEN,
            at,
            author,
            dose_mg=DEVICE_MG,
            text=check.warning,
            data={
                "device": check.number,
                "of": check.of,
                "lot": plan.lot,
                "early_min": check.early_min,
            },
        )
        if check.number == check.of:
            self.infusion = InfusionState.STOPPED
            self.phase = Phase.OBSERVATION
            self.infusion_stopped_at = at
        return ev

    def record_end_checks(
        self,
        at: datetime,
        *,
        occurred: dict[str, bool],
        resolved: dict[str, bool],
        ready_to_leave_at: datetime,
        author: str,
    ) -> SessionEvent:
        """Record the esketamine end checks and when the patient was ready to leave; they may
        be recorded again (a later answer replaces the earlier one).

        Raises:
            IllegalTransitionError: not an esketamine session, or not after dosing.
            SessionRuleError: an answer missing, or an impossible ready-to-leave time.
        """
        if self.esketamine is None:
            raise IllegalTransitionError("end checks belong to an esketamine session")
        self._not_before_last(at)
        if self.phase not in (Phase.OBSERVATION, Phase.DISCHARGE):
            raise IllegalTransitionError(
                f"cannot record the end checks in the {self.phase.value} phase (after dosing)"
            )
        first = self.devices_given[0] if self.devices_given else None
        try:
            checks = end_checks(
                occurred, resolved, ready_to_leave_at, first_device_at=first, now=at
            )
        except EsketamineRuleError as err:
            raise SessionRuleError(str(err)) from None
        self.end_checks = checks
        unresolved = checks.unresolved()
        return self._emit(
            EventKind.END_CHECKS,
            at,
            author,
            text="not resolved: " + ", ".join(unresolved) if unresolved else "all resolved",
            data=checks.data(),
        )

    # -- infusion ---------------------------------------------------------------------------
    def start_infusion(self, at: datetime, *, author: str, reason: str = "") -> SessionEvent:
        """Start the pump: baseline -> infusion.

        Raises:
            IllegalTransitionError: not in baseline, no plan, or the pre-dose gate is not passed.
        """
        self._require(Phase.BASELINE, "start the infusion", at)
        if self.esketamine is not None:
            raise IllegalTransitionError("an esketamine session starts with its first device")
        if self.plan is None:
            raise IllegalTransitionError("no infusion plan: enter weight, dose and rate first")
        if not self.may_start_infusion():
            why = "; ".join(self.gate.reasons)
            need = "a physician override" if self._blocked() else "a physician review"
            raise IllegalTransitionError(f"pre-dose gate not passed ({why}): {need} with a reason")
        self.phase = Phase.INFUSION
        self.infusion = InfusionState.RUNNING
        self.rate_ml_per_h = self.plan.rate_ml_per_h
        self.infusion_started_at = at
        return self._emit(
            EventKind.INFUSION_START,
            at,
            author,
            reason=reason,
            rate_ml_per_h=self.rate_ml_per_h,
            dose_mg=self.plan.dose_mg,
        )

    def pause_infusion(self, at: datetime, *, author: str, reason: str) -> SessionEvent:
        """Pause the pump (C 16: with time and reason).

        Raises:
            IllegalTransitionError: the pump is not running.
            SessionRuleError: no reason.
        """
        self._require_pump(InfusionState.RUNNING, "pause", at)
        reason = _need(reason, "a reason for the pause")
        self.infusion = InfusionState.PAUSED
        return self._emit(EventKind.INFUSION_PAUSE, at, author, reason=reason)

    def resume_infusion(self, at: datetime, *, author: str, reason: str = "") -> SessionEvent:
        """Restart a paused pump at the current rate.

        Raises:
            IllegalTransitionError: the pump is not paused.
        """
        self._require_pump(InfusionState.PAUSED, "resume", at)
        self.infusion = InfusionState.RUNNING
        return self._emit(
            EventKind.INFUSION_RESUME, at, author, reason=reason, rate_ml_per_h=self.rate_ml_per_h
        )

    def change_rate(
        self, at: datetime, *, rate_ml_per_h: float, author: str, reason: str
    ) -> SessionEvent:
        """Change the pump rate (C 16: with time and reason).

        Raises:
            IllegalTransitionError: the pump is neither running nor paused.
            SessionRuleError: no reason, or an implausible rate.
        """
        if self.infusion not in (InfusionState.RUNNING, InfusionState.PAUSED):
            raise IllegalTransitionError(f"cannot change the rate: the infusion is {self.infusion}")
        self._not_before_last(at)
        reason = _need(reason, "a reason for the rate change")
        if not 0.0 < rate_ml_per_h <= 1000.0:
            raise SessionRuleError(f"rate {rate_ml_per_h:g} mL/h is outside 0-1000 mL/h")
        old = self.rate_ml_per_h
        self.rate_ml_per_h = rate_ml_per_h
        return self._emit(
            EventKind.RATE_CHANGE,
            at,
            author,
            reason=reason,
            rate_ml_per_h=rate_ml_per_h,
            data={"old_rate_ml_per_h": old},
        )

    def stop_infusion(
        self, at: datetime, *, author: str, reason: str, dose_given_mg: float | None = None
    ) -> SessionEvent:
        """Stop the pump: infusion -> observation; the observation clock starts.

        Args:
            at: when the pump stopped.
            author: who stopped it.
            reason: "completed" for a normal end, or why it was stopped early.
            dose_given_mg: total dose actually given, when known (G 33).

        Raises:
            IllegalTransitionError: the pump is neither running nor paused.
            SessionRuleError: no reason.
        """
        if self.infusion not in (InfusionState.RUNNING, InfusionState.PAUSED):
            raise IllegalTransitionError(f"cannot stop the infusion: it is {self.infusion}")
        self._not_before_last(at)
        reason = _need(reason, "a reason for the stop ('completed' for a normal end)")
        self.infusion = InfusionState.STOPPED
        self.phase = Phase.OBSERVATION
        self.infusion_stopped_at = at
        return self._emit(EventKind.INFUSION_STOP, at, author, reason=reason, dose_mg=dose_given_mg)

    # -- recovery and discharge ---------------------------------------------------------------
    def begin_discharge(self, at: datetime, *, author: str) -> SessionEvent:
        """Open the discharge checklist once the minimum observation is over (F 28).

        Raises:
            IllegalTransitionError: not in observation, or the minimum time is not reached.
        """
        self._require(Phase.OBSERVATION, "begin discharge", at)
        ends = self.observation_ends_at()
        assert ends is not None
        if at < ends:
            left = (ends - at).total_seconds() / 60.0
            raise IllegalTransitionError(
                f"minimum observation of {self.observation_minutes():g} min not reached "
                f"({left:.0f} min left)"
            )
        self.phase = Phase.DISCHARGE
        return self._emit(EventKind.DISCHARGE_START, at, author)

    def check_discharge_item(
        self, at: datetime, *, item: str, passed: bool, author: str, note: str = ""
    ) -> SessionEvent:
        """Answer one checklist item; a failed item can be answered again later.

        Raises:
            IllegalTransitionError: not in discharge.
            SessionRuleError: an item the policy does not list.
        """
        self._require(Phase.DISCHARGE, "check a discharge item", at)
        if item not in self.policy.discharge_items:
            raise SessionRuleError(
                f"unknown discharge item {item!r}; known: {', '.join(self.policy.discharge_items)}"
            )
        self.discharge_checks[item] = passed
        return self._emit(
            EventKind.DISCHARGE_CHECK,
            at,
            author,
            text=note,
            data={"item": item, "passed": passed},
        )

    def close(self, at: datetime, *, author: str) -> SessionEvent:
        """Close the session after every checklist item passed.

        Raises:
            IllegalTransitionError: not in discharge, or items missing or failed.
        """
        self._require(Phase.DISCHARGE, "close the session", at)
        missing = [i for i in self.policy.discharge_items if not self.discharge_checks.get(i)]
        if missing:
            raise IllegalTransitionError(f"discharge items not passed: {', '.join(missing)}")
        if self.esketamine is not None:
            if self.end_checks is None:
                raise IllegalTransitionError(
                    "record the end checks (sedation, dissociation, respiratory depression) "
                    "and the ready-to-leave time first"
                )
            if self.end_checks.unresolved():
                left = ", ".join(self.end_checks.unresolved())
                raise IllegalTransitionError(f"not resolved: {left}")
        self.phase = Phase.CLOSED
        return self._emit(EventKind.CLOSED, at, author)

    def override_discharge(
        self, at: datetime, *, physician: str, reason: str, refused: str
    ) -> SessionEvent:
        """A physician allows discharge although the vital-sign gate refused it.

        Raises:
            IllegalTransitionError: not in discharge.
            SessionRuleError: no physician or no reason given.
        """
        self._require(Phase.DISCHARGE, "override the discharge gate", at)
        physician = _need(physician, "the physician")
        reason = _need(reason, "a reason for the override")
        return self._emit(
            EventKind.DISCHARGE_OVERRIDE,
            at,
            physician,
            reason=reason,
            text=f"discharge refused: {refused}",
            data={"refused": refused},
        )

    def interrupt(self, at: datetime, *, author: str, reason: str) -> SessionEvent:
        """The console closes with this session open (issue 11 item 4): the record stays
        unfinished, so the next start offers to resume it.  Changes no phase.

        Raises:
            IllegalTransitionError: the session is closed.
            SessionRuleError: no reason given.
        """
        if self.closed:
            raise IllegalTransitionError("the session is already closed")
        reason = _need(reason, "a reason for closing the console during the session")
        return self._emit(EventKind.INTERRUPTED, at, author, reason=reason)

    def abort(self, at: datetime, *, author: str, reason: str) -> SessionEvent:
        """End the session early from any open phase (patient declined, emergency transfer).

        Raises:
            IllegalTransitionError: already closed, or the pump still runs.
            SessionRuleError: no reason.
        """
        self._not_before_last(at)
        if self.closed:
            raise IllegalTransitionError("the session is already closed")
        if self.infusion in (InfusionState.RUNNING, InfusionState.PAUSED):
            raise IllegalTransitionError(
                "stop the infusion (with a reason) before ending the session"
            )
        reason = _need(reason, "a reason for ending the session early")
        self.phase = Phase.CLOSED
        return self._emit(EventKind.ABORTED, at, author, reason=reason)

    # -- annotations -------------------------------------------------------------------------
    def annotate(
        self,
        kind: EventKind,
        at: datetime,
        *,
        author: str,
        text: str = "",
        score: float | None = None,
        dose_mg: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> SessionEvent:
        """Time-locked observation: nausea, dissociation/sedation score, intervention, note.

        ``data`` carries a structured score's scale and time point (console.domain.observations).

        Raises:
            IllegalTransitionError: the session is closed.
            SessionRuleError: ``kind`` is not an annotation, or a note without text.
        """
        if kind not in ANNOTATION_KINDS:
            raise SessionRuleError(f"{kind.value!r} is not an annotation")
        if self.closed:
            raise IllegalTransitionError("the session is closed; add an addendum instead")
        if kind in (EventKind.NOTE, EventKind.INTERVENTION, EventKind.SYMPTOM) and not text.strip():
            raise SessionRuleError(f"a {kind.value} needs text")
        return self._emit(kind, at, author, text=text, score=score, dose_mg=dose_mg, data=data)

    # -- rebuild -----------------------------------------------------------------------------
    @classmethod
    def from_events(
        cls, events: Iterable[SessionEvent], policy: SessionPolicy | None = None
    ) -> SessionLifecycle:
        """Rebuild a lifecycle by re-applying stored events (after a restart or crash).

        Raises:
            SessionRuleError: the stored events break the rules (a corrupted record).
        """
        life = cls(policy)
        for ev in events:
            life.apply(ev)
        return life

    def apply(self, ev: SessionEvent) -> None:
        """Re-apply one stored event through the same rules as the live action."""
        d, kind = ev.data, ev.kind
        if kind == EventKind.BASELINE_VITALS:
            self.record_baseline(
                BaselineVitals(ev.at, d.get("sbp"), d.get("dbp"), d.get("hr"), d.get("spo2")),
                author=ev.author,
            )
        elif kind == EventKind.PHYSICIAN_REVIEW:
            self.physician_review(ev.at, physician=ev.author, reason=ev.reason)
        elif kind == EventKind.PHYSICIAN_OVERRIDE:
            self.physician_override(ev.at, physician=ev.author, reason=ev.reason)
        elif kind == EventKind.INFUSION_PLANNED:
            assert ev.rate_ml_per_h is not None
            self.plan_infusion(
                ev.at,
                weight_kg=float(d["weight_kg"]),
                weight_measured_on=date.fromisoformat(str(d["weight_measured_on"])),
                dose_mg_per_kg=float(d["dose_mg_per_kg"]),
                rate_ml_per_h=ev.rate_ml_per_h,
                route=str(d.get("route", "IV")),
                author=ev.author,
            )
        elif kind == EventKind.INFUSION_START:
            self.start_infusion(ev.at, author=ev.author, reason=ev.reason)
        elif kind == EventKind.INFUSION_PAUSE:
            self.pause_infusion(ev.at, author=ev.author, reason=ev.reason)
        elif kind == EventKind.INFUSION_RESUME:
            self.resume_infusion(ev.at, author=ev.author, reason=ev.reason)
        elif kind == EventKind.RATE_CHANGE:
            assert ev.rate_ml_per_h is not None
            self.change_rate(
                ev.at, rate_ml_per_h=ev.rate_ml_per_h, author=ev.author, reason=ev.reason
            )
        elif kind == EventKind.INFUSION_STOP:
            self.stop_infusion(ev.at, author=ev.author, reason=ev.reason, dose_given_mg=ev.dose_mg)
        elif kind == EventKind.DISCHARGE_START:
            self.begin_discharge(ev.at, author=ev.author)
        elif kind == EventKind.DISCHARGE_CHECK:
            self.check_discharge_item(
                ev.at,
                item=str(d["item"]),
                passed=bool(d["passed"]),
                author=ev.author,
                note=ev.text,
            )
        elif kind == EventKind.ESKETAMINE_PLANNED:
            self.plan_esketamine(
                ev.at, dose_mg=float(d["dose_mg"]), lot=str(d["lot"]), author=ev.author
            )
        elif kind == EventKind.DEVICE_GIVEN:
            self.give_device(ev.at, author=ev.author)
        elif kind == EventKind.END_CHECKS:
            checks = EndChecks.from_data(d)
            self.record_end_checks(
                ev.at,
                occurred=dict(checks.occurred),
                resolved=dict(checks.resolved),
                ready_to_leave_at=checks.ready_to_leave_at,
                author=ev.author,
            )
        elif kind == EventKind.CLOSED:
            self.close(ev.at, author=ev.author)
        elif kind == EventKind.ABORTED:
            self.abort(ev.at, author=ev.author, reason=ev.reason)
        elif kind in ANNOTATION_KINDS:
            if not self.closed:
                self.events.append(replace(ev, phase=self.phase))
        else:
            # A kind from a newer console: keep it on the timeline, it changes no state here.
            self.events.append(ev)

    # -- helpers -----------------------------------------------------------------------------
    def _blocked(self) -> bool:
        return self.gate.verdict is GateVerdict.BLOCKED

    def _require(self, phase: Phase, action: str, at: datetime | None = None) -> None:
        if at is not None:
            self._not_before_last(at)
        if self.phase is not phase:
            raise IllegalTransitionError(
                f"cannot {action} in the {self.phase.value} phase (only in {phase.value})"
            )

    def _require_pump(self, state: InfusionState, action: str, at: datetime) -> None:
        self._not_before_last(at)
        if self.infusion is not state:
            raise IllegalTransitionError(
                f"cannot {action} the infusion: it is {self.infusion.value}"
            )

    def _not_before_last(self, at: datetime) -> None:
        # Transitions must be in time order; annotations may be back-dated ("nausea 5 min ago").
        last = next((e.at for e in reversed(self.events) if e.kind not in ANNOTATION_KINDS), None)
        if last is not None and at < last:
            raise SessionRuleError(
                f"time {at.isoformat()} is before the previous step ({last.isoformat()})"
            )

    def _emit(
        self,
        kind: EventKind,
        at: datetime,
        author: str,
        *,
        reason: str = "",
        rate_ml_per_h: float | None = None,
        dose_mg: float | None = None,
        score: float | None = None,
        text: str = "",
        data: dict[str, Any] | None = None,
    ) -> SessionEvent:
        ev = SessionEvent(
            kind=kind.value,
            at=at,
            author=author,
            reason=reason,
            phase=self.phase,
            rate_ml_per_h=rate_ml_per_h,
            dose_mg=dose_mg,
            score=score,
            text=text,
            data=data or {},
        )
        self.events.append(ev)
        return ev
