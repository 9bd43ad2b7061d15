"""The `autoenhance` command, run as a subprocess the way a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo import EVENTS, load_event, user_env
from repo import autoenhance as run

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import start_mps
from fakes.identities import OPERATOR
from fakes.mps import Fault
from handler.cos_event import CosUploadRecord, parse_records


@pytest.fixture
def env(tmp_path):
    """A clean user environment: no credentials, no configuration, private fake state."""
    return user_env(tmp_path)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- replay ----------------------------------------------------------------------------------


def test_replay_sample_event_prints_a_task_id_and_logs_json_to_stderr(env):
    r = run(env, "replay", "events/put.json")
    assert r.returncode == 0, r.stderr
    assert "submitted  photos-1250000000/uploads/2026/cat.jpg" in r.stdout
    assert "TaskId " in r.stdout and "session ae3-" in r.stdout
    assert "1 invocation(s), 1 record(s): 1 submitted, 0 duplicate, 0 skipped, 0 failed" in r.stdout
    [log] = json_lines(r.stderr)
    assert log["outcome"] == "submitted" and log["cold_start"] is True
    assert "{" not in r.stdout  # the function's JSON log lines stay on stderr


def test_replay_json_prints_the_function_return_values(env):
    r = run(env, "replay", "events/batch.json", "events/non-image.json", "--json")
    assert r.returncode == 0, r.stderr
    first, second = json_lines(r.stdout)
    assert first["submitted"] == 5 and len({x["task_id"] for x in first["results"]}) == 5
    assert second["skipped"] == 1 and second["cold_start"] is False


def test_repeat_shows_deduplication(env):
    r = run(env, "replay", "events/batch.json", "--repeat", "3", "--json")
    assert r.returncode == 0, r.stderr
    runs = json_lines(r.stdout)
    assert [x["submitted"] for x in runs] == [5, 0, 0] and [x["duplicate"] for x in runs] == [0, 5, 5]


def test_the_embedded_fake_remembers_session_ids_between_runs_unless_fresh(env):
    assert run(env, "replay", "events/put.json").returncode == 0
    assert "1 duplicate" in run(env, "replay", "events/put.json").stdout
    assert "1 submitted" in run(env, "replay", "events/put.json", "--fresh").stdout


def test_replay_a_directory(env):
    r = run(env, "replay", "events", "--json")
    assert r.returncode == 0, r.stderr
    runs = json_lines(r.stdout)
    dead_lettered = len((EVENTS / "dead-letter.jsonl").read_text().splitlines())  # one invocation per line
    assert len(runs) == len(list(EVENTS.glob("*.json"))) + dead_lettered
    # 14 uploads: deleted-before-processing.json's first record among them (its delete is the 5th skip).
    assert sum(x["submitted"] for x in runs) == 14 + dead_lettered and sum(x["skipped"] for x in runs) == 5


def test_replay_from_stdin(env):
    r = run(env, "replay", "-", "--json", stdin=(EVENTS / "copy.json").read_text())
    assert r.returncode == 0, r.stderr
    assert json_lines(r.stdout)[0]["submitted"] == 1


def test_replay_a_dead_letter_json_lines_export(env, tmp_path):
    events = [cos_event([cos_record("photos-1250000000", "ap-guangzhou", f"dlq/{i}.jpg")]) for i in range(3)]
    dlq = tmp_path / "dlq.jsonl"
    dlq.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    r = run(env, "replay", str(dlq))
    assert r.returncode == 0, r.stderr
    assert f"{dlq}:3: 1 record(s)" in r.stdout
    assert "3 invocation(s), 3 record(s): 3 submitted" in r.stdout


def test_json_true_false_null_reach_the_function_intact(env, tmp_path):
    event = load_event("put.json")
    event["Records"][0]["event"]["reservedInfo"] = None
    event["Records"][0]["cos"]["cosObject"]["size"] = True  # a boolean, not 1: must be refused
    path = tmp_path / "e.json"
    path.write_text(json.dumps(event))
    r = run(env, "replay", str(path))
    assert r.returncode == 1
    assert "size should be a non-negative integer, got True" in r.stdout


def test_dry_run_prints_the_exact_request_and_sends_nothing(env):
    r = run(env, "replay", "events/put.json", "events/delete.json", "--dry-run")
    assert r.returncode == 0, r.stderr
    body = r.stdout.split("would call ProcessImage with:\n", 1)[1].split("\n/", 1)[0]
    request = json.loads(body.split("\nevents/")[0])
    assert request["InputInfo"]["CosInputInfo"]["Object"] == "/uploads/2026/cat.jpg"
    assert request["SessionId"].startswith("ae3-")
    assert "skipped: not an upload event (cos:ObjectRemove:Delete)" in r.stdout
    assert "dry run: nothing was sent" in r.stdout
    assert not (Path(env["AUTOENHANCE_STATE_DIR"]) / "fake-mps-state.json").exists()


def test_failed_record_exits_1_with_the_error_code(env, tmp_path):
    event = load_event("put.json")
    event["Records"][0]["cos"]["cosObject"]["key"] = "/1/other/x.jpg"
    (tmp_path / "bad.json").write_text(json.dumps(event))
    r = run(env, "replay", str(tmp_path / "bad.json"))
    assert r.returncode == 1
    assert "failed     photos-1250000000/?" in r.stdout and "MalformedRecord" in r.stdout
    assert "invocation failed: 1 of 1 records not submitted" in r.stdout


def test_event_that_is_not_a_cos_event_exits_1(env, tmp_path):
    (tmp_path / "timer.json").write_text(json.dumps({"Type": "Timer", "TriggerName": "every-minute"}))
    r = run(env, "replay", str(tmp_path / "timer.json"))
    assert r.returncode == 1
    assert "not a COS trigger event: not a COS trigger event: no Records field" not in r.stdout
    assert "no Records field" in r.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [("{not json", "not valid JSON"), ("", "not valid JSON"), ('{"a": 1}\n{oops\n', ":2: not valid JSON")],
)
def test_malformed_json_is_a_usage_error(env, tmp_path, content, expected):
    path = tmp_path / "broken.json"
    path.write_text(content)
    r = run(env, "replay", str(path))
    assert r.returncode == 2
    assert expected in r.stderr and "Traceback" not in r.stderr


def test_missing_path_is_a_usage_error(env):
    r = run(env, "replay", "events/nope.json")
    assert r.returncode == 2 and "events/nope.json: no such file or directory" in r.stderr


def test_bad_configuration_is_exit_2_with_the_message(env):
    r = run({**env, "MPS_IMAGE_TASK": '{"EncodeConfig": {"Quality": 500}}'}, "replay", "events/put.json")
    assert r.returncode == 2
    assert "ImageTask.EncodeConfig.Quality: 500 is out of range; allowed: 1-100" in r.stderr


def test_live_without_credentials_is_a_clear_error(env):
    r = run(env, "replay", "events/put.json", "--live")
    assert r.returncode == 2
    assert "--live needs credentials in the environment: TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY" in r.stderr


def test_live_uses_the_environment_credentials_and_endpoint(env):
    """--live talks to whatever MPS_ENDPOINT names with the user's keys: here, a fake we control."""
    with start_mps(OPERATOR, rate_limit_per_second=None) as mps:
        live_env = {**env, "MPS_ENDPOINT": mps.url, **OPERATOR.environ()}
        r = run(live_env, "replay", "events/put.json", "--live")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[live MPS]" in r.stdout
    assert [t.secret_id for t in mps.backend.tasks] == [OPERATOR.secret_id]
    assert "liveUserSecret" not in r.stdout + r.stderr


@pytest.mark.parametrize("fault", [Fault.cut_body(), Fault.bad_encoding("gzip"), Fault.stall_body(1.5)])
def test_live_against_a_faulty_endpoint_reports_each_record(env, fault):
    """A cut, mislabelled or stalled answer from the real endpoint: no traceback; the task was created
    before the answer broke, so the retry finds it and says whose it is."""
    with start_mps(OPERATOR, rate_limit_per_second=None) as mps:
        mps.backend.inject(fault)
        live_env = {**env, "MPS_ENDPOINT": mps.url, "MPS_TIMEOUT_SECONDS": "0.5", **OPERATOR.environ()}
        r = run(live_env, "replay", "events/put.json", "--live")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0 and "duplicate" in r.stdout and "got no answer (NetworkError." in r.stdout, r.stdout
    assert len(mps.backend.tasks) == 1


# -- generate-event ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["uploads/my photo+1 100%.jpg", "假期/日落.png", "a.webp"])
@pytest.mark.parametrize("event", ["put", "post", "copy", "multipart", "delete"])
def test_generated_events_parse_back_to_the_same_object(key, event):
    for region in ("ap-guangzhou", "ap-shanghai", "na-toronto", "ap-nanjing"):
        [rec] = parse_records(cos_event([cos_record("photos-1250000000", region, key, event)]))
        assert isinstance(rec, CosUploadRecord)
        assert (rec.bucket, rec.region, rec.key) == ("photos-1250000000", region, key)
        assert rec.event_name.endswith(
            {"delete": "Delete", "multipart": "CompleteMultipartUpload"}.get(event, event.title())
        )


def test_generate_event_command_round_trip(env, tmp_path):
    out = tmp_path / "gen.json"
    r = run(
        env,
        "generate-event",
        "--bucket",
        "pics-1300000000",
        "--region",
        "ap-chengdu",
        "--key",
        "in/a b+c.jpg",
        "--records",
        "3",
        "--size",
        "1234",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    event = json.loads(out.read_text())
    raw = event["Records"][0]
    assert raw["cos"]["cosBucket"]["region"] == "cd" and raw["cos"]["cosObject"]["key"].startswith("/1300000000/pics/")
    assert "%20" in raw["cos"]["cosObject"]["url"] and isinstance(raw["event"]["eventTime"], int)
    assert raw["event"]["requestParameters"]["requestHeaders"]["Authorization"].startswith("q-sign-algorithm=sha1")
    parsed = parse_records(event)
    assert [(p.bucket, p.region, p.key, p.size) for p in parsed] == [
        ("pics-1300000000", "ap-chengdu", f"in/a b+c-000{i}.jpg", 1234) for i in (1, 2, 3)
    ]
    assert run(env, "replay", str(out)).returncode == 0


def test_generate_event_to_stdout_feeds_replay(env):
    gen = run(env, "generate-event", "--bucket", "pics-1300000000", "--region", "ap-guangzhou", "--key", "x.jpg")
    assert gen.returncode == 0
    assert "1 submitted" in run(env, "replay", "-", stdin=gen.stdout).stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bucket", "pics", "--region", "ap-guangzhou"], "bucket 'pics' is not <name>-<appid>"),
        (["--bucket", "pics-1", "--region", "zz"], "unknown COS region code 'zz'"),
        (["--bucket", "pics-1", "--region", "ap-guangzhou", "--records", "0"], "--records must be at least 1"),
    ],
)
def test_generate_event_bad_arguments(env, args, expected):
    r = run(env, "generate-event", "--key", "x.jpg", *args)
    assert r.returncode == 2 and expected in r.stderr


# -- check-config and status -------------------------------------------------------------------


def test_check_config_shows_the_effective_configuration_and_warns_about_retriggering(env):
    r = run({**env, "MPS_IMAGE_TASK": '{"EncodeConfig": {"Format": "webp"}}'}, "check-config")
    assert r.returncode == 0, r.stderr
    assert '"Format": "WebP"' in r.stdout and "/enhanced/<input directory>/" in r.stdout
    assert "warning: outputs under /enhanced/ are in the watched bucket" in r.stdout
    quiet = run({**env, "TRIGGER_PREFIX": "uploads/"}, "check-config")
    assert "warning" not in quiet.stdout


def test_check_config_refuses_what_the_function_refuses(env):
    r = run({**env, "OUTPUT_DIR": "/", "MPS_DEFINITON": "1"}, "check-config")
    assert r.returncode == 2
    assert "would trigger the function again" in r.stderr and "did you mean MPS_DEFINITION?" in r.stderr


def test_status_follows_a_replayed_task_to_finish(env):
    replay = run(env, "replay", "events/put.json", "--json")
    task_id = json_lines(replay.stdout)[0]["results"][0]["task_id"]
    r = run(env, "status", task_id, "--wait")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    progress = lines[: next(i for i, line in enumerate(lines) if line.startswith("Task "))]
    # The task ages 3 s of real time from the replay: how much of it status sees depends on how fast
    # the machine starts the second command, so any tail of the sequence, in order, is right.
    assert progress in ([], ["PROCESSING"], ["WAITING", "PROCESSING"])
    assert f"Task {task_id}: FINISH" in r.stdout
    assert "output photos-1250000000:/enhanced/uploads/2026/cat.jpg.jpeg  SUCCESS 100%" in r.stdout


def test_status_of_an_unknown_task_exits_1(env):
    r = run(env, "status", "no-such-task")
    assert r.returncode == 1 and "ResourceNotFound" in r.stdout


def test_status_live_without_credentials_is_a_clear_error(env):
    r = run(env, "status", "x", "--live")
    assert r.returncode == 2 and "--live needs credentials" in r.stderr


@pytest.mark.parametrize(
    "command", [[], ["replay"], ["generate-event"], ["check-config"], ["status"], ["package"], ["backfill"]]
)
def test_help_on_every_subcommand(env, command):
    r = run(env, *command, "--help")
    assert r.returncode == 0 and "usage: autoenhance" in r.stdout


def test_usage_errors_exit_2(env):
    assert run(env).returncode == 2
    assert run(env, "replay").returncode == 2
    assert run(env, "replay", "events/put.json", "--repeat", "0").returncode == 2


def test_live_credentials_are_read_trimmed_and_missing_ones_named(monkeypatch):
    """The CLI reads keys only through handler.credentials.read_credentials (a pasted CRLF is trimmed)."""
    from autoenhance.local.credentials import MissingCredentialsError, require_live_credentials

    monkeypatch.setenv("TENCENTCLOUD_SECRETID", f" {OPERATOR.secret_id}\r\n")
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", f"{OPERATOR.secret_key}\n")
    monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", "  ")
    creds = require_live_credentials()
    assert creds == (OPERATOR.secret_id, OPERATOR.secret_key, None)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", " \t")
    with pytest.raises(MissingCredentialsError, match="TENCENTCLOUD_SECRETKEY not set"):
        require_live_credentials()
