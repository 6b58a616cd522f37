"""A physician's password in an override dialog: the override inside a nurse's shift.

On a console with accounts, the pre-dose gate's override is the physician's (console.domain.
roles); the physician types name and password into the dialog itself instead of a full switch
of user, and the verified account is recorded (console.services.shift.Shift.countersign).
The field is added from outside so the dialog's own module stays as it was.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QFormLayout, QLineEdit

#: The object name of the added field (tests and :func:`physician_password` find it by it).
FIELD = "physicianPassword"


def add_physician_password(dialog: QDialog) -> QLineEdit:
    """Add "Physician's password" under the physician's name in ``dialog``'s form."""
    edit = QLineEdit()
    edit.setObjectName(FIELD)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText("physician's password (signs the override)")
    form = dialog.layout()
    assert isinstance(form, QFormLayout)
    # After the physician's name: the dialog's rows are text, physician, reason, buttons.
    form.insertRow(max(0, form.rowCount() - 2), "Password", edit)
    return edit


def physician_password(dialog: QDialog) -> QLineEdit:
    """The field :func:`add_physician_password` added."""
    edit = dialog.findChild(QLineEdit, FIELD)
    assert edit is not None, "the dialog has no physician's password"
    return edit
