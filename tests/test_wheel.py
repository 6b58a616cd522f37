"""The built wheel holds what the console reads, and an installed copy runs anywhere (issue 15).

The wheel is built from a copy of the checkout (so a stale ``build/`` directory cannot hide a
missing file) with pip's build isolation, which fetches setuptools from the package index.
The installed copy lives in a new virtual environment outside the checkout and runs from
another directory with no ``PYTHONPATH``; to stay within about a minute it takes its
*dependencies* (PySide6 and the rest) from this test run's environment through a ``.pth`` file,
while the console itself, its resources and its launcher come from the wheel alone (checked).
``.ci/wheel-smoke`` does the same with every dependency installed from ``requirements.lock``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Not copied into the build: caches, virtual environments, earlier builds.
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "bench-out", "*.egg-info", "__pycache__",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
)  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console's wheel, built from a copy of this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, work / "src", ignore=IGNORED)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
         str(work / "src")],
        check=True, timeout=300,
    )  # fmt: skip
    (built,) = (work / "dist").glob("infusion_console-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding the wheel, its dependencies borrowed (module doc)."""
    env = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "borrowed_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    # Without PYTHONPATH: a checkout on it (with its *.egg-info) would make pip take the
    # console for installed already and skip the wheel.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        check=True, timeout=300, env=clean,
    )  # fmt: skip
    return env


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``args`` (a program of the venv first) from ``cwd``, with no checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        env[var] = str(cwd / var.lower())
    program = str(venv / "bin" / args[0])
    return subprocess.run(
        [program, *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def test_the_wheel_holds_resources_migrations_icon_and_desktop_entry(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    resources = ROOT / "resources"
    expected = {
        f"infusion_resources/{p.relative_to(resources).as_posix()}"
        for p in resources.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    migrations = ROOT / "console" / "storage" / "migrations"
    expected |= {
        p.relative_to(ROOT).as_posix()
        for p in [*migrations.glob("*.py"), *migrations.glob("versions/*.py")]
    }
    expected |= {
        "console/storage/migrations/script.py.mako",
        "infusion_resources/default_config.toml",
        "infusion_resources/scenarios/routine.toml",
        "infusion_resources/scenarios/README.md",
        "infusion_resources/captures/ge_datex_carescape_30min.raw",
        "infusion_resources/icons/infusion-console.svg",
        "infusion_resources/icons/infusion-console.png",
        "infusion_resources/desktop/infusion-console.desktop",
        "console/py.typed",
        "devices/py.typed",
        # The menu entry and icon as data files (a user or system install's share/).
        "infusion_console-0.1.0.data/data/share/applications/infusion-console.desktop",
        "infusion_console-0.1.0.data/data/share/icons/hicolor/scalable/apps/infusion-console.svg",
        "infusion_console-0.1.0.data/data/share/icons/hicolor/256x256/apps/infusion-console.png",
    }
    assert sorted(expected - names) == []
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "resources/"))]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "infusion-console = console.cli:main" in zipfile.ZipFile(wheel).read(
        entry_points
    ).decode("utf-8")


def test_an_installed_copy_runs_from_another_directory(venv: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    version = _run(venv, elsewhere, "infusion-console", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("infusion-console 0.1.0 (Python 3.")

    where = _run(
        venv, elsewhere, "python", "-c",
        "import console, devices, sys\n"
        "from devices.resources import resource_package, resource_root\n"
        "print(console.__file__, devices.__file__, resource_root(), resource_package(), sep='\\n')",
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    *files, package = where.stdout.splitlines()
    assert package == "infusion_resources"
    for file in files:  # the wheel's own copy, not this checkout
        assert venv.resolve() in Path(file).resolve().parents, file

    db = f"sqlite:///{elsewhere / 'smoke.sqlite3'}"
    # The replay scenario also reads the capture shipped in the wheel.
    run = _run(
        venv, elsewhere, "infusion-console", "run", "--scenario", "replay-carescape-30min",
        "--speed", "max", "--db", db,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["passed"] is True
    assert summary["scenario"] == "replay-carescape-30min"

    pdf = elsewhere / "session.pdf"
    export = _run(
        venv, elsewhere, "infusion-console", "export", "--db", db,
        "--session", str(summary["session_id"]), "--format", "pdf", "--out", str(pdf),
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
