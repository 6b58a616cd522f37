"""``infusion-console desktop-entry``: put the console in a Linux desktop's application menu.

The wheel ships the freedesktop desktop entry (``infusion-console.desktop``) and the icon (SVG
and a 256 px PNG) as package resources.  Wheel *data files* would land in the virtual
environment's own ``share/``, which no desktop reads, so this command copies them where the
desktop looks for a user's applications, under the XDG data directory (platformdirs;
``~/.local/share`` unless ``XDG_DATA_HOME`` says otherwise):

- ``applications/infusion-console.desktop``
- ``icons/hicolor/scalable/apps/infusion-console.svg``
- ``icons/hicolor/256x256/apps/infusion-console.png``

The shipped entry says ``Exec=infusion-console``.  That is what is written when that name on
``PATH`` is this installation's launcher; otherwise (a virtual environment whose ``bin`` is not
on ``PATH``, the usual clinic install) the entry names the launcher by its absolute path, so the
menu item starts this console and not nothing.  ``--uninstall`` removes the three files.
Without an option the entry that ``--install`` would write is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from devices.cli_parser import EXIT_USAGE, OneLineParser
from devices.resources import resource

NAME = "infusion-console"
#: Desktop file paths: characters that make an Exec argument need quoting (the spec's list).
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def installed_files(data_home: Path) -> dict[str, Path]:
    """Where ``--install`` writes each shipped file, under ``data_home``."""
    return {
        f"desktop/{NAME}.desktop": data_home / "applications" / f"{NAME}.desktop",
        f"icons/{NAME}.svg": data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{NAME}.svg",
        f"icons/{NAME}.png": data_home / "icons" / "hicolor" / "256x256" / "apps" / f"{NAME}.png",
    }


def launcher() -> Path | None:
    """This installation's ``infusion-console`` launcher (None: not installed here)."""
    scripts = Path(sys.executable).parent
    for candidate in (scripts / NAME, scripts / f"{NAME}.exe"):
        if candidate.is_file():
            return candidate
    return None


def exec_value(program: Path) -> str:
    """``program`` as the desktop entry's Exec value: the bare name when ``PATH`` finds it."""
    on_path = shutil.which(NAME)
    if on_path is not None and Path(on_path).resolve() == program.resolve():
        return NAME
    text = str(program)
    if _RESERVED & set(text):
        for char in ("\\", '"', "`", "$"):
            text = text.replace(char, "\\" + char)
        text = f'"{text}"'
    # The value is also a desktop-file string: its backslashes are escaped once more.
    return text.replace("\\", "\\\\").replace("%", "%%")


def entry_text(program: Path) -> str:
    """The shipped entry with its Exec and TryExec pointing at ``program``."""
    value = exec_value(program)
    lines = resource("desktop", f"{NAME}.desktop").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Exec="):
            lines[i] = f"Exec={value}"
        elif line.startswith("TryExec="):
            lines[i] = "TryExec=" + (NAME if value == NAME else str(program).replace("\\", "\\\\"))
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a half-written entry breaks the menu)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install(data_home: Path, program: Path) -> list[Path]:
    """Write the entry and the icons under ``data_home``; the paths written."""
    written = []
    for shipped, target in installed_files(data_home).items():
        if shipped.endswith(".desktop"):
            data = entry_text(program).encode("utf-8")
        else:
            data = resource(*shipped.split("/")).read_bytes()
        _write(target, data)
        written.append(target)
    return written


def uninstall(data_home: Path) -> list[Path]:
    """Remove what :func:`install` wrote; the paths removed."""
    removed = []
    for target in installed_files(data_home).values():
        if target.exists():
            target.unlink()
            removed.append(target)
    return removed


def build_parser() -> argparse.ArgumentParser:
    """The ``desktop-entry`` command line."""
    parser = OneLineParser(
        prog=f"{NAME} desktop-entry",
        description="Add the console to a Linux desktop's application menu: the desktop entry "
        "and the icon are copied under the XDG data directory (~/.local/share/applications, "
        "~/.local/share/icons/hicolor). Without an option, print the entry.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--install", action="store_true", help="install the entry and the icon")
    action.add_argument("--uninstall", action="store_true", help="remove them again")
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``infusion-console desktop-entry``."""
    args = build_parser().parse_args(argv)
    prog = f"{NAME} desktop-entry"
    if sys.platform in ("win32", "darwin"):
        sys.stderr.write(f"{prog}: desktop entries are for Linux desktops (freedesktop.org)\n")
        return EXIT_USAGE
    data_home = platformdirs.user_data_path()
    if args.uninstall:
        for path in uninstall(data_home):
            sys.stdout.write(f"removed {path}\n")
        return 0
    program = launcher()
    if program is None:
        sys.stderr.write(
            f"{prog}: {NAME} is not installed in this Python environment "
            f"({sys.executable}); install it first (pip install .)\n"
        )
        return EXIT_USAGE
    if not args.install:
        sys.stdout.write(entry_text(program))
        return 0
    try:
        written = install(data_home, program)
    except OSError as err:
        sys.stderr.write(f"{prog}: cannot write under {data_home}: {err}\n")
        return EXIT_USAGE
    for path in written:
        sys.stdout.write(f"wrote {path}\n")
    return 0
