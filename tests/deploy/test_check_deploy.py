"""`autoenhance check-deploy` and the checks `package` runs first: nothing that would fail in the cloud is built."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from repo import ROOT, SCRIPT, shipped_project
from repo import autoenhance as run

from autoenhance.deploy_check import check_project
from autoenhance.deploy_config import load_project
from autoenhance.package import MARKER, BuildMarker, PackageError, check_replaceable

ENV_EXAMPLE_NAMES = ("REGION", "BUCKET", "TRIGGER_PREFIX", "EXECUTION_ROLE", "DEAD_LETTER_QUEUE")


def check(project, shell=None, built=False):
    shell = shell or {}
    return check_project(load_project({"AUTOENHANCE_PROJECT_DIR": str(project), **shell}), shell, built=built)


def edit_serverless(project, change):
    path = project / "serverless.yml"
    doc = yaml.safe_load(path.read_text())
    change(doc["inputs"])
    path.write_text(yaml.safe_dump(doc))


def package(env, *args, cwd=ROOT):
    return run(env, "package", "--no-bytecode", *args, cwd=cwd, timeout=300)


# -- check-deploy -------------------------------------------------------------------------------


def test_the_env_example_values_pass_with_only_warnings(project):
    """The fixture project holds the shipped .env.example's values."""
    result = check(project)
    assert result.errors == []
    # .env.example's placeholders are valid values: only the deploy keys are flagged.
    assert result.warnings == ["TENCENT_SECRET_ID/TENCENT_SECRET_KEY still hold .env.example's placeholders"]


@pytest.mark.shipped_example  # reads the shipped example: moves to dev.py check
def test_the_shipped_env_example_passes_with_only_warnings(tmp_path):
    result = check(shipped_project(tmp_path / "shipped"))
    assert result.errors == []
    # .env.example's placeholders are valid values: only the deploy keys are flagged.
    assert result.warnings == ["TENCENT_SECRET_ID/TENCENT_SECRET_KEY still hold .env.example's placeholders"]


def test_without_env_every_missing_variable_is_named(project, env):
    (project / ".env").unlink()
    r = run(env, "check-deploy")
    assert r.returncode == 1, r.stdout
    for name in ENV_EXAMPLE_NAMES:
        assert f"error: ${{env:{name}}} is not set in the shell or .env" in r.stdout
    assert "deploy check FAILED" in r.stdout


def test_a_shell_value_fills_a_missing_env_entry(project):
    text = (project / ".env").read_text().replace("BUCKET=photos-1250000000\n", "")
    (project / ".env").write_text(text)
    assert any("${env:BUCKET}" in e for e in check(project).errors)
    assert check(project, {"BUCKET": "photos-1250000000"}).errors == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda i: i.update(asyncRunEnable=True),
            "inputs.asyncRunEnable: must not be set: switches SCF to long-running",
        ),
        (
            lambda i: i.update(retryNum=5),
            "inputs.retryNum: must not be set: the component applies it only with asyncRunEnable",
        ),
        (lambda i: i.update(msgTTL=3600), "UpdateFunctionEventInvokeConfig"),
        (lambda i: i.update(deadLetter={"type": "queue"}), "inputs.deadLetter.name must name the queue"),
        (lambda i: i.update(deadLetter={"type": "fifo", "name": "q"}), "inputs.deadLetter.type must be queue or topic"),
        (lambda i: i.update(deadLetter={"type": "queue", "name": "9 bad_name"}), "CMQ queue and topic names are"),
        (
            lambda i: i.update(timeout=30) or i["environment"]["variables"].update(MPS_TIMEOUT_SECONDS="20"),
            "leaves no room for a retry",
        ),
        (
            lambda i: i["environment"]["variables"].update(MPS_IMAGE_TASK_FILE="/etc/task.json"),
            "must be a relative path inside",
        ),
        (
            lambda i: i["environment"]["variables"].update(MPS_IMAGE_TASK_FILE="../task.json"),
            "must be a relative path inside",
        ),
        (
            lambda i: i["environment"]["variables"].update(OUTPUT_BUCKET="photos-1250000000", OUTPUT_DIR="/uploads/"),
            "would refuse this configuration",
        ),
    ],
)
def test_each_deploy_mistake_is_an_error(project, change, expected):
    edit_serverless(project, change)
    errors = check(project).errors
    assert any(expected in e for e in errors), errors


def test_asyncrunenable_false_is_allowed(project):
    edit_serverless(project, lambda i: i.update(asyncRunEnable=False))
    assert check(project).errors == []


def test_no_dead_letter_queue_is_a_warning(project):
    edit_serverless(project, lambda i: i.pop("deadLetter"))
    result = check(project)
    assert result.errors == [] and any("inputs.deadLetter is not set" in w for w in result.warnings)


def test_a_generous_memory_class_is_a_warning(project):
    edit_serverless(project, lambda i: i.update(memorySize=1024))
    assert any("inputs.memorySize 1024 MB" in w for w in check(project).warnings)


def test_check_deploy_needs_a_current_build(project, env):
    r = run(env, "check-deploy")
    assert r.returncode == 1 and "is not a package built by `autoenhance package`" in r.stdout
    assert package(env).returncode == 0
    r = run(env, "check-deploy")
    assert r.returncode == 0, r.stdout
    assert "deploy check OK" in r.stdout
    (project / "image-task.json").write_text(json.dumps({"EncodeConfig": {"Format": "WebP"}}))
    r = run(env, "check-deploy")
    assert r.returncode == 1 and "is older than the function's code or the files its configuration names" in r.stdout


def test_check_deploy_prints_no_deploy_key(project, env):
    (project / ".env").write_text((project / ".env").read_text().replace("your-deploy-secret-key", "s3cr3t-deploy-key"))
    r = run(env, "check-deploy")
    assert "s3cr3t-deploy-key" not in r.stdout + r.stderr


# -- package refuses what would fail ------------------------------------------------------------


def test_package_refuses_an_image_task_file_with_a_trailing_comma(project, env):
    (project / "image-task.json").write_text('{"EncodeConfig": {"Format": "JPEG"},}')
    r = package(env)
    assert r.returncode == 1
    assert "not built" in r.stderr and "MPS_IMAGE_TASK_FILE: not valid JSON" in r.stderr
    assert not (project / "build").exists()


def test_package_ships_the_task_file_the_configuration_names(project, env):
    write = project / "tasks" / "hd.json"
    write.parent.mkdir()
    write.write_text(json.dumps({"EncodeConfig": {"Format": "WebP", "Quality": 90}}))
    edit_serverless(project, lambda i: i["environment"]["variables"].update(MPS_IMAGE_TASK_FILE="tasks/hd.json"))
    r = package(env)
    assert r.returncode == 0, r.stderr
    build = project / "build" / "scf"
    assert (build / "tasks" / "hd.json").read_bytes() == write.read_bytes()
    assert not (build / "image-task.json").exists()  # only what the configuration names
    # The packaged handler, from the package alone, loads the task (as SCF would, from its code root).
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]; from handler.config import load_settings;"
        "print(load_settings({'MPS_IMAGE_TASK_FILE': 'tasks/hd.json'}).image_task)"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-B", "-c", probe, str(build)], capture_output=True, text=True, check=True
    )
    assert "'WebP'" in out.stdout and "90" in out.stdout


def test_package_refuses_a_task_file_outside_the_project(project, env, tmp_path):
    (tmp_path / "elsewhere.json").write_text("{}")
    edit_serverless(project, lambda i: i["environment"]["variables"].update(MPS_IMAGE_TASK_FILE="../elsewhere.json"))
    r = package(env)
    assert r.returncode == 1 and "must be a relative path inside" in r.stderr


# -- package never deletes what it did not build -------------------------------------------------


def test_package_out_never_replaces_a_directory_it_did_not_build(env, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me")
    (notes / ".env").write_text("SECRET=1")
    r = package(env, "--out", str(notes))
    assert r.returncode == 1 and "refusing to replace" in r.stderr and "Traceback" not in r.stderr
    assert (notes / "todo.txt").read_text() == "keep me" and (notes / ".env").exists()


@pytest.mark.parametrize("target", [".", "checkout", "parent"])
def test_package_out_refuses_the_checkout_and_the_working_directory(env, project, target):
    out = {".": ".", "checkout": str(project), "parent": str(project.parent)}[target]
    r = package(env, "--out", out, cwd=project)
    assert r.returncode == 1, r.stdout
    assert "refusing to build into" in r.stderr and "Traceback" not in r.stderr
    assert (project / "serverless.yml").exists()


def test_check_replaceable_refuses_the_repository_itself():
    with pytest.raises(PackageError, match="refusing to build into"):
        check_replaceable(ROOT, [ROOT])
    with pytest.raises(PackageError, match="refusing to build into"):
        check_replaceable(ROOT / "handler", [ROOT / "handler" / "index.py"])


def test_a_previous_build_is_replaced(env, project):
    assert package(env).returncode == 0
    build = project / "build" / "scf"
    (build / "stale.txt").write_text("from an old build")
    assert BuildMarker.read(build) is not None and (build / MARKER).exists()
    assert package(env).returncode == 0
    assert not (build / "stale.txt").exists()


def test_package_from_another_directory_builds_the_project_and_the_same_bytes(env, project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = package(env, cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    assert not (elsewhere / "build").exists() and (project / "build" / "scf" / "index.py").exists()
    # Another interpreter entry point (python -m) from the project: byte-identical.
    again = subprocess.run(
        [sys.executable, "-m", "autoenhance.cli", "package", "--no-bytecode"],
        cwd=ROOT,
        env={**env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    digest = lambda out: out.split("sha256 ")[1].rstrip(")\n")
    assert digest(first.stdout) == digest(again.stdout)
    records = "".join(p.read_text() for p in (project / "build" / "scf").glob("*.dist-info/RECORD"))
    assert "bin/" not in records and str(SCRIPT.parent) not in records


def test_package_ships_the_rules_file_and_the_task_files_its_rules_name(project, env):
    (project / "tasks").mkdir()
    (project / "tasks" / "print.json").write_text(json.dumps({"EncodeConfig": {"Format": "PNG"}}))
    rules = {"rules": [{"name": "print", "match": {"prefix": "uploads/print/"}, "image_task_file": "tasks/print.json"}]}
    (project / "rules.json").write_text(json.dumps(rules))
    edit_serverless(project, lambda i: i["environment"]["variables"].update(RULES_FILE="rules.json"))
    assert check(project).errors == []
    r = package(env)
    assert r.returncode == 0, r.stderr
    build = project / "build" / "scf"
    assert (build / "rules.json").exists() and (build / "tasks" / "print.json").exists()
    # A rule's task file that is not there fails the check, and nothing is built.
    (project / "tasks" / "print.json").unlink()
    r = package(env)
    assert r.returncode == 1 and "RULES_FILE: rule print: image_task_file='tasks/print.json': cannot read" in r.stderr
