"""The console's main window: one chair directly, or an overview of up to 32 chairs.

With one chair the window is that chair's :class:`ChairPanel`, as a bedside screen.  With several
it is a stack: the :class:`ChairOverview` first, and one page per chair with a "back to
overview" button (Esc); Ctrl+1..9 open chairs 1-9 from anywhere.  Only the page on screen
redraws its plots (hidden panels stop their timers), so 16 chairs cost about what one does.

The menu bar lists the chairs, restarts a simulated chair with another scenario (a demo and
training aid), and opens the session review.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.config import Settings, sim_protocols
from console.services.chair_service import ChairService
from console.services.record_access import database_version
from console.ui.alarm_controls import default_operator
from console.ui.alarm_periods import AlarmPeriods
from console.ui.chair_panel import PLOT_REFRESH_MS, ChairPanel
from console.ui.console_strip import ConsoleStrip
from console.ui.overview import ChairOverview
from console.ui.quit_guard import QuitDialog, interrupt_all, open_sessions
from console.ui.shortcut_guard import ShortcutGuard
from console.version import console_version, python_version, qt_version
from devices.model import DeviceState
from devices.simulator.scenario import builtin_scenarios

log = logging.getLogger("ui")

#: Restarts chair ``index`` with new settings: stops the old service, returns the new, started.
RestartChair = Callable[[int, Settings], ChairService]

#: The scenario dialog's entry for "no script: the configured profile on its timeline".
PROFILE_ONLY = "(profile only, no script)"


def stop_chair(chair: ChairService) -> None:
    """Stop a chair once; a second call (window close, then app shutdown) does nothing."""
    if chair.runner is not None:
        chair.stop()


class ChairView(QWidget):
    """A chair's page in the multi-chair stack: a back bar above its :class:`ChairPanel`.

    Signals:
        sig_back_requested(): the nurse asked for the overview.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        """Empty until :meth:`set_panel`: the window builds a chair's panel on first show."""
        super().__init__(parent)
        self.back = QPushButton("◀  Overview  (Esc)")
        self.back.setObjectName("backToOverview")
        self.back.setToolTip("Back to all chairs (Esc)")
        self.back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.panel: ChairPanel | None = None

    def set_panel(self, panel: ChairPanel) -> ChairPanel | None:
        """Show ``panel`` instead of the current one; returns the old one (not deleted)."""
        old = self.panel
        # In the chair's own header row, not a row of its own: on a short screen every row
        # above the numerics counts (issue 11 item 1).
        panel.header.insertWidget(0, self.back)
        if old is None:
            self._layout.addWidget(panel, 1)
        else:
            old.header.removeWidget(self.back)
            self._layout.replaceWidget(old, panel)
            old.setParent(None)
        self.panel = panel
        return old


class ScenarioDialog(QDialog):
    """Pick a simulated chair, a scenario, a wire protocol and a seed to restart it with."""

    def __init__(
        self, chairs: Sequence[ChairService], current: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run scenario")
        self.chair = QComboBox()
        self._indices: list[int] = []
        for index, chair in enumerate(chairs):
            if chair.simulated:
                self.chair.addItem(chair.settings.chair_name)
                self._indices.append(index)
        self.scenario = QComboBox()
        self.scenario.addItems([PROFILE_ONLY, *builtin_scenarios()])
        self.protocol = QComboBox()
        self.protocol.addItems(list(sim_protocols()))
        self.seed = QSpinBox()
        self.seed.setRange(0, 1_000_000)
        self.speed = QDoubleSpinBox()
        self.speed.setRange(1.0, 1000.0)
        self.speed.setDecimals(0)
        self.speed.setSuffix(" x")
        self.speed.setToolTip("Time acceleration of this chair's simulated session (1 = real time)")
        self._chairs = list(chairs)
        self.chair.currentIndexChanged.connect(self._on_chair_current_index_changed)
        if current in self._indices:
            self.chair.setCurrentIndex(self._indices.index(current))
        self._on_chair_current_index_changed(self.chair.currentIndex())
        note = QLabel(
            "The chair's session ends and a new simulated session starts.\n"
            "A speed different from the console's runs this chair on its own clock."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Restart chair")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Chair", self.chair)
        form.addRow("Scenario", self.scenario)
        form.addRow("Protocol", self.protocol)
        form.addRow("Seed", self.seed)
        form.addRow("Speed", self.speed)
        form.addRow(note)
        form.addRow(buttons)

    @property
    def chair_index(self) -> int | None:
        """Index (in the window's chair list) of the chosen chair; None if none is simulated."""
        i = self.chair.currentIndex()
        return self._indices[i] if 0 <= i < len(self._indices) else None

    def settings_for(self, settings: Settings) -> Settings:
        """``settings`` with the chosen scenario, protocol, seed and speed."""
        scenario = self.scenario.currentText()
        return replace(
            settings,
            simulator=replace(
                settings.simulator,
                scenario="" if scenario == PROFILE_ONLY else scenario,
                protocol=self.protocol.currentText(),
                seed=self.seed.value(),
                speed=float(self.speed.value()),
            ),
        )

    def _on_chair_current_index_changed(self, row: int) -> None:
        if not 0 <= row < len(self._indices):
            return
        sim = self._chairs[self._indices[row]].settings.simulator
        self.scenario.setCurrentText(sim.scenario or PROFILE_ONLY)
        self.protocol.setCurrentText(sim.protocol)
        self.seed.setValue(sim.seed)
        self.speed.setValue(sim.speed)


class MainWindow(QMainWindow):
    """Top-level window hosting one chair, or the overview and a page per chair.

    Args:
        chairs: the chairs' services, in display order (1-32).
        db_label: the database shown in the status bar (password hidden).
        restart_chair: restarts a chair with new settings (the composition root owns the
            storage writer and clock a new service needs); None disables "Run scenario…".
        parent: Qt parent.
    """

    def __init__(
        self,
        chairs: Sequence[ChairService],
        *,
        db_label: str,
        restart_chair: RestartChair | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if not chairs:
            raise ValueError("the window needs at least one chair")
        self.chairs: list[ChairService] = list(chairs)
        self._restart_chair = restart_chair
        #: Each chair's full view, built when first shown (None until then): building 16
        #: took 1.6 s of a 4.4 s start-up (issue 14).  Their alarm periods are kept meanwhile.
        self._panels: list[ChairPanel | None] = [None] * len(self.chairs)
        self.periods: list[AlarmPeriods] = [AlarmPeriods() for _ in self.chairs]
        self.overview: ChairOverview | None = None
        self.stack: QStackedWidget | None = None
        self.views: list[ChairView] = []
        self._review_box: QMessageBox | None = None
        self.about_box: QMessageBox | None = None
        self.review_window: QWidget | None = None
        #: Called with each chair panel when it is built (the shift gives it its rights).
        self.panel_built: list[Callable[[ChairPanel], None]] = []
        self._title_suffix = ""
        #: Who the console credits when no chair view names anyone (set by the shift).
        self.credit: Callable[[], str | None] = lambda: None
        # Console faults (audio, storage) once, above the chairs: never in a chair's slot.
        self.console_strip = ConsoleStrip(self.chairs)
        central = QWidget()
        self._central = QVBoxLayout(central)
        self._central.setContentsMargins(0, 0, 0, 0)
        self._central.addWidget(self.console_strip)
        self.setCentralWidget(central)
        #: The question before closing with sessions open, while on screen (quit_guard).
        self.quit_dialog: QuitDialog | None = None
        self.close_confirmed = False
        if len(self.chairs) == 1:
            self._central.addWidget(self.panel_at(0), 1)
        else:
            self.overview = ChairOverview(self.chairs)
            self.overview.sig_chair_selected.connect(self.show_chair)
            self.stack = QStackedWidget()
            self.stack.addWidget(self.overview)
            for _chair in self.chairs:
                view = ChairView()
                view.back.clicked.connect(self.show_overview)
                self.views.append(view)
                self.stack.addWidget(view)
            self.stack.currentChanged.connect(self._on_stack_current_changed)
            self._central.addWidget(self.stack, 1)
            esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
            esc.setObjectName("shortcut-overview")
            esc.activated.connect(self.show_overview)
        self.storage_label = QLabel(f"Database: {db_label}")
        self.device_label = QLabel()
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.storage_label)
        for chair in self.chairs:
            self._watch(chair)
        self._build_menus()
        #: Documented keys act even while a text field (the nurse's name) has focus.
        self.shortcut_guard = ShortcutGuard(self)
        self._update_title()
        self._update_device_label()
        self._fit_to_screen()

    def _fit_to_screen(self) -> None:
        """Open at the screen's available size (the app then maximizes): never larger.

        Any screen from 1366x768 (and 910x512 logical at 150 % scaling) up holds the
        window: its content wraps, scales and scrolls (issue 11 item 1).  Before, a screen
        narrower than 1280 px got a fixed 1600x900 window, past its edges.
        """
        screen = self.screen()
        if screen is None:
            self.resize(1600, 900)
            return
        available = screen.availableGeometry()
        self.resize(available.size())

    # -- compatibility with the single-chair window ---------------------------------------
    @property
    def chair(self) -> ChairService:
        """The first (or only) chair."""
        return self.chairs[0]

    @property
    def panel(self) -> ChairPanel:
        """The first (or only) chair's panel."""
        return self.panel_at(0)

    @property
    def panels(self) -> list[ChairPanel]:
        """Every chair's panel, building those not shown yet (tests; the window itself
        builds a panel only when it is shown, :meth:`panel_at`)."""
        return [self.panel_at(i) for i in range(len(self.chairs))]

    def built_panel(self, index: int) -> ChairPanel | None:
        """Chair ``index``'s panel if it was built (shown, or asked a question)."""
        return self._panels[index]

    def panel_at(self, index: int) -> ChairPanel:
        """Chair ``index``'s panel, built now if it was not yet (with its alarm periods)."""
        panel = self._panels[index]
        if panel is None:
            panel = ChairPanel(self.chairs[index], periods=self.periods[index])
            self._panels[index] = panel
            for hook in self.panel_built:
                hook(panel)
            if self.views:
                # Panels on screen together (none today, a split view later) redraw apart.
                panel.redraw_offset_ms = index * PLOT_REFRESH_MS // len(self.chairs)
                self.views[index].set_panel(panel)
        return panel

    # -- navigation -----------------------------------------------------------------------
    @property
    def current_chair(self) -> int | None:
        """Index of the chair on screen, or None while the overview shows."""
        if self.stack is None:
            return 0
        page = self.stack.currentIndex()
        return page - 1 if page > 0 else None

    def show_overview(self) -> None:
        """Back to all chairs (no-op with a single chair)."""
        if self.stack is not None:
            self.stack.setCurrentIndex(0)

    def show_chair(self, index: int) -> None:
        """Open chair ``index``'s full view."""
        if not 0 <= index < len(self.chairs):
            return
        if self.stack is not None:
            self.panel_at(index)  # built before its page shows: never an empty page
            self.stack.setCurrentIndex(index + 1)

    # -- the shift (console.ui.shift_control) ---------------------------------------------
    def add_top_widget(self, widget: QWidget) -> None:
        """Put ``widget`` (the shift's strip) at the right of the menu bar, on every screen:
        in a row the window has anyway, so it costs the chairs no height."""
        self.menuBar().setCornerWidget(widget, Qt.Corner.TopRightCorner)

    def refit_top_widget(self) -> None:
        """Lay the menu bar out again after the top widget's text changed (the bar only
        follows a corner widget's show and hide by itself)."""
        widget = self.menuBar().cornerWidget(Qt.Corner.TopRightCorner)
        if widget is not None:
            widget.adjustSize()
            self.menuBar().setCornerWidget(widget, Qt.Corner.TopRightCorner)

    def set_title_suffix(self, suffix: str) -> None:
        """`` - DEMO`` or `` - LOCKED`` after the title (empty: none)."""
        self._title_suffix = suffix
        self._update_title()

    def set_menu_rights(self, *, scenarios: bool, review: bool) -> None:
        """What the shift allows of the menus: Run scenario (QA) and the review (logged in)."""
        self.run_scenario_action.setEnabled(
            scenarios and self._restart_chair is not None and any(c.simulated for c in self.chairs)
        )
        self.review_action.setEnabled(review)

    # -- status ---------------------------------------------------------------------------
    def set_storage_status(self, healthy: bool, detail: str) -> None:
        """Show whether records are reaching the database."""
        if healthy:
            self.storage_label.setStyleSheet("")
            self.statusBar().showMessage("Database available again", 10_000)
        else:
            self.storage_label.setStyleSheet("color: #ff5252; font-weight: 600;")
            self.statusBar().showMessage(f"STORAGE PROBLEM: {detail}")

    # -- chair restart --------------------------------------------------------------------
    def restart_chair(self, index: int, settings: Settings) -> ChairService:
        """Restart chair ``index`` with ``settings`` and put its new panel and tile in place.

        The old service is stopped cleanly first (its session is closed and flushed) by the
        ``restart_chair`` callable; the other chairs keep running throughout.

        Raises:
            RuntimeError: the window was built without a ``restart_chair`` callable.
        """
        if self._restart_chair is None:
            raise RuntimeError("this window cannot restart chairs")
        old_panel = self._panels[index]
        service = self._restart_chair(index, settings)
        self.chairs[index] = service
        self.periods[index] = AlarmPeriods()
        self._panels[index] = None
        if self.stack is None:
            panel = self.panel_at(index)
            if old_panel is not None:
                self._central.replaceWidget(old_panel, panel)
                old_panel.deleteLater()
        else:
            assert self.overview is not None
            if old_panel is not None:  # shown before: its page shows the new chair at once
                self.panel_at(index)
                old_panel.deleteLater()
            self.overview.replace_chair(index, service)
        self._watch(service)
        self.console_strip.set_chairs(self.chairs)
        self._rebuild_chair_menu()
        self._update_title()
        self._update_device_label()
        log.info("chair %s restarted (%s)", settings.chair_name, _describe(settings))
        self.statusBar().showMessage(
            f"{settings.chair_name} restarted: {_describe(settings)}", 10_000
        )
        return service

    # -- Qt overrides ---------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop every chair cleanly: monitors are told to stop and records are flushed.

        With a patient session open, ask first (console.ui.quit_guard); unconfirmed, nothing
        changes.
        """
        if not self.close_confirmed and open_sessions(self.chairs):
            event.ignore()
            self.ask_to_quit()
            return
        for chair in self.chairs:
            stop_chair(chair)
        super().closeEvent(event)

    def ask_to_quit(self) -> None:
        """Open the quit question (or keep the open one); Quit anyway records and closes."""
        if self.quit_dialog is not None:
            self.quit_dialog.raise_()
            return
        dialog = QuitDialog([text for _c, text in open_sessions(self.chairs)], self)
        self.quit_dialog = dialog
        dialog.accepted.connect(lambda: self.terminate(dialog.reason_text(), asked=True))
        dialog.finished.connect(lambda _result: setattr(self, "quit_dialog", None))
        dialog.open()

    def terminate(self, reason: str, *, asked: bool = False) -> None:
        """Close without asking (SIGTERM) or after the question: each open session records
        ``reason`` as interrupted and stays resumable."""
        by = self._operator if asked else (lambda _i: "operating system")
        interrupt_all(self.chairs, reason, by)
        self.close_confirmed = True
        self.close()

    def _operator(self, index: int) -> str:
        """Who is at chair ``index``: named in its panel, or the default operator when its
        view was never opened."""
        panel = self._panels[index]
        if panel is not None:
            return panel.user
        return self.credit() or default_operator()

    # -- menus ----------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.chairs_menu = bar.addMenu("&Chairs")
        self._rebuild_chair_menu()
        sim_menu = bar.addMenu("&Simulation")
        self.run_scenario_action = QAction("Run scenario…", self)
        self.run_scenario_action.setObjectName("action-run-scenario")
        self.run_scenario_action.triggered.connect(self._on_run_scenario_triggered)
        self.run_scenario_action.setEnabled(
            self._restart_chair is not None and any(c.simulated for c in self.chairs)
        )
        sim_menu.addAction(self.run_scenario_action)
        review_menu = bar.addMenu("&Review")
        self.review_action = QAction("Sessions…", self)
        self.review_action.setObjectName("action-review-sessions")
        self.review_action.triggered.connect(self._on_review_triggered)
        review_menu.addAction(self.review_action)
        help_menu = bar.addMenu("&Help")
        self.about_action = QAction("About Infusion Console…", self)
        self.about_action.setObjectName("action-about")
        self.about_action.triggered.connect(self._on_about_triggered)
        help_menu.addAction(self.about_action)

    def about_text(self) -> str:
        """What the About box says: every version a bug report needs (issue 15)."""
        return (
            f"Infusion Console {console_version()}\n\n"
            f"Python {python_version()}\n{qt_version()} (Qt {qVersion()})\n"
            f"Database: {database_version(self.chair.repository)}\n"
            f"Records in: {self.storage_label.text().removeprefix('Database: ')}"
        )

    def _on_about_triggered(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About Infusion Console",
            self.about_text(),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("aboutBox")
        if not self.windowIcon().isNull():  # the application's icon (console/ui/app_icon.py)
            box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        self.about_box = box  # reachable from tests while it is open
        box.open()  # window-modal, not blocking: the chairs keep updating behind it

    def _rebuild_chair_menu(self) -> None:
        menu = self.chairs_menu
        menu.clear()
        overview = menu.addAction("Overview")
        overview.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        overview.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # the QShortcut acts
        overview.setEnabled(self.stack is not None)
        overview.triggered.connect(self.show_overview)
        menu.addSeparator()
        for i, chair in enumerate(self.chairs):
            sim = "  (simulated)" if chair.simulated else ""
            action = menu.addAction(f"{chair.settings.chair_name}{sim}")
            action.setObjectName(f"action-chair-{i + 1}")
            if i < 9:
                action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _checked=False, i=i: self.show_chair(i))
        menu.addSeparator()
        quit_action = menu.addAction("Quit")
        quit_action.setObjectName("action-quit")
        quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)  # asks first while a session is open

    # -- slots ----------------------------------------------------------------------------
    def _on_run_scenario_triggered(self) -> None:
        dialog = ScenarioDialog(self.chairs, self.current_chair or 0, self)
        dialog.setObjectName("scenarioDialog")
        self.scenario_dialog = dialog  # reachable from tests while it is open
        dialog.accepted.connect(lambda: self._on_scenario_dialog_accepted(dialog))
        dialog.open()

    def _on_scenario_dialog_accepted(self, dialog: ScenarioDialog) -> None:
        index = dialog.chair_index
        if index is None:
            return
        self.restart_chair(index, dialog.settings_for(self.chairs[index].settings))

    def _on_review_triggered(self) -> None:
        try:
            # Imported on use: the review window is optional and slow to import.
            review = importlib.import_module("console.ui.review")
        except ModuleNotFoundError as err:
            if err.name != "console.ui.review":
                raise  # the module exists but is broken: our bug, raised loudly
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "Session review",
                "Session review is not available in this version of the console.",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("reviewMissingBox")
            self._review_box = box
            box.open()  # window-modal, not blocking: the chairs keep updating behind it
            return
        # Kept: the review is its own top-level window and must outlive this slot.
        self.review_window = review.open_review_window(
            self.chair.repository, self, profile=self.chair.settings.alarm_profile
        )

    def _on_chair_link_state_changed(self, state: str) -> None:
        del state
        self._update_device_label()

    def _on_stack_current_changed(self, page: int) -> None:
        self._update_device_label()
        if page > 0:
            self.panel_at(page - 1).setFocus()

    def _on_chair_technical_event(self, chair: ChairService, kind: str, detail: str) -> None:
        if chair not in self.chairs:
            return  # a replaced chair's last words
        self._update_device_label()
        who = f"{chair.settings.chair_name}: " if len(self.chairs) > 1 else ""
        if kind == "frame_error":
            self.statusBar().showMessage(
                f"{who}Frame errors: {chair.frame_errors} (last: {detail})", 5_000
            )
        else:
            self.statusBar().showMessage(f"{who}Monitor {kind}: {detail}", 10_000)

    # -- helpers --------------------------------------------------------------------------
    def _watch(self, chair: ChairService) -> None:
        # A chair's alarm periods are kept from the start, its view built or not.
        chair.sig_alarms_changed.connect(lambda chair=chair: self._follow_periods(chair))
        chair.sig_session_changed.connect(lambda chair=chair: self._follow_periods(chair))
        # A question for the nurse (resume the interrupted session?) needs the chair's view.
        chair.sig_resume_offered.connect(lambda _s, chair=chair: self._build_panel_of(chair))
        if chair.pending_resume is not None:
            self._build_panel_of(chair)
        chair.sig_technical_event.connect(
            lambda kind, detail, chair=chair: self._on_chair_technical_event(chair, kind, detail)
        )
        chair.sig_link_state_changed.connect(self._on_chair_link_state_changed)

    def _follow_periods(self, chair: ChairService) -> None:
        """Keep the periods of a chair whose view is not built; a built view follows them
        itself (the same :class:`AlarmPeriods`), so each change is computed once."""
        if chair not in self.chairs:  # a replaced chair's last words
            return
        index = self.chairs.index(chair)
        if self._panels[index] is None:
            self.periods[index].follow(chair)

    def _build_panel_of(self, chair: ChairService) -> None:
        if chair in self.chairs:
            self.panel_at(self.chairs.index(chair))

    def _update_title(self) -> None:
        if len(self.chairs) == 1:
            chair = self.chairs[0]
            self.setWindowTitle(
                f"Infusion Console - {chair.settings.chair_name}"
                + (" - SIMULATED" if chair.simulated else "")
                + self._title_suffix
            )
            return
        simulated = sum(c.simulated for c in self.chairs)
        sim = ""
        if simulated == len(self.chairs):
            sim = " - SIMULATED"
        elif simulated:
            sim = f" - {simulated} SIMULATED"
        self.setWindowTitle(
            f"Infusion Console - {len(self.chairs)} chairs{sim}{self._title_suffix}"
        )

    def _update_device_label(self) -> None:
        index = self.current_chair
        if index is None:
            streaming = sum(c.link_state == DeviceState.STREAMING.value for c in self.chairs)
            self.device_label.setText(
                f"{len(self.chairs)} chairs, {streaming} monitors streaming   "
            )
            return
        chair = self.chairs[index]
        sim = " (simulated monitor)" if chair.simulated else ""
        who = f"{chair.settings.chair_name} - " if len(self.chairs) > 1 else ""
        self.device_label.setText(f"{who}Device: {chair.device_url}{sim}   ")


def _describe(settings: Settings) -> str:
    sim = settings.simulator
    what = f"scenario {sim.scenario}" if sim.scenario else f"profile {sim.profile}"
    return f"{what}, {sim.protocol}, seed {sim.seed}"
