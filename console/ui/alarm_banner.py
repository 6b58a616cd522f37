"""The banner that lists a chair's active alarms, most urgent first.

Colour and flash rate follow the highest priority present (clinical.md c2): red flashing at 2 Hz
for high, yellow at 0.5 Hz for medium, steady cyan for low.  Messages carry the vendor-style
``***``/``**``/``*`` prefix, so priority is readable without colour.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget

from console.domain.alarms import Priority
from console.ui import theme


class AlarmBanner(QLabel):
    """Active alarms of one chair as a coloured, flashing band."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        font = QFont()
        font.setPointSize(16)
        font.setBold(True)
        self.setFont(font)
        self.setMinimumHeight(44)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._priority: Priority | None = None
        self._lit = True
        self._flash = QTimer(self)
        self._flash.setObjectName("alarm-flash")
        self._flash.timeout.connect(self._on_flash_timeout)
        self.show_alarms([])

    @property
    def priority(self) -> Priority | None:
        """Highest priority shown, or None."""
        return self._priority

    def show_alarms(self, alarms: list[tuple[Priority, str, datetime]]) -> None:
        """Display ``(priority, message, onset)`` items, most urgent and oldest first."""
        if not alarms:
            self._priority = None
            self._flash.stop()
            self.setText("No active alarms")
            self._paint(lit=False)
            return
        ordered = sorted(alarms, key=lambda a: (-int(a[0]), a[2]))
        self.setText(
            "   ".join(
                f"{p.marker} {msg}  (since {t.astimezone():%H:%M:%S})" for p, msg, t in ordered
            )
        )
        top = ordered[0][0]
        if top != self._priority:
            self._priority = top
            self._lit = True
            half = theme.FLASH_HALF_PERIOD_MS[top]
            if half is None:
                self._flash.stop()
            else:
                self._flash.start(half)
        self._paint(lit=self._lit)

    def _on_flash_timeout(self) -> None:
        self._lit = not self._lit
        self._paint(lit=self._lit)

    def _paint(self, *, lit: bool) -> None:
        if self._priority is None:
            self.setStyleSheet(
                f"QLabel#alarmBanner {{ background: {theme.PANEL}; color: {theme.MUTED};"
                " padding: 6px 12px; border-radius: 4px; }"
            )
            return
        colour = theme.PRIORITY_COLOURS[self._priority]
        if lit:
            style = f"background: {colour}; color: {theme.PRIORITY_TEXT[self._priority]};"
        else:
            style = f"background: {theme.PANEL}; color: {colour}; border: 2px solid {colour};"
        self.setStyleSheet(
            f"QLabel#alarmBanner {{ {style} padding: 6px 12px; border-radius: 4px; }}"
        )
