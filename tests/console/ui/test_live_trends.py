"""The nurse's live chair view: temperature tile, NIBP band, shaded alarms, looking back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from console.config import load
from console.domain.alarms import Priority
from console.services.plot_buffer import RingBuffer
from console.ui.vitals_plot import X_STEP_MIN, AlarmPeriod, TrendPlots
from devices.model import Metric
from tests.console.ui.alarm_statuses import sbp_high

pytestmark = pytest.mark.gui

SPEED = 300.0


@pytest.fixture
def plots(qtbot: QtBot) -> TrendPlots:
    trends = {m: RingBuffer(3600) for m in Metric}
    widget = TrendPlots(trends, load(environ={}).alarm_policy)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    return widget


def _x_range(plots: TrendPlots, name: str = "bp") -> tuple[float, float]:
    lo, hi = plots.plots[name].getViewBox().viewRange()[0]
    return float(lo), float(hi)


# -- temperature ---------------------------------------------------------------------------
def test_temperature_tile_appears_with_the_first_reading(qtbot: QtBot, console_factory) -> None:
    app = console_factory(**{"simulator.speed": SPEED, "simulator.profile": "routine"})
    panel = app.window.panel
    temp = panel.tiles["temp"]
    assert "rr" in panel.tiles
    qtbot.waitUntil(lambda: Metric.TEMP in app.chair.latest, timeout=20_000)
    panel.refresh()
    assert not temp.isHidden()
    assert temp.value.text() == f"{app.chair.latest[Metric.TEMP].value:.1f}"
    assert "." in temp.value.text()
    assert not panel.tiles["rr"].isHidden()


def test_temperature_tile_hidden_without_temperature(qtbot: QtBot, console_factory) -> None:
    app = console_factory()
    app.chair.stop()
    panel = app.window.panel
    app.chair.latest.pop(Metric.TEMP, None)
    panel.refresh()
    assert panel.tiles["temp"].isHidden()


# -- NIBP band -----------------------------------------------------------------------------
def test_bp_band_spans_systolic_and_diastolic(plots: TrendPlots) -> None:
    for i, (s, d, m) in enumerate([(120, 80, 93), (150, 95, 113), (170, 100, 123)]):
        plots.trends[Metric.NIBP_SYS].append(i * 5.0, s)
        plots.trends[Metric.NIBP_DIA].append(i * 5.0, d)
        plots.trends[Metric.NIBP_MEAN].append(i * 5.0, m)
    plots.refresh(11.0)
    band = plots.band
    assert band is not None
    assert band in plots.plots["bp"].items
    assert band.curves == [plots.curves[Metric.NIBP_SYS], plots.curves[Metric.NIBP_DIA]]
    rect = band.boundingRect()
    assert rect.left() == pytest.approx(0.0)
    assert rect.right() == pytest.approx(10.0)
    assert rect.top() == pytest.approx(80.0)
    assert rect.bottom() == pytest.approx(170.0)
    # Mean curve and point symbols stay.
    assert list(plots.curves[Metric.NIBP_MEAN].yData) == [93, 113, 123]
    assert plots.curves[Metric.NIBP_SYS].opts["symbol"] == "o"


# -- alarm periods -------------------------------------------------------------------------
def test_alarm_period_region_follows_the_alarm(plots: TrendPlots) -> None:
    period = AlarmPeriod("NIBP_SYS:high", Metric.NIBP_SYS, Priority.MEDIUM, 4.0)
    plots.refresh(5.0)
    plots.set_alarm_periods([period])
    ((_shown, plot, region),) = plots.alarm_regions.values()
    assert plot is plots.plots["bp"]
    assert region in plots.plots["bp"].items
    assert region not in plots.plots["hr"].items
    assert not region.movable
    assert region.getRegion() == (4.0, 5.0)
    plots.refresh(7.5)  # active: grows to now
    assert region.getRegion() == (4.0, 7.5)
    plots.set_alarm_periods([replace(period, priority=Priority.HIGH, end_min=8.0)])
    plots.refresh(12.0)  # ended: stays
    assert region.getRegion() == (4.0, 8.0)
    assert region.brush.color().name() == "#e53935"
    # Parameters without a trend plot are not drawn; an empty list clears.
    plots.set_alarm_periods([AlarmPeriod("RR:low", Metric.RR, Priority.LOW, 1.0)])
    assert plots.alarm_regions == {}
    assert region not in plots.plots["bp"].items


def test_hr_and_spo2_alarms_go_to_their_plots(plots: TrendPlots) -> None:
    plots.set_alarm_periods(
        [
            AlarmPeriod("HR:high", Metric.HR, Priority.LOW, 1.0, 2.0),
            AlarmPeriod("SPO2:low", Metric.SPO2, Priority.HIGH, 3.0, 4.0),
        ]
    )
    where = {k[0]: p for k, (_a, p, _r) in plots.alarm_regions.items()}
    assert where == {"HR:high": plots.plots["hr"], "SPO2:low": plots.plots["spo2"]}


def test_panel_remembers_ended_alarm_periods(qtbot: QtBot, console_factory) -> None:
    app = console_factory()
    app.chair.stop()  # nothing else changes the alarm list
    panel = app.window.panel
    now_min = app.chair.session_seconds() / 60.0
    app.chair.alarm_list = (sbp_high(app.chair, now_min - 3.0),)
    panel._update_alarm_periods()
    ((period, plot, region),) = panel.plots.alarm_regions.values()
    assert plot is panel.plots.plots["bp"]
    assert period.end_min is None
    assert region.getRegion()[0] == pytest.approx(now_min - 3.0)
    app.chair.alarm_list = ()  # the alarm ended
    panel._update_alarm_periods()
    ((period, plot, region),) = panel.plots.alarm_regions.values()
    assert period.end_min is not None
    assert period.end_min >= now_min
    start, end = region.getRegion()
    assert end == pytest.approx(period.end_min)
    panel.plots.refresh(period.end_min + 10.0)
    assert region.getRegion() == (start, end)  # an ended period does not grow


@pytest.mark.slow
def test_hypertensive_surge_shades_the_bp_plot(qtbot: QtBot, console_factory) -> None:
    app = console_factory(**{"simulator.speed": SPEED, "simulator.profile": "hypertensive-surge"})
    plots = app.window.panel.plots
    qtbot.waitUntil(
        lambda: any(k[0].startswith("NIBP_SYS") for k in plots.alarm_regions), timeout=30_000
    )
    ident = next(k for k in plots.alarm_regions if k[0].startswith("NIBP_SYS"))
    _period, plot, region = plots.alarm_regions[ident]
    assert plot is plots.plots["bp"]
    assert region.getRegion()[1] >= region.getRegion()[0] > 0


# -- looking back while live ---------------------------------------------------------------
def test_default_view_grows_in_30_minute_steps(plots: TrendPlots) -> None:
    plots.refresh(10.0)
    assert plots.following
    assert _x_range(plots) == pytest.approx((0.0, X_STEP_MIN))
    plots.refresh(31.0)
    assert _x_range(plots) == pytest.approx((0.0, 2 * X_STEP_MIN))
    assert _x_range(plots, "spo2") == pytest.approx((0.0, 2 * X_STEP_MIN))
    assert plots.live_button.isHidden()


def _wheel(plots: TrendPlots, view: object, steps: int) -> None:
    rect = view.sceneBoundingRect()  # type: ignore[attr-defined]
    pos = QPointF(plots.mapFromScene(rect.center()))
    event = QWheelEvent(
        pos,
        QPointF(plots.viewport().mapToGlobal(pos.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(plots.viewport(), event)


def test_panning_to_the_past_holds_the_view_until_live(qtbot: QtBot, plots: TrendPlots) -> None:
    x = np.arange(0, 25, 1 / 60)
    for v in x:
        plots.trends[Metric.HR].append(float(v), 80.0)
    plots.refresh(25.0)
    hr_view = plots.plots["hr"].getViewBox()
    y_before = hr_view.viewRange()[1]
    # A real mouse wheel over the HR plot zooms the time axis (y is locked).
    _wheel(plots, hr_view, steps=3)
    qtbot.wait(10)
    assert not plots.following
    assert _x_range(plots) != pytest.approx((0.0, X_STEP_MIN))
    assert hr_view.viewRange()[1] == y_before
    hr_view.setXRange(5.0, 15.0, padding=0)  # then say it was dragged to minutes 5-15
    assert not plots.following
    assert not plots.live_button.isHidden()
    held = _x_range(plots)
    assert held == pytest.approx((5.0, 15.0))  # linked across the plots
    # New data keep arriving and the axis step passes: the view does not jump.
    for v in np.arange(25, 40, 1 / 60):
        plots.trends[Metric.HR].append(float(v), 90.0)
    plots.refresh(40.0)
    assert _x_range(plots) == pytest.approx(held)
    assert len(plots.curves[Metric.HR].xData) == len(plots.trends[Metric.HR].arrays()[0])
    assert hr_view.viewRange()[1] == y_before
    plots.live_button.click()
    assert plots.following
    assert plots.live_button.isHidden()
    assert _x_range(plots) == pytest.approx((0.0, 2 * X_STEP_MIN))
    plots.refresh(41.0)
    assert _x_range(plots) == pytest.approx((0.0, 2 * X_STEP_MIN))


def test_mouse_is_x_only(plots: TrendPlots) -> None:
    for plot in plots.plots.values():
        assert plot.getViewBox().state["mouseEnabled"] == [True, False]


def test_double_click_returns_to_live(qtbot: QtBot, plots: TrendPlots) -> None:
    plots.refresh(10.0)
    _wheel(plots, plots.plots["spo2"].getViewBox(), steps=2)
    assert not plots.following
    centre = plots.mapFromScene(plots.plots["spo2"].getViewBox().sceneBoundingRect().center())
    event = QMouseEvent(
        QEvent.Type.MouseButtonDblClick,
        QPointF(centre),
        QPointF(plots.viewport().mapToGlobal(centre)),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(plots.viewport(), event)
    assert plots.following
    assert _x_range(plots) == pytest.approx((0.0, X_STEP_MIN))
