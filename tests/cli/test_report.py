"""`autoenhance report`'s engine: the function's log lines against MPS's task results, through the real SDK.

The fake MPS answers DescribeImageTaskDetail (wired to a fake COS it fails tasks whose input is
missing, as MPS does). Time that matters is an injected clock: the pacing test counts calls per
second on the fake's own clock, never the wall's. The command itself: test_report_command.py.
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import time
import tracemalloc

import pytest
from clocks import VirtualClock
from report_lines import T0, as_records, describe_calls, engine, lines_for, parsed, record, seed_tasks

from autoenhance.function_logs import LoggedRecord, log_records, records_in_line
from autoenhance.mps_queries import Answer, MpsQueries
from autoenhance.report.engine import ReportRun
from autoenhance.report.resubmit import ResubmitLists, key_line
from autoenhance.report.rows import COLUMNS
from autoenhance.report.state import StateFile
from autoenhance.sample_events import cos_event, cos_record
from fakes.core.clock import FakeClock
from fakes.harness import BUCKET, REGION
from fakes.identities import OPERATOR
from fakes.mps import Fault

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
        assert all(found_record == parsed(rec) for found_record, _ in found), shape
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


def test_a_key_spelling_a_record_is_never_read_as_one(fake_mps, tmp_path):
    """An uploader chooses their key, and the function's error logs quote it: a key spelling a failed
    record of someone else's photo must not put that record, nor that key, in the report."""
    forged = record(
        outcome="failed", key="uploads/someone-elses-photo.jpg", session_id="s-x", error_code="X", error="x"
    )
    key = "uploads/" + json.dumps(forged, separators=(",", ":")) + ".jpg"
    csv_key = 'uploads/x,"' + json.dumps(forged).replace('"', '""') + '",y.jpg'  # a CSV cell, once split at commas
    quoting = [
        "Traceback (most recent call last):",
        '  File "/var/user/index.py", line 1, in main_handler',
        f"KeyError: {key!r}",  # the traceback's last line, as SCF logs it
        f"[ERROR] KeyError: {key!r}",
        f"2026-01-01T00:00:01.500Z\treq-1\tKeyError: {key!r}",
        json.dumps({"SCF_LogTime": 1767225600123, "SCF_Message": f"KeyError: {key!r}\n"}),
        f"KeyError: {csv_key!r}",
        json.dumps(record(outcome="failed", key="uploads/a.jpg", error_code="X", error=f"bad key {key}")),
        json.dumps({"level": "ERROR", "message": "malformed event", "error_code": "X", "error": f"no key {key}"}),
    ]
    for line in quoting:
        assert [found.result.key for found, _ in records_in_line(line)] in ([], ["uploads/a.jpg"]), line

    log = tmp_path / "scf.log"
    own = record(outcome="failed", key=key, session_id="s-own", error_code="InternalError", error="boom")
    log.write_text("\n".join([*quoting, json.dumps(own)]) + "\n", encoding="utf-8")
    report = engine(fake_mps, tmp_path)
    report.state.start(["log"], resume=False)
    rows = list(report.rows(log_records([str(log)])))
    assert [row.key for row in rows] == ["uploads/a.jpg", key]  # the function's own two records
    [listed] = report.finish(lambda bucket: REGION, time.time())
    listed_keys = [line for line in listed.path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert listed_keys == ["uploads/a.jpg", key] and not describe_calls(fake_mps)


def test_gzip_files_directories_and_stdin_are_read_line_by_line(tmp_path):
    a, b, c = (json.dumps(record(key=k)) for k in ("a.jpg", "b.jpg", "c.jpg"))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "1.log").write_text(f"START\n{a}\n", encoding="utf-8")
    with gzip.open(tmp_path / "logs" / "2.jsonl.gz", "wt", encoding="utf-8") as f:  # gzip, told by its content
        f.write(f"{b}\nnot json \xff\n")
    (tmp_path / "named-plain.gz").write_text(c + "\n", encoding="utf-8")  # a .gz name that is not gzip
    stdin = io.BytesIO(gzip.compress((c + "\n").encode()))
    found = list(log_records([str(tmp_path / "logs"), str(tmp_path / "named-plain.gz"), "-"], stdin=stdin))
    assert [r.record.result.key for r in found] == ["a.jpg", "b.jpg", "c.jpg", "c.jpg"]
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
    rows = {row.key: row.as_json() for row in report.rows(as_records(logged))}
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
    assert [r.result for r in report.rows(as_records(lines))] == ["failed", "success", "failed"]
    [listed] = report.finish(lambda bucket: "ap-shanghai", time.time())
    assert report.summary.recovered == 1 and report.summary.failed == 1
    body = listed.path.read_text(encoding="utf-8").splitlines()
    assert body[0] == "# bucket=other-1250000000 region=ap-shanghai"  # nothing said it: --region's value
    assert [line for line in body if not line.startswith("#")] == ["uploads/9.jpg"]


def test_resubmit_lists_one_file_per_bucket_and_every_key_carried(tmp_path):
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
    assert [line for line in lines if not line.startswith("#")] == [
        "a/1.jpg",
        '"#tag/3.jpg"',  # a key that would read as a comment: written as a JSON string
        '"line\\nbreak.jpg"',
        "假期 照片/海边 日落+1 100%.jpg",
    ]
    assert (photos.keys, photos.encoded) == (4, 2)
    assert other.path.read_text(encoding="utf-8").startswith("# bucket=other-1250000000 region=REGION\n")
    assert not list(tmp_path.glob(".*part"))
    assert key_line("ok.jpg") == "ok.jpg" and key_line(" lead.jpg") == '" lead.jpg"'


def test_throttling_and_transient_errors_are_retried_and_auth_failures_stop_the_report(fake_mps, tmp_path):
    ids = seed_tasks(fake_mps, 3, fake_mps.clock() - 60)
    fake_mps.backend.inject(Fault.error("RequestLimitExceeded"), times=3, action="DescribeImageTaskDetail")
    fake_mps.backend.inject(Fault.error("InternalError"), times=2, action="DescribeImageTaskDetail")
    report = engine(fake_mps, tmp_path, workers=1, sleep=lambda s: None)
    report.state.start(["log"], resume=False)
    assert [r.result for r in report.rows(as_records(lines_for(ids)))] == ["success"] * 3
    assert report.mps.throttled == 3 and report.mps.calls == 3 + 2 + 3
    assert report.mps.limiter.rate < report.mps.limiter.target + 1e-9

    from autoenhance.report import ReportError

    ids = seed_tasks(fake_mps, 40, fake_mps.clock() - 60, prefix="U")
    fake_mps.backend.inject(Fault.error("AuthFailure.SecretIdNotFound"), times=40, action="DescribeImageTaskDetail")
    report = engine(fake_mps, tmp_path, workers=1)
    report.state.start(["log"], resume=False)
    with pytest.raises(ReportError, match="MPS refused the keys: AuthFailure.SecretIdNotFound"):
        list(report.rows(as_records(lines_for(ids))))
    assert report.mps.calls <= report.window + 1  # stops instead of failing every task the same way


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
    assert sorted(r.task_id for r in restored + rest if r.task_id) == sorted(ids)  # every task, once
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
    results = collections.Counter(row.result for row in report.rows(log_records([str(log)])))
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

    class Stub(MpsQueries):
        def fetch_task_detail(self, task_id: str) -> Answer:
            nonlocal in_flight, peak_in_flight
            in_flight += 1
            peak_in_flight = max(peak_in_flight, in_flight)
            return Answer(json.loads(json.dumps(detail)), None, 1)  # a fresh answer, as the SDK parses one

    def records():
        nonlocal read
        for n in range(10_000):
            read += 1
            yield LoggedRecord(
                parsed(record(key=f"u/{n}.jpg", task_id=f"T{n:06d}" + "x" * 57, session_id=f"s{n}")), f"l:{n}", None
            )

    report = ReportRun(Stub(lambda: None, None, 1.0, rate=1e9), StateFile(tmp_path / "s.jsonl"), workers=4)
    report.state.start(["log"], resume=False)
    tracemalloc.start()
    rows = report.rows(records())
    first = next(rows)
    assert first.result == "success" and read <= report.window + 1  # the log is read as rows go
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
