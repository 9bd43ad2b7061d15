"""`autoenhance replay` on SCF dead-letter messages: every accepted shape, the refused ones, no secret shown.

An SCF dead-letter message is an envelope whose `Body.ClientContext` is the invocation payload as
a JSON string (docs/tencent-cloud.md#dead-letter-queue); the TDMQ for CMQ receive APIs wrap each
message body in `msgBody` (`msgInfoList` for a batch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from canaries import CANARY_AUTH, assert_no_secret, canary_event
from repo import EVENTS, load_event
from repo import autoenhance as run

from autoenhance.event_files import EventFileError, read_events
from autoenhance.sample_events import cos_event, cos_record

SAMPLE = EVENTS / "dead-letter.jsonl"
BUCKET = "photos-1250000000"


def upload(key: str) -> dict[str, Any]:
    return cos_event([cos_record(BUCKET, "ap-guangzhou", key, event_time=1_764_000_100)])


def envelope(event: Any, request_id: str = "b615b896-0000-4000-8000-000000000001", **body: Any) -> dict[str, Any]:
    """A dead-letter message as SCF writes it, wrapping `event`."""
    fields = {
        "AppId": 1250000000,
        "Uin": "100000000001",
        "FunctionName": "mps-autoenhance",
        "Namespace": "default",
        "Qualifier": "$DEFAULT",
        "ClientContext": json.dumps(event),
        "RequestId": request_id,
        "PushTime": "2026-11-24T16:06:13.061824591+08:00",
        "RetryNum": 2,
        **body,
    }
    return {
        "RequestId": request_id,
        "ErrorCode": -1,
        "ErrorMessage": 'Traceback (most recent call last):\n  File "index.py"\nRecordsNotSubmittedError: 1 of 1 records',
        "Body": fields,
    }


def write(path: Path, value: Any) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def keys_of(events) -> list[str]:
    return [e.event["Records"][0]["cos"]["cosObject"]["key"].split("/", 3)[3] for e in events]


# -- the shapes read_events accepts --------------------------------------------------------------


def test_a_bare_event_is_given_as_it_is(tmp_path):
    [sourced] = read_events([str(write(tmp_path / "e.json", upload("a.jpg")))])
    assert sourced.event == upload("a.jpg") and sourced.source == str(tmp_path / "e.json")


def test_a_dead_letter_envelope_is_unwrapped_and_labelled_with_its_request(tmp_path):
    path = write(tmp_path / "dlq.json", envelope(upload("a.jpg"), "b615b896-aaaa"))
    [sourced] = read_events([str(path)])
    assert sourced.event == upload("a.jpg")
    assert sourced.source.startswith(f"{path} (dead-lettered request b615b896-aaaa, RetryNum 2, last error: ")
    assert sourced.source.endswith("RecordsNotSubmittedError: 1 of 1 records)")  # the traceback's last line only
    assert "Traceback" not in sourced.source and "index.py" not in sourced.source


def test_json_lines_of_envelopes_and_bare_events(tmp_path):
    lines = [envelope(upload("a.jpg"), "req-1"), upload("b.jpg"), envelope(upload("c.jpg"), "req-3")]
    path = write(tmp_path / "dlq.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    events = read_events([str(path)])
    assert keys_of(events) == ["a.jpg", "b.jpg", "c.jpg"]
    assert [e.source.split(" (")[0] for e in events] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert "dead-lettered request req-3" in events[2].source and "dead-lettered" not in events[1].source


def test_a_json_array_of_envelopes_and_bare_events(tmp_path):
    path = write(tmp_path / "dlq.json", [envelope(upload("a.jpg")), upload("b.jpg")])
    events = read_events([str(path)])
    assert keys_of(events) == ["a.jpg", "b.jpg"]
    assert events[0].source.startswith(f"{path}[0] (dead-lettered request") and events[1].source == f"{path}[1]"


def test_the_cmq_receive_answers_are_read_directly(tmp_path):
    """BatchReceiveMessage's msgInfoList and ReceiveMessage's single msgBody, each body an envelope."""
    batch = {
        "code": 0,
        "message": "",
        "requestId": "r-1",
        "msgInfoList": [
            {"msgBody": json.dumps(envelope(upload("a.jpg"), "req-a")), "msgId": "m-1", "receiptHandle": "h"},
            {"msgBody": json.dumps(envelope(upload("b.jpg"), "req-b")), "msgId": "m-2", "receiptHandle": "h"},
        ],
    }
    single = {"code": 0, "msgBody": json.dumps(envelope(upload("c.jpg"), "req-c")), "msgId": "m-3"}
    capitalised = {"MsgInfoList": [{"MsgBody": json.dumps(upload("d.jpg"))}]}
    events = read_events(
        [str(write(tmp_path / "batch.json", batch)), str(write(tmp_path / "one.json", single)),
         str(write(tmp_path / "caps.json", capitalised))]
    )  # fmt: skip
    assert keys_of(events) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    assert events[1].source.startswith(f"{tmp_path / 'batch.json'} msgInfoList[1] (dead-lettered request req-b")
    assert events[2].source.startswith(f"{tmp_path / 'one.json'} (dead-lettered request req-c")


def test_the_sample_holds_two_dead_lettered_uploads():
    events = read_events([str(SAMPLE)])
    assert keys_of(events) == ["uploads/2026/dlq/harbour.jpg", "uploads/2026/dlq/lantern.png"]
    put = load_event("put.json")["Records"][0]
    for sourced in events:
        [record] = sourced.event["Records"]
        assert record.keys() == put.keys() and record["cos"].keys() == put["cos"].keys()  # put.json's shape
        assert "dead-lettered request" in sourced.source and "RetryNum 2" in sourced.source


# -- what is refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ClientContext": None}, "Body.ClientContext should be a JSON string, got null"),
        ({"ClientContext": {"Records": []}}, "Body.ClientContext should be a JSON string, got an object"),
        ({"ClientContext": "{not json"}, "Body.ClientContext is not valid JSON (Expecting property name"),
        ({"ClientContext": "[1, 2]"}, "Body.ClientContext should hold a JSON object, got an array"),
        ({"ClientContext": '"Records"'}, "Body.ClientContext should hold a JSON object, got a string"),
    ],
)
def test_a_malformed_envelope_names_the_file_the_line_and_the_field(tmp_path, body, expected):
    good = json.dumps(envelope(upload("a.jpg")))
    bad = json.dumps(envelope(upload("b.jpg"), **body))
    path = write(tmp_path / "dlq.jsonl", f"{good}\n{bad}\n")
    with pytest.raises(EventFileError) as caught:
        read_events([str(path)])
    assert str(caught.value).startswith(f"{path}:2: dead-letter message: {expected}")


def test_an_envelope_without_client_context_or_body_object_is_refused(tmp_path):
    missing = envelope(upload("a.jpg"))
    del missing["Body"]["ClientContext"]
    with pytest.raises(EventFileError, match=r"dlq\.json: dead-letter message: Body\.ClientContext .* is missing"):
        read_events([str(write(tmp_path / "dlq.json", missing))])
    with pytest.raises(EventFileError, match=r"x\.json\[0\]: dead-letter message: Body should be an object, got a str"):
        read_events([str(write(tmp_path / "x.json", [{"RequestId": "r", "Body": "text"}]))])


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"msgInfoList": {"msgBody": "{}"}}, "msgInfoList should be an array, got an object"),
        ({"msgInfoList": ["x"]}, "msgInfoList[0]: should be an object, got a string"),
        ({"msgBody": 12}, "msgBody should be a string, got a number"),
        ({"msgBody": "{oops"}, "msgBody is not valid JSON"),
        ({"code": 0, "msgInfoList": []}, "holds no event"),
    ],
)
def test_an_unusable_receive_answer_is_refused(tmp_path, answer, expected):
    with pytest.raises(EventFileError) as caught:
        read_events([str(write(tmp_path / "answer.json", answer))])
    assert str(caught.value).startswith(str(tmp_path / "answer.json")) and expected in str(caught.value)


def test_a_malformed_envelope_is_a_usage_error_on_the_command_line(env, tmp_path):
    path = write(tmp_path / "dlq.jsonl", json.dumps(envelope(upload("a.jpg"), ClientContext="{broken")) + "\n{}\n")
    r = run(env, "replay", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"autoenhance replay: {path}:1: dead-letter message: Body.ClientContext is not valid JSON" in r.stderr


# -- the sample, as a user replays it ------------------------------------------------------------


def test_dry_run_on_the_sample_prints_both_requests_and_sends_nothing(env):
    r = run(env, "replay", str(SAMPLE), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("would call ProcessImage with:") == 2
    assert f"{SAMPLE}:1 (dead-lettered request b615b896-1c5e-4f2a-9d4b-3f0e2a7c8d11, RetryNum 2" in r.stdout
    assert '"Object": "/uploads/2026/dlq/lantern.png"' in r.stdout
    assert "dry run: nothing was sent" in r.stdout
    assert not (Path(env["AUTOENHANCE_STATE_DIR"]) / "fake-mps-state.json").exists()


def test_replaying_the_sample_submits_each_dead_lettered_upload_once(env):
    first = run(env, "replay", str(SAMPLE))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 invocation(s), 2 record(s): 2 submitted, 0 duplicate" in first.stdout
    assert "submitted  photos-1250000000/uploads/2026/dlq/harbour.jpg" in first.stdout
    again = run(env, "replay", str(SAMPLE), "--json")
    assert [x["duplicate"] for x in map(json.loads, again.stdout.splitlines())] == [1, 1]


def test_no_authorization_value_reaches_any_output(env, tmp_path):
    """The sample's placeholder header, and a canary header an envelope's error text repeats."""
    headers = [
        e.event["Records"][0]["event"]["requestParameters"]["requestHeaders"] for e in read_events([str(SAMPLE)])
    ]
    secrets = {f"sample {i} Authorization": h["Authorization"] for i, h in enumerate(headers)}
    secrets["Authorization"] = CANARY_AUTH
    assert all(h["Authorization"].startswith("q-sign-algorithm=") for h in headers)
    leaky = envelope(canary_event("uploads/a.jpg"))
    leaky["ErrorMessage"] = f"Traceback ...\nValueError: bad header Authorization: {CANARY_AUTH} (signed)"
    path = write(tmp_path / "leaky.jsonl", json.dumps(leaky) + "\n" + json.dumps(envelope(upload("b.jpg"))) + "\n")
    for args in (
        [str(SAMPLE)],
        [str(SAMPLE), "--dry-run"],
        [str(SAMPLE), "--json"],
        [str(path)],
        [str(path), "--dry-run"],
    ):
        r = run(env, "replay", *args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert_no_secret(r.stdout + r.stderr, f"replay {' '.join(args)}", secrets)
    assert "bad header Authorization: *** (signed)" in r.stdout  # the error was shown, its secret not
