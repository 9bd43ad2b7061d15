"""A user's configured copy of the repository still passes the tests: they read only tests/fixtures/.

A user edits the top-level serverless.yml, writes .env, changes image-task.json, adds a rules file
and rewrites events/; their fork's CI must stay green. This copies the repository (the files git
lists, tracked or untracked and not ignored) into tmp, configures it as a user would, and runs the
whole suite there, importing the copy's code and tests (PYTHONPATH=<copy>).

The tests marked `shipped_example` check the shipped example itself (`.env.example` with
serverless.yml passes check-deploy, rules.example.json parses): they are the user's own
configuration check, not the code's, so the copy's run leaves them out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo import EVENTS, PROJECT, ROOT
from repo import copy_repository as shared_copy

from autoenhance.sample_events import cos_event, cos_record

# Set in the copy's run: there, this test is skipped (and ignored), so it never runs itself again.
NESTED = "AUTOENHANCE_TEST_USER_COPY"
# The whole suite, so that no test reading the top-level files can slip through (a user's copy is
# where it would fail): about 4.5 minutes, the SCF runtimes (30 s) and the rehearsal (25 s) included.
# Left out: this file, and the tests marked shipped_example (they check the example itself).
SELECTION = ("tests",)
BUCKET, REGION, PREFIX = "media-1300000000", "ap-shanghai", "incoming/"
USER_DOTENV = f"""# my own deploy settings
TENCENT_SECRET_ID=AKIDmyOwnDeployKeyId0000000000000000
TENCENT_SECRET_KEY=myOwnDeployKeySecret00000000000
REGION={REGION}
BUCKET={BUCKET}
TRIGGER_PREFIX={PREFIX}
EXECUTION_ROLE=MyEnhanceRole
DEAD_LETTER_QUEUE=my-enhance-dlq
"""
USER_TASK = {"EncodeConfig": {"Format": "WebP", "Quality": 60}}
USER_RULES = {
    "rules": [
        {"name": "all-uploads", "match": {"prefix": "uploads/"}, "image_task": {"EncodeConfig": {"Format": "PNG"}}},
        {
            "name": "incoming-small",
            "match": {"prefix": PREFIX},
            "image_task": {"TransformConfig": {"ImageResize": {"Switch": "ON", "Mode": "lfit", "Width": 64}}},
            "output": {"dir": "/thumbs/"},
        },
    ]
}


def copy_repository(dest: Path) -> Path:
    """A fresh copy (tests/repo.py), made a git repository as a fork is."""
    shared_copy(dest)
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    return dest


def configure_as_a_user(root: Path) -> None:
    """Another bucket, region and prefix in .env; a WebP task; rules switched on; other events; no samples.

    Written from the fixtures, never edited in place: in a fork, the top-level files are already the
    user's own, and this test must pass there too."""
    (root / ".env").write_text(USER_DOTENV)
    (root / ".env.example").write_text(USER_DOTENV)  # edited in place too: it is the user's file now
    (root / "image-task.json").write_text(json.dumps(USER_TASK))
    (root / "rules.json").write_text(json.dumps(USER_RULES))
    (root / "rules.example.json").write_text(json.dumps(USER_RULES))
    text = (PROJECT / "serverless.yml").read_text(encoding="utf-8")
    for old, new in (
        ("      # RULES_FILE: rules.example.json", "      RULES_FILE: rules.json  #"),
        ("      OUTPUT_DIR: /enhanced/\n", "      OUTPUT_DIR: /hd/\n"),
        ("  memorySize: 64\n", "  memorySize: 128\n"),
    ):
        assert old in text, f"the fixture serverless.yml changed: no {old!r} to customise"
        text = text.replace(old, new)
    (root / "serverless.yml").write_text(text, encoding="utf-8")
    events = root / "events"
    shipped = sorted(p.name for p in EVENTS.glob("*.json"))
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir()
    for i, name in enumerate([*shipped, "my-camera-roll.json"]):  # the same names, other objects
        record = cos_record(BUCKET, REGION, f"{PREFIX}phone/IMG_{i:04d}.png", event_time=1_800_000_000 + i)
        (events / name).write_text(json.dumps(cos_event([record]), indent=2))
    shutil.rmtree(root / "samples", ignore_errors=True)


def copy_env(root: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    return {**keep, "PYTHONPATH": str(root), NESTED: "1"}


def run_in(root: Path, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=copy_env(root), cwd=root, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def user_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get(NESTED):
        pytest.skip("already inside a user copy's run")
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: no file list to copy")
    root = copy_repository(tmp_path_factory.mktemp("user-copy") / "mps-autoenhance")
    configure_as_a_user(root)
    return root


def test_the_copy_runs_its_own_code_and_tests(user_copy: Path) -> None:
    """PYTHONPATH puts the copy first: for pytest's process and for the installed `autoenhance`
    command (its default project is the directory above the autoenhance package it imported)."""
    code = "import autoenhance, handler, fakes, repo; print(autoenhance.__file__, handler.__file__, repo.__file__)"
    shown = run_in(user_copy, sys.executable, "-c", "import sys; sys.path.append('tests'); " + code)
    assert shown.returncode == 0, shown.stderr
    assert all(Path(p).is_relative_to(user_copy) for p in shown.stdout.split()), shown.stdout
    r = run_in(user_copy, str(Path(sys.executable).parent / "autoenhance"), "check-config")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"Configuration from {user_copy / 'serverless.yml'} "), r.stdout


def test_the_users_own_configuration_is_a_valid_one(user_copy: Path) -> None:
    """What the copy's tests run beside is a configuration check-config accepts: a user's, not garbage."""
    r = run_in(user_copy, str(Path(sys.executable).parent / "autoenhance"), "check-config")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Trigger prefix:  {PREFIX} in {BUCKET}" in r.stdout and "1. all-uploads: prefix uploads/" in r.stdout
    assert '"Format": "WebP"' in r.stdout, r.stdout


def test_a_configured_copy_passes_the_tests(user_copy: Path, request: pytest.FixtureRequest) -> None:
    outer = request.config.getoption("markexpr")  # e.g. dev.py's "not scf_python39" when that runtime is missing
    marks = f"({outer}) and not shipped_example" if outer else "not shipped_example"
    basetemp = user_copy.parent / "pytest-tmp"  # its own, beside the copy: never this run's or another's
    r = run_in(
        user_copy, sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", marks, f"--basetemp={basetemp}",
        "--ignore=tests/test_user_copy.py", "-rfE", *SELECTION, timeout=1800,
    )  # fmt: skip
    code, tail = r.returncode, "\n".join((r.stdout + r.stderr).splitlines()[-60:])
    assert code == 0, f"the configured copy's tests failed (exit {code}):\n{tail}"
