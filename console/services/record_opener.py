"""A chair's conversation with the database about its record, never on the GUI thread.

Opening the record at start (or offering the unfinished one for resume), trying again every
few seconds while the database cannot be reached, and the record work of a nurse's action
(new session, resume answer) all run on the chair's database worker; the screen keeps
painting and sounding alarms meanwhile (issue 12 item 9).  What the answers *mean* for the
chair (a resumed session, a new record) stays with the chair: this part only asks, waits,
retries and says whether the database can be reached.  Split out of the chair service
(issue 13).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from sqlalchemy.exc import DBAPIError, OperationalError

from console.domain.session import IllegalTransitionError
from console.services.chair_record import ChairRecordStore, OpenedRecord
from console.services.db_tasks import DatabaseTasks, refuse_on_database_error
from console.services.device_bridge import DeviceBridge
from console.storage.engine import StorageConfigError

log = logging.getLogger("ui.chair")

#: How often a chair that could not open its record tries again (ms of real time).
RECORD_RETRY_MS = 3000


class RecordOpener(QObject):
    """Asks the database for a chair's record on the chair's worker.

    Args:
        chair: the chair's name (logs, the worker thread's name).
        records: the chair's record queries (run on the worker).
        on_opened: the answer to :meth:`open`, on the GUI thread.
        on_health: whether the record can be written (False with the reason), on a change.
        on_retry: the retry timer fired; the chair opens again if it still needs to.
        bridge: the chair's bridge, which the worker's results cross by.
        parent: Qt parent (the chair).
    """

    def __init__(
        self,
        chair: str,
        records: ChairRecordStore,
        *,
        on_opened: Callable[[OpenedRecord], None],
        on_health: Callable[[bool, str], None],
        on_retry: Callable[[], None],
        bridge: DeviceBridge,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.chair = chair
        self.records = records
        #: The chair's database calls run here, never on the GUI thread (issue 12 item 9).
        self.db_tasks = DatabaseTasks(f"db-{chair}", self, bridge=bridge)
        #: True while the record is being opened on the worker (the chair's data are held).
        self.opening = False
        #: Why the record cannot be opened right now (database unreachable), if so.
        self.problem: str | None = None
        self._on_opened, self._on_health = on_opened, on_health
        self._retry = QTimer(self)
        self._retry.setObjectName(f"record-retry-{chair}")
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(on_retry)

    def open(self, work: Callable[[], OpenedRecord]) -> None:
        """Run ``work`` (open or offer the record) on the worker, unless it already runs."""
        if self.opening:
            return
        self.opening = True
        self.db_tasks.submit(work, self._opened, self._unreachable)

    def ask(self, work: Callable[[], OpenedRecord]) -> OpenedRecord:
        """A nurse action's record work on the worker; the screen stays live meanwhile.

        Raises:
            IllegalTransitionError: the record is still being opened, or the database cannot
                be reached (nothing was changed); the message says which.
        """
        if self.opening:
            raise IllegalTransitionError(
                "the session record is still being opened: try again in a moment"
            )
        self.opening = True
        try:
            return refuse_on_database_error(self.db_tasks, work)
        finally:
            self.opening = False

    def stop(self) -> None:
        """Deliver what is still on its way, then stop retrying (the chair is stopping)."""
        self.db_tasks.finish()
        self._retry.stop()

    def _unreachable(self, err: BaseException) -> None:
        self.opening = False
        if not isinstance(err, OperationalError | DBAPIError | StorageConfigError):
            raise err
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        if self.problem is None:
            log.error(
                "chair %s: database unreachable, monitoring without a record: %s",
                self.chair,
                reason,
            )
        self.problem = reason
        self._on_health(False, reason)
        self._retry.start(RECORD_RETRY_MS)

    def _opened(self, opened: OpenedRecord) -> None:
        self.opening = False
        self._on_opened(opened)
        if self.problem is not None:
            log.info("chair %s: database reachable again; record opened", self.chair)
            self.problem = None
            self._on_health(True, "")
