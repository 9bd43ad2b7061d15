"""Small command-line faults, each with the fix a user should see: messages, hints, files, versions."""

from __future__ import annotations

import fnmatch
import json
import socket
from importlib.metadata import version
from pathlib import Path

import pytest
from repo import ROOT
from repo import autoenhance as run

from autoenhance.backfill import Checkpoint
from fakes.identities import OPERATOR
from handler.cos_event import RecordError, parse_records
from handler.errors import RegionError
from handler.regions import full_region_for

GENERATE = ("generate-event", "--bucket", "photos-1250000000", "--key", "uploads/a.jpg")
BACKFILL = ("backfill", "--bucket", "photos-1250000000", "--region", "ap-guangzhou")


def one_line_usage_error(r) -> str:
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()


# -- 1. output files that cannot be written ------------------------------------------------------------


@pytest.mark.parametrize("where", ["/missing/dir/x.json", "{tmp}"])
def test_generate_event_out_that_cannot_be_written_is_a_usage_error(env, tmp_path, where):
    out = where.format(tmp=tmp_path)
    line = one_line_usage_error(run(env, *GENERATE, "--region", "ap-guangzhou", "--out", out))
    assert line.startswith(f"autoenhance generate-event: --out {out}: cannot write the event (")
    assert ("No such file or directory" if "missing" in out else "Is a directory") in line


@pytest.mark.parametrize("option", ["--report", "--checkpoint"])
def test_backfill_output_files_that_cannot_be_written_are_usage_errors(env, tmp_path, option):
    line = one_line_usage_error(run(env, *BACKFILL, option, "/missing/dir/out.csv", cwd=tmp_path))
    assert (
        line
        == f"autoenhance backfill: {option} /missing/dir/out.csv: cannot write: directory /missing/dir does not exist"
    )
    line = one_line_usage_error(run(env, *BACKFILL, option, str(tmp_path), cwd=tmp_path))
    assert line == f"autoenhance backfill: {option} {tmp_path}: cannot write: it is a directory"


# -- 2. region names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "suggested"),
    [("guangzhou", "'ap-guangzhou'"), ("Shanghai", "'ap-shanghai'"), ("toronto", "'na-toronto'"), ("gzz", "'gz'")],
)
def test_an_unknown_region_suggests_the_full_region_name_first(given, suggested):
    with pytest.raises(RegionError) as caught:
        full_region_for(given)
    message = str(caught.value)
    assert message.startswith(f"unknown COS region code {given!r}: did you mean {suggested}")
    assert message.index("did you mean") < message.index("COS_REGION_CODES")


def test_an_unknown_region_with_nothing_close_suggests_cos_region_codes():
    with pytest.raises(RegionError, match=r"'nanjing': give a full region name .* COS_REGION_CODES='code=full-region'"):
        full_region_for("nanjing")


def test_the_region_hint_reaches_the_command_line(env):
    line = one_line_usage_error(run(env, *GENERATE, "--region", "guangzhou"))
    assert "unknown COS region code 'guangzhou': did you mean 'ap-guangzhou'?" in line


def test_generate_event_honours_cos_region_codes(env):
    r = run({**env, "COS_REGION_CODES": "nj=ap-nanjing"}, *GENERATE, "--region", "nj")
    assert r.returncode == 0, r.stderr
    [record] = parse_records(json.loads(r.stdout))
    assert record.region == "ap-nanjing"
    bad = run({**env, "COS_REGION_CODES": "nj"}, *GENERATE, "--region", "nj")
    assert "COS_REGION_CODES entry 'nj' is not 'code=full-region'" in one_line_usage_error(bad)


def test_backfill_honours_cos_region_codes(env, tmp_path):
    args = ("backfill", "--bucket", "photos-1250000000", "--region", "nj", "--demo-objects", "3", "--dry-run")
    r = run({**env, "COS_REGION_CODES": "nj=ap-nanjing"}, *args, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "listed 3" in r.stdout
    assert "unknown COS region code 'nj'" in run(env, *args, cwd=tmp_path).stderr


# -- 3. an AWS S3 event --------------------------------------------------------------------------------

S3_EVENT = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "photos"}, "object": {"key": "uploads/a.jpg", "size": 1024}},
        }
    ]
}


def test_an_aws_s3_event_is_named_as_such():
    [record] = parse_records(S3_EVENT)
    assert isinstance(record, RecordError)
    assert record.message.startswith("missing field cos: this is an AWS S3 event record (eventSource aws:s3)")
    [plain] = parse_records({"Records": [{"event": {}}]})
    assert isinstance(plain, RecordError) and plain.message == "missing field cos"  # no hint when it is not S3


def test_replaying_an_aws_s3_event_says_what_it_is(env, tmp_path):
    path = tmp_path / "s3.json"
    path.write_text(json.dumps(S3_EVENT))
    r = run(env, "replay", str(path), "--dry-run")
    assert r.returncode == 1 and "not a COS trigger event" in r.stdout and "AWS S3" in r.stdout


# -- 4. the demo backfill's checkpoint -------------------------------------------------------------------


def test_the_demo_backfill_keeps_its_checkpoint_in_the_state_directory(env, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    r = run(env, *BACKFILL, "--demo-objects", "5", cwd=work)
    assert r.returncode == 0, r.stdout + r.stderr
    expected = Path(env["AUTOENHANCE_STATE_DIR"]) / "backfill-photos-1250000000.checkpoint.json"
    assert expected.is_file() and f"checkpoint: {expected}" in r.stdout
    assert list(work.iterdir()) == []  # nothing left where the command ran


def test_live_checkpoints_are_git_ignored():
    patterns = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
    for name in ("backfill-photos-1250000000.checkpoint.json", "backfill-photos-1250000000.checkpoint.json.tmp"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns if not p.startswith("#")), name


# -- 5. a checkpoint of the wrong shape ------------------------------------------------------------------

IDENTITY = {"bucket": "b-1", "region": "ap-guangzhou", "prefix": "", "fingerprint": "f"}
GOOD = {"identity": IDENTITY, "marker": "a.jpg", "done_after": ["c.jpg"], "in_flight": [], "counts": {"submitted": 2}}


@pytest.mark.parametrize(
    ("saved", "problem"),
    [
        ([], "it holds an array, not an object"),
        (None, "it holds null, not an object"),
        ({"counts": []}, "missing identity, marker, done_after"),
        ({**GOOD, "counts": []}, "counts should be an object, got an array"),
        ({**GOOD, "counts": {"submitted": "2"}}, "counts.submitted should be a non-negative integer, got a string"),
        ({**GOOD, "counts": {"failed": -1}}, "counts.failed should be a non-negative integer, got -1"),
        ({**GOOD, "marker": 7}, "marker should be a string, got a number"),
        ({**GOOD, "done_after": "c.jpg"}, "done_after should be an array of keys"),
        ({**GOOD, "in_flight": [1]}, "in_flight should be an array of keys"),
        ({**GOOD, "identity": "b-1"}, "identity should be an object, got a string"),
    ],
)
def test_a_wrong_shaped_checkpoint_is_refused_naming_what_is_wrong(tmp_path, saved, problem):
    path = tmp_path / "cp.json"
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError) as caught:
        Checkpoint.load(path, IDENTITY)
    assert str(caught.value).startswith(f"checkpoint {path} is not a backfill checkpoint: {problem}")


def test_a_well_formed_checkpoint_still_loads(tmp_path):
    path = tmp_path / "cp.json"
    path.write_text(json.dumps(GOOD))
    cp = Checkpoint.load(path, IDENTITY)
    assert (cp.marker, cp.done_after, cp.counts) == ("a.jpg", {"c.jpg"}, {"submitted": 2})


@pytest.mark.parametrize("content", ["[]", "null", '{"counts": []}'])
def test_resume_from_a_wrong_shaped_checkpoint_is_a_usage_error(env, tmp_path, content):
    path = tmp_path / "cp.json"
    path.write_text(content)
    line = one_line_usage_error(run(env, *BACKFILL, "--resume", str(path), cwd=tmp_path))
    assert line.startswith(f"autoenhance backfill: checkpoint {path} is not a backfill checkpoint: ")


# -- 6. an unreachable --live endpoint -------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", [("replay", "events/put.json"), ("status", "some-task")])
def test_live_against_an_unreachable_endpoint_says_so_at_once(env, command):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    r = run({**env, **OPERATOR.environ(), "MPS_ENDPOINT": endpoint}, *command, "--live")
    # The refusal comes before the function runs: no record log line, so no minute of retries behind it.
    assert '"outcome"' not in r.stderr
    line = one_line_usage_error(r)
    assert (
        line == f"autoenhance {command[0]}: cannot reach {endpoint}: connection refused (nothing listens on that port)"
    )


def test_backfill_live_against_an_unreachable_endpoint_says_so_at_once(env, tmp_path):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    live = {**env, **OPERATOR.environ(), "MPS_ENDPOINT": endpoint}
    line = one_line_usage_error(run(live, *BACKFILL, "--live", cwd=tmp_path))
    assert line.startswith(f"autoenhance backfill: cannot reach {endpoint}: connection refused")


# -- 7. the deploy keys are not the CLI's keys ----------------------------------------------------------


def test_live_with_only_the_deploy_keys_says_which_names_are_which(env):
    deploy = {"TENCENT_SECRET_ID": "AKIDdeployKeyId000", "TENCENT_SECRET_KEY": "deployKeySecret-do-not-print"}
    line = one_line_usage_error(run({**env, **deploy}, "replay", "events/put.json", "--live"))
    assert "TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY not set" in line
    assert "TENCENT_SECRET_ID/TENCENT_SECRET_KEY are set: those are the Serverless Framework's deploy keys" in line
    assert "export TENCENTCLOUD_SECRETID=$TENCENT_SECRET_ID TENCENTCLOUD_SECRETKEY=$TENCENT_SECRET_KEY" in line
    assert deploy["TENCENT_SECRET_ID"] not in line and deploy["TENCENT_SECRET_KEY"] not in line
    without = one_line_usage_error(run(env, "replay", "events/put.json", "--live"))
    assert "TENCENT_SECRET_ID" not in without


# -- 8. --version -----------------------------------------------------------------------------------------


def test_version_is_the_installed_distributions(env):
    r = run(env, "--version")
    assert r.returncode == 0 and r.stdout == f"autoenhance {version('mps-autoenhance')}\n", r.stderr


# -- 9. typos in commands and options --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "usage", "hint"),
    [
        (["replay", "events/put.json", "--dryrun"], "usage: autoenhance replay", "--dryrun: did you mean --dry-run?"),
        (["replay", "events/put.json", "--fresh-start"], "usage: autoenhance replay", "did you mean --fresh?"),
        ([*BACKFILL, "--dryrun"], "usage: autoenhance backfill", "did you mean --dry-run?"),
        (["check-confg"], "usage: autoenhance ", "(did you mean check-config?)"),
        ([*GENERATE, "--region", "gz", "--event", "putt"], "usage: autoenhance generate-event", "did you mean put?"),
    ],
)
def test_typos_get_a_suggestion_with_argparse_usage_and_exit_2(env, args, usage, hint):
    r = run(env, *args)
    assert r.returncode == 2 and r.stderr.startswith(usage), r.stderr
    assert hint in r.stderr.strip().splitlines()[-1]


def test_an_unknown_option_with_nothing_close_gets_no_suggestion(env):
    r = run(env, "replay", "events/put.json", "--zzzzzz")
    assert r.returncode == 2 and r.stderr.strip().endswith("error: unrecognized arguments: --zzzzzz")


def test_a_misspelt_region_is_one_line_with_a_suggestion(env, tmp_path):
    r = run(env, "generate-event", "--bucket", "photos-1250000000", "--region", "ap-guangzou", "--key", "u/a.jpg")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().endswith("did you mean 'ap-guangzhou'?")


def test_a_shell_variable_the_function_never_sees_does_not_stop_replay(env):
    r = run({**env, "OUTPUT_FORMAT": "json"}, "replay", "events/put.json", "--dry-run")
    assert r.returncode == 0, r.stderr
