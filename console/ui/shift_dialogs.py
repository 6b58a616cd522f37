"""The shift's dialogs: log in, switch user (PIN), set my PIN, create the administrator.

Each checks on the database worker (console.services.shift) and stays open until the answer
comes: refused, it shows the accounts module's one line (wrong name or password, locked for
five minutes) in red at its top and keeps the name typed; only the secret fields are cleared.
They are window-modal (``open()``), never a nested event loop: the chairs keep updating and
alarming behind them.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from console.ui.dialog_guard import REFUSAL_STYLE

#: The dialogs' minimum width (px): a lockout line wraps into two rows, not five.
MIN_WIDTH = 440
#: ``submit(on_error, on_done)``: what the dialog's OK runs (set by the shift control).
Submit = Callable[[Callable[[str], None], Callable[[], None]], None]


def _secret(placeholder: str, name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    edit.setObjectName(name)
    return edit


class ShiftDialog(QDialog):
    """A form whose OK asks the worker and closes only on success.

    Attributes:
        submit: run on OK with (on_error, on_done); None closes at once.
        error: the refusal line (hidden until a refusal).
    """

    def __init__(self, title: str, intro: str, ok_text: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.submit: Submit | None = None
        self.error = QLabel()
        self.error.setObjectName("shiftError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(REFUSAL_STYLE)
        self.error.hide()
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.form = QFormLayout(self)
        # Wide enough for a lockout line in two rows at most; the dialog grows with it.
        self.setMinimumWidth(MIN_WIDTH)
        self.form.addRow(self.error)
        self.form.addRow(self.intro)
        self.secrets: list[QLineEdit] = []

    def finish_form(self) -> None:
        """Add the buttons under the fields (subclasses call it last)."""
        self.form.addRow(self.buttons)

    def check(self) -> str:
        """A refusal found without asking the database ("" when the form is complete)."""
        return ""

    def accept(self) -> None:
        """Ask; close when the answer is yes, else show the line and keep the typing."""
        problem = self.check()
        if problem:
            self.show_error(problem)
            return
        if self.submit is None:
            super().accept()
            return
        self.ok_button.setEnabled(False)
        self.submit(self.show_error, self._on_done)

    def _on_done(self) -> None:
        self.ok_button.setEnabled(True)
        super().accept()

    def show_error(self, line: str) -> None:
        """The one refusal line; secret fields are emptied for the next try."""
        self.ok_button.setEnabled(True)
        self.error.setText(line)
        self.error.show()
        self.adjustSize()  # the wrapped line's height, not the empty label's
        for edit in self.secrets:
            edit.clear()
        if self.secrets:
            self.secrets[0].setFocus()


class LoginDialog(ShiftDialog):
    """Name and password: the shift's log-in (the screen is locked until it succeeds)."""

    def __init__(self, parent: QWidget | None = None, *, why: str = "") -> None:
        super().__init__(
            "Log in",
            why or "Vitals and alarms stay live while the screen is locked.",
            "Log in",
            parent,
        )
        self.setObjectName("loginDialog")
        self.name = QLineEdit()
        self.name.setObjectName("loginName")
        self.name.setPlaceholderText("user name")
        self.password = _secret("password", "loginPassword")
        self.secrets = [self.password]
        self.form.addRow("Name", self.name)
        self.form.addRow("Password", self.password)
        self.finish_form()

    def check(self) -> str:
        if not self.name.text().strip() or not self.password.text():
            return "type your name and password"
        return ""


class PinDialog(ShiftDialog):
    """Name and PIN: the quick switch of user (the password for a user without a PIN)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Switch user",
            "Name and PIN (no PIN set: your password).",
            "Switch",
            parent,
        )
        self.setObjectName("pinDialog")
        self.name = QLineEdit()
        self.name.setObjectName("pinName")
        self.name.setPlaceholderText("user name")
        self.pin = _secret("PIN or password", "pinSecret")
        self.secrets = [self.pin]
        self.form.addRow("Name", self.name)
        self.form.addRow("PIN", self.pin)
        self.finish_form()

    def check(self) -> str:
        if not self.name.text().strip() or not self.pin.text():
            return "type your name and PIN"
        return ""


class SetPinDialog(ShiftDialog):
    """Set my own PIN: my password first, then the new PIN twice."""

    def __init__(self, user: str, parent: QWidget | None = None) -> None:
        super().__init__(
            "Set my PIN",
            f"The PIN of {user} for the quick switch of user: 4 to 8 digits.",
            "Set PIN",
            parent,
        )
        self.setObjectName("setPinDialog")
        self.password = _secret("your password", "pinPassword")
        self.pin = _secret("4 to 8 digits", "newPin")
        self.again = _secret("the same again", "newPinAgain")
        self.secrets = [self.password, self.pin, self.again]
        self.form.addRow("Password", self.password)
        self.form.addRow("New PIN", self.pin)
        self.form.addRow("New PIN again", self.again)
        self.finish_form()

    def check(self) -> str:
        if not self.password.text():
            return "type your password"
        if self.pin.text() != self.again.text():
            return "the two PINs differ"
        return ""


class CreateAdminDialog(ShiftDialog):
    """First start with a real monitor: the administrator's account (monitoring runs)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Create the administrator",
            "This console watches a real monitor and its database has no accounts yet. "
            "Create the administrator (who then adds the nurses and physicians: "
            "infusion-console users add). Monitoring and alarms are already running; "
            "acknowledge and audio pause work meanwhile.",
            "Create and log in",
            parent,
        )
        self.setObjectName("createAdminDialog")
        self.name = QLineEdit()
        self.name.setObjectName("adminName")
        self.name.setPlaceholderText("log-in name, no spaces")
        self.printed = QLineEdit()
        self.printed.setObjectName("adminPrintedName")
        self.printed.setPlaceholderText("as on a signature")
        self.password = _secret("8 characters or more", "adminPassword")
        self.again = _secret("the same again", "adminPasswordAgain")
        self.secrets = [self.password, self.again]
        self.form.addRow("Name", self.name)
        self.form.addRow("Printed name", self.printed)
        self.form.addRow("Password", self.password)
        self.form.addRow("Password again", self.again)
        self.finish_form()

    def check(self) -> str:
        if not self.name.text().strip() or not self.printed.text().strip():
            return "type the name and the printed name"
        if self.password.text() != self.again.text():
            return "the two passwords differ"
        return ""


__all__ = ["CreateAdminDialog", "LoginDialog", "PinDialog", "SetPinDialog", "ShiftDialog"]
