"""The main window running whole simulated sessions, through the real pty path, at high speed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp, build_app
from console.config import SimulatorConfig, load
from console.domain.alarms import Priority
from devices.model import DeviceState, Metric
from devices.simulator.monitor import NibpSchedule
from tests.console.ui.conftest import ConsoleFactory
from tests.expected_logs import NO_AUDIO_OUTPUT, expect_logs
from tests.sim_time import cuff_cycles_done

pytestmark = pytest.mark.gui

#: 45 simulated minutes (5 baseline + 40 infusion) in ~9 s of wall time.
SPEED = 300.0
SESSION_MIN = 45.0
#: The simulated monitor's automatic NIBP cycle (the console's default).
NIBP_INTERVAL_S = SimulatorConfig().nibp_interval_s


def _run_until(qtbot: QtBot, app: ConsoleApp, minutes: float) -> None:
    qtbot.waitUntil(
        lambda: app.chair.session_seconds() >= minutes * 60,
        timeout=int(minutes * 60 / SPEED * 1000 * 3 + 10_000),
    )
    qtbot.wait(300)  # one more drain and redraw


@pytest.mark.slow
def test_routine_40_minute_session_end_to_end(qtbot: QtBot, console_factory) -> None:
    app = console_factory(**{"simulator.speed": SPEED, "simulator.profile": "routine"})
    panel = app.window.panel
    assert panel.sim_badge.isVisible()
    assert panel.sim_badge.text() == "SIMULATED"
    assert "SIMULATED" in app.window.windowTitle()
    assert app.chair.endpoint is not None
    assert app.chair.endpoint.device_path.startswith("/dev/pts/")
    _run_until(qtbot, app, SESSION_MIN)

    chair = app.chair
    assert chair.link_state == DeviceState.STREAMING.value
    assert "STREAMING" in panel.link.text()
    # Numerics on screen show the newest values.
    assert panel.tiles["hr"].value.text() == f"{chair.latest[Metric.HR].value:.0f}"
    sys_, dia = chair.latest[Metric.NIBP_SYS].value, chair.latest[Metric.NIBP_DIA].value
    assert panel.tiles["nibp"].value.text() == f"{sys_:.0f}/{dia:.0f}"
    assert "last NIBP" in panel.tiles["nibp"].detail.text()
    # Trends cover the session: ~1 HR sample per simulated second, one NIBP per 5-min cycle.
    nibp_x, nibp_y = chair.trends[Metric.NIBP_SYS].arrays()
    hr_x, _ = chair.trends[Metric.HR].arrays()
    assert len(hr_x) > 0.8 * SESSION_MIN * 60
    assert hr_x[-1] >= SESSION_MIN - 1
    # How many cuff cycles the screen has reached, from the newest HR sample's session time
    # (trends are in minutes): under load more than 45 simulated minutes pass before the check
    # (one wall second is a whole cycle at x300).  One reading per cycle, give or take the one
    # completing at the edge; a reading per record or a lost cycle is far outside.
    cycles = cuff_cycles_done(hr_x[-1] * 60, NibpSchedule(interval_s=NIBP_INTERVAL_S))
    assert cycles >= 9  # 45 minutes: cycles complete at 1, 6, ..., 41 min
    assert cycles - 1 <= len(nibp_x) <= cycles + 1, (len(nibp_x), cycles, hr_x[-1])
    # Ketamine raises BP: the late-infusion readings are above the baseline reading.
    assert nibp_y[-1] > nibp_y[0]
    panel.refresh()
    hr_x, _ = chair.trends[Metric.HR].arrays()
    assert len(panel.plots.curves[Metric.HR].xData) == len(hr_x)  # raw data, before downsampling
    assert len(panel.plots.limit_lines[Metric.NIBP_SYS]) == 4
    # A routine patient raises no medium or high alarm.
    assert all(a.priority is Priority.LOW for a in chair.active_alarms.values())

    app.chair.stop()  # drains the last batch to both the screen and the database
    hr_x, _ = chair.trends[Metric.HR].arrays()
    nibp_x, _ = chair.trends[Metric.NIBP_SYS].arrays()
    stored = app.repository.readings(chair.session_id)
    assert sum(1 for r in stored if r.parameter == "HR") == len(hr_x)
    assert sum(1 for r in stored if r.parameter == "NIBP_SYS" and r.valid) == len(nibp_x)
    (summary,) = app.repository.list_sessions()
    assert summary.simulated
    assert summary.ended_at is not None


@pytest.mark.slow
def test_hypertensive_surge_is_flagged_on_screen_and_recorded(
    qtbot: QtBot, console_factory
) -> None:
    app = console_factory(**{"simulator.speed": SPEED, "simulator.profile": "hypertensive-surge"})
    panel = app.window.panel
    assert panel.banner.text() == "No active alarms"
    qtbot.waitUntil(
        lambda: panel.banner.priority is not None and panel.banner.priority >= Priority.MEDIUM,
        timeout=30_000,
    )
    assert "SBP" in panel.banner.text()
    assert panel.tiles["nibp"].alarm is not None
    assert panel.tiles["nibp"].alarm >= Priority.MEDIUM
    # The banner's flash timer runs at the medium/high rate (clinical.md c2).
    assert panel.banner._flash.isActive()
    shown = next(a for a in app.chair.active_alarms.values() if a.metric is Metric.NIBP_SYS)
    app.chair.stop()
    alarms = app.repository.alarms(app.chair.session_id)
    sbp = [a for a in alarms if a.parameter == "NIBP_SYS"]
    assert sbp, "the SBP alarm was not recorded"
    # The stored condition has the onset the screen shows and the highest priority reached.
    assert sbp[-1].onset_at == shown.onset
    assert sbp[-1].priority in {"medium", "high"}
    assert sbp[-1].value is not None
    assert sbp[-1].value >= 180


@expect_logs(NO_AUDIO_OUTPUT)
def test_console_without_sound_says_so_at_high_priority(qtbot: QtBot, tmp_path: Path) -> None:
    """With the real speaker: where no audio output exists (CI), a HIGH alarm must show it."""
    from PySide6.QtMultimedia import QMediaDevices

    settings = load(
        overrides={"storage.db_url": f"sqlite:///{tmp_path / 'sound.sqlite3'}"}, environ={}
    )
    app = build_app(settings, journal_dir=tmp_path / "journal")
    qtbot.addWidget(app.window)
    try:
        assert app.fleet.audio is not None
        if QMediaDevices.audioOutputs():
            qtbot.waitUntil(
                lambda: app.fleet.audio is not None and app.fleet.audio.player.available
            )
        else:
            qtbot.waitUntil(
                lambda: any(a.key == "audio_unavailable" for a in app.chair.alarm_list),
                timeout=5000,
            )
            # Console-wide: in the console strip, once, not in the chair's alarm slot.
            strip = app.window.console_strip
            qtbot.waitUntil(lambda: not strip.isHidden(), timeout=2000)
            assert strip.priority is Priority.HIGH
            assert "ALARM AUDIO UNAVAILABLE" in strip.text()
            assert "ALARM AUDIO UNAVAILABLE" not in app.window.panel.banner.text()
    finally:
        app.shutdown()


def test_help_about_names_every_version_without_a_database_call(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    import sqlite3
    from importlib import metadata

    app = console_factory()
    window = app.window
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert isinstance(help_menu, QMenu)
    (about,) = (a for a in help_menu.actions() if a.objectName() == "action-about")
    about.trigger()
    box = window.about_box
    assert box is not None
    qtbot.waitUntil(box.isVisible, timeout=2_000)
    text = box.text()
    assert f"Infusion Console {metadata.version('infusion-console')}" in text
    assert f"PySide6 {metadata.version('PySide6-Essentials')}" in text
    assert f"Database: SQLite {sqlite3.sqlite_version}" in text
    assert "Python 3." in text
    box.accept()
