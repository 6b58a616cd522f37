"""GUI fixtures: whole consoles (build_app) on a private SQLite database, shown offscreen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp, build_app
from console.config import load
from console.ui.theme import STYLE_SHEET

ConsoleFactory = Callable[..., ConsoleApp]


@pytest.fixture
def console_factory(qtbot: QtBot, tmp_path: Path) -> Iterator[ConsoleFactory]:
    """``make(**overrides)`` builds a started console (no speaker); all are shut down after."""
    made: list[ConsoleApp] = []

    def make(**overrides: object) -> ConsoleApp:
        settings = load(
            overrides={"storage.db_url": f"sqlite:///{tmp_path / 'console.sqlite3'}", **overrides},
            environ={},
        )
        app = build_app(settings, sound=False)
        qtbot.addWidget(app.window)
        app.window.setStyleSheet(STYLE_SHEET)
        app.window.show()
        made.append(app)
        # The records open on each chair's database worker, after the window is up.
        qtbot.waitUntil(lambda: not any(c.record_opening for c in app.chairs), timeout=15_000)
        return app

    yield make
    for app in made:
        app.shutdown()
