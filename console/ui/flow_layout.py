"""Layout helpers that let the chair view and overview fit any screen from 1366x768 up.

:class:`FlowLayout` places its items left to right and wraps to a new row when the width ends;
:func:`fallback_scroll` scrolls what cannot fit even so.

The chair view's rows of buttons and cells (workflow actions, alarm buttons, the timeline
strip) set the window's minimum width when laid out in one row: nine workflow buttons alone
needed ~1,640 px, so on a 1366x768 screen the window opened wider than the screen and the
numerics were off it (issue 11 item 1).  In a flow they wrap instead, and the height they need
at a given width is reported through ``heightForWidth`` so that the parent grows in height.
Qt has no flow layout of its own; this is the one of Qt's examples, typed.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QFrame, QLayout, QLayoutItem, QScrollArea, QSizePolicy, QWidget


class FlowLayout(QLayout):
    """Items in rows, each at its size hint, wrapping at the layout's width."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # -- QLayout interface ----------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        """Append ``item`` (called by addWidget)."""
        self._items.append(item)

    def count(self) -> int:
        """Number of items."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        """The item at ``index``, or None past the end."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        """Remove and return the item at ``index``."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        """Never asks for more than its rows."""
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        """Its height depends on its width (the rows wrap)."""
        return True

    def heightForWidth(self, width: int) -> int:
        """Height of the rows at ``width``."""
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        """Place the items in ``rect``."""
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:
        """All items in one row (the preferred look, where it fits)."""
        width = sum(i.sizeHint().width() for i in self._visible()) + self._spacing * max(
            0, len(self._visible()) - 1
        )
        height = max((i.sizeHint().height() for i in self._visible()), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        """As narrow as its widest item: everything else wraps."""
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # -- helpers --------------------------------------------------------------------------
    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def _do_layout(self, rect: QRect, *, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._visible():
            hint = item.sizeHint()
            width = min(hint.width(), area.width())
            height = item.heightForWidth(width) if item.hasHeightForWidth() else hint.height()
            if x > area.x() and x + width > area.right() + 1:
                x, y, row_height = area.x(), y + row_height + self._spacing, 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, height)))
            x += width + self._spacing
            row_height = max(row_height, height)
        return y + row_height - rect.y() + m.bottom()


def flow_widget(widgets: list[QWidget], *, spacing: int = 6) -> QWidget:
    """A widget holding ``widgets`` in a :class:`FlowLayout` (its height follows its width)."""
    holder = QWidget()
    layout = FlowLayout(holder, spacing=spacing)
    for widget in widgets:
        layout.addWidget(widget)
    policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    holder.setSizePolicy(policy)
    return holder


def fallback_scroll(content: QWidget, name: str) -> QScrollArea:
    """A frameless scroll area around ``content``, resized with it: it scrolls only when the
    screen is smaller than the content's minimum (what does not fit scrolls; nothing is cut
    and nothing widens the window past the screen).  It never takes focus: the keys stay
    with the window's shortcuts and the nurse-name field."""
    area = QScrollArea()
    area.setObjectName(name)
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return area
