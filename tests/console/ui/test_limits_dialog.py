"""Changing a limit during a session: validated, applied to alarming, recorded with who and why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp, build_app
from console.config import load
from console.domain.alarms import Direction, Priority
from devices.model import Metric

pytestmark = pytest.mark.gui


@pytest.fixture
def console(qtbot: QtBot, tmp_path: Path) -> Iterator[ConsoleApp]:
    settings = load(
        overrides={
            "storage.db_url": f"sqlite:///{tmp_path / 'limits.sqlite3'}",
            "simulator.speed": 60.0,
        },
        environ={},
    )
    app = build_app(settings, journal_dir=tmp_path / "journal", sound=False)
    qtbot.addWidget(app.window)
    app.window.show()
    # The records open on each chair's database worker, after the window is up.
    qtbot.waitUntil(lambda: not any(c.record_opening for c in app.chairs), timeout=15_000)
    yield app
    app.shutdown()


def _hr_high_medium(app: ConsoleApp):
    return next(
        r
        for r in app.chair.policy.rules
        if r.metric is Metric.HR and r.direction is Direction.HIGH and r.priority is Priority.MEDIUM
    )


def test_a_limit_change_is_applied_drawn_and_recorded(qtbot: QtBot, console: ConsoleApp) -> None:
    panel = console.window.panel
    panel.alarm_controls.operator.setText("Nurse Kim")
    panel.trigger("limits")
    dialog = panel.limits_dialog
    rule = _hr_high_medium(console)
    dialog.select(rule)
    assert dialog.value.value() == rule.limit
    dialog.value.setValue(100)
    assert not dialog.apply()  # no reason given: refused, nothing changes
    assert "reason is required" in dialog.message.text()
    assert _hr_high_medium(console).limit == rule.limit
    dialog.reason.setText("physician order: athletic patient")
    assert dialog.apply()

    changed = _hr_high_medium(console)
    assert changed.limit == 100
    assert "high 100" in panel.tiles["hr"].detail.text()
    assert any(line.value() == 100 for line in panel.plots.limit_lines[Metric.HR])
    assert console.writer.flush()
    records = console.repository.profile_changes(console.chair.session_id)
    assert records, "the change was not recorded"
    text = " ".join(str(v) for rec in records for v in rec.values())
    assert "Nurse Kim" in text
    assert "physician order: athletic patient" in text


def test_an_implausible_limit_is_refused_with_the_engines_message(
    qtbot: QtBot, console: ConsoleApp
) -> None:
    panel = console.window.panel
    panel.trigger("limits")
    dialog = panel.limits_dialog
    rule = _hr_high_medium(console)
    dialog.select(rule)
    dialog.value.setValue(290)  # beyond any heart
    dialog.reason.setText("typo")
    assert not dialog.apply()
    assert dialog.message.text().startswith("Refused:")
    assert _hr_high_medium(console).limit == rule.limit
