"""The console-wide strip: faults of the console itself, shown once for every chair.

Alarm audio unavailable and session not recorded concern every chair; they are listed here,
above the chairs, in their priority colour and flash (as a chair's banner), and never in a
chair's alarm slot (:mod:`console.ui.alarm_slots`).  The strip is hidden while there are none.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QWidget

from console.services.chair_service import ChairService
from console.ui.alarm_banner import AlarmBanner
from console.ui.alarm_slots import console_conditions


class ConsoleStrip(AlarmBanner):
    """One band listing the console conditions any chair reports."""

    def __init__(self, chairs: Sequence[ChairService], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consoleStrip")
        self.setToolTip("Faults of the console itself: they concern every chair")
        self._chairs: list[ChairService] = []
        self.set_chairs(chairs)

    def set_chairs(self, chairs: Sequence[ChairService]) -> None:
        """Observe ``chairs`` (after a chair was restarted, the new list)."""
        for chair in self._chairs:
            chair.sig_alarms_changed.disconnect(self.refresh)
        self._chairs = list(chairs)
        for chair in self._chairs:
            chair.sig_alarms_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Show the console conditions now listed by any chair; hide when there are none."""
        conditions = console_conditions(c.alarm_list for c in self._chairs)
        self.show_statuses(conditions)
        self.setVisible(bool(conditions))
