"""The shipped desktop entry and ``infusion-console desktop-entry`` (issue 15).

The entry must satisfy the freedesktop spec (validated with ``desktop-file-validate`` where
Debian's desktop-file-utils is installed, as ``.ci/run`` does), and ``--install`` must leave a
menu item that starts *this* installation even when its ``bin`` is not on ``PATH``.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from console.commands import desktop_entry
from console.commands.desktop_entry import entry_text, exec_value, installed_files
from devices.resources import resource

ENTRY = ("desktop", "infusion-console.desktop")


def _fields(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(text)
    return dict(parser["Desktop Entry"])


def _validate(path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate not installed (Debian: desktop-file-utils)")
    result = subprocess.run([validator, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""  # no warnings either


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG data directory (platformdirs reads the variable at each call)."""
    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


@pytest.fixture
def launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A virtual environment's ``bin`` with the launcher, not on ``PATH``."""
    scripts = tmp_path / "venv dir" / "bin"
    scripts.mkdir(parents=True)
    program = scripts / "infusion-console"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(scripts / "python"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return program


def test_the_shipped_entry_has_the_fields_the_issue_names() -> None:
    fields = _fields(resource(*ENTRY).read_text(encoding="utf-8"))
    assert fields["Type"] == "Application"
    assert fields["Name"] == "Infusion Console"
    assert fields["Comment"]
    assert fields["Exec"] == "infusion-console"
    assert fields["Icon"] == "infusion-console"
    assert fields["Terminal"] == "false"
    assert "MedicalSoftware" in fields["Categories"].split(";")


def test_the_shipped_entry_is_valid(tmp_path: Path) -> None:
    copy = tmp_path / "infusion-console.desktop"
    copy.write_bytes(resource(*ENTRY).read_bytes())
    _validate(copy)


def test_install_writes_the_entry_and_the_icons_for_this_user(
    data_home: Path, launcher: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert desktop_entry.main(["--install"]) == 0
    targets = installed_files(data_home)
    assert capsys.readouterr().out.splitlines() == [f"wrote {t}" for t in targets.values()]
    entry = data_home / "applications" / "infusion-console.desktop"
    svg = data_home / "icons/hicolor/scalable/apps/infusion-console.svg"
    png = data_home / "icons/hicolor/256x256/apps/infusion-console.png"
    assert set(targets.values()) == {entry, svg, png}
    assert svg.read_bytes() == resource("icons", "infusion-console.svg").read_bytes()
    assert png.read_bytes() == resource("icons", "infusion-console.png").read_bytes()
    fields = _fields(entry.read_text(encoding="utf-8"))
    # Not on PATH: the menu item names this launcher (quoted: its path has a space).
    assert fields["Exec"] == f'"{launcher}"'
    assert fields["TryExec"] == str(launcher)
    _validate(entry)

    assert desktop_entry.main(["--uninstall"]) == 0
    assert not any(t.exists() for t in targets.values())


def test_the_bare_name_is_kept_when_path_finds_this_launcher(
    launcher: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{launcher.parent}:/usr/bin")
    fields = _fields(entry_text(launcher))
    assert fields["Exec"] == "infusion-console"
    assert fields["TryExec"] == "infusion-console"


def test_exec_quotes_and_escapes_as_the_spec_asks(launcher: Path) -> None:
    assert exec_value(Path("/opt/ic/bin/infusion-console")) == "/opt/ic/bin/infusion-console"
    # Quoted for the reserved '$' (escaped inside the quotes), then the string escape doubles
    # the backslash.
    assert exec_value(Path("/opt/$x/ic")) == '"/opt/\\\\$x/ic"'
    assert exec_value(Path("/opt/50%/ic")) == "/opt/50%%/ic"


def test_without_an_installed_launcher_it_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert desktop_entry.main(["--install"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is not installed in this Python environment" in err


def test_without_an_option_it_prints_the_entry(
    launcher: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert desktop_entry.main([]) == 0
    assert capsys.readouterr().out == entry_text(launcher)
