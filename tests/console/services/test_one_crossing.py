"""Every hand-off from a worker thread to the Qt GUI thread goes through DeviceBridge (issue 13).

A second crossing had grown beside the bridge: the database worker woke the GUI thread with a
queued signal of its own, with its own rules.  Now its results cross through the bridge too.
These tests fail when another crossing appears (structurally: a queued connection, an
``invokeMethod`` or a signal in a module that runs code on other threads, anywhere but the
bridge) and check at run time that the database worker's results and the pipeline's alarm
events reach the bridge with no pipeline lock held.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.config import load
from console.domain.alarms import AlarmEvent
from console.domain.pipeline import ChairPipeline
from console.services.db_tasks import DatabaseTasks
from console.services.device_bridge import DeviceBridge

CONSOLE = Path(__file__).resolve().parents[3] / "console"
BRIDGE = CONSOLE / "services" / "device_bridge.py"

#: Ways to wake another thread's event loop: only the bridge may use them.
CROSSING_NAMES = frozenset(
    {"QueuedConnection", "BlockingQueuedConnection", "invokeMethod", "QMetaObject"}
)
#: Names that say a module runs code on threads of its own.
THREAD_NAMES = frozenset(
    {"Thread", "QThread", "QThreadPool", "QRunnable", "ThreadPoolExecutor", "add_done_callback"}
)


def _names(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name.rsplit(".", 1)[-1])
    return found


def _defines_signal(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "Signal":
                return True
    return False


def test_only_the_bridge_wakes_the_gui_thread_from_another_thread() -> None:
    offenders: list[str] = []
    for path in sorted(CONSOLE.rglob("*.py")):
        if path == BRIDGE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        names = _names(tree)
        rel = path.relative_to(CONSOLE.parent)
        if names & CROSSING_NAMES:
            offenders.append(f"{rel}: {sorted(names & CROSSING_NAMES)}")
        if names & THREAD_NAMES and _defines_signal(tree):
            offenders.append(f"{rel}: runs threads and defines a Qt signal")
    assert offenders == [], "a second thread-to-Qt crossing; use DeviceBridge: " + "; ".join(
        offenders
    )


def test_the_bridge_is_still_seen_by_the_check() -> None:
    """The structural check would pass vacuously if it no longer recognised a crossing."""
    tree = ast.parse(BRIDGE.read_text(encoding="utf-8"))
    assert _names(tree) & CROSSING_NAMES
    assert _defines_signal(tree)


pytestmark = pytest.mark.gui


def test_database_results_cross_through_the_bridge(qtbot: QtBot) -> None:
    bridge = DeviceBridge(name="bridge-test")
    tasks = DatabaseTasks("db-crossing", bridge=bridge)
    posted_from: list[str] = []
    posted = threading.Event()
    post = bridge.post_call

    def spy(call: Callable[[], None]) -> None:
        posted_from.append(threading.current_thread().name)
        post(call)
        posted.set()

    bridge.post_call = spy  # type: ignore[method-assign]
    delivered: list[tuple[int, bool]] = []
    tasks.submit(
        lambda: 42,
        lambda r: delivered.append((r, threading.current_thread() is threading.main_thread())),
    )
    assert posted.wait(5.0)
    assert posted_from == ["db-crossing"]  # from the worker, into the bridge's inbox
    assert delivered == []  # nothing ran on the worker thread
    bridge.drain(calls=False)  # the chair draining its alarms mid-action: not delivered yet
    assert delivered == []
    bridge.drain()  # the GUI thread drains: delivered there, without another signal
    assert delivered == [(42, True)]
    tasks.close()


def test_alarm_events_reach_the_bridge_with_no_pipeline_lock_held(qtbot: QtBot) -> None:
    bridge = DeviceBridge(name="bridge-test")
    lock_free: list[bool] = []
    post_alarms = bridge._post_alarms

    def spy(events: list[AlarmEvent]) -> None:
        # Another thread can take the pipeline's lock only if nobody holds it now.
        def probe() -> None:
            took = pipeline._lock.acquire(blocking=False)
            if took:
                pipeline._lock.release()
            lock_free.append(took)

        prober = threading.Thread(target=probe)
        prober.start()
        prober.join(5.0)
        post_alarms(events)

    bridge._post_alarms = spy  # type: ignore[method-assign]
    pipeline = ChairPipeline(load(environ={}).alarm_profile, [bridge.outputs()])
    assert pipeline.set_audio_available(False, datetime.now(UTC), "no sound device")
    assert lock_free == [True]
    got: list[list[AlarmEvent]] = []
    bridge.sig_alarms_changed.connect(got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=5_000)  # the queued wake-up drained it
