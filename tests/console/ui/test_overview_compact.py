"""Issue 14: 17-32 chairs get compact tiles, 8 to a row, that keep every alarm and link cue.

The compact tile shortens only what has a full text elsewhere (the SIM badge: SIMULATED in
its tooltip and accessible name) and moves things, never hides them: the link state, the
alarm line with its priority colour, and all three numerics stay shown.
"""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from console.domain.alarms import Priority
from console.ui import theme
from console.ui.overview import ChairOverview, ChairTile
from devices.model import DeviceState
from tests.console.ui.test_overview import FakeChair

pytestmark = pytest.mark.gui


def test_compact_tile_keeps_the_link_state_alarm_and_full_badge_text(qtbot: QtBot) -> None:
    chair = FakeChair("Chair 32")
    tile = ChairTile(chair, compact=True)  # type: ignore[arg-type]  # the observed surface
    qtbot.addWidget(tile)
    tile.show()
    assert tile.sim_badge.text() == "SIM"
    assert tile.sim_badge.accessibleName() == "SIMULATED"
    assert "SIMULATED" in tile.sim_badge.toolTip()
    chair.sig_link_state_changed.emit(DeviceState.DISCONNECTED.value)
    assert tile.link.isVisible()
    assert tile.link.text() == "DISCONNECTED"
    chair.alarm(Priority.HIGH, "SBP 205 >= 200")
    assert tile.alarm.isVisible()
    assert "SBP 205" in tile.alarm.text()
    assert tile.border_colour() == theme.PRIORITY_COLOURS[Priority.HIGH]
    assert tile.flashing
    for label in (tile.nibp, tile.hr, tile.spo2):
        assert label.isVisible()
        assert label.minimumSizeHint().height() > 0


@pytest.mark.parametrize(("chairs", "columns", "compact"), [(16, 4, False), (17, 8, True)])
def test_overview_goes_compact_above_sixteen_chairs(
    qtbot: QtBot, chairs: int, columns: int, compact: bool
) -> None:
    services = [FakeChair(f"Chair {i + 1}") for i in range(chairs)]
    overview = ChairOverview(services)  # type: ignore[arg-type]  # the observed surface
    qtbot.addWidget(overview)
    assert {tile.compact for tile in overview.tiles} == {compact}
    assert overview._grid.columnCount() == columns
    assert overview.tiles[0].sim_badge.text() == ("SIM" if compact else "SIMULATED")
