"""`autoenhance report` as a user runs it: log files in, rows and a summary out, against the fakes.

The engine's own tests are in test_report.py.
"""

from __future__ import annotations

import gzip
import io
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from repo import FIXTURES, SCRIPT, user_env
from repo import autoenhance as run
from report_lines import describe_calls, lines_for, record, saved_tasks, seed_tasks

from autoenhance.report.rows import COLUMNS
from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, REGION, start_cos, start_mps
from fakes.identities import MPS_ROLE, OPERATOR

# ---- the command -----------------------------------------------------------------------------------


@pytest.fixture
def live(tmp_path):
    """A fake MPS wired to a fake COS, whose tasks finish at once, and the user's environment for --live."""
    cos = start_cos(OPERATOR)
    cos.backend.put_object(BUCKET, "uploads/ok.jpg", size=100_000)
    mps = start_mps(OPERATOR, cos=cos, waiting_seconds=0, processing_seconds=0, rate_limit_per_second=None)
    env = {**user_env(tmp_path), "MPS_ENDPOINT": mps.url, **OPERATOR.environ()}
    yield mps, env
    mps.stop()
    cos.stop()


def submit(mps: Any, key: str) -> str:
    body = {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/" + key}},
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
        "OutputDir": "/enhanced/",
        "ImageTask": {"EncodeConfig": {"Format": "JPEG"}},
    }
    task_id: str = mps.client().call_json("ProcessImage", body)["Response"]["TaskId"]
    return task_id


def test_the_command_reads_a_gzipped_cls_export_and_prints_text_json_and_csv(live, tmp_path):
    mps, env = live
    ok, gone = submit(mps, "uploads/ok.jpg"), submit(mps, "uploads/gone.jpg")
    lines = [
        "START RequestId: 1",
        json.dumps({"SCF_LogTime": 1767225600000, "SCF_Message": json.dumps(record(key="uploads/ok.jpg", task_id=ok))}),
        json.dumps(record(key="uploads/gone.jpg", task_id=gone, event_time="2026-01-01T00:00:00Z")),
        json.dumps(record(key="uploads/bad.jpg", outcome="failed", error_code="LoopGuard", error="loops")),
        "Report RequestId: 1 Duration:3ms",
    ]
    log = tmp_path / "export.jsonl.gz"
    log.write_bytes(gzip.compress("\n".join(lines).encode()))
    state = tmp_path / "st.jsonl"

    r = run(env, "report", str(log), "--live", "--state", str(state), cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # a task failed, and a record
    assert "success   FINISH" in r.stdout and f"output {BUCKET}:/enhanced/ok.jpeg" in r.stdout
    assert "failed    FINISH" in r.stdout and "SourceFileError: " in r.stdout
    assert "LoopGuard: loops" in r.stdout and "submitted 2026-01-01T00:00:00Z" in r.stdout  # CLS's stamp
    assert "results: 1 success, 2 failed" in r.stdout and "error codes: SourceFileError 1, LoopGuard 1" in r.stdout
    resubmit = tmp_path / "resubmit.txt"  # next to the state file
    assert f"autoenhance backfill --bucket {BUCKET} --region {REGION} --resubmit --keys {resubmit}" in r.stdout
    assert resubmit.read_text(encoding="utf-8").splitlines()[0] == f"# bucket={BUCKET} region={REGION}"
    assert "liveUserSecret" not in r.stdout + r.stderr

    r = run(env, "report", str(log), "--live", "--state", str(state), "--json", cwd=tmp_path)
    *rows, summary = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["type"] for row in rows] == ["upload"] * 3 and summary["type"] == "summary"
    assert [row["result"] for row in rows] == ["success", "failed", "failed"]
    assert summary["failed"] == 2 and summary["resubmit"][0]["keys"] == 2
    assert summary["resubmit"][0]["command"].startswith("autoenhance backfill --bucket")

    r = run(env, "report", str(log), "--live", "--state", str(state), "--csv", cwd=tmp_path)
    import csv

    table = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(table[0]) == list(COLUMNS) and [row["key"] for row in table] == [
        "uploads/ok.jpg",
        "uploads/gone.jpg",
        "uploads/bad.jpg",
    ]
    assert "results: 1 success, 2 failed" in r.stderr  # the summary is not in the CSV


def test_usage_errors_exit_2(env, tmp_path):
    assert run(env, "report", str(tmp_path / "missing.log")).returncode == 2
    log = tmp_path / "a.log"
    log.write_text("", encoding="utf-8")
    r = run(env, "report", str(log), "--resume", "--state", str(tmp_path / "none.jsonl"))
    assert r.returncode == 2 and "--resume: no state file" in r.stderr
    (tmp_path / "bad.jsonl").write_text('{"kind": "something else"}\n', encoding="utf-8")
    r = run(env, "report", str(log), "--resume", "--state", str(tmp_path / "bad.jsonl"))
    assert r.returncode == 2 and "not a report state file" in r.stderr
    assert run(env, "report", str(log), "--json", "--csv").returncode == 2
    r = run(env, "report", str(log), "--live")
    assert r.returncode == 2 and "--live needs credentials" in r.stderr


def test_the_embedded_demo_replay_then_report(env, tmp_path):
    replayed = run(env, "replay", "events/put.json", "events/non-image.json")
    assert replayed.returncode == 0, replayed.stderr
    log = tmp_path / "log.jsonl"
    log.write_text(replayed.stderr, encoding="utf-8")
    r = run(env, "report", str(log))
    assert r.returncode == 0, r.stderr
    assert "report of" in r.stdout and "2 upload(s) [embedded fake MPS" in r.stdout
    assert "uploads/2026/cat.jpg" in r.stdout and "skipped" in r.stdout
    assert "success" in r.stdout or "pending" in r.stdout  # the fake's task takes 3 s to finish
    assert (Path(env["AUTOENHANCE_STATE_DIR"]) / "report.state.jsonl").exists()


DELETED = "uploads/2026/tmp-upload.jpg"  # the fixture events/deleted-before-processing.json: put, then deleted at once


def test_the_embedded_demo_report_shows_the_upload_deleted_before_processing_failed(env, tmp_path):
    """README's demo, as a user types it: `replay events/ 2> log.jsonl`, then `report log.jsonl`, two
    processes. The report's embedded fake is settled (its clock a task's 3 s ahead), so every task
    reads FINISH however soon the report follows the replay: nothing here waits or reads the wall clock."""
    log = tmp_path / "log.jsonl"
    with open(log, "w", encoding="utf-8") as stderr:
        replayed = subprocess.run(
            [str(SCRIPT), "replay", "events/"], env=env, cwd=FIXTURES, stdout=subprocess.PIPE, stderr=stderr,
            text=True, timeout=60, check=False,
        )  # fmt: skip
    assert replayed.returncode == 0, log.read_text(encoding="utf-8")  # the function did its part

    r = run(env, "report", str(log), "--json")
    assert r.returncode == 1, r.stderr
    *rows, summary = [json.loads(line) for line in r.stdout.splitlines()]
    [failed] = [row for row in rows if row["result"] == "failed"]
    assert (failed["key"], failed["outcome"], failed["status"]) == (DELETED, "submitted", "FINISH")
    assert failed["error_code"] == "SourceFileError" and failed["mps_errcode"] == "60000"
    assert f"cannot read `/{DELETED}`" in failed["error"] and "NoSuchKey" in failed["error"]
    [delete] = [row for row in rows if row["key"] == DELETED and row is not failed]
    assert (delete["outcome"], delete["result"]) == ("skipped", "skipped")
    tasks = [row for row in rows if row["task_id"]]
    assert {row["result"] for row in tasks if row is not failed} == {"success"} and len(tasks) > 10
    assert summary["failed"] == 1 and summary["error_codes"] == {"SourceFileError": 1}

    [listed] = summary["resubmit"]
    lines = Path(listed["file"]).read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"# bucket={BUCKET} region={REGION}"
    assert [line for line in lines if not line.startswith("#")] == [DELETED]

    text = run(env, "report", str(log))
    assert text.returncode == 1
    assert f"  failed    FINISH     {BUCKET}/{DELETED}  rule -" in text.stdout
    assert "SourceFileError: Source file error: cannot read" in text.stdout
    assert f"resubmit 1 key(s) of {BUCKET} listed in" in text.stdout


def test_the_embedded_bucket_holds_what_each_event_names(env, tmp_path):
    """Buckets are created as the events name them, in their regions: a generated event's other bucket works too."""
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(cos_event([cos_record("other-1250000001", "ap-shanghai", "in/a.jpg")])))
    log = tmp_path / "log.jsonl"
    replayed = run(env, "replay", str(elsewhere), "events/put.json")
    assert replayed.returncode == 0, replayed.stderr
    log.write_text(replayed.stderr, encoding="utf-8")
    r = run(env, "report", str(log), "--json")
    assert r.returncode == 0, r.stdout
    *rows, _ = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(row["bucket"], row["region"], row["result"]) for row in rows] == [
        ("other-1250000001", "ap-shanghai", "success"),
        (BUCKET, REGION, "success"),
    ]


def test_a_state_file_from_before_outcomes_still_loads(env, tmp_path):
    """Tasks saved without an outcome report SUCCESS, as they did, and are saved again without one:
    no COS of a later run held their input, so none decides it."""
    from autoenhance.local.fake_cloud import state_file
    from autoenhance.local.scf import patched_environ

    with patched_environ({"AUTOENHANCE_STATE_DIR": env["AUTOENHANCE_STATE_DIR"]}):
        path = state_file()
    [old] = saved_tasks(1, time.time() - 60, MPS_ROLE.secret_id, prefix="OLD")  # no outcome: as before
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"tasks": [old]}), encoding="utf-8")

    status = run(env, "status", old["task_id"])
    assert status.returncode == 0, status.stdout
    assert f"Task {old['task_id']}: FINISH" in status.stdout and "SUCCESS 100%" in status.stdout
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(record(key="uploads/0.jpg", task_id=old["task_id"])) + "\n", encoding="utf-8")
    r = run(env, "report", str(log), "--json")
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout.splitlines()[0])["result"] == "success"
    assert json.loads(path.read_text(encoding="utf-8"))["tasks"] == [old]


def test_mirror_event_puts_and_deletes_in_record_order(tmp_path):
    """What replay puts into the embedded COS before each event, read back through the COS SDK."""
    from autoenhance.local.fake_cloud import mirror_event
    from handler.config import load_settings

    config = load_settings({"OUTPUT_BUCKET": "processed-1250000000", "OUTPUT_REGION": REGION})
    meta = {"x-cos-meta-purpose": "print"}
    with start_cos() as cos:
        client = cos.client(retry=0)
        event = cos_event(
            [
                cos_record(BUCKET, REGION, "in/kept.jpg", size=1234, etag="abc123", metadata=meta),
                cos_record(BUCKET, REGION, "in/gone.jpg"),
                cos_record(BUCKET, REGION, "in/gone.jpg", "delete"),
                cos_record(BUCKET, REGION, "in/never.jpg", "delete"),  # nothing to delete: no error
                cos_record("shanghai-1250000000", "ap-shanghai", "in/b.png", content_type="image/png"),
            ]
        )
        mirror_event(cos.backend, event, config)
        mirror_event(cos.backend, {"not": "an event"}, config)  # the function's to refuse
        head = client.head_object(Bucket=BUCKET, Key="in/kept.jpg")
        assert (head["Content-Length"], head["ETag"], head["Content-Type"]) == ("1234", '"abc123"', "image/jpeg")
        assert head["x-cos-meta-purpose"] == "print"
        assert [o["Key"] for o in client.list_objects(Bucket=BUCKET).get("Contents", [])] == ["in/kept.jpg"]
        assert cos.backend.head_bucket("shanghai-1250000000") == "ap-shanghai"
        assert cos.backend.head_object("shanghai-1250000000", "in/b.png").content_type == "image/png"
        assert cos.backend.head_bucket("processed-1250000000") == REGION  # the deployment's output bucket


def test_ctrl_c_exits_130_with_the_state_flushed_and_resume_finishes(tmp_path):
    """The command itself, interrupted with SIGINT mid-report, then resumed: no task asked twice."""
    with start_mps(OPERATOR, rate_limit_per_second=None, latency_seconds=0.02) as mps:
        ids = seed_tasks(mps, 200, mps.clock() - 60)
        log = tmp_path / "log.jsonl"
        log.write_text("".join(json.dumps(line) + "\n" for line in lines_for(ids)), encoding="utf-8")
        env = {**user_env(tmp_path), "MPS_ENDPOINT": mps.url, **OPERATOR.environ()}
        state = tmp_path / "state.jsonl"
        args = [
            str(SCRIPT),
            "report",
            str(log),
            "--live",
            "--state",
            str(state),
            "--workers",
            "2",
            "--rate",
            "200",
            "--json",
        ]
        proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not state.exists() or len(state.read_text().splitlines()) < 6):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "interrupted after" in err and "--resume" in err
        kept = len(state.read_text().splitlines()) - 1
        assert 5 <= kept < 200

        r = run(env, *args[1:], "--resume", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        *rows, summary = [json.loads(line) for line in r.stdout.splitlines()]
        assert sorted(row["task_id"] for row in rows) == sorted(ids) and summary["from_state"] == kept
        assert describe_calls(mps) == dict.fromkeys(ids, 1)
