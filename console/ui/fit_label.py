"""Labels that adapt to the space a layout gives them, so that a numeric is never cut.

:class:`FitLabel` holds a numeric's value.  Its font grows with its tile up to the design size
and shrinks, when space is short, down to :data:`console.ui.theme.MIN_NUMERIC_PT`; its minimum
size is that of its widest text at the minimum size, so a layout can never squeeze it below
what shows the whole number.  A fixed point size (as before issue 11 item 1) either set the
window's minimum size past a 1366x768 screen or, squeezed, cut the number.

:class:`SpareLabel` holds secondary text (limits, the age of a reading): it takes its room when
there is some, and gives it up first when there is not, drawing nothing rather than a half line
(its text stays in the tooltip).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from console.ui import theme


class FitLabel(QLabel):
    """A bold value whose point size follows the label's size, within [min_pt, max_pt].

    Args:
        max_pt: the design size, used when there is room.
        widest: the widest text the value may show ("288/188"): the size is chosen so that it
            fits, so the font does not jump when the value changes.
        min_pt: the legible minimum (the label's minimum size holds ``widest`` at it).
    """

    def __init__(
        self,
        max_pt: int,
        widest: str,
        *,
        min_pt: int = theme.MIN_NUMERIC_PT,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("---", parent)
        self._max_pt = max(max_pt, min_pt)
        self._min_pt = min_pt
        self._widest = widest
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSize(self._max_pt)
        self.setFont(font)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def _font_at(self, point_size: int) -> QFont:
        font = QFont(self.font())
        font.setPointSize(point_size)
        return font

    def _text_size(self, point_size: int) -> QSize:
        metrics = QFontMetrics(self._font_at(point_size))
        sample = self._widest if len(self._widest) >= len(self.text()) else self.text()
        width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(self.text()))
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right() + 2, metrics.height() + m.top() + m.bottom())

    def sizeHint(self) -> QSize:
        """As wide as the widest text at the design size, as tall as at the minimum size.

        The height grows from there (the label expands vertically) only with room to spare:
        in a short tile the secondary lines keep their room before the number grows, and
        when there is none they yield first while the number keeps its minimum.
        """
        return QSize(self._text_size(self._max_pt).width(), self._text_size(self._min_pt).height())

    def minimumSizeHint(self) -> QSize:
        """The widest text at the legible minimum: a layout never gives less."""
        return self._text_size(self._min_pt)

    def setText(self, text: str) -> None:
        """Show ``text``; a text wider than the sample re-fits the font."""
        super().setText(text)
        if len(text) > len(self._widest):
            self._widest = text
            self.updateGeometry()
            self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Choose the largest point size that shows the widest text whole."""
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        size = self.size()
        best = self._min_pt
        for point_size in range(self._max_pt, self._min_pt - 1, -1):
            need = self._text_size(point_size)
            if need.width() <= size.width() and need.height() <= size.height():
                best = point_size
                break
        if self.font().pointSize() != best:
            self.setFont(self._font_at(best))


class SpareLabel(QLabel):
    """Secondary text that yields its room first; it draws only when all of it fits.

    It does not wrap: a wrapping label's height depends on its width, and a layout squeezed
    below such heights squeezed the numerics too.  Its text is also its tooltip.
    """

    def __init__(
        self, text: str = "", parent: QWidget | None = None, *, elide: bool = False
    ) -> None:
        super().__init__(text, parent)
        #: Draw a too-long text cut with "…" rather than not at all.
        self.elide = elide
        self.setToolTip(text)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # An explicit minimum overrides the label's own: the layout may take all but 1 px.
        self.setMinimumHeight(1)

    def setText(self, text: str) -> None:
        """Show ``text``; it is also the tooltip (read it there when it has no room)."""
        super().setText(text)
        self.setToolTip(text)

    def fits(self) -> bool:
        """Whether the whole text has room (else nothing is drawn)."""
        hint = self.sizeHint()
        return self.width() >= hint.width() and self.height() >= hint.height()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the text when it fits; with room for the height only, elided ("…") when
        ``elide`` is set, else nothing: never a line cut in half."""
        if self.fits():
            super().paintEvent(event)
            return
        if not self.elide or self.height() < self.sizeHint().height():
            return
        rect = self.contentsRect()
        painter = QPainter(self)
        painter.setFont(self.font())
        painter.setPen(self.palette().color(self.foregroundRole()))
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, rect.width()
        )
        painter.drawText(rect, int(self.alignment()), shown)
        painter.end()
