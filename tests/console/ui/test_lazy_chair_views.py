"""With several chairs, a chair's full view is built when it is first shown, and loses nothing.

Issue 14: the first paint with 16 chairs took 4.4 s on this machine (target 2.5 s), 1.6 s of it
building 16 chair views while the overview was on screen.  Building a view on first show must
not cost the nurse anything the eager view had:
- the shaded alarm periods of the session so far (kept per chair by the window from the start);
- a question the chair asks (resume an interrupted session?) opens its view at once.
"""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp
from console.domain.alarm_rules import Priority
from tests.console.ui.alarm_statuses import sbp_high
from tests.console.ui.conftest import ConsoleFactory
from tests.console.ui.test_chair_safety import _new_session

SPEED = 300.0


def test_the_overview_builds_a_chair_view_only_when_it_is_opened(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = console_factory(chairs=4)
    window = app.window
    assert window.current_chair is None
    assert [window.built_panel(i) for i in range(4)] == [None] * 4
    window.show_chair(2)
    panel = window.built_panel(2)
    assert panel is not None
    assert panel.isVisible()
    assert window.views[2].panel is panel
    assert window.views[2].back.parent() is not None  # the back button sits in its header
    assert [window.built_panel(i) is None for i in (0, 1, 3)] == [True, True, True]
    window.show_overview()
    window.show_chair(2)
    assert window.built_panel(2) is panel  # built once


def test_a_view_built_late_shows_the_alarm_periods_of_before(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = console_factory(chairs=2)
    window, chair = app.window, app.chairs[1]
    chair.stop()  # nothing else changes its alarm list
    now_min = chair.session_seconds() / 60.0
    chair.alarm_list = (sbp_high(chair, now_min - 3.0, priority=Priority.HIGH),)
    chair.sig_alarms_changed.emit()
    chair.alarm_list = ()  # the alarm ended while nobody had the chair's view open
    chair.sig_alarms_changed.emit()
    assert window.built_panel(1) is None
    window.show_chair(1)
    panel = window.built_panel(1)
    assert panel is not None
    ((period, plot, region),) = panel.plots.alarm_regions.values()
    assert plot is panel.plots.plots["bp"]
    assert period.start_min == pytest.approx(now_min - 3.0)
    assert period.end_min is not None
    assert region.getRegion()[1] == pytest.approx(period.end_min)


def _two_chairs(factory: ConsoleFactory) -> ConsoleApp:
    return factory(chairs=2, **{"simulator.speed": SPEED})


@pytest.mark.slow
def test_a_resume_question_opens_the_chair_view_it_belongs_to(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _two_chairs(console_factory)
    panel = app.window.panel_at(1)
    sid = _new_session(panel, "MRN-LAZY")
    app.window.terminate("test: console restart")  # chair 2's record stays unfinished

    again = _two_chairs(console_factory)
    window, chair = again.window, again.chairs[1]
    assert chair.pending_resume is not None
    assert chair.pending_resume.id == sid
    qtbot.waitUntil(lambda: window.built_panel(1) is not None, timeout=5_000)
    built = window.built_panel(1)
    assert built is not None
    qtbot.waitUntil(lambda: built.resume_dialog is not None, timeout=5_000)
    assert window.built_panel(0) is None  # chair 1 asks nothing: its view waits
