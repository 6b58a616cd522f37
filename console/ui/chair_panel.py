"""The live view of one chair: header, alarm banner, session workflow, numerics and trends.

The workflow bar holds the nurse's session actions, each with a key (the chair on screen takes
them): New session Ctrl+N, Annotate F4, Start infusion F5, Pause/Resume F6, Rate F7, Stop F8,
NIBP now F9, Scores F11, End session Ctrl+E.  Every action goes to the chair service, which
applies the session lifecycle's rules; a refused step is explained in the message line under
the buttons and changes nothing.  Dialogs open window-modal (never a nested event loop): the
chair keeps updating and alarming behind them.  The scores prompt (console.ui.scores_due) sits
in the header.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.alarms import Priority
from console.domain.heart_rate_source import shown_heart_rate
from console.domain.observations import score_label
from console.domain.session import (
    EventKind,
    GateVerdict,
    IllegalTransitionError,
    InfusionState,
    Phase,
    SessionEvent,
    SessionRuleError,
)
from console.services.account_access import Action
from console.services.chair_service import ChairService
from console.services.record_access import SessionSummary
from console.ui import theme
from console.ui.alarm_controls import AlarmControls
from console.ui.alarm_log_view import AlarmLogView
from console.ui.alarm_periods import AlarmPeriods
from console.ui.dialog_guard import GuardedDialog
from console.ui.esketamine_dialogs import EndChecksDialog
from console.ui.flow_layout import fallback_scroll, flow_widget
from console.ui.limits_dialog import LimitsDialog
from console.ui.numeric_tile import NumericTile
from console.ui.observation_entry import ScoresDialog
from console.ui.physician_sign import add_physician_password, physician_password
from console.ui.scores_due import ScoresDue
from console.ui.session_dialogs import (
    PAUSE_REASONS,
    RATE_REASONS,
    STOP_REASONS,
    AnnotationDialog,
    DischargeDialog,
    GateDialog,
    NewSessionDialog,
    ReasonDialog,
    ResumeDialog,
)
from console.ui.timeline_strip import TimelineStrip
from console.ui.vitals_plot import TrendPlots
from devices.model import NIBP_METRICS, DeviceState, Metric

log = logging.getLogger("ui.chair")

#: Trend redraw period (ms): trends change at most once a second per metric, and each redraw
#: of 3 plots holds the GUI thread for milliseconds that a 16-chair alarm banner cannot spare.
PLOT_REFRESH_MS = 1000
#: A continuous numeric older than this (session seconds) is greyed as stale.
CONTINUOUS_STALE_S = 15.0
#: A temperature older than this (session seconds) is greyed: monitors send it less often.
TEMP_STALE_S = 60.0
#: An NIBP value older than the cuff interval plus this margin is greyed (clinical.md b3).
NIBP_STALE_MARGIN_S = 120.0
#: How long an action's confirmation or refusal stays in the message line (ms).
MESSAGE_MS = 20_000

#: Workflow actions: name -> (button text, key).  The keys avoid F2/F3 (alarm strip) and
#: Ctrl+1..9 (the window's chair switching).
ACTIONS: dict[str, tuple[str, str]] = {
    "new": ("New session…", "Ctrl+N"),
    "annotate": ("Annotate…", "F4"),
    "start": ("Start infusion", "F5"),
    "device": ("Device given", "Ctrl+D"),
    "pause": ("Pause", "F6"),
    "rate": ("Rate…", "F7"),
    "stop": ("Stop infusion…", "F8"),
    "nibp": ("NIBP now", "F9"),
    "checks": ("End checks…", "Ctrl+K"),
    "end": ("End session…", "Ctrl+E"),
    "limits": ("Limits…", "F10"),
    "scores": ("Scores…", "F11"),
}
#: The right each workflow action needs (console.domain.roles; the shift answers, issue 16).
ACTION_RIGHTS: dict[str, Action] = {
    "new": Action.SESSIONS,
    "end": Action.SESSIONS,
    "start": Action.INFUSION_STEPS,
    "pause": Action.INFUSION_STEPS,
    "rate": Action.INFUSION_STEPS,
    "stop": Action.INFUSION_STEPS,
    "nibp": Action.INFUSION_STEPS,
    "annotate": Action.ANNOTATIONS,
    "scores": Action.ANNOTATIONS,
    "limits": Action.LIMIT_CHANGE_OUTSIDE_PROFILE,
    # Esketamine (issue 17): a device given is a dosing step; the end checks close the session.
    "device": Action.INFUSION_STEPS,
    "checks": Action.SESSIONS,
}
#: Marker colours on the trends: pump steps in green/amber, observations in light purple.
MARKER_COLOURS: dict[str, str] = {
    EventKind.INFUSION_START.value: "#3ddc84",
    EventKind.INFUSION_RESUME.value: "#3ddc84",
    EventKind.INFUSION_PAUSE.value: "#ffb74d",
    EventKind.RATE_CHANGE.value: "#ffb74d",
    EventKind.INFUSION_STOP.value: "#ef9a9a",
    EventKind.RESUMED.value: "#90a4ae",
    EventKind.DEVICE_GIVEN.value: "#3ddc84",
}
#: Actions of one session type only (issue 17): an esketamine session has no pump.
IV_ONLY_ACTIONS = ("start", "pause", "rate")
ESKETAMINE_ONLY_ACTIONS = ("device", "checks")
ANNOTATION_COLOUR = "#ce93d8"

_LINK_STYLE = {
    DeviceState.STREAMING.value: ("#1b5e20", "#ffffff"),
    DeviceState.CONNECTED.value: ("#33691e", "#ffffff"),
    DeviceState.CONNECTING.value: ("#37474f", "#ffffff"),
    DeviceState.QUIET.value: ("#b71c1c", "#ffffff"),
    DeviceState.DISCONNECTED.value: ("#b71c1c", "#ffffff"),
    DeviceState.STOPPED.value: ("#37474f", "#ffffff"),
}


def _limits_text(service: ChairService, metric: Metric) -> str:
    rules = service.policy.limit_lines(metric)
    lows = [r.limit for r in rules if r.direction == "low"]
    highs = [r.limit for r in rules if r.direction == "high"]
    parts = []
    if lows:
        parts.append(f"low {max(lows):g}")
    if highs:
        parts.append(f"high {min(highs):g}")
    return "alarm limits: " + ", ".join(parts) if parts else "no alarm limits"


class ChairPanel(QWidget):
    """Everything a nurse needs to see about one chair, readable from across the room."""

    def __init__(
        self,
        service: ChairService,
        parent: QWidget | None = None,
        *,
        periods: AlarmPeriods | None = None,
    ) -> None:
        """``periods``: the chair's alarm periods kept since the start by the window, when the
        panel is built late (console.ui.alarm_periods); a panel of its own keeps its own."""
        super().__init__(parent)
        self.service = service
        self.periods = periods if periods is not None else AlarmPeriods()
        self.title = QLabel(service.settings.chair_name)
        self.title.setObjectName("chairTitle")
        self.sim_badge = QLabel("SIMULATED")
        self.sim_badge.setObjectName("simBadge")
        self.sim_badge.setToolTip("Data come from the built-in simulated monitor, not a patient")
        self.sim_badge.setVisible(service.simulated)
        self.link = QLabel()
        self.link.setObjectName("linkState")
        self.clock = QLabel()
        self.clock.setObjectName("sessionClock")
        self.header = QHBoxLayout()
        self.header.addWidget(self.title)
        self.header.addWidget(self.sim_badge)
        self.header.addStretch(1)
        #: The due/overdue scores prompt: in the header, always on screen, never modal.
        self.scores_due = ScoresDue()
        self.header.addWidget(self.scores_due)
        self.header.addWidget(self.clock)
        self.header.addWidget(self.link)

        self.alarm_controls = AlarmControls(service)
        self.banner = self.alarm_controls.banner
        self.alarm_log = AlarmLogView(service)
        self.alarm_log.setMaximumHeight(170)
        self.alarm_log.setMinimumHeight(36)  # the log gives way to the numerics
        colours = theme.METRIC_COLOURS
        self.tiles: dict[str, NumericTile] = {
            "nibp": NumericTile(
                "NIBP", "mmHg", colours[Metric.NIBP_SYS], value_pt=60, widest="288/188"
            ),
            "hr": NumericTile("HR", "/min", colours[Metric.HR]),
            "spo2": NumericTile("SpO2", "%", colours[Metric.SPO2]),
            "rr": NumericTile("RR", "/min", colours[Metric.RR], value_pt=36, widest="88"),
            # Shown once the monitor sends a usable temperature (not every monitor has one).
            "temp": NumericTile(
                "TEMP", "\u00b0C", colours[Metric.TEMP], value_pt=36, widest="38.8"
            ),
        }
        self.tiles["hr"].set_detail(_limits_text(service, Metric.HR))
        self.tiles["spo2"].set_detail(_limits_text(service, Metric.SPO2))
        self.tiles["rr"].set_detail(_limits_text(service, Metric.RR))
        self.tiles["temp"].set_detail(_limits_text(service, Metric.TEMP))
        self.tiles["temp"].hide()
        self._nibp_limits = _limits_text(service, Metric.NIBP_SYS).replace("alarm limits", "SBP")
        self.tiles["nibp"].set_detail(f"no measurement yet\n{self._nibp_limits}")
        numerics = QGridLayout()
        numerics.setContentsMargins(0, 0, 0, 0)
        numerics.addWidget(self.tiles["nibp"], 0, 0, 1, 2)
        numerics.addWidget(self.tiles["hr"], 1, 0)
        numerics.addWidget(self.tiles["spo2"], 1, 1)
        numerics.addWidget(self.tiles["rr"], 2, 0, 1, 2)  # shares row 2 with TEMP once shown
        self._numerics = numerics
        log_title = QLabel("Alarm log")
        log_title.setObjectName("tileTitle")
        numerics.addWidget(log_title, 3, 0, 1, 2)
        numerics.addWidget(self.alarm_log, 4, 0, 1, 2)
        for row, stretch in enumerate((3, 3, 2, 0, 1)):
            numerics.setRowStretch(row, stretch)
        self.numerics_box = QWidget()
        self.numerics_box.setObjectName("numericsBox")
        self.numerics_box.setLayout(numerics)

        self.plots = TrendPlots(service.trends, service.policy)
        # Usable trends, but the first thing to scroll away when the screen is short.
        self.plots.setMinimumSize(240, 240)
        self._shown_policy = service.policy
        self.strip = TimelineStrip(service)
        workflow = self._build_workflow_bar()
        #: The workflow buttons' row (greyed as a whole while the screen is locked).
        self.workflow_bar = workflow

        # Everything but the numerics scrolls when the screen is short (issue 11 item 1):
        # the numerics column takes the height it needs first, at the top, beside it.
        rest = QWidget()
        rest.setObjectName("chairRest")
        rest_layout = QVBoxLayout(rest)
        rest_layout.setContentsMargins(0, 0, 0, 0)
        rest_layout.addWidget(self.alarm_controls)
        rest_layout.addWidget(workflow)
        rest_layout.addWidget(self.workflow_message)
        rest_layout.addWidget(self.strip)
        rest_layout.addWidget(self.plots, 1)
        self.rest_scroll = fallback_scroll(rest, "chairScroll")
        self.rest_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rest_scroll.setMinimumWidth(260)
        body = QHBoxLayout()
        body.addWidget(self.rest_scroll, 3)
        body.addWidget(self.numerics_box, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(self.header)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)

        #: The workflow dialog on screen (tests fill it and call accept()), if any.
        self.dialog: QDialog | None = None
        #: Why an action may not be done now (locked screen, role), None when it may; set by
        #: the shift (console.ui.shift_control).  None: everything is allowed.
        self.rights: Callable[[Action], str | None] | None = None
        #: Verifies a physician's name and password typed into an override dialog and returns
        #: the name to record (console.services.shift); None: the typed name is recorded.
        self.countersign: Callable[[str, str, Action], str] | None = None
        self._acting: Action | None = None
        self.resume_dialog: ResumeDialog | None = None
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.setInterval(MESSAGE_MS)
        self._message_timer.timeout.connect(self.workflow_message.clear)
        service.sig_session_changed.connect(self._on_service_session_changed)
        service.sig_resume_offered.connect(self._on_service_resume_offered)
        if service.pending_resume is not None:
            self._on_service_resume_offered(service.pending_resume)
        self._markers_for: tuple[int, int] = (-1, -1)
        self._shown_events = 0
        service.sig_vitals_updated.connect(self._on_service_vitals_updated)
        service.sig_alarms_changed.connect(self._on_service_alarms_changed)
        service.sig_link_state_changed.connect(self._on_service_link_state_changed)
        self._plot_timer = QTimer(self)
        self._plot_timer.setObjectName(f"plot-{service.settings.chair_name}")
        self._plot_timer.setInterval(PLOT_REFRESH_MS)
        self._plot_timer.timeout.connect(self._on_plot_timer_timeout)
        self._plot_timer.start()
        #: Delay of the first redraw after the panel is shown, so that panels shown together
        #: redraw their trends in different frames (set by the window; shared/performance.md E).
        self.redraw_offset_ms = 0
        self._on_service_link_state_changed(service.link_state)
        self._on_service_session_changed()
        # Built late (the window builds a chair's view on first show): the alarms already on
        # must colour the numerics at once, not at the next change.
        self._on_service_alarms_changed()
        self.refresh()

    # -- redraw only while on screen (16 chairs: hidden panels must cost nothing) -----------
    def showEvent(self, event: QShowEvent) -> None:
        """Catch up with the trends at once, then redraw periodically (staggered)."""
        super().showEvent(event)
        self.refresh()
        QTimer.singleShot(self.redraw_offset_ms, self, self._on_redraw_offset_elapsed)

    def hideEvent(self, event: QHideEvent) -> None:
        """A hidden panel does not redraw; :meth:`showEvent` catches up."""
        self._plot_timer.stop()
        super().hideEvent(event)

    def _on_redraw_offset_elapsed(self) -> None:
        if self.isVisible():
            self._plot_timer.start()

    def _on_plot_timer_timeout(self) -> None:
        if not self.isVisible():  # built but never shown (a stacked page): stop polling
            self._plot_timer.stop()
            return
        self.refresh()

    # -- slots -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Periodic redraw: trends, clock and value ages."""
        now = self.service.clock.now()
        elapsed = max(0, int(self.service.session_seconds(now)))
        self.clock.setText(
            f"Session {elapsed // 3600:02d}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}"
        )
        self.plots.refresh(self.service.session_seconds(now) / 60.0)
        self.strip.refresh(now)
        self.scores_due.show_due(self.service.workflow.due_observation(now), now)
        self._update_numerics(now)

    def _on_service_vitals_updated(self) -> None:
        self._update_numerics(self.service.clock.now())

    def _follow_policy(self) -> None:
        """Redraw limit lines and limit texts when the limits in force changed."""
        policy = self.service.policy
        if policy is self._shown_policy:
            return
        self._shown_policy = policy
        self.plots.set_policy(policy)
        for name, metric in (("hr", Metric.HR), ("spo2", Metric.SPO2), ("rr", Metric.RR)):
            self.tiles[name].set_detail(_limits_text(self.service, metric))
        self._nibp_limits = _limits_text(self.service, Metric.NIBP_SYS).replace(
            "alarm limits", "SBP"
        )

    def _on_service_alarms_changed(self) -> None:
        self._follow_policy()
        self._update_alarm_periods()
        alarms = list(self.service.active_alarms.values())
        by_tile: dict[str, Priority] = {}
        for a in alarms:
            tile = _tile_of(a.metric)
            if tile is not None:
                by_tile[tile] = max(by_tile.get(tile, a.priority), a.priority)
        for name, tile_widget in self.tiles.items():
            tile_widget.set_alarm(by_tile.get(name))

    def _update_alarm_periods(self) -> None:
        """Shade every physiological alarm on its trend: onset to end, or to now while on."""
        self.periods.follow(self.service)
        self.plots.set_alarm_periods(self.periods.values())

    def _on_service_link_state_changed(self, state: str) -> None:
        bg, fg = _LINK_STYLE.get(state, ("#37474f", "#ffffff"))
        self.link.setText(f"Monitor: {state.upper()}")
        self.link.setStyleSheet(f"background: {bg}; color: {fg};")

    # -- session workflow ------------------------------------------------------------------
    @property
    def user(self) -> str:
        """The operator named in the alarm strip: the author of every workflow step."""
        return self.alarm_controls.user

    def refused(self, action: Action | None) -> str | None:
        """The shift's refusal of ``action`` now (locked, or the role), or None."""
        if action is None or self.rights is None:
            return None
        return self.rights(action)

    def trigger(self, action: str) -> None:
        """Run a workflow action by name (the buttons and keys call this; so can tests).

        Refused by the shift (locked screen, another role), the chair's message line says why
        and nothing opens."""
        self._acting = ACTION_RIGHTS[action]
        why = self.refused(self._acting)
        if why is not None:
            self._show_message(f"Not done: {why}", ok=False)
            return
        {
            "new": self.new_session,
            "annotate": self.annotate,
            "start": self.start_infusion,
            "device": self.give_device,
            "checks": self.end_checks,
            "pause": self.pause_or_resume,
            "rate": self.change_rate,
            "stop": self.stop_infusion,
            "nibp": self.nibp_now,
            "end": self.end_session,
            "limits": self.edit_limits,
            "scores": self.enter_scores,
        }[action]()

    def edit_limits(self) -> None:
        """Open the limits dialog (non-modal): change one limit for this patient, with a reason."""
        self.limits_dialog = LimitsDialog(self.service, self.alarm_controls.user, self)
        self.limits_dialog.setObjectName("limitsDialog")
        self.limits_dialog.open()

    def new_session(self) -> None:
        """Open the start-session dialog (or the resume question, which comes first)."""
        svc = self.service
        if svc.pending_resume is not None:
            self._open_resume_dialog(svc.pending_resume)
            return
        monitor = (
            f"simulator ({svc.settings.simulator.protocol}), SIMULATED data"
            if svc.simulated
            else f"{svc.driver_kind} on {svc.device_url}"
        )
        dialog = NewSessionDialog(
            svc.repository,
            tasks=svc.db_tasks,
            policy=svc.session_policy,
            today=svc.clock.now().date(),
            monitor=monitor,
            profile=svc.settings.alarm_profile.name,
            parent=self,
        )
        self._guard(dialog, lambda: self._on_new_session_accepted(dialog))
        self._open(dialog)

    def start_infusion(self) -> None:
        """Start the pump; an unpassed pre-dose gate asks for the physician's decision first."""
        life = self.service.lifecycle
        blocked = (
            self.service.session_open
            and life.phase is Phase.BASELINE
            and life.planned
            and not life.may_start_infusion()
        )
        if not blocked:
            self._act(lambda: self.service.workflow.start_infusion(self.user), "Infusion started")
            return
        dialog = GateDialog(life.gate, self)
        if self.countersign is not None:  # the physician signs in the dialog itself
            add_physician_password(dialog)
        self._guard(dialog, lambda: self._on_gate_accepted(dialog), "Infusion started")
        self._open(dialog)

    def give_device(self) -> None:
        """ "Device given": one esketamine device now; an unpassed pre-dose gate asks for the
        physician's decision first (as the IV start does)."""
        svc, life = self.service, self.service.lifecycle
        if svc.session_open and life.phase is Phase.BASELINE and not life.may_start_infusion():
            dialog = GateDialog(life.gate, self)
            self._guard(dialog, lambda: self._on_gate_accepted(dialog))
            self._open(dialog)
            return
        self._act(self._device_step, "")

    def _device_step(self) -> None:
        ev = self.service.workflow.give_device(self.user)
        n, of = ev.data.get("device"), ev.data.get("of")
        if ev.text:  # given too early: the warning stays in the message line
            self._show_message(f"Device {n} of {of} recorded ({self.user}): {ev.text}", ok=False)
            return
        then = "observation started" if n == of else "next device in 5 min"
        self._show_message(f"Device {n} of {of} given; {then} ({self.user})", ok=True)

    def end_checks(self) -> None:
        """Record the esketamine end checks and the ready-to-leave time."""
        svc = self.service
        life = svc.lifecycle
        if not svc.session_open or life.esketamine is None:
            self._act(
                lambda: svc.workflow.record_end_checks(
                    self.user, occurred={}, resolved={}, ready_to_leave_at=svc.clock.now()
                ),
                "",
            )
            return
        first = life.devices_given[0] if life.devices_given else None
        dialog = EndChecksDialog(svc.clock.now(), first, self)

        def step() -> None:
            occurred, resolved = dialog.answers()
            svc.workflow.record_end_checks(
                self.user, occurred=occurred, resolved=resolved, ready_to_leave_at=dialog.ready_at()
            )

        self._guard(dialog, step, "End checks recorded")
        self._open(dialog)

    def pause_or_resume(self) -> None:
        """Pause a running pump (with a reason) or resume a paused one."""
        state = self.service.lifecycle.infusion
        if state is InfusionState.PAUSED:
            self._act(lambda: self.service.workflow.resume_infusion(self.user), "Infusion resumed")
        elif state is InfusionState.RUNNING and self.service.session_open:
            dialog = ReasonDialog("Pause infusion", PAUSE_REASONS, ok_text="Pause", parent=self)
            self._guard(
                dialog,
                lambda: self.service.workflow.pause_infusion(self.user, dialog.reason_text()),
                "Infusion paused",
            )
            self._open(dialog)
        else:  # the lifecycle explains why not
            self._act(lambda: self.service.workflow.pause_infusion(self.user, "-"), "")

    def change_rate(self) -> None:
        """Ask for the new rate and its reason."""
        life = self.service.lifecycle
        if life.infusion not in (InfusionState.RUNNING, InfusionState.PAUSED):
            self._act(lambda: self.service.workflow.change_rate(1.0, self.user, "-"), "")
            return
        dialog = ReasonDialog(
            "Change rate",
            RATE_REASONS,
            rate_ml_per_h=life.rate_ml_per_h or 0.0,
            ok_text="Change rate",
            parent=self,
        )

        def step() -> None:
            assert dialog.rate is not None
            rate = dialog.rate.value()
            self.service.workflow.change_rate(rate, self.user, dialog.reason_text())
            self._show_message(f"Rate changed to {rate:g} mL/h ({self.user})", ok=True)

        self._guard(dialog, step)
        self._open(dialog)

    def stop_infusion(self) -> None:
        """Stop the pump with a reason ("completed" for a normal end)."""
        life = self.service.lifecycle
        if life.infusion not in (InfusionState.RUNNING, InfusionState.PAUSED):
            self._act(lambda: self.service.workflow.stop_infusion(self.user, "-"), "")
            return
        dialog = ReasonDialog("Stop infusion", STOP_REASONS, ok_text="Stop", parent=self)
        dialog.set_reason("completed")
        self._guard(
            dialog,
            lambda: self.service.workflow.stop_infusion(self.user, dialog.reason_text()),
            "Infusion stopped; observation started",
        )
        self._open(dialog)

    def nibp_now(self) -> None:
        """Record an NIBP request and start the simulated cuff."""
        how = " (cuff started)" if self.service.simulator is not None else " (start the cuff)"
        self._act(lambda: self.service.workflow.request_nibp(self.user), f"NIBP requested{how}")

    def annotate(self) -> None:
        """Open the annotation dialog (nausea, vomiting, dissociation, intervention, note)."""
        if not self.service.session_open:
            self._act(
                lambda: self.service.workflow.annotate(EventKind.NOTE, self.user, text="-"), ""
            )
            return
        dialog = AnnotationDialog(self)

        def step() -> None:
            kind, text, score = dialog.annotation()
            self.service.workflow.annotate(kind, self.user, text=text, score=score)
            scored = "" if score is None else f", score {score:g}"
            self._show_message(f"Recorded: {text or kind.value}{scored} ({self.user})", ok=True)

        self._guard(dialog, step)
        self._open(dialog)

    def enter_scores(self) -> None:
        """Open the score entry on the due time point (MOAA/S, CADSS-6, nausea; issue 17)."""
        svc = self.service
        if not svc.session_open or svc.lifecycle.plan is None:
            self._act(lambda: svc.workflow.record_scores({}, self.user), "")
            return
        due = svc.workflow.due_observation()
        schedule = svc.workflow.observations
        dialog = ScoresDialog(
            [p.label for p in schedule.points],
            due=None if due is None else due.point.label,
            scales=schedule.scales,
            outcomes=svc.lifecycle.phase is Phase.BASELINE,
            parent=self,
        )

        def step() -> None:
            scores, point = dialog.scores(), dialog.time_point()
            svc.workflow.record_scores(scores, self.user, time_point=point)
            typed = ", ".join(f"{k} {v:g}" for k, v in scores.items())
            self._show_message(f"Scores at {point}: {typed} ({self.user})", ok=True)
            self.scores_due.show_due(svc.workflow.due_observation(), svc.clock.now())

        self._guard(dialog, step)
        self._open(dialog)

    def end_session(self) -> None:
        """Open the discharge checklist, or end early with a reason."""
        svc = self.service
        if not svc.session_open:
            self._act(lambda: svc.workflow.end_session_early(self.user, "-"), "")
            return
        life, now = svc.lifecycle, svc.clock.now()
        blocker = ""
        if life.infusion in (InfusionState.RUNNING, InfusionState.PAUSED):
            blocker = "The infusion is running: stop it first (F8), or end early with a reason."
        elif life.phase is Phase.BASELINE:
            blocker = "The infusion has not run: only ending early with a reason is possible."
        elif life.phase is Phase.OBSERVATION:
            ends = life.observation_ends_at()
            if ends is not None and ends > now:
                left = (ends - now).total_seconds() / 60.0
                blocker = (
                    f"Minimum observation not reached ({left:.0f} min left): the checks open "
                    "then; end early only with a reason."
                )
        dialog = DischargeDialog(
            svc.session_policy.discharge_items,
            answered=dict(life.discharge_checks),
            blocker=blocker,
            gate=None if blocker else svc.workflow.discharge_gate(),
            parent=self,
        )
        if self.countersign is not None:  # an override is signed in the dialog itself
            add_physician_password(dialog, after=dialog.override_reason)
        self._guard(dialog, lambda: self._on_discharge_accepted(dialog))
        if not blocker:  # the refusal follows new cuff readings and alarms while it is open

            def follow() -> None:
                dialog.set_gate(svc.workflow.discharge_gate())

            svc.sig_vitals_updated.connect(follow)
            svc.sig_alarms_changed.connect(follow)
            dialog.finished.connect(lambda _r: _disconnect(svc, follow))
        self._open(dialog)

    # -- workflow slots --------------------------------------------------------------------
    def _on_new_session_accepted(self, dialog: NewSessionDialog) -> None:
        plan = dialog.plan()
        self.service.workflow.new_session(plan, user=self.user)
        if plan.esketamine:
            self._show_message(
                f"Session started for {plan.mrn}: esketamine {plan.dose_mg:g} mg, lot "
                f"{plan.lot}; Device given: Ctrl+D ({self.user})",
                ok=True,
            )
            return
        self._show_message(
            f"Session started for {plan.mrn}: {plan.dose_mg:g} mg at {plan.rate_ml_per_h:g} "
            f"mL/h ({self.user})",
            ok=True,
        )

    def _on_gate_accepted(self, dialog: GateDialog) -> None:
        physician, reason = dialog.physician.text().strip(), dialog.reason.text().strip()
        if self.countersign is not None and not dialog.recorded:
            password = physician_password(dialog).text()
            physician = self.countersign(physician, password, Action.PRE_DOSE_OVERRIDE)
        svc = self.service
        record = (
            svc.workflow.physician_override if dialog.override else svc.workflow.physician_review
        )
        if not dialog.recorded:  # a start refused after the decision: not recorded twice
            record(physician=physician, reason=reason)
            dialog.recorded = True
        if svc.lifecycle.esketamine is not None:
            self._device_step()
            return
        svc.workflow.start_infusion(self.user)

    def _on_discharge_accepted(self, dialog: DischargeDialog) -> None:
        svc = self.service
        if dialog.action == DischargeDialog.END_EARLY:
            svc.workflow.end_session_early(self.user, dialog.end_reason())
            self._show_message(f"Session ended early ({self.user})", ok=True)
            return
        answers = dialog.answers()
        note = dialog.note.text().strip()
        physician, why = dialog.override()
        if physician and self.countersign is not None:
            password = physician_password(dialog).text()
            physician = self.countersign(physician, password, Action.DISCHARGE_OVERRIDE)
        closed = svc.workflow.discharge(
            answers, self.user, note, physician=physician, override_reason=why
        )
        if closed and physician:
            self._show_message(f"Session closed: discharge gate overridden by {physician}", ok=True)
        elif closed:
            self._show_message("Session closed: discharge checks passed", ok=True)
        else:
            missing = ", ".join(k for k, v in answers.items() if not v)
            self._show_message(f"Checks saved; still open: {missing}", ok=False)

    def _on_service_resume_offered(self, summary: SessionSummary) -> None:
        # After the event loop starts: the window is on screen before the question.
        QTimer.singleShot(0, self, lambda: self._open_resume_dialog(summary))

    def _open_resume_dialog(self, summary: SessionSummary) -> None:
        if self.resume_dialog is not None or self.service.pending_resume is None:
            return
        dialog = ResumeDialog(self.service.settings.chair_name, summary, self)
        self.resume_dialog = dialog

        def chosen() -> None:
            self.resume_dialog = None
            why = self.refused(Action.SESSIONS)  # a locked console does not decide it
            if why is not None:
                # The question stays open on the chair: New session (Ctrl+N) asks it again.
                self._show_message(f"Not done: {why}; then New session asks again", ok=False)
                return
            resume = dialog.resume
            what = f"Session #{summary.id} resumed" if resume else "New session started"
            if not self._act(lambda: self.service.decide_resume(resume, user=self.user), what):
                self._open_resume_dialog(summary)  # the question is still open

        dialog.accepted.connect(chosen)
        self._open(dialog)

    def _on_service_session_changed(self) -> None:
        svc = self.service
        if self.resume_dialog is not None and svc.pending_resume is None:
            self.resume_dialog.reject()  # the question was answered elsewhere (headless)
            self.resume_dialog = None
        life = svc.lifecycle
        key = (svc.last_session_id or -1, id(life))
        if key != self._markers_for:
            self._markers_for = key
            self.plots.clear_markers()
            self._shown_events = 0
            self._update_alarm_periods()  # a new session starts with none (AlarmPeriods)
        for group in _marker_groups(life.events[self._shown_events :]):
            self._add_marker(group)
        self._shown_events = len(life.events)
        self._update_workflow_buttons()
        self.strip.refresh()

    # -- workflow helpers -------------------------------------------------------------------
    def _build_workflow_bar(self) -> QWidget:
        """The workflow buttons in a flow: on a narrow screen they wrap into rows (in one row
        they made the window 1,640 px wide, issue 11 item 1); keys and order stay."""
        self.workflow_buttons: dict[str, QPushButton] = {}
        self.workflow_shortcuts: dict[str, QShortcut] = {}
        # The global theme sets one text colour for every widget: make disabled actions look
        # disabled, or a nurse presses a button that cannot act.
        style = (
            f"QPushButton {{ padding: 4px 10px; font-size: 14px; }}"
            f" QPushButton:disabled {{ color: {theme.STALE}; }}"
        )
        for name, (text, key) in ACTIONS.items():
            button = QPushButton(f"{text}  [{key}]")
            button.setObjectName(f"workflow-{name}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setStyleSheet(style)
            button.clicked.connect(lambda _checked=False, name=name: self.trigger(name))
            self.workflow_buttons[name] = button
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setObjectName(f"shortcut-{name}")
            # Window-wide, but a hidden chair's panel (another chair on screen) does not react.
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda name=name: self.trigger(name))
            self.workflow_shortcuts[name] = shortcut
        self.workflow_message = QLabel()
        self.workflow_message.setObjectName("workflowMessage")
        self.workflow_message.setWordWrap(True)
        return flow_widget(list(self.workflow_buttons.values()))

    def _update_workflow_buttons(self) -> None:
        svc = self.service
        life = svc.lifecycle
        open_ = svc.session_open and life.planned
        pump = life.infusion
        b = self.workflow_buttons
        esketamine = life.esketamine is not None
        for name in IV_ONLY_ACTIONS:
            b[name].setVisible(not esketamine)
        for name in ESKETAMINE_ONLY_ACTIONS:
            b[name].setVisible(esketamine)
        b["device"].setEnabled(open_ and life.phase in (Phase.BASELINE, Phase.INFUSION))
        b["checks"].setEnabled(open_ and life.phase in (Phase.OBSERVATION, Phase.DISCHARGE))
        b["stop"].setText("End dosing…  [F8]" if esketamine else "Stop infusion…  [F8]")
        b["start"].setEnabled(open_ and life.phase is Phase.BASELINE)
        b["pause"].setEnabled(open_ and pump in (InfusionState.RUNNING, InfusionState.PAUSED))
        text, key = ("Resume", "F6") if pump is InfusionState.PAUSED else ("Pause", "F6")
        b["pause"].setText(f"{text}  [{key}]")
        b["rate"].setEnabled(open_ and pump in (InfusionState.RUNNING, InfusionState.PAUSED))
        b["stop"].setEnabled(open_ and pump in (InfusionState.RUNNING, InfusionState.PAUSED))
        for name in ("nibp", "annotate", "scores", "end"):
            b[name].setEnabled(open_)
        gate = life.gate.verdict
        if open_ and life.phase is Phase.BASELINE and not life.may_start_infusion():
            b["start"].setToolTip(
                "Pre-dose gate: "
                + ("physician review" if gate is GateVerdict.REVIEW else "do not start")
                + " - "
                + "; ".join(life.gate.reasons)
            )
        else:
            b["start"].setToolTip("Start the pump (the pre-dose baseline is fixed now)")

    def _add_marker(self, group: list[SessionEvent]) -> None:
        ev = group[0]
        kind = ev.kind
        colour = MARKER_COLOURS.get(kind)
        label = ""
        if kind == EventKind.INFUSION_START:
            label = "start"
        elif kind == EventKind.INFUSION_PAUSE:
            label = "pause"
        elif kind == EventKind.INFUSION_RESUME:
            label = "resume"
        elif kind == EventKind.RATE_CHANGE:
            label = f"rate {ev.rate_ml_per_h or 0:g}"
        elif kind == EventKind.INFUSION_STOP:
            label = "stop"
        elif kind == EventKind.RESUMED:
            label = "resumed (gap)"
        elif kind == EventKind.OUTCOME_SCORE:
            return  # before the session, for the series view: not a trend marker
        elif score_label(ev) is not None:  # one marker, one line per set of scores
            colour, label = ANNOTATION_COLOUR, " · ".join(str(score_label(e)) for e in group)
        elif kind == EventKind.DEVICE_GIVEN:
            label = f"device {ev.data.get('device', '')}" + (" EARLY" if ev.text else "")
        elif kind in (
            EventKind.NAUSEA,
            EventKind.DISSOCIATION,
            EventKind.SEDATION,
            EventKind.INTERVENTION,
            EventKind.SYMPTOM,
        ) or (kind == EventKind.NOTE and not ev.data):
            colour = ANNOTATION_COLOUR
            score = f" {ev.score:g}" if ev.score is not None else ""
            label = f"{(ev.text or kind).split(';')[0][:24]}{score}"
        if not label or colour is None:
            return
        minutes = (ev.at - self.service.session_start).total_seconds() / 60.0
        self.plots.add_marker(minutes, label, colour)

    def _open(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._on_dialog_finished(dialog))
        dialog.open()

    def _on_dialog_finished(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _guard(self, dialog: GuardedDialog, step: Callable[[], object], done: str = "") -> None:
        """Run ``step`` when ``dialog`` is accepted; refused, the dialog stays open with the
        reason and everything typed (issue 11 item 7), and the reason shows here too.  The
        shift's rights are asked again at the OK: the screen may have locked, or another user
        switched in, while the dialog was open."""
        acting = self._acting

        def run() -> None:
            try:
                why = self.refused(acting)
                if why is not None:
                    raise IllegalTransitionError(why)
                step()
            except SessionRuleError as err:
                log.info("workflow step refused on %s: %s", self.service.settings.chair_name, err)
                self._show_message(f"Not done: {err}", ok=False)
                raise
            if done:
                self._show_message(f"{done} ({self.user})", ok=True)

        dialog.step = run

    def _act(self, action: Callable[[], object], done: str) -> bool:
        """Run one workflow step; show what happened, or why the lifecycle refused it."""
        try:
            action()
        except SessionRuleError as err:
            log.info("workflow step refused on %s: %s", self.service.settings.chair_name, err)
            self._show_message(f"Not done: {err}", ok=False)
            return False
        if done:
            self._show_message(f"{done} ({self.user})", ok=True)
        return True

    def _show_message(self, text: str, *, ok: bool) -> None:
        colour = "#3ddc84" if ok else "#ff5252"
        self.workflow_message.setStyleSheet(f"color: {colour}; font-size: 15px; font-weight: 600;")
        self.workflow_message.setText(text)
        self._message_timer.start()

    # -- helpers ---------------------------------------------------------------------------
    def _show_temp_tile(self) -> None:
        """RR gives half its row to the temperature tile."""
        rr, temp = self.tiles["rr"], self.tiles["temp"]
        self._numerics.removeWidget(rr)
        self._numerics.addWidget(rr, 2, 0)
        self._numerics.addWidget(temp, 2, 1)
        temp.show()

    def _age_s(self, at: datetime, now: datetime) -> float:
        return (now - at).total_seconds()

    def _update_numerics(self, now: datetime) -> None:
        latest = self.service.latest
        caption, hr = shown_heart_rate(latest, now)  # one rule with the overview (item 12)
        self.tiles["hr"].title.setText(caption)
        for name, value in (
            ("hr", hr),
            ("spo2", latest.get(Metric.SPO2)),
            ("rr", latest.get(Metric.RR)),
        ):
            if value is None:
                self.tiles[name].set_value("---")  # none yet, or a new session started clean
                continue
            stale = self._age_s(value.received_at, now) > CONTINUOUS_STALE_S
            self.tiles[name].set_value(f"{value.value:.0f}", stale=stale)
        temp = latest.get(Metric.TEMP)
        if temp is not None:
            if self.tiles["temp"].isHidden():
                self._show_temp_tile()
            stale = self._age_s(temp.received_at, now) > TEMP_STALE_S
            self.tiles["temp"].set_value(f"{temp.value:.1f}", stale=stale)
        sys_, dia, mean = (
            latest.get(m) for m in (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)
        )
        at = self.service.last_nibp_at
        if sys_ is None or dia is None or at is None:
            self.tiles["nibp"].set_value("---")
            self.tiles["nibp"].set_detail(f"no measurement yet\n{self._nibp_limits}")
        else:
            age = self._age_s(at, now)
            limit = self.service.settings.simulator.nibp_interval_s + NIBP_STALE_MARGIN_S
            stale = age > limit
            self.tiles["nibp"].set_value(f"{sys_.value:.0f}/{dia.value:.0f}", stale=stale)
            mean_text = f"({mean.value:.0f})" if mean is not None else "(--)"
            minutes = int(age // 60)
            state = "STALE - " if stale else ""
            self.tiles["nibp"].set_detail(
                f"mean {mean_text}   {state}last NIBP {at.astimezone():%H:%M:%S}"
                f" ({minutes} min ago)\n{self._nibp_limits}"
            )


def _marker_groups(events: list[SessionEvent]) -> list[list[SessionEvent]]:
    """Events to mark, one per marker: the scores of one entry (same time) share one."""
    groups: list[list[SessionEvent]] = []
    for ev in events:
        last = groups[-1][0] if groups else None
        timed = score_label(ev) is not None and ev.kind != EventKind.OUTCOME_SCORE
        if (
            timed
            and last is not None
            and last.at == ev.at
            and score_label(last) is not None
            and last.kind != EventKind.OUTCOME_SCORE
        ):
            groups[-1].append(ev)
        else:
            groups.append([ev])
    return groups


def _disconnect(svc: ChairService, slot: Callable[[], None]) -> None:
    svc.sig_vitals_updated.disconnect(slot)
    svc.sig_alarms_changed.disconnect(slot)


def _tile_of(metric: Metric) -> str | None:
    if metric in NIBP_METRICS:
        return "nibp"
    return {Metric.HR: "hr", Metric.SPO2: "spo2", Metric.RR: "rr", Metric.TEMP: "temp"}.get(metric)
