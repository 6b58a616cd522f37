"""One patient's series side by side, and today's BP curve over the earlier sessions'.

Risk is highest in the first sessions and tolerance to the BP effect does not develop
(clinical.md A 3-4), so the physician compares every session of the series: baseline and peak
SBP/DBP/HR, the rise, time to peak, alarms, dose and adverse effects, one column per session.
The overlay aligns all sessions at their infusion start; the newest is drawn bold on top.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.observations import OUTCOME_SCALES, outcome_scores
from console.domain.review import (
    SeriesRow,
    local_time,
    overlay_curve,
    series_rows,
)
from console.services.db_tasks import DatabaseTasks
from console.services.record_access import ReviewRepository
from console.ui import theme

#: Row titles of the comparison table and how each column's cell is written.
_ROWS: tuple[tuple[str, str], ...] = (
    ("Date", "date"),
    ("Baseline BP", "base_bp"),
    ("Baseline HR", "base_hr"),
    ("Peak BP", "peak_bp"),
    ("PHQ-9 / MADRS", "outcome"),
    ("Peak HR", "peak_hr"),
    ("Rise SBP/DBP", "rise"),
    ("Time to peak SBP", "ttp"),
    ("Alarms high/med/low", "alarms"),
    ("Dose", "dose"),
    ("MOAA/S min", "moaas"),
    ("CADSS-6 / nausea max", "dissociation"),
    ("Adverse effects", "adverse"),
    ("Monitoring", "monitoring"),
)
EARLIER_COLOURS = ("#546e7a", "#78909c", "#8d6e63", "#6d4c41", "#5c6bc0", "#26a69a")


def _score(scores: Mapping[str, float], scale: str) -> str:
    value = scores.get(scale)
    return "-" if value is None else f"{value:g}"


def _cell(row: SeriesRow, key: str) -> str:
    if key == "date":
        return (
            local_time(row.started_at, day=True, seconds=False)
            + (" SIM" if row.simulated else "")
            + (" (in progress)" if row.in_progress else "")
        )
    if key == "base_bp":
        return row.baseline.bp_text()
    if key == "base_hr":
        return row.baseline.hr_text()
    if key == "peak_bp":
        return row.peak.bp_text()
    if key == "outcome":
        return " / ".join(_score(row.outcomes, s) for s in OUTCOME_SCALES)
    if key == "moaas":
        return _score(row.worst_scores, "MOAA/S")
    if key == "dissociation":
        return f"{_score(row.worst_scores, 'CADSS-6')} / {_score(row.worst_scores, 'nausea')}"
    if key == "peak_hr":
        return row.peak.hr_text()
    if key == "rise":
        s = "-" if row.sbp_rise is None else f"{row.sbp_rise:+.0f}"
        d = "-" if row.dbp_rise is None else f"{row.dbp_rise:+.0f}"
        return f"{s}/{d}"
    if key == "ttp":
        return "-" if row.time_to_peak_min is None else f"{row.time_to_peak_min:.0f} min"
    if key == "alarms":
        return f"{row.alarms_high}/{row.alarms_medium}/{row.alarms_low}"
    if key == "dose":
        return row.dose_text
    if key == "adverse":
        return "\n".join(row.adverse) or "none"
    return f"{row.monitoring_min:.0f} min"


class SeriesView(QWidget):
    """Comparison table and BP overlay of every session of one patient.

    Signals:
        sig_session_activated(int): a session's column was double-clicked (its id).
    """

    sig_session_activated = Signal(int)
    """A session of the series was opened (its id)."""

    def __init__(
        self,
        repo: ReviewRepository,
        patient_id: int,
        *,
        nibp_interval_s: float = 300.0,
        parent: QWidget | None = None,
        tasks: DatabaseTasks | None = None,
    ) -> None:
        super().__init__(parent)
        self.repo = repo
        self.patient_id = patient_id
        # Read on a database worker, not on the GUI thread (issue 12 item 9).
        tasks = tasks or DatabaseTasks("db-review", self)
        patient, self.sessions = tasks.call(
            lambda: (
                repo.patient_by_id(patient_id),
                repo.series(patient_id, nibp_interval_s=nibp_interval_s),
            )
        )
        self.rows = series_rows(self.sessions)
        name = "unknown patient" if patient is None else f"{patient.mrn} {patient.display_name}"
        self.title = QLabel(f"Series of {name}: {len(self.rows)} sessions")
        self.title.setObjectName("chairTitle")

        self.table = QTableWidget(len(_ROWS), len(self.rows))
        self.table.setVerticalHeaderLabels([title for title, _k in _ROWS])
        self.table.setHorizontalHeaderLabels(
            [
                f"#{r.series_number}" if r.series_number is not None else f"id {r.session_id}"
                for r in self.rows
            ]
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for col, row in enumerate(self.rows):
            for i, (_title, key) in enumerate(_ROWS):
                item = QTableWidgetItem(_cell(row, key))
                if key == "alarms" and row.alarms_high:
                    item.setForeground(QColor("#ff5252"))
                self.table.setItem(i, col, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        # Show every row of the comparison without scrolling; the overlay takes the rest.
        rows_h = sum(self.table.rowHeight(i) for i in range(self.table.rowCount()))
        self.table.setMinimumHeight(rows_h + self.table.horizontalHeader().sizeHint().height() + 24)
        self.table.cellDoubleClicked.connect(self._on_table_cell_double_clicked)

        self.plot = pg.PlotWidget(background=theme.BACKGROUND)
        self.plot.setLabel("left", "SBP mmHg")
        self.plot.setLabel("bottom", "min from infusion start")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.addLegend(offset=(10, 5), labelTextColor=theme.TEXT, brush=theme.PANEL)
        self.curves: list[pg.PlotDataItem] = []
        ordered = sorted(self.sessions, key=lambda s: (s.started_at, s.session_id))
        for i, s in enumerate(ordered):
            x, y = overlay_curve(s.sbp, s.summary.origin)
            newest = i == len(ordered) - 1
            colour = "#ff8a65" if newest else EARLIER_COLOURS[i % len(EARLIER_COLOURS)]
            label = (
                f"#{s.series_number}" if s.series_number is not None else f"id {s.session_id}"
            ) + (" (latest)" if newest else "")
            outcomes = outcome_scores(s.summary.scores)
            label += "".join(f" {k} {v:g}" for k, v in outcomes.items())
            curve = self.plot.plot(
                x,
                y,
                pen=pg.mkPen(
                    colour,
                    width=3 if newest else 1.5,
                    style=Qt.PenStyle.SolidLine if newest else Qt.PenStyle.DashLine,
                ),
                symbol="o",
                symbolSize=7 if newest else 5,
                symbolBrush=colour,
                symbolPen=None,
                name=label,
            )
            self.curves.append(curve)
        self.plot.addItem(
            pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#9575cd", style=Qt.PenStyle.DotLine))
        )

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)

    def _on_table_cell_double_clicked(self, _row: int, column: int) -> None:
        self.sig_session_activated.emit(self.rows[column].session_id)
