"""Composition root: builds and wires every part from :class:`Settings`.

Nothing here is global: tests build as many consoles as they like, each with its own database,
clock and simulator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy.engine import Engine, make_url

from console.config import APP_NAME, Settings
from console.services.chair_service import ChairService
from console.services.storage_status import StorageStatusRelay
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import StorageWriter
from console.ui.main_window import MainWindow
from devices.clock import Clock, ScaledClock, SystemClock

log = logging.getLogger("console")


@dataclass
class ConsoleApp:
    """The running console's parts, for shutdown and for tests."""

    settings: Settings
    engine: Engine
    writer: StorageWriter
    repository: SessionRepository
    chair: ChairService
    window: MainWindow

    def shutdown(self) -> None:
        """Stop the chair, flush and stop the writer, release the database."""
        self.chair.stop()
        self.writer.stop()
        self.engine.dispose()


def make_clock(settings: Settings) -> Clock:
    """The simulator's accelerated clock, or the real one for a real monitor."""
    if settings.device.simulated and settings.simulator.speed != 1.0:
        return ScaledClock(settings.simulator.speed)
    return SystemClock()


def default_journal_dir() -> Path:
    """Where the storage writer spools batches while the database is unreachable."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "journal"


def build_app(
    settings: Settings, *, clock: Clock | None = None, journal_dir: Path | None = None
) -> ConsoleApp:
    """Create storage, the chair and the main window, and start monitoring.

    The database is migrated to this console's newest schema first; a database newer than
    the console raises :class:`console.storage.migrate.DatabaseTooNewError` (a
    ``StorageConfigError``, reported by the CLI as one line) before anything is written.

    Requires a ``QApplication`` to exist.
    """
    engine = make_engine(settings.db_url)
    repository = SessionRepository(engine)
    repository.upgrade()
    relay = StorageStatusRelay()
    writer = StorageWriter(
        engine, on_status=relay.report, journal_dir=journal_dir or default_journal_dir()
    )
    writer.start()
    chair = ChairService(
        settings, writer=writer, repository=repository, clock=clock or make_clock(settings)
    )
    db_label = make_url(settings.db_url).render_as_string(hide_password=True)
    window = MainWindow(chair, db_label=db_label)
    relay.setParent(window)
    relay.sig_status_changed.connect(window.set_storage_status)
    chair.start()
    return ConsoleApp(settings, engine, writer, repository, chair, window)
