"""`autoenhance rehearse`: Tencent's pinned deploy toolkit, run against the fake cloud, on a copy of the project.

Needs Node.js and npm (every machine here has Node 20): the toolkit is installed from
deploy/toolkit's lockfile into the test's state directory with `npm ci` (the registry is the
only network used). Each test works on its own project copy (serverless.yml, .env, build/scf).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo import ROOT, autoenhance, make_project

from autoenhance.cli import COMMANDS
from autoenhance.commands import rehearse as rehearse_command
from autoenhance.rehearse.toolkit import node_problem

pytestmark = pytest.mark.needs_node

# Until autoenhance/cli.py lists the command, the tests run its module the same way.
REGISTERED = rehearse_command in COMMANDS


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `autoenhance package` for the module: build/scf for Python3.9, reused by every project copy."""
    problem = node_problem()
    assert problem is None, problem
    project = make_project(tmp_path_factory.mktemp("built"), dotenv=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:" + str(Path(sys.executable).parent),
        "AUTOENHANCE_PROJECT_DIR": str(project),
    }
    run = subprocess.run(
        [sys.executable, "-m", "autoenhance.cli", "package"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return project / "build" / "scf"


@pytest.fixture(scope="module")
def toolkit_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture
def rehearsal(project: Path, env: dict[str, str], built: Path, toolkit_cache: Path):  # type: ignore[no-untyped-def]
    shutil.copytree(built, project / "build" / "scf", symlinks=True)
    env = {**env, "AUTOENHANCE_STATE_DIR": str(toolkit_cache / project.parent.name)}
    # The installed toolkit is shared by every test (npm ci once); the fake cloud's state is each test's own.
    shared = toolkit_cache / "shared"
    shared.mkdir(exist_ok=True)
    Path(env["AUTOENHANCE_STATE_DIR"]).mkdir(parents=True, exist_ok=True)
    for cached in shared.glob("toolkit-*"):
        (Path(env["AUTOENHANCE_STATE_DIR"]) / cached.name).symlink_to(cached)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        if REGISTERED:
            result = autoenhance(env, "rehearse", *args, timeout=900)
        else:
            command = [sys.executable, "-m", "autoenhance.commands.rehearse", *args]
            result = subprocess.run(
                command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
            )
        for installed in Path(env["AUTOENHANCE_STATE_DIR"]).glob("toolkit-*"):
            if not installed.is_symlink() and not (shared / installed.name).exists():
                shutil.move(str(installed), shared / installed.name)
                installed.symlink_to(shared / installed.name)
        return result

    return run


def edit(project: Path, old: str, new: str) -> None:
    path = project / "serverless.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_first_deploy_shows_the_function_the_trigger_and_the_task(rehearsal):  # type: ignore[no-untyped-def]
    run = rehearsal("--fresh")
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "calls: PutBucket, PutBucketLifecycle, PutObject, GetFunction, CreateFunction" in out
    assert "CreateTrigger" in out
    for shown in ("Runtime        Python3.9", "Memory         64 MB", "Timeout        60 s", "TRIGGER_PREFIX=uploads/",
                  "Dead letter    queue mps-autoenhance-dlq", "enabled (OPEN)", "Prefix         uploads/"):  # fmt: skip
        assert shown in out, shown
    assert "uploads/rehearsal/sample.jpg: invoked mps-autoenhance: submitted 1" in out
    assert "MPS task " in out
    assert "rehearsal-outside-the-prefix/sample.jpg: invoked nothing" in out
    assert "MPS output cos://photos-1250000000/enhanced/uploads/rehearsal/sample.jpg.jpeg: invoked nothing" in out


def test_a_second_run_is_a_redeploy_and_shows_what_changed(rehearsal, project):  # type: ignore[no-untyped-def]
    assert rehearsal("--fresh").returncode == 0
    edit(project, "memorySize: 64", "memorySize: 128")
    edit(project, "      OUTPUT_DIR: /enhanced/", "      OUTPUT_DIR: /enhanced/\n      MPS_TIMEOUT_SECONDS: '10'")
    run = rehearsal()
    assert run.returncode == 0, run.stdout
    assert "Redeploy of" in run.stdout
    assert "UpdateFunctionCode" in run.stdout and "UpdateFunctionConfiguration" in run.stdout
    assert "CreateFunction" not in run.stdout and "CreateTrigger" not in run.stdout
    assert "MemorySize: 64 -> 128" in run.stdout
    assert "MPS_TIMEOUT_SECONDS=10" in run.stdout


def test_another_prefix_moves_the_trigger(rehearsal, project):  # type: ignore[no-untyped-def]
    (project / ".env").write_text(
        (project / ".env").read_text().replace("TRIGGER_PREFIX=uploads/", "TRIGGER_PREFIX=in/")
    )
    run = rehearsal("--fresh")
    assert run.returncode == 0, run.stdout
    assert "Prefix         in/" in run.stdout
    assert "in/rehearsal/sample.jpg: invoked mps-autoenhance: submitted 1" in run.stdout


def test_a_trigger_left_disabled_fails_naming_enable(rehearsal, project):  # type: ignore[no-untyped-def]
    edit(project, "          enable: true", "          enable: false")
    run = rehearsal("--fresh")
    assert run.returncode == 1, run.stdout
    assert "disabled (CLOSE)" in run.stdout
    assert "error: events[0].cos.parameters.enable:" in run.stdout
    assert "uploads/rehearsal/sample.jpg: invoked nothing" in run.stdout


def test_a_runtime_the_package_was_not_built_for_fails_naming_runtime(rehearsal, project):  # type: ignore[no-untyped-def]
    edit(project, "runtime: Python3.9", "runtime: Python3.10")
    run = rehearsal("--fresh")
    assert run.returncode == 1, run.stdout
    assert "Runtime        Python3.10" in run.stdout
    assert (
        "error: inputs.runtime: the function would run Python3.10, but build/scf was built for Python3.9" in run.stdout
    )


def test_a_handler_missing_from_the_zip_fails_naming_handler(rehearsal, project):  # type: ignore[no-untyped-def]
    edit(project, "handler: index.main_handler", "handler: main.main_handler")
    run = rehearsal("--fresh")
    assert run.returncode == 1, run.stdout
    assert "error: inputs.handler: main.main_handler, but the uploaded zip has no main.py" in run.stdout
    assert "the function failed in its container" in run.stdout
