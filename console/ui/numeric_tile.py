"""A large numeric as on a bedside monitor: label, value, unit, limits, age."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QWidget

from console.domain.alarms import Priority
from console.ui import theme
from console.ui.fit_label import FitLabel, SpareLabel


class NumericTile(QFrame):
    """One parameter's big number, coloured by parameter and by alarm state.

    The number is as large as the tile allows up to ``value_pt`` and never smaller than the
    legible minimum (:class:`FitLabel`); the detail line gives up its room first.
    """

    def __init__(
        self,
        title: str,
        unit: str,
        colour: str,
        *,
        value_pt: int = 54,
        widest: str = "288",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("numericTile")
        self.colour = colour
        self.title = QLabel(title)
        self.title.setObjectName("tileTitle")
        self.unit = QLabel(unit)
        self.unit.setObjectName("tileUnit")
        self.value = FitLabel(value_pt, widest)
        self.value.setObjectName("tileValue")
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.detail = SpareLabel("")
        self.detail.setObjectName("tileDetail")
        layout = QGridLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setVerticalSpacing(0)
        layout.setRowStretch(1, 1)  # the value takes the room a taller tile has
        layout.addWidget(self.title, 0, 0)
        layout.addWidget(self.unit, 0, 1, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.value, 1, 0, 1, 2)
        layout.addWidget(self.detail, 2, 0, 1, 2)
        self._alarm: Priority | None = None
        self._stale = False
        self._restyle()

    def set_value(self, text: str, *, stale: bool = False) -> None:
        """Show ``text``; a stale value is greyed."""
        self.value.setText(text)
        if stale != self._stale:
            self._stale = stale
            self._restyle()

    def set_detail(self, text: str) -> None:
        """Small line under the value (limits, time of last measurement)."""
        self.detail.setText(text)

    def set_alarm(self, priority: Priority | None) -> None:
        """Colour the tile by the highest alarm on its parameter (None = normal)."""
        if priority != self._alarm:
            self._alarm = priority
            self._restyle()

    @property
    def alarm(self) -> Priority | None:
        """The alarm priority the tile currently shows."""
        return self._alarm

    def _restyle(self) -> None:
        colour = theme.STALE if self._stale else self.colour
        if self._alarm is None:
            frame = f"background: {theme.PANEL}; border-radius: 6px;"
            text = colour
        else:
            frame = (
                f"background: {theme.PANEL}; border: 3px solid "
                f"{theme.PRIORITY_COLOURS[self._alarm]}; border-radius: 6px;"
            )
            text = theme.PRIORITY_COLOURS[self._alarm]
        self.setStyleSheet(
            f"QFrame#numericTile {{ {frame} }} QLabel {{ background: transparent; border: none; }}"
        )
        self.value.setStyleSheet(f"color: {text}; background: transparent;")
        self.title.setStyleSheet(f"color: {colour}; background: transparent;")
