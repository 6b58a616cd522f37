"""The shift on the console (issue 16): locked at start with accounts, monitoring live behind
the lock, acknowledge and audio pause credited to the locked console, log-in, PIN switch, idle
lock, lockout, role refusals that keep what was typed, DEMO, and the first start with a real
monitor asking for the administrator.

Real SQLite databases with accounts made through AccountRepository; simulated chairs (a pty
for the real-monitor case).
"""

from __future__ import annotations

import os
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp
from console.domain.roles import Role
from console.domain.session import EventKind
from console.services.shift import ShiftState, station_name
from console.storage.accounts import AccountRepository
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.ui.chair_panel import ChairPanel
from console.ui.physician_sign import physician_password
from console.ui.session_dialogs import AnnotationDialog, DischargeDialog, GateDialog
from console.ui.shift_control import ShiftControl
from console.ui.shift_dialogs import CreateAdminDialog, LoginDialog, PinDialog, SetPinDialog
from tests.console.ui.conftest import ConsoleFactory
from tests.console.ui.test_chair_safety import SPEED, _cuff, _to_observation_end
from tests.console.ui.test_workflow import (
    _dialog,
    _start_patient_session,
    _streaming,
    _unfinished_session,
)

pytestmark = pytest.mark.gui

PASSWORD = "correct horse"
LOCKED_CREDIT = f"locked console {station_name()}"


def _accounts(tmp_path: Path) -> None:
    """The console's database (console_factory's file) with an admin, a nurse with a PIN, a
    physician without one and a QA user."""
    engine = make_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    SessionRepository(engine).upgrade()
    repo = AccountRepository(engine)
    admin = repo.add_user("root", Role.ADMIN, PASSWORD, by=None, full_name="Ada Admin")
    repo.add_user("kim", Role.NURSE, PASSWORD, by=admin, full_name="Kim Lee", pin="1234")
    repo.add_user("drlee", Role.PHYSICIAN, PASSWORD, by=admin, full_name="Dr Lee")
    repo.add_user("qa1", Role.QA, PASSWORD, by=admin, full_name="Quinn QA")
    engine.dispose()


def _control(app: ConsoleApp) -> ShiftControl:
    control = app.shift_control
    assert control is not None
    return control


def _wait_state(qtbot: QtBot, control: ShiftControl, state: ShiftState) -> None:
    qtbot.waitUntil(lambda: control.shift.state is state, timeout=10_000)


def _submit(qtbot: QtBot, control: ShiftControl, fill: Callable[[Any], None]) -> Any:
    """Fill the shift dialog on screen, press OK and wait for the worker's answer: the
    dialog still open (refused), or None (done: it closed)."""
    dialog = control.dialog
    assert dialog is not None
    assert dialog.isVisible()
    fill(dialog)
    dialog.accept()
    qtbot.waitUntil(
        lambda: control.dialog is not dialog or dialog.ok_button.isEnabled(), timeout=10_000
    )
    return control.dialog


def _answer(qtbot: QtBot, control: ShiftControl, name: str, secret: str) -> Any:
    """Name and password (or PIN) in the log-in or switch dialog on screen; see _submit."""

    def fill(d: LoginDialog | PinDialog) -> None:
        d.name.setText(name)
        d.secrets[0].setText(secret)

    return _submit(qtbot, control, fill)


def _switch(qtbot: QtBot, control: ShiftControl, name: str, secret: str) -> Any:
    """Switch user: name and PIN (or password) in the PIN dialog."""
    control.open_switch()
    assert isinstance(control.dialog, PinDialog)
    return _answer(qtbot, control, name, secret)


def _locked(
    qtbot: QtBot, make: ConsoleFactory, **overrides: object
) -> tuple[ConsoleApp, ShiftControl, ChairPanel]:
    """A console on a database with accounts, once it is locked for want of a log-in."""
    app = make(**overrides)
    control = _control(app)
    _wait_state(qtbot, control, ShiftState.LOCKED)
    return app, control, app.window.panel


def _log_in(qtbot: QtBot, control: ShiftControl, name: str, password: str = PASSWORD) -> Any:
    control.open_login()
    assert isinstance(control.dialog, LoginDialog)
    return _answer(qtbot, control, name, password)


@pytest.fixture
def accounts_console(console_factory: ConsoleFactory, tmp_path: Path) -> Callable[..., ConsoleApp]:
    """A console on a database with accounts (made before the console starts)."""
    _accounts(tmp_path)
    return console_factory


def test_locked_at_start_vitals_and_alarms_live_ack_and_pause_by_the_locked_console(
    qtbot: QtBot, accounts_console: ConsoleFactory
) -> None:
    app = accounts_console(**{"simulator.speed": 10.0})
    control, chair, panel = _control(app), app.chair, app.window.panel
    _wait_state(qtbot, control, ShiftState.LOCKED)
    assert "LOCKED" in app.window.windowTitle()
    assert control.bar.label.text().startswith("LOCKED")
    assert control.bar.login_button.isVisible()
    assert not panel.alarm_controls.operator.isVisible()  # no free-text name with accounts
    # Monitoring did not wait: the numerics are live behind the lock.
    _streaming(qtbot, chair)
    qtbot.waitUntil(lambda: panel.tiles["hr"].value.text() not in ("", "---"), timeout=15_000)
    assert panel.numerics_box.isVisible()
    assert panel.banner.isVisible()
    # The workflow is locked: one line in the chair's message line, nothing opens.
    panel.trigger("new")
    assert panel.dialog is None
    assert "locked: log in first" in panel.workflow_message.text()
    assert not app.window.review_action.isEnabled()
    # An alarm sounds and shows while locked; acknowledge and pause both work.
    _cuff(chair, 150, 125)  # DBP >= 120: a high alarm at once
    qtbot.waitUntil(lambda: panel.alarm_controls.ack_button.isEnabled(), timeout=5_000)
    assert "DBP" in panel.banner.text() or "NIBP" in panel.banner.text()
    panel.alarm_controls.ack_button.click()
    assert all(a.acknowledged_by == LOCKED_CREDIT for a in chair.alarm_list if a.acknowledged_by)
    panel.alarm_controls.pause_button.click()
    assert chair.audio.paused_by == LOCKED_CREDIT
    assert app.writer.flush()
    sid = chair.session_id
    assert sid is not None
    log = app.repository.alarm_log(sid)
    acted = {(e.kind, e.actor) for e in log if e.actor}
    assert ("acknowledged", LOCKED_CREDIT) in acted, acted
    assert ("audio_paused", LOCKED_CREDIT) in acted, acted


@pytest.mark.expected_log("accounts", r"account drlee locked until .* after 5 failed log-ins")
def test_log_in_credits_the_user_and_a_lockout_says_so(
    qtbot: QtBot, accounts_console: ConsoleFactory
) -> None:
    app, control, panel = _locked(qtbot, accounts_console)
    # Five wrong passwords lock the account: the dialog says so and keeps the name.
    for _ in range(5):
        dialog = _log_in(qtbot, control, "drlee", "wrong password")
        assert dialog is not None
    assert "locked until" in dialog.error.text(), dialog.error.text()
    assert dialog.name.text() == "drlee"
    assert dialog.password.text() == ""
    assert control.shift.locked
    dialog.reject()
    # The nurse logs in: named in the strip, credited with the workflow and the alarms.
    assert _log_in(qtbot, control, "kim") is None  # logged in: the dialog closed
    assert control.shift.state is ShiftState.OPEN
    assert control.bar.label.text() == "Kim Lee - nurse"
    assert "LOCKED" not in app.window.windowTitle()
    _streaming(qtbot, app.chair)
    sid = _start_patient_session(qtbot, panel)
    assert app.writer.flush()
    planned = app.repository.events(sid)[0]
    assert planned.author == "kim", planned
    _cuff(app.chair, 150, 125)
    panel.alarm_controls.ack_button.click()
    assert any(a.acknowledged_by == "kim" for a in app.chair.alarm_list)


def test_idle_time_locks_the_screen(qtbot: QtBot, accounts_console: ConsoleFactory) -> None:
    app = accounts_console(**{"accounts.idle_lock_min": 2})
    control = _control(app)
    assert control.idle.timer.interval() == 2 * 60_000  # the configured time reaches the lock
    _wait_state(qtbot, control, ShiftState.LOCKED)
    _log_in(qtbot, control, "kim")
    assert control.shift.state is ShiftState.OPEN
    control.idle.timer.setInterval(300)  # a short time instead of minutes
    control.idle.timer.start()
    qtbot.wait(150)
    qtbot.mouseMove(app.window.panel)  # input restarts the countdown
    qtbot.keyClick(app.window.panel, "a")
    assert control.shift.state is ShiftState.OPEN
    _wait_state(qtbot, control, ShiftState.LOCKED)
    assert control.shift.user is None
    assert panel_refuses(app)


def panel_refuses(app: ConsoleApp) -> bool:
    panel = app.window.panel
    panel.trigger("annotate")
    return panel.dialog is None and "log in first" in panel.workflow_message.text()


def test_switch_user_with_a_pin_and_set_my_pin(
    qtbot: QtBot, accounts_console: ConsoleFactory
) -> None:
    _app, control, _panel = _locked(qtbot, accounts_console)
    _log_in(qtbot, control, "drlee")
    assert control.shift.user is not None
    assert control.shift.user.name == "drlee"
    # The quick switch: the nurse's PIN.
    wrong = _switch(qtbot, control, "kim", "9999")
    assert wrong is not None
    assert wrong.error.isVisible()
    assert control.shift.user.name == "drlee"  # a wrong PIN changes nobody
    _answer(qtbot, control, "kim", "1234")
    assert control.shift.user is not None
    assert control.shift.user.name == "kim"
    assert control.bar.label.text() == "Kim Lee - nurse"
    # A user without a PIN switches with the password, then sets a PIN of their own.
    _switch(qtbot, control, "drlee", PASSWORD)
    assert control.shift.user is not None
    assert control.shift.user.name == "drlee"
    control.open_set_pin()
    assert isinstance(control.dialog, SetPinDialog)

    def fill(d: SetPinDialog) -> None:
        d.password.setText(PASSWORD)
        d.pin.setText("2468")
        d.again.setText("2468")

    refused = _submit(qtbot, control, fill)
    assert refused is None, refused.error.text()
    _switch(qtbot, control, "kim", "1234")
    _switch(qtbot, control, "drlee", "2468")
    assert control.shift.user is not None
    assert control.shift.user.name == "drlee"


def test_a_role_refusal_names_the_role_and_keeps_what_was_typed(
    qtbot: QtBot, accounts_console: ConsoleFactory
) -> None:
    app, control, panel = _locked(qtbot, accounts_console)
    _log_in(qtbot, control, "kim")
    _streaming(qtbot, app.chair)
    _start_patient_session(qtbot, panel)
    panel.trigger("annotate")
    dialog = _dialog(panel, AnnotationDialog)
    dialog.text.setText("patient reports mild nausea")
    # The physician switches in while the nurse's dialog is open; the OK is refused.
    _switch(qtbot, control, "drlee", PASSWORD)
    dialog.accept()
    assert dialog.isVisible()
    assert dialog.text.text() == "patient reports mild nausea"
    assert "an annotation needs the nurse role" in dialog.not_done.text()
    assert "needs the nurse role" in panel.workflow_message.text()
    # QA runs scenarios; a physician may not (the Simulation menu follows the role).
    assert not app.window.run_scenario_action.isEnabled()
    _switch(qtbot, control, "qa1", PASSWORD)
    assert app.window.run_scenario_action.isEnabled()


def test_a_physician_overrides_the_gate_in_the_nurses_shift_with_a_password(
    qtbot: QtBot, accounts_console: ConsoleFactory
) -> None:
    app, control, panel = _locked(qtbot, accounts_console)
    chair = app.chair
    _log_in(qtbot, control, "kim")
    _streaming(qtbot, chair)
    sid = _start_patient_session(qtbot, panel)
    _cuff(chair, 190, 100)  # a baseline above the gate: do not start without a physician
    qtbot.waitUntil(lambda: not chair.lifecycle.may_start_infusion(), timeout=5_000)
    panel.trigger("start")
    dialog = _dialog(panel, GateDialog)
    dialog.physician.setText("kim")  # the nurse cannot sign it
    physician_password(dialog).setText(PASSWORD)
    dialog.reason.setText("known hypertension, treated")
    dialog.accept()
    assert dialog.isVisible()
    assert "needs the physician role" in dialog.not_done.text()
    assert dialog.reason.text() == "known hypertension, treated"
    dialog.physician.setText("drlee")
    physician_password(dialog).setText(PASSWORD)
    dialog.accept()
    assert not dialog.isVisible(), dialog.not_done.text()
    assert control.shift.user is not None
    assert control.shift.user.name == "kim"
    assert app.writer.flush()
    authors = {(e.kind, e.author) for e in app.repository.events(sid)}
    assert any(author == "drlee" for _kind, author in authors), authors
    assert ("infusion_start", "kim") in authors, authors


def test_no_accounts_and_only_simulated_chairs_is_a_labelled_demo(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = console_factory(chairs=2)
    control = _control(app)
    _wait_state(qtbot, control, ShiftState.DEMO)
    assert app.window.windowTitle().endswith(" - DEMO")
    assert control.bar.label.text().startswith("DEMO")
    panel = app.window.panels[0]
    app.window.show_chair(0)
    assert panel.alarm_controls.operator.isVisible()
    assert panel.alarm_controls.operator.text() == "demo"
    _streaming(qtbot, app.chairs[0])
    sid = _start_patient_session(qtbot, panel)
    assert app.writer.flush()
    assert app.repository.events(sid)[0].author == "demo"


def test_first_start_with_a_real_monitor_asks_for_the_administrator(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        app = console_factory(**{"device.kind": "hl7-mllp", "device.url": os.ttyname(slave)})
        control, panel = _control(app), app.window.panel
        _wait_state(qtbot, control, ShiftState.SETUP)
        qtbot.waitUntil(lambda: isinstance(control.dialog, CreateAdminDialog), timeout=5_000)
        assert app.chair.runner is not None  # monitoring runs behind the question
        assert control.shift.locked
        assert "LOCKED" in app.window.windowTitle()
        panel.trigger("new")
        assert panel.dialog is None
        assert "administrator" in panel.workflow_message.text()

        def fill(d: CreateAdminDialog) -> None:
            d.name.setText("root")
            d.printed.setText("Ada Admin")
            d.password.setText(PASSWORD)
            d.again.setText("not the same")

        differ = _submit(qtbot, control, fill)
        assert "differ" in differ.error.text()
        assert differ.name.text() == "root"

        def fill_again(d: CreateAdminDialog) -> None:
            d.password.setText(PASSWORD)
            d.again.setText(PASSWORD)

        _submit(qtbot, control, fill_again)
        assert control.shift.state is ShiftState.OPEN
        assert control.bar.label.text() == "Ada Admin - admin"
    finally:
        os.close(master)
        os.close(slave)


def test_a_physician_overrides_the_discharge_refusal_with_a_password(
    qtbot: QtBot, accounts_console: ConsoleFactory
) -> None:
    app, control, panel = _locked(qtbot, accounts_console, **{"simulator.speed": SPEED})
    _log_in(qtbot, control, "kim")
    chair = _to_observation_end(qtbot, panel)
    _cuff(chair, 150, 125)  # a high alarm nobody acknowledges: discharge refused
    panel.trigger("end")
    dialog = _dialog(panel, DischargeDialog)
    password = physician_password(dialog)
    assert dialog.refusal.isVisible()
    assert password.isVisible()  # shown with the override's fields
    for box in dialog.checks.values():
        box.setChecked(True)
    dialog.override_physician.setText("drlee")
    dialog.override_reason.setText("asymptomatic; GP follow-up tomorrow")
    password.setText("not his password")
    dialog.close_button.click()
    assert dialog.isVisible()
    assert not chair.lifecycle.closed
    assert "wrong user name or password" in dialog.not_done.text()
    assert dialog.override_reason.text() == "asymptomatic; GP follow-up tomorrow"
    password.setText(PASSWORD)
    sid = chair.session_id
    assert sid is not None
    dialog.close_button.click()
    assert chair.lifecycle.closed, dialog.not_done.text()
    assert app.writer.flush()
    override = next(e for e in app.repository.events(sid) if e.kind == EventKind.DISCHARGE_OVERRIDE)
    assert override.author == "drlee"


def test_a_locked_console_does_not_answer_the_resume_question(
    qtbot: QtBot, console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    sid, _t0 = _unfinished_session(db_url)
    _accounts(tmp_path)
    app, control, panel = _locked(qtbot, console_factory)
    chair = app.chair
    qtbot.waitUntil(lambda: panel.resume_dialog is not None, timeout=5_000)
    assert panel.resume_dialog is not None
    panel.resume_dialog.resume_button.click()
    assert chair.pending_resume is not None  # still the nurse's question
    assert "log in first" in panel.workflow_message.text()
    _log_in(qtbot, control, "kim")
    panel.trigger("new")  # asks the question again
    qtbot.waitUntil(lambda: panel.resume_dialog is not None, timeout=5_000)
    assert panel.resume_dialog is not None
    panel.resume_dialog.resume_button.click()
    assert chair.session_id == sid
    assert app.writer.flush()
    resumed = [e for e in app.repository.events(sid) if e.kind == EventKind.RESUMED]
    assert [e.author for e in resumed] == ["kim"]


def test_the_shift_keys_open_log_in_and_switch(
    qtbot: QtBot, accounts_console: ConsoleFactory
) -> None:
    app, control, panel = _locked(qtbot, accounts_console)
    window = app.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    qtbot.keyClick(panel, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # Ctrl+L
    assert isinstance(control.dialog, LoginDialog)
    assert _answer(qtbot, control, "kim", PASSWORD) is None
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    qtbot.keyClick(panel, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)  # Ctrl+U
    assert isinstance(control.dialog, PinDialog)
    control.dialog.reject()
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(panel, Qt.Key.Key_L, keys)  # Ctrl+Shift+L: lock now
    assert control.shift.state is ShiftState.LOCKED


def test_every_workflow_action_has_the_right_it_needs() -> None:
    """A workflow action without an entry in the rights table raised KeyError on its key
    (the esketamine "device" and "checks" actions, merged beside the rights check)."""
    from console.ui.chair_panel import ACTION_RIGHTS, ACTIONS

    assert set(ACTIONS) <= set(ACTION_RIGHTS)
