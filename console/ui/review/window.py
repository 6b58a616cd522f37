"""The review window: the session browser plus one closable tab per opened session or series."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from console.domain.alarm_profiles import ThresholdProfile
from console.services.db_tasks import DatabaseTasks
from console.services.record_access import ReviewRepository
from console.ui import theme
from console.ui.review.browser import SessionBrowser
from console.ui.review.series_view import SeriesView
from console.ui.review.session_view import SessionReviewView

EXTRA_STYLE = f"""
QTableView, QTableWidget, QTextBrowser, QPlainTextEdit, QLineEdit, QComboBox, QDateEdit {{
    background: {theme.PANEL}; color: {theme.TEXT}; gridline-color: #2a3440;
    selection-background-color: #2c3e50;
}}
QHeaderView::section {{ background: #1c2530; color: {theme.TEXT}; padding: 3px; border: 0; }}
QTabBar::tab {{ background: #1c2530; color: {theme.TEXT}; padding: 5px 12px; }}
QTabBar::tab:selected {{ background: #2c3e50; }}
QCheckBox::indicator {{
    width: 13px; height: 13px; border: 1px solid {theme.MUTED}; background: {theme.PANEL};
}}
QCheckBox::indicator:checked {{ background: #4fc3f7; border-color: #4fc3f7; }}
QPushButton {{ background: #263238; color: {theme.TEXT}; padding: 4px 10px; border-radius: 3px; }}
"""


class ReviewWindow(QWidget):
    """Top-level review window (read-only on the record except sign-offs)."""

    def __init__(
        self,
        repo: ReviewRepository,
        *,
        profile: ThresholdProfile | None = None,
        nibp_interval_s: float = 300.0,
        parent: QWidget | None = None,
        user: str | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.repo = repo
        #: The authenticated user (``review --user``), prefilled as the signer.
        self.user = user
        self.profile = profile or ThresholdProfile()
        self.nibp_interval_s = nibp_interval_s
        self.setWindowTitle("Infusion Console - session review")
        self.setStyleSheet(theme.STYLE_SHEET + EXTRA_STYLE)
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        #: Every query of the review runs here, never on the GUI thread (issue 12 item 9).
        self.tasks = DatabaseTasks("db-review", self)
        self.browser = SessionBrowser(repo, tasks=self.tasks)
        self.tabs.addTab(self.browser, "Sessions")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        self.browser.sig_session_activated.connect(self.open_session)
        self.browser.sig_series_requested.connect(self.open_series)
        self.tabs.tabCloseRequested.connect(self._on_tabs_close_requested)
        self.resize(1600, 950)

    def open_session(self, session_id: int) -> SessionReviewView:
        """Show a session's review (re-using its tab when already open)."""
        for i in range(self.tabs.count()):
            w = self.tabs.widget(i)
            if isinstance(w, SessionReviewView) and w.session_id == session_id:
                self.tabs.setCurrentIndex(i)
                return w
        view = SessionReviewView(
            self.repo,
            session_id,
            profile=self.profile,
            nibp_interval_s=self.nibp_interval_s,
            tasks=self.tasks,
            user=self.user,
        )
        view.sig_signed_off.connect(self._on_view_signed_off)
        view.sig_series_requested.connect(self.open_series)
        label = f"Session {session_id}" + (" SIM" if view.stored.record.simulated else "")
        self.tabs.setCurrentIndex(self.tabs.addTab(view, label))
        return view

    def open_series(self, patient_id: int) -> SeriesView:
        """Show one patient's series."""
        view = SeriesView(
            self.repo, patient_id, nibp_interval_s=self.nibp_interval_s, tasks=self.tasks
        )
        view.sig_session_activated.connect(self.open_session)
        repo = self.repo
        patient = self.tasks.call(lambda: repo.patient_by_id(patient_id))
        self.tabs.setCurrentIndex(
            self.tabs.addTab(view, f"Series {patient.mrn if patient else patient_id}")
        )
        return view

    def _on_view_signed_off(self, _session_id: int) -> None:
        self.browser.refresh()

    def _on_tabs_close_requested(self, index: int) -> None:
        if index == 0:
            return
        w = self.tabs.widget(index)
        self.tabs.removeTab(index)
        if w is not None:
            w.deleteLater()
