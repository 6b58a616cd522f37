"""The console's main window: one chair for now, with storage and link status below."""

from __future__ import annotations

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

from console.services.chair_service import ChairService
from console.ui.chair_panel import ChairPanel


class MainWindow(QMainWindow):
    """Top-level window hosting the chair view."""

    def __init__(
        self, chair: ChairService, *, db_label: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.chair = chair
        self.setWindowTitle(
            f"Infusion Console - {chair.settings.chair_name}"
            + (" - SIMULATED" if chair.simulated else "")
        )
        self.panel = ChairPanel(chair)
        self.setCentralWidget(self.panel)
        self.storage_label = QLabel(f"Database: {db_label}")
        self.device_label = QLabel()
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.storage_label)
        chair.sig_technical_event.connect(self._on_chair_technical_event)
        self._update_device_label()
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None and screen.width() >= 1280:
            self.resize(screen.width(), screen.height())
        else:
            self.resize(1600, 900)

    def set_storage_status(self, healthy: bool, detail: str) -> None:
        """Show whether records are reaching the database."""
        if healthy:
            self.storage_label.setStyleSheet("")
            self.statusBar().showMessage("Database available again", 10_000)
        else:
            self.storage_label.setStyleSheet("color: #ff5252; font-weight: 600;")
            self.statusBar().showMessage(f"STORAGE PROBLEM: {detail}")

    def _update_device_label(self) -> None:
        sim = " (simulated monitor)" if self.chair.simulated else ""
        self.device_label.setText(f"Device: {self.chair.device_url}{sim}   ")

    def _on_chair_technical_event(self, kind: str, detail: str) -> None:
        self._update_device_label()
        if kind == "frame_error":
            self.statusBar().showMessage(
                f"Frame errors: {self.chair.frame_errors} (last: {detail})", 5_000
            )
        else:
            self.statusBar().showMessage(f"Monitor {kind}: {detail}", 10_000)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the chair cleanly: the monitor is told to stop and the record is flushed."""
        self.chair.stop()
        super().closeEvent(event)
