"""The suite runs under the CI Hypothesis profile registered in tests/conftest.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings


@pytest.mark.skipif("HYPOTHESIS_PROFILE" in os.environ, reason="another profile was chosen")
def test_no_deadline_and_reproduce_blobs_by_default() -> None:
    """A loaded machine must not fail a correct property; a failure must say how to replay it."""
    default = settings.default
    assert default is not None
    assert default.deadline is None
    assert default.print_blob is True
    # Explicit @settings inherit the profile and keep their own example counts.
    assert settings(max_examples=7).deadline is None
    assert default.max_examples == 100
