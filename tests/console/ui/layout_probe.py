"""Child process of test_layout_fits: build the console as the app does, measure, print JSON.

A screen size can only be chosen before the ``QApplication`` exists (the offscreen platform
reads it from ``QT_QPA_PLATFORM=offscreen:configfile=...``; ``QT_SCALE_FACTOR`` is read at start
too), so each screen runs in its own process.  The probe builds the 1-chair console and the
16-chair console through :func:`console.app.build_app` with the application style sheet, shows
the window maximized (as ``console.cli`` does), fills every numeric with its widest realistic
text and the alarm areas with long texts (the worst case for space), and prints, for every
numeric value label: its rectangle in the window, every ancestor that clips it, and whether its
text fits its width and height.

Usage: ``python -m tests.console.ui.layout_probe OUT.json [CHAIRS]``: with ``CHAIRS`` only
that many chairs' overview is measured ("overview-CHAIRS"), each tile's rectangle against the
scroll area's viewport included (issue 14: 32 chairs).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from console.app import ConsoleApp, build_app
from console.config import load, simulated_chairs
from console.domain.alarms import Priority
from console.domain.esketamine import CONCOMITANT_MEDICATIONS, SessionIntake, SessionType
from console.domain.observations import ObservationSchedule, PointState, PointStatus
from console.services.session_values import SessionPlan
from console.ui.chair_panel import ChairPanel
from console.ui.main_window import MainWindow
from console.ui.overview import ChairOverview, ChairTile
from console.ui.theme import STYLE_SHEET

#: Widest realistic texts of each numeric (a screen must never cut them).
WIDEST = {"nibp": "288/188", "hr": "288", "spo2": "100", "rr": "88", "temp": "38.8"}
LONG_ALARM = "SBP 205 >= 200, confirmed by repeat (onset SBP 186 >= 180; now SBP 203 >= 200)"


def _settle(app: QApplication, rounds: int = 6) -> None:
    """Let layouts settle without delivering the chairs' queued updates (they would overwrite
    the worst-case texts)."""
    for _ in range(rounds):
        app.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        app.sendPostedEvents(None, QEvent.Type.Resize)


def _fill_panel(panel: ChairPanel) -> None:
    now = datetime.now(UTC)
    for name, text in WIDEST.items():
        panel.tiles[name].set_value(text)
    if panel.tiles["temp"].isHidden():
        panel._show_temp_tile()
    panel.tiles["nibp"].set_detail(
        "mean (288)   STALE - last NIBP 12:34:56 (12 min ago)\nSBP: low 90, high 160"
    )
    panel.banner.show_alarms(
        [
            (Priority.HIGH, LONG_ALARM + " [LATCHED]", now - timedelta(minutes=3)),
            (Priority.MEDIUM, "SpO2 90 < 92", now - timedelta(minutes=2)),
            (Priority.LOW, "HR 105 >= 100", now - timedelta(minutes=1)),
        ]
    )
    panel.alarm_controls.repeat_label.setText(
        "REPEAT NIBP REQUESTED: confirm SBP 186 >= 180 (by 12:40:00)"
    )
    panel.workflow_message.setText("Not done: the infusion is running: stop it first (F8).")
    # The scores prompt at its longest (issue 17): the longest default label, overdue.
    point = ObservationSchedule().points[3]
    panel.scores_due.show_due(
        PointStatus(point, now - timedelta(minutes=59, seconds=59), PointState.OVERDUE, ()), now
    )


def _fill_tile(tile: ChairTile) -> None:
    for label, text in ((tile.nibp, WIDEST["nibp"]), (tile.hr, WIDEST["hr"])):
        label.setText(text)
    tile.spo2.setText(WIDEST["spo2"])
    tile.alarm.setText(f"*** {LONG_ALARM}")
    tile.alarm_more.setText("+2 more")
    tile.alarm_more.show()
    tile.nibp_age.setText("STALE - 59 min ago")


def _fill_overview(app: QApplication, window: MainWindow) -> ChairOverview:
    """The worst case for space: a console alarm in the strip, every tile's widest texts."""
    window.console_strip.show_alarms(
        [(Priority.HIGH, "ALARM AUDIO UNAVAILABLE (would sound: high)", datetime.now(UTC))]
    )
    window.console_strip.setVisible(True)
    assert window.overview is not None
    for tile in window.overview.tiles:
        _fill_tile(tile)
    _settle(app)
    return window.overview


def _start_esketamine(app: QApplication, console: ConsoleApp) -> None:
    """An esketamine session on the chair, its strip showing the longest texts it has."""
    chair = console.chairs[0]
    deadline = time.monotonic() + 15.0
    while chair.record_opening and time.monotonic() < deadline:
        app.processEvents()
    intake = SessionIntake(
        SessionType.ESKETAMINE,
        dict.fromkeys(CONCOMITANT_MEDICATIONS, False),
        "Northside Ketamine Clinic",
        "outpatient clinic",
    )
    plan = SessionPlan(
        mrn="MRN-000123456",
        display_name="Jane Example-Longname",
        weight_kg=70.0,
        weight_measured_on=chair.clock.now().date(),
        dose_mg_per_kg=0.0,
        session_type=SessionType.ESKETAMINE,
        esketamine_dose_mg=84.0,
        lot="LOT-2024-ABCDEFGH-0193",
        intake=intake,
    )
    chair.workflow.new_session(plan, user="probe")
    assert chair.lifecycle.esketamine is not None
    for _ in range(10):
        app.processEvents()
    strip = console.window.panel.strip
    strip.cells["infusion"].show_text(
        "2/3 devices (12:05, 12:08) (one given early); next device DUE", "due"
    )
    strip.cells["checkpoint"].show_text("pre 188/118 | 40 min MISSED | end 188/118", "due")


def _rect_in(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def _label_report(
    name: str, label: QLabel, window: QWidget, *, numeric: bool = True
) -> dict[str, Any]:
    rect = _rect_in(label, window)
    clipped_by = []
    parent = label.parentWidget()
    while parent is not None and parent is not window:
        if not _rect_in(parent, window).contains(rect):
            clipped_by.append(parent.objectName() or type(parent).__name__)
        parent = parent.parentWidget()
    metrics = label.fontMetrics()
    contents = label.contentsRect()
    need = QSize(metrics.horizontalAdvance(label.text()), metrics.height())
    if label.wordWrap():  # a wrapping prompt needs its wrapped lines' height, not one line
        flags = int(Qt.TextFlag.TextWordWrap)
        need = metrics.boundingRect(
            QRect(0, 0, contents.width(), 10_000), flags, label.text()
        ).size()
    return {
        "name": name,
        "text": label.text(),
        "rect": [rect.x(), rect.y(), rect.width(), rect.height()],
        "visible": label.isVisibleTo(window),
        "clipped_by": clipped_by,
        "text_width": need.width(),
        "text_height": need.height(),
        "contents": [contents.width(), contents.height()],
        "hint": [label.sizeHint().width(), label.sizeHint().height()],
        "point_size": label.font().pointSizeF(),
        #: A numeric must also be legibly large; a prompt (the scores badge) only whole.
        "numeric": numeric,
    }


def _window_report(window: MainWindow) -> dict[str, Any]:
    screen = window.screen()
    avail = screen.availableGeometry()
    frame, geo = window.frameGeometry(), window.geometry()
    hint = window.minimumSizeHint()
    return {
        "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
        "geometry": [geo.x(), geo.y(), geo.width(), geo.height()],
        "minimum_size_hint": [hint.width(), hint.height()],
        "minimum_size": [window.minimumWidth(), window.minimumHeight()],
        "available": [avail.x(), avail.y(), avail.width(), avail.height()],
        "dpr": screen.devicePixelRatio(),
    }


def _panel_labels(panel: ChairPanel, window: QWidget, prefix: str) -> list[dict[str, Any]]:
    return [
        _label_report(f"{prefix}{name}", tile.value, window) for name, tile in panel.tiles.items()
    ] + [_label_report(f"{prefix}scoresDue", panel.scores_due, window, numeric=False)]


def _build(app: QApplication, tmp: Path, chairs: int) -> ConsoleApp:
    settings = load(
        overrides={"storage.db_url": f"sqlite:///{tmp / f'c{chairs}.sqlite3'}"}, environ={}
    )
    if chairs > 1:
        settings = replace(settings, chairs=simulated_chairs(chairs, settings.simulator))
    console = build_app(settings, sound=False, journal_dir=tmp / f"journal{chairs}")
    console.window.showMaximized()
    for _ in range(20):
        app.processEvents()
    return console


def _case(
    app: QApplication, console: ConsoleApp, view: str, labels: list[dict[str, Any]]
) -> dict[str, Any]:
    _settle(app)
    window = console.window
    return {"view": view, "window": _window_report(window), "labels": labels}


def main(out: Path) -> None:
    """Measure the 1-chair window (IV, then an esketamine session), then the 16-chair overview
    and a chair page."""
    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    cases: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        one = _build(app, tmp, 1)
        window = one.window
        window.console_strip.show_alarms(
            [(Priority.HIGH, "ALARM AUDIO UNAVAILABLE (would sound: high)", datetime.now(UTC))]
        )
        window.console_strip.setVisible(True)
        _fill_panel(window.panel)
        _settle(app)
        cases.append(_case(app, one, "chair-1", _panel_labels(window.panel, window, "")))
        _start_esketamine(app, one)  # issue 17: the esketamine chair view fits as well
        _fill_panel(window.panel)
        _settle(app)
        cases.append(_case(app, one, "chair-1-esketamine", _panel_labels(window.panel, window, "")))
        window.close_confirmed = True
        window.close()
        one.shutdown()

        many = _build(app, tmp, 16)
        window = many.window
        overview = _fill_overview(app, window)
        labels = []
        for i, tile in enumerate(overview.tiles):
            for name, label in (("nibp", tile.nibp), ("hr", tile.hr), ("spo2", tile.spo2)):
                labels.append(_label_report(f"tile{i + 1}-{name}", label, window))
        cases.append(_case(app, many, "overview-16", labels))
        window.show_chair(3)
        _fill_panel(window.panels[3])
        _settle(app)
        cases.append(_case(app, many, "chair-4-of-16", _panel_labels(window.panels[3], window, "")))
        window.close_confirmed = True
        window.close()
        many.shutdown()
    out.write_text(json.dumps(cases, indent=1))


def main_overview(out: Path, chairs: int) -> None:
    """Measure only the ``chairs``-chair overview: its numerics, and its tiles' rectangles in
    the scroll area's viewport (a tile partly outside it needs scrolling to be seen)."""
    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    with tempfile.TemporaryDirectory() as tmp_name:
        console = _build(app, Path(tmp_name), chairs)
        window = console.window
        overview = _fill_overview(app, window)
        labels = []
        viewport = overview.grid_scroll.viewport()
        view_rect = _rect_in(viewport, window)
        tiles = []
        for i, tile in enumerate(overview.tiles):
            for name, label in (("nibp", tile.nibp), ("hr", tile.hr), ("spo2", tile.spo2)):
                labels.append(_label_report(f"tile{i + 1}-{name}", label, window))
            rect = _rect_in(tile, window)
            tiles.append(
                {
                    "name": f"tile{i + 1}",
                    "rect": [rect.x(), rect.y(), rect.width(), rect.height()],
                    "in_viewport": view_rect.contains(rect),
                    "minimum": [tile.minimumSizeHint().width(), tile.minimumSizeHint().height()],
                    "nibp_age_shown": tile.nibp_age.isVisible() and tile.nibp_age.fits(),
                }
            )
        case = _case(app, console, f"overview-{chairs}", labels)
        case["tiles"] = tiles
        case["viewport"] = [view_rect.x(), view_rect.y(), view_rect.width(), view_rect.height()]
        case["fit_notice"] = overview.fit_notice.isVisible()
        window.close_confirmed = True
        window.close()
        console.shutdown()
    out.write_text(json.dumps([case], indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 2:
        main_overview(Path(sys.argv[1]), int(sys.argv[2]))
    else:
        main(Path(sys.argv[1]))
