"""The chair's scores prompt: which time point is due, how late it is, and the key (issue 17).

A modal "score the patient now" box would sit over the alarm banner and take the keys the
alarm strip needs (F2/F3), so the prompt is a small badge in the chair's header, always on
screen above the scrolling part: outlined while the point is about to come or due, filled
once it is overdue.  Neither look uses an alarm's red; it is a task, not an alarm.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QSize
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QWidget

from console.domain.observations import PointState, PointStatus
from console.ui import theme

#: Due: an outlined amber badge; overdue: filled amber with dark text.
DUE_COLOUR = "#ffb300"
FONT_PX = 14
_BASE = f"font-size: {FONT_PX}px; font-weight: 700; padding: 2px 8px; border-radius: 4px;"
STYLES = {
    PointState.UPCOMING: f"{_BASE} color: {theme.TEXT}; border: 2px solid {theme.MUTED};",
    PointState.DUE: f"{_BASE} color: {DUE_COLOUR}; border: 2px solid {DUE_COLOUR};",
    PointState.OVERDUE: f"{_BASE} color: #111111; background: {DUE_COLOUR};"
    f" border: 2px solid {DUE_COLOUR};",
}


#: Horizontal padding and border of the badge (``_BASE``) and the slack a wrapping label
#: keeps at the right before it breaks a line, px.
PADDING_PX = 2 * (8 + 2) + 16


def _mmss(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}"


class ScoresDue(QLabel):
    """``SCORES 20 min due [F11]``: the time point to score now, or nothing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoresDue")
        self.setToolTip("MOAA/S, CADSS-6 and nausea are due at this time point: F11 to score")
        # Wraps into two lines rather than widen the header past a small (or HiDPI) screen.
        self.setWordWrap(True)
        #: The state shown (None when hidden), for tests.
        self.state: PointState | None = None
        self.hide()

    def _font(self) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(FONT_PX)  # the style sheet's font, polished or not yet
        font.setBold(True)
        return font

    def sizeHint(self) -> QSize:
        """One line when there is room (a wrapping label would ask for a narrow block)."""
        width = QFontMetrics(self._font()).horizontalAdvance(self.text()) + PADDING_PX
        return QSize(width, self.heightForWidth(width))

    def show_due(self, status: PointStatus | None, now: datetime) -> None:
        """Show ``status`` (from the session workflow) at ``now``; hide when None."""
        if status is None or status.due_at is None or status.state not in STYLES:
            self.state = None
            self.hide()
            return
        left = (status.due_at - now).total_seconds()
        label = status.point.label
        if status.state is PointState.UPCOMING:
            text = f"SCORES {label} in\u00a0{_mmss(left)}  [F11]"
        elif status.state is PointState.DUE:
            text = f"SCORES {label} DUE  [F11]"
        else:
            text = f"SCORES {label} OVERDUE\u00a0{_mmss(-left)}  [F11]"
        if status.state is not self.state:
            self.setStyleSheet(STYLES[status.state])
            self.state = status.state
        if text != self.text():
            self.setText(text)
            # The narrowest it may wrap to: its longest unbreakable piece (a wrapping label's
            # own minimum is far wider and pushed a 16-chair page past a 910 px screen).
            pieces = text.split()
            metrics = QFontMetrics(self._font())
            widest = max(metrics.horizontalAdvance(p) for p in pieces)
            self.setMinimumWidth(widest + PADDING_PX)
            self.updateGeometry()
        self.show()
