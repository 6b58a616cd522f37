"""What the wheel is declared to hold, checked against the checkout (fast; issue 15).

``pyproject.toml`` lists the packages explicitly (``resources/`` is renamed to
``infusion_resources``, which package discovery cannot do), so a package or a resource file
added later without a line there would be missing from the installed console and found only
by a clinic.  These tests catch that at once; ``tests/test_wheel.py`` builds the real wheel.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any

import pytest

from devices.resources import (
    CHECKOUT_PACKAGE,
    PACKAGE,
    ResourcesMissingError,
    choose_package,
    resource,
    resource_path,
    resource_root,
)
from devices.simulator.scenario import builtin_scenarios, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    section = config["tool"]["setuptools"]
    assert isinstance(section, dict)
    return section


def _checkout_packages() -> set[str]:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("console", "devices")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert {"console", "devices", "console.storage.migrations.versions"} <= found
    return found


def _resource_files() -> list[str]:
    """Every file under ``resources/`` but the package's own Python and caches."""
    return sorted(
        path.relative_to(ROOT / "resources").as_posix()
        for path in (ROOT / "resources").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def test_every_package_of_the_checkout_is_listed() -> None:
    listed = set(_setuptools()["packages"])
    assert listed == _checkout_packages() | {PACKAGE}, (
        "pyproject [tool.setuptools] packages must list exactly the checkout's packages"
    )
    assert _setuptools()["package-dir"] == {PACKAGE: "resources"}


def test_every_resource_file_is_package_data() -> None:
    patterns = _setuptools()["package-data"][PACKAGE]
    files = [f for f in _resource_files() if f != "__init__.py"]
    missing = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert len(files) >= 15  # configuration, scenarios, capture, icons, desktop entry
    assert missing == [], f"add to [tool.setuptools.package-data] {PACKAGE}: {missing}"


def test_migrations_are_package_data_or_modules() -> None:
    data = _setuptools()["package-data"]["console"]
    assert "storage/migrations/script.py.mako" in data
    versions = sorted((ROOT / "console/storage/migrations/versions").glob("0*.py"))
    assert len(versions) >= 4  # modules of console.storage.migrations.versions, listed above


def test_resources_are_read_from_this_checkout_through_importlib() -> None:
    # Tests run from a checkout, installed editable or only on PYTHONPATH: either way the
    # resources are this checkout's, so the code and its scenarios come from the same tree.
    assert Path(str(resource_root())).resolve() == (ROOT / "resources").resolve()
    assert (
        resource_path("default_config.toml").read_bytes()
        == (ROOT / "resources" / "default_config.toml").read_bytes()
    )
    on_disk = sorted(p.stem for p in (ROOT / "resources" / "scenarios").glob("*.toml"))
    assert builtin_scenarios() == on_disk
    assert resource("captures").is_dir()


def test_a_users_own_scenario_file_outside_the_package_still_loads(tmp_path: Path) -> None:
    own = tmp_path / "my-clinic.toml"
    own.write_text(
        resource("scenarios", "bradycardia.toml")
        .read_text(encoding="utf-8")
        .replace('name = "bradycardia"', 'name = "my-clinic"'),
        encoding="utf-8",
    )
    loaded = load_scenario(own)
    assert loaded.name == "my-clinic"
    assert loaded.source == str(own)
    assert load_scenario("bradycardia").source.endswith("bradycardia.toml")


def test_a_replay_scenario_finds_its_capture_among_the_resources() -> None:
    replay = load_scenario("replay-carescape-30min").replay_path
    assert replay is not None
    assert replay.is_file()
    assert replay.resolve().parent == (ROOT / "resources" / "captures").resolve()


@pytest.mark.parametrize(
    ("installed", "checkout", "expected"),
    [
        ("code", None, PACKAGE),  # a wheel: both in site-packages
        ("code", "code", PACKAGE),  # a wheel run from a directory holding a resources/
        (None, "code", CHECKOUT_PACKAGE),  # a checkout on PYTHONPATH, not installed
        ("other", "code", CHECKOUT_PACKAGE),  # a checkout on PYTHONPATH, another installed
        ("other", None, PACKAGE),  # an unusual layout: the installed one all the same
        ("other", "other", PACKAGE),  # a "resources" package not beside the code is not used
    ],
)
def test_the_resources_come_from_the_tree_the_code_came_from(
    tmp_path: Path, installed: str | None, checkout: str | None, expected: str
) -> None:
    def where(tree: str | None, name: str) -> Path | None:
        return None if tree is None else tmp_path / tree / name

    locations = {
        PACKAGE: where(installed, PACKAGE),
        CHECKOUT_PACKAGE: where(checkout, "resources"),
    }
    assert choose_package(locations, tmp_path / "code") == expected


def test_missing_resources_are_one_clear_error(tmp_path: Path) -> None:
    locations = {PACKAGE: None, CHECKOUT_PACKAGE: tmp_path / "other" / "resources"}
    with pytest.raises(ResourcesMissingError, match="reinstall infusion-console"):
        choose_package(locations, tmp_path / "code")
