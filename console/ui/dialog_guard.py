"""Workflow dialogs that keep what was typed when the step is refused (issue 11 item 7).

A nurse's New session was refused ("infusion is still running") after the dialog had closed,
and everything typed (patient, weight, dose) was thrown away.  A :class:`GuardedDialog` runs
its step *before* it closes: the chair view sets :attr:`GuardedDialog.step`, and when the
session lifecycle refuses it (:class:`~console.domain.session.SessionRuleError`), the dialog
stays open, every field as typed, with the reason shown in red at its top.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QBoxLayout, QDialog, QFormLayout, QLabel, QWidget

from console.domain.session import SessionRuleError

#: How the refusal reads inside the dialog.
REFUSAL_STYLE = "color: #ff5252; font-weight: 600; font-size: 14px;"


class GuardedDialog(QDialog):
    """A dialog whose :attr:`step` runs on accept; refused, the dialog stays open.

    Attributes:
        step: the workflow step to run when the dialog is accepted (None: just close).
        not_done: the label showing why the step was refused (hidden until then).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step: Callable[[], object] | None = None
        self._placed = False
        self.not_done = QLabel()
        self.not_done.setObjectName("notDone")
        self.not_done.setWordWrap(True)
        self.not_done.setStyleSheet(REFUSAL_STYLE)
        self.not_done.hide()

    def accept(self) -> None:
        """Run the step; close only when it was done."""
        if self.step is not None:
            try:
                self.step()
            except SessionRuleError as err:
                self.show_refusal(f"Not done: {err}")
                return
        super().accept()

    def show_refusal(self, text: str) -> None:
        """Show why the step was refused, above everything else in the dialog."""
        if not self._placed:
            self._placed = True
            layout = self.layout()
            if isinstance(layout, QFormLayout):
                layout.insertRow(0, self.not_done)
            elif isinstance(layout, QBoxLayout):
                layout.insertWidget(0, self.not_done)
        self.not_done.setText(text)
        self.not_done.show()


__all__ = ["GuardedDialog"]
