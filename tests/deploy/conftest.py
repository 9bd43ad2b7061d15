"""A user's deploy project for the tests here: a copy of serverless.yml and its files, after `cp .env.example .env`."""

from __future__ import annotations

import pytest
from repo import make_project, user_env


@pytest.fixture
def project(tmp_path):
    """A user's checkout after `cp .env.example .env`."""
    return make_project(tmp_path / "project", dotenv=True)


@pytest.fixture
def env(tmp_path, project):
    """The user's environment, the commands pointed at that project."""
    return {**user_env(tmp_path), "AUTOENHANCE_PROJECT_DIR": str(project)}
