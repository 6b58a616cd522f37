"""Files and directories that hold patient data are readable by their owner only.

The default SQLite database, its directory and the storage journal are created here: the
database 0600 (SQLite would make it 0644, and its ``-wal``/``-shm`` files copy the database
file's mode), the directories 0700, and a directory this console made earlier with wider
permissions is tightened.  No SQLAlchemy here: :mod:`console.config` uses it too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: A database, journal or rejected-batch file: its owner reads and writes it, nobody else.
FILE_MODE = 0o600
#: Their directory.
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) as needed; ``path`` itself ends up mode 0700.

    Raises:
        OSError: it cannot be created.
    """
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        with contextlib.suppress(PermissionError):  # not ours (shared on purpose): leave it
            path.chmod(DIR_MODE)
    return path


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty, mode 0600, unless it exists; True when it was created.

    An empty file is a valid empty SQLite database.  A missing directory is left missing.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError:  # exists already, or no directory: the caller's open says what is wrong
        return False
    os.close(fd)
    return True


def open_private_append(path: Path) -> int:
    """An append-only descriptor of ``path`` (created 0600 if missing).

    Raises:
        OSError: it cannot be opened.
    """
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)


def fsync_dir(directory: Path) -> None:
    """Make a new file's directory entry durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
