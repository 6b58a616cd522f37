"""A database made slow on purpose: each statement first sleeps a time per row it writes.

Shared by benchmarks/writer_stop_bench.py (a writer with a backlog to stop) and the writer's
backlog tests (a record falling behind), which need the same slow disk or server.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine


def slowed(engine: Engine, per_row_s: float, *, while_set: threading.Event | None = None) -> None:
    """Every statement on ``engine`` first sleeps ``per_row_s`` per row it writes (only while
    ``while_set`` is set, when given)."""

    def sleep(
        _conn: object,
        _cursor: object,
        _statement: str,
        parameters: object,
        _context: object,
        executemany: bool,
    ) -> None:
        if while_set is not None and not while_set.is_set():
            return
        rows = len(parameters) if executemany and isinstance(parameters, list | tuple) else 1
        time.sleep(per_row_s * rows)

    event.listen(engine, "before_cursor_execute", sleep)
