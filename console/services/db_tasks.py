"""Database work off the GUI thread.

A database that accepts TCP but never answers (a hung server, a dropped route) blocks every
call until its timeout.  On the GUI thread that froze the screen: the window took 10 s to
appear and the chair's record retry stalled the event loop for 5 s every 3 s, with no alarm
painted or sounded meanwhile (issue 12, item 9).  So no database call runs on the GUI thread:

- :meth:`DatabaseTasks.submit` runs a call on the worker and hands its result (or exception)
  to a callback on the GUI thread (start-up, record retry, patient lookup, review paging);
- :meth:`DatabaseTasks.call` runs a call on the worker while the GUI thread keeps its event
  loop turning (a local :class:`QEventLoop`, as a modal dialog does), for the nurse's
  actions whose result the next line needs (new session, resume).

Calls of one :class:`DatabaseTasks` run one at a time, in order, on a one-thread
:class:`QThreadPool` (its idle thread expires by itself, so a review window left open
holds no thread).  The results cross back to the GUI thread through a
:class:`~console.services.device_bridge.DeviceBridge` (the chair's own, or one of the tasks'
own for a review window): one thread-to-Qt crossing for the whole console (issue 13).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from PySide6.QtCore import QEventLoop, QObject, QThreadPool
from sqlalchemy.exc import DBAPIError, OperationalError

from console.domain.session import IllegalTransitionError
from console.services.device_bridge import DeviceBridge

log = logging.getLogger("storage")

T = TypeVar("T")

#: A finished call and what to do with it on the GUI thread.
_Done = tuple[Future[Any], Callable[[Any], None], Callable[[BaseException], None] | None]


class TasksClosedError(RuntimeError):
    """The tasks were closed (the chair or window is stopping) before the call could run."""


class DatabaseTasks(QObject):
    """One worker for database calls, in order; results are delivered on the GUI thread.

    Args:
        name: the worker's thread name while it runs a call (``"db-Chair 1"``), for logs.
        parent: Qt parent (lives on the GUI thread).
        bridge: the bridge the results cross by (the chair's); None makes one of its own.
    """

    def __init__(
        self, name: str, parent: QObject | None = None, *, bridge: DeviceBridge | None = None
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.bridge = bridge if bridge is not None else DeviceBridge(self, name=f"bridge-{name}")
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one at a time, in order
        self._lock = threading.Lock()
        self._pending = 0
        self._done: deque[_Done] = deque()
        self._closed = False

    @property
    def busy(self) -> bool:
        """True while a submitted call has not been delivered yet."""
        with self._lock:
            return self._pending > 0

    def _run(self, work: Callable[[], T]) -> Future[T]:
        """Start ``work`` on the pool; its outcome lands in the returned future."""
        future: Future[T] = Future()
        future.set_running_or_notify_cancel()

        def job() -> None:
            threading.current_thread().name = self.name
            try:
                result = work()
            except BaseException as err:
                future.set_exception(err)
            else:
                future.set_result(result)

        self._pool.start(job)
        return future

    def submit(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``work`` on the worker; then ``on_done(result)`` or ``on_error(exc)`` on the
        GUI thread (from the event loop, or from :meth:`finish`).

        Without ``on_error`` an exception is logged and dropped.

        Raises:
            TasksClosedError: after :meth:`close`.
        """
        with self._lock:
            if self._closed:
                raise TasksClosedError(f"{self.name}: closed")
            self._pending += 1
        future = self._run(work)

        def finished(f: Future[Any]) -> None:
            with self._lock:
                self._done.append((f, on_done, on_error))
            self.bridge.post_call(self.deliver)  # from the worker: to the GUI thread

        future.add_done_callback(finished)

    def deliver(self) -> None:
        """Hand every finished call to its callback (GUI thread); safe to call re-entrantly."""
        while True:
            with self._lock:
                if not self._done:
                    return
                future, on_done, on_error = self._done.popleft()
                self._pending -= 1
            err = future.exception()
            if err is None:
                on_done(future.result())
            elif on_error is not None:
                on_error(err)
            else:
                log.error("%s: database call failed: %s", self.name, err)

    def call(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the worker and return its result; the GUI's event loop keeps
        running meanwhile (painting, alarms, sound), as under a modal dialog.

        Calls queued before it run first.  Exceptions of ``work`` are raised here.

        Raises:
            TasksClosedError: the tasks were closed before the call could run.
        """
        loop = QEventLoop()
        outcome: list[tuple[bool, Any]] = []

        def done(value: T) -> None:
            outcome.append((True, value))
            loop.quit()

        def failed(err: BaseException) -> None:
            outcome.append((False, err))
            loop.quit()

        self.submit(work, done, failed)
        while not outcome:
            loop.exec()
        ok, value = outcome[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def finish(self) -> None:
        """Wait (blocking) for every submitted call and deliver the results.

        For shutdown only: the window is closing, nothing needs painting any more.
        """
        self._pool.waitForDone()
        self.deliver()

    def close(self) -> None:
        """:meth:`finish`, then stop the worker thread; later calls raise."""
        self.finish()
        self._closed = True

    def wait(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the worker and block until it returns (shutdown only: the
        window is gone, and the event loop may not run any more)."""
        self.deliver()
        return self._run(work).result()


def refuse_on_database_error(tasks: DatabaseTasks, work: Callable[[], T]) -> T:
    """:meth:`DatabaseTasks.call` for a nurse's action: a database that cannot be reached,
    or a chair that is stopping, refuses the action with one clear message (and nothing of
    it is done) instead of escaping as a crash.

    Raises:
        IllegalTransitionError: the database failed or the chair stopped; the message says so.
    """
    try:
        return tasks.call(work)
    except (OperationalError, DBAPIError) as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise IllegalTransitionError(
            f"the database cannot be reached ({reason}): nothing was changed; try again"
        ) from err
    except TasksClosedError as err:
        raise IllegalTransitionError("the chair is stopping") from err
