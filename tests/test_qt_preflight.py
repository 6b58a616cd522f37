"""A missing Qt platform library is one line naming its package, not an abort (issue 15).

On a fresh Debian machine the README's first command aborted inside Qt (exit 134) until
libxcb-icccm4 and libxcb-keysyms1 were installed.  The console now checks the libraries before
Qt starts; the table it checks is compared here with what the installed Qt really links
against, so a new Qt needing another library fails this test first.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import PySide6
import pytest

from console import qt_preflight
from console.cli import main
from console.qt_preflight import XCB_PLATFORM_LIBRARIES, missing_platform_library, uses_xcb

QT = Path(PySide6.__file__).parent / "Qt"
README_MARKER = "System packages (Debian/Ubuntu names):"
#: The C and C++ runtimes (every Linux has them) and what the PySide6 wheel ships itself.
NOT_PACKAGES: tuple[str, ...] = ("ld-linux", "libc.so", "libm.so", "libgcc_s", "libstdc++")
NOT_PACKAGES += ("libpthread", "libdl", "librt", "libQt6", "libicu")


def _needed(library: Path) -> set[str]:
    out = subprocess.run(
        ["readelf", "-d", str(library)], capture_output=True, text=True, check=True
    ).stdout
    return {
        line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line
    }


def test_the_table_covers_every_library_the_installed_qt_xcb_platform_needs() -> None:
    assert shutil.which("readelf"), "binutils (readelf) is needed by this test; .ci/run installs it"
    needed: set[str] = set()
    for lib in (
        QT / "plugins" / "platforms" / "libqxcb.so",
        QT / "lib" / "libQt6XcbQpa.so.6",
        QT / "lib" / "libQt6Gui.so.6",
        QT / "lib" / "libQt6Core.so.6",
        QT / "lib" / "libQt6Widgets.so.6",
    ):
        needed |= _needed(lib)
    system = {n for n in needed if not n.startswith(NOT_PACKAGES)}
    assert system, "readelf found nothing: the test would pass vacuously"
    assert system - set(XCB_PLATFORM_LIBRARIES) == set()
    bundled = {n for n in needed if n.startswith(("libQt6", "libicu"))}
    assert all((QT / "lib" / n).exists() for n in bundled)  # shipped in the wheel indeed


def test_this_machine_has_every_library() -> None:
    assert missing_platform_library({"DISPLAY": ":0"}, platform="linux") is None


@pytest.mark.parametrize(
    ("environ", "platform", "xcb"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"DISPLAY": ":0"}, "win32", False),
        ({"DISPLAY": ":0"}, "darwin", False),
    ],
)
def test_only_the_xcb_platform_is_checked(
    environ: dict[str, str], platform: str, xcb: bool
) -> None:
    assert uses_xcb(environ, platform) is xcb


def test_the_console_names_the_missing_package_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setattr(qt_preflight, "_loads", lambda soname: soname != "libxcb-icccm.so.4")

    class NoQt:  # were the check to let Qt start, it must fail here, not abort the tests
        def __init__(self, *_a: object) -> None:
            raise AssertionError("Qt was started despite the missing library")

        @staticmethod
        def instance() -> None:
            return None

    monkeypatch.setattr("PySide6.QtWidgets.QApplication", NoQt)
    assert main(["--db", f"sqlite:///{tmp_path / 'x.sqlite3'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "infusion-console: Qt cannot open the screen: libxcb-icccm.so.4 is missing "
        "(Debian/Ubuntu package libxcb-icccm4; the README lists every package the console needs)"
    ]
    assert not (tmp_path / "x.sqlite3").exists()  # nothing started


def _apt_packages(text: str, marker: str) -> set[str]:
    """The package names of the first apt-get install command after ``marker``."""
    start = text.index("apt-get install", text.index(marker))
    command = text[start : text.index("\n\n", start)].replace("\\\n", " ")
    words = command.split("\n")[0].split()
    return {w for w in words[2:] if not w.startswith(("-", ">"))}


def _readme_packages(text: str) -> set[str]:
    """The README's list: "System packages (Debian/Ubuntu names): a, b, c." up to a blank line."""
    start = text.index(README_MARKER) + len(README_MARKER)
    listed = text[start : text.index("\n\n", start)].rstrip(".")
    return {name.strip() for name in listed.replace("\n", " ").split(",")}


def test_the_readme_and_ci_install_every_package_the_check_names() -> None:
    root = Path(__file__).resolve().parents[1]
    readme = _readme_packages((root / "README.md").read_text())
    ci = _apt_packages((root / ".ci" / "run").read_text(), "== system packages")
    needed = set(XCB_PLATFORM_LIBRARIES.values())
    assert needed - readme == set()
    assert needed - ci == set()
    assert readme - {"python3-venv"} <= ci  # CI installs what the README tells a user to
