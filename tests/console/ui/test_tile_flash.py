"""The overview tile flashes in its signal priority's colour, painted (issue 11 item 1, 14).

The tile flashes by the highest *signal* priority of the chair's alarms
(:attr:`AlarmStatus.signal_priority`: an alarm nobody answered in time signals as high), in
the IEC colours and rates.  The flash is painted: each toggle repaints the alarm line and the
border with ``update()``; the style sheets stay as they are (issue 14 measured a style sheet
per toggle as most of the GUI's CPU with 16 chairs).
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from console.domain.alarms import Priority
from console.ui import theme
from console.ui.overview import ChairTile
from tests.console.ui.test_overview import FakeChair, _tile

pytestmark = pytest.mark.gui


def _painted(tile: ChairTile) -> tuple[str, str]:
    """(alarm line fill, tile border) as painted on screen, sampled from a grab."""
    line = tile.alarm.grab().toImage()
    fill = line.pixelColor(line.width() - 4, line.height() // 2)
    frame = tile.grab().toImage()
    border = frame.pixelColor(frame.width() // 2, 1)
    return fill.name(), border.name()


@pytest.mark.parametrize("priority", [Priority.HIGH, Priority.MEDIUM, Priority.LOW])
def test_tile_flash_colour_follows_the_priority_and_is_painted(
    qtbot: QtBot, priority: Priority
) -> None:
    chair = FakeChair()
    tile = _tile(qtbot, chair)
    tile.resize(420, 200)
    chair.alarm(priority, "HR 135 > 130")
    colour = QColor(theme.PRIORITY_COLOURS[priority]).name()
    panel = QColor(theme.PANEL).name()
    styles = (tile.styleSheet(), tile.alarm.styleSheet())
    assert tile.alarm_priority is priority
    assert _painted(tile) == (colour, colour)  # lit: filled line, border in the colour
    seen = set()
    for tick in range(1, 9):
        tile.set_flash_tick(tick)
        seen.add(_painted(tile))
    if theme.FLASH_HALF_PERIOD_MS[priority] is None:  # low: steady
        assert seen == {(colour, colour)}
    else:
        assert seen == {(colour, colour), (panel, panel)}  # lit and unlit phases
    assert (tile.styleSheet(), tile.alarm.styleSheet()) == styles  # painted, not restyled


def test_tile_flashes_by_signal_priority_of_an_unanswered_alarm(qtbot: QtBot) -> None:
    """A medium alarm escalated for want of an answer flashes red at 2 Hz; its text keeps
    the medium marker (the record's priority)."""
    chair = FakeChair()
    tile = _tile(qtbot, chair)
    tile.resize(420, 200)
    chair.alarm(Priority.LOW, "SBP 165 > 160")
    chair.alarm(Priority.MEDIUM, "SpO2 90 < 92", escalated=True)
    red = QColor(theme.PRIORITY_COLOURS[Priority.HIGH]).name()
    assert tile.alarm_priority is Priority.HIGH
    assert tile.flashing
    assert tile.alarm.text().startswith(f"{Priority.MEDIUM.marker} ")
    assert _painted(tile) == (red, red)
    tile.set_flash_tick(1)  # 250 ms: the 2 Hz high flash is off
    assert not tile.lit
    assert _painted(tile)[0] == QColor(theme.PANEL).name()
