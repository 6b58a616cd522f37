"""The shift on screen: the strip saying who is logged in (or LOCKED, or DEMO), the Shift menu,
the idle lock, and the rights every chair's workflow asks (issue 16).

The lock hides nothing clinical: the strip is one line above the chairs; numerics, banners,
overview tiles, trends and the alarm log stay visible and live.  What locks is the workflow
(each chair's buttons and keys answer "log in first" in the chair's message line), its dialogs
(an open one refuses its OK with the same line, keeping what was typed), the scenario runner
and the review.  Acknowledge (F2) and audio pause (F3) always work, credited to the logged-in
user or to ``locked console STATION``.

Keys: Ctrl+L log in, Ctrl+U switch user (name + PIN), Ctrl+Shift+L lock now; Shift > Set my
PIN… asks for the password and then the PIN twice.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QWidget

from console.services.account_access import Action
from console.services.shift import DEMO_CREDIT, Shift, ShiftState
from console.ui.alarm_controls import default_operator
from console.ui.chair_panel import ChairPanel
from console.ui.main_window import MainWindow
from console.ui.shift_dialogs import (
    CreateAdminDialog,
    LoginDialog,
    PinDialog,
    SetPinDialog,
    ShiftDialog,
)

#: Input that counts as someone at the console (anything else, e.g. a repaint, does not).
ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)

_STYLES = {
    "locked": "background: #4a148c; color: #ffffff;",
    "demo": "background: #e65100; color: #ffffff;",
    "open": "background: #263238; color: #ffffff;",
}


class ShiftBar(QWidget):
    """One line above the chairs: who is logged in, LOCKED or DEMO, and the shift's buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shiftBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setObjectName("shiftState")
        self.label.setStyleSheet("font-size: 14px; font-weight: 700; background: transparent;")
        self.login_button = QPushButton("Log in…  [Ctrl+L]")
        self.login_button.setObjectName("shiftLogin")
        self.switch_button = QPushButton("Switch user…  [Ctrl+U]")
        self.switch_button.setObjectName("shiftSwitch")
        self.lock_button = QPushButton("Lock  [Ctrl+Shift+L]")
        self.lock_button.setObjectName("shiftLock")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 4, 0)
        layout.setSpacing(6)
        layout.addWidget(self.label, 1)
        for button in (self.login_button, self.switch_button, self.lock_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setStyleSheet("padding: 1px 8px;")
            layout.addWidget(button)

    def show_state(self, text: str, kind: str) -> None:
        """Show ``text`` in the colours of ``kind`` (locked, demo, open)."""
        self.label.setText(text)
        self.setStyleSheet(f"QWidget#shiftBar {{ {_STYLES[kind]} }}")


class IdleLock(QObject):
    """Locks the shift after ``minutes`` without keyboard or mouse input anywhere in the app.

    An application event filter: any input restarts the timer.  ``interval_ms`` lets a test
    use a short time instead of minutes.
    """

    def __init__(self, shift: Shift, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shift = shift
        self.timer = QTimer(self)
        self.timer.setObjectName("idleLock")
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.shift.lock)
        app = QApplication.instance()
        assert app is not None, "a QApplication must exist before the idle lock"
        app.installEventFilter(self)
        self.timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any input restarts the countdown (the event itself goes on untouched)."""
        if event.type() in ACTIVITY:
            self.timer.start()
        return False


class ShiftControl(QObject):
    """Puts the shift on ``window``: strip, menu, keys, idle lock and every panel's rights.

    Args:
        window: the console's main window.
        shift: the log-in state (already started or not).
        idle_lock_ms: time without input before the screen locks.
    """

    def __init__(self, window: MainWindow, shift: Shift, *, idle_lock_ms: int) -> None:
        super().__init__(window)
        self.window = window
        self.shift = shift
        self.bar = ShiftBar()
        window.add_top_widget(self.bar)
        #: The shift dialog on screen, if any (tests fill it and call accept()).
        self.dialog: ShiftDialog | None = None
        self._admin_asked = False
        self.idle = IdleLock(shift, idle_lock_ms, self)
        self._build_menu()
        self.bar.login_button.clicked.connect(self.open_login)
        self.bar.switch_button.clicked.connect(self.open_switch)
        self.bar.lock_button.clicked.connect(self.shift.lock)
        window.panel_built.append(self._on_panel_built)
        for index in range(len(window.chairs)):
            panel = window.built_panel(index)
            if panel is not None:
                self._on_panel_built(panel)
        shift.sig_changed.connect(self.refresh)
        self.refresh()

    # -- menu ------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        menu = self.window.menuBar().addMenu("Shi&ft")
        self.login_action = self._action(menu.addAction("Log in…"), "login", "Ctrl+L")
        self.login_action.triggered.connect(self.open_login)
        self.switch_action = self._action(menu.addAction("Switch user…"), "switch", "Ctrl+U")
        self.switch_action.triggered.connect(self.open_switch)
        self.pin_action = self._action(menu.addAction("Set my PIN…"), "set-pin", "")
        self.pin_action.triggered.connect(self.open_set_pin)
        self.lock_action = self._action(menu.addAction("Lock now"), "lock", "Ctrl+Shift+L")
        self.lock_action.triggered.connect(self.shift.lock)

    def _action(self, action: QAction, name: str, key: str) -> QAction:
        action.setObjectName(f"action-{name}")
        if key:
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        return action

    # -- panels ----------------------------------------------------------------------------
    def _on_panel_built(self, panel: ChairPanel) -> None:
        panel.rights = self.shift.refusal
        panel.countersign = self.shift.countersign
        panel.alarm_controls.credit = self.shift.credit
        self._follow_shift(panel)

    def _follow_shift(self, panel: ChairPanel) -> None:
        # The free-text name is the DEMO's only; with accounts the log-in names the user.
        # Locked, the workflow row is greyed as a whole (its keys answer "log in first").
        demo = self.shift.demo
        locked = self.shift.locked
        panel.workflow_bar.setEnabled(not locked)
        panel.workflow_bar.setToolTip(
            "Locked: log in (Ctrl+L) to use the workflow" if locked else ""
        )
        controls = panel.alarm_controls
        controls.operator.setVisible(demo)
        controls.operator_label.setVisible(demo)
        if demo and controls.operator.text() == default_operator():
            controls.operator.setText(DEMO_CREDIT)

    # -- state -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Strip, title, menus and name fields after a change of state or user."""
        shift, window = self.shift, self.window
        state = shift.state
        if state is ShiftState.DEMO:
            text, kind = "DEMO - simulated, no accounts", "demo"
        elif state is ShiftState.OPEN and shift.user is not None:
            user = shift.user
            text, kind = f"{user.printed_name} - {user.role.value}", "open"
        elif state is ShiftState.CHECKING:
            text, kind = "LOCKED - checking accounts…", "locked"
        elif state is ShiftState.SETUP:
            text, kind = "LOCKED - no administrator yet", "locked"
        else:
            text, kind = "LOCKED - alarms live, F2/F3 work", "locked"
        self.bar.show_state(text, kind)
        self.bar.setToolTip(
            shift.problem
            or "Locked: every chair's vitals and alarms stay live; acknowledge (F2) and audio "
            "pause (F3) work and are credited to the locked console. Log in to act."
            if shift.locked
            else ""
        )
        accounts = state not in (ShiftState.DEMO, ShiftState.SETUP, ShiftState.CHECKING)
        self.bar.login_button.setVisible(state in (ShiftState.LOCKED, ShiftState.SETUP))
        self.bar.login_button.setText(
            "Create admin…" if state is ShiftState.SETUP else "Log in…  [Ctrl+L]"
        )
        self.bar.switch_button.setVisible(state is ShiftState.OPEN)
        self.bar.lock_button.setVisible(state is ShiftState.OPEN)
        self.login_action.setEnabled(accounts)
        self.switch_action.setEnabled(accounts)
        self.pin_action.setEnabled(state is ShiftState.OPEN)
        self.lock_action.setEnabled(state is ShiftState.OPEN)
        window.set_title_suffix(" - DEMO" if shift.demo else (" - LOCKED" if shift.locked else ""))
        window.set_menu_rights(
            scenarios=shift.refusal(Action.SCENARIOS) is None,
            review=not shift.locked,
        )
        for index in range(len(window.chairs)):
            panel = window.built_panel(index)
            if panel is not None:
                self._follow_shift(panel)
        window.refit_top_widget()
        if state is ShiftState.OPEN:
            self.idle.timer.start()
        if state is ShiftState.SETUP and not self._admin_asked:
            self._admin_asked = True
            QTimer.singleShot(0, self, self.open_create_admin)

    # -- dialogs ---------------------------------------------------------------------------
    def open_login(self) -> None:
        """Name and password (the screen stays locked, and live, behind the dialog)."""
        if self.shift.state is ShiftState.SETUP:
            self.open_create_admin()
            return
        if self.shift.state in (ShiftState.DEMO, ShiftState.CHECKING):
            return
        dialog = LoginDialog(self.window)
        dialog.submit = lambda err, ok: self.shift.log_in(
            dialog.name.text(), dialog.password.text(), err, ok
        )
        self._open(dialog)

    def open_switch(self) -> None:
        """The quick switch: name and PIN."""
        if self.shift.state is ShiftState.OPEN:
            dialog = PinDialog(self.window)
            dialog.submit = lambda err, ok: self.shift.switch(
                dialog.name.text(), dialog.pin.text(), err, ok
            )
            self._open(dialog)
        else:
            self.open_login()

    def open_set_pin(self) -> None:
        """Set my PIN: password, then the PIN twice."""
        user = self.shift.user
        if self.shift.state is not ShiftState.OPEN or user is None:
            return
        dialog = SetPinDialog(user.printed_name, self.window)

        def submit(on_error: Callable[[str], None], on_done: Callable[[], None]) -> None:
            def done() -> None:
                self.window.statusBar().showMessage(f"PIN set for {user.name}", 10_000)
                on_done()

            self.shift.set_own_pin(dialog.password.text(), dialog.pin.text(), on_error, done)

        dialog.submit = submit
        self._open(dialog)

    def open_create_admin(self) -> None:
        """First start with a real monitor and no accounts: create the administrator."""
        if self.shift.state is not ShiftState.SETUP:
            return
        dialog = CreateAdminDialog(self.window)
        dialog.submit = lambda err, ok: self.shift.create_admin(
            dialog.name.text(), dialog.printed.text(), dialog.password.text(), err, ok
        )
        self._open(dialog)

    def _open(self, dialog: ShiftDialog) -> None:
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = dialog
        dialog.finished.connect(lambda _r: self._on_dialog_finished(dialog))
        # Not modal: the chairs' acknowledge and audio pause stay clickable behind it.
        dialog.show()

    def _on_dialog_finished(self, dialog: ShiftDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()


__all__ = ["IdleLock", "ShiftBar", "ShiftControl"]
