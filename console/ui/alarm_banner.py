"""The banner that lists a chair's active alarms, most urgent first.

Colour and flash rate follow the highest priority present (clinical.md c2): red flashing at 2 Hz
for high, yellow at 0.5 Hz for medium, steady cyan for low.  Messages carry the vendor-style
``***``/``**``/``*`` prefix, so priority is readable without colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

from console.domain.alarm_engine import AlarmStatus
from console.domain.alarm_episode import alarm_text
from console.domain.alarms import Priority
from console.ui import theme

#: The banner's height with one line, and the most lines it claims before the rest is cut
#: (three long alarms fit in three lines on a 910 px wide screen).
BANNER_MIN_HEIGHT = 44
MAX_LINES = 3


class FlashLabel(QLabel):
    """A label painted in an alarm priority's colour, in the lit or unlit phase of its flash.

    Painted (:meth:`paintEvent` after :meth:`update`), never restyled: a style sheet change
    re-polishes the widget, and with 16 chairs flashing at 2 Hz that alone delayed other
    chairs' banners past the 60 ms budget and took most of the GUI's CPU (issue 14).  Lit, the
    band is filled with the priority colour; unlit, it is the panel colour with a border and
    text in the priority colour.  Without a priority it is a quiet panel.  A label that does
    not wrap elides its text ("…"): the whole text belongs in its tooltip.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._priority: Priority | None = None
        self._lit = True

    @property
    def priority(self) -> Priority | None:
        """The priority whose colour the label shows, or None."""
        return self._priority

    @property
    def lit(self) -> bool:
        """Whether the label is in the lit phase of its flash."""
        return self._lit

    def set_flash(self, priority: Priority | None, lit: bool) -> None:
        """Show ``priority`` in the ``lit`` (or unlit) phase; repaints only on a change."""
        if priority != self._priority or lit != self._lit:
            self._priority = priority
            self._lit = lit
            self.update()

    def colours(self) -> tuple[str, str, str | None]:
        """(background, text, border) for the current priority and flash phase."""
        if self._priority is None:
            return theme.PANEL, theme.MUTED, None
        colour = theme.PRIORITY_COLOURS[self._priority]
        if self._lit:
            return colour, theme.PRIORITY_TEXT[self._priority], None
        return theme.PANEL, colour, colour

    def paintEvent(self, event: QPaintEvent) -> None:
        """Rounded band in the priority colour, text on top."""
        del event
        background, text, border = self.colours()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        text_rect = self.contentsRect()
        painter.setBrush(QColor(background))
        painter.setPen(QPen(QColor(border), 2) if border else Qt.PenStyle.NoPen)
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor(text))
        painter.setFont(self.font())
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        shown = self.text()
        if self.wordWrap():
            flags |= Qt.TextFlag.TextWordWrap
        else:
            shown = self.fontMetrics().elidedText(
                shown, Qt.TextElideMode.ElideRight, text_rect.width()
            )
        painter.drawText(QRectF(text_rect), int(flags), shown)
        painter.end()


class AlarmBanner(FlashLabel):
    """Active alarms of one chair as a coloured, flashing band."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        font = QFont()
        font.setPointSize(16)
        font.setBold(True)
        self.setFont(font)
        self.setMinimumHeight(BANNER_MIN_HEIGHT)
        self.setWordWrap(True)
        # Margins through Qt, so heightForWidth grows the band for wrapped lines (several
        # alarms) instead of clipping the second line.
        self.setContentsMargins(12, 4, 12, 4)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._flashing = True
        self._flash = QTimer(self)
        self._flash.setObjectName("alarm-flash")
        self._flash.timeout.connect(self._on_flash_timeout)
        self.show_alarms([])

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Claim the height the wrapped text needs at this width, up to :data:`MAX_LINES`.

        A wrapped label's height depends on its width, which the window's minimum size does
        not see: without this, a band of three wrapped alarms squeezed the numerics below
        their own minimum on a short screen (issue 11 item 1).
        """
        super().resizeEvent(event)
        cap = self.fontMetrics().lineSpacing() * MAX_LINES + 8
        need = max(BANNER_MIN_HEIGHT, min(self.heightForWidth(self.width()), cap))
        if need != self.minimumHeight():
            self.setMinimumHeight(need)

    def show_statuses(self, statuses: Sequence[AlarmStatus]) -> None:
        """Display the engine's listed alarms with their latched/acknowledged state.

        An acknowledged alarm stays listed while its condition lasts but no longer flashes
        (clinical.md c4/c5); a latched one says so until someone acknowledges it.
        """
        items = []
        for st in statuses:
            text = alarm_text(st)  # words that explain the priority shown; worst and onset
            if st.latched:
                text += " [LATCHED]"
            if st.acknowledged_by:
                text += f" [ack {st.acknowledged_by}]"
            items.append((st.priority, text, st.onset))
        unacknowledged = [st for st in statuses if not st.acknowledged_by]
        self.show_alarms(items, flash=bool(unacknowledged))

    def show_alarms(
        self, alarms: list[tuple[Priority, str, datetime]], *, flash: bool = True
    ) -> None:
        """Display ``(priority, message, onset)`` items, most urgent and oldest first."""
        if not alarms:
            self._priority = None
            self._flash.stop()
            self.setText("No active alarms")
            self._paint(lit=False)
            return
        ordered = sorted(alarms, key=lambda a: (-int(a[0]), a[2]))
        self.setText(
            "   ".join(
                f"{p.marker} {msg}  (since {t.astimezone():%H:%M:%S})" for p, msg, t in ordered
            )
        )
        top = ordered[0][0]
        if top != self._priority or flash != self._flashing:
            self._priority = top
            self._flashing = flash
            self._lit = True
            half = theme.FLASH_HALF_PERIOD_MS[top]
            if half is None or not flash:
                self._flash.stop()
            else:
                self._flash.start(half)
        self._paint(lit=self._lit)

    def _on_flash_timeout(self) -> None:
        self._lit = not self._lit
        self._paint(lit=self._lit)

    def _paint(self, *, lit: bool) -> None:
        """Repaint in the new flash phase (painted, see :class:`FlashLabel`)."""
        self._lit = lit
        self.update()
