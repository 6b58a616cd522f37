"""GUI fixtures: whole consoles (build_app) on a private SQLite database, shown offscreen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp, build_app
from console.config import SIM_PROTOCOLS, load, simulated_chairs
from console.ui.theme import STYLE_SHEET
from devices.simulator.pty_endpoint import WireEndpoint
from tests.console.sim_load import watch_simulated_wires

ConsoleFactory = Callable[..., ConsoleApp]


@pytest.fixture(autouse=True)
def _accelerated_console_load(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[WireEndpoint]]:
    """The warnings an accelerated console logs on a busy machine, where its cause is shown
    (tests/console/sim_load.py); every other warning still fails the test."""
    yield from watch_simulated_wires(request, monkeypatch)


@pytest.fixture
def console_factory(qtbot: QtBot, tmp_path: Path) -> Iterator[ConsoleFactory]:
    """``make(**overrides)`` builds a started console (no speaker); all are shut down after.

    ``make(chairs=N, protocols=(...))`` makes a demo of N simulated chairs (as ``--chairs N``).
    """
    made: list[ConsoleApp] = []

    def make(
        chairs: int = 1, protocols: tuple[str, ...] = SIM_PROTOCOLS, **overrides: object
    ) -> ConsoleApp:
        settings = load(
            overrides={"storage.db_url": f"sqlite:///{tmp_path / 'console.sqlite3'}", **overrides},
            environ={},
        )
        if chairs > 1:
            demo = simulated_chairs(chairs, settings.simulator, protocols=protocols)
            settings = replace(settings, chairs=demo)
        app = build_app(settings, journal_dir=tmp_path / "journal", sound=False)
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
