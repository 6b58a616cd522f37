"""The chairs overview: one tile per chair, so a nurse sees the whole room at a glance.

Each tile answers "is this chair all right?" from across the room: chair name, SIMULATED badge,
patient and session phase, NIBP with its age, HR and SpO2, the most urgent active alarm (colour
and flash per priority, clinical.md c2, exactly as :mod:`console.ui.alarm_banner` does) and the
monitor link.  A click opens the chair's full view.

Tiles only observe their :class:`ChairService`'s signals; the one timer that reads services is
a 1 Hz refresh of value ages (an NIBP taken 4 minutes ago must say so without new data).  The
flash runs off one shared 4 Hz clock, so all tiles of one priority flash in step instead of
drifting apart, which would read as a different, faster flash.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHideEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.domain.alarm_episode import alarm_text
from console.domain.alarms import Priority
from console.domain.heart_rate_source import shown_heart_rate
from console.services.chair_service import ChairService
from console.ui import theme
from console.ui.alarm_banner import FlashLabel
from console.ui.alarm_slots import chair_alarms, metric_alarm_priority
from console.ui.fit_label import FitLabel, SpareLabel
from console.ui.flow_layout import fallback_scroll
from devices.model import DeviceState, Metric

#: The shared flash clock's tick; every flash half-period (theme.FLASH_HALF_PERIOD_MS) is a
#: multiple of it.
FLASH_TICK_MS = 250
#: Above this many chairs the overview's tiles are compact, 8 to a row (issue 14).
COMPACT_ABOVE = 16
#: Period of the value-age refresh.
AGE_REFRESH_MS = 1000
#: A continuous value older than this (seconds on the chair's clock) is greyed as stale.
CONTINUOUS_STALE_S = 15.0
#: An NIBP older than the cuff cycle plus this margin is greyed (clinical.md b3).
NIBP_STALE_MARGIN_S = 120.0

#: Link state -> (text, background) of the tile's link label.
LINK_LOOK: dict[str, tuple[str, str]] = {
    DeviceState.STREAMING.value: ("monitor OK", "#1b5e20"),
    DeviceState.CONNECTED.value: ("connected", "#33691e"),
    DeviceState.CONNECTING.value: ("connecting…", "#37474f"),
    DeviceState.QUIET.value: ("NO DATA", "#b71c1c"),
    DeviceState.DISCONNECTED.value: ("DISCONNECTED", "#b71c1c"),
    DeviceState.STOPPED.value: ("stopped", "#37474f"),
}


#: The tile's fixed look; the border (alarm colour) is added per state.  Rules on the tile's
#: labels name the tile, so that they win over the transparent-label rule.
TILE_STYLE = (
    "QFrame#chairTile QLabel { border: none; background: transparent; }"
    " QFrame#chairTile QLabel#tileChairName { font-size: 20px; font-weight: 700; }"
    " QFrame#chairTile QLabel#tileSimBadge { background: #6a1b9a; color: #ffffff;"
    " font-weight: 700; font-size: 11px; padding: 1px 5px; border-radius: 4px; }"
    f" QFrame#chairTile QLabel#tileSession {{ color: {theme.MUTED}; font-size: 15px; }}"
    " QFrame#chairTile QLabel#tileCaption { font-size: 14px; }"
    f" QFrame#chairTile QLabel#tileAge {{ color: {theme.MUTED}; font-size: 13px; }}"
)
#: A compact tile's smaller texts (17-32 chairs): four rows of tiles must fit the 673 px a
#: 1366x768 screen leaves the overview (at most 160 px a tile); the numerics keep their size.
COMPACT_TILE_STYLE = (
    " QFrame#chairTile QLabel#tileChairName { font-size: 16px; }"
    " QFrame#chairTile QLabel#tileCaption { font-size: 12px; }"
    " QFrame#chairTile QLabel#tileAge { font-size: 12px; }"
)


def flash_lit(priority: Priority, tick: int) -> bool:
    """Whether a flashing ``priority`` indicator is lit at flash-clock ``tick`` (50 % duty)."""
    half = theme.FLASH_HALF_PERIOD_MS[priority]
    if half is None:
        return True
    return (tick * FLASH_TICK_MS // half) % 2 == 0


def _session_info(service: ChairService) -> tuple[str | None, str | None]:
    """Patient and phase of the chair's session, when the service knows them.

    The session workflow (patient check-in, phases) is being added to ``ChairService``
    separately; the tile reads the optional ``patient`` and ``phase`` attributes so it shows
    them as soon as they exist, and "no patient" until then.
    """
    patient = getattr(service, "patient", None)
    if patient is not None and not isinstance(patient, str):
        patient = getattr(patient, "display_name", None) or str(patient)
    phase = getattr(service, "phase", None)
    phase_text = getattr(phase, "value", phase)
    return (
        str(patient) if patient else None,
        str(phase_text) if phase_text else None,
    )


def _age_text(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    return f"{int(seconds // 60)} min ago"


class ChairTile(QFrame):
    """One chair's summary: what a nurse needs to decide whether to walk over.

    Signals:
        sig_tile_clicked(): the tile was clicked (open the chair).
    """

    sig_tile_clicked = Signal()
    """The tile was clicked: open the chair."""

    def __init__(
        self,
        service: ChairService,
        *,
        value_pt: int = 32,
        compact: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("chairTile")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.service = service
        self._alarm: Priority | None = None
        self._flashing = False
        self._lit = True

        self.title = QLabel(service.settings.chair_name)
        self.title.setObjectName("tileChairName")
        # A compact tile (17-32 chairs, 8 columns) is ~150 px wide: the badge is shortened
        # (the full word stays in the tooltip and the accessible name) and the link state gets
        # its own line, before the session text (cut first, full text in the tooltip), so the
        # header never sets the tile's minimum width nor a line more its height (issue 14).
        self.compact = compact
        self.sim_badge = QLabel("SIM" if compact else "SIMULATED")
        self.sim_badge.setObjectName("tileSimBadge")
        self.sim_badge.setToolTip(
            "SIMULATED: data come from the built-in simulated monitor, not a patient"
        )
        self.sim_badge.setAccessibleName("SIMULATED")
        self.sim_badge.setVisible(service.simulated)
        self.link = QLabel()
        self.link.setObjectName("tileLink")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.sim_badge)
        header.addStretch(1)
        link_row = QHBoxLayout()
        if compact:
            link_row.addWidget(self.link)
        else:
            header.addWidget(self.link)

        self.session = SpareLabel("no patient", elide=True)
        self.session.setWordWrap(False)
        self.session.setObjectName("tileSession")
        # Long texts are cut at the tile's edge (full text in the tooltip): a label's text
        # must never widen a tile, and with it the window, past the screen.
        self.session.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.nibp = self._value_label(theme.METRIC_COLOURS[Metric.NIBP_SYS], value_pt, "288/188")
        self.nibp_age = SpareLabel("no NIBP yet")
        self.nibp_age.setWordWrap(False)
        self.nibp_age.setObjectName("tileAge")
        self.hr = self._value_label(theme.METRIC_COLOURS[Metric.HR], value_pt, "288")
        self.spo2 = self._value_label(theme.METRIC_COLOURS[Metric.SPO2], value_pt, "100")
        numerics = QGridLayout()
        numerics.setHorizontalSpacing(12)
        numerics.setVerticalSpacing(0)
        # Side by side: (caption row, column, column span) of each numeric; compact tiles put
        # NIBP on its own rows and HR + SpO2 below, so that three numerics need not share
        # one narrow tile's width.
        places = ((0, 0, 1), (0, 1, 1), (0, 2, 1))
        if compact:
            places = ((0, 0, 2), (3, 0, 1), (3, 1, 1))
        for (row, col, span), (caption, widget, colour) in zip(
            places,
            (
                ("NIBP mmHg", self.nibp, theme.METRIC_COLOURS[Metric.NIBP_SYS]),
                ("HR /min", self.hr, theme.METRIC_COLOURS[Metric.HR]),
                ("SpO2 %", self.spo2, theme.METRIC_COLOURS[Metric.SPO2]),
            ),
            strict=True,
        ):
            cap = QLabel(caption)
            cap.setObjectName("tileCaption")
            cap.setStyleSheet(f"color: {colour};")
            if compact and widget is self.nibp:
                # The NIBP's age shares its caption's row (a compact tile has no row to spare),
                # and the caption drops its unit (in the tooltip) to leave the age its room.
                cap.setText("NIBP")
                cap.setToolTip(caption)
                caption_row = QHBoxLayout()
                caption_row.setSpacing(6)
                caption_row.addWidget(cap)
                caption_row.addWidget(self.nibp_age, 1)
                numerics.addLayout(caption_row, row, 0, 1, span)
                numerics.addWidget(widget, row + 1, col, 1, span)
                continue
            if widget is self.hr:
                # "HR (from SpO2) /min" when the pulse is the source; never widens the tile.
                cap.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                self.hr_caption = cap
            numerics.addWidget(cap, row, col, 1, span)
            numerics.addWidget(widget, row + 1, col, 1, span)
        if compact:
            self.nibp_age.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            numerics.setColumnStretch(0, 1)
            numerics.setColumnStretch(1, 1)
        else:
            numerics.addWidget(self.nibp_age, 2, 0)
            numerics.setColumnStretch(0, 7)  # by characters ("288/188", "288"): even fonts
            numerics.setColumnStretch(1, 3)
            numerics.setColumnStretch(2, 3)

        # The alarm line and its count are painted in the flash colour (FlashLabel, as the
        # chair's banner): restyling them at every flash took most of the GUI's CPU (issue 14).
        self.alarm = self._alarm_label("tileAlarm", "No active alarms", compact=compact)
        self.alarm.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # The count of the chair's other alarms has its own label: never cut off.
        self.alarm_more = self._alarm_label("tileAlarmMore", "", compact=compact)
        self.alarm_more.hide()
        alarm_row = QHBoxLayout()
        alarm_row.setSpacing(4)
        alarm_row.addWidget(self.alarm, 1)
        alarm_row.addWidget(self.alarm_more)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(*((6, 3, 6, 3) if compact else (10, 6, 10, 6)))
        layout.setSpacing(1 if compact else 2)
        layout.addLayout(header)
        if compact:
            link_row.addWidget(self.session, 1)
            layout.addLayout(link_row)
        else:
            layout.addWidget(self.session)
        layout.addLayout(numerics, 1)  # the values grow with the tile (FitLabel)
        layout.addLayout(alarm_row)
        self._values_stale: dict[QLabel, bool] = {
            self.nibp: False,
            self.hr: False,
            self.spo2: False,
        }
        self._colours: dict[QLabel, str] = {
            self.nibp: theme.METRIC_COLOURS[Metric.NIBP_SYS],
            self.hr: theme.METRIC_COLOURS[Metric.HR],
            self.spo2: theme.METRIC_COLOURS[Metric.SPO2],
        }
        #: The alarm priority each value shows in its colour (a parameter in alarm).
        self._value_alarm: dict[QLabel, Priority | None] = dict.fromkeys(self._colours)

        service.sig_vitals_updated.connect(self._on_service_vitals_updated)
        service.sig_alarms_changed.connect(self._on_service_alarms_changed)
        service.sig_link_state_changed.connect(self._on_service_link_state_changed)
        session_changed = getattr(service, "sig_session_changed", None)
        if session_changed is not None:  # the session workflow, when the service has it
            session_changed.connect(self._on_service_session_changed)
        self._on_service_link_state_changed(service.link_state)
        self._on_service_alarms_changed()
        # Once: the alarm border is painted (paintEvent), never restyled.
        self.setStyleSheet(TILE_STYLE + (COMPACT_TILE_STYLE if compact else ""))
        self.refresh()

    # -- public ---------------------------------------------------------------------------
    @property
    def alarm_priority(self) -> Priority | None:
        """The most urgent active alarm the tile shows, or None."""
        return self._alarm

    @property
    def flashing(self) -> bool:
        """Whether the alarm indicator flashes (an unacknowledged medium or high alarm)."""
        return (
            self._flashing
            and self._alarm is not None
            and (theme.FLASH_HALF_PERIOD_MS[self._alarm] is not None)
        )

    @property
    def lit(self) -> bool:
        """Whether the alarm indicator is in its lit half of the flash cycle."""
        return self._lit

    def refresh(self) -> None:
        """Re-read values and their ages (1 Hz, and after new readings)."""
        self._update_numerics(self.service.clock.now())
        self._update_session()

    def set_flash_tick(self, tick: int) -> None:
        """Advance the alarm flash to the shared clock's ``tick``."""
        if self._alarm is None or not self._flashing:
            return
        lit = flash_lit(self._alarm, tick)
        if lit != self._lit:
            self._lit = lit
            self._paint_alarm()

    def detach(self) -> None:
        """Stop observing the service (it is being replaced or shut down)."""
        for signal, slot in (
            (self.service.sig_vitals_updated, self._on_service_vitals_updated),
            (self.service.sig_alarms_changed, self._on_service_alarms_changed),
            (self.service.sig_link_state_changed, self._on_service_link_state_changed),
        ):
            signal.disconnect(slot)

    # -- Qt overrides ---------------------------------------------------------------------
    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A left click anywhere on the tile opens the chair."""
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.sig_tile_clicked.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- slots ----------------------------------------------------------------------------
    def _on_service_vitals_updated(self) -> None:
        self._update_numerics(self.service.clock.now())

    def _on_service_session_changed(self) -> None:
        self._update_session()

    def _on_service_alarms_changed(self) -> None:
        # This chair's own alarms only: console faults are in the console strip, once.
        alarms = chair_alarms(self.service.alarm_list)
        by_metric = metric_alarm_priority(alarms)
        for label, metric in (
            (self.nibp, Metric.NIBP_SYS),
            (self.hr, Metric.HR),
            (self.spo2, Metric.SPO2),
        ):
            if self._value_alarm[label] != by_metric.get(metric):
                self._value_alarm[label] = by_metric.get(metric)
                self._style_value(label)
        if not alarms:
            self._alarm = None
            self.alarm.setText("No active alarms")
            self.alarm.setToolTip("")
            self.alarm_more.hide()
        else:
            top = alarms[0]  # highest priority, a patient's before a technical one
            # The tile flashes at the highest *signal* priority: an alarm nobody answered in
            # time signals as high while its own priority (text, record) stays (item 10).
            signal = max(a.signal_priority for a in alarms)
            # An acknowledged alarm stays listed but stops flashing, as on the banner
            # (clinical.md c4/c5); a new priority starts lit.
            flashing = any(not a.acknowledged_by for a in alarms if a.signal_priority == signal)
            if signal != self._alarm or flashing != self._flashing:
                self._lit = True
            self._alarm = signal
            self._flashing = flashing
            self.alarm.setText(f"{top.priority.marker} {alarm_text(top)}")
            self.alarm.setToolTip("\n".join(f"{a.priority.marker} {alarm_text(a)}" for a in alarms))
            self.alarm_more.setText(f"+{len(alarms) - 1} more")
            self.alarm_more.setVisible(len(alarms) > 1)
        self._paint_alarm()

    def _on_service_link_state_changed(self, state: str) -> None:
        text, background = LINK_LOOK.get(state, (state, "#37474f"))
        self.link.setText(text)
        self.link.setAccessibleName(f"link: {text}")
        self.link.setStyleSheet(
            f"QLabel#tileLink {{ background: {background}; color: #ffffff; font-size: 13px;"
            " font-weight: 600; padding: 1px 6px; border-radius: 4px; }"
        )

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _value_label(colour: str, point_size: int, widest: str) -> FitLabel:
        """A value as large as the tile allows, never below the legible minimum."""
        label = FitLabel(point_size, widest)
        label.setStyleSheet(f"color: {colour};")
        return label

    @staticmethod
    def _alarm_label(name: str, text: str, *, compact: bool = False) -> FlashLabel:
        """The alarm line (or its count): bold, on a band in the priority's colour."""
        label = FlashLabel()
        label.setObjectName(name)
        label.setText(text)
        label.setWordWrap(False)
        font = QFont()
        font.setPixelSize(14 if compact else 16)
        font.setBold(True)
        label.setFont(font)
        label.setContentsMargins(*((6, 2, 6, 2) if compact else (8, 3, 8, 3)))
        label.setMinimumHeight(22 if compact else 28)
        return label

    def _set_value(self, label: QLabel, text: str, *, stale: bool) -> None:
        if label.text() != text:
            label.setText(text)
        if self._values_stale[label] != stale:
            self._values_stale[label] = stale
            self._style_value(label)

    def _style_value(self, label: QLabel) -> None:
        """A parameter in alarm wears its alarm colour (even when stale), else its own."""
        alarm = self._value_alarm[label]
        if alarm is not None:
            colour = theme.PRIORITY_COLOURS[alarm]
        else:
            colour = theme.STALE if self._values_stale[label] else self._colours[label]
        label.setStyleSheet(f"color: {colour};")

    def _update_numerics(self, now: datetime) -> None:
        latest = self.service.latest
        caption, hr = shown_heart_rate(latest, now)  # one rule with the chair view (item 12)
        if self.hr_caption.text() != f"{caption} /min":
            self.hr_caption.setText(f"{caption} /min")
            self.hr_caption.setToolTip(f"{caption} /min")
        for label, value in ((self.hr, hr), (self.spo2, latest.get(Metric.SPO2))):
            if value is None:
                self._set_value(label, "---", stale=False)  # none yet, or a new session
                continue
            age = (now - value.received_at).total_seconds()
            self._set_value(label, f"{value.value:.0f}", stale=age > CONTINUOUS_STALE_S)
        sys_, dia = latest.get(Metric.NIBP_SYS), latest.get(Metric.NIBP_DIA)
        at = self.service.last_nibp_at
        if sys_ is None or dia is None or at is None:
            self._set_value(self.nibp, "---", stale=False)
            self.nibp_age.setText("no NIBP yet")
        else:
            age = (now - at).total_seconds()
            limit = self.service.settings.simulator.nibp_interval_s + NIBP_STALE_MARGIN_S
            if not self.service.simulated:
                limit = self.service.settings.alarm_nibp_interval_s + NIBP_STALE_MARGIN_S
            stale = age > limit
            self._set_value(self.nibp, f"{sys_.value:.0f}/{dia.value:.0f}", stale=stale)
            self.nibp_age.setText(("STALE - " if stale else "") + _age_text(age))

    def _update_session(self) -> None:
        patient, phase = _session_info(self.service)
        text = patient or "no patient"
        if phase:  # the phase first: a long patient name is cut on a narrow tile, not it
            text = f"{phase}  ·  {text}"
        if self.session.text() != text:
            self.session.setText(text)
            self.session.setToolTip(text)

    def _paint_alarm(self) -> None:
        """Show the flash phase: the alarm labels and the tile's border repaint themselves.

        No style sheet changes here (issue 14): they re-polish the tile at every toggle.
        """
        lit = self._lit or not self.flashing
        for label in (self.alarm, self.alarm_more):
            label.set_flash(self._alarm, lit)
        self.update()

    def border_colour(self) -> str | None:
        """The tile border's colour now: the alarm colour while lit, else none."""
        if self._alarm is None or not (self._lit or not self.flashing):
            return None
        return theme.PRIORITY_COLOURS[self._alarm]

    def paintEvent(self, event: QPaintEvent) -> None:
        """The tile's panel, with a border in the alarm colour in the lit phase."""
        del event
        border = self.border_colour()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = 4 if border else 0
        rect = QRectF(self.rect()).adjusted(width / 2, width / 2, -width / 2, -width / 2)
        painter.setBrush(QColor(theme.PANEL))
        painter.setPen(QPen(QColor(border), width) if border else Qt.PenStyle.NoPen)
        painter.drawRoundedRect(rect, 8, 8)
        painter.end()


class ChairOverview(QWidget):
    """A grid of :class:`ChairTile`, one per chair (1-32), filled row by row.

    Up to 16 chairs the grid is square; 17-32 chairs take 8 columns of compact tiles, so
    that a whole row fits the width of a 1366 px screen (a square grid's tiles did not).

    Signals:
        sig_chair_selected(int): the nurse picked chair ``index`` (open its full view).
    """

    sig_chair_selected = Signal(int)
    """The nurse picked chair ``index``: open its full view."""

    def __init__(self, services: Sequence[ChairService], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chairOverview")
        # Numerics as large as the tiles allow: they are read from across the room.
        n = len(services)
        self._value_pt = 56 if n <= 4 else 48 if n <= 9 else 40 if n <= 16 else 32
        self._compact = n > COMPACT_ABOVE
        self._columns = 8 if self._compact else max(1, math.ceil(math.sqrt(n)))
        # The tiles fill the screen; only where even their smallest legible size does not fit
        # (16 chairs on a 910x512 logical screen) does the grid scroll, never cut a number.
        host = QWidget()
        host.setObjectName("overviewGrid")
        self._grid = QGridLayout(host)
        self._grid.setContentsMargins(6, 6, 6, 6)
        self._grid.setSpacing(6 if self._compact else 8)
        self.grid_scroll = fallback_scroll(host, "overviewScroll")
        # A chair scrolled out of sight must not be a surprise: whenever the grid needs
        # scrolling (a screen too small for this many chairs), a line above it says so.
        self.fit_notice = QLabel(
            f"Screen too small for {n} chairs: scroll to see every chair's tile"
        )
        self.fit_notice.setObjectName("overviewFitNotice")
        self.fit_notice.setStyleSheet(
            # Not in an alarm colour: it is about the screen, not the patient.
            f"QLabel#overviewFitNotice {{ background: {theme.PANEL}; color: {theme.TEXT};"
            f" border: 1px solid {theme.MUTED}; font-weight: 700; padding: 2px 8px; }}"
        )
        self.fit_notice.hide()
        for bar in (
            self.grid_scroll.verticalScrollBar(),
            self.grid_scroll.horizontalScrollBar(),
        ):
            bar.rangeChanged.connect(self._on_scroll_range_changed)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.fit_notice)
        outer.addWidget(self.grid_scroll)
        self.tiles: list[ChairTile] = []
        for index, service in enumerate(services):
            self.tiles.append(self._make_tile(index, service))
        rows = math.ceil(len(services) / self._columns)
        for r in range(rows):
            self._grid.setRowStretch(r, 1)
        for c in range(self._columns):
            self._grid.setColumnStretch(c, 1)
        self._tick = 0
        self._flash = QTimer(self)
        self._flash.setObjectName("overview-flash")
        self._flash.setInterval(FLASH_TICK_MS)
        self._flash.timeout.connect(self._on_flash_timeout)
        self._ages = QTimer(self)
        self._ages.setObjectName("overview-ages")
        self._ages.setInterval(AGE_REFRESH_MS)
        self._ages.timeout.connect(self._on_ages_timeout)

    def replace_chair(self, index: int, service: ChairService) -> ChairTile:
        """Swap chair ``index``'s tile for one observing ``service`` (a restarted chair)."""
        old = self.tiles[index]
        old.detach()
        self._grid.removeWidget(old)
        old.deleteLater()
        tile = self._make_tile(index, service)
        self.tiles[index] = tile
        return tile

    # -- Qt overrides: timers run only while the overview is on screen ---------------------
    def showEvent(self, event: QShowEvent) -> None:
        """Start the flash and age timers, and catch up on ages missed while hidden."""
        super().showEvent(event)
        for tile in self.tiles:
            tile.refresh()
        self._flash.start()
        self._ages.start()

    def hideEvent(self, event: QHideEvent) -> None:
        """Nothing on the overview needs time while a chair view covers it."""
        self._flash.stop()
        self._ages.stop()
        super().hideEvent(event)

    # -- slots ----------------------------------------------------------------------------
    def _on_flash_timeout(self) -> None:
        self._tick += 1
        for tile in self.tiles:
            tile.set_flash_tick(self._tick)

    def _on_scroll_range_changed(self, _low: int, _high: int) -> None:
        scrolls = (
            self.grid_scroll.verticalScrollBar().maximum() > 0
            or self.grid_scroll.horizontalScrollBar().maximum() > 0
        )
        self.fit_notice.setVisible(scrolls)

    def _on_ages_timeout(self) -> None:
        for tile in self.tiles:
            tile.refresh()

    # -- helpers --------------------------------------------------------------------------
    def _make_tile(self, index: int, service: ChairService) -> ChairTile:
        tile = ChairTile(service, value_pt=self._value_pt, compact=self._compact)
        key = f" (Ctrl+{index + 1})" if index < 9 else ""
        tile.setToolTip(f"Open {service.settings.chair_name}{key}")
        tile.sig_tile_clicked.connect(lambda index=index: self.sig_chair_selected.emit(index))
        self._grid.addWidget(tile, index // self._columns, index % self._columns)
        return tile
