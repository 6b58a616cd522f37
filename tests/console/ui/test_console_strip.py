"""Issue 11 item 3: a patient's high alarm is never hidden behind a console-wide condition.

A real 4-chair console; chair 4 runs the desaturation scenario (SpO2 ~85 % at minute 20) while
alarm audio is unavailable on the whole console (as the speaker reports it to every chair).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import build_app
from console.config import load, simulated_chairs
from console.domain.alarm_rules import Priority
from console.ui import theme
from console.ui.theme import STYLE_SHEET

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_console_fault_shows_once_and_the_patient_alarm_leads_its_tile(
    qtbot: QtBot, tmp_path: Path
) -> None:
    base = load(
        overrides={
            "storage.db_url": f"sqlite:///{tmp_path / 'strip.sqlite3'}",
            "simulator.speed": 300.0,
        },
        environ={},
    )
    chairs = list(simulated_chairs(4, base.simulator))
    chairs[3] = replace(chairs[3], simulator=replace(chairs[3].simulator, scenario="desaturation"))
    app = build_app(
        replace(base, chairs=tuple(chairs)), journal_dir=tmp_path / "journal", sound=False
    )
    qtbot.addWidget(app.window)
    app.window.setStyleSheet(STYLE_SHEET)
    app.window.show()
    try:
        for chair in app.chairs:  # what the speaker does when no audio output exists
            chair.alarms.set_audio_available(False, "no audio output")
        desat = app.chairs[3]

        def spo2_high() -> bool:
            return any(
                a.key == "SPO2:low" and a.priority is Priority.HIGH for a in desat.alarm_list
            )

        qtbot.waitUntil(spo2_high, timeout=30_000)
        window = app.window
        assert window.overview is not None
        tiles = window.overview.tiles

        # The console condition: once, in the console strip, not in any chair's slot.
        strip = window.console_strip
        assert strip.isVisible()
        assert strip.text().count("ALARM AUDIO UNAVAILABLE") == 1
        assert strip.priority is Priority.HIGH
        for tile in tiles:
            assert "AUDIO" not in tile.alarm.text(), tile.alarm.text()
            assert "AUDIO" not in tile.alarm.toolTip()
        # ... and still audible where it was (the engines still sound it).
        assert app.chairs[0].audio.priority is Priority.HIGH

        # Chair 4's own high alarm leads its tile; its SpO2 number wears the alarm colour.
        tile = tiles[3]
        assert tile.alarm.text().startswith("*** SpO2 "), tile.alarm.text()
        assert tile.alarm_priority is Priority.HIGH
        assert theme.PRIORITY_COLOURS[Priority.HIGH] in tile.spo2.styleSheet()
        assert theme.PRIORITY_COLOURS[Priority.HIGH] not in tile.hr.styleSheet()
        for other in tiles[:3]:
            assert other.alarm.text() == "No active alarms" or "SpO2" not in other.alarm.text()

        # The chair view: same rule for its banner and its SpO2 numeric.
        window.show_chair(3)
        panel = window.panels[3]
        qtbot.waitUntil(panel.isVisible, timeout=2_000)
        assert "AUDIO UNAVAILABLE" not in panel.banner.text()
        assert "SpO2" in panel.banner.text()
        assert panel.tiles["spo2"].alarm is Priority.HIGH
        assert strip.isVisible()  # the console strip stays above the chair view
    finally:
        app.window.close()
        app.shutdown()
