"""DatabaseTasks: database calls run on one worker, in order; results come back on the GUI
thread; a closed chair refuses new work; a database failure refuses a nurse's action cleanly."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.exc import OperationalError

from console.domain.session import IllegalTransitionError
from console.services.db_tasks import DatabaseTasks, TasksClosedError, refuse_on_database_error

pytestmark = pytest.mark.gui


@pytest.fixture
def tasks(qtbot: QtBot) -> Iterator[DatabaseTasks]:
    """Tasks named like a chair's; closed (and their worker stopped) after the test."""
    made = DatabaseTasks("db-Test chair")
    yield made
    made.close()


def test_calls_run_in_order_off_the_gui_thread_and_deliver_on_it(
    qtbot: QtBot, tasks: DatabaseTasks
) -> None:
    ran_on: list[str] = []
    delivered: list[tuple[int, bool]] = []
    gate = threading.Event()

    def work(i: int) -> int:
        if i == 0:
            gate.wait(5)  # the first call is slow: the others must still wait for it
        ran_on.append(threading.current_thread().name)
        return i

    def done(result: int) -> None:
        delivered.append((result, threading.current_thread() is threading.main_thread()))

    for i in range(5):
        tasks.submit(functools.partial(work, i), done)
    assert tasks.busy
    gate.set()
    qtbot.waitUntil(lambda: len(delivered) == 5, timeout=5_000)
    assert delivered == [(i, True) for i in range(5)]
    assert ran_on == ["db-Test chair"] * 5  # named for the logs, never the GUI thread
    assert not tasks.busy


def test_an_exception_goes_to_on_error_on_the_gui_thread(
    qtbot: QtBot, tasks: DatabaseTasks
) -> None:
    errors: list[BaseException] = []

    def fail() -> int:
        raise ValueError("no such patient")

    tasks.submit(fail, lambda _r: pytest.fail("on_done called"), errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    (err,) = errors
    assert isinstance(err, ValueError)
    assert str(err) == "no such patient"


@pytest.mark.expected_log("storage", r"^db-Test chair: database call failed: disk I/O error$")
def test_an_exception_without_on_error_is_logged_not_raised(
    qtbot: QtBot, tasks: DatabaseTasks
) -> None:
    after: list[int] = []

    def fail() -> None:
        raise OSError("disk I/O error")

    tasks.submit(fail, lambda _r: pytest.fail("on_done called"))
    tasks.submit(lambda: 7, after.append)  # the worker goes on
    qtbot.waitUntil(lambda: after == [7], timeout=5_000)


def test_call_returns_the_result_while_the_event_loop_runs(
    qtbot: QtBot, tasks: DatabaseTasks
) -> None:
    order: list[str] = []
    tasks.submit(lambda: "queued first", order.append)
    assert tasks.call(lambda: 41 + 1) == 42
    # Calls queued before it ran (and were delivered) first.
    assert order == ["queued first"]


def test_call_raises_the_exception_of_the_work(tasks: DatabaseTasks) -> None:
    def fail() -> None:
        raise KeyError("session 9")

    with pytest.raises(KeyError, match="session 9"):
        tasks.call(fail)


def test_finish_delivers_without_the_event_loop_and_wait_blocks(tasks: DatabaseTasks) -> None:
    got: list[str] = []
    tasks.submit(lambda: "a", got.append)
    tasks.finish()  # shutdown: waits for the worker and delivers in place
    assert got == ["a"]
    assert tasks.wait(lambda: "b") == "b"


def test_closed_tasks_refuse_new_work(qtbot: QtBot) -> None:
    tasks = DatabaseTasks("db-closing")
    done: list[int] = []
    tasks.submit(lambda: 1, done.append)
    tasks.close()
    assert done == [1]  # what was submitted before closing still lands
    with pytest.raises(TasksClosedError, match="db-closing"):
        tasks.submit(lambda: 2, done.append)
    with pytest.raises(TasksClosedError):
        tasks.call(lambda: 3)


def test_a_database_failure_refuses_the_action_with_one_line(tasks: DatabaseTasks) -> None:
    def unreachable() -> None:
        raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused\nmore"))

    with pytest.raises(IllegalTransitionError) as caught:
        refuse_on_database_error(tasks, unreachable)
    message = str(caught.value)
    assert message.startswith("the database cannot be reached (connection refused)")
    assert "nothing was changed" in message
    assert "\n" not in message
    assert isinstance(caught.value.__cause__, OperationalError)


def test_a_stopping_chair_refuses_the_action(qtbot: QtBot) -> None:
    tasks = DatabaseTasks("db-stopped")
    tasks.close()
    with pytest.raises(IllegalTransitionError, match="the chair is stopping"):
        refuse_on_database_error(tasks, lambda: None)


def test_other_errors_pass_through_unchanged(tasks: DatabaseTasks) -> None:
    def bug() -> None:
        raise ZeroDivisionError("a bug is not a database outage")

    with pytest.raises(ZeroDivisionError):
        refuse_on_database_error(tasks, bug)
    assert refuse_on_database_error(tasks, lambda: "ok") == "ok"
