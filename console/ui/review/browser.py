"""The session browser: filter, sort and page through thousands of stored sessions.

The table model fetches lazily (Qt's ``canFetchMore``/``fetchMore``): one SQL page of
:data:`~console.storage.review.PAGE_SIZE` rows at a time as the user scrolls, filtered and
ordered in SQL on indexed columns, so opening the browser on a clinic's whole history costs one
small query.  Every query is a short read-only transaction (console.storage.review), run on a
database worker (:mod:`console.services.db_tasks`), never on the GUI thread: a hung database
leaves the browser "loading", not the screen frozen (issue 12 item 9).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from console.domain.alarm_rules import Priority
from console.domain.review import local_time
from console.services.db_tasks import DatabaseTasks
from console.services.record_access import (
    PAGE_SIZE,
    BrowserRow,
    ReachedPhase,
    ReviewRepository,
    SessionFilter,
    SortKey,
)
from console.ui import theme

#: (header, sort key or None when the column cannot be sorted in SQL)
COLUMNS: tuple[tuple[str, SortKey | None], ...] = (
    ("ID", None),
    ("Started", SortKey.STARTED),
    ("Patient", SortKey.PATIENT),
    ("#", SortKey.SERIES),
    ("Chair", SortKey.CHAIR),
    ("Phase", SortKey.PHASE),
    ("Alarms (high)", SortKey.ALARMS),
    ("Reviewed", SortKey.REVIEWED),
    ("Sim", None),
)

AnyIndex = QModelIndex | QPersistentModelIndex
#: The invalid index (the table's root), shared as the default argument.
_ROOT = QModelIndex()


class SessionTableModel(QAbstractTableModel):
    """Sessions matching a filter, fetched page by page from the database (on ``tasks``).

    Signals:
        sig_loaded(): a count or a page arrived (or the query failed: see ``error``).
    """

    sig_loaded = Signal()
    """A count or a page arrived, or the query failed (``error``)."""

    def __init__(
        self, repo: ReviewRepository, tasks: DatabaseTasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.repo = repo
        self.tasks = tasks
        self.filter = SessionFilter()
        self.rows: list[BrowserRow] = []
        self.total = 0
        self._exhausted = False
        #: True while a count or page is on its way from the database.
        self.loading = False
        #: Why the last query failed, if it did.
        self.error: str | None = None
        self._generation = 0  # answers to an older filter are dropped

    def set_filter(self, f: SessionFilter) -> None:
        """Replace the filter and reload from the first page (answers arrive later)."""
        self.beginResetModel()
        self.filter = f
        self.rows = []
        self._exhausted = False
        self.total = 0
        self._generation += 1
        self.endResetModel()
        gen, repo = self._generation, self.repo
        self.loading = True
        self.tasks.submit(
            lambda: (repo.count(f), repo.search(f, offset=0, limit=PAGE_SIZE)),
            lambda answer: self._on_first_page(gen, *answer),
            lambda err: self._on_failed(gen, err),
        )

    def refresh(self) -> None:
        """Reload with the current filter (new sessions, new sign-offs)."""
        self.set_filter(self.filter)

    # -- lazy fetching -------------------------------------------------------------------------
    def canFetchMore(self, parent: AnyIndex = _ROOT) -> bool:
        """True while rows beyond those loaded match the filter (and none are on their way)."""
        return not parent.isValid() and not self._exhausted and not self.loading

    def fetchMore(self, parent: AnyIndex = _ROOT) -> None:
        """Ask for the next page; it is appended when it arrives."""
        if not self.canFetchMore(parent):
            return
        gen, repo, f, offset = self._generation, self.repo, self.filter, len(self.rows)
        self.loading = True
        self.tasks.submit(
            lambda: repo.search(f, offset=offset, limit=PAGE_SIZE),
            lambda page: self._on_page(gen, page),
            lambda err: self._on_failed(gen, err),
        )

    def _on_first_page(self, gen: int, total: int, page: list[BrowserRow]) -> None:
        if isValid(self) and gen == self._generation:
            self.total = total
            self._on_page(gen, page)

    def _on_page(self, gen: int, page: list[BrowserRow]) -> None:
        if not isValid(self) or gen != self._generation:
            return
        self.loading = False
        self.error = None
        if len(page) < PAGE_SIZE or len(self.rows) + len(page) >= self.total:
            self._exhausted = True
        if page:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self.rows.extend(page)
            self.endInsertRows()
        self.sig_loaded.emit()

    def _on_failed(self, gen: int, err: BaseException) -> None:
        if not isValid(self) or gen != self._generation:
            return
        self.loading = False
        self.error = str(getattr(err, "orig", None) or err).splitlines()[0]
        self.sig_loaded.emit()

    # -- model ---------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = _ROOT) -> int:
        """Rows loaded so far."""
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = _ROOT) -> int:
        """The fixed columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, and colour for unreviewed high-alarm sessions and simulated ones."""
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 6 and r.high_alarms:
                return QColor(theme.PRIORITY_COLOURS[Priority.HIGH])
            if col == 8 and r.simulated:
                return QColor("#ce93d8")
            if col == 7 and r.reviewed_by is None:
                return QColor(theme.MUTED)
        if role == Qt.ItemDataRole.UserRole:
            return r.id
        return None

    @staticmethod
    def _text(r: BrowserRow, col: int) -> str:
        if col == 0:
            return str(r.id)
        if col == 1:
            running = "" if r.ended_at else "  (in progress)"
            return local_time(r.started_at, day=True, seconds=False) + running
        if col == 2:
            if r.patient_mrn is None:
                return "-"
            return f"{r.patient_mrn} {r.patient_name or ''}".strip()
        if col == 3:
            return "" if r.series_number is None else str(r.series_number)
        if col == 4:
            return r.chair
        if col == 5:
            return r.phase
        if col == 6:
            return f"{r.alarms} ({r.high_alarms})"
        if col == 7:
            if r.reviewed_by is None:
                return "not reviewed"
            return f"{r.reviewed_by} {local_time(r.reviewed_at, day=True, seconds=False)}"
        return "SIM" if r.simulated else ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in SQL by the column's key (columns without one keep the order)."""
        key = COLUMNS[column][1]
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        f = self.filter
        self.set_filter(SessionFilter(**{**_fields(f), "sort": key, "descending": descending}))

    def session_id(self, row: int) -> int:
        """The session id of a loaded row."""
        return self.rows[row].id


def _fields(f: SessionFilter) -> dict[str, Any]:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}


class SessionBrowser(QWidget):
    """Filter bar, session table and the actions to open a session or a patient's series.

    Signals:
        sig_session_activated(int): the user opened a session (double-click or "Open").
        sig_series_requested(int): the user asked for the series of a patient (patient id).
    """

    sig_session_activated = Signal(int)
    """A session was opened (its id)."""
    sig_series_requested = Signal(int)
    """The series of this patient id was asked for."""

    def __init__(
        self,
        repo: ReviewRepository,
        parent: QWidget | None = None,
        *,
        tasks: DatabaseTasks | None = None,
    ) -> None:
        super().__init__(parent)
        self.repo = repo
        #: The review's database worker (its own when not given).
        self.tasks = tasks or DatabaseTasks("db-review", self)
        self.model = SessionTableModel(repo, self.tasks, self)
        self.model.sig_loaded.connect(self._update_count)
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("patient MRN or name")
        self.from_check = QCheckBox("from")
        self.date_from = QDateEdit()
        self.date_from.setCalendarPopup(True)
        self.to_check = QCheckBox("to")
        self.date_to = QDateEdit()
        self.date_to.setCalendarPopup(True)
        today = QDate.currentDate()
        self.date_from.setDate(today.addDays(-30))
        self.date_to.setDate(today)
        self.chair = QComboBox()
        self.phase = QComboBox()
        self.phase.addItem("any phase", None)
        for p in ReachedPhase:
            self.phase.addItem(p.label, p)
        self.high_only = QCheckBox("had high-priority alarms")
        self.unreviewed = QCheckBox("not yet reviewed")
        self.apply_button = QPushButton("Apply")
        self.count_label = QLabel()
        self.count_label.setObjectName("browserCount")
        self.open_button = QPushButton("Open session")
        self.series_button = QPushButton("Patient series")
        self.reload_chairs()

        bar = QHBoxLayout()
        for w in (
            self.patient,
            self.from_check,
            self.date_from,
            self.to_check,
            self.date_to,
            QLabel("chair"),
            self.chair,
            QLabel("phase reached"),
            self.phase,
            self.high_only,
            self.unreviewed,
            self.apply_button,
        ):
            bar.addWidget(w)
        bar.addStretch(1)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(1, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        actions = QHBoxLayout()
        actions.addWidget(self.count_label)
        actions.addStretch(1)
        actions.addWidget(self.series_button)
        actions.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)

        self.apply_button.clicked.connect(self.apply_filter)
        self.patient.returnPressed.connect(self.apply_filter)
        for box in (self.high_only, self.unreviewed, self.from_check, self.to_check):
            box.toggled.connect(self.apply_filter)
        self.chair.currentIndexChanged.connect(self.apply_filter)
        self.phase.currentIndexChanged.connect(self.apply_filter)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.series_button.clicked.connect(self._on_series_clicked)
        self.apply_filter()

    def reload_chairs(self) -> None:
        """Refill the chair filter from the database (when its answer arrives)."""
        repo = self.repo
        self.tasks.submit(repo.chairs, self._fill_chairs)

    def _fill_chairs(self, names: list[str]) -> None:
        if not isValid(self):
            return
        current = self.chair.currentData()
        self.chair.blockSignals(True)
        self.chair.clear()
        self.chair.addItem("any chair", None)
        for name in names:
            self.chair.addItem(name, name)
        index = self.chair.findData(current)
        self.chair.setCurrentIndex(max(0, index))
        self.chair.blockSignals(False)

    def current_filter(self) -> SessionFilter:
        """The filter the widgets describe (dates are local days, sent as UTC bounds)."""

        def utc(d: QDate, *, next_day: bool = False) -> datetime:
            if next_day:
                d = d.addDays(1)
            day = date(d.year(), d.month(), d.day())
            return datetime.combine(day, time()).astimezone().astimezone(UTC)

        old = self.model.filter
        return SessionFilter(
            patient_text=self.patient.text(),
            started_from=utc(self.date_from.date()) if self.from_check.isChecked() else None,
            started_before=(
                utc(self.date_to.date(), next_day=True) if self.to_check.isChecked() else None
            ),
            chair=self.chair.currentData(),
            reached=self.phase.currentData(),
            high_alarms=self.high_only.isChecked(),
            unreviewed=self.unreviewed.isChecked(),
            sort=old.sort,
            descending=old.descending,
        )

    def apply_filter(self) -> None:
        """Re-query with the filter bar's values."""
        self.model.set_filter(self.current_filter())
        self._update_count()

    def refresh(self) -> None:
        """Reload (e.g. after a sign-off)."""
        self.reload_chairs()
        self.model.refresh()
        self._update_count()

    def _update_count(self) -> None:
        if self.model.error is not None:
            self.count_label.setText(f"database unavailable: {self.model.error}")
            return
        if self.model.loading and not self.model.rows:
            self.count_label.setText("loading ...")
            return
        self.count_label.setText(
            f"{self.model.total} sessions match; {self.model.rowCount()} loaded "
            "(more load as you scroll)"
            if self.model.total > self.model.rowCount()
            else f"{self.model.total} sessions match"
        )

    def selected_row(self) -> BrowserRow | None:
        """The selected session's row, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        self.sig_session_activated.emit(self.model.session_id(index.row()))

    def _on_open_clicked(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.sig_session_activated.emit(row.id)

    def _on_series_clicked(self) -> None:
        row = self.selected_row()
        if row is not None and row.patient_id is not None:
            self.sig_series_requested.emit(row.patient_id)
