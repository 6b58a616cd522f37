"""Documented keys act whatever widget has focus.

A text field claims the keys it edits with: ``QLineEdit`` accepts the *shortcut override* for
Ctrl+E (end of line on X11), so with the nurse-name field focused - as it is at start and after
every dialog - "End session" (Ctrl+E) did nothing.  :class:`ShortcutGuard` watches the
shortcut-override events of one window and refuses, on behalf of any widget in it, the keys
that one of the window's own shortcuts uses: the shortcut then runs, exactly as it would with
focus elsewhere.  Other keys still edit the field, and dialogs (their own windows) keep their
keys.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget


class ShortcutGuard(QObject):
    """Lets ``window``'s shortcuts win over the focused widget's own use of the same keys."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        app = QApplication.instance()
        assert app is not None, "a QApplication must exist before a window"
        app.installEventFilter(self)
        window.destroyed.connect(lambda: app.removeEventFilter(self))

    def window_keys(self) -> set[str]:
        """Every key (portable text, ``Ctrl+E``) one of the window's enabled shortcuts or
        actions uses now."""
        sequences: list[QKeySequence] = []
        for shortcut in self._window.findChildren(QShortcut):
            if shortcut.isEnabled():
                sequences.extend(shortcut.keys())
        for action in self._window.findChildren(QAction):
            if action.isEnabled():
                sequences.extend(action.shortcuts())
        return {_text(k) for k in sequences if not k.isEmpty()}

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Refuse a shortcut override inside the window for a key the window's shortcuts use."""
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(watched, QWidget)
            and watched.window() is self._window
            and isinstance(event, QKeyEvent)
            and _text(QKeySequence(event.keyCombination())) in self.window_keys()
        ):
            event.ignore()  # not wanted by the widget: the shortcut map handles the key
            return True
        return False


def _text(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.PortableText)
