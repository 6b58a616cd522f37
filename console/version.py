"""The versions a bug report and the About box name: the console's, Python's and Qt's.

Read from the installed distributions' metadata, so saying them starts no Qt and needs no
database (``--version`` works where the screen or the database does not).
"""

from __future__ import annotations

import sys
from importlib import metadata


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def console_version() -> str:
    """The console's version, or a plain statement that it is not installed."""
    return _installed("infusion-console") or "unknown (not installed)"


def qt_version() -> str:
    """``PySide6 6.11.3``, or that it is missing."""
    found = _installed("PySide6-Essentials")
    return f"PySide6 {found}" if found else "PySide6 not installed"


def python_version() -> str:
    """``3.11.7``."""
    return ".".join(str(n) for n in sys.version_info[:3])


def version_line() -> str:
    """``infusion-console 0.1.0 (Python 3.11.7, PySide6 6.11.3)``."""
    return f"infusion-console {console_version()} (Python {python_version()}, {qt_version()})"
