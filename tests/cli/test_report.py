"""`autoenhance report`: the function's log lines against MPS's task results, through the real SDK.

The fake MPS answers DescribeImageTaskDetail (wired to a fake COS it fails tasks whose input is
missing, as MPS does). Time that matters is an injected clock: the pacing test counts calls per
second on the fake's own clock, never the wall's.
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import signal
import subprocess
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from clocks import VirtualClock
from repo import ROOT, SCRIPT, user_env
from repo import autoenhance as run

from autoenhance.cos_events import cos_event, cos_record
from autoenhance.report import (
    COLUMNS,
    LogRecord,
    Lookup,
    Report,
    ResubmitLists,
    StateFile,
    TaskLookup,
    listable,
    log_records,
    records_in_line,
)
from fakes.core.clock import FakeClock
from fakes.harness import BUCKET, REGION, start_cos, start_mps
from fakes.identities import OPERATOR
from fakes.mps import Fault
from handler.config import Endpoint
from handler.credentials import CredentialProvider
from handler.mps_client import MpsApi

T0 = 1_767_225_600.0  # FakeClock's start: 2026-01-01T00:00:00Z


def record(outcome: str = "submitted", key: str = "uploads/a.jpg", **fields: Any) -> dict[str, Any]:
    """A record line as the function logs it (handler/results.py log_fields + the invocation's fields)."""
    base = {
        "level": "INFO" if outcome != "failed" else "ERROR",
        "message": f"record {outcome}",
        "index": 0,
        "bucket": BUCKET,
        "key": key,
        "outcome": outcome,
        "reason": None,
        "session_id": f"ae1-{abs(hash(key)):x}",
        "task_id": None,
        "mps_request_id": None,
        "error_code": None,
        "error": None,
        "attempts": 1,
        "latency_ms": 2.0,
        "since_event_s": 1.0,
        "scf_request_id": "req-1",
        "cold_start": False,
    }
    return {**base, **fields}


def seed_tasks(mps: Any, count: int, created_at: float, prefix: str = "T") -> list[str]:
    """`count` finished tasks in the fake's history (restored, as the embedded fake reloads them)."""
    ids = [f"{prefix}{i:06d}" + "x" * 57 for i in range(count)]
    mps.backend.restore_tasks(
        {
            "task_id": task_id,
            "session_id": f"s-{task_id[:8]}",
            "params": {
                "InputInfo": {
                    "Type": "COS",
                    "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": f"/uploads/{i}.jpg"},
                },
                "ImageTask": {"EncodeConfig": {"Format": "JPEG"}},
            },
            "created_at": created_at,
            "secret_id": mps.identity.secret_id,
            "region": REGION,
        }
        for i, task_id in enumerate(ids)
    )
    return ids


def lines_for(ids: list[str]) -> list[dict[str, Any]]:
    return [
        record(key=f"uploads/{i}.jpg", task_id=task_id, session_id=f"s-{task_id[:8]}") for i, task_id in enumerate(ids)
    ]


def engine(mps: Any, tmp_path: Path, *, resume: bool = False, workers: int = 2, rate: float = 1000.0, **clocks: Any):
    """A report engine asking `mps` through MpsApi, as the command builds it."""
    creds = CredentialProvider(mps.identity.environ())
    keys = creds.current
    lookup = TaskLookup(lambda: MpsApi(Endpoint("http", mps.host), REGION, keys, 5.0), creds, 5.0, rate=rate, **clocks)
    state = StateFile(tmp_path / "state.jsonl")
    return Report(lookup, state, ResubmitLists(tmp_path / "resubmit.txt", ["log"]), workers=workers)


def as_records(lines: list[dict[str, Any]]) -> list[LogRecord]:
    return [LogRecord(fields, f"log:{n}", None) for n, fields in enumerate(lines, 1)]


def describe_calls(mps: Any) -> collections.Counter[str]:
    return collections.Counter(
        c.params.get("TaskId") for c in mps.backend.calls.snapshot() if c.action == "DescribeImageTaskDetail"
    )


# ---- reading logs ------------------------------------------------------------------------------


def test_the_record_is_found_in_every_log_shape_and_other_lines_are_ignored():
    rec = record(task_id="T1")
    text = json.dumps(rec, ensure_ascii=False)
    cls_json = {"SCF_FunctionName": "mps-autoenhance", "SCF_LogTime": 1767225600123, "SCF_Message": text + "\n"}
    search_log = {"Time": 1767225600000, "LogJson": json.dumps(cls_json)}
    csv_line = '"2026-01-01 08:00:00","' + json.dumps(cls_json).replace('"', '""') + '"'
    lines = {
        "bare": text,
        "prefixed": f"2026-01-01T00:00:01.500Z\treq-1\t{text}",
        "cls json": json.dumps(cls_json),
        "cls csv": csv_line,
        "searchlog answer, one result per line": json.dumps(search_log),
        "tccli pretty-printed LogJson line": f'            "LogJson": {json.dumps(json.dumps(cls_json))},',
        "two records joined (scf logs joins SCF_Message without a separator)": text + text,
    }
    for shape, line in lines.items():
        found = list(records_in_line(line))
        assert found, shape
        assert all(fields == rec for fields, _ in found), shape
    assert len(list(records_in_line(lines["two records joined (scf logs joins SCF_Message without a separator)"]))) == 2
    assert next(iter(records_in_line(lines["prefixed"])))[1] == T0 + 1.5
    assert next(iter(records_in_line(lines["cls json"])))[1] == pytest.approx(T0 + 0.123)  # SCF_LogTime in ms
    for other in (
        "START RequestId: 9f3c Version: $LATEST",
        "Report RequestId: 9f3c Duration:12ms Memory:128MB MemUsage:30MB",
        '{"level": "WARN", "message": "SessionId refused: sending without it"}',
        '{"outcome": "submitted"',  # cut short
        "Traceback (most recent call last):",
        "",
    ):
        assert list(records_in_line(other)) == [], other


def test_gzip_files_directories_and_stdin_are_read_line_by_line(tmp_path):
    a, b, c = (json.dumps(record(key=k)) for k in ("a.jpg", "b.jpg", "c.jpg"))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "1.log").write_text(f"START\n{a}\n", encoding="utf-8")
    with gzip.open(tmp_path / "logs" / "2.jsonl.gz", "wt", encoding="utf-8") as f:  # gzip, told by its content
        f.write(f"{b}\nnot json \xff\n")
    (tmp_path / "named-plain.gz").write_text(c + "\n", encoding="utf-8")  # a .gz name that is not gzip
    stdin = io.BytesIO(gzip.compress((c + "\n").encode()))
    found = list(log_records([str(tmp_path / "logs"), str(tmp_path / "named-plain.gz"), "-"], stdin=stdin))
    assert [r.fields["key"] for r in found] == ["a.jpg", "b.jpg", "c.jpg", "c.jpg"]
    assert found[0].source.endswith("1.log:2") and found[-1].source == "-:1"


# ---- the report, through the SDK -------------------------------------------------------------------


def test_a_report_of_real_function_logs_with_a_failed_task_and_a_failed_record(
    make_fake_mps, fake_cos, make_container, tmp_path
):
    """The function submits three uploads (one whose object is gone by the time MPS runs it) and
    fails one record; the report shows each, with MPS's error fields, and lists what to redo."""
    clock = FakeClock()
    mps = make_fake_mps(cos=fake_cos, clock=clock, rate_limit_per_second=None)
    fake_cos.backend.put_object(BUCKET, "uploads/cat.jpg", size=200_000)
    fake_cos.backend.put_object(BUCKET, "portraits/me.png", size=300_000)
    container = make_container(mps)
    keys = ["uploads/cat.jpg", "uploads/gone.jpg", "portraits/me.png", "uploads/report.pdf", "uploads/../x.jpg"]
    container.outcome(cos_event([cos_record(BUCKET, REGION, k, event_time=int(T0) - 10) for k in keys]))
    logged = container.records_logged()
    assert [r["outcome"] for r in logged] == ["submitted", "submitted", "submitted", "skipped", "failed"]
    # The fields the log line will carry besides today's: the rule, the upload's and the line's times.
    for line in logged:
        line.update(event_time="2025-12-31T23:59:50Z", time="2026-01-01T00:00:00Z")
        line["rule"] = "portraits" if line["key"].startswith("portraits/") else None
    clock.advance(10)  # every task has finished (1 s waiting + 2 s processing)

    report = engine(mps, tmp_path)
    report.state.start(["log"], resume=False)
    rows = {row["key"]: row for row in report.rows(as_records(logged))}
    files = report.finish(lambda bucket: "", time.time())
    report.state.close()

    ok, gone, portrait = rows["uploads/cat.jpg"], rows["uploads/gone.jpg"], rows["portraits/me.png"]
    assert (ok["status"], ok["result"], ok["error_code"]) == ("FINISH", "success", "")
    assert ok["output"].startswith(f"{BUCKET}:/enhanced/uploads/cat.")  # where the fake MPS wrote it
    assert (ok["uploaded_at"], ok["submitted_at"], ok["finished_at"]) == (
        "2025-12-31T23:59:50Z",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:03Z",
    )
    assert ok["latency_s"] == 13.0 and ok["rule"] == "-" and portrait["rule"] == "portraits"
    assert (gone["status"], gone["result"], gone["error_code"], gone["mps_errcode"]) == (
        "FINISH",
        "failed",
        "SourceFileError",
        "60000",
    )
    assert "uploads/gone.jpg" in gone["error"] and gone["output"] == ""
    failed = rows["uploads/../x.jpg"]
    assert failed["outcome"] == "failed" and failed["result"] == "failed" and failed["error_code"]
    assert failed["status"] == "" and failed["task_id"] == ""
    assert rows["uploads/report.pdf"]["result"] == "skipped" and "not an image" in rows["uploads/report.pdf"]["reason"]
    assert all(list(row) == list(COLUMNS) for row in rows.values())

    s = report.summary.as_json()
    assert s["outcomes"] == {"submitted": 3, "skipped": 1, "failed": 1}
    assert s["results"] == {"success": 2, "failed": 2, "skipped": 1} and s["failed"] == 2
    assert s["error_codes"]["SourceFileError"] == 1
    assert s["rules"]["portraits"] == {"success": 1} and s["rules"]["-"]["failed"] == 2
    assert s["latency_s"]["count"] == 3 and s["latency_s"]["max"] == 13.0
    assert describe_calls(mps) == {ok["task_id"]: 1, gone["task_id"]: 1, portrait["task_id"]: 1}

    [listed] = files
    assert listed.path == tmp_path / "resubmit.txt" and listed.region == REGION  # from MPS's InputInfo
    text = listed.path.read_text(encoding="utf-8").splitlines()
    assert text[0] == f"# bucket={BUCKET} region={REGION}"
    assert [line for line in text if not line.startswith("#")] == ["uploads/gone.jpg", "uploads/../x.jpg"]


def test_a_failed_record_another_delivery_submitted_is_not_resubmitted(fake_mps, tmp_path):
    """SCF retries a failed invocation: the same upload (same SessionId) failing, then submitted."""
    [task] = seed_tasks(fake_mps, 1, fake_mps.clock() - 60)
    lines = [
        record(key="uploads/0.jpg", session_id="s-same", outcome="failed", error_code="InternalError", error="boom"),
        record(key="uploads/0.jpg", session_id="s-same", task_id=task),
        record(key="uploads/9.jpg", bucket="other-1250000000", session_id="s-other", outcome="failed", error_code="X"),
    ]
    report = engine(fake_mps, tmp_path)
    report.state.start(["log"], resume=False)
    assert [r["result"] for r in report.rows(as_records(lines))] == ["failed", "success", "failed"]
    [listed] = report.finish(lambda bucket: "ap-shanghai", time.time())
    assert report.summary.recovered == 1 and report.summary.failed == 1
    body = listed.path.read_text(encoding="utf-8").splitlines()
    assert body[0] == "# bucket=other-1250000000 region=ap-shanghai"  # nothing said it: --region's value
    assert [line for line in body if not line.startswith("#")] == ["uploads/9.jpg"]


def test_resubmit_lists_one_file_per_bucket_and_keys_the_format_cannot_carry(tmp_path):
    lists = ResubmitLists(tmp_path / "redo.txt", ["a.log"])
    for bucket, key in [
        ("photos-1250000000", "a/1.jpg"),
        ("other-1250000000", "b/2.jpg"),
        ("photos-1250000000", "a/1.jpg"),  # once
        ("photos-1250000000", "#tag/3.jpg"),
        ("photos-1250000000", "line\nbreak.jpg"),
        ("photos-1250000000", "假期 照片/海边 日落+1 100%.jpg"),
    ]:
        lists.add(bucket, key)
    files = {f.bucket: f for f in lists.finish(lambda b: {"photos-1250000000": "ap-guangzhou"}.get(b, ""), T0)}
    photos, other = files["photos-1250000000"], files["other-1250000000"]
    assert (
        photos.path == tmp_path / "redo-photos-1250000000.txt" and other.path == tmp_path / "redo-other-1250000000.txt"
    )
    lines = photos.path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# bucket=photos-1250000000 region=ap-guangzhou"
    assert [line for line in lines if not line.startswith("#")] == ["a/1.jpg", "假期 照片/海边 日落+1 100%.jpg"]
    assert (photos.keys, photos.unlisted) == (2, 2)
    assert '# not listed (starts with # (a comment in the list)): "#tag/3.jpg"' in lines
    assert '# not listed (contains a line break): "line\\nbreak.jpg"' in lines
    assert other.path.read_text(encoding="utf-8").startswith("# bucket=other-1250000000 region=REGION\n")
    assert not list(tmp_path.glob(".*part"))
    assert listable("ok.jpg") is None and listable(" lead.jpg")


def test_throttling_and_transient_errors_are_retried_and_auth_failures_stop_the_report(fake_mps, tmp_path):
    ids = seed_tasks(fake_mps, 3, fake_mps.clock() - 60)
    fake_mps.backend.inject(Fault.error("RequestLimitExceeded"), times=3, action="DescribeImageTaskDetail")
    fake_mps.backend.inject(Fault.error("InternalError"), times=2, action="DescribeImageTaskDetail")
    report = engine(fake_mps, tmp_path, workers=1, sleep=lambda s: None)
    report.state.start(["log"], resume=False)
    assert [r["result"] for r in report.rows(as_records(lines_for(ids)))] == ["success"] * 3
    assert report.lookup.throttled == 3 and report.lookup.calls == 3 + 2 + 3
    assert report.lookup.limiter.rate < report.lookup.limiter.target + 1e-9

    from autoenhance.report import ReportError

    ids = seed_tasks(fake_mps, 40, fake_mps.clock() - 60, prefix="U")
    fake_mps.backend.inject(Fault.error("AuthFailure.SecretIdNotFound"), times=40, action="DescribeImageTaskDetail")
    report = engine(fake_mps, tmp_path, workers=1)
    report.state.start(["log"], resume=False)
    with pytest.raises(ReportError, match="MPS refused the keys: AuthFailure.SecretIdNotFound"):
        list(report.rows(as_records(lines_for(ids))))
    assert report.lookup.calls <= report.window + 1  # stops instead of failing every task the same way


def test_an_interrupted_report_resumes_without_asking_any_task_twice(fake_mps, tmp_path):
    ids = seed_tasks(fake_mps, 30, fake_mps.clock() - 60)
    lines = lines_for(ids)
    lines.insert(5, record(key="uploads/x.pdf", outcome="skipped", reason="not an image"))

    first = engine(fake_mps, tmp_path, workers=3)
    first.state.start(["log"], resume=False)
    rows = first.rows(as_records(lines))
    shown = []
    with pytest.raises(KeyboardInterrupt):
        for row in rows:
            shown.append(row)
            if len(shown) == 10:
                raise KeyboardInterrupt  # Ctrl-C while the command prints
    rows.close()  # as the command does: the answers in flight are kept
    first.state.close()
    kept = first.state.written
    assert kept >= 9  # the tasks shown, and those whose answers were in flight

    second = engine(fake_mps, tmp_path, workers=3)
    restored = list(second.restored())
    second.state.start(["log"], resume=True)
    rest = list(second.rows(as_records(lines)))
    assert len(restored) == kept and second.summary.from_state == kept
    assert sorted(r["task_id"] for r in restored + rest if r["task_id"]) == sorted(ids)  # every task, once
    assert describe_calls(fake_mps) == dict.fromkeys(ids, 1)  # none asked twice
    assert second.summary.uploads == 31

    with pytest.raises(Exception, match="is the state of a report of log, not of other.log"):
        engine(fake_mps, tmp_path).state.start(["other.log"], resume=True)


def test_a_10000_line_log_is_reported_under_the_rate_on_the_fakes_clock(make_fake_mps, tmp_path):
    """10,000 lines as CLS exports them (platform lines, skips, 1,000 tasks): every task asked once,
    never more than 20 calls in any second of the fake's clock, with one pacer shared by the run."""
    clock = VirtualClock()
    mps = make_fake_mps(OPERATOR, clock=clock, rate_clock=clock, rate_limit_per_second=20)
    ids = seed_tasks(mps, 1000, clock.now - 3600)
    tasks = iter(lines_for(ids))
    log = tmp_path / "big.log"
    with log.open("w", encoding="utf-8") as f:
        for n in range(10_000):
            if n % 10 == 0:
                f.write(json.dumps({"SCF_LogTime": 1767225600000 + n, "SCF_Message": json.dumps(next(tasks))}) + "\n")
            elif n % 10 == 5:
                f.write(json.dumps(record(key=f"docs/{n}.pdf", outcome="skipped", reason="not an image")) + "\n")
            else:
                f.write(f"START RequestId: {n} Version: $LATEST\n")
    report = engine(mps, tmp_path, workers=1, rate=20, clock=clock, sleep=clock.sleep)
    report.state.start([str(log)], resume=False)
    results = collections.Counter(row["result"] for row in report.rows(log_records([str(log)])))
    assert results == {"success": 1000, "skipped": 1000}
    calls = [c for c in mps.backend.calls.snapshot() if c.action == "DescribeImageTaskDetail"]
    assert len(calls) == 1000 and not any(c.error_code for c in calls)  # the fake never throttled
    at = sorted(c.at for c in calls)
    assert all(at[i + 20] - at[i] >= 1.0 for i in range(len(at) - 20))  # <= 20 in any 1 s window
    assert at[-1] - at[0] < 999 / 20 / 0.95  # and not much slower than the rate


def test_the_engine_streams_a_10000_task_log_in_bounded_memory(tmp_path):
    """Structural: rows come out while the log is still being read, at most a window of lookups
    wait at once, and memory stays far below what holding 10,000 task details would take."""
    detail = {
        "TaskType": "WorkflowTask",
        "Status": "FINISH",
        "ErrCode": 0,
        "ErrMsg": "",
        "Message": "",
        "ImageProcessTaskResultSet": [
            {
                "Status": "SUCCESS",
                "Progress": 100,
                "Output": {
                    "Path": "/enhanced/x.jpeg",
                    "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
                    "SignedUrl": "https://example.invalid/" + "s" * 400,
                },
            }
        ],
        "CreateTime": "2026-01-01T00:00:00Z",
        "FinishTime": "2026-01-01T00:00:03Z",
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/x.jpg"}},
        "ImageTask": {"EncodeConfig": {"Format": "JPEG", "Quality": 75}, "Padding": "p" * 1000},
    }
    read = 0
    in_flight = peak_in_flight = 0

    class Stub(TaskLookup):
        def describe(self, task_id: str) -> Lookup:
            nonlocal in_flight, peak_in_flight
            in_flight += 1
            peak_in_flight = max(peak_in_flight, in_flight)
            return Lookup(json.loads(json.dumps(detail)), None, 1)  # a fresh answer, as the SDK parses one

    def records():
        nonlocal read
        for n in range(10_000):
            read += 1
            yield LogRecord(
                record(key=f"u/{n}.jpg", task_id=f"T{n:06d}" + "x" * 57, session_id=f"s{n}"), f"l:{n}", None
            )

    report = Report(Stub(lambda: None, None, 1.0, rate=1e9), StateFile(tmp_path / "s.jsonl"), workers=4)
    report.state.start(["log"], resume=False)
    tracemalloc.start()
    rows = report.rows(records())
    first = next(rows)
    assert first["result"] == "success" and read <= report.window + 1  # the log is read as rows go
    count = 1
    for _ in rows:
        count += 1
        in_flight -= 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    report.state.close()
    assert count == 10_000 and peak_in_flight <= report.window + report.workers + 1
    one = len(json.dumps(detail))
    # What grows is one TaskId and one SessionId per task (the dedup sets), not their answers.
    assert peak < 10_000 * one / 3, f"peak {peak} bytes: details are being held"


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


DELETED = "uploads/2026/tmp-upload.jpg"  # events/deleted-before-processing.json: put, then deleted at once


def test_the_embedded_demo_report_shows_the_upload_deleted_before_processing_failed(env, tmp_path):
    """README's demo, as a user types it: `replay events/ 2> log.jsonl`, then `report log.jsonl`, two
    processes. The report's embedded fake is settled (its clock a task's 3 s ahead), so every task
    reads FINISH however soon the report follows the replay: nothing here waits or reads the wall clock."""
    log = tmp_path / "log.jsonl"
    with open(log, "w", encoding="utf-8") as stderr:
        replayed = subprocess.run(
            [str(SCRIPT), "replay", "events/"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr,
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
    [old] = seed_tasks_saved(1, created_at=time.time() - 60)
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


def seed_tasks_saved(count: int, created_at: float) -> list[dict[str, Any]]:
    """Tasks as the embedded fake's state file held them before outcomes were saved."""
    from fakes.identities import MPS_ROLE

    return [
        {
            "task_id": f"OLD{i:06d}" + "x" * 55,
            "session_id": f"s-old-{i}",
            "params": {
                "InputInfo": {
                    "Type": "COS",
                    "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": f"/uploads/{i}.jpg"},
                },
                "ImageTask": {"EncodeConfig": {"Format": "JPEG"}},
            },
            "created_at": created_at,
            "secret_id": MPS_ROLE.secret_id,
            "region": REGION,
        }
        for i in range(count)
    ]


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
