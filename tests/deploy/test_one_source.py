"""serverless.yml is the one source of the function's configuration: what the local commands show and run."""

from __future__ import annotations

import json

from repo import EVENTS, make_project
from repo import autoenhance as run

from autoenhance.deploy_config import function_environment, load_project


def write_task(project, task, name="image-task.json"):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(task), encoding="utf-8")


def test_check_config_shows_the_task_file_and_trigger_prefix_serverless_yml_deploys(project, env):
    write_task(project, {"EncodeConfig": {"Format": "WebP", "Quality": 80}})
    r = run(env, "check-config")
    assert r.returncode == 0, r.stderr
    assert '"Format": "WebP", "Quality": 80' in r.stdout
    assert "TRIGGER_PREFIX=uploads/  <- serverless.yml, ${env:TRIGGER_PREFIX} from .env" in r.stdout
    assert "OUTPUT_DIR=/enhanced/  <- serverless.yml" in r.stdout
    assert "re-trigger" not in r.stdout  # the deployed prefix keeps outputs out of the trigger


def test_a_shell_variable_overrides_serverless_yml_and_says_so(env):
    r = run({**env, "OUTPUT_DIR": "/hd/", "TRIGGER_PREFIX": "in/"}, "check-config")
    assert r.returncode == 0, r.stderr
    assert "OUTPUT_DIR=/hd/  <- shell (overrides serverless.yml's '/enhanced/')" in r.stdout
    assert "Output dir:      /hd/" in r.stdout
    # ${env:TRIGGER_PREFIX} resolves from the shell before .env, as the Framework's dotenv does.
    assert "TRIGGER_PREFIX=in/" in r.stdout


def test_a_shell_task_replaces_serverless_yml_task_file_instead_of_conflicting(env):
    r = run({**env, "MPS_IMAGE_TASK": '{"EncodeConfig": {"Format": "PNG"}}'}, "check-config")
    assert r.returncode == 0, r.stderr
    assert '"Format": "PNG"' in r.stdout
    assert "not used: the shell's MPS_IMAGE_TASK replaces serverless.yml's MPS_IMAGE_TASK_FILE" in r.stdout


def test_dry_run_sends_the_deployed_task(project, env):
    write_task(project, {"EncodeConfig": {"Format": "WebP", "Quality": 80}})
    r = run(env, "replay", str(EVENTS / "put.json"), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert '"Format": "WebP"' in r.stdout and '"Quality": 80' in r.stdout


def test_replay_runs_the_deployed_configuration_against_the_fake(project, env):
    write_task(project, {"EncodeConfig": {"Format": "WebP", "Quality": 80}})
    r = run(env, "replay", str(EVENTS / "put.json"), "--json")
    assert r.returncode == 0, r.stderr
    [result] = json.loads(r.stdout)["results"]
    assert result["outcome"] == "submitted"
    # The SessionId carries the configuration's fingerprint: the deployed task's, as --dry-run shows it,
    # and not the one the shell's environment alone (the default task) would give.
    assert result["session_id"] in run(env, "replay", str(EVENTS / "put.json"), "--dry-run").stdout
    (project / "serverless.yml").unlink()
    assert result["session_id"] not in run(env, "replay", str(EVENTS / "put.json"), "--dry-run").stdout


def test_without_env_a_whole_value_reference_is_dropped_as_the_framework_drops_it(tmp_path):
    project = make_project(tmp_path / "p")  # no .env
    env = function_environment(load_project({"AUTOENHANCE_PROJECT_DIR": str(project)}), {})
    assert "TRIGGER_PREFIX" not in env.variables and "TRIGGER_PREFIX" not in env.deployed
    assert any("${env:TRIGGER_PREFIX} is not set" in n and "deploy without TRIGGER_PREFIX" in n for n in env.notes)
    assert env.watched_bucket is None  # the trigger's domain does not resolve either


def test_an_embedded_unset_reference_becomes_undefined(tmp_path):
    project = make_project(tmp_path / "p")
    text = (project / "serverless.yml").read_text().replace("OUTPUT_DIR: /enhanced/", "OUTPUT_DIR: /out-${env:STAGE}/")
    (project / "serverless.yml").write_text(text)
    env = function_environment(load_project({"AUTOENHANCE_PROJECT_DIR": str(project)}), {})
    assert env.deployed["OUTPUT_DIR"] == "/out-undefined/"
    assert any("${env:STAGE}" in n and "'undefined'" in n for n in env.notes)


def test_dotenv_quotes_and_export_are_read_as_dotenv_reads_them(tmp_path):
    project = make_project(tmp_path / "p")
    (project / ".env").write_text("export TRIGGER_PREFIX='in/'\nBUCKET=\"b-1250000000\"\n# REGION=x\n")
    env = function_environment(load_project({"AUTOENHANCE_PROJECT_DIR": str(project)}), {})
    assert env.deployed["TRIGGER_PREFIX"] == "in/"
    assert env.watched_bucket is None  # REGION stays unset: the domain does not resolve


def test_the_watched_bucket_comes_from_the_trigger(project):
    env = function_environment(load_project({"AUTOENHANCE_PROJECT_DIR": str(project)}), {})
    assert env.watched_bucket == "photos-1250000000"


def test_check_config_refuses_output_bucket_equal_to_the_watched_bucket_when_it_would_skip_every_upload(env):
    # Refused without OUTPUT_BUCKET; naming the watched bucket itself must not switch the check off.
    r = run({**env, "OUTPUT_DIR": "/uploads/", "OUTPUT_BUCKET": "photos-1250000000"}, "check-config")
    assert r.returncode == 2, r.stdout
    assert "TRIGGER_PREFIX" in r.stderr
