"""The chair's scores prompt: which time point is due, how late it is, and the key (issue 17).

A modal "score the patient now" box would sit over the alarm banner and take the keys the
alarm strip needs (F2/F3), so the prompt is a small badge in the chair's header, always on
screen above the scrolling part: outlined while the point is about to come or due, filled
once it is overdue.  Neither look uses an alarm's red; it is a task, not an alarm.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QLabel, QWidget

from console.domain.observations import PointState, PointStatus
from console.ui import theme

#: Due: an outlined amber badge; overdue: filled amber with dark text.
DUE_COLOUR = "#ffb300"
_BASE = "font-size: 15px; font-weight: 700; padding: 3px 10px; border-radius: 4px;"
STYLES = {
    PointState.UPCOMING: f"{_BASE} color: {theme.TEXT}; border: 2px solid {theme.MUTED};",
    PointState.DUE: f"{_BASE} color: {DUE_COLOUR}; border: 2px solid {DUE_COLOUR};",
    PointState.OVERDUE: f"{_BASE} color: #111111; background: {DUE_COLOUR};"
    f" border: 2px solid {DUE_COLOUR};",
}


def _mmss(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}"


class ScoresDue(QLabel):
    """``SCORES 20 min due [F11]``: the time point to score now, or nothing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoresDue")
        self.setToolTip("MOAA/S, CADSS-6 and nausea are due at this time point: F11 to score")
        #: The state shown (None when hidden), for tests.
        self.state: PointState | None = None
        self.hide()

    def show_due(self, status: PointStatus | None, now: datetime) -> None:
        """Show ``status`` (from the session workflow) at ``now``; hide when None."""
        if status is None or status.due_at is None or status.state not in STYLES:
            self.state = None
            self.hide()
            return
        left = (status.due_at - now).total_seconds()
        label = status.point.label
        if status.state is PointState.UPCOMING:
            text = f"SCORES {label} in {_mmss(left)}  [F11]"
        elif status.state is PointState.DUE:
            text = f"SCORES {label} DUE  [F11]"
        else:
            text = f"SCORES {label} OVERDUE {_mmss(-left)}  [F11]"
        if text != self.text():
            self.setText(text)
        if status.state is not self.state:
            self.setStyleSheet(STYLES[status.state])
            self.state = status.state
        self.show()
