"""The esketamine end checks dialog (issue 17): did sedation, dissociation or respiratory
depression occur, has each resolved, and when was the patient ready to leave.

The REMS form asks when the patient would have been ready to leave without the 2-hour rule
(clinical.md F 31), so the time is entered (it may be before now), shown as minutes after the
first device.  The dialog only collects; the lifecycle checks (a time before the first device
or in the future is refused with its message).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from console.domain.esketamine import END_CHECK_EFFECTS
from console.ui.dialog_guard import GuardedDialog

DIALOG_STYLE = "QPushButton:disabled { color: #5c6670; } QPushButton { padding: 4px 10px; }"


class EndChecksDialog(GuardedDialog):
    """Sedation, dissociation and respiratory depression, and the ready-to-leave time.

    Args:
        now: the chair clock's time (the default ready-to-leave time).
        first_device_at: the first device's time (None: not given yet).
        parent: Qt parent.
    """

    def __init__(
        self, now: datetime, first_device_at: datetime | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("endChecksDialog")
        self.setWindowTitle("Esketamine end checks")
        self.setStyleSheet(DIALOG_STYLE)
        self.now, self.first_device_at = now, first_device_at
        self.occurred: dict[str, QComboBox] = {}
        self.resolved: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        grid.addWidget(QLabel("<b>Effect</b>"), 0, 0)
        grid.addWidget(QLabel("<b>Occurred?</b>"), 0, 1)
        grid.addWidget(QLabel("<b>Resolved</b>"), 0, 2)
        for row, (key, label) in enumerate(END_CHECK_EFFECTS.items(), start=1):
            occurred = QComboBox()
            occurred.setObjectName(f"occurred-{key}")
            occurred.addItems(["-", "No", "Yes"])
            resolved = QCheckBox("resolved")
            resolved.setObjectName(f"resolved-{key}")
            resolved.setEnabled(False)
            occurred.currentIndexChanged.connect(self._update)
            grid.addWidget(QLabel(label.capitalize()), row, 0)
            grid.addWidget(occurred, row, 1)
            grid.addWidget(resolved, row, 2)
            self.occurred[key], self.resolved[key] = occurred, resolved
        self.ready = QTimeEdit(QTime(now.hour, now.minute))
        self.ready.setObjectName("readyToLeave")
        self.ready.setDisplayFormat("HH:mm")
        self.ready.timeChanged.connect(self._update)
        self.ready_note = QLabel()
        self.ready_note.setObjectName("readyNote")
        ready_row = QHBoxLayout()
        ready_row.addWidget(QLabel("Ready to leave at"))
        ready_row.addWidget(self.ready)
        ready_row.addWidget(self.ready_note, 1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Record end checks")
        self.ok_button.setObjectName("recordEndChecks")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Before the patient leaves (at least 2 h after the first device):"))
        layout.addLayout(grid)
        layout.addLayout(ready_row)
        layout.addWidget(self.buttons)
        self._update()

    def answers(self) -> tuple[dict[str, bool], dict[str, bool]]:
        """(occurred, resolved) per effect; an unanswered effect is left out (refused)."""
        occurred = {
            k: c.currentText() == "Yes" for k, c in self.occurred.items() if c.currentIndex() > 0
        }
        resolved = {k: self.resolved[k].isChecked() for k, yes in occurred.items() if yes}
        return occurred, resolved

    def ready_at(self) -> datetime:
        """The ready-to-leave time on the chair clock's day (a time after now: yesterday's)."""
        t = self.ready.time()
        at = self.now.replace(hour=t.hour(), minute=t.minute(), second=0, microsecond=0)
        return at - timedelta(days=1) if at > self.now + timedelta(minutes=1) else at

    def _update(self) -> None:
        for key, combo in self.occurred.items():
            yes = combo.currentText() == "Yes"
            self.resolved[key].setEnabled(yes)
            if not yes:
                self.resolved[key].setChecked(False)
        if self.first_device_at is not None:
            minutes = (self.ready_at() - self.first_device_at).total_seconds() / 60.0
            self.ready_note.setText(f"{minutes:.0f} min after the first device")
        self.ok_button.setEnabled(all(c.currentIndex() > 0 for c in self.occurred.values()))


__all__ = ["EndChecksDialog"]
