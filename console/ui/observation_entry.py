"""The compact score entry: MOAA/S, CADSS-6 and nausea in a few keys (issue 17).

A nurse scoring a dissociating patient has no hand free for a mouse: F11 opens this entry
with the due time point chosen and the cursor in the first score, so ``3 Tab 12 Tab 2 Enter``
records a time point.  An empty field is simply not recorded.  Before the infusion the
session's outcome scores (PHQ-9, MADRS: clinical.md G 34) can be typed in the same entry.
The entry only collects digits; the session workflow checks every range and refuses the
whole entry with one line when a score is out of range (the dialog stays open, as typed).
Opened with ``open()``, never ``exec()``: the chair's alarms keep sounding behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator, QShowEvent
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QFormLayout, QLineEdit, QWidget

from console.domain.observations import OUTCOME_SCALES, TIMED_SCALES, UNSCHEDULED, Scale
from console.ui.dialog_guard import GuardedDialog

#: The entry's look: large digits, readable from a step back.
ENTRY_STYLE = (
    "QLineEdit { font-size: 20px; font-weight: 700; min-width: 4em; max-width: 6em; }"
    " QPushButton { padding: 4px 10px; }"
)


def _field(scale: Scale) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(f"score-{scale.name}")
    # Digits only: a letter cannot be typed; the range is the workflow's check (one message).
    edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,2}"), edit))
    return edit


class ScoresDialog(GuardedDialog):
    """Score the timed scales at one time point (and the outcome scales before the dose).

    Args:
        points: the schedule's time point labels, in order.
        due: the point to preselect (the due one), or None for "unscheduled".
        scales: the timed scales the clinic prompts (names of ``TIMED_SCALES``).
        outcomes: show the PHQ-9/MADRS fields (before the infusion).
        parent: Qt parent.
    """

    def __init__(
        self,
        points: Sequence[str],
        *,
        due: str | None,
        scales: Sequence[str],
        outcomes: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scoresDialog")
        self.setStyleSheet(ENTRY_STYLE)
        self.setWindowTitle("Scores")
        self.point = QComboBox()
        self.point.setObjectName("scoresTimePoint")
        self.point.addItems([*points, UNSCHEDULED])
        self.point.setCurrentText(due if due is not None and due in points else UNSCHEDULED)
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout(self)
        form.addRow("Time point", self.point)
        shown = [TIMED_SCALES[s] for s in scales]
        if outcomes:
            shown += list(OUTCOME_SCALES.values())
        for scale in shown:
            edit = _field(scale)
            self.fields[scale.name] = edit
            what = "" if scale.what == scale.name else f"{scale.what} "
            form.addRow(f"{scale.name} ({what}{scale.low}-{scale.high})", edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Record  [Enter]")
        self.ok_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        # Tab goes score to score; the time point comes after (it is rarely changed).
        order: list[QWidget] = [*self.fields.values(), self.point, self.ok_button]
        for first, second in pairwise(order):
            QWidget.setTabOrder(first, second)
        self.first_field = next(iter(self.fields.values()))

    def showEvent(self, event: QShowEvent) -> None:
        """Open with the cursor in the first score: the nurse types at once."""
        super().showEvent(event)
        self.activateWindow()
        self.first_field.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def time_point(self) -> str:
        """The chosen time point's label."""
        return self.point.currentText()

    def scores(self) -> dict[str, float]:
        """Every typed score by scale name (empty fields are not recorded)."""
        return {name: float(e.text()) for name, e in self.fields.items() if e.text().strip()}
