"""Carries the storage writer's health from its thread to the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class StorageStatusRelay(QObject):
    """Re-emits writer status on the GUI thread (queued connection).

    Signals:
        sig_status_changed(bool, str): database reachable?, and why not.
    """

    sig_status_changed = Signal(bool, str)
    """Database reachable?, and why not."""

    def report(self, healthy: bool, detail: str) -> None:
        """Callable from any thread."""
        self.sig_status_changed.emit(healthy, detail)
