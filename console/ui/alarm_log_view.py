"""The chair's live alarm log: onsets, escalations, acknowledges (by whom), pauses, ends."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from console.domain.alarm_episode import priority_tag
from console.domain.alarms import AlarmEvent, Priority
from console.services.chair_service import ChairService
from console.ui import theme

#: Rows kept on screen; the complete log is in the session record.
MAX_ROWS = 200


def format_entry(ev: AlarmEvent) -> str:
    """One log line: time, what happened, priority (IEC marker and word), message and who."""
    kind = str(getattr(ev.kind, "value", ev.kind)).replace("_", " ")
    prio = priority_tag(ev.priority) if isinstance(ev.priority, Priority) else ""
    who = f" - by {ev.actor}" if getattr(ev, "actor", None) else ""
    return f"{ev.at.astimezone():%H:%M:%S}  {kind:<12} {prio:<10} {ev.message}{who}"


class AlarmLogView(QListWidget):
    """Newest entry first, coloured by priority."""

    def __init__(self, service: ChairService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmLog")
        self.setAlternatingRowColors(False)
        self.setStyleSheet("QListWidget#alarmLog { font-family: monospace; font-size: 12px; }")
        self.service = service
        self._session = service.last_session_id
        service.sig_alarm_logged.connect(self._on_service_alarm_logged)
        service.sig_session_changed.connect(self._on_service_session_changed)
        self._on_service_alarm_logged(list(service.alarm_log))

    def _on_service_session_changed(self) -> None:
        """A new record: the last session's entries leave the screen (issue 11 item 2)."""
        if self.service.last_session_id != self._session:
            self._session = self.service.last_session_id
            self.clear()
            self._on_service_alarm_logged(list(self.service.alarm_log))

    def _on_service_alarm_logged(self, events: list[AlarmEvent]) -> None:
        for ev in events:
            item = QListWidgetItem(format_entry(ev))
            if isinstance(ev.priority, Priority):
                item.setForeground(QColor(theme.PRIORITY_COLOURS[ev.priority]))
            self.insertItem(0, item)
        while self.count() > MAX_ROWS:
            self.takeItem(self.count() - 1)
