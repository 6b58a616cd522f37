"""No database call ever runs on the GUI thread (issue 12, item 9).

A hung database blocks each call until its timeout; on the GUI thread that froze the screen.
SQLAlchemy's own hooks record the thread of every connection checkout and every statement
while a nurse and a physician go through the console: start, a new session with the MRN
typed key by key (the patient lookup), scores entered (issue 17), and the review browser
paging and opening a session.  The GUI thread must never appear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from console.app import ConsoleApp
from console.services.shift import ShiftState
from console.ui.observation_entry import ScoresDialog
from console.ui.physician_sign import physician_password
from console.ui.review import ReviewWindow
from console.ui.review import browser as review_browser
from console.ui.session_dialogs import GateDialog, NewSessionDialog
from tests.console.ui import test_shift_login as shift_tests
from tests.console.ui.test_chair_safety import _cuff
from tests.console.ui.test_workflow import _start_patient_session, _streaming

pytestmark = pytest.mark.gui


class DatabaseThreads:
    """The threads that checked out a connection or ran a statement, with what they ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def statement(self, _conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        self.calls.append((threading.get_ident(), sql.split("\n", 1)[0][:80]))

    def checkout(self, *_args: Any) -> None:
        self.calls.append((threading.get_ident(), "<connection checkout>"))

    def on_gui_thread(self) -> list[str]:
        gui = threading.main_thread().ident
        return [what for ident, what in self.calls if ident == gui]


@pytest.fixture
def db_threads() -> Iterator[DatabaseThreads]:
    seen = DatabaseThreads()
    event.listen(Engine, "before_cursor_execute", seen.statement)
    event.listen(Pool, "checkout", seen.checkout)
    yield seen
    event.remove(Engine, "before_cursor_execute", seen.statement)
    event.remove(Pool, "checkout", seen.checkout)


def test_the_gui_thread_never_touches_the_database(
    qtbot: QtBot,
    console_factory: Callable[..., ConsoleApp],
    db_threads: DatabaseThreads,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # -- start: schema, the chair's record -------------------------------------------------
    app = console_factory(**{"simulator.speed": 30.0})
    chair, panel = app.chair, app.window.panel
    assert chair.session_id is not None
    assert db_threads.calls, "the hooks saw no database work at all"
    assert db_threads.on_gui_thread() == [], "start-up used the database on the GUI thread"

    # -- a new session, the MRN typed key by key -------------------------------------------
    panel.alarm_controls.operator.setText("Nurse Kim")
    panel.trigger("new")
    dialog = panel.dialog
    assert isinstance(dialog, NewSessionDialog)
    qtbot.keyClicks(dialog.mrn, "MRN-4242")
    qtbot.waitUntil(lambda: "new patient" in dialog.patient_status.text(), timeout=5000)
    dialog.patient_name.setText("A.B.")
    dialog.weight.setValue(70.0)
    demo_id = chair.session_id
    dialog.accept()
    assert chair.session_id not in (None, demo_id)
    assert chair.patient_record is not None
    # Scores (issue 17): stored through the writer, never on the GUI thread.
    panel.trigger("scores")
    scores = panel.dialog
    assert isinstance(scores, ScoresDialog)
    for name, value in (("MOAA/S", "4"), ("CADSS-6", "6"), ("nausea", "1"), ("PHQ-9", "18")):
        qtbot.keyClicks(scores.fields[name], value)
    scores.accept()
    assert not scores.isVisible()
    assert app.writer.flush()
    # The same patient again: the lookup finds them this time.
    panel.trigger("new")
    again = panel.dialog
    assert isinstance(again, NewSessionDialog)
    qtbot.keyClicks(again.mrn, "MRN-4242")
    qtbot.waitUntil(lambda: "existing patient" in again.patient_status.text(), timeout=5000)
    again.reject()
    assert db_threads.on_gui_thread() == [], "the session or lookup used the GUI thread"

    # -- review: browse, page, open a session, sign it off ---------------------------------
    assert app.writer.flush()
    monkeypatch.setattr(review_browser, "PAGE_SIZE", 1)  # two sessions = two pages
    app.window.review_action.trigger()
    window = app.window.review_window
    assert isinstance(window, ReviewWindow)
    qtbot.addWidget(window)
    browser = window.browser
    # One row per page: the second row can only come from fetchMore (the table asks for it
    # as soon as the first is shown).
    qtbot.waitUntil(lambda: browser.model.rowCount() == 2, timeout=5000)
    assert browser.model.total == 2
    assert not browser.model.canFetchMore()
    qtbot.waitUntil(lambda: not browser.tasks.busy)
    assert "2 sessions match" in browser.count_label.text()
    browser.model.sort(1, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 2, timeout=5000)
    view = window.open_session(browser.model.session_id(0))
    view.signoff_name.setText("Dr Lee")
    view.sign_off("Dr Lee", "reviewed")
    assert "Dr Lee" in view.signoff_view.toPlainText()
    qtbot.waitUntil(lambda: not browser.tasks.busy)
    window.close()
    assert db_threads.on_gui_thread() == [], "the review used the database on the GUI thread"


def test_the_shift_never_touches_the_database_on_the_gui_thread(
    qtbot: QtBot,
    console_factory: Callable[..., ConsoleApp],
    db_threads: DatabaseThreads,
    tmp_path: Path,
) -> None:
    """Issue 16: the accounts check at start, the log-in (a lockout too), the PIN switch,
    setting a PIN, a role refusal and the physician's password in the override dialog."""
    shift_tests._accounts(tmp_path)
    db_threads.calls.clear()  # the accounts were made by the test, on this thread
    app = console_factory()
    control, panel, chair = app.shift_control, app.window.panel, app.chair
    assert control is not None
    shift_tests._wait_state(qtbot, control, ShiftState.LOCKED)
    assert shift_tests._log_in(qtbot, control, "nobody", "wrong password") is not None
    assert shift_tests._log_in(qtbot, control, "kim") is None
    shift_tests._switch(qtbot, control, "drlee", shift_tests.PASSWORD)
    control.open_set_pin()

    def fill(d: Any) -> None:
        d.password.setText(shift_tests.PASSWORD)
        d.pin.setText("2468")
        d.again.setText("2468")

    assert shift_tests._submit(qtbot, control, fill) is None
    shift_tests._switch(qtbot, control, "kim", "1234")
    _streaming(qtbot, chair)
    _start_patient_session(qtbot, panel)
    _cuff(chair, 190, 100)
    qtbot.waitUntil(lambda: not chair.lifecycle.may_start_infusion(), timeout=5_000)
    panel.trigger("start")
    gate = panel.dialog
    assert isinstance(gate, GateDialog)
    gate.physician.setText("drlee")
    physician_password(gate).setText(shift_tests.PASSWORD)
    gate.reason.setText("known hypertension")
    gate.accept()
    assert panel.dialog is None, gate.not_done.text()
    assert db_threads.calls, "the hooks saw no database work at all"
    assert db_threads.on_gui_thread() == [], "the shift used the database on the GUI thread"
