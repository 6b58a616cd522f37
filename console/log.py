"""Logging set-up and excepthooks: a crash in any thread is logged, never silent."""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType

log = logging.getLogger("console")


def setup_logging(level: str = "INFO") -> None:
    """Per-area loggers (``devices``, ``alarms``, ``storage``, ``ui``) to stderr."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s",
        stream=sys.stderr,
    )


def install_excepthooks() -> None:
    """Route uncaught exceptions from any thread to the log."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.critical("uncaught exception", exc_info=(exc_type, exc, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread else "?"
        log.critical(
            "uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = hook
    threading.excepthook = thread_hook
