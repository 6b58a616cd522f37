"""Logging set-up and excepthooks: a crash in any thread is logged, never silent.

The console's window also keeps a rotating log file in the per-user log directory
(platformdirs; Linux: ``~/.local/state/infusion-console/log/console.log``), and
:mod:`faulthandler` writes there, so a crash of the interpreter itself (a segfault in a
library, an abort) leaves its trace where a nurse's supervisor or field service will look,
not only on a terminal nobody watches (issue 15).
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import sys
import threading
from pathlib import Path
from types import TracebackType

import platformdirs

log = logging.getLogger("console")

FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
#: The log file's size before it rolls over, and how many old files are kept.
LOG_FILE_BYTES = 5_000_000
LOG_FILE_BACKUPS = 5


def default_log_dir() -> Path:
    """The per-user log directory."""
    return Path(platformdirs.user_log_dir("infusion-console", appauthor=False))


class ConsoleLogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file; :mod:`faulthandler` follows it to each new file."""

    def doRollover(self) -> None:  # noqa: N802 - logging's name
        super().doRollover()
        if self._owns_faulthandler and self.stream is not None:
            faulthandler.enable(file=self.stream, all_threads=True)

    _owns_faulthandler = False


def setup_logging(level: str = "INFO", *, log_dir: Path | None = None) -> Path | None:
    """Per-area loggers (``devices``, ``alarms``, ``storage``, ``ui``) to stderr, and with
    ``log_dir`` to its rotating ``console.log`` as well.

    Returns:
        The log file, or None without ``log_dir`` or when it cannot be written (said on stderr:
        monitoring never waits for a log file).
    """
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO), format=FORMAT, stream=sys.stderr
    )
    if log_dir is None:
        return None
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, ConsoleLogFile)]:
        root.removeHandler(old)  # set up again (tests): one file handler only
        old.close()
    path = log_dir / "console.log"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = ConsoleLogFile(
            path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
    except OSError as err:
        sys.stderr.write(f"infusion-console: no log file ({path}): {err.strerror}\n")
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.addHandler(handler)
    if not faulthandler.is_enabled() and handler.stream is not None:
        # Not when already on (``-X faulthandler``, a test runner): its owner chose where.
        faulthandler.enable(file=handler.stream, all_threads=True)
        handler._owns_faulthandler = True
    return path


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
