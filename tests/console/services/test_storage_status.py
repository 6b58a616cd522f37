"""StorageStatusRelay: the writer thread's health report reaches the GUI thread."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, Slot
from pytestqt.qtbot import QtBot

from console.services.storage_status import StorageStatusRelay

pytestmark = pytest.mark.gui


class _Screen(QObject):
    """Lives on the GUI thread, as the chair panel does."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bool, str, bool]] = []

    @Slot(bool, str)
    def on_status(self, healthy: bool, detail: str) -> None:
        self.seen.append((healthy, detail, threading.current_thread() is threading.main_thread()))


def test_a_report_from_the_writer_thread_is_delivered_on_the_gui_thread(qtbot: QtBot) -> None:
    relay = StorageStatusRelay()
    screen = _Screen()
    relay.sig_status_changed.connect(screen.on_status)

    def writer() -> None:
        relay.report(False, "database is locked")
        relay.report(True, "")

    thread = threading.Thread(target=writer, name="storage-writer-test")
    thread.start()
    thread.join(5)
    assert screen.seen == []  # queued: nothing ran on the writer thread
    qtbot.waitUntil(lambda: len(screen.seen) == 2, timeout=5_000)
    assert screen.seen == [(False, "database is locked", True), (True, "", True)]


def test_a_report_from_the_gui_thread_is_delivered_at_once(qtbot: QtBot) -> None:
    relay = StorageStatusRelay()
    screen = _Screen()
    relay.sig_status_changed.connect(screen.on_status)
    relay.report(True, "")
    assert screen.seen == [(True, "", True)]
