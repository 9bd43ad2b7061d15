"""The repository's files and its installed command, for the tests in every subdirectory.

tests/ is on sys.path (pyproject.toml's pythonpath), so a test imports this as `repo` wherever it
lives: no test works out where the repository is from its own depth.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SCRIPT = Path(sys.executable).parent / "autoenhance"  # the command, as `pip install` put it on PATH
# A user's environment keeps none of these: no credentials, no configuration of the function or backfill.
_NOT_INHERITED = ("TENCENTCLOUD_", "TENCENT_", "MPS_", "OUTPUT_", "IMAGE_", "COS_", "TRIGGER_")


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


PROJECT_FILES = ("serverless.yml", "image-task.json")


def make_project(where: Path, dotenv: bool = False) -> Path:
    """A copy of the repository's deploy project (serverless.yml and the files it names) in `where`.

    With `dotenv`, .env is .env.example as shipped; without, there is no .env (a fresh clone).
    """
    where.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copyfile(ROOT / name, where / name)
    if dotenv:
        shutil.copyfile(ROOT / ".env.example", where / ".env")
    return where


def user_env(tmp_path: Path) -> dict[str, str]:
    """A clean user environment: no credentials or configuration, private embedded-fake state.

    The project is a copy of the repository's serverless.yml without a .env (as in a fresh clone),
    so a developer's own .env never changes what a test sees.
    """
    keep = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    project = make_project(tmp_path / "project")
    return {**keep, "AUTOENHANCE_STATE_DIR": str(tmp_path / "state"), "AUTOENHANCE_PROJECT_DIR": str(project)}


def autoenhance(
    env: dict[str, str], *args: str, cwd: Path = ROOT, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`autoenhance ARGS...` run as a user types it (from the repository root unless `cwd`)."""
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the project (python3 dev.py test does)"
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
