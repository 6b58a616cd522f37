"""Drive the live plots through thousands of updates.

PySide6 6.12.0 on CPython 3.11 aborts the process ("Fatal Python error: none_dealloc") after a
few thousand void Qt calls; this test makes CI, not a nurse, find such a release.  Under pytest
the abort shows as exit code 134 with no output (shared/performance.md).
"""

from __future__ import annotations

import math

import pytest
from pytestqt.qtbot import QtBot

from console.config import load
from console.domain.alarms import Priority
from console.services.plot_buffer import RingBuffer
from console.ui.alarm_banner import AlarmBanner
from console.ui.numeric_tile import NumericTile
from console.ui.vitals_plot import TrendPlots
from devices.model import Metric

pytestmark = pytest.mark.gui

UPDATES = 6000


def test_live_plots_survive_thousands_of_updates(qtbot: QtBot) -> None:
    trends = {m: RingBuffer(3600) for m in Metric}
    plots = TrendPlots(trends, load(environ={}).alarm_policy)
    tile = NumericTile("HR", "/min", "#3ddc84")
    banner = AlarmBanner()
    for w in (plots, tile, banner):
        qtbot.addWidget(w)
        w.show()
    from datetime import UTC, datetime

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(UPDATES):
        x = i / 60.0
        trends[Metric.HR].append(x, 75 + 10 * math.sin(i / 50))
        trends[Metric.SPO2].append(x, 97 + math.sin(i / 30))
        if i % 30 == 0:
            trends[Metric.NIBP_SYS].append(x, 130 + 20 * math.sin(i / 500))
        plots.refresh(x)
        tile.set_value(f"{75 + i % 20}", stale=i % 97 == 0)
        tile.set_alarm(Priority.HIGH if i % 400 < 10 else None)
        if i % 200 == 0:
            banner.show_alarms([(Priority.MEDIUM, f"HR {i}", t0)] if i % 400 else [])
        if i % 50 == 0:
            plots.repaint()  # a real paint, offscreen
            qtbot.wait(1)
    assert plots.updates >= UPDATES
    assert plots.x_max >= UPDATES / 60.0
    curve = plots.curves[Metric.HR]
    x, y = curve.xData, curve.yData  # raw data given to setData, before downsampling
    assert len(x) == 3600  # the ring kept the newest hour
    assert y[-1] == pytest.approx(trends[Metric.HR].last_y())
