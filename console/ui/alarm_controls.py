"""The chair's alarm strip: active alarms, acknowledge, audio pause, and who is at the console.

Acknowledge and audio pause are separate on purpose (IEC 60601-1-8 c4): acknowledging says "I
have seen this alarm" (it stops flashing, a latched alarm goes away); pausing audio silences the
speaker for two minutes while every alarm stays on screen.  Both are recorded with the
operator's name in the alarm log.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QSizePolicy, QWidget

from console.domain.alarm_events import RepeatRequest
from console.services.chair_service import ChairService
from console.ui.alarm_banner import AlarmBanner
from console.ui.alarm_slots import chair_alarms
from console.ui.flow_layout import FlowLayout


def default_operator() -> str:
    """Who acts when no name was typed: the login name, or "nurse" (never empty)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container, a service account)
        return "nurse"


class AlarmControls(QWidget):
    """The buttons that answer the chair's alarms, and the banner they answer (``banner``).

    The banner is this widget's but laid out by the chair view (above the workflow, always in
    sight); these buttons wrap to the width they get.
    """

    def __init__(self, service: ChairService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.banner = AlarmBanner()
        self.ack_button = QPushButton("Acknowledge  [F2]")
        self.ack_button.setObjectName("ackButton")
        self.ack_button.setToolTip("Acknowledge every listed alarm (recorded with your name)")
        self.pause_button = QPushButton("Audio pause 2 min  [F3]")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setToolTip("Silence alarm sounds for 2 minutes; alarms stay shown")
        self.operator = QLineEdit(default_operator())
        self.operator.setObjectName("operatorName")
        self.operator.setPlaceholderText("your name")
        self.operator.setMaximumWidth(140)
        self.operator.setToolTip("Who is at the console: stored with acknowledges and pauses")
        self.audio_label = QLabel()
        self.audio_label.setObjectName("audioState")
        self.repeat_label = QLabel()
        self.repeat_label.setObjectName("repeatRequest")
        self.repeat_label.setStyleSheet("color: #fdd835; font-weight: 600;")
        #: Who the console credits (the shift's log-in, console.services.shift); None, or a
        #: None answer (DEMO), falls back to the typed name.
        self.credit: Callable[[], str | None] | None = None

        # The buttons wrap (a flow) instead of setting the window's minimum width, and the
        # banner is placed by the chair view above everything (issue 11 item 1): it is the
        # first thing on screen after the chair's name, whatever the screen size.
        self.operator_label = QLabel("Nurse:")
        self.repeat_label.setWordWrap(True)
        layout = FlowLayout(self)
        for widget in (self.operator_label, self.operator, self.ack_button, self.pause_button):
            layout.addWidget(widget)
        layout.addWidget(self.audio_label)
        layout.addWidget(self.repeat_label)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

        self.ack_button.clicked.connect(self._on_ack_button_clicked)
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        for key, slot in (
            ("F2", self._on_ack_button_clicked),
            ("F3", self._on_pause_button_clicked),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setObjectName(f"shortcut-{key}")
            # Window-wide (a hidden chair's strip does not react): with WidgetWithChildren
            # the keys acted only while focus was inside the strip, i.e. in the name field.
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
        service.sig_alarms_changed.connect(self.refresh)
        self.refresh()

    @property
    def user(self) -> str:
        """Who acts, never empty (an acknowledge must say who): the logged-in user or the
        locked console when the shift says so, else the typed name."""
        credited = self.credit() if self.credit is not None else None
        return credited or self.operator.text().strip() or default_operator()

    def refresh(self) -> None:
        """Show the service's alarm state."""
        svc = self.service
        # Console faults (audio, storage) are in the window's console strip, not here.
        self.banner.show_statuses(chair_alarms(svc.alarm_list))
        audio = svc.audio
        now = svc.clock.now()
        if audio.paused_until is not None and audio.paused_until > now:
            left = int((audio.paused_until - now).total_seconds())
            self.audio_label.setText(
                f"AUDIO PAUSED {left // 60}:{left % 60:02d} by {audio.paused_by or '?'}"
            )
            self.audio_label.setStyleSheet("color: #fdd835; font-weight: 700;")
            self.pause_button.setText("Resume audio  [F3]")
        else:
            sounding = audio.priority.label if audio.priority is not None else "quiet"
            if any(a.key == "audio_unavailable" for a in svc.alarm_list):
                self.audio_label.setText(f"AUDIO UNAVAILABLE (would sound: {sounding})")
                self.audio_label.setStyleSheet("color: #e53935; font-weight: 700;")
            else:
                self.audio_label.setText(f"audio: {sounding}")
                self.audio_label.setStyleSheet("")
            self.pause_button.setText("Audio pause 2 min  [F3]")
        self.ack_button.setEnabled(any(not a.acknowledged_by for a in svc.alarm_list))
        requests = svc.repeat_requests
        self.repeat_label.setText(
            "REPEAT NIBP REQUESTED: " + "; ".join(_describe(r) for r in requests)
            if requests
            else ""
        )

    def _on_ack_button_clicked(self) -> None:
        if self.service.alarm_list:
            self.service.alarms.acknowledge_all(self.user)

    def _on_pause_button_clicked(self) -> None:
        audio = self.service.audio
        if audio.paused_until is not None and audio.paused_until > self.service.clock.now():
            self.service.alarms.resume_audio(self.user)
        else:
            self.service.alarms.pause_audio(self.user)


def _describe(request: RepeatRequest) -> str:
    return f"{request.message} (by {request.due_by.astimezone():%H:%M:%S})"
