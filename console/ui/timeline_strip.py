"""The session timeline strip: where the session is and what is due next, in one glance.

A nurse with several chairs needs the answer to "what does this chair need from me, and when"
without reading the record: the phase, how long the infusion has run and how long is left, the
dose and rate, when the next cuff reading comes, whether the 40-minute BP checkpoint
(clinical.md C 13) is pending, due, done or missed, the observation countdown (F 28) and what
discharge still needs (F 29).  Everything is computed by the chair service from the lifecycle;
the strip only formats it, once a second while on screen.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.domain.alarms import Priority
from console.domain.checkpoint import CHECKPOINT_WINDOW_MIN
from console.domain.esketamine import Checkpoint, next_device_due
from console.domain.session import EventKind, GateVerdict, InfusionState, Phase
from console.services.chair_service import ChairService
from console.ui import theme
from console.ui.flow_layout import FlowLayout

#: Phase badge colours: a glance tells baseline (grey-blue), infusion (green), observation
#: (blue), discharge (purple) and closed (dark grey) apart; none uses an alarm colour.
PHASE_COLOURS: dict[str, str] = {
    "none": "#37474f",
    Phase.BASELINE.value: "#455a64",
    Phase.INFUSION.value: "#2e7d32",
    Phase.OBSERVATION.value: "#1565c0",
    Phase.DISCHARGE.value: "#6a1b9a",
    Phase.CLOSED.value: "#263238",
}
#: A paused infusion is amber (with dark text): never the green of a running one.
PAUSED_COLOURS = ("#ff8f00", "#111111")
#: The discharge cell's widest: longer lists wrap within it instead of widening the strip.
DISCHARGE_MAX_WIDTH = 420
#: Text colours of a cell by urgency (due/missed use the medium-alarm yellow: prompt action).
STATE_COLOURS = {
    "ok": theme.TEXT,
    "muted": theme.MUTED,
    "due": theme.PRIORITY_COLOURS[Priority.MEDIUM],
    "done": "#3ddc84",
}


def _mmss(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}"


class _Cell(QWidget):
    """A small caption over a value, like a monitor's parameter box."""

    def __init__(self, caption: str, name: str, stretch_text: bool = False) -> None:
        super().__init__()
        self.caption = QLabel(caption.upper())
        self.caption.setStyleSheet(f"color: {theme.MUTED}; font-size: 11px; letter-spacing: 1px;")
        self.value = QLabel("--")
        self.value.setObjectName(name)
        self.value.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.value.setWordWrap(stretch_text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)

    def show_text(self, text: str, state: str = "ok") -> None:
        self.value.setText(text)
        self.value.setStyleSheet(
            f"font-size: 15px; font-weight: 600; color: {STATE_COLOURS.get(state, theme.TEXT)};"
        )


class TimelineStrip(QFrame):
    """One row above the trends: phase, patient, infusion, NIBP, checkpoint, observation,
    discharge.

    Attributes (the value labels, for tests): ``phase``, ``patient``, ``infusion``, ``nibp``,
    ``checkpoint``, ``observation``, ``discharge``.
    """

    def __init__(self, service: ChairService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setObjectName("timelineStrip")
        self.setStyleSheet(
            f"QFrame#timelineStrip {{ background: {theme.PANEL}; border-radius: 6px; }}"
        )
        self.phase = QLabel()
        self.phase.setObjectName("phaseBadge")
        self.cells = {
            "patient": _Cell("Patient", "stripPatient"),
            "infusion": _Cell("Infusion", "stripInfusion"),
            "nibp": _Cell("Next NIBP", "stripNibp"),
            "checkpoint": _Cell("40-min BP", "stripCheckpoint"),
            "observation": _Cell("Observation", "stripObservation"),
            "discharge": _Cell("Discharge needs", "stripDischarge", stretch_text=True),
        }
        self.patient = self.cells["patient"].value
        self.infusion = self.cells["infusion"].value
        self.nibp = self.cells["nibp"].value
        self.checkpoint = self.cells["checkpoint"].value
        self.observation = self.cells["observation"].value
        self.discharge = self.cells["discharge"].value
        # Cells wrap into a second row on a narrow screen instead of widening the window
        # (issue 11 item 1); the discharge needs wrap within their cell.
        layout = FlowLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.phase)
        for cell in self.cells.values():
            layout.addWidget(cell)
        self.cells["discharge"].value.setMaximumWidth(DISCHARGE_MAX_WIDTH)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.refresh()

    def refresh(self, now: datetime | None = None) -> None:
        """Re-format everything from the service (cheap: no storage access)."""
        svc = self.service
        now = now or svc.clock.now()
        life = svc.lifecycle
        has_session = svc.session_id is not None or life.closed
        text = "#ffffff"
        if svc.pending_resume is not None:
            phase, colour = "RESUME?", PHASE_COLOURS["none"]
        elif not has_session or (not life.planned and not life.closed):
            phase, colour = "NO SESSION", PHASE_COLOURS["none"]
        else:
            phase = life.phase.value.upper()
            colour = PHASE_COLOURS[life.phase.value]
            if life.infusion is InfusionState.PAUSED:
                phase = "INFUSION PAUSED"
                colour, text = PAUSED_COLOURS
        self.phase.setText(phase)
        self.phase.setStyleSheet(
            f"background: {colour}; color: {text}; font-size: 18px; font-weight: 700;"
            " padding: 6px 14px; border-radius: 4px;"
        )
        self._patient()
        esketamine = life.esketamine is not None
        self.cells["infusion"].caption.setText("ESKETAMINE" if esketamine else "INFUSION")
        self.cells["checkpoint"].caption.setText("BP CHECKPOINTS" if esketamine else "40-MIN BP")
        if esketamine:
            self._esketamine(now)
            self._esketamine_checkpoints(now)
        else:
            self._infusion(now)
            self._checkpoint(now)
        self._nibp(now)
        self._observation(now)
        self._discharge(now)

    # -- cells ---------------------------------------------------------------------------------
    def _patient(self) -> None:
        svc, cell = self.service, self.cells["patient"]
        if svc.pending_resume is not None:
            cell.show_text(f"unfinished session #{svc.pending_resume.id}", "due")
            return
        patient = svc.patient_record
        if patient is None or not svc.lifecycle.planned:
            cell.show_text("New session: Ctrl+N", "muted")
            return
        series = f"  #{svc.series_number}" if svc.series_number else ""
        name = f" {patient.display_name}" if patient.display_name else ""
        cell.show_text(f"{patient.mrn}{name}{series}")

    def _infusion(self, now: datetime) -> None:
        svc, cell = self.service, self.cells["infusion"]
        life, plan = svc.lifecycle, svc.lifecycle.plan
        if plan is None:
            cell.show_text("no plan", "muted")
            return
        dose = f"{plan.dose_mg:g} mg ({plan.dose_mg_per_kg:g} mg/kg)"
        rate = f"{life.rate_ml_per_h or plan.rate_ml_per_h:g} mL/h"
        progress = svc.workflow.progress(now)
        if life.infusion is InfusionState.NOT_STARTED or progress is None:
            gate = life.gate
            note = {
                GateVerdict.CLEAR: "gate clear",
                GateVerdict.REVIEW: "gate: physician review",
                GateVerdict.BLOCKED: "gate: no start yet",
            }[gate.verdict]
            if life.may_start_infusion() and gate.verdict is not GateVerdict.CLEAR:
                note = "gate: reviewed"
            state = "ok" if life.may_start_infusion() else "due"
            cell.show_text(f"planned {dose} at {rate}; {note}", state)
            return
        ran = _mmss(progress.running_s)
        given = f"{progress.dose_given_mg or 0:.1f}/{plan.dose_mg:g} mg"
        if life.infusion is InfusionState.STOPPED:
            cell.show_text(f"stopped after {ran}; {given}", "muted")
            return
        if progress.remaining_min is not None and progress.remaining_min <= 0:
            # The planned volume is in: the pump should be stopped (and the stop recorded).
            cell.show_text(f"{ran} run; planned {plan.dose_mg:g} mg given: stop (F8)", "due")
            return
        left = "--" if progress.remaining_min is None else _mmss(progress.remaining_min * 60)
        paused = "PAUSED; " if life.infusion is InfusionState.PAUSED else ""
        cell.show_text(
            f"{paused}{ran} run, {left} left; {given} at {rate}",
            "due" if paused else "ok",
        )

    def _esketamine(self, now: datetime) -> None:
        """Intranasal esketamine (issue 17): devices given, the next one's 5-min spacing."""
        life, cell = self.service.lifecycle, self.cells["infusion"]
        plan = life.esketamine
        assert plan is not None
        given = life.devices_given
        head = f"{plan.dose_mg:g} mg, lot {plan.lot}"
        if not given:
            ok = life.may_start_infusion()
            gate = "gate clear" if ok else "gate: physician decision first"
            cell.show_text(f"{head}: 0/{plan.devices} devices; {gate}", "ok" if ok else "due")
            return
        times = ", ".join(f"{t:%H:%M}" for t in given)
        early = any(e.kind == EventKind.DEVICE_GIVEN and e.text for e in life.events)
        warn = " (one given early)" if early else ""
        if len(given) >= plan.devices or life.infusion is InfusionState.STOPPED:
            cell.show_text(f"{len(given)}/{plan.devices} devices at {times}{warn}", "done")
            return
        due = next_device_due(given)
        assert due is not None
        left = (due - now).total_seconds()
        nxt = f"device {len(given) + 1} in {_mmss(left)}" if left > 0 else "next device DUE"
        cell.show_text(
            f"{len(given)}/{plan.devices} devices ({times}){warn}; {nxt}",
            "ok" if left > 0 else "due",
        )

    def _esketamine_checkpoints(self, now: datetime) -> None:
        """The three BP checkpoints: before dosing, ~40 min, before the end of monitoring."""
        life, cell = self.service.lifecycle, self.cells["checkpoint"]
        points = self.service.workflow.esketamine_checkpoints(now)
        first = life.devices_given[0] if life.devices_given else None
        parts, state = [], "done"
        for cp, short in zip(Checkpoint, ("pre", "40 min", "end"), strict=True):
            reading = points[cp]
            if reading is not None:
                parts.append(f"{short} {reading.text(first).split(' at ')[0]}")
            elif cp is Checkpoint.AT_40_MIN and first is not None:
                since = (now - first).total_seconds() / 60.0
                lo, hi = CHECKPOINT_WINDOW_MIN
                if since < lo:
                    parts.append(f"40 min in {lo - since:.0f} min")
                    state = "ok" if state == "done" else state
                else:
                    parts.append("40 min DUE" if since <= hi else "40 min MISSED")
                    state = "due"
            else:
                parts.append(f"{short} --")
                state = "ok" if state == "done" else state
        cell.show_text(" | ".join(parts), state)

    def _nibp(self, now: datetime) -> None:
        svc, cell = self.service, self.cells["nibp"]
        due = svc.next_nibp_due()
        if due is None:
            cell.show_text("--", "muted")
            return
        left = (due - now).total_seconds()
        requested = svc.nibp_requested_at is not None and (
            svc.last_nibp_at is None or svc.nibp_requested_at > svc.last_nibp_at
        )
        if requested and left > -60:
            cell.show_text("measuring (requested)", "due")
        elif left >= 0:
            cell.show_text(f"in {_mmss(left)}")
        else:
            cell.show_text(f"overdue {_mmss(-left)}", "due")

    def _checkpoint(self, now: datetime) -> None:
        state, text = self.service.checkpoint(now)
        colour = {"waiting": "muted", "pending": "ok", "due": "due", "done": "done"}.get(
            state, "due"
        )
        self.cells["checkpoint"].show_text(text.replace("40-min BP", "").strip(" :"), colour)

    def _observation(self, now: datetime) -> None:
        life, cell = self.service.lifecycle, self.cells["observation"]
        ends = life.observation_ends_at()
        if ends is None and life.esketamine is not None:
            cell.show_text(f"{life.observation_minutes():g} min from device 1", "muted")
        elif ends is None:
            cell.show_text(f"{life.policy.observation_min:g} min after the stop", "muted")
        elif ends > now:
            cell.show_text(f"{_mmss((ends - now).total_seconds())} left", "ok")
        else:
            cell.show_text("minimum reached", "done")

    def _discharge(self, now: datetime) -> None:
        svc, cell = self.service, self.cells["discharge"]
        if not svc.lifecycle.planned or svc.pending_resume is not None:
            cell.show_text("--", "muted")
            return
        if svc.lifecycle.closed:
            cell.show_text("session closed", "done")
            return
        needs = svc.workflow.discharge_needs(now)
        cell.show_text(", ".join(needs) if needs else "ready: close the session (Ctrl+E)")
