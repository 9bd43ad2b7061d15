"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import pytest
from repo import user_env


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """A clean user environment: no credentials, no configuration, private fake state."""
    return user_env(tmp_path)
