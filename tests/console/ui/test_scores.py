"""Timed scores on the chair (issue 17): the prompt, the entry by keys, the trend markers,
the stored record, the series view, and alarms that still sound while scores are due.

The chair runs against the simulated monitor in a real console (pytest-qt, offscreen); keys
go through Qt's key path (``keyClick``/``keyClicks``) as the nurse types them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableWidget
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import Engine

from console.domain.alarms import Priority
from console.domain.observations import PointState, score_label
from console.domain.review import summarize
from console.domain.session import EventKind, SessionEvent
from console.reports.plot import _event_marks
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.review import ReviewRepository
from console.ui.alarm_sound import AlarmAudioController
from console.ui.chair_panel import ChairPanel
from console.ui.observation_entry import ScoresDialog
from console.ui.review.series_view import SeriesView
from console.ui.review.session_view import SessionReviewView
from tests.console.review.builders import build_series
from tests.console.ui.conftest import ConsoleFactory
from tests.console.ui.test_alarm_sound import FakePlayer
from tests.console.ui.test_chair_safety import _console, _cuff, _new_session
from tests.console.ui.test_workflow import _streaming

pytestmark = [pytest.mark.gui, pytest.mark.slow]

#: Real time: at the other tests' 300x a due point is overdue within a second of wall time.
REAL_TIME: dict[str, object] = {"simulator.speed": 1.0}


def _open_entry(qtbot: QtBot, panel: ChairPanel) -> ScoresDialog:
    window = panel.window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    qtbot.keyClick(window, Qt.Key.Key_F11)  # the chair's key, whatever has focus
    dialog = panel.dialog
    assert isinstance(dialog, ScoresDialog), dialog
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2_000)
    return dialog


def _type(qtbot: QtBot, dialog: ScoresDialog, *keys: str) -> None:
    """Digits into the focused field, Tab between fields, Enter at the end."""
    for key in keys:
        target = QApplication.focusWidget() or dialog
        if key == "Tab":
            qtbot.keyClick(target, Qt.Key.Key_Tab)
        elif key == "Enter":
            qtbot.keyClick(target, Qt.Key.Key_Return)
        else:
            qtbot.keyClicks(target, key)


def test_the_due_prompt_the_keyed_entry_and_the_markers(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory, **REAL_TIME)
    panel, chair, repo = app.window.panel, app.chair, app.repository
    _streaming(qtbot, chair)
    assert not panel.scores_due.isVisible()  # monitoring only: nothing to score
    sid = _new_session(panel, "MRN-S1")
    panel.refresh()
    assert panel.scores_due.isVisible()
    assert panel.scores_due.state is PointState.DUE
    assert panel.scores_due.text() == "SCORES baseline DUE  [F11]"

    dialog = _open_entry(qtbot, panel)
    assert dialog.time_point() == "baseline"  # the due point is chosen
    assert list(dialog.fields) == ["MOAA/S", "CADSS-6", "nausea", "PHQ-9", "MADRS"]
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.fields["MOAA/S"], timeout=2_000)
    # Out of range: refused with one line, the dialog keeps what was typed, nothing stored.
    _type(qtbot, dialog, "7", "Tab", "3", "Tab", "1", "Enter")
    assert dialog.isVisible()
    assert "MOAA/S must be a whole number 0-5, got 7" in dialog.not_done.text()
    assert dialog.fields["CADSS-6"].text() == "3"
    assert not any("scale" in e.data for e in chair.lifecycle.events)
    # A letter cannot be typed into a score at all.
    dialog.fields["MOAA/S"].clear()
    dialog.fields["MOAA/S"].setFocus()
    _type(qtbot, dialog, "x4", "Tab", "Tab", "Tab", "19", "Enter")  # nausea kept 1, PHQ-9 19
    assert not dialog.isVisible()
    assert "Scores at baseline: MOAA/S 4, CADSS-6 3, nausea 1, PHQ-9 19" in (
        panel.workflow_message.text()
    )
    scored = [(e.data["scale"], e.score) for e in chair.lifecycle.events if "scale" in e.data]
    assert scored == [("MOAA/S", 4.0), ("CADSS-6", 3.0), ("nausea", 1.0), ("PHQ-9", 19.0)]
    # Drawn on the trend with their scores; the outcome score is not a trend marker.
    labels = [label for _m, label in panel.plots.markers]
    assert labels[-1] == "MOAA/S 4 · CADSS-6 3 · nausea 1"  # one marker for the set
    assert not any("PHQ" in label for label in labels)
    assert not panel.scores_due.isVisible()  # baseline done; 20 min waits for the infusion

    # Stored by the writer, off the GUI thread, with scale and time point.
    assert app.writer.flush(10.0)
    stored = [e for e in repo.events(sid) if "scale" in e.data]
    assert [(e.kind, e.score, e.data["time_point"]) for e in stored] == [
        (EventKind.SEDATION, 4.0, "baseline"),
        (EventKind.DISSOCIATION, 3.0, "baseline"),
        (EventKind.NAUSEA, 1.0, "baseline"),
        (EventKind.OUTCOME_SCORE, 19.0, "baseline"),
    ]


def test_overdue_shows_and_alarms_still_sound_while_scores_are_due(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory, **REAL_TIME)
    panel, chair = app.window.panel, app.chair
    player = FakePlayer()
    AlarmAudioController(app.chairs, cast(Any, player), parent=app.window)
    _streaming(qtbot, chair)
    _new_session(panel, "MRN-S2")
    # Ten minutes later the baseline scores are overdue: filled badge with the lateness.
    panel.scores_due.show_due(
        chair.workflow.due_observation(chair.clock.now() + timedelta(minutes=10)),
        chair.clock.now() + timedelta(minutes=10),
    )
    assert panel.scores_due.state is PointState.OVERDUE
    assert panel.scores_due.text().startswith("SCORES baseline OVERDUE\u00a010:")
    panel.refresh()
    assert panel.scores_due.text() == "SCORES baseline DUE  [F11]"  # now: due, not overdue
    dialog = _open_entry(qtbot, panel)  # the entry is open too: the worst case
    _cuff(chair, 215, 100)  # SBP >= 200: high priority at once
    qtbot.waitUntil(lambda: chair.audio.priority is Priority.HIGH, timeout=5_000)
    assert player.sounding[-1] is Priority.HIGH
    qtbot.waitUntil(lambda: "SBP" in panel.banner.text(), timeout=5_000)  # shown behind it
    assert panel.banner.priority is Priority.HIGH
    assert dialog.isVisible()
    assert panel.scores_due.isVisible()
    dialog.reject()


def test_the_configured_schedule_reaches_the_chair(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory, **REAL_TIME, **{"observations.overdue_after_min": 30.0})
    panel, chair = app.window.panel, app.chair
    _streaming(qtbot, chair)
    _new_session(panel, "MRN-S3")
    later = chair.clock.now() + timedelta(minutes=10)
    due = chair.workflow.due_observation(later)
    assert due is not None
    assert (due.point.label, due.state) == ("baseline", PointState.DUE)  # 30 min allowed
    panel.scores_due.show_due(due, later)
    assert panel.scores_due.text() == "SCORES baseline DUE  [F11]"


@pytest.fixture
def sqlite_migrated(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'series.sqlite3'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def _scored_series(engine: Engine) -> tuple[int, list[int]]:
    """Three sessions of one patient with PHQ-9 (not in the third), MADRS (first only) and
    a set of timed scores 31 min into each (20 min after the infusion start) and one later."""
    pid, ids = build_series(engine, n=3)
    repo = SessionRepository(engine)
    phq = (21.0, 15.0, None)  # the third session has no PHQ-9 entered
    for sid, score, cadss in zip(ids, phq, (14.0, 9.0, 4.0), strict=True):
        start = repo.session(sid).started_at
        if score is not None:
            repo.record_event(
                sid,
                SessionEvent(
                    kind=EventKind.OUTCOME_SCORE.value,
                    at=start + timedelta(minutes=1),
                    score=score,
                    text="PHQ-9",
                    data={"scale": "PHQ-9", "time_point": "baseline"},
                ),
            )
        for minute, scale, kind, value in (
            (31, "MOAA/S", EventKind.SEDATION, 3.0),
            (31, "CADSS-6", EventKind.DISSOCIATION, cadss),
            (51, "MOAA/S", EventKind.SEDATION, 5.0),
        ):
            repo.record_event(
                sid,
                SessionEvent(
                    kind=kind.value,
                    at=start + timedelta(minutes=minute),
                    score=value,
                    text=scale,
                    data={"scale": scale, "time_point": "20 min"},
                ),
            )
    repo.record_event(
        ids[0],
        SessionEvent(
            kind=EventKind.OUTCOME_SCORE.value,
            at=repo.session(ids[0]).started_at + timedelta(minutes=2),
            score=33.0,
            text="MADRS",
            data={"scale": "MADRS", "time_point": "baseline"},
        ),
    )
    return pid, ids


def test_series_view_shows_outcome_scores_beside_the_bp_peak(
    qtbot: QtBot, sqlite_migrated: Engine
) -> None:
    pid, _ids = _scored_series(sqlite_migrated)
    view = SeriesView(ReviewRepository(sqlite_migrated), pid)
    qtbot.addWidget(view)
    rows = _rows(view.table)
    assert rows["PHQ-9 / MADRS"] == ["21 / 33", "15 / -", "- / -"]
    assert rows["MOAA/S min"] == ["3", "3", "3"]
    assert [c.split(" / ")[0] for c in rows["CADSS-6 / nausea max"]] == ["14", "9", "4"]
    # Beside each session's BP peak (the next row up), which differs session to session.
    titles = list(rows)
    assert titles.index("PHQ-9 / MADRS") == titles.index("Peak BP") + 1
    assert len(set(rows["Peak BP"])) == 3
    names = [c.name() for c in view.curves]
    assert names[0].endswith("PHQ-9 21 MADRS 33")
    assert names[2] == "#3 (latest)"


def test_session_review_and_report_mark_each_set_of_scores(
    qtbot: QtBot, sqlite_migrated: Engine
) -> None:
    _pid, ids = _scored_series(sqlite_migrated)
    reviews = ReviewRepository(sqlite_migrated)
    view = SessionReviewView(reviews, ids[0])
    qtbot.addWidget(view)
    labels = [
        item.label.toPlainText()
        for item in view.plots.plots["bp"].items
        if isinstance(item, pg.InfiniteLine) and item.label is not None
    ]
    assert "MOAA/S 3 · CADSS-6 14" in labels  # one marker for the set, with the scores
    assert "MOAA/S 5" in labels
    assert not any("PHQ" in label or "MADRS" in label for label in labels)
    summary = summarize(reviews.load(ids[0]).inputs(300.0))
    marks = [text for _at, text in _event_marks(summary)]
    assert "MOAA/S 3 · CADSS-6 14" in marks
    assert "MOAA/S 5" in marks
    # The free annotations of the built session stay as they were.
    assert {"dissociation", "nausea"} <= set(marks)
    # MOAA/S 5 (awake) is no adverse effect; MOAA/S 3 and CADSS-6 14 are.
    adverse = [score_label(e) for e in summary.adverse_events if score_label(e)]
    assert adverse == ["MOAA/S 3", "CADSS-6 14"]


def _rows(table: QTableWidget) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in range(table.rowCount()):
        header = table.verticalHeaderItem(r)
        assert header is not None
        cells = [table.item(r, c) for c in range(table.columnCount())]
        out[header.text()] = [c.text() if c is not None else "" for c in cells]
    return out
