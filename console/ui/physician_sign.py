"""A physician's password in an override dialog: the override inside a nurse's shift.

On a console with accounts, the pre-dose gate's override and the discharge override are the
physician's (console.domain.roles); the physician types name and password into the dialog
itself instead of a full switch of user, and the verified account is recorded
(console.services.shift.Shift.countersign).  The field is added from outside so the dialogs'
own module stays as it was.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QBoxLayout, QDialog, QFormLayout, QLineEdit, QWidget

#: The object name of the added field (tests and :func:`physician_password` find it by it).
FIELD = "physicianPassword"


class _SameVisibility(QObject):
    """Shows and hides ``follower`` with the widget it watches (the override's name field)."""

    def __init__(self, follower: QWidget) -> None:
        super().__init__(follower)
        self.follower = follower

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.ShowToParent, QEvent.Type.HideToParent):
            self.follower.setVisible(event.type() == QEvent.Type.ShowToParent)
        return False


def add_physician_password(dialog: QDialog, after: QWidget | None = None) -> QLineEdit:
    """Add the physician's password to ``dialog``: in a form, under the physician's name (the
    gate dialog's rows: text, physician, reason, buttons); in a box layout, right after
    ``after`` (the discharge override's reason), shown and hidden with it."""
    edit = QLineEdit()
    edit.setObjectName(FIELD)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText("physician's password (signs the override)")
    layout = dialog.layout()
    if isinstance(layout, QFormLayout):
        layout.insertRow(max(0, layout.rowCount() - 2), "Password", edit)
    else:
        assert isinstance(layout, QBoxLayout)
        assert after is not None, "a box layout needs the widget to follow"
        layout.insertWidget(layout.indexOf(after) + 1, edit)
        edit.setVisible(not after.isHidden())
        after.installEventFilter(_SameVisibility(edit))
    return edit


def physician_password(dialog: QDialog) -> QLineEdit:
    """The field :func:`add_physician_password` added."""
    edit = dialog.findChild(QLineEdit, FIELD)
    assert edit is not None, "the dialog has no physician's password"
    return edit
