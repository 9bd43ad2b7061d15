"""The repository's files and its installed command, for the tests in every subdirectory.

tests/ is on sys.path (pyproject.toml's pythonpath), so a test imports this as `repo` wherever it
lives: no test works out where the repository is from its own depth.

The tests own their configuration: FIXTURES holds the project (serverless.yml, its .env as
`dotenv`, image-task.json, rules.json), the sample events and the sample images they use. No test
reads the top-level serverless.yml, .env, .env.example, image-task.json, rules*.json, events/ or
samples/: those are the user's to change (tests/test_user_copy.py proves it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the code: handler/, autoenhance/, tools/, deploy/, docs
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # `autoenhance(...)` runs here: events/put.json is a fixture
PROJECT = FIXTURES / "project"  # serverless.yml, dotenv (the user's .env), image-task.json, rules.json
EVENTS = FIXTURES / "events"
SAMPLES = FIXTURES / "samples"
SCRIPT = Path(sys.executable).parent / "autoenhance"  # the command, as `pip install` put it on PATH
# A user's environment keeps none of these: no credentials, no configuration of the function or backfill.
_NOT_INHERITED = ("TENCENTCLOUD_", "TENCENT_", "MPS_", "OUTPUT_", "IMAGE_", "COS_", "TRIGGER_")


def load_event(name: str) -> dict[str, Any]:
    """A sample event from the fixtures' events/."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


PROJECT_FILES = ("serverless.yml", "image-task.json")


def make_project(where: Path, dotenv: bool = False) -> Path:
    """A copy of the fixture deploy project (serverless.yml and the files it names) in `where`.

    With `dotenv`, .env is the fixture's (the shipped .env.example's values); without, there is no
    .env (a fresh clone). The fixture's .env is stored as `dotenv`: .gitignore keeps every `.env` out.
    """
    where.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copyfile(PROJECT / name, where / name)
    if dotenv:
        shutil.copyfile(PROJECT / "dotenv", where / ".env")
    return where


def with_rules(project: Path) -> Path:
    """`project` with the fixture's rules (the shipped rules.example.json's) as rules.json, switched on
    in its serverless.yml as a user does: `RULES_FILE: rules.json` after OUTPUT_DIR."""
    shutil.copyfile(PROJECT / "rules.json", project / "rules.json")
    yml = project / "serverless.yml"
    text = yml.read_text(encoding="utf-8")
    switched = text.replace(
        "      OUTPUT_DIR: /enhanced/\n", "      OUTPUT_DIR: /enhanced/\n      RULES_FILE: rules.json\n"
    )
    assert switched != text, "the fixture serverless.yml has no `OUTPUT_DIR: /enhanced/` line to follow"
    yml.write_text(switched, encoding="utf-8")
    return project


# -- the shipped example ---------------------------------------------------------------------------
# Only the tests marked `shipped_example` (each commented "reads the shipped example: moves to dev.py
# check") read the top-level files: they check the example a user starts from, not the code.


def shipped_project(where: Path) -> Path:
    """The shipped serverless.yml and image-task.json, after `cp .env.example .env`, in `where`."""
    where.mkdir(parents=True, exist_ok=True)
    for name, copy in (
        ("serverless.yml", "serverless.yml"),
        ("image-task.json", "image-task.json"),
        (".env.example", ".env"),
    ):
        shutil.copyfile(ROOT / name, where / copy)
    return where


def user_env(tmp_path: Path) -> dict[str, str]:
    """A clean user environment: no credentials or configuration, private embedded-fake state.

    The project is a copy of the fixture serverless.yml without a .env (as in a fresh clone),
    so a developer's own .env never changes what a test sees.
    """
    keep = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    project = make_project(tmp_path / "project")
    return {**keep, "AUTOENHANCE_STATE_DIR": str(tmp_path / "state"), "AUTOENHANCE_PROJECT_DIR": str(project)}


def autoenhance(
    env: dict[str, str], *args: str, cwd: Path = FIXTURES, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`autoenhance ARGS...` run as a user types it, from FIXTURES unless `cwd` (so `events/put.json`
    is the fixture's, never the user's own events/)."""
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


# -- a fresh copy of the repository, for the tests that run it as a user would ---------------------


def copy_repository(dest: Path) -> Path:
    """The files `git ls-files` lists, tracked or untracked-but-not-ignored: a fresh clone's files
    (no .env, no .venv, no build/), plus what is not committed yet."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is listed but gone
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def use_fixture_configuration(root: Path) -> None:
    """The top-level files a user edits, replaced by the fixtures (the shipped example's values)."""
    for fixture, name in (
        (PROJECT / "serverless.yml", "serverless.yml"),
        (PROJECT / "dotenv", ".env.example"),
        (PROJECT / "image-task.json", "image-task.json"),
        (PROJECT / "rules.json", "rules.example.json"),
    ):
        shutil.copyfile(fixture, root / name)
    (root / ".env").unlink(missing_ok=True)
    for fixture, name in ((EVENTS, "events"), (SAMPLES, "samples")):
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(fixture, root / name)


def premade_venv(root: Path) -> None:
    """The ./.venv `dev.py demo` and `dev.py check` would create, made here without PyPI: a venv
    whose site-packages reach this test's own (where the project's dependencies are installed),
    with the stamp dev.py writes once it has installed the project, and the `autoenhance` command.
    PYTHONPATH=<copy> (set for every command) makes the copy's code the one that runs."""
    target = root / ".venv"
    venv.EnvBuilder(symlinks=True, with_pip=False).create(target)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "autoenhance-test-deps.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    (target / ".installed-base").write_text(hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest())
    command = target / "bin" / "autoenhance"
    command.write_text(f"#!{python}\nimport sys\nfrom autoenhance.cli import main\nsys.exit(main())\n")
    command.chmod(0o755)
