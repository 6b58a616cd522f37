"""The command line: documented options and clear errors (run as a user would, in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )


def test_help_documents_every_option() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for option in (
        "--db",
        "--config",
        "--device",
        "--port",
        "--baud",
        "--chair",
        "--profile",
        "--seed",
        "--speed",
        "--nibp-interval",
        "--log-level",
    ):
        assert option in result.stdout
    assert "SIMULATED" in result.stdout


def test_bad_config_value_exits_2_with_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[simulator]\nspeed = -1\n")
    result = _run("--config", str(cfg))
    assert result.returncode == 2
    assert "[simulator] speed" in result.stderr


def test_port_without_device_kind_is_refused() -> None:
    result = _run("--port", "/dev/ttyUSB0")
    assert result.returncode == 2
    assert "--port needs --device" in result.stderr


def test_unusable_database_url_is_refused() -> None:
    result = _run("--db", "nosuchdb://x")
    assert result.returncode == 2
    assert "database" in result.stderr


def test_version_names_the_console_python_and_qt() -> None:
    from importlib import metadata

    result = _run("--version")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith(f"infusion-console {metadata.version('infusion-console')} (Python 3.")
    assert f"PySide6 {metadata.version('PySide6-Essentials')}" in line
