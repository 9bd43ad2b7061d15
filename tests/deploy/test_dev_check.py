"""`python3 dev.py check`: the user's own configuration, checked the way a deploy would meet it.

Run in a fresh copy of the repository whose top-level files are the test fixtures (never the
user's), with the .venv dev.py would have made: it passes on the example as shipped, and a broken
configuration fails it, naming the problem, while nothing in the copy is written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from repo import copy_repository, premade_venv, use_fixture_configuration

# package compiles the bytecode with SCF's own Python 3.9, the fixture's runtime.
pytestmark = pytest.mark.scf_python39
_NOT_INHERITED = ("TENCENTCLOUD_", "TENCENT_", "MPS_", "OUTPUT_", "IMAGE_", "COS_", "TRIGGER_", "RULES_FILE")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repository(tmp_path_factory.mktemp("clone") / "mps-autoenhance")
    use_fixture_configuration(root)
    premade_venv(root)
    # dev.py check also runs the tests marked shipped_example, with the dev tools: the stamp says they are in.
    (root / ".venv" / ".installed-dev").write_text((root / ".venv" / ".installed-base").read_text())
    return root


def user_files(root: Path) -> list[tuple[Path, bytes]]:
    """Every file of the copy but the venv and the caches Python and hypothesis keep."""
    skip = {".venv", "__pycache__", ".hypothesis"}
    return sorted(
        (p.relative_to(root), p.read_bytes()) for p in root.rglob("*") if p.is_file() and not skip & set(p.parts)
    )


def check(root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED) and not k.startswith("PYTEST_")}
    env.update(PYTHONPATH=str(root), AUTOENHANCE_STATE_DIR=str(tmp_path / "state"))
    return subprocess.run(
        [sys.executable, "dev.py", "check"], check=False, cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_shipped_example_passes(clone, tmp_path):
    before = user_files(clone)
    r = check(clone, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no .env yet: cp .env.example .env" in r.stdout
    assert "the configuration passes check-deploy and its own checks" in r.stdout
    assert user_files(clone) == before  # built and checked in a scratch copy: nothing of the user's is written


def test_a_broken_configuration_fails_naming_the_problem(clone, tmp_path):
    serverless = clone / "serverless.yml"
    shipped = serverless.read_text(encoding="utf-8")
    try:
        serverless.write_text(shipped.replace("timeout: 60", "timeout: 2"), encoding="utf-8")
        r = check(clone, tmp_path)
    finally:
        serverless.write_text(shipped, encoding="utf-8")
    assert r.returncode != 0
    assert "refused the configuration" in r.stdout
    assert "timeout" in (r.stdout + r.stderr).lower()
