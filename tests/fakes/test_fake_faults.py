"""The transport faults of the fakes (fakes/core/faults.py), met by the REAL official SDKs.

The function reads MPS answers with the SDK, which uses requests with stream=True: a fault in
the body escapes as a raw requests exception, not as a TencentCloudSDKException. Each test
asserts the exact class a client sees, and, for the faults that process the request before
the answer goes wrong, that the task (or object) exists, so a retry meets its first attempt.

Delays are small and nothing here asserts how long anything took.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

import pytest
import requests
from qcloud_cos.cos_exception import CosClientError
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from test_fake_mps import forged_headers

from fakes.cos import CosFault
from fakes.mps import Fault

if TYPE_CHECKING:
    from fakes.harness import FakeCos, FakeMps

REQUEST: dict[str, Any] = {
    "InputInfo": {
        "Type": "COS",
        "CosInputInfo": {"Bucket": "bucket-1250000000", "Region": "ap-shanghai", "Object": "/image/test.png"},
    },
    "ImageTask": {"EncodeConfig": {"Format": "jpeg", "Quality": 75}},
    "SessionId": "ae1-fault",
}


def submit(fake: FakeMps, timeout: float = 10) -> dict[str, Any]:
    return fake.client(timeout=timeout).call_json("ProcessImage", REQUEST)


def raised_by(call: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def assert_task_created_and_retry_is_a_duplicate(fake: FakeMps, kind: str) -> None:
    [task] = fake.backend.tasks
    assert fake.backend.sessions == {"ae1-fault": task.task_id}
    assert [c.fault for c in fake.backend.calls] == [kind]
    with pytest.raises(TencentCloudSDKException) as retry:
        submit(fake)
    assert retry.value.code == "InvalidParameterValue.SessionId"


# ---- MPS: the answer cut short -----------------------------------------------------------------


@pytest.mark.parametrize("sent_bytes", [0, 10])
def test_cut_body_is_a_chunked_encoding_error_after_the_task_was_created(fake_mps: FakeMps, sent_bytes: int) -> None:
    fake_mps.backend.inject(Fault.cut_body(sent_bytes))

    error = raised_by(lambda: submit(fake_mps))

    assert type(error) is requests.exceptions.ChunkedEncodingError  # urllib3's IncompleteRead inside
    assert_task_created_and_retry_is_a_duplicate(fake_mps, "cut_body")


def test_cut_body_promises_the_whole_envelope_on_the_wire_and_sends_part_of_it(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.cut_body(10))
    payload = json.dumps(REQUEST).encode()
    connection = http.client.HTTPConnection(fake_mps.server.ip, fake_mps.server.port, timeout=5)

    connection.request("POST", "/", payload, forged_headers(fake_mps, payload))
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    connection.close()

    assert (response.status, response.getheader("Content-Type")) == (200, "application/json")
    assert cut.value.partial == b'{"Response'
    assert len(cut.value.partial) + (cut.value.expected or 0) == int(response.getheader("Content-Length") or 0)
    assert len(fake_mps.backend.tasks) == 1


def test_lost_answer_before_or_after_the_headers_both_create_the_task(make_fake_mps: Callable[..., FakeMps]) -> None:
    before, after = make_fake_mps(), make_fake_mps()
    before.backend.inject(Fault.lost_answer())
    after.backend.inject(Fault.lost_answer(after_headers=True))

    no_headers = raised_by(lambda: submit(before))
    no_body = raised_by(lambda: submit(after))

    # No status line: the SDK wraps the failure; headers then nothing: requests' own error escapes.
    assert isinstance(no_headers, TencentCloudSDKException) and no_headers.code == "ClientNetworkError"
    assert type(no_body) is requests.exceptions.ChunkedEncodingError
    assert_task_created_and_retry_is_a_duplicate(before, "lost_answer")
    assert_task_created_and_retry_is_a_duplicate(after, "cut_body")


# ---- MPS: a body that is not what its headers say ------------------------------------------------


def test_bad_encoding_is_a_content_decoding_error_after_the_task_was_created(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.bad_encoding())

    error = raised_by(lambda: submit(fake_mps))

    assert type(error) is requests.exceptions.ContentDecodingError
    assert_task_created_and_retry_is_a_duplicate(fake_mps, "bad_encoding")


# ---- MPS: answers that take their time -----------------------------------------------------------


def test_late_headers_beyond_the_timeout_are_a_client_network_error(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.slow(0.5))

    error = raised_by(lambda: submit(fake_mps, timeout=0.1))

    # The status line never came in time: the SDK wraps the ReadTimeout itself.
    assert isinstance(error, TencentCloudSDKException) and error.code == "ClientNetworkError"
    assert_task_created_and_retry_is_a_duplicate(fake_mps, "slow")


def test_a_trickling_body_within_the_timeout_arrives_whole(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.trickle_body(0.002))

    envelope = submit(fake_mps)

    assert envelope["Response"]["TaskId"] == fake_mps.backend.tasks[0].task_id
    assert [c.fault for c in fake_mps.backend.calls] == ["trickle_body"]


def test_a_trickling_body_slower_than_the_timeout_is_a_requests_connection_error(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.trickle_body(0.4))

    error = raised_by(lambda: submit(fake_mps, timeout=0.1))

    # A read timeout inside the body: requests raises its ConnectionError, not a Timeout.
    assert type(error) is requests.exceptions.ConnectionError
    assert_task_created_and_retry_is_a_duplicate(fake_mps, "trickle_body")


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [(0.1, requests.exceptions.ConnectionError), (5, requests.exceptions.ChunkedEncodingError)],
    ids=["client-times-out", "server-closes"],
)
def test_a_stalled_body_is_a_read_timeout_or_a_cut(
    fake_mps: FakeMps, timeout: float, expected: type[BaseException]
) -> None:
    fake_mps.backend.inject(Fault.stall_body(0.4))

    error = raised_by(lambda: submit(fake_mps, timeout=timeout))

    assert type(error) is expected
    assert_task_created_and_retry_is_a_duplicate(fake_mps, "stall_body")


def test_transport_faults_are_drawn_at_random_too(make_fake_mps: Callable[..., FakeMps]) -> None:
    outcomes = []
    for _ in range(2):
        fake = make_fake_mps(rate_limit_per_second=None)
        fake.backend.set_fault_rates({Fault.cut_body(): 0.3, Fault.bad_encoding(): 0.2}, seed=5)
        client = fake.client()
        pattern = []
        for i in range(20):
            try:
                client.call_json("ProcessImage", {**REQUEST, "SessionId": f"r-{i}"})
                pattern.append("ok")
            except requests.exceptions.RequestException as e:
                pattern.append(type(e).__name__)
        outcomes.append(pattern)
        assert len(fake.backend.tasks) == 20  # every one was processed, whatever became of its answer
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {"ok", "ChunkedEncodingError", "ContentDecodingError"}


# ---- waits end when the server stops -------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [Fault.slow(60), Fault.stall_body(60), Fault.trickle_body(60)], ids=["slow", "stall", "trickle"]
)
def test_a_fault_that_waits_ends_as_soon_as_the_server_stops(
    make_fake_mps: Callable[..., FakeMps], fault: Fault
) -> None:
    fake = make_fake_mps()
    fake.backend.inject(fault)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            submit(fake, timeout=60)
        except Exception as e:  # noqa: BLE001 - asserted below
            outcome.append(e)

    client = threading.Thread(target=call, daemon=True)
    client.start()
    wait_for(lambda: len(fake.backend.calls) == 1)  # processed: the handler is now in the fault's wait

    fake.server.stop()

    # A handler still asleep in its 60 s wait would keep these from ever turning true in time.
    wait_for(lambda: fake.server.handlers_running == 0)
    client.join(30)
    assert not client.is_alive() and len(outcome) == 1
    assert len(fake.backend.tasks) == 1


def wait_for(condition: Callable[[], bool], limit: float = 30) -> None:
    """Poll until `condition` holds; the limit is far above any real wait, only a hang reaches it."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_fault_waits_must_be_bounded() -> None:
    for make in (Fault.slow, Fault.stall_body, Fault.trickle_body):
        with pytest.raises(ValueError):
            make(float("inf"))
        with pytest.raises(ValueError):
            make(-1)
    with pytest.raises(ValueError):
        Fault.cut_body(-1)


# ---- COS: the same faults through the same core ---------------------------------------------------


def test_cos_listing_cut_short_is_a_client_error_naming_the_incomplete_read(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")
    fake_cos.backend.inject(CosFault.cut_body(20), operation="GetBucket")

    error = raised_by(lambda: fake_cos.client(retry=0).list_objects(Bucket=fake_cos.bucket))

    # The COS SDK reads non-streamed answers inside its own try: it wraps requests' error.
    assert type(error) is CosClientError
    assert "IncompleteRead(20 bytes read" in str(error)
    assert [(c.operation, c.status, c.fault) for c in fake_cos.backend.calls] == [("GetBucket", 200, "cut_body")]


def test_cos_object_body_with_a_bad_encoding_fails_to_decode(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"not gzip at all")
    fake_cos.backend.inject(CosFault.bad_encoding(), operation="GetObject")

    got = fake_cos.client(retry=0).get_object(Bucket=fake_cos.bucket, Key="a.jpg")

    error = raised_by(lambda: b"".join(got["Body"].get_stream()))
    assert type(error) is requests.exceptions.ContentDecodingError


def test_cos_stalled_object_body_times_the_reader_out(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "big.bin", size=100_000)
    fake_cos.backend.inject(CosFault.stall_body(0.4), operation="GetObject")

    got = fake_cos.client(retry=0, timeout=0.1).get_object(Bucket=fake_cos.bucket, Key="big.bin")

    error = raised_by(lambda: b"".join(got["Body"].get_stream()))
    assert type(error) is requests.exceptions.ConnectionError


def test_cos_lost_answer_after_headers_still_stores_the_object(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"0123456789")
    fake_cos.backend.inject(CosFault.lost_answer(after_headers=True), operation="GetObject")

    got = fake_cos.client(retry=0).get_object(Bucket=fake_cos.bucket, Key="a.jpg")

    assert got["Content-Length"] == "10"  # the headers came whole
    error = raised_by(lambda: b"".join(got["Body"].get_stream()))
    assert type(error) is requests.exceptions.ChunkedEncodingError
