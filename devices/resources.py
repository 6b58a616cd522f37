"""The files the console ships besides its code, found with ``importlib.resources``.

The repository keeps them in its top-level ``resources/`` directory; the wheel installs that
directory as the package ``infusion_resources`` (pyproject's ``package-dir``).  Reading them as
package resources, never by a path relative to a source file, is what lets an installed console
(``pip install .`` or a built wheel) run from any directory (issue 15).

Which package holds them:

- installed (a wheel, or ``pip install -e .``): ``infusion_resources``, beside this code;
- a source checkout that is not installed, on ``sys.path`` (``PYTHONPATH=checkout``, or
  ``python main.py`` in it): the checkout's own ``resources`` package.

When both can be imported (a checkout on ``PYTHONPATH`` while another checkout is installed in
the same environment), the one that sits beside the ``devices`` package this code was imported
from wins, so the code and its scenarios always come from the same tree.

This module lives in the lowest layer because both the simulator (scenarios, captures) and the
console (default configuration, icon, desktop entry) read shipped files.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

#: The name of ``resources/`` in an installed console.
PACKAGE = "infusion_resources"
#: Its name when a source checkout is imported without being installed.
CHECKOUT_PACKAGE = "resources"

#: Keeps the real files :func:`resource_path` handed out alive until the process exits.
_files = contextlib.ExitStack()
atexit.register(_files.close)


class ResourcesMissingError(RuntimeError):
    """Neither package is importable: the console is not installed properly."""


def _package_dir(name: str) -> Path | None:
    """Where package ``name`` would be imported from, without importing it (None: not found)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def choose_package(locations: dict[str, Path | None], code_dir: Path) -> str:
    """Which package holds the resources, given where each name would be imported from.

    ``code_dir`` is the directory holding the ``devices`` package.  The one beside it wins
    (installed, ``infusion_resources`` first); else ``infusion_resources`` wherever it is; a
    ``resources`` package elsewhere is some other project's and never used.
    """
    for name in (PACKAGE, CHECKOUT_PACKAGE):
        location = locations.get(name)
        if location is not None and location.resolve().parent == code_dir.resolve():
            return name
    if locations.get(PACKAGE) is not None:
        return PACKAGE
    raise ResourcesMissingError(
        f"the console's resources (package {PACKAGE}) are missing: reinstall infusion-console"
    )


@functools.cache
def resource_package() -> str:
    """The importable name of the shipped resources (see the module docstring)."""
    locations = {name: _package_dir(name) for name in (PACKAGE, CHECKOUT_PACKAGE)}
    return choose_package(locations, Path(__file__).resolve().parents[1])


def resource_root() -> Traversable:
    """The top of the shipped resources (``default_config.toml``, ``scenarios/``, ...)."""
    return resources.files(resource_package())


def resource(*parts: str) -> Traversable:
    """One shipped file or directory, e.g. ``resource("scenarios", "routine.toml")``."""
    return resource_root().joinpath(*parts)


def resource_path(*parts: str) -> Path:
    """A shipped *file* as a real path, for readers that need one (Qt, a replayed capture).

    Installed packages are plain directories, so this is normally the file itself;
    ``importlib.resources.as_file`` copies it to a temporary file otherwise (a zipped
    install), kept until the process exits.
    """
    return _files.enter_context(resources.as_file(resource(*parts)))
