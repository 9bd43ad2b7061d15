"""The function end to end: real SDK, real signed HTTP, the fake MPS validating like the real API."""

from __future__ import annotations

import json
import time

import pytest
from canaries import CANARY_AUTH
from clocks import VirtualClock
from repo import load_event as load

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, CONTEXT, REGION, WarmContainer
from fakes.identities import ROTATED_ROLE
from fakes.mps import Fault
from handler.config import load_settings
from handler.errors import ConfigurationError, MalformedEventError, RecordsNotSubmittedError


@pytest.fixture
def harness(container):
    return container


# -- the main path --------------------------------------------------------------------------


def test_upload_becomes_one_task_with_the_documented_request(harness, fake_mps):
    summary = harness.invoke(load("put.json"))
    assert summary["submitted"] == 1 and summary["failed"] == 0
    [result] = summary["results"]
    [task] = fake_mps.backend.tasks
    assert result["task_id"] == task.task_id
    assert task.params["InputInfo"] == {
        "Type": "COS",
        "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/uploads/2026/cat.jpg"},
    }
    assert task.params["OutputStorage"] == {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}}
    assert task.params["OutputDir"] == "/enhanced/uploads/2026/"
    assert task.params["ImageTask"]["EncodeConfig"] == {"Format": "JPEG", "Quality": 75}
    assert task.session_id == result["session_id"] and len(task.session_id) <= 50
    assert task.region == REGION


def test_one_json_log_line_per_record_with_every_field(harness):
    harness.invoke(load("batch.json"), {**CONTEXT, "request_id": "scf-42"})
    logged = harness.records_logged()
    assert len(logged) == 5
    for line in logged:
        assert line["outcome"] == "submitted" and line["task_id"]
        for field in ("bucket", "key", "session_id", "mps_request_id", "latency_ms", "since_event_s", "cold_start"):
            assert line[field] is not None, field
        assert line["scf_request_id"] == "scf-42"


def test_cold_start_flag_is_true_only_for_the_first_invocation(harness):
    first = harness.invoke(load("put.json"))
    second = harness.invoke(load("copy.json"))
    assert first["cold_start"] is True and second["cold_start"] is False


@pytest.mark.parametrize(
    "name",
    [
        "put.json",
        "post-multipart-form.json",
        "copy.json",
        "multipart-upload.json",
        "versioned-bucket.json",
        "unicode-and-space-key.json",
    ],
)
def test_every_creation_kind_is_submitted(harness, fake_mps, name):
    summary = harness.invoke(load(name))
    assert summary["submitted"] == 1
    key = load(name)["Records"][0]["cos"]["cosObject"]["key"].split("/", 3)[3]
    assert fake_mps.backend.tasks[0].params["InputInfo"]["CosInputInfo"]["Object"] == "/" + key


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("non-image.json", "not an image"),
        ("delete.json", "not an upload"),
        ("output-directory-object.json", "own output"),
    ],
)
def test_skipped_records_make_no_call(harness, fake_mps, name, reason):
    summary = harness.invoke(load(name))
    assert summary["skipped"] == 1 and reason in summary["results"][0]["reason"]
    assert fake_mps.backend.calls == []


def test_unicode_key_reaches_mps_unchanged(harness, fake_mps):
    harness.invoke(load("unicode-and-space-key.json"))
    [task] = fake_mps.backend.tasks
    assert task.params["InputInfo"]["CosInputInfo"]["Object"] == "/uploads/假期 照片/海边 日落+1 100%.jpg"
    assert task.params["OutputDir"] == "/enhanced/uploads/假期 照片/"


# -- exactly once ---------------------------------------------------------------------------


def test_redelivered_event_is_a_duplicate_not_a_second_task(harness, fake_mps):
    harness.invoke(load("batch.json"))
    again = harness.invoke(load("batch.json"))
    assert again["duplicate"] == 5 and again["failed"] == 0
    assert len(fake_mps.backend.tasks) == 5


def test_redelivery_to_a_fresh_container_is_still_a_duplicate(fake_mps):
    WarmContainer(fake_mps).invoke(load("put.json"))
    assert WarmContainer(fake_mps).invoke(load("put.json"))["duplicate"] == 1
    assert len(fake_mps.backend.tasks) == 1


def test_new_upload_of_the_same_key_is_a_new_task(harness, fake_mps):
    harness.invoke(cos_event([cos_record(BUCKET, REGION, "a/x.jpg", event_time=1000)]))
    harness.invoke(cos_event([cos_record(BUCKET, REGION, "a/x.jpg", event_time=2000)]))
    assert len(fake_mps.backend.tasks) == 2


@pytest.mark.parametrize("concurrency", [1, 4])
def test_endpoint_rejecting_session_id_still_submits_and_warns_once(make_fake_mps, concurrency):
    fake = make_fake_mps(rate_limit_per_second=None, accept_session_id=False)
    h = WarmContainer(fake, {"MPS_CONCURRENCY": str(concurrency)})
    summary = h.invoke(load("batch.json"))
    assert summary["submitted"] == 5
    assert all("SessionId" not in t.params for t in fake.backend.tasks)
    warnings = [line for line in h.lines() if line["level"] == "WARN"]
    assert len(warnings) == 1 and "SessionId" in warnings[0]["message"]
    # 5 accepted calls, plus one probe per record already in flight when the first refusal came
    # back: exactly one one after another; at most one per worker when they go out together.
    rejected = len(fake.backend.calls) - 5
    assert rejected == 1 if concurrency == 1 else 1 <= rejected <= concurrency
    h.invoke(load("put.json"))
    assert len(fake.backend.calls) == 5 + rejected + 1  # learnt: the next invocation probes no more
    assert len([line for line in h.lines() if line["level"] == "WARN"]) == 1


# -- transient failures are retried within the time budget -------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault.error("RequestLimitExceeded"),
        Fault.error("RequestLimitExceeded.UinLimitExceeded"),
        Fault.error("InternalError"),
        Fault.http_status(502),
        Fault.drop(),
    ],
)
def test_transient_failures_are_retried_until_submitted(harness, fake_mps, fault):
    fake_mps.backend.inject(fault, times=2)
    summary = harness.invoke(load("put.json"))
    assert summary["submitted"] == 1
    [result] = summary["results"]
    assert result["attempts"] == 3
    assert len(fake_mps.backend.tasks) == 1
    # two backoffs (0.2 s and 0.4 s caps, full jitter), plus any wait for the pacer's next slot
    assert len(harness.sleeps) >= 2 and all(0 <= s <= 5 for s in harness.sleeps)


def test_wrong_content_type_error_envelope_is_not_mistaken_for_success(harness, fake_mps):
    """The SDK reports an error body as success unless Content-Type is exactly application/json."""
    harness.invoke(load("put.json"))
    fake_mps.backend.inject(Fault.content_type("application/json; charset=utf-8"), times=1)
    again = harness.invoke(load("put.json"))
    assert fake_mps.backend.calls[-1].error_code == "InvalidParameterValue.SessionId"
    assert again["results"][0]["outcome"] == "duplicate"


def test_lost_answer_is_recovered_as_duplicate_without_a_second_task(harness, fake_mps):
    fake_mps.backend.inject(Fault.lost_answer(), times=1)
    summary = harness.invoke(load("put.json"))
    assert summary["duplicate"] == 1 and summary["failed"] == 0
    assert len(fake_mps.backend.tasks) == 1


def test_slow_answer_past_the_timeout_is_retried_safely(fake_mps):
    h = WarmContainer(fake_mps, {"MPS_TIMEOUT_SECONDS": "0.3"})
    fake_mps.backend.inject(Fault.slow(1.0), times=1)
    summary = h.invoke(load("put.json"))
    assert summary["results"][0]["outcome"] in ("submitted", "duplicate")
    assert summary["results"][0]["attempts"] == 2
    assert len(fake_mps.backend.tasks) == 1


def test_a_merged_event_under_the_real_rate_limit_loses_nothing(make_fake_mps):
    """30 records against MPS's 20 requests/s, paced 2% under it: each submitted exactly once (a
    call that network jitter puts over the limit anyway is retried, never failed)."""
    fake_mps = make_fake_mps(rate_limit_per_second=20)
    h = WarmContainer(fake_mps, sleep=time.sleep)  # real pacing against the real-time rate limiter
    summary = h.invoke(cos_event([cos_record(BUCKET, REGION, f"burst/{i}.jpg") for i in range(30)]))
    assert summary["submitted"] == 30 and len(fake_mps.backend.tasks) == 30
    assert [r["key"] for r in summary["results"]] == [f"burst/{i}.jpg" for i in range(30)]  # the event's order


def test_throttling_above_the_real_rate_limit_slows_down_and_loses_nothing(make_fake_mps):
    """Paced at twice what MPS allows (a quota set too high, or other callers on the account): the
    throttled calls are retried under a slower pace and every record gets through."""
    fake_mps = make_fake_mps(rate_limit_per_second=20)
    h = WarmContainer(fake_mps, {"MPS_REQUESTS_PER_SECOND": "40"}, sleep=time.sleep)
    summary = h.invoke(cos_event([cos_record(BUCKET, REGION, f"burst/{i}.jpg") for i in range(30)]))
    assert summary["submitted"] == 30 and len(fake_mps.backend.tasks) == 30
    assert any(c.error_code == "RequestLimitExceeded" for c in fake_mps.backend.calls)
    assert h.fn.pacer.rate < h.fn.pacer.target  # it slowed down


def test_retries_stop_before_the_time_limit_and_the_invocation_fails(fake_mps):
    """Every attempt fails: the backoffs (on an injected clock) stop before the 2 s limit."""
    clock = VirtualClock(tick=0.001)
    harness = WarmContainer(fake_mps, clock=clock)
    fake_mps.backend.inject(Fault.error("InternalError"), times=1000)
    started = clock.now
    with pytest.raises(RecordsNotSubmittedError, match=r"InternalError") as info:
        harness.invoke(load("batch.json"), {**CONTEXT, "time_limit_in_ms": 2000})
    assert clock.now - started < 2.0  # returned inside SCF's limit, with the margin
    assert len(fake_mps.backend.calls) > 5  # it did retry meanwhile
    summary = info.value.summary
    assert summary["failed"] == 5
    assert all(r["error_code"] in ("InternalError", "DeadlineExceeded") for r in summary["results"])


# -- permanent failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "FailedOperation.InvalidMpsUser",
        "AuthFailure.UnauthorizedOperation",
        "UnauthorizedOperation",
        "InvalidParameter",
    ],
)
def test_permanent_errors_are_not_retried_and_fail_the_invocation(harness, fake_mps, code):
    fake_mps.backend.inject(Fault.error(code), times=1)
    with pytest.raises(RecordsNotSubmittedError) as info:
        harness.invoke(load("put.json"))
    assert f'"photos-1250000000/uploads/2026/cat.jpg": {code}' in str(info.value)
    assert len(fake_mps.backend.calls) == 1 and harness.sleeps == []


def test_wrong_secret_key_is_a_permanent_auth_failure(fake_mps):
    h = WarmContainer(fake_mps, {"TENCENTCLOUD_SECRETKEY": "not-the-right-key-000000000000"})
    with pytest.raises(RecordsNotSubmittedError, match="AuthFailure.SignatureFailure"):
        h.invoke(load("put.json"))


def test_unsupported_mps_region_fails_clearly(fake_mps):
    h = WarmContainer(fake_mps, {"MPS_REGION": "ap-atlantis"})
    with pytest.raises(RecordsNotSubmittedError, match="UnsupportedRegion"):
        h.invoke(load("put.json"))


def test_failed_records_are_listed_and_the_rest_still_submitted(harness, fake_mps):
    event = load("batch.json")
    event["Records"][2]["cos"]["cosObject"]["key"] = "/1/wrong/prefix.jpg"
    with pytest.raises(RecordsNotSubmittedError) as info:
        harness.invoke(event)
    assert str(info.value).startswith('1 of 5 records not submitted: [2] "photos-1250000000/?"')
    assert "MalformedRecord" in str(info.value)
    assert info.value.summary["submitted"] == 4
    # The platform's retry: the four are duplicates, not new tasks.
    with pytest.raises(RecordsNotSubmittedError):
        harness.invoke(event)
    assert len(fake_mps.backend.tasks) == 4


# -- malformed input, configuration, credentials ---------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [([], "event should be a JSON object"), ({"foo": 1}, "no Records field"), ("Records", "got string")],
)
def test_event_that_is_not_a_cos_event_raises_a_clear_error(harness, event, message):
    with pytest.raises(MalformedEventError, match=message):
        harness.invoke(event)
    [line] = harness.lines()
    assert line["error_code"] == "MalformedEvent" and message in line["error"]


@pytest.mark.parametrize("record", [None, 7, {"cos": "x"}, {"cos": {"cosBucket": {}, "cosObject": {}}, "event": {}}])
def test_malformed_record_fails_alone_with_a_clear_error(harness, fake_mps, record):
    event = load("put.json")
    event["Records"].append(record)
    with pytest.raises(RecordsNotSubmittedError, match=r"\[1\] .*MalformedRecord"):
        harness.invoke(event)
    assert len(fake_mps.backend.tasks) == 1


def test_bad_configuration_fails_every_invocation_and_sends_nothing(fake_mps):
    h = WarmContainer(fake_mps, {"MPS_IMAGE_TASK": '{"EncodeConfig": {"Quality": 0}}'})
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="Quality: 0 is out of range"):
            h.invoke(load("put.json"))
    assert fake_mps.backend.calls == []
    assert h.lines()[0]["error_code"] == "InvalidConfiguration"


def test_looping_configuration_is_refused_before_any_request(fake_mps):
    h = WarmContainer(fake_mps, {"OUTPUT_DIR": "/"})
    with pytest.raises(ConfigurationError, match="trigger the function again"):
        h.invoke(load("put.json"))
    assert fake_mps.backend.calls == []


def test_missing_credentials_fail_records_that_need_a_call(fake_mps):
    h = WarmContainer(fake_mps, {"TENCENTCLOUD_SECRETID": None, "TENCENTCLOUD_SECRETKEY": None})
    event = load("batch.json")
    event["Records"].append(load("non-image.json")["Records"][0])
    with pytest.raises(RecordsNotSubmittedError, match="MissingCredentials") as info:
        h.invoke(event)
    assert info.value.summary["skipped"] == 1 and info.value.summary["failed"] == 5
    assert fake_mps.backend.calls == []


def test_rotated_credentials_are_picked_up_by_the_next_invocation(fake_mps):
    h = WarmContainer(fake_mps)
    h.invoke(load("put.json"))
    fake_mps.backend.add_credential(*ROTATED_ROLE)
    h.environ.update(ROTATED_ROLE.environ())
    h.invoke(load("copy.json"))
    assert [t.secret_id for t in fake_mps.backend.tasks] == [
        fake_mps.credential.secret_id,
        ROTATED_ROLE.secret_id,
    ]


class RotatingEnviron(dict):
    """os.environ stand-in whose session token changes after the invocation read it."""

    def __init__(self, base: dict, later_token: str):
        super().__init__(base)
        self.reads = 0
        self.later_token = later_token

    def get(self, key, default=None):
        if key == "TENCENTCLOUD_SESSIONTOKEN":
            self.reads += 1
            if self.reads > 1:
                return self.later_token
        return super().get(key, default)


def test_expired_token_mid_invocation_is_refreshed_once(fake_mps):
    fake_mps.backend.add_credential(*fake_mps.identity._replace(token="fresh-token"))
    h = WarmContainer(
        fake_mps,
        environ=RotatingEnviron({**fake_mps.function_env(), "TENCENTCLOUD_SESSIONTOKEN": "stale"}, "fresh-token"),
    )
    summary = h.invoke(load("put.json"))
    assert summary["submitted"] == 1 and summary["results"][0]["attempts"] == 2


# -- connections and secrets ------------------------------------------------------------------------


def test_one_connection_per_worker_for_a_whole_event_and_across_warm_invocations(harness, fake_mps):
    event = cos_event([cos_record(BUCKET, REGION, f"many/{i}.jpg") for i in range(50)])
    harness.invoke(event)
    opened = fake_mps.server.connections_opened
    assert 1 <= opened <= harness.fn.settings.concurrency
    harness.invoke(cos_event([cos_record(BUCKET, REGION, f"more/{i}.jpg") for i in range(10)]))
    harness.invoke(load("put.json"))
    assert fake_mps.server.connections_opened == opened  # warm invocations reuse them all


def test_one_record_events_use_one_connection_and_no_worker_thread(harness, fake_mps):
    for name in ("put.json", "copy.json", "multipart-upload.json"):
        harness.invoke(load(name))
    assert fake_mps.server.connections_opened == 1
    assert harness.fn._workers is None


def test_secrets_never_appear_in_logs_errors_or_return_values(fake_mps):
    token, key = fake_mps.credential.token, fake_mps.credential.secret_key
    h = WarmContainer(fake_mps)
    event = load("batch.json")
    auth = CANARY_AUTH
    for record in event["Records"]:
        record["event"]["requestParameters"]["requestHeaders"]["Authorization"] = auth
    event["Records"][1]["cos"]["cosObject"]["key"] = auth  # a hostile value that reaches an error message
    fake_mps.backend.inject(Fault.error("InternalError", f"echo {key} {token}"), times=1)
    fake_mps.backend.inject(Fault.error("AuthFailure.UnauthorizedOperation", f"denied {token}"), times=1)
    with pytest.raises(RecordsNotSubmittedError) as info:
        h.invoke(event)
    texts = [h.log(), str(info.value), json.dumps(info.value.summary, ensure_ascii=False)]
    for text in texts:
        for secret in (token, key, auth):
            assert secret not in text
    assert "***" in h.log()


def test_settings_load_once_per_container(fake_mps, mocker):
    spy = mocker.patch("handler.index.load_settings", wraps=load_settings)
    container = WarmContainer(fake_mps)
    container.invoke(load("put.json"), CONTEXT)
    container.invoke(load("copy.json"), CONTEXT)
    assert spy.call_count == 1


def test_an_output_bucket_that_is_the_watched_bucket_fails_its_records_instead_of_skipping_them(
    fake_mps, monkeypatch, capsys
):
    """OUTPUT_BUCKET names the watched bucket with TRIGGER_PREFIX inside OUTPUT_DIR: start-up cannot
    know, so each record from that bucket fails (SCF retries, then dead-letters) instead of being
    skipped as an output; a record from another bucket in the same event is still submitted."""
    from handler.index import main_handler

    env = fake_mps.function_env(OUTPUT_BUCKET=BUCKET, OUTPUT_DIR="/uploads/", TRIGGER_PREFIX="uploads/new/")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("handler.index._function", None)  # a fresh container, the previous one put back after
    event = cos_event([cos_record(BUCKET, REGION, "uploads/new/cat.jpg"), cos_record("in-1250000000", REGION, "a.jpg")])
    with pytest.raises(RecordsNotSubmittedError) as info:
        main_handler(event, CONTEXT)
    failed, submitted = info.value.summary["results"]
    assert failed["outcome"] == "failed" and failed["error_code"] == "LoopGuard"
    assert "TRIGGER_PREFIX='uploads/new/' lies inside the output directory /uploads/" in failed["error"]
    assert submitted["outcome"] == "submitted"
    [task] = fake_mps.backend.tasks
    assert task.params["InputInfo"]["CosInputInfo"]["Bucket"] == "in-1250000000"
    assert "LoopGuard" in str(info.value)
    assert '"error_code": "LoopGuard"' in capsys.readouterr().out
