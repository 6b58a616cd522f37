"""The review of one stored session: trends, alarms, events, dose, thresholds, sign-off.

Read-only on the record: the only thing written is the physician's sign-off (a new row; see
console.storage.review).  Plots use minutes from the infusion start as x (the peak is expected
at 30-40 min, clinical.md D 18), alarm periods are shaded in their priority colour, missing data
is drawn as a gap (and hatched), and the events are vertical markers.  A click on an alarm moves
every plot to that moment.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import Priority, format_value
from console.domain.observations import score_label, score_sets
from console.domain.review import (
    DBP,
    HR,
    MAP,
    PARAMETER_LABELS,
    RR,
    SBP,
    SPO2,
    ReviewSummary,
    local_time,
    minutes_text,
    summarize,
    with_gap_breaks,
)
from console.domain.roles import RoleRefusedError
from console.reports import html as rh
from console.reports.rems import sign_off_refusal
from console.reports.session_type_html import session_type_html
from console.services.db_tasks import DatabaseTasks
from console.services.record_access import SIGNATURE_MEANING, ReviewRepository, StoredSession
from console.ui import theme
from devices.model import Metric

#: Half-width of the window an alarm click shows, in minutes.
JUMP_HALF_WIDTH_MIN = 10.0

_PLOTS: tuple[tuple[str, str, tuple[float, float], tuple[str, ...]], ...] = (
    ("bp", "NIBP mmHg", (40.0, 220.0), (SBP, DBP, MAP)),
    ("hr", "HR /min", (30.0, 160.0), (HR,)),
    ("spo2", "SpO2 %", (80.0, 101.0), (SPO2,)),
    ("rr", "RR /min", (0.0, 40.0), (RR,)),
)
_PRIORITY = {"high": Priority.HIGH, "medium": Priority.MEDIUM, "low": Priority.LOW}


def _colour(parameter: str) -> str:
    try:
        return theme.METRIC_COLOURS[Metric(parameter)]
    except (KeyError, ValueError):
        return theme.TEXT


class ReviewPlots(pg.GraphicsLayoutWidget):  # type: ignore[misc]  # pyqtgraph is untyped
    """Stacked, x-linked trend plots of a stored session plus the pump-rate strip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        first: pg.PlotItem | None = None
        for row, (name, label, y_range, _params) in enumerate(_PLOTS):
            plot = self.addPlot(row=row, col=0)
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMouseEnabled(x=True, y=False)
            plot.setYRange(*y_range, padding=0)
            plot.setClipToView(True)
            if first is None:
                first = plot
                plot.addLegend(offset=(10, 5), labelTextColor=theme.TEXT, brush=theme.PANEL)
            else:
                plot.setXLink(first)
            self.plots[name] = plot
        rate = self.addPlot(row=len(_PLOTS), col=0)
        rate.setLabel("left", "pump mL/h")
        rate.setMouseEnabled(x=True, y=False)
        rate.setXLink(first)
        rate.setMaximumHeight(110)
        rate.showGrid(x=True, y=True, alpha=0.15)
        self.plots["rate"] = rate
        self.rate_curve = rate.plot(pen=pg.mkPen("#b39ddb", width=2), stepMode="center")
        self.ci.layout.setRowStretchFactor(len(_PLOTS), 0)

    @property
    def master(self) -> pg.PlotItem:
        """The plot every other plot's x axis is linked to."""
        return self.plots["bp"]

    def x_range(self) -> tuple[float, float]:
        """The visible x range (minutes from the infusion start)."""
        lo, hi = self.master.viewRange()[0]
        return float(lo), float(hi)

    def show_minutes(self, centre: float, half_width: float = JUMP_HALF_WIDTH_MIN) -> None:
        """Move all plots so ``centre`` is in the middle of a ``2 * half_width`` window."""
        self.master.setXRange(centre - half_width, centre + half_width, padding=0)

    def load(
        self, stored: StoredSession, summary: ReviewSummary, profile: ThresholdProfile
    ) -> None:
        """Draw the session."""
        origin = summary.origin.timestamp()

        def minutes(at: datetime) -> float:
            return (at.timestamp() - origin) / 60.0

        x0, x1 = minutes(summary.started_at), minutes(summary.monitoring_end)
        for name, _label, _y, params in _PLOTS:
            plot = self.plots[name]
            if name == "rr":
                axis = "infusion" if summary.infusion.start else "session"
                plot.setLabel("bottom", f"min from {axis} start")
            for alarm in summary.alarms:
                if alarm.parameter in params:
                    fill = QColor(
                        theme.PRIORITY_COLOURS.get(_PRIORITY.get(alarm.priority, Priority.LOW))
                    )
                    fill.setAlpha(55)
                    region = pg.LinearRegionItem(
                        (minutes(alarm.onset), minutes(alarm.shade_end)),
                        movable=False,
                        brush=fill,
                        pen=pg.mkPen(None),
                    )
                    region.setZValue(-10)
                    plot.addItem(region)
            for c in summary.completeness:
                if c.parameter != params[0]:
                    continue
                for g in c.gaps:
                    region = pg.LinearRegionItem(
                        (minutes(g.start), minutes(g.end)),
                        movable=False,
                        brush=pg.mkBrush(120, 120, 120, 45),
                        pen=pg.mkPen(None),
                    )
                    region.setZValue(-11)
                    plot.addItem(region)
            for p in params:
                trend = stored.trends.get(p)
                if trend is None or not len(trend.t):
                    continue
                t, v = with_gap_breaks(trend.t, trend.value, summary.gap_breaks_s.get(p, math.inf))
                nibp = name == "bp"
                curve = plot.plot(
                    (t - origin) / 60.0,
                    v,
                    pen=pg.mkPen(_colour(p), width=2),
                    symbol="o" if nibp else None,
                    symbolSize=6,
                    symbolBrush=_colour(p),
                    symbolPen=None,
                    connect="finite",
                    name=PARAMETER_LABELS.get(p, p) if nibp else None,
                )
                if not nibp:
                    curve.setDownsampling(auto=True, method="peak")
                self.curves[p] = curve
                try:
                    rules = profile.policy.limit_lines(Metric(p))
                except ValueError:
                    rules = []
                for rule in rules:
                    plot.addItem(
                        pg.InfiniteLine(
                            pos=rule.limit,
                            angle=0,
                            movable=False,
                            pen=pg.mkPen(
                                theme.PRIORITY_COLOURS[rule.priority],
                                width=1,
                                style=Qt.PenStyle.DashLine,
                            ),
                        )
                    )
            for e in stored.events:
                if e.kind == "discharge_check" or score_label(e) is not None:
                    continue  # scores: one labelled marker per set, below
                marker = pg.InfiniteLine(
                    pos=minutes(e.at),
                    angle=90,
                    movable=False,
                    pen=pg.mkPen("#9575cd", width=1, style=Qt.PenStyle.DotLine),
                    label=e.kind.replace("_", " ") if name == "bp" else None,
                    labelOpts={"position": 0.93, "color": "#b39ddb", "rotateAxis": (1, 0)},
                )
                plot.addItem(marker)
            for i, (at, text) in enumerate(score_sets(stored.events)):
                # One line per set, across the bottom of the BP plot as on the chair; sets a
                # minute apart (40 min, end of infusion) step up so they do not overlap.
                plot.addItem(
                    pg.InfiniteLine(
                        pos=minutes(at),
                        angle=90,
                        movable=False,
                        pen=pg.mkPen("#ce93d8", width=1, style=Qt.PenStyle.DotLine),
                        label=text if name == "bp" else None,
                        labelOpts={
                            "position": 0.06 + 0.1 * (i % 3),
                            "color": "#ce93d8",
                            "anchors": [(0, 0.5), (0, 0.5)],
                        },
                    )
                )
        steps = summary.infusion.steps
        if steps:
            xs = [minutes(s.at) for s in steps] + [x1]
            ys = [s.rate_ml_per_h or 0.0 for s in steps]
            self.rate_curve.setData(np.asarray(xs), np.asarray(ys))
            self.plots["rate"].setYRange(0, max([*ys, 1.0]) * 1.2, padding=0)
        self.master.setXRange(x0, max(x1, x0 + 1.0), padding=0.01)


class SessionReviewView(QWidget):
    """Everything about one stored session, with the physician's sign-off.

    Signals:
        sig_signed_off(int): a sign-off or addendum was stored for the session (its id).
        sig_series_requested(int): the user asked for this patient's series (patient id).
    """

    sig_signed_off = Signal(int)
    """A sign-off or addendum was stored (session id)."""
    sig_series_requested = Signal(int)
    """The series of this patient id was asked for."""

    def __init__(
        self,
        repo: ReviewRepository,
        session_id: int,
        *,
        profile: ThresholdProfile | None = None,
        nibp_interval_s: float = 300.0,
        parent: QWidget | None = None,
        tasks: DatabaseTasks | None = None,
        user: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.repo = repo
        #: Reads and sign-offs run here, not on the GUI thread (issue 12 item 9).
        self.tasks = tasks or DatabaseTasks("db-review", self)
        self.session_id = session_id
        self.profile = profile or ThresholdProfile()
        self.nibp_interval_s = nibp_interval_s
        self.setObjectName("sessionReview")

        self.title = QLabel()
        self.title.setObjectName("chairTitle")
        self.sim_badge = QLabel("SIMULATED SESSION - NOT PATIENT DATA")
        self.sim_badge.setObjectName("simBadge")
        self.live_badge = QLabel("IN PROGRESS")
        self.live_badge.setStyleSheet(
            "background: #f9a825; color: #111; font-weight: 700; padding: 4px 10px;"
            " border-radius: 4px;"
        )
        self.reload_button = QPushButton("Reload")
        self.series_button = QPushButton("Patient series")
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.sim_badge)
        head.addWidget(self.live_badge)
        head.addStretch(1)
        head.addWidget(self.series_button)
        head.addWidget(self.reload_button)

        self.plots = ReviewPlots()
        self.summary_view = QTextBrowser()
        self.alarm_table = QTableWidget(0, 8)
        self.alarm_table.setHorizontalHeaderLabels(
            ["onset", "priority", "param", "value", "limit", "acknowledged", "end", "message"]
        )
        self.event_table = QTableWidget(0, 5)
        self.event_table.setHorizontalHeaderLabels(["time", "rel.", "event", "detail", "by"])
        for t in (self.alarm_table, self.event_table):
            t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
            t.verticalHeader().setVisible(False)
            t.horizontalHeader().setStretchLastSection(True)
        self.infusion_view = QTextBrowser()
        self.session_type_view = QTextBrowser()
        self.session_type_view.setObjectName("sessionTypeView")
        self.threshold_view = QTextBrowser()
        self.completeness_view = QTextBrowser()
        self.signoff_view = QTextBrowser()
        self.signoff_name = QLineEdit(user or "")
        self.signoff_name.setPlaceholderText("physician name")
        self.signoff_password = QLineEdit()
        self.signoff_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.signoff_password.setPlaceholderText("re-enter your password to sign")
        self.signoff_note = QPlainTextEdit()
        self.signoff_note.setPlaceholderText("note (optional)")
        self.signoff_note.setMaximumHeight(90)
        self.signoff_button = QPushButton("Sign off")
        #: One line: what the signature will mean, or why it was refused.
        self.signoff_status = QLabel()
        self.signoff_status.setWordWrap(True)
        sign = QWidget()
        form = QFormLayout(sign)
        form.addRow(self.signoff_view)
        form.addRow("Physician", self.signoff_name)
        form.addRow("Password", self.signoff_password)
        form.addRow("Note", self.signoff_note)
        form.addRow(self.signoff_status)
        form.addRow(self.signoff_button)
        self._sign_form = form
        #: Whether the database has accounts (then the password is required); read at reload.
        self.accounts = False

        self.tabs = QTabWidget()
        self.tabs.addTab(self.summary_view, "Summary")
        self.tabs.addTab(self.alarm_table, "Alarms")
        self.tabs.addTab(self.event_table, "Events")
        self.tabs.addTab(self.infusion_view, "Dose")
        self.tabs.addTab(self.session_type_view, "Start / REMS")
        self.tabs.addTab(self.threshold_view, "Thresholds")
        self.tabs.addTab(self.completeness_view, "Completeness")
        self.tabs.addTab(sign, "Sign-off")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plots)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(split, 1)

        self.alarm_table.cellClicked.connect(self._on_alarm_table_clicked)
        self.event_table.cellClicked.connect(self._on_event_table_clicked)
        self.signoff_button.clicked.connect(self._on_signoff_clicked)
        self.reload_button.clicked.connect(self.reload)
        self.series_button.clicked.connect(self._on_series_clicked)
        self.stored: StoredSession
        self.summary: ReviewSummary
        self.reload()

    def reload(self) -> None:
        """Read the record again (a session in progress grows meanwhile) and redraw."""
        repo, sid = self.repo, self.session_id
        self.stored, self.accounts = self.tasks.call(lambda: (repo.load(sid), repo.has_accounts()))
        self.summary = summarize(self.stored.inputs(self.nibp_interval_s))
        self._fill()

    def _fill(self) -> None:
        s, m = self.stored, self.summary
        r = s.record
        who = "no patient" if s.patient is None else f"{s.patient.mrn} {s.patient.display_name}"
        number = "" if r.series_number is None else f" #{r.series_number}"
        self.title.setText(
            f"Session {r.id}{number} - {who} - {local_time(r.started_at, day=True, seconds=False)}"
            f" - {r.chair}"
        )
        self.sim_badge.setVisible(r.simulated)
        self.live_badge.setVisible(m.in_progress)
        self.series_button.setEnabled(s.patient is not None)
        old = self.plots
        self.plots = ReviewPlots()
        split = old.parentWidget()
        assert isinstance(split, QSplitter)
        split.replaceWidget(0, self.plots)
        old.deleteLater()
        # The limit lines are those stored with the session; older records fall back to the
        # console's profile (the Thresholds tab says which).
        self.plots.load(s, m, s.thresholds(self.profile)[0])
        p = rh.SCREEN
        self.summary_view.setHtml(rh.header_html(s, m, p) + "<br/>" + rh.figures_html(m, p))
        self.infusion_view.setHtml(rh.infusion_html(m, p))
        self.session_type_view.setHtml(session_type_html(s, p))
        self.threshold_view.setHtml(rh.thresholds_html(s, m, self.profile, p))
        self.completeness_view.setHtml(rh.completeness_html(m, p))
        self._fill_signoff()
        self._fill_alarms()
        self._fill_events()

    def _fill_alarms(self) -> None:
        t = self.alarm_table
        t.setRowCount(len(self.summary.alarms))
        for i, a in enumerate(self.summary.alarms):
            ack = a.first_ack
            cells = [
                local_time(a.onset),
                a.priority,
                PARAMETER_LABELS.get(a.parameter, a.parameter),
                format_value(a.parameter, a.value),  # SpO2 91, never 91.04
                "-" if a.limit_value is None else f"{a.limit_value:g}",
                "-" if ack is None else f"{ack.actor} {local_time(ack.at)}",
                "open" if a.end is None else local_time(a.end),
                a.message,
            ]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 1:
                    prio = _PRIORITY.get(a.priority)
                    if prio is not None:
                        item.setBackground(QColor(theme.PRIORITY_COLOURS[prio]))
                        item.setForeground(QColor(theme.PRIORITY_TEXT[prio]))
                t.setItem(i, j, item)
        t.resizeColumnsToContents()

    def _fill_events(self) -> None:
        t = self.event_table
        events = self.stored.events
        t.setRowCount(len(events))
        for i, e in enumerate(events):
            cells = [
                local_time(e.at),
                minutes_text(
                    self.summary.minutes(e.at) - self.summary.minutes(self.summary.origin)
                ),
                e.kind.replace("_", " "),
                rh.full_detail(e),
                e.author,
            ]
            for j, text in enumerate(cells):
                t.setItem(i, j, QTableWidgetItem(text))
        t.resizeColumnsToContents()

    def jump_to(self, at: datetime) -> None:
        """Centre every plot on ``at``."""
        self.plots.show_minutes((at - self.summary.origin).total_seconds() / 60.0)

    def _on_alarm_table_clicked(self, row: int, _column: int) -> None:
        self.jump_to(self.summary.alarms[row].onset)

    def _on_event_table_clicked(self, row: int, _column: int) -> None:
        self.jump_to(self.stored.events[row].at)

    def _on_series_clicked(self) -> None:
        if self.stored.patient is not None:
            self.sig_series_requested.emit(self.stored.patient.id)

    def _fill_signoff(self) -> None:
        s = self.stored
        self.signoff_view.setHtml(rh.signoff_html(s, rh.SCREEN) + rh.discharge_html(s, rh.SCREEN))
        self._sign_form.setRowVisible(self.signoff_password, self.accounts)
        self.signoff_button.setText("Sign addendum" if s.signed_off else "Sign off")
        if self.accounts:
            meaning = (
                f"Your signature means: {SIGNATURE_MEANING}. It shows your printed name, "
                "the date and time; the signed record can no longer change."
            )
        else:
            meaning = (
                "This database has no accounts: the signature stores the typed name, marked "
                f"{rh.UNVERIFIED_LABEL}."
            )
        self.signoff_status.setStyleSheet(f"color: {theme.TEXT};")
        self.signoff_status.setText(meaning)

    def sign_off(self, name: str, note: str, password: str = "") -> None:
        """Store the signed sign-off (or addendum) and show it.

        Raises:
            ValueError: no name or password, a session still in progress, or an esketamine
                session whose REMS form lacks a required field (the fields are named).
            PermissionError: wrong password, locked or disabled account, or not a physician.
        """
        repo, sid = self.repo, self.session_id

        interval = self.nibp_interval_s

        def store() -> StoredSession:
            why = sign_off_refusal(repo.load(sid), interval)
            if why is not None:  # an esketamine session waits for its REMS form
                raise ValueError(why)
            repo.sign_off(sid, by=name, note=note, password=password or None)
            return repo.load(sid)

        self.stored = self.tasks.call(store)
        self.signoff_note.clear()
        self.signoff_password.clear()
        self._fill_signoff()
        self.signoff_status.setText(rh.signature_text(self.stored.sign_offs[-1]))
        self.sig_signed_off.emit(self.session_id)

    def _on_signoff_clicked(self) -> None:
        try:
            self.sign_off(
                self.signoff_name.text(),
                self.signoff_note.toPlainText(),
                self.signoff_password.text(),
            )
        except (ValueError, PermissionError) as err:
            # One line, in place; the name and the note stay as typed.
            self.signoff_status.setStyleSheet(f"color: {theme.PRIORITY_COLOURS[Priority.HIGH]};")
            self.signoff_status.setText(f"Not signed: {err}")
            if not isinstance(err, RoleRefusedError):
                self.signoff_password.clear()
