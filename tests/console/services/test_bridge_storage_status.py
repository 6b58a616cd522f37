"""The storage writer's health reaches the GUI thread through the bridge (issue 13: one way
from worker threads to the screen; the separate StorageStatusRelay is gone)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, Slot
from pytestqt.qtbot import QtBot

from console.services.device_bridge import DeviceBridge

pytestmark = pytest.mark.gui


class _Screen(QObject):
    """Lives on the GUI thread, as the main window does."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bool, str, bool]] = []

    @Slot(bool, str)
    def on_status(self, healthy: bool, detail: str) -> None:
        self.seen.append((healthy, detail, threading.current_thread() is threading.main_thread()))


def test_reports_from_the_writer_thread_arrive_on_the_gui_thread_in_order(qtbot: QtBot) -> None:
    bridge = DeviceBridge(name="bridge-storage-test")
    screen = _Screen()
    bridge.sig_storage_status.connect(screen.on_status)

    def writer() -> None:
        bridge.post_storage_status(False, "database is locked")
        bridge.post_storage_status(True, "")

    thread = threading.Thread(target=writer, name="storage-writer-test")
    thread.start()
    thread.join(5)
    assert screen.seen == []  # queued: nothing ran on the writer thread
    qtbot.waitUntil(lambda: len(screen.seen) == 2, timeout=5_000)
    assert screen.seen == [(False, "database is locked", True), (True, "", True)]


def test_a_report_posted_before_the_screen_listens_is_kept(qtbot: QtBot) -> None:
    bridge = DeviceBridge(name="bridge-storage-test")
    bridge.post_storage_status(False, "disk full")  # the window is not up yet
    screen = _Screen()
    bridge.sig_storage_status.connect(screen.on_status)
    bridge.drain()
    assert screen.seen == [(False, "disk full", True)]
