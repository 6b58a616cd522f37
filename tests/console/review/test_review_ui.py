"""The review widgets offscreen: browser, session review, alarm jump, sign-off, series view."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import Engine

from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.storage.review import ReviewRepository, SessionFilter
from console.ui.review import ReviewWindow, open_review_window
from console.ui.review.browser import SessionBrowser
from console.ui.review.series_view import SeriesView
from console.ui.review.session_view import SessionReviewView
from tests.console.review.builders import build_series, build_session

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.gui


def _cell(table: QTableWidget, row: int, column: int) -> str:
    """The text of a table cell that must exist."""
    item = table.item(row, column)
    assert item is not None, f"no cell ({row}, {column})"
    return item.text()


def test_review_of_a_runner_session_shows_its_alarms(qtbot: QtBot, tmp_path: Path) -> None:
    """A session stored by the real headless runner (simulated monitor, real alarm engine)."""
    url = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "main.py", "run", "--scenario", "hypertensive-surge", "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    # exit 1 = an expectation of the scenario was not met; the record is still complete
    assert done.returncode in (0, 1), done.stderr[-2000:]
    engine = make_engine(url)
    try:
        repo = ReviewRepository(engine)
        (row,) = repo.search(SessionFilter())
        stored_alarms = SessionRepository(engine).alarms(row.id)
        assert stored_alarms, "the hypertensive surge raised no alarm"
        view = SessionReviewView(repo, row.id)
        qtbot.addWidget(view)
        assert view.sim_badge.isVisibleTo(view)  # simulated sessions say so prominently
        assert view.alarm_table.rowCount() == len(stored_alarms)
        shown = {_cell(view.alarm_table, i, 7) for i in range(view.alarm_table.rowCount())}
        assert {a.message for a in stored_alarms} == shown
        assert any(c.parameter == "HR" and c.valid > 100 for c in view.summary.completeness)
    finally:
        engine.dispose()


def test_review_shows_events_and_an_alarm_click_moves_the_plots(
    qtbot: QtBot, sqlite_migrated: Engine
) -> None:
    built = build_session(sqlite_migrated)
    view = SessionReviewView(ReviewRepository(sqlite_migrated), built.session_id)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    kinds = {_cell(view.event_table, i, 2) for i in range(view.event_table.rowCount())}
    assert {"infusion start", "rate change", "dissociation", "nausea", "closed"} <= kinds
    assert view.alarm_table.rowCount() == 1
    assert "dr.lee" in _cell(view.alarm_table, 0, 5)  # acknowledged by whom
    before = view.plots.x_range()
    assert before[0] < -5
    assert before[1] > 80
    view.alarm_table.cellClicked.emit(0, 0)
    lo, hi = view.plots.x_range()
    onset_min = (built.alarm_onset - built.infusion_start).total_seconds() / 60.0
    assert (lo, hi) != before
    assert lo == pytest.approx(onset_min - 10.0)
    assert hi == pytest.approx(onset_min + 10.0)
    assert view.sim_badge.isVisibleTo(view)  # the builder's single sessions are simulated
    html = view.summary_view.toPlainText()
    assert "Peak" in html
    assert "Time to peak SBP" in html
    assert "Data completeness" in html


def _settled(qtbot: QtBot, browser: SessionBrowser) -> None:
    """The browser's queries run on its database worker: wait for their answers."""
    qtbot.waitUntil(lambda: not browser.tasks.busy, timeout=5000)


def test_sign_off_from_the_view_updates_the_browser(qtbot: QtBot, sqlite_migrated: Engine) -> None:
    built = build_session(sqlite_migrated)
    window = open_review_window(SessionRepository(sqlite_migrated))
    qtbot.addWidget(window)
    assert isinstance(window, ReviewWindow)
    browser = window.browser
    _settled(qtbot, browser)
    assert browser.model.rowCount() == 1
    browser.unreviewed.setChecked(True)
    _settled(qtbot, browser)
    assert browser.model.rowCount() == 1
    view = window.open_session(built.session_id)
    view.signoff_name.setText("Dr Lee")
    view.signoff_note.setPlainText("surge managed by rate reduction")
    with qtbot.waitSignal(view.sig_signed_off, timeout=2000):
        qtbot.mouseClick(view.signoff_button, Qt.MouseButton.LeftButton)
    assert "Dr Lee" in view.signoff_view.toPlainText()
    _settled(qtbot, browser)
    assert browser.model.rowCount() == 0  # no longer "not yet reviewed"
    browser.unreviewed.setChecked(False)
    _settled(qtbot, browser)
    assert "Dr Lee" in browser.model.data(browser.model.index(0, 7))


def test_browser_filters_and_lazy_paging(qtbot: QtBot, sqlite_migrated: Engine) -> None:
    _pid, ids = build_series(sqlite_migrated, n=3)
    build_session(sqlite_migrated, chair="Chair 9", surge_mmhg=5.0)
    window = open_review_window(ReviewRepository(sqlite_migrated))
    qtbot.addWidget(window)
    assert isinstance(window, ReviewWindow)
    b = window.browser
    _settled(qtbot, b)
    assert b.model.rowCount() == 4
    assert not b.model.canFetchMore()
    b.patient.setText("Doe")
    b.apply_filter()
    _settled(qtbot, b)
    assert b.model.rowCount() == 3
    b.patient.setText("")
    b.chair.setCurrentIndex(b.chair.findData("Chair 9"))
    _settled(qtbot, b)
    assert b.model.rowCount() == 1
    b.chair.setCurrentIndex(0)
    b.high_only.setChecked(True)
    _settled(qtbot, b)
    assert sorted(b.model.rows[i].id for i in range(b.model.rowCount())) == sorted(ids)
    b.model.sort(1, Qt.SortOrder.AscendingOrder)
    _settled(qtbot, b)
    assert [r.id for r in b.model.rows] == ids


def test_series_view_compares_every_session(qtbot: QtBot, sqlite_migrated: Engine) -> None:
    pid, ids = build_series(sqlite_migrated, n=4)
    view = SeriesView(ReviewRepository(sqlite_migrated), pid)
    qtbot.addWidget(view)
    assert view.table.columnCount() == 4
    assert len(view.curves) == 4
    headers = [view.table.horizontalHeaderItem(c) for c in range(4)]
    assert [h.text() for h in headers if h is not None] == ["#1", "#2", "#3", "#4"]
    peaks = [_cell(view.table, 3, c) for c in range(4)]
    assert peaks[0] != peaks[3]
    assert all("/" in p for p in peaks)
    x, _y = view.curves[-1].getData()
    assert x.min() < 0 < x.max()  # aligned at the infusion start
    with qtbot.waitSignal(view.sig_session_activated) as sig:
        view.table.cellDoubleClicked.emit(0, 2)
    assert sig.args == [ids[2]]
