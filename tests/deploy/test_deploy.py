"""Deploying: serverless.yml, the built package run the way SCF runs it, and the CAM policy."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml
from repo import PROJECT, ROOT, make_project

from autoenhance.deploy_check import serverless_problems
from autoenhance.deploy_config import read_dotenv
from autoenhance.package import FIXED_MTIME, build_package, incompatible_distributions

# The fixture project (the shipped example's values): a user's own serverless.yml and .env never change these tests.
SERVERLESS = yaml.safe_load((PROJECT / "serverless.yml").read_text(encoding="utf-8"))
ENV = read_dotenv(PROJECT / "dotenv")


def shipped_example():
    """The top-level serverless.yml and .env.example, for the shipped_example tests only."""
    return yaml.safe_load((ROOT / "serverless.yml").read_text(encoding="utf-8")), read_dotenv(ROOT / ".env.example")


def problems_after(change) -> list[str]:
    doc = copy.deepcopy(SERVERLESS)
    change(doc["inputs"], doc["inputs"]["events"][0]["cos"]["parameters"])
    return serverless_problems(doc, ENV, PROJECT)


# -- serverless.yml ----------------------------------------------------------------------------


def test_the_fixture_serverless_yml_matches_the_component_inputs():
    """The baseline every mistake below is one change away from."""
    assert serverless_problems(SERVERLESS, ENV, PROJECT) == []


def test_every_env_reference_in_the_fixture_is_set_in_its_env():
    missing = serverless_problems(SERVERLESS, {}, PROJECT)
    assert sorted(p.split("}")[0][6:] for p in missing if p.startswith("${env:")) == sorted(
        k for k in ENV if not k.startswith("TENCENT_SECRET")
    )


@pytest.mark.shipped_example  # reads the shipped example: moves to dev.py check
def test_serverless_yml_matches_the_component_inputs():
    serverless, env = shipped_example()
    assert serverless_problems(serverless, env, ROOT) == []


@pytest.mark.shipped_example  # reads the shipped example: moves to dev.py check
def test_every_env_reference_is_documented_in_env_example():
    serverless, env = shipped_example()
    missing = serverless_problems(serverless, {}, ROOT)
    assert sorted(p.split("}")[0][6:] for p in missing if p.startswith("${env:")) == sorted(
        k for k in env if not k.startswith("TENCENT_SECRET")
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda i, t: i.update(runtime="Python3.11"), "inputs.runtime must be one of Python3.9, Python3.10"),
        (lambda i, t: i.update(memorySize=100), "inputs.memorySize must be 64 or 128-3072"),
        (lambda i, t: i.update(timeout=3), "inputs.timeout must be 30-900 seconds"),
        (lambda i, t: i.pop("timeout"), "inputs.timeout must be 30-900 seconds"),
        (lambda i, t: i.update(handler="handler.index.main_handler"), "inputs.handler must be index.main_handler"),
        (lambda i, t: i.update(src="./"), "inputs.src must point at the built package"),
        (lambda i, t: i.update(role=""), "inputs.role must name the execution role"),
        (lambda i, t: i.update(memory=128), "inputs.memory: not an input of the scf component"),
        (lambda i, t: t.update(enable=False), "cos trigger enable must be true"),
        (lambda i, t: t.pop("enable"), "cos trigger enable must be true"),
        (lambda i, t: t.update(bucket="photos-1250000000"), "cos trigger bucket must be the XML-API domain"),
        (
            lambda i, t: t.update(bucket="photos-1250000000.cos.ap-shanghai.myqcloud.com"),
            "COS triggers are same-region",
        ),
        (lambda i, t: t.update(events="cos:ObjectCreated:Put"), "cos trigger events must be 'cos:ObjectCreated:*'"),
        (lambda i, t: t.update(filter={"prefix": "uploads/"}), "filter needs prefix and suffix strings"),
        (lambda i, t: i["events"].append({"timer": {}}), "exactly one cos trigger"),
        (lambda i, t: i["environment"]["variables"].update(TENCENTCLOUD_X="1"), "not SCF_/QCLOUD_/TENCENTCLOUD_"),
        (lambda i, t: i["environment"]["variables"].update(BIG="x" * 5000), "SCF allows 4096"),
        (
            lambda i, t: i["environment"]["variables"].update(MPS_IMAGE_TASK_FILE="missing.json"),
            "would refuse this configuration",
        ),
        (
            lambda i, t: i["environment"]["variables"].update(TRIGGER_PREFIX="other/"),
            "must equal the trigger's filter prefix",
        ),
    ],
)
def test_each_check_catches_its_mistake(change, expected):
    assert any(expected in p for p in problems_after(change)), problems_after(change)


def test_a_trigger_that_watches_the_output_directory_is_caught():
    def watch_everything(inputs, trigger):
        trigger["filter"]["prefix"] = ""
        inputs["environment"]["variables"]["TRIGGER_PREFIX"] = ""

    assert any("every output would invoke the function again" in p for p in problems_after(watch_everything))


def _scalars(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _scalars(v)
    elif isinstance(value, list):
        for v in value:
            yield from _scalars(v)
    else:
        yield str(value)


@pytest.mark.shipped_example  # reads the shipped example: moves to dev.py check
def test_no_secrets_in_serverless_yml():
    serverless, _ = shipped_example()
    for scalar in _scalars(serverless):
        assert "AKID" not in scalar and "SECRET" not in scalar.upper() and "TOKEN" not in scalar.upper(), scalar


def test_env_is_ignored():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0


def test_cam_policy_is_least_privilege():
    policy = json.loads((ROOT / "deploy" / "cam-policy.json").read_text())
    assert policy["version"] == "2.0"
    actions = [a for st in policy["statement"] for a in st["action"]]
    assert sorted(actions) == ["mps:DescribeImageTaskDetail", "mps:ProcessImage"]
    assert all(st["effect"] == "allow" for st in policy["statement"])


# -- the package ------------------------------------------------------------------------------------


# The package's bytecode is compiled by CPython 3.9 itself: these tests need that interpreter, like
# tests/system/test_scf_runtimes.py, which runs the built package under it (python3 dev.py test says when
# it is missing; CI fails then).
needs_python39 = pytest.mark.scf_python39


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return build_package(tmp_path_factory.mktemp("pkg") / "scf", "3.9", project_root=PROJECT)


@needs_python39
def test_package_holds_the_function_and_runtime_deps_only(package):
    top = sorted(p.name for p in package.path.iterdir())
    assert "index.py" in top and "handler" in top and "tencentcloud" in top and "requests" in top
    for unwanted in ("autoenhance", "fakes", "tests", "bench", "qcloud_cos", "bin", "yaml", "pytest"):
        assert unwanted not in top
    assert not (package.path / "tencentcloud" / "mps").exists()
    assert (package.path / "handler" / "mps_schema.json").exists()
    assert package.size_bytes < 2_500_000  # bytecode included


@needs_python39
def test_package_is_reproducible(package, tmp_path):
    again = build_package(tmp_path / "scf", "3.9", project_root=PROJECT)
    assert again.digest == package.digest
    assert {p.stat().st_mtime for p in package.path.rglob("*")} == {FIXED_MTIME}


@needs_python39
def test_package_dependencies_all_support_the_runtime(package, tmp_path):
    assert incompatible_distributions(package.path, "3.9") == []
    fake = tmp_path / "newer-1.0.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: newer\nVersion: 1.0\nRequires-Python: >=3.10\n")
    assert incompatible_distributions(tmp_path, "3.9") == ["newer 1.0 (Requires-Python >=3.10)"]


def test_package_without_the_runtimes_interpreter_says_how_to_get_it(tmp_path):
    """No CPython 3.9 to compile with: a clear refusal and nothing built, unless --no-bytecode is asked."""
    project = make_project(tmp_path / "project", dotenv=True)
    env = {
        **os.environ,
        "AUTOENHANCE_SCF_PYTHON_3_9": str(tmp_path / "no-python3.9"),
        "AUTOENHANCE_PROJECT_DIR": str(project),
    }
    cli = [sys.executable, "-m", "autoenhance.cli", "package", "--runtime", "Python3.9"]
    run = {"env": env, "cwd": ROOT, "capture_output": True, "text": True}
    refused = subprocess.run([*cli, "--out", str(tmp_path / "a")], check=False, **run)
    assert refused.returncode == 1 and not (tmp_path / "a").exists()
    assert "Python 3.9 (the SCF runtime) is not installed here" in refused.stderr
    assert "is not a working python3.9" in refused.stderr and "--no-bytecode" in refused.stderr
    plain = subprocess.run([*cli, "--out", str(tmp_path / "b"), "--no-bytecode"], check=False, **run)
    assert plain.returncode == 0, plain.stderr
    assert (tmp_path / "b" / "handler" / "index.py").is_file() and not list((tmp_path / "b").rglob("*.pyc"))
