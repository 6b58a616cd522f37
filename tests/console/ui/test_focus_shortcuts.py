"""Issue 11 item 6: every documented key acts whatever widget has focus.

The nurse-name field has focus at start and after every dialog; a ``QLineEdit`` claims Ctrl+E
(end of line), and F2/F3 acted only with focus inside the alarm strip.  Keys are sent to the
focused widget through Qt's real key path (shortcut override, then the shortcut map).

The offscreen platform has no emacs-style key bindings, so :class:`X11LineEditKeys` makes the
name field claim Ctrl+E (and Ctrl+A, Ctrl+K...) exactly as ``QLineEdit`` does under X11, where
the hazard was seen.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from PySide6.QtCore import QEvent, QKeyCombination, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from console.ui.session_dialogs import DischargeDialog, NewSessionDialog

pytestmark = [pytest.mark.gui]

#: The README's "Workflow" and "Alarms" keys.
DOCUMENTED = ["Ctrl+N", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "Ctrl+E"]


class X11LineEditKeys(QObject):
    """Accepts the shortcut override of every Ctrl+letter, as QLineEdit does on X11."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            # A ShortcutOverride event is a QKeyEvent.
            combo = cast(QKeyEvent, event).keyCombination()
            if combo.keyboardModifiers() == Qt.KeyboardModifier.ControlModifier:
                event.accept()
                return True
        return False


def _combinations(sequence: QKeySequence) -> list[QKeyCombination]:
    """The key combinations of a sequence (PySide6's stubs do not declare its indexing)."""
    indexable: Any = sequence
    return [indexable[i] for i in range(sequence.count())]


def _press(qtbot: QtBot, widget: QWidget, key: str) -> None:
    (combo,) = _combinations(QKeySequence(key))
    qtbot.keyClick(widget, combo.key(), combo.keyboardModifiers())


def _focus_name_field(qtbot: QtBot, app: Any) -> QLineEdit:
    window = app.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    name: QLineEdit = app.window.panel.alarm_controls.operator
    keeper: Any = name  # the filter lives as long as the field (an ad-hoc attribute)
    if not hasattr(keeper, "x11_keys"):
        keeper.x11_keys = X11LineEditKeys(name)
        name.installEventFilter(keeper.x11_keys)
    name.setFocus()
    qtbot.waitUntil(name.hasFocus, timeout=2_000)
    return name


def test_every_documented_key_acts_while_the_name_field_has_focus(
    qtbot: QtBot, console_factory: Any
) -> None:
    app = console_factory()
    panel = app.window.panel
    shortcuts = {
        s.key().toString(): s
        for s in app.window.findChildren(QShortcut)
        if s.parent() is not None and s.parent().isVisible()
    }
    assert set(DOCUMENTED) <= set(shortcuts), sorted(shortcuts)
    for key in DOCUMENTED:
        fired: list[str] = []
        shortcuts[key].activated.connect(lambda key=key, fired=fired: fired.append(key))
        name = _focus_name_field(qtbot, app)
        _press(qtbot, name, key)
        assert fired == [key], f"{key} did nothing while the name field had focus"
        if panel.dialog is not None:
            panel.dialog.reject()
        limits = getattr(panel, "limits_dialog", None)
        if limits is not None:
            limits.close()


def test_ctrl_e_opens_end_of_session_from_the_name_field_and_typing_still_works(
    qtbot: QtBot, console_factory: Any
) -> None:
    app = console_factory()
    panel = app.window.panel
    name = _focus_name_field(qtbot, app)
    name.setText("Kim")
    _press(qtbot, name, "Ctrl+N")
    assert isinstance(panel.dialog, NewSessionDialog)
    panel.dialog.reject()
    qtbot.waitUntil(lambda: panel.dialog is None, timeout=2_000)
    name = _focus_name_field(qtbot, app)
    _press(qtbot, name, "Ctrl+E")
    # With no session open the chair explains why not; with the demo session, the checklist.
    assert isinstance(panel.dialog, DischargeDialog) or "Not done" in (
        panel.workflow_message.text()
    )
    if panel.dialog is not None:
        panel.dialog.reject()
    name = _focus_name_field(qtbot, app)
    qtbot.keyClick(name, Qt.Key.Key_A)
    assert name.text() == "Kima"  # other keys still edit the field


def test_alarm_keys_act_with_focus_on_the_chair_view(qtbot: QtBot, console_factory: Any) -> None:
    """After a chair is opened the panel has focus: F2 and F3 must still act."""
    app = console_factory()
    window, panel = app.window, app.window.panel
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus, timeout=2_000)
    for key in ("F2", "F3"):
        (shortcut,) = [s for s in window.findChildren(QShortcut) if s.key().toString() == key]
        fired: list[str] = []
        shortcut.activated.connect(lambda key=key, fired=fired: fired.append(key))
        _press(qtbot, panel, key)
        assert fired == [key], f"{key} did nothing with focus on the chair view"
    assert app.chair.audio.paused_until is not None  # F3 paused the audio
