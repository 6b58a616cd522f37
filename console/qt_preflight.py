"""Before Qt starts on a Linux desktop: are the libraries its X11 (xcb) platform needs there?

Why: on a fresh Debian machine the README's first command aborted (exit 134) inside Qt until
``libxcb-icccm4`` and ``libxcb-keysyms1`` were installed, and Qt's own message blamed another
package (issue 15).  Qt cannot report this itself: the platform plugin fails to load and Qt
aborts.  So the console looks for each shared library the xcb plugin links against, before it
creates the application, and names the Debian/Ubuntu package of the first one missing.

The table is checked against the installed plugin by tests/test_qt_preflight.py (``readelf``
on ``libqxcb.so``), so a new Qt that needs another library fails a test, not a clinic's PC.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping

#: Shared libraries Qt's xcb platform (libqxcb.so and libQt6XcbQpa) links against, beyond the C
#: and C++ runtimes, with the Debian/Ubuntu package that provides each.
XCB_PLATFORM_LIBRARIES: dict[str, str] = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
}


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will start its X11 (xcb) platform: Linux, and no other platform asked for."""
    if not platform.startswith("linux"):
        return False
    asked = environ.get("QT_QPA_PLATFORM", "")
    if asked:
        return asked.split(":")[0].split(";")[0] == "xcb"
    # Qt 6 prefers Wayland in a Wayland session (and falls back to xcb when it cannot).
    return not environ.get("WAYLAND_DISPLAY")


def missing_platform_library(
    environ: Mapping[str, str],
    *,
    platform: str | None = None,
    loads: Callable[[str], bool] | None = None,
) -> str | None:
    """One line naming the first missing library and its package, or None when all are there
    (or Qt will not use xcb).  ``platform`` and ``loads`` default to this machine's."""
    if not uses_xcb(environ, sys.platform if platform is None else platform):
        return None
    loads = loads or _loads
    for soname, package in XCB_PLATFORM_LIBRARIES.items():
        if not loads(soname):
            return (
                f"Qt cannot open the screen: {soname} is missing (Debian/Ubuntu package "
                f"{package}; the README lists every package the console needs)"
            )
    return None
