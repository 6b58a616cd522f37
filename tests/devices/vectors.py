"""Where protocol test vectors live and how to read them.

Small vectors are copied into ``tests/data`` so the core protocol tests always run; the large
real captures stay in the shared ``protocol_vectors`` directory next to the repository (or where
``INFUSION_VECTORS_DIR`` points), and tests that need them skip with a reason when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Copies of the small GE Datex vectors, kept with the tests.
GE_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "ge_datex"

_ENV_VAR = "INFUSION_VECTORS_DIR"


def vectors_dir() -> Path:
    """The shared ``protocol_vectors`` directory (may not exist on a bare checkout)."""
    override = os.environ.get(_ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "shared" / "protocol_vectors"


def shared_vector(relative: str) -> Path:
    """Path of a file in the shared vectors directory; skips the calling test if it is missing."""
    path = vectors_dir() / relative
    if not path.is_file():
        pytest.skip(
            f"shared protocol vector {relative} not found under {vectors_dir()} "
            f"(set {_ENV_VAR} to the protocol_vectors directory to run this test)"
        )
    return path


def ge_data(name: str) -> Path:
    """Path of a GE Datex vector copied into ``tests/data/ge_datex``."""
    return GE_DATA_DIR / name


#: Copies of the IntelliVue vectors (real client captures and spec-built monitor messages).
INTELLIVUE_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "philips_intellivue"


def intellivue_data(name: str) -> Path:
    """Path of a Philips IntelliVue vector copied into ``tests/data/philips_intellivue``."""
    return INTELLIVUE_DATA_DIR / name


def load_hex(path: Path) -> bytes:
    """Bytes of a ``.hex`` vector: whitespace-separated hex, ``#`` lines are comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.lstrip().startswith("#")))
