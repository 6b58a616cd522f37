"""Composition root: builds and wires every part from :class:`Settings`.

Nothing here is global: tests build as many consoles as they like, each with its own database,
clock and simulator.  A console watches 1-16 chairs: one :class:`ChairService` per chair, each
with its own runner, simulator and alarm threads (an unplugged cable or a stuck monitor on one
chair never holds up another), all writing through one shared :class:`StorageWriter`.
"""

from __future__ import annotations

import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QTimer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from console.config import Settings, chair_settings, default_journal_dir
from console.services.chair_service import ChairService
from console.services.device_bridge import DeviceBridge
from console.services.resume_clock import simulated_clock_start
from console.services.shift import Shift
from console.storage.accounts import AccountRepository
from console.storage.engine import describe_url, make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import StorageWriter
from console.ui.alarm_sound import AlarmAudioController
from console.ui.main_window import MainWindow, stop_chair
from console.ui.shift_control import ShiftControl
from devices.clock import Clock, SystemClock
from devices.pacing import PacedClock

log = logging.getLogger("console")

#: How long start-up waits for the schema upgrade before opening the window anyway (a hung
#: database must not keep the window away; each chair then holds its data until it answers).
SCHEMA_WAIT_S = 1.0


class ChairFleet:
    """The running chairs, and how to make one: what a restart needs besides new settings.

    An accelerated simulated chair runs on a :class:`~devices.pacing.PacedClock` of its own,
    as ``run`` does: its clock stands still while its monitor's bytes are not yet read, so a
    starved reader thread on a busy machine slows that chair's run down instead of dropping
    bytes off a full pty (cut frames, lost readings).  Every chair starts at the same
    simulated time; a chair whose reader falls behind falls behind alone.  A real monitor
    always runs on the system clock (alarm delays are real seconds).

    Args:
        writer: the one storage writer every chair submits to.
        repository: session records (each chair opens its own session).
        speed: the global ``[simulator] speed``.
        clock: one clock for every chair, real or simulated (tests).
        sim_start: where an accelerated simulated clock starts (default: now); see
            console.services.resume_clock.
    """

    def __init__(
        self,
        *,
        writer: StorageWriter,
        repository: SessionRepository,
        speed: float,
        clock: Clock | None = None,
        sim_start: datetime | None = None,
    ) -> None:
        self.writer = writer
        self.repository = repository
        self.chairs: list[ChairService] = []
        #: The console's one alarm speaker (None in tests that leave sound out).
        self.audio: AlarmAudioController | None = None
        self._fixed_clock: Clock | None = clock
        self._speed = speed
        self._sim_start = sim_start

    def make(self, settings: Settings) -> ChairService:
        """A new, not yet started, service for one chair's ``settings``."""
        clock = self._fixed_clock or self._chair_clock(settings)
        return ChairService(settings, writer=self.writer, repository=self.repository, clock=clock)

    def _chair_clock(self, settings: Settings) -> Clock:
        """The clock a chair's simulator, runner and alarm engine share (see the class)."""
        speed = settings.simulator.speed
        if not settings.device.simulated or speed == 1.0:
            return SystemClock()
        # QA may have picked another speed for this chair than the console's: that chair
        # starts now, on a timeline of its own.
        start = self._sim_start if speed == self._speed else None
        return PacedClock(speed, start=start)

    def restart(self, index: int, settings: Settings) -> ChairService:
        """Stop chair ``index`` cleanly (session closed, record flushed); start it anew.

        The other chairs are not touched.  Runs on the GUI thread and waits for the old
        chair's threads to end (normally well under a second).
        """
        old = self.chairs[index]
        new = self.make(settings)  # first: a bad scenario raises before the old chair stops
        if self.audio is not None:
            self.audio.remove_chair(old)
        stop_chair(old)
        self.chairs[index] = new
        new.start()
        if self.audio is not None:
            self.audio.add_chair(new)
        return new

    def set_storage_status(self, healthy: bool, detail: str) -> None:
        """The storage writer's health, as every chair's "session not recorded" technical
        alarm (a chair that cannot open its record already shows its own reason)."""
        for chair in self.chairs:
            if chair.storage_problem is None:
                chair.alarms.set_storage_available(healthy, detail)

    def stop_all(self) -> None:
        """Stop every chair that still runs (idempotent)."""
        for chair in self.chairs:
            stop_chair(chair)


@dataclass
class ConsoleApp:
    """The running console's parts, for shutdown and for tests."""

    settings: Settings
    engine: Engine
    writer: StorageWriter
    repository: SessionRepository
    fleet: ChairFleet
    window: MainWindow
    #: The start-up schema upgrade's thread (joined at shutdown; it may outlive build_app).
    startup: ThreadPoolExecutor | None = None
    #: Who is logged in at the console, and its strip, menu and idle lock (issue 16).
    shift_control: ShiftControl | None = None

    @property
    def chairs(self) -> list[ChairService]:
        """Every chair's service, in display order (restarted chairs included)."""
        return self.fleet.chairs

    @property
    def chair(self) -> ChairService:
        """The first (or only) chair."""
        return self.fleet.chairs[0]

    def terminate(self, reason: str) -> None:
        """Close at once (SIGTERM): open sessions are recorded as interrupted, resumable."""
        self.window.terminate(reason)

    def shutdown(self) -> None:
        """Stop the chairs, flush and stop the writer, release the database."""
        self.fleet.stop_all()
        if self.shift_control is not None:
            self.shift_control.shift.close()
        if self.startup is not None:
            self.startup.shutdown(wait=True)
        self.writer.stop()
        self.engine.dispose()


#: The reason recorded when a signal closes the console with sessions open.
TERMINATED_BY = {
    "SIGTERM": "console stopped by the operating system (SIGTERM)",
    "SIGINT": "console stopped from the terminal (Ctrl+C)",
}


def install_signal_handlers(console: ConsoleApp) -> QTimer:
    """SIGTERM from the operating system, or Ctrl-C in the terminal, cannot be asked: open
    sessions record the signal as interrupted (resumable at the next start), the records are
    flushed and the window closes (console.ui.quit_guard, issue 11 item 4).

    Returns:
        The timer (owned by the window) that wakes the interpreter twice a second: Python runs
        signal handlers only between bytecodes.
    """
    for name in TERMINATED_BY:
        reason = TERMINATED_BY[name]
        signal.signal(getattr(signal, name), lambda *_a, r=reason: console.terminate(r))
    wake = QTimer(console.window)
    wake.setObjectName("signal-wake")
    wake.timeout.connect(lambda: None)
    wake.start(500)
    return wake


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    journal_dir: Path | None = None,
    sound: bool = True,
) -> ConsoleApp:
    """Create storage, the chairs and the main window, and start monitoring.

    One chair without ``[[chairs]]`` (exactly the single-chair console), else one per entry.
    ``clock``, when given, drives every chair (tests).

    The database is migrated to this console's newest schema first; a database newer than
    the console raises :class:`console.storage.migrate.DatabaseTooNewError` (a
    ``StorageConfigError``, reported by the CLI as one line) before anything is written.

    ``sound=False`` leaves the alarm speaker out (tests about something else); the console
    always runs with it, and shows a high-priority alarm when it cannot play.

    Requires a ``QApplication`` to exist.
    """
    engine = make_engine(settings.db_url)
    repository = SessionRepository(engine)
    # Never on the GUI thread (issue 12 item 9): a hung server would keep the window away.
    startup = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-start")
    schema_ready = False
    try:
        startup.submit(repository.ensure_upgraded).result(timeout=SCHEMA_WAIT_S)
        schema_ready = True
    except FutureTimeout:
        log.warning(
            "database %s has not answered within %g s; the window opens and each chair holds "
            "its data until it does",
            describe_url(settings.db_url),
            SCHEMA_WAIT_S,
        )
    except (OperationalError, DBAPIError) as err:
        # Unreachable (server down, locked file): monitor anyway.  Each chair holds its data
        # and shows "session not recorded" until the database returns; then the schema is
        # upgraded and the record written.  A database *newer* than the console is a
        # StorageConfigError and still refuses to start.
        log.error("database unreachable at start; monitoring without a record: %s", err)
    except BaseException:
        startup.shutdown(wait=True)
        raise
    # The writer's health reaches the screen through the same bridge as the chairs' data:
    # one way from a worker thread to the GUI (held in its queue until the window is up).
    storage_bridge = DeviceBridge(name="bridge-storage")
    writer = StorageWriter(
        engine,
        on_status=storage_bridge.post_storage_status,
        journal_dir=journal_dir or default_journal_dir(),
    )
    writer.start()
    sim_start = None
    if clock is None and settings.simulator.speed != 1.0 and schema_ready:
        # Also on the start-up worker, within the same bound: a server that stops answering
        # now must not keep the window away (a hung one already failed the schema wait).
        asked = startup.submit(
            simulated_clock_start, repository, chair_settings(settings), datetime.now(UTC)
        )
        try:
            sim_start = asked.result(timeout=SCHEMA_WAIT_S)
        except FutureTimeout:
            log.warning("resumable simulated sessions not checked: the database is slow")
    fleet = ChairFleet(
        writer=writer,
        repository=repository,
        speed=settings.simulator.speed,
        clock=clock,
        sim_start=sim_start,
    )
    try:
        fleet.chairs.extend(fleet.make(s) for s in chair_settings(settings))
    except BaseException:
        startup.shutdown(wait=True)
        writer.stop()
        engine.dispose()
        raise
    db_label = describe_url(settings.db_url)
    window = MainWindow(fleet.chairs, db_label=db_label, restart_chair=fleet.restart)
    storage_bridge.setParent(window)
    storage_bridge.sig_storage_status.connect(window.set_storage_status)
    storage_bridge.sig_storage_status.connect(fleet.set_storage_status)
    storage_bridge.start()
    for chair in fleet.chairs:
        chair.start()
    if sound:
        fleet.audio = AlarmAudioController(fleet.chairs, parent=window)
    # The shift's log-in is asked for behind running monitors: never before them.
    shift = Shift(
        AccountRepository(engine),
        all_simulated=all(c.simulated for c in fleet.chairs),
        parent=window,
    )
    control = ShiftControl(window, shift, idle_lock_ms=round(settings.idle_lock_min * 60_000))
    window.credit = shift.credit
    shift.start()
    return ConsoleApp(settings, engine, writer, repository, fleet, window, startup, control)
