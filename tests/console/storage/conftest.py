"""Storage fixtures (the databases themselves, ``db_url``/``engine``/``migrated``, are in the
root conftest)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def journal_dir(tmp_path: Path) -> Iterator[Path]:
    """A private journal directory."""
    path = tmp_path / "journal"
    yield path
    shutil.rmtree(path, ignore_errors=True)
